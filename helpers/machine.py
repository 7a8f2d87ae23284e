"""The machine a measurement ran on: CPU count, load average, platform, Python.

Every benchmark writes these beside its figures (timings move with the machine's load). The load
average comes from :func:`os.getloadavg`, which Windows does not have: there it is ``None``, never an error.
"""
from __future__ import annotations

import os
import platform
from typing import Any


def load_averages() -> tuple[float, float, float] | None:
    """The 1, 5 and 15 minute load averages, or ``None`` where the OS has none (Windows) or cannot tell."""
    getloadavg = getattr(os, "getloadavg", None)
    if getloadavg is None:
        return None
    try:
        one, five, fifteen = getloadavg()
    except OSError:  # "load average unobtainable"
        return None
    return float(one), float(five), float(fifteen)


def load_average() -> float | None:
    """The 1-minute load average rounded to 2 decimals, or ``None`` where the OS has none (Windows)."""
    loads = load_averages()
    return None if loads is None else round(loads[0], 2)


def machine_info() -> dict[str, Any]:
    """``cpu_count``, ``load_average_1min`` (``None`` without a load average), ``platform`` and ``python``: JSON-able."""
    return {"cpu_count": os.cpu_count(), "load_average_1min": load_average(),
            "platform": platform.platform(), "python": platform.python_version()}
