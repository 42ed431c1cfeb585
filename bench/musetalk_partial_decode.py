"""Decoding only the lower face (``EngineSettings.decode_from``): accuracy and speed against the whole face.

For each (first decoded latent row, margin rows) it renders the same frames (an avatar's latents,
random audio windows) with the whole-face decode and with the lower-face decode, blends both into
the avatar's crops with its mask, and compares the blended pixels (0-255) where the mask is at
least 1/255 ("blended") and at least 0.5 ("mouth"). Speed: one frame batch (UNet + decoder) as a
CUDA graph of the eager models (no ``torch.compile``; the server trials measure the compiled graphs).
With random weights the faces are not faces: the difference measures what cutting the decoder
does to its output, not how a real mouth looks.

    PYTHONPATH=. python bench/musetalk_partial_decode.py --out bench/results          # CUDA machine
    PYTHONPATH=. python bench/musetalk_partial_decode.py --tiny --out /tmp/bench       # CPU smoke test
"""
import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

from avatar_runtime.render.musetalk.compose import composite, upload_avatar
from avatar_runtime.render.musetalk.config import WINDOW_ROWS
from avatar_runtime.render.musetalk.engine import EngineSettings, FrameEngine
from avatar_runtime.render.musetalk.prepare import PreparedAvatar, PrepareSettings, prepare_avatar
from avatar_runtime.render.musetalk.weights import MuseTalkModels
from bench.musetalk_gpu import base_clip, graph_ms, time_ms

SETTINGS = ((16, 2), (16, 4), (14, 2), (14, 4), (14, 6), (12, 4))  # (decode_from, decode_margin)


@torch.inference_mode()
def compare(models: MuseTalkModels, avatar: PreparedAvatar, settings: tuple[tuple[int, int], ...] = SETTINGS,
            frames: int = 32, speed_batch: int = 32, seed: int = 0) -> dict[str, Any]:
    device, dtype = models.device, models.dtype
    generator = torch.Generator().manual_seed(seed)
    index = torch.arange(frames) % len(avatar.frames)
    latents = torch.from_numpy(avatar.latents)[index].to(device, dtype)
    tokens = WINDOW_ROWS * models.audio.hidden_states
    audio = torch.randn(frames, tokens, models.audio.dim, generator=generator).to(device, dtype)
    weights = torch.ones(frames, device=device)
    frame_index = index.to(device)

    def engine(start: int = 0, margin: int = 0) -> FrameEngine:
        return FrameEngine(models, EngineSettings(cuda_graphs=False, compile=False, decode_from=start, decode_margin=margin))

    def seconds(run: FrameEngine, upper: torch.Tensor | None) -> float:
        rows = torch.arange(speed_batch) % frames
        args = (latents[rows], audio[rows]) + ((upper[rows],) if upper is not None else ())
        timer = graph_ms if device.type == "cuda" else time_ms
        return timer(lambda: run.forward(*args), device)

    full = engine()
    plain = upload_avatar(avatar, device, dtype)
    full_faces = full.forward(latents, audio)
    reference = composite(plain, frame_index, full_faces, weights).int()
    alpha = plain.alpha[frame_index].permute(0, 2, 3, 1).expand_as(reference)
    blended, mouth = alpha >= 1 / 255, alpha >= 0.5
    full_ms = seconds(full, None)
    rows = []
    for start, margin in settings:
        lower = engine(start, margin)
        placed = upload_avatar(avatar, device, dtype, lower.upper_rows)
        upper = placed.upper[frame_index] if placed.upper is not None else None
        out = composite(placed, frame_index, lower.forward(latents, audio, upper), weights).int()
        diff = (out - reference).abs()
        ms = seconds(lower, upper)
        rows.append({
            "decode_from": start, "decode_margin": margin,
            "blended_max": int(diff[blended].max()), "blended_mean": float(diff[blended].float().mean()),
            "blended_p99": float(torch.quantile(diff[blended].float()[:1_000_000], 0.99)),
            "mouth_max": int(diff[mouth].max()) if mouth.any() else None,
            "mouth_mean": float(diff[mouth].float().mean()) if mouth.any() else None,
            "batch_ms": ms, "speedup": full_ms / ms,
        })
    return {"frames": frames, "speed_batch": speed_batch, "full_batch_ms": full_ms,
            "blended_pixels": int(blended.sum()) // 3, "mouth_pixels": int(mouth.sum()) // 3,
            "reference_std_blended": float(reference[blended].float().std()), "settings": rows}


def markdown(result: dict[str, Any]) -> str:
    lines = [f"Lower-face decode against the whole face: {result['frames']} frames, "
             f"{result['blended_pixels']} blended / {result['mouth_pixels']} mouth pixels per channel "
             f"(std of the whole-face pixels there {result['reference_std_blended']:.1f}); batch of "
             f"{result['speed_batch']}: whole face {result['full_batch_ms']:.1f} ms (eager CUDA graph).", "",
             "| first decoded latent row | margin rows | blended max / mean / p99 | mouth max / mean | batch ms | speed-up |",
             "|---:|---:|---|---|---:|---:|"]
    for r in result["settings"]:
        lines.append(f"| {r['decode_from']} | {r['decode_margin']} | {r['blended_max']} / {r['blended_mean']:.2f} / "
                     f"{r['blended_p99']:.0f} | {r['mouth_max']} / {r['mouth_mean'] or 0:.2f} | "
                     f"{r['batch_ms']:.1f} | {r['speedup']:.2f}x |")
    return "\n".join(lines) + "\n"


def main() -> None:
    from bench.gpu_worker import make_models  # the same models the worker benchmark builds

    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--tiny", action="store_true", help="tiny configs on the CPU (smoke test)")
    args = parser.parse_args()
    started = time.perf_counter()
    models, weights = make_models(args.tiny, None)
    avatar = prepare_avatar(base_clip(args.tiny), models, settings=PrepareSettings(batch=8))
    result = {"weights": weights, **compare(models, avatar, frames=4 if args.tiny else 32,
                                            speed_batch=2 if args.tiny else 32)}
    result["seconds"] = time.perf_counter() - started
    args.out.mkdir(parents=True, exist_ok=True)
    name = "musetalk_partial_decode" + ("_tiny" if args.tiny else "")
    (args.out / f"{name}.json").write_text(json.dumps(result, indent=1))
    (args.out / f"{name}.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
