"""Build ``notebooks/NN_name.ipynb`` from its source ``notebooks/src/NN_name.py`` (percent format).

Cells start with ``# %%`` (code) or ``# %% [markdown]`` (markdown; each line starts with ``# ``).
``# %% tags=["parameters"]`` tags a code cell. Outputs of an existing notebook are kept for
cells whose source is unchanged; ``make notebooks`` then re-executes everything in a clean kernel.

Usage: python tools/make_notebook.py [--check] [notebooks/src/01_capture.py ...]
``--check`` exits 1 if an .ipynb's cell sources differ from its .py (tests use it).
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
HEADER = re.compile(r"^# %%(?P<md> \[markdown\])?(?: tags=(?P<tags>\[.*\]))?\s*$")


def parse(text: str) -> list[dict]:
    """Split percent-format text into ``[{"type", "source", "tags"}]``."""
    cells: list[dict] = []
    for line in text.splitlines():
        m = HEADER.match(line)
        if m:
            cells.append({"type": "markdown" if m["md"] else "code", "lines": [],
                          "tags": json.loads(m["tags"]) if m["tags"] else []})
            continue
        if not cells:
            continue
        cells[-1]["lines"].append(line)
    out = []
    for c in cells:
        lines = c["lines"]
        while lines and not lines[-1].strip():
            lines.pop()
        while lines and not lines[0].strip():
            lines.pop(0)
        if c["type"] == "markdown":
            lines = [ln[2:] if ln.startswith("# ") else ln.lstrip("#") for ln in lines]
        out.append({"type": c["type"], "source": "\n".join(lines), "tags": c["tags"]})
    return out


def build(src: Path) -> nbformat.NotebookNode:
    """The notebook for one source file, keeping outputs of unchanged cells from the existing .ipynb."""
    target = ROOT / "notebooks" / (src.stem + ".ipynb")
    old = {}
    if target.exists():
        for cell in nbformat.read(target, as_version=4).cells:
            if cell.cell_type == "code":
                old[cell.source] = cell
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}}
    for i, c in enumerate(parse(src.read_text())):
        if c["type"] == "markdown":
            cell = nbformat.v4.new_markdown_cell(c["source"])
        else:
            cell = nbformat.v4.new_code_cell(c["source"])
            if c["source"] in old:
                cell.outputs = old[c["source"]].outputs
                cell.execution_count = old[c["source"]].execution_count
        if c["tags"]:
            cell.metadata["tags"] = c["tags"]
        cell.id = f"{src.stem}-{i:03d}"  # stable ids: rebuilding gives no spurious diff
        nb.cells.append(cell)
    return nb


def sources(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source) for c in nb.cells]


def main(argv: list[str]) -> int:
    unknown = [a for a in argv if a.startswith("-") and a != "--check"]
    if unknown:
        print(__doc__)
        return 0 if set(unknown) <= {"-h", "--help"} else 2
    check = "--check" in argv
    files = [Path(a) for a in argv if not a.startswith("--")] or sorted((ROOT / "notebooks" / "src").glob("*.py"))
    bad = 0
    for src in files:
        target = ROOT / "notebooks" / (src.stem + ".ipynb")
        nb = build(src)
        if check:
            if not target.exists() or sources(nbformat.read(target, as_version=4)) != sources(nb):
                print(f"{target.relative_to(ROOT)} is out of date with {src.relative_to(ROOT)}: run `make notebooks`.")
                bad = 1
        else:
            nbformat.write(nb, target)
            print(f"wrote {target.relative_to(ROOT)}")
    return bad


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
