"""Notebook 05's benchmark: baseline vs course CNN vs the published peer, same budget, on the offline stand-in.

``python -m helpers.bench emotion`` runs :func:`benchmark` and prints its JSON. Besides the whole test
split it reports accuracy on the rows that can say something about real faces: real video frames
(``accuracy_real``) and the stills of people who are in no training image (``accuracy_unseen_people``).
:func:`fer2013_cost` says what a full FER2013 run costs on this machine (exercise 1 of notebook 05); its last result
ships as ``helpers/fer2013_cost.json``, which 05 prints.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from . import fer, standin
from .emotion import EmotionClassifier, evaluate, train
from .emotion_plots import kind_accuracy
from .machine import machine_info
from .paths import work_dir
from .storage import save_json, shipped_record

FER2013_ROWS = {"Training": 28709, "PublicTest": 3589, "PrivateTest": 3589}
"""Kaggle's fer2013.csv: 35,887 rows in three Usage groups."""
COST_FILE = "fer2013_cost.json"
"""The last :func:`fer2013_cost` result of ``python -m helpers.bench emotion``, shipped in ``helpers/``."""
_LOAD_PROBE = """
import json, sys, time
import psutil
from helpers import fer


def peak_rss():
    try:  # Linux: this process's own high-water mark. ru_maxrss would also count the memory of the parent at the fork
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    except ImportError:  # Windows
        return psutil.Process().memory_info().peak_wset


before = psutil.Process().memory_info().rss
t0 = time.perf_counter()
splits = fer.read_fer_csv(sys.argv[1])
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "rss_before": before, "peak_rss": peak_rss(), "rows": len(splits.y_train) +
                  len(splits.y_val) + len(splits.y_test)}))
"""


def loader_cost(csv: str | os.PathLike) -> dict[str, float]:
    """Read ``csv`` with :func:`helpers.fer.read_fer_csv` in a fresh Python: seconds, resident memory before the read
    and at its peak (bytes), rows.

    A child process, so that the peak is the loader's alone, not this process's models and imports.
    """
    probe = subprocess.run([sys.executable, "-c", _LOAD_PROBE, str(csv)], capture_output=True, text=True, check=True,
                           cwd=Path(__file__).resolve().parents[1])
    return json.loads(probe.stdout.strip().splitlines()[-1])


def write_fer2013_sized_csv(path: Path, seed: int = 0) -> Path:
    """A file in Kaggle's fer2013.csv format and size (35,887 rows of 48x48 random pixels): for timing only."""
    rng = np.random.default_rng(seed)
    usages = [u for u, n in FER2013_ROWS.items() for _ in range(n)]
    images = rng.integers(0, 256, (len(usages), fer.SIZE, fer.SIZE), dtype=np.uint8)
    return fer.write_fer_csv(path, images, rng.integers(0, 7, len(usages)), usages)


def _epoch_seconds(kind: str, data: fer.FerSplits, fraction: float, folder: Path) -> float:
    """Seconds of one full epoch of ``kind`` on ``data``, from the 2nd epoch of a run on ``fraction`` of it, scaled."""
    n_train, n_val = max(64, int(len(data.y_train) * fraction)), max(64, int(len(data.y_val) * fraction))
    part = replace(data, x_train=data.x_train[:n_train], y_train=data.y_train[:n_train], x_val=data.x_val[:n_val],
                   y_val=data.y_val[:n_val])
    res = train(kind, part, epochs=2, patience=99, run_dir=folder / kind, progress=False, resume=False)
    return res.history[-1]["seconds"] * len(data.y_train) / n_train


def fer2013_cost(fraction: float = 0.1, epochs: int = 60) -> dict[str, Any]:
    """What a full FER2013 run costs here (exercise 1 of notebook 05), on a FER2013-sized CSV of random pixels.

    The loader's read time and peak memory are measured in a child process (peak resident memory of a fresh
    Python that imports ``helpers.fer`` and reads the file). Seconds per epoch: each CNN trains two epochs on
    ``fraction`` of the training and validation images; the second epoch's time (no tracing) is scaled to all
    28,709 training images. ``epochs``: the recipe's budget (exercise 1 trains both models that long at most).
    """
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        csv = write_fer2013_sized_csv(folder / "fer2013.csv")
        write_seconds = time.perf_counter() - t0
        load = loader_cost(csv)
        data = fer.read_fer_csv(csv)
        epoch = {kind: _epoch_seconds(kind, data, fraction, folder) for kind in ("baseline", "course")}
        size_mb = csv.stat().st_size / 2**20
    hours = epochs * sum(epoch.values()) / 3600
    return {"rows": load["rows"], "csv_mb": round(size_mb, 1), "write_seconds": round(write_seconds, 1),
            "read_seconds": round(load["seconds"], 1), "peak_rss_mb": round(load["peak_rss"] / 2**20),
            "rss_before_read_mb": round(load["rss_before"] / 2**20),
            "images_mb": round(load["rows"] * fer.SIZE**2 / 2**20, 1),
            "measured_fraction": fraction, "baseline_epoch_seconds": round(epoch["baseline"]),
            "course_epoch_seconds": round(epoch["course"]), "exercise1_epochs": epochs,
            "exercise1_hours_at_most": round(hours, 1), "machine": machine_info(),
            "date": time.strftime("%Y-%m-%d")}


def shipped_cost() -> dict[str, Any] | None:
    """The FER2013 cost measured by the last ``python -m helpers.bench emotion`` (``helpers/fer2013_cost.json``)."""
    return shipped_record(COST_FILE)


def _summary(probs: np.ndarray, data, rows: dict[str, np.ndarray]) -> dict[str, Any]:
    ev = evaluate(probs, data.y_test)
    out = {"accuracy": round(ev["accuracy"], 4), "balanced_accuracy": round(ev["balanced_accuracy"], 4),
           "recall": {k: (round(v, 3) if v is not None else None) for k, v in ev["recall"].items()}}
    per_kind = kind_accuracy(probs, data.y_test, rows)  # the figures of the table 05 prints
    for name in rows:
        out[f"accuracy_{name}"] = None if np.isnan(per_kind[name]) else round(per_kind[name], 4)
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
    out["fer2013_size"] = fer2013_cost(fraction=0.01 if quick else 0.1)
    if not quick:  # the record notebook 05 prints (quick budgets are too small to plan with)
        save_json(Path(__file__).with_name(COST_FILE), out["fer2013_size"])
    return out


def cost_summary(cost: dict[str, Any] | None) -> str:
    """What :func:`fer2013_cost` measured, in three lines for notebook 05 (or what to run when nothing was measured)."""
    if not cost:
        return "no FER2013-size measurement here: run `python -m helpers.bench emotion` to make one."
    m = cost["machine"]
    load = "" if m.get("load_average_1min") is None else f", load {m['load_average_1min']}"
    hours = cost["exercise1_hours_at_most"]
    return (f"benchmark {cost['date']} ({m['cpu_count']} CPUs{load}, Python {m['python']}): reading a {cost['rows']:,}-row "
            f"fer2013.csv ({cost['csv_mb']:.0f} MB) took {cost['read_seconds']:.0f} s and {cost['peak_rss_mb']} MB of "
            f"memory at its peak\n"
            f"benchmark one FER2013 epoch: baseline {cost['baseline_epoch_seconds'] / 60:.1f} min, course "
            f"{cost['course_epoch_seconds'] / 60:.1f} min\n"
            f"benchmark exercise 1 ({cost['exercise1_epochs']} epochs of each model; early stopping may end the course "
            f"model sooner): at most {hours:.1f} h on that CPU")
