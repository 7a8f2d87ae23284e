"""Notebook 06's figures and tables (helpers.live.plots), on made-up results of the shapes the experiments return."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from helpers.live import plots  # noqa: E402
from helpers.labels import EMOTIONS  # noqa: E402
from helpers.live.timer import STAGES  # noqa: E402


def _recovery():
    run = lambda on, rec, det: {"on_face": on, "frames_to_recover": rec, "max": max(rec), "wrong_box_frames": 1,  # noqa: E731
                                "detections": det, "detect_reasons": {"cut": 2}}
    interval = run([True] * 5 + [False] * 3 + [True] * 2, [3], 4)
    return {"cuts": [0, 5], "adaptive": run([True] * 10, [0], 3), "interval": interval}


def test_recovery_table_counts_every_frame_off():
    rows = plots.recovery_table(_recovery()).splitlines()
    assert rows[0].split()[:2] == ["rule", "frames"] and rows[1].split()[:4] == ["adaptive", "[0]", "0", "0"]
    assert rows[2].split()[:4] == ["interval", "[3]", "3", "3"]  # 3 frames without a box on every face
    assert rows[2].endswith("cut 2")


def test_recovery_plot_marks_each_frame_once():
    class Clip:
        frames = [np.zeros((36, 64, 3), np.uint8)] * 10
        cuts = [0, 5]
        labels = ["start", "cut"]

    fig = plots.recovery_plot(Clip(), _recovery())
    marks = fig.axes[1].collections
    assert sum(len(c.get_offsets()) for c in marks) == 20  # 10 frames x 2 rules
    plt.close(fig)


def test_before_after_table_and_plot():
    run = lambda fps: {"fps": fps, "faces": 1.0, "frame_ms_p50": 2.0, "frame_ms_p99": 4.0, "detections": 7,  # noqa: E731
                       "stage_ms": {s: 0.5 for s in STAGES}}
    ab = {"one face": {"before": run(100), "after": run(200)}}
    rows = plots.before_after_table(ab).splitlines()
    assert len(rows) == 4 and rows[3].split()[:4] == ["one", "face", "after", "200"] and rows[3].split()[7] == "7"
    assert rows[0].index("mean ms per frame") == rows[1].index(STAGES[0]) - (9 - len(STAGES[0]))  # over the stages
    fig = plots.before_after_plot(ab)
    assert len(fig.axes[0].patches) == 2 * len(STAGES)
    plt.close(fig)


def test_smoothing_table_and_plot_label_each_setting():
    curve = [{"filter": "one-euro", "min_cutoff": 1.0, "k": None, "lag_frames": 0.5, "jitter_ratio": 0.43},
             {"filter": "moving average", "min_cutoff": None, "k": 3, "lag_frames": 0.8, "jitter_ratio": 0.44}]
    assert plots.smoothing_table(curve).endswith("one-euro 1: 0.5 / 0.43; moving average 3: 0.8 / 0.44")
    fig = plots.smoothing_plot(curve, {"lag_frames": 0.5, "jitter_ratio": 0.43})
    assert sorted(t.get_text() for t in fig.axes[0].texts) == ["1", "3"]
    plt.close(fig)


def test_tradeoff_and_trace_plots():
    tradeoff = [{"detect_every": n, "ms_per_frame": 5 / n, "drift": 0.01 * n} for n in (1, 5)]
    fig = plots.tracking_tradeoff_plot(tradeoff)
    assert len(fig.axes) == 2
    plt.close(fig)
    trace = {"t": np.arange(4) / 24, "raw": np.full((4, 7), 1 / 7), "smoothed": np.full((4, 7), 1 / 7)}
    fig = plots.emotion_trace_plot(trace, 8)
    assert len(fig.axes[0].lines) == 7 and "SMOOTH = 8" in fig.axes[1].get_title()
    assert not fig.axes[0].patches
    plt.close(fig)
    from helpers.expressions import parse_label_csv
    segments = parse_label_csv("start,end,label\n0.0,0.05,sad\n0.1,0.15,happy\n")
    fig = plots.emotion_trace_plot(trace, 8, segments)
    for ax in fig.axes:  # one shaded span per labelled stretch, in its emotion's line colour, named
        assert len(ax.patches) == 2 and [t.get_text() for t in ax.texts] == ["sad (by eye)", "happy (by eye)"]
        sad = ax.lines[EMOTIONS.index("sad")].get_color()
        assert np.allclose(ax.patches[0].get_facecolor()[:3], matplotlib.colors.to_rgb(sad))
    assert not any(ax.get_legend() for ax in fig.axes)  # the key sits below both panels, hiding no stretch's name
    fig.canvas.draw()
    key = fig.legends[0].get_window_extent()
    assert [t.get_text() for t in fig.legends[0].get_texts()] == list(EMOTIONS)
    assert all(key.y1 <= ax.get_tightbbox().y0 + 1 for ax in fig.axes)
    plt.close(fig)
