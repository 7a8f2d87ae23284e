"""Notebook 04: train and serve a CNN that finds the 68 landmarks in a face crop.

The pieces, in the order the notebook uses them:

* :mod:`helpers.landmark_data` -- crops as the networks see them, augmentation, the record sets in memory;
* :mod:`helpers.landmark_nets` -- the ``baseline`` (the original project's "image in, 136 numbers
  out" net), the course's heat-map CNN and the ``regression`` ablation between them;
* here: the NME metric, :func:`train_model` (seeded, time-budgeted and resumable through
  :mod:`helpers.training`: the model *with its optimizer state* and a JSON state are saved every
  ``checkpoint_every`` seconds, and the same call after an interrupted kernel continues from
  there), :func:`evaluate`, saving (``.keras`` + TFLite + a sidecar JSON of how crops are cut) and
  :class:`CNNLandmarker`, which serves the saved model to the live demo one face at a time.

Measurements (latency comparisons, the benchmark) live in :mod:`helpers.landmark_experiments`.
"""
from __future__ import annotations

import dataclasses
import math
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, NamedTuple

import numpy as np
from tqdm.auto import tqdm

from . import artifacts
from .errors import CourseError
from .landmark_data import (INPUT_SIZE, Augment, FaceData, crop_geometry, grey_crops, augment,
                            load_face_data, prepare)
from .landmark_nets import (COURSE_KIND, NAMES, inference_fn, keras_module, register_custom_objects, tf_module, build_model,
                            compile_model, predict_batch)
from .landmarks import CROP_SIZE, MARGIN, crop_face, from_crop, nme, point_errors, region_nme, to_gray  # noqa: F401
from .paths import models_dir, shown, work_dir
from .saved_models import model_recipe, save_trained, sidecar_path
from .storage import load_json
from .training import Checkpoint, TrainResult, checkpoint_callback, fingerprint, new_state, run_folder


# ------------------------------------------------------------------------------------------------- training
def _schedule(progress: float, peak: float, warmup: float = 0.03) -> float:
    """Learning rate at ``progress`` (0-1) of the budget: linear warm-up, then cosine down to 2 % of the peak."""
    if progress < warmup:
        return peak * (0.1 + 0.9 * progress / warmup)
    p = min(1.0, (progress - warmup) / (1 - warmup))
    return peak * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * p)))


def evaluate(model, data: FaceData, size: int = INPUT_SIZE) -> dict[str, Any]:
    """NME of ``model`` against ``data``'s points (dlib's, or people's): mean, median, per frame, predictions (crop px).

    ``model`` is a Keras model, or a :class:`CNNLandmarker` (e.g. its TFLite file with int8 weights), run face by face.
    """
    x, _ = prepare(data.crops, data.points, size)
    crop_size = data.crops.shape[1]
    if isinstance(model, CNNLandmarker):
        pred = np.stack([model.predict_input(x[i:i + 1]) for i in range(len(x))]) * size
    else:
        pred = predict_batch(model, x) * size
    m = crop_geometry(size, crop_size)
    pred_crop = (pred - m[:, 2]) / m[0, 0]  # input pixels -> crop pixels (pure scale, no rotation)
    per = nme(pred_crop, data.points)
    return {"nme": float(per.mean()), "median": float(np.median(per)), "per_frame": per,
            "pred": pred_crop.astype(np.float32)}


def mean_shape_nme(train: FaceData, test: FaceData) -> float:
    """NME of always answering the training frames' mean shape: the score of a model that learnt nothing."""
    mean = train.points.mean(axis=0)
    return float(nme(np.broadcast_to(mean, test.points.shape), test.points).mean())


def checkpoint_dir(name: str) -> Path:
    """A checkpoint folder you name yourself (``train_model(..., checkpoint=checkpoint_dir("demo"))``).

    Without one, :func:`train_model` keeps each run in a folder of its own settings (:func:`helpers.training.run_folder`).
    """
    return work_dir("04_landmark_cnn") / f"checkpoint_{name}"


def training_config(kind: str, train: FaceData, *, seconds: float = 60.0, max_epochs: int | None = None,
                    batch_size: int = 16, seed: int = 42, size: int = INPUT_SIZE, lr: float | None = None,
                    aug: Augment | bool | None = None,
                    init_from: Any | None = None) -> dict[str, Any]:
    """Everything that changes :func:`train_model`'s result, with fingerprints of the data and starting weights.

    A checkpoint resumes only under the same config, and a saved model's recipe is built from it.
    """
    augmentation = kind != "baseline" if aug is None else aug is not False
    config = {"kind": kind, "seed": seed, "size": size, "batch_size": batch_size, "augmentation": augmentation,
              "seconds": float(seconds) if seconds else None, "max_epochs": max_epochs, "lr": lr,
              # the ranges in full, defaults too: a change of Augment's defaults makes a new recipe, not a stale reuse
              "aug": dataclasses.asdict(aug if isinstance(aug, Augment) else Augment()) if augmentation else None,
              "data": train.fingerprint()}
    if init_from is not None:  # a fine-tuning run resumes only from the same starting weights
        config["init"] = fingerprint(*init_from.get_weights())
    return config


def train_model(kind: str, train: FaceData, held_out: FaceData | None = None, *, seconds: float = 60.0,
                max_epochs: int | None = None, batch_size: int = 16, seed: int = 42, size: int = INPUT_SIZE,
                lr: float | None = None, aug: Augment | bool | None = None,
                resume: bool = True, init_from: Any | None = None,
                checkpoint: str | Path | None = None, checkpoint_every: float = 15.0, progress: bool = True,
                on_epoch_end: Callable[[int, dict], None] | None = None) -> TrainResult:
    """Train a model of ``kind`` for ``seconds`` of training time (and/or ``max_epochs``); seeded and resumable.

    The baseline trains on the crops as they are with a constant learning rate; the course models
    see augmented crops and a warm-up + cosine learning rate that follows the fraction of the
    budget used. ``aug``: None for the kind's default (off for the baseline, :class:`Augment`'s ranges
    for the others), False for none, an :class:`Augment` for other ranges. Batches of 16 by default: on
    a CPU the time per image hardly depends on the batch size, so a time budget spent on batches of 16
    makes twice as many updates as on batches of 32. The course models end with the moving
    average of their weights (see :func:`compile_model`), except when fine-tuning (``init_from``).
    ``history`` holds per epoch the training loss, the elapsed seconds and, if ``held_out`` is
    given, its NME (watched, never used to pick anything).

    The checkpoint (model + optimizer + JSON state) is saved every ``checkpoint_every`` seconds and
    at the end; with ``resume=True`` a call with the same kind/seed/data continues from it. An
    unfinished run's checkpoint resumes; a finished one is returned as it is (delete the folder, or
    pass ``resume=False``, to train again). ``init_from`` (a Keras model of the same kind and size) starts
    from its weights instead of random ones: fine-tuning (:mod:`helpers.personal`).
    """
    tf = tf_module()
    keras = keras_module()
    register_custom_objects()
    if len(train) == 0:
        raise CourseError("no training faces. Run notebooks 02 and 03 first (helpers.record_sets.ensure_records()).")
    if not seconds and not max_epochs:
        raise CourseError("give a budget: seconds > 0 and/or max_epochs > 0.")
    config = training_config(kind, train, seconds=seconds, max_epochs=max_epochs, batch_size=batch_size, seed=seed,
                             size=size, lr=lr, aug=aug, init_from=init_from)
    seconds = float(seconds) if seconds else math.inf
    augmentation = config["augmentation"]
    aug = aug if isinstance(aug, Augment) else None  # None: the default ranges
    ckpt = Checkpoint(checkpoint or run_folder("04_landmark_cnn", kind, config), config)
    state = ckpt.saved_state() if resume else None
    model = None
    resumed_from = 0
    if state is not None:
        model = ckpt.load_model()
        resumed_from = state["epoch"]
        if progress and not state["finished"]:
            print(f"Resuming {kind} from its checkpoint: epoch {state['epoch']}, {state['seconds']:.0f} s trained so far.")
    else:
        state = new_state()
        model = compile_model(build_model(kind, size, seed), kind, size, lr, ema=init_from is None)
        if init_from is not None:
            model.set_weights(init_from.get_weights())
            for layer in model.layers:  # keep batch norm's statistics: a few small batches of one face would skew them
                if isinstance(layer, keras.layers.BatchNormalization):
                    layer.trainable = False
    peak = lr or (1e-3 if kind == "baseline" else 3e-3)
    if state["finished"]:
        if progress:
            print(f"{kind}: reusing the finished training in {shown(ckpt.folder)} ({state['epoch']} epochs, "
                  f"{state['seconds']:.0f} s); pass resume=False (or delete the folder) to train again.")
        return _result(model, kind, state, resumed_from, size, config, ckpt.folder)

    loss_fn = keras.losses.get(model.loss) if isinstance(model.loss, str) else model.loss
    opt = model.optimizer

    @tf.function(reduce_retracing=True)
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(loss_fn(y, model(x, training=True)))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    x_plain, y_plain = prepare(train.crops, train.points, size) if not augmentation else (None, None)
    grey = grey_crops(train.crops) if augmentation else None  # once, not per batch
    x_held = None
    if held_out is not None and len(held_out):
        x_held, _ = prepare(held_out.crops, held_out.points, size)
    n = len(train)
    steps_per_epoch = max(1, n // batch_size) if n >= batch_size else 1
    total_steps = max_epochs * steps_per_epoch if max_epochs else None

    saver = checkpoint_callback(ckpt, state, every_seconds=checkpoint_every)
    saver.set_model(model)
    by_epoch = seconds == math.inf  # an epoch budget: the bar counts epochs, else seconds of training
    unit = "epochs" if by_epoch else "s"
    bar = tqdm(total=(max_epochs or None) if by_epoch else round(seconds),
               initial=state["epoch"] if by_epoch else min(round(state["seconds"]), round(seconds)),
               desc=f"training {kind}", unit=unit, disable=not progress,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total_fmt} " + unit + "{postfix}")  # ", epoch ..."
    stop = False
    pool = ThreadPoolExecutor(1)
    try:
        while not stop:
            epoch = state["epoch"]
            if max_epochs and epoch >= max_epochs:
                break
            rng = np.random.default_rng([seed, epoch])  # the same epoch sees the same batches, resumed or not
            t_epoch = time.perf_counter()
            order = rng.permutation(n)
            losses = []

            def make(b: int, rng=rng, order=order):
                idx = order[b * batch_size:(b + 1) * batch_size]
                if augmentation:
                    return augment(grey[idx], train.points[idx], rng, size, aug)
                return x_plain[idx], y_plain[idx]

            # the next batch is augmented in a thread while the network trains on this one (OpenCV and
            # TensorFlow release the GIL); one producer uses the epoch's generator in order: same batches
            t0 = time.perf_counter()
            pending = pool.submit(make, 0)
            for b in range(steps_per_epoch):
                xb, yb = pending.result()
                if b + 1 < steps_per_epoch:
                    pending = pool.submit(make, b + 1)
                if kind != "baseline":
                    frac = state["seconds"] / seconds if seconds != math.inf else 0.0
                    if total_steps:
                        frac = max(frac, (epoch * steps_per_epoch + b) / total_steps)
                    opt.learning_rate.assign(_schedule(frac, peak))
                losses.append(float(step(tf.constant(xb), tf.constant(yb))))
                t1 = time.perf_counter()
                state["seconds"] += t1 - t0
                t0 = t1
                if progress and not by_epoch:
                    bar.n = min(round(state["seconds"]), bar.total)
                if state["seconds"] >= seconds:
                    stop = True
                    break
            rec = {"epoch": epoch + 1, "loss": float(np.mean(losses)), "elapsed": round(state["seconds"], 2),
                   "lr": float(keras.ops.convert_to_numpy(opt.learning_rate)),
                   "epoch_seconds": round(time.perf_counter() - t_epoch, 3)}
            if x_held is not None:
                pred = predict_batch(model, x_held) * size
                m = crop_geometry(size, held_out.crops.shape[1])
                rec["held_out_nme"] = float(nme((pred - m[:, 2]) / m[0, 0], held_out.points).mean())
            state["history"].append(rec)
            if progress:
                if by_epoch:
                    bar.n = rec["epoch"]
                bar.set_postfix_str(f"epoch {rec['epoch']}, loss {rec['loss']:.4g}"
                                    + (f", held-out NME {rec['held_out_nme']:.1%}" if "held_out_nme" in rec else ""))
            saver.on_epoch_end(epoch, rec)  # sets state["epoch"]; saves every checkpoint_every seconds
            if on_epoch_end is not None:
                on_epoch_end(epoch + 1, rec)
        if getattr(opt, "use_ema", False):  # the course models: the weights' moving average is the result
            opt.finalize_variable_values(model.trainable_variables)
        ckpt.finish(model, state)
    finally:
        pool.shutdown(wait=True)
        bar.close()
    return _result(model, kind, state, resumed_from, size, config, ckpt.folder)


def _result(model, kind: str, state: dict[str, Any], resumed_from: int, size: int, config: dict[str, Any],
            folder: Path) -> TrainResult:
    return TrainResult(model, kind, state["history"], state["epoch"], state["seconds"], resumed_from, config, size,
                       label=NAMES[kind], folder=folder)


# ------------------------------------------------------------------------------------------------- saving, serving
TRAINER_SETTINGS = ("seconds", "max_epochs", "batch_size", "seed", "size", "lr", "augmentation", "aug")
"""The :func:`training_config` settings a caller chooses (all but the kind): what a saved model's check adopts."""


def default_model_path() -> Path:
    """Where the course model is saved for the live demo: ``data/models/landmark_cnn.keras``."""
    return models_dir() / "landmark_cnn.keras"


def save_model(result: TrainResult, path: str | Path | None = None, metrics: dict[str, Any] | None = None,
               tflite: bool = True, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Save a trained model in the course's layout (:mod:`helpers.saved_models`): ``.keras``, ``.tflite``, the
    sidecar (how its crops are cut, ``metrics``, ``extra`` keys) and its recipe; return the sidecar.

    A TrainResult made by hand (no ``config``) gets no recipe, so no ``ensure_*`` function reuses it.
    """
    meta = {"kind": result.kind, "name": NAMES[result.kind], "input_size": result.size, "crop_size": CROP_SIZE,
            "margin": MARGIN, "epochs": result.epochs, "train_seconds": round(result.seconds, 1),
            "points": "68 (x, y), units of the input side", "metrics": metrics or {}} | (extra or {})
    return save_trained(result.model, Path(path or default_model_path()), meta, tflite=tflite,
                        recipe=model_recipe("landmark_model", result.config) if result.config else None)


class LoadedModel(NamedTuple):
    """What :func:`load_model` returns: the Keras model and its sidecar, to unpack as ``model, meta = load_model()``."""

    model: Any
    meta: dict[str, Any]

    def __getattr__(self, name: str):
        if name.startswith("_"):  # Python's and IPython's own probes (``_repr_html_``...) get the usual error
            raise AttributeError(name)
        raise AttributeError(f"load_model() returns two things, the model and its description: write "
                             f"`model, meta = load_model()` and then `model.{name}` (this is the pair, not the model).")


def load_model(path: str | Path | None = None) -> LoadedModel:
    """Load a saved landmark model (``.keras``) and its sidecar: ``(model, meta)`` (a :class:`LoadedModel`)."""
    keras = keras_module()
    register_custom_objects()
    path = Path(path or default_model_path())
    if not path.exists():
        raise CourseError(f"no landmark model at {path}. Run notebook 04 (or helpers.landmark_cnn.ensure_landmark_model()).")
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as exc:
        raise CourseError(f"{path} is not a readable Keras model ({str(exc).splitlines()[0][:200]}). "
                          "Delete it and run notebook 04 again.") from None
    side = sidecar_path(path)
    meta = load_json(side) if side.exists() else {"kind": model.name, "name": NAMES.get(model.name, model.name),
                                                  "input_size": model.input_shape[1], "crop_size": CROP_SIZE,
                                                  "margin": MARGIN}
    return LoadedModel(model, meta)


def ensure_landmark_model(path: str | Path | None = None, *, progress: bool = True, seconds: float | None = None) -> Path:
    """The trained course model's path; trained first (saying why) unless a model of the current training data is saved.

    ``seconds=None`` accepts the saved model whatever its budget (notebook 04's 40 epochs, say) as long as
    it learnt from the current records; when there is none, or it learnt from other data, a small course
    model is trained for ``seconds`` (default 90 s) of training time.
    """
    path = Path(path or default_model_path())
    data = load_face_data(progress=progress)
    recipe = model_recipe("landmark_model", training_config(COURSE_KIND, data["train"], seconds=seconds or 90.0))
    if seconds is None:  # notebook 04's budget and settings
        recipe = artifacts.adopt(path, recipe, TRAINER_SETTINGS)
    reason = artifacts.why_rebuild(path, recipe, also=(sidecar_path(path),))
    if reason is None:
        return path
    budget = seconds or 90.0
    artifacts.announce("The landmark model", path, reason,
                       f"Training a small course model now ({budget:.0f} s budget; notebook 04 trains and explains it).")
    result = train_model(COURSE_KIND, data["train"], data["held_out"], seconds=budget, progress=progress)
    metrics = {"held_out_nme": evaluate(result.model, data["held_out"], result.size)["nme"]}
    save_model(result, path, metrics)
    return path


class CNNLandmarker:
    """Loads the saved course model once; predicts 68 points for a face box in a full frame.

    Crops exactly as training did (:func:`helpers.landmarks.crop_face` with the sidecar's crop size and
    margin, then :func:`prepare`), runs a TFLite interpreter if the model was converted (else a direct
    call wrapped in ``tf.function``, never ``model.predict``), and maps the points back with
    :func:`helpers.landmarks.from_crop`. ``tflite`` (a flat buffer from :func:`helpers.saved_models.to_tflite`)
    runs instead of the saved ``.tflite`` file, e.g. to compare float32 and int8 weights. ``loaded``: the
    ``(model, meta)`` of :func:`load_model` for ``path``, already in memory (nothing is read again).
    """

    def __init__(self, path: str | Path | None = None, *, use_tflite: bool = True, tflite: bytes | None = None,
                 loaded: tuple[Any, dict] | None = None):
        path = Path(path or default_model_path())
        self.model, self.meta = loaded if loaded is not None else load_model(path)
        self.path = path
        self.size = int(self.meta.get("input_size", INPUT_SIZE))
        self.crop_size = int(self.meta.get("crop_size", CROP_SIZE))
        self.margin = float(self.meta.get("margin", MARGIN))
        self.name: str = self.meta.get("name", NAMES.get(self.meta.get("kind", ""), "landmark CNN"))
        self._m = crop_geometry(self.size, self.crop_size)
        self._interp = None
        tfl = path.with_suffix(".tflite")
        # the weights the sidecar says the saved file holds (a model saved before sidecars said so: float32)
        self.tflite_weights = self.meta.get("tflite_weights", "float32") if tflite is None else "given"
        if use_tflite and (tflite is not None or (self.meta.get("tflite") and tfl.exists())):
            try:
                import warnings
                tf = tf_module()
                with warnings.catch_warnings():  # tf.lite.Interpreter warns it will move to the ai-edge-litert package
                    warnings.simplefilter("ignore")
                    self._interp = (tf.lite.Interpreter(model_content=tflite, num_threads=1) if tflite is not None
                                    else tf.lite.Interpreter(model_content=tfl.read_bytes(), num_threads=1))
                self._interp.allocate_tensors()
                self._in = self._interp.get_input_details()[0]["index"]
                self._out = self._interp.get_output_details()[0]["index"]
            except Exception:  # fall back to the Keras model
                self._interp = None
        self.backend = "tflite" if self._interp is not None else "tf.function"
        self.predict(np.zeros((self.crop_size, self.crop_size), np.uint8), (32, 32, 96, 96))  # warm up / trace once

    def crop(self, gray: np.ndarray, box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
        """:func:`helpers.landmarks.crop_face` on just the part of the frame the crop square covers: ``(crop, matrix)``.

        crop_face shrinks the whole image first (area averaging), which costs more than the network
        on a full frame; cutting the square's region out first gives the same crop (up to rounding)
        while resampling only the pixels it needs. ``matrix`` maps full-frame pixels to crop pixels.
        """
        left, top, right, bottom = (int(v) for v in box)
        half = max(right - left, bottom - top) * (1 + 2 * self.margin) / 2 + 4
        cx, cy = (left + right) / 2, (top + bottom) / 2
        h, w = gray.shape[:2]
        x0, y0 = max(0, int(cx - half)), max(0, int(cy - half))
        x1, y1 = min(w, int(np.ceil(cx + half)) + 1), min(h, int(np.ceil(cy + half)) + 1)
        if x1 - x0 < 2 or y1 - y0 < 2:  # box (almost) outside the frame: let crop_face handle it
            return crop_face(gray, (left, top, right, bottom), self.crop_size, self.margin)
        crop, m = crop_face(gray[y0:y1, x0:x1], (left - x0, top - y0, right - x0, bottom - y0), self.crop_size, self.margin)
        m = m.copy()
        m[:, 2] -= m[:, :2] @ np.array([x0, y0], np.float32)
        return crop, m

    def predict_input(self, x: np.ndarray) -> np.ndarray:
        """Network input (1, S, S, 1) float32 -> (68, 2) points in units of the input side."""
        if self._interp is not None:
            self._interp.set_tensor(self._in, np.ascontiguousarray(x, np.float32))
            self._interp.invoke()
            return self._interp.get_tensor(self._out)[0]
        return inference_fn(self.model)(x).numpy()[0]

    def predict(self, image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """Full frame (BGR, BGRA or grey uint8) + face box (left, top, right, bottom) -> (68, 2) float32 frame pixels."""
        crop, m_crop = self.crop(to_gray(image), box)
        x = prepare(crop[None], size=self.size)
        pts = self.predict_input(x) * self.size
        pts_crop = (pts - self._m[:, 2]) / self._m[0, 0]
        return from_crop(pts_crop, m_crop).astype(np.float32)
