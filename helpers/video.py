"""Frame sources: a video file, a webcam, or the built-in sample video.

``read_frames`` is the one way the course reads frames. It honours rotation metadata (phone
videos are often stored sideways with a "rotate" tag; the seed rotated every frame by hand),
can rotate by hand, resize and skip frames, and turns every way of failing into a
:class:`~helpers.errors.CourseError` that says what to do.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from .errors import CourseError

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
    """Turn ``"sample"``/``"other_person"`` into the fetched sample path, digit strings into webcam indices."""
    if isinstance(source, (int, np.integer)):
        return int(source)
    text = str(source)
    if text.isdigit():
        return int(text)
    if text in ("sample", "other_person", "no_face_video"):
        from .data import fetch
        return str(fetch(text))
    return text


def open_capture(source: Source) -> tuple[cv2.VideoCapture, str | int]:
    """Open a source with OpenCV, checking every way it can fail. Returns ``(capture, resolved_source)``."""
    src = resolve(source)
    if isinstance(src, int):
        cap = cv2.VideoCapture(src)
        if not cap.isOpened():
            cap.release()
            raise CourseError(f"no webcam could be opened at index {src}. Plug one in, try another index, "
                              "or set SOURCE = 'sample' to use the built-in sample video.")
        return cap, src
    path = Path(src)
    if not path.exists():
        raise CourseError(f"video file not found: {path}. Check the path in the parameters cell, "
                          "or set SOURCE = 'sample' to use the built-in sample video.")
    if path.is_dir():
        raise CourseError(f"{path} is a folder, not a video file. Give the path of a video file (.mp4, .mov, .avi).")
    if path.stat().st_size == 0:
        raise CourseError(f"video file {path} is empty (0 bytes): the copy or recording was interrupted. "
                          "Copy or record it again.")
    cap = cv2.VideoCapture(str(path))
    if cap.isOpened():
        cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)  # apply the file's rotation tag while decoding
    if not cap.isOpened() or not cap.grab():
        cap.release()
        raise CourseError(f"{path} could not be decoded as a video (not a video, or corrupt/truncated). "
                          "Open it in a video player to check it; re-export it as .mp4 (H.264) if needed.")
    cap.release()  # we grabbed one frame to test; reopen at the start
    cap = cv2.VideoCapture(str(path))
    cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
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


def read_frames(source: Source, *, step: int = 1, max_frames: int | None = None, rotate: int = 0,
                scale: float | None = None, max_side: int | None = None, start: int = 0) -> Iterator[Frame]:
    """Yield :class:`Frame`s from a video file, a webcam index or ``"sample"``.

    step: keep every ``step``-th frame; max_frames: stop after this many kept frames (a webcam never
    ends on its own, so give one); rotate: extra clockwise rotation in degrees, applied after the
    file's own rotation tag (use it for phone videos without the tag); scale / max_side: resize.
    Timestamps are seconds from the start (frame index / fps for files, wall clock for webcams).
    The capture is released when the loop ends, breaks or fails.
    """
    if step < 1:
        raise CourseError(f"step must be 1 or more, not {step}.")
    cap, src = open_capture(source)
    is_camera = isinstance(src, int)
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    t0 = time.monotonic()
    kept = 0
    index = 0
    try:
        if start and not is_camera:
            cap.set(cv2.CAP_PROP_POS_FRAMES, start)
            index = start
        while max_frames is None or kept < max_frames:
            if (index - start) % step:
                if not cap.grab():
                    break
                index += 1
                continue
            ok, image = cap.read()
            if not ok or image is None:
                if is_camera:
                    raise CourseError(f"the webcam at index {src} stopped delivering frames. "
                                      "Check that no other program uses it, or set SOURCE = 'sample'.")
                break
            image = rotate_image(image, rotate)
            image = resize_image(image, scale, max_side)
            stamp = time.monotonic() - t0 if is_camera else index / fps
            yield Frame(index, float(stamp), image)
            kept += 1
            index += 1
    finally:
        cap.release()


def open_with_fallback(source: Source) -> tuple[str | int, str]:
    """Check that ``source`` opens; if it is a webcam that cannot be opened, fall back to the sample video.

    Returns ``(resolved_source, message)``; the message says what is used (and why, after a fallback).
    Errors about files are not hidden: a wrong path is a mistake to fix, not to paper over.
    """
    try:
        cap, src = open_capture(source)
        cap.release()
        return src, f"using {'webcam ' + str(src) if isinstance(src, int) else Path(src).name}"
    except CourseError as exc:
        if not isinstance(resolve(source), int):
            raise
        src = resolve("sample")
        return src, f"{exc} -> falling back to the sample video {Path(src).name}."


def record_webcam(index: int, path: str | Path, seconds: float = 10.0, fps: float = 15.0) -> Path:
    """Record ``seconds`` of webcam video to ``path`` (mp4), atomically; return the path.

    Recording first and then reading the file makes a webcam run reproducible like a video.
    """
    from .storage import atomic_path
    path = Path(path)
    frames = read_frames(index, max_frames=int(seconds * fps))
    first = next(frames)
    h, w = first.image.shape[:2]
    with atomic_path(path, ".mp4") as tmp:
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
        try:
            writer.write(first.image)
            for frame in frames:
                writer.write(frame.image)
        finally:
            writer.release()
    return path


def write_video(path: str | Path, images: "Iterator[np.ndarray] | list[np.ndarray]", fps: float = 24.0) -> int:
    """Write BGR images to an .mp4 atomically; return the number of frames written."""
    from .storage import atomic_path
    path = Path(path)
    count = 0
    writer = None
    with atomic_path(path, path.suffix or ".mp4") as tmp:
        try:
            for image in images:
                if writer is None:
                    h, w = image.shape[:2]
                    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
                writer.write(np.ascontiguousarray(image))
                count += 1
        finally:
            if writer is not None:
                writer.release()
    return count
