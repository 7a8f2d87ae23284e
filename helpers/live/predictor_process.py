"""dlib's 68-point predictor in a second process, so that a group's faces are found on both cores.

dlib's predictor holds Python's GIL while it runs (:func:`helpers.live.costs.two_thread_speedup` measures about 1x
with two threads), so a second *thread* cannot share a frame's faces with the loop. A second *process* can: it has
its own interpreter. :class:`PredictorProcess` starts one (``python -c`` with this module's :func:`serve`: a plain
child process, the same on Linux, macOS and Windows, which never re-runs the learner's script or notebook), which
loads the predictor once; for each frame the loop sends it a share of the faces and finds the others itself
meanwhile.

What crosses between the processes is raw bytes, never pickles: per face a grey crop around its box (the box and half
its size on every side: the pixels the predictor can look at), all in one block of **shared memory**
(:mod:`multiprocessing.shared_memory`) that both processes map, announced by a small JSON header on the child's
stdin; back on its stdout come the 68 points as float32. Writing the crops into shared memory costs a copy; sending
them through the pipe instead (the fallback where shared memory cannot be made) makes the loop wait while the child
reads them in 64 kB pieces: about 0.7 ms per frame for a group of four at 1280 px, most of one predictor call. The
points are those of :func:`helpers.landmarks.predict_points` on the whole frame (a unit test checks it, both ways).
"""
from __future__ import annotations

import atexit
import json
import os
import signal
import struct
import subprocess
import sys
import threading
from multiprocessing import shared_memory
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..errors import CourseError

MARGIN = 0.5
"""Each face's crop reaches this many box sizes beyond its box on every side."""
START_TIMEOUT = 60.0
"""Seconds :meth:`PredictorProcess.wait_ready` waits for the process to load dlib and the model."""


def face_crop(gray: np.ndarray, box: tuple[int, int, int, int], margin: float = MARGIN
              ) -> tuple[np.ndarray, tuple[int, int, int, int], tuple[int, int]]:
    """The grey pixels around ``box`` (l, t, r, b): (contiguous crop, the box in the crop, the crop's (x, y) offset)."""
    h, w = gray.shape[:2]
    left, top, right, bottom = (int(v) for v in box)
    mx, my = int((right - left) * margin) + 1, int((bottom - top) * margin) + 1
    x0, y0 = max(0, left - mx), max(0, top - my)
    x1, y1 = min(w, right + mx), min(h, bottom + my)
    crop = np.ascontiguousarray(gray[y0:y1, x0:x1])
    return crop, (left - x0, top - y0, right - x0, bottom - y0), (x0, y0)


_HEAD = struct.Struct("<I")  # a message: its length in bytes, then the bytes (JSON, face crops or points)


def _send(stream: BinaryIO, payload: bytes | memoryview) -> None:
    stream.write(_HEAD.pack(len(payload)))
    stream.write(payload)
    stream.flush()


def _recv(stream: BinaryIO) -> bytes:
    head = stream.read(_HEAD.size)
    if len(head) < _HEAD.size:
        raise EOFError("the other process closed the pipe")
    (n,) = _HEAD.unpack(head)
    payload = stream.read(n)
    if len(payload) < n:
        raise EOFError("the other process closed the pipe")
    return payload


def serve(inp: BinaryIO | None = None, out: BinaryIO | None = None) -> None:
    """The second process: load the predictor, then answer each request (a JSON header, then the face crops) with
    the faces' points, until its input ends. Anything else printed goes to stderr, never into the replies."""
    if out is None:
        out = os.fdopen(os.dup(1), "wb")  # the replies keep stdout's pipe ...
        try:
            os.dup2(2, 1)                  # ... and stray prints (of any library) go to stderr
        except OSError:                    # a Python without a stderr (pythonw on Windows): into nothing
            os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    inp = inp if inp is not None else sys.stdin.buffer
    # a Ctrl+C (or Jupyter's Interrupt) meant for the loop reaches this process too: it ends with its input instead
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _answer(inp, out)
    except (BrokenPipeError, EOFError):  # the loop ended (or closed the process) while this one was busy
        return


def _attach(name: str) -> shared_memory.SharedMemory:
    """Map the loop's block of shared memory. The loop owns it: this process must not unlink it when it ends, which
    Python before 3.13 would do (its resource tracker registers every block a process maps)."""
    try:
        return shared_memory.SharedMemory(name=name, track=False)  # Python 3.13+
    except TypeError:
        from multiprocessing import resource_tracker
        register = resource_tracker.register
        resource_tracker.register = lambda *args, **kwargs: None  # this process has one thread: nothing else registers
        try:
            return shared_memory.SharedMemory(name=name)
        finally:
            resource_tracker.register = register


def _answer(inp: BinaryIO, out: BinaryIO) -> None:
    try:
        from ..landmarks import predict_points
        predict_points(np.zeros((32, 32), np.uint8), (4, 4, 28, 28))  # loads the model now, not on the first frame
    except Exception as exc:  # noqa: BLE001 - any failure is reported to the loop, which then works alone
        _send(out, json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode())
        return
    _send(out, b'{"ready": true}')
    block: shared_memory.SharedMemory | None = None
    try:
        while True:
            header = json.loads(_recv(inp))
            faces, name = header["faces"], header.get("shm")
            if name is None:  # the crops follow through the pipe
                flat = np.frombuffer(_recv(inp), np.uint8)
            else:
                if block is None or block.name != name:  # the loop made a new (larger) block
                    if block is not None:
                        block.close()
                    block = _attach(name)
                flat = np.frombuffer(block.buf, np.uint8)
            points = np.empty((len(faces), 68, 2), np.float32)
            start = 0
            for i, (h, w, box) in enumerate(faces):
                points[i] = predict_points(flat[start:start + h * w].reshape(h, w), tuple(box))
                start += h * w
            del flat  # no view of the block may outlive the request (a block with views cannot be closed)
            _send(out, points.tobytes())
    finally:
        if block is not None:
            block.close()


class PredictorProcess:
    """A second process running dlib's predictor on the faces it is sent (see the module's docstring).

    It starts at once and loads in the background (a second or two); ``ready`` says whether it can take work
    yet, so the loop never waits for it to start. ``submit(gray, boxes)`` sends faces, ``result()`` returns their
    (n, 68, 2) points in frame pixels. ``close()`` ends the process; so does the end of Python (its input closes).
    ``error`` holds why the process is no longer usable (it failed to start or died); the loop then works alone.
    """

    def __init__(self) -> None:
        root = str(Path(__file__).resolve().parents[2])  # the folder that holds ``helpers``
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, *filter(None, [os.environ.get("PYTHONPATH")])])}
        self._proc: subprocess.Popen | None = subprocess.Popen(
            [sys.executable, "-c", "from helpers.live.predictor_process import serve; serve()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=root)
        self._offsets: list[tuple[int, int]] = []
        self._block: shared_memory.SharedMemory | None = None  # the crops' shared memory (made on the first submit)
        self.shared = True  # False once shared memory could not be made: the crops then go through the pipe
        self._started = threading.Event()
        self.error: str | None = None
        self.lock = threading.Lock()  # one frame's faces at a time: a second pipeline finds its faces itself meanwhile
        threading.Thread(target=self._hello, name="live-landmarks-start", daemon=True).start()

    def _hello(self) -> None:
        """Read the process's first message (ready, or why not) in a thread: the loop never waits for the start."""
        try:
            payload = _recv(self._proc.stdout)
            self.error = json.loads(payload).get("error")
        except (EOFError, OSError, ValueError, AttributeError) as exc:
            self.error = f"the landmark process ended at start ({type(exc).__name__}: {exc})"
        self._started.set()

    @property
    def ready(self) -> bool:
        """Whether the process has loaded the predictor (checked without waiting) and has not failed."""
        return self._started.is_set() and self.error is None and self._proc is not None

    def wait_ready(self, timeout: float = START_TIMEOUT) -> bool:
        """Wait until the process is ready (or failed, or ``timeout`` seconds passed); return ``ready``."""
        self._started.wait(timeout)
        return self.ready

    def submit(self, gray: np.ndarray, boxes: list[tuple[int, int, int, int]]) -> None:
        """Send the faces in ``boxes`` of the grey frame ``gray``; collect their points with :meth:`result`."""
        crops, faces, self._offsets = [], [], []
        for box in boxes:
            crop, inner, offset = face_crop(gray, box)
            crops.append(crop)
            faces.append((crop.shape[0], crop.shape[1], inner))
            self._offsets.append(offset)
        total = sum(c.size for c in crops)
        block = self._shared_block(total) if self.shared else None
        try:
            if block is None:
                _send(self._proc.stdin, json.dumps({"faces": faces}).encode())
                _send(self._proc.stdin, np.concatenate([c.ravel() for c in crops]).data if crops else b"")
                return
            flat = np.ndarray((total,), np.uint8, buffer=block.buf)
            start = 0
            for crop in crops:
                flat[start:start + crop.size] = crop.ravel()
                start += crop.size
            del flat
            _send(self._proc.stdin, json.dumps({"faces": faces, "shm": block.name}).encode())
        except (OSError, ValueError, AttributeError) as exc:
            self._fail(exc)

    def _shared_block(self, size: int) -> shared_memory.SharedMemory | None:
        """A block of shared memory of at least ``size`` bytes (a larger one replaces a block too small), or None,
        for good, if the system gives none (the crops then go through the pipe)."""
        if self._block is not None and self._block.size >= size:
            return self._block
        self._drop_block()
        try:
            self._block = shared_memory.SharedMemory(create=True, size=max(2 * size, 1 << 20))
        except OSError:  # e.g. no /dev/shm in a container
            self.shared = False
        return self._block

    def _drop_block(self) -> None:
        """Free the block (the child keeps its own mapping of it until it maps the next one or ends)."""
        block, self._block = self._block, None
        if block is not None:
            block.close()
            try:
                block.unlink()
            except OSError:
                pass

    def result(self) -> np.ndarray:
        """The (n, 68, 2) float32 points of the last :meth:`submit`, in frame pixels (waits for them)."""
        try:
            raw = _recv(self._proc.stdout)
        except (EOFError, OSError, AttributeError) as exc:
            self._fail(exc)
        points = np.frombuffer(raw, np.float32).reshape(-1, 68, 2).copy()
        points += np.asarray(self._offsets, np.float32)[:, None, :]
        return points

    def _fail(self, exc: BaseException):
        self.error = f"the landmark process stopped ({type(exc).__name__}: {exc})"
        self.close()
        raise CourseError(self.error)

    def close(self) -> None:
        """End the process: its input ends, so it finishes the face it is on and exits (or is killed after 2 s)."""
        proc, self._proc = self._proc, None
        self._drop_block()
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=2)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


_SHARED: list[PredictorProcess] = []
_SHARED_LOCK = threading.Lock()


def shared_process() -> PredictorProcess:
    """The Python session's landmark process: started on the first call, then reused by every pipeline (one start,
    one copy of the model, however many pipelines a notebook makes). A process that failed is started again."""
    with _SHARED_LOCK:
        if _SHARED and _SHARED[0].error is not None:
            _SHARED.pop().close()
        if not _SHARED:
            _SHARED.append(PredictorProcess())
        return _SHARED[0]


@atexit.register
def close_shared() -> None:
    """End the session's landmark process, if one runs, and free its shared memory (the tests call it; Python does at
    exit, or its resource tracker would warn of a "leaked shared_memory object" it then frees)."""
    with _SHARED_LOCK:
        while _SHARED:
            _SHARED.pop().close()
