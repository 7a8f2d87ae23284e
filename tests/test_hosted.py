"""The hosted install (README, "Hosted notebooks"), tried in a runtime like Colab's: nothing of the runtime is replaced.

A fresh Python 3.12 venv is prepared as a hosted runtime is: plain ``tensorflow`` at an older version than the
course's pins, an older ``ipykernel`` and ``numpy``, no JupyterLab. Then the documented command,
``pip install -e <course folder>``, and the checks: ``pip check`` is clean, exactly one TensorFlow distribution is
installed and its version (and NumPy's and the kernel's) is unchanged, no test or authoring tool came with it, and
notebooks 01 and 02 run top to bottom in a kernel of that venv. The table of versions before and after is written to
``build/hosted/versions.md``. Needs PyPI (about 1 GB of wheels) and Python 3.12; about 3 minutes.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from helpers.paths import ROOT
from scripts import load_script
from helpers.storage import atomic_path

RUNTIME = {"tensorflow": "2.19.0", "ipykernel": "6.29.5", "numpy": "2.1.3"}
"""What the simulated runtime has before the course comes (older than the pins: tensorflow-cpu 2.21.0, numpy 2.4.6)."""
TENSORFLOWS = {"tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tensorflow-intel", "tensorflow-macos", "tf-nightly"}
TOOLS = {"jupyterlab", "jupytext", "nbval", "papermill", "pytest", "ruff", "selenium", "uv"}
"""The lab and test extras: a hosted runtime gets none of them."""
ALSO_SHOWN = {"keras", "protobuf", "psutil", "packaging"}
"""Packages the runtime's TensorFlow or kernel brought, shown in the table whether or not the install changed them."""
HOSTED_INSTALL = ["-m", "pip", "install", "-e", str(ROOT)]
"""The README's command (``%pip install -e <course folder>`` in a cell runs exactly this with the kernel's Python)."""

pytestmark = [pytest.mark.slow, pytest.mark.network]


def _course():
    return load_script("course.py")


def _pip(py: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(py), "-m", "pip", "--disable-pip-version-check", *args], capture_output=True, text=True,
                          timeout=1200)
    if check and proc.returncode != 0:
        raise AssertionError(f"pip {' '.join(args)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return proc


def _installed(py: Path) -> dict[str, str]:
    listed = json.loads(_pip(py, "list", "--format=json").stdout)
    return {d["name"].lower().replace("_", "-"): d["version"] for d in listed}


def versions_table(before: dict[str, str], after: dict[str, str]) -> str:
    """A Markdown table of every package the install added or changed, and those of RUNTIME and ALSO_SHOWN."""
    rows = ["| package | before | after |", "|---|---|---|"]
    for name in sorted(set(before) | set(after)):
        if before.get(name) != after.get(name) or name in RUNTIME or name in ALSO_SHOWN:
            rows.append(f"| {name} | {before.get(name, '—')} | {after.get(name, '—')} |")
    return "\n".join(rows) + "\n"


@pytest.fixture(scope="module")
def hosted(tmp_path_factory) -> dict:
    """The simulated runtime, before and after the hosted install: its Python, the two package lists, pip check."""
    course = _course()
    try:
        cmd, _ = course.find_python("3.12")
    except course.SetupError as exc:
        pytest.skip(f"no Python 3.12 here ({exc}); CI has one")
    venv = tmp_path_factory.mktemp("hosted") / "runtime"
    subprocess.run([*cmd, "-m", "venv", str(venv)], check=True, timeout=300)
    py = course.venv_python(venv)
    _pip(py, "install", "--quiet", "--only-binary", ":all:", *[f"{k}=={v}" for k, v in RUNTIME.items()])
    before = _installed(py)
    install = _pip(py, *HOSTED_INSTALL[2:])
    after = _installed(py)
    check = _pip(py, "check", check=False)
    table = versions_table(before, after)
    out = ROOT / "build" / "hosted"
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "versions.md") as tmp:
        tmp.write_text(f"pip check: {check.stdout.strip() or check.stderr.strip()}\n\n{table}", encoding="utf-8")
    print(table)
    return {"py": py, "before": before, "after": after, "check": check, "install": install}


def test_pip_check_is_clean_after_the_hosted_install(hosted):
    assert hosted["check"].returncode == 0, f"pip check after the hosted install:\n{hosted['check'].stdout}"


def test_the_runtime_keeps_its_tensorflow_numpy_and_kernel(hosted):
    before, after = hosted["before"], hosted["after"]
    assert {n for n in after if n in TENSORFLOWS} == {"tensorflow"}, "a second TensorFlow distribution was installed"
    for name, version in RUNTIME.items():
        assert before[name] == version, f"the simulated runtime was not prepared: {name} {before.get(name)}"
        assert after[name] == version, f"the hosted install replaced the runtime's {name} {version} by {after[name]}"
    assert after.get("face-course-helpers") == "0.1.0"


def test_no_test_or_authoring_tool_is_installed(hosted):
    assert not TOOLS & set(hosted["after"]), f"installed into the runtime: {sorted(TOOLS & set(hosted['after']))}"


@pytest.mark.parametrize("name", ["01_capture", "02_landmarks"])
def test_notebooks_run_in_the_hosted_runtime(hosted, name, tmp_path, monkeypatch):
    """01 and 02 top to bottom in a kernel of the simulated runtime (its own kernelspec), each on a fresh data folder
    (02 rebuilds what 01 would have saved, as it does when opened on its own)."""
    from notebook_run import fresh_data_folder, run_notebook
    kernels = tmp_path / "jupyter" / "kernels" / "course-hosted"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(hosted["py"]), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "hosted runtime (Python 3.12)", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    data = tmp_path / "data"
    fresh_data_folder(data)
    monkeypatch.setenv("COURSE_DATA_DIR", str(data))
    run = run_notebook(name, kernel_name="course-hosted", save_to=ROOT / "build" / "hosted")
    assert run.error is None, f"{name} stopped in the hosted runtime: {run.error}"
    assert "set-up OK: Python 3.12" in run.text, run.text[:1500]
    assert f"tensorflow {RUNTIME['tensorflow']} (pinned" in run.text, "the first cell does not note the runtime's TensorFlow"
