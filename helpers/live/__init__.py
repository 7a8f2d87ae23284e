"""The live demo (notebook 06): frames -> faces -> 68 landmarks -> emotion -> emoji overlay, fast and stoppable.

One module per role; everything a notebook or test uses is re-exported here (``from helpers import live; live.X``):

- :mod:`.models` loads the landmark and emotion models once (dlib or the course CNN; the peer or the course CNN).
- :mod:`.pipeline` is the per-frame work (its timings: :mod:`.timer`): :class:`LiveConfig` and
  :class:`LivePipeline` (detect every N frames, track with the landmarks in between, emotion, overlay);
  :mod:`.tracks` holds the face tracks (:class:`Track`) and how a box follows the points between detections;
  :mod:`.detection` runs the detector beside the loop, :mod:`.smoothing` filters the points (One-Euro),
  :mod:`.overlay` draws the result; :mod:`.predictor_process` finds a share of a group's points in a second process,
  and the detector's faces in a third, at the lowest priority.
- :mod:`.runner` reads frames (:class:`FrameSource`, with the webcam -> sample-video fallback, or any object
  with the frame-source interface documented there) and runs a pipeline in a background thread
  (:class:`LiveRunner`, whose ``stop()`` always ends the loop and releases the camera) or headless
  (:func:`run_headless`).
- :mod:`.ui` is the ipywidgets app (:class:`LiveApp`) on top of the runner.
- :mod:`.experiments` holds the measurements of notebook 06 and :func:`benchmark`
  (``python -m helpers.bench live``); :mod:`.costs` what the landmark stage costs next to its model;
  :mod:`.cuts` how fast the tracks recover from a cut; :mod:`.original` the original project's loop and why it was slow;
  :mod:`.plots` the notebook's figures and tables of those measurements.
- ``python -m helpers.live`` (:mod:`.__main__`) opens an OpenCV window (``q`` or Esc quits) or, with
  ``--output``, writes an annotated video.
"""
from __future__ import annotations

from .costs import NO_THREADS, group_frame, landmark_cost, profile_landmarks, two_thread_speedup
from .cuts import cut_recovery, spliced_clip
from .experiments import (BEFORE, TARGETS, before_after, benchmark, compare_models, emotion_cadence, emotion_trace,
                          label_flips_per_second,
                          points_trace, smoothing_tradeoff, tracking_tradeoff, weights_cost)
from .models import (EMOTION_BACKENDS, EMOTION_MODELS, LANDMARK_MODELS, DlibLandmarker, LiteEmotion, align_face,
                     load_emotion, load_landmarker)
from .original import baseline_model, memory_per_call, original_loop, predict_vs_call
from .overlay import draw_overlay
from .pipeline import LiveConfig, LivePipeline
from .plots import (before_after_plot, before_after_table, emotion_trace_plot, recovery_plot, recovery_table,
                    smoothing_plot, smoothing_table, tracking_tradeoff_plot)
from .timer import STAGES, StageTimer
from .predictor_process import DetectorProcess, PredictorProcess, close_shared, shared_detector, shared_process
from .runner import (FrameSource, LiveRunner, RunReport, StillSource, as_frame_source, iter_annotated, rss_mb,
                     run_headless, stop_all)
from .smoothing import OneEuroFilter, jitter_and_lag
from .tracks import Track
from .ui import LiveApp


def main(argv: list[str] | None = None) -> int:
    """The command line (``python -m helpers.live``); see :mod:`helpers.live.__main__`."""
    from .__main__ import main as _main  # imported on call: ``python -m helpers.live`` runs that module itself
    return _main(argv)


__all__ = ["BEFORE", "EMOTION_BACKENDS", "EMOTION_MODELS", "LANDMARK_MODELS", "NO_THREADS", "STAGES", "TARGETS",
           "align_face", "as_frame_source", "baseline_model", "before_after", "before_after_plot", "before_after_table",
           "benchmark", "close_shared", "emotion_trace_plot", "recovery_plot", "recovery_table", "smoothing_plot",
           "smoothing_table", "tracking_tradeoff_plot",
           "compare_models", "cut_recovery", "DetectorProcess", "DlibLandmarker", "draw_overlay", "emotion_cadence",
           "emotion_trace", "FrameSource",
           "group_frame", "iter_annotated", "jitter_and_lag", "label_flips_per_second", "landmark_cost", "LiteEmotion",
           "LiveApp", "LiveConfig", "LivePipeline", "LiveRunner", "load_emotion", "load_landmarker", "main",
           "memory_per_call", "OneEuroFilter", "original_loop", "points_trace", "predict_vs_call", "PredictorProcess",
           "profile_landmarks", "rss_mb", "run_headless", "RunReport", "shared_detector", "shared_process",
           "smoothing_tradeoff",
           "spliced_clip", "StageTimer", "StillSource", "stop_all", "Track", "tracking_tradeoff", "two_thread_speedup",
           "weights_cost"]
