"""Face tracks: one face followed over frames, and how its box is kept between detections.

The detector runs only every few frames; in between, each face's box is re-made from its previous 68
points (the landmarks *are* the tracker): :func:`relative_box` stores the detector's box relative to the
points' bounding box, :func:`box_from_points` re-makes it from the next points. When the detector runs,
:func:`match_boxes` pairs its boxes with the tracked ones (greedy, by :func:`iou`), so a face keeps its
emotion history and point filter.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..labels import EMOTIONS
from .smoothing import OneEuroFilter


@dataclass
class Track:
    """One face followed over frames: box, points (filtered), smoothed emotion probabilities."""

    id: int
    box: tuple[int, int, int, int]
    points: np.ndarray  # (68, 2) float32: the points shown and used for the emotion crop (filtered if on)
    rel: np.ndarray | None  # detector box relative to the points' bounding box (4,), to re-make boxes between detections
    history: np.ndarray  # (ceil(smooth / emotion_every), 7) ring buffer of emotion probabilities
    count: int = 0
    probs: np.ndarray = field(default_factory=lambda: np.full(len(EMOTIONS), 1 / len(EMOTIONS), np.float32))
    raw: np.ndarray | None = None  # (68, 2) this frame's unfiltered points: the tracker follows these
    filter: OneEuroFilter | None = None
    emotion_frame: int | None = None  # the frame whose crop was last classified (None: not yet)

    def push(self, p: np.ndarray) -> None:
        """Add one prediction and update the smoothed ``probs`` (mean of the last ``len(history)``)."""
        self.history[self.count % len(self.history)] = p
        self.count += 1
        self.probs = self.history[:min(self.count, len(self.history))].mean(axis=0)

    @property
    def emotion(self) -> str:
        return EMOTIONS[int(np.argmax(self.probs))]


def points_bbox(points: np.ndarray) -> np.ndarray:
    """The bounding box (l, t, r, b) of (n, 2) points, as float32."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    return np.array([lo[0], lo[1], hi[0], hi[1]], np.float32)


def relative_box(box: tuple[int, int, int, int], points: np.ndarray) -> np.ndarray:
    """``box`` relative to the points' bounding box (4,): offsets in units of its width and height."""
    bb = points_bbox(points)
    w, h = max(bb[2] - bb[0], 1.0), max(bb[3] - bb[1], 1.0)
    return (np.asarray(box, np.float32) - bb) / np.array([w, h, w, h], np.float32)


def box_from_points(points: np.ndarray, rel: np.ndarray) -> tuple[int, int, int, int]:
    """The box that :func:`relative_box` described, re-made around new points (rounded to pixels)."""
    bb = points_bbox(points)
    w, h = bb[2] - bb[0], bb[3] - bb[1]
    b = bb + rel * np.array([w, h, w, h], np.float32)
    return tuple(int(round(v)) for v in b)


def points_motion(before: np.ndarray, after: np.ndarray) -> tuple[float, float]:
    """How a face's points moved between two frames: (shift of their centre in face widths, change of width as a ratio).

    A still face gives about (0, 1); a face that moves gives a shift of a few hundredths per frame; points that
    jump by a quarter of the face or change size by a third in one frame have probably lost the face.
    """
    a, b = points_bbox(before), points_bbox(after)
    wa, wb = max(float(a[2] - a[0]), 1.0), max(float(b[2] - b[0]), 1.0)
    shift = float(np.hypot((b[0] + b[2] - a[0] - a[2]) / 2, (b[1] + b[3] - a[1] - a[3]) / 2)) / wa
    return shift, wb / wa


def iou(a, b) -> float:
    """Intersection over union of two boxes (l, t, r, b); 0.0 for empty boxes."""
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def match_boxes(boxes: list, old: dict[int, tuple]) -> tuple[dict[int, int], list[int]]:
    """Greedy IoU matching of new boxes to old ones (id -> box): ({box index: id}, unmatched box indices)."""
    pairs = sorted(((iou(b, ob), i, tid) for i, b in enumerate(boxes) for tid, ob in old.items()), reverse=True)
    matched: dict[int, int] = {}
    used: set[int] = set()
    for overlap, i, tid in pairs:
        if overlap > 0.3 and i not in matched and tid not in used:
            matched[i] = tid
            used.add(tid)
    return matched, [i for i in range(len(boxes)) if i not in matched]
