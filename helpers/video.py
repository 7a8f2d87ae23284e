"""Frame sources: a video file, a webcam, or the built-in sample video.

``read_frames`` is the one way the course reads frames. It honours rotation metadata (phone
videos are often stored sideways with a "rotate" tag; the seed rotated every frame by hand),
can rotate by hand, resize and skip frames, and turns every way of failing into a
:class:`~helpers.errors.CourseError` that says what to do.
"""
from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from .errors import CourseError
from .paths import native, non_ascii_hint

Source = str | int | Path
"""A video file path, a webcam index (0, 1, ...) or the string ``"sample"``."""

_ROTATIONS = {0: None, 90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


@dataclass
class Frame:
    """One frame: its index in the source, its time in seconds, and the BGR image (H, W, 3) uint8."""

    index: int
    timestamp: float
    image: np.ndarray


def resolve(source: Source) -> str | int:
    """``"sample"``/``"other_person"`` -> the fetched sample's path, a digit string -> a webcam index, ``~`` -> home."""
    if isinstance(source, bool):
        raise CourseError(f"SOURCE = {source} is neither a path nor a webcam index. Use 'sample', a file path or 0.")
    if isinstance(source, (int, np.integer)):
        if source < 0:
            raise CourseError(f"webcam index must be 0 or more, not {source}.")
        return int(source)
    text = str(source)
    if text.isdigit():
        return int(text)
    if text in ("sample", "other_person", "no_face_video"):
        from .data import fetch
        return str(fetch(text))
    return os.path.expanduser(text)  # "~/clip.mov", as a learner writes it


CAMERA_HINTS = ("On a remote or hosted JupyterLab the kernel's machine has no camera: set SOURCE = 'browser' to use "
                "your browser's camera (notebook 06, section 7b). On macOS, allow camera access for the app that runs "
                "Jupyter (System Settings > Privacy & Security > Camera), then restart it.")
"""What to try when a webcam cannot be used: said in every webcam error."""
FIRST_FRAME_S = 5.0
"""How long a webcam that opened may take to send its first picture (some Windows and macOS cameras take seconds)."""


def _first_frame(cap: cv2.VideoCapture) -> bool:
    """Whether an opened webcam sends a picture within :data:`FIRST_FRAME_S` (dropped: a live stream loses nothing)."""
    deadline = time.monotonic() + FIRST_FRAME_S
    while not cap.grab():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def open_capture(source: Source, decode_threads: int | None = None) -> tuple[cv2.VideoCapture, str | int]:
    """Open a source with OpenCV, checking every way it can fail. Returns ``(capture, resolved_source)``.

    ``decode_threads``: for a file, ask FFmpeg's decoder for that many threads (default: its own choice, one per
    core); if this OpenCV cannot (another backend), the file is opened as usual."""
    src = resolve(source)
    if isinstance(src, int):
        cap = cv2.VideoCapture(src)
        if not cap.isOpened():
            cap.release()
            raise CourseError(f"no webcam could be opened at index {src}. Plug one in, try another index, "
                              f"or set SOURCE = 'sample' to use the built-in sample video. {CAMERA_HINTS}")
        if not _first_frame(cap):
            cap.release()
            raise CourseError(f"the webcam at index {src} opened but sent no picture within {FIRST_FRAME_S:.0f} s: "
                              f"another program may be using it (close it), or it waits for permission. {CAMERA_HINTS}")
        return cap, src
    path = Path(src)
    if not path.exists():
        where = "" if path.is_absolute() else f" (a relative path starts in the folder this runs in: {path.resolve()})"
        raise CourseError(f"video file not found: {path}{where}. Check the path in the parameters cell, "
                          "or set SOURCE = 'sample' to use the built-in sample video.")
    if path.is_dir():
        raise CourseError(f"{path} is a folder, not a video file. Give the path of a video file (.mp4, .mov, .avi).")
    if path.stat().st_size == 0:
        raise CourseError(f"video file {path} is empty (0 bytes): the copy or recording was interrupted. "
                          "Copy or record it again.")
    cap = None
    if decode_threads:  # FFmpeg's complaint about a bad file is printed once, by the plain open below
        with quiet_opencv(), quiet_native_stderr():
            cap = cv2.VideoCapture(native(path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, int(decode_threads)])
    if cap is None or not cap.isOpened():
        cap = cv2.VideoCapture(native(path))
    if cap.isOpened():
        cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)  # apply the file's rotation tag while decoding
    if not cap.isOpened() or not cap.grab():
        cap.release()
        raise CourseError(f"{path} could not be decoded as a video (not a video, or corrupt/truncated). "
                          "Open it in a video player to check it; re-export it as .mp4 (H.264) if needed."
                          + non_ascii_hint(path))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 0)  # we grabbed one frame to test the file; rewind to the start
    return cap, str(path)


def video_info(source: Source) -> dict:
    """Frame count, fps, width, height and rotation tag of a video file (width/height after rotation)."""
    cap, src = open_capture(source)
    try:
        return {
            "source": str(src),
            "frames": int(cap.get(cv2.CAP_PROP_FRAME_COUNT)),
            "fps": float(cap.get(cv2.CAP_PROP_FPS)),
            "width": int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            "height": int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            "rotation_tag": int(cap.get(cv2.CAP_PROP_ORIENTATION_META)),
        }
    finally:
        cap.release()


def resize_image(image: np.ndarray, scale: float | None = None, max_side: int | None = None) -> np.ndarray:
    """Resize by ``scale`` and/or so that the longer side is at most ``max_side`` pixels (never enlarges for max_side)."""
    factor = 1.0 if scale is None else float(scale)
    if max_side is not None:
        factor = min(factor, max_side / max(image.shape[:2]))
    if abs(factor - 1.0) < 1e-9:
        return image
    h, w = image.shape[:2]
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR)


def rotate_image(image: np.ndarray, degrees: int) -> np.ndarray:
    """Rotate clockwise by 0, 90, 180 or 270 degrees."""
    if degrees % 360 not in _ROTATIONS:
        raise CourseError(f"rotation must be 0, 90, 180 or 270 degrees, not {degrees}.")
    code = _ROTATIONS[degrees % 360]
    return image if code is None else cv2.rotate(image, code)


SEEK_BACK_S = 1.0
"""A seek by time goes this many seconds before the wanted frame, then decodes forward to it."""


def _skip_to(cap: cv2.VideoCapture, start: int, start_time: float | None) -> bool:
    """Move a file's capture on to frame ``start``; True if that frame is then grabbed but not yet retrieved.

    OpenCV seeks by frame number through the average frame rate, which lands on another frame in a
    variable-frame-rate clip (most phone recordings). So: with ``start_time`` (the frame's timestamp as
    :func:`read_frames` gave it) seek to a second before it and grab on until the decoder's time reaches
    it; without (or if that fails), grab ``start`` frames from the beginning (exact for any file; slower for a
    late frame).
    """
    if start_time is not None:
        cap.set(cv2.CAP_PROP_POS_MSEC, max(0.0, start_time - SEEK_BACK_S) * 1000)
        first = True
        while cap.grab():
            t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000
            if t >= start_time - 1e-3:
                # the seek's first frame is already later than the one asked for, and frames before it exist
                landed_past = first and t > start_time + 1e-3 and start_time > SEEK_BACK_S
                if not landed_past:
                    return True
                break
            first = False
        cap.set(cv2.CAP_PROP_POS_FRAMES, 0)  # landed past the frame, or the clip's times never reach it: count
    for _ in range(start):
        if not cap.grab():
            break
    return False


def read_frames(source: Source, *, step: int = 1, max_frames: int | None = None, rotate: int = 0,
                scale: float | None = None, max_side: int | None = None, start: int = 0,
                start_time: float | None = None) -> Iterator[Frame]:
    """Yield :class:`Frame`s from a video file, a webcam index or ``"sample"``.

    step: keep every ``step``-th frame; max_frames: stop after this many kept frames (a webcam never
    ends on its own, so give one); rotate: extra clockwise rotation in degrees, applied after the
    file's own rotation tag (use it for phone videos without the tag); scale / max_side: resize.
    start: the first frame's index; start_time: its timestamp, if known (a landmark set's ``timestamp``),
    which makes getting there fast; without it the frames before it are decoded (:func:`_skip_to`).
    Timestamps are seconds from the start (the decoder's presentation time for files, wall clock for webcams).
    The capture is released when the loop ends, breaks or fails.
    """
    if step < 1:
        raise CourseError(f"step must be 1 or more, not {step}.")
    if start < 0:
        raise CourseError(f"start must be 0 or more, not {start}.")
    cap, src = open_capture(source)
    is_camera = isinstance(src, int)
    if is_camera and start:
        cap.release()
        raise CourseError("a webcam cannot start at a later frame; record it to a file first (record_webcam).")
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    t0 = time.monotonic()
    kept = 0
    index = 0
    pending = False  # a frame grabbed by _skip_to, still to be retrieved
    try:
        if start and not is_camera:
            pending = _skip_to(cap, start, start_time)
            index = start
        while max_frames is None or kept < max_frames:
            if (index - start) % step:
                if not cap.grab():
                    break
                index += 1
                continue
            ok, image = cap.retrieve() if pending else cap.read()
            pending = False
            if not ok or image is None:
                if is_camera:
                    raise CourseError(f"the webcam at index {src} stopped delivering frames. "
                                      "Check that no other program uses it, or set SOURCE = 'sample'.")
                break
            image = rotate_image(image, rotate)
            image = resize_image(image, scale, max_side)
            # files: the decoder's presentation time (right for variable frame rate phone videos too)
            stamp = time.monotonic() - t0 if is_camera else (cap.get(cv2.CAP_PROP_POS_MSEC) / 1000 or index / fps)
            yield Frame(index, float(stamp), image)
            kept += 1
            index += 1
    finally:
        cap.release()


class quiet_opencv:
    """Context manager: silence OpenCV's own log (probing a missing webcam prints a page of warnings)."""

    def __enter__(self) -> None:
        self._level = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)

    def __exit__(self, *exc: object) -> None:
        cv2.utils.logging.setLogLevel(self._level)


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Send what native code writes to the process's stderr (file descriptor 2) to /dev/null for the block.

    C and C++ libraries print past Python's ``sys.stderr`` and logging: FFmpeg's complaint about a bad file,
    TensorFlow Lite's "Created TensorFlow Lite XNNPACK delegate" line (a pink box in a notebook). Without a file
    descriptor 2 (some hosted kernels) the block runs as usual.
    """
    saved = None
    try:
        sys.stderr.flush()
        saved = os.dup(2)
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
    except (OSError, ValueError, AttributeError):
        if saved is not None:
            os.close(saved)
        saved = None
    try:
        yield
    finally:
        if saved is not None:
            os.dup2(saved, 2)
            os.close(saved)


def open_capture_with_fallback(source: Source, decode_threads: int | None = None
                               ) -> tuple[cv2.VideoCapture, str | int, str]:
    """Open ``source`` (``decode_threads``: see :func:`open_capture`); a webcam that cannot be opened falls back to the
    sample video.

    Returns ``(open capture, resolved_source, message)``; the message says what is used (and why,
    after a fallback). Errors about files are not hidden: a wrong path is a mistake to fix.
    """
    try:
        with quiet_opencv():  # our own message says what went wrong
            cap, src = open_capture(source, decode_threads)
        return cap, src, f"using {'webcam ' + str(src) if isinstance(src, int) else Path(src).name}"
    except CourseError as exc:
        if not isinstance(resolve(source), int):
            raise
        cap, src = open_capture("sample", decode_threads)
        return cap, src, f"{exc} -> falling back to the sample video {Path(src).name}."


def open_with_fallback(source: Source) -> tuple[str | int, str]:
    """Like :func:`open_capture_with_fallback`, but only checks: returns ``(resolved_source, message)``."""
    cap, src, message = open_capture_with_fallback(source)
    cap.release()
    return src, message


def _rate(stamps: list[float], fallback: float = 30.0) -> float:
    """Frames per second of frames that arrived at ``stamps`` (s); ``fallback`` for fewer than two."""
    span = stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0
    return (len(stamps) - 1) / span if span > 0 else fallback


def record_webcam(index: int, path: str | Path, seconds: float = 10.0, *, probe_seconds: float = 1.0) -> Path:
    """Record ``seconds`` of webcam video to ``path`` (mp4), atomically; return the path.

    The clock starts at the camera's first frame (opening a camera can take seconds). Frames go to the file as they
    come, so memory stays flat however long the recording: only the first ``probe_seconds`` are held, to measure
    the rate the camera delivers, which becomes the file's frame rate, so the clip plays at real speed. If the
    whole recording's rate differs from it by more than 5 %, the file is written again at that rate.
    Recording first and then reading the file makes a webcam run reproducible like a video.
    """
    from contextlib import closing
    stamps: list[float] = []

    def frames() -> Iterator[np.ndarray]:
        with closing(read_frames(index)) as source:
            for frame in source:
                now = time.monotonic()
                if stamps and now - stamps[0] >= seconds:
                    break
                stamps.append(now)
                yield frame.image
        if not stamps:
            raise CourseError(f"the webcam at index {index} delivered no frames. Set SOURCE = 'sample'.")

    stream = frames()
    head = []
    for image in stream:  # the first probe_seconds: their rate is the file's
        head.append(image)
        if stamps[-1] - stamps[0] >= min(probe_seconds, seconds):
            break
    rate = _rate(stamps)
    write_video(path, _chain(head, stream), fps=rate)
    final = _rate(stamps, rate)
    if abs(final / rate - 1) > 0.05:  # the camera slowed down or sped up after the first second: re-time the file
        write_video(path, (f.image for f in read_frames(path)), fps=final)
    return Path(path)


def _chain(head: list[np.ndarray], rest: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    """The frames held in ``head`` (released as they are written), then the rest."""
    while head:
        yield head.pop(0)
    yield from rest


def decode_file(path: str | Path, flags: int = cv2.IMREAD_UNCHANGED) -> np.ndarray | None:
    """``cv2.imread`` that also opens paths with non-ASCII characters on Windows (which ``cv2.imread`` cannot): the
    bytes are read with NumPy and decoded with ``cv2.imdecode``. None, as ``cv2.imread``, when it cannot."""
    try:
        data = np.fromfile(str(path), np.uint8)
    except OSError:
        return None
    return cv2.imdecode(data, flags) if data.size else None


def read_image(path: str | Path) -> np.ndarray:
    """A still photo as uint8 BGR (H, W, 3), whatever it is stored as: grey, BGR, or BGRA (alpha composited on white)."""
    img = decode_file(path)
    if img is None:
        raise CourseError(f"OpenCV cannot read {path} as an image (missing, broken, or a format it does not read). "
                          "A course sample: run `python -m helpers.data` to fetch it again.")
    if img.dtype != np.uint8:  # 16-bit PNGs: keep the top 8 bits
        img = (img >> 8).astype(np.uint8) if img.dtype == np.uint16 else np.clip(img, 0, 255).astype(np.uint8)
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.shape[2] == 4:  # transparent pixels become white, as a viewer shows them
        alpha = img[..., 3:].astype(np.float32) / 255.0
        return np.round(img[..., :3] * alpha + 255.0 * (1 - alpha)).astype(np.uint8)
    return img


def write_video(path: str | Path, images: "Iterator[np.ndarray] | list[np.ndarray]", fps: float = 24.0) -> int:
    """Write BGR images to an .mp4 atomically; return the number of frames written."""
    from .storage import atomic_path
    path = Path(path)
    count, writer = 0, None
    with atomic_path(path, path.suffix or ".mp4") as tmp:
        try:
            for image in images:
                if writer is None:
                    h, w = image.shape[:2]
                    writer = cv2.VideoWriter(native(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
                    if not writer.isOpened():
                        raise CourseError(non_ascii_hint(tmp).strip() or
                                          f"OpenCV cannot write {path.suffix or 'mp4'} video here (no mp4v encoder). "
                                          "Write to a .avi file instead, or reinstall opencv-python.")
                writer.write(np.ascontiguousarray(image))
                count += 1
        finally:
            if writer is not None:
                writer.release()
        if not count:  # before the rename: a file already there stays as it was
            raise CourseError(f"no frames to write to {path.name}: nothing was saved (a file already there is kept).")
    return count


def tag_rotation(src: str | Path, dst: str | Path, degrees: int) -> Path:
    """Copy an .mp4 and set the rotation tag of its video track (0/90/180/270, clockwise), as a phone does.

    Only the 3x3 display matrix in the track header (``moov/trak/tkhd``) changes; no pixel is touched.
    Used to show, and test, that :func:`read_frames` honours the tag.
    """
    import struct
    matrices = {0: (1, 0, 0, 1), 90: (0, 1, -1, 0), 180: (-1, 0, 0, -1), 270: (0, -1, 1, 0)}
    if degrees % 360 not in matrices:
        raise CourseError(f"rotation must be 0, 90, 180 or 270 degrees, not {degrees}.")
    a, b, c, d = matrices[degrees % 360]
    data = bytearray(Path(src).read_bytes())
    found = 0

    def walk(start: int, end: int) -> None:
        nonlocal found
        pos = start
        while pos + 8 <= end:
            size, kind = struct.unpack(">I4s", data[pos:pos + 8])
            header = 8
            if size == 1:
                size, header = struct.unpack(">Q", data[pos + 8:pos + 16])[0], 16
            elif size == 0:
                size = end - pos
            if size < header:
                break
            if kind in (b"moov", b"trak"):
                walk(pos + header, pos + size)
            elif kind == b"tkhd":
                body = pos + header
                version = data[body]
                matrix_at = body + (4 + (32 if version == 1 else 20) + 8 + 8)
                width, height = struct.unpack(">II", data[matrix_at + 36:matrix_at + 44])
                if width and height:  # the video track (audio tracks have no size)
                    fixed = [a << 16, b << 16, 0, c << 16, d << 16, 0, 0, 0, 1 << 30]
                    data[matrix_at:matrix_at + 36] = struct.pack(">9i", *fixed)
                    found += 1
            pos += size

    walk(0, len(data))
    if not found:
        raise CourseError(f"{src} has no video track header (tkhd) to tag: is it an .mp4/.mov file?")
    from .storage import atomic_path
    with atomic_path(dst, ".mp4") as tmp:
        tmp.write_bytes(bytes(data))
    return Path(dst)
