"""The pinned packages: read once from ``pyproject.toml``, written out for pip and conda users.

``pyproject.toml`` says two things apart:
- ``[project.dependencies]`` (and the ``lab`` / ``test`` extras): what the course needs, as ranges. A hosted
  runtime's ``pip install -e <course folder>`` reads these, and keeps its own TensorFlow, NumPy and kernel when
  they are in range.
- ``[tool.course] pins``: the one list of exact pins (one package per line, a comment after it saying why), what
  ``course.py setup`` installs. ``requirements.txt`` (pip) and ``environment.yml`` (conda) are generated from
  it; ``tests/test_environment.py`` fails when they drift, or when a pin leaves its range.

Standard library only: it runs before the virtual environment exists.

Usage: python tools/pins.py [--check]    (or: python course.py pins [--check])
"""
from __future__ import annotations

import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHONS = ("3.11", "3.12", "3.13")
"""The Python versions the course supports (``requires-python`` admits exactly these)."""


@dataclass(frozen=True)
class Pin:
    """One line of ``[tool.course] pins``: the requirement (with its marker) and why it is there."""

    requirement: str  # e.g. 'tensorflow==2.21.0; sys_platform == "darwin"'
    why: str

    @property
    def name(self) -> str:
        """The normalised distribution name (``dlib-bin``)."""
        return re.split(r"[=<>!~;\[ ]", self.requirement, maxsplit=1)[0].strip().lower().replace("_", "-")

    @property
    def version(self) -> str:
        """The pinned version (the part after ``==``)."""
        m = re.search(r"==\s*([^;\s]+)", self.requirement)
        if not m:
            raise ValueError(f"{self.requirement!r} in pyproject.toml is not pinned with ==: pin it to one version.")
        return m.group(1)

    @property
    def marker(self) -> str:
        """The environment marker ('' when the pin applies everywhere)."""
        return self.requirement.split(";", 1)[1].strip() if ";" in self.requirement else ""


WIDTH = 26  # comments line up after short pins; a long (marker) line just gets two spaces
HEADER = ("# GENERATED from [tool.course] pins in pyproject.toml by `python course.py pins`: "
          "edit pyproject.toml, not this file.")
"""The first line of every file written from the pins."""


def read_pins(pyproject: Path = ROOT / "pyproject.toml") -> list[Pin]:
    """Every pin of ``[tool.course] pins``, in file order, each with the comment written after it."""
    text = pyproject.read_text(encoding="utf-8")
    deps = tomllib.loads(text)["tool"]["course"]["pins"]
    comments: dict[str, str] = {}
    for line in text.splitlines():
        m = re.match(r"""^\s*(['"])(.+?)\1\s*,?\s*#\s*(.+)$""", line)
        if m:
            comments[m.group(2)] = m.group(3).strip()
    missing = [d for d in deps if d not in comments]
    if missing:
        raise ValueError("pyproject.toml: write each pin on its own line with a '# why' comment; "
                         f"missing for {missing}")
    return [Pin(d, comments[d]) for d in deps]


def ranges(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, list[str]]:
    """The needs as ranges: ``{"": [project.dependencies], "lab": [...], "test": [...]}`` (the extras by name)."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    return {"": list(project["dependencies"]), **project.get("optional-dependencies", {})}


GPU_TENSORFLOW = 'tensorflow[and-cuda]=={version}; sys_platform == "linux" and platform_machine == "x86_64"'
"""What ``course.py setup --gpu`` installs instead of tensorflow-cpu: TensorFlow with NVIDIA's CUDA wheels."""


def gpu_variant(pins: list[Pin]) -> list[Pin]:
    """The pins of ``setup --gpu``: on Linux x86_64 tensorflow-cpu is swapped for ``tensorflow[and-cuda]`` (same version).

    Every other platform keeps its line (``course.py`` offers ``--gpu`` on Linux x86_64 only).
    """
    out = []
    for p in pins:
        if p.name == "tensorflow-cpu":
            out.append(Pin(f'tensorflow-cpu=={p.version}; sys_platform == "win32" and platform_machine == "AMD64"', p.why))
            p = Pin(GPU_TENSORFLOW.format(version=p.version), "TensorFlow with NVIDIA's CUDA and cuDNN wheels "
                    "(course.py setup --gpu; without a GPU it runs on the CPU)")
        out.append(p)
    return out


def requirements_txt(pins: list[Pin]) -> str:
    """The text of ``requirements.txt``: the pins with their markers, for ``pip install -r``."""
    lines = [HEADER,
             "# What `python course.py setup` installs (then `pip install --no-deps -e .`); a hosted runtime needs only "
             "`pip install -e .`."]
    lines += [f"{p.requirement.ljust(WIDTH)}  # {p.why}" for p in pins]
    return "\n".join(lines) + "\n"


def environment_yml(pins: list[Pin]) -> str:
    """The text of ``environment.yml``: a conda environment with the same pins installed by pip."""
    lines = [HEADER,
             "# Conda environment for the course (the third way to set up; see README.md). Create and use it with:",
             "#   conda env create -f environment.yml && conda activate face-course",
             "#   pip install --no-deps -e .  &&  python -m helpers.data",
             "name: face-course",
             "channels:",
             "  - conda-forge",
             "dependencies:",
             f"  - python>={PYTHONS[0]},<3.{int(PYTHONS[-1].split('.')[1]) + 1}"
             f"   # the course is tested on CPython {', '.join(PYTHONS)}",
             "  - pip",
             "  - pip:"]
    quoted = [f"'{p.requirement}'" if p.marker else p.requirement for p in pins]
    lines += [f"      - {q.ljust(WIDTH)}  # {p.why}" for q, p in zip(quoted, pins)]
    return "\n".join(lines) + "\n"


GENERATED = {"requirements.txt": requirements_txt, "environment.yml": environment_yml}


def stale(root: Path = ROOT) -> list[str]:
    """The generated files whose content differs from what ``pyproject.toml`` says."""
    pins = read_pins(root / "pyproject.toml")
    return [name for name, make in GENERATED.items()
            if not (root / name).is_file() or (root / name).read_text(encoding="utf-8") != make(pins)]


def write(root: Path = ROOT) -> list[str]:
    """(Re)write the generated files; return the names of those that changed."""
    pins = read_pins(root / "pyproject.toml")
    changed = []
    for name, make in GENERATED.items():
        path, text = root / name, make(pins)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_text(text, encoding="utf-8", newline="\n")
            tmp.replace(path)  # atomic: a reader never sees half a file
            changed.append(name)
    return changed


def main(argv: list[str]) -> int:
    """``--check``: exit 1 (and say what to run) if a generated file is stale; otherwise rewrite them."""
    if "--check" in argv:
        bad = stale()
        for name in bad:
            print(f"{name} is out of date with pyproject.toml: run `python course.py pins` and commit it.")
        return 1 if bad else 0
    for name in write() or ["nothing"]:
        print(f"pins: rewrote {name}" if name != "nothing" else "pins: requirements.txt and environment.yml are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
