"""The per-frame live pipeline: stage timer, face tracks, configuration, and ``LivePipeline.process``.

dlib's detector runs on a downscaled grey frame only every ``detect_every`` frames; in between, each
face's box is predicted from its previous 68 points (the landmarks *are* the tracker). Emotion comes
from a crop aligned with the eyes, smoothed over the last frames. Per-stage timings are kept in a
fixed-size ring buffer.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..errors import CourseError
from ..labels import EMOTIONS
from ..landmarks import detect_faces, to_gray
from .models import DlibLandmarker, align_face, load_emotion, load_landmarker
from .overlay import draw_overlay

STAGES: tuple[str, ...] = ("read", "detect", "landmarks", "emotion", "draw")
"""The timed stages of one frame, in order."""


# --------------------------------------------------------------------------- timings

class StageTimer:
    """Per-stage durations of the last ``window`` frames, in a preallocated ring buffer (memory stays flat)."""

    def __init__(self, stages: tuple[str, ...] = STAGES, window: int = 120) -> None:
        self.stages = stages
        self._ms = np.zeros((window, len(stages)), np.float64)
        self._wall = np.zeros(window, np.float64)  # perf_counter at the end of each frame
        self._row = np.zeros(len(stages), np.float64)
        self.frames = 0

    def add(self, stage: str, ms: float) -> None:
        """Add ``ms`` milliseconds to ``stage`` for the current frame."""
        self._row[self.stages.index(stage)] += ms

    def end_frame(self) -> None:
        """Close the current frame: store its row and start a new one."""
        i = self.frames % len(self._wall)
        self._ms[i] = self._row
        self._wall[i] = time.perf_counter()
        self._row[:] = 0
        self.frames += 1

    def reset(self) -> None:
        self.frames = 0
        self._row[:] = 0

    def last(self) -> np.ndarray:
        """The ms per stage of the last finished frame (a view into the ring buffer)."""
        return self._ms[(self.frames - 1) % len(self._wall)]

    def summary(self) -> dict[str, float]:
        """Mean ms per stage over the window, their sum ``total`` and ``fps`` (from the wall clock)."""
        n = min(self.frames, len(self._wall))
        if n == 0:
            return {**{s: 0.0 for s in self.stages}, "total": 0.0, "fps": 0.0}
        mean = self._ms[:n].mean(axis=0)
        out = {s: float(v) for s, v in zip(self.stages, mean)}
        out["total"] = float(mean.sum())
        if n >= 2:
            i_last = (self.frames - 1) % len(self._wall)
            i_first = (self.frames - n) % len(self._wall)
            span = self._wall[i_last] - self._wall[i_first]
            out["fps"] = float((n - 1) / span) if span > 0 else 0.0
        else:
            out["fps"] = 1000.0 / out["total"] if out["total"] > 0 else 0.0
        return out

    def text(self) -> str:
        """One-line readout: ``fps | stage ms ...``."""
        s = self.summary()
        return f"{s['fps']:.0f} fps | " + "  ".join(f"{k} {s[k]:.1f}" for k in self.stages) + " ms"


# --------------------------------------------------------------------------- tracks and the pipeline

@dataclass
class Track:
    """One face followed over frames: box, points, smoothed emotion probabilities."""

    id: int
    box: tuple[int, int, int, int]
    points: np.ndarray
    rel: np.ndarray  # detector box relative to the points' bounding box (4,), to re-make boxes between detections
    history: np.ndarray  # (smooth, 7) ring buffer of emotion probabilities
    count: int = 0
    probs: np.ndarray = field(default_factory=lambda: np.full(len(EMOTIONS), 1 / len(EMOTIONS), np.float32))

    def push(self, p: np.ndarray) -> None:
        """Add one prediction and update the smoothed ``probs`` (mean of the last ``len(history)``)."""
        self.history[self.count % len(self.history)] = p
        self.count += 1
        self.probs = self.history[:min(self.count, len(self.history))].mean(axis=0)

    @property
    def emotion(self) -> str:
        return EMOTIONS[int(np.argmax(self.probs))]


def _points_bbox(points: np.ndarray) -> np.ndarray:
    lo, hi = points.min(axis=0), points.max(axis=0)
    return np.array([lo[0], lo[1], hi[0], hi[1]], np.float32)


def _relative_box(box: tuple[int, int, int, int], points: np.ndarray) -> np.ndarray:
    bb = _points_bbox(points)
    w, h = max(bb[2] - bb[0], 1.0), max(bb[3] - bb[1], 1.0)
    return (np.asarray(box, np.float32) - bb) / np.array([w, h, w, h], np.float32)


def _box_from_points(points: np.ndarray, rel: np.ndarray) -> tuple[int, int, int, int]:
    bb = _points_bbox(points)
    w, h = bb[2] - bb[0], bb[3] - bb[1]
    b = bb + rel * np.array([w, h, w, h], np.float32)
    return tuple(int(round(v)) for v in b)


def _iou(a, b) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class LiveConfig:
    """Every knob of the live pipeline (the notebook's parameters cell sets these)."""

    landmarks: str = "dlib"       # "dlib" | "cnn"
    emotion: str = "peer"         # "peer" | "course"
    detect_every: int = 5         # run the detector every N frames; track with the landmarks in between
    detect_max_side: int = 320    # shrink the grey frame to this longer side before detecting
    max_faces: int = 4            # follow at most this many faces (largest first)
    smooth: int = 8               # average the emotion over the last N predictions of a face
    crop_size: int | None = None  # side of the aligned grey face crop; None = the emotion model's input size
    draw_points: bool = True
    draw_emoji: bool = True


class LivePipeline:
    """Faces, landmarks, emotion and overlay for a stream of frames; models load once, state is per face.

    ``process(image)`` returns the annotated frame (a buffer reused from frame to frame: copy it to
    keep it) and the list of :class:`Track` for this frame. ``timer`` holds the per-stage timings.
    """

    def __init__(self, config: LiveConfig | None = None, **overrides) -> None:
        cfg = config or LiveConfig()
        if overrides:
            cfg = LiveConfig(**{**cfg.__dict__, **overrides})
        if cfg.detect_every < 1 or cfg.max_faces < 1 or cfg.smooth < 1:
            raise CourseError("detect_every, max_faces and smooth must be 1 or more.")
        self.config = cfg
        self.landmarker = load_landmarker(cfg.landmarks)
        self.classifier = load_emotion(cfg.emotion)
        self.crop_size = int(cfg.crop_size or getattr(self.classifier, "input_size", 48))
        self.timer = StageTimer()
        self.tracks: list[Track] = []
        self.frame_index = 0
        self._next_id = 0
        self._canvas: np.ndarray | None = None
        self.banner = f"landmarks: {cfg.landmarks}  |  emotion: {self.classifier.name}"

    def reset(self, timings: bool = True) -> None:
        """Forget the faces (a new video starts, or a looping one rewinds) and, with ``timings``, the timings."""
        self.tracks = []
        self.frame_index = 0
        if timings:
            self.timer.reset()

    # -- stages
    def _detect(self, gray: np.ndarray) -> None:
        found = detect_faces(gray, detect_max_side=self.config.detect_max_side)
        found.sort(key=lambda bs: (bs[0][2] - bs[0][0]) * (bs[0][3] - bs[0][1]), reverse=True)
        boxes = [b for b, _ in found[:self.config.max_faces]]
        tracks: list[Track] = []
        free = list(self.tracks)
        for box in boxes:  # keep a face's emotion history when the detector finds it again
            best = max(free, key=lambda t: _iou(t.box, box), default=None)
            if best is not None and _iou(best.box, box) > 0.3:
                free.remove(best)
                best.box, best.rel = box, None
                tracks.append(best)
            else:
                tracks.append(Track(self._next_id, box, np.zeros((68, 2), np.float32), None,
                                    np.zeros((self.config.smooth, len(EMOTIONS)), np.float32)))
                self._next_id += 1
        self.tracks = tracks

    def _landmarks(self, image: np.ndarray, gray: np.ndarray) -> None:
        h, w = gray.shape[:2]
        kept = []
        for t in self.tracks:
            if t.rel is not None:  # between detections: the box follows the last points
                t.box = _box_from_points(t.points, t.rel)
            l, tp, r, b = t.box
            if r - l < 8 or b - tp < 8 or r <= 0 or b <= 0 or l >= w or tp >= h:
                continue  # the face left the frame: drop it until the detector finds it again
            if isinstance(self.landmarker, DlibLandmarker):
                t.points = self.landmarker.predict(image, t.box, gray)
            else:
                t.points = np.asarray(self.landmarker.predict(image, t.box), np.float32)
            if t.rel is None:
                t.rel = _relative_box(t.box, t.points)
            kept.append(t)
        self.tracks = kept

    def _emotion(self, gray: np.ndarray) -> None:
        for t in self.tracks:
            try:
                crop = align_face(gray, t.points, self.crop_size)
            except CourseError:  # degenerate points (a face shrinking out of view): keep the last emotion
                continue
            t.push(np.asarray(self.classifier.predict_proba(crop), np.float32))

    def _draw(self, image: np.ndarray) -> np.ndarray:
        if self._canvas is None or self._canvas.shape != image.shape:
            self._canvas = np.empty_like(image)
        out = self._canvas
        np.copyto(out, image)
        draw_overlay(out, self.tracks, banner=self.banner, readout=self.timer.text() if self.timer.frames else "",
                     points=self.config.draw_points, emoji=self.config.draw_emoji)
        return out

    def process(self, image: np.ndarray) -> tuple[np.ndarray, list[Track]]:
        """One BGR frame (H, W, 3) uint8 -> (annotated frame, faces). The annotated frame is reused: copy to keep."""
        if image is None or image.size == 0:
            raise CourseError("empty frame: the source delivered no image. Check the webcam or video file.")
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        tick = time.perf_counter()
        gray = to_gray(image)
        if self.frame_index % self.config.detect_every == 0 or not self.tracks:
            self._detect(gray)
        tock = time.perf_counter(); self.timer.add("detect", (tock - tick) * 1000); tick = tock
        self._landmarks(image, gray)
        tock = time.perf_counter(); self.timer.add("landmarks", (tock - tick) * 1000); tick = tock
        self._emotion(gray)
        tock = time.perf_counter(); self.timer.add("emotion", (tock - tick) * 1000); tick = tock
        out = self._draw(image)
        self.timer.add("draw", (time.perf_counter() - tick) * 1000)
        self.timer.end_frame()
        self.frame_index += 1
        return out, self.tracks
