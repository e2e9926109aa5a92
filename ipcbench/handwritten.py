"""The hand-written side of the accuracy check: the smallest loops that do what a benchmark measures.

They know nothing of ipcbench's harness -- a ``Process``, a channel, a start barrier and
``perf_counter_ns`` in the consumer (throughput), the pinger (latency) or the copier (a bulk copy).
The barrier releases the timing process, which starts its clock and then lets the producer go, so no
message is on its way before the clock runs.  :class:`Hand` starts them and runs them round by round
beside the harness's rig (:mod:`ipcbench.selfcheck`).  Module-level functions, so every start method
can run them.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import statistics
import threading
import time
from typing import Any

from ipcbench.lifeline import die_with_parent
from ipcbench.rounds import HarnessError
from ipcbench.scenario import Scenario, placement_mask


def _ends(mechanism: str, ctx: Any) -> tuple[Any, Any]:
    """A one-way channel as (sending end, receiving end)."""
    if mechanism == "queue":
        q = ctx.Queue()
        return q, q
    reader, writer = ctx.Pipe(duplex=False)
    return writer, reader


def _send(mechanism: str, end: Any) -> Any:
    return end.put if mechanism == "queue" else end.send_bytes


def _recv(mechanism: str, end: Any) -> Any:
    return end.get if mechanism == "queue" else end.recv_bytes


def _hand_producer(mechanism: str, out: Any, go: Any, payload_bytes: int, n: int) -> None:
    die_with_parent()  # an orphan blocked on its channel would never exit
    send = _send(mechanism, out)
    payload = b"\x5a" * payload_bytes
    with contextlib.suppress(EOFError, OSError):
        while go.recv_bytes():  # an empty go means stop
            for _ in range(n):
                send(payload)
    with contextlib.suppress(AttributeError):
        out.cancel_join_thread()


def _hand_consumer(mechanism: str, inp: Any, barrier: Any, go: Any, n: int, report: Any) -> None:
    die_with_parent()  # an orphan blocked on its channel would never exit
    recv = _recv(mechanism, inp)
    clock = time.perf_counter_ns
    with contextlib.suppress(threading.BrokenBarrierError):
        while True:
            barrier.wait()
            # The clock starts before the producer may send: a message already waiting in the channel
            # when the clock starts would flatter this loop (a pipe holds ~60 of 1 KiB).
            t0 = clock()
            go.send_bytes(b"g")
            for _ in range(n):
                recv()
            report.send((clock() - t0, 0))
    go.send_bytes(b"")  # the producer's stop signal (under fork it holds a copy of our end: no EOF)


def _hand_pinger(
    mechanism: str, out: Any, inp: Any, barrier: Any, payload_bytes: int, n: int, report: Any
) -> None:
    die_with_parent()  # an orphan blocked on its channel would never exit
    send, recv = _send(mechanism, out), _recv(mechanism, inp)
    payload = b"\x5a" * payload_bytes
    clock = time.perf_counter_ns
    rtts = [0] * n
    with contextlib.suppress(threading.BrokenBarrierError):
        while True:
            barrier.wait()
            start = clock()
            for i in range(n):
                t0 = clock()
                send(payload)
                recv()
                rtts[i] = clock() - t0
            elapsed = clock() - start
            report.send((elapsed, statistics.median(rtts)))
    send(b"")  # tells the ponger to stop; a Queue's feeder flushes it before this process exits


def _hand_ponger(mechanism: str, out: Any, inp: Any) -> None:
    die_with_parent()  # an orphan blocked on its channel would never exit
    send, recv = _send(mechanism, out), _recv(mechanism, inp)
    while True:
        msg = recv()
        if not msg:
            break
        send(msg)


def _hand_copier(arr: Any, barrier: Any, payload_bytes: int, n: int, report: Any) -> None:
    die_with_parent()  # an orphan would never exit
    view = memoryview(arr).cast("B")
    src = b"\x01" * payload_bytes  # touched now, as the harness's worker prepares its source
    clock = time.perf_counter_ns
    with contextlib.suppress(threading.BrokenBarrierError):
        while True:
            barrier.wait()
            t0 = clock()
            for _ in range(n):
                view[:] = src
            report.send((clock() - t0, 0))


class Hand:
    """The hand-written processes of one scenario, released round by round through a barrier."""

    def __init__(self, scenario: Scenario, n: int, destination: Any = None) -> None:
        """``destination``: a bulk copy's shared array (``payload_bytes`` long), else one of its own."""
        ctx: Any = multiprocessing.get_context(scenario.start_method)
        self.n = n
        self.report_rx, report_tx = ctx.Pipe(duplex=False)
        m, size = scenario.mechanism, scenario.payload_bytes
        self._ends: list[Any] = []
        if scenario.pattern == "bulk":
            arr = ctx.RawArray("B", size) if destination is None else destination
            self.barrier = ctx.Barrier(2)
            plan: list[tuple[Any, tuple[Any, ...]]] = [
                (_hand_copier, (arr, self.barrier, size, n, report_tx))
            ]
        elif scenario.pattern == "throughput":
            tx, rx = _ends(m, ctx)
            go_rx, go_tx = ctx.Pipe(duplex=False)
            self.barrier = ctx.Barrier(2)
            plan = [
                (_hand_producer, (m, tx, go_rx, size, n)),
                (_hand_consumer, (m, rx, self.barrier, go_tx, n, report_tx)),
            ]
            self._ends = [tx, rx, go_rx, go_tx]
        else:
            to_pong_tx, to_pong_rx = _ends(m, ctx)
            to_ping_tx, to_ping_rx = _ends(m, ctx)
            self.barrier = ctx.Barrier(2)
            plan = [
                (_hand_pinger, (m, to_pong_tx, to_ping_rx, self.barrier, size, n, report_tx)),
                (_hand_ponger, (m, to_ping_tx, to_pong_rx)),
            ]
            self._ends = [to_pong_tx, to_pong_rx, to_ping_tx, to_ping_rx]
        self.processes = [ctx.Process(target=f, args=a, daemon=True, name="ipcbench-hand") for f, a in plan]
        try:
            for p in self.processes:
                p.start()
        except BaseException:
            self.close()
            raise
        report_tx.close()
        for end in self._ends:
            if hasattr(end, "send_bytes"):
                end.close()
        self._place(scenario.placement)

    def _place(self, placement: str) -> None:
        """Pin as the harness pins its workers (Rig._place): the same CPUs, in the same order, so
        the comparison is not a comparison of placements (a cross-CPU wake-up costs ~9x here)."""
        if placement == "none":
            return
        import psutil

        cpus = sorted(psutil.Process().cpu_affinity() or [0])
        for i, p in enumerate(self.processes):
            psutil.Process(p.pid).cpu_affinity(placement_mask(placement, cpus, i))

    def round(self, timeout: float) -> tuple[int, float]:
        """One round: (elapsed ns, median round trip ns or 0) as the hand-written process measured it."""
        try:
            self.barrier.wait(timeout)
        except threading.BrokenBarrierError:
            raise HarnessError("hand-written loop did not reach its start barrier in time") from None
        if not self.report_rx.poll(timeout):
            raise HarnessError(f"hand-written loop did not finish a round within {timeout:.1f} s")
        try:
            elapsed, rtt = self.report_rx.recv()
        except (EOFError, OSError):
            raise HarnessError("a hand-written process died during a round") from None
        return int(elapsed), float(rtt)

    def close(self) -> None:
        """Break the barrier (the loops end on it), then join, terminate and kill, each with a deadline."""
        with contextlib.suppress(Exception):
            self.barrier.abort()
        for p in self.processes:
            if p.pid is not None:
                p.join(2.0)
        for how in ("terminate", "kill"):
            for p in self.processes:
                if p.pid is not None and p.is_alive():
                    getattr(p, how)()
                    p.join(2.0)
        for end in [*self._ends, self.report_rx]:
            with contextlib.suppress(Exception):
                end.close()
            with contextlib.suppress(Exception):
                end.join_thread()
