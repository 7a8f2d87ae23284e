"""Measurements behind notebook 06 and ``python -m helpers.bench live``; not needed to run the demo.

The tracking trade-off (detect every N frames), the emotion trace and label flips, ``model.predict``
versus a compiled call (time and memory), the original project's live loop as written, and
:func:`benchmark`.
"""
from __future__ import annotations

import gc
import os
import time

import cv2
import numpy as np

from ..errors import CourseError
from ..labels import EMOTIONS
from ..timing import latency_ms
from ..landmarks import detect_faces, predict_points, to_gray
from ..video import Source, open_capture, resolve
from .pipeline import STAGES, LiveConfig, LivePipeline
from .runner import FrameSource, iter_annotated, rss_mb, run_headless


def tracking_tradeoff(source: Source = "sample", frames: int = 150, every: tuple[int, ...] = (1, 3, 5, 10, 20),
                      detect_max_side: int = 320) -> list[dict]:
    """Detect every N frames vs every frame: ms per frame and how far the tracked points drift.

    All pipelines see the same frames in lock-step. ``drift`` is the mean distance between each
    pipeline's points and those of the detect-every-frame pipeline, divided by the distance between the
    outer eye corners (so 0.02 = 2% of the eye distance). Returns one dict per N.
    """
    every = tuple(sorted(set((1,) + tuple(every))))
    pipes = {n: LivePipeline(detect_every=n, detect_max_side=detect_max_side, draw_points=False, draw_emoji=False)
             for n in every}
    drift = {n: [] for n in every}
    ms = {n: 0.0 for n in every}
    detect_ms = {n: 0.0 for n in every}
    faces = {n: 0 for n in every}
    with FrameSource(source, loop=True) as src:
        for i in range(frames):
            image = src.read()
            if image is None:
                break
            image = image.copy()
            for n, pipe in pipes.items():
                pipe.process(image)
                if i >= 2:  # skip the slow first calls
                    row = pipe.timer.last()
                    ms[n] += float(row.sum())
                    detect_ms[n] += float(row[STAGES.index("detect")])
                faces[n] += len(pipe.tracks)
            ref = pipes[1].tracks
            if len(ref) == 1:
                r = ref[0].points
                eye = float(np.linalg.norm(r[45] - r[36]))
                for n in every:
                    if len(pipes[n].tracks) == 1:
                        drift[n].append(float(np.linalg.norm(pipes[n].tracks[0].points - r, axis=1).mean()) / eye)
    timed = max(1, frames - 2)
    return [{"detect_every": n, "ms_per_frame": ms[n] / timed, "detect_ms": detect_ms[n] / timed,
             "fps_pipeline": 1000 * timed / ms[n] if ms[n] else 0.0, "faces_per_frame": faces[n] / frames,
             "drift": float(np.mean(drift[n])) if drift[n] else float("nan"),
             "drift_p95": float(np.percentile(drift[n], 95)) if drift[n] else float("nan")} for n in every]


def emotion_trace(source: Source = "sample", frames: int | None = None, smooth: int = 8, **config) -> dict:
    """The largest face's emotion over a video, raw (each frame's own prediction) and smoothed over ``smooth``.

    Returns ``{"t": (T,) seconds, "raw": (T, 7), "smoothed": (T, 7), "fps": video fps}``; rows are NaN
    on frames without a face. ``frames=None`` reads the whole file once (no loop).
    """
    pipe = LivePipeline(smooth=smooth, draw_points=False, draw_emoji=False, **config)
    raw, smoothed = [], []
    with FrameSource(source, loop=False) as src:
        fps = src.fps
        for _ in iter_annotated(pipe, src, frames):
            if pipe.tracks and pipe.tracks[0].count:
                t = pipe.tracks[0]
                raw.append(t.history[(t.count - 1) % len(t.history)].copy())
                smoothed.append(t.probs.copy())
            else:
                raw.append(np.full(len(EMOTIONS), np.nan, np.float32))
                smoothed.append(raw[-1])
    n = len(raw)
    if n == 0:
        raise CourseError("the source delivered no frames.")
    return {"t": np.arange(n) / fps, "raw": np.array(raw), "smoothed": np.array(smoothed), "fps": fps}


def label_flips_per_second(probs: np.ndarray, fps: float) -> float:
    """How often the top emotion changes, per second of video (frames without a face are skipped)."""
    ok = ~np.isnan(probs).any(axis=1)
    labels = np.argmax(probs[ok], axis=1)
    return float((labels[1:] != labels[:-1]).sum() / (len(probs) / fps)) if len(labels) > 1 else 0.0


def predict_vs_call(model, repeats: int = 30) -> dict[str, float]:
    """Median ms for one image through ``model.predict`` (the original's call), a direct ``model(x)`` call, and a compiled tf.function."""
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
    """The original project's live loop as written in its notes, headless; ``call``/``cascade_once`` switch one fix on at a time.

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
    xml = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
    if model is None:
        model, _ = baseline_model()
    if call == "predict":
        classify = lambda crop: model.predict(crop, verbose=0)  # noqa: E731  (the original's call)
    else:
        import tensorflow as tf
        fn = tf.function(lambda t: model(t, training=False), input_signature=[tf.TensorSpec((1, 48, 48, 1), tf.float32)])
        classify = lambda crop: fn(crop.astype(np.float32)).numpy()  # noqa: E731
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


def benchmark(quick: bool = False) -> dict:
    """The original project's loop vs the course pipeline on the sample video (640x360), in one process; a JSON-able dict.

    The original loop runs as written, and once more with only ``model.predict`` replaced by a compiled call.

    Course pipeline: dlib landmarks + peer emotion + overlay, default settings. Its fps and per-stage
    ms come from the memory run: 5,000 frames looping the video (500 with ``quick``), with RSS after a
    warm-up and at the end. Also timed: dlib detection + 68 points on every full frame.
    """
    import keras
    original_frames, course_frames = (20, 500) if quick else (150, 5000)
    info = {"quick": quick, "video": "sample (WolfgangLanger_Pexels.mp4, 640x360)", "cpu_count": os.cpu_count()}
    model, which = baseline_model()
    info["original_model"] = which
    original = original_loop("sample", original_frames, model)
    original_compiled = original_loop("sample", original_frames, model, call="compiled")  # only predict replaced
    del model
    keras.backend.clear_session()

    # dlib on every full frame, landmarks only (what ran at ~50 fps before the downscaling/tracking work)
    with FrameSource("sample", loop=True) as src:
        n, t0 = (20 if quick else 150), time.perf_counter()
        for _ in range(n):
            g = to_gray(src.read())
            for box, _ in detect_faces(g, detect_max_side=640):
                predict_points(g, box)
        dlib_every_fps = n / (time.perf_counter() - t0)
    pipeline = LivePipeline(LiveConfig())
    report = run_headless(pipeline, "sample", course_frames, keep=0, warmup=20)
    course = {"fps": round(report.fps, 1), "frames": report.frames, "stage_ms": {k: round(v, 3) for k, v in report.stage_ms.items()},
              "faces_per_frame": round(report.faces_per_frame, 3), "rss_start_mb": round(report.rss_start_mb, 1),
              "rss_end_mb": round(report.rss_end_mb, 1), "rss_growth_mb": round(report.rss_growth_mb, 1),
              "rss_slope_kb_per_frame": round(report.rss_slope_kb_per_frame, 3),
              "landmarks": pipeline.landmarker.name, "emotion": pipeline.classifier.name,
              "detect_every": pipeline.config.detect_every, "detect_max_side": pipeline.config.detect_max_side}
    original = {k: (round(v, 2) if isinstance(v, float) else v) for k, v in original.items()}
    original["rss_growth_mb"] = round(original["rss_end_mb"] - original["rss_start_mb"], 1)
    return {**info, "original": original, "original_compiled_call_fps": round(original_compiled["fps"], 2), "course": course,
            "dlib_every_full_frame_fps": round(dlib_every_fps, 1),
            "ratio_course_over_original": round(report.fps / original["fps"], 2),
            "targets": {"course_fps_min": 60, "ratio_min": 3, "rss_growth_mb_max": 50},
            "targets_met": {"course_fps": report.fps >= 60, "ratio": report.fps / original["fps"] >= 3,
                            "rss_growth": report.rss_growth_mb < 50}}
