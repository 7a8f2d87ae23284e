"""Face alignment: a FER2013-style grey crop with level eyes, from a frame and its 68 points.

Used by the emotion models (notebook 05), the stand-in data builder and the live demo (06). It depends
only on the landmark helpers, so nothing here imports a model or a data set.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from .errors import CourseError
from .landmarks import eye_centres, to_crop, to_gray

FACE_SIZE = 48
"""Side of the FER2013 crop in pixels."""
EYE_SPAN = 2.3
"""Crop side = EYE_SPAN x the distance between the eye centres (FER2013-like framing: brows to chin)."""
EYE_HEIGHT = 0.38
"""The eye line sits at EYE_HEIGHT x side from the top of the crop."""


def alignment_matrix(points: np.ndarray, size: int = FACE_SIZE) -> np.ndarray:
    """2x3 matrix taking frame pixels to a ``size`` x ``size`` crop with level eyes (see EYE_SPAN, EYE_HEIGHT)."""
    pts = np.asarray(points, np.float64)
    if pts.shape != (68, 2) or not np.isfinite(pts).all():
        raise CourseError(f"expected 68 landmark points as a (68, 2) array, got {pts.shape}. Use the points of "
                          "helpers.landmarks.detect_landmarks for one face.")
    right_eye, left_eye = eye_centres(pts)
    dx, dy = left_eye - right_eye
    dist = math.hypot(dx, dy)
    if dist < 2:
        raise CourseError("the eye centres are less than 2 pixels apart: the face is too small or the points are wrong.")
    angle = math.degrees(math.atan2(dy, dx))
    scale = size / (EYE_SPAN * dist)
    centre = (right_eye + left_eye) / 2
    m = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, scale)
    m[0, 2] += size / 2 - centre[0]
    m[1, 2] += EYE_HEIGHT * size - centre[1]
    return m.astype(np.float32)


def align_face(image: np.ndarray, points: np.ndarray, size: int = FACE_SIZE) -> np.ndarray:
    """FER2013-style grey face crop (size x size uint8) from a full frame (BGR/BGRA/gray) and its 68 points (eyes levelled).

    The frame is rotated so the eyes are level, scaled so the crop spans brows to chin
    (EYE_SPAN x eye distance) and resampled with area averaging when it shrinks (no aliasing).
    """
    gray = to_gray(image)
    m = alignment_matrix(points, size)
    scale = float(np.hypot(m[0, 0], m[0, 1]))
    k = int(min(4, max(1, math.ceil(1 / scale)))) if scale < 1 else 1
    big = cv2.warpAffine(gray, m * np.float32([[k], [k]]), (size * k, size * k), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)
    return big if k == 1 else cv2.resize(big, (size, size), interpolation=cv2.INTER_AREA)


def aligned_points(points: np.ndarray, size: int = FACE_SIZE) -> np.ndarray:
    """The 68 points in the coordinates of :func:`align_face`'s crop: (68, 2) float32."""
    return to_crop(points, alignment_matrix(points, size))
