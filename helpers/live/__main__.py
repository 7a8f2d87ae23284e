"""``python -m helpers.live``: the live demo in an OpenCV window (q or Esc quits), or headless into a video file."""
from __future__ import annotations

import argparse
import os
import sys

import cv2

from ..errors import CourseError
from ..video import write_video
from .models import EMOTION_BACKENDS, EMOTION_MODELS, LANDMARK_MODELS
from .pipeline import LiveConfig, LivePipeline
from .runner import FrameSource, iter_annotated


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.live", description="Live facial landmarks + emotion + emoji. "
                                     "In the window, q or Esc quits.")
    parser.add_argument("--source", default="0", help="webcam index, video file or 'sample' (default 0; "
                        "falls back to the sample video when no webcam opens)")
    parser.add_argument("--landmarks", choices=list(LANDMARK_MODELS), default="dlib")
    parser.add_argument("--emotion", choices=list(EMOTION_MODELS), default="peer")
    parser.add_argument("--detect-every", type=int, default=LiveConfig.detect_every)
    parser.add_argument("--detect-min-side", type=int, default=LiveConfig.detect_min_side,
                        help="detect on a copy this large first (longer side, px)")
    parser.add_argument("--detect-max-side", type=int, default=LiveConfig.detect_max_side,
                        help="... and up to this large when the faces found are small")
    parser.add_argument("--emotion-backend", choices=list(EMOTION_BACKENDS), default=LiveConfig.emotion_backend)
    parser.add_argument("--smooth", type=int, default=LiveConfig.smooth)
    parser.add_argument("--output", help="headless: write the annotated video here (.mp4) instead of opening a window")
    parser.add_argument("--frames", type=int, default=None, help="stop after this many frames (default: the whole "
                        "file; with --output and a webcam: 300)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        pipeline = LivePipeline(LiveConfig(landmarks=args.landmarks, emotion=args.emotion, detect_every=args.detect_every,
                                           detect_min_side=args.detect_min_side, detect_max_side=args.detect_max_side,
                                           emotion_backend=args.emotion_backend, smooth=args.smooth))
        with FrameSource(args.source, loop=False) as src:
            print(src.message, file=sys.stderr)
            print(pipeline.banner, file=sys.stderr)
            if args.output:
                frames = args.frames if args.frames is not None else (300 if src.is_camera else None)
                n = write_video(args.output, iter_annotated(pipeline, src, frames), fps=src.fps)
                print(f"wrote {n} annotated frames to {args.output} ({pipeline.timer.text()})", file=sys.stderr)
                return 0
            title = "live (q or Esc quits)"
            no_display = CourseError("no display to open a window on (a server, or an SSH session without X). "
                                     "Use --output out.mp4 --frames N to write an annotated video instead.")
            if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
                raise no_display  # checked first: OpenCV's Qt window would abort the whole process
            try:
                cv2.namedWindow(title, cv2.WINDOW_AUTOSIZE)
            except cv2.error as exc:
                raise no_display from exc
            try:
                delay = 1 if src.is_camera else max(1, int(1000 / src.fps))
                for out in iter_annotated(pipeline, src, args.frames):
                    cv2.imshow(title, out)
                    key = cv2.waitKey(delay) & 0xFF
                    if key in (ord("q"), 27) or cv2.getWindowProperty(title, cv2.WND_PROP_VISIBLE) < 1:
                        break
            finally:
                cv2.destroyAllWindows()
                cv2.waitKey(1)
            print(pipeline.timer.text(), file=sys.stderr)
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
