import json

import numpy as np
import pytest
from skimage import data

from avatar_runtime.render.face import Box
from avatar_runtime.render.portrait.prepare import PortraitError, prepare_portrait
from avatar_runtime.render.portrait.rig import PortraitRig, PortraitSettings, RigOverrides
from tests.avatar_runtime.render.media import astronaut, astronaut_png, png_bytes


def test_finds_the_astronauts_face_eyes_and_mouth() -> None:
    rig = astronaut().rig
    # the face is in the upper middle of the 512x512 photo; mouth at about (224, 147), eyes at y ~100
    assert 150 < rig.face.x0 < rig.face.x1 < 290 and 50 < rig.face.y0 < rig.face.y1 < 190
    mx, my = rig.mouth.center
    assert 214 < mx < 234 and 138 < my < 156
    assert 25 < rig.mouth.width < 60 and rig.mouth.height < 25
    assert rig.left_eye.center[0] < 215 < 230 < rig.right_eye.center[0]
    assert all(88 < eye.center[1] < 112 for eye in (rig.left_eye, rig.right_eye))
    assert rig.mouth_confidence >= 0.5 and rig.eyes_confidence >= 0.5
    assert rig.teeth_visible  # she smiles with her teeth showing
    assert rig.mouth.y0 <= rig.lip_line[0] <= rig.mouth.y1
    assert rig.crop.width == rig.crop.height and rig.crop.x0 <= rig.face.x0 and rig.crop.x1 >= rig.face.x1


def test_rig_round_trips_through_json() -> None:
    rig = astronaut().rig
    again = PortraitRig.from_dict(json.loads(rig.to_json()))
    assert again.as_dict() == rig.as_dict()


def test_not_an_image() -> None:
    with pytest.raises(PortraitError) as err:
        prepare_portrait(b"%PDF-1.4 definitely not a photo")
    assert err.value.code == "portrait_not_an_image"


def test_blank_image_has_no_face() -> None:
    with pytest.raises(PortraitError) as err:
        prepare_portrait(png_bytes(np.full((512, 512, 3), 228, np.uint8)))
    assert err.value.code == "portrait_no_face"


def test_two_faces_are_refused_unless_staff_pick_one() -> None:
    twice = png_bytes(np.concatenate([data.astronaut(), data.astronaut()], axis=1))
    with pytest.raises(PortraitError) as err:
        prepare_portrait(twice)
    assert err.value.code == "portrait_multiple_faces"
    assert len(err.value.extra["faces"]) == 2  # type: ignore[arg-type]

    right_face = Box(690, 70, 785, 170)
    rig = prepare_portrait(twice, overrides=RigOverrides(face=right_face)).rig
    assert rig.adjusted == ("face",)
    assert 700 < rig.mouth.center[0] < 760


def test_rig_is_cached_by_photo_and_settings(tmp_path) -> None:
    first = prepare_portrait(astronaut_png(), cache_dir=tmp_path).rig
    (cached,) = tmp_path.glob("*.json")
    # a staff-edited cache entry is what comes back: nothing is detected again
    edited = json.loads(cached.read_text()) | {"mouth": [200, 140, 250, 158]}
    cached.write_text(json.dumps(edited))
    assert prepare_portrait(astronaut_png(), cache_dir=tmp_path).rig.mouth == Box(200, 140, 250, 158)
    other = prepare_portrait(astronaut_png(), settings=PortraitSettings(output_size=640), cache_dir=tmp_path).rig
    assert len(list(tmp_path.glob("*.json"))) == 2
    assert other.mouth == first.mouth and other.settings.output_size == 640


def test_mouth_override_replaces_detection() -> None:
    mouth = Box(205, 138, 245, 158)
    rig = prepare_portrait(astronaut_png(), overrides=RigOverrides(mouth=mouth, teeth_visible=False)).rig
    assert rig.mouth == mouth and rig.mouth_confidence == 1.0 and not rig.teeth_visible
    assert rig.adjusted == ("mouth",)
