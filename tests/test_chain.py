"""Issue 12's chain: a learner's own face through notebooks 01 -> 02 -> 03 -> 04 -> 06, by parameters alone.

The learner is played by the second sample video (``SOURCE = "other_person"``, a person the generic
landmark model never saw) under ``NAME = "me"``, in an empty ``COURSE_DATA_DIR`` (only the verified
sample files are linked in), with small sizes passed through papermill. The notebooks are built from
their sources (``notebooks/src``; the drift test keeps the ``.ipynb`` identical; set ``CHAIN_SOURCES``
to another folder of sources to try edits before they land). Checked: 04 saved
``landmark_cnn_me.keras`` whose sidecar metrics show the personal model beating the generic one on
me's held-out frames, and 06 used that model.

Run time, measured on the course's 2-core machine while four other engineers used it: 01 1.3 min,
02 1 min, 03 2.7 min, 04 21.7 min (its two 60-epoch trainings took 685 s and 307 s under that load;
about 50 s each on 2 free cores, so 04 takes ~3 min there), 06 a few minutes with the small sizes
below. ``pytest -m "not slow"`` skips it.
"""
from __future__ import annotations

import json
import os
import importlib.util
import time
from pathlib import Path

import pytest

from helpers import data
from helpers.paths import ROOT

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
    flight (nbclient #312): 02's frame browser hung a papermill run of this chain that way once.
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


@pytest.mark.slow
def test_own_face_through_the_course(tmp_path, monkeypatch):
    import jupytext
    import nbformat
    from papermill.parameterize import parameterize_notebook

    root = tmp_path / "data"
    root.mkdir()
    (root / "samples").symlink_to(data.samples_dir(), target_is_directory=True)
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

    assert (root / "work" / "01_capture" / "me.json").exists()
    assert (root / "work" / "02_landmarks" / "me.npz").exists()
    split = json.loads((root / "work" / "03_records" / "split_me.json").read_text())
    assert split["name"] == "me" and split["source"].endswith("single_face.mp4")
    model = root / "models" / "landmark_cnn_me.keras"
    assert model.exists() and model.with_suffix(".tflite").exists()
    side = json.loads(model.with_suffix(".json").read_text())
    metrics = side["metrics"]
    print("personal model sidecar:", json.dumps(side, sort_keys=True))  # the figures notebook 04 quotes (pytest -s shows them)
    assert side["person"] == "me" and side["source"] == "single_face.mp4"
    assert 0 < metrics["nme_held_out"] < metrics["nme_held_out_generic"], metrics
    assert "landmark model: landmark_cnn_me.keras" in texts["06_live_demo"]
    assert "landmark_cnn_me.keras" in texts["06_live_demo"].split("landmarks:", 1)[-1]  # the pipeline's banner
