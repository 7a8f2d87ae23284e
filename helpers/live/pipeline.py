"""The per-frame live pipeline: stage timer, configuration, and ``LivePipeline.process`` (face tracks: :mod:`.tracks`).

Each speed-up is one named setting of :class:`LiveConfig`, with its reason beside it:

- detection is **coarse to fine** (``detect_min_side`` .. ``detect_max_side``): a webcam face is found
  on a small copy of the frame, a group's small faces on a larger one (one rule, shared with
  :func:`helpers.landmarks.detect_landmarks`);
- detection runs only when it may pay (``detect_policy="adaptive"``): **at once** on a cut (the picture changed at a
  stroke, :class:`~helpers.live.detection.FrameChange`) or when a face's points jumped (the track looks lost), every
  ``detect_every`` frames while faces move, every ``detect_idle`` frames while they hold still (a new face waits at most
  that long). ``"interval"`` is the old rule: every ``detect_every`` frames. While faces are tracked, the regular
  detections run **beside the loop** (``detect_async``): a worker thread hands them to a process of their own
  (``detect_process``, :class:`~helpers.live.predictor_process.DetectorProcess`) at a low priority (``detect_nice``; on
  Linux the idle class, ``detect_spare_cpu``), so the loop never waits for them, and they take only the CPU time the
  loop and the landmark process leave; in between, each face's box is re-made from its previous 68 points;
- a video file's next frame is **read ahead** in a thread (``prefetch``): decoding overlaps the work on this one;
- the emotion model runs with **TensorFlow Lite**, all faces of a frame in one call (``emotion_backend``), on a
  followed face every ``emotion_every`` frames (its average spans about the same frames, with fewer calls) and, for several
  faces, **in a worker thread** (``emotion_async``): TensorFlow Lite releases the GIL, so the thread runs the model on
  this frame's aligned crops on the other core while the loop draws and finds the next frame's landmarks; the faces'
  emotion then shows a frame or two later. A new face, and a lone face (its call is too short to be worth the hand-over),
  are classified in the loop;
- with several faces, a share of them gets its 68 points **in a second process** (``landmark_process``,
  :mod:`.predictor_process`): dlib's predictor holds the GIL, so a thread could not run it beside the loop;
- dlib's 68 points are read into NumPy in one call (:func:`helpers.landmarks.shape_to_array`);
- the 68 points are **filtered over time** per face (``filter_points``, a One-Euro filter), and the
  emotion is averaged over the predictions of the last ``smooth`` frames.

Per-stage timings are kept in a fixed-size ring buffer (memory stays flat).
"""
from __future__ import annotations

import contextlib
import time
import warnings
from dataclasses import dataclass
from functools import partial

import cv2
import numpy as np

from ..errors import CourseError
from ..labels import EMOTIONS
from ..landmarks import DETECT_MAX_SIDE, DETECT_MIN_SIDE, to_gray
from .detection import Detection, DetectorThread, FrameChange, find_faces
from .models import EMOTION_BACKENDS, DlibLandmarker, LiteEmotion, align_faces, classify, load_emotion, load_landmarker
from .overlay import draw_overlay
from .predictor_process import PredictorProcess, find_faces_far, shared_detector, shared_process
from .smoothing import OneEuroFilter
from .timer import StageTimer
from .tracks import Track, box_from_points, iou, match_boxes, points_motion, relative_box

DETECT_POLICIES = ("adaptive", "interval")
DETECT_REASONS = ("start", "cut", "lost", "moving", "idle", "interval")
"""Why the detector ran: no face followed yet, a cut, a track that looked lost, faces moving, faces still, the fixed rule."""
MOVING_SHIFT = 0.01  # a face whose points' centre moved more than this many face widths since the last frame is moving
LOST_SHIFT = 0.25    # ... more than this, or whose points' width changed by more than a third, looks lost
LOST_SCALE = (0.75, 1.33)
READOUT_EVERY = 10  # the fps/ms readout is re-made every 10 frames (3 times a second at 30 fps): one that changes
# every frame cannot be read, and re-making it (and re-drawing its text) every frame costs the loop time
POINTS_DT = 1 / 30  # time step (s) the landmark filter assumes between frames: one frame of a 30 fps webcam (or video)


# --------------------------------------------------------------------------- configuration and pipeline

@dataclass
class LiveConfig:
    """Every knob of the live pipeline (the notebook's parameters cell sets these)."""

    landmarks: str = "dlib"       # "dlib" | "cnn"
    emotion: str = "peer"         # "peer" | "course"
    # "tflite" | "tflite-int8" (8-bit weights) | "keras" (a compiled call per face): see models.EMOTION_BACKENDS
    emotion_backend: str = "tflite"
    # "adaptive": detect at once on a cut or a lost-looking face, every detect_every frames while faces move, every
    # detect_idle frames while they hold still | "interval": every detect_every frames (the rule before)
    detect_policy: str = "adaptive"
    detect_every: int = 5         # run the detector every N frames (while faces move); track with the landmarks in between
    detect_idle: int = 30         # "adaptive": while the faces hold still, detect every N frames (a new face waits so long)
    cut_threshold: float = 15.0   # "adaptive": a frame whose 32x18 thumbnail changed by more grey levels than this is a cut
    detect_min_side: int = DETECT_MIN_SIDE  # detect on a copy this large first (longer side, px) ...
    detect_max_side: int = DETECT_MAX_SIDE  # ... and up to this large when the faces are small (see detect_faces)
    detect_async: bool = True     # while faces are tracked, detect beside the loop (a worker): the loop never waits
    detect_nice: int = 10         # ... at this much lower priority (Linux, macOS; Windows: a lower class): it gives way
    detect_process: bool = True   # ... in a process of its own (its own GIL), not in the worker thread itself
    # ... that process runs only on spare CPU time (Linux SCHED_IDLE). Never the thread: a thread starved by other
    # programs while it holds Python's GIL stops the loop until it gets a core again (frames of a tenth of a second)
    detect_spare_cpu: bool = True
    prefetch: bool = True         # read a file's next frame in a thread while this one is processed (not a camera, a still)
    emotion_async: bool = True    # several faces: the emotion model in a worker thread beside the loop (1-2 frames later)
    landmark_process: bool = True  # several faces, dlib: half of them get their points in a second process, beside the loop
    max_faces: int = 4            # follow at most this many faces (largest first)
    smooth: int = 8               # average a face's emotion over the predictions of its last N frames
    # re-estimate a followed face's emotion every N frames (a new face at once); the average above holds ceil(smooth / N)
    # predictions, so it spans about the same frames (exactly when N divides smooth). 1 = every frame (the rule before)
    emotion_every: int = 2
    filter_points: bool = True    # One-Euro filter on each face's 68 points (steadier points, little lag)
    min_cutoff: float = 1.0       # ... its cut-off for a still face (Hz): lower = steadier
    beta: float = 0.05            # ... how fast the cut-off rises with speed: higher = less lag
    crop_size: int | None = None  # side of the aligned grey face crop; None = the emotion model's input size
    draw_points: bool = True
    draw_emoji: bool = True


class LivePipeline:
    """Faces, landmarks, emotion and overlay for a stream of frames; models load once, state is per face.

    ``process(image)`` returns the annotated frame (a buffer reused from frame to frame: copy it to
    keep it) and the list of :class:`Track` for this frame. ``timer`` holds the per-stage timings;
    ``detections`` counts the detector runs (``detect_ms`` their total ms, wherever they ran).
    Call ``close()`` (or use ``with``) to end the detector thread early; it also ends with the pipeline.
    """

    def __init__(self, config: LiveConfig | None = None, **overrides) -> None:
        cfg = config or LiveConfig()
        if overrides:
            cfg = LiveConfig(**{**cfg.__dict__, **overrides})
        if min(cfg.detect_every, cfg.detect_idle, cfg.max_faces, cfg.smooth, cfg.emotion_every) < 1:
            raise CourseError("detect_every, detect_idle, max_faces, smooth and emotion_every must be 1 or more.")
        if cfg.detect_policy not in DETECT_POLICIES:
            raise CourseError(f"unknown detect_policy {cfg.detect_policy!r}: use one of {', '.join(DETECT_POLICIES)}.")
        if cfg.emotion_backend not in EMOTION_BACKENDS:
            raise CourseError(f"unknown emotion backend {cfg.emotion_backend!r}: use one of {', '.join(EMOTION_BACKENDS)}.")
        self.config = cfg
        self.landmarker = load_landmarker(cfg.landmarks)
        self._dlib = isinstance(self.landmarker, DlibLandmarker)  # only dlib's predictor can go to the second process
        self.classifier = load_emotion(cfg.emotion, cfg.emotion_backend)
        self._batch = isinstance(self.classifier, LiteEmotion)  # all faces in one call; the Keras model is called per face
        self.crop_size = int(cfg.crop_size or getattr(self.classifier, "input_size", 48))
        self.timer = StageTimer()
        self.tracks: list[Track] = []
        self.frame_index = 0
        self.detections, self.detect_ms = 0, 0.0
        self.detect_reasons = dict.fromkeys(DETECT_REASONS, 0)  # why the detector was asked to run, by reason
        self._change = FrameChange()
        self._since = 0  # frames since the detector was last asked for
        self._moving = self._lost = False  # what the last frame's points said: a face moved / a track looks lost
        self._next_id = 0
        self._generation = 0  # bumped by reset(): a detection of an older frame is then thrown away
        self._want_detection = False
        self._side = 0  # the detection side that found the tracked faces (0: none yet)
        self._worker: DetectorThread | None = None
        self._emotion_worker: DetectorThread | None = None
        self._canvas: np.ndarray | None = None
        self._readout = ""
        self.process_faces = 0  # faces whose points the second process found
        self.process_note = ""  # why the second process is not used, if it failed
        self.banner = f"landmarks: {cfg.landmarks}  |  emotion: {self.classifier.name}"

    def reset(self, timings: bool = True) -> None:
        """Forget the faces (a new video starts, or a looping one rewinds) and, with ``timings``, the timings."""
        self.tracks = []
        self.frame_index = 0
        self._generation += 1
        self._want_detection = False
        self._change.reset()
        self._since, self._moving, self._lost = 0, False, False
        if timings:
            self.timer.reset()
            self.detections, self.detect_ms = 0, 0.0
            self.detect_reasons = dict.fromkeys(DETECT_REASONS, 0)

    def close(self) -> None:
        """End the detector and emotion threads (new ones start if the pipeline is used again)."""
        if self._worker is not None:
            self._worker.close()
            self._worker = None
        if self._emotion_worker is not None:
            self._emotion_worker.wait()  # a classification in progress finishes before the model is shared again
            self._emotion_worker.close()
            self._emotion_worker = None

    def __enter__(self) -> "LivePipeline":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    # -- detection
    def _start_side(self) -> int:
        """Where coarse-to-fine detection starts: the configured side, or, while faces are tracked, the side
        that found them last time (a finer pass finds every face a coarser one would, so nothing is lost)."""
        return self._side if self.tracks and self._side else self.config.detect_min_side

    def _detect_now(self, gray: np.ndarray) -> None:
        t0 = time.perf_counter()
        found, self._side = find_faces(gray, self._start_side(), self.config.detect_max_side)
        self.detections += 1
        self.detect_ms += (time.perf_counter() - t0) * 1000
        self._apply(found, None)

    def _due(self, gray: np.ndarray) -> str | None:
        """Why the detector must run on this frame at once ("start", "cut", "lost"), or None; sets ``_want_detection``
        when a regular detection is due ("moving", "idle", "interval": the worker thread may run it)."""
        cfg = self.config
        change = self._change(gray) if cfg.detect_policy == "adaptive" else 0.0
        now = None
        if not self.tracks:
            now = "start"  # nothing to follow: detect on this frame, so a face is found at once
        elif cfg.detect_policy == "adaptive" and change > cfg.cut_threshold:
            now = "cut"
        elif cfg.detect_policy == "adaptive" and self._lost:
            now = "lost"
        if now is not None:
            self._since, self._want_detection = 0, False
            self.detect_reasons[now] += 1
            return now
        self._since += 1
        if cfg.detect_policy == "interval":
            due = "interval" if self.frame_index % cfg.detect_every == 0 else None
        else:
            due = "moving" if self._moving else "idle"
            due = due if self._since >= (cfg.detect_every if self._moving else cfg.detect_idle) else None
        if due is not None and not self._want_detection:
            self._since, self._want_detection = 0, True
            self.detect_reasons[due] += 1
        return None

    def _detect(self, gray: np.ndarray) -> None:
        cfg = self.config
        now = self._due(gray)
        if now is not None:
            if now != "start":  # a cut or a lost face: what the worker or the emotion thread does is for the old picture
                self._generation += 1
            self._detect_now(gray)
        elif not cfg.detect_async:
            if self._want_detection:
                self._want_detection = False
                self._detect_now(gray)
        else:
            if self._worker is None:
                # no reference to self; with the process, the thread only hands over and waits: normal priority (a
                # lowered thread holding the GIL for the hand-over could hold up the loop, see detect_spare_cpu)
                if cfg.detect_process:
                    far = partial(find_faces_far, nice=cfg.detect_nice, spare_cpu=cfg.detect_spare_cpu)
                    self._worker = DetectorThread(far)
                else:
                    self._worker = DetectorThread(find_faces, nice=cfg.detect_nice)
            done = self._worker.take()
            if done is not None:
                if done.error is not None:
                    raise done.error
                self.detections += 1
                self.detect_ms += done.ms
                generation, snapshot = done.tag
                if generation == self._generation:
                    found, self._side = done.found
                    self._apply(found, snapshot)
            if self._want_detection and not self._worker.busy:  # each track's box and points at this frame
                snapshot = {t.id: (t.box, t.raw.copy()) for t in self.tracks if t.raw is not None}
                if self._worker.submit(gray, (self._generation, snapshot), min_side=self._start_side(),
                                       max_side=cfg.detect_max_side):
                    self._want_detection = False

    def _new_track(self, box) -> Track:
        self._next_id += 1
        cfg = self.config  # the emotion history holds the predictions of the last `smooth` frames
        flt = OneEuroFilter(cfg.min_cutoff, cfg.beta) if cfg.filter_points else None
        return Track(self._next_id - 1, tuple(box), np.zeros((68, 2), np.float32), None,
                     np.zeros((-(-cfg.smooth // cfg.emotion_every), len(EMOTIONS)), np.float32), filter=flt)

    def _apply(self, found: list, snapshot: dict | None) -> None:
        """Update the tracks with detected faces: of this frame (``snapshot`` None) or of an earlier one.

        For an earlier frame, ``snapshot`` holds each track's box and raw points *at that frame*: a
        matched track's box is re-anchored relative to those points (exact, although the face has
        moved since), a track the detector no longer finds is dropped, a new face starts a track.
        """
        found = sorted(found, key=lambda bs: (bs[0][2] - bs[0][0]) * (bs[0][3] - bs[0][1]), reverse=True)
        boxes = [tuple(b) for b, _ in found[:self.config.max_faces]]
        by_id = {t.id: t for t in self.tracks}
        if snapshot is None:
            matched, new = match_boxes(boxes, {t.id: t.box for t in self.tracks})
            kept = []
            for i, tid in matched.items():  # keep a face's emotion history and filter when it is found again
                t = by_id[tid]
                t.box, t.rel = boxes[i], None
                kept.append(t)
        else:
            old = {tid: box for tid, (box, _) in snapshot.items() if tid in by_id}
            matched, new = match_boxes(boxes, old)
            for i, tid in matched.items():
                by_id[tid].rel = relative_box(boxes[i], snapshot[tid][1])
            gone = set(old) - set(matched.values())
            kept = [t for t in self.tracks if t.id not in gone]
            new = [i for i in new if all(iou(boxes[i], t.box) <= 0.3 for t in kept)]
        for i in new:
            if len(kept) < self.config.max_faces:
                kept.append(self._new_track(boxes[i]))
        self.tracks = kept

    # -- the other stages
    def _landmarks(self, image: np.ndarray, gray: np.ndarray) -> None:
        h, w = gray.shape[:2]
        todo = []
        for t in self.tracks:
            if t.rel is not None and t.raw is not None:  # between detections: the box follows the last points
                t.box = box_from_points(t.raw, t.rel)
            left, tp, r, b = t.box
            if r - left < 8 or b - tp < 8 or r <= 0 or b <= 0 or left >= w or tp >= h:
                continue  # the face left the frame: drop it until the detector finds it again
            todo.append(t)
        raws = self._predict_all(image, gray, [t.box for t in todo])
        self._moving = self._lost = False
        for t, raw in zip(todo, raws):
            if t.raw is not None:  # a face followed since an earlier frame: did it move, or jump?
                shift, scale = points_motion(t.raw, raw)
                self._moving |= shift > MOVING_SHIFT
                self._lost |= shift > LOST_SHIFT or not LOST_SCALE[0] <= scale <= LOST_SCALE[1]
            t.raw = raw
            if t.rel is None:
                t.rel = relative_box(t.box, t.raw)
            t.points = t.filter(t.raw, POINTS_DT) if t.filter is not None else t.raw
        self.tracks = todo

    def _predict_all(self, image: np.ndarray, gray: np.ndarray, boxes: list) -> list[np.ndarray]:
        """Each box's 68 points; with several faces, the second process finds the last half meanwhile."""
        helper = self._helper() if len(boxes) > 1 else None
        if helper is None or not helper.lock.acquire(blocking=False):
            return [self._predict(image, gray, box) for box in boxes]
        n_far, pending = len(boxes) // 2, False
        try:
            helper.submit(gray, boxes[-n_far:])
            pending = True
            near = [self._predict(image, gray, box) for box in boxes[:-n_far]]
            far = list(helper.result())
            pending = False
            self.process_faces += n_far
            return near + far
        except CourseError as exc:  # the process died: say so once, and find the faces here from now on
            pending = False
            self._no_process(f"{exc}; this pipeline finds every face's points itself from now on.")
            return [self._predict(image, gray, box) for box in boxes]
        finally:
            if pending:  # interrupted between submit and result: read the answer, so the next frame gets its own
                try:
                    helper.result()
                except CourseError:
                    pass
            helper.lock.release()

    def _no_process(self, note: str) -> None:
        self.process_note = note
        warnings.warn(note, RuntimeWarning, stacklevel=3)

    def _predict(self, image: np.ndarray, gray: np.ndarray, box) -> np.ndarray:
        return self.landmarker.predict(image, box, gray) if self._dlib else np.float32(self.landmarker.predict(image, box))

    def _helper(self) -> PredictorProcess | None:
        """The shared landmark process once ready, else None: until then the loop finds every face (it never waits)."""
        if not self._process_wanted():
            return None
        helper = shared_process()
        if helper.error is not None:
            self._no_process(f"{helper.error}; this pipeline finds every face's points itself.")
            return None
        return helper if helper.ready else None

    def settle(self, timeout: float = 60.0) -> None:
        """Wait until the helper processes this pipeline uses are ready (benchmarks call this after their warm-up, so
        that the timed frames are the steady state): the landmark process for several faces, the detector process."""
        if len(self.tracks) > 1 and self._process_wanted():
            shared_process().wait_ready(timeout)
        cfg = self.config
        if cfg.detect_async and cfg.detect_process:
            shared_detector(cfg.detect_nice, cfg.detect_spare_cpu).wait_ready(timeout)

    def _process_wanted(self) -> bool:
        return self._dlib and self.config.landmark_process and not self.process_note

    def _emotion(self, gray: np.ndarray) -> None:
        every, now = self.config.emotion_every, self.frame_index
        due = [t for t in self.tracks if t.emotion_frame is None or now - t.emotion_frame >= every]  # new, or due
        worker = self._emotion_worker
        if worker is not None and (due or not worker.busy):  # the classification handed over earlier, done meanwhile
            self._apply_emotion(worker.wait() if worker.busy else worker.take())  # (waited for only if faces are due)
        if not due:
            return
        aligned, crops = align_faces(gray, [t.points for t in due], self.crop_size)
        if crops is None:
            return
        phase = min([t.emotion_frame for t in self.tracks if t.emotion_frame is not None and now - t.emotion_frame < every],
                    default=now)
        for t in due:  # a new face's next turn comes with the faces already followed: one call for all
            t.emotion_frame = now if t.emotion_frame is not None else phase
        tag = (self._generation, [t.id for t, ok in zip(due, aligned) if ok])
        if self.config.emotion_async and len(due) > 1 and all(t.count for t in due):
            if worker is None:  # several known faces: their one model call runs in the thread, beside the loop
                worker = self._emotion_worker = DetectorThread(classify, rest=0.0, name="live-emotion")
            worker.submit(crops, tag, classifier=self.classifier, batch=self._batch)
            return
        self._apply_emotion(Detection(tag, classify(crops, self.classifier, self._batch), 0.0))  # at once

    def _apply_emotion(self, done: Detection | None) -> None:
        """Add finished emotion probabilities to the faces they were made for (if those are still followed)."""
        if done is None:
            return
        if done.error is not None:
            raise done.error
        generation, ids = done.tag
        if generation != self._generation:
            return
        by_id = {t.id: t for t in self.tracks}
        for tid, p in zip(ids, done.found):
            if tid in by_id:
                by_id[tid].push(p)

    def _draw(self, image: np.ndarray, in_place: bool) -> np.ndarray:
        out = image
        if not in_place:
            if self._canvas is None or self._canvas.shape != image.shape:
                self._canvas = np.empty_like(image)
            out = self._canvas
            np.copyto(out, image)
        frames = self.timer.frames
        if frames == 0 or (frames - 1) % READOUT_EVERY == 0:  # frames 1, 11, 21, ... (every frame if 1)
            self._readout = self.timer.text() if frames else ""
        draw_overlay(out, self.tracks, banner=self.banner, readout=self._readout,
                     points=self.config.draw_points, emoji=self.config.draw_emoji)
        return out

    def process(self, image: np.ndarray, in_place: bool = False) -> tuple[np.ndarray, list[Track]]:
        """One BGR frame (H, W, 3) uint8 -> (annotated frame, faces). The annotated frame is reused: copy to keep.
        ``in_place=True`` draws on a colour ``image`` itself and returns it (no copy): for a frame not needed clean."""
        if image is None or image.size == 0:
            raise CourseError("empty frame: the source delivered no image. Check the webcam or video file.")
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        tick = time.perf_counter()
        gray = to_gray(image)
        self._detect(gray)
        tock = time.perf_counter()
        self.timer.add("detect", (tock - tick) * 1000)
        tick = tock
        self._landmarks(image, gray)
        tock = time.perf_counter()
        self.timer.add("landmarks", (tock - tick) * 1000)
        tick = tock
        self._emotion(gray)
        tock = time.perf_counter()
        self.timer.add("emotion", (tock - tick) * 1000)
        tick = tock
        out = self._draw(image, in_place and image.flags.writeable and image.flags.c_contiguous)
        self.timer.add("draw", (time.perf_counter() - tick) * 1000)
        self.timer.end_frame()
        self.frame_index += 1
        return out, self.tracks
