"""The one-sided patterns: every worker repeats one operation on something the parent made.

``shared_state`` (Value and Array updates), ``locks`` (acquire/release, notify/wait), ``bulk`` (copy
bandwidth) and ``startup`` (creating processes, pools, managers, channels).  A round of ``n``
operations is split over the workers; each runs its share in the smallest loop a user would write,
and the parent checks the round: locked counters must end exactly at the expected total, unlocked
ones report their lost updates instead of failing.  ``msgs_per_s`` is operations per second.

The operations live one module per pattern (:mod:`~ipcbench.ops.shared_state`,
:mod:`~ipcbench.ops.locks`, :mod:`~ipcbench.ops.bulk`, :mod:`~ipcbench.ops.startup`), beside the one
pattern class that runs them all, here.  They are a package of their own rather than part of
:mod:`ipcbench.mechanisms` because they are not channels (nothing is sent: a worker acts on shared
state the parent checks) and because they build on the harness's pattern interface: kept apart, a
messaging run loads none of them, and the channel families never import the harness.
"""

from __future__ import annotations

import itertools
import signal
import time
from array import array
from typing import Any

from ipcbench import mechanisms, registry
from ipcbench.harness import Pattern, RoundResult, Run, VerificationError, _Task, span
from ipcbench.ops import bulk, locks, shared_state, startup
from ipcbench.registry import register
from ipcbench.scenario import ONE_SIDED, Scenario, ScenarioError

# The registry's order is the order of every listing, table and quick run: pattern by pattern.
register(*shared_state.SHARED_STATE, *locks.LOCKS, *bulk.BULK, *startup.STARTUP)

#: Every one-sided operation, built in or from a plugin, by name: the registry's read-only view.
OPS = registry.OPERATIONS


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


class OpsPattern(Pattern):
    """Every worker repeats one :class:`Op`; a round of ``n`` operations is split evenly."""

    def __init__(self, name: str) -> None:
        self.name = name
        # Start-up workers start processes themselves, which daemonic processes may not do.
        self.daemon_workers = name != "startup"

    def check(self, scenario: Scenario) -> None:
        op = OPS.get(scenario.mechanism)
        if op is None or op.pattern != self.name:
            names = ", ".join(o.name for o in OPS.values() if o.pattern == self.name)
            raise ScenarioError(f"{scenario.mechanism!r} is not a {self.name} mechanism; choose from {names}")
        why = mechanisms.missing(op.requires)
        if why:
            raise ScenarioError(f"{op.name}: {why}")

    def first_batch(self, scenario: Scenario) -> int:
        # Start-up operations take milliseconds (spawn ~70 ms) and a bulk copy of 64 MiB as long:
        # start from one per worker.
        op = OPS[scenario.mechanism]
        return scenario.producers if op.per_op or op.sized else max(scenario.producers, 8)

    def layout(self, rig: Any, res: mechanisms.Resources) -> list[tuple[str, tuple[Any, ...]]]:
        s = rig.scenario
        rig.state = OPS[s.mechanism].make(res, s)
        return [("worker", (rig.state, i)) for i in range(s.producers)]

    def split(self, rig: Any, n: int) -> list[Any]:
        op = OPS[rig.scenario.mechanism]
        if op.reset is not None:
            op.reset(rig.state)  # the workers are idle between rounds
        workers = len(rig.workers)
        bounds = [(n * i) // workers for i in range(workers + 1)]
        return [_Task(first, stop) for first, stop in itertools.pairwise(bounds)]

    def bind(self, role: str, scenario: Scenario, ends: tuple[Any, ...]) -> Run:
        op = OPS[scenario.mechanism]
        shared, index = ends
        state = op.prepare(shared, index, scenario) if op.prepare is not None else shared
        loop = op.loop
        if op.per_op:
            # The Rig's close() terminates a worker mid-operation: unwind, so the finally clauses
            # reap the processes, Pool or Manager being started instead of orphaning them.
            signal.signal(signal.SIGTERM, _exit_on_sigterm)
        if not op.per_op:

            def run(task: _Task) -> tuple[int, array]:
                return loop(state, index, task.stop - task.first), array("q")

            return run

        def run_timed(task: _Task) -> tuple[int, array]:
            clock = time.perf_counter_ns
            times = array("q")
            ok = 0
            for _ in range(task.stop - task.first):
                t0 = clock()
                ok += bool(loop(state, index, 1))
                times.append(clock() - t0)
            return ok, times

        return run_timed

    def verify(self, rig: Any, replies: dict[str, tuple[Any, ...]], elapsed: int) -> RoundResult:
        s, n = rig.scenario, rig._n
        op = OPS[s.mechanism]
        done = sum(r[3][0] for r in replies.values())
        error = None if done == n else f"{done} of {n} operations completed"
        extra: dict[str, Any] = {}
        if error is None and op.check is not None:
            error, extra = op.check(rig.state, n)
        if error is not None:
            raise VerificationError(f"{s.id}: round {rig._round - 1} failed verification: {error}")
        times = tuple(r[3][1] for r in replies.values()) if op.per_op else ()
        return RoundResult(n, elapsed, span(replies), times, extra)


PATTERNS: dict[str, Pattern] = {name: OpsPattern(name) for name in ONE_SIDED}
