"""ruff (pinned in pyproject.toml, settings in its [tool.ruff]) finds nothing in helpers/, tests/, tools/ and course.py."""
from __future__ import annotations

import subprocess
import sys

import pytest

from helpers.paths import ROOT

LINTED = ["helpers", "tests", "tools", "course.py"]


def test_ruff_finds_nothing():
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", *LINTED],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        pytest.fail(f"ruff check {' '.join(LINTED)} (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}", pytrace=False)
