"""Notebook 05's data and the default emotion model: FER2013 when you have it, the offline stand-in when not.

:func:`load_data` chooses between :mod:`helpers.fer` (the real FER2013) and :mod:`helpers.standin`
(built from the course's own faces); :func:`ensure_emotion_model` trains and saves the course model
on that data when the live demo (notebook 06) finds none. The models themselves are in
:mod:`helpers.emotion`, which knows nothing about where its data comes from.
"""
from __future__ import annotations

import os
import pathlib

from . import fer, standin
from .emotion import default_model_path, save_course_model, train
from .errors import CourseError


def load_data(use_fer2013: bool | str = "auto", *, progress: bool = True) -> fer.FerSplits:
    """The data for notebook 05: FER2013 if asked for (or ``"auto"`` and present), else the offline stand-in."""
    if not isinstance(use_fer2013, str) and use_fer2013 in (0, 1):
        use_fer2013 = bool(use_fer2013)  # 1/0 or numpy booleans from papermill
    if use_fer2013 not in (True, False, "auto"):
        raise CourseError(f"USE_FER2013 must be True, False or \"auto\", not {use_fer2013!r}.")
    found = fer.find_fer2013()
    if use_fer2013 is True and found is None:
        fer.load_fer2013()  # raises the "where to put it" message
    if use_fer2013 is True or (use_fer2013 == "auto" and found is not None):
        return fer.load_fer2013(found)
    return standin.load_standin(progress=progress)


def ensure_emotion_model(path: str | os.PathLike | None = None, *, progress: bool = True, epochs: int = 12) -> pathlib.Path:
    """Return the trained course model's path; if missing, train one on the stand-in (or FER2013 if present) with the default budget, saying so."""
    path = pathlib.Path(path) if path else default_model_path()
    if path.is_file():
        return path
    data_name = "FER2013" if fer.find_fer2013() else "stand-in data"
    print(f"No trained emotion model at {path}: training the course CNN on the {data_name} "
          f"({epochs} epochs, a few minutes on a CPU) as notebook 05 would.")
    data = load_data("auto", progress=progress)
    result = train("course", data, epochs=epochs, progress=progress)
    save_course_model(result.model, data_name=data_name, source=data.source, epochs=result.epochs_run, path=path)
    return path
