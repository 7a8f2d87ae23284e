"""One layout for every trained model the course saves (notebooks 04 and 05, and their ``ensure_*`` fallbacks)::

    <name>.keras              the model (Keras' own format, written atomically)
    <name>.json               the sidecar: what the model expects and how well it did (trainer-specific keys)
    <name>.tflite             the same model for TensorFlow Lite, when the converter accepts it (int8 weights)
    <name>.keras.recipe.json  what made it (:mod:`helpers.artifacts`), written last: the commit point

:func:`to_tflite` is the one converter of the course (the live demo's cached conversions use it too).
"""
from __future__ import annotations

import contextlib
import io
import json
import re
import time
from pathlib import Path
from typing import Any

from . import artifacts
from .artifacts import Recipe
from .errors import CourseError
from .storage import atomic_path, save_json


FORMAT = 1
"""Version of the layout above; a model saved in another one is retrained by its ``ensure_*`` function."""
FINGERPRINTS = ("data", "init")
"""The config keys that fingerprint what a model learnt from (its data, a fine-tuning run's starting weights)."""


def model_recipe(stage: str, config: dict[str, Any]) -> Recipe:
    """A trained model's recipe: the trainer's config as parameters, its fingerprints (:data:`FINGERPRINTS`) as inputs."""
    return Recipe(stage, FORMAT, {k: v for k, v in config.items() if k not in FINGERPRINTS},
                  {k: config[k] for k in FINGERPRINTS if k in config})


def sidecar_path(path: str | Path) -> Path:
    """The JSON next to a saved model (``<name>.json``)."""
    return Path(path).with_suffix(".json")


def to_tflite(model, batch: int | None = 1, *, int8_weights: bool = False) -> bytes:
    """A Keras model as a TensorFlow Lite flat buffer, its weights frozen as constants.

    ``batch=1`` fixes the input's batch size (one face per call); ``None`` leaves it free, to be resized
    by the interpreter when the number of faces changes. ``int8_weights=True`` stores the weights as 8-bit
    integers (TFLite's "dynamic range" quantisation: no calibration data; the activations stay float, and
    the matrix products run on integers): a quarter of the size and, on a CPU, several times faster for the
    course's small models, at the price of rounding (measured in notebooks 04 and 06 and in the tests).
    """
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2
    spec = tf.TensorSpec((batch,) + tuple(int(d) for d in model.input_shape[1:]), tf.float32)
    fn = tf.function(lambda x: model(x, training=False), input_signature=[spec])
    frozen = convert_variables_to_constants_v2(fn.get_concrete_function())
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen], model)
    if int8_weights:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return converter.convert()


def save_trained(model, path: str | Path, sidecar: dict[str, Any], *, recipe: Recipe | None = None,
                 tflite: bool = True, int8_weights: bool = True) -> dict[str, Any]:
    """Save ``model`` in the course's layout (see the module docstring); return the sidecar as written.

    The sidecar gets ``tflite`` (the file's name, or None with ``tflite_error`` when the converter
    refuses the model: the Keras model still works) and ``tflite_weights`` ("int8" or "float32",
    see :func:`to_tflite`). Without a ``recipe`` no recipe is written, so no
    ``ensure_*`` function will take the model for one of its own.
    """
    path = check_keras_path(path)
    artifacts.invalidate(path)  # the old recipe must not vouch for a half-replaced set of files
    with atomic_path(path, ".keras") as tmp:
        model.save(tmp)
    sidecar = dict(sidecar)
    if tflite:
        try:
            t0 = time.perf_counter()
            blob = to_tflite(model, int8_weights=int8_weights)
            with atomic_path(path.with_suffix(".tflite"), ".tflite") as tmp:
                tmp.write_bytes(blob)
            sidecar["tflite"] = path.with_suffix(".tflite").name
            sidecar["tflite_weights"] = "int8" if int8_weights else "float32"
            sidecar["tflite_seconds"] = round(time.perf_counter() - t0, 2)
        except Exception as exc:  # the converter raises many types; conversion is optional
            sidecar["tflite"] = None
            sidecar["tflite_error"] = str(exc).splitlines()[0][:200]
    save_json(sidecar_path(path), sidecar)
    if recipe is not None:
        artifacts.commit(path, recipe)
    return sidecar


def check_keras_path(path: str | Path) -> Path:
    """``path`` as a Path if it names a ``.keras`` file; else a CourseError saying so (before any training)."""
    if Path(path).suffix != ".keras":
        raise CourseError(f"{path}: Keras 3 saves models as .keras files; use a name ending in .keras.")
    return Path(path)


def save_target(path: str | Path, data: str, epochs: int) -> tuple[Path, str]:
    """Where a model trained on ``data`` for ``epochs`` epochs goes when its owner asked for the default ``path``:
    ``(path, "")``, unless ``path`` holds a model this one must not replace (one trained on FER2013 while this one is
    not, or on the same data for more epochs: a learner's long run, lost to a quick try). Then a name beside it that
    says data and epochs, and one sentence saying so (the old model stays where notebook 06 finds it). A model trained
    on other data that this one replaces (the stand-in's, by a first FER2013 run) is named in the sentence too."""
    path = Path(path)
    try:
        old = json.loads(sidecar_path(path).read_text(encoding="utf-8")) if path.exists() else {}
    except (OSError, ValueError):
        old = {}
    old_data, old_epochs = old.get("data"), int(old.get("epochs") or 0)
    keep = (old_data == "FER2013" and data != "FER2013") or (old_data == data and old_epochs > epochs)
    new_run = f"{data}, {epochs} epoch{'s' * (epochs != 1)}"
    old_run = f"{old_data} for {old_epochs} epoch{'s' * (old_epochs != 1)}"
    if not keep:
        return path, ("" if old_data in (None, data) else f"this run's model ({new_run}) replaces the one in {path.name} "
                      f"(trained on {old_run}): notebook 06 now uses it. Set MODEL_PATH to keep both.")
    slug = re.sub(r"[^a-z0-9]+", "-", data.lower()).strip("-")
    beside = path.with_name(f"{path.stem}_{slug}_{epochs}ep{path.suffix}")
    return beside, (f"{path.name} holds a model trained on {old_run}, which this run's ({new_run}) does not replace: "
                    f"saved as {beside.name} instead. Notebook 06 keeps using {path.name}; to replace it, set MODEL_PATH "
                    "to its path (or delete it) and run this cell again.")
