"""Face detection off the frame loop: a worker thread that detects on the newest frame handed to it.

dlib's detector costs milliseconds on a webcam frame and tens of milliseconds on a big group frame;
run inline, the frames that wait for it stutter. While faces are tracked by their landmarks, the
detector is only needed to find new faces and to re-anchor the tracked ones, so it can run beside the
loop: the loop hands it a copy of the current grey frame when it is free, and picks up the result a
few frames later. dlib releases Python's GIL while it detects, so the thread really runs in parallel
on a second core. The live pipeline's thread hands each frame on to a process of its own
(:func:`helpers.live.predictor_process.find_faces_far`), which can run at the lowest priority without holding
up the loop (see :func:`lower_priority`).
"""
from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any, Callable

import cv2
import numpy as np

from ..landmarks import detect_faces


@dataclass
class Detection:
    """A finished detection: what :meth:`DetectorThread.submit` was given as ``tag``, what ``detect`` returned, its cost."""

    tag: Any
    found: Any
    ms: float
    error: BaseException | None = None


class DetectorThread:
    """Runs ``detect(gray, **kwargs)`` in one background thread on the latest frame submitted; never queues.

    Nothing in it is specific to detection: the live pipeline also runs its emotion model in one
    (``rest=0``, the array being a stack of face crops).

    ``submit(gray, tag, **kwargs)`` copies the frame into the thread's own buffer and returns True, or returns
    False at once if the thread is still busy (or resting): the caller simply tries again on a later
    frame. ``take()`` returns the finished :class:`Detection` once, or None. After each detection the
    thread rests ``rest`` times as long as it worked, so it uses at most ``1 / (1 + rest)`` of a core.
    ``nice`` > 0 lowers the thread's priority with the operating system (:func:`lower_priority`): background work
    that gives way to the frame loop and the landmark process when they need the same core; ``spare_cpu`` (Linux)
    goes further: the thread runs only when no other thread or process wants the core.
    """

    def __init__(self, detect: Callable[..., Any], *, rest: float = 1.0, name: str = "live-detector",
                 nice: int = 0, spare_cpu: bool = False) -> None:
        self._detect = detect
        self.rest = float(rest)
        self.nice = int(nice)
        self.spare_cpu = bool(spare_cpu)
        self.lowered = False  # whether the thread's priority was lowered (only where the system allows it)
        self._cond = threading.Condition()
        self._job: tuple[np.ndarray, Any, dict] | None = None
        self._busy = False
        self._result: Detection | None = None
        self._ready_at = 0.0
        self._buf: np.ndarray | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        _RUNNING.add(self)

    @property
    def busy(self) -> bool:
        """True while a submitted frame is waiting or being detected."""
        with self._cond:
            return self._busy

    def submit(self, gray: np.ndarray, tag: Any = None, **kwargs) -> bool:
        """Hand over a frame (copied); False, without waiting, if the thread is busy or resting."""
        with self._cond:
            if self._busy or self._closed or time.perf_counter() < self._ready_at:
                return False
            if self._buf is None or self._buf.shape != gray.shape:
                self._buf = np.empty_like(gray)
            np.copyto(self._buf, gray)
            self._job, self._busy = (self._buf, tag, kwargs), True
            self._cond.notify_all()
            return True

    def take(self) -> Detection | None:
        """The finished detection, once (None if there is none yet)."""
        with self._cond:
            result, self._result = self._result, None
            return result

    def wait(self, timeout: float | None = 10.0) -> Detection | None:
        """Wait until the thread is idle, then :meth:`take`."""
        with self._cond:
            self._cond.wait_for(lambda: not self._busy, timeout)
        return self.take()

    def close(self, timeout: float = 10.0) -> None:
        """End the thread: it finishes a call in progress first, and ``close`` waits for that (at most ``timeout`` s).

        Waiting matters at exit: a thread still inside dlib or TensorFlow Lite when Python shuts down
        aborts the whole process ("terminate called without an active exception").
        """
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)
        _RUNNING.discard(self)

    def _run(self) -> None:
        self.lowered = lower_priority(self.nice, self.spare_cpu)
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._job is not None or self._closed)
                if self._closed:
                    self._busy = False
                    self._cond.notify_all()
                    return
                gray, tag, kwargs = self._job
                self._job = None
            t0 = time.perf_counter()
            try:
                found, error = self._detect(gray, **kwargs), None
            except Exception as exc:  # handed to the frame loop, which raises it there
                found, error = None, exc
            ms = (time.perf_counter() - t0) * 1000
            with self._cond:
                self._result = Detection(tag, found, ms, error)
                self._ready_at = time.perf_counter() + self.rest * ms / 1000
                self._busy = False
                self._cond.notify_all()


def lower_priority(nice: int, spare_cpu: bool = False) -> bool:
    """Lower the calling thread's priority by ``nice`` steps (its "nice value") and, with ``spare_cpu``, put it in
    Linux's ``SCHED_IDLE`` class (it gets a core only when nothing else wants it); True if it was lowered.

    On Linux every thread has its own nice value and class, so this touches only the calling thread. Elsewhere
    (macOS, Windows) the value belongs to the whole process, so nothing changes and the answer is False.
    A nice value alone still gives the thread a slice of a busy core now and then, and each slice is a frame of
    the loop (or of the landmark process) that waits. ``SCHED_IDLE`` avoids that, at a price: the thread holds
    Python's GIL in the Python code around dlib's calls, and a thread starved by other programs while it holds it
    makes every other thread of the process wait until it gets a core again (a priority inversion).
    """
    if (nice <= 0 and not spare_cpu) or not sys.platform.startswith("linux"):
        return False
    tid, lowered = threading.get_native_id(), False
    with contextlib.suppress(OSError):
        if nice > 0:
            os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))
            lowered = True
    with contextlib.suppress(OSError, AttributeError):  # sched_setscheduler is Linux-only in Python
        if spare_cpu:
            os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
            lowered = True
    return lowered


_RUNNING: "weakref.WeakSet[DetectorThread]" = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    """At exit, end the threads of pipelines nobody closed (before Python tears down what they use)."""
    for worker in list(_RUNNING):
        worker.close()


class FrameChange:
    """How much the picture changed since the previous frame: the mean absolute difference of two 32x18 grey thumbnails.

    Each thumbnail has its mean removed, so a camera's exposure or white balance drifting changes little; a cut to
    another scene or a jump of the camera changes a lot (on the sample video, consecutive frames differ by at most
    about 7 grey levels; a cut to the other sample video, by 54-63: :func:`helpers.live.cut_recovery` prints both).
    About 0.05 ms per frame, 1280 px wide included. The first frame (and the first after :meth:`reset`) changes by 0.
    """

    SIZE = (32, 18)

    def __init__(self) -> None:
        self._prev: np.ndarray | None = None

    def reset(self) -> None:
        self._prev = None

    def __call__(self, gray: np.ndarray) -> float:
        """This frame's change from the previous one (grey levels, 0-255), and remember this frame."""
        # two steps: bilinear to 4x the thumbnail, then an exact 4x4 average (INTER_AREA over a non-integer ratio
        # takes milliseconds on a 1280 px frame; these two, about 0.03 ms)
        mid = cv2.resize(gray, (4 * self.SIZE[0], 4 * self.SIZE[1]), interpolation=cv2.INTER_LINEAR)
        thumb = cv2.resize(mid, self.SIZE, interpolation=cv2.INTER_AREA).astype(np.float32)
        thumb -= thumb.mean()
        change = 0.0 if self._prev is None else float(np.abs(thumb - self._prev).mean())
        self._prev = thumb
        return change


def find_faces(gray: np.ndarray, min_side: int, max_side: int) -> tuple[list, int]:
    """The detector call of both the frame loop and the worker thread: (faces, the finest side it needed)."""
    sides: list[int] = []
    found = detect_faces(gray, detect_min_side=min_side, detect_max_side=max_side, sides_tried=sides)
    return found, sides[-1] if sides else min_side
