"""Faces and dlib's 68 facial landmarks.

``detect_landmarks(image)`` takes any OpenCV image (BGR, BGRA or grayscale, any size) and returns
the faces found, largest first, each with its box and a ``(68, 2) float32`` array of points in
pixels. The detector and the predictor load once and are reused.

The 68-point scheme (iBUG 300-W, 0-based indices; "right" means the subject's right, which is on
the left of the image): jaw 0-16, right brow 17-21, left brow 22-26, nose 27-35, right eye 36-41,
left eye 42-47, mouth 48-67 (outer lip 48-59, inner lip 60-67).
"""
from __future__ import annotations

import functools
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .errors import CourseError
from .paths import native, non_ascii_hint

REGIONS: dict[str, range] = {
    "jaw": range(0, 17),
    "right brow": range(17, 22),
    "left brow": range(22, 27),
    "nose": range(27, 36),
    "right eye": range(36, 42),
    "left eye": range(42, 48),
    "mouth": range(48, 68),
}
"""Index ranges of the facial regions in the 68-point scheme (0-based, end exclusive)."""

REGION_COLORS: dict[str, tuple[int, int, int]] = {
    "jaw": (255, 170, 0), "right brow": (0, 200, 255), "left brow": (0, 200, 255),
    "nose": (0, 255, 0), "right eye": (255, 0, 200), "left eye": (255, 0, 200), "mouth": (0, 0, 255),
}
"""BGR colour of each region, used by :mod:`helpers.draw`."""

SEGMENTS: dict[str, tuple[list[int], bool]] = {
    "jaw": (list(range(0, 17)), False),
    "right brow": (list(range(17, 22)), False),
    "left brow": (list(range(22, 27)), False),
    "nose": (list(range(27, 31)) + [33], False),
    "nostrils": (list(range(31, 36)), False),
    "right eye": (list(range(36, 42)), True),
    "left eye": (list(range(42, 48)), True),
    "outer lip": (list(range(48, 60)), True),
    "inner lip": (list(range(60, 68)), True),
}
"""How to join the points into lines for drawing: name -> (indices, closed loop?)."""

OUTER_EYE_CORNERS = (36, 45)
"""Indices of the outer eye corners; their distance normalises landmark errors (NME)."""


def inter_ocular(points: np.ndarray) -> np.ndarray:
    """Distance between the outer eye corners (points 36 and 45) of (..., 68, 2) points: (...,), in their pixels.

    The course's one unit of face size: every NME, point jump and drift is divided by it (the 300-W convention).
    """
    a, b = OUTER_EYE_CORNERS
    pts = np.asarray(points)
    return np.linalg.norm(pts[..., a, :] - pts[..., b, :], axis=-1)


def eye_centres(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(right, left)`` eye centres of (..., 68, 2) points: the means of points 36-41 and 42-47, each (..., 2).

    Face alignment levels the line through them; their distance (:func:`eye_centre_distance`) sets its scale.
    """
    pts = np.asarray(points)
    return pts[..., 36:42, :].mean(axis=-2), pts[..., 42:48, :].mean(axis=-2)


def eye_centre_distance(points: np.ndarray) -> np.ndarray:
    """Distance between the eye centres (:func:`eye_centres`) of (..., 68, 2) points: (...,), in their pixels."""
    right, left = eye_centres(points)
    return np.linalg.norm(left - right, axis=-1)


def _mirror_permutation() -> np.ndarray:
    pairs = [(i, 16 - i) for i in range(8)]  # jaw
    pairs += [(17, 26), (18, 25), (19, 24), (20, 23), (21, 22)]  # brows
    pairs += [(31, 35), (32, 34)]  # nostrils
    pairs += [(36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)]  # eyes
    pairs += [(48, 54), (49, 53), (50, 52), (55, 59), (56, 58)]  # outer lip
    pairs += [(60, 64), (61, 63), (65, 67)]  # inner lip
    perm = np.arange(68)
    for a, b in pairs:
        perm[a], perm[b] = b, a
    return perm


FLIP_PERMUTATION: np.ndarray = _mirror_permutation()
"""After a horizontal flip, point ``i`` of the mirrored face is point ``FLIP_PERMUTATION[i]`` of the original."""


@dataclass
class Face:
    """A detected face: ``box`` = (left, top, right, bottom) in pixels, ``points`` (68, 2) float32 (x, y) pixels."""

    box: tuple[int, int, int, int]
    points: np.ndarray
    score: float = 0.0

    @property
    def area(self) -> int:
        left, top, right, bottom = self.box
        return max(0, right - left) * max(0, bottom - top)


def predictor_path() -> Path:
    """Path of ``shape_predictor_68_face_landmarks.dat``: ``$DLIB_SHAPE_PREDICTOR`` if set, else the course's sample copy.

    The course copy is pinned sample data (``helpers.data.REGISTRY["shape_predictor_68"]``, taken by
    sha256 from the ``face-recognition-models==0.3.0`` sdist on PyPI into ``data/samples/``); nothing
    imports ``face_recognition_models``. A missing or partial file raises a CourseError naming the fix.
    """
    from .data import FIX_COMMAND, REGISTRY
    env = os.environ.get("DLIB_SHAPE_PREDICTOR")
    sample = REGISTRY["shape_predictor_68"]
    path = Path(env) if env else sample.path
    if not path.is_file():
        where = ("DLIB_SHAPE_PREDICTOR points at a missing file: fix the variable or unset it, or "
                 if env else "")
        raise CourseError(f"the 68-point model file {path} does not exist: {where}run `{FIX_COMMAND}` (or "
                          "`python -m helpers.data`), which takes it from the face-recognition-models==0.3.0 sdist "
                          "on PyPI and checks its sha256.")
    if not env and path.stat().st_size != sample.size:
        raise CourseError(f"the 68-point model file {path} is incomplete "
                          f"({path.stat().st_size:,} of {sample.size:,} bytes): "
                          f"run `{FIX_COMMAND}` (or `python -m helpers.data`) to fetch it again.")
    return path


@functools.lru_cache(maxsize=None)
def load_models(path: str | None = None) -> tuple:
    """Load dlib's HOG face detector and the 68-point shape predictor once; return ``(detector, predictor)``."""
    import dlib
    model = Path(path) if path else predictor_path()
    try:
        predictor = dlib.shape_predictor(native(model))
    except RuntimeError as exc:
        hint = non_ascii_hint(model)
        raise CourseError(f"dlib could not load {model} ({exc}):" + (hint or " it is not a valid dlib shape predictor: "
                          "run `python course.py setup` (or `python -m helpers.data`), which re-fetches a corrupt "
                          "copy and checks its sha256.")) from exc
    return load_detector(), predictor


@functools.lru_cache(maxsize=None)
def load_detector():
    """dlib's HOG face detector alone, once (no 100 MB predictor: the live demo's detector process needs only this)."""
    import dlib
    return dlib.get_frontal_face_detector()


def to_gray(image: np.ndarray) -> np.ndarray:
    """Any OpenCV image (BGR, BGRA, grayscale 2-D or (H, W, 1), uint8) -> contiguous (H, W) uint8 grayscale."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise CourseError(f"expected an 8-bit image (uint8), got {image.dtype}. Convert with "
                          "(img * 255).clip(0, 255).astype('uint8') if it is a 0-1 float image.")
    if image.ndim == 2:
        return np.ascontiguousarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        return np.ascontiguousarray(image[:, :, 0])
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    raise CourseError(f"cannot read an image of shape {image.shape}: expected (H, W), (H, W, 3) BGR or (H, W, 4) BGRA.")


DETECT_MIN_SIDE = 320
"""Detection starts on a copy of the image shrunk to this longer side (cheap; enough for a face filling a webcam frame)."""
DETECT_MAX_SIDE = 1280
"""... and goes up to this longer side (or the image's own size) when the faces there are small."""
_DETECTOR_LOCK = threading.Lock()
LIMIT_PX = 80
"""dlib's HOG detector slides an 80x80 window: a face it reports smaller than this sits at its limit (73 px boxes)."""


def detection_sides(shape: tuple[int, ...], detect_min_side: int | None = DETECT_MIN_SIDE,
                    detect_max_side: int | None = DETECT_MAX_SIDE) -> list[int]:
    """The longer sides :func:`detect_faces` may try on an image of ``shape``, coarse to fine (each twice the last).

    From ``detect_min_side`` up to ``detect_max_side``, never above the image's own size (no upscaling).
    0 or None for ``detect_max_side`` means the image's own size; for ``detect_min_side``, start at the top.
    """
    longer = int(max(shape[:2]))
    top = min(longer, int(detect_max_side)) if detect_max_side else longer
    side = min(int(detect_min_side), top) if detect_min_side else top
    sides = [max(side, 1)]
    while sides[-1] < top:
        sides.append(min(top, sides[-1] * 2))
    return sides


def detect_faces(gray: np.ndarray, *, detect_max_side: int | None = DETECT_MAX_SIDE,
                 detect_min_side: int | None = DETECT_MIN_SIDE, upsample: int = 0,
                 sides_tried: list[int] | None = None, threshold: float = 0.0
                 ) -> list[tuple[tuple[int, int, int, int], float]]:
    """Run dlib's detector on a grayscale image, coarse to fine; return ``[(box, score)]`` in full-size pixels.

    One rule picks the detection size from the image, for stills and the live demo alike: detect on a
    copy shrunk to ``detect_min_side`` (cheap); if no face is found there, or a face found is at the
    detector's limit (smaller than ``LIMIT_PX`` at that size, so smaller ones may have been missed),
    detect again at twice the size, up to ``detect_max_side`` (see :func:`detection_sides`). A face
    filling a webcam frame is found in the first, cheap pass; a group photo's small faces in a finer one.
    Set both sides equal for one fixed size. ``upsample`` > 0 makes dlib look for faces down to
    80 / 2**upsample px. The sides actually used are appended to ``sides_tried`` when given. A ``threshold``
    below 0 also returns less certain detections (a turned face), and more false ones.
    """
    detector = load_detector()
    longer = max(gray.shape[:2])
    limit = LIMIT_PX / 2 ** upsample
    out: list[tuple[tuple[int, int, int, int], float]] = []
    for side in detection_sides(gray.shape, detect_min_side, detect_max_side):
        factor = side / longer
        small = gray if factor == 1.0 else cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
        with _DETECTOR_LOCK:  # dlib's detector keeps per-call state: one thread at a time (the live demo's worker too)
            rects, scores, _ = detector.run(small, upsample, threshold)
        if sides_tried is not None:
            sides_tried.append(side)
        out = [(tuple(int(round(v / factor)) for v in (r.left(), r.top(), r.right(), r.bottom())), float(sc))
               for r, sc in zip(rects, scores)]
        if rects and min(r.width() for r in rects) >= limit:
            break  # every face found is well above the detector's limit: a finer pass would only cost time
    return out


def predict_points(gray: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """dlib's 68 points for one face box on a grayscale image: (68, 2) float32 pixels."""
    _, predictor = load_models()
    shape = predictor(gray, _dlib().rectangle(*[int(v) for v in box]))
    return shape_to_array(shape)


def shape_to_array(shape) -> np.ndarray:
    """A dlib ``full_object_detection`` -> (N, 2) float32 pixels.

    dlib prints its points as ``points[(x, y), (x, y), ...]``; parsing that text in one NumPy call is
    several times faster than reading 136 ``p.x``/``p.y`` attributes one by one (each a call into dlib).
    """
    text = str(shape.parts())
    if text.startswith("points[") and shape.num_parts:
        values = np.fromstring(text[7:-1].replace("(", "").replace(")", ""), dtype=np.float32, sep=",")
        if values.size == 2 * shape.num_parts:
            return values.reshape(-1, 2)
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32).reshape(-1, 2)  # not the expected text


@functools.lru_cache(maxsize=None)
def _dlib():
    import dlib
    return dlib


def detect_landmarks(image: np.ndarray, *, detect_max_side: int | None = DETECT_MAX_SIDE,
                     detect_min_side: int | None = DETECT_MIN_SIDE, upsample: int = 0) -> list[Face]:
    """Find the faces in an OpenCV image and their 68 landmarks; largest face first; no face -> [].

    image: (H, W), (H, W, 1), (H, W, 3) BGR or (H, W, 4) BGRA uint8, any size. The detection size is
    chosen from the image, coarse to fine (see :func:`detect_faces`).
    """
    gray = to_gray(image)
    faces = [Face(box, predict_points(gray, box), score)
             for box, score in detect_faces(gray, detect_max_side=detect_max_side, detect_min_side=detect_min_side,
                                            upsample=upsample)]
    return sorted(faces, key=lambda f: f.area, reverse=True)


CROP_SIZE = 128
"""Side of the face crops notebook 02 saves (pixels); the live demo cuts the same crop."""
MARGIN = 0.3
"""Margin around dlib's face box of a crop, as a fraction of the box's longer side on each side (:func:`crop_transform`)."""


def crop_transform(box: tuple[int, int, int, int], size: int, margin: float = MARGIN) -> np.ndarray:
    """The 2x3 affine matrix mapping image pixels into a ``size`` x ``size`` square crop around ``box``.

    The square is centred on the box and ``1 + 2 * margin`` times its longer side.
    """
    left, top, right, bottom = box
    side = max(right - left, bottom - top) * (1 + 2 * margin)
    cx, cy = (left + right) / 2, (top + bottom) / 2
    s = size / side
    return np.array([[s, 0, size / 2 - s * cx], [0, s, size / 2 - s * cy]], dtype=np.float32)


def crop_face(image: np.ndarray, box: tuple[int, int, int, int], size: int = CROP_SIZE,
              margin: float = MARGIN) -> tuple[np.ndarray, np.ndarray]:
    """Cut a square crop around a face box, resized to ``size``; return ``(crop, matrix)``.

    ``matrix`` (2x3) maps image pixels to crop pixels. When the crop shrinks the face, the image is
    first shrunk with area averaging (``warpAffine`` alone would alias). Parts of the square outside
    the image are black. Map points into the crop with :func:`to_crop` and back with :func:`from_crop`.
    """
    m = crop_transform(box, size, margin)
    scale = float(m[0, 0])
    src, m_src = image, m
    if scale < 0.8:
        h, w = image.shape[:2]
        sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
        src = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA)
        m_src = m.copy()
        m_src[0, 0] *= w / sw
        m_src[1, 1] *= h / sh
    crop = cv2.warpAffine(src, m_src, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return crop, m


def to_crop(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Image-pixel points (N, 2) -> crop-pixel points (N, 2) float32."""
    pts = np.asarray(points, dtype=np.float32)
    return (pts @ matrix[:, :2].T + matrix[:, 2]).astype(np.float32)


def from_crop(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Crop-pixel points (N, 2) -> image-pixel points (N, 2) float32 (inverse of :func:`to_crop`)."""
    inv = cv2.invertAffineTransform(matrix)
    return to_crop(points, inv)


def region_of(index: int) -> str:
    """The region name of landmark ``index`` (0-67)."""
    for name, idx in REGIONS.items():
        if index in idx:
            return name
    raise CourseError(f"landmark index must be 0-67, not {index}.")


def nme(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Normalised mean error per face: mean point distance / inter-ocular distance (points 36 and 45).

    pred, true: (N, 68, 2) in the same units (any); returns (N,) fractions (0.05 = 5 %).
    """
    pred, true = np.asarray(pred, np.float64), np.asarray(true, np.float64)
    if pred.shape != true.shape or pred.shape[-2:] != (68, 2):
        raise CourseError(f"nme needs two (N, 68, 2) arrays of the same shape, got {pred.shape} and {true.shape}.")
    iod = inter_ocular(true)
    if np.any(iod <= 0):
        raise CourseError("a face has zero inter-ocular distance (points 36 and 45 coincide): its points are broken.")
    return np.linalg.norm(pred - true, axis=-1).mean(axis=-1) / iod


def point_errors(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Error of every point divided by the face's inter-ocular distance: (N, 68)."""
    pred, true = np.asarray(pred, np.float64), np.asarray(true, np.float64)
    iod = inter_ocular(true)
    return np.linalg.norm(pred - true, axis=-1) / iod[..., None]


def region_nme(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """Mean normalised error per facial region (jaw, brows, nose, eyes, mouth)."""
    err = point_errors(pred, true)
    return {name: float(err[:, list(idx)].mean()) for name, idx in REGIONS.items()}
