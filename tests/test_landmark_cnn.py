"""Landmark CNN of notebook 04: NME, augmentation consistency (incl. the mirror), soft-argmax, resume, serving."""
from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from helpers import CourseError
from helpers import landmark_cnn as L
from helpers import landmark_data as D
from helpers import landmark_nets as N
from helpers.landmarks import FLIP_PERMUTATION, crop_face, to_crop
from helpers.saved_models import to_tflite


def _mean_face(size: int = 128) -> np.ndarray:
    """A plausible 68-point layout in a size x size crop (subject's right eye on the image's left)."""
    t = np.linspace(0, np.pi, 17)
    jaw = np.stack([0.5 - 0.35 * np.cos(t), 0.45 + 0.4 * np.sin(t) * 0.9], 1)
    rbrow = np.stack([np.linspace(0.22, 0.42, 5), np.full(5, 0.3)], 1)
    lbrow = np.stack([np.linspace(0.58, 0.78, 5), np.full(5, 0.3)], 1)
    nose = np.concatenate([np.stack([np.full(4, 0.5), np.linspace(0.4, 0.55, 4)], 1),
                           np.stack([np.linspace(0.42, 0.58, 5), np.full(5, 0.6)], 1)])
    eye = lambda cx: np.stack([cx + 0.08 * np.cos(np.linspace(np.pi, 3 * np.pi, 7)[:-1]),  # noqa: E731
                               0.4 + 0.03 * np.sin(np.linspace(np.pi, 3 * np.pi, 7)[:-1])], 1)
    mouth = np.stack([0.5 - 0.15 * np.cos(np.linspace(0, 2 * np.pi, 21)[:-1]),
                      0.72 + 0.05 * np.sin(np.linspace(0, 2 * np.pi, 21)[:-1])], 1)
    pts = np.concatenate([jaw, rbrow, lbrow, nose, eye(0.32), eye(0.68), mouth])
    return (pts * (size - 1)).astype(np.float32)


def test_nme_hand_computed():
    true = np.zeros((1, 68, 2))
    true[0, 36] = (0, 0)
    true[0, 45] = (10, 0)  # inter-ocular distance 10
    pred = true.copy()
    pred[0, 0] += (3, 4)  # one point off by 5 px, the rest exact
    assert L.nme(pred, true)[0] == pytest.approx(5 / 68 / 10)
    assert L.nme(true + (1, 0), true)[0] == pytest.approx(0.1)  # every point 1 px off: 1/10
    errs = L.region_nme(pred, true)
    assert errs["jaw"] == pytest.approx(5 / 17 / 10) and errs["mouth"] == 0
    with pytest.raises(CourseError):
        L.nme(pred[:, :10], true[:, :10])


def test_prepare_maps_points_like_the_image():
    crop = np.zeros((128, 128, 3), np.uint8)
    cv2.circle(crop, (40, 90), 4, (255, 255, 255), -1)
    x, p = D.prepare(crop[None], np.full((1, 68, 2), (40, 90), np.float32), size=64)
    assert x.shape == (1, 64, 64, 1) and x.dtype == np.float32
    yx = np.unravel_index(np.argmax(cv2.GaussianBlur(x[0, :, :, 0], (5, 5), 0)), (64, 64))
    assert np.allclose(p[0, 0] * 64, (yx[1], yx[0]), atol=1.0)


def test_flip_puts_points_on_the_mirrored_features():
    pts = _mean_face().round()  # on pixel centres, so the mirror is exact
    crop = np.zeros((128, 128, 3), np.uint8)
    for i, (x, y) in enumerate(pts.astype(int)):
        crop[y, x] = 60 + 2 * i  # every landmark a unique grey level (single pixels)
    gray_levels = 60 + 2 * np.arange(68)
    unique = np.array([(pts == p).all(axis=1).sum() == 1 for p in pts])  # skip points sharing a pixel
    rng = np.random.default_rng(0)
    no_change = D.Augment(rotate=0, scale=0, shift=0, brightness=0, contrast=0, blur=0, noise=0, shape=0, background=0)
    xs, ps = D.augment(crop[None], pts[None], rng, size=128, aug=no_change, force_flip=True)
    img = np.rint(xs[0, :, :, 0] * 255)
    loc = np.rint(ps[0] * 128).astype(int)
    # new point j sits on the pixel that carries the grey level of original point FLIP_PERMUTATION[j]
    keep = unique[FLIP_PERMUTATION]
    assert keep.sum() > 50
    assert np.array_equal(img[loc[keep, 1], loc[keep, 0]], gray_levels[FLIP_PERMUTATION][keep])
    # and keeps its meaning: 36 (subject's right outer eye corner) is still on the image's left
    assert ps[0, 36, 0] < ps[0, 45, 0] and ps[0, 0, 0] < ps[0, 16, 0]
    np.testing.assert_allclose(ps[0, 36, 0] * 128, 127 - pts[45, 0], atol=1e-3)


def test_random_augmentation_keeps_image_and_points_together():
    pts = _mean_face()
    crop = np.zeros((128, 128, 3), np.uint8)
    k = 30  # the nose tip: a bright blob
    cv2.circle(crop, tuple(int(v) for v in pts[k].round()), 3, (255, 255, 255), -1)
    rng = np.random.default_rng(1)
    aug = D.Augment(brightness=0, contrast=0, blur=0, noise=0, flip=0.5, background=0)
    xs, ps = D.augment(np.repeat(crop[None], 8, 0), np.repeat(pts[None], 8, 0), rng, size=64, aug=aug)
    for x, p in zip(xs, ps):
        yx = np.unravel_index(np.argmax(cv2.GaussianBlur(x[:, :, 0], (5, 5), 0)), x.shape[:2])
        assert np.hypot(p[k, 0] * 64 - yx[1], p[k, 1] * 64 - yx[0]) < 1.5  # point 30 maps to itself under the mirror


def test_soft_argmax_finds_a_peak():
    import keras
    logits = np.full((1, 8, 8, 68), -50.0, np.float32)
    logits[0, 2, 5, :] = 50.0  # every map peaks at row 2, column 5
    out = keras.ops.convert_to_numpy(N.register_custom_objects()["SoftArgmax"](4, 32)(logits))
    np.testing.assert_allclose(out[0, 0], ((5 * 4 + 1.5) / 32, (2 * 4 + 1.5) / 32), atol=1e-5)


def _tiny_data(n: int = 12) -> D.FaceData:
    pts = _mean_face()
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 60, (n, 128, 128, 3), dtype=np.uint8)
    points = np.stack([pts + rng.normal(0, 2, pts.shape) for _ in range(n)]).astype(np.float32)
    for c, p in zip(crops, points):
        for x, y in p.round().astype(int):
            cv2.circle(c, (x, y), 2, (255, 255, 255), -1)
    return D.FaceData(crops, points, "tiny")


@pytest.mark.parametrize("kind", ["heatmap", "baseline"])
def test_training_resumes_after_an_interrupt(tmp_path, kind):
    data = _tiny_data()
    common = dict(seconds=0, max_epochs=3, batch_size=4, size=32, checkpoint=tmp_path / "ck", progress=False,
                  checkpoint_every=0)

    def interrupt(epoch, rec):
        if epoch == 2:
            raise KeyboardInterrupt  # the kernel is interrupted after epoch 2

    with pytest.raises(KeyboardInterrupt):
        L.train_model(kind, data, data, on_epoch_end=interrupt, **common)
    resumed = L.train_model(kind, data, data, **common)
    assert resumed.resumed_from == 2 and resumed.epochs == 3
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3]
    full = L.train_model(kind, data, data, resume=False, **(common | {"checkpoint": tmp_path / "ck2"}))
    # same seed, same batches per epoch: the resumed run ends where the uninterrupted one does
    for a, b in zip(resumed.model.get_weights(), full.model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)
    again = L.train_model(kind, data, data, **common)  # finished: returned as it is, no more training
    assert again.epochs == 3 and again.resumed_from == 3


def test_saved_model_serves_frames(tmp_path):
    data = _tiny_data(8)
    result = L.train_model("heatmap", data, seconds=0, max_epochs=1, batch_size=4, size=32,
                           checkpoint=tmp_path / "ck", progress=False)
    path = tmp_path / "lm.keras"
    meta = L.save_model(result, path)
    assert path.exists() and L.sidecar_path(path).exists() and meta["input_size"] == 32
    frame = np.zeros((240, 320, 3), np.uint8)
    box = (100, 60, 180, 140)
    lm = L.CNNLandmarker(path)
    pts = lm.predict(frame, box)
    model, meta_read = loaded = L.load_model(path)  # the pair unpacks; used as the model, it says how to unpack it
    assert meta_read["input_size"] == 32 and loaded.model is model
    with pytest.raises(AttributeError, match="model, meta = load_model"):
        loaded.predict
    assert pts.shape == (68, 2) and pts.dtype == np.float32 and np.isfinite(pts).all()
    # the points lie inside the crop square around the box (margin 0.3 -> 1.6 x the box side)
    crop_pts = to_crop(pts, crop_face(frame, box, 128, 0.3)[1])
    assert crop_pts.min() >= -1 and crop_pts.max() <= 128
    # the fast crop (region first) gives crop_face's matrix and (up to rounding) its pixels
    rng = np.random.default_rng(0)
    smooth = cv2.GaussianBlur(rng.integers(0, 256, (240, 320), dtype=np.uint8), (9, 9), 0)
    for b in (box, (-30, -20, 60, 70), (250, 150, 330, 250)):
        ref, m_ref = crop_face(smooth, b, 128, 0.3)
        fast, m_fast = lm.crop(smooth, b)
        np.testing.assert_allclose(m_fast, m_ref, atol=1e-3)
        assert np.abs(fast.astype(int) - ref).mean() < 2
    assert meta.get("tflite"), f"the TFLite conversion failed: {meta.get('tflite_error')}"  # served as TFLite
    direct = L.CNNLandmarker(path, use_tflite=False)
    assert lm.backend == "tflite" and direct.backend == "tf.function" and lm.tflite_weights == "int8"
    np.testing.assert_allclose(lm.predict(frame, box), direct.predict(frame, box), atol=0.5)  # int8 weights round
    exact = L.CNNLandmarker(path, tflite=to_tflite(result.model))  # float32 weights: the Keras model's points
    np.testing.assert_allclose(exact.predict(frame, box), direct.predict(frame, box), atol=1e-2)
    # evaluate() runs a served model face by face and scores it like the Keras model
    assert L.evaluate(exact, data, 32)["nme"] == pytest.approx(L.evaluate(result.model, data, 32)["nme"], rel=1e-3)
    # loaded=: the model already in memory, nothing read again (the file may even be gone)
    moved = tmp_path / "gone.keras"
    again = L.CNNLandmarker(moved, tflite=to_tflite(result.model), loaded=(direct.model, direct.meta))
    assert again.model is direct.model and not moved.exists()
    np.testing.assert_allclose(again.predict(frame, box), exact.predict(frame, box), atol=1e-5)
    # served_scores: the Keras model and the served file on the same faces, each part and the people's points
    from helpers.landmark_experiments import served_scores
    scores = served_scores(path, {"tiny": data}, data)
    assert set(scores) == {"tiny", "people"} and set(scores["tiny"]) == {"Keras", "TFLite, int8 weights"}
    assert scores["tiny"]["Keras"] == pytest.approx(L.evaluate(result.model, data, 32)["nme"], rel=1e-3)
    with pytest.raises(CourseError, match="notebook 04"):
        L.CNNLandmarker(tmp_path / "missing.keras")


def test_shape_warp_moves_pixels_with_the_points():
    pts = _mean_face()
    moved_any = False
    for seed in range(5):
        for k in (8, 30, 48, 54):  # chin, nose tip, mouth corners: one bright blob per image, on the landmark
            crop = np.zeros((128, 128), np.uint8)
            cv2.circle(crop, tuple(int(v) for v in pts[k].round()), 3, 255, -1)
            img, new = D.shape_warp(crop, pts, np.random.default_rng(seed), strength=1.5)  # the same warp for every k
            assert img.shape == crop.shape and new.shape == (68, 2) and new.dtype == np.float32
            moved_any |= bool(np.abs(new - pts).max() > 2)
            ys, xs = np.nonzero(img > 100)  # the blob's centre sits on its point's new place (within 1 px)
            assert len(xs) > 10 and np.hypot(xs.mean() - new[k, 0], ys.mean() - new[k, 1]) < 1.0
    assert moved_any, "a warp of strength 1.5 should move some point by more than 2 px"


@pytest.mark.parametrize("depth", [0.0, 1.0])
@pytest.mark.parametrize("degrees", [-30, -12, 20])
def test_turn_warp_moves_pixels_with_the_points(degrees, depth):
    pts = _mean_face()
    for k in (30, 36, 45, 48, 51, 8):  # nose tip, eye corners, mouth corner and top, chin: one bright blob per image
        crop = np.zeros((128, 128), np.uint8)
        cv2.circle(crop, tuple(int(v) for v in pts[k].round()), 2, 255, -1)
        img, new = D.turn_warp(crop, pts, degrees, depth)
        assert img.shape == crop.shape and new.shape == (68, 2) and new.dtype == np.float32
        weight = img.astype(np.float64)  # a blob on the far side is squeezed to a pixel or two: its weighted centre
        yy, xx = np.mgrid[0:128, 0:128]
        assert weight.sum() > 2 * 255, "the blob is still there"
        centre = np.array([(weight * xx).sum(), (weight * yy).sum()]) / weight.sum()
        assert np.hypot(*(centre - new[k])) < 1.0
    assert np.array_equal(new[:, 1], pts[:, 1]), "a turn about a vertical axis leaves every row where it was"
    shift = new[30, 0] - pts[30, 0]
    assert np.sign(shift) == np.sign(degrees) and abs(shift) > 2, "the nose moves towards the turn"
    near, far = (0, 16) if degrees > 0 else (16, 0)  # the far side of the face narrows
    assert abs(new[far, 0] - new[27, 0]) < abs(pts[far, 0] - pts[27, 0])
    assert abs(new[near, 0] - new[27, 0]) > abs(pts[near, 0] - pts[27, 0]) - 1


@pytest.mark.parametrize("degrees", [-30, 25])
def test_turn_warp_relief_moves_the_nose_further_than_the_eyes(degrees):
    pts = _mean_face()
    _, flat = D.turn_warp(np.zeros((128, 128), np.uint8), pts, degrees)
    _, relief = D.turn_warp(np.zeros((128, 128), np.uint8), pts, degrees, depth=1.0)
    extra = relief[:, 0] - flat[:, 0]
    want = D.PROTRUSION * D.inter_ocular(pts) * np.sin(np.radians(degrees))
    assert abs(extra[30] - want[30]) < 0.25 * abs(want[30]), "the nose tip stands out by about its protrusion"
    assert np.sign(extra[30]) == np.sign(degrees) and abs(extra[30]) > 3 * abs(extra[36]) + 1
    assert np.abs(extra[[0, 16]]).max() < 1.0, "the jaw's ends stay on the cylinder"
    assert np.array_equal(relief[:, 1], pts[:, 1])


def test_new_background_keeps_the_face_and_changes_the_rest():
    pts = _mean_face()
    crop = np.full((128, 128), 100, np.uint8)
    mask = D.face_mask(pts, crop.shape)
    inside = cv2.erode(mask, np.ones((9, 9), np.uint8)) > 0  # away from the feathered edge
    outside = cv2.dilate(mask, np.ones((9, 9), np.uint8)) == 0
    assert inside[int(pts[30, 1]), int(pts[30, 0])] and inside[int(pts[19, 1] - 20), int(pts[19, 0])]  # nose, forehead
    assert outside[2, 2] and outside[125, 2]
    changed = 0
    for seed in range(6):
        out = D.new_background(crop, pts, np.random.default_rng(seed))
        assert out.shape == crop.shape and out.dtype == np.uint8
        assert np.abs(out[inside].astype(int) - 100).max() <= 1  # the face is untouched
        changed += int(np.abs(out[outside].astype(int) - 100).mean() > 5)
    assert changed >= 4, "most draws should give the corners another background"


def test_augment_with_every_option_keeps_points_on_the_features():
    pts = _mean_face()
    crop = np.zeros((128, 128), np.uint8)
    k = 30
    cv2.circle(crop, tuple(int(v) for v in pts[k].round()), 3, 255, -1)
    aug = D.Augment(brightness=0, contrast=0, blur=0, noise=0, shape=1.0, shape_strength=1.5, background=0.0, turn=1.0)
    xs, ps = D.augment(np.repeat(crop[None], 6, 0), np.repeat(pts[None], 6, 0), np.random.default_rng(3), 64, aug)
    for x, p in zip(xs, ps):
        yx = np.unravel_index(np.argmax(cv2.GaussianBlur(x[:, :, 0], (5, 5), 0)), x.shape[:2])
        assert np.hypot(p[k, 0] * 64 - yx[1], p[k, 1] * 64 - yx[0]) < 1.5


def test_progress_bar_counts_epochs_of_an_epoch_budget(tmp_path, capsys):
    """With ``seconds=0`` the budget is epochs: the bar must end at 2/2, not at 0/? seconds."""
    data = _tiny_data()
    L.train_model("baseline", data, None, seconds=0, max_epochs=2, batch_size=4, size=32, checkpoint=tmp_path / "ck",
                  progress=True, checkpoint_every=0)
    err = capsys.readouterr().err
    assert "2/2 epochs" in err and "100%" in err, err[-300:]


def test_notebook_04_trains_the_epochs_the_benchmark_and_chain_assume():
    """04's parameters cell spells out ``EPOCHS``; the benchmark, exercises and chain read ``D.EPOCHS``."""
    import ast
    from pathlib import Path
    source = (Path(__file__).resolve().parents[1] / "notebooks" / "src" / "04_landmark_cnn.py").read_text()
    values = [node.value.value for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Assign)
              and any(isinstance(t, ast.Name) and t.id == "EPOCHS" for t in node.targets)
              and isinstance(node.value, ast.Constant)]
    assert values == [D.EPOCHS], f"notebook 04 sets EPOCHS to {values}, helpers.landmark_data.EPOCHS is {D.EPOCHS}"


def test_training_config_holds_the_augmentation_ranges_defaults_too(monkeypatch):
    """A change of Augment's defaults is a new recipe: a checkpoint or saved model of the old ranges is not reused."""
    import dataclasses
    from helpers import landmark_cnn as lcnn
    tiny = _tiny_data(4)
    before = lcnn.training_config("heatmap", tiny, seconds=0, max_epochs=3)
    assert before["aug"] == dataclasses.asdict(D.Augment())
    assert lcnn.training_config("baseline", tiny, seconds=0, max_epochs=3)["aug"] is None
    assert lcnn.training_config("heatmap", tiny, seconds=0, max_epochs=3, aug=False)["aug"] is None

    @dataclasses.dataclass
    class Flat(D.Augment):
        turn_depth: float = 0.0
    monkeypatch.setattr(lcnn, "Augment", Flat)
    after = lcnn.training_config("heatmap", tiny, seconds=0, max_epochs=3)
    assert after["aug"]["turn_depth"] == 0.0 and after != before


def test_turn_examples_show_the_face_then_each_way_flat_and_with_relief():
    pts = _mean_face()
    crop = np.zeros((128, 128, 3), np.uint8)
    cv2.circle(crop, tuple(int(v) for v in pts[30].round()), 3, (255, 255, 255), -1)
    xs, ps, titles = D.turn_examples(crop, pts, degrees=25, size=64)
    assert titles == ["as it is", "-25°, flat", "-25°, relief", "+25°, flat", "+25°, relief"]
    x0, p0 = D.prepare(crop[None], pts[None], 64)
    assert np.allclose(xs[0], x0[0]) and np.allclose(ps[0], p0[0])
    nose = [p[30, 0] for p in ps]  # the relief takes the nose tip further towards each turn than the flat turn
    assert nose[2] < nose[1] < nose[0] < nose[3] < nose[4]
