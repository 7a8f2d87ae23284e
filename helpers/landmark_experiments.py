"""Notebook 04's measurements: how fast each way of calling a landmark model is, and the landmark benchmark.

``python -m helpers.bench landmarks`` runs :func:`benchmark`; notebook 04 calls :func:`compare_latency`.
The lessons themselves (data, networks, training, serving) are in :mod:`helpers.landmark_cnn`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .landmark_cnn import (COURSE_KIND, INPUT_SIZE, CNNLandmarker, default_model_path, evaluate, load_face_data,
                           mean_shape_nme, prepare, save_model, train_model)
from .landmarks import crop_face, to_gray
from .paths import work_dir
from .timing import latency_ms


def compare_latency(model_path: str | Path, frame: np.ndarray, box: tuple[int, int, int, int],
                    repeats: int = 100) -> dict[str, float]:
    """Milliseconds per face (median) of the ways to run a saved model on one face, and of dlib's predictor.

    ``model.predict`` (a whole ``tf.data`` machinery per call), a direct ``model(x)`` call, the call
    inside ``tf.function`` (a traced graph), TFLite (if converted); the crop and the mapping back are
    included in the last two, as the live demo runs them.
    """
    from .landmarks import load_models, predict_points
    served = CNNLandmarker(model_path, use_tflite=False)
    model = served.model
    crop, _ = crop_face(to_gray(frame), box, served.crop_size, served.margin)
    x = prepare(crop[None], size=served.size)
    gray = to_gray(frame)
    load_models()
    out = {"model.predict": latency_ms(lambda: model.predict(x, verbose=0), repeats=max(10, repeats // 5), warmup=3),
           "direct call model(x)": latency_ms(lambda: model(x, training=False), repeats=repeats),
           "tf.function (crop + map back)": latency_ms(lambda: served.predict(frame, box), repeats=repeats)}
    lite = CNNLandmarker(model_path)
    if lite.backend == "tflite":
        out["TFLite (crop + map back)"] = latency_ms(lambda: lite.predict(frame, box), repeats=repeats)
    out["dlib predictor"] = latency_ms(lambda: predict_points(gray, box), repeats=repeats)
    return {k: round(v, 2) for k, v in out.items()}


def benchmark(quick: bool = False, seconds: float | None = None) -> dict[str, Any]:
    """Train baseline and course model with the same budget on the sample video; report NME and latency.

    Budget: 180 s of training each (``quick``: 8 s). NME against dlib's points on the held-out
    (last 20 %) frames and on the other person's video; latency per face of the course CNN's
    direct call and of dlib's predictor, in ms. The course model is saved for the live demo
    unless ``quick``.
    """
    import helpers
    from .landmarks import load_models, predict_points
    helpers.setup(42, tensorflow=True)
    budget = seconds or (8.0 if quick else 180.0)
    data = load_face_data(progress=False)
    out: dict[str, Any] = {"budget_seconds_each": budget, "input_size": INPUT_SIZE,
                           "train_frames": len(data["train"]), "held_out_frames": len(data["held_out"]),
                           "other_person_frames": len(data["other_person"]),
                           "mean_shape_nme_held_out": round(mean_shape_nme(data["train"], data["held_out"]), 4),
                           "mean_shape_nme_other_person": round(mean_shape_nme(data["train"], data["other_person"]), 4)}
    results = {}
    for kind in ("baseline", COURSE_KIND):
        ck = work_dir("04_landmark_cnn") / f"bench_checkpoint_{kind}"
        r = train_model(kind, data["train"], None, seconds=budget, resume=False, checkpoint=ck, progress=False)
        results[kind] = r
        ev_h = evaluate(r.model, data["held_out"], r.size)
        ev_o = evaluate(r.model, data["other_person"], r.size)
        ev_t = evaluate(r.model, data["train"], r.size)
        out[kind] = {"name": r.name, "epochs": r.epochs, "train_seconds": round(r.seconds, 1),
                     "nme_train": round(ev_t["nme"], 4), "nme_held_out": round(ev_h["nme"], 4),
                     "nme_other_person": round(ev_o["nme"], 4)}
    out["course_over_baseline_held_out"] = round(out[COURSE_KIND]["nme_held_out"] / out["baseline"]["nme_held_out"], 3)
    # latency: one face, 128 px crop from a frame, course CNN vs dlib's predictor on the same box
    from .landmark_sets import ensure_landmark_set
    sample = ensure_landmark_set("sample", progress=False)
    from .video import read_frames
    frame = next(iter(read_frames("sample", max_frames=1))).image
    box = tuple(int(v) for v in sample.boxes[0])
    path = (work_dir("04_landmark_cnn") / "bench_model.keras") if quick else default_model_path()
    save_model(results[COURSE_KIND], path, {"held_out_nme": out[COURSE_KIND]["nme_held_out"],
                                            "other_person_nme": out[COURSE_KIND]["nme_other_person"]})
    lm = CNNLandmarker(path)
    keras_only = CNNLandmarker(path, use_tflite=False)
    gray = to_gray(frame)
    load_models()
    # both get the grey frame (the live demo converts once for detection); the CNN time includes crop + mapping back
    out["latency_ms"] = {"course_cnn_per_face": round(latency_ms(lambda: lm.predict(gray, box), repeats=500), 3),
                         "course_cnn_backend": lm.backend,
                         "course_cnn_per_face_from_bgr_frame": round(latency_ms(lambda: lm.predict(frame, box), repeats=500), 3),
                         "course_cnn_tf_function_per_face": round(latency_ms(lambda: keras_only.predict(gray, box), repeats=500), 3),
                         "dlib_predictor_per_face": round(latency_ms(lambda: predict_points(gray, box), repeats=500), 3)}
    p_lite, p_tf = lm.predict(gray, box), keras_only.predict(gray, box)
    out["latency_ms"]["tflite_vs_keras_max_diff_px"] = float(np.abs(p_lite - p_tf).max())
    out["model_path"] = str(path)
    out["targets"] = {"course_nme_held_out_max": 0.05, "course_over_baseline_max": 0.4,
                      "latency_vs_dlib": "course CNN <= dlib predictor"}
    return out
