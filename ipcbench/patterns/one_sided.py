"""The one-sided patterns: every worker repeats one registered operation on something the parent made.

``shared_state``, ``locks``, ``bulk`` and ``startup`` (the operations themselves are in
:mod:`ipcbench.ops`).  A round of ``n`` operations is split evenly over the workers; each runs its
share in the smallest loop a user would write.  The round is then checked: every operation done,
each worker's own part as the operation's ``worker_check`` finds it (in the worker, outside the
clock), and what all share as its ``check`` finds it (in the parent).  ``msgs_per_s`` is
operations per second.
"""

from __future__ import annotations

import itertools
import signal
import time
from array import array
from collections.abc import Mapping
from typing import Any

from ipcbench import mechanisms, ops
from ipcbench.registry import Resources
from ipcbench.rounds import Pattern, Round, RoundResult, Share, Task, VerificationError, WorkerSide, span
from ipcbench.scenario import ONE_SIDED, Scenario, ScenarioError


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


class OneSided(Pattern):
    """The parent side: make what the workers share, split the round evenly, check it."""

    def __init__(self, name: str) -> None:
        self.name = name
        # Start-up workers start processes themselves, which daemonic processes may not do.
        self.daemon_workers = name != "startup"

    def check(self, scenario: Scenario) -> None:
        op = ops.OPS.get(scenario.mechanism)
        if op is None or op.pattern != self.name:
            names = ", ".join(o.name for o in ops.OPS.values() if o.pattern == self.name)
            raise ScenarioError(f"{scenario.mechanism!r} is not a {self.name} mechanism; choose from {names}")
        why = mechanisms.missing(op.requires)
        if why:
            raise ScenarioError(f"{op.name}: {why}")

    def first_batch(self, scenario: Scenario) -> int:
        # Start-up operations take milliseconds (spawn ~70 ms) and a bulk copy of 64 MiB as long:
        # start from one per worker.
        op = ops.OPS[scenario.mechanism]
        return scenario.producers if op.per_op or op.sized else max(scenario.producers, 8)

    def worker_steps(self, scenario: Scenario) -> bool:
        op = ops.OPS[scenario.mechanism]
        return op.worker_reset is not None or op.worker_check is not None

    def layout(self, rig: Round, res: Resources) -> list[tuple[str, tuple[Any, ...]]]:
        s = rig.scenario
        rig.state = ops.OPS[s.mechanism].make(res, s)
        return [("worker", (rig.state, i)) for i in range(s.producers)]

    def split(self, rig: Round, n: int) -> list[Task]:
        op = ops.OPS[rig.scenario.mechanism]
        if op.reset is not None:
            op.reset(rig.state)  # the workers are idle between rounds
        workers = len(rig.workers)
        bounds = [(n * i) // workers for i in range(workers + 1)]
        return [Task(first, stop) for first, stop in itertools.pairwise(bounds)]

    def verify(self, rig: Round, replies: Mapping[str, tuple[Any, ...]], elapsed: int) -> RoundResult:
        s, n = rig.scenario, rig.batch
        op = ops.OPS[s.mechanism]
        done = sum(r[3][0] for r in replies.values())
        error = None if done == n else f"{done} of {n} operations completed"
        if error is None:
            error = next((f"{name}: {e}" for name, e in rig.worker_checks.items() if e is not None), None)
        extra: dict[str, Any] = {}
        if error is None and op.check is not None:
            error, extra = op.check(rig.state, n)
        if error is not None:
            raise VerificationError(f"{s.id}: round {rig.round_number} failed verification: {error}")
        times = tuple(r[3][1] for r in replies.values()) if op.per_op else ()
        return RoundResult(n, elapsed, span(replies), times, extra)


class OneSidedWorker(WorkerSide):
    """The worker side: prepare the operation's state, then run its loop (one by one if ``per_op``)."""

    def bind(self, role: str, scenario: Scenario, ends: tuple[Any, ...]) -> Share:
        op = ops.OPS[scenario.mechanism]
        shared, index = ends
        state = op.prepare(shared, index, scenario) if op.prepare is not None else shared
        loop = op.loop
        reset, check = op.worker_reset, op.worker_check

        def before(task: Task) -> None:
            if reset is not None:
                reset(state, index)

        def after(task: Task) -> str | None:
            return None if check is None else check(state, index, task.stop - task.first)

        if op.per_op:
            # The Rig's close() terminates a worker mid-operation: unwind, so the finally clauses
            # reap the processes, Pool or Manager being started instead of orphaning them.
            signal.signal(signal.SIGTERM, _exit_on_sigterm)
        if not op.per_op:

            def run(task: Task) -> tuple[int, array]:
                return loop(state, index, task.stop - task.first), array("q")

            return Share(run, before, after)

        def run_timed(task: Task) -> tuple[int, array]:
            clock = time.perf_counter_ns
            times = array("q")
            ok = 0
            for _ in range(task.stop - task.first):
                t0 = clock()
                ok += bool(loop(state, index, 1))
                times.append(clock() - t0)
            return ok, times

        return Share(run_timed, before, after)


PATTERNS: dict[str, Pattern] = {name: OneSided(name) for name in ONE_SIDED}
WORKER = OneSidedWorker()
