"""Choosing a lip-sync scorer: SyncNet when its weights are in MODELS_DIR, else the embedded one."""
from pathlib import Path

from avatar_runtime.qa.base import SyncScorer
from avatar_runtime.qa.embedded import EmbeddedScorer

SCORERS = ("auto", "syncnet", "embedded")


def make_scorer(name: str, models_dir: Path) -> SyncScorer:
    """``auto`` prefers SyncNet and falls back to the embedded scorer; ``syncnet`` raises
    ``ModelMissingError`` when its weights are missing."""
    if name not in SCORERS:
        raise ValueError(f"unknown scorer {name!r}; expected one of {', '.join(SCORERS)}")
    if name == "embedded":
        return EmbeddedScorer()
    from avatar_runtime.qa.syncnet import SyncNetScorer, syncnet_files  # torch: imported only when needed

    if name == "auto" and not all(p.exists() for p in syncnet_files(models_dir)):
        return EmbeddedScorer()
    return SyncNetScorer(models_dir)
