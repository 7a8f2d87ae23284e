"""Run a course notebook from its source with papermill parameters, in a data folder of the test's own.

Shared by the chain tests (a learner's recording through the course) and the exercise tests (each
exercise's change applied, then the notebook run top to bottom). Notebooks are built from their
jupytext sources (``notebooks/src``; set ``CHAIN_SOURCES`` to another folder to try edits before they
land), parameterised the way ``papermill -p`` does it, and executed with the course build's client.
"""
from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers import data
from helpers.errors import CourseError
from helpers.paths import ROOT
from scripts import load_script
from helpers.storage import load_json
from helpers.training import STATE_FILE

NOTEBOOKS = ROOT / "notebooks"
SOURCES = Path(os.environ.get("CHAIN_SOURCES", NOTEBOOKS / "src"))
CELL_TIMEOUT = 900  # seconds: no cell of the course comes near it
COURSE_DATA = ("sample.", "sample_", "other_person.", "other_person_", "stills_", "split.json")  # the course's own files
EMOTION_MODEL = ("emotion_cnn.keras", "emotion_cnn.json", "emotion_cnn.tflite",
                 "emotion_cnn.keras.recipe.json")  # 05's model, which 06 uses


@dataclass
class Run:
    """One executed notebook: the notebook, everything it printed, its run time and the error it stopped on."""
    nb: Any
    text: str
    seconds: float
    error: str | None  # "ename: evalue" of the cell that stopped the run, None if it ran through

    @property
    def course_error(self) -> bool:
        """True if the run stopped on a CourseError (a message for the learner, not a traceback from a bug)."""
        return self.error is not None and self.error.startswith("CourseError")


def _client(nb, kernel_name: str = "python3"):
    """nbclient's executor with the course build's fix: reply and output channels polled in 1 s steps.

    One long wait on a zmq channel can miss a reply that has arrived when widget messages are in
    flight (nbclient #312), and a cell with a widget (02's frame browser) then hangs until the cell timeout.
    """
    from nbclient import NotebookClient
    tools = load_script("tools/notebooks.py")

    class Client(NotebookClient):
        async def async_start_new_kernel_client(self):
            kc = await super().async_start_new_kernel_client()
            tools._poll_in_steps(kc.shell_channel)
            tools._poll_in_steps(kc.iopub_channel)
            return kc

    return Client(nb, timeout=CELL_TIMEOUT, kernel_name=kernel_name, resources={"metadata": {"path": str(NOTEBOOKS)}})


def outputs(nb) -> str:
    """All text a notebook printed (streams, text results and error messages)."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            elif out.get("output_type") == "error":
                parts.append(f"{out.get('ename')}: {out.get('evalue')}")
            elif "data" in out:
                parts.append(out["data"].get("text/plain", ""))
    return "\n".join(parts)


def failed_cell(nb) -> str:
    """The first line of the code cell whose output holds the error ('' if none)."""
    for cell in nb.cells:
        if cell.cell_type == "code" and any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            lines = [ln for ln in cell.source.splitlines() if ln.strip()]
            return lines[0][:120] if lines else "(empty cell)"
    return ""


def edit_source(nb, old: str, new: str) -> None:
    """Replace ``old`` by ``new`` in the one code cell holding it (an exercise's code edit); fail if none or several do."""
    cells = [c for c in nb.cells if c.cell_type == "code" and old in c.source]
    if len(cells) != 1:
        raise AssertionError(f"{old!r} is in {len(cells)} code cells, expected exactly one")
    cells[0].source = cells[0].source.replace(old, new)


def run_notebook(name: str, params: dict[str, Any] | None = None, *, edits: list[tuple[str, str]] = (),
                 append: str | None = None, save_to: Path | None = None, kernel_name: str = "python3") -> Run:
    """Build notebook ``name`` (e.g. ``"01_capture"``) from its source, apply ``edits`` (old, new) to its code,
    optionally ``append`` a code cell, inject ``params`` as papermill does, and execute it.

    Runs in the current ``COURSE_DATA_DIR`` (set it before calling; kernels inherit the environment).
    Never raises for a failing cell: the returned :class:`Run` has the error. ``save_to``: a folder
    where the executed notebook is written (also when a cell failed: the traceback is in it). ``kernel_name``:
    another kernel (the hosted-runtime test runs 01 and 02 in a kernel of its own venv).
    """
    import jupytext
    import nbformat
    from nbclient.exceptions import CellExecutionError
    from papermill.parameterize import parameterize_notebook

    nb = jupytext.read(SOURCES / f"{name}.py")
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["papermill"] = {}
    for old, new in edits:
        edit_source(nb, old, new)
    if append:
        nb.cells.append(nbformat.v4.new_code_cell(append))
    for cell in nb.cells:
        cell.metadata.setdefault("tags", [])  # papermill reads every cell's tags
    nb = parameterize_notebook(nb, params or {})  # papermill's "injected-parameters" cell, as `papermill -p` makes it
    t0 = time.perf_counter()
    error = None
    try:
        _client(nb, kernel_name).execute()
    except CellExecutionError as exc:
        error = f"{exc.ename}: {exc.evalue}"
    finally:
        if save_to is not None:
            Path(save_to).mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, Path(save_to) / f"{name}_out.ipynb")
    return Run(nb, outputs(nb), time.perf_counter() - t0, error)


def fresh_data_folder(root: Path, *, reuse_from: Path | None = None) -> list[str]:
    """Make ``root`` an empty course data folder with the verified samples linked in.

    ``reuse_from``: a course data folder whose finished generic trainings (04) and emotion model (05)
    are copied in (see :func:`reuse_course_run`). Returns what was copied.
    """
    root.mkdir(parents=True, exist_ok=True)
    (root / "samples").symlink_to(data.samples_dir(), target_is_directory=True)
    return reuse_course_run(reuse_from, root) if reuse_from is not None else []


def reuse_course_run(course_data: Path, chain_data: Path) -> list[str]:
    """Copy, from the course's own data folder, what a first run on the sample made that is not NAME's own.

    A learner who ran the course on the sample (``python course.py course``) has these before turning to
    their own face: the sample's manifests, landmark sets and records (01-03; never a learner's own, which
    the tests make), 04's finished generic trainings and 05's emotion model, which 06 uses. 04 reuses a
    finished training only if its settings and the fingerprint of its training data match
    (``train_model``), which a rebuild of the sample's records must reproduce; otherwise it trains
    afresh. ``course.py test`` runs the notebooks before the unit tests, so in CI their nbval run has
    just made these. Copies, not links: a test never writes into the course's data folder. Returns what
    was copied.
    """
    copied = []
    for stage in ("01_capture", "02_landmarks", "03_records"):  # the sample's own data: manifests, landmarks, records
        folder = course_data / "work" / stage
        for src in sorted(folder.iterdir()) if folder.is_dir() else []:
            if src.is_file() and src.name.startswith(COURSE_DATA):
                (chain_data / "work" / stage).mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, chain_data / "work" / stage / src.name)
                copied.append(f"{stage}/{src.name}")
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
