"""Saved runs changed on purpose: the same real run with chosen scenarios made slower or faster."""

from __future__ import annotations

import copy
import json
import math
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "data" / "quick-fork-2cpu.json"
#: A real tiny run (pipe_bytes, queue, os_pipe at 1 KiB, 2 processes, OS placement): the tests' own copy,
#: so that re-recording the committed results/baseline.json changes no test.
BASELINE = ROOT / "tests" / "data" / "tiny-fork-2cpu.json"

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
    for key in ("rtt_ns", "op_ns"):
        if key in info:
            info[key] = {k: (v if k == "count" or v is None else v * factor) for k, v in info[key].items()}
    for trial in info.get("trials", []):
        trial["msgs_per_s"] /= factor
        for key in TRIAL_TIMES:
            if key in trial:
                trial[key] *= factor
    return out


#: Per-trial figures that are times (the rest, ``msgs_per_s``, is a rate).
TRIAL_TIMES = ("rtt_p50_ns", "op_p50_ns", "cpu_ns_per_msg")


def with_trials(
    data: dict[str, Any],
    n: int = 6,
    cv: float | Mapping[str, float] = 0.1,
    seed: int = 0,
    offset: float = 0.0,
    run_share: float = 0.0,
) -> dict[str, Any]:
    """Every benchmark with ``n`` trials whose figures scatter log-normally by ``cv`` (one for all, or
    per scenario) around its own figure, moved by ``offset`` (a log factor: the whole run's luck) and by
    a scenario's own run offset (its spread ``run_share`` times the trials'), as saved by a run."""
    out = copy.deepcopy(data)
    rng = random.Random(seed)
    for b in out["benchmarks"]:
        info = b["extra_info"]
        rtt = (info.get("rtt_ns") or {}).get("p50")
        op = (info.get("op_ns") or {}).get("p50")
        sd = cv[info["scenario"]] if isinstance(cv, Mapping) else cv
        shift = offset + rng.gauss(0, run_share * sd)
        trials = []
        for i in range(n):
            f = math.exp(rng.gauss(shift, sd))
            trial = {"trial": i, "started_s": 1.0 + 5 * i, "rounds": 3, "messages": 3 * info["messages"]}
            trial["msgs_per_s"] = info["msgs_per_s"] / f
            if rtt is not None:
                trial["rtt_p50_ns"] = rtt * f
            if op is not None:
                trial["op_p50_ns"] = op * f
            trial["cpu_ns_per_msg"] = 1e9 / info["msgs_per_s"] * f
            trials.append(trial)
        info["trials"] = trials
        info["trial_count"] = n
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


def frame(*rows: dict[str, Any]) -> Any:
    """A prepared findings frame from a few hand-written benchmarks (defaults fill the rest).

    Each row names at least ``mechanism``, ``pattern`` and its figure (``msgs_per_s`` or
    ``rtt_p50_ns``); the stats are seconds per message, as loaded, with a spread of 1%.
    """
    import pandas as pd

    from ipcbench import findings
    from ipcbench.scenario import shape_label

    out = []
    for r in rows:
        producers = r.get("producers", 1)
        consumers = r.get("consumers", 0 if r["pattern"] not in ("throughput", "latency") else producers)
        row: dict[str, Any] = {
            "file": "run.json",
            "run": 0,
            "host": "box",
            "datetime": "2026-01-01T00:00:00",
            "start_method": "fork",
            "placement": "none",
            "payload_bytes": 8,
            "producers": producers,
            "consumers": consumers,
            "processes": producers + consumers,
            "shape": shape_label(producers, consumers),
            "rounds": 10,
            "oversubscribed": False,
            "warnings": [],
            "extra_info": {},
            **r,
        }
        row.setdefault("msgs_per_s", 1e9 / row.get("rtt_p50_ns", 1e3))
        row.setdefault("median", 1 / row["msgs_per_s"])
        row.setdefault("stddev", 0.01 * row["median"])
        row.setdefault("messages", 1000)
        row.setdefault("bytes_per_s", row["msgs_per_s"] * row["payload_bytes"])
        row.setdefault(
            "scenario", f"{row['mechanism']}-{row['pattern']}-{row['shape']}-{row['payload_bytes']}"
        )
        out.append(row)
    return findings.prepare(pd.DataFrame(out))


def one_sided(
    data: dict[str, Any], mechanism: str, pattern: str, workers: int = 2, op_p50_ns: float | None = None
) -> dict[str, Any]:
    """``data`` with one more benchmark: a saved throughput one turned into a one-sided pattern.

    For ``startup``, ``op_p50_ns`` is the per-start p50; a round stays a batch of starts.
    """
    out = copy.deepcopy(data)
    b = copy.deepcopy(out["benchmarks"][0])
    info = b["extra_info"]
    info.update(mechanism=mechanism, pattern=pattern, producers=workers, consumers=0, processes=workers)
    info["scenario"] = f"{mechanism}-{pattern}-{workers}p-8B-{info['start_method']}"
    if op_p50_ns is not None:
        info["op_ns"] = {"p50": op_p50_ns, "p90": op_p50_ns, "p99": 2 * op_p50_ns, "p999": 3 * op_p50_ns}
        info["op_ns"]["max"] = 4 * op_p50_ns
    out["benchmarks"].append(b)
    return out
