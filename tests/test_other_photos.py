"""The live pipeline on photos no one here chose: the 29 photos of other people that packages on PyPI ship
(``helpers.data.FACE_SAMPLES``: portraits, groups, paintings, 300 to 3000 px, JPEG and PNG, upright and portrait).

What is checked is the code, not dlib's quality: whatever the still-image detector finds in a photo (none, one, a
crowd), the live pipeline follows the same faces, the largest ``max_faces`` of them, with 68 finite points each.
"""
from __future__ import annotations

import numpy as np
import pytest

from helpers.data import FACE_SAMPLES, fetch
from helpers.landmarks import detect_landmarks
from helpers.live import LivePipeline
from helpers.live.runner import StillSource
from helpers.live.tracks import iou
from helpers.video import read_image


def _area(box) -> int:
    return (box[2] - box[0]) * (box[3] - box[1])


def test_the_live_pipeline_follows_what_the_detector_finds_on_other_peoples_photos():
    seen = {"none": 0, "one": 0, "several": 0, "more than max_faces": 0}
    with LivePipeline(detect_async=False) as pipe:  # detection inline: each photo's first frame decides
        for sample in FACE_SAMPLES:
            image = read_image(fetch(sample.name))
            found = detect_landmarks(image)
            pipe.reset()
            src = StillSource(image, 3)
            tracks = []
            while (frame := src.read()) is not None:
                out, tracks = pipe.process(frame)
                assert out.shape == image.shape[:2] + (3,), sample.name
            want = sorted(found, key=lambda f: -_area(f.box))[:pipe.config.max_faces]
            assert len(tracks) == len(want), (sample.name, len(tracks), len(found))
            for t in tracks:
                assert t.points.shape == (68, 2) and np.isfinite(t.points).all(), sample.name
                # the same face as one of the largest the detector found (the box follows the points a little)
                assert max(iou(t.box, f.box) for f in want) > 0.8, (sample.name, t.box)
            seen["none" if not found else "one" if len(found) == 1 else
                 "several" if len(found) <= pipe.config.max_faces else "more than max_faces"] += 1
    assert all(seen.values()), seen  # the photos cover every case (they are fixed by sha256, so this holds)


@pytest.mark.parametrize("name", ["faces/face_recognition/biden.jpg", "faces/scrfd/newton.png"])
def test_a_tall_or_wide_photo_keeps_its_shape_through_the_pipeline(name):
    """A 2204 x 970 portrait and a 432 x 768 landscape photo: no rotation, no crop, the overlay on the photo itself."""
    image = read_image(fetch(name))
    with LivePipeline(detect_async=False) as pipe:
        out, tracks = pipe.process(image)
    assert out.shape == image.shape and len(tracks) == 1
    left, top, right, bottom = tracks[0].box
    assert 0 <= left < right <= image.shape[1] and 0 <= top < bottom <= image.shape[0]
