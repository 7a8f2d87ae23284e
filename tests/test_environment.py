"""requirements.txt (pip) and environment.yml (conda) must list the same pinned packages."""
from __future__ import annotations

import re

from helpers.paths import ROOT


def _pins(text: str) -> dict[str, str]:
    pins = {}
    for line in text.splitlines():
        m = re.match(r"^\s*(?:-\s+)?([A-Za-z0-9_.\-]+)==([^\s#]+)", line)
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


def test_pip_and_conda_lists_agree():
    pip = _pins((ROOT / "requirements.txt").read_text())
    conda = _pins((ROOT / "environment.yml").read_text())
    assert pip, "no pins found in requirements.txt"
    assert pip == conda


def test_every_conda_package_says_why():
    lines = [ln for ln in (ROOT / "environment.yml").read_text().splitlines() if "==" in ln]
    assert all("#" in ln.split("==", 1)[1] for ln in lines)


def test_opencv_is_the_4x_line():
    assert _pins((ROOT / "requirements.txt").read_text())["opencv-python"].startswith("4.")


def test_notebooks_match_their_sources():
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "make_notebook.py"), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
