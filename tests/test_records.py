"""TFRecord writer / reader of notebook 03: round trip, corrupt and truncated files, empty input, atomicity, time split."""
from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from helpers import CourseError
from helpers import records as rec


def _faces(n: int, size: int = 24, seed: int = 0):
    rng = np.random.default_rng(seed)
    crops = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    points = rng.uniform(0, size, (n, 68, 2)).astype(np.float32)
    return crops, points


@pytest.mark.parametrize("encoding", ["png", "raw"])
def test_round_trip_is_exact(tmp_path, encoding):
    crops, points = _faces(10)
    index = rec.write_records("faces", crops, points, frame_index=range(100, 110), timestamp=np.arange(10) / 25,
                              source="clip.mp4", encoding=encoding, shard_size=4, folder=tmp_path, progress=False)
    assert [s["examples"] for s in index["shards"]] == [3, 3, 4]  # 10 faces over ceil(10 / 4) = 3 shards
    assert sorted(p.name for p in tmp_path.glob("*.tfrecord")) == [rec.shard_name("faces", i, 3) for i in range(3)]
    assert rec.verify_round_trip("faces", crops, points, folder=tmp_path)["images_equal"] == 10
    back = rec.load_arrays("faces", folder=tmp_path)
    assert back.frame_index.tolist() == list(range(100, 110)) and back.source == "clip.mp4"
    np.testing.assert_allclose(back.timestamp, np.arange(10) / 25, atol=1e-6)


def test_pipeline_normalises_and_batches(tmp_path):
    crops, points = _faces(7)
    rec.write_records("faces", crops, points, folder=tmp_path, progress=False)
    batches = list(rec.read_records("faces", batch_size=4, shuffle=8, folder=tmp_path).as_numpy_iterator())
    assert [len(b["image"]) for b in batches] == [4, 3]
    img = np.concatenate([b["image"] for b in batches])
    assert img.dtype == np.float32 and 0 <= img.min() and img.max() <= 1
    pts = np.concatenate([b["points"] for b in batches])
    assert pts.shape == (7, 68, 2) and pts.max() <= 1.0
    # shuffled, but the same faces: compare sorted sums
    np.testing.assert_allclose(np.sort(pts.sum(axis=(1, 2))), np.sort((points / 24).sum(axis=(1, 2))), rtol=1e-5)


def test_truncated_file_is_named(tmp_path):
    crops, points = _faces(6)
    rec.write_records("faces", crops, points, shard_size=3, folder=tmp_path, progress=False)
    shard = tmp_path / rec.shard_name("faces", 1, 2)
    data = shard.read_bytes()
    shard.write_bytes(data[: len(data) // 2])
    with pytest.raises(CourseError, match=shard.name):
        rec.read_records("faces", folder=tmp_path)
    with pytest.raises(CourseError, match="truncated or corrupt"):
        rec.check_shard(shard)  # also without the index's size check


def test_corrupt_file_is_named(tmp_path):
    crops, points = _faces(6)
    rec.write_records("faces", crops, points, folder=tmp_path, progress=False)
    shard = tmp_path / rec.shard_name("faces", 0, 1)
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one flipped byte: the record checksum catches it
    shard.write_bytes(bytes(data))
    with pytest.raises(CourseError, match=f"{shard.name}.*truncated or corrupt"):
        rec.load_arrays("faces", folder=tmp_path)


def test_empty_input_says_so_and_keeps_old_records(tmp_path):
    crops, points = _faces(5)
    rec.write_records("faces", crops, points, folder=tmp_path, progress=False)
    with pytest.raises(CourseError, match="empty"):
        rec.write_records("faces", crops[:0], points[:0], folder=tmp_path, progress=False)
    assert rec.check_records("faces", folder=tmp_path) == 5


def test_failed_write_keeps_previous_version(tmp_path):
    crops, points = _faces(5)
    rec.write_records("faces", crops, points, shard_size=2, folder=tmp_path, progress=False)
    bad = points.copy().reshape(5, 136)[:, :100]  # wrong shape: fails while writing
    with pytest.raises(CourseError):
        rec.write_records("faces", crops, bad, folder=tmp_path, progress=False)
    assert rec.verify_round_trip("faces", crops, points, folder=tmp_path)["examples"] == 5
    assert not list(tmp_path.glob(".*tmp"))  # no temporary files left behind


def test_rewrite_with_fewer_shards_removes_stale_ones(tmp_path):
    crops, points = _faces(6)
    rec.write_records("faces", crops, points, shard_size=2, folder=tmp_path, progress=False)
    rec.write_records("faces", crops[:2], points[:2], shard_size=2, folder=tmp_path, progress=False)
    assert [p.name for p in tmp_path.glob("*.tfrecord")] == [rec.shard_name("faces", 0, 1)]
    assert rec.check_records("faces", folder=tmp_path) == 2


def test_missing_record_set_says_what_to_do(tmp_path):
    with pytest.raises(CourseError, match="notebook 03"):
        rec.read_records("nothing", folder=tmp_path)


def test_time_split_holds_out_the_end_with_a_gap():
    t = np.arange(100) / 10.0  # 10 s at 10 fps
    split = rec.time_split(t[::-1], held_out=0.2, gap=0.5)  # order of the input does not matter
    train_t, test_t = t[::-1][split["train"]], t[::-1][split["held_out"]]
    assert len(test_t) == 20 and test_t.min() == pytest.approx(8.0)
    assert train_t.max() < test_t.min() - 0.5 + 1e-9
    assert len(split["train"]) + len(split["held_out"]) + len(split["dropped"]) == 100
    assert not set(split["train"]) & set(split["held_out"])
    with pytest.raises(CourseError):
        rec.time_split(t[:1])
