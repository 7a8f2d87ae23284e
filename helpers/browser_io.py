"""Kernel-side pieces of the browser camera that need no widget: JPEG frames in and out, loop statistics,
and notebook 01's browser recording on disk (:class:`Recorder`, :func:`recording_or_sample`).

:mod:`helpers.browser_cam` (the widget) builds on these; they are importable and tested without anywidget.
"""
from __future__ import annotations

import time
from collections import deque
from pathlib import Path

import cv2
import numpy as np

from .errors import CourseError
from .paths import native, non_ascii_hint, shown, work_dir


# --------------------------------------------------------------------------- frames in and out

def decode_jpeg(data: bytes | bytearray | memoryview) -> np.ndarray:
    """JPEG bytes from the page -> BGR image (H, W, 3) uint8; a clear CourseError for empty or broken data."""
    buf = np.frombuffer(memoryview(data), np.uint8)
    if buf.size == 0:
        raise CourseError("the browser sent an empty frame: the camera delivered no image yet. Press Start again.")
    image = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if image is None:
        raise CourseError(f"the browser sent {buf.size} bytes that are not a JPEG image: reload the page "
                          "(the widget's script may be out of date) and press Start again.")
    return image


def encode_jpeg(image: np.ndarray, quality: int = 80) -> bytes:
    """BGR (or grey) image uint8 -> JPEG bytes for the page."""
    if image is None or not isinstance(image, np.ndarray) or image.size == 0 or image.ndim not in (2, 3):
        raise CourseError("the frame processor returned no image: it must return a BGR (H, W, 3) uint8 array "
                          "(or None to show the camera frame unchanged).")
    ok, jpg = cv2.imencode(".jpg", np.ascontiguousarray(image, np.uint8), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise CourseError("OpenCV could not encode the processed frame as JPEG: check its dtype (uint8) and shape.")
    return jpg.tobytes()


# --------------------------------------------------------------------------- measurements

class LoopStats:
    """Bounded rolling measurements of the browser loop (nothing grows with the number of frames).

    ``arrived`` frame times in the kernel (-> kernel fps), ``kernel_ms`` (decode + process + encode),
    ``latency_ms`` (reported by the page: captured in the page -> annotated frame ready in the page)
    and ``shown_fps`` (the page's count of annotated frames shown per second).
    """

    def __init__(self, window: int = 120) -> None:
        self.window = window
        self.reset()

    def reset(self) -> None:
        self.arrived: deque[float] = deque(maxlen=self.window)
        self.kernel_ms: deque[float] = deque(maxlen=self.window)
        self.latency_ms: deque[float] = deque(maxlen=self.window)
        self.shown_fps = 0.0
        self.frames = 0          # frames answered with a result
        self.skipped = 0         # frames answered with "skip" (stale, stopped, or failed)
        self.max_in_flight = 0   # the largest in-flight count the page reported

    def add_frame(self, now: float, kernel_ms: float) -> None:
        self.arrived.append(now)
        self.kernel_ms.append(kernel_ms)
        self.frames += 1

    def add_page_report(self, latency_ms: float | None, shown_fps: float | None, inflight: int | None) -> None:
        if latency_ms is not None and latency_ms == latency_ms and latency_ms >= 0:
            self.latency_ms.append(float(latency_ms))
        if shown_fps is not None and shown_fps >= 0:
            self.shown_fps = float(shown_fps)
        if inflight is not None:
            self.max_in_flight = max(self.max_in_flight, int(inflight))

    @property
    def fps(self) -> float:
        """Frames per second answered by the kernel over the window (0 before two frames)."""
        if len(self.arrived) < 2:
            return 0.0
        span = self.arrived[-1] - self.arrived[0]
        return (len(self.arrived) - 1) / span if span > 0 else 0.0

    def summary(self) -> dict[str, float | int]:
        """fps, shown_fps, latency median/p95 (ms), kernel ms per frame, frames, skipped, max_in_flight."""
        lat = np.array(self.latency_ms) if self.latency_ms else np.array([np.nan])
        kms = np.array(self.kernel_ms) if self.kernel_ms else np.array([np.nan])
        return {"fps": round(self.fps, 2), "shown_fps": round(self.shown_fps, 2),
                "latency_ms_median": round(float(np.median(lat)), 1),
                "latency_ms_p95": round(float(np.percentile(lat, 95)), 1),
                "kernel_ms": round(float(np.mean(kms)), 2), "frames": self.frames, "skipped": self.skipped,
                "max_in_flight": self.max_in_flight}



# --------------------------------------------------------------------------- notebook 01: the recording on disk

def recording_path(name: str) -> Path:
    """Where the browser recording of ``name`` is saved: ``data/work/01_capture/<name>_browser.mp4``.

    :func:`helpers.browser_cam.record` writes it there.
    """
    if not name or any(c in name for c in "/\\") or name.startswith("."):
        raise CourseError(f"NAME={name!r} cannot be a file name: use letters, digits, '-' or '_' (e.g. 'me').")
    return work_dir("01_capture") / f"{name}_browser.mp4"


class Recorder:
    """Writes browser frames to a video file in real time for ``seconds``, then stops the camera.

    Frames arrive at the rate the page and kernel manage (often below the requested fps); each is
    written as many times as keeps the file in real time at ``fps``, so the video lasts as long as the
    recording did. The file appears under its final name only when complete (written to a temporary
    name first).
    """

    def __init__(self, path: Path, seconds: float, fps: float) -> None:
        if seconds <= 0:
            raise CourseError(f"seconds={seconds}: record for a positive number of seconds (e.g. 10).")
        self.path, self.seconds, self.fps = Path(path), float(seconds), float(fps)
        self.tmp = self.path.with_name(self.path.stem + ".part.mp4")
        self.writer: cv2.VideoWriter | None = None
        self.t0: float | None = None
        self.written = 0
        self.received = 0
        self.done = False

    def add(self, frame: np.ndarray, now: float | None = None) -> bool:
        """Write one frame (BGR); return True when the recording is complete."""
        now = time.perf_counter() if now is None else now
        if self.done:
            return True
        if self.writer is None:
            h, w = frame.shape[:2]
            self.tmp.parent.mkdir(parents=True, exist_ok=True)
            self.tmp.touch()  # an existing file has a short ASCII name on Windows (paths.native)
            self.writer = cv2.VideoWriter(native(self.tmp), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (w, h))
            if not self.writer.isOpened():
                raise CourseError(f"OpenCV could not write {shown(self.tmp)}: check the disk space and permissions."
                                  + non_ascii_hint(self.tmp))
            self.t0 = now
        self.received += 1
        elapsed = now - self.t0
        due = min(int(elapsed * self.fps) + 1, int(round(self.seconds * self.fps)))
        while self.written < due:
            self.writer.write(frame)
            self.written += 1
        if elapsed >= self.seconds:
            self.finish()
        return self.done

    def finish(self) -> Path | None:
        """Close the file and move it to its final name (if at least one frame was written); return it."""
        if self.writer is not None:
            self.writer.release()
            self.writer = None
            if self.written:
                self.tmp.replace(self.path)
            self.done = True
        return self.path if self.done and self.written else None


def recording(name: str) -> tuple[Path | None, str]:
    """The finished browser recording of ``name`` and a message; (None, what to do) when there is none yet."""
    path = recording_path(name)
    if path.exists() and path.stat().st_size > 0:
        age = time.time() - path.stat().st_mtime
        when = f"{age:.0f} s ago" if age < 120 else time.strftime("%Y-%m-%d %H:%M", time.localtime(path.stat().st_mtime))
        return path, f"using your browser recording {shown(path)} (made {when})"
    return None, (f"no browser recording named {name!r} yet: press Start camera in the widget above, wait until it "
                  "says 'recorded', then run this cell again. Until then the sample video is used.")


def recording_or_sample(name: str) -> tuple[str, str]:
    """Notebook 01's source for ``SOURCE = "browser"``: ``(path, message)`` like ``capture.prepare_source``.

    The browser recording of ``name`` when there is one, else the sample video, with a message saying
    how to record (Run All does not wait for the Start button).
    """
    from .video import resolve
    path, message = recording(name)
    if path is not None:
        return str(path), message
    return str(resolve("sample")), message


BROWSER_TEST_RECORD = "browser_test_record.json"
"""Where ``python course.py browser-test --record`` keeps its browser-camera figures, inside ``helpers/``."""


def last_browser_test() -> dict | None:
    """The browser-camera figures of the last recorded ``python course.py browser-test --record`` run
    (``helpers/browser_test_record.json``), or None."""
    from .storage import shipped_record
    return shipped_record(BROWSER_TEST_RECORD)


def browser_test_summary(record: dict | None) -> str:
    """The record of :func:`last_browser_test` in two lines for notebook 06 (or what to run when there is none)."""
    if not record:
        return "no browser-test record: run `python course.py browser-test --record` to measure this path."
    two, one = record["two_in_flight"], record.get("one_in_flight")
    load = "" if record.get("load_average_1min") is None else f", load {record['load_average_1min']:.1f}"
    text = (f"last browser-test ({record['date']}, {record['cpu_count']} CPUs{load}; headless Chromium, the sample video "
            f"as its camera, 640x360): {two['fps']:.1f} fps through the kernel, {two['shown_fps']:.1f} fps shown, latency "
            f"{two['latency_ms_median']:.0f} ms median / {two['latency_ms_p95']:.0f} ms p95 (captured -> shown), kernel "
            f"{two['kernel_ms']:.1f} ms per frame, {two['max_in_flight']} frames in flight")
    if one:
        text += (f"\n... with 1 frame in flight: {one['fps']:.1f} fps, latency {one['latency_ms_median']:.0f} ms median / "
                 f"{one['latency_ms_p95']:.0f} ms p95")
    if record.get("local_video_fps"):
        text += f"\nthe same pipeline on the sample file in the same kernel: {record['local_video_fps']:.0f} fps"
    return text
