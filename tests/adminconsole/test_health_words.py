"""Each backend report in plain words and colours (adminconsole.health_words), from the reasons the
workers actually write (avatar_runtime.health_checks, HealthTracker, doctor)."""
import pytest

from adminconsole.health_words import check_in_words, overall_level, worker_in_words


def words(component: str, state: str, backend: str, reason: str = "") -> dict[str, object]:
    return check_in_words({"component": component, "state": state, "backend": backend, "reason": reason,
                           "since": 1_700_000_000.0, "checked": 1_700_000_000.0})


@pytest.mark.parametrize(("report", "title", "summary", "level"), [
    (("asr", "healthy", "whisper", "faster-whisper base; zh, ja: small from MODELS_DIR (beam 1, 2 threads)"),
     "Speech recognition", "working, offline (Whisper base; zh, ja: small)", "ok"),
    (("asr", "degraded", "whisper", "faster-whisper base from MODELS_DIR (...); small not in MODELS_DIR: base"),
     "Speech recognition", "working, offline (Whisper base), not with the model that was asked for", "warn"),
    (("asr", "healthy", "sensevoice", "SenseVoiceSmall complete in /models/SenseVoiceSmall"),
     "Speech recognition", "working (SenseVoice)", "ok"),
    (("asr", "down", "whisper", "embedded Whisper model incomplete: pip: faster-whisper"),
     "Speech recognition", "not working", "bad"),
    (("tts:ja", "healthy", "edge", ""), "Japanese voice", "working, online (Microsoft Edge)", "ok"),
    (("tts:en", "healthy", "piper", "piper voice en_US-joe-medium"), "English voice", "working, offline (Piper)", "ok"),
    (("tts:ko", "degraded", "kokoro", "edge down: TimeoutError; kokoro serves"), "Korean voice",
     "using the backup voice (Kokoro) because the online voice service (Microsoft Edge) is not answering", "warn"),
    (("tts:en", "degraded", "espeak", "piper voice en_US-joe-medium failed; espeak speaks"), "English voice",
     "using the backup voice (eSpeak) because the Piper voice failed", "warn"),
    (("tts:zh", "down", "none", "every voice failed: OSError"), "Mandarin voice", "silent: every voice failed", "bad"),
    (("retrieval", "degraded", "lexical", "sentence encoders missing: MODELS_DIR/e5-small; lexical search only"),
     "Finding answers", "keyword search only", "warn"),
    (("llm", "healthy", "extractive", "grounded extractive answers (no LLM server configured)"),
     "Writing answers", "working, without a language model", "ok"),
    (("llm", "healthy", "qwen", "Qwen through qwen-agent at http://llm:8000/v1"),
     "Writing answers", "working (Qwen language model)", "ok"),
    (("render", "healthy", "portrait", "CPU portrait renderer driven by the audio"),
     "Avatar face", "working (the photo animated on the CPU)", "ok"),
    (("render", "degraded", "musetalk", "compiled artefacts missing"),
     "Avatar face", "working (MuseTalk, on the GPU), not at its best", "warn"),
    (("aec", "degraded", "browser-only", "livekit not installed: only the browser's echo cancellation"),
     "Echo cancellation", "only the browser's own", "warn"),
    (("qa", "healthy", "syncnet", "SyncNet weights present"), "Lip-sync checks", "working (SyncNet)", "ok"),
    (("vad", "down", "none", "silero-vad is not installed"), "Hearing when someone speaks", "not working", "bad"),
    (("database", "degraded", "sqlite", "slow"), "database", "working, not at its best", "warn"),
])
def test_reports_in_words(report: tuple[str, str, str, str], title: str, summary: str, level: str) -> None:
    check = words(*report)
    assert (check["title"], check["summary"], check["level"]) == (title, summary, level)
    assert check["reason"] == report[3]  # the technical report stays, for the detail


def test_what_customers_notice_is_said_for_every_known_component() -> None:
    for component in ("vad", "asr", "retrieval", "llm", "render", "qa", "aec", "tts:en"):
        for state in ("healthy", "degraded", "down"):
            assert words(component, state, "x")["customers"], (component, state)
    assert words("qa", "down", "embedded")["customers"].startswith("Customers notice nothing")  # type: ignore[union-attr]


def test_a_worker_takes_its_worst_colour_and_a_stale_one_is_red() -> None:
    ok = {"component": "vad", "state": "healthy", "backend": "silero-vad", "reason": ""}
    amber = {"component": "tts:ko", "state": "degraded", "backend": "kokoro", "reason": "edge down: x; kokoro serves"}
    assert worker_in_words({"worker_id": "a", "stale": False, "backends": [ok]})["level"] == "ok"
    worker = worker_in_words({"worker_id": "a", "stale": False, "backends": [ok, amber]})
    assert (worker["level"], worker["problems"]) == ("warn", 1)
    stale = worker_in_words({"worker_id": "b", "stale": True, "backends": [ok]})
    assert stale["level"] == "bad"
    assert overall_level([worker]) == "warn" and overall_level([worker, stale]) == "bad"
    assert overall_level([stale]) == "bad" and overall_level([]) == "bad"


def test_problems_come_first_then_the_order_of_a_conversation() -> None:
    reports = [("qa", "healthy"), ("tts:ko", "degraded"), ("asr", "healthy"), ("vad", "healthy"), ("render", "down"),
               ("tts:en", "healthy"), ("llm", "healthy")]
    worker = worker_in_words({"worker_id": "a", "stale": False, "backends": [
        {"component": component, "state": state, "backend": "x", "reason": ""} for component, state in reports]})
    assert [check["component"] for check in worker["backends"]] == [  # type: ignore[union-attr]
        "render", "tts:ko", "vad", "asr", "llm", "tts:en", "qa"]
