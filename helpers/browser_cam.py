"""The learner's camera through the browser (``SOURCE = "browser"`` in notebooks 01 and 06).

On a remote JupyterLab (a lab server, a JupyterHub, a hosted notebook) ``cv2.VideoCapture(0)`` opens the
*server's* camera, which does not exist. The browser in front of the learner has one. This module's
widget (built on `anywidget`) opens it in the page with ``getUserMedia`` and streams frames to the
kernel as JPEG in binary comm buffers; the kernel answers each frame with the processed (annotated)
frame, which the same widget shows.

- **Back-pressure.** The page captures a new frame only while fewer than ``max_in_flight`` (1 or 2)
  frames wait for the kernel's answer, and always the newest camera image: nothing queues, older
  frames are never sent late. The kernel answers every frame (``result`` or ``skip``) and drops a frame
  that arrives out of order.
- **Where frames are handled.** Comm messages reach the kernel only while no cell is running, so
  frames are processed in the widget's message handler, never in a loop inside a cell. A cell that
  runs for a long time pauses the stream (the widget says so), it does not pile frames up.
- **Stop.** :meth:`BrowserCamera.stop` (or the widget's Stop button) ends the camera track in the page
  (the camera light goes off) and the kernel side. Making a new camera closes the earlier ones of this
  kernel (:func:`close_all`), so re-running a cell never leaves a second stream running.
- **Errors.** A page that is not a secure context, a denied permission, no camera or a busy camera each
  give a message that says what to do, in the widget and in the kernel (``camera.error``,
  :meth:`BrowserCamera.check`); nothing raises in the page, so the rest of the notebook still runs.

:func:`live_demo` runs notebook 06's pipeline on the browser frames; :func:`record` records notebook
01's clip under a name, as ``capture.prepare_source`` does with a local webcam.
"""
from __future__ import annotations

import logging
import time
import uuid
import weakref
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np

from .browser_io import LoopStats, Recorder, decode_jpeg, encode_jpeg, recording_path
from .errors import CourseError
from .paths import shown

try:  # anywidget is a course dependency; without it only the kernel-side helpers can be imported
    import anywidget
    import traitlets as t
except ImportError as _exc:  # pragma: no cover - exercised only in a broken install
    anywidget = None
    _IMPORT_ERROR: ImportError | None = _exc
else:
    _IMPORT_ERROR = None

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
JS_PATH = HERE / "browser_cam.js"
CSS_PATH = HERE / "browser_cam.css"

ERROR_KINDS = ("insecure", "denied", "no_camera", "busy", "ended", "failed", "kernel")
"""The error kinds the page (or the kernel) reports; ``BrowserCamera.error_kind`` is one of them."""

Processor = Callable[[np.ndarray], "np.ndarray | None"]
"""A per-frame function: BGR frame (H, W, 3) uint8 -> the image to show (or None to show the frame as it is)."""


# --------------------------------------------------------------------------- the widget

_CAMERAS: "weakref.WeakValueDictionary[str, BrowserCamera]" = weakref.WeakValueDictionary()
"""Every open camera widget of this kernel, so a re-run cell can close the one it made before."""


def close_all() -> int:
    """Stop and close every browser camera of this kernel (re-running a cell calls this); return how many."""
    cams = list(_CAMERAS.values())
    for cam in cams:
        cam.close()
    return len(cams)


def _require_anywidget() -> None:
    if anywidget is None:
        raise CourseError(f"the browser camera needs the package 'anywidget' ({_IMPORT_ERROR}). Run `make setup` "
                          "(or `pip install anywidget`), restart the kernel, or use a webcam index / 'sample'.")


if anywidget is not None:
    class BrowserCamera(anywidget.AnyWidget):
        """The browser's camera as a widget: frames go to ``processor`` in the kernel, its result comes back.

        ``processor(frame) -> image`` gets each frame as BGR (height, width, 3) uint8 and returns the image
        to show (None: show the frame as it is). ``on_start``/``on_stop`` are called when the stream starts
        and stops; ``readout`` (a function returning HTML) fills the line under the image a few times a
        second. Press Start in the widget (or call :meth:`start`); Stop (or :meth:`stop`) ends the camera.
        """

        _esm = JS_PATH
        _css = CSS_PATH

        cam_id = t.Unicode("").tag(sync=True)
        width = t.Int(640).tag(sync=True)
        height = t.Int(360).tag(sync=True)
        fps = t.Float(30.0).tag(sync=True)
        quality = t.Float(0.8).tag(sync=True)          # JPEG quality of the frames the page sends (0-1)
        max_in_flight = t.Int(1).tag(sync=True)        # frames sent but not yet answered, 1 or 2
        active = t.Bool(False).tag(sync=True)          # the camera is wanted (Start) / not (Stop)
        state = t.Unicode("idle").tag(sync=True)       # idle | starting | running | stopped | error (kernel's view)
        title = t.Unicode("").tag(sync=True)
        placeholder = t.Unicode("press Start camera: the browser asks for permission, then your camera's "
                                "frames go to the kernel and come back annotated here").tag(sync=True)
        status = t.Unicode("").tag(sync=True)          # HTML line under the image (the kernel writes it)
        readout = t.Unicode("").tag(sync=True)         # HTML fps / latency / stage line (the kernel writes it)

        def __init__(self, processor: Processor | None = None, *, width: int = 640, height: int = 360,
                     fps: float = 30.0, max_in_flight: int = 1, quality: float = 0.8, title: str = "",
                     on_start: Callable[["BrowserCamera"], None] | None = None,
                     on_stop: Callable[["BrowserCamera"], None] | None = None,
                     readout: Callable[["BrowserCamera"], str] | None = None, close_others: bool = True) -> None:
            if not (16 <= width <= 1920 and 16 <= height <= 1080):
                raise CourseError(f"camera size {width}x{height} is out of range: use 16-1920 x 16-1080 (default 640x360).")
            if not (0 < fps <= 30):
                raise CourseError(f"fps={fps} is out of range: use more than 0 and at most 30 (a webcam delivers 30).")
            if max_in_flight not in (1, 2):
                raise CourseError(f"max_in_flight={max_in_flight}: use 1 (lowest latency) or 2 (more fps on a slow link).")
            if not (0.1 <= quality <= 1.0):
                raise CourseError(f"quality={quality}: use a JPEG quality between 0.1 and 1.0 (default 0.8).")
            if close_others:
                close_all()  # a camera made by an earlier run of the cell must not keep streaming
            super().__init__(cam_id=uuid.uuid4().hex, width=int(width), height=int(height), fps=float(fps),
                             max_in_flight=int(max_in_flight), quality=float(quality), title=title)
            self.processor = processor
            self.on_start = on_start
            self.on_stop = on_stop
            self.readout_fn = readout
            self.stats = LoopStats()
            self.error: str | None = None
            self.error_kind: str | None = None
            self.message = "press Start camera in the widget"
            self.camera_label = ""
            self.camera_fps: float | None = None  # the rate the browser's camera delivers (from its track settings)
            self.tracks_ended: bool | None = None
            self._last_seq = 0
            self._page_began = False
            self._last_readout = 0.0
            self._closed = False
            self.on_msg(self._on_custom)
            self.observe(self._on_active, names="active")
            _CAMERAS[self.cam_id] = self

        # -- kernel API
        def start(self) -> "BrowserCamera":
            """Ask the page for the camera (the same as pressing Start camera); returns self."""
            if self._closed:
                raise CourseError("this camera widget was closed (a newer one replaced it): use the newest one.")
            self.active = True
            return self

        def stop(self) -> None:
            """End the stream: the page stops the camera track, the kernel handles no more frames."""
            if self.active:
                self.active = False  # the page sees the change and stops the track
            else:
                self._finish("stopped by the kernel")
            if not self._closed:
                self.send({"type": "stop"})

        _closed = False  # until __init__ has run (ipywidgets may call close() from __del__ of a half-made widget)

        def close(self) -> None:
            """Stop the camera and close the widget (its comm); safe to call twice."""
            if self._closed or not hasattr(self, "stats"):
                super().close()
                return
            self.stop()
            self._closed = True
            _CAMERAS.pop(self.cam_id, None)
            super().close()

        @property
        def running(self) -> bool:
            """True while the kernel accepts frames (after Start, before Stop or an error)."""
            return self.active and self.state in ("starting", "running")

        def check(self) -> None:
            """Raise the page's camera error as a CourseError (what went wrong and what to do), if there was one."""
            if self.error:
                raise CourseError(self.error)

        def handle_message(self, content: dict[str, Any], buffers: list | None = None) -> dict[str, Any] | None:
            """Handle one message from the page; return the reply sent (frames) or None. Tests call this directly."""
            kind = content.get("type") if isinstance(content, dict) else None
            if kind == "frame":
                return self._on_frame(content, buffers or [])
            if kind == "started":
                self.camera_label = str(content.get("label") or "camera")
                fps = content.get("fps")
                self.camera_fps = float(fps) if isinstance(fps, (int, float)) and fps > 0 else None
                self.state = "running"
                self.error = self.error_kind = None
                self.tracks_ended = False
                self.message = (f"camera on: {self.camera_label} {content.get('width')}x{content.get('height')} "
                                f"in the browser")
                self.status = self.message
                if self.on_start is not None:
                    self.on_start(self)
            elif kind == "stopped":
                self.tracks_ended = bool(content.get("tracks_ended"))
                if self.active:
                    self.active = False  # Stop pressed in the page: the observer finishes the kernel side
                else:
                    self._finish("stopped")
            elif kind == "start":  # Start clicked in the page: sent before its state update, which ipywidgets
                self._page_began = True  # may hold back, while an error message right after it is not held back
                self._begin()
            elif kind == "error":
                self._fail(str(content.get("kind") or "failed"), str(content.get("message") or "the camera failed."))
            return None

        # -- internals
        def _on_custom(self, _widget: Any, content: dict, buffers: list) -> None:
            try:
                self.handle_message(content, buffers)
            except Exception as exc:  # a handler error must not kill the comm: show it, stop the camera
                log.exception("browser camera handler failed")
                self._fail("kernel", f"{type(exc).__name__}: {exc}")
                self.stop()

        def _begin(self) -> None:
            """A new start: forget the last error and the counts; the page is asked for the camera."""
            self.stats.reset()
            self._last_seq = 0
            self.error = self.error_kind = None
            self.state = "starting"
            self.status = "starting the camera in the browser ..."
            self.message = self.status

        def _on_active(self, change: dict) -> None:
            if change["new"]:
                for other in list(_CAMERAS.values()):  # one camera streams at a time in this kernel
                    if other is not self and other.active:
                        other.stop()
                if self._page_began:  # the page's Start click already began this attempt (its "start" message)
                    self._page_began = False
                    if self.state == "error":  # ... and its error came before this state update: keep the error
                        self.active = False
                else:  # started from the kernel (``start()``), or by a page that sent no "start"
                    self._begin()
            else:
                self._page_began = False  # a click whose state update never came must not mark a later start
                self._finish("stopped")

        def _finish(self, why: str) -> None:
            if self.state in ("starting", "running"):
                self.state = "stopped"
                s = self.stats.summary()
                rate = f" ({s['fps']:.1f} fps, latency {s['latency_ms_median']:.0f} ms median)" if s["frames"] else ""
                self.message = f"camera {why} after {s['frames']} frames" + rate
                self.status = self.message
                if self.on_stop is not None:
                    try:
                        self.on_stop(self)
                    except Exception as exc:  # show it; the camera is stopped all the same
                        self._fail("kernel", f"{type(exc).__name__} when stopping: {exc}")

        def _fail(self, kind: str, message: str) -> None:
            self.error_kind = kind if kind in ERROR_KINDS else "failed"
            self.error = message
            self.message = f"camera error ({self.error_kind}): {message}"
            log.warning(self.message)
            was_running = self.state in ("starting", "running")
            self.state = "error"
            self.status = f"<b style='color:#b71c1c'>camera error:</b> {message}"
            if was_running and self.on_stop is not None:
                try:
                    self.on_stop(self)
                except Exception:
                    log.exception("on_stop failed after a camera error")
            if self.active:
                self.active = False

        def _reply(self, content: dict[str, Any], buffers: list[bytes] | None = None) -> dict[str, Any]:
            if not self._closed:
                self.send(content, buffers)
            return content

        def _on_frame(self, content: dict[str, Any], buffers: list) -> dict[str, Any]:
            seq = int(content.get("seq", 0))
            reply = {"type": "skip", "seq": seq, "t": content.get("t", 0)}
            self.stats.add_page_report(content.get("latency_ms"), content.get("shown_fps"), content.get("inflight"))
            if not self.active or self.state not in ("starting", "running"):
                self.stats.skipped += 1
                return self._reply({**reply, "why": "stopped"})
            if seq <= self._last_seq:  # out of order or repeated: a newer frame was already answered
                self.stats.skipped += 1
                return self._reply({**reply, "why": "stale"})
            self._last_seq = seq
            if self.state == "starting":
                self.state = "running"
            if not buffers:
                self.stats.skipped += 1
                return self._reply({**reply, "why": "no data"})
            tick = time.perf_counter()
            try:
                frame = decode_jpeg(buffers[0])
                self.decode_ms = (time.perf_counter() - tick) * 1000
                out = self.processor(frame) if self.processor is not None else None
                jpg = encode_jpeg(frame if out is None else out, int(round(self.quality * 100)))
            except Exception as exc:
                self.stats.skipped += 1
                self._reply({**reply, "why": "error"})
                raise exc if isinstance(exc, CourseError) else CourseError(
                    f"the frame processor failed on a browser frame ({type(exc).__name__}: {exc}); fix it and "
                    "press Start again.") from exc
            now = time.perf_counter()
            self.stats.add_frame(now, (now - tick) * 1000)
            if now - self._last_readout > 0.25:
                self._last_readout = now
                self.readout = self.readout_fn(self) if self.readout_fn is not None else self.default_readout()
            return self._reply({"type": "result", "seq": seq, "t": content.get("t", 0)}, [jpg])

        def default_readout(self) -> str:
            """``<code>`` line: frames per second, end-to-end latency, kernel ms per frame."""
            s = self.stats.summary()
            lat = s["latency_ms_median"]
            cap = min(self.fps, self.camera_fps) if self.camera_fps else self.fps
            return (f"<code>{s['fps']:.1f} fps through the kernel (the camera sends at most {cap:.0f}) &nbsp; latency "
                    f"{'-' if lat != lat else f'{lat:.0f}'} ms (captured in the page &rarr; annotated frame shown) &nbsp; "
                    f"kernel {s['kernel_ms']:.1f} ms/frame</code>")
else:  # pragma: no cover
    class BrowserCamera:  # type: ignore[no-redef]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            _require_anywidget()


# --------------------------------------------------------------------------- notebook 06: the live demo

def live_demo(pipeline: Any, width: int = 640, height: int = 360, fps: float = 30.0, *,
              max_in_flight: int = 2) -> BrowserCamera:
    """Notebook 06's live pipeline on the browser's camera: a widget showing the annotated frames.

    ``pipeline`` is a ``helpers.live.LivePipeline`` (anything with ``process(frame) -> (image, faces)``
    and a ``timer`` with ``add(stage, ms)``/``summary()``/``stages``). Each browser frame goes through
    ``pipeline.process`` in the kernel (the JPEG decode is timed as its ``read`` stage); the readout shows the
    frames per second, the end-to-end latency and the ms of every stage. Press Start camera.

    ``max_in_flight=2`` (the default here) lets the page capture and send the next frame while the kernel
    works on the last one: more frames per second, and a hold-up in the page or the kernel does not stop
    the loop. With 1 in flight each frame waits less (lower latency), but any hold-up stalls the whole
    loop; use 1 when latency matters more (``make browser-test`` measures both).
    """
    _require_anywidget()
    if not hasattr(pipeline, "process"):
        raise CourseError(f"{type(pipeline).__name__} has no process(frame): pass a helpers.live.LivePipeline.")
    timer = getattr(pipeline, "timer", None)
    holder: dict[str, BrowserCamera] = {}

    def process(frame: np.ndarray) -> np.ndarray:
        if timer is not None and "read" in getattr(timer, "stages", ()):
            timer.add("read", getattr(holder["cam"], "decode_ms", 0.0))
        out, _faces = pipeline.process(frame)
        return out

    def readout(cam: BrowserCamera) -> str:
        line = cam.default_readout()
        if timer is None:
            return line
        s = timer.summary()
        stages = " &nbsp; ".join(f"{k} {s[k]:.1f}" for k in timer.stages)
        return line + f"<br><code>per stage (ms): {stages} &nbsp; (read = JPEG decode)</code>"

    def on_start(cam: BrowserCamera) -> None:
        if hasattr(pipeline, "reset"):
            pipeline.reset()  # a new stream: forget the faces and timings of the last one

    cam = BrowserCamera(process, width=width, height=height, fps=fps, max_in_flight=max_in_flight,
                        title=getattr(pipeline, "banner", ""), on_start=on_start, readout=readout)
    holder["cam"] = cam
    cam.pipeline = pipeline
    return cam


# --------------------------------------------------------------------------- notebook 01: record yourself

def record(name: str, seconds: float = 10.0, width: int = 640, height: int = 360, fps: float = 30.0,
           max_in_flight: int = 2) -> BrowserCamera:
    """A widget that records ``seconds`` of the browser's camera to :func:`recording_path` (``name``).

    Press Start camera; the widget shows the frames (with a REC counter), stops by itself when done and
    says where the file is. Then run the next cell: :func:`helpers.browser_io.recording` finds the file.
    """
    _require_anywidget()
    path = recording_path(name)
    state: dict[str, Recorder | None] = {"rec": None}

    def on_start(cam: BrowserCamera) -> None:
        state["rec"] = Recorder(path, seconds, fps)

    def process(frame: np.ndarray) -> np.ndarray:
        rec = state["rec"]
        if rec is None:
            return frame
        done = rec.add(frame)
        shown_frame = frame.copy()
        left = max(0.0, seconds - (time.perf_counter() - (rec.t0 or 0)))
        cv2.circle(shown_frame, (18, 18), 8, (0, 0, 255), -1)
        cv2.putText(shown_frame, f"REC {left:4.1f} s", (32, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 255), 2, cv2.LINE_AA)
        if done:
            cam.stop()
        return shown_frame

    def on_stop(cam: BrowserCamera) -> None:
        rec = state["rec"]
        if rec is None:
            return
        out = rec.finish()
        if out is not None and rec.written >= 0.9 * seconds * fps:
            cam.status = (f"recorded {rec.written / fps:.1f} s ({rec.received} camera frames) to {shown(out)}: "
                          "now run the next cell")
        elif out is not None:
            cam.status = (f"stopped early: {rec.written / fps:.1f} s ({rec.received} camera frames) saved to {shown(out)}. "
                          "Press Start camera to record again, or run the next cell to use it")
        else:
            cam.status = "nothing was recorded: press Start camera and wait for the REC counter"
        cam.message = cam.status

    cam = BrowserCamera(process, width=width, height=height, fps=fps, max_in_flight=max_in_flight,
                        title=f"record {seconds:g} s as {name!r}", on_start=on_start, on_stop=on_stop)
    return cam


def report(cam: "BrowserCamera | None") -> str:
    """The browser loop's measured fps and end-to-end latency as one printable paragraph (notebook 06)."""
    if cam is None:
        return 'SOURCE is not "browser": no browser-camera measurement (set SOURCE = "browser" to get one).'
    s = cam.stats.summary()
    if not s["frames"]:
        return ("no browser frames yet: press Start camera above, let it run for a few seconds, press Stop, then run "
                "this cell again. " + (f"Camera: {cam.message}" if cam.message else ""))
    return (f"browser camera {cam.width}x{cam.height}, requested {cam.fps:g} fps, at most {cam.max_in_flight} frame(s) in "
            f"flight: {s['fps']:.1f} fps through the kernel ({s['shown_fps']:.1f} fps shown in the page), latency "
            f"{s['latency_ms_median']:.0f} ms median / {s['latency_ms_p95']:.0f} ms 95th percentile (captured in the page "
            f"-> annotated frame shown), kernel {s['kernel_ms']:.1f} ms per frame (decode + pipeline + encode); "
            f"{s['frames']} frames in the last window, {s['skipped']} skipped.")
