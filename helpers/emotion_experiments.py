"""Notebook 05's benchmark: baseline vs course CNN vs the published peer, same budget, on the offline stand-in.

``python -m helpers.bench emotion`` runs :func:`benchmark` and prints its JSON. Besides the whole test
split it reports accuracy on the rows that can say something about real faces: real video frames
(``accuracy_real``) and the stills of people who are in no training image (``accuracy_unseen_people``).
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from . import standin
from .emotion import EmotionClassifier, evaluate, train
from .machine import machine_info
from .paths import work_dir

def _summary(probs: np.ndarray, data, rows: dict[str, np.ndarray]) -> dict[str, Any]:
    ev = evaluate(probs, data.y_test)
    out = {"accuracy": round(ev["accuracy"], 4), "balanced_accuracy": round(ev["balanced_accuracy"], 4),
           "recall": {k: (round(v, 3) if v is not None else None) for k, v in ev["recall"].items()}}
    hit = probs.argmax(1) == data.y_test
    for name, sel in rows.items():
        out[f"accuracy_{name}"] = round(float(hit[sel].mean()), 4) if sel.any() else None
    return out


def benchmark(quick: bool = False) -> dict[str, Any]:
    """Train baseline and course model with the same budget (12 epochs; ``quick``: 2) on the stand-in; evaluate them
    and the peer.

    Prints nothing itself; ``python -m helpers.bench emotion`` prints the JSON.
    """
    from . import setup
    setup(42, tensorflow=True)  # before TensorFlow is imported: same numerics (oneDNN off) as the notebook
    import tensorflow as tf
    epochs = 2 if quick else 12
    t0 = time.perf_counter()
    data = standin.load_standin(progress=False)
    rows = standin.evaluation_rows(data)
    out: dict[str, Any] = {
        "data": data.source, "epochs_budget": epochs, "quick": quick, "standin_seconds": round(time.perf_counter() - t0, 1),
        "counts": data.counts(), "test_rows": {k: int(v.sum()) for k, v in rows.items()},
        "tf_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "note": ("accuracy_real: real video frames and stills, labelled by the peer (the teacher), so the peer scores "
                 "itself there; accuracy_synthetic: landmark warps (angry/disgust are labels by construction); "
                 "accuracy_unseen_people: stills of people in no training image (few faces: a rough figure). "
                 "None of these is comparable with published FER2013 accuracies.")}
    clfs = {}
    for kind in ("baseline", "course"):
        run_dir = work_dir("05_emotion") / "bench" / f"{kind}-{epochs}"
        res = train(kind, data, epochs=epochs, run_dir=run_dir, progress=False, resume=False)
        clf = EmotionClassifier.from_model(res.model, kind)
        clfs[kind] = clf
        out[kind] = _summary(clf.predict_batch(data.x_test), data, rows) | {
            "train_seconds": round(res.seconds, 1), "epochs_run": res.epochs, "params": int(res.model.count_params())}
    peer = EmotionClassifier.peer()
    clfs["peer"] = peer
    out["peer"] = _summary(peer.predict_batch(data.x_test), data, rows) | {"params": int(peer.model.count_params())}
    face = data.x_test[0]
    out["latency_ms"] = {k: round(c.latency_ms(face), 2) for k, c in clfs.items()}
    out["machine"] = machine_info()  # latencies (not accuracies) depend on the load
    out["course_minus_baseline_points"] = round(100 * (out["course"]["accuracy"] - out["baseline"]["accuracy"]), 1)
    out["course_minus_baseline_real_points"] = round(
        100 * (out["course"]["accuracy_real"] - out["baseline"]["accuracy_real"]), 1)
    out["target_course_ge_baseline_plus_5"] = bool(out["course_minus_baseline_points"] >= 5)
    return out
