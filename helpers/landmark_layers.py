"""The landmark networks' custom Keras objects: the soft-argmax layer and the wing loss.

Both are registered (package ``course``) when this module is imported, so saved ``.keras`` files load
them by name; :func:`helpers.landmark_nets.register_custom_objects` imports it before a model is built or loaded.
"""
from __future__ import annotations

import math

import keras
from keras import ops

from .landmark_data import INPUT_SIZE


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
