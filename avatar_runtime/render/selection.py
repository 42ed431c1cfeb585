"""Which renderer the worker uses (``AVATAR_RENDER_BACKEND``): MuseTalk on a GPU, the portrait on the CPU.

``auto`` picks MuseTalk only where a CUDA GPU and the MuseTalk 1.5 weights (``locate_weights``) are
both present; ``musetalk`` forces it (on the CPU too: slow, but what the tests run) and fails at
worker start when its weights are missing; ``portrait`` forces the CPU renderer. ``doctor`` reports
the same choice with the same reason.
"""
from dataclasses import dataclass
from pathlib import Path

from avatar_runtime.errors import ModelMissingError

MUSETALK, PORTRAIT = "musetalk", "portrait"
CHOICES = ("auto", MUSETALK, PORTRAIT)


@dataclass(frozen=True)
class RendererChoice:
    backend: str  # musetalk | portrait
    reason: str


def musetalk_weights_problem(models_dir: Path) -> str | None:
    """None where the MuseTalk weights are complete, else what is missing."""
    from avatar_runtime.render.musetalk.weights import locate_weights  # torch and diffusers: only when asked

    try:
        locate_weights(models_dir)
    except ModelMissingError as exc:
        return str(exc).split(": ", 1)[-1]  # "musetalk: missing under ..."
    return None


def choose_renderer(setting: str, models_dir: Path, cuda: bool) -> RendererChoice:
    """The renderer for ``setting``; ``musetalk`` without its weights raises ``ModelMissingError``."""
    if setting not in CHOICES:
        raise ValueError(f"AVATAR_RENDER_BACKEND={setting!r}: expected one of {', '.join(CHOICES)}")
    if setting == PORTRAIT:
        return RendererChoice(PORTRAIT, "AVATAR_RENDER_BACKEND=portrait")
    if setting == "auto" and not cuda:
        return RendererChoice(PORTRAIT, "auto: no CUDA GPU, so the CPU portrait renderer")
    problem = musetalk_weights_problem(models_dir)
    if setting == MUSETALK:
        if problem is not None:
            raise ModelMissingError("musetalk", f"AVATAR_RENDER_BACKEND=musetalk but the weights are {problem} "
                                                "(see README, MuseTalk weights)")
        return RendererChoice(MUSETALK, "AVATAR_RENDER_BACKEND=musetalk" + ("" if cuda else "; no CUDA GPU: on the CPU, slowly"))
    if problem is not None:
        return RendererChoice(PORTRAIT, f"auto: MuseTalk weights {problem}, so the CPU portrait renderer")
    return RendererChoice(MUSETALK, "auto: CUDA GPU and MuseTalk 1.5 weights present")
