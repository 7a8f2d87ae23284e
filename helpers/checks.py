"""The notebooks' two kinds of checks, and the one rule that tells them apart.

A check about the **code** (a shape, a round trip, a resumed training, a ratio of two timings of the
same work) holds on any recording and at any setting: the notebooks keep it as a plain ``assert``.

A check about **the sample's content** (this frame has one face, a sideways frame has none) or about
**quality and speed at the shipped settings** (the course model beats the baseline after 80 epochs)
holds only where it was written for: the course's own sample, with every parameter as shipped. Such a
check goes through :meth:`Checks.expect`: an assertion when the notebook runs as shipped, and
otherwise a printed finding (what was expected on the sample, what this run found, and what that
means for this recording or setting). A learner's recording or an exercise's setting never stops a
notebook on a fact about the sample.

"As shipped" is read from the notebook's own parameters cell in ``notebooks/src/<notebook>.py`` (the
jupytext source, which the course keeps identical to the ``.ipynb``): every literal setting there must
have its value in the running notebook.
"""
from __future__ import annotations

import ast
import json
import numbers
from typing import Any

import numpy as np

from .errors import CourseError
from .paths import ROOT

__all__ = ["Checks", "shipped_parameters"]


def _parameters_source(notebook: str) -> str | None:
    """The code of ``notebook``'s cell tagged ``parameters``: from its jupytext source, else from the ``.ipynb``."""
    src = ROOT / "notebooks" / "src" / f"{notebook}.py"
    if src.is_file():
        lines, inside, found = [], False, False
        for line in src.read_text(encoding="utf-8").splitlines():
            if line.startswith("# %%"):
                if inside:
                    break
                inside = found = "parameters" in line
            elif inside:
                lines.append(line)
        return "\n".join(lines) if found else None
    ipynb = ROOT / "notebooks" / f"{notebook}.ipynb"
    if ipynb.is_file():
        for cell in json.loads(ipynb.read_text(encoding="utf-8"))["cells"]:
            if "parameters" in cell.get("metadata", {}).get("tags", []):
                return "".join(cell["source"])
    return None


def _shipped(notebook: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The literal settings of ``notebook``'s parameters cell and each one's line of code (two ``{}`` if the cell
    cannot be found), from one parse."""
    code = _parameters_source(notebook)
    if code is None:
        return {}, {}
    values, lines, text = {}, {}, code.splitlines()
    for node in ast.parse(code).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:  # not a literal (a path built from a function): not a setting to compare
                continue
            values[node.targets[0].id], lines[node.targets[0].id] = value, text[node.lineno - 1]
    return values, lines


def shipped_parameters(notebook: str, *, lines: bool = False) -> dict[str, Any]:
    """The literal settings of ``notebook``'s parameters cell as the course ships it (``{}`` if it cannot be found);
    with ``lines``, each setting's line of code (its comment says what else it accepts) instead of its value."""
    return _shipped(notebook)[1 if lines else 0]


def _number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _problem(name: str, was: Any, now: Any, line: str, least: float | None) -> str | None:
    """What is wrong with ``name = now`` when the course ships ``was`` (``line``: its line in the parameters cell;
    ``least``: the smallest value that works); None when nothing is."""
    comment = line.partition("#")[2]
    if now is None:
        return None if was is None or "None" in comment else f"{name} = None: it needs a value like the shipped {was!r}"
    if _number(was) and not _number(now):
        if isinstance(now, str) and '"' in comment:  # the comment names text choices too (SOURCE = 0 or a path)
            return None
        quoted = " (without quotes)" if isinstance(now, str) else ""
        return f"{name} = {now!r}: it needs a number{quoted}, like the shipped {was!r}"
    if isinstance(was, (bool, np.bool_)) and isinstance(now, str):
        return f"{name} = {now!r}: write {now.strip().capitalize()} without quotes (True or False)"
    if isinstance(was, (tuple, list)) and not isinstance(now, (tuple, list)):
        return f"{name} = {now!r}: it needs a tuple, e.g. ({now!r},) for one value"
    if least is not None and _number(now) and now < least:
        return f"{name} = {now!r}: it must be at least {least}"
    return None


class Checks:
    """The checks of one notebook run: asserts as shipped, printed findings at any other source or setting.

    ``Checks("01_capture", globals())`` compares the notebook's settings with the shipped ones and
    prints which rule applies. ``expect(ok, claim, meaning)`` then asserts ``claim`` as shipped and,
    elsewhere, prints it with what this run found instead (``meaning``: one sentence for the learner).
    """

    def __init__(self, notebook: str, namespace: dict[str, Any], *, quiet: bool = False,
                 at_least: dict[str, float] | None = None) -> None:
        self.notebook = notebook
        shipped, lines = _shipped(notebook)
        for name, was in shipped.items():  # EPOCHS = 2.0 for a whole-number setting: read as 2
            now = namespace.get(name)
            if isinstance(was, numbers.Integral) and _number(was) and isinstance(now, float) and now.is_integer():
                namespace[name] = int(now)
                print(f"note: {name} = {now!r} is read as {int(now)} (a whole number)")
        self.changed = {k: (v, namespace[k]) for k, v in shipped.items() if k in namespace and namespace[k] != v}
        self._validate(lines, at_least or {})
        self.known = bool(shipped)
        self.misses: list[str] = []
        if not quiet:
            print(self.describe())

    def _validate(self, lines: dict[str, str], at_least: dict[str, float]) -> None:
        """Stop at once, naming the parameter, on a changed setting of the wrong kind (``"90"`` for 90, ``"False"``,
        one seed for a tuple) or below its smallest working value (``at_least``), instead of deep in a later cell;
        ``lines``: each setting's line in the parameters cell."""
        problems = [p for name, (was, now) in self.changed.items()
                    if (p := _problem(name, was, now, lines.get(name, ""), at_least.get(name)))]
        if problems:
            raise CourseError("; ".join(problems) + ". Change it in the parameters cell and run the notebook again.")

    @property
    def as_shipped(self) -> bool:
        """True when every setting is as shipped (the sample, the default sizes): the checks about it are asserts."""
        return self.known and not self.changed

    def describe(self) -> str:
        """One sentence on which rule applies in this run."""
        if not self.known:
            return (f"checks: the shipped settings of {self.notebook} were not found (notebooks/src is missing), so checks "
                    "about the sample print what they find instead of stopping the notebook.")
        if self.as_shipped:
            return "checks: settings as shipped (the course's sample), so the checks about the sample's content are asserts."
        shown = ", ".join(f"{k} = {now!r} (shipped: {was!r})" for k, (was, now) in self.changed.items())
        return (f"checks: {shown}. Checks written for the sample at the shipped settings print what they find "
                "instead of stopping the notebook; checks about the code still stop it.")

    def data(self, shipped: bool, name: str) -> None:
        """Say which data this run has: other data than the course's own (a learner's FER2013, say) makes the checks
        about the sample print what they find instead of stopping the notebook, as a changed setting does."""
        if not shipped and "data" not in self.changed:
            self.changed["data"] = ("the course's own", name)
            print(self.describe())

    def expect(self, ok: bool, claim: str, meaning: str = "") -> None:
        """Assert ``claim`` when the run is as shipped; otherwise print it when it does not hold, with ``meaning``.

        ``claim`` says what holds on the sample ("the sample has a face in nearly every frame"); ``meaning``
        says what it means when it does not hold in this run. Returns nothing (a notebook cell ending in a
        check shows no value); ``self.misses`` lists the claims that did not hold in this run.
        """
        if ok:
            return
        if self.as_shipped:
            raise AssertionError(claim)
        self.misses.append(claim)
        print(f"note: on the sample at the shipped settings, {claim}; not in this run. {meaning}".rstrip())
