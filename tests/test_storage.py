"""Atomic npz/JSON storage: round trip, no pickle, nothing lost on failure."""
from __future__ import annotations

import numpy as np
import pytest

from helpers import CourseError
from helpers.storage import atomic_path, load_json, load_npz, save_json, save_npz


def test_npz_round_trip_with_meta(tmp_path):
    pts = np.random.default_rng(0).random((5, 68, 2)).astype(np.float32)
    save_npz(tmp_path / "x.npz", meta={"source": "sample", "frames": [1, 2]}, points=pts, index=np.arange(5))
    arrays, meta = load_npz(tmp_path / "x.npz")
    np.testing.assert_array_equal(arrays["points"], pts)
    assert meta == {"source": "sample", "frames": [1, 2]}
    with np.load(tmp_path / "x.npz", allow_pickle=False) as z:  # loads without pickle
        assert set(z.files) == {"points", "index", "__meta__"}


def test_object_arrays_are_refused(tmp_path):
    with pytest.raises(CourseError, match="pickle"):
        save_npz(tmp_path / "x.npz", bad=np.array([{"a": 1}], dtype=object))


def test_failed_write_keeps_the_previous_file(tmp_path):
    target = tmp_path / "m.json"
    save_json(target, {"version": 1})
    with pytest.raises(ZeroDivisionError):
        with atomic_path(target) as tmp:
            tmp.write_text('{"version": 2, "half')
            1 / 0  # interrupted mid-write
    assert load_json(target) == {"version": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]  # no temp file left behind


def test_missing_and_corrupt_files_say_what_to_do(tmp_path):
    with pytest.raises(CourseError, match="does not exist. Run the notebook"):
        load_npz(tmp_path / "nope.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(CourseError, match="not a readable .npz.*Delete it"):
        load_npz(tmp_path / "bad.npz")
    (tmp_path / "bad.json").write_text("{oops")
    with pytest.raises(CourseError, match="not valid JSON"):
        load_json(tmp_path / "bad.json")


def test_written_files_get_the_umask_mode_without_touching_the_umask(tmp_path, monkeypatch):
    import os
    import stat
    umask = os.umask(0o027)  # a distinctive umask for this test (read it by setting it: fine in a test)
    try:
        monkeypatch.setattr(os, "umask", lambda *a: (_ for _ in ()).throw(AssertionError("atomic_path changed the umask")))
        save_json(tmp_path / "m.json", {"a": 1})
        save_npz(tmp_path / "a.npz", x=np.arange(3))
    finally:
        monkeypatch.undo()
        os.umask(umask)
    for name in ("m.json", "a.npz"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o640  # 0o666 minus the umask 0o027


def test_shipped_record_reads_helpers_json_or_none():
    from helpers.storage import shipped_record
    assert shipped_record("no_such_record.json") is None
    assert shipped_record("fer2013_cost.json")["rows"] == 35887
