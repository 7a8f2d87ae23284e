"""Notebook 05's figures and tables: confusion matrices, results table, contact sheets, learning curves, predictions.

Each function takes plain arrays / evaluation dicts (:func:`helpers.emotion.evaluate`) and returns a
matplotlib figure or a string.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .labels import EMOTIONS

N_CLASSES = len(EMOTIONS)


def plot_confusions(results: dict[str, dict[str, Any]], *, normalise: bool = True):
    """Side-by-side confusion matrices (rows = true, columns = predicted) for several evaluations; returns the figure."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 4.2), squeeze=False)
    short = [e[:3] for e in EMOTIONS]
    for ax, (name, res) in zip(axes[0], results.items()):
        cm = np.array(res["confusion"], float)
        shown = cm / np.maximum(cm.sum(1, keepdims=True), 1) if normalise else cm
        ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalise else None)
        for i in range(N_CLASSES):
            for j in range(N_CLASSES):
                if cm[i, j]:
                    ax.text(j, i, f"{shown[i, j]:.2f}" if normalise else int(cm[i, j]), ha="center", va="center",
                            fontsize=7, color="white" if shown[i, j] > 0.5 else "black")
        ax.set_xticks(range(N_CLASSES), short, fontsize=8)
        ax.set_yticks(range(N_CLASSES), short, fontsize=8)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{name}\naccuracy {res['accuracy']:.2f}", fontsize=9)
    fig.tight_layout()
    return fig


def results_table(results: dict[str, dict[str, Any]]) -> str:
    """A plain-text table: accuracy and per-class recall for each model (rounded, for printing)."""
    head = f"{'model':<34s}{'acc':>6s}" + "".join(f"{e[:5]:>7s}" for e in EMOTIONS)
    rows = [head]
    for name, res in results.items():
        cells = "".join(f"{res['recall'][e]:7.2f}" if res["recall"][e] is not None else f"{'-':>7s}" for e in EMOTIONS)
        rows.append(f"{name:<34s}{res['accuracy']:6.2f}{cells}")
    return "\n".join(rows)


def top_confusions(results: dict[str, dict[str, Any]], n: int = 3, min_rate: float = 0.1) -> str:
    """Each evaluation's ``n`` largest mix-ups (true -> predicted, as a share of the true class's faces, at least
    ``min_rate``): the confusion matrices' off-diagonal cells, in words, for printing."""
    lines = []
    for name, res in results.items():
        cm = np.array(res["confusion"], float)
        rates = cm / np.maximum(cm.sum(1, keepdims=True), 1)
        np.fill_diagonal(rates, 0)
        order = np.argsort(rates, axis=None)[::-1][:n]
        pairs = [np.unravel_index(k, rates.shape) for k in order if rates.flat[k] >= min_rate]
        said = ", ".join(f"{EMOTIONS[i]} -> {EMOTIONS[j]} {rates[i, j]:.2f}" for i, j in pairs) or "none"
        lines.append(f"{name:<24s} largest mix-ups: {said}")
    return "\n".join(lines)


def contact_sheet(x: np.ndarray, y: np.ndarray, *, per_class: int = 8, tags: np.ndarray | None = None, title: str = ""):
    """One row per emotion: ``per_class`` faces spread evenly over that class (tag, e.g. origin, under each); returns
    the figure."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(N_CLASSES, per_class, figsize=(per_class * 0.95, N_CLASSES * 1.1), squeeze=False)
    for c, emotion in enumerate(EMOTIONS):
        idx = np.flatnonzero(np.asarray(y) == c)
        pick = idx[np.linspace(0, len(idx) - 1, min(per_class, len(idx))).round().astype(int)] if len(idx) else []
        for k in range(per_class):
            ax = axes[c, k]
            ax.axis("off")
            if k < len(pick):
                ax.imshow(x[pick[k]], cmap="gray", vmin=0, vmax=255)
                if tags is not None:
                    ax.set_title(str(tags[pick[k]]), fontsize=6, pad=1)
        axes[c, 0].text(-6, 24, f"{emotion}\n({len(idx)})", ha="right", va="center", fontsize=8)
    fig.tight_layout(pad=0.2, rect=(0.0, 0.0, 1.0, 0.97 if title else 1.0))
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def plot_histories(results: dict):
    """Training and validation accuracy per epoch for several runs (name -> TrainResult), side by side with the losses."""
    import matplotlib.pyplot as plt
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.2))
    for name, r in results.items():
        epochs = [h["epoch"] for h in r.history]
        line, = ax1.plot(epochs, r.curve("val_accuracy"), label=f"{name} val")
        ax1.plot(epochs, r.curve("accuracy"), "--", color=line.get_color(), alpha=0.6, label=f"{name} train")
        ax2.plot(epochs, r.curve("val_loss"), color=line.get_color(), label=f"{name} val")
        ax2.plot(epochs, r.curve("loss"), "--", color=line.get_color(), alpha=0.6, label=f"{name} train")
    ax1.set(xlabel="epoch", ylabel="accuracy", ylim=(0, 1.02), title="accuracy")
    ax2.set(xlabel="epoch", ylabel="loss", title="loss (the course model's includes label smoothing)")
    ax1.legend(fontsize=7)
    ax2.legend(fontsize=7)
    fig.tight_layout()
    return fig


def show_predictions(x: np.ndarray, y: np.ndarray, probs: np.ndarray, *, n: int = 24, cols: int = 8, seed: int = 0):
    """A grid of ``n`` test faces (a seeded sample) titled true -> predicted (red when wrong); returns the figure."""
    import matplotlib.pyplot as plt
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(x), size=min(n, len(x)), replace=False))
    rows = math.ceil(len(idx) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.15, rows * 1.35), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    pred = np.asarray(probs).argmax(1)
    for ax, i in zip(axes.ravel(), idx):
        ax.imshow(x[i], cmap="gray", vmin=0, vmax=255)
        ok = pred[i] == y[i]
        ax.set_title(f"{EMOTIONS[y[i]][:4]}→{EMOTIONS[pred[i]][:4]}", fontsize=7, color="black" if ok else "red", pad=1)
    fig.tight_layout(pad=0.2)
    return fig


ROW_KINDS = (("real", "real frames", 13), ("synthetic", "synthetic", 11), ("unseen_people", "unseen people", 15))
"""The stand-in's kinds of test face (:func:`helpers.standin.evaluation_rows`): key, column title, column width."""


def kind_accuracy(probs: np.ndarray, y: np.ndarray, rows: dict[str, np.ndarray]) -> dict[str, float]:
    """One model's accuracy on all test faces (``"all"``) and on each kind of test face (``rows``: boolean masks;
    nan for a kind with no face)."""
    hit = probs.argmax(1) == y
    return {"all": float(hit.mean()), **{k: float(hit[m].mean()) if m.any() else float("nan") for k, m in rows.items()}}


def rows_table(probs: dict[str, np.ndarray], y: np.ndarray,
               rows: dict[str, np.ndarray]) -> tuple[str, dict[str, dict[str, float]]]:
    """Accuracy of each model on all test faces and on each kind of test face (``rows``: boolean masks;
    :func:`kind_accuracy`).

    Returns ``(text table, {model: {"all": accuracy, kind: accuracy or nan for an empty kind}})``.
    """
    lines = [f"{'accuracy on':22s}{'all':>8s}" + "".join(f"{title:>{w}s}" for _, title, w in ROW_KINDS),
             f"{'(test faces)':22s}{len(y):8d}" + "".join(f"{int(rows[k].sum()):{w}d}" for k, _, w in ROW_KINDS)]
    acc = {name: kind_accuracy(p, y, rows) for name, p in probs.items()}
    for name, a in acc.items():
        lines.append(f"{name:22s}{a['all']:8.2f}" + "".join(f"{a[k]:{w}.2f}" for k, _, w in ROW_KINDS))
    return "\n".join(lines), acc
