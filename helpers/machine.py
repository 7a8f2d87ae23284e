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


def training_device() -> dict[str, Any]:
    """What TensorFlow will train on here: ``device`` ("GPU" or "CPU"), the GPUs' names, the CPU count, and whether
    this TensorFlow build has CUDA at all (tensorflow-cpu has not; ``course.py setup --gpu`` installs one that has)."""
    import tensorflow as tf
    gpus = tf.config.list_physical_devices("GPU")
    names = []
    for gpu in gpus:
        try:
            names.append(tf.config.experimental.get_device_details(gpu).get("device_name") or gpu.name)
        except (RuntimeError, ValueError):
            names.append(gpu.name)
    return {"device": "GPU" if gpus else "CPU", "gpus": names, "cpu_count": os.cpu_count(),
            "cuda_build": bool(tf.test.is_built_with_cuda())}


def device_sentence(budget: str, info: dict[str, Any] | None = None) -> str:
    """One sentence for a training notebook's set-up cell: where training runs, and which parameter to raise on a GPU.

    ``budget``: the notebook's training-budget parameter(s), e.g. ``"EPOCHS"``. ``info``: from :func:`training_device`
    (measured when not given).
    """
    info = info or training_device()
    if info["device"] == "GPU":
        return (f"training runs on the GPU ({', '.join(info['gpus'])}): raise {budget} well beyond the CPU default, "
                "the runs take a fraction of the time given here.")
    why = ("this TensorFlow build has CUDA but sees no GPU (driver missing or no NVIDIA card), so it falls back to the CPU"
           if info["cuda_build"] else "this TensorFlow build is CPU-only")
    return (f"training runs on the CPU ({info['cpu_count']} cores): {why}. With an NVIDIA GPU on Linux, "
            f"`python course.py setup --gpu` installs TensorFlow with CUDA; then raise {budget}.")
