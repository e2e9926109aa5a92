"""What runs in a worker process: bind its share of the rounds, then serve rounds until told to stop.

The parent's :class:`~ipcbench.harness.Rig` starts :func:`serve` as each worker's target and talks to
it over a private control pipe only.  A bare :class:`~ipcbench.rounds.Task` runs the timed part of a
round, between two readings of the worker's clocks; ``(BEFORE, task)`` and ``(AFTER, task)`` run the
untimed steps of the worker's :class:`~ipcbench.rounds.Share`; ``CANARY`` times the fixed loop of
:mod:`ipcbench.canary` on the worker's CPU, between rounds; None stops the worker.  Every step is
answered on the control pipe, and any failure is reported there as ``("error", message)``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from typing import Any

from ipcbench import api, canary, patterns
from ipcbench.lifeline import die_with_parent
from ipcbench.rounds import AFTER, BEFORE, CANARY
from ipcbench.scenario import Scenario


def cpu_clock() -> int:
    """A worker's own CPU time (user + system, every thread of the process) in nanoseconds.

    Read by each worker around its share of a round, so what the parent does and what verification
    costs is not in it.
    """
    return time.process_time_ns()


def serve(
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
        if not multiprocessing.current_process().daemon:
            os.setpgid(0, 0)  # so the rig can reap what this worker starts, even if it is killed
        share = patterns.worker_side(scenario.pattern).bind(role, scenario, ends)
        run = share.run
        report("ready", os.getpid())
        while True:
            cmd = control.recv()
            if cmd is None:
                break
            if cmd == CANARY:
                report(CANARY, canary.reading())
                continue
            if isinstance(cmd, tuple):
                step, task = cmd
                if step == BEFORE:
                    if share.before is not None:
                        share.before(task)
                    report(BEFORE)
                elif step == AFTER:
                    report(AFTER, share.after(task) if share.after is not None else None)
                continue
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
