"""S3FD face detector in the layout of syncnet_python's ``sfd_face.pth`` (its ``S3FDNet``).

Only the network is kept from the original; priors, box decoding and NMS are done here in
numpy, with the thresholds syncnet_python's pipeline uses (scale 0.25, confidence 0.9).
"""
from itertools import product
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F
from torch import nn

from avatar_runtime.pipeline.messages import Image
from avatar_runtime.render.face import Box

_MEAN_RGB = np.array([123.0, 117.0, 104.0], np.float32)
_STEPS = (4, 8, 16, 32, 64, 128)  # anchor stride per source layer; anchors are 4 strides wide
_VARIANCE = (0.1, 0.2)


class L2Norm(nn.Module):
    def __init__(self, channels: int, scale: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.full((channels,), float(scale)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.weight[None, :, None, None] * x / (x.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-10)


def _vgg() -> nn.ModuleList:
    layers: list[nn.Module] = []
    for cin, cout, convs, ceil in ((3, 64, 2, False), (64, 128, 2, False), (128, 256, 3, True), (256, 512, 3, False),
                                   (512, 512, 3, False)):
        for i in range(convs):
            layers += [nn.Conv2d(cin if i == 0 else cout, cout, 3, 1, padding=1), nn.ReLU(inplace=True)]
        layers.append(nn.MaxPool2d(2, 2, ceil_mode=ceil))
    layers += [nn.Conv2d(512, 1024, 3, 1, padding=6, dilation=6), nn.ReLU(inplace=True), nn.Conv2d(1024, 1024, 1, 1),
               nn.ReLU(inplace=True)]
    return nn.ModuleList(layers)


class S3FDNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.vgg = _vgg()
        self.L2Norm3_3 = L2Norm(256, 10)
        self.L2Norm4_3 = L2Norm(512, 8)
        self.L2Norm5_3 = L2Norm(512, 5)
        self.extras = nn.ModuleList([nn.Conv2d(1024, 256, 1, 1), nn.Conv2d(256, 512, 3, 2, padding=1),
                                     nn.Conv2d(512, 128, 1, 1), nn.Conv2d(128, 256, 3, 2, padding=1)])
        sources = (256, 512, 512, 1024, 512, 256)
        self.loc = nn.ModuleList([nn.Conv2d(c, 4, 3, 1, padding=1) for c in sources])
        self.conf = nn.ModuleList([nn.Conv2d(c, 4 if i == 0 else 2, 3, 1, padding=1) for i, c in enumerate(sources)])

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Per source layer: box regressions ``1 x H x W x 4`` and face probabilities ``1 x H x W``."""
        sources = []
        for start, stop, norm in ((0, 16, self.L2Norm3_3), (16, 23, self.L2Norm4_3), (23, 30, self.L2Norm5_3)):
            for k in range(start, stop):
                x = self.vgg[k](x)
            sources.append(norm(x))
        for k in range(30, len(self.vgg)):
            x = self.vgg[k](x)
        sources.append(x)
        for k, layer in enumerate(self.extras):
            x = F.relu(layer(x), inplace=True)
            if k % 2 == 1:
                sources.append(x)
        locs, probs = [], []
        for i, source in enumerate(sources):
            conf = self.conf[i](source)
            if i == 0:  # max-out background over three channels (S3FD's small-face trick)
                conf = torch.cat([conf[:, :3].max(dim=1, keepdim=True).values, conf[:, 3:]], dim=1)
            locs.append(self.loc[i](source).permute(0, 2, 3, 1))
            probs.append(conf.softmax(dim=1)[:, 1])
        return locs, probs


def _nms(boxes: npt.NDArray[np.float64], scores: npt.NDArray[np.float64], threshold: float) -> list[int]:
    order, keep = list(np.argsort(-scores)), []
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    while order:
        i, order = order[0], order[1:]
        keep.append(int(i))
        if not order:
            break
        rest = np.array(order)
        w = np.maximum(0, np.minimum(boxes[i, 2], boxes[rest, 2]) - np.maximum(boxes[i, 0], boxes[rest, 0]))
        h = np.maximum(0, np.minimum(boxes[i, 3], boxes[rest, 3]) - np.maximum(boxes[i, 1], boxes[rest, 1]))
        overlap = w * h / (area[i] + area[rest] - w * h + 1e-9)
        order = [int(j) for j in rest[overlap <= threshold]]
    return keep


class S3FD:
    def __init__(self, weights: Path) -> None:
        self.net = S3FDNet()
        self.net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True), strict=True)
        self.net.eval()

    @torch.no_grad()
    def detect(self, image: Image, *, scale: float = 0.25, threshold: float = 0.9) -> list[tuple[Box, float]]:
        """Faces in an RGB image, best first."""
        height, width = image.shape[:2]
        small = cv2.resize(image, (0, 0), fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR).astype(np.float32) - _MEAN_RGB
        locs, probs = self.net(torch.from_numpy(small.transpose(2, 0, 1)).unsqueeze(0))
        in_h, in_w = small.shape[:2]
        boxes, scores = [], []
        for step, loc, prob in zip(_STEPS, locs, probs, strict=True):
            fh, fw = prob.shape[1:]
            p, regress = prob[0].numpy().reshape(-1), loc[0].numpy().reshape(-1, 4)
            hits = np.flatnonzero(p > threshold)
            if not len(hits):
                continue
            cells = np.array(list(product(range(fh), range(fw))), np.float64)[hits]
            cx, cy = (cells[:, 1] + 0.5) * step / in_w, (cells[:, 0] + 0.5) * step / in_h
            sw, sh = 4 * step / in_w, 4 * step / in_h
            r = regress[hits].astype(np.float64)
            bx, by = cx + r[:, 0] * _VARIANCE[0] * sw, cy + r[:, 1] * _VARIANCE[0] * sh
            bw, bh = sw * np.exp(r[:, 2] * _VARIANCE[1]), sh * np.exp(r[:, 3] * _VARIANCE[1])
            corners = [(bx - bw / 2) * width, (by - bh / 2) * height, (bx + bw / 2) * width, (by + bh / 2) * height]
            boxes.append(np.stack(corners, 1))
            scores.append(p[hits].astype(np.float64))
        if not boxes:
            return []
        all_boxes, all_scores = np.concatenate(boxes), np.concatenate(scores)
        keep = _nms(all_boxes, all_scores, 0.1)
        return [(Box(*(float(v) for v in all_boxes[i])), float(all_scores[i])) for i in keep]
