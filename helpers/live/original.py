"""The original project's live loop, and why it was slow: ``model.predict`` per face versus a compiled call.

Used by notebook 06 (section 6) and :func:`helpers.live.experiments.benchmark`.
"""
from __future__ import annotations

import gc
import time

import cv2
import numpy as np

from ..errors import CourseError
from ..paths import native
from ..timing import latency_ms
from ..video import Source, open_capture, resolve
from .runner import rss_mb


def predict_vs_call(model, repeats: int = 30) -> dict[str, float]:
    """Median ms for one image through ``model.predict`` (the original's call), a direct ``model(x)`` call, and a
    compiled tf.function."""
    import tensorflow as tf
    shape = (1,) + tuple(int(d) for d in model.input_shape[1:])
    x = np.zeros(shape, np.float32)
    fn = tf.function(lambda t: model(t, training=False), input_signature=[tf.TensorSpec(shape, tf.float32)])
    return {"predict_ms": latency_ms(lambda: model.predict(x, verbose=0), repeats=repeats, warmup=1),
            "call_ms": latency_ms(lambda: model(x, training=False), repeats=repeats, warmup=1),
            "tf_function_ms": latency_ms(lambda: fn(x), repeats=repeats, warmup=1)}


def memory_per_call(model, calls: int = 400, every: int = 50, warmup: int = 100) -> dict[str, list[float]]:
    """Resident memory growth (MB) every ``every`` calls, one image at a time: ``model.predict`` vs a compiled call.

    Returns ``{"calls": [...], "predict": [...], "tf_function": [...]}``: growth since the end of ``warmup`` calls.
    """
    import tensorflow as tf
    shape = (1,) + tuple(int(d) for d in model.input_shape[1:])
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    fn = tf.function(lambda t: model(t, training=False), input_signature=[tf.TensorSpec(shape, tf.float32)])
    out: dict[str, list[float]] = {"calls": list(range(0, calls + 1, every))}
    for name, call in (("predict", lambda: model.predict(x, verbose=0)), ("tf_function", lambda: fn(x))):
        for _ in range(warmup):
            call()
        gc.collect()
        start, growth = rss_mb(), [0.0]
        for i in range(1, calls + 1):
            call()
            if i % every == 0:
                growth.append(rss_mb() - start)
        out[name] = growth
    return out


def baseline_model():
    """The original project's emotion CNN (48x48 grey -> 7), untrained, and a note saying where it comes from.

    Untrained weights are enough here: only its speed is measured, and that does not depend on them.
    """
    from ..emotion import build_baseline
    return build_baseline(), "helpers.emotion.build_baseline (untrained weights; predict speed does not depend on them)"


def original_loop(source: Source = "sample", frames: int = 100, model=None, *, call: str = "predict",
                    cascade_once: bool = False, display_size: tuple[int, int] | None = (1200, 860)) -> dict:
    """The original project's live loop as written in its notes, headless; ``call``/``cascade_once`` switch one fix on
    at a time.

    As written: a ``CascadeClassifier`` is built **inside** the loop from its XML file on every frame;
    Haar detection (1.3, 5) on the full grey frame; crop -> 48x48 -> ``model.predict`` per face on raw
    0-255 pixels (the original trained with ``rescale=1/255``, so its live inputs were 255x too bright);
    names in ``flow_from_directory``'s alphabetical order; putText; and the frame upscaled to
    ``display_size`` (1200x860, cubic) for ``imshow`` (here the resize is done, the window is not shown).

    ``call="compiled"`` replaces only ``model.predict`` by a compiled ``tf.function`` call;
    ``cascade_once=True`` builds the cascade once before the loop. Returns fps, frames, faces found
    and RSS before/after (MB).
    """
    if not hasattr(cv2, "CascadeClassifier"):
        raise CourseError("this OpenCV has no CascadeClassifier (OpenCV 5 removed it); the original loop needs opencv 4.x.")
    if call not in ("predict", "compiled"):
        raise CourseError(f"call must be 'predict' (the original's) or 'compiled', not {call!r}.")
    xml = native(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")  # a venv under a non-ASCII folder
    if model is None:
        model, _ = baseline_model()
    if call == "predict":
        def classify(crop):
            return model.predict(crop, verbose=0)  # the original's call
    else:
        import tensorflow as tf
        fn = tf.function(lambda t: model(t, training=False), input_signature=[tf.TensorSpec((1, 48, 48, 1), tf.float32)])

        def classify(crop):
            return fn(crop.astype(np.float32)).numpy()
    names = ["Angry", "Disgusted", "Fearful", "Happy", "Neutral", "Sad", "Surprised"]  # the original's emotion_dict
    cap, _ = open_capture(resolve(source))
    faces = 0
    once = cv2.CascadeClassifier(xml) if cascade_once else None
    try:
        ok, frame = cap.read()
        classify(np.zeros((1, 48, 48, 1), np.uint8))  # warm-up, as a running GUI would be
        rss0, t0 = rss_mb(), time.perf_counter()
        for _ in range(frames):
            ok, frame = cap.read()
            if not ok:
                cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, frame = cap.read()
            bounding_box = once if once is not None else cv2.CascadeClassifier(xml)
            gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            num_faces = bounding_box.detectMultiScale(gray, scaleFactor=1.3, minNeighbors=5)
            for (x, y, w, h) in num_faces:
                cv2.rectangle(frame, (x, y - 50), (x + w, y + h + 10), (255, 0, 0), 2)
                roi = gray[y:y + h, x:x + w]
                cropped = np.expand_dims(np.expand_dims(cv2.resize(roi, (48, 48)), -1), 0)
                prediction = classify(cropped)
                cv2.putText(frame, names[int(np.argmax(prediction))], (x + 20, y - 60), cv2.FONT_HERSHEY_SIMPLEX,
                            1, (255, 255, 255), 2, cv2.LINE_AA)
                faces += 1
            if display_size is not None:
                cv2.resize(frame, display_size, interpolation=cv2.INTER_CUBIC)  # imshow's input (no window is opened)
        seconds = time.perf_counter() - t0
    finally:
        cap.release()
    return {"fps": frames / seconds, "frames": frames, "faces_per_frame": faces / frames,
            "rss_start_mb": rss0, "rss_end_mb": rss_mb(), "call": call, "cascade_once": cascade_once}
