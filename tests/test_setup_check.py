"""The set-up check of every notebook's first cell: each missing piece gives one sentence naming the command."""
from __future__ import annotations

import subprocess
import sys

import pytest

from helpers import CourseError, setup_check
from scripts import load_script


def _first_code_cells() -> dict[str, str]:
    mod = load_script("tools/notebooks.py")
    return {src.stem: next(c.source for c in mod.read_source(src).cells if c.cell_type == "code") for src in mod.sources()}


FIRST = _first_code_cells()


def test_this_set_up_passes(capsys):
    setup_check.check_setup()
    assert "set-up OK" in capsys.readouterr().out


def test_unsupported_python_is_named():
    report = setup_check.inspect(version=(3, 10))
    assert report.problems and "Python 3.10" in report.problems[0] and "course.py setup" in report.problems[0]
    assert setup_check.inspect(version=(3, 13)).python == "3.13"


def test_not_the_course_folder(tmp_path):
    problems = setup_check.inspect(root=tmp_path).problems
    assert len(problems) == 1 and "not the course folder" in problems[0] and "pip install -e" in problems[0]


def _project(tmp_path, needs: list[str], pins: list[str]):
    (tmp_path / "course.py").write_text("")
    quoted = lambda items: "".join(f'  "{i}",\n' for i in items)  # noqa: E731
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "x"\ndependencies = [\n{quoted(needs)}]\n'
                                             f'[tool.course]\npins = [\n{quoted(pins)}]\n')


def test_missing_package_stops_and_missing_tool_is_a_note(tmp_path, monkeypatch):
    _project(tmp_path, ["no-such-course-package>=1.0", "numpy>=1.0"],
             ["no-such-course-package==1.0", "uv==999.0", "numpy==0.0.1"])
    monkeypatch.setattr(setup_check, "TOOLS", {"uv"})
    report = setup_check.inspect(root=tmp_path)
    assert len(report.problems) == 1 and "no-such-course-package is not installed" in report.problems[0]
    assert "course.py setup" in report.problems[0] and "%pip install -e" in report.problems[0]
    assert any("uv" in n for n in report.notes) and any("numpy" in n and "pinned 0.0.1" in n for n in report.notes)


def test_version_out_of_range_stops_in_range_is_a_note(tmp_path):
    """A hosted runtime's own NumPy: in the range it is a note (pins differ), outside it a stop naming the range."""
    from importlib import metadata
    have = metadata.version("numpy")
    _project(tmp_path, [f"numpy>={have}"], ["numpy==0.0.1"])
    report = setup_check.inspect(root=tmp_path)
    assert report.problems == [] and any(f"numpy {have} (pinned 0.0.1)" in n for n in report.notes)
    _project(tmp_path, ["numpy>=999"], ["numpy==999.0"])
    problems = setup_check.inspect(root=tmp_path).problems
    assert len(problems) == 1 and f"numpy {have} is outside the range >=999" in problems[0]


def test_another_distribution_of_the_same_package_meets_the_need():
    """tensorflow-cpu (the course's venv) meets the need for `tensorflow`; dlib compiled from source meets `dlib-bin`."""
    found = setup_check._installed("tensorflow")
    assert found is not None and found[0] in setup_check.PROVIDERS["tensorflow"]
    assert setup_check.unmet_needs() == []
    assert setup_check._installed("no-such-course-package") is None


def test_opencv_without_gui_meets_the_need(monkeypatch):
    """A minimal hub image has no libGL, so the learner swaps opencv-python for opencv-python-headless (same `cv2`):
    the first cell accepts it, and several OpenCV builds side by side (Colab ships three) are no note."""
    from importlib import metadata
    real = metadata.version

    def headless_only(dist):
        if dist == "opencv-python":
            raise metadata.PackageNotFoundError(dist)
        return "4.14.0.94" if dist == "opencv-python-headless" else real(dist)
    monkeypatch.setattr(setup_check.metadata, "version", headless_only)
    assert setup_check._installed("opencv-python") == ("opencv-python-headless", "4.14.0.94")
    assert not any("opencv" in p for p in setup_check.unmet_needs())
    monkeypatch.setattr(setup_check.metadata, "version", lambda d: "4.14.0.94" if d.startswith("opencv") else real(d))
    assert not any("opencv" in n for n in setup_check.doubled())


def test_two_distributions_of_one_package_are_a_note(monkeypatch):
    """A hosted runtime's compiled dlib plus the course's dlib-bin: a note naming both and the command that mends it."""
    from importlib import metadata
    real = metadata.version
    monkeypatch.setattr(setup_check.metadata, "version", lambda d: "19.24.6" if d == "dlib" else real(d))
    notes = setup_check.inspect().notes
    found = [n for n in notes if "dlib-bin and dlib are both installed" in n]
    assert len(found) == 1 and "`import dlib`" in found[0] and "--force-reinstall --no-deps dlib-bin" in found[0]
    monkeypatch.setattr(setup_check.metadata, "version", real)
    assert not any("both installed" in n for n in setup_check.inspect().notes)


def test_missing_samples_stop_with_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(setup_check.sys, "prefix", str(setup_check.ROOT / ".venv-3.13"))
    with pytest.raises(CourseError, match=r"sample data missing.*shape_predictor_68.*run `python course\.py setup`"):
        setup_check.check_setup()
    # a hosted runtime or a conda env of the learner's: course.py setup would build a 2 GB venv it does not use
    monkeypatch.setattr(setup_check.sys, "prefix", str(tmp_path / "conda" / "envs" / "face-course"))
    with pytest.raises(CourseError, match=r"sample data missing.*`from helpers\.data import main; main\(\)` in a cell"):
        setup_check.check_setup()


def test_problem_renders_without_traceback():
    lines = setup_check.SetupProblem("run `python course.py setup`.")._render_traceback_()
    assert lines == ["Set-up problem: run `python course.py setup`."]


def test_every_notebook_starts_with_the_check():
    assert len(FIRST) >= 6
    for name, source in FIRST.items():
        assert "check_setup()" in source and "course.py setup" in source, f"{name}: first code cell is not the set-up check"


@pytest.mark.parametrize("name", sorted(FIRST))
def test_first_cell_without_the_course_gives_the_command(tmp_path, name):
    """Run the cell where `helpers` cannot be imported (no site-packages, another folder): a message, no traceback."""
    proc = subprocess.run([sys.executable, "-S", "-c", FIRST[name]], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode != 0
    assert "python course.py setup" in proc.stderr and "%pip install" in proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
