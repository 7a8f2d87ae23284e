"""Frame sources and runners: read frames, run a pipeline on them in a background thread or headless.

The frame-source interface
--------------------------
:class:`LiveRunner`, :func:`iter_annotated` and :func:`run_headless` accept either something
:class:`FrameSource` can open (a webcam index, a video file, ``"sample"``) or any object with this
interface (a browser-camera widget, a generator of frames, a test double):

- ``read() -> np.ndarray | None``: the next BGR frame (H, W, 3) uint8, or None when the source has
  ended or was released. It may block until a frame is available; it may return the same buffer each
  time (callers copy what they keep). A live source should return the **newest** frame, dropping older
  ones, so nothing queues up.
- ``release() -> bool``: stop delivering frames and free the device; idempotent, never blocks; True
  once released (False: a ``read()`` in another thread is still inside the device, it releases on return).
- attributes ``released: bool``, ``message: str`` (shown in the UI, e.g. "webcam 0" or why a fallback
  was used), ``fps: float`` (the source's own rate, used to pace a file when ``realtime``; 30.0 if
  unknown), ``is_camera: bool`` (a live source: never paced, never looped) and ``rewinds: int`` (how
  often a looping file restarted; 0 for a camera; the pipeline forgets its faces when it changes).
  Optional: ``decodes: bool`` (default True): False for a source whose read is only a copy (:class:`StillSource`),
  which is then not read ahead in a thread; ``reuses_buffer: bool`` (default False): True when ``read()`` returns
  the source's own buffer, which the next read overwrites anyway, so the overlay is drawn straight onto it.

:func:`as_frame_source` checks an object for this interface and says what is missing.
"""
from __future__ import annotations

import os
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import cv2
import numpy as np

from ..errors import CourseError
from ..recording import CUT_SHORT
from ..video import Source, open_capture_with_fallback, read_image, resize_image, rotate_image
from .pipeline import LivePipeline
from .timer import STAGES
from .prefetch import Prefetcher

ONE_DECODER_MAX_PIXELS = 1280 * 720
"""A video file up to this many pixels per frame is decoded with one FFmpeg thread (:class:`FrameSource`)."""
FRAME_SOURCE_ATTRIBUTES = ("read", "release", "released", "message", "fps", "is_camera", "rewinds")
"""What an object needs to be used as a frame source (see the module docstring)."""


def rss_mb() -> float:
    """Resident memory of this process in MB."""
    import psutil
    return psutil.Process().memory_info().rss / 2**20


class FrameSource:
    """Frames from a webcam index, a video file or ``"sample"``, read into one reused buffer.

    A webcam that cannot be opened falls back to the sample video (``message`` says so). ``loop``
    rewinds a file at its end; ``max_side`` shrinks large frames; ``rotate`` turns every frame clockwise by
    0/90/180/270 degrees (a sideways video without a rotation tag: notebook 01's ``ROTATE``). Use as a
    context manager, or call ``release()``: the capture is released exactly once, and ``released`` tells.
    """

    reuses_buffer = True  # every read decodes into the same buffer: the overlay may go onto it

    def __init__(self, source: Source = 0, *, loop: bool = False, max_side: int | None = 640, rotate: int = 0) -> None:
        # one decoder thread for a video up to 1280x720: the read-ahead thread already decodes it beside the loop, and
        # FFmpeg's own decoder threads (one per core) took the loop's core now and then (stutters); a larger video
        # (a phone's 4K clip) keeps them, or one thread could not decode it in real time
        self._cap, src, self.message = open_capture_with_fallback(source, decode_threads=1)
        if not isinstance(src, int) and (self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)
                                         * self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT) > ONE_DECODER_MAX_PIXELS):
            self._cap.release()
            self._cap, src, self.message = open_capture_with_fallback(source)
        self.rotate = rotate % 360
        self.source = src
        self.is_camera = isinstance(src, int)
        self.loop = loop and not self.is_camera
        self.max_side = max_side
        self.fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 30.0)
        self.frames = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT)) if not self.is_camera else 0
        self.rewinds = 0  # how many times a looping file started again (the pipeline forgets its faces then)
        self._read = 0  # frames read (until the first rewind: a file that ends early says so)
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
                if not self.rewinds and 0 < self._read < CUT_SHORT * self.frames:  # said once, at the first rewind
                    print(f"note: {Path(str(self.source)).name} ends after {self._read} of the {self.frames} frames its "
                          "header announces: the file is probably cut short (copy or export it again); "
                          "looping what is there")
                self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                self.rewinds += 1
                ok, image = self._cap.read(self._buf)
            self._read += 1 if ok else 0
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
        image = resize_image(image, max_side=self.max_side) if self.max_side else image
        return rotate_image(image, self.rotate) if self.rotate else image

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


class StillSource:
    """One image delivered again and again as a stream (a group photo "in front of the camera"): the frame-source interface.

    ``read()`` returns a fresh copy of the image into one reused buffer (so a pipeline cannot change
    the original), ``frames`` times (None: until released).
    """

    is_camera = False
    decodes = False  # reading is one copy: nothing for a read-ahead thread to overlap (it would only add a copy)
    reuses_buffer = True  # every read copies the image into the same buffer
    rewinds = 0

    def __init__(self, image: np.ndarray | str | os.PathLike, frames: int | None = None, *, fps: float = 30.0,
                 message: str = "still image") -> None:
        if isinstance(image, (str, os.PathLike)):  # a photo's path: read it (a clear error if it cannot be read)
            image = read_image(image)
        if image is None or np.asarray(image).size == 0:
            raise CourseError("StillSource needs an image: give it a photo's path, or the array of "
                              "helpers.video.read_image(path), which says why a file cannot be read.")
        self.image = np.ascontiguousarray(image)
        self._buf = np.empty_like(self.image)
        self.frames, self.fps, self.message = frames, float(fps), message
        self.delivered = 0
        self.released = False

    def read(self) -> np.ndarray | None:
        """The image again (into the reused buffer), or None once ``frames`` were delivered or after release."""
        if self.released or (self.frames is not None and self.delivered >= self.frames):
            return None
        self.delivered += 1
        np.copyto(self._buf, self.image)
        return self._buf

    def release(self) -> bool:
        self.released = True
        return True


def as_frame_source(source: Any, *, loop: bool = False, **opened: Any) -> Any:
    """A frame source from a webcam index, file path or ``"sample"`` (a :class:`FrameSource`, with ``opened``:
    ``max_side``, ``rotate``), or any object with the frame-source interface (module docstring), returned as it is."""
    if isinstance(source, (int, str)) or hasattr(source, "__fspath__"):
        return FrameSource(source, loop=loop, **opened)
    missing = [a for a in FRAME_SOURCE_ATTRIBUTES if not hasattr(source, a)]
    if missing:
        raise CourseError(f"{type(source).__name__} cannot be used as a frame source: it has no {', '.join(missing)}. "
                          "Pass a webcam index, a video file, 'sample', or an object with the interface described in "
                          "helpers.live.runner.")
    return source


def iter_annotated(pipeline: LivePipeline, source: Any, frames: int | None = None) -> Iterator[np.ndarray]:
    """Yield annotated frames (the reused buffer) until the source ends or ``frames`` were processed; times 'read'.

    With ``pipeline.config.prefetch`` a file (not a camera) is read ahead in a thread (:class:`.prefetch.Prefetcher`):
    'read' is then only the wait for a frame that is already decoded. The course's own sources (:class:`FrameSource`,
    :class:`StillSource`) get the overlay drawn on their frame buffer (``process(in_place=True)``): no copy per frame.
    """
    n = 0
    rewinds = source.rewinds
    # a file is read ahead (decoding overlaps the work on the frame before); a camera, or a source that does not
    # decode (a still image: ``decodes = False``), is not
    read_ahead = pipeline.config.prefetch and not source.is_camera and getattr(source, "decodes", True)
    reader = Prefetcher(source) if read_ahead else source
    # a source that hands out a buffer the next read overwrites (the course's own) gets the overlay straight onto it
    in_place = getattr(source, "reuses_buffer", False)
    try:
        while frames is None or n < frames:
            tick = time.perf_counter()
            image = reader.read()
            if image is None:
                return
            pipeline.timer.add("read", (time.perf_counter() - tick) * 1000)
            if reader.rewinds != rewinds:  # a looping file jumped back to its start: the faces there are new
                rewinds = reader.rewinds
                pipeline.reset(timings=False)
            out, _ = pipeline.process(image, in_place=in_place)
            yield out
            n += 1
    finally:
        if reader is not source:
            reader.close()


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
    ``realtime`` paces a video file to its own fps (for viewing). ``max_side`` and ``rotate`` are
    :class:`FrameSource`'s (a webcam's frames shrunk to at most 640 px by default). Errors in the worker are kept in
    ``error`` and the source is released all the same.
    """

    def __init__(self, pipeline: LivePipeline, source: Any = 0, *,
                 on_frame: Callable[[np.ndarray, LivePipeline], None] | None = None,
                 on_end: Callable[["LiveRunner"], None] | None = None,
                 max_frames: int | None = None, loop: bool = True, realtime: bool = False,
                 max_side: int | None = 640, rotate: int = 0) -> None:
        self.pipeline = pipeline
        self.source = as_frame_source(source, loop=loop, max_side=max_side, rotate=rotate)
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
    frame_ms: np.ndarray = field(default_factory=lambda: np.zeros(0))  # wall time of each timed frame (ms)

    @property
    def frame_ms_p50(self) -> float:
        """Median wall time per frame (ms)."""
        return float(np.percentile(self.frame_ms, 50)) if len(self.frame_ms) else float("nan")

    @property
    def frame_ms_p99(self) -> float:
        """99th percentile of the wall time per frame (ms): the stutters a viewer notices."""
        return float(np.percentile(self.frame_ms, 99)) if len(self.frame_ms) else float("nan")

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
                 loop: bool = True, warmup: int = 5, progress: bool = False, rss_every: int | None = None) -> RunReport:
    """Process ``frames`` frames without a window; return fps, mean ms per stage (over the whole run) and RSS.

    ``keep`` annotated frames, evenly spread, are copied into the report. The first ``warmup`` frames
    (first calls are slow) are not timed. RSS is measured after the warm-up, every ``rss_every``
    frames (``rss_frames``/``rss_mb``, for a slope; default: a tenth of the run, 50 to 500 frames) and at the end.
    """
    rss_every = rss_every or max(50, min(500, frames // 10))
    kept_at = set(np.linspace(warmup, warmup + frames - 1, keep).astype(int).tolist()) if keep else set()
    kept: list[np.ndarray] = []
    totals = np.zeros(len(STAGES), np.float64)
    faces = 0
    src = as_frame_source(source, loop=loop)
    try:
        pipeline.reset()
        bar = None
        if progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=frames, desc="live pipeline", unit="frame")
        rss0, t0, n = rss_mb(), time.perf_counter(), 0
        rss_at, rss_val = [0], [rss0]
        frame_ms = np.zeros(frames, np.float64)  # preallocated: the measurement must not grow memory itself
        last = t0
        for i, out in enumerate(iter_annotated(pipeline, src, warmup + frames)):
            now = time.perf_counter()
            if i < warmup:
                if i == warmup - 1:
                    pipeline.settle()  # a landmark process that is starting: time the steady state
                    rss0, t0 = rss_mb(), time.perf_counter()
                    rss_val[0] = rss0
                    now = t0
                last = now
                continue
            frame_ms[n] = (now - last) * 1000
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
            last = time.perf_counter()  # bookkeeping above is not the pipeline's time
        seconds = time.perf_counter() - t0
        if bar is not None:
            bar.close()
        message = src.message
    finally:
        if src is not source:  # opened here: release it here (a source object passed in stays the caller's)
            src.release()
    if n == 0:
        raise CourseError("the source delivered no frames after the warm-up: use a longer video or loop=True.")
    stage = {s: float(v / n) for s, v in zip(STAGES, totals)}
    stage["total"] = float(totals.sum() / n)
    return RunReport(n, seconds, n / seconds, stage, rss0, rss_mb(), kept, message, faces / n, rss_at, rss_val,
                     frame_ms[:n].copy())
