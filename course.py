#!/usr/bin/env python3
"""One entry point for the course, on Linux, macOS and Windows: set up, run, test, open, rebuild.

    python course.py setup       make .venv/, install the pinned packages and helpers, fetch the sample data
    python course.py course      set up, then run all six notebooks on the sample data (copies in build/executed/)
    python course.py test        set up, then the notebook regression tests and the unit tests (what CI runs)
    python course.py lab         set up, then open JupyterLab on notebooks/
    python course.py notebooks   set up, then sync notebooks/src/*.py into notebooks/*.ipynb and execute them in place
    python course.py pins        rewrite requirements.txt and environment.yml from pyproject.toml

On Windows type ``py course.py ...`` (PowerShell or cmd). ``make setup|course|test|lab|notebooks`` does the same.
``--python 3.13`` (or a path, or ``python3.13``) picks the interpreter for the venv; a venv made with another
Python is left alone and ``.venv-3.13`` is used instead. Run ``python course.py COMMAND --help`` for options.

Standard library only: this file runs before the virtual environment exists. Python 3.11, 3.12 or 3.13.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
SUPPORTED = ((3, 11), (3, 12), (3, 13))
NOTEBOOKS_DIR = ROOT / "notebooks"
STAMP = ".installed"
NBVAL_ARGS = ["--nbval-lax", "--nbval-current-env", "--nbval-cell-timeout=1200",
              "--nbval-sanitize-with", str(ROOT / "tests" / "nbval_sanitize.cfg"), "-p", "no:cacheprovider"]
QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore::DeprecationWarning"}


class SetupError(Exception):
    """Something the user must fix; the message says what to run."""


def say(message: str) -> None:
    """One line of progress, flushed at once (so it interleaves correctly with child processes' output)."""
    print(f"course.py: {message}", flush=True)


def versions_text(versions=SUPPORTED) -> str:
    """'3.11, 3.12 or 3.13'."""
    names = [f"{a}.{b}" for a, b in versions]
    return ", ".join(names[:-1]) + " or " + names[-1]


# ------------------------------------------------------------------------------------------ interpreters
def python_version(cmd: list[str]) -> tuple[int, int] | None:
    """(major, minor) of the interpreter ``cmd``, or None if it does not run (a pyenv shim of an inactive version fails)."""
    try:
        proc = subprocess.run([*cmd, "-c", "import sys; print('%d %d' % sys.version_info[:2])"],
                              capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.fullmatch(r"(\d+) (\d+)", proc.stdout.strip()) if proc.returncode == 0 else None
    return (int(m.group(1)), int(m.group(2))) if m else None


def _pyenv_candidates(version: str) -> list[list[str]]:
    """Interpreters of ``version`` (e.g. '3.13') installed by pyenv, newest patch first, found via ``pyenv root``."""
    pyenv = shutil.which("pyenv")
    if not pyenv:
        return []
    try:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return []
    if not root:
        return []

    def patch(p: Path) -> tuple[int, ...]:
        return tuple(int(x) for x in re.findall(r"\d+", p.name)) or (0,)

    found = []
    for folder in sorted(Path(root, "versions").glob(f"{version}.*"), key=patch, reverse=True):
        if not re.fullmatch(re.escape(version) + r"\.\d+", folder.name):
            continue  # skip 3.13.0t (free-threaded) and other variants
        for exe in (folder / "bin" / f"python{version}", folder / "python.exe"):
            if exe.is_file():
                found.append([str(exe)])
                break
    return found


def find_python(spec: str | None) -> tuple[list[str], tuple[int, int]]:
    """The interpreter command for ``spec`` and its version.

    ``spec`` may be None (this interpreter), a path, a command (``python3.13``) or a version (``3.13``).
    A command that does not run (a pyenv shim for a version that is installed but not active) is
    looked up in ``$(pyenv root)/versions``; on Windows a version is also tried with the ``py`` launcher.
    """
    if not spec:
        return [sys.executable], sys.version_info[:2]
    m = re.fullmatch(r"(?:python)?(3\.\d+)(?:\.exe)?", Path(spec).name)
    want = m.group(1) if m else None
    candidates: list[list[str]] = []
    if Path(spec).exists():
        candidates.append([str(Path(spec))])
    else:
        name = spec if not re.fullmatch(r"3\.\d+", spec) else f"python{spec}"
        if shutil.which(name):
            candidates.append([shutil.which(name)])
        if want:
            if os.name == "nt" and shutil.which("py"):
                candidates.append(["py", f"-{want}"])
            candidates += _pyenv_candidates(want)
    for cmd in candidates:
        version = python_version(cmd)
        if version and (not want or f"{version[0]}.{version[1]}" == want):
            return cmd, version
    raise SetupError(f"cannot find a working Python for {spec!r}: install Python {want or versions_text()} "
                     "(python.org, your package manager or pyenv), or pass its full path with --python.")


def check_supported(version: tuple[int, int], cmd: list[str]) -> None:
    """Refuse an interpreter outside 3.11-3.13, saying which to use."""
    if tuple(version) not in SUPPORTED:
        raise SetupError(f"{' '.join(cmd)} is Python {version[0]}.{version[1]}; the course needs Python "
                         f"{versions_text()}. Run with one of them, e.g. `python3.12 course.py setup` or "
                         "`python course.py --python 3.12 setup` (make: `make setup PYTHON=python3.12`).")


def supported_python(spec: str | None) -> list[str]:
    """An interpreter of 3.11-3.13 to run this file with when the one running it is another version (Apple's 3.9,
    a new 3.14): ``spec``'s (``--python``), else the newest supported one found (PATH, ``py``, pyenv)."""
    if spec:
        cmd, version = find_python(spec)
        check_supported(version, cmd)
        return cmd
    for major, minor in reversed(SUPPORTED):
        try:
            return find_python(f"{major}.{minor}")[0]
        except SetupError:
            continue
    raise SetupError(f"this is Python {sys.version.split()[0]} and no Python {versions_text()} was found: install "
                     "one (python.org, Homebrew: `brew install python@3.13`, your package manager or pyenv), then run "
                     "course.py with it, e.g. `python3.13 course.py setup` (Windows: `py -3.13 course.py setup`).")


# ------------------------------------------------------------------------------------------ the venv
def venv_python(venv: Path, windows: bool | None = None) -> Path:
    """The venv's interpreter: ``Scripts\\python.exe`` on Windows, ``bin/python`` elsewhere."""
    windows = os.name == "nt" if windows is None else windows
    return venv / "Scripts" / "python.exe" if windows else venv / "bin" / "python"


def venv_version(venv: Path) -> tuple[int, int] | None:
    """The Python version a venv was made with (from its ``pyvenv.cfg``), or None if there is no venv there."""
    cfg = venv / "pyvenv.cfg"
    if not cfg.is_file():
        return None
    m = re.search(r"^version(?:_info)?\s*=\s*(\d+)\.(\d+)", cfg.read_text(encoding="utf-8", errors="replace"), re.M)
    return (int(m.group(1)), int(m.group(2))) if m else None


def choose_venv(requested: str | None, version: tuple[int, int], root: Path = ROOT) -> Path:
    """``--venv`` if given; else ``.venv`` unless it was made with another Python, then ``.venv-X.Y``."""
    if requested:
        return (root / requested).resolve() if not Path(requested).is_absolute() else Path(requested)
    default = root / ".venv"
    made_with = venv_version(default)
    if made_with is None or made_with == tuple(version):
        return default
    return root / f".venv-{version[0]}.{version[1]}"


def install_stamp(root: Path = ROOT, gpu: bool = False) -> str:
    """What the installed packages depend on: pyproject.toml (the pins) and the TensorFlow build. One venv per Python."""
    h = hashlib.sha256((root / "pyproject.toml").read_bytes())
    return h.hexdigest() + (" gpu" if gpu else "")


def _pins_tool():
    """``tools/pins.py`` (standard library only, like this file): the pins and the files written from them."""
    if str(ROOT / "tools") not in sys.path:
        sys.path.insert(0, str(ROOT / "tools"))
    import pins
    return pins


def pinned_requirements(gpu: bool = False) -> str:
    """The text of the requirements file ``setup`` installs: the pins (tools/pins.py), with ``--gpu``'s TensorFlow."""
    pins = _pins_tool()
    chosen = pins.read_pins()
    if gpu:
        if not (sys.platform == "linux" and platform.machine() in ("x86_64", "AMD64")):
            raise SetupError(f"--gpu installs TensorFlow with NVIDIA's CUDA wheels, which exist for Linux x86_64 only (this "
                             f"is {sys.platform} {platform.machine()}): run setup without --gpu (on Apple silicon, "
                             "TensorFlow uses the CPU; the tensorflow-metal plug-in is not part of the course).")
        chosen = pins.gpu_variant(chosen)
    return pins.requirements_txt(chosen)


def run(cmd: list[str], *, cwd: Path = ROOT, env: dict[str, str] | None = None) -> int:
    """Run a command (never through a shell), showing it; return its exit code."""
    shown = " ".join(str(c) if " " not in str(c) else f'"{c}"' for c in cmd)
    print(f"$ {shown}", flush=True)
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env={**os.environ, **QUIET_ENV, **(env or {})}).returncode


def must(cmd: list[str], what: str, **kw) -> None:
    """Run a command; a failure stops with a message saying what failed."""
    if run(cmd, **kw) != 0:
        raise SetupError(f"{what} failed (see the output above).")


INSTALL_GB = 3.0  # a venv with TensorFlow is about 2 GB; pip unpacks wheels in the temporary folder first


def space_note(places: list[Path], need_gb: float = INSTALL_GB) -> str:
    """A sentence naming each of ``places`` with less than ``need_gb`` GB free (empty when there is room).

    Said before installing and again when pip fails: a full disk otherwise shows only as pip's
    ``[Errno 28]`` or as a download that keeps breaking off.
    """
    short = []
    for place in dict.fromkeys(Path(p).resolve() for p in places):
        probe = next((q for q in (place, *place.parents) if q.exists()), place)
        free = shutil.disk_usage(probe).free / 1e9
        if free < need_gb:
            short.append(f"{place} has {free:.1f} GB free")
    if not short:
        return ""
    return (f"the install needs about {need_gb:.0f} GB free, but {' and '.join(short)}: free some space, or point "
            f"TMPDIR (and --venv) at a disk with room.")


LONGEST_WHEEL_MEMBER = 163
"""The longest file path inside a pinned wheel, in characters: TensorFlow's for Windows (tensorflow-cpu 2.21.0,
``tensorflow/include/external/envoy_api/envoy/extensions/load_balancing_policies/client_side_weighted_round_robin/v3/
client_side_weighted_round_robin.upb_minitable.h``; measured with ``zipfile`` on the downloaded wheel)."""
WINDOWS_MAX_PATH = 259  # characters in a path when Windows' long paths are off (MAX_PATH, 260, holds the final NUL)


def windows_long_paths() -> bool:
    """Whether Windows allows paths over :data:`WINDOWS_MAX_PATH` (``LongPathsEnabled``; off by default)."""
    import winreg  # Windows only
    try:
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"SYSTEM\CurrentControlSet\Control\FileSystem") as key:
            return winreg.QueryValueEx(key, "LongPathsEnabled")[0] == 1
    except OSError:
        return False


def long_path_problem(venv: Path | str, *, windows: bool | None = None, long_paths: bool | None = None) -> str:
    """On Windows with long paths off: a sentence saying what to do when TensorFlow's deepest file would not fit under
    ``venv`` (pip would stop half-way with "No such file or directory"); empty otherwise."""
    windows = os.name == "nt" if windows is None else windows
    if not windows:
        return ""
    site = str(venv).rstrip("\\/") + "\\Lib\\site-packages\\"
    longest = len(site) + LONGEST_WHEEL_MEMBER
    if longest <= WINDOWS_MAX_PATH or (windows_long_paths() if long_paths is None else long_paths):
        return ""
    return (f"the packages would go to {site} ({len(site)} characters), and TensorFlow's wheel holds a file "
            f"{LONGEST_WHEEL_MEMBER} characters below that: {longest} in all, over the {WINDOWS_MAX_PATH} that Windows "
            "allows while its long paths are off. Move the course folder to a short path such as C:\\fc and run this "
            "again, or turn long paths on (in PowerShell as administrator: New-ItemProperty -Path "
            "\"HKLM:\\SYSTEM\\CurrentControlSet\\Control\\FileSystem\" -Name LongPathsEnabled -Value 1 -PropertyType DWORD "
            "-Force) and run this again.")


def setup(python: str | None, venv_arg: str | None, *, data: bool = True, gpu: bool | None = None) -> Path:
    """Create the venv if needed, install the pins and helpers (only when pyproject.toml changed), fetch the data.

    The exact pins (``[tool.course] pins``) are installed from wheels, then the course itself with ``--no-deps``
    (its ranges are for hosted runtimes). ``gpu``: TensorFlow with CUDA instead of tensorflow-cpu (Linux x86_64);
    ``None`` keeps what the venv has (a venv set up with ``--gpu`` stays so until ``setup --cpu``).

    Returns the venv's interpreter.
    """
    cmd, version = find_python(python)
    check_supported(version, cmd)
    venv = choose_venv(venv_arg, version)
    made_with = venv_version(venv)
    if made_with is not None and made_with != tuple(version):
        raise SetupError(f"{venv.name} was made with Python {made_with[0]}.{made_with[1]}, not {version[0]}.{version[1]}: "
                         f"delete {venv.name} or pick another folder with --venv .venv-{version[0]}.{version[1]}.")
    py = venv_python(venv)
    if not (venv / STAMP).is_file() and (problem := long_path_problem(venv.resolve())):  # before pip stops half-way
        raise SetupError(problem)
    if not py.is_file():
        say(f"creating {venv.name}/ with Python {version[0]}.{version[1]} ({' '.join(cmd)})")
        must([*cmd, "-m", "venv", venv], "creating the virtual environment")
    stamp = venv / STAMP
    was_gpu = stamp.is_file() and stamp.read_text().strip().endswith(" gpu")
    if gpu is None:
        gpu = was_gpu
    want = install_stamp(gpu=gpu)
    requirements = pinned_requirements(gpu)  # refuses --gpu where there is no CUDA wheel, before anything is installed
    if not stamp.is_file() or stamp.read_text().strip() != want:
        t0 = time.monotonic()
        say(f"installing the pinned packages into {venv.name}/ (wheels only; a few minutes the first time)")
        places = [venv, Path(tempfile.gettempdir())]
        if note := space_note(places):
            say(f"warning: {note}")
        pip = [py, "-m", "pip", "--disable-pip-version-check"]
        must([*pip, "install", "--quiet", "--upgrade", "pip"], "upgrading pip")
        pinned = venv / "course-requirements.txt"
        pinned.write_text(requirements, encoding="utf-8")
        if was_gpu and not gpu:  # back from --gpu to the CPU build
            listed = subprocess.run([*map(str, pip), "list", "--format=freeze"], capture_output=True, text=True).stdout
            cuda = [line.split("==")[0] for line in listed.splitlines() if re.match(r"nvidia-.*-cu\d+==", line)]
            must([*pip, "uninstall", "--quiet", "--yes", "tensorflow", *cuda], "removing the GPU build of TensorFlow")
        if gpu:
            must([*pip, "uninstall", "--quiet", "--yes", "tensorflow-cpu"], "removing the CPU build of TensorFlow")
        retries = {"PIP_RESUME_RETRIES": os.environ.get("PIP_RESUME_RETRIES", "20")}  # TensorFlow's wheel is 270 MB
        if run([*pip, "install", "--quiet", "--only-binary", ":all:", "-r", pinned], env=retries) != 0:
            raise SetupError("installing the pinned packages failed (see the output above)."
                             + (f" Likely cause: {note}" if (note := space_note(places)) else ""))
        must([*pip, "install", "--quiet", "--no-deps", "-e", ROOT], "installing the course's helpers")
        tmp = stamp.with_suffix(".tmp")
        tmp.write_text(want + "\n")
        tmp.replace(stamp)
        say(f"installed in {time.monotonic() - t0:.0f} s")
    if data:
        must([py, "-m", "helpers.data"], "fetching the sample data (it needs PyPI)")
    return py


# ------------------------------------------------------------------------------------------ commands
def pick_numbered(every: list[Path], names: list[str] | None) -> list[Path]:
    """The files of ``every`` (``NN_name.*``) picked by number or name (``01``, ``02_landmarks``); all when ``names``
    is empty.

    Raises ``LookupError`` naming the choices when a name matches none or several. Shared with
    ``tools/notebooks.py`` (which picks the ``.py`` sources the same way).
    """
    if not names:
        return list(every)
    picked = []
    for name in names:
        key = Path(name).stem
        match = [f for f in every if f.stem == key or f.stem.startswith(f"{key}_")]
        if len(match) != 1:
            raise LookupError(f"no notebook {name!r}: choose from {', '.join(f.stem for f in every)} (or their numbers).")
        picked.append(match[0])
    return picked


def select_notebooks(names: list[str] | None) -> list[Path]:
    """Notebooks by number or name (``01``, ``02_landmarks``); all of them when ``names`` is empty."""
    try:
        return pick_numbered(sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")), names)
    except LookupError as exc:
        raise SetupError(str(exc)) from None


def cmd_test(py: Path, args: argparse.Namespace) -> int:
    """nbval on the chosen notebooks, then the unit tests; both always run, the exit code is non-zero if either failed.

    The notebooks go first: the unit tests' notebook chain (tests/test_chain.py) then reuses the generic
    models that notebooks 04 and 05 have just trained, as a learner's second run would, instead of training them again.
    """
    codes = {}
    if not args.unit_only:
        notebooks = select_notebooks(args.notebooks)
        t0 = time.monotonic()
        codes["notebook tests"] = run([py, "-m", "pytest", "-q", *NBVAL_ARGS, *args.pytest_args,
                                       *[nb.name for nb in notebooks]], cwd=NOTEBOOKS_DIR)
        say(f"notebook tests ({', '.join(nb.stem[:2] for nb in notebooks)}): exit {codes['notebook tests']} "
            f"in {time.monotonic() - t0:.0f} s")
    if not args.nbval_only:
        t0 = time.monotonic()
        codes["unit tests"] = run([py, "-m", "pytest", "-q", "--durations=20", *args.pytest_args, "tests"])
        say(f"unit tests: exit {codes['unit tests']} in {time.monotonic() - t0:.0f} s")
    failed = [what for what, code in codes.items() if code != 0]  # pytest's 5 (no test ran) counts as a failure
    if failed:
        say(f"FAILED: {' and '.join(failed)}")
        return 1
    return 0


def cmd_course(py: Path, args: argparse.Namespace) -> int:
    """Execute every notebook (or the chosen ones) on the sample data, in order; executed copies go to build/executed/.

    The committed notebooks are run as a learner would run them (tools/notebooks.py --to: a clean kernel per
    notebook, widget state stored); notebooks/ is left unchanged. Plain papermill works too (tests/test_papermill.py).
    """
    names = [nb.stem for nb in select_notebooks(args.notebooks)]
    t0 = time.monotonic()
    code = run([py, ROOT / "tools" / "notebooks.py", "--to", ROOT / "build" / "executed", *names])
    if code == 0:
        say(f"ran {len(names)} notebook(s) in {time.monotonic() - t0:.0f} s; executed copies in build/executed/")
    return code


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one command."""
    parser = argparse.ArgumentParser(prog="course.py", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.split("\n")[2:10]))
    parser.add_argument("--python", default=os.environ.get("COURSE_PYTHON") or None,
                        help="interpreter for the venv: 3.12, python3.13 or a path (default: the one running this file)")
    parser.add_argument("--venv", default=os.environ.get("COURSE_VENV") or None,
                        help="venv folder (default .venv, or .venv-X.Y when .venv has another Python)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("setup", help="create the venv, install the pinned packages + helpers, fetch the sample data")
    p.add_argument("--no-data", action="store_true", help="only the venv and the packages, not the sample data")
    build = p.add_mutually_exclusive_group()
    build.add_argument("--gpu", action="store_const", const=True, dest="gpu", help="Linux x86_64 with an NVIDIA GPU: "
                       "TensorFlow with its CUDA wheels (tensorflow[and-cuda]) instead of tensorflow-cpu; kept until --cpu")
    build.add_argument("--cpu", action="store_const", const=False, dest="gpu", help="back to the CPU build after --gpu")
    p = sub.add_parser("course", help="set up, then run the notebooks on the sample data (copies in build/executed/)")
    p.add_argument("notebooks", nargs="*", help="notebook numbers or names (default: all)")
    p = sub.add_parser("test", help="set up, then notebook regression tests (nbval) + unit tests")
    p.add_argument("notebooks", nargs="*", help="notebooks for nbval, by number or name (default: all)")
    p.add_argument("--unit-only", action="store_true", help="only the unit tests")
    p.add_argument("--nbval-only", action="store_true", help="only the notebook tests")
    p.add_argument("--pytest-args", default="", help="extra pytest arguments in one string, e.g. \"-x -m 'not slow'\"")
    sub.add_parser("lab", help="set up, then open JupyterLab on notebooks/")
    p = sub.add_parser("notebooks",
                       help="sync notebooks/src/*.py -> notebooks/*.ipynb, execute them in place (commit the result)")
    p.add_argument("notebooks", nargs="*", help="notebook numbers or names (default: all)")
    p.add_argument("--sync-only", action="store_true", help="sync the .ipynb with their sources without executing")
    p.add_argument("--check", action="store_true", help="only report notebooks whose cells differ from their source")
    p = sub.add_parser("pins", help="rewrite requirements.txt and environment.yml from pyproject.toml")
    p.add_argument("--check", action="store_true", help="only report whether they are up to date")
    p = sub.add_parser("bench", help="set up, then run a benchmark (python -m helpers.bench)")
    p.add_argument("what", nargs="*", help="landmarks, emotion or live")
    p = sub.add_parser("browser-test", help="set up, then the course in headless Chromium with a fake camera "
                       "(tools/browser_test.py; screenshots in build/browser/)")
    p.add_argument("--only", choices=["errors", "01", "02", "06"], help="one notebook's checks only")
    p.add_argument("--committed", action="store_true", help="test the committed .ipynb instead of notebooks/src")
    p.add_argument("--record", action="store_true", help="write the browser-camera figures to "
                   "helpers/browser_test_record.json (notebook 06 prints them; commit the file)")
    sub.add_parser("clean", help="delete build/ and everything the notebooks made in data/ (not the samples)")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    if sys.version_info[:2] not in SUPPORTED and not os.environ.get("COURSE_RESTARTED"):
        # course.py itself needs 3.11+ (tools/pins.py reads pyproject.toml with tomllib): run it again with one
        try:
            cmd = supported_python(args.python)
        except SetupError as exc:
            say(str(exc))
            return 1
        say(f"this is Python {sys.version.split()[0]}; running course.py with {' '.join(cmd)} instead")
        return subprocess.call([*cmd, str(Path(__file__).resolve()), *argv], env={**os.environ, "COURSE_RESTARTED": "1"})
    if hasattr(args, "pytest_args"):
        args.pytest_args = shlex.split(args.pytest_args)
    try:
        if args.command == "pins":
            return _pins_tool().main(["--check"] if args.check else [])
        if args.command == "clean":
            for folder in (ROOT / "build", ROOT / "data" / "work", ROOT / "data" / "models"):
                if folder.exists():
                    say(f"deleting {folder.relative_to(ROOT)}")
                    shutil.rmtree(folder)
            return 0
        py = setup(args.python, args.venv, data=not (args.command == "notebooks" and args.check
                                                     or args.command == "setup" and args.no_data),
                   gpu=getattr(args, "gpu", None))
        if args.command == "setup":
            say(f"ready: {py}")
            return 0
        if args.command == "test":
            return cmd_test(py, args)
        if args.command == "course":
            return cmd_course(py, args)
        if args.command == "lab":
            return run([py, "-m", "jupyter", "lab", NOTEBOOKS_DIR])
        if args.command == "notebooks":
            extra = ["--check"] if args.check else ["--sync-only"] if args.sync_only else []
            return run([py, ROOT / "tools" / "notebooks.py", *extra, *args.notebooks])
        if args.command == "browser-test":
            extra = ([f"--only={args.only}"] if args.only else []) + (["--committed"] if args.committed else []) \
                + (["--record"] if args.record else [])
            return run([py, ROOT / "tools" / "browser_test.py", *extra])
        if args.command == "bench":
            return run([py, "-m", "helpers.bench", *args.what])
    except SetupError as exc:
        say(str(exc))
        return 1
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
