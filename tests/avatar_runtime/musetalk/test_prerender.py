"""Answers rendered ahead in idle GPU time: the store, the idle render and the replay (tiny models, CPU)."""
import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pytest

from avatar_runtime.render.musetalk.prepare import PreparedAvatar
from avatar_runtime.render.musetalk.prerender import (
    PrerenderedAnswer,
    Prerenderer,
    PrerenderStore,
    prerender_answers,
    renderer_config,
)
from avatar_runtime.render.musetalk.renderer import MuseTalkRenderer, SessionSettings
from avatar_runtime.render.musetalk.server import MuseTalkServer
from avatar_runtime.render.musetalk.weights import MuseTalkModels

from .conftest import speech, tiny_models

AUDIO_KEY = hashlib.sha256(b"answer one").hexdigest()


def _answer(frames: int, size: int) -> PrerenderedAnswer:
    crops = [None if i % 3 == 0 else bytes([i]) * size for i in range(frames)]
    return PrerenderedAnswer(np.arange(frames, dtype=np.int32), crops)


def test_store_is_content_addressed_bounded_and_invalidated_with_the_audio(tmp_path: Path) -> None:
    store = PrerenderStore(tmp_path, config="cfg-a", max_bytes=10**6)
    answer = _answer(6, 1000)
    entry = store.save("avatar", AUDIO_KEY, answer).stat().st_size
    loaded = store.load("avatar", AUDIO_KEY)
    assert loaded is not None and loaded.crops == answer.crops
    assert np.array_equal(loaded.base_frames, answer.base_frames)
    assert store.load("other-avatar", AUDIO_KEY) is None
    assert PrerenderStore(tmp_path, config="cfg-b", max_bytes=10**6).load("avatar", AUDIO_KEY) is None

    other = hashlib.sha256(b"answer two").hexdigest()
    store.save("avatar", other, answer)
    assert store.load("avatar", AUDIO_KEY) is not None  # now the most recently played
    store.max_bytes = entry + entry // 2
    assert store.evict() == 1
    assert store.load("avatar", other) is None and store.load("avatar", AUDIO_KEY) is not None

    store.invalidate(AUDIO_KEY)
    assert store.load("avatar", AUDIO_KEY) is None
    store.save("avatar", other, answer)
    assert store.retain({AUDIO_KEY}) == 1 and store.size() == 0
    with pytest.raises(ValueError):
        store.path("avatar", "../escape")


def test_a_corrupt_entry_is_removed_not_raised(tmp_path: Path) -> None:
    store = PrerenderStore(tmp_path, config="cfg", max_bytes=10**6)
    path = store.save("avatar", AUDIO_KEY, _answer(3, 10))
    path.write_bytes(b"not an npz")
    assert store.load("avatar", AUDIO_KEY) is None and not path.exists()


def test_renderer_config_follows_weights_and_dtype(models: MuseTalkModels) -> None:
    assert renderer_config(models) == renderer_config(tiny_models(face_parser=False))  # same seeded weights
    assert renderer_config(models) != renderer_config(dataclasses.replace(models, fingerprint="official-abc"))
    assert renderer_config(models) != renderer_config(models, quality=80)


@pytest.mark.slow
async def test_idle_render_then_replay_costs_no_gpu_and_yields_to_barge_in(
        server: MuseTalkServer, avatar: PreparedAvatar, tmp_path: Path) -> None:
    store = PrerenderStore(tmp_path, renderer_config(server.models), max_bytes=10**8)
    audio = speech(0.6, seed=3)
    audio[-2400:] = 0.0  # a silent tail: base frames, not rendered
    rendered_before = server.stats.idle_rendered
    assert Prerenderer(server, store).ensure(avatar, AUDIO_KEY, audio)
    answer = store.load(avatar.key, AUDIO_KEY)
    assert answer is not None and len(answer) == 15
    assert answer.crops[-1] is None and all(c is not None for c in answer.crops[:5])
    assert server.stats.idle_rendered - rendered_before == sum(c is not None for c in answer.crops)
    assert not Prerenderer(server, store).ensure(avatar, AUDIO_KEY, audio)  # stored: nothing rendered again

    renderer = MuseTalkRenderer(server, avatar, session_id="replay", settings=SessionSettings(max_wait=30.0))
    batches = server.stats.batches
    renderer.play_prerendered(answer, audio)
    frames = []
    async for frame in renderer.frames():
        frames.append(frame)
        if sum(f.speaking for f in frames) == 6:
            break
    played = renderer.clear_buffer()
    after = [frame async for frame in _take(renderer, 4)]
    await renderer.close()

    speaking = [f for f in frames if f.speaking]
    assert server.stats.batches == batches  # the replay rendered nothing
    assert np.array_equal(np.concatenate([f.audio for f in speaking]), audio[: 6 * 640])
    crop = answer.crop(1)
    base = int(answer.base_frames[1])
    x1, y1, x2, y2 = (int(v) for v in avatar.crops[base])
    assert crop is not None
    assert np.array_equal(speaking[1].image[y1:y2, x1:x2], crop[: y2 - y1, : x2 - x1])
    assert played == pytest.approx(6 * 0.04)
    assert not any(f.speaking for f in after)


@pytest.mark.slow
def test_the_store_follows_the_answer_audio_cache(server: MuseTalkServer, avatar: PreparedAvatar, tmp_path: Path) -> None:
    store = PrerenderStore(tmp_path, renderer_config(server.models), max_bytes=10**8)
    prerenderer = Prerenderer(server, store)
    first, second = hashlib.sha256(b"first").hexdigest(), hashlib.sha256(b"second").hexdigest()
    loads: list[str] = []

    def loader(key: str, seed: int):  # type: ignore[no-untyped-def]
        def load() -> np.ndarray:
            loads.append(key)
            return speech(0.2, seed=seed)
        return load

    assert prerender_answers(prerenderer, [avatar], [(first, loader(first, 1)), (second, loader(second, 2))]) == (2, 0)
    assert prerender_answers(prerenderer, [avatar], [(first, loader(first, 1))]) == (0, 1)  # second left the cache
    assert loads == [first, second]  # stored frames are not rendered (nor their audio read) again
    assert store.load(avatar.key, first) is not None and store.load(avatar.key, second) is None


async def _take(renderer: MuseTalkRenderer, count: int):  # type: ignore[no-untyped-def]
    async for frame in renderer.frames():
        yield frame
        count -= 1
        if count == 0:
            return
