"""Benchmarks: ``python -m helpers.bench landmarks|emotion|live`` prints one JSON object.

Each stage's module owns its benchmark (``helpers.landmark_cnn.benchmark``,
``helpers.emotion.benchmark``, ``helpers.live.benchmark``); this is the command-line entry point.
Quality thresholds live here and in notebook asserts, not in timed unit tests.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys

from .timing import latency_ms  # noqa: F401 (kept for `helpers.bench.latency_ms` callers)

STAGES = {"landmarks": "helpers.landmark_cnn", "emotion": "helpers.emotion", "live": "helpers.live"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.bench", description=__doc__)
    parser.add_argument("stage", choices=sorted(STAGES))
    parser.add_argument("--quick", action="store_true", help="tiny budgets, to check the benchmark runs")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    module = importlib.import_module(STAGES[args.stage])
    result = module.benchmark(quick=args.quick)
    print(json.dumps(result, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
