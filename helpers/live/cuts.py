"""Cuts and jumps: the sample video spliced so that the face is somewhere else from one frame to the next.

A camera that is bumped, a clip cut in an editor, a second person stepping in front: the tracker, which re-makes
each box from the last frame's points, follows the old position until a detection corrects it. :func:`spliced_clip`
builds such a clip from the course's two sample people (the sample shifted sideways, a cut to the other person, the
sample mirrored, the sample again); :func:`cut_recovery` runs the live pipeline over it and measures, against the
detector run on every frame, how many frames each cut takes until the box is on the new face (``frames_to_recover``)
and on how many frames a box stood where no face was (``wrong_box_frames``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import CourseError
from ..landmarks import detect_faces, to_gray
from .detection import FrameChange
from .pipeline import LivePipeline
from .runner import FrameSource
from .tracks import iou

RECOVERED_IOU = 0.5  # a box overlapping the true face this much is on it
WRONG_IOU = 0.3      # a box overlapping every true face less than this stands where no face is


@dataclass
class Spliced:
    """A clip with cuts: the frames, where each segment starts (``cuts[0]`` is 0) and what each segment shows."""

    frames: list[np.ndarray]
    cuts: list[int]
    labels: list[str]


def _read(source: str, start: int, n: int) -> list[np.ndarray]:
    frames = []
    with FrameSource(source, loop=True) as src:
        for _ in range(start + n):
            frame = src.read()  # the source may reuse its buffer: keep a copy of each frame
            if frame is None:
                raise CourseError(f"could not read {start + n} frames of {source!r}: run `python -m helpers.data` to "
                                  "fetch it again.")
            frames.append(frame.copy())
    return frames[start:]


def _letterbox(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``image`` scaled to fit ``shape`` (h, w), centred on black."""
    h, w = shape
    f = min(w / image.shape[1], h / image.shape[0])
    small = cv2.resize(image, (int(image.shape[1] * f), int(image.shape[0] * f)), interpolation=cv2.INTER_AREA)
    out = np.zeros((h, w, 3), np.uint8)
    y, x = (h - small.shape[0]) // 2, (w - small.shape[1]) // 2
    out[y:y + small.shape[0], x:x + small.shape[1]] = small
    return out


def _shift(image: np.ndarray, dx: int) -> np.ndarray:
    """The picture moved ``dx`` px sideways (the camera bumped), the uncovered strip black."""
    m = np.float32([[1, 0, dx], [0, 1, 0]])
    return cv2.warpAffine(image, m, (image.shape[1], image.shape[0]), borderMode=cv2.BORDER_CONSTANT)


def spliced_clip(segment: int = 42) -> Spliced:
    """Five segments of ``segment`` frames, each starting with a cut: the sample; the sample moved 160 px left (the
    face jumps); the other sample person (another face, another place); the sample mirrored (the face jumps across);
    the sample again. All 640x360 like the sample. The default 42 is no multiple of 5, so that the cuts fall at
    different points of a detection every 5 frames (the fixed interval's default), not all where one is due."""
    sample = _read("sample", 0, 4 * segment)
    shape = sample[0].shape[:2]
    other = [_letterbox(f, shape) for f in _read("other_person", 0, segment)]
    parts = [("sample", sample[:segment]),
             ("jump: moved 160 px", [_shift(f, -160) for f in sample[segment:2 * segment]]),
             ("cut: the other person", other),
             ("jump: mirrored", [np.ascontiguousarray(f[:, ::-1]) for f in sample[2 * segment:3 * segment]]),
             ("cut: back to the sample", sample[3 * segment:4 * segment])]
    frames, cuts, labels = [], [], []
    for label, part in parts:
        cuts.append(len(frames))
        labels.append(label)
        frames.extend(part)
    return Spliced(frames, cuts, labels)


def true_boxes(clip: Spliced) -> list[list[tuple[int, int, int, int]]]:
    """The detector's boxes on every frame of ``clip`` (coarse to fine, as the course detects): the reference."""
    return [[tuple(int(v) for v in b) for b, _ in detect_faces(to_gray(f))] for f in clip.frames]


def cut_recovery(clip: Spliced | None = None, truth: list | None = None, *,
                 policies: tuple[str, ...] = ("adaptive", "interval"), fps: float | None = 30.0, **config) -> dict:
    """Run the pipeline over a spliced clip once per detection policy; how fast its boxes are on the new face.

    Per policy: ``frames_to_recover`` for each cut after the first (0 = the box is on the new face on the cut's own
    frame), their median and max, ``wrong_box_frames`` (frames where some box overlaps no true face), the detector
    runs and why (``detect_reasons``), and ``on_face``: per frame, whether every true face had a box on it. Also the
    picture's change (:class:`~.detection.FrameChange`): its largest value between cuts and its value at each cut.
    ``truth``: :func:`true_boxes` of the clip (computed when not given). ``fps``: the frames are handed over at this
    rate, as a camera delivers them, so that a frame means the same time for both rules; None hands them over as fast
    as the pipeline goes (the regular detections, which get only the CPU time the loop leaves, then come back
    more frames later, and how many more depends on the machine's load).
    """
    clip = clip or spliced_clip()
    truth = truth if truth is not None else true_boxes(clip)
    out: dict = {"segments": clip.labels, "cuts": clip.cuts[1:], "frames": len(clip.frames)}
    change = FrameChange()
    changes = np.array([change(to_gray(f)) for f in clip.frames])
    inside = np.ones(len(changes), bool)
    inside[clip.cuts] = False  # the first frame of each segment is the cut (frame 0: no previous frame)
    out["change_within_max"] = round(float(changes[inside].max()), 1)
    out["change_at_cuts"] = [round(float(changes[c]), 1) for c in clip.cuts[1:]]
    ends = clip.cuts[1:] + [len(clip.frames)]
    for policy in policies:
        with LivePipeline(draw_points=False, draw_emoji=False, **{**config, "detect_policy": policy}) as pipe:
            pipe.settle()  # the detector process started (both rules find it ready)
            on_face, wrong = [], 0
            start_at = time.perf_counter()
            for i, (frame, want) in enumerate(zip(clip.frames, truth)):
                if fps:  # wait for the frame's time, as a camera would; a frame late moves the schedule on
                    wait = start_at + i / fps - time.perf_counter()
                    if wait > 0:
                        time.sleep(wait)
                    elif wait < -1 / fps:
                        start_at -= wait
                _, tracks = pipe.process(frame)
                boxes = [t.box for t in tracks]
                on_face.append(bool(want) and all(any(iou(b, w) >= RECOVERED_IOU for b in boxes) for w in want))
                wrong += any(all(iou(b, w) < WRONG_IOU for w in want) for b in boxes)
            recover = []
            for start, end in zip(clip.cuts[1:], ends[1:]):
                hit = next((i - start for i in range(start, end) if on_face[i]), end - start)
                recover.append(int(hit))
            out[policy] = {"frames_to_recover": recover, "median": float(np.median(recover)), "max": int(max(recover)),
                           "wrong_box_frames": int(wrong), "detections": pipe.detections, "on_face": on_face,
                           "detect_reasons": {k: v for k, v in pipe.detect_reasons.items() if v}}
    return out
