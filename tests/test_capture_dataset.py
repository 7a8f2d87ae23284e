"""Notebooks 01 and 02 helpers: face counting keeps only one-face frames; crops carry correct points."""
from __future__ import annotations

import numpy as np
import pytest

from helpers import capture, dataset


def test_video_without_faces_keeps_nothing(no_face_video):
    m = capture.scan_source(no_face_video, progress=False)
    assert len(m["faces_per_frame"]) == 20
    assert m["kept"] == [] and len(m["no_face"]) == 20 and m["several_faces"] == []
    ls = dataset.extract_landmarks(m, progress=False)
    assert len(ls) == 0 and ls.crops.shape == (0, 128, 128, 3) and ls.points.shape == (0, 68, 2)


def test_scan_sample_counts_and_manifest(tmp_path, monkeypatch, sample_video):
    m = capture.scan_source(sample_video, step=40, progress=False)
    assert len(m["faces_per_frame"]) == 12
    assert len(m["kept"]) + len(m["no_face"]) + len(m["several_faces"]) == 12
    assert len(m["kept"]) >= 11  # one face in (nearly) every frame of the sample
    assert m["sha256"] == "c048a3025af89148424af1ed2371cddee49af92c911d94da13989706d04baf3f"
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    capture.save_manifest("t", m)
    assert capture.load_manifest("t") == m
    ls = dataset.extract_landmarks(m, crop_size=64, progress=False)
    assert len(ls) == len(m["kept"])
    assert ls.crops.shape[1:] == (64, 64, 3)
    assert (ls.points >= 0).all() and (ls.points < 64).all()
    assert list(ls.frame_index) == m["kept"]
    dataset.save_landmark_set("t", ls)
    back = dataset.load_landmark_set("t")
    np.testing.assert_array_equal(back.points, ls.points)
    assert back.meta["model"] == "shape_predictor_68_face_landmarks.dat"


def test_several_faces_frame_is_counted_not_kept(tmp_path, multi_face_image):
    import cv2
    path = tmp_path / "group.mp4"
    frame = cv2.resize(multi_face_image, (640, 426))[:416]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 5, (640, 416))
    for _ in range(3):
        writer.write(frame)
    writer.release()
    m = capture.scan_source(path, progress=False, detect_max_side=1000)
    assert m["several_faces"] == [0, 1, 2] and m["kept"] == []
