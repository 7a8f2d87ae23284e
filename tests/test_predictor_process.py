"""dlib's predictor and detector in helper processes: the same points and faces as in the loop, at the priority asked
for, and a loop that survives a process dying."""
from __future__ import annotations

import sys
import time

import numpy as np
import pytest

from helpers import live
from helpers.landmarks import detect_faces, predict_points, to_gray
from helpers.live.detection import find_faces
from helpers.live.predictor_process import DetectorProcess, PredictorProcess, face_crop, find_faces_far, shared_detector


@pytest.fixture(scope="module")
def group():
    gray = to_gray(live.group_frame())
    boxes = [tuple(b) for b, _ in detect_faces(gray)][:4]
    assert len(boxes) >= 2, "the group photo should show several faces"
    return gray, boxes


def test_face_crop_keeps_the_box_and_stays_inside_the_frame():
    gray = np.arange(100 * 200, dtype=np.uint32).reshape(100, 200).astype(np.uint8)
    crop, inner, (x0, y0) = face_crop(gray, (50, 30, 90, 70))
    l_, t_, r_, b_ = inner
    assert (x0 + l_, y0 + t_, x0 + r_, y0 + b_) == (50, 30, 90, 70)
    assert np.array_equal(crop, gray[y0:y0 + crop.shape[0], x0:x0 + crop.shape[1]])
    assert crop.shape == (82, 82)  # half the 40 px box (+1) on every side
    crop, inner, (x0, y0) = face_crop(gray, (-10, 70, 30, 130))  # a box half out of the frame: the crop is clipped
    assert (x0, y0) == (0, 39) and crop.shape == (61, 51) and inner == (-10, 31, 30, 91)


def test_the_process_finds_the_same_points_as_the_loop(group):
    gray, boxes = group
    proc = PredictorProcess()
    assert proc.wait_ready(), proc.error
    want = np.stack([predict_points(gray, b) for b in boxes])
    edge = (-40, 30, 120, 190)  # a face box that leaves the frame
    try:
        for shared in (True, False):  # the crops in shared memory, then through the pipe (the fallback)
            proc.shared = shared
            proc.submit(gray, boxes)
            np.testing.assert_array_equal(proc.result(), want)
            assert proc._block is not None or not shared
            proc.submit(gray, [edge])
            np.testing.assert_array_equal(proc.result()[0], predict_points(gray, edge))
    finally:
        proc.close()


def test_a_larger_group_gets_a_larger_block_and_close_frees_it(group):
    gray, boxes = group
    proc = PredictorProcess()
    assert proc.wait_ready(), proc.error
    try:
        proc.submit(gray, boxes[:1])
        proc.result()
        first = proc._block
        proc._drop_block()
        proc._block = type(first)(create=True, size=16)  # a block too small for the next faces: a new one is made
        proc.submit(gray, boxes)
        np.testing.assert_array_equal(proc.result(), np.stack([predict_points(gray, b) for b in boxes]))
        block = proc._block
        assert block.size >= sum(face_crop(gray, b)[0].size for b in boxes)
    finally:
        proc.close()
    assert proc._block is None
    with pytest.raises(FileNotFoundError):  # freed: nothing is left behind in the system's shared memory
        type(block)(name=block.name)


def test_a_group_shares_its_faces_with_the_process_and_gets_the_same_points(group):
    image = live.group_frame()
    live.shared_process().wait_ready()
    with live.LivePipeline(filter_points=False, draw_emoji=False) as shared, \
            live.LivePipeline(filter_points=False, draw_emoji=False, landmark_process=False) as alone:
        for _ in range(3):
            _, a = shared.process(image)
            _, b = alone.process(image)
        assert len(a) == len(b) >= 2
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x.raw, y.raw)
        assert shared.process_faces >= len(a) // 2 and alone.process_faces == 0
    with live.FrameSource("sample") as src:
        frame = src.read()
    with live.LivePipeline(draw_emoji=False) as one:  # one face: the loop finds it itself (the hand-over would cost more)
        _, tracks = one.process(frame)
        assert len(tracks) == 1 and one.process_faces == 0


def test_the_loop_goes_on_alone_when_the_process_dies(group):
    image = live.group_frame()
    live.shared_process().wait_ready()
    pipe = live.LivePipeline(draw_emoji=False)
    pipe.process(image)
    live.shared_process()._proc.kill()  # the process dies between two frames
    live.shared_process()._proc.wait()
    _, tracks = pipe.process(image)
    assert len(tracks) >= 2 and all(np.isfinite(t.points).all() for t in tracks)
    assert "landmark process" in pipe.process_note
    faces = pipe.process_faces
    pipe.process(image)
    assert pipe.process_faces == faces  # it does not try again
    assert live.shared_process().wait_ready(), "a new pipeline gets a new process"
    live.close_shared()


def test_a_process_that_cannot_start_says_why(monkeypatch):
    monkeypatch.setenv("DLIB_SHAPE_PREDICTOR", "/nonexistent/shape_predictor.dat")  # the child finds no model
    proc = PredictorProcess()
    assert not proc.wait_ready() and "does not exist" in proc.error
    proc.close()


def test_close_ends_the_process():
    proc = PredictorProcess()
    assert proc.wait_ready(), proc.error
    inner = proc._proc
    proc.close()
    assert inner.poll() is not None and not proc.ready


def test_an_error_between_hand_over_and_answer_leaves_the_next_frame_right(group, monkeypatch):
    """The loop fails on its own half after sending the other half: the answer is read anyway, so the next frame
    gets its own points, not the stale ones."""
    image = live.group_frame()
    live.shared_process().wait_ready()
    with live.LivePipeline(filter_points=False, draw_emoji=False) as pipe, \
            live.LivePipeline(filter_points=False, draw_emoji=False, landmark_process=False) as alone:
        pipe.process(image)
        alone.process(image)
        real = pipe._predict
        monkeypatch.setattr(pipe, "_predict", lambda *a: (_ for _ in ()).throw(RuntimeError("interrupted")))
        with pytest.raises(RuntimeError, match="interrupted"):
            pipe.process(image)
        monkeypatch.setattr(pipe, "_predict", real)
        shifted = np.ascontiguousarray(np.roll(image, 8, axis=1))  # other points than the frame that failed
        _, a = pipe.process(shifted)
        _, b = alone.process(shifted)
        assert not pipe.process_note and len(a) == len(b) >= 2
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x.raw, y.raw)


def test_a_session_that_ends_without_closing_leaves_no_shared_memory_behind():
    """A notebook's kernel that ends with the landmark process still open frees the shared memory at exit (no
    "leaked shared_memory" warning from Python's resource tracker), through the at-exit hook alone."""
    import subprocess
    import sys
    from pathlib import Path
    code = ("from helpers import live\nfrom helpers.landmarks import to_gray, detect_faces\n"
            "gray = to_gray(live.group_frame())\nboxes = [tuple(b) for b, _ in detect_faces(gray)][:2]\n"
            "proc = live.shared_process()\nassert proc.wait_ready(), proc.error\nproc.submit(gray, boxes)\n"
            "proc.result()\nprint(proc._block.name)\n"
            "import builtins\nbuiltins.kept = proc\n"  # alive until the very end, as in a notebook's kernel
            # no finaliser at shutdown (a kernel's objects may never be collected): only the at-exit hook can free it
            "type(proc).__del__ = lambda self: None\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[1])
    assert run.returncode == 0, run.stderr
    assert "leaked" not in run.stderr, run.stderr
    with pytest.raises(FileNotFoundError):
        from multiprocessing import shared_memory
        shared_memory.SharedMemory(name=run.stdout.split()[-1])


def test_the_detector_process_finds_the_same_faces_as_the_loop(group, face_frame):
    gray, _ = group
    one = to_gray(face_frame)
    proc = DetectorProcess()
    assert proc.wait_ready(), proc.error
    try:
        for shared in (True, False):  # the frame in shared memory, then through the pipe (the fallback)
            proc.shared = shared
            for frame, sides in ((gray, (640, 1280)), (one, (320, 640)), (np.zeros((90, 160), np.uint8), (160, 160))):
                assert proc.detect(frame, *sides) == find_faces(frame, *sides)
        assert proc.frames == 6 and len(proc.detect(gray, 640, 1280)[0]) >= 2
    finally:
        proc.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a process's scheduling class is Linux's")
def test_the_detector_process_runs_at_the_priority_asked_for():
    import os
    own = os.getpriority(os.PRIO_PROCESS, 0)
    for spare_cpu, cls in ((True, os.SCHED_IDLE), (False, os.SCHED_OTHER)):
        proc = DetectorProcess(nice=5, spare_cpu=spare_cpu)
        try:
            assert proc.wait_ready(), proc.error
            pid = proc._proc.pid
            assert os.sched_getscheduler(pid) == cls and os.getpriority(os.PRIO_PROCESS, pid) == min(19, own + 5)
        finally:
            proc.close()
    assert os.sched_getscheduler(0) == os.SCHED_OTHER and os.getpriority(os.PRIO_PROCESS, 0) == own  # the loop's stay


def test_detection_falls_back_to_the_calling_thread_when_the_process_dies(group):
    gray, _ = group
    helper = shared_detector()
    assert helper.wait_ready(), helper.error
    want, frames = find_faces(gray, 640, 1280), helper.frames
    assert find_faces_far(gray, 640, 1280) == want and helper.frames == frames + 1
    helper._proc.kill()
    helper._proc.wait()
    assert find_faces_far(gray, 640, 1280) == want  # the frame is still answered ...
    assert "detector process" in helper.error and not helper.ready  # ... and the failure is kept
    assert shared_detector() is not helper and shared_detector().wait_ready(), "a failed process is started again"
    live.close_shared()


def test_the_pipeline_detects_in_the_process_unless_told_not_to(group):
    image = live.group_frame()
    for in_process in (True, False):
        helper = shared_detector()
        helper.wait_ready()
        frames = helper.frames
        with live.LivePipeline(draw_emoji=False, detect_every=1, detect_idle=1, detect_process=in_process) as pipe:
            for _ in range(12):
                _, tracks = pipe.process(image)
                worker, deadline = pipe._worker, time.perf_counter() + 30
                while worker is not None and (worker.busy or time.perf_counter() < worker._ready_at):
                    time.sleep(0.005)  # each regular detection ends (and rests) before the next frame, which takes it
                    if time.perf_counter() > deadline:
                        pytest.fail("a regular detection took more than 30 s")
        assert len(tracks) >= 2 and pipe.detections >= 10
        assert (helper.frames - frames >= 9) if in_process else helper.frames == frames
