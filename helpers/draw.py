"""Drawing: landmarks coloured by region, boxes, and grids of frames for matplotlib."""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from .landmarks import REGION_COLORS, REGIONS


def draw_landmarks(image: np.ndarray, points: np.ndarray, *, radius: int = 2, lines: bool = True,
                   box: tuple[int, int, int, int] | None = None, color: tuple[int, int, int] | None = None) -> np.ndarray:
    """Return a BGR copy of ``image`` with the 68 points drawn, coloured by region (or one ``color``)."""
    out = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image[:, :, :3].copy()
    pts = np.asarray(points, dtype=np.float32)
    for name, idx in REGIONS.items():
        c = color or REGION_COLORS[name]
        seg = np.round(pts[list(idx)]).astype(np.int32)
        if lines:
            closed = name.endswith("eye")
            cv2.polylines(out, [seg], closed, c, 1, cv2.LINE_AA)
        for x, y in seg:
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
