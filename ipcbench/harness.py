"""The parent's side of a scenario: warm workers, phased rounds, deadlines on every wait.

A :class:`Rig` starts the worker processes of one scenario (:func:`ipcbench.worker.serve`) before any
timing and keeps them warm.  Each worker has a private control pipe to the parent.  A round is
released by sending each worker its share of the batch; it ends when every worker has reported back.
Waits watch both the control pipes and the process sentinels, so a dead worker is noticed at once
and a stalled one at the deadline.  Whatever happens, :meth:`Rig.close` stops, terminates, then kills
the workers, then closes what the scenario made in the parent (a Manager, shared-memory segments).

What the workers do is a pattern (:mod:`ipcbench.patterns`): its parent side lays out the workers,
splits a round's batch over them and verifies the round, through the rig's public round API
(:class:`ipcbench.rounds.Round`); its worker side runs in the workers.  A round whose workers have
untimed steps of their own (resetting and checking what they alone write) runs them before the clock
starts and after it stops, each awaited with a deadline.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import multiprocessing.connection
import os
import signal
import time
from collections.abc import Mapping
from typing import Any

from ipcbench import api, calibration, machine, mechanisms, patterns, worker
from ipcbench.calibration import CALIBRATION_WINDOW
from ipcbench.rounds import (
    AFTER,
    BEFORE,
    CANARY,
    HarnessError,
    RoundResult,
    Task,
    VerificationError,
    WorkerDied,
    WorkerFailed,
    WorkerStalled,
)
from ipcbench.scenario import PLACEMENTS, Scenario, ScenarioError, placement_mask
from ipcbench.settings import Settings

__all__ = [
    "CALIBRATION_WINDOW",
    "HarnessError",
    "Rig",
    "RoundResult",
    "Settings",
    "VerificationError",
    "WorkerDied",
    "WorkerFailed",
    "WorkerStalled",
    "available_start_methods",
    "clock",
]

#: Seconds for workers to start and report ready (spawn of many processes on 2 cores takes a while).
STARTUP_TIMEOUT = 60.0
#: Seconds that a worker may take to exit after being asked to stop, before it is terminated.
STOP_TIMEOUT = 2.0


def clock() -> int:
    """The round clock (parent side): monotonic nanoseconds, the clock pytest-benchmark uses by default."""
    return time.perf_counter_ns()


@dataclasses.dataclass
class _Worker:
    """One worker process and the parent's end of its control pipe."""

    role: str
    index: int
    process: Any
    control: Any
    #: Kept by close(), which releases the Process object (and its sentinel fd).
    exitcode: int | None = None

    @property
    def name(self) -> str:
        return f"{self.role}-{self.index}"


def available_start_methods() -> list[str]:
    return multiprocessing.get_all_start_methods()


class Rig:
    """The warm workers of one scenario.  Use as a context manager; :meth:`close` always reaps.

    Its round API (:class:`ipcbench.rounds.Round`: ``scenario``, ``workers``, ``batch``,
    ``round_number``, ``worker_checks``, ``state``, :meth:`keep_ends`, :meth:`raise_reported_error`)
    is all a pattern sees of it.
    """

    def __init__(self, scenario: Scenario, settings: Settings = Settings()) -> None:
        if scenario.start_method not in available_start_methods():
            raise ScenarioError(f"start method {scenario.start_method!r} is not available on this platform")
        self.pattern = patterns.parent_side(scenario.pattern)
        self.pattern.check(scenario)
        #: The messaging mechanism (throughput, latency), None for the other patterns.
        self.mechanism = mechanisms.MECHANISMS.get(scenario.mechanism)
        self.scenario = scenario
        self.settings = settings
        self.workers: list[_Worker] = []
        self._ends: list[Any] = []
        self._rounds_prepared = 0
        self._number = 0
        #: Expected duration of the next round, learnt from the previous one (0 before any round).
        self.expected_s = 0.0
        self._pending: dict[Any, _Worker] = {}
        self._tasks: list[Task] = []
        self._t_start = 0
        #: True from the release of a round until it is verified; a failed round leaves it set.
        self._in_round = True
        self._closed = False
        self._n = 0
        self._steps = self.pattern.worker_steps(scenario)
        self._checks: dict[str, str | None] = {}
        self._prepared = False
        self._collected = False
        self._replies: dict[str, tuple[Any, ...]] = {}
        self._elapsed = 0
        self.resources: mechanisms.Resources | None = None
        #: What a one-sided pattern's workers share, made by the pattern's layout (None for messaging).
        self.state: Any = None
        #: The CPUs each worker was pinned to by ``scenario.placement`` (empty for ``none``).
        self.placement: dict[str, list[int]] = {}
        #: The parent's CPUs before a packed placement moved it off the workers' CPU.
        self._parent_cpus: list[int] = []

    # -- life cycle --

    def __enter__(self) -> Rig:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        ctx: Any = multiprocessing.get_context(self.scenario.start_method)
        s = self.scenario
        self.resources = mechanisms.Resources(ctx, s.payload_bytes, s.pattern)
        counters: dict[str, int] = {}
        for role, ends in self.pattern.layout(self, self.resources):
            index = counters[role] = counters.get(role, -1) + 1
            parent_end, child_end = ctx.Pipe()
            process = ctx.Process(
                target=worker.serve,
                # Under forkserver the parent is the fork server, whose pid we do not know.
                args=(
                    role,
                    self.scenario,
                    ends,
                    child_end,
                    None if s.start_method == "forkserver" else os.getpid(),
                    api.origin(s.mechanism),
                ),
                name=f"ipcbench-{self.scenario.id}-{role}-{index}",
                daemon=self.pattern.daemon_workers,
            )
            self.workers.append(_Worker(role, index, process, parent_end))
            process.start()
            child_end.close()
        # The parent keeps no channel end open: a consumer must see EOF if its producer dies.
        for end in self._ends:
            if hasattr(end, "send_bytes") or hasattr(end, "sendmsg"):
                end.close()
        self._pending = {w.control: w for w in self.workers}
        self._collect(STARTUP_TIMEOUT + self.settings.grace, "starting")
        self._in_round = False
        self._place()

    def _place(self) -> None:
        """Pin the workers as ``scenario.placement`` says: every thread of each (one a worker started
        before it was pinned, such as a zmq context's I/O thread, would otherwise run anywhere), and the
        processes the channel started beside them (a Manager's server).  Packed, the parent keeps off
        the workers' CPU while they live, so that its own wake-ups between rounds never land there."""
        import psutil

        placement = self.scenario.placement
        assert placement in PLACEMENTS
        if placement == "none":
            return
        parent = psutil.Process()
        cpus = sorted(parent.cpu_affinity() or [0])
        helpers = self.resources.helper_pids() if self.resources is not None else []
        named = [(w.name, w.process.pid) for w in self.workers]
        named += [(f"helper-{k}", pid) for k, pid in enumerate(helpers)]
        for i, (name, pid) in enumerate(named):
            mask = placement_mask(placement, cpus, i)
            machine.pin(pid, mask)
            self.placement[name] = mask
        if placement == "packed" and len(cpus) > 1:
            self._parent_cpus = cpus
            parent.cpu_affinity(cpus[1:])

    def close(self) -> None:
        """Ask every worker to stop; terminate, then kill, whoever does not exit in time.

        After a failed or interrupted round the workers are mid-message and cannot hear a polite
        request, so they are terminated at once.  Closing twice is harmless.
        """
        if self._closed:
            return
        self._closed = True
        if self._parent_cpus:
            with contextlib.suppress(Exception):
                os.sched_setaffinity(0, self._parent_cpus)
        if not self._in_round:
            for w in self.workers:
                with contextlib.suppress(Exception):
                    w.control.send(None)
            deadline = time.monotonic() + STOP_TIMEOUT
            for w in self.workers:
                if w.process.pid is not None:
                    w.process.join(max(0.0, deadline - time.monotonic()))
        for sig_method in ("terminate", "kill"):
            alive = [w for w in self.workers if w.process.pid is not None and w.process.is_alive()]
            for w in alive:
                with contextlib.suppress(Exception):
                    getattr(w.process, sig_method)()
                    if sig_method == "terminate":
                        # A stopped (SIGSTOP) worker hears SIGTERM only once continued: at once, not
                        # after the deadline, so a run stopped by a signal ends in time.
                        os.kill(w.process.pid, signal.SIGCONT)
            # One deadline for all: a stopped (SIGSTOP) worker ignores SIGTERM, and waiting for each
            # in turn would multiply the wait by the number of workers.
            deadline = time.monotonic() + STOP_TIMEOUT
            for w in alive:
                w.process.join(max(0.0, deadline - time.monotonic()))
        if not self.pattern.daemon_workers:
            # Workers that start processes lead their own process group (see worker.serve): whatever
            # they started and did not reap (killed mid-start) goes with them, not to init.
            for w in self.workers:
                with contextlib.suppress(Exception):
                    os.killpg(w.process.pid, signal.SIGKILL)
        for w in self.workers:
            with contextlib.suppress(Exception):
                w.control.close()
            with contextlib.suppress(Exception):
                if w.process.pid is not None and not w.process.is_alive():
                    w.exitcode = w.process.exitcode
                    w.process.close()
        for end in self._ends:
            with contextlib.suppress(Exception):
                end.close()
            with contextlib.suppress(Exception):
                end.join_thread()
        self._ends = []
        # Only now: a Manager or a segment must outlive every worker that might still touch it.
        if self.resources is not None:
            self.resources.close()

    # -- the round API patterns use --

    @property
    def batch(self) -> int:
        """Messages (operations, round trips) in the round being prepared, run or verified."""
        return self._n

    @property
    def round_number(self) -> int:
        """The number of the round being prepared, run or verified: 0 for the first, then 1, 2, ..."""
        return self._number

    @property
    def worker_checks(self) -> Mapping[str, str | None]:
        """Per worker name: what its untimed ``after`` step found wrong in the round, or None
        (empty for a pattern without worker steps)."""
        return self._checks

    def keep_ends(self, *ends: Any) -> None:
        """Channel ends made in the parent for the workers: the parent closes its copies once the
        workers hold them (a consumer must see EOF if its producer dies), and the rest at close."""
        self._ends += ends

    # -- rounds --

    def prepare_round(self, n: int) -> None:
        """Split a round of ``n`` messages (round trips, for latency) over the workers, outside the clock.

        A pattern with worker steps has each worker run its ``before`` step now (one-sided
        operations reset what that worker alone writes), and waits for all of them, with a deadline.
        """
        if self._pending:
            raise HarnessError(f"{self.scenario.id}: a round is already under way")
        self._number = self._rounds_prepared
        self._rounds_prepared += 1
        self._tasks = self.pattern.split(self, n)
        self._n = n
        self._checks = {}
        if self._steps:
            self._in_round = True  # a worker stuck in its step cannot hear a polite stop
            self._step(BEFORE, f"preparing round {self._number}")
            self._in_round = False
        self._prepared = True

    def _step(self, step: str, stage: str) -> dict[str, tuple[Any, ...]]:
        """Have every worker run an untimed step of its share, and wait for all of them."""
        self._pending = {w.control: w for w in self.workers}
        for w, task in zip(self.workers, self._tasks, strict=True):
            try:
                w.control.send((step, task))
            except OSError:
                self._raise_dead(w, f"while {stage}")
        return self._collect(self.expected_s * 3 + self.settings.grace, stage)

    def release_round(self) -> None:
        """Start the round made by :meth:`prepare_round`; does not wait.  The round's clock starts here."""
        if not self._prepared:
            raise HarnessError(f"{self.scenario.id}: no round prepared")
        self._prepared = False
        self._in_round = True
        # Receivers first, so they are already waiting when the first message leaves.
        starters = self.pattern.starters
        order = sorted(range(len(self.workers)), key=lambda i: self.workers[i].role in starters)
        self._pending = {w.control: w for w in self.workers}
        self._t_start = clock()
        for i in order:
            try:
                self.workers[i].control.send(self._tasks[i])
            except OSError:
                self._raise_dead(self.workers[i], "before the round started")

    def collect_round(self) -> None:
        """Wait, with a deadline, for every worker's report; the round's clock stops here."""
        self._replies = self._collect(
            self.expected_s * 3 + self.settings.grace, f"running round {self._number}"
        )
        self._elapsed = clock() - self._t_start
        self.expected_s = self._elapsed / 1e9
        self._collected = True

    def verify_round(self) -> RoundResult:
        """Check the collected round (VerificationError if wrong) and summarise it, outside the clock.

        A pattern with worker steps has each worker run its ``after`` step first (one-sided
        operations check what that worker alone wrote): :attr:`worker_checks` holds what they found.
        """
        if not self._collected:
            raise HarnessError(f"{self.scenario.id}: no round collected")
        self._collected = False
        if self._steps:
            done = self._step(AFTER, f"checking round {self._number}")
            self._checks = {w.name: done[w.name][1] for w in self.workers}
        result = self.pattern.verify(self, self._replies, self._elapsed)
        self._in_round = False
        return dataclasses.replace(result, cpu_ns=sum(r[4] for r in self._replies.values()))

    @property
    def collected(self) -> bool:
        """A round has been collected and waits for :meth:`verify_round`."""
        return self._collected

    @property
    def prepared(self) -> bool:
        """A round has been prepared and waits for :meth:`release_round`."""
        return self._prepared

    def start_round(self, n: int) -> None:
        """Prepare and release a round of ``n`` messages (round trips, for latency); does not wait."""
        self.prepare_round(n)
        self.release_round()

    def finish_round(self) -> RoundResult:
        """Wait for every worker's report, with a deadline, and verify the round."""
        self.collect_round()
        return self.verify_round()

    def run_round(self, n: int) -> RoundResult:
        self.start_round(n)
        return self.finish_round()

    def _collect(self, timeout: float, stage: str) -> dict[str, tuple[Any, ...]]:
        replies: dict[str, tuple[Any, ...]] = {}
        deadline = time.monotonic() + timeout
        sentinels = {w.process.sentinel: w for w in self.workers}
        while self._pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._raise_stalled(timeout, stage)
            ready = multiprocessing.connection.wait([*self._pending, *sentinels], remaining)
            dead = [sentinels[r] for r in ready if r in sentinels]
            for conn in [r for r in ready if r in self._pending]:
                w = self._pending.pop(conn)
                try:
                    reply: tuple[Any, ...] = w.control.recv()
                except (EOFError, OSError):
                    dead.append(w)
                    continue
                if reply[0] == "error":
                    # A worker whose peer was killed reports a closed channel at the same moment the
                    # peer's sentinel fires: name the dead peer, the cause, rather than the witness.
                    # (Workers that report an error then exit cleanly; only a crash is a cause.)
                    others = [x for x, v in sentinels.items() if v is not w]
                    crashed = [
                        sentinels[x]
                        for x in multiprocessing.connection.wait(others, 0.05)
                        if sentinels[x].process.exitcode not in (0, None)
                    ]
                    self._pending.clear()
                    if crashed:
                        self._raise_dead(crashed[0], f"while {stage}")
                    raise WorkerFailed(f"{self.scenario.id}: {w.name} failed while {stage}: {reply[1]}")
                replies[w.name] = reply
            if dead:
                self._pending.clear()
                self._raise_dead(dead[0], f"while {stage}")
        return replies

    def raise_reported_error(self, wait: float = 0.5) -> None:
        """Raise :class:`WorkerFailed` if a worker reports an error within ``wait`` seconds.

        A worker may have said why messages went missing (a Queue feeder thread reports after its
        producer's "done"): a pattern prefers that cause to a bare checksum mismatch."""
        conns = [w.control for w in self.workers]
        by_conn = {w.control: w for w in self.workers}
        deadline = time.monotonic() + wait
        while (remaining := deadline - time.monotonic()) > 0:
            ready = multiprocessing.connection.wait(conns, remaining)
            if not ready:
                return
            for conn in ready:
                w = by_conn[conn]
                try:
                    reply = w.control.recv()
                except (EOFError, OSError):
                    conns.remove(conn)
                    continue
                if reply[0] == "error":
                    raise WorkerFailed(
                        f"{self.scenario.id}: {w.name} failed in round {self._number}: {reply[1]}"
                    )

    def canary(self) -> list[int]:
        """Each worker in turn times the fixed loop of :mod:`ipcbench.canary` on its own CPU, between
        rounds (in turn, so that packed workers do not slow each other's); nanoseconds per worker."""
        out = []
        for w in self.workers:
            self._pending = {w.control: w}
            try:
                w.control.send(CANARY)
            except OSError:
                self._raise_dead(w, "while timing the reference loop")
            out.append(int(self._collect(1.0 + self.settings.grace, "timing the reference loop")[w.name][1]))
        return out

    def _raise_dead(self, w: _Worker, when: str) -> None:
        w.process.join(0.5)
        code = w.process.exitcode
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        self._pending.clear()
        raise WorkerDied(f"{self.scenario.id}: worker {w.name} (pid {w.process.pid}) died {when} ({how})")

    def _raise_stalled(self, timeout: float, stage: str) -> None:
        names = []
        for w in self._pending.values():
            state = "unknown"
            with contextlib.suppress(Exception):
                import psutil

                state = psutil.Process(w.process.pid).status()
            names.append(f"{w.name} (pid {w.process.pid}, {state})")
        self._pending.clear()
        raise WorkerStalled(
            f"{self.scenario.id}: no report within {timeout:.1f} s while {stage} from {', '.join(names)}"
        )

    # -- calibration --

    def calibrate(self) -> int:
        """Grow the batch until rounds last about ``round_time`` (see :func:`ipcbench.calibration.calibrate`);
        these rounds also warm up."""
        return calibration.calibrate(self)

    def sample_batch(self, n: int) -> int:
        """The timed batch for calibrated ``n`` (see :func:`ipcbench.calibration.sample_batch`)."""
        return calibration.sample_batch(self.scenario, self.settings, n)

    def worker_affinity(self) -> dict[str, list[int]]:
        """The CPUs each worker may run on: placement shapes IPC figures."""
        import psutil

        out: dict[str, list[int]] = {}
        for w in self.workers:
            with contextlib.suppress(Exception):
                out[w.name] = sorted(psutil.Process(w.process.pid).cpu_affinity() or [])
        return out
