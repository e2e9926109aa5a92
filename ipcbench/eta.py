"""How long a run takes: a model per scenario before it starts, corrected by what has run so far.

The model (:func:`expected`) knows what makes one scenario longer than another: calibration, warm-up
and timed rounds at the target round time, worker start-up by start method, and the floor a big
payload puts on a round (a minimum batch must move however long it takes).  It does not know this
machine, so while a run goes on :func:`seconds_left` scales the model of every remaining scenario by
the median measured/model ratio of finished scenarios of its kind, else of all finished ones.

A plain median of durations per kind, used before, ignored payload size: early in the full profile it
predicted about half of the real two and a half hours, and ``--max-time`` trusted it.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable

from ipcbench import specs
from ipcbench.calibration import CALIBRATION_WINDOW
from ipcbench.scenario import Scenario
from ipcbench.settings import Settings

#: Seconds to start one worker and have it report ready, by start method.
WORKER_START_S = {"fork": 0.01, "forkserver": 0.03, "spawn": 0.08}
#: Seconds per operation of the start-up benchmarks, by start method (a process start measured on a
#: 2-core VM: fork ~3-4 ms, forkserver ~16 ms, spawn ~60-75 ms).
STARTUP_OP_S = {"fork": 0.005, "forkserver": 0.02, "spawn": 0.08}
#: Bytes/s a big payload moves at, for the floor a minimum batch of 8 messages puts on a round.
BULK_BYTES_PER_S = 1e9
#: Calibration: growing batches (about one full round in all), then a window of full rounds whose
#: median confirms the batch.
CALIBRATION_ROUNDS = 2 + CALIBRATION_WINDOW  # the warm-up, the window, one confirming round
#: A typical round trip of one ping-pong pair on a small VM (40-90 µs unpinned on 2 vCPUs).
LATENCY_RTT_S = 50e-6
#: pytest's and the rig's own cost per trial, beyond starting the workers.  A trial of a 2-process
#: fork scenario with ~3 ms of rounds took a median 34 ms (14 ms at least) in all, with the 2-vCPU
#: VM loaded by other work (load average 6.5): so about 0.02 s here, and the rest its workers' start.
OVERHEAD_S = 0.02


def kind(scenario: Scenario | None) -> str:
    """The grouping key of :func:`seconds_left`; None stands for anything else (e.g. calibration)."""
    if scenario is None:
        return "other"
    return f"{scenario.pattern}-{scenario.processes}p-{scenario.start_method}"


def expected(
    scenario: Scenario | None,
    round_time: float,
    rounds: int,
    warmup_rounds: int = 1,
    *,
    trials: int = 1,
    first: bool = True,
) -> float:
    """Model seconds for one trial of a scenario; None (a calibration item) counts as a plain
    2-process one.

    The ``first`` trial calibrates the batch; later ones reuse it and only warm up (at least one
    untimed round: a fresh worker's first round pays one-off costs).  ``trials`` matters to latency,
    whose timed rounds stretch towards a tail sample count shared by all trials.
    """
    processes = scenario.processes if scenario else 2
    start = WORKER_START_S[scenario.start_method if scenario else "fork"] * processes
    floor = 8 * scenario.payload_bytes / BULK_BYTES_PER_S if scenario else 0.0
    if scenario is not None and not specs.of(scenario.pattern).round_target:
        # Rounds as long as their operations make them (start-ups): the operations' own cost is a floor.
        heavy = scenario.mechanism in ("pool_start", "manager_start")
        per_op = STARTUP_OP_S[scenario.start_method] * (10 if heavy else 1)
        floor = max(floor, per_op * max(1, processes / 2))
    per_round = max(round_time, floor)
    timed = per_round
    if scenario is not None and scenario.pattern == "latency":
        # Timed latency rounds stretch to collect enough round trips for the tail percentiles.
        d = Settings()
        trips = -(-d.tail_samples // (rounds * trials)) / scenario.producers
        timed = max(per_round, min(per_round * d.latency_stretch, trips * LATENCY_RTT_S))
    untimed = CALIBRATION_ROUNDS + warmup_rounds if first else max(1, warmup_rounds)
    return OVERHEAD_S + start + per_round * untimed + timed * rounds


def estimate(scenarios: Iterable[Scenario], round_time: float, rounds: int, trials: int = 1) -> float:
    """The model's total for a sweep, printed before a run starts so nobody starts hours by accident."""
    total = 0.0
    for s in scenarios:
        total += expected(s, round_time, rounds, trials=trials)
        total += (trials - 1) * expected(s, round_time, rounds, trials=trials, first=False)
    return total


def seconds_left(done: Iterable[tuple[str, float, float]], remaining: Iterable[tuple[str, float]]) -> float:
    """``done``: (kind, model, measured seconds) of finished items; ``remaining``: (kind, model).

    Ratios, not durations, are pooled: a 64 MiB scenario and an 8 B one of the same kind differ by
    their model, while the machine's speed (and load) shows in both as the same factor.
    """
    by_kind: dict[str, list[float]] = {}
    for key, model, seconds in done:
        by_kind.setdefault(key, []).append(seconds / model)
    every = [r for ratios in by_kind.values() for r in ratios]
    overall = statistics.median(every) if every else 1.0
    medians = {k: statistics.median(v) for k, v in by_kind.items()}
    return sum(model * medians.get(key, overall) for key, model in remaining)
