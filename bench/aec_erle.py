"""Echo cancellation on a synthetic echo path: ERLE, and what is left of the customer in double talk.

    MODELS_DIR=... python -m bench.aec_erle

The far end is the avatar's English voice (Piper, ~10 s); the echo path is a delay, a short
synthetic room response and a gain, plus a -70 dBFS microphone noise floor. ERLE is the echo's
energy over what the canceller lets through, after it converged (from 3 s on) and in the first
second. In double talk a Japanese customer speaks over the avatar; the output is compared with
the clean customer speech passed through APM's high-pass filter alone (the colouring we ask for:
a plain waveform correlation would count its phase shift as damage). Tables are printed and
written to bench/results/aec_erle.md.
"""
import os
import time
from pathlib import Path

import numpy as np
from livekit import rtc

from avatar_runtime.aec.webrtc_apm import WebRtcEchoCanceller
from avatar_runtime.asr.whisper import WhisperRecognizer
from avatar_runtime.audio import from_pcm16, to_pcm16
from avatar_runtime.pipeline.messages import Samples
from tests.speech_samples import RATE, SENTENCES, mix_echo, models_dir, noise, speak

RESULTS = Path(__file__).parent / "results" / "aec_erle.md"
SETTLED = 3 * RATE
GAIN = 0.5  # echo at -6 dB of the far end: a loud kiosk speaker right next to its microphone


def table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in rows)])


def energy_db(samples: Samples) -> float:
    return 10 * float(np.log10(np.sum(np.square(samples, dtype=np.float64)) + 1e-12))


def run(canceller: WebRtcEchoCanceller, mic: Samples, reference: Samples) -> tuple[Samples, float]:
    """Processed microphone and the CPU time per 10 ms frame, 20 ms chunks in step with playback."""
    reference = np.pad(reference, (0, max(0, len(mic) - len(reference))))
    out, cpu = [], time.process_time()
    for start in range(0, len(mic), 320):
        canceller.push_reference(reference[start : start + 320])
        out.append(canceller.process(mic[start : start + 320]))
    return np.concatenate(out), (time.process_time() - cpu) / (len(mic) / 160)


def high_passed(samples: Samples) -> Samples:
    apm = rtc.AudioProcessingModule(high_pass_filter=True)
    out = []
    for start in range(0, len(samples) // 160 * 160, 160):
        frame = rtc.AudioFrame(to_pcm16(samples[start : start + 160]).tobytes(), RATE, 1, 160)
        apm.process_stream(frame)
        out.append(from_pcm16(bytes(frame.data.cast("B"))))
    return np.concatenate(out)


def aligned(output: Samples, reference: Samples, start: int, end: int) -> tuple[int, float]:
    """(lag in samples, correlation) at the lag where ``output`` matches ``reference`` best."""
    scores = [(lag, float(np.corrcoef(output[start + lag : end + lag], reference[start:end])[0, 1])) for lag in range(400)]
    return max(scores, key=lambda s: s[1])


def erle_section(far: Samples) -> str:
    rows = []
    for delay_ms in (0, 50, 100, 200, 300, 500):
        mix = mix_echo(np.zeros(1, np.float32), far, delay_ms=delay_ms, gain=GAIN)
        mic = mix.mic + noise(len(mix.mic), -70.0, seed=5)
        cells = [f"{delay_ms}"]
        for hint in (0, 40):
            out, cpu = run(WebRtcEchoCanceller(RATE, stream_delay_ms=hint), mic, far)
            converged = energy_db(mix.echo[SETTLED : len(out)]) - energy_db(out[SETTLED:])
            first = energy_db(mix.echo[:RATE]) - energy_db(out[:RATE])
            cells += [f"{converged:.1f}", f"{first:.1f}"]
        rows.append([*cells, f"{cpu * 1000:.2f}"])
    return "\n\n".join([
        f"ERLE (dB) on a synthetic echo path (gain {GAIN}, 60 ms room response, -70 dBFS mic noise), by true echo delay "
        "and APM stream-delay hint",
        table(["echo delay (ms)", "hint 0: after 3 s", "hint 0: first 1 s", "hint 40: after 3 s", "hint 40: first 1 s",
               "CPU ms per 10 ms frame"], rows),
    ])


def double_talk_section(far: Samples, recognizer: WhisperRecognizer) -> str:
    text = SENTENCES["ja"][1]
    customer = speak(text, "ja")[0] * 0.5
    start = 4 * RATE
    end = start + len(customer)
    near = np.concatenate([np.zeros(start, np.float32), customer])
    window = slice(start - RATE // 2, end + RATE // 2)
    rows = []
    for gain in (0.1, 0.2, 0.4):
        mix = mix_echo(near, far, delay_ms=100, gain=gain)
        clean = high_passed(mix.near)
        _, corr_in = aligned(high_passed(mix.mic), clean, start, end)
        ser_in = energy_db(clean[start:end]) - energy_db(high_passed(mix.echo)[start:end])
        heard_in = recognizer.transcribe(mix.mic[window], RATE, language="ja").text
        for suppress_noise in (True, False):
            out, _ = run(WebRtcEchoCanceller(RATE, noise_suppression=suppress_noise), mix.mic, far)
            lag, corr_out = aligned(out, clean, start, end)
            kept = energy_db(out[start + lag : end + lag]) - energy_db(clean[start:end])
            heard = recognizer.transcribe(out[window], RATE, language="ja").text
            rows.append([f"{gain}", "on" if suppress_noise else "off", f"{ser_in:.1f}", f"{corr_in:.2f}", f"{corr_out:.2f}",
                         f"{kept:.1f}", f"{lag / 16:.1f}", heard_in, heard])
    return "\n\n".join([
        f"Double talk: a customer says {text!r} over the avatar (echo delay 100 ms); correlations against the clean "
        "speech through the high-pass filter, at the best lag",
        table(["echo gain", "NS", "speech-to-echo in (dB)", "corr. mic", "corr. output", "customer level kept (dB)",
               "output lag (ms)", "Whisper on the mic", "Whisper on the output"], rows),
    ])


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")  # MODELS_DIR comes from the settings
    far = np.concatenate([speak(text, "en")[0] for text in SENTENCES["en"]])
    recognizer = WhisperRecognizer(models_dir() / "whisper-base")
    sections = [erle_section(far), double_talk_section(far, recognizer)]
    report = "# Echo cancellation (WebRTC APM through livekit, 16 kHz, NS on, AGC off)\n\n" + "\n\n".join(sections) + "\n"
    print(report)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
