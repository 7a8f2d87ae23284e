"""Where things live. One place knows the project layout, so notebooks work from any directory.

Set the environment variable ``COURSE_DATA_DIR`` to keep data somewhere else (the tests do).
"""
from __future__ import annotations

import os
from pathlib import Path

ROOT: Path = Path(__file__).resolve().parents[1]
"""The project root (the folder holding ``helpers/``, ``notebooks/`` and ``data/``)."""


def data_dir() -> Path:
    """The data folder: ``$COURSE_DATA_DIR`` if set, else ``<project>/data``."""
    return Path(os.environ.get("COURSE_DATA_DIR", ROOT / "data")).resolve()


def samples_dir() -> Path:
    """Downloaded, sha256-verified sample files (videos, the published emotion model)."""
    return data_dir() / "samples"


def work_dir(stage: str = "") -> Path:
    """What the notebooks produce, one sub-folder per notebook (``work_dir("01_capture")``)."""
    path = data_dir() / "work" / stage
    path.mkdir(parents=True, exist_ok=True)
    return path


def models_dir() -> Path:
    """Trained models saved by notebooks 04 and 05 and used by the live demo."""
    path = data_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def shown(path: str | os.PathLike) -> str:
    """A path as a notebook should print it: relative to the project root when inside it."""
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
