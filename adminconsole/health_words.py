"""Backend health in plain words: what works, what customers notice, and a colour.

The workers report each component as ``{component, state, backend, reason}`` in developer terms
(``avatar_runtime.selectors.backend_health_snapshot``). This adds, for the console and the API,
a ``title`` ("Korean voice"), a ``summary`` ("using the backup voice (Kokoro) because the online
voice service is not answering"), ``customers`` (what people at the kiosk notice) and a ``level``
(``ok`` green, ``warn`` amber, ``bad`` red). The worker's own ``reason`` stays as the detail.
"""
import re
from collections.abc import Callable
from datetime import UTC, datetime

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from common.languages import LANGUAGE_NAMES

Check = dict[str, object]
LEVELS = {"healthy": "ok", "degraded": "warn", "down": "bad"}
_RANK = {"ok": 0, "warn": 1, "bad": 2}

TITLES: dict[str, Promise] = {
    "vad": gettext_lazy("Hearing when someone speaks"),
    "asr": gettext_lazy("Speech recognition"),
    "retrieval": gettext_lazy("Finding answers"),
    "llm": gettext_lazy("Writing answers"),
    "render": gettext_lazy("Avatar face"),
    "qa": gettext_lazy("Lip-sync checks"),
    "aec": gettext_lazy("Echo cancellation"),
}
BACKEND_NAMES = {
    "edge": "Microsoft Edge", "piper": "Piper", "kokoro": "Kokoro", "espeak": "eSpeak", "cache": "cached audio",
    "sensevoice": "SenseVoice", "whisper": "Whisper", "silero-vad": "Silero", "qwen": "Qwen",
    "musetalk": "MuseTalk", "syncnet": "SyncNet",
}
ONLINE_VOICES = {"edge"}
CONVERSATION_ORDER = ("vad", "aec", "asr", "retrieval", "llm", "tts", "render", "qa")


def backend_name(backend: str) -> str:
    return BACKEND_NAMES.get(backend, backend)


def _whisper_model(reason: str) -> str:
    """``"faster-whisper base; zh: small from MODELS_DIR ..."`` → ``"Whisper base; zh: small"``."""
    match = re.search(r"faster-whisper (.+?) from MODELS_DIR", reason)
    return f"Whisper {match.group(1)}" if match else "Whisper"


def _asr(state: str, backend: str, reason: str) -> tuple[str, str]:
    if state == "down":
        return _("not working"), _("Customers cannot speak to the avatar; they can still type their question.")
    if backend == "sensevoice":
        summary = _("working (SenseVoice)")
    else:
        summary = _("working, offline (%(model)s)") % {"model": _whisper_model(reason)}
    if state == "degraded":
        return (_("%(summary)s, not with the model that was asked for") % {"summary": summary},
                _("Customers can speak; recognition may be less accurate than configured."))
    return summary, _("Customers can speak in any of the kiosk's languages.")


def _voice_failed(reason: str) -> str:
    """Why a language's backup voice speaks: which voice failed, in words."""
    match = re.match(r"([\w-]+) (?:down|voice|failed)", reason)
    failed = match.group(1) if match else ""
    if failed in ONLINE_VOICES:
        return _("the online voice service (%(name)s) is not answering") % {"name": backend_name(failed)}
    if failed:
        return _("the %(name)s voice failed") % {"name": backend_name(failed)}
    return _("the chosen voice failed")


def _voice(state: str, backend: str, reason: str) -> tuple[str, str]:
    if state == "down":
        return _("silent: every voice failed"), _("Customers read the answers as captions but hear nothing.")
    if state == "degraded":
        return (_("using the backup voice (%(name)s) because %(why)s") % {"name": backend_name(backend),
                                                                         "why": _voice_failed(reason)},
                _("Customers hear a different voice from the one chosen; every answer is still spoken."))
    online = _("online") if backend in ONLINE_VOICES else _("offline")
    return (_("working, %(where)s (%(name)s)") % {"where": online, "name": backend_name(backend)},
            _("Customers hear the voice chosen on the Voices page."))


def _vad(state: str, backend: str, reason: str) -> tuple[str, str]:
    if state == "down":
        return _("not working"), _("Customers cannot speak to the avatar; they can still type their question.")
    return _("working"), _("The avatar notices when a customer starts and stops speaking.")


def _retrieval(state: str, backend: str, reason: str) -> tuple[str, str]:
    if state == "down":
        return _("not working"), _("The avatar cannot find answers and offers to call staff.")
    if backend == "lexical" or state == "degraded":
        return (_("keyword search only"),
                _("A question finds its answer only when it uses the FAQ's own words; others are not answered."))
    return (_("working (searches by meaning, in every language)"),
            _("Questions find their FAQ even when customers word them differently."))


def _llm(state: str, backend: str, reason: str) -> tuple[str, str]:
    if state == "down":
        return _("not working"), _("Customers get no answers.")
    if state == "degraded":
        return (_("answering from the FAQ wording because the language model is not answering"),
                _("Answers are read as written in your FAQs and documents: still correct, less conversational."))
    if backend == "qwen":
        return (_("working (Qwen language model)"),
                _("Answers are written from your FAQs and documents in natural sentences."))
    return (_("working, without a language model"),
            _("Answers are read as written in your FAQs and documents."))


def _render(state: str, backend: str, reason: str) -> tuple[str, str]:
    if state == "down":
        return _("not working"), _("Customers hear the answers and read captions, without the face.")
    if backend == "musetalk":
        summary = _("working (MuseTalk, on the GPU)")
        seen = _("Customers see a photo-real talking face.")
    else:
        summary = _("working (the photo animated on the CPU)")
        seen = _("Customers see the avatar's photo move its lips with the speech.")
    if state == "degraded":
        return _("%(summary)s, not at its best") % {"summary": summary}, seen
    return summary, seen


def _qa(state: str, backend: str, reason: str) -> tuple[str, str]:
    summary = {"healthy": _("working"), "degraded": _("working, not at its best")}.get(state, _("not working"))
    if backend in BACKEND_NAMES and state != "down":
        summary = f"{summary} ({backend_name(backend)})"
    return summary, _("Customers notice nothing: this only scores recorded answers for the Lip-sync QA page.")


def _aec(state: str, backend: str, reason: str) -> tuple[str, str]:
    if state == "healthy":
        return _("working"), _("Customers can interrupt the avatar while it speaks.")
    return (_("only the browser's own"),
            _("The avatar may mistake its own voice for a customer's: it can stop itself or miss an interruption."))


def _other(state: str, backend: str, reason: str) -> tuple[str, str]:
    summary = {"healthy": _("working"), "degraded": _("working, not at its best")}.get(state, _("not working"))
    return summary, ""


WORDS: dict[str, Callable[[str, str, str], tuple[str, str]]] = {
    "vad": _vad, "asr": _asr, "retrieval": _retrieval, "llm": _llm, "render": _render, "qa": _qa, "aec": _aec,
}


def check_in_words(check: Check) -> Check:
    """One component's report with ``title``, ``summary``, ``customers``, ``level`` and ``since_at`` added."""
    component, state = str(check.get("component", "")), str(check.get("state", "down"))
    backend, reason = str(check.get("backend", "")), str(check.get("reason", ""))
    if component.startswith("tts:"):
        language = component.removeprefix("tts:")
        title = _("%(language)s voice") % {"language": _(LANGUAGE_NAMES.get(language, language))}
        summary, customers = _voice(state, backend, reason)
    else:
        title = str(TITLES.get(component, component))
        summary, customers = WORDS.get(component, _other)(state, backend, reason)
    since = check.get("since")
    since_at = datetime.fromtimestamp(float(since), UTC) if isinstance(since, int | float) else None
    return {**check, "title": title, "summary": summary, "customers": customers,
            "level": LEVELS.get(state, "bad"), "since_at": since_at}


def _check_order(check: Check) -> tuple[int, int, str]:
    """Problems first (red, then amber), then in the order of a conversation."""
    component = str(check["component"])
    stage = "tts" if component.startswith("tts:") else component
    position = CONVERSATION_ORDER.index(stage) if stage in CONVERSATION_ORDER else len(CONVERSATION_ORDER)
    return -_RANK[str(check["level"])], position, component


def worker_in_words(worker: Check) -> Check:
    """A worker's report with each check in words, its ``level`` and a one-line ``summary``."""
    raw = worker.get("backends")
    checks = [check_in_words(check) for check in raw if isinstance(check, dict)] if isinstance(raw, list) else []
    checks.sort(key=_check_order)
    problems = sum(1 for check in checks if check["level"] != "ok")
    if worker.get("stale"):
        level, summary = "bad", _("Stopped reporting: it is gone or stuck. Kiosks it served move to another worker.")
    elif any(check["level"] == "bad" for check in checks):
        level, summary = "bad", _("Something customers rely on is not working: see the red lines.")
    elif problems:
        level, summary = "warn", _("Kiosks work, with problems customers may notice: see the amber lines.")
    else:
        level, summary = "ok", _("Everything works.")
    return {**worker, "backends": checks, "level": level, "summary": summary, "problems": problems}


def health_in_words(workers: list[Check]) -> list[Check]:
    return [worker_in_words(worker) for worker in workers]


def overall_level(workers: list[Check]) -> str:
    """The page's colour: red with no live worker or one red line, amber with any other problem."""
    live = [worker for worker in workers if not worker.get("stale")]
    if not live:
        return "bad"
    return max((str(worker["level"]) for worker in workers), key=_RANK.__getitem__)
