"""Compiled-artefact cache beside the weights: its key, stale and foreign entries, failed loads, doctor."""
import json
import logging
from pathlib import Path

import pytest
import torch

from avatar_runtime.doctor import musetalk_compile_state
from avatar_runtime.render.musetalk.compile_cache import (
    ARTEFACTS,
    BROKEN_ENTRY,
    META,
    MISSING,
    READY,
    STALE,
    CompileCache,
    architecture_digest,
    cache_key,
)
from avatar_runtime.render.musetalk.engine import EngineSettings, FrameEngine
from avatar_runtime.render.musetalk.server import MuseTalkServer, ServerSettings
from avatar_runtime.render.musetalk.weights import MuseTalkModels

H100 = {"gpu": "NVIDIA H100 80GB HBM3", "torch": "2.13.0+cu130", "cuda": "13.0"}
FIELDS = {**H100, "dtype": "torch.float16", "batch_sizes": [1, 2, 4], "encode_batch_sizes": [1], "architecture": "abc"}


def write_entry(cache: CompileCache, fields: dict[str, object], blob: bytes = b"compiled") -> Path:
    """An entry as ``CompileCache.save`` lays it out (saving itself needs something compiled on a GPU)."""
    path = cache.root / cache_key(fields)
    path.mkdir(parents=True)
    (path / ARTEFACTS).write_bytes(blob)
    (path / META).write_text(json.dumps({"fields": fields, "built": "2026-12-06 12:00:00", "build_seconds": 201.0,
                                         "bytes": len(blob)}))
    return path


def test_the_key_changes_with_the_gpu_torch_dtype_batch_sizes_and_architecture_but_not_key_order() -> None:
    key = cache_key(FIELDS)
    assert key == cache_key(dict(reversed(list(FIELDS.items()))))
    for change in ({"gpu": "NVIDIA H200"}, {"torch": "2.14.0+cu130"}, {"dtype": "torch.bfloat16"},
                   {"batch_sizes": [1, 2, 4, 8]}, {"architecture": "abd"}):
        assert cache_key({**FIELDS, **change}) != key, change


def test_the_architecture_digest_ignores_private_config_keys_and_weights(models: MuseTalkModels) -> None:
    unet, vae = dict(models.unet.config), dict(models.vae.config)
    assert architecture_digest(unet, vae) == architecture_digest({**unet, "_name_or_path": "/models/x"}, vae)
    assert architecture_digest(unet, vae) != architecture_digest({**unet, "cross_attention_dim": 64}, vae)
    fields = FrameEngine(models, EngineSettings()).cache_fields()
    assert fields["architecture"] == architecture_digest(unet, vae)
    assert fields["gpu"] == "cpu" and fields["torch"] == torch.__version__ and fields["batch_sizes"] == [1, 2, 4, 8, 16, 32]


def test_states_missing_ready_stale_and_broken(tmp_path: Path) -> None:
    cache = CompileCache.beside_weights(tmp_path)
    assert cache.state(FIELDS).status == MISSING
    foreign = write_entry(cache, {**FIELDS, "gpu": "NVIDIA H200", "torch": "2.11.0+cu130"})
    stale = cache.state(FIELDS)
    assert stale.status == STALE and "NVIDIA H200 / torch 2.11.0+cu130" in stale.detail
    own = write_entry(cache, FIELDS)
    ready = cache.state(FIELDS)
    assert ready.status == READY and ready.key == own.name and "201 s" in ready.detail
    (own / META).write_text("{not json")
    assert cache.state(FIELDS).status == BROKEN_ENTRY
    assert foreign.name != own.name
    (tmp_path / "musetalk-compiled" / ".halfway-save").mkdir()  # a save in progress is not an entry
    assert {e["key"] for e in cache.entries()} == {foreign.name, own.name}


def test_an_unreadable_blob_is_logged_and_reported_never_raised(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cache = CompileCache(tmp_path)
    write_entry(cache, FIELDS, blob=b"not torch's artefacts")
    with caplog.at_level(logging.WARNING):
        state = cache.load(FIELDS)
    assert state.status == BROKEN_ENTRY and "load failed" in state.detail
    assert "compiling from scratch" in caplog.text


def test_a_missing_entry_is_logged_and_loading_goes_on(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert CompileCache(tmp_path).load(FIELDS).status == MISSING
    assert "missing" in caplog.text and "compiling from scratch" in caplog.text


def test_a_server_without_compilation_neither_reads_nor_writes_the_cache(models: MuseTalkModels, tmp_path: Path) -> None:
    server = MuseTalkServer(models, ServerSettings(engine=EngineSettings(batch_sizes=(1, 2))))
    server.start(CompileCache(tmp_path / "compiled"))
    server.stop()
    assert server.startup["compile_cache"] == "unused" and not (tmp_path / "compiled").exists()


def test_doctor_says_whether_artefacts_fit_this_gpu_and_torch(tmp_path: Path) -> None:
    line, ready = musetalk_compile_state(tmp_path, host=H100)
    assert not ready and "missing" in line and "musetalk-compiled" in line
    cache = CompileCache.beside_weights(tmp_path)
    write_entry(cache, {**FIELDS, "gpu": "NVIDIA A100-SXM4-80GB"})
    line, ready = musetalk_compile_state(tmp_path, host=H100)
    assert not ready and line.startswith("compiled artefacts stale") and "NVIDIA A100-SXM4-80GB" in line
    write_entry(cache, FIELDS)
    line, ready = musetalk_compile_state(tmp_path, host=H100)
    assert ready and "ready" in line and "NVIDIA H100 80GB HBM3" in line and cache_key(FIELDS) in line


@pytest.mark.skipif(torch.cuda.is_available(), reason="on a GPU the command builds for minutes")
def test_musetalk_build_refuses_to_build_without_a_gpu() -> None:
    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="needs a CUDA GPU"):
        call_command("musetalk_build", "--random-weights")
