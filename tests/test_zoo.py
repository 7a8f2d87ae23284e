"""The zoo of learner recordings (tests/zoo.py) holds what each case promises, checked on the built files.

Format through :func:`helpers.video.video_info` (frames, fps, size after rotation, rotation tag) and
:func:`helpers.video.read_frames`; content with dlib's detector (:func:`helpers.landmarks.detect_faces`)
on frames read the way notebook 01 reads them (longer side at most 640 px). The 1080p 60 fps case costs
~40 s to build, so its test is marked slow; every other case builds in about a second.
"""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

import zoo
from helpers.landmarks import detect_faces, to_gray
from helpers.video import read_frames, video_info

FORMAT = {  # case -> (frames, fps, width, height, rotation tag): width/height as read, after the tag
    "late_face": (108, 30, 640, 360, 0),
    "face_leaves": (132, 24, 640, 360, 0),
    "portrait_tagged": (120, 24, 360, 640, 90),
    "portrait_untagged": (120, 24, 640, 360, 0),
    "two_people": (144, 24, 960, 360, 0),
    "dark_noisy": (120, 24, 640, 360, 0),
    "hand_over_face": (120, 24, 640, 360, 0),
    "two_seconds": (48, 24, 640, 360, 0),
    "glimpse": (96, 24, 640, 360, 0),
    "hd60": (1800, 60, 1920, 1080, 0),
    "webcam_mjpg": (75, 15, 640, 480, 0),
    "no_face": (98, 24, 640, 360, 0),
}
SLOW = {"hd60"}


def _params(names):
    return [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in names]


def faces(name: str, *, step: int = 6, rotate: int | None = None, start: int = 0, count: int | None = None) -> dict:
    """Frame index -> number of faces dlib finds, on every ``step``-th frame read as notebook 01 reads it."""
    rotate = zoo.CASES[name].rotate if rotate is None else rotate
    return {f.index: len(detect_faces(to_gray(f.image)))
            for f in read_frames(zoo.build(name), step=step, rotate=rotate, max_side=640, start=start, max_frames=count)}


def test_the_cases_are_the_promised_ones():
    assert set(zoo.CASES) == set(FORMAT) == set(zoo.BUILDERS)
    for case in zoo.CASES.values():
        assert case.expect in ("personal", "too_few", "no_face") and case.rotate in (0, 90, 180, 270)
        assert case.description and "\n" not in case.description


@pytest.mark.parametrize("name", _params(FORMAT))
def test_format(name):
    frames, fps, width, height, tag = FORMAT[name]
    path = zoo.build(name)
    assert path.suffix == zoo.CASES[name].suffix
    info = video_info(path)
    assert (info["frames"], round(info["fps"]), info["width"], info["height"], info["rotation_tag"]) == \
        (frames, fps, width, height, tag), info
    side = zoo.sidecar(name)
    assert side["builder"] == zoo.builder_version(name) and side["bytes"] == path.stat().st_size
    rotate = zoo.CASES[name].rotate
    shapes = {f.image.shape for f in read_frames(path, rotate=rotate, step=max(1, frames // 8))}
    w, h = (height, width) if rotate in (90, 270) else (width, height)
    assert shapes == {(h, w, 3)}
    last = list(read_frames(path, start=frames - 1))  # the container's frame count is the truth: the last frame reads
    assert len(last) == 1 and last[0].index == frames - 1


def test_late_face_comes_after_an_empty_room():
    found = faces("late_face")
    assert all(n == 0 for i, n in found.items() if i < 36), found
    assert all(n == 1 for i, n in found.items() if i >= 36), found


def test_the_face_leaves():
    found = faces("face_leaves")
    assert all(n == 1 for i, n in found.items() if i < 96), found
    assert all(n == 0 for i, n in found.items() if i >= 96), found


def test_tagged_portrait_stands_up_by_itself():
    assert set(faces("portrait_tagged", step=12).values()) == {1}
    # the pixels are sideways: turning the upright frames back (270) shows what an untagged reader would see
    assert set(faces("portrait_tagged", step=12, rotate=270).values()) == {0}


def test_untagged_portrait_needs_rotate_90():
    assert set(faces("portrait_untagged", step=12, rotate=0).values()) == {0}
    assert set(faces("portrait_untagged", step=12, rotate=90).values()) == {1}


def test_two_people_part_of_the_time():
    found = faces("two_people")
    assert all(n == 2 for i, n in found.items() if 36 <= i < 96), found
    assert all(n == 1 for i, n in found.items() if i < 36 or i >= 96), found


def test_dark_noisy_is_dark_and_dlib_still_finds_her():
    frames = list(read_frames(zoo.build("dark_noisy"), step=10))
    brightness = np.mean([f.image.mean() for f in frames])
    grey = [f.image.astype(np.float32).mean(axis=2) for f in frames]
    noise = np.mean([np.std(g - cv2.GaussianBlur(g, (0, 0), 2)) for g in grey])  # fine grain the encoder kept
    assert brightness < 25, brightness  # the sample itself averages ~60 grey levels
    assert noise > 3.5, noise  # ~5 grey levels; the same frames darkened without noise: ~1.7
    assert set(faces("dark_noisy", step=10).values()) == {1}  # dlib's HOG detector copes with this much dark and noise


def test_hand_hides_the_face_for_a_second():
    found = faces("hand_over_face", step=1, start=40, count=40)
    hidden = [n for i, n in found.items() if i in zoo.HAND_FRAMES]
    assert hidden.count(0) >= 0.8 * len(hidden), found  # dlib loses her behind the hand
    assert all(n == 1 for i, n in found.items() if i not in zoo.HAND_FRAMES), found


def test_two_seconds_is_short_with_her_throughout():
    info = video_info(zoo.build("two_seconds"))
    assert info["frames"] / info["fps"] == pytest.approx(2.0, abs=0.05)
    assert set(faces("two_seconds").values()) == {1}


def test_glimpse_shows_her_for_fewer_frames_than_a_personal_model_needs():
    from helpers.recording import MIN_FRAMES
    found = faces("glimpse", step=1)
    assert 0 < sum(n == 1 for n in found.values()) < MIN_FRAMES, found


@pytest.mark.slow
def test_hd60_has_her_throughout():
    found = {}
    for start in (0, 600, 1200, 1799):
        found.update(faces("hd60", start=start, count=1))
    assert set(found.values()) == {1}, found


def test_webcam_mjpg_is_mjpg_with_her_throughout():
    path = zoo.build("webcam_mjpg")
    cap = cv2.VideoCapture(str(path))
    fourcc = int(cap.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode()
    cap.release()
    assert fourcc == "MJPG"
    assert set(faces("webcam_mjpg").values()) == {1}


def test_no_face_has_none():
    assert set(faces("no_face", step=4).values()) == {0}


def test_a_changed_builder_rebuilds(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_ZOO_DIR", str(tmp_path))
    path = zoo.build("two_seconds")
    first = zoo.sidecar("two_seconds")
    assert path.parent == tmp_path and first["frames"] == 48
    assert zoo.build("two_seconds").stat().st_mtime_ns == path.stat().st_mtime_ns  # cached: not rebuilt
    monkeypatch.setattr(zoo, "ZOO_VERSION", zoo.ZOO_VERSION + 1)
    zoo.build("two_seconds")
    second = zoo.sidecar("two_seconds")
    assert second["builder"] != first["builder"]
    assert json.loads(path.with_suffix(".json").read_text()) == second
