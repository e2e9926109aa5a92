"""Run one scenario under pytest-benchmark and describe it in ``extra_info``."""

from __future__ import annotations

import os
import pickle
import signal
import statistics
from array import array
from collections.abc import Sequence
from typing import Any

from ipcbench import machine, mechanisms, schema, stability
from ipcbench.harness import Rig, RoundResult, Settings
from ipcbench.scenario import Scenario, format_size

#: pyperf warns when the standard deviation reaches 10% of the mean; so do we (see ipcbench.stability).
SPREAD_WARN = stability.SPREAD_WARN


def percentiles(samples: Sequence[array]) -> dict[str, int]:
    """Nearest-rank percentiles of every round trip of every pair."""
    values = sorted(v for a in samples for v in a)
    if not values:
        return {}
    last = len(values) - 1

    def rank(q: float) -> int:
        return values[min(last, max(0, int(q * len(values) + 0.999999) - 1))]

    out = {"p50": rank(0.50), "p90": rank(0.90), "p99": rank(0.99), "p999": rank(0.999), "max": values[-1]}
    out["min"] = values[0]
    out["mean"] = round(sum(values) / len(values))
    out["count"] = len(values)
    return out


def describe(
    scenario: Scenario,
    settings: Settings,
    results: Sequence[RoundResult],
    median_s: float,
    affinity: dict[str, list[int]],
) -> dict[str, Any]:
    """The ``extra_info`` of one benchmark (keys documented in :mod:`ipcbench.schema`).

    For the one-sided patterns a "message" is one operation, so ``msgs_per_s`` is operations/s.
    """
    n = results[-1].messages
    cpus = machine.usable_cpus()
    info: dict[str, Any] = {"ipcbench_schema": schema.SCHEMA_VERSION, **scenario.fields()}
    info.update(
        messages=n,
        rounds=len(results),
        round_time_target_s=settings.round_time,
        msgs_per_s=n / median_s,
        bytes_per_s=n * scenario.payload_bytes / median_s,
        worker_span_ns=int(statistics.median(r.span_ns for r in results)),
        cpus_usable=cpus,
        oversubscribed=scenario.processes > cpus,
        worker_affinity=affinity,
        pickle_protocol=pickle.DEFAULT_PROTOCOL if _pickles(scenario.mechanism) else None,
    )
    if scenario.pattern == "latency":
        info["rtt_ns"] = percentiles([a for r in results for a in r.rtts])
    elif scenario.pattern == "startup":
        # Start-up is timed per operation; lower is better.
        info["op_ns"] = percentiles([a for r in results for a in r.rtts])
    # Pattern figures (e.g. lost_updates, updates_expected) are summed over the timed rounds.
    for key in results[-1].extra:
        info[key] = sum(r.extra.get(key, 0) for r in results)
    # Spread, round count and round length, from the rounds' own clock (pyperf-style checks).
    warnings = stability.round_warnings([r.elapsed_ns / 1e9 for r in results])
    if scenario.processes > cpus:
        warnings.append(f"oversubscribed: {scenario.processes} processes on {cpus} usable CPUs")
    if scenario.placement != "none" and scenario.processes > cpus:
        warnings.append(f"placement {scenario.placement}: {scenario.processes} workers share {cpus} CPUs")
    if info.get("lost_updates"):
        warnings.append(f"lost updates: {info['lost_updates']} of {info['updates_expected']} (no lock)")
    info["warnings"] = warnings
    return info


def _fault(scenario: Scenario) -> tuple[int, str] | None:
    """``IPCBENCH_FAULT=SCENARIO_ID[=SIGNAL:ROLE]``: a test hook that signals one worker mid-round.

    It lets the tests check, through the real command line, what a user sees when a worker dies
    (default ``KILL:consumer``) or stalls (``STOP:consumer``).
    """
    spec = os.environ.get("IPCBENCH_FAULT", "")
    target, _, action = spec.partition("=")
    if target != scenario.id:
        return None
    sig, _, role = (action or "KILL:consumer").partition(":")
    return getattr(signal, f"SIG{sig.upper()}"), role or "consumer"


def _pickles(mechanism: str) -> bool:
    m = mechanisms.MECHANISMS.get(mechanism)
    return m is not None and m.carries == "objects"


def run_scenario(benchmark: Any, scenario: Scenario, settings: Settings) -> None:
    """Start warm workers, calibrate the batch, time ``rounds`` verified rounds, describe them."""
    benchmark.group = f"{scenario.pattern} {format_size(scenario.payload_bytes)}"
    timed: list[RoundResult] = []
    fault = _fault(scenario)
    with Rig(scenario, settings) as rig:
        n = rig.calibrate()

        def one_round() -> None:
            if fault is not None:
                rig.start_round(n)
                victim = next(w for w in rig.workers if w.role == fault[1])
                os.kill(victim.process.pid, fault[0])
                timed.append(rig.finish_round())
            timed.append(rig.run_round(n))

        try:
            # Calibration's last round ran at this batch size: it counts as one warm-up round.
            warmup = max(0, settings.warmup_rounds - 1)
            benchmark.pedantic(one_round, rounds=settings.rounds, warmup_rounds=warmup, iterations=1)
        except BaseException:
            # pytest-benchmark marks errors only for Exception; a Ctrl-C mid-round would leave a
            # benchmark with no rounds that breaks its JSON writer, losing every finished result.
            benchmark.has_error = True
            raise
        affinity = rig.worker_affinity()
        placement = rig.placement
    # Warm-up rounds come first and are not part of the figures.
    measured = timed[-settings.rounds :]
    stats = getattr(getattr(benchmark, "stats", None), "stats", None)
    if stats is not None:
        median_s = stats.median
    else:  # --benchmark-disable: pytest-benchmark kept no stats; use our own clock.
        median_s = statistics.median(r.elapsed_ns for r in measured) / 1e9
    info = describe(scenario, settings, measured, median_s, affinity)
    info["placement_masks"] = placement
    benchmark.extra_info.update(info)
