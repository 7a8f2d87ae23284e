"""Drawing: landmarks coloured by region, boxes, and grids of frames for matplotlib."""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from .landmarks import REGION_COLORS, REGIONS, SEGMENTS, region_of


def draw_landmarks(image: np.ndarray, points: np.ndarray, *, radius: int = 2, lines: bool = True,
                   box: tuple[int, int, int, int] | None = None, color: tuple[int, int, int] | None = None) -> np.ndarray:
    """Return a BGR copy of ``image`` with the 68 points drawn, coloured by region (or one ``color``)."""
    out = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image[:, :, :3].copy()
    pts = np.asarray(points, dtype=np.float32)
    if lines:
        for idx, closed in SEGMENTS.values():
            c = color or REGION_COLORS[region_of(idx[0])]
            cv2.polylines(out, [np.round(pts[idx]).astype(np.int32)], closed, c, 1, cv2.LINE_AA)
    for name, idx in REGIONS.items():
        c = color or REGION_COLORS[name]
        for x, y in np.round(pts[list(idx)]).astype(np.int32):
            cv2.circle(out, (int(x), int(y)), radius, c, -1, cv2.LINE_AA)
    if box is not None:
        cv2.rectangle(out, box[:2], box[2:], (0, 255, 255), 2)
    return out


def bgr_to_rgb(image: np.ndarray) -> np.ndarray:
    """BGR (OpenCV) -> RGB (matplotlib); grayscale passes through."""
    return image if image.ndim == 2 else cv2.cvtColor(image[:, :, :3], cv2.COLOR_BGR2RGB)


def show_grid(images: Sequence[np.ndarray], titles: Sequence[str] | None = None, cols: int = 4,
              size: float = 3.0, suptitle: str | None = None):
    """Show BGR/grey images in a matplotlib grid; return the figure."""
    import matplotlib.pyplot as plt
    n = len(images)
    rows = max(1, -(-n // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * size, rows * size * 0.75), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, img in enumerate(images):
        ax = axes.flat[i]
        ax.imshow(bgr_to_rgb(img), cmap="gray" if img.ndim == 2 else None)
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def plot_scheme(points: np.ndarray, image: np.ndarray | None = None, size: float = 7.0, fontsize: int = 8):
    """A labelled figure of the 68-point scheme: every index written next to its point, regions coloured."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(size, size))
    if image is not None:
        ax.imshow(bgr_to_rgb(image), cmap="gray" if image.ndim == 2 else None, alpha=0.6)
    points = np.asarray(points)
    for idx, closed in SEGMENTS.values():
        b, g, r = REGION_COLORS[region_of(idx[0])]
        line = points[idx + idx[:1] if closed else idx]
        ax.plot(line[:, 0], line[:, 1], "-", lw=1, color=(r / 255, g / 255, b / 255))
    for name, idx in REGIONS.items():
        b, g, r = REGION_COLORS[name]
        pts = points[list(idx)]
        ax.plot(pts[:, 0], pts[:, 1], "o", ms=4, color=(r / 255, g / 255, b / 255),
                label=f"{name}: {idx.start}-{idx.stop - 1}")
        for i, (x, y) in zip(idx, pts):
            ax.annotate(str(i), (x, y), fontsize=fontsize, xytext=(2, -2), textcoords="offset points")
    if image is None:
        ax.invert_yaxis()
    ax.set_aspect("equal")
    ax.axis("off")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, title="region: indices (0-based)")
    fig.tight_layout()
    return fig


def figure_png(fig) -> bytes:
    """A matplotlib figure as PNG bytes at its own dpi, cropped to its content as the inline backend shows it."""
    import io
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return buf.getvalue()


def browse_landmarks(ls, video: str | None = None):
    """An ipywidgets slider over a :class:`~helpers.landmark_sets.LandmarkSet`: the frame with its points, and the crop.

    ``video`` (the source path, default ``ls.meta["source"]``) is re-read at each frame's timestamp (right for a
    phone's variable-frame-rate clip too), and the crop is cut again from that frame as the set's was: the widget
    keeps the set's points and boxes, not its crops, so a cell run again does not keep another copy of every crop
    alive (the notebook holds on to each widget it displayed). Returns the widget (display it as the last line of
    a cell).

    Each view is drawn into a PNG and shown in an ``Image`` widget, not printed into an ``Output``
    widget: a headless executor (papermill, ``jupyter nbconvert --execute``, nbclient) answers every
    write into an ``Output`` widget with a message on the kernel's shell channel, sent while it waits
    on that channel for the cell's reply, and that send can swallow the wake-up for the reply, so the
    cell stalls until the cell timeout, or for ever without one (nbclient issue #312). An ``Image``
    widget's updates only go from the kernel to the frontend.
    """
    import ipywidgets as widgets
    from matplotlib.figure import Figure

    from .landmarks import MARGIN, crop_face
    from .video import read_frames
    settings = ls.meta.get("settings", {})
    source = video or ls.meta["source"]
    crop_size, margin = int(ls.crops.shape[1]), float(ls.meta.get("margin", MARGIN))
    frame_index, timestamp, seconds = (np.array(a) for a in (ls.frame_index, ls.timestamp, ls.seconds))
    frame_points, boxes, points = (np.array(a) for a in (ls.frame_points, ls.boxes, ls.points))
    n = len(points)
    image = widgets.Image(format="png")
    slider = widgets.IntSlider(value=0, min=0, max=max(0, n - 1), step=1, description="face #",
                               continuous_update=False, layout=widgets.Layout(width="60%"))
    label = widgets.Label()

    def show(i: int) -> None:
        frames = list(read_frames(source, start=int(frame_index[i]), start_time=float(timestamp[i]), max_frames=1,
                                  rotate=settings.get("rotate", 0), max_side=settings.get("max_side")))
        fig = Figure(figsize=(10, 3.6))  # not pyplot: nothing is displayed or kept open behind the widget
        axes = fig.subplots(1, 2, gridspec_kw={"width_ratios": [16, 9]})
        crop = np.zeros((crop_size, crop_size, 3), np.uint8)
        if frames:
            box = tuple(int(v) for v in boxes[i])
            axes[0].imshow(bgr_to_rgb(draw_landmarks(frames[0].image, frame_points[i], box=box)))
            crop = crop_face(frames[0].image, box, crop_size, margin)[0]
        axes[1].imshow(bgr_to_rgb(draw_landmarks(crop, points[i], radius=1)))
        for ax in axes:
            ax.axis("off")
        axes[0].set_title(f"frame {int(frame_index[i])} at {float(timestamp[i]):.2f} s")
        axes[1].set_title("crop, points in crop pixels")
        image.value = figure_png(fig)
        label.value = f"dlib took {1000 * float(seconds[i]):.0f} ms on this frame"

    slider.observe(lambda change: show(change["new"]), names="value")
    show(0)
    return widgets.VBox([widgets.HBox([slider, label]), image])
