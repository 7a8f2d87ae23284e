"""One rule for reusing what a stage saved: an artifact is reused only if the same *recipe* made it.

Every stage of the course saves its output together with a recipe (``<file>.recipe.json`` beside it):

* ``stage``: which step made it (``capture_manifest``, ``landmark_set``, ``record_sets``, ...);
* ``format``: the version of the stage's files (bumped when the code writes them differently);
* ``params``: every setting that changes the result (frame step, crop size, held-out fraction, epochs, ...);
* ``inputs``: the keys of what it was made from: upstream artifacts' keys, or sha256 sums of files.

The recipe's ``key`` hashes all four, so a change anywhere upstream changes every key downstream of it,
as in make or DVC. :func:`why_rebuild` is the one function that decides reuse: it compares the recipe
saved beside an artifact with the one asked for and answers None (reuse) or the reason, in words.
:func:`invalidate` removes the old recipe before an artifact is rewritten and :func:`commit` writes the
new one *after* the artifact's own files (atomically): a crash in between leaves an artifact without a
recipe, which is rebuilt.

Parameters a caller leaves out (``None``) take the saved recipe's value (:func:`settle`): a later
notebook that asks for "the landmark set of ``me``" gets the one notebook 02 made with the learner's
settings, while a caller that names a value gets exactly that value or a rebuild.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping, TypeVar

from .storage import save_json

T = TypeVar("T")
SUFFIX = ".recipe.json"


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


@dataclass(frozen=True)
class Recipe:
    """What an artifact is made of: its stage, file format, parameters and the keys of its inputs."""

    stage: str
    format: int
    params: Mapping[str, Any] = field(default_factory=dict)
    inputs: Mapping[str, str | None] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The recipe as plain JSON-able data (without its key)."""
        return {"stage": self.stage, "format": self.format, "params": json.loads(_canonical(dict(self.params))),
                "inputs": dict(self.inputs)}

    @property
    def key(self) -> str:
        """16 hex digits of the sha256 of the canonical JSON of the recipe: equal recipes, equal keys."""
        return hashlib.sha256(_canonical(self.as_dict()).encode()).hexdigest()[:16]


def recipe_path(artifact: str | Path) -> Path:
    """The recipe file beside ``artifact``: ``<artifact>.recipe.json``."""
    artifact = Path(artifact)
    return artifact.with_name(artifact.name + SUFFIX)


def saved_recipe(artifact: str | Path) -> dict[str, Any] | None:
    """The recipe saved beside ``artifact`` (a dict with ``key``), or None if there is none or it is unreadable."""
    path = recipe_path(artifact)
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return saved if isinstance(saved, dict) and "key" in saved else None


def key_of(artifact: str | Path) -> str | None:
    """The key of the recipe that made ``artifact``, or None if it has none (missing, or made before recipes)."""
    saved = saved_recipe(artifact)
    return saved["key"] if saved else None


def invalidate(artifact: str | Path) -> None:
    """Remove ``artifact``'s recipe before its files are rewritten: a crash while rewriting then leaves no recipe
    (so it is rebuilt), never the old recipe beside half-new files."""
    recipe_path(artifact).unlink(missing_ok=True)


def commit(artifact: str | Path, recipe: Recipe) -> str:
    """Record that ``recipe`` made ``artifact`` (call it after the artifact's files are written); return the key."""
    save_json(recipe_path(artifact), recipe.as_dict() | {"key": recipe.key})
    return recipe.key


def settle(artifact: str | Path, asked: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters to build or check ``artifact`` with: ``asked`` where given (not None), else the saved
    recipe's value, else ``defaults``. Keys are those of ``defaults``."""
    saved = (saved_recipe(artifact) or {}).get("params", {})
    out = {}
    for name, default in defaults.items():
        value = asked.get(name)
        out[name] = value if value is not None else saved.get(name, default)
    return out


def adopt(artifact: str | Path, recipe: Recipe, names: tuple[str, ...]) -> Recipe:
    """``recipe`` with the saved recipe's values of the parameters ``names`` (:func:`settle`).

    For settings an earlier notebook chose and a later caller leaves to it, such as a model's training budget.
    """
    return replace(recipe, params=dict(recipe.params) | settle(artifact, {}, {k: recipe.params.get(k) for k in names}))


def _differences(saved: dict[str, Any], asked: dict[str, Any]) -> list[str]:
    """What differs between two recipes, in words (the first few)."""
    out = []
    if saved.get("stage") != asked["stage"]:
        out.append(f"it was made by stage {saved.get('stage')!r}, not {asked['stage']!r}")
    if saved.get("format") != asked["format"]:
        out.append(f"it is in format {saved.get('format')}, this course writes format {asked['format']}")
    for kind, noun in (("params", "setting"), ("inputs", "input")):
        old, new = saved.get(kind, {}) or {}, asked[kind]
        for name in sorted(set(old) | set(new)):
            if _canonical(old.get(name)) == _canonical(new.get(name)):
                continue
            if kind == "inputs":
                out.append(f"its {noun} {name!r} changed")
            else:
                out.append(f"{noun} {name} was {_canonical(old.get(name))}, now {_canonical(new.get(name))}")
    return out


def why_rebuild(artifact: str | Path, recipe: Recipe, *, also: tuple[str | Path, ...] = (),
                intact: Callable[[], str | None] | None = None) -> str | None:
    """None when ``artifact`` (and every file in ``also``) exists and ``recipe`` made it; else the reason, in words.

    ``intact`` is an optional last check of the artifact's own files (e.g. that every shard of a record
    set is there); it returns None when they are fine, or what is wrong.
    """
    artifact = Path(artifact)
    for path in (artifact, *map(Path, also)):
        if not path.exists():
            return f"{path.name} is missing"
    saved = saved_recipe(artifact)
    if saved is None:
        return "it has no recipe (made by an older version of the course, or interrupted while saving)"
    if saved["key"] != recipe.key:
        diffs = _differences(saved, recipe.as_dict())
        return "; ".join(diffs[:3]) or "its recipe differs"
    return intact() if intact is not None else None


def announce(what: str, artifact: str | Path, reason: str, action: str) -> None:
    """Print one line saying what is rebuilt and why (every ``ensure_*`` says it the same way)."""
    from .paths import shown
    print(f"{what} ({shown(artifact)}): {reason}. {action}")


def ensure(artifact: str | Path, recipe: Recipe, *, build: Callable[[], T], load: Callable[[], T], what: str,
           action: str = "Rebuilding it.", also: tuple[str | Path, ...] = (),
           intact: Callable[[], str | None] | None = None) -> T:
    """``load()`` the artifact if ``recipe`` made it, else ``build()`` it (saying why) and :func:`commit` the recipe.

    ``build`` must write the artifact's files (atomically) and return what ``load`` would. A ``build`` that
    saves through the stage's own ``save_*`` function commits the recipe of what it wrote; that one stands.
    """
    reason = why_rebuild(artifact, recipe, also=also, intact=intact)
    if reason is None:
        return load()
    announce(what, artifact, reason, action)
    invalidate(artifact)
    value = build()
    if key_of(artifact) is None:
        commit(artifact, recipe)
    return value
