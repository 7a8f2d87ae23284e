"""Helpers for the facial landmarks and emotion recognition course.

Notebooks teach; these modules do. Every notebook starts with ``helpers.check_setup()`` (is the set-up
complete?) and ``helpers.setup(seed)`` (seeds, quiet logs, plot style). The map, in course order
(``tests/test_environment.py`` checks that it names every module):

Set-up and plumbing
    errors          the one exception type, CourseError: every message says what to do
    paths           where things live (the project root, data/, COURSE_DATA_DIR)
    data            the sample registry (videos, photos, models, pinned by sha256) and the verified fetch from PyPI
    setup_check     the first cell of every notebook: Python, pinned packages, course folder, sample data
    storage         atomic writes of .npz and JSON (never pickle)
    artifacts       one rule for reusing what a stage saved: only if the same recipe (stage, inputs, settings) made it
    timing          the one median-latency timer every measurement uses
    machine         the machine a measurement ran on (CPUs, load average: None on Windows, platform); the training device
    checks          the notebooks' checks: asserts about the code always, about the sample only as shipped
    draw            landmarks coloured by region, boxes, frame grids, the frame browser
01 · capture
    video           frame sources: a video file, a webcam, the sample; rotation and resizing
    capture         scan a source, count faces per frame, decide which frames make the dataset
    recording       what a recording gives: frames kept and skipped by reason, a timeline, a frame to demo on
    browser_cam     the learner's camera through the browser (SOURCE = "browser" in 01 and 06)
    browser_io      the browser camera's kernel side without a widget: JPEG frames, loop stats, the recording
02 · landmarks
    landmarks       dlib's face detector and 68 points; crops and crop coordinates
    landmark_sets   dlib's points on every kept frame, saved as face crops + points (.npz)
    annotated       points placed by people: .pts / .ljson files, the four human-annotated faces, folders like 300-W
03 · records
    records         TFRecord shards written atomically, read back as a tf.data pipeline
    record_sets     which faces are trained on, which held out, and how they are split
    record_timing   03's timing experiments: PNG against raw, what cache and prefetch each buy
04 · landmark CNN
    landmark_data         the crops as the networks see them, and their augmentation
    landmark_nets         the original project's regression net and the course's heat-map CNN
    landmark_layers       their custom Keras objects: the soft-argmax layer and the wing loss
    landmark_cnn          training and serving the landmark CNN (NME, soft-argmax, TFLite)
    landmark_experiments  the measurements: latency of each calling style, the landmark benchmark
    landmark_plots        notebook 04's figures: augmentations, learning curves, regions, points over crops
    personal              your own face: NAME's record sets and a personal landmark CNN (03, 04, 06)
    training              resumable, seeded training runs (the one checkpoint layout of both trainers)
    saved_models          the one layout of a saved model (.keras + sidecar + .tflite + recipe) and the one TFLite converter
    warp                  piecewise-affine warps: move chosen points and let the pixels follow
05 · emotion CNN
    labels                the 7 emotion labels in FER2013's order
    fer                   FER2013 in its two forms: read, check, feed to Keras
    align                 face alignment: a FER2013-style grey crop with level eyes
    standin               the offline stand-in for FER2013, built from the course's own faces
    emotion_data          the data of notebook 05: FER2013 when you have it, the stand-in when not
    emotion               the original project's baseline, the course model, the published peer
    emotion_plots         confusion matrices, tables, contact sheets, learning curves
    emotion_experiments   the benchmark: baseline vs course CNN vs peer, same budget
    expressions           "your expressions": record the seven, score the models on them
    emoji                 emoji faces for the 7 emotions, drawn with OpenCV (no image files)
06 · live demo (package helpers.live; ``python -m helpers.live`` runs it outside Jupyter)
    live.models       the landmarker and the emotion classifier, loaded once
    live.pipeline     configuration and the per-frame pipeline
    live.timer        the per-stage timings of the last frames (a ring buffer)
    live.predictor_process  dlib's predictor and detector in helper processes: a group's faces on both cores
    live.tracks       face tracks: one face over frames, its box kept from its points between detections
    live.detection    face detection off the frame loop (a worker thread, handing it to a process)
    live.prefetch     read the next video frame in a thread while this one is processed
    live.smoothing    steadier landmarks (One-Euro filter) and how to measure jitter and lag
    live.overlay      what is drawn on each frame: box, points, label, emoji, banner
    live.runner       frame sources and runners: background thread or headless
    live.ui           the ipywidgets app: Start/Stop, source and model choices, fps readout
    live.original     the original project's loop, and why it was slow
    live.experiments  the measurements behind notebook 06 and the live benchmark
    live.costs        what the landmark stage costs next to dlib's predictor, one face and four
    live.cuts         cuts and jumps spliced into the sample: how many frames the tracks need to recover
    live.plots        notebook 06's figures and tables of those measurements
    live.__main__     the command line (OpenCV window, or headless into a video file)
Benchmarks
    bench           ``python -m helpers.bench landmarks|emotion|live``: one JSON object
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
