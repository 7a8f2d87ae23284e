"""One artifact layer (helpers.artifacts): every stage reuses what the same recipe made, and says why it rebuilds.

Per stage: unchanged -> reused (nothing printed); a changed parameter, format or upstream artifact -> rebuilt,
with the reason printed.
"""
from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest

from helpers import artifacts, capture, data, landmark_sets, record_sets
from helpers.artifacts import Recipe


# ------------------------------------------------------------------------------------------------- the rule itself
def test_key_is_stable_and_changes_with_every_part():
    base = Recipe("stage", 1, {"a": 1, "b": [1, 2]}, {"up": "k1"})
    assert base.key == Recipe("stage", 1, {"b": [1, 2], "a": 1}, {"up": "k1"}).key  # order does not matter
    others = [Recipe("other", 1, base.params, base.inputs), Recipe("stage", 2, base.params, base.inputs),
              Recipe("stage", 1, {"a": 2, "b": [1, 2]}, base.inputs), Recipe("stage", 1, base.params, {"up": "k2"})]
    assert len({base.key} | {r.key for r in others}) == 5


def test_why_rebuild_names_what_changed(tmp_path):
    path = tmp_path / "thing.npz"
    recipe = Recipe("stage", 1, {"step": 1}, {"video": "abc"})
    assert "missing" in artifacts.why_rebuild(path, recipe)
    path.write_bytes(b"x")
    assert "no recipe" in artifacts.why_rebuild(path, recipe)
    artifacts.commit(path, recipe)
    assert artifacts.why_rebuild(path, recipe) is None
    assert artifacts.key_of(path) == recipe.key
    assert "step was 1, now 2" in artifacts.why_rebuild(path, Recipe("stage", 1, {"step": 2}, {"video": "abc"}))
    assert "format 1, this course writes format 2" in artifacts.why_rebuild(path, Recipe("stage", 2, {"step": 1},
                                                                                         {"video": "abc"}))
    assert "input 'video' changed" in artifacts.why_rebuild(path, Recipe("stage", 1, {"step": 1}, {"video": "def"}))
    assert "other.txt is missing" in artifacts.why_rebuild(path, recipe, also=(tmp_path / "other.txt",))
    assert artifacts.why_rebuild(path, recipe, intact=lambda: "a shard is broken") == "a shard is broken"
    artifacts.recipe_path(path).write_text("{not json")
    assert "no recipe" in artifacts.why_rebuild(path, recipe)


def test_settle_prefers_asked_then_saved_then_default(tmp_path):
    path = tmp_path / "a.json"
    assert artifacts.settle(path, {"x": None}, {"x": 1, "y": 2}) == {"x": 1, "y": 2}
    artifacts.commit(path, Recipe("s", 1, {"x": 5, "y": 6}))
    assert artifacts.settle(path, {"x": None}, {"x": 1, "y": 2}) == {"x": 5, "y": 6}
    assert artifacts.settle(path, {"x": 7}, {"x": 1, "y": 2}) == {"x": 7, "y": 6}


def test_ensure_builds_commits_and_reuses(tmp_path, capsys):
    path = tmp_path / "v.txt"
    calls = []

    def build():
        calls.append(1)
        path.write_text("built")
        return "built"

    recipe = Recipe("s", 1, {"n": 1})
    kwargs = {"build": build, "load": lambda: path.read_text(), "what": "The thing"}
    assert artifacts.ensure(path, recipe, **kwargs) == "built" and calls == [1]
    assert "The thing" in capsys.readouterr().out
    assert artifacts.ensure(path, recipe, **kwargs) == "built" and calls == [1]
    assert capsys.readouterr().out == ""
    artifacts.ensure(path, Recipe("s", 1, {"n": 2}), **kwargs)
    assert calls == [1, 1] and "n was 1, now 2" in capsys.readouterr().out


def test_a_rebuild_that_fails_leaves_no_recipe(tmp_path):
    """The old recipe goes before the files are rewritten: a crash mid-rebuild is rebuilt, never reused."""
    path = tmp_path / "v.txt"
    path.write_text("old")
    artifacts.commit(path, Recipe("s", 1, {"n": 1}))

    def crash():
        path.write_text("half new")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        artifacts.ensure(path, Recipe("s", 1, {"n": 2}), build=crash, load=path.read_text, what="The thing")
    assert artifacts.saved_recipe(path) is None
    assert "no recipe" in artifacts.why_rebuild(path, Recipe("s", 1, {"n": 1}))


# ------------------------------------------------------------------------------------------------- the stages
@pytest.fixture
def recording(data_dir, sample_video):
    """NAME = "me": a learner's recording (a copy of the sample) scanned every 12th frame (40), as notebook 01 saves it."""
    own = data_dir / "me.mp4"
    shutil.copy(sample_video, own)
    capture.save_manifest("me", capture.scan_source(own, step=12, progress=False))
    return own


def _rerecord(path, frames: int = 60):
    """Overwrite the recording with another clip (the second sample person): same path, other content."""
    cap = cv2.VideoCapture(str(data.fetch("other_person")))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (640, 360))
    for _ in range(frames):
        ok, frame = cap.read()
        if not ok:
            break
        writer.write(frame)
    writer.release()
    cap.release()


def test_manifest_stage(recording, capsys):
    first = capture.ensure_manifest("me")
    assert capsys.readouterr().out == "" and first["settings"]["step"] == 12  # notebook 01's choice is kept
    again = capture.ensure_manifest("me", step=40)
    assert again["settings"]["step"] == 40 and "step was 12, now 40" in capsys.readouterr().out
    capture.ensure_manifest("me")
    assert capsys.readouterr().out == ""
    _rerecord(recording)
    redone = capture.ensure_manifest("me")
    assert redone["sha256"] != first["sha256"] and "input 'video' changed" in capsys.readouterr().out


def test_manifest_finds_its_recording_after_the_data_folder_moved(recording, data_dir, capsys):
    import json
    path = capture.manifest_path("me")
    saved = json.loads(path.read_text())
    moved = data_dir / "work" / "01_capture" / "me.mp4"  # where notebook 01 keeps a webcam recording
    shutil.move(recording, moved)
    assert capture.ensure_manifest("me")["source"] == str(moved) and capsys.readouterr().out == ""
    moved.unlink()
    with pytest.raises(Exception, match="run notebook 01 again|Run notebook 01 again"):
        capture.ensure_manifest("me")
    assert json.loads(path.read_text()) == saved  # nothing saved was lost


def test_landmark_set_stage_follows_its_manifest(recording, capsys):
    ls = landmark_sets.ensure_landmark_set("me")
    assert "landmark set of 'me'" in capsys.readouterr().out and len(ls) > 10  # built: there was none
    landmark_sets.ensure_landmark_set("me")
    assert capsys.readouterr().out == ""
    landmark_sets.ensure_landmark_set("me", margin=0.25)
    assert "margin was 0.3, now 0.25" in capsys.readouterr().out
    _rerecord(recording)  # re-recorded in 01, 02 skipped: the old faces must not pass
    capture.save_manifest("me", capture.scan_source(recording, step=20, progress=False))
    redone = landmark_sets.ensure_landmark_set("me")
    out = capsys.readouterr().out
    assert "input 'manifest' changed" in out and redone.meta["margin"] == 0.25  # 02's setting is kept
    assert len(redone) < len(ls)  # 60 frames of the other person instead of 472 of the sample


def test_record_stage_follows_its_landmark_set(recording, capsys):
    first = record_sets.ensure_records("me", progress=False)
    assert "records of 'me'" in capsys.readouterr().out
    assert record_sets.ensure_records("me", progress=False)["split_id"] == first["split_id"]
    assert capsys.readouterr().out == ""
    record_sets.ensure_records("me", gap=0.2, progress=False)
    assert "gap was 0.5, now 0.2" in capsys.readouterr().out
    landmark_sets.ensure_landmark_set("me", margin=0.25)
    capsys.readouterr()
    redone = record_sets.ensure_records("me", progress=False)
    assert "input 'faces' changed" in capsys.readouterr().out and redone["split_id"] != first["split_id"]
    assert redone["gap_seconds"] == 0.2  # 03's setting is kept


def test_standin_stage(data_dir, monkeypatch, capsys):
    from helpers import standin
    built = []

    def fake_build(*, progress=True, **params):
        built.append(params)
        n = 7
        return {"images": np.zeros((n, 48, 48), np.uint8), "labels": np.arange(n), "split": np.array(["train"] * n),
                "origin": np.array(["teacher"] * n), "source": np.array(["x"] * n), "frame": np.zeros(n, np.int32),
                "probs": np.zeros((n, 7), np.float32), "meta": {}}

    monkeypatch.setattr(standin, "build_standin", fake_build)
    monkeypatch.setattr(landmark_sets, "ensure_landmark_set", lambda *a, **k: None)
    standin.ensure_standin(progress=False)
    assert len(built) == 1 and "stand-in" in capsys.readouterr().out
    standin.ensure_standin(progress=False)
    assert len(built) == 1 and capsys.readouterr().out == ""
    standin.ensure_standin(progress=False, seed=1)
    assert len(built) == 2 and "seed was 42, now 1" in capsys.readouterr().out
    monkeypatch.setattr(standin, "VERSION", standin.VERSION + 1)
    standin.ensure_standin(progress=False, seed=1)
    assert len(built) == 3 and "this course writes format" in capsys.readouterr().out


@pytest.mark.slow
def test_landmark_model_stage_follows_its_data(data_dir, monkeypatch, capsys):
    from helpers import landmark_cnn as lcnn
    from helpers.landmark_data import FaceData

    def faces(seed: int, n: int = 24) -> dict[str, FaceData]:
        r = np.random.default_rng(seed)
        crops = r.integers(0, 256, (n, 128, 128, 3), dtype=np.uint8)
        points = (40 + 48 * r.random((n, 68, 2))).astype(np.float32)
        return {"train": FaceData(crops, points, "train"), "held_out": FaceData(crops[:4], points[:4], "held_out")}

    monkeypatch.setattr(lcnn, "load_face_data", lambda progress=True: faces(1))
    path = lcnn.ensure_landmark_model(seconds=2, progress=False)
    assert "landmark model" in capsys.readouterr().out and artifacts.key_of(path)
    assert lcnn.ensure_landmark_model(progress=False) == path  # any budget will do: the data is the same
    assert "landmark model" not in capsys.readouterr().out
    monkeypatch.setattr(lcnn, "load_face_data", lambda progress=True: faces(2))  # new records
    lcnn.ensure_landmark_model(seconds=2, progress=False)
    assert "input 'data' changed" in capsys.readouterr().out


@pytest.mark.slow
def test_emotion_model_stage_follows_its_data(data_dir, monkeypatch, capsys):
    from helpers import emotion_data
    from helpers.fer import FerSplits

    def splits(seed: int) -> FerSplits:
        r = np.random.default_rng(seed)
        x = r.integers(0, 256, (28, 48, 48), dtype=np.uint8)
        y = np.arange(28) % 7
        return FerSplits(x, y, x[:7], y[:7], x[:7], y[:7], source="random")

    monkeypatch.setattr(emotion_data, "load_data", lambda *a, **k: splits(1))
    path = emotion_data.ensure_emotion_model(epochs=1, progress=False)
    assert "emotion model" in capsys.readouterr().out
    emotion_data.ensure_emotion_model(progress=False)
    assert "emotion model" not in capsys.readouterr().out
    emotion_data.ensure_emotion_model(epochs=2, progress=False)
    assert "epochs was 1, now 2" in capsys.readouterr().out
    monkeypatch.setattr(emotion_data, "load_data", lambda *a, **k: splits(2))
    emotion_data.ensure_emotion_model(progress=False)
    assert "input 'data' changed" in capsys.readouterr().out and path.exists()
