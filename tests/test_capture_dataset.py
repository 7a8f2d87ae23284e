"""Notebooks 01 and 02 helpers: face counting keeps only one-face frames; crops carry correct points."""
from __future__ import annotations

import numpy as np

from helpers import capture, landmark_sets


def test_video_without_faces_keeps_nothing(no_face_video):
    m = capture.scan_source(no_face_video, progress=False)
    assert len(m["faces_per_frame"]) == 20
    assert m["kept"] == [] and len(m["no_face"]) == 20 and m["several_faces"] == []
    ls = landmark_sets.extract_landmarks(m, progress=False)
    assert len(ls) == 0 and ls.crops.shape == (0, 128, 128, 3) and ls.points.shape == (0, 68, 2)


def test_scan_sample_counts_and_manifest(tmp_path, monkeypatch, sample_video):
    m = capture.scan_source(sample_video, step=40, progress=False)
    assert len(m["faces_per_frame"]) == 12
    assert len(m["kept"]) + len(m["no_face"]) + len(m["several_faces"]) == 12
    assert len(m["kept"]) >= 11  # one face in (nearly) every frame of the sample
    assert m["sha256"] == "c048a3025af89148424af1ed2371cddee49af92c911d94da13989706d04baf3f"
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    capture.save_manifest("t", m)
    assert capture.load_manifest("t") == m
    ls = landmark_sets.extract_landmarks(m, crop_size=64, progress=False)
    assert len(ls) == len(m["kept"])
    assert ls.crops.shape[1:] == (64, 64, 3)
    assert (ls.points >= 0).all() and (ls.points < 64).all()
    assert list(ls.frame_index) == m["kept"]
    landmark_sets.save_landmark_set("t", ls)
    back = landmark_sets.load_landmark_set("t")
    np.testing.assert_array_equal(back.points, ls.points)
    assert back.meta["model"] == "shape_predictor_68_face_landmarks.dat"


def test_several_faces_frame_is_counted_not_kept(tmp_path, multi_face_image):
    import cv2
    path = tmp_path / "group.mp4"
    frame = cv2.resize(multi_face_image, (640, 426))[:416]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 5, (640, 416))
    for _ in range(3):
        writer.write(frame)
    writer.release()
    m = capture.scan_source(path, progress=False, detect_max_side=1000)
    assert m["several_faces"] == [0, 1, 2] and m["kept"] == []


def test_ensure_manifest_for_own_video_name(tmp_path, monkeypatch, sample_video):
    """A learner's own NAME (not a registry name) is found again from the saved manifest (02's exercise 1)."""
    import shutil
    own = tmp_path / "me.mp4"
    shutil.copy(sample_video, own)
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "data"))
    m = capture.scan_source(own, step=100, progress=False)
    capture.save_manifest("me", m)
    assert capture.ensure_manifest("me") == m  # no rebuild, no "not found"
    assert set(m["best_score"]) == set(m["faces_per_frame"])
    assert all(m["best_score"][k] > 0 for k in map(str, m["kept"]))


def test_point_jumps_ignore_head_motion_and_gaps():
    rng = np.random.default_rng(1)
    base = rng.random((68, 2)).astype(np.float32) * 100
    base[36], base[45] = (0, 0), (50, 0)  # inter-ocular distance 50
    pts = np.stack([base + [10 * i, 0] for i in range(4)])  # the head slides, the shape stays
    pts[3, 60:68] += [0, 5]  # ... then the mouth opens (8 of 68 points move 5 px)
    ls = landmark_sets.LandmarkSet(crops=np.zeros((4, 8, 8, 3), np.uint8), points=pts, frame_points=pts,
                             boxes=np.zeros((4, 4), np.int32), matrices=np.zeros((4, 2, 3), np.float32),
                             frame_index=np.array([0, 1, 2, 3]), timestamp=np.zeros(4, np.float32),
                             seconds=np.zeros(4, np.float32), meta={"settings": {"step": 1}})
    jumps = landmark_sets.point_jumps(ls)
    assert np.isnan(jumps[0])
    np.testing.assert_allclose(jumps[1:3], 0, atol=1e-5)
    assert jumps[3] > 0.005
    ls.frame_index = np.array([0, 1, 5, 6])  # frames 2-4 dropped: no jump across the gap
    assert np.isnan(landmark_sets.point_jumps(ls)[2])


def test_scan_keeps_the_decoders_times_of_a_variable_frame_rate_clip(tmp_path):
    """A phone's clip changes its frame rate: the manifest holds each frame's time, and the report's ranges and the
    timeline use it, not index / fps (which puts frame 45 of this clip at 1.12 s instead of 1.25 s)."""
    from helpers import recording
    from helpers.video import read_frames
    from test_video import _make_variable_rate, _numbered_clip
    clip = tmp_path / "phone.mp4"
    _numbered_clip(clip, 60)
    _make_variable_rate(clip, fast_from=30)  # 30 fps, then 60 fps
    m = capture.scan_source(clip, progress=False)
    stamps = [f.timestamp for f in read_frames(clip)]
    assert [m["time"][str(k)] for k in range(60)] == [round(t, 4) for t in stamps]
    assert recording.frame_times(m)[45] == round(stamps[45], 4) != 45 / m["info"]["fps"]
    m["faces_per_frame"].update({str(k): 1 for k in range(40, 60)})  # as if a face came at frame 40
    m["face_side"] = {str(k): 200 for k in range(60)}
    m["brightness"] = {str(k): 120.0 for k in range(60)}  # (frame 0 is black: not "too dark" here)
    (start, end), = recording.report(m)["ranges"]["no face"]
    assert start == 0 and end == round(stamps[39] + 1 / m["info"]["fps"], 2)
    old = dict(m)
    del old["time"]  # a manifest of an older course version: index / fps
    assert recording.report(old)["ranges"]["no face"] == [(0, round(40 / m["info"]["fps"], 2))]


def test_detection_at_sizes_times_each_size_as_the_median_of_its_runs(monkeypatch):
    """One row per side; the time is the median of ``repeats`` runs of the detector, not one run."""
    calls: list[tuple[int, int]] = []
    clock = iter(range(1000))  # perf_counter returns 0, 1, 2, ...: run k takes 1 s, except where slowed below

    def fake_detect(gray, **_):
        calls.append(gray.shape)
        return [object()] if max(gray.shape) >= 160 else []

    monkeypatch.setattr(capture, "detect_faces", fake_detect)
    monkeypatch.setattr("helpers.landmarks.load_models", lambda: None)
    slow = {3}  # the fourth perf_counter pair (the second size's first run) is slow: the median must ignore it

    def fake_clock():
        n = next(clock)
        return n + (50 if n // 2 in slow and n % 2 else 0)

    monkeypatch.setattr(capture.time, "perf_counter", fake_clock)
    rows = capture.detection_at_sizes(np.zeros((360, 640, 3), np.uint8), [100, 320], repeats=3)
    assert [r["side"] for r in rows] == [100, 320] and [r["faces"] for r in rows] == [0, 1]
    assert len(calls) == 6 and {max(shape) for shape in calls} == {100, 320}
    assert all(r["ms"] == 1000 for r in rows), rows  # one slow run of three does not move the median
