"""Compiled artefacts of the frame engine, built once and kept beside the weights.

``torch.compile`` of the UNet and the VAE decoder costs minutes at every worker start. Inductor's
caches (FX graphs, AOT autograd, Triton kernels, autotuning) can be exported as one blob with
``torch.compiler.save_cache_artifacts()`` and loaded into a fresh process with
``load_cache_artifacts()``; compilation then replays the cached kernels instead of generating them.

The blob only fits the GPU model, torch/CUDA versions and engine configuration it was built with, so
it is stored under ``MODELS_DIR/musetalk-compiled/<key>/`` where the key hashes all of those. At
start the worker loads the entry of its own key; a missing, foreign or unreadable entry is logged and
the engine compiles from scratch, then saves a fresh entry (never a crash: the cache only saves time).
``python manage.py musetalk_build`` builds it at deploy time.
"""
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

log = logging.getLogger(__name__)

COMPILED_DIR = "musetalk-compiled"
ARTEFACTS = "artefacts.bin"
META = "meta.json"
READY, MISSING, STALE, BROKEN_ENTRY = "ready", "missing", "stale", "broken"


def architecture_digest(*configs: Mapping[str, Any]) -> str:
    """A short digest of model configs: compiled kernels depend on the shapes, not on the weights.

    Private keys (``_name_or_path``, ``_diffusers_version`` ...) are left out, so the official config
    files and the same architecture built at random weights give one digest.
    """
    public = [{k: v for k, v in dict(c).items() if not k.startswith("_")} for c in configs]
    text = json.dumps(public, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def host_fields(device: torch.device) -> dict[str, str]:
    """What the compiled code depends on besides the engine's configuration."""
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    return {"gpu": gpu, "torch": torch.__version__, "cuda": str(torch.version.cuda)}


def cache_key(fields: Mapping[str, Any]) -> str:
    """Stable key of ``fields`` (GPU model, torch and CUDA versions, dtype, batch sizes, architecture)."""
    return hashlib.sha256(json.dumps(dict(fields), sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class CacheState:
    status: str  # ready | missing | stale (only entries for other hosts or configs) | broken
    key: str
    detail: str


class CompileCache:
    """The entries under ``root`` (``MODELS_DIR/musetalk-compiled``), one directory per key."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def beside_weights(cls, models_dir: Path) -> "CompileCache":
        return cls(models_dir / COMPILED_DIR)

    def entries(self) -> list[dict[str, Any]]:
        """Every entry's metadata (with its ``key``); unreadable ones say so under ``problem``."""
        found = []
        for path in sorted(self.root.iterdir()) if self.root.is_dir() else []:
            if path.name.startswith(".") or not path.is_dir():  # staging directories of a save in progress
                continue
            try:
                meta = json.loads((path / META).read_text())
                if not isinstance(meta, dict) or not (path / ARTEFACTS).is_file():
                    raise ValueError("incomplete entry")
            except (OSError, ValueError) as exc:
                meta = {"problem": str(exc)}
            found.append({**meta, "key": path.name})
        return found

    def state(self, fields: Mapping[str, Any]) -> CacheState:
        key = cache_key(fields)
        entries = {e["key"]: e for e in self.entries()}
        own = entries.get(key)
        if own is not None and "problem" not in own:
            return CacheState(READY, key, f"built {own.get('built', '?')} in {own.get('build_seconds', 0):.0f} s, "
                                          f"{own.get('bytes', 0) / 2**20:.1f} MiB")
        if own is not None:
            return CacheState(BROKEN_ENTRY, key, f"entry {key} unreadable ({own['problem']})")
        if entries:
            others = ", ".join(sorted({f"{e.get('fields', {}).get('gpu', '?')} / torch {e.get('fields', {}).get('torch', '?')}"
                                       for e in entries.values()}))
            return CacheState(STALE, key, f"only entries for other GPUs, versions or configs ({others})")
        return CacheState(MISSING, key, f"nothing under {self.root}")

    def host_state(self, host: Mapping[str, str]) -> CacheState:
        """Whether an entry was built on this GPU model and torch/CUDA (doctor: no model needs loading)."""
        entries = self.entries()
        broken = [e["key"] for e in entries if "problem" in e]
        mine = [e for e in entries if "problem" not in e and all(e["fields"].get(k) == v for k, v in host.items())]
        if mine:
            newest = max(mine, key=lambda e: str(e.get("built")))
            detail = (f"built {newest.get('built')} for {host.get('gpu')} / torch {host.get('torch')} "
                      f"({', '.join(str(e['fields'].get('dtype')) for e in mine)}; key {newest['key']})")
            return CacheState(READY, newest["key"], detail + (f"; unreadable entries: {', '.join(broken)}" if broken else ""))
        if broken:
            return CacheState(BROKEN_ENTRY, broken[0], f"unreadable entries {', '.join(broken)} under {self.root}")
        if entries:
            others = ", ".join(sorted({f"{e['fields'].get('gpu')} / torch {e['fields'].get('torch')}" for e in entries}))
            return CacheState(STALE, "", f"built for {others} only, not {host.get('gpu')} / torch {host.get('torch')}")
        return CacheState(MISSING, "", f"nothing under {self.root}")

    def load(self, fields: Mapping[str, Any]) -> CacheState:
        """Load this configuration's artefacts into torch's compile caches; never raises."""
        state = self.state(fields)
        if state.status != READY:
            log.warning("musetalk compile cache %s (%s): compiling from scratch", state.status, state.detail)
            return state
        try:
            data = (self.root / state.key / ARTEFACTS).read_bytes()
            if torch.compiler.load_cache_artifacts(data) is None:
                raise ValueError("torch found no artefacts in the blob")
        except Exception as exc:  # noqa: BLE001 - a corrupt or foreign blob must cost time, not the worker
            log.warning("musetalk compile cache %s failed to load (%s): compiling from scratch", state.key, exc)
            return CacheState(BROKEN_ENTRY, state.key, f"load failed: {exc}")
        log.info("musetalk compile cache %s loaded (%d bytes)", state.key, len(data))
        return state

    def remove(self, fields: Mapping[str, Any]) -> None:
        shutil.rmtree(self.root / cache_key(fields), ignore_errors=True)

    def save(self, fields: Mapping[str, Any], build_seconds: float) -> Path | None:
        """Export what this process compiled and replace this key's entry atomically."""
        exported = torch.compiler.save_cache_artifacts()
        if exported is None:
            log.warning("musetalk compile cache: torch had nothing to export (was anything compiled?)")
            return None
        data = exported[0]
        key = cache_key(fields)
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=self.root))
        (staging / ARTEFACTS).write_bytes(data)
        meta = {"fields": dict(fields), "built": time.strftime("%Y-%m-%d %H:%M:%S"), "build_seconds": build_seconds,
                "bytes": len(data)}
        (staging / META).write_text(json.dumps(meta, indent=1, default=str))
        target = self.root / key
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
        log.info("musetalk compile cache %s saved (%d bytes, %s)", key, len(data), fields.get("gpu"))
        return target
