"""The answer clip the transcript keeps is the audio the customer actually heard."""
import io

import numpy as np
import soundfile as sf

from avatar_runtime.pipeline.playback import Playback
from avatar_runtime.pipeline.turn import wav_bytes


def test_played_audio_stops_where_a_barge_in_cut_the_answer() -> None:
    playback = Playback(16000)
    first, second = np.full(16000, 0.25, np.float32), np.full(8000, -0.25, np.float32)
    playback.add_sentence("The restrooms are on every floor.")
    playback.add_audio(first)
    playback.add_sentence("Next to the lifts.")
    playback.add_audio(second)
    playback.advance(20000)  # the customer interrupted 1.25 s in
    heard = playback.played_audio()
    assert len(heard) == 20000
    assert np.array_equal(heard[:16000], first) and np.array_equal(heard[16000:], second[:4000])
    decoded, rate = sf.read(io.BytesIO(wav_bytes(heard, playback.sample_rate)), dtype="float32")
    assert rate == 16000 and len(decoded) == 20000 and abs(float(decoded[100]) - 0.25) < 1e-3


def test_nothing_played_means_no_audio() -> None:
    playback = Playback(24000)
    assert len(playback.played_audio()) == 0
    playback.add_sentence("Hello.")
    playback.add_audio(np.ones(100, np.float32))
    assert len(playback.played_audio()) == 0
