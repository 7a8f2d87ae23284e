"""Safe storage: atomic writes of ``.npz`` and JSON. Never pickle.

Every write goes to a temporary file in the same folder and is renamed over the target only
once complete, so an interrupted run never leaves a half-written file and never destroys the
previous good copy.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .errors import CourseError


def _new_temp_file(folder: Path, prefix: str, suffix: str) -> Path:
    """Create an empty, uniquely named file in ``folder`` and return its path.

    It is created with mode 0o666, so the process's umask applies as it does to any new file (usually
    giving 0o644). ``tempfile.mkstemp`` would create it 0o600, and reading the umask to fix that means
    setting it, a process-wide change that races with other threads.
    """
    for _ in range(100):
        path = folder / f"{prefix}{secrets.token_hex(6)}{suffix}"
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return path
    raise CourseError(f"could not create a temporary file in {folder}: clear out old .*.tmp files there and retry.")


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it onto ``target`` if the block succeeds.

    On any exception the temporary file is removed and ``target`` is left untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = _new_temp_file(target.parent, f".{target.name}.", suffix or ".tmp")
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:  # make the bytes durable before the rename makes them visible
            os.fsync(fh.fileno())
        os.replace(tmp_path, target)
        _fsync_dir(target.parent)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as pretty JSON to ``path`` atomically; return the path."""
    with atomic_path(path, ".json") as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=_json_default))
    return Path(path)


def load_json(path: str | os.PathLike) -> Any:
    """Read a JSON file, with a clear error if it is missing or broken."""
    path = Path(path)
    if not path.exists():
        raise CourseError(f"{path} does not exist. Run the notebook that creates it first.")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise CourseError(f"{path} is not valid JSON ({exc}). "
                          "Delete it and run the notebook that creates it again.") from exc


def shipped_record(name: str) -> Any | None:
    """A measurement record that ships inside the ``helpers`` package (``helpers/<name>``, written by a benchmark or a
    test run and committed), or None when it is not there."""
    path = Path(__file__).with_name(name)
    return load_json(path) if path.is_file() else None


def save_npz(path: str | os.PathLike, meta: dict[str, Any] | None = None, **arrays: np.ndarray) -> Path:
    """Save arrays (plus a JSON ``meta`` dict stored as a string array) compressed and atomically.

    Load with :func:`load_npz`; nothing is pickled (``allow_pickle`` stays False).
    """
    for name, arr in arrays.items():
        if np.asarray(arr).dtype == object:
            raise CourseError(f"array {name!r} has dtype object, which would need pickle. Convert it to numbers or strings.")
    payload = {k: np.asarray(v) for k, v in arrays.items()}
    payload["__meta__"] = np.array(json.dumps(meta or {}, sort_keys=True, default=_json_default))
    with atomic_path(path, ".npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **payload)
    return Path(path)


def load_npz(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Load a file written by :func:`save_npz`: ``(arrays, meta)``. Never unpickles."""
    path = Path(path)
    if not path.exists():
        raise CourseError(f"{path} does not exist. Run the notebook that creates it first.")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files if k != "__meta__"}
            meta = json.loads(str(z["__meta__"])) if "__meta__" in z.files else {}
    except (OSError, ValueError, EOFError) as exc:
        raise CourseError(f"{path} is not a readable .npz file ({exc}). "
                          "Delete it and run the notebook that creates it again.") from exc
    return arrays, meta


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
