"""Benchmarks: ``python -m helpers.bench landmarks|emotion|live`` prints one JSON object.

Each stage's experiments module owns its benchmark: :func:`helpers.landmark_experiments.benchmark`,
:func:`helpers.emotion_experiments.benchmark` and :func:`helpers.live.experiments.benchmark`. This is
only the command-line entry point; nothing imports it. Absolute targets (speeds, accuracies) live in
the benchmarks, not in notebook asserts or timed unit tests.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Callable

STAGES = ("landmarks", "emotion", "live")


def _benchmark(stage: str) -> Callable[..., dict[str, Any]]:
    """The benchmark function of ``stage`` (imported here: TensorFlow loads only for the stage asked for)."""
    if stage == "landmarks":
        from .landmark_experiments import benchmark
    elif stage == "emotion":
        from .emotion_experiments import benchmark
    else:
        from .live.experiments import benchmark
    return benchmark


def main(argv: list[str] | None = None) -> int:
    """Run one stage's benchmark and print its JSON; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m helpers.bench", description=__doc__)
    parser.add_argument("stage", choices=STAGES)
    parser.add_argument("--quick", action="store_true", help="tiny budgets, to check the benchmark runs")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    result = _benchmark(args.stage)(quick=args.quick)
    print(json.dumps(result, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
