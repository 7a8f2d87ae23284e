"""Your own face through the course: ``NAME``'s record sets and a *personal* landmark CNN (notebooks 03, 04, 06).

The course landmark CNN is a *generic* model: trained on the main sample video and the stills, never
on the second sample video (``other_person``), which stays the "never seen" person. On a face it has
never seen it is much worse than on the faces it learnt from. A learner who records themselves in
notebook 01 (``SOURCE``, ``NAME``) gets a model of their own here:

1. :func:`write_person_records` splits ``NAME``'s landmark set (notebook 02) by time, exactly like
   the sample (:func:`helpers.record_sets.time_split`), and writes ``<NAME>_train`` and
   ``<NAME>_heldout`` record sets plus ``split_<NAME>.json`` (for ``NAME = "sample"`` the course's own
   ``sample_train`` / ``sample_heldout`` are used);
2. :func:`fine_tune` starts from the generic model's weights and trains on ``NAME``'s training
   frames only, for a budget of training steps (the course trainer, :func:`helpers.landmark_cnn.train_model`
   with ``init_from``: seeded and resumable);
3. :func:`save_personal_model` writes ``data/models/landmark_cnn_<NAME>.keras`` (+ ``.tflite``) with a
   sidecar JSON whose ``metrics`` hold ``nme_held_out`` (personal model on ``NAME``'s held-out
   frames) and ``nme_held_out_generic`` (the generic model on the same frames), and which says whose
   recording it learnt from (``person``, ``source``, ``source_sha256``);
4. :func:`model_for` picks the model the live demo uses for ``NAME`` and :func:`source_warning` says
   when that model never saw the person in the demo's source.

Every ``ensure_*`` function rebuilds what is missing *for that NAME*, saying so; a ``NAME`` without a
recording gets a :class:`~helpers.errors.CourseError` naming notebook 01's ``SOURCE`` setting.
"""
from __future__ import annotations

import re
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CourseError
from .paths import models_dir, shown, work_dir
from .storage import load_json, save_json

SAMPLE_VIDEOS = ("sample", "other_person")
"""Names that need no notebook 01 run: they are the course's sample videos."""
GENERIC_NAME = "landmark_cnn"
"""File stem of the generic course model (``data/models/landmark_cnn.keras``, notebook 04)."""
FORMAT = 1
"""Version of ``split_<NAME>.json``; records of another format are rewritten."""
_RESERVED = ("stills", "demo")  # record-set names the course itself uses


# ------------------------------------------------------------------------------------------------- names, paths
def check_name(name: str) -> str:
    """Return ``name`` if it can name files (letters, digits, ``_``, ``-``); CourseError otherwise."""
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", name):
        raise CourseError(f"NAME = {name!r} cannot name files: use letters, digits, '_' or '-' (for example NAME = 'me').")
    if name in _RESERVED:
        raise CourseError(f"NAME = {name!r} is used by the course itself; pick another, e.g. NAME = 'me'.")
    return name


def record_names(name: str) -> tuple[str, str]:
    """The (training, held-out) record sets of ``name``: ``("<name>_train", "<name>_heldout")``; the sample's are the course's."""
    check_name(name)
    return ("sample_train", "sample_heldout") if name == "sample" else (f"{name}_train", f"{name}_heldout")


def split_path(name: str) -> Path:
    """Where the time split of ``name``'s recording is recorded: ``data/work/03_records/split_<name>.json``."""
    from .records import records_dir
    return records_dir() / f"split_{check_name(name)}.json"


def personal_model_path(name: str) -> Path:
    """``data/models/landmark_cnn_<name>.keras``: the personal model of ``name``."""
    return models_dir() / f"{GENERIC_NAME}_{check_name(name)}.keras"


def checkpoint_dir(name: str) -> Path:
    """Where the resumable fine-tuning run of ``name`` is kept."""
    return work_dir("04_landmark_cnn") / f"checkpoint_personal_{check_name(name)}"


def check_recording(name: str) -> None:
    """CourseError naming notebook 01's settings if ``name`` has no recording (sample names always have one)."""
    from .capture import manifest_path
    check_name(name)
    if name in SAMPLE_VIDEOS or manifest_path(name).exists():
        return
    raise CourseError(f"no recording for NAME = {name!r} ({shown(manifest_path(name))} is missing). Run notebook 01 "
                      f"first with NAME = {name!r} and SOURCE = 0 (your webcam) or SOURCE = 'path/to/your_video.mp4' "
                      f"(or `papermill 01_capture.ipynb out.ipynb -p SOURCE my_video.mp4 -p NAME {name}`), "
                      "or use NAME = 'sample'.")


def person_landmarks(name: str, *, progress: bool = True):
    """Notebook 02's landmark set of ``name`` (:class:`helpers.landmark_sets.LandmarkSet`), rebuilt for ``name`` if missing."""
    from .landmark_sets import ensure_landmark_set
    check_recording(name)
    ls = ensure_landmark_set(name, progress=progress)
    if len(ls) < 3:
        raise CourseError(f"the recording of {name!r} has only {len(ls)} frame(s) with exactly one face. Record "
                          "again in notebook 01 (10 s facing the camera, one person in view) and re-run notebook 02.")
    return ls


# ------------------------------------------------------------------------------------------------- records
def write_person_records(name: str, *, held_out: float = 0.2, gap: float = 0.5, encoding: str = "png",
                         shard_size: int = 128, progress: bool = True) -> dict[str, Any]:
    """Split ``name``'s faces by time like the sample's and write its two record sets; return the split record.

    Frames without a face or with several faces never reach the landmark set (notebook 01 drops
    them), so a recording with gaps splits by the time of the frames that remain.
    """
    from .record_sets import time_split
    from .records import write_records
    if name == "sample":
        from .record_sets import ensure_records
        return ensure_records(progress=progress)
    ls = person_landmarks(name, progress=progress)
    split = time_split(ls.timestamp, held_out, gap)
    if not split["held_out"]:
        raise CourseError(f"no held-out frames for {name!r}: record a longer video (10 s or more).")
    split_id = uuid.uuid4().hex[:12]
    sets = {}
    for set_name, idx in zip(record_names(name), (split["train"], split["held_out"])):
        idx = np.asarray(idx, dtype=int)
        index = write_records(set_name, ls.crops[idx], ls.points[idx], frame_index=ls.frame_index[idx],
                              timestamp=ls.timestamp[idx], source=Path(ls.meta.get("source", "")).name,
                              encoding=encoding, shard_size=shard_size, progress=progress, split_id=split_id)
        sets[set_name] = {"examples": index["examples"], "shards": len(index["shards"]), "bytes": index["bytes"]}
    record = {"name": name, "source": ls.meta.get("source"), "sha256": ls.meta.get("sha256"), "frames": len(ls),
              "cutoff_seconds": split["cutoff"], "gap_seconds": gap, "held_out_fraction": held_out,
              "train_frames": [int(ls.frame_index[i]) for i in split["train"]],
              "held_out_frames": [int(ls.frame_index[i]) for i in split["held_out"]],
              "dropped_frames": [int(ls.frame_index[i]) for i in split["dropped"]],
              "record_sets": sets, "split_id": split_id, "format": FORMAT, "encoding": encoding}
    save_json(split_path(name), record)  # last: the commit point of the pair of sets
    return record


def ensure_person_records(name: str, *, progress: bool = True, **options: Any) -> dict[str, Any]:
    """``name``'s split record; writes its record sets first (saying so) if missing, damaged or from an older recording."""
    if name == "sample":
        from .record_sets import ensure_records
        return ensure_records(progress=progress)
    from .records import load_index, shard_paths
    check_recording(name)
    path = split_path(name)
    try:
        if not path.exists():
            raise CourseError(f"{shown(path)} is missing")
        record = load_json(path)
        if record.get("format") != FORMAT:
            raise CourseError(f"{path.name} is of another format")
        from .landmark_sets import landmarks_path
        if landmarks_path(name).exists():
            from .storage import load_npz
            _, meta = load_npz(landmarks_path(name))
            if meta.get("sha256") != record.get("sha256"):
                raise CourseError("the recording changed since the records were written")
        for set_name in record_names(name):
            shard_paths(set_name)
            if load_index(set_name).get("split_id") != record.get("split_id"):
                raise CourseError(f"record set {set_name!r} belongs to another split")
        return record
    except CourseError as exc:
        print(f"Records of {name!r} not usable ({exc}): writing them now from the recording of {name!r}.")
    return write_person_records(name, progress=progress, **options)


def load_person_data(name: str, *, progress: bool = True) -> dict[str, Any]:
    """``{"train", "held_out"}`` :class:`~helpers.landmark_data.FaceData` of ``name`` (from notebook 03's records, rebuilt if missing)."""
    from .landmark_data import FaceData
    from .records import load_arrays
    ensure_person_records(name, progress=progress)
    out = {}
    for key, set_name in zip(("train", "held_out"), record_names(name)):
        arr = load_arrays(set_name)
        out[key] = FaceData(arr.crops, arr.points, set_name)
    return out


# ------------------------------------------------------------------------------------------------- the personal model
def load_generic(path: str | Path | None = None, *, progress: bool = True, seconds: float = 90.0):
    """The generic course model ``(model, meta, path)``; trained now (saying so) if notebook 04 never saved one."""
    from . import landmark_cnn as lcnn
    path = Path(path) if path else lcnn.ensure_landmark_model(progress=progress, seconds=seconds)
    model, meta = lcnn.load_model(path)
    return model, meta, path


def fine_tune(name: str, generic=None, *, steps: int = 100, seconds: float | None = None, batch_size: int = 32,
              lr: float = 1e-3, seed: int = 42, resume: bool = True, progress: bool = True,
              data: dict[str, Any] | None = None):
    """Fine-tune the generic model on ``name``'s training frames for ``steps`` batches; return a TrainResult.

    ``steps`` is rounded up to whole passes over the frames (a budget in steps, not seconds, gives
    the same model on a busy machine); ``seconds`` instead sets a time budget. ``generic``: a Keras
    model, a ``.keras`` path or None (the saved course model). The learning rate peaks at ``lr`` (a
    third of training from scratch: the weights are already good) and follows the course schedule;
    batch norm stays frozen; augmentation as in notebook 04. The held-out NME is watched per epoch,
    never used to pick anything. Resumable like every course training (``resume=False`` to train again).
    """
    from . import landmark_cnn as lcnn
    if generic is None or isinstance(generic, (str, Path)):
        generic, _, _ = load_generic(generic, progress=progress)
    data = data or load_person_data(name, progress=progress)
    kind = generic.name if generic.name in lcnn.KINDS else lcnn.COURSE_KIND
    size = int(generic.input_shape[1])
    bs = max(1, min(batch_size, len(data["train"])))
    per_epoch = max(1, len(data["train"]) // bs)
    budget = {"seconds": seconds} if seconds else {"seconds": 0, "max_epochs": max(1, -(-int(steps) // per_epoch))}
    return lcnn.train_model(kind, data["train"], data["held_out"], batch_size=bs, seed=seed, size=size, lr=lr,
                            init_from=generic, resume=resume, checkpoint=checkpoint_dir(name), progress=progress,
                            **budget)


def compare(personal, generic, held_out, size: int | None = None) -> dict[str, Any]:
    """Both models on the same held-out faces: NME (mean, per frame, per region) and predictions (crop pixels)."""
    from . import landmark_cnn as lcnn
    size = size or int(personal.input_shape[1])
    out = {}
    for key, model in (("personal", personal), ("generic", generic)):
        e = lcnn.evaluate(model, held_out, int(model.input_shape[1]))
        e["regions"] = lcnn.region_nme(e["pred"], held_out.points)
        out[key] = e
    out["metrics"] = {"nme_held_out": round(out["personal"]["nme"], 4),
                      "nme_held_out_generic": round(out["generic"]["nme"], 4),
                      "held_out_frames": len(held_out)}
    return out


def save_personal_model(name: str, result, metrics: dict[str, Any], *, generic_path: str | Path | None = None,
                        tflite: bool = True) -> dict[str, Any]:
    """Save ``name``'s model as ``landmark_cnn_<name>.keras`` (+ ``.tflite``) and its sidecar; return the sidecar.

    ``metrics`` must hold ``nme_held_out`` and ``nme_held_out_generic`` (from :func:`compare`).
    """
    from . import landmark_cnn as lcnn
    missing = {"nme_held_out", "nme_held_out_generic"} - set(metrics)
    if missing:
        raise CourseError(f"the personal model's metrics lack {sorted(missing)}: pass compare(...)['metrics'].")
    path = personal_model_path(name)
    meta = lcnn.save_model(result, path, metrics, tflite=tflite)
    record = ensure_person_records(name, progress=False) if name != "sample" else None
    if name == "sample":
        from .landmark_sets import landmarks_path
        from .storage import load_npz
        _, ls_meta = load_npz(landmarks_path("sample"))
        source, sha = ls_meta.get("source"), ls_meta.get("sha256")
    else:
        source, sha = record.get("source"), record.get("sha256")
    meta |= {"person": name, "source": Path(source).name if source else None, "source_sha256": sha,
             "generic": Path(generic_path).name if generic_path else f"{GENERIC_NAME}.keras",
             "fine_tuned_seconds": round(result.seconds, 1)}
    save_json(lcnn.sidecar_path(path), meta)
    return meta


def ensure_personal_model(name: str, *, steps: int = 100, generic: str | Path | None = None,
                          progress: bool = True) -> Path:
    """Path of ``name``'s personal model; fine-tunes and saves it first (saying so) if missing or made from another recording."""
    from . import landmark_cnn as lcnn
    check_recording(name)
    path = personal_model_path(name)
    side = lcnn.sidecar_path(path)
    if path.exists() and side.exists():
        meta = load_json(side)
        current = _recording_sha(name)
        if meta.get("person") == name and (current is None or meta.get("source_sha256") == current):
            return path
    print(f"No personal landmark model for {name!r} at {shown(path)}: fine-tuning the generic model on "
          f"{name!r}'s frames now ({steps} steps; notebook 04 does and explains this).")
    generic_model, _, generic_path = load_generic(generic, progress=progress)
    data = load_person_data(name, progress=progress)
    result = fine_tune(name, generic_model, steps=steps, progress=progress, data=data)
    cmp = compare(result.model, generic_model, data["held_out"])
    save_personal_model(name, result, cmp["metrics"], generic_path=generic_path)
    return path


def _recording_sha(name: str) -> str | None:
    """sha256 of the video ``name``'s frames come from (notebook 01's manifest), None if unknown."""
    from .capture import manifest_path
    if manifest_path(name).exists():
        return load_json(manifest_path(name)).get("sha256")
    return None


# ------------------------------------------------------------------------------------------------- live demo
def model_for(name: str, *, build: bool = True, steps: int = 100, progress: bool = True) -> tuple[Path, str]:
    """The landmark CNN the live demo should use for ``name``: ``(path, message)``.

    The personal model ``landmark_cnn_<name>.keras`` (fine-tuned now if missing and ``build``); the
    generic course model when ``name`` has no recording to learn from and ``build`` is False.
    """
    from . import landmark_cnn as lcnn
    path = personal_model_path(name)
    if build:
        path = ensure_personal_model(name, steps=steps, progress=progress)
    if path.exists():
        meta = load_json(lcnn.sidecar_path(path)) if lcnn.sidecar_path(path).exists() else {}
        m = meta.get("metrics", {})
        detail = (f"; held-out NME {m['nme_held_out']:.1%} vs the generic model's {m['nme_held_out_generic']:.1%}"
                  if "nme_held_out" in m and "nme_held_out_generic" in m else "")
        return path, f"landmark model: {path.name} (personal model of {name!r}{detail})"
    path = lcnn.ensure_landmark_model(progress=progress)
    return path, f"landmark model: {path.name} (generic course model; no personal model for {name!r})"


def source_warning(model_path: str | Path, source: Any) -> str | None:
    """A warning when the landmark CNN at ``model_path`` never saw the person in ``source``; None when it did.

    A personal model knows the sha256 of the video it learnt from; the generic model learnt from the
    main sample video (and the stills). A webcam cannot be checked: the message says whom the model expects.
    """
    from . import landmark_cnn as lcnn
    from .data import sha256_of
    from .video import resolve
    side = lcnn.sidecar_path(model_path)
    meta = load_json(side) if Path(side).exists() else {}
    person = meta.get("person")
    src = resolve(source)
    if isinstance(src, int):
        if person:
            return (f"the CNN {Path(model_path).name} learnt {person!r}'s face: if someone else is in front of webcam {src}, "
                    "expect larger errors (dlib's predictor works for everyone: LANDMARKS = 'dlib').")
        return (f"the generic CNN {Path(model_path).name} never saw your face (it learnt the sample woman and the group "
                "photo): expect larger errors on you; train your own with notebooks 01-04 and NAME.")
    sha = sha256_of(src) if Path(src).is_file() else None
    trained_on = meta.get("source_sha256") if person else _sample_sha()
    if sha is not None and sha == trained_on:
        return None
    who = f"{person!r}'s recording ({meta.get('source')})" if person else "the sample woman and the group photo"
    return (f"the CNN {Path(model_path).name} was trained on {who}, not on the person in {Path(str(src)).name}: "
            "expect larger errors (on the never-seen sample person the generic model is worse than the mean shape). "
            "Use LANDMARKS = 'dlib', or train a model for this person (notebooks 01-04 with NAME).")


def _sample_sha() -> str:
    from .data import REGISTRY
    return REGISTRY["sample"].sha256


# ------------------------------------------------------------------------------------------------- figure
def plot_comparison(held_out, cmp: dict[str, Any], *, frames: int = 4, title: str = ""):
    """Held-out crops with dlib's points (green), the generic (red) and the personal model (blue), and per-region error bars."""
    import matplotlib.pyplot as plt
    from .draw import bgr_to_rgb
    n = max(1, min(frames, len(held_out)))
    pick = np.linspace(0, len(held_out) - 1, n).round().astype(int)
    fig = plt.figure(figsize=(3 * n + 5, 3.4))
    grid = fig.add_gridspec(1, n + 2)
    for k, i in enumerate(pick):
        ax = fig.add_subplot(grid[0, k])
        ax.imshow(bgr_to_rgb(held_out.crops[i]))
        ax.scatter(*held_out.points[i].T, s=4, c="lime", label="dlib")
        ax.scatter(*cmp["generic"]["pred"][i].T, s=4, c="red", label="generic")
        ax.scatter(*cmp["personal"]["pred"][i].T, s=4, c="deepskyblue", label="personal")
        ax.set_title(f"generic {cmp['generic']['per_frame'][i]:.1%}\npersonal {cmp['personal']['per_frame'][i]:.1%}",
                     fontsize=8)
        ax.axis("off")
        if k == 0:
            ax.legend(fontsize=6, loc="lower left")
    ax = fig.add_subplot(grid[0, n:])
    regions = list(cmp["generic"]["regions"])
    x = np.arange(len(regions))
    ax.bar(x - 0.2, [cmp["generic"]["regions"][r] for r in regions], 0.4, color="red", label="generic")
    ax.bar(x + 0.2, [cmp["personal"]["regions"][r] for r in regions], 0.4, color="deepskyblue", label="personal")
    ax.set_xticks(x, regions, fontsize=7, rotation=30)
    ax.set(ylabel="held-out NME", title="error per region")
    ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def timed(fn, *args, **kwargs) -> tuple[Any, float]:
    """``(fn(*args, **kwargs), seconds)``: wall-clock time of one call (for the notebook's time report)."""
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0
