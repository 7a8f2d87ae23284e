"""helpers.expressions: the label CSV format, its row-numbered errors, storing a recording under NAME, scoring."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from helpers import CourseError, data, expressions
from helpers.labels import EMOTIONS


def test_csv_is_parsed_with_aliases_comments_and_order():
    text = "Start,End,Label\n# a comment line\n3.0,5.0,Surprised  # trailing comment\n0,2.5,happy\n\n6,7,fearful\n"
    segs = expressions.parse_label_csv(text)
    assert [(s.start, s.end, s.label, s.row) for s in segs] == [(0.0, 2.5, "happy", 2), (3.0, 5.0, "surprise", 1),
                                                              (6.0, 7.0, "fear", 3)]
    assert expressions.parse_label_csv(text, duration=6.5)[-1].end == 6.5  # clipped to the clip's length
    assert len(expressions.parse_label_csv(expressions.template_csv())) == 7


@pytest.mark.parametrize("text, match", [
    ("", "empty"),
    ("from,to,label\n0,1,happy\n", "header"),
    ("start,end,label\n", "no rows"),
    ("start,end,label\n0,1,happy\n1,2\n", "row 2 .*3 values"),
    ("start,end,label\n0,1,happy\n1,two,sad\n", "row 2 .*seconds"),
    ("start,end,label\n0,1,happy\n2,1.5,sad\n", "row 2 .*after start"),
    ("start,end,label\n0,1,happy\n1,2,joy\n", "row 2 .*unknown label 'joy'.*angry, disgust"),
    ("start,end,label\n0,2,happy\n1.5,3,sad\n", "row 2: 1.5-3 s overlaps row 1"),
    ("start,end,label\n-1,2,happy\n", "row 1 .*0 or more"),
    ("start,end,label\n0,1,happy\n9,10,sad\n", "row 2 .*only 5.00 s long"),
])
def test_csv_errors_name_the_row(text, match):
    with pytest.raises(CourseError, match=match):
        expressions.parse_label_csv(text, duration=5.0)


def test_sample_labels_are_valid():
    for person, text in expressions.SAMPLE_LABELS.items():
        assert person in data.REGISTRY
        segs = expressions.parse_label_csv(text, name=person)
        assert segs and all(s.label in EMOTIONS for s in segs)
    assert {s.label for t in expressions.SAMPLE_LABELS.values() for s in expressions.parse_label_csv(t)} == \
        {"sad", "fear", "happy", "neutral"}


def _clip(path, frames):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (640, 360))
    for f in frames:
        writer.write(f)
    writer.release()
    return path


@pytest.fixture(scope="module")
def person_frames():
    cap = cv2.VideoCapture(str(data.fetch("other_person")))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    cap.release()
    return frames


def test_one_clip_with_csv_is_stored_and_read(data_dir, tmp_path, person_frames):
    """The second sample video as 'my recording' + a CSV, with a stretch without a face inserted: those frames are
    skipped."""
    black = [np.zeros_like(person_frames[0])] * 6
    clip = _clip(tmp_path / "mine.mp4", person_frames[:18] + black + person_frames[18:72])  # 78 frames, 2.6 s
    labels = tmp_path / "mine.csv"
    labels.write_text("start,end,label\n0.0,0.8,neutral\n1.4,2.6,happy\n")
    assert not expressions.has_recording("me")
    folder = expressions.import_recording("me", clip, labels)
    assert sorted(p.name for p in folder.iterdir()) == ["clip.mp4", "labels.csv"]
    assert expressions.has_recording("me")
    faces = expressions.load_expressions("me", step=3, progress=False)
    assert faces.faces.shape[1:] == (48, 48) and faces.faces.dtype == np.uint8
    counts = faces.counts()
    assert counts["neutral"] >= 4 and counts["happy"] >= 10 and sum(counts.values()) == len(faces)
    assert faces.skipped["no_face"] == 2  # frames 18-23 are black; read every 3rd: 18 and 21
    assert "me" in faces.description
    # a bad CSV is refused before anything is stored, naming the row
    labels.write_text("start,end,label\n0,1,happy\n3,5,sad\n")
    with pytest.raises(CourseError, match="row 2 .*only 2.60 s long"):
        expressions.import_recording("me", clip, labels)
    assert (folder / "clip.mp4").exists()  # the earlier recording is kept


def test_seven_clips_and_missing_recording(data_dir, tmp_path, person_frames, capsys):
    a = _clip(tmp_path / "a.mp4", person_frames[:36])
    b = _clip(tmp_path / "b.mp4", person_frames[36:72])
    folder = expressions.import_clips("you", {"Neutral": a, "happy": b})
    assert sorted(p.name for p in folder.iterdir()) == ["happy.mp4", "neutral.mp4"]
    pairs = expressions.segments_of("you")
    assert [s.label for _, s in pairs] == ["happy", "neutral"] and all(s.start == expressions.SKIP_SECONDS for _, s in pairs)
    with pytest.raises(CourseError, match="unknown label 'smile'"):
        expressions.import_clips("you", {"smile": a})
    with pytest.raises(CourseError, match="import_clips"):
        expressions.segments_of("nobody")
    with pytest.raises(CourseError, match="NAME"):
        expressions.expressions_dir("../x")


@pytest.mark.slow
def test_sample_faces_and_scores(data_dir, capsys):
    """Without a recording: the sample people's frames, said so; the peer model scores them (well above chance)."""
    import shutil
    from helpers.emotion import EmotionClassifier
    from helpers.paths import ROOT
    ready = ROOT / "data" / "work" / "02_landmarks"  # reuse the project's landmark sets when there (else rebuilt: ~1.5 min)
    for person in expressions.SAMPLE_LABELS:
        if (ready / f"{person}.npz").exists():
            (data_dir / "work" / "02_landmarks").mkdir(parents=True, exist_ok=True)
            shutil.copy(ready / f"{person}.npz", data_dir / "work" / "02_landmarks" / f"{person}.npz")
    faces = expressions.load_expressions("nobody", progress=False)
    assert "sample people's real frames" in capsys.readouterr().out
    counts = faces.counts()
    assert counts["happy"] > 200 and counts["sad"] > 100 and counts["fear"] > 50 and counts["neutral"] > 10
    res = expressions.score({"peer": EmotionClassifier.peer()}, faces)["peer"]
    assert np.array(res["confusion"]).sum() == len(faces)
    assert res["accuracy"] > 0.4  # chance with 4 classes present is about 0.25
