"""What a recording gives the course: frames kept and skipped by reason, over time, and a frame to demonstrate on.

Notebook 01 scans a recording (:func:`helpers.capture.scan_source`), which counts the faces in each frame
and notes the best face's size and the frame's brightness. :func:`report` turns that into what a learner
needs before going on: how many frames were read and kept, the skipped ones by reason with their time
ranges, and what to do when too little is left. :func:`plot_timeline` draws it over time.
:func:`first_face_frame` finds a frame to demonstrate on (the first with exactly one face) in any
recording, instead of a fixed index that may hold no face.
"""
from __future__ import annotations

from typing import Any

from .video import Frame, Source, read_frames, video_info

__all__ = ["REASONS", "MIN_FACE_SIDE", "DARK", "MIN_FRAMES", "MIN_SECONDS", "frame_reasons", "report", "plot_timeline",
           "first_face_frame", "lowest_score", "rotation_hint"]

MIN_FACE_SIDE = 48   # px in the scanned frame: a smaller face's 128 px crop would be mostly upscaling
DARK = 40            # mean grey level (0-255) below which a frame without a face counts as too dark
MIN_FRAMES = 30      # kept frames a personal model needs at the least (notebook 03 holds back the last 20 %)
MIN_SECONDS = 5.0    # a shorter clip holds too little variety (expressions, head poses) for a personal model
CUT_SHORT = 0.9      # fewer frames read than this fraction of the header's count: the file is probably cut short
REASONS = {  # reason -> (colour on the timeline, what it means)
    "kept": ("tab:green", "exactly one face: becomes data"),
    "no face": ("tab:red", "no face found (turned away, out of the frame, covered)"),
    "too dark": ("black", "no face found and the frame is dark"),
    "several faces": ("tab:orange", "more than one face: which one is yours is unknown"),
    "face too small": ("tab:purple", f"one face, smaller than {MIN_FACE_SIDE} px: too far from the camera"),
}


def frame_reasons(manifest: dict[str, Any]) -> dict[int, str]:
    """The reason of every frame read: ``"kept"`` or why it was skipped (see :data:`REASONS`)."""
    sides = manifest.get("face_side", {})
    light = manifest.get("brightness", {})
    faces = manifest["faces_per_frame"]
    lit = sorted(light[k] for k, n in faces.items() if n == 1 and k in light)
    dark = min(DARK, lit[len(lit) // 2] / 2) if lit else DARK  # a dim room you stepped out of is not "too dark"
    out = {}
    for key, n in faces.items():
        if n == 0:
            out[int(key)] = "too dark" if light.get(key, 255) < dark else "no face"
        elif n > 1:
            out[int(key)] = "several faces"
        else:
            out[int(key)] = "face too small" if sides.get(key, MIN_FACE_SIDE) < MIN_FACE_SIDE else "kept"
    return out


def _fps(manifest: dict[str, Any]) -> float:
    fps = (manifest.get("info") or {}).get("fps") or 0
    return float(fps) if fps and fps > 0 else 30.0


def frame_times(manifest: dict[str, Any]) -> dict[int, float]:
    """Seconds from the start of every frame read: the decoder's clock as the scan saw it (a manifest of an
    older course version has none: then index / fps, which is off in a variable-frame-rate clip)."""
    times = manifest.get("time")
    if times:
        return {int(k): float(v) for k, v in times.items()}
    fps = _fps(manifest)
    return {int(k): int(k) / fps for k in manifest.get("faces_per_frame", {})}


def _ranges(indices: list[int], times: dict[int, float], fps: float, step: int) -> list[tuple[float, float]]:
    """Consecutive frame indices (``step`` apart) merged into (start s, end s) ranges; a range ends one frame
    (1 / fps) after its last frame starts."""
    out: list[list[float]] = []
    for i in sorted(indices):
        if out and i - out[-1][2] <= step:
            out[-1][1], out[-1][2] = times[i] + 1 / fps, i
        else:
            out.append([times[i], times[i] + 1 / fps, i])
    return [(round(a, 2), round(b, 2)) for a, b, _ in out]


def report(manifest: dict[str, Any], *, min_frames: int = MIN_FRAMES) -> dict[str, Any]:
    """Frames read, kept and skipped by reason with their time ranges, and advice; ``text`` holds it in words."""
    reasons = frame_reasons(manifest)
    fps, step = _fps(manifest), int(manifest["settings"].get("step") or 1)
    by_reason = {r: sorted(i for i, why in reasons.items() if why == r) for r in REASONS}
    times = frame_times(manifest)
    ranges = {r: _ranges(idx, times, fps, step) for r, idx in by_reason.items() if idx and r != "kept"}
    kept = len(by_reason["kept"])
    lines = [f"{len(reasons)} frames read, {kept} kept (exactly one face)"]
    for r, spans in ranges.items():
        shown = ", ".join(f"{a:g}-{b:g} s" for a, b in spans[:4]) + (f" and {len(spans) - 4} more" if len(spans) > 4 else "")
        lines.append(f"  skipped, {r}: {len(by_reason[r])} frames ({shown})")
    advice = []
    skipped = {r: len(v) for r, v in by_reason.items() if r != "kept" and v}
    main = max(skipped, key=skipped.get) if skipped else None
    if kept == 0:
        first = {"several faces": "Every frame with a face shows several faces: record alone in the frame.",
                 "too dark": "The frames are too dark to find a face: turn on a light in front of you and record again.",
                 "face too small": "The face is too small in every frame: sit closer to the camera and record again."}
        advice.append("No frame can become data. " + first.get(main, "Check that your face is in the picture and lit "
                      "from the front. A sideways phone video needs ROTATE (try 90 or 270; no new recording needed); "
                      "a face far from the camera: sit closer and record again."))
    seconds = max(times.values()) - min(times.values()) + step / fps if times else 0.0
    if 0 < kept < min_frames:
        why = ("Record a longer clip (10 s or more) facing the camera, alone in the frame." if seconds < 2 * MIN_SECONDS
               else "Nothing was skipped: read more of its frames (a smaller STEP)." if main is None
               else f"Most frames were skipped ({main}): see the reasons above; facing the camera from closer, alone "
                    "and lit from the front, keeps more.")
        advice.append(f"Only {kept} frame{'s are' if kept != 1 else ' is'} kept; a personal model (notebooks 03-04) "
                      f"needs at least {min_frames}. {why}")
    settings, header = manifest["settings"], (manifest.get("info") or {}).get("frames") or 0
    if header > 0 and not settings.get("max_frames"):
        expected = -(-header // step)
        if len(reasons) < CUT_SHORT * expected:
            advice.append(f"Only {len(reasons)} of the {expected} frames the file's header announces could be read: the "
                          "file is probably cut short (an interrupted copy or recording). Copy or export it again.")
    if 0 < kept and seconds < MIN_SECONDS and not settings.get("max_frames"):
        advice.append(f"The clip is only {seconds:.1f} s long: a personal model learns from the variety of a longer "
                      f"one. Record {MIN_SECONDS:g} s or more (10 s is better), with a few expressions.")
    if by_reason["too dark"]:
        advice.append("Some frames are too dark: turn on a light in front of you.")
    if by_reason["several faces"] and not (kept == 0 and main == "several faces"):  # said once, above
        advice.append("Some frames show several faces: record alone, or those frames are left out.")
    if by_reason["face too small"] and not (kept == 0 and main == "face too small"):
        advice.append("In some frames the face is small: sit closer to the camera.")
    lines += advice or ["Enough frames to go on."]
    return {"frames": len(reasons), "kept": kept, "skipped": skipped,
            "ranges": ranges, "advice": advice, "enough": kept >= min_frames, "text": "\n".join(lines)}


def plot_timeline(manifest: dict[str, Any], ax=None):
    """Each frame read as a coloured tick by reason over time, with the detector's best score as a line."""
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 2.5))
    reasons, times = frame_reasons(manifest), frame_times(manifest)
    for r, (colour, _) in REASONS.items():
        t = [times[i] for i, why in reasons.items() if why == r]
        if t:
            ax.scatter(t, [-0.15] * len(t), marker="|", s=200, color=colour, label=f"{r} ({len(t)})")
    scores, faces = manifest.get("best_score", {}), manifest.get("faces_per_frame", {})
    t = [times[int(k)] for k in scores]
    ax.plot(t, [v if faces.get(k, 1) else float("nan") for k, v in scores.items()], lw=1, color="tab:blue")  # a gap: no face
    ax.set(xlabel="time (s)", ylabel="detector score", title="every frame read: kept or why it was skipped")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    return ax


def lowest_score(manifest: dict[str, Any]) -> tuple[int, float] | None:
    """The frame whose face the detector was least sure of, and its score, among frames with a face (None if none)."""
    scores, faces = manifest.get("best_score", {}), manifest.get("faces_per_frame", {})
    with_face = [k for k in scores if faces.get(k, 0) > 0]
    if not with_face:
        return None
    low = min(with_face, key=scores.get)
    return int(low), float(scores[low])


def rotation_hint(image, rotate: int = 0) -> str:
    """For a frame (already turned by ``rotate``) in which no face was found: a sentence naming the ``ROTATE`` that shows
    one (a sideways phone clip without a rotation tag), or "" when no quarter turn finds a face either."""
    from .landmarks import detect_faces, to_gray
    from .video import rotate_image
    for turn in (90, 270, 180):
        if detect_faces(to_gray(rotate_image(image, turn))):
            return (f"Turned {turn}° further clockwise it shows a face: a sideways clip without a rotation tag; "
                    f"set ROTATE = {(rotate + turn) % 360}.")
    return ""


def first_face_frame(source: Source, *, rotate: int = 0, max_side: int | None = 640,
                     candidates: list[Frame] = (), step: int | None = None) -> Frame | None:
    """The first frame with exactly one face: among ``candidates`` first, else scanning ``source``; None if none has one.

    ``step``: read every step-th frame of the source (default: about 4 per second of video).
    """
    from .landmarks import detect_faces, to_gray
    for frame in candidates:
        if len(detect_faces(to_gray(frame.image))) == 1:
            return frame
    if step is None:
        fps = (video_info(source).get("fps") or 24) if not isinstance(source, int) else 24
        step = max(1, int(round(float(fps) / 4)))
    for frame in read_frames(source, step=step, rotate=rotate, max_side=max_side):
        if len(detect_faces(to_gray(frame.image))) == 1:
            return frame
    return None
