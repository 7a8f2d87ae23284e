"""The live demo (notebook 06): frames -> faces -> 68 landmarks -> emotion -> emoji overlay, fast and stoppable.

The pieces, each replaceable:

- :class:`FrameSource` reads a webcam, a video file or the sample video into one reused buffer; a
  webcam that cannot be opened falls back to the sample video (and says so).
- :class:`LivePipeline` keeps the models (loaded once) and per-face *tracks*. dlib's detector runs on a
  downscaled grey frame only every ``detect_every`` frames; in between, each face's box is predicted
  from its previous 68 points (the landmarks *are* the tracker). Landmarks come from dlib's predictor
  or the course CNN (notebook 04); emotion from the published mini-Xception peer or the course model
  (notebook 05), on a crop aligned with the eyes, smoothed over the last frames. Per-stage timings are
  kept in a fixed-size ring buffer.
- :class:`LiveRunner` runs a pipeline on a source in a background thread; ``stop()`` always ends the
  loop and releases the camera (the seed's ``q`` did not). :class:`LiveApp` is the ipywidgets UI on top.
- ``python -m helpers.live`` opens an OpenCV window (``q`` or Esc quits) or, with ``--output``, writes
  an annotated video; :func:`benchmark` compares with the seed's loop (``python -m helpers.bench live``).
"""
from __future__ import annotations

import argparse
import functools
import gc
import os
import sys
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Callable, Iterator

import cv2
import numpy as np

from .emoji import paste_emoji
from .errors import CourseError
from .labels import EMOTIONS
from .landmarks import REGION_COLORS, REGIONS, detect_faces, load_models, predict_points, to_gray
from .video import Source, open_capture, open_capture_with_fallback, resize_image, resolve, write_video

STAGES: tuple[str, ...] = ("read", "detect", "landmarks", "emotion", "draw")
"""The timed stages of one frame, in order."""

LANDMARK_MODELS: dict[str, str] = {"dlib": "dlib 68-point predictor", "cnn": "course CNN (notebook 04)"}
EMOTION_MODELS: dict[str, str] = {"peer": "published mini-Xception (FER2013)", "course": "course CNN (notebook 05)"}

_POINT_COLORS = np.zeros((68, 3), np.uint8)
for _name, _idx in REGIONS.items():
    _POINT_COLORS[list(_idx)] = REGION_COLORS[_name]


def rss_mb() -> float:
    """Resident memory of this process in MB."""
    import psutil
    return psutil.Process().memory_info().rss / 2**20


# --------------------------------------------------------------------------- models (loaded once)

class DlibLandmarker:
    """dlib's 68-point shape predictor behind the same interface as the course CNN."""

    name = LANDMARK_MODELS["dlib"]

    def __init__(self) -> None:
        load_models()

    def predict(self, image: np.ndarray, box: tuple[int, int, int, int], gray: np.ndarray | None = None) -> np.ndarray:
        """Frame (BGR or grey) + face box (l, t, r, b) -> (68, 2) float32 frame pixels."""
        return predict_points(to_gray(image) if gray is None else gray, box)


@functools.lru_cache(maxsize=None)
def load_landmarker(kind: str = "dlib"):
    """``"dlib"`` or ``"cnn"`` -> a landmarker with ``name`` and ``predict(image, box) -> (68, 2)``; loaded once.

    ``"cnn"`` trains a small model first if notebook 04's model is missing (``ensure_landmark_model``).
    """
    if kind == "dlib":
        return DlibLandmarker()
    if kind == "cnn":
        from .landmark_cnn import CNNLandmarker, ensure_landmark_model
        return CNNLandmarker(ensure_landmark_model())
    raise CourseError(f"unknown landmark model {kind!r}: use one of {', '.join(LANDMARK_MODELS)}.")


@functools.lru_cache(maxsize=None)
def load_emotion(kind: str = "peer"):
    """``"peer"`` or ``"course"`` -> a classifier with ``name`` and ``predict_proba(grey crop) -> (7,)``; loaded once.

    ``"course"`` trains a small model first if notebook 05's model is missing (``ensure_emotion_model``).
    """
    if kind not in EMOTION_MODELS:
        raise CourseError(f"unknown emotion model {kind!r}: use one of {', '.join(EMOTION_MODELS)}.")
    from .emotion import EmotionClassifier, ensure_emotion_model
    if kind == "peer":
        return EmotionClassifier.peer()
    return EmotionClassifier.course(ensure_emotion_model())


def align_face(image: np.ndarray, points: np.ndarray, size: int = 48) -> np.ndarray:
    """FER-style grey crop (size, size) uint8 from a frame and its 68 points (eyes level)."""
    from .align import align_face as _align
    return _align(image, points, size)


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


def _emoji_place(box, size: int, others: list, w: int, h: int) -> tuple[int, int]:
    """Top-left corner for a face's emoji: right of the box, else left, else below, else inside its corner;
    the first spot that covers no other face (or, in a crowd, the one covering the least)."""
    l, tp, r, b = box
    spots = [(r + 6, tp), (l - 6 - size, tp), (r - size, b + 4), (r - size, b - size)]
    spots = [(int(np.clip(x, 0, max(w - size, 0))), int(np.clip(y, 0, max(h - size, 0)))) for x, y in spots]

    def covered(xy) -> float:
        x, y = xy
        return sum(max(0, min(x + size, o[2]) - max(x, o[0])) * max(0, min(y + size, o[3]) - max(y, o[1])) for o in others)

    def own(xy) -> float:  # a spot on the face itself is the last resort
        return max(0, min(xy[0] + size, r) - max(xy[0], l)) * max(0, min(xy[1] + size, b) - max(xy[1], tp))

    return min(spots, key=lambda xy: (covered(xy), own(xy) > 0, spots.index(xy)))


def draw_overlay(image: np.ndarray, tracks: list[Track], *, banner: str = "", readout: str = "",
                 points: bool = True, emoji: bool = True) -> np.ndarray:
    """Draw box, 68 points, emotion name with a probability bar and an emoji per face, plus a banner, in place."""
    h, w = image.shape[:2]
    font = cv2.FONT_HERSHEY_SIMPLEX
    for t in tracks:
        l, tp, r, b = t.box
        k = int(np.argmax(t.probs))
        p = float(t.probs[k])
        cv2.rectangle(image, (l, tp), (r, b), (0, 255, 255), 2)
        if points:
            for (x, y), c in zip(t.points.astype(np.int32), _POINT_COLORS):
                cv2.circle(image, (int(x), int(y)), 2, tuple(int(v) for v in c), -1)
        label = f"{EMOTIONS[k]} {p:.2f}"
        top = 38 if (banner or readout) else 0
        y0 = tp - 30 if tp - 30 >= top else (b + 2 if b + 30 < h else max(tp + 2, top))  # above, else below the box
        lw = max(r - l, cv2.getTextSize(label, font, 0.5, 1)[0][0] + 8)  # as wide as the box, or the text
        cv2.rectangle(image, (l, y0), (l + lw, y0 + 28), (0, 0, 0), -1)
        cv2.putText(image, label, (l + 4, y0 + 16), font, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
        cv2.rectangle(image, (l + 4, y0 + 20), (l + 4 + int(p * (lw - 8)), y0 + 25), (0, 220, 0), -1)
        if emoji:
            size = int(np.clip((b - tp) * 0.45, 32, 128))
            others = [o.box for o in tracks if o is not t]
            paste_emoji(image, EMOTIONS[k], _emoji_place(t.box, size, others, w, h), size)
    if banner or readout:
        cv2.rectangle(image, (0, 0), (w, 36 if readout else 20), (0, 0, 0), -1)
        cv2.putText(image, banner, (6, 14), font, 0.42, (255, 255, 255), 1, cv2.LINE_AA)
        if readout:
            cv2.putText(image, readout, (6, 31), font, 0.42, (0, 255, 255), 1, cv2.LINE_AA)
    return image


# --------------------------------------------------------------------------- frame source and runner

class FrameSource:
    """Frames from a webcam index, a video file or ``"sample"``, read into one reused buffer.

    A webcam that cannot be opened falls back to the sample video (``message`` says so). ``loop``
    rewinds a file at its end; ``max_side`` shrinks large frames. Use as a context manager, or call
    ``release()``: the capture is released exactly once, and ``released`` tells.
    """

    def __init__(self, source: Source = 0, *, loop: bool = False, max_side: int | None = 640) -> None:
        self._cap, src, self.message = open_capture_with_fallback(source)
        self.source = src
        self.is_camera = isinstance(src, int)
        self.loop = loop and not self.is_camera
        self.max_side = max_side
        self.fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 30.0)
        self.frames = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT)) if not self.is_camera else 0
        self.rewinds = 0  # how many times a looping file started again (the pipeline forgets its faces then)
        self._buf: np.ndarray | None = None
        # The lock guards only the flags, never ``cap.read``: a read that hangs (a stuck camera driver)
        # must not block ``release()``. A release asked for during a read is done by the reader when it returns.
        self._lock = threading.Lock()
        self._reading = False
        self._release_pending = False
        self.released = False

    def read(self) -> np.ndarray | None:
        """The next BGR frame, or None at the end of a file / after release.

        The frame is a buffer **reused** for the next read (or a resized copy of it): copy it to keep
        it; a list of frames read without ``.copy()`` holds the same image many times.
        """
        with self._lock:
            if self.released or self._release_pending:
                return None
            self._reading = True
        try:
            ok, image = self._cap.read(self._buf)
            if (not ok or image is None) and self.loop:
                self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                self.rewinds += 1
                ok, image = self._cap.read(self._buf)
        finally:
            with self._lock:
                self._reading = False
                if self._release_pending:
                    self._cap.release()
                    self.released = True
        if self.released:
            return None
        if not ok or image is None:
            if self.is_camera:
                raise CourseError(f"the webcam at index {self.source} stopped delivering frames. "
                                  "Check that no other program uses it, or use the sample video.")
            return None
        self._buf = image
        return resize_image(image, max_side=self.max_side) if self.max_side else image

    def release(self) -> bool:
        """Release the capture (idempotent, never blocks); True once released.

        If another thread is inside ``read()`` right now (a camera that hangs), the release is done by
        that thread as soon as its read returns, and this returns False ("camera busy").
        """
        with self._lock:
            if self.released:
                return True
            if self._reading:
                self._release_pending = True
                return False
            self._cap.release()
            self.released = True
            return True

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def __del__(self) -> None:
        try:
            self.release()
        except Exception:
            pass


def iter_annotated(pipeline: LivePipeline, source: FrameSource, frames: int | None = None) -> Iterator[np.ndarray]:
    """Yield annotated frames (the reused buffer) until the source ends or ``frames`` were processed; times 'read'."""
    n = 0
    rewinds = source.rewinds
    while frames is None or n < frames:
        tick = time.perf_counter()
        image = source.read()
        if image is None:
            return
        pipeline.timer.add("read", (time.perf_counter() - tick) * 1000)
        if source.rewinds != rewinds:  # a looping file jumped back to its start: the faces there are new
            rewinds = source.rewinds
            pipeline.reset(timings=False)
        out, _ = pipeline.process(image)
        yield out
        n += 1


_RUNNERS: "weakref.WeakSet[LiveRunner]" = weakref.WeakSet()
"""Every started runner (weakly held), so :func:`stop_all` can find one whose variable was overwritten."""


def stop_all(timeout: float = 2.0) -> int:
    """Stop every live runner of this process and release its camera; return how many were running.

    Re-running a notebook cell that made a ``LiveApp`` overwrites the variable, but the old background
    thread keeps running and keeps the webcam; Kernel -> Interrupt does not stop it either (it only
    interrupts the cell, not other threads). ``LiveApp`` calls this when it is made.
    """
    running = [r for r in list(_RUNNERS) if r.running]
    for r in list(_RUNNERS):
        r.stop(timeout)
    return len(running)


class LiveRunner:
    """Run a pipeline on a source in a background thread; ``stop()`` always ends it and releases the source.

    ``on_frame(annotated, pipeline)`` is called for each frame from the worker thread (the annotated
    image is reused: copy it to keep it). ``on_end(runner)`` is called from the worker when the loop ends
    for any reason (Stop, ``max_frames``, end of file, an error), after the source is released.
    ``realtime`` paces a video file to its own fps (for viewing). Errors in the worker are kept in
    ``error`` and the source is released all the same.
    """

    def __init__(self, pipeline: LivePipeline, source: Source | FrameSource = 0, *,
                 on_frame: Callable[[np.ndarray, LivePipeline], None] | None = None,
                 on_end: Callable[["LiveRunner"], None] | None = None,
                 max_frames: int | None = None, loop: bool = True, realtime: bool = False) -> None:
        self.pipeline = pipeline
        self.source = source if isinstance(source, FrameSource) else FrameSource(source, loop=loop)
        self.message = self.source.message
        self.on_frame = on_frame
        self.on_end = on_end
        self.max_frames = max_frames
        self.realtime = realtime
        self.frames = 0
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def released(self) -> bool:
        return self.source.released

    def start(self) -> "LiveRunner":
        """Start the worker thread (once)."""
        if self._thread is not None:
            raise CourseError("this runner was already started; make a new LiveRunner to run again.")
        self._thread = threading.Thread(target=self._run, name="live-runner", daemon=True)
        _RUNNERS.add(self)
        self._thread.start()
        return self

    def _run(self) -> None:
        period = 1.0 / self.source.fps if self.realtime and not self.source.is_camera else 0.0
        try:
            for out in iter_annotated(self.pipeline, self.source, self.max_frames):
                if self._stop.is_set():
                    break
                self.frames += 1
                if self.on_frame is not None:
                    self.on_frame(out, self.pipeline)
                if period:
                    self._stop.wait(max(0.0, period - self.pipeline.timer.summary()["total"] / 1000))
                if self._stop.is_set():
                    break
        except BaseException as exc:  # keep it for the caller; the finally still releases
            self.error = exc
        finally:
            self.source.release()
            if self.on_end is not None:
                try:
                    self.on_end(self)
                except Exception as exc:  # a failing callback must not hide the loop's own error
                    self.error = self.error or exc

    def stop(self, timeout: float = 5.0) -> bool:
        """Ask the loop to end, wait up to ``timeout`` s, and release the source; never blocks longer.

        Returns True when the loop has ended and the source is released. False means the worker is
        stuck inside a camera read ("camera busy"): the release then happens as soon as that read
        returns, and the thread (a daemon) cannot outlive the kernel.
        """
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        released = self.source.release()
        return released and not self.running

    def wait(self, timeout: float | None = None) -> None:
        """Wait until the loop ends on its own (``max_frames`` reached, or the end of a file)."""
        if self._thread is not None:
            self._thread.join(timeout)


# --------------------------------------------------------------------------- headless run (notebook, CLI, benchmark)

@dataclass
class RunReport:
    """What a headless run measured."""

    frames: int
    seconds: float
    fps: float
    stage_ms: dict[str, float]
    rss_start_mb: float
    rss_end_mb: float
    kept: list[np.ndarray]
    message: str
    faces_per_frame: float
    rss_frames: list[int] = field(default_factory=list)  # frame counts at which RSS was sampled
    rss_mb: list[float] = field(default_factory=list)     # RSS (MB) at those frames

    @property
    def rss_growth_mb(self) -> float:
        return self.rss_end_mb - self.rss_start_mb

    @property
    def rss_slope_kb_per_frame(self) -> float:
        """Least-squares slope of the RSS samples, in KB per frame (a leak shows as a steady slope)."""
        if len(self.rss_frames) < 3:
            return float("nan")
        return float(np.polyfit(self.rss_frames, self.rss_mb, 1)[0] * 1024)


def run_headless(pipeline: LivePipeline, source: Source = "sample", frames: int = 300, *, keep: int = 4,
                 loop: bool = True, warmup: int = 5, progress: bool = False, rss_every: int = 500) -> RunReport:
    """Process ``frames`` frames without a window; return fps, mean ms per stage (over the whole run) and RSS.

    ``keep`` annotated frames, evenly spread, are copied into the report. The first ``warmup`` frames
    (first calls are slow) are not timed. RSS is measured after the warm-up, every ``rss_every``
    frames (``rss_frames``/``rss_mb``, for a slope) and at the end.
    """
    kept_at = set(np.linspace(warmup, warmup + frames - 1, keep).astype(int).tolist()) if keep else set()
    kept: list[np.ndarray] = []
    totals = np.zeros(len(STAGES), np.float64)
    faces = 0
    with FrameSource(source, loop=loop) as src:
        pipeline.reset()
        bar = None
        if progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=frames, desc="live pipeline", unit="frame")
        rss0, t0, n = rss_mb(), time.perf_counter(), 0
        rss_at, rss_val = [0], [rss0]
        for i, out in enumerate(iter_annotated(pipeline, src, warmup + frames)):
            if i < warmup:
                if i == warmup - 1:
                    rss0, t0 = rss_mb(), time.perf_counter()
                    rss_val[0] = rss0
                continue
            n += 1
            if n % rss_every == 0:
                rss_at.append(n)
                rss_val.append(rss_mb())
            totals += pipeline.timer.last()
            faces += len(pipeline.tracks)
            if i in kept_at:
                kept.append(out.copy())
            if bar is not None:
                bar.update(1)
        seconds = time.perf_counter() - t0
        if bar is not None:
            bar.close()
        message = src.message
    if n == 0:
        raise CourseError("the source delivered no frames after the warm-up: use a longer video or loop=True.")
    stage = {s: float(v / n) for s, v in zip(STAGES, totals)}
    stage["total"] = float(totals.sum() / n)
    return RunReport(n, seconds, n / seconds, stage, rss0, rss_mb(), kept, message, faces / n, rss_at, rss_val)


def tracking_tradeoff(source: Source = "sample", frames: int = 150, every: tuple[int, ...] = (1, 3, 5, 10, 20),
                      detect_max_side: int = 320) -> list[dict]:
    """Detect every N frames vs every frame: ms per frame and how far the tracked points drift.

    All pipelines see the same frames in lock-step. ``drift`` is the mean distance between each
    pipeline's points and those of the detect-every-frame pipeline, divided by the distance between the
    outer eye corners (so 0.02 = 2% of the eye distance). Returns one dict per N.
    """
    every = tuple(sorted(set((1,) + tuple(every))))
    pipes = {n: LivePipeline(detect_every=n, detect_max_side=detect_max_side, draw_points=False, draw_emoji=False)
             for n in every}
    drift = {n: [] for n in every}
    ms = {n: 0.0 for n in every}
    detect_ms = {n: 0.0 for n in every}
    faces = {n: 0 for n in every}
    with FrameSource(source, loop=True) as src:
        for i in range(frames):
            image = src.read()
            if image is None:
                break
            image = image.copy()
            for n, pipe in pipes.items():
                pipe.process(image)
                if i >= 2:  # skip the slow first calls
                    row = pipe.timer.last()
                    ms[n] += float(row.sum())
                    detect_ms[n] += float(row[STAGES.index("detect")])
                faces[n] += len(pipe.tracks)
            ref = pipes[1].tracks
            if len(ref) == 1:
                r = ref[0].points
                eye = float(np.linalg.norm(r[45] - r[36]))
                for n in every:
                    if len(pipes[n].tracks) == 1:
                        drift[n].append(float(np.linalg.norm(pipes[n].tracks[0].points - r, axis=1).mean()) / eye)
    timed = max(1, frames - 2)
    return [{"detect_every": n, "ms_per_frame": ms[n] / timed, "detect_ms": detect_ms[n] / timed,
             "fps_pipeline": 1000 * timed / ms[n] if ms[n] else 0.0, "faces_per_frame": faces[n] / frames,
             "drift": float(np.mean(drift[n])) if drift[n] else float("nan"),
             "drift_p95": float(np.percentile(drift[n], 95)) if drift[n] else float("nan")} for n in every]


def emotion_trace(source: Source = "sample", frames: int | None = None, smooth: int = 8, **config) -> dict:
    """The largest face's emotion over a video, raw (each frame's own prediction) and smoothed over ``smooth``.

    Returns ``{"t": (T,) seconds, "raw": (T, 7), "smoothed": (T, 7), "fps": video fps}``; rows are NaN
    on frames without a face. ``frames=None`` reads the whole file once (no loop).
    """
    pipe = LivePipeline(smooth=smooth, draw_points=False, draw_emoji=False, **config)
    raw, smoothed = [], []
    with FrameSource(source, loop=False) as src:
        fps = src.fps
        for _ in iter_annotated(pipe, src, frames):
            if pipe.tracks and pipe.tracks[0].count:
                t = pipe.tracks[0]
                raw.append(t.history[(t.count - 1) % len(t.history)].copy())
                smoothed.append(t.probs.copy())
            else:
                raw.append(np.full(len(EMOTIONS), np.nan, np.float32))
                smoothed.append(raw[-1])
    n = len(raw)
    if n == 0:
        raise CourseError("the source delivered no frames.")
    return {"t": np.arange(n) / fps, "raw": np.array(raw), "smoothed": np.array(smoothed), "fps": fps}


def label_flips_per_second(probs: np.ndarray, fps: float) -> float:
    """How often the top emotion changes, per second of video (frames without a face are skipped)."""
    ok = ~np.isnan(probs).any(axis=1)
    labels = np.argmax(probs[ok], axis=1)
    return float((labels[1:] != labels[:-1]).sum() / (len(probs) / fps)) if len(labels) > 1 else 0.0


def predict_vs_call(model, repeats: int = 30) -> dict[str, float]:
    """ms for one image through ``model.predict`` (the seed), a direct ``model(x)`` call, and a compiled tf.function."""
    import tensorflow as tf
    shape = (1,) + tuple(int(d) for d in model.input_shape[1:])
    x = np.zeros(shape, np.float32)
    fn = tf.function(lambda t: model(t, training=False), input_signature=[tf.TensorSpec(shape, tf.float32)])

    def timed(f) -> float:
        f()
        t0 = time.perf_counter()
        for _ in range(repeats):
            f()
        return (time.perf_counter() - t0) / repeats * 1000

    return {"predict_ms": timed(lambda: model.predict(x, verbose=0)),
            "call_ms": timed(lambda: model(x, training=False)),
            "tf_function_ms": timed(lambda: fn(x))}


def memory_per_call(model, calls: int = 400, every: int = 50, warmup: int = 100) -> dict[str, list[float]]:
    """Resident memory growth (MB) every ``every`` calls, one image at a time: ``model.predict`` vs a compiled call.

    Returns ``{"calls": [...], "predict": [...], "tf_function": [...]}``: growth since the end of ``warmup`` calls.
    """
    import tensorflow as tf
    shape = (1,) + tuple(int(d) for d in model.input_shape[1:])
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    fn = tf.function(lambda t: model(t, training=False), input_signature=[tf.TensorSpec(shape, tf.float32)])
    out: dict[str, list[float]] = {"calls": list(range(0, calls + 1, every))}
    for name, call in (("predict", lambda: model.predict(x, verbose=0)), ("tf_function", lambda: fn(x))):
        for _ in range(warmup):
            call()
        gc.collect()
        start, growth = rss_mb(), [0.0]
        for i in range(1, calls + 1):
            call()
            if i % every == 0:
                growth.append(rss_mb() - start)
        out[name] = growth
    return out


# --------------------------------------------------------------------------- ipywidgets UI

class LiveApp:
    """The notebook UI: a live image, Start/Stop, dropdowns for source / landmarks / emotion, an fps readout.

    The buttons call :meth:`start` and :meth:`stop`, which work without a browser too (tests call them).
    Stop always ends the loop and releases the camera. Frames are sent to the browser at most
    ``display_fps`` times a second so the notebook's message queue cannot pile up (the seed's leak).
    """

    def __init__(self, config: LiveConfig | None = None, *, sources: tuple = ("webcam 0", "sample", "other_person"),
                 display_fps: float = 15.0, max_frames: int | None = None) -> None:
        import ipywidgets as w
        stop_all()  # a LiveApp made by an earlier run of the cell would otherwise keep the webcam
        self.config = config or LiveConfig()
        self.max_frames = max_frames
        self.display_period = 1.0 / display_fps
        self.runner: LiveRunner | None = None
        self._last_shown = 0.0
        self.image = w.Image(format="jpeg", width=640)
        self.start_button = w.Button(description="Start", button_style="success", icon="play")
        self.stop_button = w.Button(description="Stop", button_style="danger", icon="stop", disabled=True)
        self.source = w.Dropdown(options=list(sources), value=sources[0], description="source")
        self.landmarks = w.Dropdown(options=list(LANDMARK_MODELS), value=self.config.landmarks, description="landmarks")
        self.emotion = w.Dropdown(options=list(EMOTION_MODELS), value=self.config.emotion, description="emotion")
        self.status = w.HTML("press Start")
        self.readout = w.HTML("")
        self.start_button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self.stop())
        for dropdown in (self.source, self.landmarks, self.emotion):  # a new choice while running: restart with it
            dropdown.observe(lambda _: self.start() if self.runner is not None and self.runner.running else None,
                             names="value")
        self.widget = w.VBox([w.HBox([self.start_button, self.stop_button]),
                              w.HBox([self.source, self.landmarks, self.emotion]),
                              self.status, self.image, self.readout])

    def _ipython_display_(self):  # display(app) shows the UI
        from IPython.display import display
        display(self.widget)

    @staticmethod
    def _source_value(name: str) -> Source:
        return int(name.split()[-1]) if name.startswith("webcam") else name

    def _on_frame(self, out: np.ndarray, pipeline: LivePipeline) -> None:
        now = time.perf_counter()
        if now - self._last_shown < self.display_period:
            return
        self._last_shown = now
        ok, jpg = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, 80])
        if ok:
            self.image.value = jpg.tobytes()
        s = pipeline.timer.summary()
        self.readout.value = ("<code>" + f"{s['fps']:.0f} fps &nbsp; " +
                              " &nbsp; ".join(f"{k} {s[k]:.1f} ms" for k in STAGES) + "</code>")

    def start(self) -> None:
        """Start processing with the chosen source and models (stops a previous run first)."""
        self.stop()
        self.status.value = "loading models (once) ..."
        try:
            cfg = LiveConfig(**{**self.config.__dict__, "landmarks": self.landmarks.value, "emotion": self.emotion.value})
            pipeline = LivePipeline(cfg)
            self.runner = LiveRunner(pipeline, self._source_value(self.source.value), on_frame=self._on_frame,
                                     on_end=self._on_end, max_frames=self.max_frames, loop=True, realtime=True)
        except Exception as exc:  # CourseError says what to do; anything else is shown too, never swallowed
            self.status.value = f"<b>error:</b> {type(exc).__name__ + ': ' if not isinstance(exc, CourseError) else ''}{exc}"
            self.start_button.disabled, self.stop_button.disabled = False, True
            return
        self.runner.start()
        self.status.value = f"{self.runner.message} &nbsp;|&nbsp; {pipeline.banner}"
        self.start_button.disabled, self.stop_button.disabled = True, False

    def _on_end(self, runner: "LiveRunner") -> None:
        """Called by the worker when its loop ends (Stop, max_frames, end of file, error): update the UI."""
        if runner is not self.runner:
            return
        if runner.error is not None:
            self.status.value = f"<b>stopped by an error:</b> {type(runner.error).__name__}: {runner.error}"
        elif runner._stop.is_set():
            self.status.value = f"stopped after {runner.frames} frames; source released: {runner.released}"
        else:
            self.status.value = f"ended on its own after {runner.frames} frames; source released: {runner.released}"
        self.start_button.disabled, self.stop_button.disabled = False, True

    def stop(self) -> None:
        """Stop the loop and release the camera (safe to call any time; returns within a few seconds)."""
        if self.runner is not None:
            if self.runner.stop(timeout=2.0):
                self._on_end(self.runner)
            else:
                self.status.value = ("<b>camera busy:</b> the worker is stuck in a camera read; the camera is "
                                     "released as soon as that read returns (or unplug it / restart the kernel).")
        self.start_button.disabled, self.stop_button.disabled = False, True


# --------------------------------------------------------------------------- benchmark

def _baseline_model():
    """The seed's emotion CNN (48x48 grey -> 7): notebook 05's baseline builder if present, else the seed's architecture."""
    try:
        from . import emotion
        builder = getattr(emotion, "build_baseline", None)
    except ImportError:
        builder = None
    if builder is not None:
        return builder(), "helpers.emotion.build_baseline (untrained weights; predict speed does not depend on them)"
    import keras
    from keras import layers
    model = keras.Sequential([
        keras.Input((48, 48, 1)),
        layers.Conv2D(32, 3, activation="relu"), layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(2), layers.Dropout(0.25),
        layers.Conv2D(128, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(128, 3, activation="relu"), layers.MaxPooling2D(2), layers.Dropout(0.25),
        layers.Flatten(), layers.Dense(1024, activation="relu"), layers.Dropout(0.5),
        layers.Dense(7, activation="softmax")])
    return model, "seed architecture from shared/seeds/README.md, untrained (predict speed does not depend on weights)"


def seed_style_loop(source: Source = "sample", frames: int = 100, model=None, *, call: str = "predict",
                    cascade_once: bool = False, display_size: tuple[int, int] | None = (1200, 860)) -> dict:
    """The seed's live loop as written in its notes, headless; ``call``/``cascade_once`` switch one fix on at a time.

    As written: a ``CascadeClassifier`` is built **inside** the loop from its XML file on every frame;
    Haar detection (1.3, 5) on the full grey frame; crop -> 48x48 -> ``model.predict`` per face on raw
    0-255 pixels (the seed trained with ``rescale=1/255``, so its live inputs were 255x too bright);
    names in ``flow_from_directory``'s alphabetical order; putText; and the frame upscaled to
    ``display_size`` (1200x860, cubic) for ``imshow`` (here the resize is done, the window is not shown).

    ``call="compiled"`` replaces only ``model.predict`` by a compiled ``tf.function`` call;
    ``cascade_once=True`` builds the cascade once before the loop. Returns fps, frames, faces found
    and RSS before/after (MB).
    """
    if not hasattr(cv2, "CascadeClassifier"):
        raise CourseError("this OpenCV has no CascadeClassifier (OpenCV 5 removed it); the seed loop needs opencv 4.x.")
    if call not in ("predict", "compiled"):
        raise CourseError(f"call must be 'predict' (the seed) or 'compiled', not {call!r}.")
    xml = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
    if model is None:
        model, _ = _baseline_model()
    if call == "predict":
        classify = lambda crop: model.predict(crop, verbose=0)  # noqa: E731  (the seed's call)
    else:
        import tensorflow as tf
        fn = tf.function(lambda t: model(t, training=False), input_signature=[tf.TensorSpec((1, 48, 48, 1), tf.float32)])
        classify = lambda crop: fn(crop.astype(np.float32)).numpy()  # noqa: E731
    names = ["Angry", "Disgusted", "Fearful", "Happy", "Neutral", "Sad", "Surprised"]  # the seed's emotion_dict
    cap, _ = open_capture(resolve(source))
    faces = 0
    once = cv2.CascadeClassifier(xml) if cascade_once else None
    try:
        ok, frame = cap.read()
        classify(np.zeros((1, 48, 48, 1), np.uint8))  # warm-up, as a running GUI would be
        rss0, t0 = rss_mb(), time.perf_counter()
        for _ in range(frames):
            ok, frame = cap.read()
            if not ok:
                cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, frame = cap.read()
            bounding_box = once if once is not None else cv2.CascadeClassifier(xml)
            gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            num_faces = bounding_box.detectMultiScale(gray, scaleFactor=1.3, minNeighbors=5)
            for (x, y, w, h) in num_faces:
                cv2.rectangle(frame, (x, y - 50), (x + w, y + h + 10), (255, 0, 0), 2)
                roi = gray[y:y + h, x:x + w]
                cropped = np.expand_dims(np.expand_dims(cv2.resize(roi, (48, 48)), -1), 0)
                prediction = classify(cropped)
                cv2.putText(frame, names[int(np.argmax(prediction))], (x + 20, y - 60), cv2.FONT_HERSHEY_SIMPLEX,
                            1, (255, 255, 255), 2, cv2.LINE_AA)
                faces += 1
            if display_size is not None:
                shown = cv2.resize(frame, display_size, interpolation=cv2.INTER_CUBIC)  # noqa: F841 (imshow's input)
        seconds = time.perf_counter() - t0
    finally:
        cap.release()
    return {"fps": frames / seconds, "frames": frames, "faces_per_frame": faces / frames,
            "rss_start_mb": rss0, "rss_end_mb": rss_mb(), "call": call, "cascade_once": cascade_once}


def benchmark(quick: bool = False) -> dict:
    """Seed-style loop vs the course pipeline on the sample video (640x360), in one process; one JSON-able dict.

    The seed loop runs as written, and once more with only ``model.predict`` replaced by a compiled call.

    Course pipeline: dlib landmarks + peer emotion + overlay, detection every 5 frames at 320 px. Its
    fps and per-stage ms come from the memory run: 5,000 frames looping the video (500 with ``quick``),
    with RSS after a warm-up and at the end. Also timed: dlib detection + 68 points on every full frame.
    """
    import keras
    seed_frames, course_frames = (20, 500) if quick else (150, 5000)
    info = {"quick": quick, "video": "sample (WolfgangLanger_Pexels.mp4, 640x360)", "cpu_count": os.cpu_count()}
    model, which = _baseline_model()
    info["seed_model"] = which
    seed = seed_style_loop("sample", seed_frames, model)
    seed_compiled = seed_style_loop("sample", seed_frames, model, call="compiled")  # only predict replaced
    del model
    keras.backend.clear_session()

    pipeline = LivePipeline(LiveConfig())
    every = LivePipeline(LiveConfig(detect_every=1, detect_max_side=640, draw_points=False, draw_emoji=False))
    # dlib on every full frame, landmarks only (what ran at ~50 fps before the downscaling/tracking work)
    with FrameSource("sample", loop=True) as src:
        gray = to_gray(src.read())
        n, t0 = (20 if quick else 150), time.perf_counter()
        for _ in range(n):
            g = to_gray(src.read())
            for box, _ in detect_faces(g, detect_max_side=640):
                predict_points(g, box)
        dlib_every_fps = n / (time.perf_counter() - t0)
    del every, gray
    report = run_headless(pipeline, "sample", course_frames, keep=0, warmup=20)
    course = {"fps": round(report.fps, 1), "frames": report.frames, "stage_ms": {k: round(v, 3) for k, v in report.stage_ms.items()},
              "faces_per_frame": round(report.faces_per_frame, 3), "rss_start_mb": round(report.rss_start_mb, 1),
              "rss_end_mb": round(report.rss_end_mb, 1), "rss_growth_mb": round(report.rss_growth_mb, 1),
              "rss_slope_kb_per_frame": round(report.rss_slope_kb_per_frame, 3),
              "landmarks": pipeline.landmarker.name, "emotion": pipeline.classifier.name,
              "detect_every": pipeline.config.detect_every, "detect_max_side": pipeline.config.detect_max_side}
    seed = {k: (round(v, 2) if isinstance(v, float) else v) for k, v in seed.items()}
    seed["rss_growth_mb"] = round(seed["rss_end_mb"] - seed["rss_start_mb"], 1)
    return {**info, "seed_style": seed, "seed_style_compiled_call_fps": round(seed_compiled["fps"], 2), "course": course,
            "dlib_every_full_frame_fps": round(dlib_every_fps, 1),
            "ratio_course_over_seed": round(report.fps / seed["fps"], 2),
            "targets": {"course_fps_min": 60, "ratio_min": 3, "rss_growth_mb_max": 50},
            "targets_met": {"course_fps": report.fps >= 60, "ratio": report.fps / seed["fps"] >= 3,
                            "rss_growth": report.rss_growth_mb < 50}}


# --------------------------------------------------------------------------- command line

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.live", description="Live facial landmarks + emotion + emoji. "
                                     "In the window, q or Esc quits.")
    parser.add_argument("--source", default="0", help="webcam index, video file or 'sample' (default 0; "
                        "falls back to the sample video when no webcam opens)")
    parser.add_argument("--landmarks", choices=list(LANDMARK_MODELS), default="dlib")
    parser.add_argument("--emotion", choices=list(EMOTION_MODELS), default="peer")
    parser.add_argument("--detect-every", type=int, default=LiveConfig.detect_every)
    parser.add_argument("--detect-max-side", type=int, default=LiveConfig.detect_max_side)
    parser.add_argument("--smooth", type=int, default=LiveConfig.smooth)
    parser.add_argument("--output", help="headless: write the annotated video here (.mp4) instead of opening a window")
    parser.add_argument("--frames", type=int, default=None, help="stop after this many frames (default: the whole "
                        "file; with --output and a webcam: 300)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        pipeline = LivePipeline(LiveConfig(landmarks=args.landmarks, emotion=args.emotion, detect_every=args.detect_every,
                                           detect_max_side=args.detect_max_side, smooth=args.smooth))
        with FrameSource(args.source, loop=False) as src:
            print(src.message, file=sys.stderr)
            print(pipeline.banner, file=sys.stderr)
            if args.output:
                frames = args.frames if args.frames is not None else (300 if src.is_camera else None)
                n = write_video(args.output, iter_annotated(pipeline, src, frames), fps=src.fps)
                print(f"wrote {n} annotated frames to {args.output} ({pipeline.timer.text()})", file=sys.stderr)
                return 0
            title = "live (q or Esc quits)"
            no_display = CourseError("no display to open a window on (a server, or an SSH session without X). "
                                     "Use --output out.mp4 --frames N to write an annotated video instead.")
            if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
                raise no_display  # checked first: OpenCV's Qt window would abort the whole process
            try:
                cv2.namedWindow(title, cv2.WINDOW_AUTOSIZE)
            except cv2.error as exc:
                raise no_display from exc
            try:
                delay = 1 if src.is_camera else max(1, int(1000 / src.fps))
                for out in iter_annotated(pipeline, src, args.frames):
                    cv2.imshow(title, out)
                    key = cv2.waitKey(delay) & 0xFF
                    if key in (ord("q"), 27) or cv2.getWindowProperty(title, cv2.WND_PROP_VISIBLE) < 1:
                        break
            finally:
                cv2.destroyAllWindows()
                cv2.waitKey(1)
            print(pipeline.timer.text(), file=sys.stderr)
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
