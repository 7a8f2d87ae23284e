"""The live pipeline: no face, two faces, grey frames, tracking between detections, stopping, fallback, CLI."""
from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest

from helpers import CourseError
from helpers.labels import EMOTIONS
from helpers.live import (FrameSource, LiveConfig, LivePipeline, LiveRunner, StageTimer, Track, main, run_headless)
from helpers.live.tracks import box_from_points, iou, match_boxes, relative_box
from helpers.video import video_info


@pytest.fixture(scope="module")
def pipeline():
    """One pipeline for the module: dlib landmarks + the peer emotion model (loads once)."""
    return LivePipeline(LiveConfig(detect_every=3))


def test_no_face_frame(pipeline):
    pipeline.reset()
    frame = np.full((360, 640, 3), 128, np.uint8)
    out, faces = pipeline.process(frame)
    assert faces == [] and out.shape == frame.shape
    assert out[100:320, :].std() == 0  # no box, points or emoji below the banner ...
    assert out[320:, :140].std() > 0 and out[320:, 140:].std() == 0  # ... only "no face" at the bottom left


def test_the_header_shows_banner_and_a_readout_refreshed_every_few_frames(pipeline, monkeypatch):
    """The top strip is the banner and the timer's readout as text drawn on black (the cached strip gives the same
    pixels as drawing it); the readout changes only every READOUT_EVERY frames, so it can be read."""
    import cv2

    from helpers.live.overlay import draw_overlay
    from helpers.live.pipeline import READOUT_EVERY
    frame = np.full((360, 640, 3), 128, np.uint8)
    ref = frame.copy()
    cv2.rectangle(ref, (0, 0), (640, 36), (0, 0, 0), -1)
    for text, y, colour in (("a banner", 14, (255, 255, 255)), ("99 fps | read 0.1 ms", 31, (0, 255, 255))):
        cv2.putText(ref, text, (6, y), cv2.FONT_HERSHEY_SIMPLEX, 0.42, colour, 1, cv2.LINE_AA)
    np.testing.assert_array_equal(draw_overlay(frame.copy(), [], banner="a banner", readout="99 fps | read 0.1 ms")[:37],
                                  ref[:37])
    pipeline.reset()
    strips = []
    for _ in range(2 * READOUT_EVERY + 1):
        out, _ = pipeline.process(frame)
        strips.append(out[21:37].copy())  # the readout's line
    changed = [i for i in range(1, len(strips)) if not np.array_equal(strips[i], strips[i - 1])]
    assert changed and all(i % READOUT_EVERY == 1 for i in changed), changed
    assert (strips[0] == 128).all() and strips[1].min() == 0  # no readout (line) before the first frame is timed
    from helpers.live import pipeline as module
    monkeypatch.setattr(module, "READOUT_EVERY", 1)  # every frame: each frame's readout is its own
    pipeline.reset()
    texts = []
    for _ in range(4):
        pipeline.process(frame)
        texts.append(pipeline._readout)
    assert texts[0] == "" and all(texts[i] is not texts[i - 1] for i in range(2, 4)), texts


def test_one_face_gives_box_points_and_probabilities(pipeline, face_frame):
    pipeline.reset()
    out, faces = pipeline.process(face_frame)
    assert len(faces) == 1
    face = faces[0]
    assert face.points.shape == (68, 2) and face.points.dtype == np.float32
    left, t, r, b = face.box
    assert 0 <= left < r <= 640 and 0 <= t < b <= 360
    assert face.probs.shape == (7,) and abs(float(face.probs.sum()) - 1) < 1e-3
    assert face.emotion in EMOTIONS
    assert not np.array_equal(out, face_frame) and face_frame is not out


def test_grey_frame_input(pipeline, face_frame):
    pipeline.reset()
    grey = cv2.cvtColor(face_frame, cv2.COLOR_BGR2GRAY)
    out, faces = pipeline.process(grey)
    assert len(faces) == 1 and out.shape == (360, 640, 3)


def test_two_faces(pipeline, face_frame):
    pipeline.reset()
    two = np.hstack([face_frame, cv2.flip(face_frame, 1)])  # the same woman twice, side by side
    _, faces = pipeline.process(two)
    assert len(faces) == 2
    centres = sorted((f.box[0] + f.box[2]) / 2 for f in faces)
    assert centres[0] < 640 < centres[1]
    assert len({f.id for f in faces}) == 2


def test_tracking_between_detections(pipeline, face_frame, monkeypatch):
    import helpers.live.detection as live_detection
    calls = []
    real = live_detection.detect_faces
    monkeypatch.setattr(live_detection, "detect_faces", lambda *a, **k: calls.append(1) or real(*a, **k))
    pipeline.reset()
    shifted = np.roll(face_frame, 6, axis=1)  # the face moves 6 px to the right
    _, faces = pipeline.process(face_frame)
    x0 = faces[0].points[:, 0].mean()
    for _ in range(2):
        _, faces = pipeline.process(shifted)
    assert len(calls) == 1  # detect_every=3: frames 1 and 2 are tracked by their landmarks
    assert len(faces) == 1 and faces[0].count == 2  # the same face: frames 0 and 2 classified (emotion_every=2)
    assert 3 < faces[0].points[:, 0].mean() - x0 < 9  # the points followed the face


def test_smoothing_is_the_mean_of_the_last_predictions():
    t = Track(0, (0, 0, 10, 10), np.zeros((68, 2), np.float32), None, np.zeros((2, 7), np.float32))
    for k in (0, 3, 3):
        t.push(np.eye(7, dtype=np.float32)[k])
    assert t.emotion == "happy" and t.probs[3] == pytest.approx(1.0)  # the 'angry' left the 2-frame window


def test_a_box_follows_its_points_between_detections():
    points = np.array([[100, 120], [160, 120], [130, 200]], np.float32)
    rel = relative_box((90, 100, 170, 210), points)
    assert box_from_points(points, rel) == (90, 100, 170, 210)
    assert box_from_points(points + (7, -3), rel) == (97, 97, 177, 207)  # moved with the points
    assert box_from_points(points * 2, rel) == (180, 200, 340, 420)  # scaled with them


def test_new_boxes_match_the_tracked_ones_by_overlap():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == pytest.approx(1.0)
    assert iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0
    matched, new = match_boxes([(52, 0, 62, 10), (1, 0, 11, 10), (200, 200, 210, 210)],
                               {7: (0, 0, 10, 10), 8: (50, 0, 60, 10)})
    assert matched == {0: 8, 1: 7} and new == [2]


def test_timer_memory_is_fixed():
    timer = StageTimer(window=10)
    for _ in range(1000):
        timer.add("detect", 1.0)
        timer.add("draw", 2.0)
        timer.end_frame()
    s = timer.summary()
    assert timer._ms.shape == (10, 5) and s["detect"] == pytest.approx(1.0) and s["total"] == pytest.approx(3.0)


def test_bad_config():
    with pytest.raises(CourseError, match="unknown landmark model"):
        LivePipeline(landmarks="sift")
    with pytest.raises(CourseError, match="1 or more"):
        LivePipeline(detect_every=0)


def test_missing_webcam_falls_back_to_sample():
    with FrameSource(97) as src:
        assert "falling back to the sample video" in src.message and not src.is_camera
        assert src.read().shape == (360, 640, 3)
    assert src.released and src.read() is None


def test_stop_releases_the_source(pipeline):
    pipeline.reset()
    seen = []
    runner = LiveRunner(pipeline, "sample", on_frame=lambda out, p: seen.append(out.shape), loop=True).start()
    deadline = time.time() + 30
    while len(seen) < 3 and time.time() < deadline:
        time.sleep(0.02)
    assert runner.running and not runner.released
    runner.stop()
    assert not runner.running and runner.released and runner.error is None
    n = runner.frames
    time.sleep(0.1)
    assert runner.frames == n  # really stopped
    runner.stop()  # stopping twice is harmless


def test_error_in_the_loop_still_releases(pipeline):
    def boom(out, p):
        raise ValueError("display failed")
    runner = LiveRunner(pipeline, "sample", on_frame=boom).start()
    runner.wait(30)
    assert runner.released and isinstance(runner.error, ValueError)


def test_ui_buttons_path(pipeline):
    from helpers.live import LiveApp
    app = LiveApp(max_frames=5, display_fps=1000)
    app.source.value = "sample"
    app.start()
    assert app.stop_button.disabled is False and app.start_button.disabled is True
    app.runner.wait(30)
    assert "ended on its own after 5 frames" in app.status.value and app.start_button.disabled is False
    app.stop()
    assert app.runner.released and app.runner.frames == 5
    assert app.image.value[:2] == b"\xff\xd8"  # a JPEG reached the image widget
    assert "fps" in app.readout.value and app.start_button.disabled is False


def test_ui_run_leaves_no_pipeline_thread(pipeline):
    """A run that ends (here on its own, after max_frames) ends its pipeline's detector and emotion threads: a cell
    that makes a LiveApp, run again, would otherwise leave one idle thread and pipeline behind per run."""
    import threading
    import time

    from helpers.live import LiveApp
    before = set(threading.enumerate())
    app = LiveApp(max_frames=40, display_fps=1000)
    app.source.value = "sample"
    app.start()
    app.runner.wait(30)
    assert app.runner.frames == 40 and app.runner.pipeline.detections > 0
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and [t for t in set(threading.enumerate()) - before if t.name.startswith("live-")]:
        time.sleep(0.05)
    assert not [t.name for t in set(threading.enumerate()) - before if t.name.startswith("live-")]


def test_ui_plays_a_file_turned_and_at_its_size(pipeline):
    """The UI's source dropdown takes a video file, and the UI passes ROTATE and the frame size on to every source."""
    from helpers.data import fetch
    from helpers.live import LiveApp
    path = str(fetch("sample"))
    app = LiveApp(max_frames=3, display_fps=1000, sources=(path, "sample"), rotate=90, max_side=320)
    assert app.source.value == path
    app.start()
    app.runner.wait(30)
    assert app.runner.error is None and app.runner.frames == 3
    assert app.runner.source.source == path and app.runner.source.rotate == 90 and app.runner.source.max_side == 320
    app.stop()


def test_headless_run_report(pipeline):
    report = run_headless(pipeline, "sample", 12, keep=2, warmup=2)
    assert report.frames == 12 and len(report.kept) == 2 and report.kept[0].shape == (360, 640, 3)
    assert report.fps > 0 and set(report.stage_ms) >= {"detect", "landmarks", "emotion", "draw", "read", "total"}
    assert report.faces_per_frame == pytest.approx(1.0)


def test_cli_headless_writes_a_playable_video(tmp_path, capsys):
    out = tmp_path / "live.mp4"
    assert main(["--source", "sample", "--output", str(out), "--frames", "12"]) == 0
    info = video_info(out)
    assert info["frames"] == 12 and (info["width"], info["height"]) == (640, 360)
    cap = cv2.VideoCapture(str(out))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    assert n == 12
    assert "wrote 12 annotated frames" in capsys.readouterr().err


def test_cli_bad_source(tmp_path, capsys):
    assert main(["--source", str(tmp_path / "nope.mp4"), "--output", str(tmp_path / "o.mp4")]) == 2
    assert "video file not found" in capsys.readouterr().err


def test_cli_window_without_display_says_what_to_do(monkeypatch, capsys):
    monkeypatch.setattr("sys.platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert main(["--source", "sample", "--frames", "3"]) == 2
    assert "--output out.mp4" in capsys.readouterr().err


class _BlockingCapture:
    """Wraps a real capture; ``read`` hangs until ``gate`` is set (a stuck camera driver)."""

    def __init__(self, real):
        self.real, self.gate, self.inside, self.released = real, threading.Event(), threading.Event(), False

    def read(self, buf=None):
        self.inside.set()
        self.gate.wait(20)
        return self.real.read(buf)

    def set(self, *a):
        return self.real.set(*a)

    def get(self, *a):
        return self.real.get(*a)

    def release(self):
        self.released = True
        self.real.release()


def test_stop_returns_promptly_when_the_camera_read_hangs(pipeline):
    src = FrameSource("sample")
    fake = src._cap = _BlockingCapture(src._cap)
    ended = []
    runner = LiveRunner(pipeline, src, on_end=ended.append).start()
    assert fake.inside.wait(10)
    t0 = time.perf_counter()
    assert runner.stop(timeout=0.3) is False  # "camera busy": the worker is inside cap.read
    assert time.perf_counter() - t0 < 10  # the 0.3 s timeout, not the 20 s read
    assert not fake.released and runner.running
    fake.gate.set()  # the read returns: the worker releases the capture and ends
    runner.wait(10)
    assert fake.released and src.released and not runner.running and ended == [runner]
    assert runner.stop(timeout=0.1) is True


def test_stop_all_stops_a_forgotten_runner(pipeline):
    from helpers.live import stop_all
    runner = LiveRunner(pipeline, "sample", loop=True).start()
    del runner  # the cell's variable was overwritten: the thread still runs
    import helpers.live as live
    assert any(r.running for r in live.runner._RUNNERS)
    assert stop_all() >= 1
    assert not any(r.running for r in live.runner._RUNNERS) and all(r.released for r in live.runner._RUNNERS)


def test_looping_source_forgets_faces_at_the_rewind(pipeline, no_face_video, monkeypatch):
    from helpers.live import iter_annotated
    resets = []
    real = pipeline.reset
    monkeypatch.setattr(pipeline, "reset", lambda timings=True: resets.append(timings) or real(timings))
    with FrameSource(str(no_face_video), loop=True) as src:
        assert sum(1 for _ in iter_annotated(pipeline, src, 45)) == 45
        assert src.rewinds == 2
    assert resets == [False, False]  # tracks forgotten at each rewind, timings kept


def test_a_looping_file_that_ends_early_says_it_is_cut_short(sample_video, tmp_path, capsys):
    """A copy cut short (an interrupted download) opens, its header promising all its frames: the live source says so
    once, at its first rewind, and loops what is there; a whole file says nothing."""
    cut = tmp_path / "cut.mp4"
    data = sample_video.read_bytes()
    cut.write_bytes(data[: len(data) // 3])
    with FrameSource(str(cut), loop=True) as src:
        while src.rewinds < 2:
            assert src.read() is not None
    out = capsys.readouterr().out
    assert out.count("cut.mp4 ends after") == 1 and "probably cut short" in out, out
    with FrameSource(str(sample_video), loop=True) as src:
        while src.rewinds < 1:
            src.read()
    assert "cut short" not in capsys.readouterr().out


def test_a_file_is_opened_only_once(sample_video, monkeypatch):
    opened = []
    real = cv2.VideoCapture
    monkeypatch.setattr(cv2, "VideoCapture", lambda *a: opened.append(a) or real(*a))
    with FrameSource(str(sample_video)) as src:
        assert src.read() is not None
    assert len(opened) == 1  # open_capture checks the file and rewinds: one open, never a second to check or read


def test_ui_reports_errors_and_restarts_on_a_new_choice(pipeline, monkeypatch):
    import helpers.live as live
    app = live.LiveApp(display_fps=1000)
    app.source.value = "sample"
    app.start()
    first = app.runner
    app.source.value = "other_person"  # changed while running: restart with it
    assert app.runner is not first and first.released and not first.running
    assert "single_face" in app.runner.message and app.runner.running
    app.stop()
    assert app.runner.released and app.start_button.disabled is False
    monkeypatch.setattr(live.ui, "LivePipeline", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("no model")))
    app.start()
    assert "RuntimeError: no model" in app.status.value and app.start_button.disabled is False


def test_emotion_trace_and_flips():
    from helpers.live import emotion_trace, label_flips_per_second
    trace = emotion_trace("sample", frames=6, smooth=3)
    assert trace["raw"].shape == trace["smoothed"].shape == (6, 7) and trace["t"].shape == (6,)
    np.testing.assert_allclose(trace["smoothed"][2], trace["raw"][:3].mean(axis=0), atol=1e-5)
    probs = np.eye(7, dtype=np.float32)[[0, 0, 3, 3, 0, 0]]
    assert label_flips_per_second(probs, fps=6.0) == pytest.approx(2.0)


# --------------------------------------------------------------------------- speed per face, groups

@pytest.mark.parametrize("kind", ["peer", "course"])
@pytest.mark.parametrize("int8_weights", [False, True])
def test_tflite_emotion_matches_keras(kind, int8_weights, tmp_path):
    """TensorFlow Lite gives the Keras model's probabilities for a batch of faces: to 1e-4 with float32 weights,
    to 0.05 with int8 weights (a file under half the size)."""
    from helpers.emotion import EmotionClassifier, build_course_model
    from helpers.live.models import LiteEmotion, _tflite_bytes, load_emotion
    if kind == "peer":
        keras_clf = load_emotion("peer", "keras")
        from helpers.data import fetch
        source = fetch("emotion_model")
    else:  # the course architecture (untrained weights: the conversion does not care)
        model = build_course_model()
        source = tmp_path / "course.keras"
        model.save(source)
        keras_clf = EmotionClassifier.from_model(model, "course")
    lite = LiteEmotion(keras_clf, source, cache=False, int8_weights=int8_weights)
    faces = np.random.default_rng(1).integers(0, 256, (3, 48, 48), dtype=np.uint8)  # resized to the input size inside
    keras_probs = np.stack([keras_clf.predict_proba(f) for f in faces])
    lite_probs = lite.predict_batch(faces)
    tolerance = 0.05 if int8_weights else 1e-4
    assert lite_probs.shape == (3, 7) and lite_probs.dtype == np.float32
    assert np.abs(lite_probs - keras_probs).max() <= tolerance
    assert np.abs(lite.predict_proba(faces[1]) - keras_probs[1]).max() <= tolerance  # one face, after a batch of 3
    assert lite.predict_batch(faces[:0]).shape == (0, 7)
    if int8_weights:
        sizes = [len(_tflite_bytes(keras_clf.model, source, cache=False, int8_weights=w)) for w in (False, True)]
        assert sizes[1] < sizes[0] / 2, sizes


def test_tflite_info_line_is_not_printed(capfd):
    from helpers.emotion import EmotionClassifier, build_baseline
    from helpers.live.models import LiteEmotion
    import tempfile
    model = build_baseline()
    with tempfile.TemporaryDirectory() as tmp:
        model.save(f"{tmp}/b.keras")
        capfd.readouterr()
        LiteEmotion(EmotionClassifier.from_model(model, "baseline"), f"{tmp}/b.keras", cache=False)
    assert "XNNPACK" not in capfd.readouterr().err  # TFLite's C++ INFO line goes to fd 2: silenced


@pytest.fixture(scope="module")
def group_1280(multi_face_image):
    """The course's group photo scaled to 1280 px wide: "friends in front of a webcam"."""
    f = 1280 / multi_face_image.shape[1]
    return cv2.resize(multi_face_image, None, fx=f, fy=f, interpolation=cv2.INTER_LINEAR)


def test_default_pipeline_finds_every_face_of_the_group(group_1280):
    from helpers.live.runner import StillSource
    with LivePipeline() as pipe:  # default settings
        report = run_headless(pipe, StillSource(group_1280), 12, keep=1, warmup=2)
    assert report.faces_per_frame == pytest.approx(4.0)
    assert np.isfinite(report.frame_ms_p99) and report.frame_ms_p50 <= report.frame_ms_p99


def test_detection_in_the_worker_does_not_block_the_loop(group_1280, monkeypatch):
    """While faces are tracked, a slow detection runs beside the loop: frames keep coming, the result lands later."""
    import helpers.live.pipeline as live_pipeline
    gate = threading.Event()
    real = live_pipeline.find_faces_far  # the worker's detection: in the detector process once it is ready, else here

    def slow(*a, **k):
        gate.wait(10)  # the worker's detection "takes" until the test opens the gate (whichever way it goes)
        return real(*a, **k)

    monkeypatch.setattr(live_pipeline, "find_faces_far", slow)
    with LivePipeline(detect_every=2, detect_policy="interval") as pipe:  # the fixed rule: a detection every 2nd frame
        _, faces = pipe.process(group_1280)  # no track yet: detected on this frame
        assert len(faces) == 4 and pipe.detections == 1
        for _ in range(6):  # frame 2 hands a detection to the worker, which hangs
            _, faces = pipe.process(group_1280)
        assert len(faces) == 4 and pipe.detections == 1  # the loop did not wait (the worker hangs for 10 s)
        assert pipe._worker.busy
        gate.set()
        pipe._worker.wait()
        deadline = time.time() + 10
        while pipe.detections == 1 and time.time() < deadline:
            pipe.process(group_1280)
        assert pipe.detections == 2 and len(pipe.tracks) == 4
        assert sorted(t.id for t in pipe.tracks) == [0, 1, 2, 3]  # the same four faces, re-anchored, not new tracks


def test_a_face_that_left_is_dropped_by_the_worker_detection(face_frame):
    with LivePipeline(detect_every=1) as pipe:
        pipe.process(face_frame)
        assert len(pipe.tracks) == 1
        empty = np.full_like(face_frame, 90)
        for _ in range(30):
            pipe.process(empty)
            if not pipe.tracks:
                break
            time.sleep(0.02)
        assert pipe.tracks == []


def test_keras_inline_settings_still_work(face_frame):
    with LivePipeline(emotion_backend="keras", detect_async=False, filter_points=False) as pipe:
        _, faces = pipe.process(face_frame)
        assert len(faces) == 1 and abs(float(faces[0].probs.sum()) - 1) < 1e-3
    with pytest.raises(CourseError, match="unknown emotion backend"):
        LivePipeline(emotion_backend="onnx")


def test_int8_emotion_backend_runs_the_group_in_one_call(group_1280):
    """``emotion_backend="tflite-int8"``: 8-bit weights, still all faces in one call, probabilities that sum to 1."""
    from helpers.live.runner import StillSource
    with LivePipeline(emotion_backend="tflite-int8", emotion_async=False) as pipe:
        assert pipe.classifier.int8_weights and pipe._batch
        report = run_headless(pipe, StillSource(group_1280), 4, keep=1, warmup=1)
        _, faces = pipe.process(group_1280)
    assert report.faces_per_frame == pytest.approx(4.0) and len(faces) == 4
    assert all(abs(float(f.probs.sum()) - 1) < 1e-3 for f in faces)


def test_emotion_in_the_worker_gives_the_inline_probabilities_a_frame_later(group_1280):
    """Several faces: their crops are classified in a thread; the result lands on the next frame, unchanged."""
    runs = {}
    for key in (False, True):
        with LivePipeline(emotion_async=key, detect_async=False, filter_points=False, emotion_every=1) as pipe:
            for _ in range(4):
                _, faces = pipe.process(group_1280)
            runs[key] = {t.id: (t.count, t.probs.copy()) for t in faces}
            if key:
                assert pipe._emotion_worker is not None  # the group's emotion went to the worker
    assert sorted(runs[True]) == sorted(runs[False]) and len(runs[True]) == 4
    for tid, (count, probs) in runs[True].items():
        inline_count, inline_probs = runs[False][tid]
        assert (count, inline_count) == (3, 4)  # new faces at once (frame 1), then one frame behind
        assert np.abs(probs - inline_probs).max() < 1e-5  # a still photo: every prediction is the same


def test_one_face_is_classified_inline(face_frame):
    with LivePipeline(emotion_every=1) as pipe:
        for _ in range(3):
            _, faces = pipe.process(face_frame)
        assert faces[0].count == 3 and pipe._emotion_worker is None  # one call is too short to hand off


def test_emotion_every_n_frames_averages_the_same_frames(face_frame, group_1280, monkeypatch):
    """``emotion_every=3``: a face is classified on its first frame, then every 3rd; the average holds the
    predictions of the last ``smooth`` frames (ceil(7 / 3) = 3 of them); a new face is classified at once."""
    import helpers.live.pipeline as live_pipeline
    calls = []
    real = live_pipeline.classify
    monkeypatch.setattr(live_pipeline, "classify", lambda crops, *a, **k: calls.append(len(crops)) or real(crops, *a, **k))
    with LivePipeline(emotion_every=3, smooth=7, detect_async=False, emotion_async=False) as pipe:
        counts = [pipe.process(face_frame)[1][0].count for _ in range(7)]
        assert counts == [1, 1, 1, 2, 2, 2, 3] and len(pipe.tracks[0].history) == 3
        assert calls == [1, 1, 1]
        calls.clear()
        _, faces = pipe.process(group_1280)  # a cut: four new faces, classified on their first frame
        assert len(faces) == 4 and all(f.count == 1 for f in faces) and calls == [4]
    with pytest.raises(CourseError, match="emotion_every"):
        LivePipeline(emotion_every=0)


def test_emotion_worker_is_not_waited_for_between_due_frames(group_1280, monkeypatch):
    """Several faces, ``emotion_every=2``: the crops handed to the (slow) thread on one frame are waited for only on
    the next frame they are due on, not on the frame in between; every face is classified every other frame."""
    import time
    import helpers.live.pipeline as live_pipeline
    real = live_pipeline.classify
    monkeypatch.setattr(live_pipeline, "classify", lambda *a, **k: time.sleep(0.05) or real(*a, **k))
    with LivePipeline(emotion_every=2, detect_async=False, filter_points=False) as pipe:
        waited = []
        for _ in range(7):
            worker = pipe._emotion_worker
            if worker is not None and not hasattr(worker, "_spied"):
                real_wait = worker.wait
                worker.wait = lambda *a, real_wait=real_wait, **k: waited.append(pipe.frame_index) or real_wait(*a, **k)
                worker._spied = True
            _, faces = pipe.process(group_1280)
        during = list(waited)
        pipe._emotion_worker.wait()
    assert during == [4, 6]  # handed over on frames 2, 4, 6; waited for on 4 and 6, never on 3 or 5
    # frame 0 in the loop (new faces), frames 2, 4, 6 in the thread: 3 results landed by frame 6, the 4th is pending
    assert len(faces) == 4 and all(f.count == 3 for f in faces)


def test_a_new_face_joins_the_emotion_turn_of_the_faces_followed(face_frame, monkeypatch):
    """A face found between two turns is classified at once, and then together with the others (one call)."""
    import helpers.live.pipeline as live_pipeline
    calls = []
    real = live_pipeline.classify
    monkeypatch.setattr(live_pipeline, "classify", lambda crops, *a, **k: calls.append(len(crops)) or real(crops, *a, **k))
    with LivePipeline(emotion_every=2, detect_async=False, emotion_async=False) as pipe:
        pipe.process(face_frame)  # frame 0: the face is found and classified
        first = pipe.tracks[0]
        pipe.tracks.append(pipe._new_track(first.box))  # frame 1: a second face (here: the same box again)
        pipe.process(face_frame)
        pipe.process(face_frame)  # frame 2: both due together
        assert [t.emotion_frame for t in pipe.tracks] == [2, 2]
    assert calls == [1, 1, 2]  # frame 0: the first face; frame 1: the new one; frame 2: both in one call



def test_threads_still_working_at_exit_do_not_abort_python(tmp_path):
    """A pipeline nobody closed, its detector thread inside dlib when Python exits: exit code 0, no C++ abort."""
    import subprocess
    import sys
    from pathlib import Path
    script = tmp_path / "exit_busy.py"
    script.write_text(
        "import cv2\n"
        "from helpers import data\n"
        "from helpers.live import LivePipeline\n"
        "image = cv2.imread(str(data.fetch('multi_face')))\n"
        "image = cv2.resize(image, None, fx=1280 / image.shape[1], fy=1280 / image.shape[1])\n"
        "pipe = LivePipeline(detect_every=1, detect_policy='interval')  # never closed; a detection on every frame\n"
        "for _ in range(3):\n"
        "    pipe.process(image)\n"
        "print('exiting', pipe._worker.busy, len(pipe.tracks))\n")
    root = Path(__file__).resolve().parents[1]
    for _ in range(2):  # the abort came about one run in two
        proc = subprocess.run([sys.executable, str(script)], cwd=root, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "exiting True 4" in proc.stdout and "terminate called" not in proc.stderr


def test_lite_emotion_is_safe_from_two_threads():
    """Pipelines share one interpreter (loaded once); an emotion thread and the loop may call it at once."""
    from helpers.live.models import load_emotion
    clf = load_emotion("peer", "tflite")
    rng = np.random.default_rng(0)
    batches = [rng.integers(0, 255, (n, clf.input_size, clf.input_size), dtype=np.uint8) for n in (1, 3)]
    expected = [clf.predict_batch(b) for b in batches]
    errors = []

    def hammer(i: int) -> None:
        for _ in range(60):
            if np.abs(clf.predict_batch(batches[i]) - expected[i]).max() > 1e-6:
                errors.append(i)

    threads = [threading.Thread(target=hammer, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


# --------------------------------------------------------------------------- steadier points

def test_one_euro_filter_smooths_still_points_and_follows_a_move():
    from helpers.live.smoothing import OneEuroFilter, jitter_and_lag
    rng = np.random.default_rng(0)
    base = rng.uniform(100, 200, (68, 2)).astype(np.float32)
    centre = np.concatenate([np.zeros(60), np.linspace(0, 120, 30), np.full(30, 120.0)])  # still, fast move, still
    raw = np.stack([base + [c, 0] + rng.normal(0, 0.7, (68, 2)) for c in centre]).astype(np.float32)
    f = OneEuroFilter()
    filtered = np.stack([f(p) for p in raw])
    m = jitter_and_lag(raw, filtered)
    assert m["jitter_ratio"] < 0.5 and m["lag_frames"] <= 1.5
    assert m["still_frames"] > 50 and m["fast_frames"] > 20
    f.reset()
    np.testing.assert_array_equal(f(raw[-1]), raw[-1])  # after a reset the first sample passes unchanged


def test_filter_is_per_track_and_reset_when_the_track_is_lost(face_frame):
    with LivePipeline(detect_every=1, detect_async=False) as pipe:
        _, faces = pipe.process(face_frame)
        first = faces[0]
        assert first.filter is not None
        np.testing.assert_array_equal(first.points, first.raw)  # first frame of a track: nothing to filter yet
        pipe.process(np.full_like(face_frame, 90))  # the face is lost
        assert pipe.tracks == []
        _, faces = pipe.process(face_frame)
        assert faces[0].id != first.id and faces[0].filter is not first.filter  # a new track, a fresh filter


def test_any_object_with_read_and_release_is_a_frame_source(face_frame):
    from helpers.live.runner import StillSource, as_frame_source
    src = StillSource(face_frame, frames=5)
    assert as_frame_source(src) is src
    with LivePipeline() as pipe:
        report = run_headless(pipe, src, 3, keep=0, warmup=1)
    assert report.frames == 3 and report.faces_per_frame == pytest.approx(1.0)
    with pytest.raises(CourseError, match="no read, release"):
        as_frame_source(object())


def test_a_still_source_takes_a_path_and_says_what_to_do_without_an_image(tmp_path):
    from helpers import data
    from helpers.live.runner import StillSource
    src = StillSource(data.fetch("multi_face"), frames=1)
    assert src.read().shape == cv2.imread(str(data.fetch("multi_face"))).shape and src.read() is None
    with pytest.raises(CourseError, match="cannot read"):
        StillSource(tmp_path / "missing.jpg")
    with pytest.raises(CourseError, match="read_image"):
        StillSource(None)


def test_draw_points_stamps_the_same_pixels_as_cv2_circle():
    from helpers.live.overlay import _POINT_COLORS, draw_points
    rng = np.random.default_rng(1)
    points = rng.uniform(-3, 103, (68, 2)).astype(np.float32)  # some off the edge: clipped, no error
    fast = np.zeros((100, 100, 3), np.uint8)
    draw_points(fast, points)
    slow = np.zeros_like(fast)
    for (x, y), c in zip(np.rint(points).astype(np.int32), _POINT_COLORS):
        cv2.circle(slow, (int(x), int(y)), 2, tuple(int(v) for v in c), -1)
    assert fast.any() and (fast == slow).all()


class _Counting:
    """A frame source whose frame i is filled with the value i (255 frames), reusing one buffer like a real source."""

    is_camera, fps, message, released = False, 30.0, "counting", False

    def __init__(self, n: int = 40, fail_at: int | None = None) -> None:
        self.n, self.i, self.fail_at, self.rewinds = n, 0, fail_at, 0
        self.buf = np.zeros((8, 8, 3), np.uint8)

    def read(self):
        if self.i == self.fail_at:
            raise OSError("disk gone")
        if self.i >= self.n:
            return None
        self.buf[:] = self.i
        self.i += 1
        self.rewinds = self.i // 10  # pretend the file rewinds every 10 frames
        return self.buf

    def release(self):
        self.released = True
        return True


def test_prefetcher_keeps_order_buffers_and_rewinds():
    from helpers.live.prefetch import Prefetcher
    src = _Counting(40)
    reader = Prefetcher(src, depth=2)
    seen = []
    while (frame := reader.read()) is not None:
        time.sleep(0.001)  # let the reader run ahead and fill its queue
        seen.append((int(frame[0, 0, 0]), reader.rewinds))
        assert (frame == frame[0, 0, 0]).all()  # a frame is never overwritten while the loop holds it
    assert seen == [(i, (i + 1) // 10) for i in range(40)]
    assert reader.read() is None
    reader.close()
    assert not reader._thread.is_alive()


def test_prefetcher_passes_errors_and_stops_early():
    from helpers.live.prefetch import Prefetcher
    reader = Prefetcher(_Counting(40, fail_at=3))
    assert [int(reader.read()[0, 0, 0]) for _ in range(3)] == [0, 1, 2]
    with pytest.raises(OSError, match="disk gone"):
        reader.read()
    endless_source = _Counting(10**9)
    endless = Prefetcher(endless_source)
    endless.read()
    endless.close()
    assert not endless._thread.is_alive() and not endless_source.released  # closing stops reading, the owner releases


def test_prefetch_gives_the_same_points_as_reading_in_the_loop():
    runs = {}
    for prefetch in (False, True):
        with LivePipeline(detect_async=False, prefetch=prefetch, draw_emoji=False) as pipe:
            report = run_headless(pipe, "sample", 30, keep=2, warmup=2)
            runs[prefetch] = (report.kept, pipe.tracks[0].points.copy())
    assert np.array_equal(runs[False][1], runs[True][1])
    assert all(np.array_equal(a[40:], b[40:]) for a, b in zip(runs[False][0], runs[True][0]))  # below the fps readout


def test_two_thread_speedup_measures_both_dlib_calls():
    from helpers.live.experiments import two_thread_speedup
    out = two_thread_speedup(calls=8)
    assert set(out) == {"predictor", "detector"} and all(0 < v < 4 for v in out.values())


def test_overlay_goes_on_the_frame_only_when_asked(face_frame):
    """``process`` leaves the caller's frame clean; ``in_place=True`` draws on it and returns it (no copy)."""
    frame = face_frame.copy()
    with LivePipeline(detect_async=False) as pipe:
        out, _ = pipe.process(frame)
        assert out is not frame and np.array_equal(frame, face_frame) and not np.array_equal(out, face_frame)
        out, _ = pipe.process(frame, in_place=True)
        assert out is frame and not np.array_equal(frame, face_frame)


def test_still_source_is_drawn_on_in_place_and_not_read_ahead(face_frame):
    """A still image is not read ahead (its read is a copy: nothing to overlap); the overlay goes onto the source's
    buffer, and the image it repeats stays clean."""
    import threading
    from helpers.live.runner import StillSource, iter_annotated
    src = StillSource(face_frame.copy(), frames=3)
    before = set(threading.enumerate())
    with LivePipeline(detect_async=False) as pipe:
        for out in iter_annotated(pipe, src):
            assert out is src._buf
            assert not any(t.name == "live-reader" for t in set(threading.enumerate()) - before)
    assert np.array_equal(src.image, face_frame)


def test_a_learners_source_keeps_its_frames_clean(face_frame):
    """A source that does not say ``reuses_buffer = True`` may hand out frames it keeps: they are drawn on a copy."""
    from helpers.live.runner import iter_annotated

    class Mine:  # a minimal frame source of a learner's own, returning its one stored frame
        released, message, fps, is_camera, rewinds = False, "mine", 30.0, False, 0

        def __init__(self, image):
            self.image, self.left = image, 3

        def read(self):
            self.left -= 1
            return self.image if self.left >= 0 else None

        def release(self):
            self.released = True
            return True

    src = Mine(face_frame.copy())
    with LivePipeline(detect_async=False) as pipe:
        outs = [out is src.image for out in iter_annotated(pipe, src)]
    assert outs == [False] * 3 and np.array_equal(src.image, face_frame)


def test_a_small_video_is_decoded_by_one_thread_a_large_one_by_ffmpegs_own(tmp_path, sample_video):
    """Up to 1280x720 one FFmpeg thread (the read-ahead thread decodes beside the loop); a larger video (a phone's
    4K clip) keeps FFmpeg's own threads, or one thread could not keep up."""
    import os
    from helpers.live.runner import ONE_DECODER_MAX_PIXELS, FrameSource
    big = tmp_path / "big.mp4"
    writer = cv2.VideoWriter(str(big), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (1600, 900))
    for _ in range(3):
        writer.write(np.full((900, 1600, 3), 128, np.uint8))
    writer.release()
    assert 1600 * 900 > ONE_DECODER_MAX_PIXELS
    with FrameSource(sample_video) as small, FrameSource(big) as large:
        assert small._cap.get(cv2.CAP_PROP_N_THREADS) == 1
        assert large._cap.get(cv2.CAP_PROP_N_THREADS) != 1 or os.cpu_count() == 1
        assert large.read().shape[1] == 640  # still read and shrunk as before


def test_tflite_cache_keeps_one_conversion_per_model_file(data_dir, tmp_path):
    """Notebook 05 saves its model again on every run (a new sha256): the live cache keeps the newest conversion of
    a file, not one more pair per run."""
    import keras

    from helpers.live.models import _tflite_bytes
    from helpers.paths import work_dir
    model = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Flatten(), keras.layers.Dense(7, activation="softmax")])
    source = tmp_path / "emotion_cnn.keras"
    for version in range(2):
        model.layers[-1].bias.assign(np.full(7, float(version), np.float32))
        model.save(source)
        _tflite_bytes(model, source)
    _tflite_bytes(model, source, int8_weights=True)
    kept = sorted(p.name.split("-")[2] for p in work_dir("live").glob("emotion_cnn-*.tflite"))
    assert kept == ["float32", "int8"], kept
