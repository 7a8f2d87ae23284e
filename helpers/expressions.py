"""Notebook 05's "Your expressions": record or read the seven expressions, then score emotion models on them.

Two ways to give your expressions, both stored under ``data/work/05_expressions/<NAME>/``:

**Seven short clips**, one per expression, named after the label: ``angry.mp4``, ``disgust.mp4``,
``fear.mp4``, ``happy.mp4``, ``sad.mp4``, ``surprise.mp4``, ``neutral.mp4`` (``.mov``/``.avi``/``.mkv``
work too; a missing expression is allowed and reported). :func:`record_expressions` records them
with a webcam, prompting one expression at a time; :func:`import_clips` copies clips you made.
The first ``SKIP_SECONDS`` of each clip are skipped (the time it takes to pull the face).

**One clip plus a CSV** of time ranges (:func:`import_recording`). The CSV has a header and one row
per stretch of the video that shows one expression::

    start,end,label
    0.0,2.5,neutral
    3.0,5.5,happy
    6.0,8.0,surprise

``start`` and ``end`` are seconds from the start of the clip (``end`` > ``start``; rows must not
overlap; time between rows is ignored), ``label`` is one of :data:`helpers.labels.EMOTIONS`
(``disgusted``, ``fearful``, ``surprised`` are accepted, the folder names of the original project's
data). Text after ``#`` is a comment. Every mistake is reported with its row number
(:func:`read_label_csv`).

Frames are read every ``step`` frames; a frame is used only when dlib finds exactly one face
(frames without a face or with several are counted and skipped, as in notebook 01), then aligned
like FER2013 (:func:`helpers.align.align_face`). Without a recording, :func:`load_expressions` uses
the sample people's real frames with the labels in :data:`SAMPLE_LABELS` (read by eye from the two
videos: only sad, fear, happy and neutral occur there) and says so.
"""
from __future__ import annotations

import csv
import io
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from tqdm.auto import tqdm

from .errors import CourseError
from .labels import EMOTIONS
from .paths import shown, work_dir

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v")
ALIASES = {"disgusted": "disgust", "fearful": "fear", "surprised": "surprise", "angry": "angry", "anger": "angry",
           "happiness": "happy", "sadness": "sad"}
SKIP_SECONDS = 0.5
"""Seconds skipped at the start of each of the seven clips (pulling the face)."""
CSV_NAME, CLIP_STEM, FACES_NAME = "labels.csv", "clip", "faces.npz"

SAMPLE_LABELS: dict[str, str] = {
    "sample": """start,end,label
# the main sample video (one woman), labelled by eye by the course authors from a contact sheet of its frames
0.0,5.9,sad        # eyes down, brows raised in the middle, mouth corners down; crying from 2.5 s (hand over mouth/nose)
6.1,9.4,fear       # worried: eyes wide and up, brows raised, hand at the mouth
10.8,19.7,happy    # smiling, then laughing
""",
    "other_person": """start,end,label
# the second sample video (a man), labelled the same way
0.0,0.55,neutral
0.75,2.45,happy
""",
}
"""The labelled stretches of the two sample videos, in the CSV format above (time between rows is an unclear transition)."""


@dataclass(frozen=True)
class Segment:
    """One labelled stretch of a clip: seconds ``start`` to ``end``, an EMOTIONS ``label``, the CSV ``row`` (1 = first
    data row)."""

    start: float
    end: float
    label: str
    row: int = 0


def canonical_label(text: str, where: str = "") -> str:
    """A label as written by a learner -> its EMOTIONS name (case and the original's folder names accepted)."""
    key = str(text).strip().lower()
    key = ALIASES.get(key, key)
    if key not in EMOTIONS:
        raise CourseError(f"{where}unknown label {text!r}: use one of {', '.join(EMOTIONS)}.")
    return key


# ------------------------------------------------------------------------------------------------- the CSV
def parse_label_csv(text: str, *, duration: float | None = None, name: str = "labels.csv") -> list[Segment]:
    """Parse and check a label CSV (see the module docstring); every error names its row. Returns the segments in time
    order."""
    lines = [ln.split("#", 1)[0].rstrip() for ln in text.splitlines()]
    numbered = [(i + 1, ln) for i, ln in enumerate(lines) if ln.strip()]
    if not numbered:
        raise CourseError(f"{name} is empty: write a header 'start,end,label' and one row per expression.")
    header_line, header = numbered[0]
    cols = [c.strip().lower() for c in next(csv.reader([header]))]
    if cols[:3] != ["start", "end", "label"]:
        raise CourseError(f"{name}, line {header_line}: the header must be 'start,end,label', not {header.strip()!r}.")
    segments: list[Segment] = []
    for row, (line_no, line) in enumerate(numbered[1:], start=1):
        where = f"{name}, row {row} (line {line_no}): "
        cells = [c.strip() for c in next(csv.reader([line]))]
        if len(cells) != 3:
            raise CourseError(f"{where}expected 3 values 'start,end,label', found {len(cells)}: {line.strip()!r}.")
        try:
            start, end = float(cells[0]), float(cells[1])
        except ValueError:
            raise CourseError(f"{where}start and end must be seconds (numbers like 1.5), "
                              f"got {cells[0]!r} and {cells[1]!r}.") from None
        if not (np.isfinite(start) and np.isfinite(end)) or start < 0:
            raise CourseError(f"{where}start must be 0 or more and both times finite, got {start} and {end}.")
        if end <= start:
            raise CourseError(f"{where}end ({end:g} s) must come after start ({start:g} s).")
        if duration is not None and start >= duration:
            raise CourseError(f"{where}starts at {start:g} s, but the clip is only {duration:.2f} s long.")
        segments.append(Segment(start, end if duration is None else min(end, duration),
                                canonical_label(cells[2], where), row))
    if not segments:
        raise CourseError(f"{name} has a header but no rows: add one row 'start,end,label' per expression.")
    ordered = sorted(segments, key=lambda s: s.start)
    for a, b in zip(ordered, ordered[1:]):
        if b.start < a.end:
            raise CourseError(f"{name}, row {b.row}: {b.start:g}-{b.end:g} s overlaps row {a.row} "
                              f"({a.start:g}-{a.end:g} s). "
                              "Each moment of the clip may carry one label only.")
    return ordered


def read_label_csv(path: str | Path, *, duration: float | None = None) -> list[Segment]:
    """:func:`parse_label_csv` of a file (CourseError if it does not exist)."""
    path = Path(path)
    if not path.is_file():
        raise CourseError(f"label file not found: {path}. Write a CSV 'start,end,label' (see helpers.expressions).")
    return parse_label_csv(path.read_text(encoding="utf-8-sig"), duration=duration, name=path.name)


# ------------------------------------------------------------------------------------------------- storing a recording
def expressions_dir(name: str) -> Path:
    """Where NAME's expression recording lives (created): ``data/work/05_expressions/<NAME>/``."""
    from .capture import check_name
    folder = work_dir("05_expressions") / check_name(name)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _duration(path: Path) -> float:
    from .video import video_info
    info = video_info(path)
    fps = info.get("fps") or 0
    if not info.get("frames") or fps <= 0:
        raise CourseError(f"{path} has no readable frames or frame rate. Export it again as .mp4.")
    return info["frames"] / fps


def _clear(folder: Path) -> None:
    """Remove an earlier recording (clips, CSV, cached faces) from ``folder``."""
    for p in folder.iterdir():
        if p.is_file() and (p.suffix.lower() in VIDEO_SUFFIXES or p.name in (CSV_NAME, FACES_NAME)):
            p.unlink()


def _copy(src: Path, dst: Path) -> None:
    from .storage import atomic_path
    with atomic_path(dst, dst.suffix) as tmp:
        shutil.copyfile(src, tmp)


def import_recording(name: str, video: str | Path, labels: str | Path) -> Path:
    """Check ``labels`` (CSV) against ``video`` and store both under NAME (replacing an earlier recording); return the
    folder."""
    video, labels = Path(video), Path(labels)
    if not video.is_file():
        raise CourseError(f"video not found: {video}. Give the path of your expressions clip.")
    read_label_csv(labels, duration=_duration(video))  # raises with the row number
    folder = expressions_dir(name)
    _clear(folder)
    _copy(video, folder / f"{CLIP_STEM}{video.suffix.lower()}")
    _copy(labels, folder / CSV_NAME)
    return folder


def import_clips(name: str, clips: dict[str, str | Path]) -> Path:
    """Store one clip per expression (``{"happy": "smile.mp4", ...}``) under NAME; return the folder."""
    if not clips:
        raise CourseError("no clips given: pass {'happy': 'path/to/happy.mp4', ...} (one clip per expression).")
    checked = {}
    for label, path in clips.items():
        path = Path(path)
        if not path.is_file():
            raise CourseError(f"clip for {label!r} not found: {path}.")
        _duration(path)
        checked[canonical_label(label, f"clip {path.name}: ")] = path
    folder = expressions_dir(name)
    _clear(folder)
    for label, path in checked.items():
        _copy(path, folder / f"{label}{path.suffix.lower()}")
    return folder


def record_expressions(name: str, camera: int = 0, *, seconds: float = 3.0, labels: tuple[str, ...] = EMOTIONS,
                       prompt: Callable[[str], None] = print, pause: float = 2.0) -> Path:
    """Record one webcam clip per expression under NAME, prompting each (``pause`` seconds to get ready); return the
    folder."""
    import time
    from .video import record_webcam
    folder = expressions_dir(name)
    made = {}
    for label in labels:
        label = canonical_label(label)
        prompt(f"Get ready: {label.upper()} in {pause:g} s, for {seconds:g} s ...")
        time.sleep(pause)
        made[label] = record_webcam(camera, folder / f".recording_{label}.mp4", seconds=seconds)
        prompt(f"  {label}: recorded")
    _clear(folder)
    for label, path in made.items():
        path.replace(folder / f"{label}.mp4")
    return folder


def has_recording(name: str) -> bool:
    """True if NAME has expressions stored (a clip with ``labels.csv``, or clips named after labels)."""
    folder = work_dir("05_expressions") / name
    return folder.is_dir() and bool(segments_of(name, check=False))


def segments_of(name: str, *, check: bool = True) -> list[tuple[Path, Segment]]:
    """NAME's stored recording as (clip, segment) pairs; ``check=False`` returns [] instead of raising when empty."""
    folder = work_dir("05_expressions") / name
    videos = sorted(p for p in folder.glob("*") if p.suffix.lower() in VIDEO_SUFFIXES and not p.name.startswith(".")) \
        if folder.is_dir() else []
    out: list[tuple[Path, Segment]] = []
    clip = [p for p in videos if p.stem == CLIP_STEM]
    if clip and (folder / CSV_NAME).exists():
        out = [(clip[0], s) for s in read_label_csv(folder / CSV_NAME, duration=_duration(clip[0]))]
    else:
        for p in videos:
            if p.stem in EMOTIONS:
                d = _duration(p)
                out.append((p, Segment(min(SKIP_SECONDS, d / 2), d, p.stem, 0)))
    if not out and check:
        raise CourseError(f"no expressions stored for {name!r} in {shown(folder)}. Record them "
                          "(helpers.expressions.record_expressions), or import seven clips (import_clips) or "
                          "one clip with a CSV (import_recording), or set NAME = 'sample'.")
    return out


# ------------------------------------------------------------------------------------------------- faces
@dataclass
class ExpressionFaces:
    """Aligned faces with labels: ``faces`` (N, 48, 48) uint8 grey, ``labels`` (N,) EMOTIONS indices, and where they
    come from."""

    faces: np.ndarray
    labels: np.ndarray
    clip: np.ndarray
    time: np.ndarray
    description: str = ""
    skipped: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.faces)

    def counts(self) -> dict[str, int]:
        """Faces per label (every EMOTIONS label, 0 when absent)."""
        return {e: int((self.labels == i).sum()) for i, e in enumerate(EMOTIONS)}


def faces_from_video(pairs: list[tuple[Path, Segment]], *, step: int = 2, progress: bool = True) -> ExpressionFaces:
    """Read the labelled stretches (every ``step``-th frame), keep frames with exactly one face, align them."""
    from .align import align_face
    from .landmarks import detect_landmarks
    from .video import read_frames
    faces, labels, clips, times = [], [], [], []
    skipped = {"no_face": 0, "several_faces": 0}
    by_clip: dict[Path, list[Segment]] = {}
    for clip, seg in pairs:
        by_clip.setdefault(clip, []).append(seg)
    total = 0
    for clip, segs in by_clip.items():
        from .video import video_info
        info = video_info(clip)
        total += -(-int(info["frames"] or 0) // step)
    with tqdm(total=total, desc="reading expressions", unit="frame", disable=not progress) as bar:
        for clip, segs in by_clip.items():
            for frame in read_frames(clip, step=step, max_side=640):
                bar.update(1)
                seg = next((s for s in segs if s.start <= frame.timestamp < s.end), None)
                if seg is None:
                    continue
                found = detect_landmarks(frame.image)
                if len(found) != 1:
                    skipped["no_face" if not found else "several_faces"] += 1
                    continue
                faces.append(align_face(frame.image, found[0].points))
                labels.append(EMOTIONS.index(seg.label))
                clips.append(clip.name)
                times.append(frame.timestamp)
    return _pack(faces, labels, clips, times, skipped)


def _pack(faces, labels, clips, times, skipped, description: str = "") -> ExpressionFaces:
    from .align import FACE_SIZE
    return ExpressionFaces(np.stack(faces).astype(np.uint8) if faces else np.zeros((0, FACE_SIZE, FACE_SIZE), np.uint8),
                           np.array(labels, np.int64), np.array(clips), np.array(times, np.float32), description, skipped)


def sample_faces(*, progress: bool = True) -> ExpressionFaces:
    """The sample people's real frames in :data:`SAMPLE_LABELS`' stretches, from notebook 02's landmark sets (rebuilt if
    missing)."""
    from .align import align_face
    from .landmark_sets import ensure_landmark_set
    faces, labels, clips, times = [], [], [], []
    for person, text in SAMPLE_LABELS.items():
        segs = parse_label_csv(text, name=f"{person} labels")
        ls = ensure_landmark_set(person, progress=progress)
        for crop, pts, t in zip(ls.crops, ls.points, ls.timestamp):
            seg = next((s for s in segs if s.start <= t < s.end), None)
            if seg is not None:
                faces.append(align_face(crop, pts))
                labels.append(EMOTIONS.index(seg.label))
                clips.append(person)
                times.append(float(t))
    return _pack(faces, labels, clips, times, {}, "the sample people's real frames (no recording of your own)")


def load_expressions(name: str, *, step: int = 2, progress: bool = True) -> ExpressionFaces:
    """NAME's labelled, aligned faces; without a recording for NAME, the sample people's frames (printing which)."""
    if name == "sample" or not has_recording(name):
        if name != "sample":
            print(f"No expressions recorded for {name!r} (in {shown(work_dir('05_expressions') / name)}): "
                  "using the sample people's real frames instead.")
        return sample_faces(progress=progress)
    pairs = segments_of(name)
    out = faces_from_video(pairs, step=step, progress=progress)
    out.description = f"{name}'s recording ({len({p for p, _ in pairs})} clip(s))"
    if not len(out):
        raise CourseError(f"no face found in {name}'s expressions ({out.skipped}). Record again facing the camera, "
                          "alone in view, in good light.")
    return out


# ------------------------------------------------------------------------------------------------- scoring
def score(classifiers: dict[str, Any], data: ExpressionFaces) -> dict[str, dict[str, Any]]:
    """Each classifier (:class:`helpers.emotion.EmotionClassifier`) on the faces: accuracy, recall, confusion matrix."""
    from .emotion import evaluate
    if not len(data):
        raise CourseError("no labelled faces to score. Record your expressions first, or use NAME = 'sample'.")
    return {key: evaluate(clf.predict_batch(data.faces), data.labels) for key, clf in classifiers.items()}


def template_csv() -> str:
    """An example label CSV (the format in the module docstring) to start from."""
    buf = io.StringIO()
    buf.write("start,end,label\n")
    for k, e in enumerate(EMOTIONS):
        buf.write(f"{3 * k + 0.5:.1f},{3 * k + 2.5:.1f},{e}\n")
    return buf.getvalue()
