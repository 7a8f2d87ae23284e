"""Notebook 06's figures and tables, from the results of :mod:`.experiments`, :mod:`.cuts` and :mod:`.costs`.

Each plotting function returns a matplotlib figure; each ``*_table`` returns the text the notebook prints, so a
cell reads as the step it shows (run the measurement, show it).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import cv2
import numpy as np

from ..draw import bgr_to_rgb
from ..labels import EMOTIONS
from .timer import STAGES

if TYPE_CHECKING:
    from ..expressions import Segment


def tracking_tradeoff_plot(tradeoff: list[dict]):
    """Milliseconds per frame and drift (% of the eye distance) against N, detecting every N frames."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3))
    ns = [r["detect_every"] for r in tradeoff]
    ax.plot(ns, [r["ms_per_frame"] for r in tradeoff], "o-", label="ms per frame")
    ax2 = ax.twinx()
    ax2.plot(ns, [100 * r["drift"] for r in tradeoff], "s--", color="tab:red", label="drift, % of eye distance")
    ax.set_ylim(0, None)
    ax2.set_ylim(0, None)
    ax.set_xlabel("detect every N frames")
    ax.set_ylabel("ms per frame")
    ax2.set_ylabel("drift (%)", color="tab:red")
    fig.legend(loc="upper center", ncol=2, fontsize=8)
    fig.tight_layout()
    return fig


def recovery_table(recovery: dict[str, Any], policies: tuple[str, ...] = ("adaptive", "interval")) -> str:
    """One row per detection rule of :func:`~helpers.live.cuts.cut_recovery`: frames to recover per cut (the first
    time a box is on the new face), their max, *frames off* (every frame without a box on every face, later losses
    too), frames with a box on nothing, detections and why they ran."""
    rows = [f"{'rule':9s} {'frames to recover, per cut':>27s} {'max':>4s} {'frames off':>11s} {'wrong-box frames':>17s} "
            f"{'detections':>11s}  why"]
    for policy in policies:
        r = recovery[policy]
        off = sum(not on for on in r["on_face"])
        rows.append(f"{policy:9s} {str(r['frames_to_recover']):>27s} {r['max']:4d} {off:11d} {r['wrong_box_frames']:17d} "
                    f"{r['detections']:11d}  " + ", ".join(f"{k} {v}" for k, v in r["detect_reasons"].items()))
    return "\n".join(rows)


def recovery_plot(clip: Any, recovery: dict[str, Any], policies: tuple[str, ...] = ("adaptive", "interval")):
    """The first frame of each segment of a spliced clip, and under it one row of marks per rule: green where every
    face has a box on it, red where not (yet)."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, 1, figsize=(11, 3.6), gridspec_kw={"height_ratios": [2, 1]})
    axes[0].imshow(bgr_to_rgb(np.hstack([cv2.resize(clip.frames[c], (256, 144)) for c in clip.cuts])))
    axes[0].set_title("the first frame of each segment: " + " | ".join(clip.labels), fontsize=8)
    axes[0].axis("off")
    for row, policy in enumerate(policies):
        on = np.array(recovery[policy]["on_face"], bool)
        axes[1].scatter(np.flatnonzero(~on), np.full((~on).sum(), row), marker="|", color="tab:red", s=120)
        axes[1].scatter(np.flatnonzero(on), np.full(on.sum(), row), marker="|", color="tab:green", s=120)
    for c in recovery["cuts"]:
        axes[1].axvline(c - 0.5, color="k", lw=0.8)
    axes[1].set_yticks(range(len(policies)), policies)
    axes[1].set_ylim(-0.6, len(policies) - 0.4)
    axes[1].invert_yaxis()
    axes[1].set_xlabel("frame (green: every face has a box on it; red: not yet)")
    fig.tight_layout()
    return fig


def emotion_trace_plot(trace: dict[str, Any], smooth: int, segments: "Sequence[Segment]" = ()):
    """Each emotion's probability over time, raw (top) and averaged over ``smooth`` predictions (bottom).

    ``segments`` (e.g. the sample's by-eye labels, :data:`helpers.expressions.SAMPLE_LABELS` read with
    :func:`helpers.expressions.parse_label_csv`) are shaded in their emotion's colour and named, so a line can be
    read against what a person saw.
    """
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, 1, figsize=(9, 4.6), sharex=True)
    for ax, key, title in ((axes[0], "raw", "raw (SMOOTH = 1)"), (axes[1], "smoothed", f"smoothed (SMOOTH = {smooth})")):
        for seg in segments:  # colour k of the cycle: the same as the emotion's line below
            colour = f"C{EMOTIONS.index(seg.label)}"
            ax.axvspan(seg.start, seg.end, color=colour, alpha=0.12, lw=0)
            ax.text((seg.start + seg.end) / 2, 0.97, f"{seg.label} (by eye)", ha="center", va="top", fontsize=7,
                    color=colour, transform=ax.get_xaxis_transform())
        for k, name in enumerate(EMOTIONS):
            ax.plot(trace["t"], trace[key][:, k], lw=1, label=name)
        ax.set_ylim(0, 1)
        ax.set_ylabel("probability")
        ax.set_title(title, fontsize=10)
    axes[1].set_xlabel("seconds")
    fig.tight_layout(rect=(0, 0.07, 1, 1))  # room below for the key: inside a panel it would hide the stretches' names
    fig.legend(*axes[0].get_legend_handles_labels(), ncol=7, fontsize=7, loc="lower center", frameon=False)
    return fig


def smoothing_plot(curve: list[dict], steady: dict[str, float], jitter_target: float = 0.5, lag_target: float = 1.0):
    """Jitter ratio against lag for every smoother of :func:`~helpers.live.experiments.smoothing_tradeoff` (each
    point labelled with its ``min_cutoff`` or its k), the pipeline's own setting as a star, the targets as lines."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for kind, marker in (("one-euro", "o-"), ("exponential", "s--"), ("moving average", "^:")):
        rows = [r for r in curve if r["filter"] == kind]
        line, = ax.plot([r["lag_frames"] for r in rows], [r["jitter_ratio"] for r in rows], marker, label=kind)
        for r in rows:  # min_cutoff (Hz) of the filters, k (frames) of the moving averages
            ax.annotate(f"{setting(r):g}", (r["lag_frames"], r["jitter_ratio"]), xytext=(3, 3),
                        textcoords="offset points", fontsize=6, color=line.get_color())
    ax.plot([steady["lag_frames"]], [steady["jitter_ratio"]], "r*", ms=14, label="the pipeline's setting")
    ax.axhline(jitter_target, color="grey", lw=0.8)
    ax.axvline(lag_target, color="grey", lw=0.8)
    ax.set_xlabel("lag on fast moves (frames)")
    ax.set_ylabel("jitter, filtered / raw")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def setting(row: dict) -> float:
    """A smoother's one setting: ``min_cutoff`` (Hz) of a filter, or k (frames) of a moving average."""
    return row["min_cutoff"] if row["k"] is None else row["k"]


def smoothing_table(curve: list[dict]) -> str:
    """Lag (frames) and jitter ratio of every smoother, on one line."""
    return "lag (frames) / jitter ratio per setting: " + "; ".join(
        f"{r['filter']} {setting(r):g}: {r['lag_frames']:.1f} / {r['jitter_ratio']:.2f}" for r in curve)


def before_after_table(ab: dict[str, dict[str, dict]]) -> str:
    """:func:`~helpers.live.experiments.before_after` as a table: fps, faces, frame time, detections, and each stage's
    mean ms per frame (a line above the stage columns says so)."""
    head = f"{'':9s} {'':7s} {'fps':>6s} {'faces':>6s} {'p50 ms':>7s} {'p99 ms':>7s} {'detections':>11s}  "
    rows = [" " * len(head) + "mean ms per frame in each stage:",
            head + "  ".join(f"{s:>9s}" for s in STAGES)]
    for name, runs in ab.items():
        for key in ("before", "after"):
            r = runs[key]
            rows.append(f"{name:9s} {key:7s} {r['fps']:6.0f} {r['faces']:6.1f} {r['frame_ms_p50']:7.1f} "
                        f"{r['frame_ms_p99']:7.1f} {r['detections']:11d}  "
                        + "  ".join(f"{r['stage_ms'][s]:9.2f}" for s in STAGES))
    return "\n".join(rows)


def before_after_plot(ab: dict[str, dict[str, dict]]):
    """For each case (one face, the group) the stage bars before (grey) and after (blue), fps and p99 in the legend."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(ab), figsize=(5.5 * len(ab), 3.2), squeeze=False)
    y = np.arange(len(STAGES))
    for ax, (name, runs) in zip(axes[0], ab.items()):
        for k, (key, color) in enumerate((("before", "tab:grey"), ("after", "tab:blue"))):
            ax.barh(y + 0.4 * k, [runs[key]["stage_ms"][s] for s in STAGES], 0.4, color=color,
                    label=f"{key}: {runs[key]['fps']:.0f} fps, p99 {runs[key]['frame_ms_p99']:.0f} ms")
        ax.set_yticks(y + 0.2, STAGES)
        ax.invert_yaxis()
        ax.set_xlabel("ms per frame (mean)")
        ax.set_title(name)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig

