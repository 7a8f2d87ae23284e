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

:class:`DetectorProcess` is the same for the detector: the live pipeline's regular detections (the ones that may
come a few frames late) run in a process of their own at the lowest priority. A thread would do too (dlib's detector
releases the GIL), but a thread at the lowest priority that is pushed off its core while it holds the GIL, in the
Python around dlib's call, stops the loop until it gets a core again; a process has its own GIL.
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
from typing import BinaryIO, Callable

import numpy as np

from ..errors import CourseError
from .detection import find_faces, lower_priority

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


def serve(inp: BinaryIO | None = None, out: BinaryIO | None = None, kind: str = "points",
          options: dict | None = None) -> None:
    """The helper process: load the model, then answer each request (a JSON header, then the pixels) until its input
    ends: ``kind`` "points" with the faces' 68 points (:class:`PredictorProcess`), "faces" with the faces found
    (:class:`DetectorProcess`; ``options`` are its priority). Anything else printed goes to stderr, never into the
    replies."""
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
        _answer(inp, out, _JOBS[kind], options or {})
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


Job = Callable[[dict, np.ndarray], bytes]
"""What a helper process does with one request: (its JSON header, its pixels, flat) -> the reply."""


def _points_job() -> Job:
    """Load dlib's predictor; the job: each face's 68 points (float32) from its crop."""
    from ..landmarks import predict_points
    predict_points(np.zeros((32, 32), np.uint8), (4, 4, 28, 28))  # loads the model now, not on the first frame

    def job(header: dict, flat: np.ndarray) -> bytes:
        faces = header["faces"]
        points = np.empty((len(faces), 68, 2), np.float32)
        start = 0
        for i, (h, w, box) in enumerate(faces):
            points[i] = predict_points(flat[start:start + h * w].reshape(h, w), tuple(box))
            start += h * w
        return points.tobytes()
    return job


def _faces_job(nice: int = 0, spare_cpu: bool = False) -> Job:
    """Lower this process's priority, load dlib's detector (only the detector); the job: the faces of one grey frame,
    as JSON."""
    if not lower_priority(nice, spare_cpu) and nice > 0 and hasattr(os, "nice"):
        os.nice(nice)  # macOS: a process's nice value (Linux sets it per thread above; Windows: its priority class)
    find_faces(np.zeros((64, 64), np.uint8), 64, 64)  # loads the detector now

    def job(header: dict, flat: np.ndarray) -> bytes:
        h, w = header["shape"]
        try:
            found, side = find_faces(flat[:h * w].reshape(h, w), header["min_side"], header["max_side"])
        except Exception as exc:  # noqa: BLE001 - handed to the loop, which raises it there
            return json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode()
        return json.dumps({"faces": found, "side": side}).encode()
    return job


_JOBS: dict[str, Callable[..., Job]] = {"points": _points_job, "faces": _faces_job}


def _answer(inp: BinaryIO, out: BinaryIO, make_job: Callable[..., Job], options: dict) -> None:
    try:
        job = make_job(**options)
    except Exception as exc:  # noqa: BLE001 - any failure is reported to the loop, which then works alone
        _send(out, json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode())
        return
    _send(out, b'{"ready": true}')
    block: shared_memory.SharedMemory | None = None
    try:
        while True:
            header = json.loads(_recv(inp))
            name = header.get("shm")
            if name is None:  # the pixels follow through the pipe
                flat = np.frombuffer(_recv(inp), np.uint8)
            else:
                if block is None or block.name != name:  # the loop made a new (larger) block
                    if block is not None:
                        block.close()
                    block = _attach(name)
                flat = np.frombuffer(block.buf, np.uint8)
            reply = job(header, flat)
            del flat  # no view of the block may outlive the request (a block with views cannot be closed)
            _send(out, reply)
    finally:
        if block is not None:
            block.close()


class _HelperProcess:
    """A helper process (:func:`serve` of ``KIND``, started with ``python -c``) and the loop's side of its pipes.

    It starts at once and loads in the background (a second or two); ``ready`` says whether it can take work
    yet, so the loop never waits for it to start. ``close()`` ends the process; so does the end of Python (its input
    closes). ``error`` holds why the process is no longer usable (it failed to start or died); the loop then works
    alone. ``lock``: one request at a time (a second pipeline does its work itself meanwhile).
    """

    KIND = ""
    WHAT = "helper process"

    def __init__(self, creationflags: int = 0, **options) -> None:
        root = str(Path(__file__).resolve().parents[2])  # the folder that holds ``helpers``
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, *filter(None, [os.environ.get("PYTHONPATH")])])}
        code = f"from helpers.live.predictor_process import serve; import json, sys; " \
               f"serve(kind={self.KIND!r}, options=json.loads(sys.argv[1]))"
        self._proc: subprocess.Popen | None = subprocess.Popen(
            [sys.executable, "-c", code, json.dumps(options)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=root, creationflags=creationflags)
        self._block: shared_memory.SharedMemory | None = None  # the pixels' shared memory (made on the first request)
        self.shared = True  # False once shared memory could not be made: the pixels then go through the pipe
        self._started = threading.Event()
        self.error: str | None = None
        self.lock = threading.Lock()
        threading.Thread(target=self._hello, name=f"live-{self.KIND}-start", daemon=True).start()

    def _hello(self) -> None:
        """Read the process's first message (ready, or why not) in a thread: the loop never waits for the start."""
        try:
            payload = _recv(self._proc.stdout)
            self.error = json.loads(payload).get("error")
        except (EOFError, OSError, ValueError, AttributeError) as exc:
            self.error = f"the {self.WHAT} ended at start ({type(exc).__name__}: {exc})"
        self._started.set()

    @property
    def ready(self) -> bool:
        """Whether the process has loaded its model (checked without waiting) and has not failed."""
        return self._started.is_set() and self.error is None and self._proc is not None

    def wait_ready(self, timeout: float = START_TIMEOUT) -> bool:
        """Wait until the process is ready (or failed, or ``timeout`` seconds passed); return ``ready``."""
        self._started.wait(timeout)
        return self.ready

    def _request(self, header: dict, arrays: list[np.ndarray]) -> None:
        """Send a request: the arrays' bytes in shared memory (or through the pipe), announced by ``header``."""
        total = sum(a.size for a in arrays)
        block = self._shared_block(total) if self.shared else None
        try:
            if block is None:
                _send(self._proc.stdin, json.dumps(header).encode())
                _send(self._proc.stdin, np.concatenate([a.ravel() for a in arrays]).data if arrays else b"")
                return
            flat = np.ndarray((total,), np.uint8, buffer=block.buf)
            start = 0
            for a in arrays:
                flat[start:start + a.size] = a.ravel()
                start += a.size
            del flat
            _send(self._proc.stdin, json.dumps({**header, "shm": block.name}).encode())
        except (OSError, ValueError, AttributeError, BufferError) as exc:  # also: closed meanwhile by another thread
            self._fail(exc)

    def _reply(self) -> bytes:
        """The answer to the last request (waits for it; the wait releases the GIL)."""
        try:
            return _recv(self._proc.stdout)
        except (EOFError, OSError, AttributeError, ValueError) as exc:  # ValueError: closed meanwhile by another thread
            self._fail(exc)

    def _shared_block(self, size: int) -> shared_memory.SharedMemory | None:
        """A block of shared memory of at least ``size`` bytes (a larger one replaces a block too small), or None,
        for good, if the system gives none (the pixels then go through the pipe)."""
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

    def _fail(self, exc: BaseException):
        self.error = f"the {self.WHAT} stopped ({type(exc).__name__}: {exc})"
        self.close()
        raise CourseError(self.error)

    def close(self) -> None:
        """End the process: its input ends, so it finishes the request it is on and exits (or is killed after 2 s)."""
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


class PredictorProcess(_HelperProcess):
    """A second process running dlib's predictor on the faces it is sent (see the module's docstring).

    ``submit(gray, boxes)`` sends faces, ``result()`` returns their (n, 68, 2) points in frame pixels.
    """

    KIND = "points"
    WHAT = "landmark process"

    def __init__(self) -> None:
        super().__init__()
        self._offsets: list[tuple[int, int]] = []

    def submit(self, gray: np.ndarray, boxes: list[tuple[int, int, int, int]]) -> None:
        """Send the faces in ``boxes`` of the grey frame ``gray``; collect their points with :meth:`result`."""
        crops, faces, self._offsets = [], [], []
        for box in boxes:
            crop, inner, offset = face_crop(gray, box)
            crops.append(crop)
            faces.append((crop.shape[0], crop.shape[1], inner))
            self._offsets.append(offset)
        self._request({"faces": faces}, crops)

    def result(self) -> np.ndarray:
        """The (n, 68, 2) float32 points of the last :meth:`submit`, in frame pixels (waits for them)."""
        points = np.frombuffer(self._reply(), np.float32).reshape(-1, 68, 2).copy()
        points += np.asarray(self._offsets, np.float32)[:, None, :]
        return points


class DetectorProcess(_HelperProcess):
    """A process running dlib's detector (:func:`helpers.live.detection.find_faces`) at a lower priority: ``nice``
    steps lower (Linux, macOS) and, with ``spare_cpu``, in Linux's ``SCHED_IDLE`` class, where it gets a core only
    when nothing else wants one (on Windows: the idle priority class, or below normal without ``spare_cpu``). Safe in
    a process: it holds no lock the loop needs. :meth:`detect` waits for the answer; one caller at a time (``lock``:
    :func:`find_faces_far` holds it)."""

    KIND = "faces"
    WHAT = "detector process"

    def __init__(self, nice: int = 10, spare_cpu: bool = True) -> None:
        # Windows has no nice values: the process gets a lower priority class at its start instead
        flags = getattr(subprocess, "IDLE_PRIORITY_CLASS" if spare_cpu else "BELOW_NORMAL_PRIORITY_CLASS", 0) \
            if nice > 0 or spare_cpu else 0
        super().__init__(creationflags=flags, nice=int(nice), spare_cpu=bool(spare_cpu))
        self.frames = 0  # frames detected here

    def detect(self, gray: np.ndarray, min_side: int, max_side: int) -> tuple[list, int]:
        """:func:`~helpers.live.detection.find_faces` of the grey frame, found in the process."""
        gray = np.ascontiguousarray(gray)
        self._request({"shape": gray.shape[:2], "min_side": int(min_side), "max_side": int(max_side)}, [gray])
        reply = json.loads(self._reply())
        if "error" in reply:
            raise CourseError(f"the detector process failed on a frame: {reply['error']}")
        self.frames += 1
        return [(tuple(box), score) for box, score in reply["faces"]], reply["side"]


_SHARED: dict[tuple, _HelperProcess] = {}
_SHARED_LOCK = threading.Lock()


def _shared(cls: type, **options) -> _HelperProcess:
    key = (cls.KIND, *sorted(options.items()))
    with _SHARED_LOCK:
        if key in _SHARED and _SHARED[key].error is not None:
            _SHARED.pop(key).close()
        if key not in _SHARED:
            _SHARED[key] = cls(**options)
        return _SHARED[key]


def shared_process() -> PredictorProcess:
    """The Python session's landmark process: started on the first call, then reused by every pipeline (one start,
    one copy of the model, however many pipelines a notebook makes). A process that failed is started again."""
    return _shared(PredictorProcess)


def shared_detector(nice: int = 10, spare_cpu: bool = True) -> DetectorProcess:
    """The Python session's detector process for these priority settings, as :func:`shared_process`."""
    return _shared(DetectorProcess, nice=int(nice), spare_cpu=bool(spare_cpu))


def find_faces_far(gray: np.ndarray, min_side: int, max_side: int, *, nice: int = 10,
                   spare_cpu: bool = True) -> tuple[list, int]:
    """:func:`~helpers.live.detection.find_faces` in the session's detector process; here, in the calling thread,
    while that process is starting, busy with another pipeline's frame, or failed (that frame is then found here, and
    the next call starts a new process)."""
    helper = shared_detector(nice, spare_cpu)
    if helper.ready and helper.lock.acquire(blocking=False):
        try:
            return helper.detect(gray, min_side, max_side)
        except CourseError:  # the process died, or failed on this frame: the call below says so if it fails too
            pass
        finally:
            helper.lock.release()
    return find_faces(gray, min_side, max_side)


@atexit.register
def close_shared() -> None:
    """End the session's helper processes, if any run, and free their shared memory (the tests call it; Python does
    at exit, or its resource tracker would warn of a "leaked shared_memory object" it then frees)."""
    with _SHARED_LOCK:
        while _SHARED:
            _SHARED.popitem()[1].close()
