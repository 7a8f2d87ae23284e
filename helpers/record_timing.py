"""Notebook 03's timing experiments: PNG against raw pixels, and what ``cache`` and ``prefetch`` each buy.

Both time :func:`helpers.records.time_pipeline` (median of the passes after a first one) in this process, so
their figures compare pipelines measured side by side, never absolute speeds.
"""
from __future__ import annotations

import os

import numpy as np

from . import records


def compare_encodings(crops: np.ndarray, points: np.ndarray, folder: str | os.PathLike, *, epochs: int = 4,
                      batch_size: int = 32, encodings: tuple[str, ...] = ("png", "raw")) -> dict[str, dict[str, float]]:
    """Write the same faces once per encoding (record set ``encoding_test`` in ``folder/<encoding>``) and time
    reading each back (parallel decoding, as in training, no shuffle).

    Returns ``{encoding: {"bytes_per_face", "faces_per_s"}}``.
    """
    out = {}
    for enc in encodings:
        where = os.path.join(folder, enc)
        index = records.write_records("encoding_test", crops, points, encoding=enc, folder=where, progress=False)
        speed = records.time_pipeline("encoding_test", epochs=epochs, batch_size=batch_size, folder=where)["later"]
        out[enc] = {"bytes_per_face": index["bytes"] / index["examples"], "faces_per_s": speed}
    return out


def cache_prefetch_grid(name: str, step_ms: float, read_ms: dict[bool, float], *, epochs: int = 4,
                        batch_size: int = 32, folder: str | os.PathLike | None = None) -> dict[tuple[bool, bool], dict]:
    """Time the bare pipeline (one decode at a time, no shuffle) with ``cache`` off/on and ``prefetch`` off/on, a
    pretend training step of ``step_ms`` per batch consuming it.

    ``read_ms[cache]`` is the time *p* of reading one batch without the step; each result carries what the rule
    expects: *p + c* without prefetch, max(*p*, *c*) with it. Returns ``{(cache, prefetch): time_pipeline's
    result + "expected" (ms per batch) + "rule"}``.
    """
    grid = {}
    for cache in (False, True):
        for prefetch in (False, True):
            t = records.time_pipeline(name, epochs=epochs, batch_size=batch_size, cache=cache, prefetch=prefetch,
                                      parallel=False, step_ms=step_ms, folder=folder)
            p = read_ms[cache]
            grid[(cache, prefetch)] = {**t, "expected": max(p, step_ms) if prefetch else p + step_ms,
                                       "rule": "max(p, c)" if prefetch else "p + c"}
    return grid
