"""One list of pins (pyproject.toml); requirements.txt and environment.yml are generated from it."""
from __future__ import annotations

import re

import pytest

from helpers.paths import ROOT
from scripts import load_script


def _tool(name: str):
    """Import ``tools/<name>.py`` (standard-library scripts, not a package)."""
    return load_script(f"tools/{name}.py")


pins = _tool("pins")


def _pinned(text: str) -> dict[str, str]:
    """name -> version of every ``name==version`` line (requirements.txt or environment.yml)."""
    found = {}
    for line in text.splitlines():
        m = re.match(r"^\s*(?:-\s+)?'?([A-Za-z0-9_.\-]+)==([^\s#;']+)", line)
        if m:
            found[m.group(1).lower()] = m.group(2)
    return found


def test_generated_files_match_pyproject():
    assert pins.stale() == [], "run `python course.py pins` and commit requirements.txt and environment.yml"


def test_pip_and_conda_lists_agree_with_pyproject():
    want = {p.name: p.version for p in pins.read_pins()}
    assert len(want) >= 10
    assert _pinned((ROOT / "requirements.txt").read_text()) == want
    assert _pinned((ROOT / "environment.yml").read_text()) == want


def test_pins_drift_is_detected(tmp_path):
    """The check can fail: a hand-edited requirements.txt is reported as stale."""
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    pins.write(tmp_path)
    assert pins.stale(tmp_path) == []
    req = tmp_path / "requirements.txt"
    req.write_text(req.read_text().replace("numpy==", "numpy==1"))
    assert pins.stale(tmp_path) == ["requirements.txt"]


def test_every_pin_says_why_and_is_exact():
    for pin in pins.read_pins():
        assert len(pin.why) > 10, pin
        assert re.fullmatch(r"[0-9][0-9A-Za-z.]*", pin.version), pin


def test_unpinned_dependency_is_refused(tmp_path):
    text = (ROOT / "pyproject.toml").read_text().replace('"psutil==7.2.2"', '"psutil>=7"')
    (tmp_path / "pyproject.toml").write_text(text)
    with pytest.raises(ValueError, match="not pinned"):
        [p.version for p in pins.read_pins(tmp_path / "pyproject.toml")]


def _needs() -> dict[str, list]:
    """name -> the Requirement objects of every range (dependencies and extras), by normalised name."""
    from packaging.requirements import Requirement
    out: dict[str, list] = {}
    for group in pins.ranges().values():
        for line in group:
            req = Requirement(line)
            out.setdefault(req.name.lower().replace("_", "-"), []).append(req)
    return out


def test_every_pin_lies_in_its_range_and_every_need_is_pinned():
    """Two lists, one truth: the exact pins satisfy the ranges a hosted install reads; nothing is needed but unpinned."""
    needs = _needs()
    from helpers.setup_check import NEED_OF as provided_by  # the set-up's tensorflow-cpu meets the need for `tensorflow`
    for pin in pins.read_pins():
        name = provided_by.get(pin.name, pin.name)
        assert name in needs, f"{pin.name} is pinned but no range in [project.dependencies] or an extra needs it"
        for req in needs[name]:
            assert req.specifier.contains(pin.version), f"the pin {pin.name}=={pin.version} is outside {req}"
    pinned = {provided_by.get(p.name, p.name) for p in pins.read_pins()}
    assert set(needs) <= pinned, f"needed but not pinned: {sorted(set(needs) - pinned)}"


def test_needs_are_ranges_and_tools_are_extras():
    """What a hosted runtime installs: ranges, one TensorFlow name, no test tool, no JupyterLab, no kernel."""
    import tomllib
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert not [d for d in deps if "==" in d], "[project.dependencies] must hold ranges; exact pins go to [tool.course]"
    names = {d.split(">")[0].split("<")[0].split("=")[0].strip() for d in deps}
    assert "tensorflow" in names and "tensorflow-cpu" not in names
    assert not names & {"pytest", "nbval", "papermill", "selenium", "uv", "ruff", "jupyterlab", "jupytext", "ipykernel"}
    extras = pins.ranges()
    assert {"lab", "test"} <= set(extras)


def test_gpu_variant_swaps_only_the_linux_x86_64_tensorflow():
    from packaging.markers import Marker
    gpu = pins.gpu_variant(pins.read_pins())
    linux = {"sys_platform": "linux", "platform_machine": "x86_64"}
    windows = {"sys_platform": "win32", "platform_machine": "AMD64"}
    on = lambda env: sorted(p.requirement.split(";")[0] for p in gpu if not p.marker or Marker(p.marker).evaluate(env))  # noqa: E731
    assert "tensorflow[and-cuda]==2.21.0" in on(linux) and not [r for r in on(linux) if r.startswith("tensorflow-cpu")]
    assert "tensorflow-cpu==2.21.0" in on(windows) and not [r for r in on(windows) if r.startswith("tensorflow[")]
    assert len(gpu) == len(pins.read_pins()) + 1


def test_tensorflow_build_per_platform():
    """tensorflow-cpu where it has wheels (Linux x86_64, Windows), tensorflow elsewhere: never both, never neither."""
    by_name = {p.name: p for p in pins.read_pins()}
    from packaging.markers import Marker
    for env in ({"sys_platform": "linux", "platform_machine": "x86_64"},
                {"sys_platform": "win32", "platform_machine": "AMD64"},
                {"sys_platform": "darwin", "platform_machine": "arm64"},
                {"sys_platform": "linux", "platform_machine": "aarch64"}):
        chosen = [n for n in ("tensorflow", "tensorflow-cpu") if Marker(by_name[n].marker).evaluate(env)]
        assert len(chosen) == 1, (env, chosen)


def test_no_face_recognition_models_anywhere():
    assert "face-recognition-models" not in {p.name for p in pins.read_pins()}
    offenders = [p.relative_to(ROOT) for p in (ROOT / "helpers").rglob("*.py")
                 if "import face_recognition_models" in p.read_text()]
    assert offenders == []


def test_requires_python_admits_311_to_313():
    import tomllib
    from packaging.specifiers import SpecifierSet
    spec = SpecifierSet(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"])
    assert all(v in spec for v in ("3.11", "3.12", "3.13")) and "3.10" not in spec and "3.14" not in spec
    assert pins.PYTHONS == ("3.11", "3.12", "3.13")


def test_opencv_is_the_4x_line():
    assert {p.name: p.version for p in pins.read_pins()}["opencv-python"].startswith("4.")


notebooks = _tool("notebooks")


def test_notebooks_match_their_sources():
    problems = notebooks.drift()
    assert problems == [], "\n".join(problems)


def _bar_notebook(value: float, total: float):
    """A notebook with one tqdm-style output (an HBox of text, progress, text) in its stored widget state."""
    import nbformat
    models = {"box": ("HBoxModel", {"children": ["IPY_MODEL_l", "IPY_MODEL_p", "IPY_MODEL_r"]}),
              "l": ("HTMLModel", {"value": "frames:\u2007100%"}),
              "p": ("FloatProgressModel", {"value": value, "max": total}),
              "r": ("HTMLModel", {"value": "\u20075/10\u2007[00:01&lt;00:00]"}), "other": ("VBoxModel", {"children": []})}
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "state": {k: {"model_name": n, "state": st} for k, (n, st) in models.items()}}}
    view = lambda mid, text: nbformat.v4.new_output("display_data", data={  # noqa: E731
        "text/plain": text, "application/vnd.jupyter.widget-view+json": {"model_id": mid}})
    outputs = [view("box", "frames:   0%|          | 0/10"), view("other", "VBox()")]
    nb.cells = [nbformat.v4.new_code_cell("x", outputs=outputs)]
    return nb


def test_progress_bars_get_their_final_text():
    nb = _bar_notebook(5, 10)
    assert notebooks.finish_progress_text(nb) == 1
    bar, other = (o["data"]["text/plain"] for o in nb.cells[0].outputs)
    assert bar == "frames: 100%|█████     | 5/10 [00:01<00:00]" and other == "VBox()"
    assert notebooks.finish_progress_text(_bar_notebook(10, 0)) == 1  # a bar with no total (tqdm's unknown length)


def test_a_printout_sent_in_pieces_is_stored_as_one():
    import nbformat
    out = nbformat.v4.new_output
    cell = nbformat.v4.new_code_cell("print(1); slow(); print(2)", outputs=[
        out("stream", name="stdout", text="one\n"), out("stream", name="stdout", text="two\n"),
        out("stream", name="stderr", text="warn\n"), out("stream", name="stdout", text="three\n")])
    nb = nbformat.v4.new_notebook(cells=[cell, nbformat.v4.new_markdown_cell("text")])
    assert notebooks.coalesce_streams(nb) == 1
    assert [(o["name"], o["text"]) for o in nb.cells[0].outputs] == [("stdout", "one\ntwo\n"), ("stderr", "warn\n"),
                                                                     ("stdout", "three\n")]


def test_committed_progress_bars_show_their_end():
    """Viewers without widgets (GitHub) show ``text/plain``: no committed bar may read as if it never moved."""
    import nbformat
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        texts = [o["data"]["text/plain"] for c in nb.cells for o in c.get("outputs", [])
                 if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
        stuck = [t for t in texts if " 0%|" in t and "| 0/0" not in t]
        assert not stuck, f"{path.name}: {stuck[:2]} (run tools/notebooks.py on it, which finishes the bars)"


@pytest.fixture
def notebook_copy(tmp_path, monkeypatch):
    """A private copy of notebooks/ (sources, jupytext.toml, one .ipynb) for the sync tests."""
    import shutil
    root = tmp_path / "course"
    (root / "notebooks" / "src").mkdir(parents=True)
    shutil.copy(ROOT / "notebooks" / "jupytext.toml", root / "notebooks")
    src = ROOT / "notebooks" / "src" / "01_capture.py"
    shutil.copy(src, root / "notebooks" / "src")
    monkeypatch.setattr(notebooks, "ROOT", root)
    monkeypatch.setattr(notebooks, "NOTEBOOKS", root / "notebooks")
    monkeypatch.setattr(notebooks, "SOURCES", root / "notebooks" / "src")
    return root / "notebooks"


def test_notebook_drift_is_detected(notebook_copy):
    """The check can fail: a notebook missing, or a source edited after the sync, is reported."""
    assert "does not exist" in notebooks.drift()[0]
    assert notebooks.sync(notebook_copy / "src" / "01_capture.py")
    assert notebooks.drift() == []
    src = notebook_copy / "src" / "01_capture.py"
    src.write_text(src.read_text().replace("SEED = 42", "SEED = 7", 1))
    assert "differs from" in notebooks.drift()[0]


def test_sync_keeps_outputs_ids_tags_and_order(notebook_copy):
    """Syncing an edited source changes that cell only: other cells keep their outputs, ids and tags."""
    import nbformat
    src, target = notebook_copy / "src" / "01_capture.py", notebook_copy / "01_capture.ipynb"
    notebooks.sync(src)
    nb = nbformat.read(target, as_version=4)
    for i, cell in enumerate(nb.cells):  # pretend it was executed
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"out {i}\n")]
            cell.execution_count = i
    nbformat.write(nb, target)
    before = nbformat.read(target, as_version=4)
    edited = src.read_text().replace("GRID_FRAMES = 8 ", "GRID_FRAMES = 6 ", 1)
    src.write_text(edited + "\n# %%\n# NBVAL_CHECK_OUTPUT\nprint(1)\n")
    assert notebooks.sync(src)
    after = nbformat.read(target, as_version=4)
    assert len(after.cells) == len(before.cells) + 1
    changed = [i for i, (a, b) in enumerate(zip(before.cells, after.cells)) if a.source != b.source]
    assert len(changed) == 1 and "GRID_FRAMES = 6" in after.cells[changed[0]].source
    for a, b in zip(before.cells, after.cells):
        assert (a.id, a.get("outputs"), a.metadata.get("tags")) == (b.id, b.get("outputs"), b.metadata.get("tags"))
    assert after.cells[-1].source == "# NBVAL_CHECK_OUTPUT\nprint(1)"
    assert ["parameters"] in [c.metadata.get("tags") for c in after.cells]
    assert not notebooks.sync(src), "a second sync changes nothing"


@pytest.mark.parametrize("name", ["02_landmarks", "06_live_demo"])
def test_committed_widgets_have_their_state(name):
    """Every widget shown in a committed notebook has its state saved, so it renders before anything runs."""
    import nbformat
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    views = [o["data"]["application/vnd.jupyter.widget-view+json"]["model_id"] for c in nb.cells if c.cell_type == "code"
             for o in c.outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert views, f"{name} shows no widget"
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    missing = [v for v in views if v not in state]
    assert not missing, (f"{name}: widget state not stored for {missing}: "
                         f"rebuild with `python course.py notebooks {name[:2]}`")


def test_reply_polling_retries_in_steps_and_keeps_the_deadline():
    """The executor's workaround for nbclient's lost-reply hang: short polls until a message or the deadline."""
    import asyncio
    import time
    from queue import Empty

    class Channel:
        def __init__(self, ready_after: float):
            self.ready_at, self.calls = time.monotonic() + ready_after, []

        async def get_msg(self, timeout=None):
            self.calls.append(timeout)
            await asyncio.sleep(min(timeout, max(0.0, self.ready_at - time.monotonic())))
            if time.monotonic() >= self.ready_at:
                return {"msg": "reply"}
            raise Empty

    ch = Channel(ready_after=0.25)
    notebooks._poll_in_steps(ch, step=0.05)
    assert asyncio.run(ch.get_msg(timeout=5)) == {"msg": "reply"}
    ch = Channel(ready_after=60)
    notebooks._poll_in_steps(ch, step=0.05)
    t0 = time.monotonic()
    with pytest.raises(Empty):
        asyncio.run(ch.get_msg(timeout=0.2))
    assert time.monotonic() - t0 < 30  # the 0.2 s timeout, not the channel's 60 s


def test_module_map_names_every_module():
    """helpers/__init__.py is the map a newcomer reads first: every module of helpers/ has its line there."""
    import helpers
    doc = helpers.__doc__
    modules = [p.relative_to(ROOT / "helpers").with_suffix("").as_posix().replace("/", ".")
               for p in (ROOT / "helpers").rglob("*.py") if p.name != "__init__.py" or p.parent.name != "helpers"]
    modules = [m.removesuffix(".__init__") for m in modules]
    listed = set(re.findall(r"^\s+([a-z_]+(?:\.[a-z_]+)*)\s{2,}\S", doc, re.M))
    missing = sorted(m for m in modules if m not in listed and m != "live")
    assert not missing, f"add a line for {missing} to the module map in helpers/__init__.py"
    stale = sorted(m for m in listed if m not in modules)
    assert not stale, f"the module map names modules that no longer exist: {stale}"
