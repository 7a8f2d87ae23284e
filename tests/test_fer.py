"""FER2013 loaders: both forms, on small files made in the test, including every malformed case."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from helpers import CourseError
from helpers.fer import (FOLDER_NAMES, find_fer2013, make_dataset, read_fer_csv, read_fer_folders,
                         stratified_split, write_fer_csv)
from helpers.labels import EMOTIONS


def _faces(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 48, 48), dtype=np.uint8)


def _write_csv(path, rows, header="emotion,pixels,Usage"):
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def _row(label="3", n=2304, usage="Training", value="7"):
    return f"{label},{' '.join([value] * n)},{usage}"


def test_csv_round_trip(tmp_path):
    x = _faces(9)
    y = np.arange(9) % 7
    usages = ["Training"] * 5 + ["PublicTest"] * 2 + ["PrivateTest"] * 2
    data = read_fer_csv(write_fer_csv(tmp_path / "fer2013.csv", x, y, usages))
    assert data.x_train.shape == (5, 48, 48) and data.x_train.dtype == np.uint8
    np.testing.assert_array_equal(data.x_train, x[:5])
    np.testing.assert_array_equal(data.y_test, y[7:])
    assert sum(data.counts()["val"].values()) == 2


@pytest.mark.parametrize("row, message", [
    (_row(n=2303), "line 3: 2303 pixel values"),
    (_row(label="7"), "line 3: emotion label '7'"),
    (_row(label="x"), "line 3: emotion label 'x'"),
    (_row(usage="Validation"), "line 3: Usage 'Validation'"),
    (_row(value="256"), "line 3: pixel values must be 0-255"),
    (_row(value="a"), "line 3: the pixels field"),
    ("3,1 2 3", "line 3: 2 fields"),
])
def test_csv_bad_row_names_the_row(tmp_path, row, message):
    path = _write_csv(tmp_path / "fer2013.csv", [_row(), row, _row(usage="PublicTest"), _row(usage="PrivateTest")])
    with pytest.raises(CourseError, match=message):
        read_fer_csv(path)


def test_csv_bad_header_and_empty_split(tmp_path):
    with pytest.raises(CourseError, match="missing column"):
        read_fer_csv(_write_csv(tmp_path / "a.csv", [_row()], header="emotion,pixels"))
    with pytest.raises(CourseError, match="val split is empty"):
        read_fer_csv(_write_csv(tmp_path / "b.csv", [_row(), _row(usage="PrivateTest")]))
    with pytest.raises(CourseError, match="does not exist"):
        read_fer_csv(tmp_path / "missing.csv")


def _folders(root, names=None, per_class=3):
    names = names or ["angry", "disgusted", "fearful", "happy", "sad", "surprised", "neutral"]
    for split in ("train", "test"):
        for k, name in enumerate(names):
            d = root / split / name
            d.mkdir(parents=True)
            for i in range(per_class):
                cv2.imwrite(str(d / f"im{i}.png"), _faces(1, seed=10 * k + i)[0])
    return root


def test_folders_with_name_variants(tmp_path):
    # a non-ASCII folder name: cv2.imread cannot open those on Windows, read_image_folder must
    data = read_fer_folders(_folders(tmp_path / "fér2013 ü", per_class=10), val_fraction=0.2)
    assert data.x_test.shape == (70, 48, 48)
    assert len(data.y_train) == 56 and len(data.y_val) == 14
    assert data.counts()["val"] == {e: 2 for e in EMOTIONS}
    assert FOLDER_NAMES["disgusted"] == EMOTIONS.index("disgust") and FOLDER_NAMES["fearful"] == EMOTIONS.index("fear")


def test_folders_same_pixels_as_csv(tmp_path):
    root = _folders(tmp_path / "f", per_class=2)
    data = read_fer_folders(root, val_fraction=0.5)
    img = cv2.imread(str(root / "test" / "sad" / "im1.png"), cv2.IMREAD_GRAYSCALE)
    sad = data.x_test[data.y_test == EMOTIONS.index("sad")]
    assert any((img == s).all() for s in sad)


def test_folders_missing_class(tmp_path):
    root = _folders(tmp_path / "f", names=["angry", "disgust", "fear", "happy", "sad", "neutral"])
    with pytest.raises(CourseError, match=r"no folder for \['surprise'\]"):
        read_fer_folders(root)


def test_folders_unknown_folder_non_image_and_wrong_size(tmp_path):
    root = _folders(tmp_path / "a")
    (root / "train" / "bored").mkdir()
    with pytest.raises(CourseError, match="'bored' is not an emotion"):
        read_fer_folders(root)
    root = _folders(tmp_path / "b")
    (root / "train" / "happy" / "notes.txt").write_text("hello")
    with pytest.raises(CourseError, match="notes.txt: not an image"):
        read_fer_folders(root)
    root = _folders(tmp_path / "c")
    cv2.imwrite(str(root / "test" / "sad" / "big.png"), np.zeros((64, 64), np.uint8))
    with pytest.raises(CourseError, match="big.png: image is 64x64"):
        read_fer_folders(root)
    root = _folders(tmp_path / "d")
    (root / "test" / "sad" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(CourseError, match="broken.png: OpenCV cannot read"):
        read_fer_folders(root)


def test_find_fer2013(tmp_path):
    assert find_fer2013(tmp_path) is None
    _folders(tmp_path / "fer2013", per_class=1)
    assert find_fer2013(tmp_path) == tmp_path / "fer2013"
    write_fer_csv(tmp_path / "fer2013.csv", _faces(1), [0], ["Training"])
    assert find_fer2013(tmp_path) == tmp_path / "fer2013.csv"


def test_stratified_split_is_seeded_and_disjoint():
    y = np.repeat(np.arange(7), 10)
    keep, held = stratified_split(y, 0.2, seed=1)
    assert not set(keep) & set(held) and len(held) == 14
    np.testing.assert_array_equal(held, stratified_split(y, 0.2, seed=1)[1])


def test_make_dataset_shapes_and_scaling():
    x, y = _faces(10), np.arange(10) % 7
    xb, yb = next(iter(make_dataset(x, y, batch_size=4)))
    assert xb.shape == (4, 48, 48, 1) and yb.shape == (4, 7)
    assert float(xb.numpy().max()) <= 1.0 and np.allclose(xb.numpy()[0, ..., 0], x[0] / 255.0)
    assert yb.numpy()[3].argmax() == 3
    with pytest.raises(CourseError, match="labels must be 0-6"):
        make_dataset(x, np.full(10, 9))


def _all_classes(path, **kw):
    """A small CSV with every class in every split (what notebook 05 needs)."""
    rows = [_row(label=str(k), usage=u) for u in ("Training", "PublicTest", "PrivateTest") for k in range(7)]
    return _write_csv(path, rows, **kw)


def test_csv_as_downloads_and_spreadsheets_leave_it(tmp_path):
    """A byte-order mark, semicolons and a gzip-compressed file read as the plain CSV; archives and UTF-16 say what
    to do instead of a UnicodeDecodeError."""
    import gzip
    import tarfile
    import zipfile
    plain = read_fer_csv(_all_classes(tmp_path / "plain.csv"))
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + (tmp_path / "plain.csv").read_bytes())
    semi = tmp_path / "semi.csv"
    semi.write_text((tmp_path / "plain.csv").read_text().replace(",", ";"))
    gz = tmp_path / "gz.csv"
    gz.write_bytes(gzip.compress((tmp_path / "plain.csv").read_bytes()))
    for path in (bom, semi, gz):
        data = read_fer_csv(path)
        np.testing.assert_array_equal(data.y_train, plain.y_train)
        np.testing.assert_array_equal(data.x_test, plain.x_test)
    with zipfile.ZipFile(tmp_path / "z.csv", "w") as z:
        z.write(tmp_path / "plain.csv", "fer2013.csv")
    with pytest.raises(CourseError, match="zip archive.*unzip it"):
        read_fer_csv(tmp_path / "z.csv")
    with tarfile.open(tmp_path / "t.csv", "w:gz") as t:
        t.add(tmp_path / "plain.csv", "fer2013/fer2013.csv")
    with pytest.raises(CourseError, match="tar.gz archive.*unpack it"):
        read_fer_csv(tmp_path / "t.csv")
    (tmp_path / "u16.csv").write_text((tmp_path / "plain.csv").read_text(), encoding="utf-16")
    with pytest.raises(CourseError, match="UTF-16"):
        read_fer_csv(tmp_path / "u16.csv")
    (tmp_path / "latin.csv").write_bytes((tmp_path / "plain.csv").read_bytes() + b"3,\xe9\xe9,Training\n")
    with pytest.raises(CourseError, match="not UTF-8"):
        read_fer_csv(tmp_path / "latin.csv")


def test_near_misses_name_what_to_do(tmp_path, monkeypatch):
    from helpers.fer import load_fer2013, near_misses
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    assert near_misses() == []
    (tmp_path / "fer2013.zip").write_bytes(b"PK")
    _folders(tmp_path / "FER-2013")
    (tmp_path / "fer2013" / "train").mkdir(parents=True)
    tips = " | ".join(near_misses())
    assert "fer2013.zip is an archive" in tips and "FER-2013 holds train/" in tips and "has no test/" in tips, tips
    assert find_fer2013() is None
    with pytest.raises(CourseError, match="in a form the course reads.*fer2013.zip"):
        load_fer2013()


def test_folders_skip_system_files_and_refuse_nested_folders(tmp_path):
    root = _folders(tmp_path / "a", per_class=10)
    (root / "train" / "happy" / "Thumbs.db").write_bytes(b"\0" * 10)
    (root / "test" / "sad" / "desktop.ini").write_text("[.ShellClassInfo]")
    assert len(read_fer_folders(root).x_test) == 70
    (root / "train" / "happy" / "more").mkdir()
    with pytest.raises(CourseError, match="a folder inside the class folder happy"):
        read_fer_folders(root)


def test_every_class_in_train_and_test_or_a_clear_message(tmp_path):
    from helpers.fer import require_classes
    data = read_fer_csv(_all_classes(tmp_path / "all.csv"))
    assert require_classes(data) is data
    rows = [_row(label=str(k), usage=u) for u in ("Training", "PublicTest", "PrivateTest") for k in range(7)
            if not (u == "PrivateTest" and k == 1)]
    with pytest.raises(CourseError, match="the test split has no disgust faces"):
        require_classes(read_fer_csv(_write_csv(tmp_path / "nodisgust.csv", rows)))


def test_the_data_sentence_says_what_this_run_uses(tmp_path, monkeypatch):
    from helpers.emotion_data import data_sentence
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    assert "nowhere in data/ -> this run uses the offline stand-in" in data_sentence()
    (tmp_path / "fer2013.csv.gz").write_bytes(b"\x1f\x8b")
    assert "Nearly there" in data_sentence() and "fer2013.csv.gz is an archive" in data_sentence()
    _all_classes(tmp_path / "fer2013.csv")
    assert data_sentence() == f"FER2013 found at: {tmp_path / 'fer2013.csv'}"
    assert "USE_FER2013 = False: this run uses the offline stand-in" in data_sentence(False)
    _folders(tmp_path / "fer2013")
    assert "folders in" in data_sentence() and "are not read: the CSV comes first" in data_sentence()
