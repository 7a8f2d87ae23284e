"""The browser camera's kernel side, without a browser: frame decode, back-pressure bookkeeping, stop,
the registry that closes an earlier camera, the error messages, the recorder, and the live-demo glue.

The page is simulated by calling ``BrowserCamera.handle_message`` with the messages the page's script
sends (``helpers/browser_cam.js``); ``send`` is recorded instead of going to a frontend.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from helpers import CourseError, browser_cam, browser_io
from helpers.browser_cam import BrowserCamera
from helpers.browser_io import LoopStats, Recorder, decode_jpeg, encode_jpeg


def jpeg(image: np.ndarray) -> bytes:
    return encode_jpeg(image, 90)


@pytest.fixture
def frame() -> np.ndarray:
    img = np.zeros((360, 640, 3), np.uint8)
    cv2.rectangle(img, (200, 100), (440, 260), (0, 200, 255), -1)
    return img


class Sent(list):
    """What the kernel sent to the page: (content, buffers) pairs."""


def make(processor=None, **kw) -> tuple[BrowserCamera, Sent]:
    cam = BrowserCamera(processor, **kw)
    sent = Sent()
    cam.send = lambda content, buffers=None: sent.append((content, buffers))  # type: ignore[method-assign]
    return cam, sent


def started(cam: BrowserCamera) -> None:
    cam.start()
    cam.handle_message({"type": "started", "label": "fake camera", "width": 640, "height": 360})


def frame_msg(seq: int, data: bytes | None, **extra) -> tuple[dict, list]:
    return {"type": "frame", "seq": seq, "t": 1000.0 + seq, "inflight": 1, **extra}, ([data] if data is not None else [])


# ----------------------------------------------------------------- frames in and out

def test_decode_roundtrip(frame):
    back = decode_jpeg(memoryview(jpeg(frame)))
    assert back.shape == frame.shape and back.dtype == np.uint8
    assert np.abs(back.astype(int) - frame).mean() < 3


@pytest.mark.parametrize("data, words", [(b"", "empty frame"), (b"not a jpeg at all", "not a JPEG")])
def test_decode_rejects_bad_data(data, words):
    with pytest.raises(CourseError, match=words):
        decode_jpeg(data)


def test_encode_rejects_non_images():
    with pytest.raises(CourseError, match="returned no image"):
        encode_jpeg(None)  # type: ignore[arg-type]
    with pytest.raises(CourseError, match="returned no image"):
        encode_jpeg(np.zeros((0, 0, 3), np.uint8))


@pytest.mark.parametrize("kw, words", [({"width": 8}, "out of range"), ({"fps": 60}, "at most 30"),
                                        ({"max_in_flight": 3}, "max_in_flight"), ({"quality": 0}, "JPEG quality")])
def test_parameters_checked(kw, words):
    with pytest.raises(CourseError, match=words):
        BrowserCamera(None, **kw)


def test_defaults_are_640x360_at_most_30_fps():
    cam, _ = make()
    assert (cam.width, cam.height, cam.fps, cam.max_in_flight) == (640, 360, 30.0, 1)
    cam.close()


# ----------------------------------------------------------------- the frame loop

def test_frame_is_processed_and_answered_with_the_annotated_jpeg(frame):
    seen = []

    def processor(img):
        seen.append(img.shape)
        out = img.copy()
        out[:] = (255, 0, 0)
        return out

    cam, sent = make(processor)
    started(cam)
    assert cam.state == "running" and cam.running and "fake camera" in cam.message
    reply = cam.handle_message(*frame_msg(1, jpeg(frame)))
    assert seen == [(360, 640, 3)]
    assert reply == {"type": "result", "seq": 1, "t": 1001.0}
    content, buffers = sent[-1]
    assert content["type"] == "result" and len(buffers) == 1
    back = decode_jpeg(buffers[0])
    assert back[..., 0].mean() > 240 and back[..., 2].mean() < 15  # the processor's blue frame came back
    assert cam.stats.frames == 1 and cam.readout  # the readout line was filled
    cam.close()


def test_readout_names_the_camera_rate(frame):
    cam, _ = make(None)
    cam.start()
    cam.handle_message({"type": "started", "label": "cam", "width": 640, "height": 360, "fps": 15})
    cam.handle_message(*frame_msg(1, jpeg(frame), latency_ms=50.0))
    assert cam.camera_fps == 15 and "the camera sends at most 15" in cam.readout and "latency 50 ms" in cam.readout
    cam.close()


def test_no_processor_echoes_the_frame(frame):
    cam, sent = make(None)
    started(cam)
    cam.handle_message(*frame_msg(1, jpeg(frame)))
    assert np.abs(decode_jpeg(sent[-1][1][0]).astype(int) - frame).mean() < 4
    cam.close()


def test_every_frame_is_answered_and_stale_frames_are_skipped(frame):
    calls = []
    cam, sent = make(lambda img: calls.append(1))
    started(cam)
    data = jpeg(frame)
    kinds = [cam.handle_message(*frame_msg(seq, data))["type"] for seq in (1, 2, 2, 1, 3)]
    assert kinds == ["result", "result", "skip", "skip", "result"]  # a repeated or older frame is never processed
    assert len(calls) == 3 and cam.stats.skipped == 2 and cam.stats.frames == 3
    assert [c["seq"] for c, _ in sent if c["type"] in ("result", "skip")] == [1, 2, 2, 1, 3]  # one answer per frame
    cam.close()


def test_frame_without_data_is_answered_with_skip():
    cam, _ = make()
    started(cam)
    assert cam.handle_message(*frame_msg(1, None))["why"] == "no data"
    cam.close()


def test_frames_before_start_or_after_stop_are_not_processed(frame):
    calls = []
    cam, _ = make(lambda img: calls.append(1))
    assert cam.handle_message(*frame_msg(1, jpeg(frame)))["why"] == "stopped"
    started(cam)
    cam.handle_message(*frame_msg(2, jpeg(frame)))
    cam.stop()
    assert cam.handle_message(*frame_msg(3, jpeg(frame)))["why"] == "stopped"
    assert len(calls) == 1
    cam.close()


def test_page_reports_are_bounded_and_summarised():
    stats = LoopStats(window=10)
    for i in range(100):
        stats.add_frame(i / 20, kernel_ms=5.0)
        stats.add_page_report(latency_ms=40.0 + i % 3, shown_fps=19.5, inflight=1 + i % 2)
    s = stats.summary()
    assert len(stats.arrived) == 10 and len(stats.latency_ms) == 10  # bounded, whatever the number of frames
    assert s["fps"] == pytest.approx(20.0) and s["shown_fps"] == 19.5
    assert 40 <= s["latency_ms_median"] <= 42 and s["kernel_ms"] == 5.0 and s["max_in_flight"] == 2
    stats.add_page_report(latency_ms=None, shown_fps=None, inflight=None)  # the first frame has no latency yet
    assert stats.frames == 100


def test_in_flight_reported_by_the_page_is_recorded(frame):
    cam, _ = make(None, max_in_flight=2)
    started(cam)
    for seq in (1, 2, 3):
        cam.handle_message(*frame_msg(seq, jpeg(frame), inflight=1 + seq % 2, latency_ms=30.0))
    assert cam.stats.max_in_flight == 2 and cam.stats.summary()["latency_ms_median"] == 30.0
    cam.close()


# ----------------------------------------------------------------- start, stop, registry

def test_stop_tells_the_page_and_ends_the_kernel_side(frame):
    stopped = []
    cam, sent = make(None, on_stop=lambda c: stopped.append(c.state))
    started(cam)
    cam.handle_message(*frame_msg(1, jpeg(frame)))
    cam.stop()
    assert not cam.active and cam.state == "stopped" and not cam.running
    assert sent[-1][0] == {"type": "stop"}
    assert stopped == ["stopped"] and "after 1 frames" in cam.message
    cam.close()


def test_stop_pressed_in_the_page(frame):
    cam, _ = make(None)
    started(cam)
    cam.active = False  # what the page's Stop button syncs ...
    cam.handle_message({"type": "stopped", "tracks_ended": True, "frames": 0})  # ... then reports
    assert cam.state == "stopped" and cam.tracks_ended is True
    cam.close()


def test_a_new_camera_closes_the_earlier_one():
    first, _ = make(None)
    started(first)
    second, _ = make(None)
    assert not first.active and first._closed and first.state == "stopped"
    assert list(browser_cam._CAMERAS.values()) == [second]
    with pytest.raises(CourseError, match="closed"):
        first.start()
    second.close()
    assert browser_cam.close_all() == 0


def test_only_one_camera_streams_at_a_time():
    a, _ = make(None)
    b, _ = make(None, close_others=False)
    started(a)
    started(b)
    assert b.active and not a.active and a.state == "stopped"
    browser_cam.close_all()


# ----------------------------------------------------------------- errors

@pytest.mark.parametrize("order", ["state update first", "error first"])
def test_a_click_whose_error_overtakes_its_state_update_keeps_the_error(order):
    """Start clicked in a page that cannot give a camera: the page sends "start", the state update active=True
    and the error. ipywidgets may hold the state update back, so the error can reach the kernel before it."""
    cam, _ = make(None)
    message = "this page is not a secure context (http://lab:8888), so the browser hides the camera."
    cam.handle_message({"type": "start"})  # sent first, in order with the error
    assert cam.state == "starting"
    if order == "state update first":
        cam.active = True
        cam.handle_message({"type": "error", "kind": "insecure", "message": message})
    else:
        cam.handle_message({"type": "error", "kind": "insecure", "message": message})
        cam.active = True  # the held-back state update arrives last: it must not wipe the error
    assert cam.error_kind == "insecure" and "secure context" in cam.status
    assert cam.state == "error" and not cam.active and not cam.running
    cam.handle_message({"type": "start"})  # Start again: a new attempt clears the error
    cam.active = True
    assert cam.error is None and cam.state == "starting" and cam.running
    cam.handle_message({"type": "start"})  # a click whose state update never comes (the page already had active on)
    cam.stop()
    cam.start()  # a later start from the kernel begins afresh
    assert cam.state == "starting" and cam.running
    cam.close()


@pytest.mark.parametrize("kind, words", [("insecure", "secure context"), ("denied", "permission denied"),
                                          ("no_camera", "no camera")])
def test_page_errors_reach_the_kernel_with_what_to_do(kind, words):
    messages = {"insecure": "this page is not a secure context (http://lab:8888), so the browser hides the camera. "
                            "Open JupyterLab as http://localhost:PORT ...",
                "denied": "camera permission denied: allow the camera for this page ...",
                "no_camera": "no camera found by the browser: plug one in ..."}
    cam, _ = make(None)
    cam.start()
    cam.handle_message({"type": "error", "kind": kind, "message": messages[kind]})
    assert cam.error_kind == kind and words in cam.error and words in cam.status
    assert cam.state == "error" and not cam.active and not cam.running
    with pytest.raises(CourseError, match=words):
        cam.check()
    started(cam)  # pressing Start again clears the error
    assert cam.error is None and cam.running
    cam.check()
    cam.close()


def test_the_script_sends_those_error_kinds():
    js = browser_cam.JS_PATH.read_text()
    for kind in ("insecure", "denied", "no_camera", "busy"):
        assert f'"{kind}"' in js, kind
    assert "isSecureContext" in js and "getUserMedia" in js and ".stop()" in js


def test_a_failing_processor_stops_the_camera_with_a_message(frame):
    def broken(img):
        raise ValueError("boom")

    cam, sent = make(broken)
    started(cam)
    cam._on_custom(cam, *frame_msg(1, jpeg(frame)))  # the comm handler: never raises into the kernel
    assert cam.error_kind == "kernel" and "boom" in cam.error and not cam.active
    assert [c["type"] for c, _ in sent][-2:] == ["skip", "stop"]  # the frame is answered, then the page is told to stop
    cam.close()


def test_a_broken_jpeg_from_the_page_is_a_clear_error():
    cam, _ = make(None)
    started(cam)
    cam._on_custom(cam, *frame_msg(1, b"garbage"))
    assert "not a JPEG" in cam.error and cam.state == "error"
    cam.close()


# ----------------------------------------------------------------- notebook 01: recording

def test_recorder_keeps_real_time_and_appears_only_when_complete(tmp_path, frame):
    path = tmp_path / "me_browser.mp4"
    rec = Recorder(path, seconds=1.0, fps=10)
    done = False
    for i, now in enumerate([0.0, 0.05, 0.31, 0.32, 0.7, 1.01]):  # irregular arrivals, slower than 10 fps
        assert not path.exists()
        done = rec.add(frame, now=100 + now)
    assert done and path.exists() and rec.received == 6
    cap = cv2.VideoCapture(str(path))
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    assert n == rec.written == 10  # 1 s at 10 fps, whatever the arrival rate


def test_recording_lookup_and_names(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    path, message = browser_io.recording("me")
    assert path is None and "Start camera" in message and "sample" in message
    browser_io.recording_path("me").write_bytes(b"x")
    path, message = browser_io.recording("me")
    assert path == browser_io.recording_path("me") and "me_browser.mp4" in message
    with pytest.raises(CourseError, match="file name"):
        browser_io.recording_path("../me")


def test_record_widget_writes_the_file_and_stops(tmp_path, monkeypatch, frame):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    cam = browser_cam.record("me", seconds=0.2, fps=10)
    cam.send = lambda content, buffers=None: None  # type: ignore[method-assign]
    started(cam)
    import time
    seq = 0
    t_end = time.perf_counter() + 2
    while cam.active and time.perf_counter() < t_end:
        seq += 1
        cam.handle_message(*frame_msg(seq, jpeg(frame)))
        time.sleep(0.03)
    assert not cam.active and cam.state == "stopped"
    assert browser_io.recording_path("me").exists() and "recorded" in cam.status
    cam.close()


# ----------------------------------------------------------------- notebook 06: live demo glue

class FakeTimer:
    stages = ("read", "detect", "landmarks", "emotion", "draw")

    def __init__(self):
        self.added = []

    def add(self, stage, ms):
        self.added.append(stage)

    def summary(self):
        return {s: 1.0 for s in self.stages} | {"total": 5.0, "fps": 100.0}


class FakePipeline:
    banner = "fake pipeline"

    def __init__(self):
        self.timer, self.resets, self.frames = FakeTimer(), 0, 0

    def reset(self):
        self.resets += 1

    def process(self, image):
        self.frames += 1
        out = image.copy()
        cv2.rectangle(out, (10, 10), (100, 100), (0, 255, 255), 2)
        return out, []


def test_live_demo_runs_the_pipeline_on_each_frame(frame):
    pipe = FakePipeline()
    cam = browser_cam.live_demo(pipe)
    sent = Sent()
    cam.send = lambda content, buffers=None: sent.append((content, buffers))  # type: ignore[method-assign]
    started(cam)
    assert pipe.resets == 1  # a new stream starts with no faces
    cam.handle_message(*frame_msg(1, jpeg(frame)))
    assert pipe.frames == 1 and pipe.timer.added == ["read"]
    assert "per stage" in cam.readout and "landmarks" in cam.readout and "fps" in cam.readout
    assert cam.title == "fake pipeline" and cam.max_in_flight == 2  # the page sends the next frame while one is processed
    cam.close()


def test_live_demo_needs_a_pipeline():
    with pytest.raises(CourseError, match="process"):
        browser_cam.live_demo(object())


def test_script_and_style_ship_with_the_package():
    import tomllib

    from helpers.paths import ROOT
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"].get("package-data", {})
    patterns = data.get("helpers", [])
    for path in (browser_cam.JS_PATH, browser_cam.CSS_PATH):
        assert path.exists(), path
        assert any(path.match(p) for p in patterns), f"{path.name} is not in [tool.setuptools.package-data] helpers"


# ----------------------------------------------------------------- tools/browser_test.py: the parts that need no browser

def _tool():
    from scripts import load_script
    return load_script("tools/browser_test.py")


def test_y4m_clip_is_i420_frames_behind_one_header(tmp_path, sample_video):
    tool = _tool()
    info = tool.write_y4m(sample_video, tmp_path / "cam.y4m", frames=3, size=(64, 36))
    data = (tmp_path / "cam.y4m").read_bytes()
    header, rest = data.split(b"\n", 1)
    assert header.startswith(b"YUV4MPEG2 W64 H36 F") and b"C420" in header
    frame = len(b"FRAME\n") + 64 * 36 * 3 // 2
    assert info["frames"] == 3 and len(rest) == 3 * frame and rest[frame:frame + 6] == b"FRAME\n"


def _md(text):
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def _code(text, tags=()):
    return {"cell_type": "code", "metadata": {"tags": list(tags)}, "source": text, "outputs": [1], "execution_count": 3}


def test_patch_06_sets_the_browser_source_and_keeps_the_live_sections():
    tool = _tool()
    nb = {"cells": [_code("check()"), _code("SOURCE = 0\nFRAMES = 5000\n", ["parameters"]),
                    _md("## 1. Source"), _code("one"), _md("## 3. Tracking"), _code("slow"),
                    _md("## 7. The live UI"), _md("### 7b. Browser"), _code("cam"), _md("## 8. Models"), _code("train"),
                    _md("## Summary")]}
    changed = tool.patch_06(nb)
    sources = [c["source"] for c in nb["cells"]]
    assert "slow" not in sources and "train" not in sources and "cam" in sources and "one" in sources
    assert "## Summary" in sources
    assert 'SOURCE = "browser"' in nb["cells"][1]["source"] and "FRAMES = 1000" in nb["cells"][1]["source"]
    assert "MIN_FPS" not in nb["cells"][1]["source"]  # only names the parameters cell has are set
    assert all(c["outputs"] == [] for c in nb["cells"] if c["cell_type"] == "code")
    assert any("3, 8" in line for line in changed)


def test_patch_06_needs_a_parameters_cell_with_source():
    tool = _tool()
    with pytest.raises(tool.StepFailed, match="parameters"):
        tool.patch_06({"cells": [_code("x = 1")]})
    with pytest.raises(tool.StepFailed, match="SOURCE"):
        tool.patch_06({"cells": [_code("FRAMES = 1", ["parameters"])]})


def test_pick_01_keeps_notebook_01_up_to_its_source_choice():
    tool = _tool()
    nb = {"cells": [_code("setup"), _code('SOURCE = "sample"\nNAME = "sample"\n', ["parameters"]), _code("import x"),
                    _code("rec = browser_cam.record(NAME)"), _code("src = browser_io.recording_or_sample(NAME)"),
                    _code("scan everything")]}
    small, _ = tool.pick_01(nb)
    assert [c["source"] for c in small["cells"]][-1].startswith("src =") and len(small["cells"]) == 5
    assert 'SOURCE = "browser"' in small["cells"][1]["source"]
    with pytest.raises(tool.StepFailed, match="recording_or_sample"):
        tool.pick_01({"cells": [_code("SOURCE = 1", ["parameters"])]})


def test_browser_test_record_summary():
    """06 prints the last recorded browser-test figures when it ran without a browser camera."""
    from helpers.browser_io import browser_test_summary
    record = {"date": "2026-12-05", "cpu_count": 2, "load_average_1min": 1.5, "chromium": "x",
              "two_in_flight": {"fps": 27.5, "shown_fps": 28.0, "latency_ms_median": 57.0, "latency_ms_p95": 90.0,
                                "kernel_ms": 9.0, "max_in_flight": 2},
              "one_in_flight": {"fps": 20.0, "latency_ms_median": 40.0, "latency_ms_p95": 60.0}, "local_video_fps": 150.0}
    text = browser_test_summary(record)
    assert "27.5 fps through the kernel" in text and "57 ms median" in text and "1 frame in flight: 20.0 fps" in text
    assert "150 fps" in text and "load 1.5" in text
    assert "browser-test --record" in browser_test_summary(None)


def test_shipped_browser_test_record_reads():
    from helpers.browser_io import browser_test_summary, last_browser_test
    record = last_browser_test()
    assert record is not None, "helpers/browser_test_record.json is missing: run `python course.py browser-test --record`"
    assert "fps through the kernel" in browser_test_summary(record) and record["two_in_flight"]["max_in_flight"] >= 1
