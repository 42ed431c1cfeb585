"""WebRTC echo cancellation: the avatar's own voice leaves the microphone, the customer's stays."""
import numpy as np
import pytest
from livekit import rtc

from avatar_runtime.aec.factory import echo_canceller
from avatar_runtime.aec.passthrough import PassthroughEchoCanceller
from avatar_runtime.aec.webrtc_apm import WebRtcEchoCanceller
from avatar_runtime.audio import from_pcm16, to_pcm16
from avatar_runtime.pipeline.messages import Samples
from tests.speech_samples import RATE, SENTENCES, mix_echo, noise, speak

CONVERGED_S = 3.0  # AEC3 needs a couple of seconds of far-end speech to learn the echo path


@pytest.fixture(scope="module")
def far() -> Samples:
    """What the avatar says: English sentences back to back (~10 s)."""
    return np.concatenate([speak(text, "en")[0] for text in SENTENCES["en"]])


def run(canceller: WebRtcEchoCanceller, mic: Samples, reference: Samples, chunk: int = 320) -> Samples:
    """Play ``reference`` and record ``mic`` in step, as the session does, ``chunk`` samples at a time."""
    reference = np.pad(reference, (0, max(0, len(mic) - len(reference))))
    out = []
    for start in range(0, len(mic), chunk):
        canceller.push_reference(reference[start : start + chunk])
        out.append(canceller.process(mic[start : start + chunk]))
    return np.concatenate(out)


def energy_db(samples: Samples) -> float:
    return 10 * float(np.log10(np.sum(np.square(samples, dtype=np.float64)) + 1e-12))


def high_passed(samples: Samples) -> Samples:
    """``samples`` through APM's own high-pass filter alone: the colouring we ask for on purpose."""
    apm = rtc.AudioProcessingModule(high_pass_filter=True)
    out = []
    for start in range(0, len(samples) // 160 * 160, 160):
        frame = rtc.AudioFrame(to_pcm16(samples[start : start + 160]).tobytes(), RATE, 1, 160)
        apm.process_stream(frame)
        out.append(from_pcm16(bytes(frame.data.cast("B"))))
    return np.concatenate(out)


def best_correlation(output: Samples, reference: Samples, start: int, end: int, max_lag: int = 400) -> float:
    """Correlation at the best lag: APM delays its output by 8-14 ms when echo cancellation is on."""
    return max(float(np.corrcoef(output[start + lag : end + lag], reference[start:end])[0, 1]) for lag in range(max_lag))


@pytest.mark.slow
@pytest.mark.parametrize("delay_ms", [40, 150])
def test_echo_is_reduced_by_20_db(far: Samples, delay_ms: int) -> None:
    mix = mix_echo(noise(1, -90.0), far, delay_ms=delay_ms, gain=0.5)
    mic = mix.mic + noise(len(mix.mic), -70.0, seed=5)  # the microphone's own noise floor
    out = run(WebRtcEchoCanceller(RATE), mic, far)
    settled = int(CONVERGED_S * RATE)
    erle = energy_db(mix.echo[settled : len(out)]) - energy_db(out[settled:])
    assert erle >= 20.0


@pytest.mark.slow
def test_customer_speech_survives_double_talk(far: Samples) -> None:
    customer = speak(SENTENCES["ja"][1], "ja")[0] * 0.5
    start = int(4.0 * RATE)  # the customer barges in while the avatar is still talking
    near = np.concatenate([np.zeros(start, np.float32), customer])
    mix = mix_echo(near, far, delay_ms=100, gain=0.2)
    out = run(WebRtcEchoCanceller(RATE), mix.mic, far)
    end = start + len(customer)
    clean = high_passed(mix.near)
    assert best_correlation(out, clean, start, end) >= 0.8
    # ... and the echo that was mixed into it is mostly gone where the customer is silent.
    settled = int(CONVERGED_S * RATE)
    assert energy_db(mix.echo[settled:start]) - energy_db(out[settled:start]) >= 20.0


@pytest.mark.slow
def test_without_echo_a_customer_talking_over_the_avatar_is_not_suppressed(far: Samples) -> None:
    """The browser's AEC already removed the avatar's voice: nothing is left for AEC3 to take,
    and its double-talk suppression must not take the customer's words instead."""
    customer = speak(SENTENCES["en"][0], "en")[0] * 0.5
    start = int(4.0 * RATE)
    mic = np.concatenate([np.zeros(start, np.float32), customer]) + noise(start + len(customer), -70.0, seed=5)
    canceller = WebRtcEchoCanceller(RATE)
    out = run(canceller, mic, far)
    end = min(start + len(customer), len(out) - 2)
    assert not canceller.echo.present
    assert abs(energy_db(out[start:end]) - energy_db(mic[start:end])) < 1.0
    assert best_correlation(out, mic, start, end, max_lag=2) >= 0.99


def test_echo_presence_follows_the_microphone(far: Samples) -> None:
    from avatar_runtime.aec.webrtc_apm import EchoPresence
    from avatar_runtime.audio import rms

    customer = speak(SENTENCES["en"][1], "en")[0]
    near = np.zeros(len(far), np.float32)
    near[RATE:RATE + len(customer)] = customer[: len(far) - RATE]
    cases = {  # microphone -> echo present
        "echo": (mix_echo(noise(1, -90.0), far, delay_ms=150, gain=0.3).mic, True),
        "echo and the customer": (mix_echo(near, far, delay_ms=150, gain=0.3).mic, True),
        "silent (a headset)": (np.zeros(len(far), np.float32), False),
        "the customer alone": (near, False),
    }
    for name, (mic, expected) in cases.items():
        mic = mic[: len(far)] + noise(len(far), -70.0, seed=5)
        presence = EchoPresence()
        assert presence.present  # unknown: cancel
        for start in range(0, len(far) - 160, 160):
            presence.reference(rms(far[start:start + 160]))
            presence.microphone(rms(mic[start:start + 160]))
        assert presence.present is expected, name


def test_any_chunk_size_comes_out_as_whole_frames() -> None:
    canceller = WebRtcEchoCanceller(RATE)
    sizes = [1, 159, 160, 161, 333, 1000, 7]
    total_in = total_out = 0
    for size in sizes:
        canceller.push_reference(np.zeros(size, np.float32))
        out = canceller.process(noise(size, -30.0))
        assert out.dtype == np.float32
        assert len(out) % 160 == 0
        total_in, total_out = total_in + size, total_out + len(out)
    assert 0 <= total_in - total_out < 160
    canceller.reset()
    assert len(canceller.process(np.zeros(100, np.float32))) == 0  # buffers emptied


def test_factory_prefers_webrtc_and_passthrough_changes_nothing() -> None:
    assert echo_canceller(RATE).name == "webrtc-apm"
    passthrough = PassthroughEchoCanceller(RATE, reason="livekit missing")
    audio = noise(480, -20.0)
    passthrough.push_reference(audio)
    assert np.array_equal(passthrough.process(audio), audio)
