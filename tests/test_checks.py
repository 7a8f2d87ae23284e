"""The two kinds of checks (helpers.checks) and the recording's report (helpers.recording)."""
from __future__ import annotations

import re

import numpy as np
import pytest

from helpers import capture, recording
from helpers.checks import Checks, shipped_parameters


def test_shipped_parameters_are_read_from_the_source():
    shipped = shipped_parameters("01_capture")
    assert shipped["SOURCE"] == "sample" and shipped["MAX_SIDE"] == 640
    assert shipped_parameters("no_such_notebook") == {}


def test_expect_asserts_as_shipped_and_prints_otherwise(capsys):
    as_shipped = dict(shipped_parameters("01_capture"))
    checks = Checks("01_capture", as_shipped)
    assert checks.as_shipped and "asserts" in capsys.readouterr().out
    checks.expect(True, "holds")
    with pytest.raises(AssertionError, match="the sample has one face"):
        checks.expect(False, "the sample has one face")
    other = Checks("01_capture", dict(as_shipped, SOURCE="me.mp4"))
    assert not other.as_shipped and "SOURCE = 'me.mp4' (shipped: 'sample')" in capsys.readouterr().out
    other.expect(False, "the sample has one face", "Record again.")
    assert other.misses == ["the sample has one face"]
    out = capsys.readouterr().out
    assert "the sample has one face; not in this run. Record again." in out


def test_other_data_makes_the_checks_print(capsys):
    """Notebook 05 as shipped on a learner's FER2013: the checks written for the stand-in print instead of stopping."""
    checks = Checks("05_emotion_cnn", dict(shipped_parameters("05_emotion_cnn")))
    checks.data(True, "offline stand-in")
    assert checks.as_shipped
    capsys.readouterr()
    checks.data(False, "FER2013 CSV data/fer2013.csv")
    assert not checks.as_shipped and "data = 'FER2013 CSV data/fer2013.csv'" in capsys.readouterr().out
    checks.expect(False, "the course model scores over 3x chance")
    assert checks.misses == ["the course model scores over 3x chance"]


def _manifest(faces, sides=None, light=None, step=1):
    keys = [str(i * step) for i in range(len(faces))]
    return {"faces_per_frame": dict(zip(keys, faces)), "best_score": dict.fromkeys(keys, 0.5),
            "face_side": dict(zip(keys, sides or [100] * len(faces))),
            "brightness": dict(zip(keys, light or [100] * len(faces))), "settings": {"step": step}, "info": {"fps": 10}}


def test_report_gives_reasons_with_time_ranges_and_advice():
    faces = [0] * 10 + [1] * 40 + [2] * 5 + [1] * 5
    sides = [0] * 10 + [100] * 40 + [100] * 5 + [20] * 5
    light = [10] * 5 + [100] * 55
    rep = recording.report(_manifest(faces, sides, light))
    assert rep["kept"] == 40 and rep["skipped"] == {"too dark": 5, "no face": 5, "several faces": 5, "face too small": 5}
    assert rep["ranges"]["too dark"] == [(0.0, 0.5)] and rep["ranges"]["no face"] == [(0.5, 1.0)]
    assert rep["ranges"]["several faces"] == [(5.0, 5.5)] and rep["enough"]
    assert "light" in rep["text"] and "closer" in rep["text"]
    few = recording.report(_manifest([1] * 5 + [0] * 20))
    assert not few["enough"] and "at least 30" in few["advice"][0]
    none = recording.report(_manifest([0] * 8))
    assert none["kept"] == 0 and "No frame can become data" in none["advice"][0]


def test_report_advice_for_stepping_out_a_far_face_and_a_turned_clip():
    """A dim room you stepped out of is "no face", not "too dark"; a long clip with few frames kept is not told to record
    longer; a clip without faces is told about ROTATE without "record again" for it; reasons are said once."""
    faces = [1] * 40 + [0] * 20 + [1] * 40
    light = [63] * 40 + [36] * 20 + [63] * 40  # the sample's room: 58-69 with her in it, 36 without
    rep = recording.report(_manifest(faces, light=light))
    assert rep["skipped"] == {"no face": 20} and "too dark" not in rep["text"]
    far = recording.report(_manifest([1] + [0] * 99))  # 10 s, one face found in it
    assert "Only 1 frame is kept" in far["text"] and "longer clip" not in far["text"], far["text"]
    sparse = recording.report(_manifest([1] * 12, step=10))  # 12 s read every 10th frame: nothing skipped, too few
    assert "a smaller STEP" in sparse["text"], sparse["text"]
    turned = recording.report(_manifest([0] * 100))
    assert "ROTATE (try 90 or 270; no new recording needed)" in turned["advice"][0]
    pair = recording.report(_manifest([2] * 60))
    assert sum("several faces" in a for a in pair["advice"]) == 1, pair["advice"]


def test_report_advice_for_two_people_a_short_clip_and_a_cut_file():
    """What a learner's own clip gets: the reason that emptied it first, a short clip and a cut-short file named."""
    pair = recording.report(_manifest([2] * 60))
    assert pair["kept"] == 0 and "record alone" in pair["advice"][0]
    short = _manifest([1] * 60)
    short["info"]["fps"] = 30  # 60 frames: 2 s
    rep = recording.report(short)
    assert rep["enough"] and "only 2.0 s long" in rep["text"] and "Enough frames" not in rep["text"]
    cut = _manifest([1] * 100)
    cut["info"]["frames"] = 200  # the header promised twice what could be read
    rep = recording.report(cut)
    assert "100 of the 200 frames" in rep["text"] and "cut short" in rep["text"]
    cut["info"]["frames"] = 104  # a header's estimate a little off: no advice
    assert recording.report(cut)["text"].endswith("Enough frames to go on.")
    scores = _manifest([0, 1, 1])
    scores["best_score"] = {"0": 0.0, "1": 0.8, "2": 0.3}
    assert recording.lowest_score(scores) == (2, 0.3) and recording.lowest_score(_manifest([0, 0])) is None


def test_a_recording_without_a_usable_frame_stops_with_what_to_record():
    from helpers.errors import CourseError
    m = _manifest([0] * 8)
    m["kept"] = []
    with pytest.raises(CourseError, match="no frame with exactly one face.*record again"):
        capture.check_kept("me", m)


def test_the_samples_manifest_is_never_replaced_by_other_settings():
    own = str(capture.resolve("sample"))
    assert capture.save_name("sample", {"source": own, "settings": dict(capture.SETTINGS)}) == "sample"
    assert capture.save_name("sample", {"source": own, "settings": dict(capture.SETTINGS, step=4)}) == "sample-step4"
    assert capture.save_name("sample", {"source": "/x/My clip.mp4", "settings": dict(capture.SETTINGS)}) == "sample-My_clip"
    assert capture.save_name("me", {"source": "/x/me.mp4", "settings": dict(capture.SETTINGS, step=4)}) == "me"
    assert capture.saved_note("me", "me") == "" and "keeps its manifest" in capture.saved_note("sample", "sample-step4")


def test_a_learners_name_never_gets_the_samples_frames():
    """No webcam (or no browser recording yet): notebook 01 falls back to the sample video. Its scan must not be
    saved as the learner's NAME, or notebooks 02-04 would train a personal model of 'me' on the sample's woman."""
    own = str(capture.resolve("sample"))
    assert capture.save_name("me", {"source": own, "settings": dict(capture.SETTINGS)}) == "sample"
    assert capture.save_name("me", {"source": own, "settings": dict(capture.SETTINGS, step=4)}) == "sample-step4"
    assert "not of a recording of you" in capture.saved_note("me", "sample")
    # the second sample video as "me" is a deliberate choice (the course's tests play a learner with it)
    other = str(capture.resolve("other_person"))
    assert capture.save_name("me", {"source": other, "settings": dict(capture.SETTINGS)}) == "me"


def test_first_face_frame_skips_faceless_frames(no_face_video, sample_video):
    assert recording.first_face_frame(no_face_video) is None
    frame = recording.first_face_frame(sample_video, step=50)
    assert frame is not None and frame.index == 0


@pytest.mark.parametrize("notebook", ["01_capture", "02_landmarks", "03_records", "04_landmark_cnn", "05_emotion_cnn",
                                      "06_live_demo"])
def test_papermill_reads_every_setting_of_the_parameters_cell(notebook):
    """papermill's parser skips a line with a second '=' (in its comment): `-p` on that name would warn 'unknown'."""
    import papermill
    from helpers.paths import ROOT
    found = papermill.inspect_notebook(str(ROOT / "notebooks" / f"{notebook}.ipynb"))
    assert set(found) >= set(shipped_parameters(notebook)), set(shipped_parameters(notebook)) - set(found)


def test_a_landmark_set_says_which_crop_settings_differ_from_the_course():
    from types import SimpleNamespace

    from helpers.landmark_sets import changed_settings
    assert changed_settings(SimpleNamespace(meta={"crop_size": 128, "margin": 0.3})) == {}
    assert changed_settings(SimpleNamespace(meta={"crop_size": 64, "margin": 0.3})) == {"crop_size": 64}


def test_a_sideways_frame_names_the_rotate_that_shows_its_face(sample_video):
    from helpers.video import read_frames, rotate_image
    frame = next(iter(read_frames(sample_video, max_frames=1))).image
    sideways = rotate_image(frame, 270)  # a phone clip stored a quarter turn off, no tag
    assert "set ROTATE = 90" in recording.rotation_hint(sideways)
    assert "set ROTATE = 0" in recording.rotation_hint(sideways, rotate=270)  # the learner turned it the wrong way
    assert recording.rotation_hint(np.zeros((90, 160, 3), np.uint8)) == ""


def test_a_setting_of_the_wrong_kind_or_too_small_stops_at_once_naming_it(capsys):
    """Values a learner may type: a number in quotes, "False", one seed for a tuple, 0 frames, stop in the Checks cell
    with the parameter's name; a whole-number float is read as the whole number; text where the comment offers it
    (06's SOURCE = 0 or a path) and None where the comment allows it pass."""
    import pytest

    from helpers.checks import Checks, shipped_parameters
    from helpers.errors import CourseError

    def run(notebook, at_least=None, **changes):
        namespace = {**shipped_parameters(notebook), **changes}
        Checks(notebook, namespace, quiet=True, at_least=at_least)
        return namespace

    for notebook, changes, said in [
            ("01_capture", {"ROTATE": "90"}, "ROTATE = '90': it needs a number (without quotes)"),
            ("05_emotion_cnn", {"BATCH_SIZE": None}, None),  # its comment does not offer None ...
            ("04_landmark_cnn", {"SAVE_MODEL": "False"}, "write False without quotes"),
            ("05_emotion_cnn", {"EXTRA_SEEDS": 1}, "it needs a tuple, e.g. (1,)"),
            ("06_live_demo", {"CUT_SEGMENT": 0}, "CUT_SEGMENT = 0: it must be at least 1")]:
        if said is None:
            with pytest.raises(CourseError, match="BATCH_SIZE = None"):
                run(notebook, **changes)
            continue
        with pytest.raises(CourseError, match=re.escape(said)):
            run(notebook, at_least={"CUT_SEGMENT": 1}, **changes)
    assert run("01_capture", MAX_FRAMES=None, MAX_SIDE=None, STEP=3)["STEP"] == 3  # ... these comments do
    assert run("06_live_demo", SOURCE="my clip.mp4")["SOURCE"] == "my clip.mp4"
    namespace = run("05_emotion_cnn", EPOCHS=2.0)
    assert namespace["EPOCHS"] == 2 and isinstance(namespace["EPOCHS"], int) and "read as 2" in capsys.readouterr().out
    assert run("01_capture", {"STEP": 1}, STEP=1)["STEP"] == 1
