"""Saved runs changed on purpose: the same real run with chosen scenarios made slower or faster."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "data" / "quick-fork-2cpu.json"
BASELINE = ROOT / "results" / "baseline.json"

TIME_STATS = ("min", "max", "mean", "median", "q1", "q3", "iqr", "stddev")


def read(path: Path = FIXTURE) -> dict[str, Any]:
    return json.loads(path.read_text())


def bench(data: dict[str, Any], scenario: str) -> dict[str, Any]:
    return next(b for b in data["benchmarks"] if b["extra_info"]["scenario"] == scenario)


def slow_down(data: dict[str, Any], scenario: str, factor: float) -> dict[str, Any]:
    """Every round of one scenario takes ``factor`` times as long (factor < 1: faster), figures to match."""
    out = copy.deepcopy(data)
    b = bench(out, scenario)
    stats, info = b["stats"], b["extra_info"]
    stats["data"] = [d * factor for d in stats["data"]]
    for key in TIME_STATS:
        stats[key] *= factor
    info["msgs_per_s"] /= factor
    info["bytes_per_s"] /= factor
    if "rtt_ns" in info:
        info["rtt_ns"] = {k: (v if k == "count" else v * factor) for k, v in info["rtt_ns"].items()}
    return out


def slow_all(data: dict[str, Any], factor: float) -> dict[str, Any]:
    out = data
    for b in data["benchmarks"]:
        out = slow_down(out, b["extra_info"]["scenario"], factor)
    return out


def keep(data: dict[str, Any], scenarios: set[str]) -> dict[str, Any]:
    out = copy.deepcopy(data)
    out["benchmarks"] = [b for b in out["benchmarks"] if b["extra_info"]["scenario"] in scenarios]
    return out


def write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data))
    return path
