"""Notebook 04's figures (helpers.landmark_plots): each draws what it is given, in the course's colours."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from helpers import landmark_plots as lp  # noqa: E402
from helpers.landmarks import REGIONS  # noqa: E402


def _points(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(10, 100, (n, 68, 2)).astype(np.float32)


def test_overlay_grid_draws_every_set_on_every_crop():
    crops = np.zeros((5, 128, 128, 3), np.uint8)
    sets = {"dlib": _points(5), "course": (_points(5, 1), {"s": 8}), "baseline": _points(5, 2)}
    fig = lp.overlay_grid(crops, sets, [[0, 1, 2], [4, 3]], [["a", "b", "c"], ["d", "e"]])
    axes = fig.axes
    assert len(axes) == 6 and [ax.get_title() for ax in axes[:3]] == ["a", "b", "c"]
    first = axes[0].collections
    assert len(first) == 3 and np.allclose(first[0].get_offsets(), sets["dlib"][0])
    assert np.allclose(first[1].get_sizes(), 8) and np.allclose(first[2].get_sizes(), 4)
    assert np.allclose(axes[3].collections[0].get_offsets(), sets["dlib"][4])  # row 2 starts with crop 4
    assert not axes[5].collections  # the grid's empty cell
    plt.close(fig)


def test_region_errors_has_one_bar_per_model_and_region():
    per_model = {"a": {k: 0.1 for k in REGIONS}, "b": {k: 0.2 for k in REGIONS}}
    fig = lp.region_errors(per_model)
    bars = fig.axes[0].patches
    assert len(bars) == 2 * len(REGIONS) and sorted({round(b.get_height(), 3) for b in bars}) == [0.1, 0.2]
    plt.close(fig)


def test_augmentations_and_heatmaps_and_curves():
    imgs = [np.zeros((64, 64, 1), np.float32)] * 3
    fig = lp.show_augmentations(imgs, [_points(1)[0] / 128] * 3, ["x", "y", "z"], 64)
    assert [ax.get_title() for ax in fig.axes] == ["x", "y", "z"] and len(fig.axes[0].collections) == 3
    plt.close(fig)
    fig = lp.heatmap_figure(imgs[0], np.random.default_rng(0).random((16, 16, 68)), {"nose": 30, "chin": 8})
    assert [ax.get_title() for ax in fig.axes] == ["nose", "chin"] and len(fig.axes[0].images) == 2
    plt.close(fig)

    class Run:
        name = "m"
        history = [{"elapsed": 1.0, "loss": 2.0, "held_out_nme": 0.3}, {"elapsed": 2.0, "loss": 1.0, "held_out_nme": 0.2}]

    fig = lp.learning_curves({"m": Run()}, 0.25)
    assert len(fig.axes) == 2 and len(fig.axes[1].lines) == 2  # the model's curve and the mean-shape line
    plt.close(fig)
    fig = lp.learning_curves({"baseline": Run(), "course": Run()}, 0.25)  # the course's colours, as in every figure
    assert [line.get_color() for line in fig.axes[1].lines[:2]] == [lp.COLOURS["baseline"], lp.COLOURS["course"]]
    plt.close(fig)


def test_personal_comparison_draws_both_models_on_the_frames_it_picks():
    from helpers import personal
    held = type("Held", (), {"crops": np.zeros((7, 128, 128, 3), np.uint8), "points": _points(7),
                             "__len__": lambda self: 7})()
    cmp = {key: {"pred": _points(7, seed), "per_frame": np.full(7, 0.01 * seed),
                 "regions": {k: 0.01 * seed for k in REGIONS}} for key, seed in (("generic", 3), ("personal", 2))}
    frames, regions = personal.plot_comparison(held, cmp, frames=3, title="t")
    assert [ax.get_title() for ax in frames.axes] == ["generic 3.0%\npersonal 2.0%"] * 3
    last = frames.axes[2].collections  # frames 0, 3, 6: the last one's points
    assert np.allclose(last[0].get_offsets(), held.points[6])
    assert np.allclose(last[2].get_offsets(), cmp["personal"]["pred"][6])
    heights = {round(b.get_height(), 3) for b in regions.axes[0].patches}
    legend = [t.get_text() for t in regions.axes[0].get_legend().get_texts()]
    assert heights == {0.03, 0.02} and legend == ["generic", "personal"]
    plt.close(frames)
    plt.close(regions)
    assert personal.check_rule("sample").startswith("no worse") and personal.check_rule("me") == "better than"
