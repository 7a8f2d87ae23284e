"""Helpers for the facial landmarks and emotion recognition course.

Notebooks teach; these modules do. ``helpers.setup()`` is the one call at the top of every notebook.

Modules: ``paths`` (where data lives), ``data`` (sample registry + verified fetch), ``video``
(frame sources, notebook 01), ``landmarks`` (dlib faces and 68 points, 02), ``storage`` (atomic
npz/JSON), ``draw`` (overlays and grids).
"""
from __future__ import annotations

import os
import random

from .errors import CourseError

__all__ = ["CourseError", "check_setup", "setup"]


def check_setup() -> None:
    """The first cell of every notebook: check Python, packages, course folder and sample data; say what to run if not.

    Prints one line when all is well, else raises ``SetupProblem`` with one sentence (see :mod:`helpers.setup_check`).
    """
    from .setup_check import check_setup as _check_setup
    _check_setup()


def setup(seed: int = 42, *, tensorflow: bool = False, quiet: bool = True) -> dict[str, str]:
    """Seed everything, quieten logs and configure plots; return the versions of the key packages.

    tensorflow=True also imports TensorFlow, seeds it and makes it deterministic where possible.
    """
    if quiet:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import cv2
    import numpy as np
    random.seed(seed)
    np.random.seed(seed)
    versions = {"numpy": np.__version__, "opencv": cv2.__version__}
    try:
        import dlib
        versions["dlib"] = dlib.__version__
    except ImportError:
        pass
    if tensorflow:
        import keras
        import tensorflow as tf
        tf.get_logger().setLevel("ERROR")
        keras.utils.set_random_seed(seed)
        versions["tensorflow"] = tf.__version__
        versions["keras"] = keras.__version__
    try:
        import matplotlib.pyplot as plt
        plt.rcParams.update({"figure.dpi": 80, "axes.grid": False, "image.interpolation": "nearest"})
    except ImportError:
        pass
    return versions
