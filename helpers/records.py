"""Notebook 03: face crops and their 68 points as sharded TFRecord files, read back as a ``tf.data`` pipeline.

A *record set* called ``name`` lives in one folder as

* ``name-<generation>-00000-of-00004.tfrecord`` ... : the *shards*, each a sequence of serialised
  ``tf.train.Example``\\ s (``<generation>`` is a fresh id for every write, so a new version never
  overwrites the files of the old one);
* ``name.json``: its *index* (shard files with their sizes and example counts, how the image is
  stored, the crop size), written last, so a record set without an index was never finished.

A TFRecord file is a plain sequence of records, each stored as: the data length (8 bytes,
little-endian), a masked CRC-32C of those 8 bytes (4 bytes), the data, a masked CRC-32C of the data
(4 bytes). There is no index inside the file: it can only be read from the start, and its number of
records is known only by reading it (or from our JSON index).

One ``tf.train.Example`` per face holds these *features*:

================  ==============  ==========================================================
feature           type            meaning
================  ==============  ==========================================================
``image``         bytes           the BGR crop, PNG-encoded (``encoding="png"``) or raw pixels
``height``        int64           crop height in pixels
``width``         int64           crop width in pixels
``channels``      int64           3 (BGR)
``points``        float x 136     dlib's 68 points in crop pixels, x0, y0, x1, y1 ...
``source``        bytes           the source video's file name
``frame_index``   int64           frame number in the source video
``timestamp``     float           seconds from the start of the video
================  ==============  ==========================================================

Every write is atomic *as a set*: each shard goes to a temporary file, is flushed to disk (fsync)
and renamed to its new generation's name; the old version's shards and index stay untouched. Renaming
the index (one file, one ``os.replace``) is the single commit point that switches readers to the new
shards; the old shards, and any leftovers of an interrupted run, are deleted only after that. A
truncated or corrupt shard is reported by name (:class:`~helpers.errors.CourseError`).

Which faces go into which record set (the time split of the sample video, the stills, the other
person) is decided in :mod:`helpers.record_sets`.
"""
from __future__ import annotations

import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import cv2
import numpy as np
from tqdm.auto import tqdm

from .errors import CourseError
from .paths import work_dir
from .storage import atomic_path, load_json, save_json

STAGE = "03_records"
ENCODINGS = ("png", "raw")


def records_dir() -> Path:
    """Where notebook 03 writes its record sets (``data/work/03_records``)."""
    return work_dir(STAGE)


def _tf():
    import tensorflow as tf  # imported lazily: TensorFlow takes seconds to load
    return tf


# ----------------------------------------------------------------------------------------------------------- writing
def make_example(crop: np.ndarray, points: np.ndarray, *, source: str = "", frame_index: int = -1,
                 timestamp: float = 0.0, encoding: str = "png") -> bytes:
    """One face as a serialised ``tf.train.Example``: crop (H, W, 3) uint8 BGR, points (68, 2) crop pixels."""
    tf = _tf()
    crop = np.asarray(crop)
    if crop.dtype != np.uint8 or crop.ndim != 3 or crop.shape[2] != 3:
        raise CourseError(f"a crop must be an (H, W, 3) uint8 BGR image, got {crop.shape} {crop.dtype}. "
                          "Use the crops saved by notebook 02.")
    points = np.asarray(points, dtype=np.float32)
    if points.shape != (68, 2):
        raise CourseError(f"points must have shape (68, 2), got {points.shape}. Use the points saved by notebook 02.")
    if encoding == "png":
        ok, buf = cv2.imencode(".png", crop)
        if not ok:
            raise CourseError("OpenCV could not PNG-encode a crop. Check the crop is a valid image.")
        data = buf.tobytes()
    elif encoding == "raw":
        data = np.ascontiguousarray(crop).tobytes()
    else:
        raise CourseError(f"encoding must be one of {ENCODINGS}, not {encoding!r}.")
    feature = {
        "image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[data])),
        "height": tf.train.Feature(int64_list=tf.train.Int64List(value=[crop.shape[0]])),
        "width": tf.train.Feature(int64_list=tf.train.Int64List(value=[crop.shape[1]])),
        "channels": tf.train.Feature(int64_list=tf.train.Int64List(value=[3])),
        "points": tf.train.Feature(float_list=tf.train.FloatList(value=points.reshape(-1).tolist())),
        "source": tf.train.Feature(bytes_list=tf.train.BytesList(value=[source.encode()])),
        "frame_index": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(frame_index)])),
        "timestamp": tf.train.Feature(float_list=tf.train.FloatList(value=[float(timestamp)])),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def shard_name(name: str, index: int, count: int, generation: str = "") -> str:
    """File name of shard ``index`` of ``count``: ``name-<generation>-00001-of-00004.tfrecord``."""
    return f"{name}-{generation + '-' if generation else ''}{index:05d}-of-{count:05d}.tfrecord"


def _own_files(name: str, folder: Path) -> tuple[list[Path], list[Path]]:
    """Shard files and temporary files in ``folder`` that belong to record set ``name`` (any generation)."""
    shard_re = re.compile(rf"{re.escape(name)}-(?:[0-9a-f]{{8}}-)?\d{{5}}-of-\d{{5}}\.tfrecord")
    temp_re = re.compile(rf"\.{re.escape(name)}-(?:[0-9a-f]{{8}}-)?\d{{5}}-of-\d{{5}}\.tfrecord\..*")
    shards = [p for p in folder.iterdir() if shard_re.fullmatch(p.name)]
    temps = [p for p in folder.iterdir() if temp_re.fullmatch(p.name)]
    return shards, temps


def index_path(name: str, folder: str | os.PathLike | None = None) -> Path:
    """The index JSON of record set ``name``."""
    return Path(folder or records_dir()) / f"{name}.json"


def write_records(name: str, crops: np.ndarray, points: np.ndarray, *, frame_index: Iterable[int] | None = None,
                  timestamp: Iterable[float] | None = None, source: str = "", encoding: str = "png",
                  shard_size: int = 128, folder: str | os.PathLike | None = None,
                  progress: bool = True, split_id: str = "") -> dict[str, Any]:
    """Write faces as a sharded record set ``name``; return its index (also saved as ``name.json``).

    crops (N, H, W, 3) uint8 BGR, points (N, 68, 2) float32 crop pixels. Atomic as a set: the new
    shards get new file names, and only the final rename of the index switches to them, so a crash
    at any point leaves either the complete old set or the complete new one. ``split_id`` is stored
    in the index (see :func:`helpers.record_sets.ensure_records`).
    """
    tf = _tf()
    crops = np.asarray(crops)
    points = np.asarray(points, dtype=np.float32)
    n = len(crops)
    if n == 0:
        raise CourseError(f"no faces to write for record set {name!r}: the input is empty. "
                          "Check that notebook 02 found faces in the video (run it again, or use another video).")
    if len(points) != n:
        raise CourseError(f"{n} crops but {len(points)} point sets: they must match one to one.")
    if encoding not in ENCODINGS:
        raise CourseError(f"encoding must be one of {ENCODINGS}, not {encoding!r}.")
    frame_index = np.arange(n) if frame_index is None else np.asarray(list(frame_index))
    timestamp = np.zeros(n) if timestamp is None else np.asarray(list(timestamp), dtype=np.float64)
    folder = Path(folder or records_dir())
    folder.mkdir(parents=True, exist_ok=True)
    count = max(1, -(-n // max(1, int(shard_size))))
    bounds = np.linspace(0, n, count + 1).astype(int)
    generation = uuid.uuid4().hex[:8]  # new file names: the old version's shards are never overwritten
    shards: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    with tqdm(total=n, desc=f"writing {name}", unit="face", disable=not progress) as bar:
        for s in range(count):
            target = folder / shard_name(name, s, count, generation)
            with atomic_path(target, suffix=".tmp") as tmp:  # temp file, fsync, rename
                with tf.io.TFRecordWriter(str(tmp)) as writer:
                    for i in range(bounds[s], bounds[s + 1]):
                        writer.write(make_example(crops[i], points[i], source=source, frame_index=int(frame_index[i]),
                                                  timestamp=float(timestamp[i]), encoding=encoding))
                        bar.update(1)
                size = tmp.stat().st_size
            shards.append({"file": target.name, "examples": int(bounds[s + 1] - bounds[s]), "bytes": size})
    index = {"name": name, "examples": n, "encoding": encoding, "source": source, "generation": generation,
             "split_id": split_id, "image_shape": list(crops.shape[1:]), "shards": shards,
             "bytes": int(sum(s["bytes"] for s in shards)),
             "frame_index": [int(v) for v in frame_index], "seconds": round(time.perf_counter() - t0, 3)}
    save_json(index_path(name, folder), index)  # the commit point: one atomic rename
    keep = {s["file"] for s in shards}
    old_shards, temps = _own_files(name, folder)  # the old version, and leftovers of interrupted runs
    for path in old_shards + temps:
        if path.name not in keep:
            try:
                path.unlink(missing_ok=True)
            except OSError:  # Windows: another reader still has it open; the next write of this set removes it
                pass
    return index


# ----------------------------------------------------------------------------------------------------------- reading
def load_index(name: str, folder: str | os.PathLike | None = None) -> dict[str, Any]:
    """The index of record set ``name`` (CourseError if it was never written)."""
    path = index_path(name, folder)
    if not path.exists():
        raise CourseError(f"record set {name!r} does not exist ({path} is missing). Run notebook 03 "
                          "(or helpers.record_sets.ensure_records()) to write it.")
    return load_json(path)


def shard_paths(name: str, folder: str | os.PathLike | None = None) -> list[Path]:
    """The shard files of record set ``name``, after checking each exists with the size written in the index."""
    folder = Path(folder or records_dir())
    index = load_index(name, folder)
    paths = []
    for shard in index["shards"]:
        path = folder / shard["file"]
        if not path.exists():
            raise CourseError(f"{path} is missing from record set {name!r}. Run notebook 03 again to rewrite it.")
        size = path.stat().st_size
        if size != shard["bytes"]:
            raise CourseError(f"{path} is truncated or was changed: {size} bytes instead of {shard['bytes']}. "
                              "Delete it and run notebook 03 again to rewrite the records.")
        paths.append(path)
    return paths


def check_shard(path: str | os.PathLike, expected: int | None = None) -> int:
    """Read every record of one TFRecord file, checking its checksums; return the record count.

    A truncated or corrupt file raises a CourseError naming it.
    """
    tf = _tf()
    path = Path(path)
    if not path.exists():
        raise CourseError(f"{path} does not exist. Run notebook 03 to write the records.")
    n = 0
    try:
        for _ in tf.data.TFRecordDataset(str(path)):
            n += 1
    except (tf.errors.DataLossError, tf.errors.InvalidArgumentError, tf.errors.OutOfRangeError) as exc:
        detail = re.search(r"(corrupted|truncated) record at \d+", str(exc))
        raise CourseError(f"{path} is truncated or corrupt ({n} records read fine, "
                          f"record #{n} counting from 0 cannot be read"
                          f"{': ' + detail.group(0) if detail else ''}). "
                          "Delete it and run notebook 03 again to rewrite the records.") from None
    if expected is not None and n != expected:
        raise CourseError(f"{path} holds {n} records instead of {expected}. Delete it and run notebook 03 again.")
    return n


_CHECKED: set[tuple[str, int, int]] = set()  # shards already read in full: (path, size, mtime) -> no second read


def check_shards(paths: list[Path], index: dict[str, Any]) -> None:
    """Check each shard once per process (until the file changes): sizes are always checked, checksums once."""
    for p, s in zip(paths, index["shards"]):
        st = p.stat()
        key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
        if key not in _CHECKED:
            check_shard(p, s["examples"])
            _CHECKED.add(key)


def check_records(name: str, folder: str | os.PathLike | None = None) -> int:
    """Check every shard of record set ``name`` (sizes, checksums, counts); return the number of examples."""
    folder = Path(folder or records_dir())
    index = load_index(name, folder)
    paths = shard_paths(name, folder)
    return sum(check_shard(p, s["examples"]) for p, s in zip(paths, index["shards"]))


def first_example(name: str, folder: str | os.PathLike | None = None):
    """The first record of set ``name``, parsed as a plain ``tf.train.Example`` (to look inside one record)."""
    tf = _tf()
    path = shard_paths(name, folder)[0]
    for raw in tf.data.TFRecordDataset(str(path)).take(1):
        return tf.train.Example.FromString(raw.numpy())
    raise CourseError(f"{path} holds no records. Run notebook 03 again.")


def describe_example(example) -> list[str]:
    """One line per feature of a ``tf.train.Example``: name, list type, length, a short preview of the values."""
    lines = []
    for key, feat in sorted(example.features.feature.items()):
        kind = feat.WhichOneof("kind")
        values = list(getattr(feat, kind).value)
        if kind == "bytes_list":
            preview = f"{len(values[0])} bytes" + (f": {values[0][:12]!r}..." if len(values[0]) > 24 else f": {values[0]!r}")
        elif kind == "float_list":
            preview = ", ".join(f"{v:.2f}" for v in values[:4]) + (", ..." if len(values) > 4 else "")
        else:
            preview = ", ".join(str(v) for v in values[:4])
        lines.append(f"{key:12s} {kind:10s} x{len(values):<4d} {preview}")
    return lines


def _feature_spec() -> dict:
    tf = _tf()
    return {
        "image": tf.io.FixedLenFeature([], tf.string),
        "height": tf.io.FixedLenFeature([], tf.int64),
        "width": tf.io.FixedLenFeature([], tf.int64),
        "channels": tf.io.FixedLenFeature([], tf.int64),
        "points": tf.io.FixedLenFeature([136], tf.float32),
        "source": tf.io.FixedLenFeature([], tf.string, default_value=""),
        "frame_index": tf.io.FixedLenFeature([], tf.int64, default_value=-1),
        "timestamp": tf.io.FixedLenFeature([], tf.float32, default_value=0.0),
    }


def parse_example(serialised, encoding: str, image_shape: tuple[int, int, int]) -> dict:
    """Parse one serialised Example into tensors: image (H, W, 3) uint8 BGR, points (68, 2) float32, ...."""
    tf = _tf()
    ex = tf.io.parse_single_example(serialised, _feature_spec())
    if encoding == "png":
        image = tf.io.decode_png(ex["image"], channels=3)[..., ::-1]  # PNG stores RGB; back to OpenCV's BGR
    else:
        image = tf.reshape(tf.io.decode_raw(ex["image"], tf.uint8), tf.stack([ex["height"], ex["width"], ex["channels"]]))
    image = tf.ensure_shape(image, image_shape)
    return {"image": image, "points": tf.reshape(ex["points"], (68, 2)), "source": ex["source"],
            "frame_index": ex["frame_index"], "timestamp": ex["timestamp"]}


def read_records(name: str, *, batch_size: int | None = 32, shuffle: int = 0, normalise: bool = True,
                 cache: bool = False, prefetch: bool = True, parallel: bool = True, seed: int = 42,
                 check: bool = True, folder: str | os.PathLike | None = None):
    """Record set ``name`` as a ``tf.data.Dataset`` of dicts.

    The pipeline: read -> parse + decode -> [cache] -> normalise -> shuffle -> batch -> prefetch.

    normalise=True gives ``image`` float32 in [0, 1] and ``points`` divided by the crop size (0-1);
    False keeps uint8 pixels and pixel points. ``cache`` keeps the decoded uint8 faces in memory
    (4x smaller than the float32 ones). ``shuffle`` = buffer size (0: keep file order); when
    shuffling, the shard order is shuffled too and several shards are read at once (interleave).
    ``parallel`` = decode several examples at once (False: one after the other, to time the bare
    pipeline). ``check`` reads every shard once per process first, so a corrupt file is reported by name.
    """
    tf = _tf()
    folder = Path(folder or records_dir())
    index = load_index(name, folder)
    paths = shard_paths(name, folder)
    if check:
        check_shards(paths, index)
    shape = tuple(index["image_shape"])
    size = float(shape[0])
    calls = {"num_parallel_calls": tf.data.AUTOTUNE, "deterministic": True} if parallel else {}
    files = [str(p) for p in paths]
    if shuffle and len(files) > 1:  # records sit in time order: mix shards, read several at once
        ds = tf.data.Dataset.from_tensor_slices(files).shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
        ds = ds.interleave(tf.data.TFRecordDataset, cycle_length=min(len(files), 4), **calls)
    else:
        ds = tf.data.TFRecordDataset(files)
    ds = ds.map(lambda s: parse_example(s, index["encoding"], shape), **calls)
    if cache:
        ds = ds.cache()  # uint8 pixels: normalising after the cache costs little, storing float32 4x the memory
    if normalise:
        def _norm(ex):
            return ex | {"image": tf.cast(ex["image"], tf.float32) / 255.0, "points": ex["points"] / size}
        ds = ds.map(_norm, **calls)
    if shuffle:
        ds = ds.shuffle(shuffle, seed=seed, reshuffle_each_iteration=True)
    if batch_size:
        ds = ds.batch(batch_size)
    if prefetch:
        ds = ds.prefetch(tf.data.AUTOTUNE)
    # tf.data's automatic optimisations would otherwise run the maps in parallel and add a prefetch of
    # their own (both read ahead); switch them off when asked for the plain pipeline
    options = tf.data.Options()
    if not parallel:
        options.experimental_optimization.map_parallelization = False
    if not prefetch:
        options.experimental_optimization.inject_prefetch = False
    return ds.with_options(options)


@dataclass
class FaceArrays:
    """A record set read back into memory: crops (N, H, W, 3) uint8 BGR, points (N, 68, 2) float32 crop pixels, ..."""

    crops: np.ndarray
    points: np.ndarray
    frame_index: np.ndarray
    timestamp: np.ndarray
    source: str

    def __len__(self) -> int:
        return len(self.crops)


def load_arrays(name: str, folder: str | os.PathLike | None = None) -> FaceArrays:
    """Read a whole record set through the pipeline (no normalising, file order) into numpy arrays."""
    tf = _tf()
    ds = read_records(name, batch_size=None, normalise=False, prefetch=False, folder=folder)
    try:
        rows = list(ds.batch(256).as_numpy_iterator())
    except tf.errors.DataLossError as exc:  # pragma: no cover - check_shard catches this first
        raise CourseError(f"record set {name!r} has a corrupt shard ({exc.message}). Run notebook 03 again.") from None
    cat = {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}
    source = cat["source"][0].decode() if len(cat["source"]) else ""
    return FaceArrays(cat["image"], cat["points"].astype(np.float32), cat["frame_index"].astype(np.int32),
                      cat["timestamp"].astype(np.float32), source)


def verify_round_trip(name: str, crops: np.ndarray, points: np.ndarray,
                      folder: str | os.PathLike | None = None) -> dict[str, Any]:
    """Read record set ``name`` back and compare with what was written; CourseError on any difference.

    Returns ``{"examples", "images_equal", "max_point_error"}``.
    """
    back = load_arrays(name, folder)
    crops, points = np.asarray(crops), np.asarray(points, dtype=np.float32)
    if len(back) != len(crops):
        raise CourseError(f"record set {name!r} holds {len(back)} faces, {len(crops)} were written. Run notebook 03 again.")
    same = int(sum(np.array_equal(a, b) for a, b in zip(back.crops, crops)))
    err = float(np.abs(back.points - points).max()) if len(points) else 0.0
    if same != len(crops) or err != 0.0:
        raise CourseError(f"round trip of {name!r} failed: {same}/{len(crops)} images equal, largest point "
                          f"difference {err}. Delete data/work/03_records and run notebook 03 again.")
    return {"examples": len(back), "images_equal": same, "max_point_error": err}


def time_pass(ds, step_ms: float = 0.0) -> tuple[float, int, int]:
    """Seconds, faces and batches of one pass over the batched dataset ``ds``, sleeping ``step_ms`` per batch (a
    pretend training step)."""
    t0 = time.perf_counter()
    n = batches = 0
    for b in ds:
        n += int(b["image"].shape[0])
        batches += 1
        if step_ms:
            time.sleep(step_ms / 1000)
    return time.perf_counter() - t0, n, batches


def pass_summary(seconds: list[float], faces: int, batches: int) -> dict[str, float]:
    """The figures of repeated passes over one pipeline (``seconds`` per pass, the first fills any cache): ``{"first":
    faces/s of the first pass, "later": median faces/s of the others, "ms_per_batch": median ms per batch of the
    others, "faces", "batches"}``."""
    later = float(np.median(seconds[1:]))
    return {"first": round(faces / seconds[0]), "later": round(faces / later),
            "ms_per_batch": round(1000 * later / batches, 2), "faces": faces, "batches": batches}


def time_pipeline(name: str, *, epochs: int = 4, batch_size: int = 32, cache: bool = False, prefetch: bool = True,
                  parallel: bool = True, shuffle: int = 0, step_ms: float = 0.0,
                  folder: str | os.PathLike | None = None, options=None) -> dict[str, float]:
    """Iterate the pipeline ``epochs`` times and time each pass.

    Returns :func:`pass_summary` of the passes (epoch 1 fills the cache).
    ``step_ms`` > 0 pretends a training step of that many milliseconds consumes each batch (a
    sleep), which is when ``prefetch`` pays: the next batch is prepared while the step runs.
    ``options``: a ``tf.data.Options`` applied to the pipeline (e.g. an optimisation switched off).
    """
    ds = read_records(name, batch_size=batch_size, shuffle=shuffle, cache=cache, prefetch=prefetch,
                      parallel=parallel, check=False, folder=folder)
    if options is not None:
        ds = ds.with_options(options)
    seconds, n, batches = [], 0, 0
    for _ in range(max(2, epochs)):
        took, n, batches = time_pass(ds, step_ms)
        seconds.append(took)
    return pass_summary(seconds, n, batches)
