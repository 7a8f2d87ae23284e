"""Shared fixtures: real sample files (fetched once into the project's data/) and small synthetic inputs."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cv2
import numpy as np
import pytest

from helpers import data


@pytest.fixture(scope="session", autouse=True)
def shape_predictor():
    """dlib's 68-point model, fetched and sha256-verified once; DLIB_SHAPE_PREDICTOR points at it for the session,
    so tests that move COURSE_DATA_DIR to a private folder still find it."""
    path = data.fetch("shape_predictor_68")
    old = os.environ.get("DLIB_SHAPE_PREDICTOR")
    os.environ["DLIB_SHAPE_PREDICTOR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("DLIB_SHAPE_PREDICTOR", None)
    else:
        os.environ["DLIB_SHAPE_PREDICTOR"] = old


@pytest.fixture(scope="session")
def sample_video():
    """Path of the main sample video (472 frames, 640x360, one face)."""
    return data.fetch("sample")


@pytest.fixture(scope="session")
def face_frame(sample_video):
    """One BGR frame of the sample video with exactly one face."""
    cap = cv2.VideoCapture(str(sample_video))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 50)
    ok, frame = cap.read()
    cap.release()
    assert ok
    return frame


@pytest.fixture(scope="session")
def multi_face_image():
    """A BGR photo with several faces."""
    return cv2.imread(str(data.fetch("multi_face")))


@pytest.fixture
def no_face_video(tmp_path):
    """A short synthetic video (20 frames of moving coloured shapes, no face), made in the test."""
    path = tmp_path / "shapes.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (160, 120))
    for i in range(20):
        img = np.full((120, 160, 3), 40, np.uint8)
        cv2.circle(img, (20 + 6 * i, 60), 15, (0, 200, 255), -1)
        cv2.rectangle(img, (100, 10 + 3 * i), (140, 40 + 3 * i), (255, 100, 0), -1)
        writer.write(img)
    writer.release()
    return path


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """An empty COURSE_DATA_DIR whose samples/ is the project's (already fetched and verified)."""
    root = tmp_path / "data"
    root.mkdir()
    (root / "samples").symlink_to(data.samples_dir(), target_is_directory=True)
    monkeypatch.setenv("COURSE_DATA_DIR", str(root))
    return root
