"""Warm workers, verified rounds, deadlines on every wait.

A :class:`Rig` starts the worker processes of one scenario before any timing and keeps them warm.
Each worker has a private control pipe to the parent.  A round is released by sending each worker its
share of the batch; it ends when every worker has reported back.  Waits watch both the control pipes
and the process sentinels, so a dead worker is noticed at once and a stalled one at the deadline.
Whatever happens, :meth:`Rig.close` stops, terminates, then kills the workers, then closes what the
scenario made in the parent (a Manager, shared-memory segments).

What the workers do is a :class:`Pattern`: it lays out the workers, splits a round's batch over them,
binds a worker's share to a callable (worker side) and verifies the round.  The messaging patterns
(``throughput``, ``latency``) live here; the others in :mod:`ipcbench.ops`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import multiprocessing
import multiprocessing.connection
import os
import signal
import statistics
import threading
import time
from array import array
from collections.abc import Callable
from typing import Any

from ipcbench import api, mechanisms, stability
from ipcbench.lifeline import die_with_parent
from ipcbench.scenario import PLACEMENTS, Scenario, ScenarioError

#: Seconds for workers to start and report ready (spawn of many processes on 2 cores takes a while).
STARTUP_TIMEOUT = 60.0
#: Seconds that a worker may take to exit after being asked to stop, before it is terminated.
STOP_TIMEOUT = 2.0
#: Rounds at one batch size whose median decides that calibration is done (one round can be a fluke).
CALIBRATION_WINDOW = 3
#: Calibration gives up growing after this many rounds (the batch keeps its last size).
CALIBRATION_MAX_ROUNDS = 30
#: Warm rounds that confirm (or grow) the calibrated batch before it is used.
CALIBRATION_CONFIRMATIONS = 3


def clock() -> int:
    """The round clock (parent side): monotonic nanoseconds, the clock pytest-benchmark uses by default."""
    return time.perf_counter_ns()


def cpu_clock() -> int:
    """A worker's own CPU time (user + system, every thread of the process) in nanoseconds.

    Read by each worker around its share of a round, so what the parent does and what verification
    costs is not in it.
    """
    return time.process_time_ns()


class HarnessError(RuntimeError):
    """A benchmark that cannot report a number; the message names the scenario and what happened."""


class WorkerDied(HarnessError):
    pass


class WorkerStalled(HarnessError):
    pass


class WorkerFailed(HarnessError):
    pass


class VerificationError(HarnessError):
    pass


@dataclasses.dataclass(frozen=True)
class Settings:
    """How hard to measure; frozen and passed down, never mutated."""

    #: Target duration of one timed round; batch sizes are calibrated to it.
    round_time: float = 0.05
    rounds: int = 10
    #: Independent trials per scenario, each with freshly started workers; ``rounds`` is per trial.
    trials: int = 1
    warmup_rounds: int = 1
    #: Seconds a round may overrun its expected time before the workers count as stalled.
    grace: float = 5.0
    max_messages: int = 1_000_000
    #: Latency: round trips the timed rounds should hold in all, so that p99.9 has ten beyond it.
    tail_samples: int = 10_000
    #: Latency: how many times the round time a timed round may last to collect ``tail_samples``
    #: (a round trip is cheap, but a profile's time budget is not unlimited).
    latency_stretch: float = 2.5

    def __post_init__(self) -> None:
        if not self.round_time > 0:
            raise ScenarioError(f"round time must be positive, not {self.round_time}")
        if self.rounds < 1:
            raise ScenarioError(f"rounds must be at least 1, not {self.rounds}")
        if self.trials < 1:
            raise ScenarioError(f"trials must be at least 1, not {self.trials}")
        if self.warmup_rounds < 0:
            raise ScenarioError(f"warm-up rounds cannot be negative ({self.warmup_rounds})")
        if not self.grace > 0:
            raise ScenarioError(f"deadline grace must be positive, not {self.grace}")
        if not self.latency_stretch >= 1:
            raise ScenarioError(f"latency stretch must be at least 1, not {self.latency_stretch}")


@dataclasses.dataclass(frozen=True)
class RoundResult:
    messages: int
    #: Parent-side wall time from the first start signal to the last report.
    elapsed_ns: int
    #: Worker-side time from the earliest start to the latest finish (same monotonic clock).
    span_ns: int
    #: Per-message (latency) or per-operation (startup) times in nanoseconds.
    rtts: tuple[array, ...] = ()
    #: Pattern-specific figures for ``extra_info`` (e.g. ``lost_updates``).
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: CPU time (user + system) the workers spent on their shares of the round, summed over workers.
    cpu_ns: int = 0


@dataclasses.dataclass(frozen=True)
class _Task:
    """One worker's share of a round."""

    first: int
    stop: int
    #: Consumers: how many messages to expect, or None to read until ``sentinels`` end-markers.
    count: int | None = None
    sentinels: int = 0


Run = Callable[[Any], Any]


class Pattern:
    """How a pattern lays out its workers, splits a round, runs one worker's share, checks a round.

    Parent side: :meth:`check`, :meth:`layout`, :meth:`split`, :meth:`verify`; worker side:
    :meth:`bind`.  Instances keep no state (the :class:`Rig` does), so one serves every scenario.
    """

    #: Roles released last in a round, so that receivers already wait when the first message leaves.
    starters: tuple[str, ...] = ()
    #: Daemonic workers cannot start processes of their own.  Non-daemonic ones lead their own
    #: process group, which close() kills after the workers so no grandchild outlives the Rig.
    daemon_workers = True

    def check(self, scenario: Scenario) -> None:
        """Refuse (ScenarioError) a scenario this pattern cannot run."""

    def first_batch(self, scenario: Scenario) -> int:
        """The batch calibration starts from."""
        return max(scenario.producers, 8)

    def layout(self, rig: Rig, res: mechanisms.Resources) -> list[tuple[str, tuple[Any, ...]]]:
        """(role, arguments) of every worker, making what they share in the parent."""
        raise NotImplementedError

    def split(self, rig: Rig, n: int) -> list[Any]:
        """One task per worker (in ``rig.workers`` order) for a round of ``n``."""
        raise NotImplementedError

    def bind(self, role: str, scenario: Scenario, ends: tuple[Any, ...]) -> Run:
        """Worker side: set up outside the clock, and return the callable that runs one task."""
        raise NotImplementedError

    def verify(self, rig: Rig, replies: dict[str, tuple[Any, ...]], elapsed: int) -> RoundResult:
        """Check a finished round (VerificationError naming the scenario) and summarise it."""
        raise NotImplementedError


def pattern_impl(name: str) -> Pattern:
    if name in ("throughput", "latency"):
        return MESSAGING
    from ipcbench import ops  # builds on this module

    return ops.PATTERNS[name]


# --- worker side ------------------------------------------------------------------------------------


def _worker(
    role: str,
    scenario: Scenario,
    ends: tuple[Any, ...],
    control: Any,
    parent_pid: int | None = None,
    plugin: str | None = None,
) -> None:
    """A worker's whole life: bind its ends, report ready, then serve rounds until told to stop.

    ``plugin`` is the plugin that declared the scenario's mechanism: a spawned worker starts with
    only the built-ins registered, so it loads that plugin before looking the mechanism up.
    """
    die_with_parent(parent_pid)
    # The parent handles Ctrl-C and tears us down; a worker must not die half-way on its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A Queue's feeder thread may report an error while the main thread reports a round.
    control_lock = threading.Lock()

    def report(*msg: Any) -> None:
        with control_lock:
            control.send(msg)

    def feeder_failed(exc: BaseException, obj: Any) -> None:
        # Queue.put() returns before pickling; a pickling error surfaces in the feeder thread, which
        # drops the message silently.  Report it instead of letting the round stall.
        with contextlib.suppress(Exception):
            report("error", f"Queue feeder thread could not send a message: {type(exc).__name__}: {exc}")

    try:
        if plugin is not None:
            api.load_plugin(plugin)
        for end in ends:
            if hasattr(end, "_on_queue_feeder_error"):
                end._on_queue_feeder_error = feeder_failed
        impl = pattern_impl(scenario.pattern)
        if not impl.daemon_workers:
            os.setpgid(0, 0)  # so close() can reap what this worker starts, even if it is killed
        run = impl.bind(role, scenario, ends)
        report("ready", os.getpid())
        while True:
            cmd = control.recv()
            if cmd is None:
                break
            t0 = time.perf_counter_ns()
            c0 = cpu_clock()
            result = run(cmd)
            c1 = cpu_clock()
            t1 = time.perf_counter_ns()
            report("done", t0, t1, result, c1 - c0)
    except (EOFError, BrokenPipeError, ConnectionResetError) as exc:
        # A peer, or the process behind the channel (a Manager's server), went away.  Say so; if it
        # was the parent that went, nobody hears this and the parent's own error stands.
        with contextlib.suppress(Exception):
            report("error", f"its channel closed under it ({type(exc).__name__}: a peer or server went away)")
    except BaseException as exc:
        with contextlib.suppress(Exception):
            report("error", f"{type(exc).__name__}: {exc}")
    finally:
        for end in ends:
            # A Queue's feeder thread would block exit on undelivered data after a failed round.
            cancel = getattr(end, "cancel_join_thread", None)
            if cancel is not None:
                cancel()


# --- parent side ------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Worker:
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
    """The warm workers of one scenario.  Use as a context manager; :meth:`close` always reaps."""

    def __init__(self, scenario: Scenario, settings: Settings = Settings()) -> None:
        if scenario.start_method not in available_start_methods():
            raise ScenarioError(f"start method {scenario.start_method!r} is not available on this platform")
        self.pattern = pattern_impl(scenario.pattern)
        self.pattern.check(scenario)
        #: The messaging mechanism (throughput, latency), None for the other patterns.
        self.mechanism = mechanisms.MECHANISMS.get(scenario.mechanism)
        self.scenario = scenario
        self.settings = settings
        self.workers: list[_Worker] = []
        self._ends: list[Any] = []
        self._round = 0
        #: Expected duration of the next round, learnt from the previous one (0 before any round).
        self.expected_s = 0.0
        self._pending: dict[Any, _Worker] = {}
        self._tasks: list[Any] = []
        self._t_start = 0
        #: True from the release of a round until it is verified; a failed round leaves it set.
        self._in_round = True
        self._closed = False
        self._n = 0
        self._prepared = False
        self._collected = False
        self._replies: dict[str, tuple[Any, ...]] = {}
        self._elapsed = 0
        self.resources: mechanisms.Resources | None = None
        #: What a one-sided pattern's workers share, kept by the parent to check rounds.
        self.state: Any = None
        #: The CPUs each worker was pinned to by ``scenario.placement`` (empty for ``none``).
        self.placement: dict[str, list[int]] = {}

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
                target=_worker,
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
        """Pin the workers as ``scenario.placement`` says."""
        import psutil

        placement = self.scenario.placement
        assert placement in PLACEMENTS
        if placement == "none":
            return
        cpus = sorted(psutil.Process().cpu_affinity() or [0])
        for i, w in enumerate(self.workers):
            mask = [cpus[i % len(cpus)]] if placement == "spread" else [cpus[0]]
            psutil.Process(w.process.pid).cpu_affinity(mask)
            self.placement[w.name] = mask

    def close(self) -> None:
        """Ask every worker to stop; terminate, then kill, whoever does not exit in time.

        After a failed or interrupted round the workers are mid-message and cannot hear a polite
        request, so they are terminated at once.  Closing twice is harmless.
        """
        if self._closed:
            return
        self._closed = True
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
            # Workers that start processes lead their own process group (see _worker): whatever
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

    # -- rounds --

    def prepare_round(self, n: int) -> None:
        """Split a round of ``n`` messages (round trips, for latency) over the workers, outside the clock.

        One-sided patterns reset what the workers share here: that is the parent's work, not theirs.
        """
        if self._pending:
            raise HarnessError(f"{self.scenario.id}: a round is already under way")
        self._tasks = self.pattern.split(self, n)
        self._n = n
        self._prepared = True

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
            self.expected_s * 3 + self.settings.grace, f"running round {self._round}"
        )
        self._elapsed = clock() - self._t_start
        self._round += 1
        self.expected_s = self._elapsed / 1e9
        self._collected = True

    def verify_round(self) -> RoundResult:
        """Check the collected round (VerificationError if wrong) and summarise it, outside the clock."""
        if not self._collected:
            raise HarnessError(f"{self.scenario.id}: no round collected")
        self._collected = False
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

    def _raise_reported_error(self, wait: float = 0.5) -> None:
        """A worker may have said why messages went missing (a Queue feeder thread reports after its
        producer's "done"); prefer that cause to a bare checksum mismatch."""
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
                        f"{self.scenario.id}: {w.name} failed in round {self._round - 1}: {reply[1]}"
                    )

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
        """Grow the batch until rounds last about ``round_time``; these rounds also warm up.

        The batch is judged by the median of :data:`CALIBRATION_WINDOW` rounds at one size, never by
        one round: a single slow round once stopped the growth at half the target, and every timed
        round then came out short.  The last round always ran at the returned batch size, so it is a
        warm-up round too.
        """
        target = self.settings.round_time
        n = self.pattern.first_batch(self.scenario)
        # The very first round pays one-off costs (a zmq PUSH reconnecting after its PULL binds takes
        # ~100 ms; first-touch page faults); judging the batch by it once left zmq at 8 messages a
        # round, its figure all signalling.  So it only warms up.
        self.run_round(n)
        at_n: list[float] = []
        for _ in range(CALIBRATION_MAX_ROUNDS):
            at_n.append(self.run_round(n).elapsed_ns / 1e9)
            if n >= self.settings.max_messages:
                break
            if len(at_n) < CALIBRATION_WINDOW and max(at_n) >= target * 0.8:
                continue  # long enough once: judge by a window of rounds at this size
            recent = statistics.median(at_n[-CALIBRATION_WINDOW:])
            if recent >= target * 0.8:
                break
            n = self._grown(n, recent)
            at_n = []
        # A growing batch reaches memory the earlier rounds never touched (a ring's later slots, a
        # queue's buffer), and that first touch slows the very rounds that size it: timed rounds then
        # came out under half the target.  Confirm the size on a warm round; grow it while it is short.
        for _ in range(CALIBRATION_CONFIRMATIONS):
            last = self.run_round(n).elapsed_ns / 1e9
            if last >= target * stability.SHORT_ROUND or n >= self.settings.max_messages:
                break
            n = self._grown(n, last)
        else:
            self.run_round(n)  # the last round runs at the returned size: it warms up too
        return n

    def _grown(self, n: int, took: float) -> int:
        """The batch that would last ``round_time`` if ``n`` messages took ``took`` seconds (at most 10x)."""
        grow = self.settings.round_time / max(took, 1e-6)
        return min(self.settings.max_messages, max(n + 1, int(n * min(grow, 10.0))))

    def sample_batch(self, n: int) -> int:
        """The timed batch: ``n`` (calibrated), stretched for latency towards ``tail_samples`` round
        trips over the timed rounds of all trials, but never beyond ``latency_stretch`` times the
        round time."""
        s = self.settings
        if self.scenario.pattern != "latency":
            return n
        wanted = -(-s.tail_samples // (s.rounds * s.trials))
        return max(n, min(wanted, int(n * s.latency_stretch), s.max_messages))

    def worker_affinity(self) -> dict[str, list[int]]:
        """The CPUs each worker may run on: placement shapes IPC figures."""
        import psutil

        out: dict[str, list[int]] = {}
        for w in self.workers:
            with contextlib.suppress(Exception):
                out[w.name] = sorted(psutil.Process(w.process.pid).cpu_affinity() or [])
        return out


# --- the messaging patterns: throughput and latency ------------------------------------------------


class Messaging(Pattern):
    """``throughput``: producers stream to consumers; ``latency``: ping-pong pairs.

    Each message carries a sequence number; a round is verified by count, sum of sequence numbers
    and sum of payload lengths.
    """

    starters = ("producer", "pinger")

    def check(self, scenario: Scenario) -> None:
        mech = mechanisms.MECHANISMS.get(scenario.mechanism)
        if mech is None:
            raise ScenarioError(f"unknown mechanism {scenario.mechanism!r} for {scenario.pattern}")
        if mech.point_to_point and scenario.producers != scenario.consumers:
            raise ScenarioError(f"{scenario.mechanism} is point-to-point: producers must equal consumers")
        if scenario.pattern not in mech.patterns:
            raise ScenarioError(
                f"{mech.name} runs in {', '.join(mech.patterns)} only, not {scenario.pattern}"
            )
        if mech.single_consumer and scenario.consumers != 1:
            raise ScenarioError(
                f"{mech.name} runs with one consumer only (a batched get takes others' markers)"
            )
        why = mechanisms.missing(mech.requires)
        if why:
            raise ScenarioError(f"{mech.name}: {why}")

    def layout(self, rig: Rig, res: mechanisms.Resources) -> list[tuple[str, tuple[Any, ...]]]:
        """(role, ends) for every worker; ends are (sending end, receiving end) as the role needs."""
        s, mech = rig.scenario, mechanisms.MECHANISMS[rig.scenario.mechanism]
        make = mech.make_channel
        plan: list[tuple[str, tuple[Any, ...]]] = []
        if s.pattern == "latency":
            for _ in range(s.producers):
                to_pong_tx, to_pong_rx = make(res)
                to_ping_tx, to_ping_rx = make(res)
                rig._ends += [to_pong_tx, to_pong_rx, to_ping_tx, to_ping_rx]
                plan.append(("pinger", (to_pong_tx, to_ping_rx)))
                plan.append(("ponger", (to_ping_tx, to_pong_rx)))
        elif mech.point_to_point:
            for _ in range(s.producers):
                tx, rx = make(res)
                rig._ends += [tx, rx]
                plan.append(("producer", (tx,)))
                plan.append(("consumer", (rx,)))
        else:
            tx, rx = make(res)
            rig._ends += [tx] if tx is rx else [tx, rx]
            plan += [("producer", (tx,))] * s.producers
            plan += [("consumer", (rx,))] * s.consumers
        return plan

    def split(self, rig: Rig, n: int) -> list[Any]:
        """Split ``n`` messages over the producing side; sequence numbers are unique across rounds."""
        s = rig.scenario
        base = rig._round << 32
        senders = s.producers
        bounds = [base + (n * i) // senders for i in range(senders + 1)]
        shares = list(itertools.pairwise(bounds))
        shared = not mechanisms.MECHANISMS[s.mechanism].point_to_point and s.pattern == "throughput"
        tasks: list[_Task] = []
        for w in rig.workers:
            if w.role in ("producer", "pinger", "ponger"):
                first, stop = shares[w.index]
                tasks.append(
                    _Task(first, stop, sentinels=s.consumers if shared and w.role == "producer" else 0)
                )
            elif shared:
                tasks.append(_Task(0, 0, count=None, sentinels=s.producers))
            else:
                first, stop = shares[w.index]
                tasks.append(_Task(first, stop, count=stop - first))
        return tasks

    def bind(self, role: str, scenario: Scenario, ends: tuple[Any, ...]) -> Run:
        mech = mechanisms.MECHANISMS[scenario.mechanism]
        carries = mech.carries
        payload = b"\x5a" * scenario.payload_bytes  # touched now, so no page faults in the timed loop
        if role in ("producer", "pinger", "ponger"):
            send = mech.bind_send(ends[0], scenario.payload_bytes)
        if role in ("consumer", "pinger", "ponger"):
            recv = mech.bind_recv(ends[-1], scenario.payload_bytes)

        def run(task: _Task) -> tuple[Any, ...]:
            seqs = range(task.first, task.stop)
            if role == "producer":
                mechanisms.produce(carries, send, payload, seqs)
                for _ in range(task.sentinels):
                    send(None)
                return ()
            if role == "consumer":
                return mechanisms.consume(carries, recv, task.count, task.sentinels)
            if role == "pinger":
                return mechanisms.ping(carries, send, recv, payload, seqs)
            mechanisms.pong(send, recv, len(seqs))
            return ()

        return run

    def verify(self, rig: Rig, replies: dict[str, tuple[Any, ...]], elapsed: int) -> RoundResult:
        s, n = rig.scenario, rig._n
        base = (rig._round - 1) << 32
        receivers = "pinger" if s.pattern == "latency" else "consumer"
        got = [r[3] for name, r in replies.items() if name.startswith(receivers)]
        count = sum(g[0] for g in got)
        seq_sum = sum(g[1] for g in got)
        byte_sum = sum(g[2] for g in got)
        want_seq = n * base + n * (n - 1) // 2
        want_bytes = n * s.payload_bytes
        if (count, seq_sum, byte_sum) != (n, want_seq, want_bytes) or any(g[1] < 0 for g in got):
            rig._raise_reported_error()
            raise VerificationError(
                f"{s.id}: round {rig._round - 1} failed verification: received {count} of {n} messages, "
                f"sequence checksum {seq_sum} (expected {want_seq}), {byte_sum} payload bytes "
                f"(expected {want_bytes})"
            )
        rtts = tuple(g[3] for g in got) if s.pattern == "latency" else ()
        return RoundResult(n, elapsed, span(replies), rtts)


def span(replies: dict[str, tuple[Any, ...]]) -> int:
    """Worker-side time from the earliest start to the latest finish."""
    return max(r[2] for r in replies.values()) - min(r[1] for r in replies.values())


MESSAGING = Messaging()
