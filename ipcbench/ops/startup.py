"""Start-up: creating processes, pools and managers, and a channel's first message.

Each operation is timed one by one: start-up takes milliseconds, and its figure is per operation.
"""

from __future__ import annotations

import multiprocessing
import os
from typing import Any

from ipcbench.registry import Operation, Resources
from ipcbench.scenario import Scenario


def _nothing() -> None:
    pass


def _process_start(shared: Any, index: int, count: int) -> Any:
    ctx = multiprocessing.get_context(shared)
    p = ctx.Process(target=_nothing, daemon=True)
    p.start()
    try:
        p.join()
    finally:
        if p.is_alive():  # interrupted (SIGTERM from the Rig's close): take the child along
            p.kill()
            p.join()
    code = p.exitcode
    p.close()
    return code == 0


def _pool_start(shared: Any, index: int, count: int) -> Any:
    ctx = multiprocessing.get_context(shared)
    pool = ctx.Pool(POOL_SIZE)
    try:
        ok = pool.apply(os.getpid) > 0  # the pool is up when one task has made the round trip
        # close() then join(): the orderly shutdown.  terminate() hung now and then on 2 busy cores
        # (its clean-up takes the task queue's lock, which an idle Pool worker holds while it waits).
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
    return ok


def _manager_start(shared: Any, index: int, count: int) -> Any:
    manager = multiprocessing.get_context(shared).Manager()
    try:
        ok = manager.dict() is not None
    finally:
        manager.shutdown()
    return ok


def _first_pipe(shared: Any, index: int, count: int) -> Any:
    a, b = multiprocessing.get_context(shared).Pipe()
    try:
        a.send(index)
        return b.recv() == index
    finally:
        a.close()
        b.close()


def _first_queue(shared: Any, index: int, count: int) -> Any:
    q = multiprocessing.get_context(shared).Queue()
    try:
        q.put(index)  # starts the feeder thread: part of what a first message costs
        return q.get(timeout=60) == index
    finally:
        q.close()
        q.join_thread()


#: Workers of the Pool created by the ``pool`` start-up benchmark.
POOL_SIZE = 2


def _start_method(res: Resources, scenario: Scenario) -> Any:
    return scenario.start_method


STARTUP = (
    Operation(
        name="process_start",
        pattern="startup",
        description="Process(target=noop).start() and join(), with the scenario's start method",
        make=_start_method,
        loop=_process_start,
        per_op=True,
    ),
    Operation(
        name="pool_start",
        pattern="startup",
        description=f"Pool({POOL_SIZE}) created, one task round trip, terminated and joined",
        make=_start_method,
        loop=_pool_start,
        per_op=True,
    ),
    Operation(
        name="manager_start",
        pattern="startup",
        description="Manager() started, one dict() made, shut down",
        make=_start_method,
        loop=_manager_start,
        per_op=True,
    ),
    Operation(
        name="first_pipe",
        pattern="startup",
        description="a new Pipe(): first pickled message sent and received (same process)",
        make=_start_method,
        loop=_first_pipe,
        per_op=True,
    ),
    Operation(
        name="first_queue",
        pattern="startup",
        description="a new Queue(): first put and get, feeder thread start included (same process)",
        make=_start_method,
        loop=_first_queue,
        per_op=True,
    ),
)
