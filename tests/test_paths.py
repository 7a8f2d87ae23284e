"""Paths with non-ASCII letters on Windows: dlib and OpenCV's video I/O get the file's short 8.3 name (helpers.paths).

This machine is Linux, where such paths open as they are; the tests play Windows by switching ``paths.WINDOWS`` on
and standing in for ``GetShortPathNameW`` with a function that maps a path to *another* file. A reader or writer
that did not go through :func:`helpers.paths.native` would open the file it was given and fail the test."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from helpers import data, landmarks, paths, video
from helpers.errors import CourseError


@pytest.fixture
def windows(monkeypatch):
    """Play Windows; ``short`` (a dict: real path -> the "short name" to return; missing: no short name)."""
    short: dict[str, str] = {}
    monkeypatch.setattr(paths, "WINDOWS", True)
    monkeypatch.setattr(paths, "_short_name", lambda p: short.get(str(Path(p).resolve())))
    return short


def test_native_leaves_paths_alone_off_windows(tmp_path):
    f = tmp_path / "José" / "clip.mp4"
    assert paths.native(f) == str(f)
    assert paths.non_ascii_hint(f) == ""


def test_native_on_windows_uses_the_short_name_only_when_needed(tmp_path, windows):
    ascii_file = tmp_path / "clip.mp4"
    assert paths.native(ascii_file) == str(ascii_file)  # no lookup for an ASCII path
    f = tmp_path / "José" / "clip.mp4"
    assert paths.native(f) == str(f) and "outside ASCII" in paths.non_ascii_hint(f)  # no short name: unchanged, hint
    windows[str(f.resolve())] = "C:\\Users\\JOS~1\\clip.mp4"
    assert paths.native(f) == "C:\\Users\\JOS~1\\clip.mp4" and paths.non_ascii_hint(f) == ""
    windows[str(f.resolve())] = "C:\\Users\\Jos\u00e9\\clip.mp4"  # a "short" name that is not ASCII is no help
    assert paths.native(f) == str(f)


def test_video_reader_opens_the_short_name(tmp_path, windows, sample_video):
    other = data.fetch("other_person")  # single_face.mp4, 72 frames
    named = tmp_path / "Vidéos" / "clip.mp4"
    named.parent.mkdir()
    named.write_bytes(Path(sample_video).read_bytes())
    windows[str(named.resolve())] = str(other)
    cap, _ = video.open_capture(named)
    frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    assert frames == 72  # the short name's file (single_face.mp4), not the sample's 472 frames


def test_video_reader_error_names_the_non_ascii_path(tmp_path, windows):
    bad = tmp_path / "Vidéos" / "clip.mp4"
    bad.parent.mkdir()
    bad.write_bytes(b"not a video" * 100)
    with pytest.raises(CourseError, match="could not be decoded.*outside ASCII.*C:.*face-course"):
        video.open_capture(bad)


def test_video_writer_writes_through_the_short_name(tmp_path, windows, monkeypatch):
    from helpers import storage
    target = tmp_path / "Vidéos" / "out.mp4"
    redirected = tmp_path / "short.mp4"
    real_new = storage._new_temp_file

    def new_temp_file(folder, prefix, suffix):  # register each temporary file's "short name" as it is made
        tmp = real_new(folder, prefix, suffix)
        windows[str(tmp.resolve())] = str(redirected)
        return tmp
    monkeypatch.setattr(storage, "_new_temp_file", new_temp_file)
    frames = [np.full((64, 64, 3), i * 20, np.uint8) for i in range(5)]
    assert video.write_video(target, frames) == 5
    assert redirected.stat().st_size > 0       # the frames went to the short name's file
    assert target.stat().st_size == 0          # ... not to the one the writer was given


def test_dlib_model_loads_through_the_short_name(tmp_path, windows, shape_predictor):
    named = tmp_path / "Modèles" / "predictor.dat"
    named.parent.mkdir()
    named.write_bytes(b"")  # an empty file: dlib would fail on it
    windows[str(named.resolve())] = str(shape_predictor)
    detector, predictor = landmarks.load_models(str(named))
    import dlib
    assert predictor(np.zeros((64, 64), np.uint8), dlib.rectangle(8, 8, 56, 56)).num_parts == 68
    landmarks.load_models.cache_clear()


def test_dlib_model_error_names_the_non_ascii_path(tmp_path, windows):
    named = tmp_path / "Modèles" / "predictor.dat"
    named.parent.mkdir()
    named.write_bytes(b"junk")
    with pytest.raises(CourseError, match="outside ASCII.*plain letters"):
        landmarks.load_models(str(named))


def test_first_cell_notes_a_data_folder_windows_cannot_open(tmp_path, windows, monkeypatch):
    from helpers import setup_check
    folder = tmp_path / "Données"
    monkeypatch.setenv("COURSE_DATA_DIR", str(folder))
    assert any("outside ASCII" in note and "face-course" in note for note in setup_check.inspect().notes)
    windows[str(folder.resolve())] = "C:\\DONNE~1"
    assert not any("outside ASCII" in note for note in setup_check.inspect().notes)
