"""The overlay drawn on each live frame: box, 68 points, emotion label with a probability bar, emoji, banner."""
from __future__ import annotations

import functools

import cv2
import numpy as np

from ..emoji import paste_emoji
from ..labels import EMOTIONS
from ..landmarks import REGION_COLORS, REGIONS

_POINT_COLORS = np.zeros((68, 3), np.uint8)
for _name, _idx in REGIONS.items():
    _POINT_COLORS[list(_idx)] = REGION_COLORS[_name]


def _disc_offsets(radius: int) -> tuple[np.ndarray, np.ndarray]:
    """The pixel offsets (dy, dx) that ``cv2.circle(..., radius, thickness=-1)`` fills: one disc, stamped 68 times."""
    canvas = np.zeros((2 * radius + 1, 2 * radius + 1), np.uint8)
    cv2.circle(canvas, (radius, radius), radius, 1, -1)
    dy, dx = np.nonzero(canvas)
    return (dy - radius).astype(np.int32), (dx - radius).astype(np.int32)


_DISC = _disc_offsets(2)


def draw_points(image: np.ndarray, points: np.ndarray, colors: np.ndarray = _POINT_COLORS) -> np.ndarray:
    """Stamp a small filled disc at each of the 68 points, coloured by face region, in place.

    Same pixels as one ``cv2.circle`` per point, but in one numpy assignment: 68 Python-level
    OpenCV calls cost far more than the drawing itself.
    """
    h, w = image.shape[:2]
    pts = np.rint(np.asarray(points, np.float32)).astype(np.int32)
    ys = (pts[:, 1:2] + _DISC[0]).ravel()
    xs = (pts[:, 0:1] + _DISC[1]).ravel()
    inside = (ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)
    image[ys[inside], xs[inside]] = np.repeat(colors, len(_DISC[0]), axis=0)[inside]
    return image


def _emoji_place(box, size: int, others: list, w: int, h: int) -> tuple[int, int]:
    """Top-left corner for a face's emoji: right of the box, else left, else below, else inside its corner;
    the first spot that covers no other face (or, in a crowd, the one covering the least)."""
    left, tp, r, b = box
    spots = [(r + 6, tp), (left - 6 - size, tp), (r - size, b + 4), (r - size, b - size)]
    spots = [(min(max(int(x), 0), max(w - size, 0)), min(max(int(y), 0), max(h - size, 0))) for x, y in spots]

    def covered(xy) -> float:
        x, y = xy
        return sum(max(0, min(x + size, o[2]) - max(x, o[0])) * max(0, min(y + size, o[3]) - max(y, o[1])) for o in others)

    def own(xy) -> float:  # a spot on the face itself is the last resort
        return max(0, min(xy[0] + size, r) - max(xy[0], left)) * max(0, min(xy[1] + size, b) - max(xy[1], tp))

    return min(spots, key=lambda xy: (covered(xy), own(xy) > 0, spots.index(xy)))


def draw_overlay(image: np.ndarray, tracks: list, *, banner: str = "", readout: str = "",
                 points: bool = True, emoji: bool = True) -> np.ndarray:
    """Draw box, 68 points, emotion name with a probability bar and an emoji per face, plus a banner, in place.

    A frame without a face gets the words "no face" at its bottom left.

    ``tracks``: objects with ``box`` (l, t, r, b), ``points`` (68, 2) and ``probs`` (7,)
    (see :class:`~helpers.live.tracks.Track`).
    """
    h, w = image.shape[:2]
    font = cv2.FONT_HERSHEY_SIMPLEX
    for t in tracks:
        left, tp, r, b = t.box
        k = int(np.argmax(t.probs))
        p = float(t.probs[k])
        cv2.rectangle(image, (left, tp), (r, b), (0, 255, 255), 2)
        if points:
            draw_points(image, t.points)
        label = f"{EMOTIONS[k]} {p:.2f}"
        top = 38 if (banner or readout) else 0
        y0 = tp - 30 if tp - 30 >= top else (b + 2 if b + 30 < h else max(tp + 2, top))  # above, else below the box
        lw = max(r - left, cv2.getTextSize(label, font, 0.5, 1)[0][0] + 8)  # as wide as the box, or the text
        cv2.rectangle(image, (left, y0), (left + lw, y0 + 28), (0, 0, 0), -1)
        cv2.putText(image, label, (left + 4, y0 + 16), font, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
        cv2.rectangle(image, (left + 4, y0 + 20), (left + 4 + int(p * (lw - 8)), y0 + 25), (0, 220, 0), -1)
        if emoji:
            size = int(np.clip((b - tp) * 0.45, 32, 128))
            others = [o.box for o in tracks if o is not t]
            paste_emoji(image, EMOTIONS[k], _emoji_place(t.box, size, others, w, h), size)
    if not tracks:  # say it, so a frame without a face never looks like a stalled demo
        cv2.putText(image, "no face", (8, h - 12), font, 0.7, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(image, "no face", (8, h - 12), font, 0.7, (0, 200, 255), 1, cv2.LINE_AA)
    if banner or readout:
        strip = _header(w, banner, readout)
        image[:len(strip)] = strip[:h]
    return image


@functools.lru_cache(maxsize=8)
def _header(w: int, banner: str, readout: str) -> np.ndarray:
    """The black strip at the top with the banner and the readout (BGR, read-only): drawn once per text, then
    copied, since the same text comes back frame after frame (the pipeline refreshes its readout a few times a second)."""
    strip = np.zeros((37 if readout else 21, w, 3), np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(strip, banner, (6, 14), font, 0.42, (255, 255, 255), 1, cv2.LINE_AA)
    if readout:
        cv2.putText(strip, readout, (6, 31), font, 0.42, (0, 255, 255), 1, cv2.LINE_AA)
    strip.flags.writeable = False
    return strip
