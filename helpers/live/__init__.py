"""The live demo (notebook 06): frames -> faces -> 68 landmarks -> emotion -> emoji overlay, fast and stoppable.

One module per role; everything a notebook or test uses is re-exported here (``from helpers import live; live.X``):

- :mod:`.models` loads the landmark and emotion models once (dlib or the course CNN; the peer or the course CNN).
- :mod:`.pipeline` is the per-frame work: the stage timer, face tracks, :class:`LiveConfig` and
  :class:`LivePipeline` (detect every N frames, track with the landmarks in between, emotion, overlay);
  :mod:`.overlay` draws the result.
- :mod:`.runner` reads frames (:class:`FrameSource`, with the webcam -> sample-video fallback, or any object
  with the frame-source interface documented there) and runs a pipeline in a background thread
  (:class:`LiveRunner`, whose ``stop()`` always ends the loop and releases the camera) or headless
  (:func:`run_headless`).
- :mod:`.ui` is the ipywidgets app (:class:`LiveApp`) on top of the runner.
- :mod:`.experiments` holds the measurements of notebook 06 and :func:`benchmark`
  (``python -m helpers.bench live``), including the original project's loop.
- ``python -m helpers.live`` (:mod:`.__main__`) opens an OpenCV window (``q`` or Esc quits) or, with
  ``--output``, writes an annotated video.
"""
from __future__ import annotations

from .experiments import (baseline_model, benchmark, emotion_trace, label_flips_per_second, memory_per_call,
                          original_loop, predict_vs_call, tracking_tradeoff)
from .models import EMOTION_MODELS, LANDMARK_MODELS, DlibLandmarker, align_face, load_emotion, load_landmarker
from .overlay import draw_overlay
from .pipeline import STAGES, LiveConfig, LivePipeline, StageTimer, Track
from .runner import (FrameSource, LiveRunner, RunReport, as_frame_source, iter_annotated, rss_mb,
                     run_headless, stop_all)
from .ui import LiveApp


def main(argv: list[str] | None = None) -> int:
    """The command line (``python -m helpers.live``); see :mod:`helpers.live.__main__`."""
    from .__main__ import main as _main  # imported on call: ``python -m helpers.live`` runs that module itself
    return _main(argv)


__all__ = ["EMOTION_MODELS", "LANDMARK_MODELS", "STAGES", "DlibLandmarker", "FrameSource", "LiveApp", "LiveConfig",
           "LivePipeline", "LiveRunner", "RunReport", "StageTimer", "Track", "align_face", "as_frame_source",
           "baseline_model", "benchmark", "draw_overlay", "emotion_trace", "iter_annotated", "label_flips_per_second",
           "load_emotion", "load_landmarker", "main", "memory_per_call", "original_loop", "predict_vs_call", "rss_mb",
           "run_headless", "stop_all", "tracking_tradeoff"]
