"""Time to result: how long the scenarios still to come will take, from those already done.

Scenarios of one kind (pattern, process count, start method) cost about the same: the timed rounds
are calibrated to the same target time, and what differs is the overhead around them (starting more
processes, spawn against fork).  So the estimate for a scenario is the median duration of finished
scenarios of its kind, else of all finished ones, else a prior from the settings.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence

from ipcbench.harness import Settings
from ipcbench.scenario import Scenario

#: Calibration usually takes a few rounds of growing batches: count them as this many full rounds.
CALIBRATION_ROUNDS = 3
#: Seconds to start one worker process and tear it down (fork; spawn costs more and is learnt).
STARTUP_S = 0.02


def kind(scenario: Scenario | None) -> str:
    """The grouping key of :func:`seconds_left`; None stands for anything else (e.g. calibration)."""
    if scenario is None:
        return "other"
    return f"{scenario.pattern}-{scenario.processes}p-{scenario.start_method}"


def prior(settings: Settings, processes: int = 2) -> float:
    """A guess before anything has run: calibration, warm-up and timed rounds, plus start-up."""
    rounds = CALIBRATION_ROUNDS + settings.warmup_rounds + settings.rounds
    return rounds * settings.round_time + STARTUP_S * processes


def seconds_left(done: Iterable[tuple[str, float]], remaining: Sequence[str], fallback: float) -> float:
    """``done``: (kind, seconds) of finished scenarios; ``remaining``: the kinds still to run."""
    by_kind: dict[str, list[float]] = {}
    for key, seconds in done:
        by_kind.setdefault(key, []).append(seconds)
    every = [s for values in by_kind.values() for s in values]
    overall = statistics.median(every) if every else fallback
    medians = {k: statistics.median(v) for k, v in by_kind.items()}
    return sum(medians.get(k, overall) for k in remaining)
