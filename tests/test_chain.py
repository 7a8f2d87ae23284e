"""A learner's own face goes through notebooks 01 -> 02 -> 03 -> 04 -> 06, set by parameters alone.

The learner is played by the zoo's ``late_face`` recording: 1.2 s of an empty room (a learner who starts
the recording and then sits down), then the second sample video's man (a person the generic landmark model
never saw), as ``SOURCE = <its path>`` under ``NAME = "me"``, in an empty ``COURSE_DATA_DIR`` (only the verified
sample files are linked in), with small sizes passed through papermill. The notebooks are built from
their sources (``notebooks/src``; the drift test keeps the ``.ipynb`` identical; set ``CHAIN_SOURCES``
to another folder of sources to try edits before they land). Checked: 04 saved
``landmark_cnn_me.keras`` whose sidecar metrics show the personal model beating the generic one on
me's held-out frames, and 06 used that model.

What a first run of the course on the sample made and is not NAME's own (04's generic trainings, 05's
emotion model) is copied in when the course's data folder has it (see :func:`notebook_run.reuse_course_run`), so the
chain's time goes to NAME's own stages, not to training the same generic models again.
``pytest -m "not slow"`` skips it.

The zoo test sends each recording of ``tests/zoo.py`` (a late face, a sideways phone clip, two people, a
dark room, 1080p 60 fps ...) through the same notebooks: a recording with enough of one face runs
through 01-04 and 06, one without stops with a CourseError saying what to record instead; a traceback
fails. It prints a table (``pytest -s``) and keeps it in ``build/zoo/chain_report.json``. It costs
about 4 minutes per "personal" case on 2 cores: ``COURSE_ZOO_DEEP=a,b`` runs 04 and 06 for those cases
only (``none``: for no case; the own-face chain above is ``late_face``'s, so a list without it skips that case, whose
01-03 the chain runs with the same settings; CI sets ``portrait_untagged``), ``COURSE_ZOO_UPTO=03_records`` stops
every case after 03 (a quick triage).
"""
from __future__ import annotations

import json
import os
import warnings

import pytest

from helpers.paths import data_dir

from notebook_run import failed_cell, fresh_data_folder, run_notebook

CHAIN = {  # notebook -> parameters (small sizes: the chain checks the wiring, not the quality targets); SOURCE: the test
    "01_capture": {"NAME": "me", "GRID_FRAMES": 4},
    "02_landmarks": {"NAME": "me", "SHOW_CROPS": 4},
    "03_records": {"NAME": "me", "PASSES": 2},
    "04_landmark_cnn": {"NAME": "me", "PERSONAL_STEPS": 60, "SHOW_FRAMES": 2},  # EPOCHS as by default: 04 checks its models
    "06_live_demo": {"NAME": "me", "LANDMARKS": "cnn", "FRAMES": 300, "SHOW": 1,
                     "ORIGINAL_FRAMES": 20, "MEMORY_CALLS": 60, "TRADEOFF_FRAMES": 60, "AB_FRAMES": 120,
                     "COMPARE_FRAMES": 20, "VIDEO_FRAMES": 10, "MIN_RATIO": 1},
}


OWN_FACE_CASE = "late_face"  # the zoo recording that plays the learner's own face: an empty room, then a person


@pytest.mark.slow
def test_own_face_through_the_course(tmp_path, monkeypatch):
    """Also the zoo's deep run of ``late_face`` (04 and 06 after a faceless start), at the chain's larger sizes: CI
    leaves ``late_face`` out of ``COURSE_ZOO_DEEP``."""
    import zoo
    source = str(zoo.build(OWN_FACE_CASE))  # built (or found cached) before COURSE_DATA_DIR moves
    root = tmp_path / "data"
    reused = fresh_data_folder(root, reuse_from=data_dir())
    print("copied from the course's own run on the sample:", reused or "nothing (04 and 06 train what they need)")
    monkeypatch.setenv("COURSE_DATA_DIR", str(root))  # the kernels inherit it
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    texts, seconds = {}, {}
    for name, params in CHAIN.items():
        own = {"SOURCE": source} if name in ("01_capture", "06_live_demo") else {}
        run = run_notebook(name, {**params, **own}, save_to=tmp_path)
        assert run.error is None, f"{name} stopped: {run.error}"
        seconds[name] = round(run.seconds)
        texts[name] = run.text
    print("chain run times (s):", seconds)
    if any(not r.startswith("emotion") for r in reused) and "reusing the finished training" not in texts["04_landmark_cnn"]:
        warnings.warn("04 trained its generic models again although the course's finished ones were copied in: "
                      "the chain's rebuild of the sample's records no longer matches the course's "
                      "(see train_model's fingerprint).")

    manifest = json.loads((root / "work" / "01_capture" / "me.json").read_text())
    empty_room = 36  # zoo._late_face: the room's frames come first
    assert set(range(empty_room)) <= set(manifest["no_face"]) and min(manifest["kept"]) >= empty_room, manifest["no_face"]
    assert (root / "work" / "02_landmarks" / "me.npz").exists()
    split = json.loads((root / "work" / "03_records" / "split_me.json").read_text())
    assert split["name"] == "me" and split["source"].endswith("late_face.mp4")
    model = root / "models" / "landmark_cnn_me.keras"
    assert model.exists() and model.with_suffix(".tflite").exists()
    side = json.loads(model.with_suffix(".json").read_text())
    metrics = side["metrics"]
    # the figures notebook 04 quotes (pytest -s shows them)
    print("personal model sidecar:", json.dumps(side, sort_keys=True))
    assert side["person"] == "me" and side["source"] == "late_face.mp4"
    assert 0 < metrics["nme_held_out"] < metrics["nme_held_out_generic"], metrics
    assert "landmark model: landmark_cnn_me.keras" in texts["06_live_demo"]
    assert "landmark_cnn_me.keras" in texts["06_live_demo"].split("landmarks:", 1)[-1]  # the pipeline's banner


# --- the zoo of learner recordings (tests/zoo.py) through the same chain ------------------------------------------

ZOO_CHAIN = {  # notebook -> parameters besides SOURCE / NAME / ROTATE (smaller than CHAIN: eleven recordings go through)
    "01_capture": {"GRID_FRAMES": 4},
    "02_landmarks": {"SHOW_CROPS": 4},
    "03_records": {"PASSES": 2},
    "04_landmark_cnn": {"PERSONAL_STEPS": 30, "SHOW_FRAMES": 2},
    "06_live_demo": {"LANDMARKS": "cnn", "FRAMES": 100, "SHOW": 1, "ORIGINAL_FRAMES": 10, "MEMORY_CALLS": 30,
                     "TRADEOFF_FRAMES": 30, "AB_FRAMES": 40, "COMPARE_FRAMES": 10, "VIDEO_FRAMES": 10, "MIN_RATIO": 1,
                     "COST_FRAMES": 20},
}
PERSONAL_ONLY = ("04_landmark_cnn", "06_live_demo")  # a recording without enough of one face stops before these
ZOO_UPTO = os.environ.get("COURSE_ZOO_UPTO", "")  # e.g. "03_records": stop every case there (a quick triage of 01-03)
ZOO_DEEP = os.environ.get("COURSE_ZOO_DEEP", "all")  # the "personal" cases that go on to 04 and 06: "all", "a,b", "none"


def _children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished children: a notebook's kernel once it has exited.

    Wall seconds on a shared CI machine depend on what else runs; CPU seconds say what the notebook costs."""
    import resource
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


def _save_report(case: str, row: dict) -> None:
    """Merge one case's row into build/zoo/chain_report.json (a -k run updates its cases, keeps the others' last rows)."""
    import zoo
    path = zoo.zoo_dir() / "chain_report.json"
    try:
        merged = json.loads(path.read_text())
    except (OSError, ValueError):
        merged = {}
    merged[case] = row
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(merged, indent=1, sort_keys=True))


@pytest.fixture(scope="module")
def zoo_report():
    """Case -> notebook -> what happened; each case saved as it ends (:func:`_save_report`), the table printed last."""
    import zoo
    report: dict = {}
    yield report
    if not report:
        return
    print("\n\nzoo chain (wall seconds / the kernel's CPU seconds; NME: personal vs generic model on the held-out frames):")
    for case, row in report.items():
        cells = []
        for nb, r in row["notebooks"].items():
            cells.append(f"{nb[:2]} {r['status']} {r['seconds']:.0f}s/{r.get('cpu_seconds', 0):.0f}cpu"
                         + (f" [{r['error'][:160]}]" if r["error"] else ""))
        nme = row.get("nme") or {}
        shown = (f"  NME {nme['nme_held_out']:.2%} vs {nme['nme_held_out_generic']:.2%}"
                 if None not in (nme.get("nme_held_out"), nme.get("nme_held_out_generic")) else "")
        print(f"{case:18} {row.get('verdict', '?'):5} {row.get('seconds', 0):5.0f}s  " + " | ".join(cells) + shown)
    print(f"written to {zoo.zoo_dir() / 'chain_report.json'}")


def _zoo_cases():
    import zoo
    return list(zoo.CASES)


@pytest.mark.slow
@pytest.mark.parametrize("case_name", _zoo_cases())
def test_zoo_recording_through_the_course(case_name, tmp_path, monkeypatch, zoo_report):
    """Each zoo recording either runs through 01-04 and 06, or stops with a CourseError that tells the learner what to
    record instead; a traceback from anything else fails. 04 and 06 run for the cases with enough of one face."""
    import zoo
    deep = ZOO_DEEP == "all" or case_name in ZOO_DEEP.split(",")
    if case_name == OWN_FACE_CASE and not deep and not ZOO_UPTO:
        pytest.skip(f"{OWN_FACE_CASE} goes through 01-04 and 06 in test_own_face_through_the_course (the same 01-03 "
                    "settings); CI runs it there, not here")
    case = zoo.CASES[case_name]
    source = str(zoo.build(case_name))  # built (or found cached) before COURSE_DATA_DIR moves
    root = tmp_path / "data"
    fresh_data_folder(root, reuse_from=data_dir())
    monkeypatch.setenv("COURSE_DATA_DIR", str(root))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    own = {"01_capture": {"SOURCE": source, "NAME": "me", "ROTATE": case.rotate},
           "06_live_demo": {"SOURCE": source, "NAME": "me", "ROTATE": case.rotate}}
    row = {"description": case.description, "expect": case.expect, "notebooks": {}, "upto": ZOO_UPTO or None,
           "deep": ZOO_DEEP}
    zoo_report[case_name] = row
    stopped = None
    for name, params in ZOO_CHAIN.items():
        if name in PERSONAL_ONLY and (case.expect != "personal" or not deep) or (ZOO_UPTO and name > ZOO_UPTO):
            break
        cpu = _children_cpu()
        run = run_notebook(name, {"NAME": "me", **params, **own.get(name, {})}, save_to=tmp_path / "out")
        cpu = _children_cpu() - cpu  # the kernel's CPU time: it has exited and been waited for
        status = "ran" if run.error is None else ("stopped" if run.course_error else "CRASH")
        row["notebooks"][name] = {"status": status, "seconds": round(run.seconds, 1), "cpu_seconds": round(cpu, 1),
                                  "error": run.error,
                                  "cell": failed_cell(run.nb) if run.error else None}
        if run.error is not None:
            stopped = name
            break
    row["seconds"] = round(sum(r["seconds"] for r in row["notebooks"].values()), 1)
    side = root / "models" / "landmark_cnn_me.json"
    if side.is_file():
        row["nme"] = {k: json.loads(side.read_text())["metrics"].get(k) for k in ("nme_held_out", "nme_held_out_generic")}
    last = row["notebooks"][stopped] if stopped else None
    row["verdict"] = ("crash" if last and last["status"] == "CRASH" else
                      "ok" if (case.expect == "personal") == (stopped is None) else "wrong")
    _save_report(case_name, row)
    if last and last["status"] == "CRASH":
        pytest.fail(f"{case_name}: {stopped} crashed in the cell starting {last['cell']!r}: {last['error']}")
    if case.expect == "personal":
        assert stopped is None, f"{case_name} ({case.description}) stopped in {stopped}: {last['error']}"
        if "04_landmark_cnn" in row["notebooks"]:
            assert row.get("nme") and 0 < row["nme"]["nme_held_out"], row
    else:
        assert stopped is not None, (f"{case_name} ({case.description}) ran through 01-03: the course should have "
                                     f"stopped with a CourseError ({case.expect})")
        assert stopped in ("01_capture", "02_landmarks", "03_records"), stopped
        assert "record" in last["error"].lower(), f"the stop does not say what to record instead: {last['error']}"
