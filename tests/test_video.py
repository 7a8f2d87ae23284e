"""Frame sources: reading, rotation, resizing, stepping, and every bad input."""
from __future__ import annotations

import re
import types

import numpy as np
from pathlib import Path

import pytest

from helpers import CourseError
from helpers.video import open_with_fallback, read_frames, resize_image, rotate_image, video_info


def test_read_sample_with_step_and_timestamps(sample_video):
    frames = list(read_frames("sample", step=50))
    assert [f.index for f in frames] == list(range(0, 472, 50))
    assert frames[0].image.shape == (360, 640, 3) and frames[0].image.dtype == np.uint8
    fps = video_info(sample_video)["fps"]
    assert frames[2].timestamp == pytest.approx(100 / fps)


def test_max_frames_start_resize_and_rotate(sample_video):
    frames = list(read_frames(sample_video, max_frames=3, start=10, max_side=320, rotate=90))
    assert [f.index for f in frames] == [10, 11, 12]
    assert frames[0].image.shape == (320, 180, 3)  # resized to 320x180, then rotated -> 180 wide


def test_a_path_with_a_tilde_reads_from_the_home_folder(sample_video, tmp_path, monkeypatch):
    """`SOURCE = "~/clip.mp4"`, as a learner types it, is the clip in their home folder (OpenCV does not expand ~)."""
    import shutil
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("USERPROFILE", str(tmp_path))  # Windows' home
    shutil.copy(sample_video, tmp_path / "clip.mp4")
    assert video_info("~/clip.mp4")["frames"] == video_info(sample_video)["frames"]
    assert len(list(read_frames("~/clip.mp4", max_frames=2))) == 2


def test_rotate_and_resize_images():
    img = np.zeros((10, 20, 3), np.uint8)
    img[0, 0] = 255  # top-left marker
    r = rotate_image(img, 90)
    assert r.shape == (20, 10, 3) and r[0, -1, 0] == 255  # clockwise: top-left goes to top-right
    assert rotate_image(img, 180)[-1, -1, 0] == 255
    assert resize_image(img, max_side=10).shape == (5, 10, 3)
    assert resize_image(img, scale=2).shape == (20, 40, 3)
    assert resize_image(img, max_side=100) is img  # never enlarges for max_side
    with pytest.raises(CourseError, match="0, 90, 180 or 270"):
        rotate_image(img, 45)


def test_missing_file(tmp_path, monkeypatch):
    with pytest.raises(CourseError, match="video file not found.*SOURCE = 'sample'"):
        next(read_frames(tmp_path / "Test.mp4"))
    monkeypatch.chdir(tmp_path)  # a relative path: the message says where it was looked for
    with pytest.raises(CourseError, match=re.escape(f"runs in: {tmp_path.resolve() / 'clip.mp4'}")):
        next(read_frames("clip.mp4"))


def test_zero_byte_file(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.touch()
    with pytest.raises(CourseError, match=r"empty \(0 bytes\).*again"):
        next(read_frames(empty))


def test_non_video_file(tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 100)
    with pytest.raises(CourseError, match="could not be decoded as a video"):
        next(read_frames(text))


def test_truncated_video(tmp_path, sample_video):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(sample_video.read_bytes()[:2000])  # header only: the moov atom is at the end
    with pytest.raises(CourseError, match="could not be decoded"):
        next(read_frames(broken))


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(CourseError, match="is a folder"):
        next(read_frames(tmp_path))


def test_missing_webcam_says_so_and_falls_back():
    with pytest.raises(CourseError, match="no webcam could be opened at index 9.*sample"):
        next(read_frames(9))
    src, message = open_with_fallback(9)
    assert str(src).endswith("WolfgangLanger_Pexels.mp4")
    assert "falling back to the sample video" in message


def test_fallback_does_not_hide_a_wrong_path(tmp_path):
    with pytest.raises(CourseError, match="not found"):
        open_with_fallback(tmp_path / "nope.mp4")


def test_bad_step():
    with pytest.raises(CourseError, match="step must be 1 or more"):
        next(read_frames("sample", step=0))


def test_rotation_tag_is_honoured(tmp_path, sample_video):
    from helpers.landmarks import detect_landmarks
    from helpers.video import tag_rotation, write_video
    upright = [f.image for f in read_frames(sample_video, max_frames=4, start=50)]
    sideways = tmp_path / "sideways.mp4"
    write_video(sideways, [rotate_image(im, 270) for im in upright], fps=24)  # pixels stored sideways, like a phone
    tagged = tag_rotation(sideways, tmp_path / "tagged.mp4", 90)  # ... with a "rotate 90" tag
    assert video_info(sideways)["rotation_tag"] == 0 and video_info(tagged)["rotation_tag"] == 90
    raw = next(read_frames(sideways)).image
    fixed = next(read_frames(tagged)).image
    assert raw.shape == (640, 360, 3) and fixed.shape == (360, 640, 3)
    assert len(detect_landmarks(raw)) == 0 and len(detect_landmarks(fixed)) == 1
    # ROTATE by hand does the same for a file without the tag
    assert len(detect_landmarks(next(read_frames(sideways, rotate=90)).image)) == 1


def test_tag_rotation_refuses_non_mp4(tmp_path):
    from helpers.video import tag_rotation
    bad = tmp_path / "x.mp4"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(CourseError, match="no video track header"):
        tag_rotation(bad, tmp_path / "y.mp4", 90)


def test_bad_sources_and_start():
    with pytest.raises(CourseError, match="neither a path nor a webcam index"):
        next(read_frames(True))
    with pytest.raises(CourseError, match="0 or more"):
        next(read_frames(-1))
    with pytest.raises(CourseError, match="start must be 0 or more"):
        next(read_frames("sample", start=-3))


def test_webcam_that_sends_nothing_falls_back(monkeypatch):
    """A camera that opens but sends no picture (busy in another app, macOS permission pending) is a missing camera."""
    from helpers import video

    class Silent:
        released = False

        def __init__(self, index):
            self.index = index

        def isOpened(self):
            return True

        def grab(self):
            return False

        def release(self):
            Silent.released = True

    real = video.cv2.VideoCapture
    monkeypatch.setattr(video, "FIRST_FRAME_S", 0.3)
    monkeypatch.setattr(video.cv2, "VideoCapture", lambda src, *a: Silent(src) if isinstance(src, int) else real(src, *a))
    with pytest.raises(CourseError, match="sent no picture.*browser"):
        video.open_capture(0)
    assert Silent.released
    cap, src, message = video.open_capture_with_fallback(0)
    cap.release()
    assert str(src).endswith("WolfgangLanger_Pexels.mp4") and "sent no picture" in message and "falling back" in message


def test_prepare_source_falls_back_without_webcam():
    from helpers.capture import prepare_source
    path, message = prepare_source(9)
    assert path.endswith("WolfgangLanger_Pexels.mp4") and "falling back to the sample video" in message


class _FakeCamera:
    """A webcam stand-in for record_webcam: opens in ``open_s`` seconds, then delivers a frame every ``1 / fps`` s
    (``fps_after``: from ``switch_s`` seconds on) of a fake clock; each frame is a grey level that counts frames."""

    def __init__(self, fps: float, open_s: float = 0.0, fps_after: float | None = None, switch_s: float = 1e9):
        self.now, self.fps, self.open_s, self.fps_after, self.switch_s = 0.0, fps, open_s, fps_after, switch_s
        self.alive = 0  # frames delivered and not yet garbage: what the recording holds in memory

    def monotonic(self) -> float:
        return self.now

    def frames(self, index, **kwargs):
        from helpers.video import Frame
        if not isinstance(index, int):  # a file (the recording read back to re-time it): the real reader
            yield from read_frames(index, **kwargs)
            return
        self.now += self.open_s
        start, n = self.now, 0
        while True:
            fps = self.fps_after if self.fps_after and self.now - start >= self.switch_s else self.fps
            image = np.full((48, 64, 3), n % 256, np.uint8)
            yield Frame(n, self.now - start, image)
            n += 1
            self.now += 1 / fps


def test_record_webcam_times_the_file_from_the_first_frame(tmp_path, monkeypatch):
    """A camera that takes 3 s to open and then delivers 20 frames/s: 2 s recorded are 40 frames, played at 20 fps."""
    from helpers import video
    cam = _FakeCamera(fps=20, open_s=3.0)
    monkeypatch.setattr(video, "time", types.SimpleNamespace(monotonic=cam.monotonic))
    monkeypatch.setattr(video, "read_frames", cam.frames)
    path = video.record_webcam(0, tmp_path / "me.mp4", seconds=2.0)
    monkeypatch.undo()
    info = video.video_info(path)
    assert info["frames"] in (40, 41) and info["fps"] == pytest.approx(20, rel=0.01), info  # 41: the clock's rounding
    levels = [int(f.image.mean().round()) for f in video.read_frames(path)]
    # the first frame first and the last last (mp4v moves a flat grey level by a few steps)
    assert levels[0] <= 3 and abs(levels[-1] - (info["frames"] - 1)) <= 5 and np.all(np.diff(levels) >= -3), levels


def test_record_webcam_re_times_a_camera_that_changes_its_rate(tmp_path, monkeypatch):
    """30 frames/s for the first second, 15 after (a camera dimming its exposure): the file plays at the overall rate."""
    from helpers import video
    cam = _FakeCamera(fps=30, fps_after=15, switch_s=1.0)
    monkeypatch.setattr(video, "time", types.SimpleNamespace(monotonic=cam.monotonic))
    monkeypatch.setattr(video, "read_frames", cam.frames)
    path = video.record_webcam(0, tmp_path / "me.mp4", seconds=4.0)
    monkeypatch.undo()
    info = video.video_info(path)
    assert 74 <= info["frames"] <= 77 and info["fps"] == pytest.approx(74 / 4, rel=0.03), info


def test_record_webcam_without_frames_writes_nothing(tmp_path, monkeypatch):
    from helpers import video
    def no_frames(index, **_):
        yield from ()
    monkeypatch.setattr(video, "read_frames", no_frames)
    with pytest.raises(CourseError, match="delivered no frames"):
        video.record_webcam(0, tmp_path / "me.mp4", seconds=2.0)
    assert not list(tmp_path.iterdir())


def test_decode_threads_gives_the_same_frames_and_falls_back(sample_video, monkeypatch):
    """One decoder thread (the live sources' setting) decodes the same frames; an OpenCV that cannot take the
    setting (another backend) opens the file as usual."""
    import cv2
    import helpers.video as video
    frames = {}
    for threads in (None, 1):
        cap, _ = video.open_capture(sample_video, decode_threads=threads)
        if threads:
            assert cap.get(cv2.CAP_PROP_N_THREADS) == 1
        frames[threads] = [cap.read()[1] for _ in range(3)]
        cap.release()
    assert all(np.array_equal(a, b) for a, b in zip(frames[None], frames[1]))
    real = cv2.VideoCapture
    monkeypatch.setattr(video.cv2, "VideoCapture", lambda *a: real("no such file.mp4") if len(a) > 1 else real(*a))
    cap, _ = video.open_capture(sample_video, decode_threads=1)
    assert cap.isOpened() and np.array_equal(cap.read()[1], frames[None][0])
    cap.release()


def test_a_truncated_file_is_reported_once_and_stderr_is_restored(sample_video, tmp_path, capfd):
    """With decoder threads asked for, a corrupt file is opened twice (threaded, then plain): FFmpeg's own complaint
    appears once, our message says what to do, and what is written to stderr afterwards still arrives."""
    import os
    import helpers.video as video
    bad = tmp_path / "cut.mp4"
    bad.write_bytes(Path(sample_video).read_bytes()[:5000])  # the start of the file only
    with pytest.raises(CourseError, match="could not be decoded"):
        video.open_capture(bad, decode_threads=2)
    os.write(2, b"after\n")
    err = capfd.readouterr().err
    opens = set(re.findall(r"@ (0x[0-9a-f]+)\]", err))  # FFmpeg names the demuxer of each open by its address
    assert len(opens) <= 1 and err.endswith("after\n"), err


def _numbered_clip(path, n: int, fps: float = 30.0, size: tuple[int, int] = (160, 120)) -> None:
    """An MP4 whose frame k shows k in binary: six vertical stripes, white for a 1 (survives lossy coding)."""
    import cv2
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for k in range(n):
        img = np.zeros((size[1], size[0], 3), np.uint8)
        for b in range(6):
            if k >> b & 1:
                img[:, b * size[0] // 6:(b + 1) * size[0] // 6] = 255
        out.write(img)
    out.release()


def _number(img: np.ndarray) -> int:
    w = img.shape[1]
    return sum(1 << b for b in range(6) if img[:, b * w // 6 + 2:(b + 1) * w // 6 - 2].mean() > 127)


def _make_variable_rate(path, fast_from: int) -> None:
    """Rewrite an MP4's time-to-sample table (``stts``) so that frames from ``fast_from`` on last half as long:
    a variable-frame-rate clip, as phones record. The table grows by one entry; its parent boxes grow with it
    (the media data comes before them in OpenCV's files, so no chunk offset moves)."""
    import struct
    buf = bytearray(path.read_bytes())

    def child(start: int, end: int, kind: bytes) -> int:
        while start < end:
            size, k = struct.unpack(">I4s", buf[start:start + 8])
            if k == kind:
                return start
            start += size
        raise AssertionError(f"no {kind!r} box")

    chain, at, end = [], 0, len(buf)
    for kind in (b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stts"):
        at = child(at, end, kind)
        chain.append(at)
        end = at + struct.unpack(">I", buf[at:at + 4])[0]
        at += 8
    stts = chain[-1]
    size, count, n, d = struct.unpack(">I8xIII", buf[stts:stts + 24])
    assert count == 1 and b"mdat" in bytes(buf[:chain[0]]), "expected one rate and the media data before moov"
    table = struct.pack(">4xIIIII", 2, fast_from, d, n - fast_from, d // 2)
    box = struct.pack(">I4s", 8 + len(table), b"stts") + table
    buf[stts:stts + size] = box
    for parent in chain[:-1]:
        buf[parent:parent + 4] = struct.pack(">I", struct.unpack(">I", buf[parent:parent + 4])[0] + len(box) - size)
    path.write_bytes(bytes(buf))


def test_start_lands_on_the_frame_in_a_variable_frame_rate_clip(tmp_path):
    """Seeking by frame number (OpenCV's way) goes through the average rate and lands elsewhere in a phone's
    variable-rate clip: ``start`` (counted) and ``start`` + ``start_time`` (by the decoder's clock) must not."""
    clip = tmp_path / "phone.mp4"
    _numbered_clip(clip, 60)
    _make_variable_rate(clip, fast_from=30)
    frames = list(read_frames(clip))
    assert [_number(f.image) for f in frames] == list(range(60))
    steps = np.diff([f.timestamp for f in frames])
    assert steps[:29].min() > 1.5 * steps[30:].max(), "the clip should change its frame rate at frame 30"
    for k in (10, 29, 35, 45, 59):
        assert _number(next(read_frames(clip, start=k, max_frames=1)).image) == k
        at = next(read_frames(clip, start=k, start_time=frames[k].timestamp, max_frames=1))
        assert _number(at.image) == k and at.timestamp == pytest.approx(frames[k].timestamp)
    assert [_number(f.image) for f in read_frames(clip, start=40, start_time=frames[40].timestamp, step=7)] == [
        40, 47, 54]


def test_writing_no_frames_keeps_the_file_already_there(tmp_path):
    from helpers.video import write_video
    target = tmp_path / "annotated.mp4"
    assert write_video(target, [np.zeros((32, 32, 3), np.uint8)] * 3) == 3
    before = target.read_bytes()
    with pytest.raises(CourseError, match="no frames to write"):
        write_video(target, [])
    assert target.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["annotated.mp4"]
