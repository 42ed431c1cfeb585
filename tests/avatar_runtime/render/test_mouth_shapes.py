"""Mouth shapes read back from rendered frames: closure at bilabials, rounding, spreading, an open jaw.

The astronaut smiles with her upper teeth showing, so "closed" means the lips cover them.
"""
import functools

import numpy as np
import pytest

from avatar_runtime.pipeline.messages import Image
from avatar_runtime.render.clip import render_offline
from avatar_runtime.render.face import teeth_mask
from avatar_runtime.render.portrait.animator import Pose
from avatar_runtime.render.portrait.prepare import PortraitAvatar, prepare_portrait
from avatar_runtime.render.portrait.renderer import build_warper
from avatar_runtime.render.portrait.visemes import MouthShape
from tests.avatar_runtime.render.media import astronaut, png_bytes, spoken

WORDS = {
    "bilabial": "pop a pepper, pay a pub",
    "other stops": "take a kit to a dog, tick tock",
    "rounded": "oh no, go slow",
    "spread": "we see three geese",
    "open": "father, calm car",
}
LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def mouth_region(avatar: PortraitAvatar, image: Image) -> Image:
    rig = avatar.rig
    rows, cols = rig.to_output(rig.mouth).expand(1.6, 3.0).slices()
    return image[rows, cols]


def measure(avatar: PortraitAvatar, image: Image) -> tuple[int, int, int]:
    """Dark pixels (the open mouth's inside, the corners' shadow), the dark part's width, teeth pixels."""
    patch = mouth_region(avatar, image)
    dark = patch.astype(np.float32) @ LUMA < 70
    columns = np.flatnonzero(dark.sum(axis=0) >= 2)
    width = int(columns[-1] - columns[0]) if len(columns) else 0
    return int(dark.sum()), width, int(teeth_mask(patch).sum())


@functools.cache
def measured(words: str) -> tuple[np.ndarray, np.ndarray]:
    """Per rendered frame of ``WORDS[words]``: (dark, width, teeth), and whether the frame is inside the speech."""
    audio = spoken(WORDS[words])
    frames = render_offline(astronaut(), audio, 16000, tail_s=0.2)
    values = np.array([measure(astronaut(), f.image) for f in frames])
    loud = np.array([np.sqrt(np.mean(f.audio**2)) > 0.02 for f in frames])
    inside = np.zeros(len(frames), bool)
    inside[np.argmax(loud) : len(loud) - np.argmax(loud[::-1])] = True
    return values, inside


def rest() -> tuple[int, int, int]:
    return measure(astronaut(), build_warper(astronaut()).base)


def closures(words: str) -> int:
    """Times the lips close inside the speech: the smile's teeth disappear behind pressed lips."""
    values, inside = measured(words)
    closed = inside & (values[:, 2] < 0.4 * rest()[2]) & (values[:, 0] <= rest()[0])
    return int(np.sum(closed[1:] & ~closed[:-1]))


def test_lips_close_at_bilabials_more_than_at_other_stops() -> None:
    bilabial, other = closures("bilabial"), closures("other stops")
    assert bilabial >= 4  # 7 p/b
    assert bilabial >= 1.5 * other  # 11 t/k/d/g, whose bursts are higher: lips apart


def test_rounded_vowels_are_narrower_than_spread_ones() -> None:
    def open_width(words: str) -> float:
        values, inside = measured(words)
        parted = inside & (values[:, 0] > rest()[0] + 100)
        return float(np.median(values[parted, 1]))

    rounded, spread = open_width("rounded"), open_width("spread")
    assert rounded <= 0.92 * spread
    assert spread >= rest()[1]  # i, e stretch the corners beyond the smile at rest


def test_open_vowels_open_the_jaw_widest() -> None:
    def opening(words: str) -> float:
        values, inside = measured(words)
        return float(np.percentile(values[inside, 0], 90))

    assert opening("open") > 1.25 * max(opening("spread"), opening("rounded"))


@pytest.fixture(scope="module")
def closed_mouth() -> PortraitAvatar:
    """A portrait with closed lips and no teeth showing: the astronaut's frame with her lips pressed."""
    warper = build_warper(astronaut())
    return prepare_portrait(png_bytes(warper.draw(Pose(mouth=MouthShape(press=1.0), blink=0.0))))


def test_a_closed_mouth_photo_opens_onto_teeth_and_a_dark_mouth(closed_mouth: PortraitAvatar) -> None:
    assert not closed_mouth.rig.teeth_visible
    frames = render_offline(closed_mouth, spoken(WORDS["open"]), 16000, tail_s=0.2)
    values = np.array([measure(closed_mouth, f.image) for f in frames])
    at_rest = measure(closed_mouth, frames[-1].image)
    widest = int(np.argmax(values[:, 0]))
    assert values[widest, 0] > at_rest[0] + 300, (values[widest], at_rest)  # the inside of the mouth
    assert values[widest, 2] > at_rest[2] + 60, (values[widest], at_rest)  # upper teeth under the upper lip
