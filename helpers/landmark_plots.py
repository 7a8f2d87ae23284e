"""Notebook 04's figures: augmentations, learning curves, errors per region, predictions on frames, heat-maps.

Each function takes the arrays or results the notebook already has and returns a matplotlib figure (the notebook
shows it); the numbers a figure is read for are returned too, so the notebook can print them beside it.
Points are in crop pixels unless a function says otherwise.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .draw import bgr_to_rgb
from .landmarks import REGIONS

COLOURS = {"dlib": "lime", "people": "lime", "baseline": "red", "course": "deepskyblue", "generic": "red",
           "personal": "deepskyblue"}
"""One colour per source of points, the same in every figure: dlib's (or people's) points green, the original-style
net red, the course model blue; in section 13's comparison, the generic course model red, the personal one blue."""


def show_augmentations(images: list[np.ndarray], points: list[np.ndarray], titles: list[str], size: int):
    """Input images (H, W, 1) in [0, 1] with their points in units of the side, in one row; points 36 and 45 (the
    subject's right and left outer eye corners) in red and cyan, so a mirror that renumbers correctly shows."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(images), figsize=(1.75 * len(images), 2.2), squeeze=False)
    for ax, img, pts, title in zip(axes[0], images, points, titles):
        ax.imshow(img[:, :, 0], cmap="gray", vmin=0, vmax=1)
        ax.scatter(pts[:, 0] * size, pts[:, 1] * size, s=3, c="lime")
        ax.scatter(*(pts[36] * size), s=25, c="red")  # subject's right outer eye corner
        ax.scatter(*(pts[45] * size), s=25, c="cyan")  # subject's left outer eye corner
        ax.set_title(title, fontsize=8)
        ax.axis("off")
    return fig


def learning_curves(results: dict[str, Any], mean_shape_nme: float):
    """Training loss (left, each model in its own units) and held-out NME (right) against training seconds.

    ``results``: ``{key: TrainResult}``; a key of :data:`COLOURS` ("baseline", "course") draws in its colour.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.2))
    for key, r in results.items():
        t = [h["elapsed"] for h in r.history]
        axes[0].plot(t, [h["loss"] for h in r.history], label=r.name, color=COLOURS.get(key))
        axes[1].plot(t, [h["held_out_nme"] for h in r.history], label=r.name, color=COLOURS.get(key))
    axes[0].set(xlabel="training seconds", ylabel="training loss (own units)", yscale="log", title="training loss")
    axes[1].axhline(mean_shape_nme, color="gray", ls="--", label="mean shape")
    axes[1].set(xlabel="training seconds", ylabel="NME (% of the eye distance)", ylim=(0, 0.5), title="held-out NME")
    axes[1].yaxis.set_major_formatter(PercentFormatter(1.0))
    axes[1].legend(fontsize=8)
    return fig


def region_errors(per_model: dict[str, dict[str, float]], title: str = "error per region"):
    """Bars of the NME per face region (:data:`helpers.landmarks.REGIONS`), one group per region, one bar per model.

    ``per_model``: ``{model name: {region: NME}}`` (:func:`helpers.landmark_cnn.region_nme`).
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter
    fig, ax = plt.subplots(figsize=(8, 3))
    width = 0.8 / len(per_model)
    for i, (name, reg) in enumerate(per_model.items()):
        ax.bar(np.arange(len(reg)) + i * width, list(reg.values()), width, label=name, color=COLOURS.get(name))
    ax.set_xticks(np.arange(len(REGIONS)) + width * (len(per_model) - 1) / 2, list(REGIONS), fontsize=8)
    ax.set(ylabel="NME (% of the eye distance)", title=title)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.legend(fontsize=8)
    return fig


def overlay_grid(crops: np.ndarray, sets: dict[str, Any], rows: list[list[int]], titles: list[list[str]],
                 legend: bool = True, height: float = 3.2):
    """Crops (BGR) with several sets of points drawn over them.

    ``sets`` maps a name of :data:`COLOURS` to points (N, 68, 2) for all the crops, or to ``(points, style)`` with
    matplotlib ``scatter`` settings that replace the default (small dots in the name's colour); ``rows`` gives the
    crop indices of each row of the grid, ``titles`` their titles.
    """
    import matplotlib.pyplot as plt
    cols = max(len(r) for r in rows)
    fig, axes = plt.subplots(len(rows), cols, figsize=(3 * cols, height * len(rows)), squeeze=False)
    for ax_row, idx, names in zip(axes, rows, titles):
        for ax, i, title in zip(ax_row, idx, names):
            ax.imshow(bgr_to_rgb(crops[i]))
            for name, value in sets.items():
                pts, style = value if isinstance(value, tuple) else (value, {})
                ax.scatter(*pts[i].T, **{"s": 4, "c": COLOURS[name], "label": name, **style})
            ax.set_title(title, fontsize=8)
            ax.axis("off")
    if legend:
        axes[0, 0].legend(fontsize=7, loc="lower left")
    return fig


def heatmap_figure(image: np.ndarray, maps: np.ndarray, show: dict[str, int]):
    """One input (H, W, 1) in [0, 1] with the probability maps (h, w, 68) of the points in ``show`` ({title: index})
    laid over it, stretched to the input's size (brighter = more likely)."""
    import matplotlib.pyplot as plt
    size = image.shape[0]
    fig, axes = plt.subplots(1, len(show), figsize=(3 * len(show), 3), squeeze=False)
    for ax, (title, k) in zip(axes[0], show.items()):
        ax.imshow(image[:, :, 0], cmap="gray", extent=(0, size, size, 0))
        ax.imshow(maps[:, :, k], cmap="magma", alpha=0.6, extent=(0, size, size, 0))
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    return fig
