"""Notebook 05: read FER2013 in either of its two common forms, check it, and feed it to Keras.

FER2013 (Goodfellow et al., 2013) holds 35,887 grey 48x48 face images, each labelled with one of
seven emotions. The label order everywhere in this course is :data:`helpers.labels.EMOTIONS`
(FER2013's own: 0 angry, 1 disgust, 2 fear, 3 happy, 4 sad, 5 surprise, 6 neutral).

Where to put it (either form; :func:`find_fer2013` looks in this order):

1. ``data/fer2013.csv`` or ``data/fer2013/fer2013.csv`` -- Kaggle's CSV with columns
   ``emotion,pixels,Usage``: ``pixels`` is 2304 space-separated grey values (row by row),
   ``Usage`` is ``Training`` (28,709 rows), ``PublicTest`` (3,589) or ``PrivateTest`` (3,589).
2. ``data/fer2013/train/<emotion>/*.png|jpg`` and ``data/fer2013/test/<emotion>/...`` -- the folder
   layout the original project used (folder names may be ``angry``/``anger``, ``disgust``/``disgusted``,
   ``fear``/``fearful``, ``happy``/``happiness``, ``sad``/``sadness``, ``surprise``/``surprised``,
   ``neutral``).

Splits: train on ``Training``, choose epochs / hyper-parameters on ``PublicTest`` (the *validation*
split) and report on ``PrivateTest`` (the *test* split) once. The folder form has only train/test
(its test = PublicTest + PrivateTest), so its validation split is a seeded, stratified 10% of train.

Both forms give the same :class:`FerSplits` (uint8 arrays) and the same ``tf.data`` pipeline
(:func:`make_dataset`: float32 ``(B, 48, 48, 1)`` in [0, 1] and one-hot ``(B, 7)`` labels).
Bad input raises :class:`~helpers.errors.CourseError` naming the row or the file.
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .errors import CourseError
from .labels import EMOTIONS
from .paths import data_dir
from .video import decode_file

SIZE = 48
"""FER2013 images are SIZE x SIZE grey pixels."""

USAGES = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}
"""CSV ``Usage`` value -> our split name."""

FOLDER_NAMES: dict[str, int] = {}
"""Accepted class-folder names (lower case) -> label index in EMOTIONS."""
for _i, _names in enumerate([("angry", "anger"), ("disgust", "disgusted", "disgusting"), ("fear", "fearful", "scared"),
                             ("happy", "happiness"), ("sad", "sadness"), ("surprise", "surprised"),
                             ("neutral",)]):
    for _n in _names:
        FOLDER_NAMES[_n] = _i

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".tif", ".tiff")
SYSTEM_FILES = {"thumbs.db", "desktop.ini"}
"""Files an operating system leaves in folders (Windows; macOS's start with a dot): skipped, not images."""


@dataclass
class FerSplits:
    """Face images and labels per split: ``x_*`` (N, 48, 48) uint8 grey, ``y_*`` (N,) int64 in EMOTIONS order."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)`` of split ``"train"``, ``"val"`` or ``"test"``."""
        if name not in ("train", "val", "test"):
            raise CourseError(f"unknown split {name!r}: use 'train', 'val' or 'test'.")
        return getattr(self, f"x_{name}"), getattr(self, f"y_{name}")

    def counts(self) -> dict[str, dict[str, int]]:
        """Images per class and split: ``{"train": {"angry": n, ...}, ...}``."""
        return {s: {e: int((self.split(s)[1] == i).sum()) for i, e in enumerate(EMOTIONS)}
                for s in ("train", "val", "test")}


# ----------------------------------------------------------------------------- finding the data
def find_fer2013(root: str | os.PathLike | None = None) -> Path | None:
    """Where the learner put FER2013: the CSV file or the folder holding ``train/`` and ``test/``; None if absent.

    Looks in ``root`` (default ``data/``) for ``fer2013.csv``, ``fer2013/fer2013.csv``, ``fer2013/train``.
    """
    root = Path(root) if root else data_dir()
    for candidate in (root / "fer2013.csv", root / "fer2013" / "fer2013.csv"):
        if candidate.is_file():
            return candidate
    for candidate in (root / "fer2013", root):
        if (candidate / "train").is_dir() and (candidate / "test").is_dir():
            return candidate
    return None


ARCHIVE_SUFFIXES = (".zip", ".gz", ".tgz", ".tar", ".7z", ".rar")


def near_misses(root: str | os.PathLike | None = None) -> list[str]:
    """What in ``root`` (default ``data/``) looks like FER2013 that :func:`find_fer2013` does not take, each with what
    to do: an archive not unpacked, a CSV under another name or one folder too deep, train/ without test/."""
    root = Path(root) if root else data_dir()
    tips: list[str] = []
    for folder in (root, root / "fer2013"):
        if not folder.is_dir():
            continue
        for item in sorted(folder.iterdir()):
            low = item.name.lower()
            if item.is_file() and "fer" in low and low.endswith(ARCHIVE_SUFFIXES):
                tips.append(f"{item} is an archive: unpack it, so that data/fer2013.csv (or data/fer2013/train/ and "
                            "test/) exist")
            elif item.is_file() and low.endswith(".csv") and low != "fer2013.csv" and ("fer" in low or "face" in low):
                tips.append(f"{item}: if this is Kaggle's FER2013 CSV (columns emotion,pixels,Usage), rename it "
                            "fer2013.csv")
            elif item.is_dir() and item != root / "fer2013" and not low.startswith("."):
                if (item / "train").is_dir() or (item / "fer2013.csv").is_file():
                    tips.append(f"{item} holds {'train/' if (item / 'train').is_dir() else 'fer2013.csv'}: "
                                f"rename the folder {root / 'fer2013'}")
        if (folder / "train").is_dir() and not (folder / "test").is_dir():
            tips.append(f"{folder / 'train'} has no test/ beside it: put the download's test/ folder there too")
    return tips


def load_fer2013(path: str | os.PathLike | None = None, *, val_fraction: float = 0.1, seed: int = 42) -> FerSplits:
    """Load FER2013 from a CSV file or a train/test folder (default: :func:`find_fer2013`), fully validated."""
    found = Path(path) if path else find_fer2013()
    if found is None:
        tips = near_misses()
        raise CourseError(
            f"FER2013 is not in {data_dir()}"
            + (f" in a form the course reads: {'; '.join(tips)}." if tips else
               ". Download it from Kaggle (the 'Challenges in Representation Learning: Facial Expression "
               "Recognition' dataset) and put either fer2013.csv in data/ or the train/ and test/ folders in "
               "data/fer2013/; or keep using the offline stand-in."))
    if found.is_file():
        return read_fer_csv(found)
    return read_fer_folders(found, val_fraction=val_fraction, seed=seed)


# ----------------------------------------------------------------------------- the CSV form
def parse_pixels(text: str, where: str) -> np.ndarray:
    """One ``pixels`` field -> (48, 48) uint8; CourseError naming ``where`` if it is not 2304 values in 0-255."""
    try:
        values = np.fromstring(text, dtype=np.int64, sep=" ")  # fast C parser; raises on non-numbers
    except ValueError as exc:
        raise CourseError(f"{where}: the pixels field holds something that is not a whole number. "
                          "Re-download fer2013.csv; the file is damaged.") from exc
    if values.size != SIZE * SIZE:
        raise CourseError(f"{where}: {values.size} pixel values, expected {SIZE * SIZE} (48 x 48). "
                          "Re-download fer2013.csv or remove that row.")
    if values.min() < 0 or values.max() > 255:
        raise CourseError(f"{where}: pixel values must be 0-255, found {values.min()}..{values.max()}. "
                          "Re-download fer2013.csv or remove that row.")
    return values.astype(np.uint8).reshape(SIZE, SIZE)


def read_fer_csv(path: str | os.PathLike) -> FerSplits:
    """Read Kaggle's ``fer2013.csv`` (``emotion,pixels,Usage``); rows with bad labels, pixel counts or usage name the row."""
    path = Path(path)
    if not path.is_file():
        raise CourseError(f"{path} does not exist. Put Kaggle's fer2013.csv there (see helpers/fer.py).")
    xs: dict[str, list[np.ndarray]] = {s: [] for s in USAGES.values()}
    ys: dict[str, list[int]] = {s: [] for s in USAGES.values()}
    with _open_text(path) as fh:
        first = fh.readline()
        fh.seek(0)
        delimiter = next((d for d in (",", ";", "\t") if d in first), ",")  # a spreadsheet may have used ; or tabs
        reader = csv.reader(fh, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            raise CourseError(f"{path} is empty. Re-download fer2013.csv.")
        header = [h.strip() for h in header]
        missing = [c for c in ("emotion", "pixels", "Usage") if c not in header]
        if missing:
            raise CourseError(f"{path}: the header is {header}, missing column(s) {missing}. FER2013's CSV "
                              "has the columns emotion,pixels,Usage (the competition's train.csv without Usage "
                              "is not enough: use fer2013.csv).")
        ie, ip, iu = header.index("emotion"), header.index("pixels"), header.index("Usage")
        for line_no, row in _rows(reader, path):
            where = f"{path.name} line {line_no}"
            if not row:
                continue
            if len(row) < len(header):
                raise CourseError(f"{where}: {len(row)} fields, expected {len(header)}. "
                                  "The file is cut or damaged; re-download it.")
            label_text = row[ie].strip()
            if not label_text.lstrip("-").isdigit() or not 0 <= int(label_text) < len(EMOTIONS):
                raise CourseError(f"{where}: emotion label {label_text!r} is not a number 0-6 "
                                  f"({', '.join(f'{i}={e}' for i, e in enumerate(EMOTIONS))}). Fix or remove that row.")
            usage = row[iu].strip()
            if usage not in USAGES:
                raise CourseError(f"{where}: Usage {usage!r} is not one of {sorted(USAGES)}. Fix or remove that row.")
            split = USAGES[usage]
            xs[split].append(parse_pixels(row[ip], where))
            ys[split].append(int(label_text))
    return _splits(xs, ys, source=f"FER2013 CSV {path}", meta={"format": "csv", "path": str(path)})


def _open_text(path: Path):
    """``path`` opened as text for :func:`read_fer_csv`: UTF-8 with or without a byte-order mark, or gzip-compressed;
    a zip or tar archive, or UTF-16 text, gets a CourseError that says what to do."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head[:2] == b"\x1f\x8b":
        import gzip
        import tarfile
        if tarfile.is_tarfile(path):
            raise CourseError(f"{path} is a .tar.gz archive (Kaggle's fer2013.tar.gz is one): unpack it (`tar xzf "
                              "fer2013.tar.gz`, or your file manager) and put the fer2013.csv from it in data/.")
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    if head[:2] == b"PK":
        raise CourseError(f"{path} is a zip archive, not a CSV: unzip it and put the fer2013.csv (or the train/ and "
                          "test/ folders) from it in data/ (folders: data/fer2013/train and data/fer2013/test).")
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise CourseError(f"{path} is UTF-16 text (a spreadsheet's \"Unicode text\"): save it as \"CSV UTF-8\", or "
                          "use the fer2013.csv of the download as it is.")
    return open(path, newline="", encoding="utf-8-sig")


def _rows(reader, path: Path):
    """``(line number, row)`` of a CSV reader; a byte that is not UTF-8 gets a CourseError naming the line."""
    line_no = 1
    try:
        for line_no, row in enumerate(reader, start=2):
            yield line_no, row
    except UnicodeDecodeError as exc:
        raise CourseError(f"{path.name} after line {line_no}: not UTF-8 text ({exc.reason}). Re-download "
                          "fer2013.csv; a CSV saved by a spreadsheet should be saved as \"CSV UTF-8\".") from exc


def write_fer_csv(path: str | os.PathLike, images: np.ndarray, labels: np.ndarray, usages: list[str] | np.ndarray) -> Path:
    """Write (N, 48, 48) uint8 images with labels and Usage values as a FER2013-format CSV, atomically."""
    from .storage import atomic_path
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (SIZE, SIZE) or images.dtype != np.uint8:
        raise CourseError(f"images must be (N, 48, 48) uint8, got {images.shape} {images.dtype}.")
    if not (len(images) == len(labels) == len(usages)):
        raise CourseError("images, labels and usages must have the same length.")
    with atomic_path(path, ".csv") as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["emotion", "pixels", "Usage"])
        for img, label, usage in zip(images, labels, usages):
            if usage not in USAGES:
                raise CourseError(f"Usage {usage!r} is not one of {sorted(USAGES)}.")
            writer.writerow([int(label), " ".join(map(str, img.ravel().tolist())), usage])
    return Path(path)


# ----------------------------------------------------------------------------- the folder form
def class_folders(split_dir: Path) -> dict[int, Path]:
    """Map each label index to its class folder inside ``train/`` or ``test/``; CourseError if one is missing or unknown."""
    found: dict[int, Path] = {}
    for sub in sorted(p for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        key = sub.name.lower()
        if key not in FOLDER_NAMES:
            raise CourseError(f"{sub}: folder name {sub.name!r} is not an emotion. Expected one folder per emotion "
                              f"named like {', '.join(EMOTIONS)} (or a usual variant such as 'disgusted', 'fearful', "
                              "'surprised'). Rename or remove it.")
        label = FOLDER_NAMES[key]
        if label in found:
            raise CourseError(f"{split_dir}: both {found[label].name!r} and {sub.name!r} mean {EMOTIONS[label]!r}. "
                              "Merge them.")
        found[label] = sub
    missing = [EMOTIONS[i] for i in range(len(EMOTIONS)) if i not in found]
    if missing:
        raise CourseError(f"{split_dir}: no folder for {missing}. FER2013 has 7 classes; create the missing "
                          "folder(s) with their images (an incomplete download is the usual cause).")
    return found


def read_image_folder(split_dir: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read ``<split_dir>/<emotion>/*`` as (N, 48, 48) uint8 grey and (N,) labels; non-images and other sizes name the
    file."""
    split_dir = Path(split_dir)
    if not split_dir.is_dir():
        raise CourseError(f"{split_dir} is not a folder. "
                          "The folder form needs train/ and test/ with one sub-folder per emotion.")
    xs, ys = [], []
    for label, folder in class_folders(split_dir).items():
        for file in sorted(folder.iterdir()):
            if file.name.startswith(".") or file.name.lower() in SYSTEM_FILES:
                continue
            if file.is_dir():
                raise CourseError(f"{file}: a folder inside the class folder {folder.name}/ (its images would be left "
                                  f"out). Move its images up into {folder}, or remove it.")
            if file.suffix.lower() not in IMAGE_SUFFIXES:
                raise CourseError(f"{file}: not an image file ({file.suffix or 'no extension'}). Remove it from the "
                                  "dataset folder; only .png/.jpg images belong there.")
            img = decode_file(file)
            if img is None:
                raise CourseError(f"{file}: OpenCV cannot read this image (damaged or not really an image). "
                                  "Remove or replace it.")
            if img.dtype != np.uint8:
                raise CourseError(f"{file}: {img.dtype} image; FER2013 images are 8-bit grey. Remove or convert it.")
            if img.shape[:2] != (SIZE, SIZE):
                raise CourseError(f"{file}: image is {img.shape[1]}x{img.shape[0]}, FER2013 images are 48x48. "
                                  "Remove it, or resize your own images to 48x48 grey first.")
            if img.ndim == 3:
                img = cv2.cvtColor(img, cv2.COLOR_BGRA2GRAY if img.shape[2] == 4 else cv2.COLOR_BGR2GRAY)
            xs.append(img)
            ys.append(label)
    if not xs:
        raise CourseError(f"{split_dir}: the class folders are empty. Copy the images in.")
    return np.stack(xs), np.array(ys, np.int64)


def read_fer_folders(root: str | os.PathLike, *, val_fraction: float = 0.1, seed: int = 42) -> FerSplits:
    """Read ``root/train`` and ``root/test``; validation = seeded stratified ``val_fraction`` of train."""
    root = Path(root)
    x_tr, y_tr = read_image_folder(root / "train")
    x_te, y_te = read_image_folder(root / "test")
    train_idx, val_idx = stratified_split(y_tr, val_fraction, seed)
    xs = {"train": list(x_tr[train_idx]), "val": list(x_tr[val_idx]), "test": list(x_te)}
    ys = {"train": list(y_tr[train_idx]), "val": list(y_tr[val_idx]), "test": list(y_te)}
    return _splits(xs, ys, source=f"FER2013 folders {root}",
                   meta={"format": "folders", "path": str(root), "val_fraction": val_fraction, "seed": seed})


def stratified_split(labels: np.ndarray, fraction: float, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(keep, held_out)``: ``fraction`` of each class held out, chosen with a seeded RNG."""
    rng = np.random.default_rng(seed)
    keep, held = [], []
    for label in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == label))
        n = int(round(fraction * len(idx)))
        held.extend(idx[:n])
        keep.extend(idx[n:])
    return np.sort(np.array(keep, np.int64)), np.sort(np.array(held, np.int64))


def _splits(xs: dict[str, list], ys: dict[str, list], source: str, meta: dict[str, Any]) -> FerSplits:
    arrays: dict[str, np.ndarray] = {}
    for split in ("train", "val", "test"):
        if not xs[split]:
            raise CourseError(f"{source}: the {split} split is empty. FER2013 needs Training, PublicTest and "
                              "PrivateTest rows (CSV) or train/ and test/ folders.")
        arrays[f"x_{split}"] = np.stack(xs[split]).astype(np.uint8)
        arrays[f"y_{split}"] = np.array(ys[split], np.int64)
    return FerSplits(**arrays, source=source, meta=meta)


def require_classes(data: FerSplits) -> FerSplits:
    """``data`` if its train and test splits hold every class; else a CourseError naming what is missing (a class never
    trained is never predicted, one never tested cannot be scored: notebook 05 needs all seven in both)."""
    for split in ("train", "test"):
        y = data.split(split)[1]
        absent = [EMOTIONS[i] for i in range(len(EMOTIONS)) if not (y == i).any()]
        if absent:
            raise CourseError(f"{data.source}: the {split} split has no {', '.join(absent)} faces. FER2013 has all 7 "
                              "classes in every split: the download is incomplete, or a subset left them out "
                              "(put them back, or re-download).")
    return data


# ----------------------------------------------------------------------------- the tf.data pipeline
def make_dataset(x: np.ndarray, y: np.ndarray, *, batch_size: int = 64, shuffle: bool = False, seed: int = 42,
                 augment: Any = None):
    """A ``tf.data.Dataset`` of ``(images, one_hot)``: float32 (B, 48, 48, 1) in [0, 1], float32 (B, 7).

    ``augment`` (optional) is a Keras layer/model applied to training batches (random flips, shifts ...).
    Same pipeline for the CSV form, the folder form and the stand-in.
    """
    import tensorflow as tf
    x = np.asarray(x)
    if x.ndim != 3 or x.dtype != np.uint8:
        raise CourseError(f"images must be (N, H, W) uint8 grey, got {x.shape} {x.dtype}.")
    y = np.asarray(y, np.int64)
    if y.min(initial=0) < 0 or y.max(initial=0) >= len(EMOTIONS):
        raise CourseError(f"labels must be 0-{len(EMOTIONS) - 1} (EMOTIONS order), got {y.min()}..{y.max()}.")
    ds = tf.data.Dataset.from_tensor_slices((x[..., None], y))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    ds = ds.map(lambda a, b: (tf.cast(a, tf.float32) / 255.0, tf.one_hot(b, len(EMOTIONS))))
    if augment is not None:
        ds = ds.map(lambda a, b: (augment(a, training=True), b))
    return ds.prefetch(2)
