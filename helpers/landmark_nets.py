"""Notebook 04's networks: the original project's regression net (``baseline``) and the course's heat-map CNN.

* **baseline** (the original project's net, faithfully): a plain conv net without batch norm
  regressing the 136 numbers with mean squared error;
* **heatmap** (the course model): batch norm, an encoder-decoder predicting 68 *heat-maps* decoded
  by soft-argmax (the original author's guess, made to work), trained with wing loss;
* **regression**: batch norm + wing loss, but 136 numbers out (the ablation between the two).

Models take ``(N, S, S, 1)`` float32 grey crops in [0, 1] and return ``(N, 68, 2)`` points in units
of the input side. The custom layer and loss are registered so saved ``.keras`` files load by name.
"""
from __future__ import annotations


import numpy as np

from .errors import CourseError
from .landmark_data import INPUT_SIZE

KINDS = ("baseline", "regression", "heatmap")
COURSE_KIND = "heatmap"
NAMES = {"baseline": "original-style CNN (136 numbers, MSE)", "regression": "BN + augmentation + wing (136 numbers)",
         "heatmap": "course CNN (heat-map)"}


def tf_module():
    """TensorFlow, imported on first use (importing this module stays fast)."""
    import tensorflow as tf
    return tf


def keras_module():
    """Keras, imported on first use."""
    import keras
    return keras


# ------------------------------------------------------------------------------------------------- models
def register_custom_objects() -> dict[str, type]:
    """Register the course's custom layer and loss with Keras (so ``.keras`` files load them by name); return them.

    They live in :mod:`helpers.landmark_layers`, which imports Keras: importing it registers them, and this
    module stays cheap to import until a network is built or loaded.
    """
    from .landmark_layers import SoftArgmax, WingLoss
    return {"SoftArgmax": SoftArgmax, "WingLoss": WingLoss}


def _conv(x, filters: int, stride: int = 1, bn: bool = True, name: str | None = None):
    keras = keras_module()
    x = keras.layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=not bn, name=name)(x)
    if bn:
        x = keras.layers.BatchNormalization()(x)
    return keras.layers.ReLU()(x)


def build_model(kind: str = COURSE_KIND, size: int = INPUT_SIZE, seed: int = 42):
    """A fresh, uncompiled Keras model of ``kind`` ("baseline", "regression" or "heatmap"): (N, size, size, 1) ->
    (N, 68, 2)."""
    keras = keras_module()
    from .landmark_layers import SoftArgmax
    if kind not in KINDS:
        raise CourseError(f"kind must be one of {KINDS}, not {kind!r}.")
    if size % 16:
        raise CourseError(f"input size must be a multiple of 16, not {size}.")
    keras.utils.set_random_seed(seed)
    L = keras.layers
    inp = keras.Input((size, size, 1), name="grey_crop")
    if kind == "baseline":  # the original project: conv + pool blocks, no batch norm, dense head regressing 136 numbers
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


def compile_model(model, kind: str, size: int = INPUT_SIZE, lr: float | None = None, ema: bool = True):
    """Attach optimizer and loss: MSE + Adam 1e-3 for the baseline, wing loss + AdamW (scheduled, weight average) for
    the others."""
    keras = keras_module()
    from .landmark_layers import WingLoss
    if kind == "baseline":
        model.compile(optimizer=keras.optimizers.Adam(lr or 1e-3), loss="mse")
    else:
        # use_ema: the optimizer also keeps a moving average of the weights (over ~100 steps), which
        # train_model swaps in at the end: steadier than the last step's weights, which jump from batch to batch
        # (``ema=False`` for short fine-tuning runs, where the average would lag behind the new weights)
        model.compile(optimizer=keras.optimizers.AdamW(lr or 3e-3, weight_decay=1e-4, use_ema=ema, ema_momentum=0.99),
                      loss=WingLoss(size))
    return model


def heatmaps(model, x: np.ndarray) -> np.ndarray:
    """The heat-map model's 68 probability maps for inputs (N, S, S, 1): (N, S/4, S/4, 68), each map summing to 1."""
    keras = keras_module()
    if "heatmaps" not in [layer.name for layer in model.layers]:
        raise CourseError(f"model {model.name!r} has no heat-maps: only the 'heatmap' kind predicts them.")
    logits = keras.Model(model.input, model.get_layer("heatmaps").output)(x, training=False)
    logits = keras.ops.convert_to_numpy(logits)
    flat = logits.reshape(len(x), -1, 68)
    prob = np.exp(flat - flat.max(axis=1, keepdims=True))
    return (prob / prob.sum(axis=1, keepdims=True)).reshape(logits.shape)


def predict_batch(model, x: np.ndarray, batch_size: int = 128) -> np.ndarray:
    """Direct, graph-compiled calls of ``model`` on inputs (N, S, S, 1) -> (N, 68, 2); never ``model.predict``."""
    fn = inference_fn(model)
    out = [fn(x[i:i + batch_size]).numpy() for i in range(0, len(x), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, 68, 2), np.float32)


def inference_fn(model):
    """The model's direct call wrapped once in ``tf.function`` (cached on the model): the fast way to run one input."""
    fn = getattr(model, "_course_infer", None)
    if fn is None:
        tf = tf_module()
        fn = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
        model._course_infer = fn
    return fn
