"""Timing: the one median-latency timer every measurement in the course uses."""
from __future__ import annotations

import statistics
import time
from typing import Any, Callable


def latency_ms(fn: Callable[[], Any], repeats: int = 200, warmup: int = 20) -> float:
    """Median wall time of ``fn()`` in milliseconds, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000
