"""Notebook 01: scan a frame source, count faces per frame, and decide which frames make the dataset.

The original project saved every frame, also the ones where dlib found no face (empty entries). Here a frame
is kept only if exactly one face is found; the others are counted and listed, not stored as data.
The result is a small JSON *manifest* (which frames of which video, read with which settings), so
notebook 02 can re-read exactly those frames.
"""
from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from . import artifacts
from .artifacts import Recipe
from .data import sha256_of
from .errors import CourseError
from .landmarks import detect_faces, to_gray
from .paths import shown, work_dir
from .recording import frame_reasons, report
from .storage import load_json, save_json
from .video import Source, read_frames, resolve, video_info


FORMAT = 2  # 2: face_side and brightness per frame; a face too small is not kept
"""Version of the saved manifests."""
SETTINGS = {"step": 1, "max_frames": None, "rotate": 0, "max_side": 640, "detect_max_side": 640}
"""The read settings of :func:`scan_source` and their defaults: a manifest's recipe parameters."""
SAMPLE_SOURCES = ("sample", "other_person")
"""Names whose source is a sample video of the course (they need no notebook 01 run)."""


_RESERVED = ("stills", "demo")  # record-set names the course itself uses


def check_name(name: str) -> str:
    """Return ``name`` if it can name files (letters, digits, ``_``, ``-``); CourseError otherwise."""
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", name):
        raise CourseError(f"NAME = {name!r} cannot name files: use letters, digits, '_' or '-' (for example NAME = 'me').")
    if name in _RESERVED:
        raise CourseError(f"NAME = {name!r} is used by the course itself; pick another, e.g. NAME = 'me'.")
    return name


def check_recording(name: str, parameter: str = "NAME") -> None:
    """CourseError naming notebook 01's settings if ``name`` (the notebook's ``parameter``) has no recording (sample
    names always have one)."""
    check_name(name)
    if name in SAMPLE_SOURCES or manifest_path(name).exists():
        return
    raise CourseError(f"no recording for {parameter} = {name!r} ({shown(manifest_path(name))} is missing). Run notebook 01 "
                      f"first with NAME = {name!r} and SOURCE = 0 (your webcam) or SOURCE = 'path/to/your_video.mp4' "
                      f"(or `papermill 01_capture.ipynb out.ipynb -p SOURCE my_video.mp4 -p NAME {name}`), "
                      "or use NAME = 'sample'.")


def manifest_path(name: str) -> Path:
    """Where the manifest of source ``name`` is stored (``data/work/01_capture/<name>.json``)."""
    return work_dir("01_capture") / f"{name}.json"


def scan_source(source: Source, *, step: int = 1, max_frames: int | None = None, rotate: int = 0,
                max_side: int | None = 640, detect_max_side: int = 640, progress: bool = True) -> dict[str, Any]:
    """Read frames and count faces in each; return a manifest dict.

    The manifest holds the read settings, the source's sha256, ``faces_per_frame`` and the detector's
    ``best_score`` (confidence of the best face, 0 if none), ``face_side`` (its height in px) and
    ``brightness`` (mean grey level) and ``time`` (seconds: the decoder's clock, right for a phone's
    variable frame rate) for every frame read, and ``kept`` (indices with exactly one face
    of at least :data:`~helpers.recording.MIN_FACE_SIDE` px), ``too_small``, ``no_face`` and
    ``several_faces``. :func:`helpers.recording.report` says what that means for the recording.
    """
    src = resolve(source)
    info = video_info(src) if not isinstance(src, int) else {"source": src, "frames": None}
    total = info["frames"] if info["frames"] and info["frames"] > 0 else None
    if total is not None:
        total = -(-total // step)
        if max_frames is not None:
            total = min(total, max_frames)
    if isinstance(src, int) and max_frames is None:
        raise CourseError("a webcam never ends: give max_frames, or record it first with prepare_source().")
    counts: dict[int, int] = {}
    scores: dict[int, float] = {}
    sides: dict[int, int] = {}
    light: dict[int, float] = {}
    times: dict[int, float] = {}
    t0 = time.perf_counter()
    frames = read_frames(src, step=step, max_frames=max_frames, rotate=rotate, max_side=max_side)
    for frame in tqdm(frames, total=total, desc="scanning frames", disable=not progress, unit="frame"):
        gray = to_gray(frame.image)
        found = detect_faces(gray, detect_max_side=detect_max_side)
        counts[frame.index] = len(found)
        best = max(found, key=lambda f: f[1], default=None)
        scores[frame.index] = round(best[1], 3) if best else 0.0
        sides[frame.index] = int(best[0][3] - best[0][1]) if best else 0
        light[frame.index] = round(float(gray.mean()), 1)
        times[frame.index] = round(frame.timestamp, 4)
    seconds = time.perf_counter() - t0
    manifest = {
        "source": str(src),
        "sha256": sha256_of(src) if not isinstance(src, int) else None,
        "info": info,
        "settings": {"step": step, "max_frames": max_frames, "rotate": rotate, "max_side": max_side,
                     "detect_max_side": detect_max_side},
        "faces_per_frame": {str(k): v for k, v in counts.items()},
        "best_score": {str(k): v for k, v in scores.items()},
        "face_side": {str(k): v for k, v in sides.items()},
        "brightness": {str(k): v for k, v in light.items()},
        "time": {str(k): v for k, v in times.items()},
        "no_face": [i for i, n in counts.items() if n == 0],
        "several_faces": [i for i, n in counts.items() if n > 1],
        "seconds": round(seconds, 2),
    }
    reasons = frame_reasons(manifest)
    manifest["kept"] = [i for i, why in reasons.items() if why == "kept"]
    manifest["too_small"] = [i for i, why in reasons.items() if why == "face too small"]
    return manifest


def manifest_recipe(manifest: dict[str, Any]) -> Recipe:
    """The recipe of a manifest: its read settings and the sha256 of its video."""
    return Recipe("capture_manifest", FORMAT, manifest["settings"], {"video": manifest.get("sha256")})


def save_manifest(name: str, manifest: dict[str, Any]) -> Path:
    """Save a manifest atomically under its name, then its recipe; return the path."""
    artifacts.invalidate(manifest_path(name))
    path = save_json(manifest_path(name), manifest)
    artifacts.commit(path, manifest_recipe(manifest))
    return path


def save_name(name: str, manifest: dict[str, Any]) -> str:
    """The name to save ``manifest`` under: ``name``, unless that would replace a course sample's own manifest.

    The samples' manifests (``"sample"``, ``"other_person"``) feed notebooks 02-04 with the course's
    settings. A sample read with other settings (an exercise's ``STEP = 4``) is saved as
    ``sample-step4`` instead, and another video under a sample's name as ``sample-<file name>``: the
    course's own data never changes behind the learner's back. Notebook 01 prints the name it used.

    A learner's name never gets the main sample's frames: when no webcam or recording was there and notebook 01
    fell back to the sample video, the scan is saved under the sample's name instead (so that notebooks 02-04
    never train a personal model of ``name`` on the sample's woman); :func:`saved_note` says why.
    """
    if name not in SAMPLE_SOURCES:
        if Path(manifest["source"]).resolve() == Path(resolve("sample")).resolve():
            return save_name("sample", manifest)
        return name
    own = str(resolve(name))
    if Path(manifest["source"]).resolve() != Path(own).resolve():
        return f"{name}-" + re.sub(r"[^A-Za-z0-9_-]+", "_", Path(manifest["source"]).stem)[:40]
    changed = {k: v for k, v in manifest["settings"].items() if k in SETTINGS and SETTINGS[k] != v}
    return name + "".join(f"-{k.replace('_', '')}{v}" for k, v in sorted(changed.items()))


def saved_note(name: str, saved_as: str) -> str:
    """Why notebook 01 saved its scan as ``saved_as`` and not as ``name`` (:func:`save_name`); "" when it did not."""
    if saved_as == name:
        return ""
    if name not in SAMPLE_SOURCES:
        return (f"(not as {name!r}: these are the frames of the course's sample video, not of a recording of you. The "
                "webcam or recording was not there, and section 1 printed why. Record again, then run this notebook "
                f"with NAME = {name!r}.)")
    return (f"(not as {name!r}: the course's own sample keeps its manifest; use NAME = {saved_as!r} in notebook 02 "
            "to go on with this one)")


def check_kept(name: str, manifest: dict[str, Any]) -> None:
    """CourseError saying what to record instead if ``manifest`` kept no frame (no frame with exactly one face)."""
    if not manifest["kept"]:
        rec = report(manifest)
        raise CourseError(f"the recording of NAME = {name!r} has no frame with exactly one face "
                          f"({rec['text'].splitlines()[0]}; {', '.join(f'{r}: {n}' for r, n in rec['skipped'].items())}). "
                          f"{rec['advice'][0]} Then run notebook 01 again with NAME = {name!r}.")


def load_manifest(name: str) -> dict[str, Any]:
    """Load the manifest saved by notebook 01 for source ``name``."""
    return load_json(manifest_path(name))


def read_kept_frames(manifest: dict[str, Any]):
    """Yield the manifest's kept frames again, read with the same settings (rotation, resize)."""
    s = manifest["settings"]
    kept = set(manifest["kept"])
    for frame in read_frames(manifest["source"], step=s["step"], max_frames=s["max_frames"],
                             rotate=s["rotate"], max_side=s["max_side"]):
        if frame.index in kept:
            yield frame


def ensure_manifest(name: str = "sample", source: Source | None = None, *, progress: bool = True,
                    **settings: Any) -> dict[str, Any]:
    """Load notebook 01's manifest for ``name``; rebuild it (saying why) unless the same video and settings made it.

    ``source`` defaults to the video the saved manifest names, else to ``name`` itself (for the
    samples ``"sample"`` and ``"other_person"``). ``settings`` (see :data:`SETTINGS`) left out keep the
    saved manifest's values (what notebook 01 chose), else the defaults.
    """
    unknown = set(settings) - set(SETTINGS)
    if unknown:
        raise CourseError(f"unknown capture settings {sorted(unknown)}; the settings are {sorted(SETTINGS)}.")
    path = manifest_path(name)
    saved = _readable_json(path) if path.exists() else None
    if source is None and saved is None:
        check_recording(name)
    src = resolve(source if source is not None else _saved_source(name, saved))
    # a manifest saved before recipes existed still knows its settings: they are the defaults then
    known = {k: v for k, v in (saved or {}).get("settings", {}).items() if k in SETTINGS}
    params = artifacts.settle(path, settings, SETTINGS | known)
    if isinstance(src, int):  # a webcam has no fingerprint: scan it anew
        manifest = scan_source(src, progress=progress, **params)
        save_manifest(name, manifest)
        return manifest
    if not Path(src).is_file():
        raise CourseError(f"the video of NAME = {name!r} is missing ({src}). Run notebook 01 again with NAME = {name!r} "
                          "and SOURCE set to your recording (or SOURCE = 0 for your webcam).")
    recipe = manifest_recipe({"settings": params, "sha256": sha256_of(src)})

    def build() -> dict[str, Any]:
        manifest = scan_source(src, progress=progress, **params)
        save_manifest(name, manifest)
        return manifest

    # the same video may now live elsewhere (another data folder): read it from where it is
    return artifacts.ensure(path, recipe, build=build, load=lambda: load_json(path) | {"source": str(src)},
                            what=f"The capture manifest of {name!r}",
                            action="Rebuilding what notebook 01 would have saved.")


def _saved_source(name: str, saved: dict[str, Any] | None) -> Source:
    """The video a saved manifest names; after the data folder moved, the same video where it is now."""
    if saved is None:
        return name
    old = str(saved.get("source", ""))
    if old.isdigit() or Path(old).is_file():
        return old
    if name in SAMPLE_SOURCES:  # the sample videos are fetched into today's samples folder
        return name
    moved = work_dir("01_capture") / Path(old).name  # a webcam recording of notebook 01 (prepare_source)
    return str(moved) if moved.is_file() else old


def _readable_json(path: Path) -> dict[str, Any] | None:
    """The JSON at ``path``, or None if it is missing or broken (then it is rebuilt)."""
    try:
        return load_json(path)
    except CourseError:
        return None


def prepare_source(source: Source, *, name: str = "webcam", webcam_seconds: float = 10.0) -> tuple[str, str]:
    """Turn the notebook's SOURCE into a video file path; return ``(path, message)``.

    A webcam is recorded to ``data/work/01_capture/<name>.mp4`` first (so the rest of the course can
    re-read the same frames); when no webcam can be opened or it delivers no frames, the sample
    video is used instead, and the message says so.
    """
    from .video import open_with_fallback, record_webcam
    src, message = open_with_fallback(source)
    if isinstance(src, int):
        try:
            path = record_webcam(src, work_dir("01_capture") / f"{name}.mp4", seconds=webcam_seconds)
        except CourseError as exc:
            src = resolve("sample")
            return str(src), f"{exc} -> falling back to the sample video {Path(src).name}."
        return str(path), f"recorded {webcam_seconds:g} s from webcam {src} to {path.name}"
    return str(src), message


def detection_at_sizes(image, sides: list[int], *, downscale_to: int | None = None,
                       repeats: int = 3) -> list[dict[str, Any]]:
    """Run the face detector on ``image`` resized so its longer side is each of ``sides``.

    ``downscale_to=None`` runs dlib on the full resized image (what the original project did); an int shrinks
    big images to that side first (what :func:`helpers.landmarks.detect_landmarks` does).
    Returns one row per size: ``{"side", "faces", "ms"}``, ``ms`` the median of ``repeats`` runs (one run's time
    moves by tens of percent on a shared machine).
    """
    import cv2
    from .landmarks import load_models
    load_models()  # load before timing
    gray = to_gray(image)
    rows = []
    for side in sides:
        f = side / max(gray.shape[:2])
        resized = cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR)
        times = []
        for _ in range(max(1, repeats)):
            t0 = time.perf_counter()
            n = len(detect_faces(resized, detect_max_side=downscale_to or 0, detect_min_side=downscale_to or 0))
            times.append(1000 * (time.perf_counter() - t0))
        rows.append({"side": side, "faces": n, "ms": float(np.median(times))})
    return rows
