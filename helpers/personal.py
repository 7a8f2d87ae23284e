"""Your own face through the course: ``NAME``'s record sets and a *personal* landmark CNN (notebooks 03, 04, 06).

The course landmark CNN is a *generic* model: trained on the main sample video and the stills, never
on the second sample video (``other_person``), which stays the "never seen" person. On faces unlike its
training faces it can be much worse than on the faces it learnt from. A learner who records themselves in
notebook 01 (``SOURCE``, ``NAME``) gets a model of their own here:

1. :func:`helpers.record_sets.write_records_of` splits ``NAME``'s landmark set (notebook 02) by time,
   through the same code as the sample's, and writes ``<NAME>_train`` and ``<NAME>_heldout`` record
   sets plus ``split_<NAME>.json``; :func:`load_person_data` reads them back (rewritten first if stale);
2. :func:`fine_tune` starts from the generic model's weights and trains on ``NAME``'s training
   frames only, for a budget of training steps (the course trainer, :func:`helpers.landmark_cnn.train_model`
   with ``init_from``: seeded and resumable);
3. :func:`save_personal_model` writes ``data/models/landmark_cnn_<NAME>.keras`` (+ ``.tflite``), its
   recipe (:mod:`helpers.artifacts`) and a sidecar JSON whose ``metrics`` hold ``nme_held_out``
   (personal model on ``NAME``'s held-out frames) and ``nme_held_out_generic`` (the generic model on
   the same frames), and which says whose recording it learnt from (``person``, ``source``,
   ``source_sha256``);
4. :func:`model_for` picks the model the live demo uses for ``NAME`` (the personal one only if it passed its
   check, :func:`beats_generic`) and :func:`source_warning` says
   when that model never saw the person in the demo's source.

Every ``ensure_*`` function rebuilds what is missing or stale *for that NAME*, saying why; a ``NAME`` without a
recording gets a :class:`~helpers.errors.CourseError` naming notebook 01's ``SOURCE`` setting.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from . import artifacts
from .saved_models import model_recipe
from .errors import CourseError
from .capture import check_name, check_recording
from .paths import models_dir
from .storage import load_json

GENERIC_NAME = "landmark_cnn"
"""File stem of the generic course model (``data/models/landmark_cnn.keras``, notebook 04)."""
FORMAT = 1
"""Version of the saved personal models."""


# ------------------------------------------------------------------------------------------------- paths
def personal_model_path(name: str) -> Path:
    """``data/models/landmark_cnn_<name>.keras``: the personal model of ``name``."""
    return models_dir() / f"{GENERIC_NAME}_{check_name(name)}.keras"


def load_person_data(name: str, *, progress: bool = True) -> dict[str, Any]:
    """``{"train", "held_out"}`` :class:`~helpers.landmark_data.FaceData` of ``name``.

    From notebook 03's records, rebuilt if missing.
    """
    from .landmark_data import FaceData
    from .record_sets import ensure_records, record_names
    from .records import load_arrays
    ensure_records(name, progress=progress)
    out = {}
    for key, set_name in zip(("train", "held_out"), record_names(name)):
        arr = load_arrays(set_name)
        out[key] = FaceData(arr.crops, arr.points, set_name)
    return out


# ------------------------------------------------------------------------------------------------- the personal model
def load_generic(path: str | Path | None = None, *, progress: bool = True, seconds: float | None = None):
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
    settings = fine_tune_settings(generic, data["train"], steps=steps, seconds=seconds, batch_size=batch_size, lr=lr,
                                  seed=seed)
    kind = settings.pop("kind")
    return lcnn.train_model(kind, data["train"], data["held_out"], init_from=generic, resume=resume,
                            progress=progress, **settings)


def fine_tune_settings(generic, train, *, steps: int = 100, seconds: float | None = None, batch_size: int = 32,
                       lr: float = 1e-3, seed: int = 42) -> dict[str, Any]:
    """The :func:`helpers.landmark_cnn.train_model` settings of a fine-tuning run (``kind`` included).

    See :func:`fine_tune`.
    """
    from . import landmark_nets
    kind = generic.name if generic.name in landmark_nets.KINDS else landmark_nets.COURSE_KIND
    bs = max(1, min(batch_size, len(train)))
    per_epoch = max(1, len(train) // bs)
    budget = {"seconds": seconds} if seconds else {"seconds": 0, "max_epochs": max(1, -(-int(steps) // per_epoch))}
    return {"kind": kind, "batch_size": bs, "seed": seed, "size": int(generic.input_shape[1]), "lr": lr} | budget


def compare(personal, generic, held_out) -> dict[str, Any]:
    """Both models on the same held-out faces: NME (mean, per frame, per region) and predictions (crop pixels)."""
    from . import landmark_cnn as lcnn
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
    """Save ``name``'s model as ``landmark_cnn_<name>.keras`` (+ ``.tflite``), its sidecar and recipe; return the sidecar.

    ``metrics`` must hold ``nme_held_out`` and ``nme_held_out_generic`` (from :func:`compare`).
    """
    from . import landmark_cnn as lcnn
    from .landmark_sets import landmarks_path
    from .storage import load_npz
    missing = {"nme_held_out", "nme_held_out_generic"} - set(metrics)
    if missing:
        raise CourseError(f"the personal model's metrics lack {sorted(missing)}: pass compare(...)['metrics'].")
    _, faces = load_npz(landmarks_path(name))
    source = faces.get("source")
    who = {"person": name, "source": Path(source).name if source else None, "source_sha256": faces.get("sha256"),
           "generic": Path(generic_path).name if generic_path else f"{GENERIC_NAME}.keras",
           "fine_tuned_seconds": round(result.seconds, 1)}
    return lcnn.save_model(result, personal_model_path(name), metrics, tflite=tflite, extra=who)


def ensure_personal_model(name: str, *, steps: int | None = None, generic: str | Path | None = None,
                          progress: bool = True) -> Path:
    """Path of ``name``'s personal model.

    It is fine-tuned first (saying why) unless a model of the current frames and generic model is saved.

    ``steps=None`` accepts the saved model whatever its budget (notebook 04's ``PERSONAL_STEPS``); when
    there is none, or its frames or generic model changed, the generic model is fine-tuned for
    ``steps`` (default 100) steps.
    """
    from . import landmark_cnn as lcnn
    check_recording(name)
    path = personal_model_path(name)
    generic_model, _, generic_path = load_generic(generic, progress=progress)
    data = load_person_data(name, progress=progress)
    settings = fine_tune_settings(generic_model, data["train"], steps=steps or 100)
    recipe = model_recipe("landmark_model", lcnn.training_config(settings.pop("kind"), data["train"],
                                                                 init_from=generic_model, **settings))
    if steps is None:  # notebook 04's PERSONAL_STEPS and settings
        recipe = artifacts.adopt(path, recipe, lcnn.TRAINER_SETTINGS)
    reason = artifacts.why_rebuild(path, recipe, also=(lcnn.sidecar_path(path),))
    if reason is None:
        return path
    artifacts.announce(f"The personal landmark model of {name!r}", path, reason,
                       f"Fine-tuning the generic model on {name!r}'s frames now ({steps or 100} steps; "
                       "notebook 04 does and explains this).")
    result = fine_tune(name, generic_model, steps=steps or 100, progress=progress, data=data)
    cmp = compare(result.model, generic_model, data["held_out"])
    save_personal_model(name, result, cmp["metrics"], generic_path=generic_path)
    return path


# ------------------------------------------------------------------------------------------------- live demo
def model_for(name: str, *, build: bool = True, steps: int | None = None, progress: bool = True) -> tuple[Path, str]:
    """The landmark CNN the live demo should use for ``name``: ``(path, message)``.

    The personal model ``landmark_cnn_<name>.keras`` (fine-tuned now if missing and ``build``); the
    generic course model when ``name`` has no recording to learn from and ``build`` is False.
    """
    from . import landmark_cnn as lcnn
    path = personal_model_path(name)
    if build:
        path = ensure_personal_model(name, steps=steps, progress=progress)
    why_not = f"no personal model for {name!r}"
    if path.exists():
        meta = load_json(lcnn.sidecar_path(path)) if lcnn.sidecar_path(path).exists() else {}
        m = meta.get("metrics", {})
        scored = "nme_held_out" in m and "nme_held_out_generic" in m
        detail = (f"held-out NME {m['nme_held_out']:.1%} vs the generic model's {m['nme_held_out_generic']:.1%}"
                  if scored else "")
        if not scored or beats_generic(name, m):
            return path, f"landmark model: {path.name} (personal model of {name!r}{'; ' + detail if detail else ''})"
        why_not = (f"{name!r}'s personal model is not better on {name!r}'s held-out frames ({detail}): raise "
                   "PERSONAL_STEPS in notebook 04 or record a longer clip")
    path = lcnn.ensure_landmark_model(progress=progress)
    return path, f"landmark model: {path.name} (generic course model; {why_not})"


def beats_generic(name: str, metrics: dict[str, float]) -> bool:
    """Whether a personal model passed its check (notebook 04, section 13) and the live demo should use it.

    ``metrics`` as :func:`compare` gives them. For a person the generic model never saw, the personal model must be
    better on ``name``'s held-out frames; for the sample woman, whom the generic model already learnt (fine-tuning
    can only specialise it), no worse within 5 %.
    """
    return metrics["nme_held_out"] < _allowed_ratio(name) * metrics["nme_held_out_generic"]


def _allowed_ratio(name: str) -> float:
    """The largest personal / generic held-out error ratio :func:`beats_generic` accepts for ``name``."""
    return 1.05 if name == "sample" else 1.0


def check_rule(name: str) -> str:
    """What :func:`beats_generic` asks of ``name``'s personal model against the generic one, in words."""
    margin = _allowed_ratio(name) - 1.0
    return f"no worse (within {margin * 100:.0f} %) than" if margin > 0 else "better than"


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
            return (f"the CNN {Path(model_path).name} learnt {person!r}'s face: "
                    f"if someone else is in front of webcam {src}, "
                    "expect larger errors (dlib's predictor works for everyone: LANDMARKS = 'dlib').")
        return (f"the generic CNN {Path(model_path).name} never saw your face (it learnt the sample woman and the group "
                "photo): expect larger errors on you; train your own with notebooks 01-04 and NAME.")
    sha = sha256_of(src) if Path(src).is_file() else None
    trained_on = meta.get("source_sha256") if person else _sample_sha()
    if sha is not None and sha == trained_on:
        return None
    who = f"the recording of {person} ({meta.get('source')})" if person else "the sample woman and the group photo"
    return (f"the CNN {Path(model_path).name} was trained on {who}, and {Path(str(src)).name} is another file: if "
            "its person is someone else, expect larger errors than on the faces it learnt from. "
            "Use LANDMARKS = 'dlib', or train a model for this person (notebooks 01-04 with NAME).")


def _sample_sha() -> str:
    from .data import REGISTRY
    return REGISTRY["sample"].sha256


# ------------------------------------------------------------------------------------------------- figure
def plot_comparison(held_out, cmp: dict[str, Any], *, frames: int = 4, title: str = ""):
    """Two figures: held-out crops with dlib's points (green), the generic (red) and the personal model's (blue), each
    titled with both models' NME on it; and both models' error per face region.

    ``cmp`` as :func:`compare` gives it. Drawn by :mod:`helpers.landmark_plots`, like notebook 04's other figures.
    """
    from .landmark_plots import overlay_grid, region_errors
    n = max(1, min(frames, len(held_out)))
    pick = [int(i) for i in np.linspace(0, len(held_out) - 1, n).round()]
    titles = [f"generic {cmp['generic']['per_frame'][i]:.1%}\npersonal {cmp['personal']['per_frame'][i]:.1%}" for i in pick]
    frames_fig = overlay_grid(held_out.crops, {"dlib": held_out.points, "generic": cmp["generic"]["pred"],
                                               "personal": cmp["personal"]["pred"]}, [pick], [titles])
    if title:
        frames_fig.suptitle(title, fontsize=10)
    frames_fig.tight_layout()
    regions_fig = region_errors({key: cmp[key]["regions"] for key in ("generic", "personal")},
                                "held-out error per region")
    return frames_fig, regions_fig


def timed(fn, *args, **kwargs) -> tuple[Any, float]:
    """``(fn(*args, **kwargs), seconds)``: wall-clock time of one call (for the notebook's time report)."""
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0
