"""Emotion models: alignment, the original project's baseline architecture and the peer's label order.

Also evaluation and training resume.
"""
from __future__ import annotations

import numpy as np
import pytest

from helpers import CourseError, align, emotion, emotion_data, storage
from helpers.labels import EMOTIONS


def _points(cx=320.0, cy=200.0, tilt_deg=0.0, eye_dist=60.0):
    rng = np.random.default_rng(0)
    pts = rng.normal(0, 2, (68, 2)).astype(np.float32) + (cx, cy + 40)
    a = np.radians(tilt_deg)
    off = np.array([np.cos(a), np.sin(a)]) * eye_dist / 2
    pts[36:42] = (cx, cy) - off
    pts[42:48] = (cx, cy) + off
    return pts


def test_align_face_levels_the_eyes_and_frames_like_fer():
    img = np.zeros((400, 640, 3), np.uint8)
    pts = _points(tilt_deg=20)
    import cv2
    for p in np.r_[pts[36:42].mean(0, keepdims=True), pts[42:48].mean(0, keepdims=True)]:
        cv2.circle(img, tuple(int(v) for v in p), 6, (255, 255, 255), -1)
    face = align.align_face(img, pts)
    assert face.shape == (48, 48) and face.dtype == np.uint8
    ys, xs = np.nonzero(face > 100)
    left, right = xs < 24, xs >= 24
    assert abs(ys[left].mean() - ys[right].mean()) < 1.0                      # level eyes
    assert abs(ys.mean() - align.EYE_HEIGHT * 48) < 1.5                      # at the FER eye height
    assert abs((xs[right].mean() - xs[left].mean()) - 48 / align.EYE_SPAN) < 1.5
    ap = align.aligned_points(pts)
    assert abs(ap[36:42, 1].mean() - ap[42:48, 1].mean()) < 1e-3
    assert align.align_face(img[..., 0], pts, size=64).shape == (64, 64)


def test_align_face_rejects_bad_points():
    with pytest.raises(CourseError, match="68 landmark points"):
        align.align_face(np.zeros((10, 10), np.uint8), np.zeros((5, 2)))


def test_baseline_is_the_original_architecture():
    m = emotion.build_baseline()
    kinds = [type(layer).__name__ for layer in m.layers]
    assert kinds == ["Conv2D", "Conv2D", "MaxPooling2D", "Dropout", "Conv2D", "MaxPooling2D", "Conv2D",
                     "MaxPooling2D", "Dropout", "Flatten", "Dense", "Dropout", "Dense"]
    assert [layer.filters for layer in m.layers if hasattr(layer, "filters")] == [32, 64, 128, 128]
    assert [layer.rate for layer in m.layers if type(layer).__name__ == "Dropout"] == [0.25, 0.25, 0.5]
    assert m.layers[-3].units == 1024 and m.output_shape == (None, 7)
    lr = m.optimizer.learning_rate
    assert abs(float(lr) - 1e-3) < 1e-6


def test_baseline_layer_names_stay_the_same_when_built_again():
    # 05 prints the baseline's summary: a second Run All must not show conv2d_14 where the first showed conv2d
    first, second = emotion.build_baseline(), emotion.build_baseline()
    assert [layer.name for layer in first.layers] == [layer.name for layer in second.layers]
    assert first.layers[0].name == "conv32" and first.layers[-1].name == "dense7_softmax"


def test_course_model_is_smaller_and_uses_batch_norm():
    m = emotion.build_course_model()
    assert any(type(layer).__name__ == "BatchNormalization" for layer in m.layers)
    assert m.count_params() < emotion.build_baseline().count_params() / 5
    assert m.output_shape == (None, 7)


def test_peer_label_order_maps_to_emotions():
    assert emotion.PEER_ORDER == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    probs = np.eye(7, dtype=np.float32)
    mapped = emotion.peer_to_course(probs)
    for i, e in enumerate(emotion.PEER_ORDER):
        assert EMOTIONS[mapped[i].argmax()] == e


def test_peer_loads_and_predicts_in_emotions_order():
    peer = emotion.EmotionClassifier.peer()
    assert peer.input_size == 64 and "mini-Xception" in peer.name
    face = np.full((48, 48), 128, np.uint8)
    p = peer.predict_proba(face)
    assert p.shape == (7,) and p.dtype == np.float32 and abs(p.sum() - 1) < 1e-3
    batch = peer.predict_batch(np.stack([face, face]))
    np.testing.assert_allclose(batch[0], p, atol=1e-5)
    with pytest.raises(CourseError, match="grey uint8"):
        peer.predict_proba(np.zeros((48, 48), np.float32))


def test_evaluate_counts_and_recall():
    labels = np.array([0, 0, 3, 3, 6])
    probs = np.eye(7)[[0, 3, 3, 3, 4]]
    res = emotion.evaluate(probs, labels)
    assert res["accuracy"] == pytest.approx(0.6)
    assert res["recall"]["angry"] == 0.5 and res["recall"]["happy"] == 1.0 and res["recall"]["neutral"] == 0.0
    assert res["recall"]["sad"] is None
    assert np.array(res["confusion"])[0, 3] == 1


def test_evaluate_rejects_mismatched_inputs():
    probs = np.full((3, 7), 1 / 7, np.float32)
    with pytest.raises(CourseError, match="same faces"):
        emotion.evaluate(probs, np.array([0, 1]))
    with pytest.raises(CourseError, match="same faces"):
        emotion.evaluate(probs[:, :6], np.array([0, 1, 2]))
    with pytest.raises(CourseError, match="labels must be 0-6"):
        emotion.evaluate(probs, np.array([0, 1, 7]))


def test_load_data_rejects_unknown_switch():
    with pytest.raises(CourseError, match="USE_FER2013 must be"):
        emotion_data.load_data("yes")


def test_class_weights_and_lr_schedule():
    w = emotion.balanced_class_weights(np.r_[np.zeros(90, int), np.ones(10, int)])
    assert w[1] > w[0] and w[1] <= 5.0 and w[4] == 1.0
    lrs = [emotion.cosine_lr(e, 10) for e in range(10)]
    assert lrs[0] < lrs[1] and lrs[1] == pytest.approx(1e-3) and lrs[-1] == pytest.approx(1e-5)


@pytest.mark.slow
def test_training_resumes_and_saves(tmp_path):
    from helpers.fer import FerSplits
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (70, 48, 48), dtype=np.uint8)
    y = np.arange(70) % 7
    data = FerSplits(x, y, x[:14], y[:14], x[:14], y[:14], source="random")
    first = emotion.train("course", data, epochs=1, run_dir=tmp_path / "run", progress=False)
    assert first.epochs == 1
    saved = storage.load_json(tmp_path / "run" / "state.json")  # helpers.training's layout: {"config", "state"}
    saved["state"]["finished"] = False
    saved["config"]["epochs"] = 2
    storage.save_json(tmp_path / "run" / "state.json", saved)
    second = emotion.train("course", data, epochs=2, run_dir=tmp_path / "run", progress=False)
    assert second.resumed_from == 1 and second.epochs == 2 and len(second.curve("loss")) == 2
    path = emotion.save_course_model(second, data_name="random", path=tmp_path / "m.keras")["keras"]
    clf = emotion.EmotionClassifier.course(path)
    assert clf.predict_proba(x[0]).shape == (7,)
    assert clf.latency_ms(x[0], repeats=3) > 0


def test_ingredients_are_switches_in_the_run_key():
    from helpers.fer import FerSplits
    x = np.zeros((7, 48, 48), np.uint8)
    y = np.arange(7)
    data = FerSplits(x, y, x, y, x, y)
    default = emotion.run_config("course", data)
    assert default["ingredients"] == emotion.INGREDIENTS | {"bn_momentum": 0.75}  # "auto": 1 batch an epoch
    assert emotion.auto_momentum(28709, 64) == 0.99 and emotion.auto_momentum(800, 64) == 0.75  # FER2013, stand-in
    for switch in ({"label_smoothing": 0.0}, {"augment": False}, {"augment": {"erase": True}}, {"class_weights": False},
                   {"bn_momentum": 0.99}):
        assert emotion.run_config("course", data, **switch) != default, switch
    assert emotion.run_config("course", data, augment=True) == default
    assert emotion.ingredients("course", augment=False)["augment"] is None
    assert emotion.run_config("baseline", data)["ingredients"] is None
    with pytest.raises(CourseError, match="baseline"):
        emotion.ingredients("baseline", label_smoothing=0.0)
    with pytest.raises(CourseError, match="unknown ingredients"):
        emotion.ingredients("course", dropout=0.5)


@pytest.mark.slow
def test_an_ablation_trains_in_its_own_run(tmp_path, monkeypatch):
    """Switching an ingredient off trains a run of its own; the default run is found again unchanged."""
    from helpers.fer import FerSplits
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (28, 48, 48), dtype=np.uint8)
    y = np.arange(28) % 7
    data = FerSplits(x, y, x[:7], y[:7], x[:7], y[:7], source="random")
    default = emotion.train("course", data, epochs=1, progress=False)
    ablation = emotion.train("course", data, epochs=1, label_smoothing=0.0, augment=False, progress=False)
    assert ablation.folder != default.folder and ablation.config["ingredients"]["label_smoothing"] == 0.0
    again = emotion.train("course", data, epochs=1, progress=False)
    assert again.folder == default.folder and again.resumed_from == 1  # loaded, not trained


def test_shipped_fer2013_cost_is_consistent():
    """The record 05 prints (helpers/fer2013_cost.json, from `python -m helpers.bench emotion`) adds up."""
    from helpers import emotion_experiments as ex
    cost = ex.shipped_cost()
    assert cost is not None, "helpers/fer2013_cost.json is missing: run `python -m helpers.bench emotion`"
    assert cost["rows"] == sum(ex.FER2013_ROWS.values()) == 35887
    hours = cost["exercise1_epochs"] * (cost["baseline_epoch_seconds"] + cost["course_epoch_seconds"]) / 3600
    assert abs(hours - cost["exercise1_hours_at_most"]) <= 0.06
    text = ex.cost_summary(cost)
    assert f"{cost['rows']:,}-row" in text and f"at most {cost['exercise1_hours_at_most']:.1f} h" in text
    assert "run `python -m helpers.bench emotion`" in ex.cost_summary(None)


def test_loader_cost_measures_the_loader_not_the_process_that_asks(tmp_path):
    """The peak memory 05 prints for a FER2013-sized read is the child's own: a parent holding 400 MB when it starts
    the child must not show up in it (on Linux, ru_maxrss would count the parent's memory at the fork)."""
    from helpers import emotion_experiments as ex
    from helpers import fer
    rng = np.random.default_rng(0)
    csv = fer.write_fer_csv(tmp_path / "fer2013.csv", rng.integers(0, 256, (30, 48, 48), dtype=np.uint8),
                            rng.integers(0, 7, 30), ["Training"] * 10 + ["PublicTest"] * 10 + ["PrivateTest"] * 10)
    ballast = np.ones(400 * 2**20, np.uint8)  # touched: resident in this process
    cost = ex.loader_cost(csv)
    assert ballast.sum() == ballast.size
    assert cost["rows"] == 30 and cost["seconds"] > 0
    assert cost["rss_before"] <= cost["peak_rss"] < 300 * 2**20, cost


def test_top_confusions_names_the_largest_mix_ups():
    from helpers.emotion_plots import top_confusions
    cm = np.zeros((7, 7), int)
    np.fill_diagonal(cm, 10)
    cm[4, 6] = 5  # sad -> neutral: 5 of 15 sad faces
    cm[2, 5] = 2  # fear -> surprise: 2 of 12
    cm[0, 1] = 1  # angry -> disgust: 1 of 11, below min_rate
    text = top_confusions({"m": {"confusion": cm.tolist()}}, n=3, min_rate=0.1)
    assert text.endswith("largest mix-ups: sad -> neutral 0.33, fear -> surprise 0.17"), text
    assert "none" in top_confusions({"m": {"confusion": np.eye(7, dtype=int).tolist()}})


def test_rows_table_scores_each_kind_of_test_face():
    from helpers import emotion_plots
    y = np.array([0, 1, 2, 3, 4, 5])
    good = np.eye(7)[y]
    wrong_on_real = good.copy()
    wrong_on_real[:2] = np.eye(7)[[6, 6]]
    rows = {"real": np.array([1, 1, 0, 0, 0, 0], bool), "synthetic": np.array([0, 0, 1, 1, 1, 1], bool),
            "unseen_people": np.zeros(6, bool)}
    text, acc = emotion_plots.rows_table({"good": good, "half": wrong_on_real}, y, rows)
    assert acc["good"]["all"] == 1.0 and acc["half"]["real"] == 0.0 and acc["half"]["synthetic"] == 1.0
    assert acc["half"]["all"] == pytest.approx(4 / 6) and np.isnan(acc["good"]["unseen_people"])
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["accuracy", "on", "all", "real"] and lines[1].split()[-4:] == ["6", "2", "4", "0"]
    assert lines[3].startswith("half") and lines[3].split()[1:4] == ["0.67", "0.00", "1.00"]
    from helpers import emotion_experiments
    from types import SimpleNamespace
    summary = emotion_experiments._summary(wrong_on_real, SimpleNamespace(y_test=y), rows)  # the benchmark's keys
    assert summary["accuracy_real"] == 0.0 and summary["accuracy_synthetic"] == 1.0
    assert summary["accuracy_unseen_people"] is None and summary["accuracy"] == pytest.approx(0.6667)


def test_a_quick_run_never_replaces_a_longer_or_fer2013_model(tmp_path):
    """save_target: a model on FER2013, or on the same data for more epochs, stays where notebook 06 finds it."""
    from helpers.saved_models import save_target, sidecar_path
    path = tmp_path / "emotion_cnn.keras"
    assert save_target(path, "stand-in data", 1) == (path, "")  # nothing saved yet
    path.write_bytes(b"model")
    sidecar_path(path).write_text('{"data": "FER2013", "epochs": 60}')
    beside, why = save_target(path, "stand-in data", 12)
    assert beside == tmp_path / "emotion_cnn_stand-in-data_12ep.keras" and "trained on FER2013 for 60 epochs" in why
    assert save_target(path, "FER2013", 1)[0].name == "emotion_cnn_fer2013_1ep.keras"
    assert save_target(path, "FER2013", 60) == (path, "")  # the same budget again: replaced
    sidecar_path(path).write_text('{"data": "stand-in data", "epochs": 12}')
    target, why = save_target(path, "FER2013", 1)  # FER2013 replaces the stand-in's model, and says so
    assert target == path and "replaces" in why and "stand-in data for 12 epochs" in why
    assert save_target(path, "stand-in data", 20) == (path, "")
