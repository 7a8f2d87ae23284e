"""The notebook UI of the live demo (ipywidgets): Start/Stop, source and model dropdowns, image, fps readout."""
from __future__ import annotations

import time

import cv2
import numpy as np

from ..errors import CourseError
from ..video import Source
from .models import EMOTION_MODELS, LANDMARK_MODELS
from .pipeline import LiveConfig, LivePipeline
from .timer import STAGES
from .runner import LiveRunner, stop_all


class LiveApp:
    """The notebook UI: a live image, Start/Stop, dropdowns for source / landmarks / emotion, an fps readout.

    The buttons call :meth:`start` and :meth:`stop`, which work without a browser too (tests call them).
    Stop always ends the loop and releases the camera. Frames are sent to the browser at most
    ``display_fps`` times a second so the notebook's message queue cannot pile up (a guard: what made the
    original project's memory grow was never pinned down, see notebook 06 section 6). ``sources``: the
    dropdown's choices, ``"webcam N"``, ``"sample"``, ``"other_person"`` or a video file's path.
    ``max_side`` and ``rotate`` are :class:`~helpers.live.runner.FrameSource`'s, for every source.
    """

    def __init__(self, config: LiveConfig | None = None, *, sources: tuple = ("webcam 0", "sample", "other_person"),
                 display_fps: float = 15.0, max_frames: int | None = None, max_side: int | None = 640,
                 rotate: int = 0) -> None:
        import ipywidgets as w
        stop_all()  # a LiveApp made by an earlier run of the cell would otherwise keep the webcam
        self.config = config or LiveConfig()
        self.max_frames = max_frames
        self.opened = {"max_side": max_side, "rotate": rotate}
        self.display_period = 1.0 / display_fps
        self.runner: LiveRunner | None = None
        self._last_shown = 0.0
        self.image = w.Image(value=_placeholder(), format="jpeg", width=640)  # not a broken-image icon before Start
        self.start_button = w.Button(description="Start", button_style="success", icon="play")
        self.stop_button = w.Button(description="Stop", button_style="danger", icon="stop", disabled=True)
        self.source = w.Dropdown(options=list(sources), value=sources[0], description="source")
        choices = list(LANDMARK_MODELS) + ([] if self.config.landmarks in LANDMARK_MODELS else [self.config.landmarks])
        self.landmarks = w.Dropdown(options=choices, value=self.config.landmarks, description="landmarks")  # + a model path
        self.emotion = w.Dropdown(options=list(EMOTION_MODELS), value=self.config.emotion, description="emotion")
        self.status = w.HTML("press Start")
        self.readout = w.HTML("")
        self.start_button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self.stop())
        for dropdown in (self.source, self.landmarks, self.emotion):  # a new choice while running: restart with it
            dropdown.observe(lambda _: self.start() if self.runner is not None and self.runner.running else None,
                             names="value")
        self.widget = w.VBox([w.HBox([self.start_button, self.stop_button]),
                              w.HBox([self.source, self.landmarks, self.emotion]),
                              self.status, self.image, self.readout])

    def _ipython_display_(self):  # display(app) shows the UI
        from IPython.display import display
        display(self.widget)

    @staticmethod
    def _source_value(name: str) -> Source:
        return int(name.split()[-1]) if name.startswith("webcam ") and name.split()[-1].isdigit() else name

    def _on_frame(self, out: np.ndarray, pipeline: LivePipeline) -> None:
        now = time.perf_counter()
        if now - self._last_shown < self.display_period:
            return
        self._last_shown = now
        ok, jpg = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, 80])
        if ok:
            self.image.value = jpg.tobytes()
        self.readout.value = readout_html(pipeline.timer.summary(), self.runner.source if self.runner else None)

    def start(self) -> None:
        """Start processing with the chosen source and models (stops a previous run first)."""
        self.stop()
        self.status.value = "loading models (once) ..."
        try:
            cfg = LiveConfig(**{**self.config.__dict__, "landmarks": self.landmarks.value, "emotion": self.emotion.value})
            pipeline = LivePipeline(cfg)
            self.runner = LiveRunner(pipeline, self._source_value(self.source.value), on_frame=self._on_frame,
                                     on_end=self._on_end, max_frames=self.max_frames, loop=True, realtime=True,
                                     **self.opened)
            self.runner.message = self.runner.message.replace(  # in the UI the dropdown is the way to choose
                "set SOURCE = 'sample' to use the built-in sample video", "choose 'sample' in the source dropdown")
        except Exception as exc:  # CourseError says what to do; anything else is shown too, never swallowed
            self.status.value = f"<b>error:</b> {type(exc).__name__ + ': ' if not isinstance(exc, CourseError) else ''}{exc}"
            self.start_button.disabled, self.stop_button.disabled = False, True
            return
        self.runner.start()
        self.status.value = f"{self.runner.message} &nbsp;|&nbsp; {pipeline.banner}"
        self.start_button.disabled, self.stop_button.disabled = True, False

    def _on_end(self, runner: "LiveRunner") -> None:
        """Called by the worker when its loop ends (Stop, max_frames, end of file, error): end the threads of the
        pipeline this app made for the run (a new Start makes a new one), then update the UI."""
        runner.pipeline.close()
        if runner is not self.runner:
            return
        if runner.error is not None:
            self.status.value = f"<b>stopped by an error:</b> {type(runner.error).__name__}: {runner.error}"
        elif runner._stop.is_set():
            self.status.value = f"stopped after {runner.frames} frames; source released: {runner.released}"
        else:
            self.status.value = f"ended on its own after {runner.frames} frames; source released: {runner.released}"
        self.start_button.disabled, self.stop_button.disabled = False, True

    def stop(self) -> None:
        """Stop the loop and release the camera (safe to call any time; returns within a few seconds)."""
        if self.runner is not None:
            if self.runner.stop(timeout=2.0):
                self._on_end(self.runner)
            else:
                self.status.value = ("<b>camera busy:</b> the worker is stuck in a camera read; the camera is "
                                     "released as soon as that read returns (or unplug it / restart the kernel).")
        self.start_button.disabled, self.stop_button.disabled = False, True


def readout_html(summary: dict, source=None) -> str:
    """The fps line under the image: frames shown per second and, apart, what the pipeline could do.

    A video file is played at its own frame rate (the sample: 24 fps), and a webcam delivers at most
    its own (often 30), so the frames shown per second say little about the pipeline; its capacity is
    1000 / (ms per frame).
    """
    total = summary.get("total", 0.0)
    capacity = 1000.0 / total if total > 0 else 0.0
    rate = getattr(source, "fps", None)
    own = (f" (the {'camera' if getattr(source, 'is_camera', False) else 'file'} delivers {rate:.0f} fps)"
           if rate else "")
    stages = " &nbsp; ".join(f"{k} {summary.get(k, 0.0):.1f}" for k in STAGES)
    return (f"<code>shown: {summary.get('fps', 0.0):.0f} fps{own} &nbsp;|&nbsp; pipeline capacity: {capacity:.0f} fps "
            f"({total:.1f} ms per frame: {stages} ms)</code>")


def _placeholder(width: int = 640, height: int = 360) -> bytes:
    """A dark JPEG saying "press Start", shown before the first frame."""
    image = np.full((height, width, 3), 32, np.uint8)
    cv2.putText(image, "press Start", (width // 2 - 95, height // 2 + 10), cv2.FONT_HERSHEY_SIMPLEX, 1.0,
                (200, 200, 200), 2, cv2.LINE_AA)
    return cv2.imencode(".jpg", image)[1].tobytes()
