"""The live demo's models, loaded once per process: a landmarker and an emotion classifier.

- landmarks: ``"dlib"`` (dlib's 68-point shape predictor) or ``"cnn"`` (the course CNN of notebook 04);
  both have ``name`` and ``predict(image, box) -> (68, 2) float32`` frame pixels.
- emotion: ``"peer"`` (the published mini-Xception, FER2013) or ``"course"`` (notebook 05's CNN); both
  have ``name``, ``input_size``, ``predict_proba(grey crop) -> (7,)`` and ``predict_batch(crops) -> (N, 7)``
  probabilities, run by TensorFlow Lite (:class:`LiteEmotion`, the default) or by Keras.
"""
from __future__ import annotations

import functools
import hashlib
import os
import threading
import time
import warnings
from pathlib import Path

import numpy as np

from ..align import align_face  # re-exported: the crop the emotion model sees
from ..errors import CourseError
from ..labels import EMOTIONS
from ..paths import work_dir
from ..storage import atomic_path
from ..video import quiet_native_stderr
from ..landmarks import load_models, predict_points, to_gray

LANDMARK_MODELS: dict[str, str] = {"dlib": "dlib 68-point predictor", "cnn": "course CNN (notebook 04)"}
"""The landmark models the live demo can use: key -> description."""
EMOTION_MODELS: dict[str, str] = {"peer": "published mini-Xception (FER2013)", "course": "course CNN (notebook 05)"}
"""The emotion models the live demo can use: key -> description."""
EMOTION_BACKENDS: dict[str, str] = {"tflite": "TensorFlow Lite (XNNPACK, one thread, all faces in one call)",
                                    "tflite-int8": "the same with 8-bit weights (faster for some models, not all)",
                                    "keras": "Keras model through a compiled tf.function, one face per call"}
"""How the emotion model runs: key -> description."""

__all__ = ["EMOTION_BACKENDS", "EMOTION_MODELS", "LANDMARK_MODELS", "DlibLandmarker", "LiteEmotion", "align_face",
           "align_faces", "classify", "load_emotion", "load_landmarker"]


class DlibLandmarker:
    """dlib's 68-point shape predictor behind the same interface as the course CNN."""

    name = LANDMARK_MODELS["dlib"]

    def __init__(self) -> None:
        load_models()
        self.calls, self.ms = 0, 0.0  # predictor calls and their total ms (what the model costs inside the live loop)

    def predict(self, image: np.ndarray, box: tuple[int, int, int, int], gray: np.ndarray | None = None) -> np.ndarray:
        """Frame (BGR or grey) + face box (l, t, r, b) -> (68, 2) float32 frame pixels."""
        gray = to_gray(image) if gray is None else gray
        t0 = time.perf_counter()
        points = predict_points(gray, box)
        self.ms += (time.perf_counter() - t0) * 1000
        self.calls += 1
        return points


@functools.lru_cache(maxsize=None)
def load_landmarker(kind: str = "dlib"):
    """``"dlib"`` or ``"cnn"`` -> a landmarker with ``name`` and ``predict(image, box) -> (68, 2)``; loaded once.

    ``"cnn"`` trains a small model first if notebook 04's model is missing (``ensure_landmark_model``).
    The path of a saved ``.keras`` landmark model (e.g. a personal one, :func:`helpers.personal.model_for`) loads that model.
    """
    if kind == "dlib":
        return DlibLandmarker()
    if kind == "cnn":
        from ..landmark_cnn import CNNLandmarker, ensure_landmark_model
        return CNNLandmarker(ensure_landmark_model())
    if str(kind).endswith(".keras"):
        from ..landmark_cnn import CNNLandmarker
        return CNNLandmarker(kind)
    raise CourseError(f"unknown landmark model {kind!r}: use one of {', '.join(LANDMARK_MODELS)}, "
                      "or the path of a saved .keras landmark model.")


@functools.lru_cache(maxsize=None)
def load_emotion(kind: str = "peer", backend: str = "tflite"):
    """``"peer"`` or ``"course"`` -> a classifier with ``name``, ``input_size``, ``predict_proba(crop) -> (7,)``
    and ``predict_batch(crops) -> (N, 7)``; loaded once per (kind, backend).

    ``backend="tflite"`` (default) runs the model with TensorFlow Lite (:class:`LiteEmotion`), ``"tflite-int8"``
    the same with 8-bit weights; ``"keras"`` runs the Keras model through a compiled call
    (``helpers.emotion.EmotionClassifier``).
    ``"course"`` trains a small model first if notebook 05's model is missing (``ensure_emotion_model``).
    """
    if kind not in EMOTION_MODELS:
        raise CourseError(f"unknown emotion model {kind!r}: use one of {', '.join(EMOTION_MODELS)}.")
    if backend not in EMOTION_BACKENDS:
        raise CourseError(f"unknown emotion backend {backend!r}: use one of {', '.join(EMOTION_BACKENDS)}.")
    from ..emotion import EmotionClassifier
    if kind == "peer":
        from ..data import fetch
        path, keras_clf = fetch("emotion_model"), EmotionClassifier.peer()
    else:
        from ..emotion_data import ensure_emotion_model
        path = ensure_emotion_model()
        keras_clf = EmotionClassifier.course(path)
    if backend == "keras":
        return keras_clf
    return LiteEmotion(keras_clf, path, int8_weights=backend == "tflite-int8")


def _tflite_bytes(model, source: Path, cache: bool = True, int8_weights: bool = False) -> bytes:
    """The Keras ``model`` (from the file ``source``) as a TFLite flat buffer with a free batch size; cached on disk.

    Converting takes a few seconds, so the result is kept in ``data/work/live/`` under the sha256 of
    the model file, the weights' type and the TensorFlow version: a retrained model gets a new conversion, which
    replaces the conversions of the file's earlier versions (notebook 05 saves its model again on every run).
    ``cache=False`` converts without reading or writing that file.
    """
    import tensorflow as tf
    digest = hashlib.sha256(Path(source).read_bytes()).hexdigest()[:16]
    kind = "int8" if int8_weights else "float32"
    path = work_dir("live") / f"{Path(source).stem}-{digest}-{kind}-tf{tf.__version__}.tflite"
    if cache and path.is_file():
        return path.read_bytes()
    from ..saved_models import to_tflite
    with warnings.catch_warnings(), quiet_native_stderr():
        warnings.simplefilter("ignore")
        blob = to_tflite(model, batch=None, int8_weights=int8_weights)
    if cache:
        with atomic_path(path, ".tflite") as tmp:
            tmp.write_bytes(blob)
        for old in path.parent.glob(f"{Path(source).stem}-*-{kind}-tf*.tflite"):  # conversions of earlier versions
            if old != path:
                old.unlink(missing_ok=True)
    return blob


class LiteEmotion:
    """An emotion model run by TensorFlow Lite with XNNPACK: small inputs, no Python graph machinery per call.

    Wraps a Keras ``EmotionClassifier`` (same preprocessing, same output order); the probabilities
    equal the Keras model's up to float rounding; with ``int8_weights=True`` they move by a few hundredths, and
    the call is faster or slower depending on the model's layers (measured in notebook 06). All faces of a frame go
    through in **one** ``invoke`` (``predict_batch``); the input is resized only when the number of faces
    changes. One thread, so the other core stays free for the face detector.
    """

    def __init__(self, keras_classifier, source: str | os.PathLike, num_threads: int = 1, cache: bool = True,
                 int8_weights: bool = False) -> None:
        import tensorflow as tf
        self.keras = keras_classifier
        self.name = keras_classifier.name
        self.input_size = keras_classifier.input_size
        self._order = np.asarray(getattr(keras_classifier, "_order_idx", range(len(EMOTIONS))))
        self.int8_weights = int8_weights
        blob = _tflite_bytes(keras_classifier.model, Path(source), cache, int8_weights)
        with warnings.catch_warnings(), quiet_native_stderr():  # the interpreter warns it will move to ai-edge-litert
            warnings.simplefilter("ignore")
            self._interp = tf.lite.Interpreter(model_content=blob, num_threads=num_threads)
            self._in = self._interp.get_input_details()[0]["index"]
            self._out = self._interp.get_output_details()[0]["index"]
            self._batch = 0
            # one interpreter, shared by pipelines (and their emotion threads): one call at a time
            self._lock = threading.Lock()
            self.predict_batch(np.full((1, self.input_size, self.input_size), 128, np.uint8))  # allocate + warm up

    def predict_batch(self, faces: np.ndarray) -> np.ndarray:
        """(N, H, W) grey uint8 face crops -> (N, 7) float32 probabilities in EMOTIONS order, in one call."""
        if len(faces) == 0:
            return np.zeros((0, len(EMOTIONS)), np.float32)
        x = self.keras.preprocess(faces)
        with self._lock:
            if len(x) != self._batch:  # a face came or went: resize the input (only then)
                self._interp.resize_tensor_input(self._in, list(x.shape))
                self._interp.allocate_tensors()
                self._batch = len(x)
            self._interp.set_tensor(self._in, np.ascontiguousarray(x, np.float32))
            self._interp.invoke()
            return self._interp.get_tensor(self._out)[:, self._order].astype(np.float32)

    def predict_proba(self, face: np.ndarray) -> np.ndarray:
        """One grey uint8 face crop -> (7,) float32 probabilities in EMOTIONS order."""
        return self.predict_batch(np.asarray(face)[None])[0]


def align_faces(gray: np.ndarray, points: list[np.ndarray], size: int) -> tuple[list[bool], np.ndarray | None]:
    """Each face's FER2013-style crop, aligned by its 68 points: (aligned or not, (n, size, size) crops or None).

    A face whose points are degenerate (shrinking out of view) gets no crop: it keeps its last emotion.
    """
    crops, aligned = [], []
    for p in points:
        try:
            crops.append(align_face(gray, p, size))
            aligned.append(True)
        except CourseError:
            aligned.append(False)
    return aligned, (np.stack(crops) if crops else None)


def classify(crops: np.ndarray, classifier, batch: bool = True) -> np.ndarray:
    """(n, size, size) grey face crops -> (n, 7) probabilities: all in one call (TensorFlow Lite), or one
    compiled Keras call per face."""
    if batch:
        return np.asarray(classifier.predict_batch(crops), np.float32)
    return np.stack([np.asarray(classifier.predict_proba(c), np.float32) for c in crops])
