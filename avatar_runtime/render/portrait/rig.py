"""The prepared description of a portrait: where the face parts are and how to frame them.

A rig is plain data (JSON on disk, editable by staff through overrides); all boxes are in the
source photo's pixels so staff can draw them on the photo they uploaded.
"""
import json
from dataclasses import dataclass, field
from typing import Any

from avatar_runtime.render.face import Box

RIG_VERSION = 1


@dataclass(frozen=True)
class PortraitSettings:
    output_size: int = 512  # square frames, pixels
    crop_scale: float = 3.2  # side of the framed square, in face widths (head and shoulders)

    def as_dict(self) -> dict[str, Any]:
        return {"output_size": self.output_size, "crop_scale": self.crop_scale}


@dataclass(frozen=True)
class RigOverrides:
    """Boxes drawn by staff (source-photo pixels); each replaces what detection found."""

    face: Box | None = None
    mouth: Box | None = None
    left_eye: Box | None = None
    right_eye: Box | None = None
    teeth_visible: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in ("face", "mouth", "left_eye", "right_eye"):
            box = getattr(self, name)
            if box is not None:
                out[name] = box.as_list()
        if self.teeth_visible is not None:
            out["teeth_visible"] = self.teeth_visible
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RigOverrides":
        boxes = {k: Box.from_list(data[k]) for k in ("face", "mouth", "left_eye", "right_eye") if data.get(k) is not None}
        teeth = data.get("teeth_visible")
        return cls(**boxes, teeth_visible=None if teeth is None else bool(teeth))


@dataclass(frozen=True)
class PortraitRig:
    image_sha256: str
    image_size: tuple[int, int]  # width, height of the source photo
    settings: PortraitSettings
    crop: Box  # the square of the photo that is shown, scaled to ``settings.output_size``
    face: Box
    mouth: Box
    left_eye: Box
    right_eye: Box
    lip_line: tuple[float, float, float]  # y = a + b*u + c*u^2, u in [-1, 1] across the mouth box
    teeth_visible: bool  # the resting mouth shows teeth: no synthetic upper-teeth band
    face_score: float
    mouth_confidence: float
    eyes_confidence: float
    adjusted: tuple[str, ...] = field(default=())  # parts that staff placed by hand

    @property
    def scale(self) -> float:
        """Source-photo pixels to output pixels."""
        return self.settings.output_size / self.crop.width

    def to_output(self, box: Box) -> Box:
        return box.map(self.scale, -self.crop.x0 * self.scale, -self.crop.y0 * self.scale)

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": RIG_VERSION,
            "image_sha256": self.image_sha256,
            "image_size": list(self.image_size),
            "settings": self.settings.as_dict(),
            "crop": self.crop.as_list(),
            "face": self.face.as_list(),
            "mouth": self.mouth.as_list(),
            "left_eye": self.left_eye.as_list(),
            "right_eye": self.right_eye.as_list(),
            "lip_line": [round(v, 3) for v in self.lip_line],
            "teeth_visible": self.teeth_visible,
            "face_score": round(self.face_score, 3),
            "mouth_confidence": self.mouth_confidence,
            "eyes_confidence": self.eyes_confidence,
            "adjusted": list(self.adjusted),
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PortraitRig":
        if data.get("version") != RIG_VERSION:
            raise ValueError(f"portrait rig version {data.get('version')!r}, expected {RIG_VERSION}")
        a, b, c = (float(v) for v in data["lip_line"])
        width, height = (int(v) for v in data["image_size"])
        return cls(
            image_sha256=str(data["image_sha256"]),
            image_size=(width, height),
            settings=PortraitSettings(**data["settings"]),
            crop=Box.from_list(data["crop"]),
            face=Box.from_list(data["face"]),
            mouth=Box.from_list(data["mouth"]),
            left_eye=Box.from_list(data["left_eye"]),
            right_eye=Box.from_list(data["right_eye"]),
            lip_line=(a, b, c),
            teeth_visible=bool(data["teeth_visible"]),
            face_score=float(data["face_score"]),
            mouth_confidence=float(data["mouth_confidence"]),
            eyes_confidence=float(data["eyes_confidence"]),
            adjusted=tuple(data.get("adjusted", ())),
        )
