"""Notebook 03's timing experiments: PNG against raw pixels, and what ``cache`` and ``prefetch`` each buy.

Both time pipelines in this process (median of the passes after a first one), so their figures compare pipelines
measured side by side, never absolute speeds.
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


def cache_prefetch_grid(name: str, step_ms: float, *, epochs: int = 4, batch_size: int = 32,
                        folder: str | os.PathLike | None = None) -> dict[tuple[bool, bool], dict]:
    """Time the bare pipeline (one decode at a time, no shuffle) with ``cache`` off/on and ``prefetch`` off/on, a
    pretend training step of ``step_ms`` per batch consuming it, beside *p*: reading a batch alone (no step).

    The six pipelines take their passes in turn (the first pass of each, then the second of each, ...), so a slow
    moment of a shared machine slows *p* and the pipelines it predicts alike; the first round warms up (fills the
    caches) and each figure is the median of the other ``epochs - 1`` passes. Returns ``{(cache, prefetch): {"first",
    "later" (faces/s), "ms_per_batch", "faces", "batches", "p" (ms, reading alone with the same cache), "expected"
    (ms per batch by the rule: p + c without prefetch, max(p, c) with it), "rule"}}``.
    """
    runs = {}  # (cache, prefetch) or ("read", cache) -> (dataset, step in ms)
    for cache in (False, True):
        runs[("read", cache)] = (records.read_records(name, batch_size=batch_size, cache=cache, prefetch=False,
                                                      parallel=False, check=False, folder=folder), 0.0)
        for prefetch in (False, True):
            runs[(cache, prefetch)] = (records.read_records(name, batch_size=batch_size, cache=cache,
                                                            prefetch=prefetch, parallel=False, check=False,
                                                            folder=folder), step_ms)
    seconds: dict = {key: [] for key in runs}
    size: dict = {}
    for _ in range(max(2, epochs)):
        for key, (ds, step) in runs.items():
            took, n, batches = records.time_pass(ds, step)
            seconds[key].append(took)
            size[key] = (n, batches)
    grid = {}
    for cache in (False, True):
        p = records.pass_summary(seconds[("read", cache)], *size[("read", cache)])["ms_per_batch"]
        for prefetch in (False, True):
            key = (cache, prefetch)
            grid[key] = records.pass_summary(seconds[key], *size[key]) | {
                "p": p, "expected": round(max(p, step_ms) if prefetch else p + step_ms, 2),
                "rule": "max(p, c)" if prefetch else "p + c"}
    return grid
