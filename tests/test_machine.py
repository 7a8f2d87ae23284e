"""helpers.machine: what a benchmark reports about the machine, also where the OS has no load average (Windows)."""
from __future__ import annotations

import json
import os
import tokenize
from pathlib import Path

import pytest

from helpers import machine

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def no_loadavg(monkeypatch):
    """The machine as Windows has it: ``os.getloadavg`` does not exist."""
    monkeypatch.delattr(os, "getloadavg", raising=False)


def test_machine_info_without_a_load_average(no_loadavg):
    assert machine.load_averages() is None
    assert machine.load_average() is None
    info = machine.machine_info()
    assert info["load_average_1min"] is None
    assert info["cpu_count"] == os.cpu_count()
    assert info["platform"] and info["python"].count(".") == 2
    json.dumps(info)  # JSON-able, as every benchmark writes it


def test_machine_info_with_a_load_average(monkeypatch):
    monkeypatch.setattr(os, "getloadavg", lambda: (1.23456, 0.5, 0.25), raising=False)
    assert machine.load_averages() == (1.23456, 0.5, 0.25)
    assert machine.load_average() == 1.23
    assert machine.machine_info()["load_average_1min"] == 1.23


def test_an_unobtainable_load_average_is_none(monkeypatch):
    def unobtainable():
        raise OSError("load average unobtainable")
    monkeypatch.setattr(os, "getloadavg", unobtainable, raising=False)
    assert machine.load_averages() is None and machine.load_average() is None


def test_the_landmark_benchmark_reports_the_machine_without_a_load_average(no_loadavg):
    from helpers.landmark_experiments import machine_report
    report = machine_report(machine.load_average())
    assert report["load_average_1min_start"] is None and report["load_average_1min"] is None
    assert report["cpu_count"] == os.cpu_count()
    json.dumps(report)


def test_only_helpers_machine_calls_getloadavg():
    """Every benchmark and tool asks helpers.machine, so none of them breaks where os.getloadavg is missing."""
    callers = []
    files = [*(ROOT / "helpers").rglob("*.py"), *(ROOT / "tools").glob("*.py"), ROOT / "course.py"]
    for path in files:
        if path == ROOT / "helpers" / "machine.py":
            continue
        with open(path, "rb") as f:
            names = [t for t in tokenize.tokenize(f.readline) if t.type == tokenize.NAME and t.string == "getloadavg"]
        callers += [f"{path.relative_to(ROOT)}:{t.start[0]}" for t in names]
    assert not callers, f"use helpers.machine.load_average() (None on Windows) instead of os.getloadavg: {callers}"


def test_training_device_here_is_the_cpu():
    info = machine.training_device()
    assert info["device"] == "CPU" and info["gpus"] == [] and info["cpu_count"] >= 1
    assert "CPU-only" in machine.device_sentence("EPOCHS", info) or info["cuda_build"]


def test_device_sentence_names_the_device_and_the_budget():
    gpu = {"device": "GPU", "gpus": ["NVIDIA T4"], "cpu_count": 4, "cuda_build": True}
    said = machine.device_sentence("EPOCHS", gpu)
    assert "GPU (NVIDIA T4)" in said and "raise EPOCHS" in said
    fallback = machine.device_sentence("EPOCHS and PATIENCE", {**gpu, "device": "CPU", "gpus": []})
    assert "falls back to the CPU" in fallback and "setup --gpu" in fallback and "EPOCHS and PATIENCE" in fallback
    cpu_only = machine.device_sentence("EPOCHS", {**gpu, "device": "CPU", "gpus": [], "cuda_build": False})
    assert "CPU-only" in cpu_only and "4 cores" in cpu_only


def test_latency_ms_runs_before_untimed_before_every_call():
    import time

    from helpers.timing import latency_ms
    calls = []
    ms = latency_ms(lambda: calls.append("fn"), repeats=5, warmup=2,
                    before=lambda: (calls.append("before"), time.sleep(0.01)))
    assert calls == ["before", "fn"] * 7
    assert ms < 5, f"the 10 ms of `before` were timed: {ms:.1f} ms"
