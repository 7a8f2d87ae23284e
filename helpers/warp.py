"""Piecewise-affine warps: move chosen points of an image to new places and let the pixels follow.

Used to make expressions for the emotion stand-in (:mod:`helpers.standin`) and new face shapes for
the landmark CNN's augmentation (:func:`helpers.landmark_data.shape_warp`).
"""
from __future__ import annotations

import cv2
import numpy as np


def _border_points(w: int, h: int) -> np.ndarray:
    xs, ys = [0, w / 2, w - 1], [0, h / 2, h - 1]
    return np.array([(x, y) for x in xs for y in ys if not (x == w / 2 and y == h / 2)], np.float32)


def delaunay(points: np.ndarray, w: int, h: int) -> np.ndarray:
    """Delaunay triangles of ``points`` (N, 2) inside a w x h image, as (T, 3) indices into ``points``."""
    sub = cv2.Subdiv2D((-1, -1, w + 2, h + 2))
    clipped = np.clip(points, 0, [w - 1, h - 1])
    for p in clipped:
        sub.insert((float(p[0]), float(p[1])))
    tris = []
    for t in sub.getTriangleList().reshape(-1, 3, 2):
        idx = [int(np.argmin(((clipped - v) ** 2).sum(1))) for v in t]
        if len(set(idx)) == 3:
            tris.append(idx)
    return np.array(tris, np.int32)


def piecewise_affine_warp(image: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Warp ``image`` so that points ``src`` (N, 2) move to ``dst`` (N, 2); image borders stay fixed.

    One affine map per Delaunay triangle (of the source points plus border points); every output
    pixel is looked up with ``cv2.remap``, so the whole warp is a few vectorised operations.
    """
    h, w = image.shape[:2]
    border = _border_points(w, h)
    src_all = np.vstack([src, border]).astype(np.float32)
    dst_all = np.vstack([dst, border]).astype(np.float32)
    tris = delaunay(src_all, w, h)
    label = np.zeros((h, w), np.int32)
    affines = [np.array([[1, 0, 0], [0, 1, 0]], np.float32)]  # label 0 = identity
    for k, t in enumerate(tris, start=1):
        affines.append(cv2.getAffineTransform(dst_all[t], src_all[t]))
        cv2.fillConvexPoly(label, np.round(dst_all[t]).astype(np.int32), k)
    a = np.stack(affines)[label]  # (h, w, 2, 3)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    map_x = a[..., 0, 0] * xx + a[..., 0, 1] * yy + a[..., 0, 2]
    map_y = a[..., 1, 0] * xx + a[..., 1, 1] * yy + a[..., 1, 2]
    return cv2.remap(image, map_x.astype(np.float32), map_y.astype(np.float32), cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)
