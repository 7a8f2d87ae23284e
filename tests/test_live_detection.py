"""Adaptive detection in the live pipeline: the detector runs on a cut or a lost face at once, rarely on still faces;
and the cut benchmark measures recovery against the detector's own boxes."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from helpers import CourseError, live
from helpers.live import LivePipeline
from helpers.live.detection import FrameChange
from helpers.live.tracks import iou, points_motion


def _shift(image: np.ndarray, dx: int) -> np.ndarray:
    return cv2.warpAffine(image, np.float32([[1, 0, dx], [0, 1, 0]]), (image.shape[1], image.shape[0]))


def test_frame_change_sees_cuts_not_exposure(face_frame):
    gray = cv2.cvtColor(face_frame, cv2.COLOR_BGR2GRAY)
    change = FrameChange()
    assert change(gray) == 0.0 and change(gray) == 0.0  # the first frame, then the same frame again
    brighter = cv2.add(gray, 30)
    assert change(brighter) < 5, "a uniform exposure change counted as a change of picture"
    assert change(_shift(brighter, -160)) > LivePipeline().config.cut_threshold
    change.reset()
    assert change(np.zeros_like(gray)) == 0.0


def test_points_motion_shift_and_scale():
    square = np.array([[0, 0], [100, 0], [100, 100], [0, 100]], np.float32)
    assert points_motion(square, square) == (0.0, 1.0)
    shift, scale = points_motion(square, square + [30, 40])
    assert shift == pytest.approx(0.5) and scale == pytest.approx(1.0)
    assert points_motion(square, square * 1.5)[1] == pytest.approx(1.5)


def test_still_faces_are_detected_rarely(face_frame):
    """A face holding still: the detector on the first frame, then once per detect_idle frames (not every 5th)."""
    with LivePipeline(detect_idle=10, detect_async=False) as pipe:
        for _ in range(25):
            pipe.process(face_frame)
        assert pipe.detect_reasons["start"] == 1 and pipe.detect_reasons["idle"] == 2
        assert pipe.detections == 3 and len(pipe.tracks) == 1
    with LivePipeline(detect_policy="interval", detect_every=5, detect_async=False) as pipe:  # the old rule
        for _ in range(25):
            pipe.process(face_frame)
        assert pipe.detections == 5 and pipe.detect_reasons["interval"] == 4


def test_a_cut_is_detected_on_its_own_frame(face_frame):
    """The picture jumps 160 px: the detector runs on that very frame, and the box is on the face at once."""
    jumped = _shift(face_frame, -160)
    with LivePipeline() as pipe:  # detection in the worker thread, as in the demo
        for _ in range(5):
            _, faces = pipe.process(face_frame)
        before = faces[0].box
        _, faces = pipe.process(jumped)
        assert pipe.detect_reasons["cut"] == 1
        moved = (before[0] - 160, before[1], before[2] - 160, before[3])
        assert len(faces) == 1 and iou(faces[0].box, moved) > 0.7
    with LivePipeline(detect_policy="interval", detect_every=30) as pipe:  # the old rule: the box is not there yet
        for _ in range(5):
            pipe.process(face_frame)
        _, faces = pipe.process(jumped)
        assert not faces or iou(faces[0].box, moved) < 0.5


def test_a_cut_does_not_wait_for_a_regular_detection_in_progress(face_frame, monkeypatch):
    """The worker is still on a slow detection of an older frame when the picture jumps: the loop detects the cut's
    frame itself at once, and the older result, when it comes, is thrown away."""
    import threading

    from helpers.live import pipeline
    started, release = threading.Event(), threading.Event()

    def slow(gray, **sides):
        started.set()
        release.wait(10)
        return [], sides["min_side"]  # "no face": applied, it would drop the track
    monkeypatch.setattr(pipeline, "find_faces_far", slow)
    with LivePipeline(detect_every=1, detect_idle=1) as pipe:
        for _ in range(3):
            pipe.process(face_frame)
        assert started.wait(5) and pipe._worker.busy
        _, faces = pipe.process(_shift(face_frame, -160))
        # the cut was detected in the loop, not by waiting for the worker (still busy until released)
        assert pipe._worker.busy and pipe.detect_reasons["cut"] == 1 and len(faces) == 1
        release.set()
        pipe._worker.wait()
        _, faces = pipe.process(_shift(face_frame, -160))
        assert len(faces) == 1, "the result of the frame before the cut was applied"


def test_unknown_policy_is_refused():
    with pytest.raises(CourseError, match="detect_policy"):
        LivePipeline(detect_policy="sometimes")


def test_cut_recovery_on_a_short_spliced_clip():
    clip = live.spliced_clip(segment=12)
    assert len(clip.frames) == 60 and clip.cuts == [0, 12, 24, 36, 48] and len(clip.labels) == 5
    assert all(f.shape == clip.frames[0].shape for f in clip.frames)
    out = live.cut_recovery(clip)
    assert out["cuts"] == [12, 24, 36, 48]
    adaptive, interval = out["adaptive"], out["interval"]
    assert len(adaptive["frames_to_recover"]) == 4 and adaptive["detect_reasons"]["cut"] >= 3
    assert adaptive["max"] <= 1 and adaptive["wrong_box_frames"] <= 1
    assert interval["detect_reasons"].get("cut", 0) == 0
    assert sum(interval["frames_to_recover"]) >= sum(adaptive["frames_to_recover"])


def test_landmark_cost_measures_one_face_and_four():
    cost = live.landmark_cost(30, 20)
    assert cost["group_faces"] == pytest.approx(4.0)
    for key in ("predictor_ms", "predictor_in_loop_ms", "stage_ms_per_face", "predictor_ms_group",
                "predictor_in_loop_ms_group", "stage_ms_per_face_group", "stage_ms_per_face_group_no_process"):
        assert 0 < cost[key] < 1000, key
    assert cost["stage_over_predictor"] == pytest.approx(cost["stage_ms_per_face"] / cost["predictor_ms"], abs=0.01)
    assert cost["fps_ceiling_four_faces"] == pytest.approx(1000 / (4 * cost["predictor_ms_group"]), rel=0.01)


def test_predictor_probe_times_one_face_and_the_group_again_and_again():
    from helpers.live.costs import predictor_probe
    probe = predictor_probe()
    first, second = probe(), probe()
    for t in (first, second):
        assert set(t) == {"one", "group"} and all(0 < v < 100 for v in t.values())


def test_around_takes_each_run_its_own_two_probes():
    """The one-face run lies between the first two probes, the group run between the last two."""
    from helpers.live.costs import around
    assert around({"one": 1, "group": 90}, {"one": 3, "group": 5}, {"one": 90, "group": 7}) == (2.0, 6.0)


def test_profile_splits_the_landmarks_stage():
    prof = live.profile_landmarks(20)
    assert list(prof)[0] == "stage" and list(prof)[-1] == "rest"
    # the predictor runs inside the stage; Python 3.12+'s cProfile (built on sys.monitoring) charges its own overhead a
    # little differently between caller and callee (CI on 3.13: predictor 2.485 ms, stage 2.465), hence the margin
    assert 0 < prof["predictor (dlib)"] <= 1.25 * prof["stage"]
    # every part is reported and lies within the stage (how 3.12+ splits a C call between nested callers differs: on 3.13
    # "points to NumPy" was charged nearly the predictor's whole time, so the parts are not asserted to add up)
    assert all(0 <= prof[part] <= 1.25 * prof["stage"] for part in live.costs.PROFILED), prof


def test_the_detector_thread_runs_at_lower_priority_where_threads_have_their_own(face_frame):
    """Linux: the detector's thread is niced by ``detect_nice``, the loop's thread is not; elsewhere nothing changes."""
    import os
    import sys
    import threading

    from helpers.live.detection import DetectorThread

    def own_nice(gray):
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) if hasattr(os, "getpriority") else None

    def own_class(gray):
        return os.sched_getscheduler(threading.get_native_id()) if hasattr(os, "sched_getscheduler") else None

    before, before_class = own_nice(None), own_class(None)
    linux = sys.platform.startswith("linux")
    for job, kwargs in ((own_nice, {"nice": 5}), (own_class, {"spare_cpu": True})):
        worker = DetectorThread(job, **kwargs)
        try:
            assert worker.submit(np.zeros((4, 4), np.uint8))
            done = worker.wait()
        finally:
            worker.close()
        assert worker.lowered == linux
        if linux and job is own_nice:
            assert done.found == min(19, before + 5) and own_nice(None) == before
        if linux and job is own_class:  # SCHED_IDLE: a core only when nothing else wants it; the caller's class stays
            assert done.found == os.SCHED_IDLE and own_class(None) == before_class != os.SCHED_IDLE
    for in_process in (False, True):  # detect_nice goes to the thread that detects, or to the process (its own test)
        with LivePipeline(draw_emoji=False, detect_every=1, detect_idle=1, detect_process=in_process) as pipe:
            for _ in range(4):
                pipe.process(face_frame)
            assert pipe._worker is not None and pipe.config.detect_nice == 10
            assert pipe._worker.nice == (0 if in_process else 10)  # a thread that only hands over keeps its priority
            # the thread never goes to the idle class (see LiveConfig.detect_spare_cpu): the detector process does
            assert pipe._worker.spare_cpu is False and pipe.config.detect_spare_cpu is True


def test_before_after_counts_the_detections_of_every_chunk():
    """before_after runs each side in chunks, and each run_headless restarts the pipeline's counters: the detections
    it reports are those of all chunks. "before" detects every 5th frame, so 100 frames (two chunks of 50, each with
    10 warm-up frames) give about 24 detections; the last chunk alone would give about 12."""
    ab = live.before_after(100, 50, detect_every=5)
    one = ab["one face"]["before"]
    assert one["detections"] >= 100 // 5, one
    assert one["ms_per_detection"] > 0
