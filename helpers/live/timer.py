"""The live pipeline's per-stage timings: :class:`StageTimer`, a fixed-size ring buffer (memory stays flat)."""
from __future__ import annotations

import time

import numpy as np

STAGES: tuple[str, ...] = ("read", "detect", "landmarks", "emotion", "draw")
"""The timed stages of one frame, in order."""


class StageTimer:
    """Per-stage durations of the last ``window`` frames, in a preallocated ring buffer (memory stays flat)."""

    def __init__(self, stages: tuple[str, ...] = STAGES, window: int = 120) -> None:
        self.stages = stages
        self._ms = np.zeros((window, len(stages)), np.float64)
        self._wall = np.zeros(window, np.float64)  # perf_counter at the end of each frame
        self._row = np.zeros(len(stages), np.float64)
        self.frames = 0

    def add(self, stage: str, ms: float) -> None:
        """Add ``ms`` milliseconds to ``stage`` for the current frame."""
        self._row[self.stages.index(stage)] += ms

    def end_frame(self) -> None:
        """Close the current frame: store its row and start a new one."""
        i = self.frames % len(self._wall)
        self._ms[i] = self._row
        self._wall[i] = time.perf_counter()
        self._row[:] = 0
        self.frames += 1

    def reset(self) -> None:
        self.frames = 0
        self._row[:] = 0

    def last(self) -> np.ndarray:
        """The ms per stage of the last finished frame (a view into the ring buffer)."""
        return self._ms[(self.frames - 1) % len(self._wall)]

    def summary(self) -> dict[str, float]:
        """Mean ms per stage over the window, their sum ``total`` and ``fps`` (from the wall clock)."""
        n = min(self.frames, len(self._wall))
        if n == 0:
            return {**{s: 0.0 for s in self.stages}, "total": 0.0, "fps": 0.0}
        mean = self._ms[:n].mean(axis=0)
        out = {s: float(v) for s, v in zip(self.stages, mean)}
        out["total"] = float(mean.sum())
        if n >= 2:
            i_last = (self.frames - 1) % len(self._wall)
            i_first = (self.frames - n) % len(self._wall)
            span = self._wall[i_last] - self._wall[i_first]
            out["fps"] = float((n - 1) / span) if span > 0 else 0.0
        else:
            out["fps"] = 1000.0 / out["total"] if out["total"] > 0 else 0.0
        return out

    def text(self) -> str:
        """One-line readout: ``fps | stage ms ...``."""
        s = self.summary()
        return f"{s['fps']:.0f} fps | " + "  ".join(f"{k} {s[k]:.1f}" for k in self.stages) + " ms"
