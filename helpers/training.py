"""Resumable, seeded training runs: the one checkpoint layout both course trainers use.

A run's folder (``helpers.landmark_cnn.train_model``, notebook 04; ``helpers.emotion.train``, notebook 05)::

    model.keras   the model *with its optimizer state* at the last saved epoch (Keras' own format)
    best.keras    optional: weights the trainer chose to keep (the emotion trainer's best validation epoch)
    state.json    {"config": {...}, "state": {"epoch", "seconds", "finished", "history", ...}}

``config`` holds every setting that changes the result (and a fingerprint of the training data): a
run is resumed only when the new call's config is identical. ``state`` says how far the run got;
trainers add their own keys (the emotion trainer's best epoch and early-stopping counter).
``state.json`` is written last, so it is the commit point: a crash while saving the model leaves
the previous, consistent pair (every write is atomic, see :mod:`helpers.storage`).

:func:`checkpoint_callback` is a Keras callback that saves after an epoch (every epoch, or once at
least ``every_seconds`` have passed). ``model.fit`` calls it itself; a hand-written training loop
(the landmark trainer's time-budgeted loop) calls its ``on_epoch_end`` the same way.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .artifacts import Recipe
from .errors import CourseError
from .paths import work_dir
from .storage import atomic_path, load_json, save_json

MODEL_FILE, BEST_FILE, STATE_FILE = "model.keras", "best.keras", "state.json"


@dataclass
class TrainResult:
    """What both course trainers return (:func:`helpers.landmark_cnn.train_model`, :func:`helpers.emotion.train`)."""

    model: Any
    kind: str
    history: list[dict[str, float]] = field(default_factory=list)
    """One record per epoch (``{"epoch": 1, "loss": ..., ...}``; which metrics depends on the trainer)."""
    epochs: int = 0
    """Epochs trained in all, the resumed ones included."""
    seconds: float = 0.0
    """Training time in all, seconds (a resumed run adds its earlier sessions')."""
    resumed_from: int = 0
    """The epoch this call started from (0: from scratch; all of them: a finished run loaded)."""
    config: dict[str, Any] = field(default_factory=dict)
    """Every setting that changed the result, with a fingerprint of the data: the run's recipe."""
    size: int = 0
    """Side of the square the network sees, pixels."""
    label: str = ""
    """The name to show in tables and plots (set it for an ablation)."""
    best_epoch: int = 0
    """The epoch whose weights the model holds when the trainer keeps the best one (0: the last)."""
    stopped_early: bool = False
    """True when early stopping ended the run before its budget."""
    folder: Path | None = None
    """The run's checkpoint folder."""

    @property
    def name(self) -> str:
        return self.label or self.kind

    def curve(self, key: str) -> list[float]:
        """The per-epoch values of one metric (``"loss"``, ``"val_accuracy"``, ...), epochs without it left out."""
        return [h[key] for h in self.history if key in h]


def new_state(**extra: Any) -> dict[str, Any]:
    """A fresh run's state: no epoch done, no seconds spent, not finished, empty history (+ ``extra`` keys)."""
    return {"epoch": 0, "seconds": 0.0, "finished": False, "history": []} | extra


def run_folder(stage: str, kind: str, config: dict[str, Any]) -> Path:
    """Where a training run of ``kind`` under ``config`` is kept: ``data/work/<stage>/runs/<kind>-<key of the config>``.

    One folder per recipe, so a run with other settings (an exercise, an ablation) never replaces the course's
    own, and asking for the course's settings again finds the course's run.
    """
    return work_dir(stage) / "runs" / f"{kind}-{Recipe('training_run', 1, config).key}"


def fingerprint(*arrays: np.ndarray, every: int = 1) -> str:
    """A short sha256 of some arrays (every ``every``-th row), so a checkpoint never resumes on other data."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(np.asarray(a)[::every])
        h.update(str((a.shape, a.dtype)).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


class Checkpoint:
    """One run's folder (see the module docstring): load the run if its config matches, save it atomically."""

    def __init__(self, folder: str | Path, config: dict[str, Any]):
        self.folder = Path(folder)
        self.config = config

    @property
    def model_path(self) -> Path:
        return self.folder / MODEL_FILE

    @property
    def best_path(self) -> Path:
        return self.folder / BEST_FILE

    @property
    def state_path(self) -> Path:
        return self.folder / STATE_FILE

    def saved_state(self) -> dict[str, Any] | None:
        """The saved state if this folder holds a run with the same config, else None."""
        if not (self.state_path.exists() and self.model_path.exists()):
            return None
        saved = load_json(self.state_path)
        if saved.get("config") != self.config or "state" not in saved:
            return None
        return saved["state"]

    def load_model(self, *, best: bool = False, compile: bool = True):
        """The saved model (``best=True``: ``best.keras`` if there is one); raises CourseError if unreadable."""
        import keras
        path = self.best_path if best and self.best_path.exists() else self.model_path
        try:
            return keras.models.load_model(path, compile=compile)
        except Exception as exc:  # a half-written or foreign file: say what to do
            raise CourseError(f"cannot read the checkpoint {path} ({str(exc).splitlines()[0][:200]}). "
                              f"Delete the folder {self.folder} to train from scratch.") from None

    def save(self, model, state: dict[str, Any]) -> None:
        """Save the model (with its optimizer) and then the state: the state file is the commit point."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.model_path, ".keras") as tmp:
            model.save(tmp)
        save_json(self.state_path, {"config": self.config, "state": state})

    def save_best(self, model) -> None:
        """Keep ``model`` as the run's chosen weights (``best.keras``)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.best_path, ".keras") as tmp:
            model.save(tmp)

    def finish(self, model, state: dict[str, Any]) -> None:
        """Mark the run finished and save it: a later call with the same config returns it untrained."""
        state["finished"] = True
        self.save(model, state)


def checkpoint_callback(checkpoint: Checkpoint, state: dict[str, Any], *, every_seconds: float = 0.0):
    """A Keras callback that sets ``state["epoch"]`` after each epoch and saves when ``every_seconds`` have passed.

    ``every_seconds=0`` saves after every epoch. Put it *after* callbacks that update ``state`` (it
    saves what they wrote). Works inside ``model.fit`` and in a hand-written loop (call
    ``set_model(model)`` once, then ``on_epoch_end(epoch)`` with the 0-based epoch).
    """
    import keras

    class CheckpointCallback(keras.callbacks.Callback):
        """Saves the run (model + optimizer + state) after an epoch, at most every ``every_seconds``."""

        def __init__(self):
            super().__init__()
            self.last_save = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            state["epoch"] = epoch + 1
            if time.perf_counter() - self.last_save >= every_seconds:
                checkpoint.save(self.model, state)
                self.last_save = time.perf_counter()

    return CheckpointCallback()
