"""The live demo's models, loaded once per process: a landmarker and an emotion classifier.

- landmarks: ``"dlib"`` (dlib's 68-point shape predictor) or ``"cnn"`` (the course CNN of notebook 04);
  both have ``name`` and ``predict(image, box) -> (68, 2) float32`` frame pixels.
- emotion: ``"peer"`` (the published mini-Xception, FER2013) or ``"course"`` (notebook 05's CNN); both
  have ``name``, ``input_size`` and ``predict_proba(grey crop) -> (7,)`` probabilities.
"""
from __future__ import annotations

import functools

import numpy as np

from ..align import align_face  # re-exported: the crop the emotion model sees
from ..errors import CourseError
from ..landmarks import load_models, predict_points, to_gray

LANDMARK_MODELS: dict[str, str] = {"dlib": "dlib 68-point predictor", "cnn": "course CNN (notebook 04)"}
"""The landmark models the live demo can use: key -> description."""
EMOTION_MODELS: dict[str, str] = {"peer": "published mini-Xception (FER2013)", "course": "course CNN (notebook 05)"}
"""The emotion models the live demo can use: key -> description."""

__all__ = ["EMOTION_MODELS", "LANDMARK_MODELS", "DlibLandmarker", "align_face", "load_emotion", "load_landmarker"]


class DlibLandmarker:
    """dlib's 68-point shape predictor behind the same interface as the course CNN."""

    name = LANDMARK_MODELS["dlib"]

    def __init__(self) -> None:
        load_models()

    def predict(self, image: np.ndarray, box: tuple[int, int, int, int], gray: np.ndarray | None = None) -> np.ndarray:
        """Frame (BGR or grey) + face box (l, t, r, b) -> (68, 2) float32 frame pixels."""
        return predict_points(to_gray(image) if gray is None else gray, box)


@functools.lru_cache(maxsize=None)
def load_landmarker(kind: str = "dlib"):
    """``"dlib"`` or ``"cnn"`` -> a landmarker with ``name`` and ``predict(image, box) -> (68, 2)``; loaded once.

    ``"cnn"`` trains a small model first if notebook 04's model is missing (``ensure_landmark_model``).
    """
    if kind == "dlib":
        return DlibLandmarker()
    if kind == "cnn":
        from ..landmark_cnn import CNNLandmarker, ensure_landmark_model
        return CNNLandmarker(ensure_landmark_model())
    raise CourseError(f"unknown landmark model {kind!r}: use one of {', '.join(LANDMARK_MODELS)}.")


@functools.lru_cache(maxsize=None)
def load_emotion(kind: str = "peer"):
    """``"peer"`` or ``"course"`` -> a classifier with ``name`` and ``predict_proba(grey crop) -> (7,)``; loaded once.

    ``"course"`` trains a small model first if notebook 05's model is missing (``ensure_emotion_model``).
    """
    if kind not in EMOTION_MODELS:
        raise CourseError(f"unknown emotion model {kind!r}: use one of {', '.join(EMOTION_MODELS)}.")
    from ..emotion import EmotionClassifier
    from ..emotion_data import ensure_emotion_model
    if kind == "peer":
        return EmotionClassifier.peer()
    return EmotionClassifier.course(ensure_emotion_model())

