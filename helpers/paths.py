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


WINDOWS: bool = os.name == "nt"


def _short_name(path: str) -> str | None:
    """Windows: the short (8.3) name of an existing file or folder, e.g. ``C:\\Users\\JOS~1\\...``; None without one."""
    import ctypes
    from ctypes import wintypes
    get = ctypes.windll.kernel32.GetShortPathNameW  # type: ignore[attr-defined]
    get.argtypes, get.restype = [wintypes.LPCWSTR, wintypes.LPWSTR, wintypes.DWORD], wintypes.DWORD
    size = get(path, None, 0)
    if not size:
        return None
    buf = ctypes.create_unicode_buffer(size)
    return buf.value if get(path, buf, size) else None


def native(path: str | os.PathLike) -> str:
    """``path`` as a string for the libraries that open files themselves (dlib, OpenCV's video reader and writer).

    On Windows they take the path as 8-bit text in the system's code page, so a path with any non-ASCII character
    (a user folder such as ``C:\\Users\\José``) names no file there. For such a path of an *existing* file this
    returns its short 8.3 name, which is ASCII (Windows makes one on the system drive). Anywhere else, and when there
    is no short name, the path unchanged (:func:`non_ascii_hint` then says what to do if the library fails)."""
    text = os.fspath(path)
    text = text if isinstance(text, str) else os.fsdecode(text)
    if not WINDOWS or text.isascii():
        return text
    short = _short_name(str(Path(text).resolve()))
    return short if short and short.isascii() else text


def non_ascii_hint(path: str | os.PathLike) -> str:
    """A sentence for an error message when ``path`` may be why dlib or OpenCV failed (Windows, non-ASCII); else ""."""
    text = os.fsdecode(os.fspath(path))
    if not WINDOWS or native(text).isascii():
        return ""
    return (f" On Windows, dlib and OpenCV cannot open a file whose path has letters outside ASCII ({text}), and this "
            "drive gives it no short ASCII name: move the course folder to a path of plain letters (e.g. "
            "C:\\face-course) or give the file a plain name.")
