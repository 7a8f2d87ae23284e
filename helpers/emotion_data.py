"""Notebook 05's data and the default emotion model: FER2013 when you have it, the offline stand-in when not.

:func:`load_data` chooses between :mod:`helpers.fer` (the real FER2013) and :mod:`helpers.standin`
(built from the course's own faces); :func:`ensure_emotion_model` trains and saves the course model
on that data when the live demo (notebook 06) finds none. The models themselves are in
:mod:`helpers.emotion`, which knows nothing about where its data comes from.
"""
from __future__ import annotations

import os
import pathlib

from . import artifacts, fer, standin
from .emotion import RUN_SETTINGS, default_model_path, run_config, save_course_model, train
from .saved_models import model_recipe
from .errors import CourseError
from .paths import data_dir


def _choice(use_fer2013: object) -> bool | str:
    """``USE_FER2013`` as True, False or "auto" (1/0 and NumPy booleans, as papermill may pass them, included)."""
    if not isinstance(use_fer2013, str) and use_fer2013 in (0, 1):
        use_fer2013 = bool(use_fer2013)
    if use_fer2013 not in (True, False, "auto"):
        raise CourseError(f"USE_FER2013 must be True, False or \"auto\", not {use_fer2013!r}.")
    return use_fer2013  # type: ignore[return-value]


def load_data(use_fer2013: bool | str = "auto", *, progress: bool = True) -> fer.FerSplits:
    """The data for notebook 05: FER2013 if asked for (or ``"auto"`` and present), else the offline stand-in."""
    use_fer2013 = _choice(use_fer2013)
    found = fer.find_fer2013()
    if use_fer2013 is True and found is None:
        fer.load_fer2013()  # raises the "where to put it" message
    if use_fer2013 is True or (use_fer2013 == "auto" and found is not None):
        return fer.require_classes(fer.load_fer2013(found))
    return standin.load_standin(progress=progress)


def data_sentence(use_fer2013: bool | str = "auto") -> str:
    """One line on the data notebook 05 will use: where FER2013 was found (and what beside it is not read), or why the
    stand-in, with what in ``data/`` looks like FER2013 but is not in a form the course reads (:func:`fer.near_misses`)."""
    use_fer2013 = _choice(use_fer2013)
    found = fer.find_fer2013()
    if found is None:
        tips = fer.near_misses()
        return ("FER2013 found at: nowhere in data/ -> this run uses the offline stand-in"
                + (f". Nearly there: {'; '.join(tips)}." if tips else ""))
    if use_fer2013 is False:
        return f"FER2013 found at {found}, but USE_FER2013 = False: this run uses the offline stand-in"
    folders = [d for d in (data_dir() / "fer2013", data_dir()) if (d / "train").is_dir()] if found.is_file() else []
    return f"FER2013 found at: {found}" + (f" (the train/ and test/ folders in {folders[0]} are not read: the CSV "
                                           "comes first)" if folders else "")


def ensure_emotion_model(path: str | os.PathLike | None = None, *, progress: bool = True,
                         epochs: int | None = None) -> pathlib.Path:
    """The trained course model's path; trained first (saying why) unless a model of the current data is saved.

    The data is FER2013 when it is in ``data/``, else the stand-in. ``epochs=None`` accepts the saved
    model whatever its budget (notebook 05's ``EPOCHS``); when there is none, or it learnt from other
    data, the course CNN is trained for ``epochs`` (default 12) as notebook 05 would.
    """
    path = pathlib.Path(path) if path else default_model_path()
    data = load_data("auto", progress=progress)
    recipe = model_recipe("emotion_model", run_config("course", data, epochs=epochs or 12))
    if epochs is None:  # notebook 05's budget; the kind, ingredients and recipe version are today's
        recipe = artifacts.adopt(path, recipe, RUN_SETTINGS)
    reason = artifacts.why_rebuild(path, recipe)
    if reason is None:
        return path
    data_name = "FER2013" if fer.find_fer2013() else "stand-in data"
    artifacts.announce("The emotion model", path, reason, f"Training the course CNN on the {data_name} now "
                       f"({epochs or 12} epochs, a few minutes on a CPU) as notebook 05 would.")
    result = train("course", data, epochs=epochs or 12, progress=progress)
    save_course_model(result, data_name=data_name, source=data.source, path=path)
    return path
