"""Steadier landmarks: a One-Euro filter per face, and how to measure jitter and lag.

Per-frame landmarks jitter by a pixel or so even on a still face: each frame is predicted on its own.
The original author wanted temporal context (an LSTM). A One-Euro filter (Casiez, Roussel and Vogel,
CHI 2012) is the classic non-learned answer: a low-pass filter whose cut-off frequency rises with the
speed of the signal, so it smooths hard when the face is still (little jitter) and hardly at all when
it moves fast (little lag). It has no training data, no state beyond the last value, and is reset
when a face is lost.
"""
from __future__ import annotations

import math

import numpy as np


class OneEuroFilter:
    """One-Euro filter over an array of points (e.g. (68, 2) pixels), one shared cut-off per frame.

    ``min_cutoff`` (Hz): smoothing of a still signal (lower = steadier, more lag at slow speeds).
    ``beta``: how fast the cut-off rises with speed (higher = less lag on fast moves).
    ``d_cutoff`` (Hz): smoothing of the speed estimate. Speed is the mean point speed in pixels per
    second, so one face's points move together and keep their shape.
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.05, d_cutoff: float = 1.0) -> None:
        self.min_cutoff, self.beta, self.d_cutoff = float(min_cutoff), float(beta), float(d_cutoff)
        self.reset()

    def reset(self) -> None:
        """Forget the past (a face was lost, or a new one starts)."""
        self._x: np.ndarray | None = None
        self._speed = 0.0

    @staticmethod
    def _alpha(cutoff: float, dt: float) -> float:
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    def __call__(self, x: np.ndarray, dt: float = 1 / 30) -> np.ndarray:
        """Filter one new sample ``x`` taken ``dt`` seconds after the previous one; return the filtered array."""
        x = np.asarray(x, np.float32)
        if self._x is None or self._x.shape != x.shape:
            self._x = x.copy()
            self._speed = 0.0
            return self._x.copy()
        step = x - self._x
        raw_speed = float(np.sqrt((step * step).sum(axis=-1)).mean()) / dt
        a_d = self._alpha(self.d_cutoff, dt)
        self._speed = a_d * raw_speed + (1 - a_d) * self._speed
        a = self._alpha(self.min_cutoff + self.beta * self._speed, dt)
        step *= a  # the filtered point moves the fraction a of the way to the new sample: a*x + (1-a)*previous
        self._x += step
        return self._x.copy()


def jitter_and_lag(raw: np.ndarray, filtered: np.ndarray, *, still_px: float = 0.6, fast_px: float = 3.0,
                   max_lag: float = 6.0) -> dict[str, float]:
    """How much steadier and how late ``filtered`` is than ``raw``: two (T, 68, 2) point tracks of one face.

    - still frames: the face's centre moved less than ``still_px`` px since the last frame. There,
      *jitter* is the mean frame-to-frame movement of the points relative to the face centre (the shape
      trembling), raw and filtered; ``jitter_ratio`` = filtered / raw (0.5 = half the jitter).
    - fast frames: the centre moved more than ``fast_px`` px. There, ``lag_frames`` is the delay
      ``k`` (in steps of 0.1 frame, up to ``max_lag``) that best lines the filtered centre up with the
      raw centre ``k`` frames earlier (0 = no lag).
    Frames with NaN (no face) are skipped.
    """
    raw, filtered = np.asarray(raw, np.float64), np.asarray(filtered, np.float64)
    ok = np.isfinite(raw).all(axis=(1, 2)) & np.isfinite(filtered).all(axis=(1, 2))
    c_raw, c_fil = raw.mean(axis=1), filtered.mean(axis=1)
    step = np.full(len(raw), np.nan)
    step[1:] = np.linalg.norm(c_raw[1:] - c_raw[:-1], axis=1)
    pair = np.zeros(len(raw), bool)
    pair[1:] = ok[1:] & ok[:-1]
    still, fast = pair & (step < still_px), pair & (step > fast_px)

    def shape_jitter(p: np.ndarray) -> float:
        shape = p - p.mean(axis=1, keepdims=True)
        moves = np.linalg.norm(shape[1:] - shape[:-1], axis=2).mean(axis=1)
        return float(moves[still[1:]].mean()) if still.any() else float("nan")

    jit_raw, jit_fil = shape_jitter(raw), shape_jitter(filtered)
    t = np.arange(len(raw), dtype=np.float64)
    best, best_err = 0.0, math.inf
    if fast.any():
        valid = np.where(ok)[0]
        for k in np.arange(0.0, max_lag + 1e-9, 0.1):
            delayed = np.stack([np.interp(t - k, t[valid], c_raw[valid, d]) for d in range(2)], axis=1)
            err = float(np.linalg.norm(c_fil[fast] - delayed[fast], axis=1).mean())
            if err < best_err - 1e-9:
                best, best_err = float(k), err
    return {"jitter_raw_px": jit_raw, "jitter_filtered_px": jit_fil,
            "jitter_ratio": jit_fil / jit_raw if jit_raw > 0 else float("nan"),
            "lag_frames": best if fast.any() else float("nan"),
            "still_frames": int(still.sum()), "fast_frames": int(fast.sum())}
