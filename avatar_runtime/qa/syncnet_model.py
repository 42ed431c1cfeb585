"""The SyncNet network (Chung & Zisserman, 2016) in the layout of the published ``syncnet_v2.model``.

Module and parameter names match joonson/syncnet_python's ``SyncNetModel.S``, so the official
weights load with ``load_state_dict(strict=True)``: an audio stream over 13 x 20 MFCC windows
(0.2 s) and a lip stream over 5 frames of 224 x 224 face crops, each ending in an embedding.
"""
from pathlib import Path

import torch
from torch import nn


def _conv2d(cin: int, cout: int, kernel: tuple[int, int], padding: tuple[int, int]) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, kernel_size=kernel, stride=(1, 1), padding=padding), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


def _conv3d(cin: int, cout: int, kernel: tuple[int, int, int], stride: tuple[int, int, int] = (1, 1, 1),
            padding: tuple[int, int, int] = (0, 0, 0)) -> list[nn.Module]:
    return [nn.Conv3d(cin, cout, kernel_size=kernel, stride=stride, padding=padding), nn.BatchNorm3d(cout), nn.ReLU(inplace=True)]


def _head(embedding: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(512, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Linear(512, embedding))


class SyncNet(nn.Module):
    def __init__(self, embedding: int = 1024) -> None:
        super().__init__()
        self.netcnnaud = nn.Sequential(
            *_conv2d(1, 64, (3, 3), (1, 1)),
            nn.MaxPool2d(kernel_size=(1, 1), stride=(1, 1)),
            *_conv2d(64, 192, (3, 3), (1, 1)),
            nn.MaxPool2d(kernel_size=(3, 3), stride=(1, 2)),
            *_conv2d(192, 384, (3, 3), (1, 1)),
            *_conv2d(384, 256, (3, 3), (1, 1)),
            *_conv2d(256, 256, (3, 3), (1, 1)),
            nn.MaxPool2d(kernel_size=(3, 3), stride=(2, 2)),
            *_conv2d(256, 512, (5, 4), (0, 0)),
        )
        self.netfcaud = _head(embedding)
        self.netfclip = _head(embedding)
        self.netcnnlip = nn.Sequential(
            *_conv3d(3, 96, (5, 7, 7), stride=(1, 2, 2)),
            nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2)),
            *_conv3d(96, 256, (1, 5, 5), stride=(1, 2, 2), padding=(0, 1, 1)),
            nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
            *_conv3d(256, 256, (1, 3, 3), padding=(0, 1, 1)),
            *_conv3d(256, 256, (1, 3, 3), padding=(0, 1, 1)),
            *_conv3d(256, 256, (1, 3, 3), padding=(0, 1, 1)),
            nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2)),
            *_conv3d(256, 512, (1, 6, 6)),
        )

    def forward_aud(self, x: torch.Tensor) -> torch.Tensor:
        """``N x 1 x 13 x 20`` MFCC windows -> ``N x embedding``."""
        return self.netfcaud(self.netcnnaud(x).flatten(1))

    def forward_lip(self, x: torch.Tensor) -> torch.Tensor:
        """``N x 3 x 5 x 224 x 224`` BGR face crops (0-255) -> ``N x embedding``."""
        return self.netfclip(self.netcnnlip(x).flatten(1))


def load_syncnet(path: Path) -> SyncNet:
    state = torch.load(path, map_location="cpu", weights_only=True)
    net = SyncNet(embedding=int(state["netfcaud.3.weight"].shape[0]))
    net.load_state_dict(state, strict=True)
    return net.eval()
