"""A learner's own face goes through notebooks 01 -> 02 -> 03 -> 04 -> 06, set by parameters alone.

The learner is played by the second sample video (``SOURCE = "other_person"``, a person the generic
landmark model never saw) under ``NAME = "me"``, in an empty ``COURSE_DATA_DIR`` (only the verified
sample files are linked in), with small sizes passed through papermill. The notebooks are built from
their sources (``notebooks/src``; the drift test keeps the ``.ipynb`` identical; set ``CHAIN_SOURCES``
to another folder of sources to try edits before they land). Checked: 04 saved
``landmark_cnn_me.keras`` whose sidecar metrics show the personal model beating the generic one on
me's held-out frames, and 06 used that model.

What a first run of the course on the sample made and is not NAME's own (04's generic trainings, 05's
emotion model) is copied in when the course's data folder has it (see :func:`notebook_run.reuse_course_run`), so the
chain's time goes to NAME's own stages, not to training the same generic models again.
``pytest -m "not slow"`` skips it.
"""
from __future__ import annotations

import json
import warnings

import pytest

from helpers.paths import data_dir

from notebook_run import fresh_data_folder, run_notebook

CHAIN = {  # notebook -> parameters (small sizes: the chain checks the wiring, not the quality targets)
    "01_capture": {"SOURCE": "other_person", "NAME": "me", "GRID_FRAMES": 4},
    "02_landmarks": {"NAME": "me", "SHOW_CROPS": 4},
    "03_records": {"NAME": "me", "PASSES": 2},
    "04_landmark_cnn": {"NAME": "me", "PERSONAL_STEPS": 60, "SHOW_FRAMES": 2},  # EPOCHS as by default: 04 checks its models
    "06_live_demo": {"NAME": "me", "LANDMARKS": "cnn", "SOURCE": "other_person", "FRAMES": 300, "SHOW": 1,
                     "ORIGINAL_FRAMES": 20, "MEMORY_CALLS": 60, "TRADEOFF_FRAMES": 60, "AB_FRAMES": 120,
                     "COMPARE_FRAMES": 20, "VIDEO_FRAMES": 10, "MIN_RATIO": 1},
}


@pytest.mark.slow
def test_own_face_through_the_course(tmp_path, monkeypatch):
    root = tmp_path / "data"
    reused = fresh_data_folder(root, reuse_from=data_dir())
    print("copied from the course's own run on the sample:", reused or "nothing (04 and 06 train what they need)")
    monkeypatch.setenv("COURSE_DATA_DIR", str(root))  # the kernels inherit it
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    texts, seconds = {}, {}
    for name, params in CHAIN.items():
        run = run_notebook(name, params, save_to=tmp_path)
        assert run.error is None, f"{name} stopped: {run.error}"
        seconds[name] = round(run.seconds)
        texts[name] = run.text
    print("chain run times (s):", seconds)
    if any(not r.startswith("emotion") for r in reused) and "reusing the finished training" not in texts["04_landmark_cnn"]:
        warnings.warn("04 trained its generic models again although the course's finished ones were copied in: "
                      "the chain's rebuild of the sample's records no longer matches the course's "
                      "(see train_model's fingerprint).")

    assert (root / "work" / "01_capture" / "me.json").exists()
    assert (root / "work" / "02_landmarks" / "me.npz").exists()
    split = json.loads((root / "work" / "03_records" / "split_me.json").read_text())
    assert split["name"] == "me" and split["source"].endswith("single_face.mp4")
    model = root / "models" / "landmark_cnn_me.keras"
    assert model.exists() and model.with_suffix(".tflite").exists()
    side = json.loads(model.with_suffix(".json").read_text())
    metrics = side["metrics"]
    # the figures notebook 04 quotes (pytest -s shows them)
    print("personal model sidecar:", json.dumps(side, sort_keys=True))
    assert side["person"] == "me" and side["source"] == "single_face.mp4"
    assert 0 < metrics["nme_held_out"] < metrics["nme_held_out_generic"], metrics
    assert "landmark model: landmark_cnn_me.keras" in texts["06_live_demo"]
    assert "landmark_cnn_me.keras" in texts["06_live_demo"].split("landmarks:", 1)[-1]  # the pipeline's banner
