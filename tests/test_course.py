"""course.py, the one entry point: interpreters, venv layout on every OS, notebook selection, no shell."""
from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

from helpers.paths import ROOT
from scripts import load_script

course = load_script("course.py")


def test_standard_library_only():
    """course.py runs before the venv exists: it may import nothing outside the standard library."""
    tree = ast.parse((ROOT / "course.py").read_text())
    names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module and n.level == 0}
    names -= {"pins"}  # tools/pins.py, itself standard library only (checked below)
    assert names <= set(sys.stdlib_module_names), names - set(sys.stdlib_module_names)
    pins_tree = ast.parse((ROOT / "tools" / "pins.py").read_text())
    pins_names = {a.name.split(".")[0] for n in ast.walk(pins_tree) if isinstance(n, ast.Import) for a in n.names}
    assert pins_names <= set(sys.stdlib_module_names)


def test_never_uses_a_shell():
    text = (ROOT / "course.py").read_text()
    assert "shell=True" not in text and "bash" not in text and "os.system" not in text


def test_venv_interpreter_per_os(tmp_path):
    assert course.venv_python(tmp_path, windows=True) == tmp_path / "Scripts" / "python.exe"
    assert course.venv_python(tmp_path, windows=False) == tmp_path / "bin" / "python"


def test_space_note_names_a_short_disk(tmp_path):
    """A full disk is said in words before pip's Errno 28; a venv folder that does not exist yet is measured on
    its parent."""
    venv = tmp_path / "not-yet" / ".venv"
    assert course.space_note([venv, tmp_path], need_gb=0.0) == ""
    note = course.space_note([venv, tmp_path], need_gb=1e12)
    assert str(venv.resolve()) in note and str(tmp_path.resolve()) in note and "GB free" in note and "TMPDIR" in note


def test_this_python_is_found_and_supported():
    cmd, version = course.find_python(None)
    assert cmd == [sys.executable] and version == sys.version_info[:2]
    course.check_supported(version, cmd)
    cmd, version = course.find_python(sys.executable)
    assert version == sys.version_info[:2]
    cmd, version = course.find_python(f"{sys.version_info[0]}.{sys.version_info[1]}")
    assert version == sys.version_info[:2]


def test_unsupported_or_missing_python_says_what_to_do():
    with pytest.raises(course.SetupError, match=r"needs Python 3\.11, 3\.12 or 3\.13.*--python 3\.12"):
        course.check_supported((3, 10), ["python3.10"])
    with pytest.raises(course.SetupError, match="cannot find a working Python for '3.99'"):
        course.find_python("3.99")


def _old_python() -> list[str] | None:
    """A Python older than 3.11 on this machine (Apple's 3.9 is what a Mac learner's `python3` often is), or None."""
    for version in ("3.9", "3.10"):
        try:
            return course.find_python(version)[0]
        except course.SetupError:
            continue
    return None


OLD_PYTHON = _old_python()


@pytest.mark.skipif(OLD_PYTHON is None, reason="no Python older than 3.11 on this machine")
def test_an_older_python_runs_course_py_again_with_a_supported_one():
    """`python3 course.py ...` under Python 3.9 restarts itself with a supported Python (tools/pins.py needs tomllib,
    3.11+) instead of a traceback; with --python, with that one."""
    import subprocess
    old = OLD_PYTHON
    for extra, want in (([], r"running course\.py with \S+python3\.1[123]"), (["--python", "3.12"], r"with \S+3\.12")):
        proc = subprocess.run([*old, str(ROOT / "course.py"), *extra, "pins", "--check"], capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
        assert re.search(want, proc.stdout), proc.stdout
    proc = subprocess.run([*old, str(ROOT / "course.py"), "--python", "3.10", "pins", "--check"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 1 and "needs Python 3.11, 3.12 or 3.13" in proc.stdout, proc.stdout + proc.stderr


def test_a_venv_too_deep_for_windows_short_paths_is_refused_before_pip():
    """TensorFlow's Windows wheel holds a file 163 characters deep: under a long course folder (a OneDrive path) with
    Windows' long paths off, pip would stop half-way with "No such file or directory"; course.py says what to do."""
    deep = "C:\\Users\\firstname.lastname\\OneDrive - University of Somewhere\\Documents\\courses\\face-course\\.venv"
    note = course.long_path_problem(deep, windows=True, long_paths=False)
    assert "C:\\fc" in note and "LongPathsEnabled" in note and str(course.WINDOWS_MAX_PATH) in note
    assert course.long_path_problem(deep, windows=True, long_paths=True) == ""  # long paths on: nothing to say
    assert course.long_path_problem("C:\\face-course\\.venv", windows=True, long_paths=False) == ""
    assert course.long_path_problem("/home/me/" + "x" * 200, windows=False) == ""  # no such limit elsewhere
    # the boundary: the deepest file's path is exactly the limit
    fits = "C:\\" + "x" * (course.WINDOWS_MAX_PATH - course.LONGEST_WHEEL_MEMBER - len("C:\\\\Lib\\site-packages\\"))
    assert len(fits + "\\Lib\\site-packages\\") + course.LONGEST_WHEEL_MEMBER == course.WINDOWS_MAX_PATH
    assert course.long_path_problem(fits, windows=True, long_paths=False) == ""
    assert course.long_path_problem(fits + "x", windows=True, long_paths=False) != ""
    # the depth was measured on this TensorFlow: a new pin means measuring its Windows wheel again
    assert "tensorflow-cpu==2.21.0;" in course.pinned_requirements().replace(" ", ""), "re-measure LONGEST_WHEEL_MEMBER"


def test_pyenv_pythons_are_found_without_a_hard_coded_path(monkeypatch, tmp_path):
    """A version installed by pyenv but not active (its shim fails) is found under `pyenv root`."""
    root = tmp_path / "pyenv"
    for v in ("3.13.0", "3.13.1", "3.13.1t"):
        exe = root / "versions" / v / "bin" / "python3.13"
        exe.parent.mkdir(parents=True)
        exe.write_text("")
    fake = tmp_path / "pyenv-cmd"
    monkeypatch.setattr(course.shutil, "which", lambda name: str(fake) if name == "pyenv" else None)
    monkeypatch.setattr(course.subprocess, "run", lambda *a, **k: type("P", (), {"stdout": f"{root}\n"})())
    found = course._pyenv_candidates("3.13")
    assert found == [[str(root / "versions" / "3.13.1" / "bin" / "python3.13")],
                     [str(root / "versions" / "3.13.0" / "bin" / "python3.13")]]


def test_venv_per_python_version(tmp_path):
    assert course.choose_venv(None, (3, 13), root=tmp_path) == tmp_path / ".venv"
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\nversion = 3.11.7\n")
    assert course.venv_version(tmp_path / ".venv") == (3, 11)
    assert course.choose_venv(None, (3, 11), root=tmp_path) == tmp_path / ".venv"
    assert course.choose_venv(None, (3, 13), root=tmp_path) == tmp_path / ".venv-3.13"
    assert course.choose_venv("elsewhere", (3, 13), root=tmp_path) == (tmp_path / "elsewhere").resolve()


def test_notebooks_are_chosen_by_number_or_name():
    assert [p.stem for p in course.select_notebooks(["01", "03_records"])] == ["01_capture", "03_records"]
    assert len(course.select_notebooks([])) == len(list((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")))
    with pytest.raises(course.SetupError, match="no notebook '09'"):
        course.select_notebooks(["09"])


def test_install_stamp_follows_the_pins(tmp_path):
    (tmp_path / "pyproject.toml").write_text("a")
    first = course.install_stamp(tmp_path)
    (tmp_path / "pyproject.toml").write_text("b")
    assert course.install_stamp(tmp_path) != first


def test_command_line_help_and_pins_check(capsys):
    with pytest.raises(SystemExit) as exc:
        course.main(["--help"])
    assert exc.value.code == 0 and "setup" in capsys.readouterr().out
    assert course.main(["pins", "--check"]) == 0


def test_makefile_is_a_thin_wrapper():
    recipes = [ln for ln in (ROOT / "Makefile").read_text().splitlines() if ln.startswith("\t")]
    assert recipes and all(ln.strip().startswith("$(COURSE)") for ln in recipes)


def test_ci_runs_311_fully_and_313_partly():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "--python 3.11" in ci and "--python 3.13" in ci and "01 02 03 || status=1" in ci
    assert "browser-test || status=1" in ci  # the real-browser test runs in CI
    assert "set -e" not in ci.replace("set -uo", "")  # both suites run; the status is collected
    assert "exit $status" in ci


def test_test_runs_the_notebooks_before_the_unit_tests(monkeypatch):
    """The chain test reuses the generic models 04's nbval run just trained (tests/test_chain.py): nbval goes first."""
    calls = []
    monkeypatch.setattr(course, "run", lambda cmd, **kw: calls.append([str(c) for c in cmd]) or 0)
    args = course.argparse.Namespace(unit_only=False, nbval_only=False, notebooks=["01"], pytest_args=[])
    assert course.cmd_test(Path(sys.executable), args) == 0
    assert len(calls) == 2 and "--nbval-lax" in calls[0] and calls[1][-1] == "tests"
    calls.clear()
    monkeypatch.setattr(course, "run", lambda cmd, **kw: calls.append(cmd) or (1 if len(calls) == 1 else 0))
    assert course.cmd_test(Path(sys.executable), args) == 1 and len(calls) == 2  # a failed nbval still runs the unit tests


def test_setup_without_data_skips_the_sample_data(monkeypatch):
    seen = {}
    monkeypatch.setattr(course, "setup", lambda python, venv, *, data=True, **kw: (seen.update(data=data), Path("py"))[1])
    assert course.main(["setup", "--no-data"]) == 0 and seen["data"] is False
    seen.clear()
    assert course.main(["setup"]) == 0 and seen["data"] is True


def test_gpu_setup_only_where_cuda_wheels_exist(monkeypatch):
    """--gpu: tensorflow[and-cuda] on Linux x86_64; elsewhere a refusal that says why, before anything is installed."""
    monkeypatch.setattr(course.sys, "platform", "linux")
    monkeypatch.setattr(course.platform, "machine", lambda: "x86_64")
    text = course.pinned_requirements(gpu=True)
    assert "tensorflow[and-cuda]==" in text and course.pinned_requirements(gpu=False).count("tensorflow[") == 0
    for plat, machine in (("darwin", "arm64"), ("win32", "AMD64"), ("linux", "aarch64")):
        monkeypatch.setattr(course.sys, "platform", plat)
        monkeypatch.setattr(course.platform, "machine", lambda m=machine: m)
        with pytest.raises(course.SetupError, match="Linux x86_64 only"):
            course.pinned_requirements(gpu=True)


def test_install_stamp_tells_the_builds_apart():
    assert course.install_stamp(gpu=True) == course.install_stamp() + " gpu"
