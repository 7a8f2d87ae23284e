"""Measurements behind notebook 06 and ``python -m helpers.bench live``; not needed to run the demo.

The tracking trade-off (detect every N frames), the emotion trace and label flips, the landmark
filter's jitter/lag trade-off, the speed-ups before/after stage by stage, and :func:`benchmark`.
The original project's loop is in :mod:`.original`.
"""
from __future__ import annotations


import numpy as np

from ..errors import CourseError
from ..labels import EMOTIONS
from ..landmarks import inter_ocular
from ..machine import machine_info
from ..video import Source
from .original import baseline_model, original_loop
from .pipeline import LiveConfig, LivePipeline
from .timer import STAGES
from .costs import around, group_frame, landmark_cost, predictor_probe, two_thread_speedup
from .cuts import cut_recovery
from .runner import FrameSource, RunReport, StillSource, iter_annotated, run_headless
from .smoothing import OneEuroFilter, jitter_and_lag


def tracking_tradeoff(source: Source = "sample", frames: int = 150, every: tuple[int, ...] = (1, 3, 5, 10, 20),
                      **config) -> list[dict]:
    """Detect every N frames vs every frame: ms per frame and how far the tracked points drift.

    All pipelines see the same frames in lock-step, detecting inline (not in the worker thread) and
    without the landmark filter, so only the tracking differs; ``config`` sets the other knobs.
    ``drift`` is the mean distance between each pipeline's points and those of the detect-every-frame
    pipeline, divided by the distance between the outer eye corners (so 0.02 = 2% of the eye
    distance). Returns one dict per N.
    """
    every = tuple(sorted(set((1,) + tuple(every))))
    config = {"draw_points": False, "draw_emoji": False, **config, "detect_policy": "interval",
              "detect_async": False, "filter_points": False}  # detection on its own frame, raw points: lock-step
    pipes = {n: LivePipeline(detect_every=n, **config) for n in every}
    drift = {n: [] for n in every}
    ms = {n: 0.0 for n in every}
    detect_ms = {n: 0.0 for n in every}
    faces = {n: 0 for n in every}
    with FrameSource(source, loop=True) as src:
        for i in range(frames):
            image = src.read()
            if image is None:
                break
            image = image.copy()
            for n, pipe in pipes.items():
                pipe.process(image)
                if i >= 2:  # skip the slow first calls
                    row = pipe.timer.last()
                    ms[n] += float(row.sum())
                    detect_ms[n] += float(row[STAGES.index("detect")])
                faces[n] += len(pipe.tracks)
            ref = pipes[1].tracks
            if len(ref) == 1:
                r = ref[0].points
                eye = float(inter_ocular(r))
                for n in every:
                    if len(pipes[n].tracks) == 1:
                        drift[n].append(float(np.linalg.norm(pipes[n].tracks[0].points - r, axis=1).mean()) / eye)
    timed = max(1, frames - 2)
    return [{"detect_every": n, "ms_per_frame": ms[n] / timed, "detect_ms": detect_ms[n] / timed,
             "fps_pipeline": 1000 * timed / ms[n] if ms[n] else 0.0, "faces_per_frame": faces[n] / frames,
             "drift": float(np.mean(drift[n])) if drift[n] else float("nan"),
             "drift_p95": float(np.percentile(drift[n], 95)) if drift[n] else float("nan")} for n in every]


def emotion_trace(source: Source = "sample", frames: int | None = None, smooth: int = 8, **config) -> dict:
    """The largest face's emotion over a video, raw (each frame's own prediction) and smoothed over ``smooth``.

    Returns ``{"t": (T,) seconds, "raw": (T, 7), "smoothed": (T, 7), "fps": video fps}``; rows are NaN
    on frames without a face. ``frames=None`` reads the whole file once (no loop). The emotion model runs in the loop
    on every frame (``emotion_async=False``, ``emotion_every=1`` unless ``config`` says otherwise), so each row is that
    frame's own prediction; the detector runs in the loop (``detect_async=False``), so two runs with the same settings
    give the same rows (a detection beside the loop lands when the machine lets it, which moves the points a little).
    """
    pipe = LivePipeline(smooth=smooth, draw_points=False, draw_emoji=False,
                        **{"emotion_async": False, "emotion_every": 1, "detect_async": False, **config})
    raw, smoothed = [], []
    with FrameSource(source, loop=False) as src:
        fps = src.fps
        for _ in iter_annotated(pipe, src, frames):
            if pipe.tracks and pipe.tracks[0].count:
                t = pipe.tracks[0]
                raw.append(t.history[(t.count - 1) % len(t.history)].copy())
                smoothed.append(t.probs.copy())
            else:
                raw.append(np.full(len(EMOTIONS), np.nan, np.float32))
                smoothed.append(raw[-1])
    n = len(raw)
    if n == 0:
        raise CourseError("the source delivered no frames.")
    return {"t": np.arange(n) / fps, "raw": np.array(raw), "smoothed": np.array(smoothed), "fps": fps}


def label_flips_per_second(probs: np.ndarray, fps: float) -> float:
    """How often the top emotion changes, per second of video (frames without a face are skipped)."""
    ok = ~np.isnan(probs).any(axis=1)
    labels = np.argmax(probs[ok], axis=1)
    return float((labels[1:] != labels[:-1]).sum() / (len(probs) / fps)) if len(labels) > 1 else 0.0


def emotion_cadence(source: Source = "sample", every: int = 2, smooth: int = 8, reference: dict | None = None,
                    **config) -> dict:
    """The shown emotion with the model run on every frame and on every ``every``-th: does it change?

    Both runs average the predictions of the last ``smooth`` frames (with ``every`` > 1 that is fewer predictions).
    ``reference`` is an :func:`emotion_trace` of the same source run on every frame, if already made. Returns the
    share of frames (with a face in both) whose shown label is the same, how far the shown probabilities differ (mean
    and largest), and label changes per second of each run (``flips_per_second``: every frame, every ``every``-th).
    Both runs are repeatable (see :func:`emotion_trace`), so what differs is the cadence alone.
    """
    ref = reference if reference is not None else emotion_trace(source, smooth=smooth, **config)
    sparse = emotion_trace(source, smooth=smooth, **{**config, "emotion_every": every})
    n = min(len(ref["smoothed"]), len(sparse["smoothed"]))
    a, b = ref["smoothed"][:n], sparse["smoothed"][:n]
    ok = ~(np.isnan(a).any(axis=1) | np.isnan(b).any(axis=1))
    same = np.argmax(a[ok], axis=1) == np.argmax(b[ok], axis=1)
    return {"every": every, "frames": int(ok.sum()), "same_label": float(same.mean()) if ok.any() else float("nan"),
            "mean_prob_diff": float(np.abs(a[ok] - b[ok]).mean()) if ok.any() else float("nan"),
            "max_prob_diff": float(np.abs(a[ok] - b[ok]).max()) if ok.any() else float("nan"),
            "flips_per_second": (label_flips_per_second(a, ref["fps"]), label_flips_per_second(b, ref["fps"]))}


# --------------------------------------------------------------------------- steadier points

def points_trace(source: Source = "sample", frames: int | None = None, **config) -> dict:
    """The first face's 68 points on every frame of a video, raw and as the pipeline's filter gave them.

    Returns ``{"raw": (T, 68, 2), "filtered": (T, 68, 2), "fps": video fps}``, NaN where no face was
    followed. The raw points do not depend on the filter (the tracker follows the raw points), so one
    run gives both. ``frames=None`` reads the whole file once.
    """
    config = {"draw_points": False, "draw_emoji": False, "detect_async": False, **config}
    raw, filtered = [], []
    with LivePipeline(**config) as pipe, FrameSource(source, loop=frames is not None) as src:
        fps = src.fps
        for _ in iter_annotated(pipe, src, frames):
            t = pipe.tracks[0] if pipe.tracks else None
            nan = np.full((68, 2), np.nan, np.float32)
            raw.append(t.raw.copy() if t is not None and t.raw is not None else nan)
            filtered.append(t.points.copy() if t is not None else nan)
    if not raw:
        raise CourseError("the source delivered no frames.")
    return {"raw": np.stack(raw), "filtered": np.stack(filtered), "fps": fps}


def _refilter(raw: np.ndarray, make) -> np.ndarray:
    """Run a fresh filter (``make()`` -> callable(points) -> points) over a raw trace, restarting after gaps."""
    out = np.full_like(raw, np.nan)
    flt = None
    for i, p in enumerate(raw):
        if not np.isfinite(p).all():
            flt = None  # the face was lost: the pipeline resets its filter too
            continue
        flt = flt or make()
        out[i] = flt(p)
    return out


class _MovingAverage:
    """Mean of the last ``k`` samples: the simplest smoother, for comparison."""

    def __init__(self, k: int) -> None:
        self.k, self.buf = k, []

    def __call__(self, p: np.ndarray) -> np.ndarray:
        self.buf = (self.buf + [p])[-self.k:]
        return np.mean(self.buf, axis=0)


def smoothing_tradeoff(raw: np.ndarray, *, min_cutoffs: tuple[float, ...] = (0.3, 0.6, 1.0, 2.0, 4.0),
                       betas: tuple[float, ...] = (0.0, 0.05), averages: tuple[int, ...] = (2, 3, 5, 8)) -> list[dict]:
    """Jitter ratio and lag of several smoothers on one raw point trace (T, 68, 2): the trade-off curve.

    One-Euro filters with each ``min_cutoff`` x ``beta`` (beta 0 = a plain exponential filter, no speed
    adaptation) and moving averages of ``averages`` frames. One dict per setting (see :func:`jitter_and_lag`).
    """
    rows = []
    for beta in betas:
        for fc in min_cutoffs:
            m = jitter_and_lag(raw, _refilter(raw, lambda: OneEuroFilter(fc, beta)))
            rows.append({"filter": "one-euro" if beta else "exponential", "min_cutoff": fc, "beta": beta,
                         "k": None, **m})
    for k in averages:
        m = jitter_and_lag(raw, _refilter(raw, lambda: _MovingAverage(k)))
        rows.append({"filter": "moving average", "min_cutoff": None, "beta": None, "k": k, **m})
    return rows


# --------------------------------------------------------------------------- the speed-ups, before and after

BEFORE: dict = {"emotion_backend": "keras", "emotion_async": False, "detect_async": False, "prefetch": False,
               "filter_points": False, "detect_policy": "interval", "landmark_process": False, "emotion_every": 1}
"""The speed-ups switched off: the emotion model through a compiled Keras call, one face per call, every frame;
detection inline, on the frame that needs it; frames read when needed, not ahead; no landmark filter (which costs
time, not saves it); every face's points found in the loop (no second process)."""



def _summary(report: RunReport, pipe: LivePipeline, detected: tuple[int, float] | None = None) -> dict:
    """A run's figures; ``detected``: (detector runs, their ms) when the run was several chunks (each
    :func:`~helpers.live.runner.run_headless` restarts the pipeline's counters), else the pipeline's own."""
    n, ms = detected if detected is not None else (pipe.detections, pipe.detect_ms)
    return {"fps": round(report.fps, 1), "faces": round(report.faces_per_frame, 2),
            "frame_ms_p50": round(report.frame_ms_p50, 2), "frame_ms_p99": round(report.frame_ms_p99, 2),
            "stage_ms": {k: round(v, 3) for k, v in report.stage_ms.items()}, "detections": n,
            "ms_per_detection": round(ms / max(1, n), 1)}


def before_after(frames: int = 600, group_frames: int = 300, *, before: dict | None = None, **config) -> dict:
    """The same runs with the speed-ups off (``before``, default :data:`BEFORE`) and on (``config``): one face and a group.

    ``{"one face": {"before": ..., "after": ...}, "group": {...}}``, each with fps, faces per frame,
    frame-time p50/p99 (ms), mean ms per stage, detector runs and ms per detection. The one-face run
    is the sample video; the group run is :func:`group_frame` as a stream. Before and after run
    alternately in short chunks, so a machine that gets busier or quieter affects both alike.
    """
    before = {**config, **(BEFORE if before is None else before)}
    out: dict = {}
    group = group_frame()  # read and scaled once; each chunk streams it through its own StillSource
    for name, source, n in (("one face", "sample", frames), ("group", None, group_frames)):
        pipes = {"before": LivePipeline(**before), "after": LivePipeline(**config)}
        parts: dict[str, list[RunReport]] = {k: [] for k in pipes}
        detected = {k: [0, 0.0] for k in pipes}  # summed over the chunks: each run_headless restarts the counters
        chunk = max(50, n // 4)
        for start in range(0, n, chunk):
            for key, pipe in pipes.items():
                src = StillSource(group) if source is None else source
                parts[key].append(run_headless(pipe, src, min(chunk, n - start), keep=0, warmup=10))
                detected[key][0] += pipe.detections
                detected[key][1] += pipe.detect_ms
        out[name] = {}
        for key, pipe in pipes.items():
            reps = parts[key]
            frames_total = sum(r.frames for r in reps)
            merged = RunReport(frames_total, sum(r.seconds for r in reps), frames_total / sum(r.seconds for r in reps),
                               {s: sum(r.stage_ms[s] * r.frames for r in reps) / frames_total for s in reps[0].stage_ms},
                               reps[0].rss_start_mb, reps[-1].rss_end_mb, [], reps[0].message,
                               sum(r.faces_per_frame * r.frames for r in reps) / frames_total,
                               frame_ms=np.concatenate([r.frame_ms for r in reps]))
            out[name][key] = _summary(merged, pipe, tuple(detected[key]))
            pipe.close()
    return out


# --------------------------------------------------------------------------- python -m helpers.bench live

TARGETS = {"course_fps_min": 250, "group_fps_min": 110, "group_faces": 4, "p99_over_p50_max": 2.0,
           "rss_growth_mb_max": 50, "jitter_ratio_max": 0.5, "lag_frames_max": 1.0,
           "ratio_course_over_original_min": 18, "ratio_group_over_original_min": 8,
           "course_over_ceiling_min": 0.4, "group_over_ceiling_min": 0.6, "stage_over_predictor_max": 1.25,
           "cut_recover_median_max": 1, "cut_recover_max": 3}
"""Targets of the live benchmark on the course's 2-core machine.

The fps targets are also set as ratios measured in the same run, which hold on a slower or busier machine, where
absolute frame rates do not: over the original project's loop, and over the ceiling dlib's predictor alone allows
(``course.fps`` over ``course.fps_ceiling``, ``group.fps`` over ``group.fps_ceiling``, each timed right before and
after its run)."""


def benchmark(quick: bool = False) -> dict:
    """The original project's loop vs the course pipeline, one face and a group, in one process; a JSON-able dict.

    - ``original``: the original loop as written (and ``original_compiled_call_fps`` with only
      ``model.predict`` replaced by a compiled call), on the sample video.
    - ``course``: default settings on the sample video (640x360), 5,000 frames looping it (500 with
      ``quick``): fps, frame-time p50/p99, per-stage ms, resident memory over the run.
    - ``group``: default settings on the group photo at 1280 px as a stream: fps, faces, p50/p99.
    - each of the two with ``fps_ceiling``: what dlib's predictor alone allows (one face; four faces on one core),
      timed right before and right after that run (``predictor_ms_around``, :func:`~.costs.predictor_probe`); the
      ``*_over_ceiling`` ratios are on these.
    - ``before_after``: per-stage ms with the speed-ups off and on (:func:`before_after`).
    - ``landmarks``: the landmarks stage per face vs dlib's predictor alone (:func:`landmark_cost`), the fps
      the predictor alone allows (one face, four faces), and whether its calls run in parallel threads
      (:func:`two_thread_speedup`: the predictor holds Python's GIL, the detector does not).
    - ``smoothing``: the landmark filter's jitter ratio and lag on the sample video (:func:`points_trace`).
    - ``cuts``: frames until the boxes are on the new face after each cut or jump of a spliced clip, and frames with
      a box where no face is, with adaptive detection and with the old fixed interval (:func:`~.cuts.cut_recovery`).
    """
    import keras
    n_original, n_course, n_group, n_ab = (20, 500, 150, 200) if quick else (150, 5000, 1500, 600)
    info = {"quick": quick, "video": "sample (WolfgangLanger_Pexels.mp4, 640x360)", "group": "multi_face.jpg at 1280 px",
            "machine": machine_info()}
    model, which = baseline_model()
    info["original_model"] = which
    original = original_loop("sample", n_original, model)
    original_compiled = original_loop("sample", n_original, model, call="compiled")  # only predict replaced
    del model
    keras.backend.clear_session()
    original = {k: (round(v, 2) if isinstance(v, float) else v) for k, v in original.items()}
    original["rss_growth_mb"] = round(original["rss_end_mb"] - original["rss_start_mb"], 1)

    probe = predictor_probe()  # the predictor alone, timed right before and after each run: the ceilings
    probes = [probe()]
    with LivePipeline(LiveConfig()) as pipeline:
        report = run_headless(pipeline, "sample", n_course, keep=0, warmup=20)
        course = {**_summary(report, pipeline), "frames": report.frames,
                  "rss_start_mb": round(report.rss_start_mb, 1), "rss_end_mb": round(report.rss_end_mb, 1),
                  "rss_growth_mb": round(report.rss_growth_mb, 1),
                  "rss_slope_kb_per_frame": round(report.rss_slope_kb_per_frame, 3),
                  "landmarks": pipeline.landmarker.name, "emotion": pipeline.classifier.name,
                  "settings": {k: v for k, v in pipeline.config.__dict__.items() if not k.startswith("draw")}}
    probes.append(probe())
    with LivePipeline(LiveConfig()) as pipeline:
        g = run_headless(pipeline, StillSource(group_frame(), message="group photo"), n_group, keep=0, warmup=10)
        group = _summary(g, pipeline)
    probes.append(probe())
    one_ms, group_ms = around(*probes)
    course["predictor_ms_around"], group["predictor_ms_around"] = round(one_ms, 3), round(group_ms, 3)
    course["fps_ceiling"], group["fps_ceiling"] = round(1000 / one_ms, 1), round(1000 / (4 * group_ms), 1)
    trace = points_trace("sample")
    smoothing = {k: (round(v, 3) if isinstance(v, float) else v)
                 for k, v in jitter_and_lag(trace["raw"], trace["filtered"]).items()}
    ab = before_after(n_ab, n_ab // 2)
    lm = landmark_cost(200 if quick else 600, 100 if quick else 300)
    cuts = cut_recovery()
    lm["two_thread_speedup"] = two_thread_speedup(40 if quick else 200)

    def ratio(a: float, b: float) -> float:
        return round(a / b, 2) if b else float("nan")

    t = TARGETS
    met = {"course_fps": course["fps"] >= t["course_fps_min"], "group_fps": group["fps"] >= t["group_fps_min"],
           "group_faces": group["faces"] == t["group_faces"],
           "course_p99": course["frame_ms_p99"] <= t["p99_over_p50_max"] * course["frame_ms_p50"],
           "group_p99": group["frame_ms_p99"] <= t["p99_over_p50_max"] * group["frame_ms_p50"],
           "rss_growth": course["rss_growth_mb"] < t["rss_growth_mb_max"],
           "jitter_ratio": smoothing["jitter_ratio"] <= t["jitter_ratio_max"],
           "lag_frames": smoothing["lag_frames"] <= t["lag_frames_max"],
           "ratio_course_over_original": course["fps"] / original["fps"] >= t["ratio_course_over_original_min"],
           "ratio_group_over_original": group["fps"] / original["fps"] >= t["ratio_group_over_original_min"],
           "course_over_ceiling": course["fps"] >= t["course_over_ceiling_min"] * course["fps_ceiling"],
           "group_over_ceiling": group["fps"] >= t["group_over_ceiling_min"] * group["fps_ceiling"],
           "stage_over_predictor": lm["stage_over_predictor"] <= t["stage_over_predictor_max"],
           "stage_over_predictor_group": lm["stage_over_predictor_group"] <= t["stage_over_predictor_max"],
           "cut_recover_median": cuts["adaptive"]["median"] <= t["cut_recover_median_max"],
           "cut_recover_max": cuts["adaptive"]["max"] <= t["cut_recover_max"]}
    return {**info, "original": original, "original_compiled_call_fps": round(original_compiled["fps"], 2),
            "course": course, "group": group, "smoothing": smoothing, "before_after": ab, "landmarks": lm,
            "ratio_course_over_original": ratio(course["fps"], original["fps"]),
            "ratio_group_over_original": ratio(group["fps"], original["fps"]), "cuts": cuts,
            "course_over_ceiling": ratio(course["fps"], course["fps_ceiling"]),
            "group_over_ceiling": ratio(group["fps"], group["fps_ceiling"]),
            "targets": t, "targets_met": met}


# --------------------------------------------------------------------------- the four model combinations

def compare_models(source: Source = "other_person", frames: int = 150, combos: tuple = (("dlib", "peer"), ("cnn", "peer"),
                   ("dlib", "course"), ("cnn", "course")), pick: int = 3, crop: int = 300, **config) -> dict:
    """Run every (landmarks, emotion) combination on the same frames and pick frames where they disagree.

    ``source`` defaults to the second sample video, a person none of the course models was trained on.
    Returns ``{"labels": {combo: (T,) emotion index or -1}, "picked": [frame indices], "distinct": (T,)
    number of different labels, "crops": {combo: [crop (crop, crop, 3) BGR around the face, per picked frame]},
    "shown": {combo: [(emotion, probability) on the overlay, per picked frame]}}``: the
    picked frames have the most different labels across the combinations, spread over the video;
    the crops are cut around the face at full resolution, so the overlay text stays readable.
    Detection and the emotion model run inline, so each label is its own frame's and a second pass over the same
    frames repeats the first exactly.
    """
    config = {**config, "detect_async": False, "emotion_async": False}
    pipes = {c: LivePipeline(landmarks=c[0], emotion=c[1], **config) for c in combos}

    def run(keep_at: set[int]) -> tuple[dict, dict]:
        labels = {c: np.full(frames, -1, np.int64) for c in combos}
        kept: dict = {c: {} for c in combos}
        for p in pipes.values():
            p.reset()
        with FrameSource(source, loop=True) as src:
            for i in range(frames):
                image = src.read()
                if image is None:
                    break
                image = image.copy()
                for c, p in pipes.items():
                    out, tracks = p.process(image)
                    if tracks:
                        labels[c][i] = int(np.argmax(tracks[0].probs))
                        if i in keep_at:
                            k = int(np.argmax(tracks[0].probs))
                            kept[c][i] = (_crop_around(out, tracks[0].box, crop), EMOTIONS[k], float(tracks[0].probs[k]))
        return labels, kept

    labels, _ = run(set())
    stacked = np.stack([labels[c] for c in combos])
    valid = (stacked >= 0).all(axis=0)
    distinct = np.array([len(set(stacked[:, i])) if valid[i] else 0 for i in range(stacked.shape[1])])
    picked: list[int] = []
    gap = max(1, frames // (2 * pick))
    for i in np.argsort(-distinct, kind="stable"):
        if distinct[i] == 0 or len(picked) == pick:
            break
        if all(abs(int(i) - j) >= gap for j in picked):
            picked.append(int(i))
    picked.sort()
    _, kept = run(set(picked))
    for p in pipes.values():
        p.close()
    return {"labels": labels, "picked": picked, "distinct": distinct,
            "crops": {c: [kept[c][i][0] for i in picked if i in kept[c]] for c in combos},
            "shown": {c: [kept[c][i][1:] for i in picked if i in kept[c]] for c in combos}}


def weights_cost(kind: str = "peer", source: str = "sample", repeats: int = 300) -> dict:
    """What the emotion model's 8-bit weights cost and buy, on every face of a landmark set (default: the sample's).

    Both TensorFlow Lite conversions of the ``kind`` emotion model (``load_emotion(kind, "tflite")`` with float32
    weights, ``"tflite-int8"`` with int8) classify the same aligned faces. Returns the number of faces, how far
    the probabilities move (largest and mean absolute difference), how often the top emotion stays the same,
    and the ms of one call for one face and for four: two alternating rounds (same process), each a median over
    ``repeats // 2`` calls, and the lower of the two kept (the round a passing load spike missed).
    """
    from ..landmark_sets import ensure_landmark_set
    from ..timing import latency_ms
    from .models import align_face, load_emotion
    ls = ensure_landmark_set(source, progress=False)
    faces = np.stack([align_face(c, p) for c, p in zip(ls.crops, ls.points)])
    lite = {w: load_emotion(kind, backend) for w, backend in (("float32", "tflite"), ("int8", "tflite-int8"))}
    probs = {w: np.concatenate([m.predict_batch(faces[i:i + 4]) for i in range(0, len(faces), 4)])
             for w, m in lite.items()}
    diff = np.abs(probs["int8"] - probs["float32"])
    ms: dict[str, dict[str, float]] = {"one face": {}, "four faces": {}}
    for _ in range(2):  # alternate, so that a change of the machine's load hits both alike
        for w, m in lite.items():
            for label, batch in (("one face", faces[:1]), ("four faces", faces[:4])):
                t = latency_ms(lambda: m.predict_batch(batch), repeats=repeats // 2)
                ms[label][w] = min(ms[label].get(w, np.inf), t)
    return {"model": lite["int8"].name, "faces": len(faces), "max_prob_diff": float(diff.max()),
            "mean_prob_diff": float(diff.mean()),
            "same_top_emotion": float((probs["int8"].argmax(1) == probs["float32"].argmax(1)).mean()),
            "ms": ms, "top_emotions": {w: [EMOTIONS[i] for i in p.argmax(1)] for w, p in probs.items()}}


def _crop_around(image: np.ndarray, box: tuple[int, int, int, int], side: int) -> np.ndarray:
    """A ``side`` x ``side`` copy of ``image`` centred on the face box, shifted to stay inside the frame."""
    h, w = image.shape[:2]
    side = min(side, h, w)
    cx, cy = (box[0] + box[2]) // 2, (box[1] + box[3]) // 2
    x0 = int(np.clip(cx - side // 2, 0, w - side))
    y0 = int(np.clip(cy - side // 2 - side // 10, 0, h - side))  # a little above centre: the label sits above the box
    return image[y0:y0 + side, x0:x0 + side].copy()
