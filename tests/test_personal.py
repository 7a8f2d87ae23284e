"""helpers.personal: NAME's records and personal landmark CNN, and the errors a learner meets."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from helpers import CourseError, capture, data, landmark_nets, personal, record_sets


def _frames(name: str, n: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(data.fetch(name)))
    out = []
    while len(out) < n:
        ok, frame = cap.read()
        if not ok:
            break
        out.append(frame)
    cap.release()
    return out


@pytest.fixture(scope="session")
def gappy_video(tmp_path_factory):
    """A 'learner recording' with gaps: 30 frames of the second sample person, then 4 frames without a face,
    4 frames with two faces, then 30 more frames of the person (30 fps, 640x360)."""
    frames = _frames("other_person", 60)
    two = np.concatenate([cv2.resize(frames[0], (320, 180))] * 2, axis=1)
    two = np.concatenate([two, np.zeros_like(two)], axis=0)
    seq = frames[:30] + [np.zeros_like(frames[0])] * 4 + [two] * 4 + frames[30:60]
    path = tmp_path_factory.mktemp("rec") / "gappy.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (640, 360))
    for f in seq:
        writer.write(f)
    writer.release()
    return path


def test_names_are_checked():
    for bad in ("", "../me", "a b", "stills", 3):
        with pytest.raises(CourseError, match="NAME"):
            capture.check_name(bad)
    assert record_sets.record_names("me") == ("me_train", "me_heldout")
    assert record_sets.record_names("sample") == ("sample_train", "sample_heldout")
    assert personal.personal_model_path("me").name == "landmark_cnn_me.keras"


def test_name_without_recording_names_the_01_setting(data_dir):
    with pytest.raises(CourseError, match="SOURCE") as err:
        capture.check_recording("me")
    assert "notebook 01" in str(err.value) and "'me'" in str(err.value)
    with pytest.raises(CourseError, match="no recording for OTHER = 'nobody'"):  # 02's second person, named as such
        capture.check_recording("nobody", "OTHER")
    from helpers.saved_models import check_keras_path
    with pytest.raises(CourseError, match="end in .keras|ending in .keras"):  # 05's MODEL_PATH, before any training
        check_keras_path("models/emo.h5")
    assert check_keras_path("my model.keras").name == "my model.keras"
    with pytest.raises(CourseError, match="SOURCE"):
        record_sets.ensure_records("me", progress=False)
    with pytest.raises(CourseError, match="SOURCE"):  # notebook 02's own call, too
        capture.ensure_manifest("me")
    capture.check_recording("other_person")  # the samples need no notebook 01 run


def test_recording_with_gaps_gives_a_time_split(data_dir, gappy_video):
    m = capture.scan_source(gappy_video, progress=False)
    assert m["no_face"] == [30, 31, 32, 33] and m["several_faces"] == [34, 35, 36, 37]
    capture.save_manifest("me", m)
    record = record_sets.ensure_records("me", progress=False)
    train, held = record["train_frames"], record["held_out_frames"]
    assert set(train).isdisjoint(range(30, 38)) and set(held).isdisjoint(range(30, 38))
    assert max(train) < min(held) and len(held) >= 10 and len(train) >= 30
    assert record["sha256"] == m["sha256"]
    assert record_sets.changed_data_settings("me") == {}
    rows = record_sets.verify_sets_of("me", record)  # every face read back as written
    assert [r["set"] for r in rows] == ["me_train", "me_heldout"] and [r["examples"] for r in rows] == [len(train),
                                                                                                       len(held)]
    with pytest.raises(CourseError, match="no longer holds"):  # a split naming a frame the landmark set lacks
        record_sets.verify_sets_of("me", record | {"held_out_frames": [*held, 10_000]})
    with pytest.raises(CourseError):  # the sets hold other faces than the split says
        record_sets.verify_sets_of("me", record | {"train_frames": held, "held_out_frames": train})
    # the same call again reuses the records; a changed recording rewrites them
    again = record_sets.ensure_records("me", progress=False)
    assert again["split_id"] == record["split_id"]
    faces = personal.load_person_data("me", progress=False)
    assert len(faces["train"]) == len(train) and len(faces["held_out"]) == len(held)
    assert faces["train"].points.shape[1:] == (68, 2)
    record_sets.ensure_records("me", gap=0.2, encoding="raw", progress=False)  # a gap notebook 03 may set
    assert record_sets.changed_data_settings("me") == {"gap": 0.2}  # the encoding changes no face


@pytest.mark.slow
def test_fine_tune_saves_a_personal_model_that_beats_its_start(data_dir, capsys, monkeypatch):
    """Fine-tune an untrained 'generic' net for a few seconds on the second sample person: it must improve on
    its own starting point, keep batch norm frozen, and save the sidecar metrics the live demo reads."""
    import helpers
    from helpers import landmark_cnn as lcnn
    helpers.setup(42, tensorflow=True)
    generic = landmark_nets.compile_model(landmark_nets.build_model("heatmap", 64, 0), "heatmap", 64)
    faces = personal.load_person_data("other_person", progress=False)
    result = personal.fine_tune("other_person", generic, steps=60, lr=3e-3, data=faces, progress=False)
    pairs = [(mine, start) for mine, start in zip(result.model.layers, generic.layers)
             if mine.__class__.__name__ == "BatchNormalization"]
    assert pairs and not any(mine.trainable for mine, _ in pairs)
    for mine, start in pairs:  # frozen: the statistics of the generic model, untouched
        for a, b in zip(mine.get_weights(), start.get_weights()):
            np.testing.assert_array_equal(a, b)
    cmp = personal.compare(result.model, generic, faces["held_out"])
    assert cmp["metrics"]["nme_held_out"] < cmp["metrics"]["nme_held_out_generic"]
    meta = personal.save_personal_model("other_person", result, cmp["metrics"])
    side = json.loads(personal.personal_model_path("other_person").with_suffix(".json").read_text())
    assert side["metrics"]["nme_held_out"] == meta["metrics"]["nme_held_out"]
    assert side["person"] == "other_person" and side["source"] == "single_face.mp4"
    start = data_dir / "generic.keras"  # the model it was fine-tuned from, saved, so that ensure can check it
    generic.save(start)
    capsys.readouterr()
    path = personal.ensure_personal_model("other_person", generic=start)  # exists for this recording: no training
    assert path == personal.personal_model_path("other_person") and "personal landmark model" not in capsys.readouterr().out
    assert personal.source_warning(path, "other_person") is None
    warning = personal.source_warning(path, "sample")
    assert warning and "recording of other_person" in warning and "WolfgangLanger_Pexels.mp4 is another file" in warning
    assert "webcam" in personal.source_warning(path, 0)
    used, message = personal.model_for("other_person", build=False)
    assert used == path and "landmark_cnn_other_person.keras" in message and "personal" in message
    side_path = personal.personal_model_path("other_person").with_suffix(".json")
    worse = {**side, "metrics": {"nme_held_out": 0.05, "nme_held_out_generic": 0.04}}  # failed its check: not used
    side_path.write_text(json.dumps(worse))
    monkeypatch.setattr(lcnn, "ensure_landmark_model", lambda **_: data_dir / "generic.keras")
    used, message = personal.model_for("other_person", build=False)
    assert used == data_dir / "generic.keras" and "not better" in message and "5.0% vs" in message
    assert personal.beats_generic("sample", {"nme_held_out": 0.041, "nme_held_out_generic": 0.04})  # 5 % margin
    side_path.write_text(json.dumps(side))
    with pytest.raises(CourseError, match="nme_held_out"):
        personal.save_personal_model("other_person", result, {"nme_held_out": 0.1})
    other_start = data_dir / "generic2.keras"  # another generic model: the personal one is stale
    landmark_nets.compile_model(landmark_nets.build_model("heatmap", 64, 1), "heatmap", 64).save(other_start)
    personal.ensure_personal_model("other_person", generic=other_start, progress=False)
    assert "input 'init' changed" in capsys.readouterr().out


def test_generic_model_warns_on_other_people(data_dir):
    from helpers import landmark_cnn as lcnn
    generic = lcnn.default_model_path()
    generic.write_bytes(b"")  # only the sidecar is read
    lcnn.sidecar_path(generic).write_text(json.dumps({"kind": "heatmap", "metrics": {}}))
    assert personal.source_warning(generic, "sample") is None
    assert "never saw" in personal.source_warning(generic, 0)
    assert "single_face.mp4" in personal.source_warning(generic, "other_person")
