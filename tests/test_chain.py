"""A learner's own face goes through notebooks 01 -> 02 -> 03 -> 04 -> 06, set by parameters alone.

The learner is played by the second sample video (``SOURCE = "other_person"``, a person the generic
landmark model never saw) under ``NAME = "me"``, in an empty ``COURSE_DATA_DIR`` (only the verified
sample files are linked in), with small sizes passed through papermill. The notebooks are built from
their sources (``notebooks/src``; the drift test keeps the ``.ipynb`` identical; set ``CHAIN_SOURCES``
to another folder of sources to try edits before they land). Checked: 04 saved
``landmark_cnn_me.keras`` whose sidecar metrics show the personal model beating the generic one on
me's held-out frames, and 06 used that model.

What a first run of the course on the sample made and is not NAME's own (04's generic trainings, 05's
emotion model) is copied in when the course's data folder has it (see :func:`notebook_run.reuse_course_run`), so the
chain's time goes to NAME's own stages, not to training the same generic models again.
``pytest -m "not slow"`` skips it.
"""
from __future__ import annotations

import json
import warnings

import pytest

from helpers.paths import data_dir

from notebook_run import fresh_data_folder, run_notebook

CHAIN = {  # notebook -> parameters (small sizes: the chain checks the wiring, not the quality targets)
    "01_capture": {"SOURCE": "other_person", "NAME": "me", "GRID_FRAMES": 4},
    "02_landmarks": {"NAME": "me", "SHOW_CROPS": 4},
    "03_records": {"NAME": "me", "PASSES": 2},
    "04_landmark_cnn": {"NAME": "me", "PERSONAL_STEPS": 60, "SHOW_FRAMES": 2},  # EPOCHS as by default: 04 checks its models
    "06_live_demo": {"NAME": "me", "LANDMARKS": "cnn", "SOURCE": "other_person", "FRAMES": 300, "SHOW": 1,
                     "ORIGINAL_FRAMES": 20, "MEMORY_CALLS": 60, "TRADEOFF_FRAMES": 60, "AB_FRAMES": 120,
                     "COMPARE_FRAMES": 20, "VIDEO_FRAMES": 10, "MIN_RATIO": 1},
}


@pytest.mark.slow
def test_own_face_through_the_course(tmp_path, monkeypatch):
    root = tmp_path / "data"
    reused = fresh_data_folder(root, reuse_from=data_dir())
    print("copied from the course's own run on the sample:", reused or "nothing (04 and 06 train what they need)")
    monkeypatch.setenv("COURSE_DATA_DIR", str(root))  # the kernels inherit it
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    texts, seconds = {}, {}
    for name, params in CHAIN.items():
        run = run_notebook(name, params, save_to=tmp_path)
        assert run.error is None, f"{name} stopped: {run.error}"
        seconds[name] = round(run.seconds)
        texts[name] = run.text
    print("chain run times (s):", seconds)
    if any(not r.startswith("emotion") for r in reused) and "reusing the finished training" not in texts["04_landmark_cnn"]:
        warnings.warn("04 trained its generic models again although the course's finished ones were copied in: "
                      "the chain's rebuild of the sample's records no longer matches the course's "
                      "(see train_model's fingerprint).")

    assert (root / "work" / "01_capture" / "me.json").exists()
    assert (root / "work" / "02_landmarks" / "me.npz").exists()
    split = json.loads((root / "work" / "03_records" / "split_me.json").read_text())
    assert split["name"] == "me" and split["source"].endswith("single_face.mp4")
    model = root / "models" / "landmark_cnn_me.keras"
    assert model.exists() and model.with_suffix(".tflite").exists()
    side = json.loads(model.with_suffix(".json").read_text())
    metrics = side["metrics"]
    # the figures notebook 04 quotes (pytest -s shows them)
    print("personal model sidecar:", json.dumps(side, sort_keys=True))
    assert side["person"] == "me" and side["source"] == "single_face.mp4"
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
                     "TRADEOFF_FRAMES": 30, "AB_FRAMES": 40, "COMPARE_FRAMES": 10, "VIDEO_FRAMES": 10, "MIN_RATIO": 1},
}
PERSONAL_ONLY = ("04_landmark_cnn", "06_live_demo")  # a recording without enough of one face stops before these


def _failed_cell(nb) -> str:
    """The first line of the code cell whose output holds the error ('' if none)."""
    for cell in nb.cells:
        if cell.cell_type == "code" and any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            lines = [ln for ln in cell.source.splitlines() if ln.strip()]
            return lines[0][:120] if lines else ""
    return ""


@pytest.fixture(scope="module")
def zoo_report():
    """Case -> notebook -> what happened; printed at the end (pytest -s) and merged into build/zoo/chain_report.json."""
    import zoo
    report: dict = {}
    yield report
    if not report:
        return
    path = zoo.zoo_dir() / "chain_report.json"
    try:
        merged = json.loads(path.read_text())
    except (OSError, ValueError):
        merged = {}
    merged.update(report)  # a -k run updates its own cases and keeps the others' last results
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(merged, indent=1, sort_keys=True))
    print("\n\nzoo chain (s = run seconds; NME = personal vs generic on the held-out frames):")
    for case, row in report.items():
        cells = []
        for nb, r in row["notebooks"].items():
            cells.append(f"{nb[:2]} {r['status']} {r['seconds']:.0f}s" + (f" [{r['error'][:160]}]" if r["error"] else ""))
        nme = row.get("nme")
        print(f"{case:18} {row['verdict']:5} {row['seconds']:5.0f}s  " + " | ".join(cells)
              + (f"  NME {nme['nme_held_out']:.2%} vs {nme['nme_held_out_generic']:.2%}" if nme else ""))
    print(f"written to {path}")


def _zoo_cases():
    import zoo
    return list(zoo.CASES)


@pytest.mark.slow
@pytest.mark.parametrize("case_name", _zoo_cases())
def test_zoo_recording_through_the_course(case_name, tmp_path, monkeypatch, zoo_report):
    """Each zoo recording either runs through 01-04 and 06, or stops with a CourseError that tells the learner what to
    record instead; a traceback from anything else fails. 04 and 06 run for the cases with enough of one face."""
    import zoo
    case = zoo.CASES[case_name]
    source = str(zoo.build(case_name))  # built (or found cached) before COURSE_DATA_DIR moves
    root = tmp_path / "data"
    fresh_data_folder(root, reuse_from=data_dir())
    monkeypatch.setenv("COURSE_DATA_DIR", str(root))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    own = {"01_capture": {"SOURCE": source, "NAME": "me", "ROTATE": case.rotate},
           "06_live_demo": {"SOURCE": source, "NAME": "me"}}
    row = {"description": case.description, "expect": case.expect, "notebooks": {}}
    zoo_report[case_name] = row
    stopped = None
    for name, params in ZOO_CHAIN.items():
        if name in PERSONAL_ONLY and case.expect != "personal":
            break
        run = run_notebook(name, {"NAME": "me", **params, **own.get(name, {})}, save_to=tmp_path / "out")
        status = "ran" if run.error is None else ("stopped" if run.course_error else "CRASH")
        row["notebooks"][name] = {"status": status, "seconds": round(run.seconds, 1), "error": run.error,
                                  "cell": _failed_cell(run.nb) if run.error else None}
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
    if last and last["status"] == "CRASH":
        pytest.fail(f"{case_name}: {stopped} crashed in the cell starting {last['cell']!r}: {last['error']}")
    if case.expect == "personal":
        assert stopped is None, f"{case_name} ({case.description}) stopped in {stopped}: {last['error']}"
        assert row.get("nme") and 0 < row["nme"]["nme_held_out"], row
    else:
        assert stopped is not None, (f"{case_name} ({case.description}) ran through 01-03: the course should have "
                                     f"stopped with a CourseError ({case.expect})")
        assert stopped in ("01_capture", "02_landmarks", "03_records"), stopped
