"""How many messages a timed round holds: grown on warm rounds until a round lasts ``round_time``.

Calibration runs real rounds through a rig's public methods, so its rounds are verified and warm the
workers up like any other.
"""

from __future__ import annotations

import math
import statistics
from typing import Protocol

from ipcbench import machine, specs, stability
from ipcbench.rounds import Pattern, RoundResult
from ipcbench.scenario import Scenario
from ipcbench.settings import Settings

#: Rounds at one batch size whose median decides that calibration is done (one round can be a fluke).
CALIBRATION_WINDOW = 3
#: Calibration gives up growing after this many rounds (the batch keeps its last size).
CALIBRATION_MAX_ROUNDS = 30
#: Warm rounds that confirm (or grow) the calibrated batch before it is used.
CALIBRATION_CONFIRMATIONS = 3
#: A batch whose fastest round, or its workers' CPU time (:func:`busy_s`), is under half the target
#: grows until that is about this share of the target: a margin above half, not all of it, for the
#: other rounds are slower (they waited) and that CPU time may be a small part of a round (a
#: Manager's server does the work; ~0.3 of the round there).
SHORT_AIM = 0.625


class Calibrated(Protocol):
    """What calibration needs of a rig: its scenario, settings and pattern, and whole rounds."""

    scenario: Scenario
    settings: Settings
    pattern: Pattern

    def run_round(self, n: int) -> RoundResult: ...


def calibrate(rig: Calibrated) -> int:
    """Grow the batch until rounds last about ``round_time``; these rounds also warm up.

    The batch is judged by the median of :data:`CALIBRATION_WINDOW` rounds at one size, never by
    one round: a single slow round once stopped the growth at half the target, and every timed
    round then came out short.  The fastest round of the window must also reach half the target:
    workers that take turns on one CPU run a batch in one of two modes, fast when each finishes its
    share within its time slice and several times slower when one waits out another's slice (4
    workers packed on one CPU: 8 lock operations in 0.4-0.5 ms, or in 2-4 ms).  A median of slow
    rounds stopped the growth at 8 operations, and the timed rounds that then ran fast lasted a
    tenth of the target; a batch whose fastest round is short grows until that round is past half
    the target (:data:`SHORT_AIM`).  Nor may the workers' CPU time over the CPUs they share
    (:func:`busy_s`) stay under half the target: a round cannot be shorter than that, whatever waits
    lengthen it, so a batch sized on rounds that all waited (a woken parent queued behind another
    task for a tick of 4 ms: 8 operations in 3.5-4.5 ms, five rounds running) still reaches half the
    target once they do not.  The last round always ran at the returned batch size, so it is a
    warm-up round too.
    """
    settings = rig.settings
    target = settings.round_time
    n = rig.pattern.first_batch(rig.scenario)
    # The very first round pays one-off costs (a zmq PUSH reconnecting after its PULL binds takes
    # ~100 ms; first-touch page faults); judging the batch by it once left zmq at 8 messages a
    # round, its figure all signalling.  So it only warms up.
    rig.run_round(n)
    at_n: list[float] = []
    busy: list[float] = []
    for _ in range(CALIBRATION_MAX_ROUNDS):
        result = rig.run_round(n)
        at_n.append(result.elapsed_ns / 1e9)
        busy.append(busy_s(rig.scenario, result))
        if n >= settings.max_messages:
            break
        if len(at_n) < CALIBRATION_WINDOW and max(at_n) >= target * 0.8:
            continue  # long enough once: judge by a window of rounds at this size
        window = at_n[-CALIBRATION_WINDOW:]
        if statistics.median(window) < target * 0.8:
            n = grown(settings, n, statistics.median(window))
        elif min(window) < target * stability.SHORT_ROUND:
            n = grown(settings, n, min(window) / SHORT_AIM)
        elif min(busy) < target * stability.SHORT_ROUND:
            n = grown(settings, n, min(busy) / SHORT_AIM)
        else:
            break
        at_n, busy = [], []
    # A growing batch reaches memory the earlier rounds never touched (a ring's later slots, a
    # queue's buffer), and that first touch slows the very rounds that size it: timed rounds then
    # came out under half the target.  Confirm the size on a warm round; grow it while it is short.
    for _ in range(CALIBRATION_CONFIRMATIONS):
        result = rig.run_round(n)
        last, least = result.elapsed_ns / 1e9, busy_s(rig.scenario, result)
        if n >= settings.max_messages or not short(settings, result, rig.scenario):
            break
        n = grown(settings, n, min(last, least / SHORT_AIM))
    else:
        rig.run_round(n)  # the last round runs at the returned size: it warms up too
    return n


def busy_s(scenario: Scenario, result: RoundResult) -> float:
    """The least a round could last for the work its workers did: their CPU time over the CPUs they
    may share (one when packed).  Waits (a wake-up queued behind another task) only add to it.
    Infinite where the work is not in the workers (start-up) or was not measured."""
    if not specs.of(scenario.pattern).cpu_time or result.cpu_ns <= 0:
        return math.inf
    cpus = min(scenario.processes, scenario.cpus(machine.usable_cpus()))
    return result.cpu_ns / max(1, cpus) / 1e9


def short(settings: Settings, result: RoundResult, scenario: Scenario) -> bool:
    """A round under half the target, or whose workers' work (:func:`busy_s`) is: a batch that
    timed rounds would run short with once nothing waits."""
    least = min(result.elapsed_ns / 1e9, busy_s(scenario, result))
    return least < settings.round_time * stability.SHORT_ROUND


def grown(settings: Settings, n: int, took: float) -> int:
    """The batch that would last ``round_time`` if ``n`` messages took ``took`` seconds (at most 10x)."""
    grow = settings.round_time / max(took, 1e-6)
    return min(settings.max_messages, max(n + 1, int(n * min(grow, 10.0))))


def sample_batch(scenario: Scenario, settings: Settings, n: int) -> int:
    """The timed batch: ``n`` (calibrated), stretched for latency towards ``tail_samples`` round
    trips over the timed rounds of all trials, but never beyond ``latency_stretch`` times the
    round time."""
    if scenario.pattern != "latency":
        return n
    s = settings
    wanted = -(-s.tail_samples // (s.rounds * s.trials))
    return max(n, min(wanted, int(n * s.latency_stretch), s.max_messages))
