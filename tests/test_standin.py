"""The offline stand-in: warps, time splits, determinism and disjoint splits of the cached build."""
from __future__ import annotations

import numpy as np
import pytest

from helpers import standin
from helpers.labels import EMOTIONS


def _face():
    """A synthetic 96x96 'face' (gradient + dark eyes and mouth) with plausible 68 points."""
    from helpers.align import aligned_points
    rng = np.random.default_rng(0)
    pts = np.zeros((68, 2), np.float32)
    t = np.linspace(0, np.pi, 17)
    pts[:17] = np.c_[300 + 120 * -np.cos(t), 300 + 130 * np.sin(t) - 40]  # jaw
    pts[17:27] = np.c_[np.r_[np.linspace(210, 280, 5), np.linspace(320, 390, 5)], np.full(10, 220)]
    pts[27:36] = np.c_[np.r_[np.full(4, 300), np.linspace(280, 320, 5)], np.r_[np.linspace(240, 310, 4), np.full(5, 320)]]
    for k, cx in ((36, 245), (42, 355)):
        pts[k:k + 6] = np.c_[cx + 25 * np.cos(np.linspace(0, 2 * np.pi, 7)[:6]),
                             250 + 8 * np.sin(np.linspace(0, 2 * np.pi, 7)[:6])]
    pts[48:60] = np.c_[300 + 45 * np.cos(np.linspace(np.pi, 3 * np.pi, 13)[:12]),
                       370 + 15 * np.sin(np.linspace(np.pi, 3 * np.pi, 13)[:12])]
    pts[60:68] = np.c_[300 + 35 * np.cos(np.linspace(np.pi, 3 * np.pi, 9)[:8]),
                       370 + 2 * np.sin(np.linspace(np.pi, 3 * np.pi, 9)[:8])]
    from helpers.align import alignment_matrix
    import cv2
    img = (np.add.outer(np.arange(600), np.arange(600)) % 255).astype(np.uint8)
    img = cv2.add(img, rng.integers(0, 30, img.shape, dtype=np.uint8))
    m = alignment_matrix(pts, 96)
    big = cv2.warpAffine(img, m, (96, 96))
    return big, aligned_points(pts, 96)


def test_expression_moves_cover_every_emotion():
    for e in EMOTIONS:
        moves = standin.expression_moves(e)
        assert moves.shape == (68, 2)
        assert (np.abs(moves).sum() == 0) == (e == "neutral")
    with pytest.raises(Exception, match="unknown emotion"):
        standin.expression_moves("bored")


def test_warp_identity_and_movement():
    big, pts = _face()
    same = standin.piecewise_affine_warp(big, pts, pts)
    assert np.abs(same.astype(int) - big.astype(int)).mean() < 1.0
    moved = standin.move_points(pts, "surprise")
    assert moved[57, 1] > pts[57, 1] + 5          # the jaw drops (image y grows downwards)
    assert moved[19, 1] < pts[19, 1] - 1          # the brows go up
    out = standin.synthesize(big, pts, "surprise", rng=np.random.default_rng(1))
    assert out.shape == (48, 48) and out.dtype == np.uint8


def test_synthesize_is_deterministic():
    big, pts = _face()
    a = standin.synthesize(big, pts, "angry", strength=1.1, rng=np.random.default_rng(3))
    b = standin.synthesize(big, pts, "angry", strength=1.1, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)


def test_time_splits_are_ordered_and_guarded():
    frames = np.arange(100)
    labels = np.r_[np.zeros(50, int), np.ones(50, int)]
    split = standin.time_splits(labels, frames, guard=2)
    for c in (0, 1):
        sel = labels == c
        tr, te = frames[sel & (split == "train")], frames[sel & (split == "test")]
        assert tr.max() < te.min()                           # test comes later in time
    for i in np.flatnonzero(split != ""):                    # no neighbour within 2 frames in another split
        near = (np.abs(frames - i) <= 2) & (split != "") & (split != split[i])
        assert not near.any()


@pytest.mark.slow
def test_cached_standin_is_deterministic_and_disjoint():
    """Build again and compare with the cached CSV; check splits share no frame and every class has test faces."""
    data = standin.load_standin(progress=False)
    arrays, meta = standin.load_npz(standin.standin_paths()[1])
    built = standin.build_standin(progress=False)
    np.testing.assert_array_equal(built["images"][built["split"] == "test"], data.x_test)
    np.testing.assert_array_equal(built["labels"], arrays["labels"])
    real = arrays["origin"] == "teacher"
    keys = [f"{s}:{f}" for s, f in zip(arrays["source"][real], arrays["frame"][real])]
    by_split = {s: {k for k, sp in zip(keys, arrays["split"][real]) if sp == s} for s in ("train", "val", "test")}
    assert not by_split["train"] & by_split["test"] and not by_split["train"] & by_split["val"]
    for src in ("sample", "other_person"):  # no test frame has a training neighbour
        train_frames = {int(k.split(":")[1]) for k in by_split["train"] if k.startswith(src + ":")}
        test_frames = {int(k.split(":")[1]) for k in by_split["test"] if k.startswith(src + ":")}
        assert not {f + d for f in test_frames for d in (-1, 0, 1)} & train_frames
    warp_test = {s for s, sp, o in zip(arrays["source"], arrays["split"], arrays["origin"])
                 if sp == "test" and o != "teacher"}
    warp_train = {s for s, sp, o in zip(arrays["source"], arrays["split"], arrays["origin"])
                  if sp == "train" and o != "teacher"}
    assert warp_test and not warp_test & warp_train          # warps of test sources only in test
    counts = data.counts()
    assert all(n >= 20 for n in counts["test"].values()), counts
    assert all(s.startswith(("multi_face", "single_face_photo")) is False or sp == "test"
               for s, sp in zip(arrays["source"], arrays["split"]))
    assert meta["by_construction"] == ["angry", "disgust"]
