"""Notebook 04: a CNN that finds the 68 landmarks in a face crop, against the seed's "image in, 136 numbers out".

Two models train on the same frames with the same wall-clock budget:

* **baseline** (the seed, faithfully): a plain conv net without batch norm regressing the 136
  numbers with mean squared error, constant learning rate, no augmentation;
* **course model**: batch norm, augmentation applied consistently to image *and* points (rotation,
  scale, shift, brightness/contrast, horizontal flip with :data:`helpers.landmarks.FLIP_PERMUTATION`),
  a robust loss (wing loss) and a learning-rate schedule, predicting 68 *heat-maps* decoded by
  soft-argmax (the seed's author's guess, made to work).

A third kind, ``"regression"`` (batch norm + augmentation + wing loss, but 136 numbers out), is the
ablation between the two.

Every model takes ``(N, S, S, 1)`` float32 grey crops in [0, 1] (S = ``input_size``, 64 by default)
and returns ``(N, 68, 2)`` points in units of the crop side (0-1). Crops are cut exactly as notebook 02
did (:func:`helpers.landmarks.crop_face`, margin 0.3, 128 px) and resized here; the sidecar JSON saved
next to a model records these numbers, and :class:`CNNLandmarker` uses them.

Training (:func:`train_model`) is seeded and resumable: every few seconds the model *with its
optimizer state* is saved to a checkpoint folder together with a JSON state (epoch, elapsed seconds,
history); running the same call again after an interrupted kernel continues from there.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np
from tqdm.auto import tqdm

from .timing import latency_ms
from .errors import CourseError
from .landmarks import FLIP_PERMUTATION, OUTER_EYE_CORNERS, REGIONS, crop_face, from_crop, to_gray
from .paths import models_dir, work_dir
from .storage import atomic_path, load_json, save_json

CROP_SIZE = 128
"""Side of the crops notebook 02 saved (pixels); the live demo cuts the same crop."""
MARGIN = 0.3
"""Margin around dlib's face box used by notebook 02 (see :func:`helpers.landmarks.crop_face`)."""
INPUT_SIZE = 64
"""Side of the grey square the networks see (pixels)."""
KINDS = ("baseline", "regression", "heatmap")
COURSE_KIND = "heatmap"
NAMES = {"baseline": "seed-like CNN (136 numbers, MSE)", "regression": "BN + augmentation + wing (136 numbers)",
         "heatmap": "course CNN (heat-map)"}


def _tf():
    import tensorflow as tf
    return tf


def _keras():
    import keras
    return keras


# ------------------------------------------------------------------------------------------------- data preparation
def _geometry(size: int, crop_size: int, angle: float = 0.0, scale: float = 1.0, shift: tuple[float, float] = (0.0, 0.0),
              flip: bool = False) -> np.ndarray:
    """2x3 matrix: crop pixels -> network-input pixels (resize, then rotate/scale about the centre, shift, mirror)."""
    c_in, c_out = (crop_size - 1) / 2, (size - 1) / 2
    s = scale * size / crop_size
    a = math.radians(angle)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]) * s
    m = np.zeros((2, 3))
    m[:, :2] = rot
    m[:, 2] = np.array([c_out, c_out]) + np.array(shift) * size - rot @ np.array([c_in, c_in])
    if flip:  # x -> (size - 1) - x, the pixel-exact mirror of cv2.flip
        m[0] = -m[0]
        m[0, 2] += size - 1
    return m.astype(np.float32)


def _grey(crops: np.ndarray) -> np.ndarray:
    crops = np.asarray(crops)
    if crops.ndim == 3:  # already (N, H, W) grey
        return crops
    return np.stack([to_gray(c) for c in crops])


def prepare(crops: np.ndarray, points: np.ndarray | None = None, size: int = INPUT_SIZE):
    """Crops (N, H, W, 3) uint8 BGR (or grey) -> network input (N, size, size, 1) float32 [0, 1].

    With ``points`` (N, 68, 2) crop pixels also returns them in units of the input side (0-1).
    """
    grey = _grey(crops)
    crop_size = grey.shape[1]
    m = _geometry(size, crop_size)
    flag = cv2.INTER_AREA if size < crop_size else cv2.INTER_LINEAR
    x = np.stack([cv2.warpAffine(g, m, (size, size), flags=flag, borderMode=cv2.BORDER_REPLICATE) for g in grey])
    x = (x.astype(np.float32) / 255.0)[..., None]
    if points is None:
        return x
    pts = np.asarray(points, np.float32) @ m[:, :2].T + m[:, 2]
    return x, (pts / size).astype(np.float32)


@dataclass
class Augment:
    """Random changes applied to each training crop, the same geometry to its 68 points."""

    rotate: float = 30.0       # degrees, uniform in [-rotate, rotate]
    scale: float = 0.12        # relative, uniform in [1 - scale, 1 + scale]
    shift: float = 0.06        # fraction of the side, uniform in [-shift, shift] in x and y
    flip: float = 0.5          # probability of a horizontal mirror (points re-numbered by FLIP_PERMUTATION)
    brightness: float = 0.25   # added, uniform in [-brightness, brightness] (image in 0-1)
    contrast: float = 0.3      # multiplied, uniform in [1 - contrast, 1 + contrast]
    blur: float = 0.2          # probability of a small Gaussian blur
    noise: float = 0.02        # std of Gaussian pixel noise


def augment(crops: np.ndarray, points: np.ndarray, rng: np.random.Generator, size: int = INPUT_SIZE,
            aug: Augment | None = None, force_flip: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Randomly transform crops (N, H, W, 3|grey) uint8 and their points (N, 68, 2) crop pixels consistently.

    Returns network inputs (N, size, size, 1) float32 [0, 1] and points (N, 68, 2) in units of the side.
    A mirrored face has its points re-numbered with FLIP_PERMUTATION, so point 36 is still the
    subject's right outer eye corner. ``force_flip`` overrides the random choice (tests).
    """
    aug = aug or Augment()
    grey = _grey(crops)
    crop_size = grey.shape[1]
    n = len(grey)
    xs = np.empty((n, size, size), np.float32)
    ps = np.empty((n, 68, 2), np.float32)
    for i in range(n):
        flip = bool(rng.random() < aug.flip) if force_flip is None else force_flip
        m = _geometry(size, crop_size, angle=rng.uniform(-aug.rotate, aug.rotate),
                      scale=rng.uniform(1 - aug.scale, 1 + aug.scale),
                      shift=tuple(rng.uniform(-aug.shift, aug.shift, 2)), flip=flip)
        img = cv2.warpAffine(grey[i], m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        if rng.random() < aug.blur:
            img = cv2.GaussianBlur(img, (3, 3), 0)
        img = img.astype(np.float32) / 255.0
        img = (img - 0.5) * rng.uniform(1 - aug.contrast, 1 + aug.contrast) + 0.5 + rng.uniform(-aug.brightness, aug.brightness)
        if aug.noise:
            img = img + rng.normal(0, aug.noise, img.shape).astype(np.float32)
        xs[i] = np.clip(img, 0, 1)
        pts = np.asarray(points[i], np.float32) @ m[:, :2].T + m[:, 2]
        ps[i] = pts[FLIP_PERMUTATION] if flip else pts
    return xs[..., None], ps / size


# ------------------------------------------------------------------------------------------------- metric
def nme(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Normalised mean error per face: mean point distance / inter-ocular distance (points 36 and 45).

    pred, true: (N, 68, 2) in the same units (any); returns (N,) fractions (0.05 = 5 %).
    """
    pred, true = np.asarray(pred, np.float64), np.asarray(true, np.float64)
    if pred.shape != true.shape or pred.shape[-2:] != (68, 2):
        raise CourseError(f"nme needs two (N, 68, 2) arrays of the same shape, got {pred.shape} and {true.shape}.")
    a, b = OUTER_EYE_CORNERS
    iod = np.linalg.norm(true[..., a, :] - true[..., b, :], axis=-1)
    if np.any(iod <= 0):
        raise CourseError("a face has zero inter-ocular distance (points 36 and 45 coincide): its points are broken.")
    return np.linalg.norm(pred - true, axis=-1).mean(axis=-1) / iod


def point_errors(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Error of every point divided by the face's inter-ocular distance: (N, 68)."""
    pred, true = np.asarray(pred, np.float64), np.asarray(true, np.float64)
    a, b = OUTER_EYE_CORNERS
    iod = np.linalg.norm(true[..., a, :] - true[..., b, :], axis=-1)
    return np.linalg.norm(pred - true, axis=-1) / iod[..., None]


def region_nme(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """Mean normalised error per facial region (jaw, brows, nose, eyes, mouth)."""
    err = point_errors(pred, true)
    return {name: float(err[:, list(idx)].mean()) for name, idx in REGIONS.items()}


# ------------------------------------------------------------------------------------------------- models
def _register():
    """Define (once) the custom layer and loss, registered so ``.keras`` files load them by name."""
    global SoftArgmax, WingLoss
    if "SoftArgmax" in globals():
        return
    keras = _keras()
    from keras import ops

    @keras.saving.register_keras_serializable(package="course")
    class SoftArgmax(keras.layers.Layer):
        """(N, h, w, 68) heat-map logits -> (N, 68, 2) expected (x, y) of each map, in units of the input side."""

        def __init__(self, stride: int, size: int, **kwargs):
            super().__init__(**kwargs)
            self.stride, self.size = stride, size

        def call(self, logits):
            shape = ops.shape(logits)
            h, w = logits.shape[1], logits.shape[2]
            flat = ops.reshape(ops.transpose(logits, (0, 3, 1, 2)), (shape[0], 68, h * w))
            prob = ops.softmax(flat, axis=-1)
            # centre of heat-map cell j in input pixels is stride * j + (stride - 1) / 2
            xs = (ops.arange(w, dtype="float32") * self.stride + (self.stride - 1) / 2) / self.size
            ys = (ops.arange(h, dtype="float32") * self.stride + (self.stride - 1) / 2) / self.size
            gx = ops.reshape(ops.tile(xs[None, :], (h, 1)), (h * w,))
            gy = ops.reshape(ops.tile(ys[:, None], (1, w)), (h * w,))
            return ops.stack([ops.sum(prob * gx, axis=-1), ops.sum(prob * gy, axis=-1)], axis=-1)

        def get_config(self):
            return super().get_config() | {"stride": self.stride, "size": self.size}

    @keras.saving.register_keras_serializable(package="course")
    class WingLoss(keras.losses.Loss):
        """Wing loss (Feng et al. 2018) on point coordinates, errors measured in input pixels.

        Small errors count like log(1 + |e|/eps) (steep, so the last pixel still matters), large
        ones like |e| (robust: an odd frame does not dominate as with the squared error).
        """

        def __init__(self, size: int = INPUT_SIZE, w: float = 4.0, eps: float = 1.0, name: str = "wing_loss", **kwargs):
            super().__init__(name=name, **kwargs)
            self.size, self.w, self.eps = size, w, eps

        def call(self, y_true, y_pred):
            e = ops.abs(y_true - y_pred) * self.size
            c = self.w - self.w * math.log(1 + self.w / self.eps)
            loss = ops.where(e < self.w, self.w * ops.log(1 + e / self.eps), e - c)
            return ops.mean(ops.reshape(loss, (ops.shape(loss)[0], -1)), axis=-1)

        def get_config(self):
            return {"size": self.size, "w": self.w, "eps": self.eps, "name": self.name}

    globals().update(SoftArgmax=SoftArgmax, WingLoss=WingLoss)


def _conv(x, filters: int, stride: int = 1, bn: bool = True, name: str | None = None):
    keras = _keras()
    x = keras.layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=not bn, name=name)(x)
    if bn:
        x = keras.layers.BatchNormalization()(x)
    return keras.layers.ReLU()(x)


def build_model(kind: str = COURSE_KIND, size: int = INPUT_SIZE, seed: int = 42):
    """A fresh, uncompiled Keras model of ``kind`` ("baseline", "regression" or "heatmap"): (N, size, size, 1) -> (N, 68, 2)."""
    keras = _keras()
    _register()
    if kind not in KINDS:
        raise CourseError(f"kind must be one of {KINDS}, not {kind!r}.")
    if size % 16:
        raise CourseError(f"input size must be a multiple of 16, not {size}.")
    keras.utils.set_random_seed(seed)
    L = keras.layers
    inp = keras.Input((size, size, 1), name="grey_crop")
    if kind == "baseline":  # the seed: conv + pool blocks, no batch norm, dense head regressing 136 numbers
        x = inp
        for f in (32, 64, 128, 128):
            x = L.Conv2D(f, 3, padding="same", activation="relu")(x)
            x = L.MaxPooling2D()(x)
        x = L.Flatten()(x)
        x = L.Dense(256, activation="relu")(x)
        out = L.Reshape((68, 2), name="points")(L.Dense(136)(x))
        return keras.Model(inp, out, name="baseline")
    # encoder shared by the course models: batch norm after every convolution
    x = _conv(inp, 16, 2)                      # size/2
    x = _conv(x, 32)
    f4 = _conv(x, 32, 2)                       # size/4
    x = _conv(f4, 64, 2)                       # size/8
    f8 = _conv(x, 64)
    x = _conv(f8, 128, 2)                      # size/16
    f16 = _conv(x, 128)
    if kind == "regression":
        x = L.Flatten()(f16)
        x = L.Dropout(0.2)(L.Dense(256, activation="relu")(x))
        out = L.Reshape((68, 2), name="points")(L.Dense(136)(x))
        return keras.Model(inp, out, name="regression")
    # heat-map decoder: back up to size/4 with skip connections, one map per landmark
    u = L.Add()([L.UpSampling2D(2)(L.Conv2D(64, 1)(f16)), L.Conv2D(64, 1)(f8)])
    u = _conv(u, 64)
    u = L.Add()([L.UpSampling2D(2)(L.Conv2D(48, 1)(u)), L.Conv2D(48, 1)(f4)])
    u = _conv(u, 48)
    maps = L.Conv2D(68, 1, name="heatmaps")(u)
    out = SoftArgmax(4, size, name="points")(maps)
    return keras.Model(inp, out, name="heatmap")


def compile_model(model, kind: str, size: int = INPUT_SIZE, lr: float | None = None):
    """Attach optimizer and loss: MSE + Adam 1e-3 for the baseline, wing loss + AdamW (scheduled) for the others."""
    keras = _keras()
    _register()
    if kind == "baseline":
        model.compile(optimizer=keras.optimizers.Adam(lr or 1e-3), loss="mse")
    else:
        model.compile(optimizer=keras.optimizers.AdamW(lr or 3e-3, weight_decay=1e-4), loss=WingLoss(size))
    return model


# ------------------------------------------------------------------------------------------------- training
@dataclass
class FaceData:
    """Training or test faces in memory: crops (N, H, W, 3) uint8 BGR, points (N, 68, 2) crop pixels."""

    crops: np.ndarray
    points: np.ndarray
    name: str = ""

    def __len__(self) -> int:
        return len(self.crops)

    def fingerprint(self) -> str:
        """A short hash of the data, so a checkpoint is never resumed on other data."""
        import hashlib
        h = hashlib.sha256(self.crops[:, ::8, ::8].tobytes())
        h.update(np.round(self.points, 2).tobytes())
        return h.hexdigest()[:16]


def load_face_data(progress: bool = True) -> dict[str, FaceData]:
    """Notebook 03's record sets read back into memory: ``train``, ``held_out``, ``other_person``."""
    from .records import ensure_records, load_arrays
    ensure_records(progress=progress)
    out = {}
    for key, name in (("train", "sample_train"), ("held_out", "sample_heldout"), ("other_person", "other_person_test")):
        arr = load_arrays(name)
        out[key] = FaceData(arr.crops, arr.points, name)
    return out


@dataclass
class TrainResult:
    """What :func:`train_model` returns: the model, its per-epoch history, epochs, training seconds, resume info."""

    model: Any
    kind: str
    history: list[dict[str, float]] = field(default_factory=list)
    epochs: int = 0
    seconds: float = 0.0
    resumed_from: int = 0
    size: int = INPUT_SIZE
    label: str = ""  # a name for plots when one kind is trained with other settings (an ablation)

    @property
    def name(self) -> str:
        return self.label or NAMES[self.kind]


def _schedule(progress: float, peak: float, warmup: float = 0.03) -> float:
    """Learning rate at ``progress`` (0-1) of the budget: linear warm-up, then cosine down to 2 % of the peak."""
    if progress < warmup:
        return peak * (0.1 + 0.9 * progress / warmup)
    p = min(1.0, (progress - warmup) / (1 - warmup))
    return peak * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * p)))


def predict_batch(model, x: np.ndarray, batch_size: int = 128) -> np.ndarray:
    """Direct, graph-compiled calls of ``model`` on inputs (N, S, S, 1) -> (N, 68, 2); never ``model.predict``."""
    fn = _inference_fn(model)
    out = [fn(x[i:i + batch_size]).numpy() for i in range(0, len(x), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, 68, 2), np.float32)


def _inference_fn(model):
    fn = getattr(model, "_course_infer", None)
    if fn is None:
        tf = _tf()
        fn = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
        model._course_infer = fn
    return fn


def evaluate(model, data: FaceData, size: int = INPUT_SIZE) -> dict[str, Any]:
    """NME of ``model`` on ``data`` against dlib's points: mean, median, per-frame array and predictions (crop pixels)."""
    x, _ = prepare(data.crops, data.points, size)
    crop_size = data.crops.shape[1]
    pred = predict_batch(model, x) * size
    m = _geometry(size, crop_size)
    pred_crop = (pred - m[:, 2]) / m[0, 0]  # input pixels -> crop pixels (pure scale, no rotation)
    per = nme(pred_crop, data.points)
    return {"nme": float(per.mean()), "median": float(np.median(per)), "per_frame": per, "pred": pred_crop.astype(np.float32)}


def mean_shape_nme(train: FaceData, test: FaceData) -> float:
    """NME of always answering the training frames' mean shape: the score of a model that learnt nothing."""
    mean = train.points.mean(axis=0)
    return float(nme(np.broadcast_to(mean, test.points.shape), test.points).mean())


def checkpoint_dir(kind: str) -> Path:
    """Where :func:`train_model` keeps the resumable checkpoint of ``kind``."""
    return work_dir("04_landmark_cnn") / f"checkpoint_{kind}"


def train_model(kind: str, train: FaceData, held_out: FaceData | None = None, *, seconds: float = 60.0,
                max_epochs: int | None = None, batch_size: int = 32, seed: int = 42, size: int = INPUT_SIZE,
                lr: float | None = None, augmentation: bool | None = None, aug: Augment | None = None,
                resume: bool = True,
                checkpoint: str | Path | None = None, checkpoint_every: float = 15.0, progress: bool = True,
                on_epoch_end: Callable[[int, dict], None] | None = None) -> TrainResult:
    """Train a model of ``kind`` for ``seconds`` of training time (and/or ``max_epochs``); seeded and resumable.

    The baseline trains on the crops as they are with a constant learning rate; the course models
    see augmented crops and a warm-up + cosine learning rate that follows the fraction of the
    budget used (``aug`` changes the augmentation's ranges). ``history`` holds per epoch the training loss, the elapsed seconds and, if
    ``held_out`` is given, its NME (watched, never used to pick anything).

    The checkpoint (model + optimizer + JSON state) is saved every ``checkpoint_every`` seconds and
    at the end; with ``resume=True`` a call with the same kind/seed/data continues from it. An
    unfinished run's checkpoint resumes; a finished one is returned as it is (delete the folder, or
    pass ``resume=False``, to train again).
    """
    tf = _tf()
    keras = _keras()
    _register()
    if len(train) == 0:
        raise CourseError("no training faces. Run notebooks 02 and 03 first (helpers.records.ensure_records()).")
    if not seconds and not max_epochs:
        raise CourseError("give a budget: seconds > 0 and/or max_epochs > 0.")
    seconds = float(seconds) if seconds else math.inf
    augmentation = kind != "baseline" if augmentation is None else augmentation
    ckpt = Path(checkpoint) if checkpoint else checkpoint_dir(kind)
    config = {"kind": kind, "seed": seed, "size": size, "batch_size": batch_size, "augmentation": augmentation,
              "seconds": seconds if seconds != math.inf else None, "max_epochs": max_epochs, "lr": lr,
              "aug": dataclasses.asdict(aug) if aug else None,
              "data": train.fingerprint()}
    state = {"epoch": 0, "elapsed": 0.0, "history": [], "finished": False}
    model = None
    resumed_from = 0
    if resume and (ckpt / "state.json").exists() and (ckpt / "model.keras").exists():
        saved = load_json(ckpt / "state.json")
        if saved.get("config") == config:
            model = keras.models.load_model(ckpt / "model.keras")
            state = saved["state"]
            resumed_from = state["epoch"]
            if progress and not state["finished"]:
                print(f"Resuming {kind} from its checkpoint: epoch {state['epoch']}, {state['elapsed']:.0f} s trained so far.")
    if model is None:
        model = compile_model(build_model(kind, size, seed), kind, size, lr)
    peak = lr or (1e-3 if kind == "baseline" else 3e-3)
    if state["finished"]:
        if progress:
            print(f"{kind}: reusing the finished training in {ckpt} ({state['epoch']} epochs, {state['elapsed']:.0f} s); "
                  "pass resume=False (or delete the folder) to train again.")
        return TrainResult(model, kind, state["history"], state["epoch"], state["elapsed"], resumed_from, size)

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
    x_held = None
    if held_out is not None and len(held_out):
        x_held, _ = prepare(held_out.crops, held_out.points, size)
    n = len(train)
    steps_per_epoch = max(1, n // batch_size) if n >= batch_size else 1
    total_steps = max_epochs * steps_per_epoch if max_epochs else None

    def save_checkpoint():
        ckpt.mkdir(parents=True, exist_ok=True)
        with atomic_path(ckpt / "model.keras", ".keras") as tmp:
            model.save(tmp)
        save_json(ckpt / "state.json", {"config": config, "state": state})

    bar = tqdm(total=None if seconds == math.inf else round(seconds), initial=min(round(state["elapsed"]), round(seconds) if seconds != math.inf else 10**9),
               desc=f"training {kind}", unit="s", disable=not progress,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total_fmt} s [{postfix}]")
    last_save = time.perf_counter()
    stop = False
    try:
        while not stop:
            epoch = state["epoch"]
            if max_epochs and epoch >= max_epochs:
                break
            rng = np.random.default_rng([seed, epoch])  # the same epoch sees the same batches, resumed or not
            t_epoch = time.perf_counter()
            order = rng.permutation(n)
            losses = []
            for b in range(steps_per_epoch):
                idx = order[b * batch_size:(b + 1) * batch_size]
                t0 = time.perf_counter()
                if augmentation:
                    xb, yb = augment(train.crops[idx], train.points[idx], rng, size, aug)
                else:
                    xb, yb = x_plain[idx], y_plain[idx]
                if kind != "baseline":
                    frac = state["elapsed"] / seconds if seconds != math.inf else 0.0
                    if total_steps:
                        frac = max(frac, (epoch * steps_per_epoch + b) / total_steps)
                    opt.learning_rate.assign(_schedule(frac, peak))
                losses.append(float(step(tf.constant(xb), tf.constant(yb))))
                dt = time.perf_counter() - t0
                state["elapsed"] += dt
                if progress and seconds != math.inf:
                    bar.n = min(round(state["elapsed"]), bar.total)
                if state["elapsed"] >= seconds:
                    stop = True
                    break
            state["epoch"] = epoch + 1
            rec = {"epoch": epoch + 1, "loss": float(np.mean(losses)), "elapsed": round(state["elapsed"], 2),
                   "lr": float(keras.ops.convert_to_numpy(opt.learning_rate)),
                   "epoch_seconds": round(time.perf_counter() - t_epoch, 3)}
            if x_held is not None:
                pred = predict_batch(model, x_held) * size
                m = _geometry(size, held_out.crops.shape[1])
                rec["held_out_nme"] = float(nme((pred - m[:, 2]) / m[0, 0], held_out.points).mean())
            state["history"].append(rec)
            if progress:
                bar.set_postfix_str(f"epoch {rec['epoch']}, loss {rec['loss']:.4g}"
                                    + (f", held-out NME {rec['held_out_nme']:.1%}" if "held_out_nme" in rec else ""))
            if time.perf_counter() - last_save >= checkpoint_every:
                save_checkpoint()
                last_save = time.perf_counter()
            if on_epoch_end is not None:
                on_epoch_end(epoch + 1, rec)
        state["finished"] = True
        save_checkpoint()
    finally:
        bar.close()
    return TrainResult(model, kind, state["history"], state["epoch"], state["elapsed"], resumed_from, size)


# ------------------------------------------------------------------------------------------------- saving, serving
def default_model_path() -> Path:
    """Where the course model is saved for the live demo: ``data/models/landmark_cnn.keras``."""
    return models_dir() / "landmark_cnn.keras"


def __getattr__(name: str):
    """``MODEL_PATH`` is computed when asked for (``COURSE_DATA_DIR`` may change after import)."""
    if name == "MODEL_PATH":
        return default_model_path()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def sidecar_path(path: str | Path) -> Path:
    """The JSON next to a saved model that records how its crops are cut."""
    return Path(path).with_suffix(".json")


def save_model(result: TrainResult, path: str | Path | None = None, metrics: dict[str, Any] | None = None,
               tflite: bool = True) -> dict[str, Any]:
    """Save a trained model as ``.keras`` (+ ``.tflite`` if it converts) with its sidecar JSON; return the sidecar."""
    path = Path(path or default_model_path())
    with atomic_path(path, ".keras") as tmp:
        result.model.save(tmp)
    meta = {"kind": result.kind, "name": NAMES[result.kind], "input_size": result.size, "crop_size": CROP_SIZE,
            "margin": MARGIN, "epochs": result.epochs, "train_seconds": round(result.seconds, 1),
            "points": "68 (x, y), units of the input side", "metrics": metrics or {}}
    if tflite:
        try:
            t0 = time.perf_counter()
            data = to_tflite(result.model)
            with atomic_path(path.with_suffix(".tflite"), ".tflite") as tmp:
                tmp.write_bytes(data)
            meta["tflite"] = path.with_suffix(".tflite").name
            meta["tflite_seconds"] = round(time.perf_counter() - t0, 2)
        except Exception as exc:  # conversion is optional: keep going with the Keras model
            meta["tflite"] = None
            meta["tflite_error"] = str(exc).splitlines()[0][:200]
    save_json(sidecar_path(path), meta)
    return meta


def to_tflite(model) -> bytes:
    """Convert a Keras model to a TensorFlow Lite flat buffer (float32, no quantisation)."""
    tf = _tf()
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2
    size = model.input_shape[1]
    fn = tf.function(lambda x: model(x, training=False),
                     input_signature=[tf.TensorSpec((1, size, size, 1), tf.float32)])
    frozen = convert_variables_to_constants_v2(fn.get_concrete_function())  # weights become constants
    return tf.lite.TFLiteConverter.from_concrete_functions([frozen], model).convert()


def load_model(path: str | Path | None = None):
    """Load a saved landmark model (``.keras``) and its sidecar: ``(model, meta)``."""
    keras = _keras()
    _register()
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
    return model, meta


def ensure_landmark_model(path: str | Path | None = None, *, progress: bool = True, seconds: float = 90.0) -> Path:
    """Return the trained course model's path; if missing, train a small one (``seconds`` budget, saying so) and save it."""
    path = Path(path or default_model_path())
    if path.exists() and sidecar_path(path).exists():
        return path
    print(f"No landmark model at {path}: training a small course model now ({seconds:.0f} s budget; "
          "notebook 04 trains and explains it).")
    data = load_face_data(progress=progress)
    result = train_model(COURSE_KIND, data["train"], data["held_out"], seconds=seconds, progress=progress,
                         checkpoint=work_dir("04_landmark_cnn") / "checkpoint_ensure")
    metrics = {"held_out_nme": evaluate(result.model, data["held_out"], result.size)["nme"]}
    save_model(result, path, metrics)
    return path


class CNNLandmarker:
    """Loads the saved course model once; predicts 68 points for a face box in a full frame.

    Crops exactly as training did (:func:`helpers.landmarks.crop_face` with the sidecar's crop size and
    margin, then :func:`prepare`), runs a TFLite interpreter if the model was converted (else a direct
    call wrapped in ``tf.function``, never ``model.predict``), and maps the points back with
    :func:`helpers.landmarks.from_crop`.
    """

    def __init__(self, path: str | Path | None = None, *, use_tflite: bool = True):
        path = Path(path or default_model_path())
        self.model, self.meta = load_model(path)
        self.path = path
        self.size = int(self.meta.get("input_size", INPUT_SIZE))
        self.crop_size = int(self.meta.get("crop_size", CROP_SIZE))
        self.margin = float(self.meta.get("margin", MARGIN))
        self.name: str = self.meta.get("name", NAMES.get(self.meta.get("kind", ""), "landmark CNN"))
        self._m = _geometry(self.size, self.crop_size)
        self._interp = None
        tfl = path.with_suffix(".tflite")
        if use_tflite and self.meta.get("tflite") and tfl.exists():
            try:
                import warnings
                tf = _tf()
                with warnings.catch_warnings():  # tf.lite.Interpreter warns it will move to the ai-edge-litert package
                    warnings.simplefilter("ignore")
                    self._interp = tf.lite.Interpreter(model_path=str(tfl), num_threads=1)
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
        about 10x faster. ``matrix`` maps full-frame pixels to crop pixels.
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
        return _inference_fn(self.model)(x).numpy()[0]

    def predict(self, image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """Full frame (BGR, BGRA or grey uint8) + face box (left, top, right, bottom) -> (68, 2) float32 frame pixels."""
        crop, m_crop = self.crop(to_gray(image), box)
        x = prepare(crop[None], size=self.size)
        pts = self.predict_input(x) * self.size
        pts_crop = (pts - self._m[:, 2]) / self._m[0, 0]
        return from_crop(pts_crop, m_crop).astype(np.float32)


# ------------------------------------------------------------------------------------------------- benchmark


def heatmaps(model, x: np.ndarray) -> np.ndarray:
    """The heat-map model's 68 probability maps for inputs (N, S, S, 1): (N, S/4, S/4, 68), each map summing to 1."""
    keras = _keras()
    if "heatmaps" not in [layer.name for layer in model.layers]:
        raise CourseError(f"model {model.name!r} has no heat-maps: only the 'heatmap' kind predicts them.")
    logits = keras.Model(model.input, model.get_layer("heatmaps").output)(x, training=False)
    logits = keras.ops.convert_to_numpy(logits)
    flat = logits.reshape(len(x), -1, 68)
    prob = np.exp(flat - flat.max(axis=1, keepdims=True))
    return (prob / prob.sum(axis=1, keepdims=True)).reshape(logits.shape)


def compare_latency(model_path: str | Path, frame: np.ndarray, box: tuple[int, int, int, int],
                    repeats: int = 100) -> dict[str, float]:
    """Milliseconds per face (median) of the ways to run a saved model on one face, and of dlib's predictor.

    ``model.predict`` (a whole ``tf.data`` machinery per call), a direct ``model(x)`` call, the call
    inside ``tf.function`` (a traced graph), TFLite (if converted); the crop and the mapping back are
    included in the last two, as the live demo runs them.
    """
    from .landmarks import load_models, predict_points
    served = CNNLandmarker(model_path, use_tflite=False)
    model = served.model
    crop, _ = crop_face(to_gray(frame), box, served.crop_size, served.margin)
    x = prepare(crop[None], size=served.size)
    gray = to_gray(frame)
    load_models()
    out = {"model.predict": latency_ms(lambda: model.predict(x, verbose=0), repeats=max(10, repeats // 5), warmup=3),
           "direct call model(x)": latency_ms(lambda: model(x, training=False), repeats=repeats),
           "tf.function (crop + map back)": latency_ms(lambda: served.predict(frame, box), repeats=repeats)}
    lite = CNNLandmarker(model_path)
    if lite.backend == "tflite":
        out["TFLite (crop + map back)"] = latency_ms(lambda: lite.predict(frame, box), repeats=repeats)
    out["dlib predictor"] = latency_ms(lambda: predict_points(gray, box), repeats=repeats)
    return {k: round(v, 2) for k, v in out.items()}


def benchmark(quick: bool = False, seconds: float | None = None) -> dict[str, Any]:
    """Train baseline and course model with the same budget on the sample video; report NME and latency.

    Budget: 180 s of training each (``quick``: 8 s). NME against dlib's points on the held-out
    (last 20 %) frames and on the other person's video; latency per face of the course CNN's
    direct call and of dlib's predictor, in ms. The course model is saved for the live demo
    unless ``quick``.
    """
    import helpers
    from .landmarks import load_models, predict_points
    helpers.setup(42, tensorflow=True)
    budget = seconds or (8.0 if quick else 180.0)
    data = load_face_data(progress=False)
    out: dict[str, Any] = {"budget_seconds_each": budget, "input_size": INPUT_SIZE,
                           "train_frames": len(data["train"]), "held_out_frames": len(data["held_out"]),
                           "other_person_frames": len(data["other_person"]),
                           "mean_shape_nme_held_out": round(mean_shape_nme(data["train"], data["held_out"]), 4),
                           "mean_shape_nme_other_person": round(mean_shape_nme(data["train"], data["other_person"]), 4)}
    results = {}
    for kind in ("baseline", COURSE_KIND):
        ck = work_dir("04_landmark_cnn") / f"bench_checkpoint_{kind}"
        r = train_model(kind, data["train"], None, seconds=budget, resume=False, checkpoint=ck, progress=False)
        results[kind] = r
        ev_h = evaluate(r.model, data["held_out"], r.size)
        ev_o = evaluate(r.model, data["other_person"], r.size)
        ev_t = evaluate(r.model, data["train"], r.size)
        out[kind] = {"name": r.name, "epochs": r.epochs, "train_seconds": round(r.seconds, 1),
                     "nme_train": round(ev_t["nme"], 4), "nme_held_out": round(ev_h["nme"], 4),
                     "nme_other_person": round(ev_o["nme"], 4)}
    out["course_over_baseline_held_out"] = round(out[COURSE_KIND]["nme_held_out"] / out["baseline"]["nme_held_out"], 3)
    # latency: one face, 128 px crop from a frame, course CNN vs dlib's predictor on the same box
    from .dataset import ensure_landmark_set
    sample = ensure_landmark_set("sample", progress=False)
    from .video import read_frames
    frame = next(iter(read_frames("sample", max_frames=1))).image
    box = tuple(int(v) for v in sample.boxes[0])
    path = (work_dir("04_landmark_cnn") / "bench_model.keras") if quick else default_model_path()
    save_model(results[COURSE_KIND], path, {"held_out_nme": out[COURSE_KIND]["nme_held_out"],
                                            "other_person_nme": out[COURSE_KIND]["nme_other_person"]})
    lm = CNNLandmarker(path)
    keras_only = CNNLandmarker(path, use_tflite=False)
    gray = to_gray(frame)
    load_models()
    # both get the grey frame (the live demo converts once for detection); the CNN time includes crop + mapping back
    out["latency_ms"] = {"course_cnn_per_face": round(latency_ms(lambda: lm.predict(gray, box), repeats=500), 3),
                         "course_cnn_backend": lm.backend,
                         "course_cnn_per_face_from_bgr_frame": round(latency_ms(lambda: lm.predict(frame, box), repeats=500), 3),
                         "course_cnn_tf_function_per_face": round(latency_ms(lambda: keras_only.predict(gray, box), repeats=500), 3),
                         "dlib_predictor_per_face": round(latency_ms(lambda: predict_points(gray, box), repeats=500), 3)}
    p_lite, p_tf = lm.predict(gray, box), keras_only.predict(gray, box)
    out["latency_ms"]["tflite_vs_keras_max_diff_px"] = float(np.abs(p_lite - p_tf).max())
    out["model_path"] = str(path)
    out["targets"] = {"course_nme_held_out_max": 0.05, "course_over_baseline_max": 0.4,
                      "latency_vs_dlib": "course CNN <= dlib predictor"}
    return out
