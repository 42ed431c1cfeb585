"""Decoding only the lower face (``EngineSettings.decode_from``) on the tiny random-weight models."""
import numpy as np
import pytest
import torch

from avatar_runtime.render.musetalk.audio_features import Utterance
from avatar_runtime.render.musetalk.engine import EngineSettings, FrameEngine, LowerDecoder
from avatar_runtime.render.musetalk.face_detect import FaceBox
from avatar_runtime.render.musetalk.prepare import PreparedAvatar, face_input
from avatar_runtime.render.musetalk.prerender import renderer_config
from avatar_runtime.render.musetalk.scheduler import FrameJob, JobKind
from avatar_runtime.render.musetalk.server import MuseTalkServer, ServerSettings
from avatar_runtime.render.musetalk.weights import MuseTalkModels
from bench.musetalk_partial_decode import compare

from .conftest import speech


@torch.inference_mode()
def test_the_lower_decoder_given_every_row_as_margin_is_the_whole_decoder_below_its_first_row(
        models: MuseTalkModels) -> None:
    latent = torch.randn(2, 4, 32, 32, generator=torch.Generator().manual_seed(1))
    whole = models.vae.decoder(latent)
    lower = LowerDecoder(models.vae.decoder, start=16, margin=16)(latent)
    assert lower.shape == (2, 3, 128, 256)
    torch.testing.assert_close(lower, whole[:, :, 128:])


def test_settings_refuse_rows_outside_the_latent() -> None:
    assert EngineSettings(decode_from=14).upper_rows == 112
    with pytest.raises(ValueError, match="decode_from"):
        EngineSettings(decode_from=32)
    with pytest.raises(ValueError, match="decode_margin"):
        EngineSettings(decode_from=14, decode_margin=-1)


def test_an_engine_that_decodes_the_lower_face_needs_the_reference_rows(models: MuseTalkModels) -> None:
    engine = FrameEngine(models, EngineSettings(decode_from=14))
    latents, audio = torch.zeros(1, 8, 32, 32), torch.zeros(1, 50, models.audio.dim)
    with pytest.raises(ValueError, match="reference"):
        engine.render(latents, audio)
    face = engine.render(latents, audio, torch.full((1, 3, 112, 256), 0.25))
    assert face.shape == (1, 3, 256, 256) and torch.all(face[:, :, :112] == 0.25)


def test_prerendered_frames_are_keyed_by_the_rows_decoded(models: MuseTalkModels) -> None:
    assert renderer_config(models, decode_from=14) != renderer_config(models)
    assert renderer_config(models, decode_from=0) == renderer_config(models)


def test_the_server_pastes_each_frames_own_face_above_the_decoded_rows(models: MuseTalkModels, avatar: PreparedAvatar) -> None:
    server = MuseTalkServer(models, ServerSettings(engine=EngineSettings(decode_from=14)))
    server.attach(avatar)
    utterance = Utterance()
    utterance.append(speech(0.3, seed=5))
    utterance.flush()
    jobs = [FrameJob(session="s", avatar=avatar.key, frame=f, deadline=0.0, kind=JobKind.RENDER, utterance=utterance,
                     utterance_frame=f) for f in range(2)]
    server.process(jobs)
    for job in jobs:
        assert job.future.result(timeout=0) is not None
        reference = face_input(avatar.frames[job.frame], FaceBox(*map(int, avatar.boxes[job.frame])))[:, :112] / 2 + 0.5
        assert job.face is not None and np.allclose(job.face[:, :112].numpy(), reference, atol=1e-6)


def test_the_lower_face_decode_stays_close_to_the_whole_face_where_the_mask_blends(
        models: MuseTalkModels, avatar: PreparedAvatar) -> None:
    result = compare(models, avatar, settings=((14, 4), (14, 0)), frames=3, speed_batch=1)
    with_margin, without = result["settings"]
    assert result["blended_pixels"] > 0 and result["reference_std_blended"] > 1.0  # the faces are not flat
    assert with_margin["blended_mean"] < 1.0
    assert with_margin["blended_mean"] <= without["blended_mean"]  # the margin is what keeps the edge right
