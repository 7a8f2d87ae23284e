"""Notebook 02: run dlib's 68 landmarks on the kept frames and save face crops with their points.

Saved per source as ``data/work/02_landmarks/<name>.npz`` (never pickle):

=================  ========================  =============================================
array              shape, dtype              meaning
=================  ========================  =============================================
``crops``          (N, S, S, 3) uint8        BGR face crops, S = crop size (default 128)
``points``         (N, 68, 2) float32        dlib's points in crop pixels (x, y)
``frame_points``   (N, 68, 2) float32        the same points in frame pixels
``boxes``          (N, 4) int32              dlib's face box in frame pixels (l, t, r, b)
``matrices``       (N, 2, 3) float32         frame -> crop affine transform
``frame_index``    (N,) int32                frame number in the source video
``timestamp``      (N,) float32              seconds from the start of the video
``seconds``        (N,) float32              time dlib took on the frame (detect + predict)
=================  ========================  =============================================

``meta`` (JSON) holds the source, its sha256, the model file, crop size and margin, and the key of the
manifest the frames come from; the set's recipe (:mod:`helpers.artifacts`) is saved beside it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from . import artifacts
from .artifacts import Recipe
from .capture import ensure_manifest, manifest_recipe, read_kept_frames
from .landmarks import CROP_SIZE, MARGIN, crop_face, detect_landmarks, inter_ocular, predictor_path, to_crop
from .paths import work_dir
from .storage import load_npz, save_npz


FORMAT = 3
"""Version of the saved sets, bumped whenever faces are found or cut differently: older files are rebuilt."""
SETTINGS = {"crop_size": CROP_SIZE, "margin": MARGIN}
"""The crop settings of :func:`extract_landmarks` and their defaults: a landmark set's recipe parameters."""


@dataclass
class LandmarkSet:
    """Face crops and their 68 points from one source, in frame order (see the module docstring)."""

    crops: np.ndarray
    points: np.ndarray
    frame_points: np.ndarray
    boxes: np.ndarray
    matrices: np.ndarray
    frame_index: np.ndarray
    timestamp: np.ndarray
    seconds: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.crops)


def landmarks_path(name: str) -> Path:
    """Where the landmark set of source ``name`` is stored."""
    return work_dir("02_landmarks") / f"{name}.npz"


def extract_landmarks(manifest: dict[str, Any], *, crop_size: int = CROP_SIZE, margin: float = MARGIN,
                      progress: bool = True) -> LandmarkSet:
    """Run dlib on every kept frame of a notebook-01 manifest; crop each face and map its points into the crop.

    A kept frame where the landmark pass now finds no face is skipped (it is reported in ``meta["lost"]``).
    """
    rows: dict[str, list] = {k: [] for k in ("crops", "points", "frame_points", "boxes", "matrices",
                                             "frame_index", "timestamp", "seconds")}
    lost: list[int] = []
    detect_max_side = manifest["settings"].get("detect_max_side", 640)
    for frame in tqdm(read_kept_frames(manifest), total=len(manifest["kept"]), desc="dlib landmarks",
                      disable=not progress, unit="frame"):
        t0 = time.perf_counter()
        faces = detect_landmarks(frame.image, detect_max_side=detect_max_side)
        dt = time.perf_counter() - t0
        if not faces:
            lost.append(frame.index)
            continue
        face = faces[0]
        crop, m = crop_face(frame.image, face.box, crop_size, margin)
        for key, value in (("crops", crop), ("points", to_crop(face.points, m)), ("frame_points", face.points),
                           ("boxes", np.array(face.box, np.int32)), ("matrices", m),
                           ("frame_index", frame.index), ("timestamp", frame.timestamp), ("seconds", dt)):
            rows[key].append(value)
    dtypes = {"crops": np.uint8, "points": np.float32, "frame_points": np.float32, "boxes": np.int32,
              "matrices": np.float32, "frame_index": np.int32, "timestamp": np.float32, "seconds": np.float32}
    shapes = {"crops": (0, crop_size, crop_size, 3), "points": (0, 68, 2), "frame_points": (0, 68, 2),
              "boxes": (0, 4), "matrices": (0, 2, 3)}
    arrays = {k: (np.stack(v).astype(dtypes[k]) if v else np.zeros(shapes.get(k, (0,)), dtypes[k]))
              for k, v in rows.items()}
    meta = {"format": FORMAT, "source": manifest["source"], "sha256": manifest.get("sha256"), "model": predictor_path().name,
            "crop_size": crop_size, "margin": margin, "lost": lost, "settings": manifest["settings"],
            "manifest_key": manifest_recipe(manifest).key}
    return LandmarkSet(**arrays, meta=meta)


def landmark_recipe(manifest_key: str | None, crop_size: int, margin: float) -> Recipe:
    """The recipe of a landmark set: crop settings, the manifest's key and the predictor's pinned sha256."""
    from .data import REGISTRY
    return Recipe("landmark_set", FORMAT, {"crop_size": crop_size, "margin": margin},
                  {"manifest": manifest_key, "predictor": REGISTRY["shape_predictor_68"].sha256[:16]})


def changed_settings(ls: LandmarkSet) -> dict[str, Any]:
    """The crop settings of ``ls`` that differ from the course's (:data:`SETTINGS`): ``{}`` for a set as shipped."""
    return {k: ls.meta.get(k, v) for k, v in SETTINGS.items() if ls.meta.get(k, v) != v}


def save_landmark_set(name: str, ls: LandmarkSet) -> Path:
    """Save a landmark set atomically as ``data/work/02_landmarks/<name>.npz``, then its recipe."""
    artifacts.invalidate(landmarks_path(name))
    arrays = {k: getattr(ls, k) for k in ("crops", "points", "frame_points", "boxes", "matrices",
                                          "frame_index", "timestamp", "seconds")}
    path = save_npz(landmarks_path(name), meta=ls.meta, **arrays)
    artifacts.commit(path, landmark_recipe(ls.meta.get("manifest_key"), ls.meta["crop_size"], ls.meta["margin"]))
    return path


def load_landmark_set(name: str) -> LandmarkSet:
    """Load the landmark set notebook 02 saved for ``name``."""
    arrays, meta = load_npz(landmarks_path(name))
    return LandmarkSet(**arrays, meta=meta)


def ensure_landmark_set(name: str = "sample", *, crop_size: int | None = None, margin: float | None = None,
                        progress: bool = True, **capture_settings: Any) -> LandmarkSet:
    """02's landmark set for ``name``; rebuilt (saying why) unless its manifest and settings made it.

    Settings left out keep the saved set's values (what notebook 02 chose), else :data:`SETTINGS`;
    ``capture_settings`` go to :func:`helpers.capture.ensure_manifest`.
    """
    manifest = ensure_manifest(name, progress=progress, **capture_settings)
    path = landmarks_path(name)
    params = artifacts.settle(path, {"crop_size": crop_size, "margin": margin}, SETTINGS)
    recipe = landmark_recipe(manifest_recipe(manifest).key, **params)

    def build() -> LandmarkSet:
        ls = extract_landmarks(manifest, progress=progress, **params)
        save_landmark_set(name, ls)
        return ls

    return artifacts.ensure(path, recipe, build=build, load=lambda: load_landmark_set(name),
                            what=f"The landmark set of {name!r}", action="Rebuilding what notebook 02 would have saved.")


def point_jumps(ls: LandmarkSet) -> np.ndarray:
    """How much the face *shape* changed since the previous frame: (N,) float32, in inter-ocular distances.

    Each frame's points are centred on their mean first, so sliding the head across the image does not count;
    turning, tilting or moving it closer does, and so does a shape that changes suddenly (mouth opening, or the
    predictor slipping). NaN where the previous frame is not the neighbouring one (skipped or dropped frames), and
    for the first.
    """
    out = np.full(len(ls), np.nan, np.float32)
    if len(ls) < 2:
        return out
    pts = ls.frame_points - ls.frame_points.mean(axis=1, keepdims=True)
    iod = inter_ocular(ls.frame_points)
    jump = np.linalg.norm(pts[1:] - pts[:-1], axis=2).mean(axis=1) / iod[1:]
    step = ls.meta.get("settings", {}).get("step", 1) or 1
    neighbours = np.diff(ls.frame_index) == step
    out[1:][neighbours] = jump[neighbours]
    return out
