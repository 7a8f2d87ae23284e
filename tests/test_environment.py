"""One list of pins (pyproject.toml); requirements.txt and environment.yml are generated from it."""
from __future__ import annotations

import importlib.util
import re
import sys

import pytest

from helpers.paths import ROOT


def _tool(name: str):
    """Import ``tools/<name>.py`` (standard-library scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"course_tools_{name}", ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


pins = _tool("pins")


def _pinned(text: str) -> dict[str, str]:
    """name -> version of every ``name==version`` line (requirements.txt or environment.yml)."""
    found = {}
    for line in text.splitlines():
        m = re.match(r"^\s*(?:-\s+)?'?([A-Za-z0-9_.\-]+)==([^\s#;']+)", line)
        if m:
            found[m.group(1).lower()] = m.group(2)
    return found


def test_generated_files_match_pyproject():
    assert pins.stale() == [], "run `python course.py pins` and commit requirements.txt and environment.yml"


def test_pip_and_conda_lists_agree_with_pyproject():
    want = {p.name: p.version for p in pins.read_pins()}
    assert len(want) >= 10
    assert _pinned((ROOT / "requirements.txt").read_text()) == want
    assert _pinned((ROOT / "environment.yml").read_text()) == want


def test_drift_is_detected(tmp_path):
    """The check can fail: a hand-edited requirements.txt is reported as stale."""
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    pins.write(tmp_path)
    assert pins.stale(tmp_path) == []
    req = tmp_path / "requirements.txt"
    req.write_text(req.read_text().replace("numpy==", "numpy==1"))
    assert pins.stale(tmp_path) == ["requirements.txt"]


def test_every_pin_says_why_and_is_exact():
    for pin in pins.read_pins():
        assert len(pin.why) > 10, pin
        assert re.fullmatch(r"[0-9][0-9A-Za-z.]*", pin.version), pin


def test_unpinned_dependency_is_refused(tmp_path):
    text = (ROOT / "pyproject.toml").read_text().replace('"psutil==7.2.2"', '"psutil>=7"')
    (tmp_path / "pyproject.toml").write_text(text)
    with pytest.raises(ValueError, match="not pinned"):
        [p.version for p in pins.read_pins(tmp_path / "pyproject.toml")]


def test_tensorflow_build_per_platform():
    """tensorflow-cpu where it has wheels (Linux x86_64, Windows), tensorflow elsewhere: never both, never neither."""
    by_name = {p.name: p for p in pins.read_pins()}
    from packaging.markers import Marker
    for env in ({"sys_platform": "linux", "platform_machine": "x86_64"}, {"sys_platform": "win32", "platform_machine": "AMD64"},
                {"sys_platform": "darwin", "platform_machine": "arm64"}, {"sys_platform": "linux", "platform_machine": "aarch64"}):
        chosen = [n for n in ("tensorflow", "tensorflow-cpu") if Marker(by_name[n].marker).evaluate(env)]
        assert len(chosen) == 1, (env, chosen)


def test_no_face_recognition_models_anywhere():
    assert "face-recognition-models" not in {p.name for p in pins.read_pins()}
    offenders = [p.relative_to(ROOT) for p in (ROOT / "helpers").rglob("*.py") if "import face_recognition_models" in p.read_text()]
    assert offenders == []


def test_requires_python_admits_311_to_313():
    import tomllib
    from packaging.specifiers import SpecifierSet
    spec = SpecifierSet(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"])
    assert all(v in spec for v in ("3.11", "3.12", "3.13")) and "3.10" not in spec and "3.14" not in spec
    assert pins.PYTHONS == ("3.11", "3.12", "3.13")


def test_opencv_is_the_4x_line():
    assert {p.name: p.version for p in pins.read_pins()}["opencv-python"].startswith("4.")


def test_notebooks_match_their_sources():
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "make_notebook.py"), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
