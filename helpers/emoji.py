"""Emoji faces for the 7 emotions, drawn by code with OpenCV primitives (no image files to go missing).

The original project's GUI loaded one PNG per emotion and crashed with ``cv2.cvtColor ... !_src.empty()`` when a
path did not exist. Here every emoji is drawn from circles, ellipses and polylines, so it always
exists. ``draw_emoji(emotion, size)`` returns a BGRA image (alpha = the round face) and is cached;
``paste_emoji`` blends one onto a frame in place.
"""
from __future__ import annotations

import functools

import cv2
import numpy as np

from .errors import CourseError
from .labels import EMOTIONS

_S = 4  # drawing is done at 4x the size on a 100-unit grid, then shrunk (smooth edges)

# face colour (BGR) of each emotion: yellow, with a tint for the strong negative ones
FACE_COLORS: dict[str, tuple[int, int, int]] = {
    "angry": (60, 90, 235), "disgust": (90, 200, 150), "fear": (235, 200, 170), "happy": (40, 210, 255),
    "sad": (80, 200, 250), "surprise": (40, 210, 255), "neutral": (70, 200, 245),
}
"""Face fill colour (BGR) per emotion."""

_INK = (30, 30, 40)
_WHITE = (255, 255, 255)


def _p(x: float, y: float, n: int) -> tuple[int, int]:
    """A point on the 100x100 design grid -> pixel coordinates on an ``n`` x ``n`` canvas."""
    return int(round(x * n / 100)), int(round(y * n / 100))


def _r(v: float, n: int) -> int:
    return max(1, int(round(v * n / 100)))


def _eyes(img: np.ndarray, n: int, kind: str) -> None:
    for cx in (34, 66):
        if kind == "dot":
            cv2.circle(img, _p(cx, 40, n), _r(6, n), _INK, -1, cv2.LINE_AA)
        elif kind == "wide":  # white eyeball with a small pupil
            cv2.circle(img, _p(cx, 40, n), _r(10, n), _WHITE, -1, cv2.LINE_AA)
            cv2.circle(img, _p(cx, 40, n), _r(10, n), _INK, _r(2, n), cv2.LINE_AA)
            cv2.circle(img, _p(cx, 41, n), _r(4, n), _INK, -1, cv2.LINE_AA)
        elif kind == "smile":  # closed, happy eyes: an upward arc
            cv2.ellipse(img, _p(cx, 42, n), (_r(8, n), _r(6, n)), 0, 180, 360, _INK, _r(4, n), cv2.LINE_AA)
        elif kind == "squint":
            cv2.line(img, _p(cx - 8, 40, n), _p(cx + 8, 40, n), _INK, _r(4, n), cv2.LINE_AA)
        else:
            raise ValueError(kind)


def _brows(img: np.ndarray, n: int, inner: float, outer: float) -> None:
    """Eyebrows from the outer end (height ``outer``) to the inner end (height ``inner``); lower = angrier."""
    cv2.line(img, _p(22, outer, n), _p(44, inner, n), _INK, _r(4, n), cv2.LINE_AA)
    cv2.line(img, _p(78, outer, n), _p(56, inner, n), _INK, _r(4, n), cv2.LINE_AA)


def _draw(emotion: str, n: int) -> np.ndarray:
    """Draw one emoji on an ``n`` x ``n`` BGRA canvas."""
    img = np.zeros((n, n, 4), np.uint8)
    color = FACE_COLORS[emotion] + (255,)
    ink = _INK + (255,)
    cv2.circle(img, _p(50, 50, n), _r(46, n), color, -1, cv2.LINE_AA)
    cv2.circle(img, _p(50, 50, n), _r(46, n), ink, _r(3, n), cv2.LINE_AA)
    face = img[:, :, :3].copy()  # draw features on the BGR part, alpha stays the disc
    thick = _r(4, n)
    if emotion == "happy":
        _eyes(face, n, "smile")
        cv2.ellipse(face, _p(50, 60, n), (_r(24, n), _r(18, n)), 0, 0, 180, _INK, -1, cv2.LINE_AA)
        cv2.ellipse(face, _p(50, 60, n), (_r(20, n), _r(8, n)), 0, 0, 180, _WHITE, -1, cv2.LINE_AA)
    elif emotion == "sad":
        _brows(face, n, inner=24, outer=32)
        _eyes(face, n, "dot")
        cv2.ellipse(face, _p(50, 78, n), (_r(18, n), _r(10, n)), 0, 180, 360, _INK, thick, cv2.LINE_AA)
        tear = np.array([_p(66, 48, n), _p(61, 60, n), _p(71, 60, n)], np.int32)
        cv2.fillPoly(face, [tear], (230, 150, 60), cv2.LINE_AA)
        cv2.circle(face, _p(66, 61, n), _r(5, n), (230, 150, 60), -1, cv2.LINE_AA)
    elif emotion == "angry":
        _brows(face, n, inner=36, outer=24)
        _eyes(face, n, "dot")
        cv2.ellipse(face, _p(50, 80, n), (_r(16, n), _r(8, n)), 0, 180, 360, _INK, thick, cv2.LINE_AA)
    elif emotion == "surprise":
        _brows(face, n, inner=20, outer=22)
        _eyes(face, n, "wide")
        cv2.ellipse(face, _p(50, 72, n), (_r(9, n), _r(12, n)), 0, 0, 360, _INK, -1, cv2.LINE_AA)
    elif emotion == "fear":
        _brows(face, n, inner=20, outer=28)
        _eyes(face, n, "wide")
        cv2.ellipse(face, _p(50, 73, n), (_r(16, n), _r(8, n)), 0, 0, 360, _INK, -1, cv2.LINE_AA)
        cv2.line(face, _p(38, 73, n), _p(62, 73, n), _WHITE, _r(3, n), cv2.LINE_AA)  # clenched teeth
    elif emotion == "disgust":
        cv2.line(face, _p(24, 22, n), _p(44, 30, n), _INK, _r(4, n), cv2.LINE_AA)  # one brow pulled down
        _eyes(face, n, "squint")
        wave = np.array([_p(30 + 8 * i, 72 + (5 if i % 2 else -3), n) for i in range(6)], np.int32)
        cv2.polylines(face, [wave], False, _INK, thick, cv2.LINE_AA)
        cv2.ellipse(face, _p(58, 78, n), (_r(6, n), _r(8, n)), 0, 0, 180, (90, 90, 220), -1, cv2.LINE_AA)  # tongue
    elif emotion == "neutral":
        _eyes(face, n, "dot")
        cv2.line(face, _p(34, 70, n), _p(66, 70, n), _INK, thick, cv2.LINE_AA)
    img[:, :, :3] = face
    return img


def _check(emotion: str) -> str:
    if emotion not in EMOTIONS:
        raise CourseError(f"unknown emotion {emotion!r}: use one of {', '.join(EMOTIONS)}.")
    return emotion


@functools.lru_cache(maxsize=128)  # 7 emotions x 13 sizes (32..128 px, step 8) = 91 in the live overlay
def draw_emoji(emotion: str, size: int = 64) -> np.ndarray:
    """The emoji of ``emotion`` as a (size, size, 4) uint8 BGRA image; alpha is 255 on the face, 0 outside.

    Drawn at 4x and shrunk for smooth edges; cached (the returned array is read-only).
    """
    _check(emotion)
    if not 8 <= int(size) <= 1024:
        raise CourseError(f"emoji size must be between 8 and 1024 pixels, not {size}.")
    big = _draw(emotion, int(size) * _S)
    small = cv2.resize(big, (int(size), int(size)), interpolation=cv2.INTER_AREA)
    small.flags.writeable = False
    return small


@functools.lru_cache(maxsize=128)
def _blend_parts(emotion: str, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The emoji's colour already multiplied by its alpha, and 255 - alpha (both (size, size, 3) uint8): cached,
    so pasting is two OpenCV calls instead of integer arithmetic on every pixel of every frame."""
    emoji = draw_emoji(emotion, size)
    alpha = emoji[:, :, 3:4].astype(np.uint16)
    premult = ((emoji[:, :, :3] * alpha + 127) // 255).astype(np.uint8)
    inverse = np.repeat((255 - alpha).astype(np.uint8), 3, axis=2)
    premult.flags.writeable = inverse.flags.writeable = False
    return premult, inverse


def paste_emoji(image: np.ndarray, emotion: str, top_left: tuple[int, int], size: int = 64) -> np.ndarray:
    """Alpha-blend the emoji of ``emotion`` onto a BGR ``image`` in place at ``top_left`` (x, y); return ``image``.

    Parts falling outside the image are clipped. ``size`` is rounded to a multiple of 8 so the cache
    stays small however the face size changes.
    """
    size = max(16, int(round(size / 8)) * 8)
    premult, inverse = _blend_parts(emotion, size)
    h, w = image.shape[:2]
    x0, y0 = int(top_left[0]), int(top_left[1])
    x1, y1 = max(x0, 0), max(y0, 0)
    x2, y2 = min(x0 + size, w), min(y0 + size, h)
    if x2 <= x1 or y2 <= y1:
        return image
    part = np.s_[y1 - y0:y2 - y0, x1 - x0:x2 - x0]
    roi = image[y1:y2, x1:x2]
    roi[:] = cv2.add(cv2.multiply(roi, inverse[part], scale=1 / 255), premult[part])  # emoji * a + frame * (1 - a)
    return image


def emoji_sheet(size: int = 96) -> np.ndarray:
    """All 7 emoji side by side on white, each named underneath: a BGR image (for a quick look)."""
    pad = 24
    sheet = np.full((size + pad, size * len(EMOTIONS), 3), 255, np.uint8)
    for i, name in enumerate(EMOTIONS):
        paste_emoji(sheet, name, (i * size, 0), size)
        cv2.putText(sheet, name, (i * size + 4, size + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, _INK, 1, cv2.LINE_AA)
    return sheet
