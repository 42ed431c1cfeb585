"""Fixed facts of the MuseTalk 1.5 release (see shared/MUSETALK.md) and the expected model configs.

The numbers here are the contract with the official weights: the weight loader checks the
operator's config files against ``MUSETALK_V15`` and refuses what differs, so a wrong download
fails at start with a message instead of rendering garbage.
"""
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SCALING_FACTOR = 0.18215  # sd-vae latent scale
FACE_SIZE = 256  # the model's face crop, pixels
LATENT_SIZE = FACE_SIZE // 8

FPS = 25
SAMPLE_RATE = 16000
SAMPLES_PER_FRAME = SAMPLE_RATE // FPS  # 640: the audio that plays with one video frame

# Whisper: 30 s windows of 80 x 3000 mel frames -> 1500 encoder rows (50 rows per second).
SEGMENT_SECONDS = 30
SEGMENT_SAMPLES = SEGMENT_SECONDS * SAMPLE_RATE
SEGMENT_ROWS = 1500
SAMPLES_PER_ROW = SEGMENT_SAMPLES // SEGMENT_ROWS  # 320
ROWS_PER_FRAME = 2
PAD_LEFT_ROWS = 4  # zero rows before the clip: frame i starts at t - 80 ms
PAD_RIGHT_ROWS = 12
WINDOW_ROWS = 10  # padded rows [2i, 2i + 10): t - 80 ms .. t + 120 ms

# Encoder row r sees mel frames up to 2r + 2 (two 3-tap convolutions, the second with stride 2), and
# mel frame f sees samples below 160 f + 200 (centred 400-sample STFT): row r needs samples < 320 r + 520.
ROW_REACH_SAMPLES = 520
# Frame i's window ends at unpadded row 2i + 5, so it can be computed once audio reaches
# 640 i + 2120 samples: 132.5 ms after the frame starts (the 120 ms look-ahead + half an STFT window).
LOOKAHEAD_SAMPLES = SAMPLES_PER_ROW * (WINDOW_ROWS - PAD_LEFT_ROWS - 1) + ROW_REACH_SAMPLES

BISENET_CLASSES = 19


@dataclass(frozen=True)
class ArchitectureSpec:
    """Config values the weight files must have (other keys of the config files are free)."""

    unet: Mapping[str, Any]
    vae: Mapping[str, Any]
    whisper: Mapping[str, Any]
    audio: Mapping[str, Any] = field(default_factory=dict)  # Whisper preprocessor_config.json


_SD1_DOWN = ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"]
_SD1_UP = ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]

MUSETALK_V15 = ArchitectureSpec(
    unet={
        "in_channels": 8,
        "out_channels": 4,
        "cross_attention_dim": 384,
        "block_out_channels": [320, 640, 1280, 1280],
        "attention_head_dim": 8,
        "down_block_types": _SD1_DOWN,
        "up_block_types": _SD1_UP,
        "sample_size": 64,
    },
    vae={"latent_channels": 4, "in_channels": 3, "out_channels": 3, "block_out_channels": [128, 256, 512, 512]},
    whisper={"d_model": 384, "encoder_layers": 4, "num_mel_bins": 80, "max_source_positions": SEGMENT_ROWS},
    audio={"feature_size": 80, "sampling_rate": SAMPLE_RATE, "hop_length": 160, "n_fft": 400, "chunk_length": SEGMENT_SECONDS},
)

# Full configs of the release's architecture, for building it at random weights where the weights are
# absent (benchmarks, and compile-cache builds: compiled kernels do not depend on weight values).
RELEASE_CONFIGS: Mapping[str, Mapping[str, Any]] = {
    "unet": dict(MUSETALK_V15.unet),
    "vae": {"block_out_channels": [128, 256, 512, 512], "down_block_types": ["DownEncoderBlock2D"] * 4,
            "up_block_types": ["UpDecoderBlock2D"] * 4, "layers_per_block": 2, "latent_channels": 4,
            "norm_num_groups": 32, "sample_size": 256},
    "whisper": {"d_model": 384, "encoder_layers": 4, "encoder_attention_heads": 6, "encoder_ffn_dim": 1536,
                "decoder_layers": 4, "decoder_attention_heads": 6, "decoder_ffn_dim": 1536, "num_mel_bins": 80,
                "max_source_positions": SEGMENT_ROWS},
}
