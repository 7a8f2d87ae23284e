"""Build the course notebooks: sync ``notebooks/src/*.py`` into ``notebooks/*.ipynb`` with jupytext, then execute.

The pairing (``notebooks/jupytext.toml``: ``formats = "ipynb,src//py:percent"``) is jupytext's, so an
edit made in JupyterLab is saved to both files, and an edit of the ``.py`` reaches the ``.ipynb`` here.
Syncing keeps the outputs, ids and metadata of the existing ``.ipynb`` cells (jupytext matches cells by
content, then by position), so it never reorders cells or loses outputs. Executing runs each notebook
top to bottom in a clean kernel of this interpreter and stores the widget state, so the frame browser
(02) and the live UI (06) show in a committed notebook before anything is run.

Run it inside the course's venv (``python course.py notebooks`` does):

    python tools/notebooks.py [--sync-only | --check | --to DIR] [01 02_landmarks ...]

``--check`` changes nothing and exits 1 if an ``.ipynb``'s cells differ from its source (the unit tests
call :func:`drift`). ``--to DIR`` executes the notebooks as they are into copies in DIR and changes
nothing in ``notebooks/`` (``python course.py course`` uses it, with ``build/executed``). A notebook that
fails to execute is written to ``build/failed/`` and the committed one is left untouched.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("JUPYTER_PREFER_ENV_PATH", "1")  # this venv's python3 kernel, not a user-wide one
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import jupytext  # noqa: E402
import nbformat  # noqa: E402
from jupytext.combine import combine_inputs_with_outputs  # noqa: E402
from jupytext.config import load_jupytext_config  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from course import pick_numbered  # noqa: E402  (course.py: standard library only, safe to import)
NOTEBOOKS = ROOT / "notebooks"
SOURCES = NOTEBOOKS / "src"
FORMAT = "py:percent"
CELL_TIMEOUT = 1800  # seconds per cell


def sources(names: list[str] | None = None) -> list[Path]:
    """The percent-format sources, all or by number/name (``01``, ``02_landmarks``): picked like ``course.py`` picks
    notebooks."""
    try:
        return pick_numbered(sorted(SOURCES.glob("[0-9][0-9]_*.py")), names)
    except LookupError as exc:
        raise SystemExit(f"{exc} (sources in {SOURCES.relative_to(ROOT)})") from None


def paired(src: Path) -> Path:
    """``notebooks/src/NN_name.py`` -> ``notebooks/NN_name.ipynb``."""
    return NOTEBOOKS / f"{src.stem}.ipynb"


def read_source(src: Path) -> nbformat.NotebookNode:
    """The notebook a source describes (no outputs), read with the project's jupytext settings."""
    return jupytext.read(src, fmt=FORMAT, config=load_jupytext_config(str(paired(src))))


def cells_of(nb: nbformat.NotebookNode) -> list[tuple[str, str, list[str]]]:
    """What must agree between a source and its notebook: each cell's type, text and tags."""
    return [(c.cell_type, c.source, list(c.metadata.get("tags", []))) for c in nb.cells]


def drift(names: list[str] | None = None) -> list[str]:
    """One line per notebook whose cells differ from its source (or that does not exist); [] when all agree."""
    problems = []
    for src in sources(names):
        target = paired(src)
        if not target.is_file():
            problems.append(f"{target.relative_to(ROOT)} does not exist: run `python course.py notebooks {src.stem[:2]}`.")
            continue
        want, got = cells_of(read_source(src)), cells_of(nbformat.read(target, as_version=4))
        if want != got:
            first = next((i for i, (a, b) in enumerate(zip(want, got)) if a != b), min(len(want), len(got)))
            problems.append(f"{target.relative_to(ROOT)} differs from {src.relative_to(ROOT)} from cell {first + 1} on "
                            f"({len(got)} vs {len(want)} cells): run `python course.py notebooks {src.stem[:2]}` "
                            "(or `--sync-only` to skip executing).")
    return problems


def _write(nb: nbformat.NotebookNode, target: Path) -> None:
    """Write a notebook atomically (a reader never sees half a file)."""
    tmp = target.with_name(f".{target.name}.tmp")
    nbformat.write(nb, tmp)
    os.replace(tmp, target)


def build(src: Path) -> nbformat.NotebookNode:
    """The notebook for a source, with the outputs, ids and metadata of the existing ``.ipynb`` where cells match."""
    target = paired(src)
    nb = read_source(src)
    if target.is_file():
        return combine_inputs_with_outputs(nb, nbformat.read(target, as_version=4), fmt=FORMAT)
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}}
    return nb


def sync(src: Path) -> bool:
    """Bring the ``.ipynb`` in line with its source, keeping existing outputs; return True if it changed."""
    target = paired(src)
    nb = build(src)
    if target.is_file() and nb == nbformat.read(target, as_version=4):
        return False
    _write(nb, target)
    return True


def _poll_in_steps(channel, step: float = 1.0) -> None:
    """Make ``channel.get_msg`` wait in short polls instead of one long one.

    With widget messages in flight, one long ``get_msg(timeout=...)`` on a zmq channel can miss the
    reply that has already arrived and wait out the whole cell timeout (nbclient issue #312, nbconvert
    #1921/#2003: "execute hangs on an ipywidgets cell"); polling again every ``step`` seconds sees it.
    """
    from queue import Empty

    original = channel.get_msg

    async def get_msg(timeout: float | None = None, **kw):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = step if deadline is None else max(0.0, min(step, deadline - time.monotonic()))
            try:
                return await original(timeout=wait, **kw)
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    channel.get_msg = get_msg


def finish_progress_text(nb: nbformat.NotebookNode, width: int = 10) -> int:
    """Give each tqdm bar's output its final state as text; return how many were rewritten.

    A tqdm bar in a notebook is an ipywidget: its output stores the widget's id and, for viewers that show no
    widgets (GitHub, a terminal, ``nbconvert --to markdown``), a ``text/plain`` taken when the bar was created,
    ``0%| | 0/472``. The bar's final state is in the notebook's stored widget state (an HBox of a text, a
    progress bar and a text); this writes it into ``text/plain`` as tqdm prints it in a terminal.
    """
    import html
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    rewritten = 0
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get("application/vnd.jupyter.widget-view+json")
            box = state.get(view["model_id"], {}) if view else {}
            if box.get("model_name") != "HBoxModel":
                continue
            parts = [state.get(c.removeprefix("IPY_MODEL_"), {}) for c in box["state"].get("children", [])]
            if [m.get("model_name") for m in parts] != ["HTMLModel", "FloatProgressModel", "HTMLModel"]:
                continue
            left, bar, right = (m["state"] for m in parts)
            done = round(width * min(1.0, (bar.get("value") or 0) / bar["max"])) if bar.get("max") else 0
            text = f"{left.get('value', '')}|{'█' * done}{' ' * (width - done)}|{right.get('value', '')}"
            output["data"]["text/plain"] = html.unescape(text).replace("\u2007", " ")
            rewritten += 1
    return rewritten


def coalesce_streams(nb: nbformat.NotebookNode) -> int:
    """Join each cell's consecutive outputs of the same stream (stdout, stderr) into one; return how many were joined.

    A kernel sends a cell's printing in pieces when it flushes between ``print`` calls (a slow call in between): the
    stored notebook would show one printout as two blocks, the second with its own prompt.
    """
    joined = 0
    for cell in nb.cells:
        merged: list = []
        for output in cell.get("outputs", []):
            last = merged[-1] if merged else None
            if (output.get("output_type") == "stream" and last is not None and last.get("output_type") == "stream"
                    and last.get("name") == output.get("name")):
                last["text"] = "".join(last["text"]) + "".join(output["text"])
                joined += 1
            else:
                merged.append(output)
        if "outputs" in cell:
            cell["outputs"] = merged
    return joined


def execute(target: Path, out: Path | None = None) -> float:
    """Execute a notebook in a clean kernel, storing widget state, in place or into ``out``; return the seconds it took."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from tqdm.auto import tqdm

    class Client(NotebookClient):
        """nbclient's executor, its reply and output channels polled in short steps (see :func:`_poll_in_steps`)."""

        async def async_start_new_kernel_client(self):
            kc = await super().async_start_new_kernel_client()
            _poll_in_steps(kc.shell_channel)
            _poll_in_steps(kc.iopub_channel)
            return kc

    nb = nbformat.read(target, as_version=4)
    code = sum(c.cell_type == "code" for c in nb.cells)
    bar = tqdm(total=code, desc=target.stem, unit="cell", file=sys.stdout)
    client = Client(nb, timeout=CELL_TIMEOUT, kernel_name="python3", store_widget_state=True,
                            record_timing=True, resources={"metadata": {"path": str(NOTEBOOKS)}},
                            on_cell_executed=lambda **_: bar.update())
    t0 = time.monotonic()
    try:
        client.execute()
    except CellExecutionError:
        failed = ROOT / "build" / "failed" / target.name
        failed.parent.mkdir(parents=True, exist_ok=True)
        _write(nb, failed)
        bar.close()
        raise SystemExit(f"{target.name} failed while executing; the committed notebook is unchanged and the "
                         f"failed run is in {failed.relative_to(ROOT)} (open it to see the error).")
    bar.close()
    finish_progress_text(nb)
    coalesce_streams(nb)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
    _write(nb, out or target)
    return time.monotonic() - t0


def main(argv: list[str]) -> int:
    """Sync (and unless ``--sync-only``, execute) the chosen notebooks; ``--check`` only reports drift."""
    to = None
    if "--to" in argv:
        i = argv.index("--to")
        if i + 1 >= len(argv):
            raise SystemExit("--to needs a folder, e.g. --to build/executed")
        to = Path(argv[i + 1]).resolve()
        argv = argv[:i] + argv[i + 2:]
    names = [a for a in argv if not a.startswith("-")]
    unknown = [a for a in argv if a.startswith("-") and a not in ("--check", "--sync-only")]
    if unknown:
        print(__doc__)
        return 0 if set(unknown) <= {"-h", "--help"} else 2
    if to is not None:
        for src in sources(names):
            target = paired(src)
            print(f"== {target.relative_to(ROOT)} -> {to / target.name}", flush=True)
            print(f"   executed in {execute(target, to / target.name):.0f} s", flush=True)
        return 0
    if "--check" in argv:
        problems = drift(names)
        print("\n".join(problems) or "notebooks: every .ipynb matches its source")
        return 1 if problems else 0
    for src in sources(names):
        target = paired(src)
        print(f"== {target.relative_to(ROOT)}: {'synced with' if sync(src) else 'already matches'} "
              f"{src.relative_to(ROOT)}", flush=True)
        if "--sync-only" not in argv:
            seconds = execute(target)
            print(f"   executed in a clean kernel in {seconds:.0f} s (widget state stored)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
