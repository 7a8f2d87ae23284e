"""A learner's own face goes through notebooks 01 -> 02 -> 03 -> 04 -> 06, set by parameters alone.

The learner is played by the second sample video (``SOURCE = "other_person"``, a person the generic
landmark model never saw) under ``NAME = "me"``, in an empty ``COURSE_DATA_DIR`` (only the verified
sample files are linked in), with small sizes passed through papermill. The notebooks are built from
their sources (``notebooks/src``; the drift test keeps the ``.ipynb`` identical; set ``CHAIN_SOURCES``
to another folder of sources to try edits before they land). Checked: 04 saved
``landmark_cnn_me.keras`` whose sidecar metrics show the personal model beating the generic one on
me's held-out frames, and 06 used that model.

What a first run of the course on the sample made and is not NAME's own (04's generic trainings, 05's
emotion model) is copied in when the course's data folder has it (see :func:`_reuse_course_run`), so the
chain's time goes to NAME's own stages, not to training the same generic models again.
``pytest -m "not slow"`` skips it.
"""
from __future__ import annotations

import json
import os
import importlib.util
import shutil
import time
import warnings
from pathlib import Path

import pytest

from helpers import data
from helpers.errors import CourseError
from helpers.paths import ROOT, data_dir
from helpers.storage import load_json
from helpers.training import STATE_FILE

NOTEBOOKS = ROOT / "notebooks"
SOURCES = Path(os.environ.get("CHAIN_SOURCES", NOTEBOOKS / "src"))
CELL_TIMEOUT = 900  # seconds: no cell of the chain comes near it
CHAIN = {  # notebook -> parameters (small sizes: the chain checks the wiring, not the quality targets)
    "01_capture": {"SOURCE": "other_person", "NAME": "me", "GRID_FRAMES": 4},
    "02_landmarks": {"NAME": "me", "SHOW_CROPS": 4},
    "03_records": {"NAME": "me", "PASSES": 2},
    "04_landmark_cnn": {"NAME": "me", "PERSONAL_STEPS": 60, "SHOW_FRAMES": 2},  # EPOCHS as by default: 04 checks its models
    "06_live_demo": {"NAME": "me", "LANDMARKS": "cnn", "SOURCE": "other_person", "FRAMES": 300, "SHOW": 1,
                     "ORIGINAL_FRAMES": 20, "MEMORY_CALLS": 60, "TRADEOFF_FRAMES": 60, "AB_FRAMES": 120,
                     "COMPARE_FRAMES": 20, "VIDEO_FRAMES": 10, "MIN_RATIO": 1},
}


def _client(nb):
    """nbclient's executor with the course build's fix: reply and output channels polled in 1 s steps.

    One long wait on a zmq channel can miss a reply that has arrived when widget messages are in
    flight (nbclient #312), and a cell with a widget (02's frame browser) then hangs until the cell timeout.
    """
    from nbclient import NotebookClient
    spec = importlib.util.spec_from_file_location("course_tools_notebooks", ROOT / "tools" / "notebooks.py")
    tools = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tools)

    class Client(NotebookClient):
        async def async_start_new_kernel_client(self):
            kc = await super().async_start_new_kernel_client()
            tools._poll_in_steps(kc.shell_channel)
            tools._poll_in_steps(kc.iopub_channel)
            return kc

    return Client(nb, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}})


def _outputs(nb) -> str:
    """All text a notebook printed (streams and text results)."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            elif "data" in out:
                parts.append(out["data"].get("text/plain", ""))
    return "\n".join(parts)


EMOTION_MODEL = ("emotion_cnn.keras", "emotion_cnn.json", "emotion_cnn.tflite",
                 "emotion_cnn.keras.recipe.json")  # 05's model, which 06 uses


def _reuse_course_run(course_data: Path, chain_data: Path) -> list[str]:
    """Copy, from the course's own data folder, what a first run on the sample made that is not NAME's own.

    A learner who ran the course on the sample (``python course.py course``) has these before turning to
    their own face: 04's two finished generic trainings and 05's emotion model, which 06 uses (the chain
    skips 05: nothing in it is personal). 04 reuses a finished training only if its settings and the
    fingerprint of its training data match (``train_model``), which the chain's own rebuild of the sample's
    records must reproduce; otherwise it trains afresh. ``course.py test`` runs the notebooks before the
    unit tests, so in CI their nbval run has just made these, and the chain spends its time on what is
    NAME's own instead of training the same models a second time. Copies, not links: the chain never
    writes into the course's data folder. Returns what was copied.
    """
    copied = []
    runs = course_data / "work" / "04_landmark_cnn" / "runs"
    for src in sorted(runs.iterdir()) if runs.is_dir() else []:
        try:
            saved = load_json(src / STATE_FILE)  # the format train_model's Checkpoint writes
            finished, personal = saved["state"]["finished"], "init" in saved["config"]
        except (CourseError, OSError, KeyError):
            continue
        if finished and not personal:  # a fine-tuning run starts from other weights ("init"): NAME's own
            shutil.copytree(src, chain_data / "work" / "04_landmark_cnn" / "runs" / src.name)
            copied.append(src.name)
    models = course_data / "models"
    if all((models / f).is_file() for f in EMOTION_MODEL):
        (chain_data / "models").mkdir(parents=True, exist_ok=True)
        for f in EMOTION_MODEL:
            shutil.copy2(models / f, chain_data / "models" / f)
        copied.append("emotion_cnn")
    return copied


@pytest.mark.slow
def test_own_face_through_the_course(tmp_path, monkeypatch):
    import jupytext
    import nbformat
    from papermill.parameterize import parameterize_notebook

    root = tmp_path / "data"
    root.mkdir()
    (root / "samples").symlink_to(data.samples_dir(), target_is_directory=True)
    reused = _reuse_course_run(data_dir(), root)
    print("copied from the course's own run on the sample:", reused or "nothing (04 and 06 train what they need)")
    monkeypatch.setenv("COURSE_DATA_DIR", str(root))  # the kernels inherit it
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    texts, seconds = {}, {}
    for name, params in CHAIN.items():
        nb = jupytext.read(SOURCES / f"{name}.py")
        nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
        nb.metadata["language_info"] = {"name": "python"}
        nb.metadata["papermill"] = {}
        for cell in nb.cells:
            cell.metadata.setdefault("tags", [])  # papermill reads every cell's tags
        nb = parameterize_notebook(nb, params)  # papermill's "injected-parameters" cell, as `papermill -p` makes it
        t0 = time.perf_counter()
        try:
            client = _client(nb)
            client.execute()
        finally:
            nbformat.write(nb, tmp_path / f"{name}_out.ipynb")  # also when a cell failed: the traceback is in it
        seconds[name] = round(time.perf_counter() - t0)
        texts[name] = _outputs(nb)
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
