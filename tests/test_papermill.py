"""Plain ``papermill`` runs the course headless, as the README tells learners to, without hanging.

The README points learners to ``papermill -p`` for the parameters cells. Executors without a browser
(papermill, ``jupyter nbconvert --execute``, nbclient) mimic an ipywidgets ``Output`` widget by
answering each write into it with a ``comm_msg`` on the kernel's shell channel, sent while they wait on
that same channel for the cell's ``execute_reply``. jupyter_client sends through a blocking shadow of
the asyncio socket, so pyzmq's event loop is not told to look at the socket again; when the reply has
already arrived the send swallows its wake-up, and the cell waits out the whole cell timeout (for ever
with papermill's default of none) although its reply is there (nbclient issue #312). 02's frame
browser drew into an ``Output`` widget and so hung some papermill runs; it now shows an ``Image``
widget, whose updates only go from the kernel to the frontend.

Checked here: the README's command lines, run exactly as a learner types them (from the project root,
no timeout flag, the default kernel), except that the executed copy goes to the test's own folder and
the data to an empty ``COURSE_DATA_DIR`` with the verified samples linked in; and, without a kernel,
that the browser holds no ``Output`` widget and redraws its image when the slider moves.
"""
from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from helpers.paths import ROOT

from notebook_run import fresh_data_folder

README_LINES = [line.strip() for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
                if line.startswith("papermill notebooks/")]
"""The learner's commands as the README prints them, in course order (02 reads 01's manifest)."""
RUN_LIMIT = 600  # seconds for one command: each takes well under a minute; a stalled widget cell never ends
CELL_LIMIT = 120  # seconds: no cell of 01 or 02 comes near it


def _papermill(line: str, out: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess, float]:
    """Run a README papermill line from the project root, its output notebook redirected to ``out``.

    The ``papermill`` next to this interpreter is the one an activated venv finds first. On a hang the
    process group is killed (the kernel follows: it exits when its parent dies) and the test fails.
    """
    args = shlex.split(line)
    assert args[0] == "papermill" and args[2].endswith("_out.ipynb"), line
    exe = Path(sys.executable).with_name("papermill")
    cmd = ([str(exe)] if exe.exists() else [sys.executable, "-m", "papermill"]) + [args[1], str(out), *args[3:]]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=RUN_LIMIT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        pytest.fail(f"`{line}` still running after {RUN_LIMIT} s (hung); its log ends:\n{stderr[-3000:]}")
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr), time.monotonic() - t0


def _widget_state(nb: dict) -> dict[str, dict]:
    return nb.get("metadata", {}).get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})


def _descendants(state: dict[str, dict], model_id: str) -> list[dict]:
    """The widget models under ``model_id`` (itself included), following children ("IPY_MODEL_<id>")."""
    model = state[model_id]
    found = [model]
    for child in model.get("state", {}).get("children", []):
        found += _descendants(state, child.removeprefix("IPY_MODEL_"))
    return found


@pytest.mark.slow
def test_readme_papermill_lines_run_headless(tmp_path):
    data = tmp_path / "data"
    fresh_data_folder(data)
    env = {**os.environ, "COURSE_DATA_DIR": str(data), "TF_CPP_MIN_LOG_LEVEL": "3",
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    seconds = {}
    assert [shlex.split(line)[1] for line in README_LINES] == ["notebooks/01_capture.ipynb", "notebooks/02_landmarks.ipynb"]
    for line in README_LINES:
        out = tmp_path / Path(shlex.split(line)[2]).name
        proc, took = _papermill(line, out, env)
        seconds[line] = round(took)
        assert proc.returncode == 0, f"`{line}` failed:\n{proc.stderr[-4000:]}"
        nb = json.loads(out.read_text())
        slow = {i: round(c["metadata"]["papermill"]["duration"]) for i, c in enumerate(nb["cells"])
                if (c["metadata"].get("papermill", {}).get("duration") or 0) > CELL_LIMIT}
        assert not slow, f"`{line}`: cells that took over {CELL_LIMIT} s (index: seconds): {slow}"
        state = _widget_state(nb)
        outputs = [m for m in state.values() if m["model_name"] == "OutputModel"]
        assert not outputs, f"`{line}`: an Output widget makes headless executors stall (nbclient #312)"
    print("papermill run times (s):", seconds)

    browser = [c for c in nb["cells"] if c["cell_type"] == "code" and "browse_landmarks(" in "".join(c["source"])]
    assert len(browser) == 1, "02 shows the frame browser in one cell"
    views = [o["data"]["application/vnd.jupyter.widget-view+json"]["model_id"] for o in browser[0]["outputs"]
             if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert views, "the frame-browser cell displays a widget"
    images = [m for m in _descendants(state, views[0]) if m["model_name"] == "ImageModel"]
    assert images and images[0].get("buffers"), "the stored browser shows its first frame (an Image widget's PNG)"


def test_browser_has_no_output_widget_and_redraws(sample_video):
    """Without a kernel: the browser is slider + label + Image, and moving the slider redraws the image."""
    import ipywidgets as widgets

    from helpers.draw import browse_landmarks

    n = 3
    points = np.stack([np.column_stack([np.linspace(270, 380, 68), np.linspace(80, 190, 68)])] * n)
    ls = _LandmarkSetStandIn(  # the fields browse_landmarks reads from a LandmarkSet
        meta={"source": str(sample_video), "settings": {"rotate": 0, "max_side": 640}},
        frame_index=np.array([0, 100, 200]), timestamp=np.array([0.0, 3.3, 6.7]), seconds=np.array([0.008, 0.009, 0.01]),
        frame_points=points, boxes=np.array([[250, 60, 400, 210]] * n), crops=np.zeros((n, 64, 64, 3), np.uint8),
        points=points / 6)
    view = browse_landmarks(ls)

    def all_widgets(w):
        return [w] + [d for c in getattr(w, "children", ()) for d in all_widgets(c)]

    found = all_widgets(view)
    assert not [w for w in found if isinstance(w, widgets.Output)]
    image = next(w for w in found if isinstance(w, widgets.Image))
    slider = next(w for w in found if isinstance(w, widgets.IntSlider))
    first = bytes(image.value)
    assert first.startswith(b"\x89PNG") and slider.max == n - 1
    slider.value = 2
    assert bytes(image.value).startswith(b"\x89PNG") and bytes(image.value) != first
    import gc
    import weakref
    crops = weakref.ref(ls.crops)  # the widget keeps points and boxes, not the crops: a re-run keeps no second copy
    del ls
    gc.collect()
    assert crops() is None, "the browser keeps the landmark set's crops alive"


class _LandmarkSetStandIn(SimpleNamespace):
    """The fields of a LandmarkSet that the browser reads, and its length."""

    def __len__(self) -> int:
        return len(self.crops)
