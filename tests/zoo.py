"""A zoo of learner recordings, built in the tests from the sample files the course ships.

Each case is a short video made deterministically with OpenCV (fixed numpy seeds) from the verified
samples (``helpers.data.fetch``): the main sample (one woman, 640x360, 24 fps), the second sample
video (another person), the clip without a face. They play what learners hand notebook 01: a face that
comes late or leaves, a portrait phone clip with and without its rotation tag, a second person in view,
a dark noisy room, a hand over the face, a clip too short, a 1080p 60 fps phone clip, an MJPG webcam
``.avi`` and a clip with no face at all.

``build(name)`` returns the case's file, built once and cached in ``build/zoo/`` (``$COURSE_ZOO_DIR``
to put it elsewhere). Beside each file a JSON sidecar records the builder version (``ZOO_VERSION`` and
a hash of the case's builder code): a changed builder rebuilds its case. ``python tests/zoo.py``
builds every case and prints a table.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

if __package__ in (None, "") and str(Path(__file__).resolve().parents[1]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python tests/zoo.py` from the project root

from helpers import data  # noqa: E402
from helpers.paths import ROOT  # noqa: E402
from helpers.storage import atomic_path  # noqa: E402
from helpers.video import read_frames, rotate_image, tag_rotation, write_video  # noqa: E402

ZOO_VERSION = 1
"""Bump to rebuild every case (a case's own builder code is hashed into its version as well)."""
FPS = 24.0
"""Frame rate of most cases (the main sample's ~23.976 fps, rounded)."""
OTHER_FPS = 30.0
"""Frame rate of the second sample video (72 frames, 640x360)."""
SIZE = (640, 360)
"""(width, height) of most cases: the main sample's."""


@dataclass(frozen=True)
class Case:
    """One learner recording: what it is, the ROTATE a learner must set for it, and what the course should make of it.

    expect: ``"personal"`` (seconds of one face, with frames after 03's time split: notebooks 01-04 and 06
    run through), ``"too_few"`` (a face, but too little of it for a personal model: the chain stops with a
    CourseError by notebook 03) or ``"no_face"`` (no face at all: 01 or 02 stops with a CourseError).
    """

    name: str
    description: str
    rotate: int = 0
    expect: str = "personal"
    suffix: str = ".mp4"


def zoo_dir() -> Path:
    """Where the built cases live: ``$COURSE_ZOO_DIR``, else ``<project>/build/zoo`` (gitignored)."""
    return Path(os.environ.get("COURSE_ZOO_DIR", ROOT / "build" / "zoo"))


# --- frame sources -----------------------------------------------------------------------------------------

def _frames(sample: str, start: int = 0, count: int | None = None) -> list[np.ndarray]:
    """``count`` consecutive frames of a sample video from frame ``start`` (BGR images)."""
    return [f.image for f in read_frames(data.fetch(sample), start=start, max_frames=count)]


def _no_face(count: int, size: tuple[int, int] = SIZE, start: int = 0) -> list[np.ndarray]:
    """``count`` frames of the clip without a face (98 frames, 960x540), resized; it plays back and forth to fill."""
    clip = [cv2.resize(img, size, interpolation=cv2.INTER_AREA) for img in _frames("no_face_video")]
    return [clip[i] for i in _ping_pong(len(clip), count, start)]


def _ping_pong(n: int, count: int, start: int = 0) -> list[int]:
    """``count`` indices into ``n`` frames played forwards, backwards, forwards ... from ``start`` (no jump cut)."""
    cycle = list(range(n)) + list(range(n - 2, 0, -1))
    return [cycle[(start + i) % len(cycle)] for i in range(count)]


def _crop_x(image: np.ndarray, centre: int, width: int) -> np.ndarray:
    """A full-height vertical band ``width`` wide centred on ``centre`` (shifted to stay inside the image)."""
    left = int(np.clip(centre - width // 2, 0, image.shape[1] - width))
    return image[:, left:left + width]


SAMPLE_FACE_X = 430
"""Horizontal centre of the woman's face in the main sample (dlib's boxes span x 296-600 over the video)."""
OTHER_FACE_X = 291
"""... and of the man's face in the second sample video (boxes at x 204-378)."""


# --- the builders: each returns (frames, fps) or writes its own file ---------------------------------------

def _late_face() -> tuple[list[np.ndarray], float]:
    # 1.2 s of a room, then the second sample's 72 frames (2.4 s at its 30 fps): a new person, as a learner is
    return _no_face(36) + _frames("other_person"), OTHER_FPS


def _face_leaves() -> tuple[list[np.ndarray], float]:
    return _frames("sample", 100, 96) + _no_face(36), FPS  # 4 s of the woman, then 1.5 s of a room


def _portrait() -> list[np.ndarray]:
    """A 360x640 portrait phone clip (upright): a 440 px band around the face, the rest of the height its own edge rows."""
    out = []
    for img in _frames("sample", 200, 120):
        band = cv2.resize(_crop_x(img, SAMPLE_FACE_X, 440), (360, 295), interpolation=cv2.INTER_AREA)
        top = (640 - band.shape[0]) // 2
        out.append(cv2.copyMakeBorder(band, top, 640 - band.shape[0] - top, 0, 0, cv2.BORDER_REPLICATE))
    return out


def _portrait_untagged() -> tuple[list[np.ndarray], float]:
    return [rotate_image(img, 270) for img in _portrait()], FPS  # stored sideways (640x360): ROTATE = 90 stands it up


def _portrait_tagged(path: Path) -> None:
    with atomic_path(path, ".mp4") as tmp:
        write_video(tmp, [rotate_image(img, 270) for img in _portrait()], fps=FPS)
        tag_rotation(tmp, tmp, 90)  # as a phone does: the pixels sideways, the track's display matrix says "turn 90"


def _two_people() -> tuple[list[np.ndarray], float]:
    """960x360: the woman on the left throughout; the man on the right from 1.5 s to 4 s, a room there otherwise."""
    woman = [_crop_x(img, SAMPLE_FACE_X, 480) for img in _frames("sample", 0, 144)]
    man = [_crop_x(img, OTHER_FACE_X, 480) for img in _frames("other_person", 0, 60)]
    room = [_crop_x(img, 320, 480) for img in _no_face(84)]
    right = room[:36] + man + room[36:]
    return [np.hstack([w, r]) for w, r in zip(woman, right)], FPS


def _dark_noisy() -> tuple[list[np.ndarray], float]:
    rng = np.random.default_rng(21)
    out = []
    for img in _frames("sample", 240, 120):
        dark = img.astype(np.float32) * 0.25 + rng.normal(0.0, 10.0, img.shape)
        out.append(np.clip(dark, 0, 255).astype(np.uint8))
    return out, FPS  # 5 s at a quarter of the light, with sensor-like noise (sigma 10 grey levels)


HAND_FRAMES = range(48, 72)
"""The frames of ``hand_over_face`` with the hand over the face (1 s)."""


def _hand(img: np.ndarray, box: tuple[int, int, int, int], rng: np.random.Generator) -> np.ndarray:
    """Paint a hand-like shape (palm, four fingers, thumb: filled ellipses in a skin colour, softly shaded)."""
    left, top, right, bottom = box
    w, h = right - left, bottom - top
    cx, cy = (left + right) // 2, top + int(0.58 * h)
    mask = np.zeros(img.shape[:2], np.uint8)
    cv2.ellipse(mask, (cx, cy), (int(0.42 * w), int(0.36 * h)), 0, 0, 360, 255, -1)  # palm over eyes, nose, mouth
    for k, angle in enumerate((-18, -6, 6, 18)):  # fingers, spread up over the forehead
        fx = cx + int((k - 1.5) * 0.2 * w)
        fy = cy - int(0.48 * h)
        cv2.ellipse(mask, (fx, fy), (int(0.09 * w), int(0.3 * h)), angle, 0, 360, 255, -1)
    cv2.ellipse(mask, (cx + int(0.42 * w), cy + int(0.1 * h)), (int(0.09 * w), int(0.25 * h)), -40, 0, 360, 255, -1)
    shade = cv2.GaussianBlur(rng.normal(0, 1, img.shape[:2]).astype(np.float32), (0, 0), 9) * 40
    skin = np.empty(img.shape, np.float32)
    skin[...] = (120, 150, 205)  # BGR: a light skin tone
    skin += shade[..., None]
    alpha = cv2.GaussianBlur(mask, (0, 0), 2).astype(np.float32)[..., None] / 255
    return np.clip(img * (1 - alpha) + skin * alpha, 0, 255).astype(np.uint8)


def _hand_over_face() -> tuple[list[np.ndarray], float]:
    from helpers.landmarks import detect_faces, to_gray
    rng = np.random.default_rng(7)
    frames = _frames("sample", 300, 120)
    box = None
    for i, img in enumerate(frames):
        if i in HAND_FRAMES:
            found = detect_faces(to_gray(img))
            box = max(found, key=lambda f: f[1])[0] if found else box  # follow the face; keep the last box if lost
            frames[i] = _hand(img, box, rng)
    return frames, FPS


def _two_seconds() -> tuple[list[np.ndarray], float]:
    return _frames("sample", 100, 48), FPS


HD_SIZE, HD_FPS, HD_FRAMES = (1920, 1080), 60.0, 1800


def _hd60(path: Path) -> None:
    """30 s of 1920x1080 at 60 fps: the sample's frames upscaled, played forwards and backwards to fill 1800 frames.

    Written frame by frame (1800 HD frames would take 11 GB in memory) with mp4v, OpenCV's one mp4 encoder here.
    """
    sample = _frames("sample")
    with atomic_path(path, ".mp4") as tmp:
        write_video(tmp, (cv2.resize(sample[i], HD_SIZE, interpolation=cv2.INTER_LINEAR)
                          for i in _ping_pong(len(sample), HD_FRAMES)), fps=HD_FPS)


def _webcam_mjpg(path: Path) -> None:
    """5 s of a 640x480 webcam at 15 fps stored as MJPG in an .avi (what OpenCV's webcam recorders write)."""
    sample = _frames("sample", 0, 120)
    step = FPS / 15
    with atomic_path(path, ".avi") as tmp:
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"MJPG"), 15, (640, 480))
        try:
            for i in range(75):
                img = _crop_x(sample[int(round(i * step))], SAMPLE_FACE_X, 480)  # 4:3 around the face
                writer.write(cv2.resize(img, (640, 480), interpolation=cv2.INTER_LINEAR))
        finally:
            writer.release()


def _glimpse() -> tuple[list[np.ndarray], float]:
    return _no_face(36) + _frames("sample", 150, 20) + _no_face(40), FPS  # 4 s of a room, the woman for 20 frames


def _no_face_case() -> tuple[list[np.ndarray], float]:
    return _no_face(98), FPS


CASES: dict[str, Case] = {c.name: c for c in [
    Case("late_face", "1.2 s of a room without anyone, then 2.4 s of the man of the second sample (a person the "
         "generic landmark model never saw) facing the camera; 30 fps"),
    Case("face_leaves", "4 s of the woman, then 1.5 s of the room after she has left"),
    Case("portrait_tagged", "5 s portrait phone clip (360x640) stored sideways (640x360 pixels) with rotation tag 90"),
    Case("portrait_untagged", "the same sideways pixels without a rotation tag: ROTATE = 90 stands them up", rotate=90),
    Case("two_people", "960x360, the woman throughout; a second person beside her from 1.5 s to 4 s (6 s)"),
    Case("dark_noisy", "5 s of the woman at a quarter of the light with Gaussian noise (sigma 10, seed 21)"),
    Case("hand_over_face", "5 s of the woman; for 1 s (frames 48-71) a painted hand-like shape (skin-coloured "
                           "ellipses, not a real hand) covers her eyes, nose and mouth"),
    Case("two_seconds", "a 2 s clip of the woman (48 frames): just enough for a personal model"),
    Case("glimpse", "4 s of a room in which the woman shows up for 20 frames (0.8 s): too few for a personal model",
         expect="too_few"),
    Case("hd60", "30 s of 1920x1080 at 60 fps (the sample upscaled, played back and forth): a modern phone's clip"),
    Case("webcam_mjpg", "5 s of a 640x480 webcam at 15 fps, MJPG in an .avi", suffix=".avi"),
    Case("no_face", "4 s of a room with no face at all", expect="no_face"),
]}
"""Every case of the zoo, by name."""

BUILDERS: dict[str, Callable] = {
    "late_face": _late_face, "face_leaves": _face_leaves, "portrait_tagged": _portrait_tagged,
    "portrait_untagged": _portrait_untagged, "two_people": _two_people, "dark_noisy": _dark_noisy,
    "hand_over_face": _hand_over_face, "two_seconds": _two_seconds, "glimpse": _glimpse,
    "hd60": _hd60, "webcam_mjpg": _webcam_mjpg,
    "no_face": _no_face_case,
}
_SHARED = (_frames, _no_face, _ping_pong, _crop_x, _portrait, _hand)


def labelled_folder(folder: Path, sample: str, *, step: int, max_frames: int, split_at: int | None = None,
                    label_in_found_box: bool = False) -> int:
    """A learner's annotated folder for notebook 04's ``LANDMARK_DATA``, in 300-W's layout: every ``step``-th frame of
    ``sample`` (up to ``max_frames``) in which dlib finds one face, as ``frame_NNN.png`` with a 68-point
    ``frame_NNN.pts`` beside it. Returns how many faces were written.

    ``split_at``: frames before it go to sub-folder ``a``, the others to ``b`` (300-W has sub-folders).
    ``label_in_found_box``: the points are dlib's predictor in the box the course's reader will find for them
    (:func:`helpers.annotated.find_box`), so that reading the folder back must give the labels again; otherwise they
    are what :func:`helpers.landmarks.detect_landmarks` found.
    """
    from helpers import annotated
    from helpers.landmarks import detect_landmarks, predict_points, to_gray
    written = 0
    for frame in read_frames(data.fetch(sample), step=step, max_frames=max_frames):
        faces = detect_landmarks(frame.image)
        if len(faces) != 1:
            continue
        sub = folder if split_at is None else folder / ("a" if frame.index < split_at else "b")
        sub.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(sub / f"frame_{frame.index:03d}.png"), frame.image)
        points = faces[0].points
        if label_in_found_box:
            gray = to_gray(frame.image)
            points = predict_points(gray, annotated.find_box(gray, points)[0])
        annotated.write_pts(sub / f"frame_{frame.index:03d}.pts", points)
        written += 1
    return written


def builder_version(name: str) -> str:
    """``ZOO_VERSION`` and a hash of the code that builds case ``name`` (its builder and the shared helpers)."""
    code = "".join(inspect.getsource(f) for f in (BUILDERS[name], *_SHARED))
    code += repr((CASES[name], FPS, OTHER_FPS, SIZE, SAMPLE_FACE_X, OTHER_FACE_X, HAND_FRAMES, HD_SIZE, HD_FPS, HD_FRAMES))
    return f"{ZOO_VERSION}-{hashlib.sha256(code.encode()).hexdigest()[:12]}"


def path_of(name: str) -> Path:
    """Where case ``name``'s file lives (built or not)."""
    return zoo_dir() / f"{name}{CASES[name].suffix}"


def sidecar(name: str) -> dict | None:
    """The JSON beside case ``name``'s file (builder version, frames, fps, size, build seconds), or None."""
    side = path_of(name).with_suffix(".json")
    try:
        return json.loads(side.read_text())
    except (OSError, ValueError):
        return None


def build(name: str) -> Path:
    """Case ``name``'s video file, built now unless the cached one was made by the same builder version."""
    if name not in CASES:
        raise KeyError(f"unknown zoo case {name!r}; the cases are {sorted(CASES)}")
    path, version = path_of(name), builder_version(name)
    side = sidecar(name)
    if path.is_file() and side is not None and side.get("builder") == version and path.stat().st_size == side.get("bytes"):
        return path
    t0 = time.perf_counter()
    made = BUILDERS[name]
    if len(inspect.signature(made).parameters) == 1:  # writes its own file
        made(path)
    else:
        frames, fps = made()
        with atomic_path(path, path.suffix) as tmp:
            write_video(tmp, frames, fps=fps)
    from helpers.video import video_info
    info = video_info(path)
    record = {"case": name, "builder": version, "description": CASES[name].description,
              "build_seconds": round(time.perf_counter() - t0, 2), "bytes": path.stat().st_size,
              **{k: info[k] for k in ("frames", "fps", "width", "height", "rotation_tag")}}
    with atomic_path(path.with_suffix(".json"), ".json") as tmp:
        tmp.write_text(json.dumps(record, indent=1))
    return path


def build_all(names: "Iterator[str] | None" = None) -> dict[str, Path]:
    """Build (or find cached) every case, or those named; return name -> path."""
    return {name: build(name) for name in (names or CASES)}


if __name__ == "__main__":
    for case, p in build_all(sys.argv[1:] or None).items():
        s = sidecar(case)
        print(f"{case:18} {s['width']}x{s['height']} {s['fps']:5.1f} fps {s['frames']:5d} frames "
              f"tag {s['rotation_tag']:3d} {s['bytes'] / 1e6:6.2f} MB built in {s['build_seconds']:5.1f} s  {p}")
