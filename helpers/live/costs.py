"""What the live loop's landmark stage costs next to the model it runs, and whether dlib's calls can run in parallel.

:func:`landmark_cost` times dlib's predictor alone (a tight loop), the same predictor inside the running pipeline,
and the whole landmarks stage per face, for one face (the sample video) and four (the group photo at 1280 px):
the stage minus the predictor is the pipeline's own overhead; the predictor inside the loop minus the predictor
alone is what the rest of the loop costs the model (the other stages evict its trees and the frame from the CPU's
caches). :func:`profile_landmarks` splits the stage by function with Python's profiler. :func:`two_thread_speedup`
says whether a call releases Python's GIL.
"""
from __future__ import annotations

import cProfile
import itertools
import pstats
from collections.abc import Callable

import cv2
import numpy as np

from ..data import fetch
from ..landmarks import detect_faces, load_models, predict_points, to_gray
from ..timing import latency_ms
from ..video import read_image
from .pipeline import LivePipeline
from .runner import FrameSource, StillSource, run_headless

NO_THREADS: dict = {"detect_async": False, "prefetch": False, "emotion_async": False}
"""The pipeline with no threads of its own: detection, reading and emotion all in the frame loop."""


def group_frame(width: int = 1280) -> np.ndarray:
    """The course's group photo (``multi_face``), scaled to ``width`` px wide: 'friends in front of a webcam'."""
    image = read_image(fetch("multi_face"))
    f = width / image.shape[1]
    return cv2.resize(image, None, fx=f, fy=f, interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR)


def _predictor_alone(grays: list[np.ndarray], boxes: list[tuple[int, int, int, int]], flush: bool = False) -> float:
    """Median ms of dlib's predictor by itself, in a tight loop over (frame, box) pairs.

    ``flush``: before each call, write 32 MB of memory (not timed), which pushes the predictor's trees and the frame
    out of the CPU's caches: the predictor as it runs when other work comes between its calls.
    """
    import dlib
    _, predictor = load_models()
    pairs = itertools.cycle([(g, dlib.rectangle(*b)) for g in grays for b in boxes])
    sweep = np.zeros(32 * 2**20, np.uint8) if flush else None
    job: list = []

    def next_job() -> None:
        job[:] = next(pairs)
        if sweep is not None:
            np.add(sweep, 1, out=sweep)

    return latency_ms(lambda: predictor(*job), repeats=300, warmup=30, before=next_job)


def _probe_inputs() -> tuple[list[np.ndarray], tuple, np.ndarray, np.ndarray, list]:
    """What the predictor is timed on: 30 grey frames of the sample video and its face box; the group photo at
    1280 px, grey, and its four face boxes."""
    with FrameSource("sample", loop=True) as src:
        grays = [to_gray(src.read()) for _ in range(30)]
    group = group_frame()
    group_gray = to_gray(group)
    return grays, detect_faces(grays[0])[0][0], group, group_gray, [b for b, _ in detect_faces(group_gray)][:4]


def predictor_probe(inputs: tuple | None = None) -> Callable[[], dict[str, float]]:
    """A timer of dlib's predictor alone: ``probe()`` -> ``{"one": ms, "group": ms}`` (median ms per call, on the
    sample video's face and on the four faces of :func:`group_frame`), a second or so per call.

    Run it right before and right after a measured run and compare the run with the mean: a ratio of two things
    timed minutes apart measures the shared machine's change of speed in between as much as the code. ``inputs``:
    what :func:`_probe_inputs` returns, if already made.
    """
    grays, box, _, group_gray, group_boxes = inputs or _probe_inputs()
    return lambda: {"one": _predictor_alone(grays, [box]), "group": _predictor_alone([group_gray], group_boxes)}


def around(before: dict[str, float], middle: dict[str, float], after: dict[str, float]) -> tuple[float, float]:
    """The predictor alone around a one-face run and the group run after it: (mean of the one-face probes before and
    after the first run, mean of the group probes before and after the second), from three :func:`predictor_probe` calls."""
    return (before["one"] + middle["one"]) / 2, (middle["group"] + after["group"]) / 2


def _stage(source, frames: int, warmup: int, **config) -> dict[str, float]:
    """One pipeline run with dlib's landmarker: the landmarks stage per face and the predictor's own ms per call in it."""
    with LivePipeline(draw_points=False, draw_emoji=False, **{**config, "landmarks": "dlib"}) as pipe:
        lm = pipe.landmarker
        calls, ms = lm.calls, lm.ms
        report = run_headless(pipe, source, frames, keep=0, warmup=warmup)
        inside = (lm.ms - ms) / max(1, lm.calls - calls)
    return {"stage": report.stage_ms["landmarks"] / max(report.faces_per_frame, 1e-9), "inside": inside,
            "faces": report.faces_per_frame}


def landmark_cost(frames: int = 300, group_frames: int | None = None, **config) -> dict:
    """The landmarks stage per face in the pipeline vs dlib's predictor, one face and four, in one run (ms).

    - ``predictor_ms``: the predictor by itself, median of a tight loop over frames of the sample video (its face),
      timed right before and right after the one-face stage run (their mean, :func:`predictor_probe`);
      ``predict_points_ms``: with the conversion of the 68 points to NumPy; ``predictor_ms_group``: the same tight
      loop over the four faces of :func:`group_frame`, right before and after the group's stage run.
    - ``stage_ms_per_face``: the pipeline's landmarks stage (box from the last points, predictor, conversion, the
      motion check, the filter) per face, on the sample video with ``config``; ``predictor_in_loop_ms``: the
      predictor's own time per call inside that run; ``stage_ms_per_face_no_threads``: the stage with the pipeline's
      threads off (:data:`NO_THREADS`).
    - ``*_group``: the same on the group photo as a stream (``group_frames``, default ``frames // 2``); there, with
      ``landmark_process`` on (the default), half of the faces get their points in the second process beside the
      loop, so ``predictor_in_loop_ms_group`` is the loop's own calls only; ``stage_ms_per_face_group_no_process``:
      the group's stage with every face found in the loop.
    - ``stage_over_predictor`` (and ``_group``): stage / predictor alone, the figure the live benchmark's target is
      on; ``fps_ceiling_one_face`` / ``fps_ceiling_four_faces``: what the predictor alone allows (1000 / its ms, per
      face; four faces: the group's faces).
    - ``predictor_flushed_ms``: the predictor alone with the CPU's caches flushed before each call: if it comes close
      to ``predictor_in_loop_ms``, the predictor is slower in the loop because the other stages push its data out of
      the caches between its calls, not because of anything the stage adds.
    The stage on a dlib landmarker only (the course CNN has no predictor to compare with).
    """
    inputs = _probe_inputs()
    grays, box, group = inputs[:3]
    probe = predictor_probe(inputs)
    full = latency_ms(lambda: predict_points(grays[0], box), repeats=300, warmup=30)
    flushed = _predictor_alone(grays, [box], flush=True)
    first = probe()
    one = _stage("sample", frames, 20, **config)
    middle = probe()
    grp = _stage(StillSource(group, message="group photo"), group_frames or max(50, frames // 2), 10, **config)
    last = probe()
    alone, alone_group = around(first, middle, last)
    bare = _stage("sample", frames, 20, **{**config, **NO_THREADS})
    grp_alone = _stage(StillSource(group, message="group photo"), group_frames or max(50, frames // 2), 10,
                       **{**config, "landmark_process": False})
    return {"predictor_ms": round(alone, 3), "predict_points_ms": round(full, 3),
            "predictor_ms_group": round(alone_group, 3), "predictor_flushed_ms": round(flushed, 3),
            "stage_ms_per_face": round(one["stage"], 3), "predictor_in_loop_ms": round(one["inside"], 3),
            "stage_ms_per_face_no_threads": round(bare["stage"], 3),
            "stage_ms_per_face_group": round(grp["stage"], 3), "predictor_in_loop_ms_group": round(grp["inside"], 3),
            "stage_ms_per_face_group_no_process": round(grp_alone["stage"], 3),
            "group_faces": round(grp["faces"], 2),
            "stage_over_predictor": round(one["stage"] / alone, 2),
            "stage_over_predictor_group": round(grp["stage"] / alone_group, 2),
            "stage_over_flushed_predictor": round(one["stage"] / flushed, 2),
            "fps_ceiling_one_face": round(1000 / alone, 1), "fps_ceiling_four_faces": round(1000 / (4 * alone_group), 1)}


PROFILED = {"predictor (dlib)": "predict_points", "points to NumPy": "shape_to_array", "box from points": "box_from_points",
            "motion check": "points_motion", "One-Euro filter": "__call__", "box kept relative to points": "relative_box"}
"""The parts of the landmarks stage :func:`profile_landmarks` reports, by the function that does each."""


def profile_landmarks(frames: int = 200, **config) -> dict[str, float]:
    """The landmarks stage split by function: ms per frame of each part in :data:`PROFILED`, the stage and the rest.

    The pipeline runs on the sample video with its threads off (:data:`NO_THREADS`: the profiler sees the frame loop
    only) under :mod:`cProfile`, which adds its own cost to every Python call: read the split, not the totals. "rest"
    is the stage's time outside the named functions (the loop over faces, bounds checks, attribute look-ups).
    """
    pipe = LivePipeline(draw_points=False, draw_emoji=False, **{**config, **NO_THREADS, "landmarks": "dlib"})
    with FrameSource("sample", loop=True) as src:
        images = [src.read().copy() for _ in range(min(frames, 60))]
    for image in images[:5]:
        pipe.process(image)  # warm up outside the profile
    prof = cProfile.Profile()
    prof.enable()
    for i in range(frames):
        pipe.process(images[i % len(images)])
    prof.disable()
    pipe.close()
    stats = pstats.Stats(prof).stats  # (file, line, function) -> (calls, calls, own seconds, cumulative seconds, callers)
    cumulative = {}
    for (file, _, func), (_, _, _, cum, _) in stats.items():
        if func == "_landmarks" and file.endswith("pipeline.py"):
            cumulative["stage"] = cum
        for part, name in PROFILED.items():
            if func == name and (name != "__call__" or file.endswith("smoothing.py")):
                cumulative[part] = cumulative.get(part, 0.0) + cum
    named = sum(v for k, v in cumulative.items() if k not in ("stage", "points to NumPy"))  # NumPy part is inside predict
    out = {k: round(1000 * cumulative.get(k, 0.0) / frames, 3) for k in ("stage", *PROFILED)}
    out["rest"] = round(1000 * (cumulative.get("stage", 0.0) - named) / frames, 3)
    return out


def two_thread_speedup(calls: int = 200, rounds: int = 5) -> dict[str, float]:
    """How much faster two Python threads get through dlib's predictor and detector calls than one thread.

    About 2 on a 2-core machine means the call releases Python's GIL (it can run beside the frame
    loop); about 1 means it holds the GIL (a second thread waits). Measured on a sample frame, one thread and then
    two threads in turn, ``rounds`` times; the median of the rounds' ratios (one round's time moves by tens of
    percent on a shared machine): ``{"predictor": x, "detector": y}``.
    """
    import threading
    import time
    import dlib
    detector, predictor = load_models()
    with FrameSource("sample") as src:
        gray = to_gray(src.read())
    rect = dlib.rectangle(*detect_faces(gray)[0][0])
    detectors = [detector, dlib.get_frontal_face_detector()]  # one each: a detector keeps per-call state
    jobs = {"predictor": (lambda k: predictor(gray, rect), calls),
            "detector": (lambda k: detectors[k](gray, 0), max(4, calls // 40))}
    out = {}
    for name, (call, n) in jobs.items():
        call(0)

        def work(k: int = 0) -> None:
            for _ in range(n):
                call(k)
        ratios = []
        for _ in range(max(1, rounds)):
            t0 = time.perf_counter()
            work()
            one = time.perf_counter() - t0
            threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            ratios.append(2 * one / (time.perf_counter() - t0))
        out[name] = round(float(np.median(ratios)), 2)
    return out


