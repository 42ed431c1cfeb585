import av
import numpy as np

from avatar_runtime.render.clip import render_offline, write_clip, write_frames
from tests.avatar_runtime.render.media import astronaut, speech


def decode(path) -> tuple[list[np.ndarray], np.ndarray, int]:
    with av.open(str(path)) as container:
        images = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        audio = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(stream)])
        rate = stream.rate
    return images, audio, rate


def test_rendered_speech_becomes_an_h264_aac_mp4(tmp_path) -> None:
    samples, rate = speech("short")
    frames = render_offline(astronaut(), samples, rate, tail_s=0.4)
    path = write_frames(tmp_path / "clip.mp4", frames)
    with av.open(str(path)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert container.streams.audio[0].codec_context.name == "aac"
        assert container.streams.video[0].average_rate == 25
    images, audio, out_rate = decode(path)
    assert len(images) == len(frames) and images[0].shape == (512, 512, 3)
    assert out_rate == 16000
    pushed = np.concatenate([f.audio for f in frames])
    assert abs(len(audio) - len(pushed)) <= 1024  # AAC works in blocks of 1024
    n = min(len(audio), len(pushed))
    assert np.corrcoef(audio[:n], pushed[:n])[0, 1] > 0.95  # lossy, but the same sound, not shifted
    assert np.abs(images[20].astype(int) - frames[20].image.astype(int)).mean() < 4


def test_audio_and_video_start_together(tmp_path) -> None:
    click = np.zeros(32000, np.float32)
    click[16000:16016] = 0.9  # at exactly 1 s
    path = write_clip(tmp_path / "click.mp4", [np.zeros((64, 64, 3), np.uint8)] * 50, click, 25, 16000)
    _, audio, _ = decode(path)
    assert abs(int(np.argmax(np.abs(audio))) - 16000) <= 16  # within 1 ms: encoder priming is compensated
