"""Timing: the one median-latency timer every measurement in the course uses."""
from __future__ import annotations

import statistics
import time
from typing import Any, Callable


def latency_ms(fn: Callable[[], Any], repeats: int = 200, warmup: int = 20,
               before: Callable[[], Any] | None = None) -> float:
    """Median wall time of ``fn()`` in milliseconds, after ``warmup`` untimed calls.

    ``before``: called untimed before every call of ``fn`` (the warm-up ones too), e.g. to pick the next input or to
    flush the CPU's caches.
    """
    for _ in range(warmup):
        if before is not None:
            before()
        fn()
    times = []
    for _ in range(repeats):
        if before is not None:
            before()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000
