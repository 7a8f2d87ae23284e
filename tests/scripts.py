"""The course's scripts (``course.py``, ``tools/*.py``) loaded as modules in tests: they are files, not a package."""
from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from helpers.paths import ROOT


def load_script(relative: str) -> ModuleType:
    """The script at ``ROOT / relative`` (e.g. ``"tools/notebooks.py"``) as a module, loaded once per test session.

    It is registered in ``sys.modules`` under a name of its own (dataclasses look their module up there), so every
    test that loads the same script shares one module object.
    """
    name = "course_script_" + relative.removesuffix(".py").replace("/", "_").replace(".", "_")
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / relative)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    return sys.modules[name]
