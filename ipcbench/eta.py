"""How long a run takes: a model per scenario before it starts, corrected by what has run so far.

The model (:func:`expected`) knows what makes one scenario longer than another: calibration, warm-up
and timed rounds at the target round time, worker start-up by start method and CPU count, and the
floor a big payload puts on a round (a minimum batch must move however long it takes).  Its constants
were fitted on ten quiet quick runs on a 2-vCPU VM (41-48 s each, 672 trials, each trial's start time
saved): a trial costs about 7.5 ms beyond its workers and rounds, a forked worker about 3.5 ms to
start, hand-shake and stop, and a first trial's calibration about three rounds more than a later
trial's one warm-up round.  It does not know the machine it runs on, so while a run goes on
:func:`seconds_left` scales the model of every remaining scenario by the median measured/model ratio
of finished scenarios of its kind, else of all finished ones.

A plain median of durations per kind, used before, ignored payload size: early in the full profile it
predicted about half of the real two and a half hours, and ``--max-time`` trusted it.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Iterable

from ipcbench import catalog, specs, trials
from ipcbench.calibration import CALIBRATION_WINDOW
from ipcbench.scenario import Scenario
from ipcbench.settings import Settings

#: Seconds the parent spends per worker, whatever the CPU count: creating it (fork, or the request to
#: the fork server), its ready hand-shake, and stopping and joining it.  Fitted: 3.3 ms with fork.
WORKER_SERIAL_S = 0.0035
#: Seconds of a worker's own start before it reports ready, by start method: a spawned worker is a
#: fresh interpreter importing ipcbench (~60-75 ms for a bare process start on a 2-vCPU VM), a fork
#: server's child has its modules already.  Workers start at once, so this cost spreads over the CPUs.
WORKER_CHILD_S = {"fork": 0.0, "forkserver": 0.015, "spawn": 0.08}
#: Seconds per process start in the start-up benchmarks, by start method (a 2-vCPU VM: a fork start
#: and join ~4-5 ms, forkserver ~16 ms, spawn ~60-75 ms) ...
STARTUP_OP_S = {"fork": 0.005, "forkserver": 0.02, "spawn": 0.08}
#: ... and how many such starts one operation of each start-up benchmark costs (fitted rounds: a Pool
#: of two ~15 ms, a Manager ~12 ms with fork).  Others start no process: their rounds last the target.
STARTUP_WEIGHT = {"process_start": 1.0, "pool_start": 3.0, "manager_start": 2.5}
#: Bytes/s a big payload moves at, for the floor a minimum batch of 8 messages (8 round trips for
#: latency: 16 messages) puts on a round.
BULK_BYTES_PER_S = 1e9
#: Bytes/s one worker copies at in the bulk pattern, whose first batch is one copy per worker:
#: ``array_slice`` copies element by element (57-77 MB/s measured), the others are one memcpy.
COPY_BYTES_PER_S = {"array_slice": 5e7}
COPY_DEFAULT_BYTES_PER_S = 3e9
#: Seconds a mechanism adds to every trial, beyond its workers.  In the ten quick runs a zmq trial took
#: ~190 ms more than a pipe's: its connecting end retried after zmq's 100 ms reconnect interval, and
#: each worker imported pyzmq.  Both are gone (a 5 ms interval; the module preloaded), leaving a
#: context and its sockets per worker: this is a guess until a run measures it.
MECHANISM_SETUP_S = {"zmq": 0.03}
#: Seconds a worker takes to import a mechanism's optional module (NumPy, pyzmq) when it does not
#: inherit it: spawned and fork-server workers (the fork server preloads it: once, not per worker).
MODULE_IMPORT_S = 0.1
#: A first trial's calibration: a window of full rounds whose median confirms the batch, then one
#: confirming round (the growing rounds before them are short; the last is the warm-up).
CALIBRATION_ROUNDS = CALIBRATION_WINDOW + 1
#: A typical round trip of one ping-pong pair on a small VM (40-90 µs unpinned on 2 vCPUs).
LATENCY_RTT_S = 50e-6
#: Seconds to pin one worker, every thread of it, when a placement asks (fitted on ten packed quick
#: runs: 1.7-3.2 ms a worker more than the unpinned model).
PIN_S = 0.002
#: Each worker reads the host's speed twice a trial (ipcbench.canary): three loops of ~0.15 ms and a
#: round trip on its control pipe each time.
CANARY_S = 0.0011
#: pytest's and the rig's own cost per trial, beyond the workers and the rounds (fitted: 7.5 ms).
OVERHEAD_S = 0.0075
#: A run's cost outside its scenarios: starting pytest, collecting, the preflight, saving the results
#: (1.9-2.1 s in each of the ten runs).
RUN_OVERHEAD_S = 2.0


def kind(scenario: Scenario | None) -> str:
    """The grouping key of :func:`seconds_left`; None stands for anything else (e.g. calibration)."""
    if scenario is None:
        return "other"
    return f"{scenario.pattern}-{scenario.processes}p-{scenario.start_method}"


def default_cpus() -> int:
    """The CPUs this process may use: the machine the model plans for unless told another."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def expected(
    scenario: Scenario | None,
    round_time: float,
    rounds: int,
    warmup_rounds: int = 1,
    *,
    trials: int = 1,
    first: bool = True,
    cpus: int | None = None,
) -> float:
    """Model seconds for one trial of a scenario on a machine of ``cpus`` CPUs (default: this one's);
    None (a calibration item) counts as a plain 2-process one.

    The ``first`` trial calibrates the batch; later ones reuse it and only warm up (at least one
    untimed round: a fresh worker's first round pays one-off costs).  ``trials`` matters to latency,
    whose timed rounds stretch towards a tail sample count shared by all trials.
    """
    cpus = max(1, cpus or default_cpus())
    processes = scenario.processes if scenario else 2
    method = scenario.start_method if scenario else "fork"
    # The parent starts and stops workers one by one; their own start-up runs side by side.
    child = WORKER_CHILD_S[method]
    if method == "spawn" and scenario is not None and _requires(scenario.mechanism):
        child += MODULE_IMPORT_S
    # Packed, the workers share one CPU whatever the machine has: their starts, copies and process
    # starts take turns on it.
    cpus = scenario.cpus(cpus) if scenario is not None else cpus
    start = (WORKER_SERIAL_S + CANARY_S) * processes + child * math.ceil(processes / cpus)
    if scenario is not None and scenario.placement != "none":
        start += PIN_S * processes
    floor = _floor(scenario) * (min(processes, 2) if cpus == 1 else 1)
    if scenario is not None and not specs.of(scenario.pattern).round_target:
        # Every worker starts its processes at once: one operation takes longer once they outnumber
        # the CPUs.
        per_op = STARTUP_OP_S[method] * STARTUP_WEIGHT.get(scenario.mechanism, 0.0)
        floor = max(floor, per_op * max(1.0, processes / cpus))
    per_round = max(round_time, floor)
    timed = per_round
    if scenario is not None and scenario.pattern == "latency":
        # Timed latency rounds stretch to collect enough round trips for the tail percentiles.
        d = Settings()
        trips = -(-d.tail_samples // (rounds * trials)) / scenario.producers
        timed = max(per_round, min(per_round * d.latency_stretch, trips * LATENCY_RTT_S))
    if first:
        # The first round, at the smallest batch, costs the floor alone; the window and the
        # confirming round run at the target (the last of them warms up the timed rounds).
        untimed = floor + per_round * (CALIBRATION_ROUNDS + max(0, warmup_rounds - 1))
    else:
        # A later trial's warm-up rounds already run the timed batch.
        untimed = timed * max(1, warmup_rounds)
    setup = MECHANISM_SETUP_S.get(scenario.mechanism, 0.0) if scenario else 0.0
    return OVERHEAD_S + start + setup + untimed + timed * rounds


def _requires(mechanism: str) -> bool:
    """Whether a mechanism needs an optional module (which a spawned worker imports itself)."""
    entry = catalog.entries().get(mechanism)
    return entry is not None and entry.requires is not None


def _floor(scenario: Scenario | None) -> float:
    """Seconds the smallest batch takes however short the target: what a big payload costs a round."""
    if scenario is None:
        return 0.0
    if scenario.pattern == "bulk":
        rate = COPY_BYTES_PER_S.get(scenario.mechanism, COPY_DEFAULT_BYTES_PER_S)
        return scenario.payload_bytes / rate
    messages = 16 if scenario.pattern == "latency" else 8
    return messages * scenario.payload_bytes / BULK_BYTES_PER_S


def estimate(
    scenarios: Iterable[Scenario],
    round_time: float,
    rounds: int,
    trials: int = 1,
    *,
    cpus: int | None = None,
    overhead: bool = True,
) -> float:
    """The model's total for a sweep with ``trials`` trials a scenario, on ``cpus`` CPUs (default:
    this machine's), printed before a run starts so nobody starts hours by accident.

    ``overhead`` adds the run's own cost outside its scenarios (:data:`RUN_OVERHEAD_S`).  The
    selection's trial count and placements are its inputs: each placement is a scenario of its own.
    """
    total = RUN_OVERHEAD_S if overhead else 0.0
    for s in scenarios:
        total += expected(s, round_time, rounds, trials=trials, cpus=cpus)
        total += (trials - 1) * expected(s, round_time, rounds, trials=trials, first=False, cpus=cpus)
    return total


def bounds(
    scenarios: Iterable[Scenario],
    round_time: float,
    rounds: int,
    plan: trials.Plan,
    *,
    cpus: int | None = None,
) -> tuple[float, float]:
    """The model's total for a sweep if every scenario stops at the plan's fewest trials, and if every
    one needs its most (the same twice for a fixed count)."""
    chosen = list(scenarios)
    first = sum(expected(s, round_time, rounds, trials=plan.most, cpus=cpus) for s in chosen)
    later = sum(expected(s, round_time, rounds, trials=plan.most, first=False, cpus=cpus) for s in chosen)

    def total(count: int) -> float:
        return RUN_OVERHEAD_S + first + (count - 1) * later

    return total(plan.least), total(plan.most)


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
