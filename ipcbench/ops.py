"""The one-sided patterns: every worker repeats one operation on something the parent made.

``shared_state`` (Value and Array updates), ``locks`` (acquire/release, notify/wait), ``bulk`` (copy
bandwidth) and ``startup`` (creating processes, pools, managers, channels).  A round of ``n``
operations is split over the workers; each runs its share in the smallest loop a user would write,
and the parent checks the round: locked counters must end exactly at the expected total, unlocked
ones report their lost updates instead of failing.  ``msgs_per_s`` is operations per second.
"""

from __future__ import annotations

import ctypes
import functools
import itertools
import multiprocessing
import os
import signal
import time
from array import array
from typing import Any

from ipcbench import api, mechanisms, shm
from ipcbench.api import Operation, register
from ipcbench.harness import Pattern, RoundResult, Run, VerificationError, _Task, span
from ipcbench.scenario import ONE_SIDED, Scenario, ScenarioError

# --- shared_state -----------------------------------------------------------------------------------


def _counter(res: mechanisms.Resources, kind: str) -> Any:
    ctx = res.ctx
    if kind == "get_lock":
        return (ctx.Value("q", 0),)
    if kind == "lock":
        return (ctx.Lock(), ctx.Value("q", 0, lock=False))
    return (ctx.RawValue("q", 0),)


def _value_get_lock(shared: Any, index: int, count: int) -> int:
    (v,) = shared
    lock = v.get_lock()
    for _ in range(count):
        with lock:
            v.value += 1
    return count


def _value_lock(shared: Any, index: int, count: int) -> int:
    lock, v = shared
    for _ in range(count):
        with lock:
            v.value += 1
    return count


def _value_unlocked(shared: Any, index: int, count: int) -> int:
    (v,) = shared
    for _ in range(count):
        v.value += 1  # read, add, write: another process's write in between is lost
    return count


# The counter is always the last thing shared.
def _reset_value(shared: Any) -> None:
    shared[-1].value = 0


def _check_exact(shared: Any, n: int) -> tuple[str | None, dict[str, Any]]:
    got = shared[-1].value
    return (None if got == n else f"counter ended at {got}, expected exactly {n}"), {}


def _check_lost(shared: Any, n: int) -> tuple[str | None, dict[str, Any]]:
    got = shared[-1].value
    if got > n or got < 1:
        return f"counter ended at {got}, impossible for {n} increments", {}
    return None, {"lost_updates": n - got, "updates_expected": n}


#: Elements (8-byte) each worker owns in the Array patterns.
ARRAY_SLICE = 64


def _array(res: mechanisms.Resources, scenario: Scenario, *, lock: bool) -> Any:
    size = ARRAY_SLICE * scenario.producers
    return (res.ctx.Array("q", size) if lock else res.ctx.RawArray("q", size),)


def _array_partitioned(shared: Any, index: int, count: int) -> int:
    (arr,) = shared
    base = index * ARRAY_SLICE
    for i in range(count):
        arr[base + i % ARRAY_SLICE] += 1  # own slice: no other process writes here
    return count


def _array_locked(shared: Any, index: int, count: int) -> int:
    (arr,) = shared
    lock = arr.get_lock()
    base = index * ARRAY_SLICE
    for i in range(count):
        with lock:
            arr[base + i % ARRAY_SLICE] += 1
    return count


def _raw(arr: Any) -> Any:
    """The ctypes array behind a synchronized ``Array`` (the parent touches it between rounds only)."""
    return arr.get_obj() if hasattr(arr, "get_obj") else arr


def _reset_array(shared: Any) -> None:
    memoryview(_raw(shared[0])).cast("B")[:] = bytes(8 * len(shared[0]))


def _check_array(shared: Any, n: int) -> tuple[str | None, dict[str, Any]]:
    got = sum(shared[0][:])
    return (None if got == n else f"array sums to {got}, expected exactly {n}"), {}


# --- Manager proxies: every operation is a round trip to the Manager's server process -------------------


def _manager_shared(res: mechanisms.Resources, scenario: Scenario, kind: str) -> Any:
    m = res.manager()
    workers = scenario.producers
    if kind == "dict":
        return (m.dict({i: 0 for i in range(workers)}),)
    if kind == "list":
        return (m.list([0] * workers),)
    if kind == "value":
        return (m.Value("q", 0),)
    return (m.Lock(), res.ctx.RawValue("q", 0))


def _proxy_item_increment(shared: Any, index: int, count: int) -> int:
    # Each worker owns one key (dict) or index (list): two round trips per increment, no race.
    (proxy,) = shared
    for _ in range(count):
        proxy[index] += 1
    return count


def _reset_items(shared: Any) -> None:
    proxy = shared[0]
    for key in range(len(proxy)):
        proxy[key] = 0


def _check_items(shared: Any, n: int) -> tuple[str | None, dict[str, Any]]:
    proxy = shared[0]
    got = sum(proxy[key] for key in range(len(proxy)))
    return (None if got == n else f"items sum to {got}, expected exactly {n}"), {}


def _proxy_value_increment(shared: Any, index: int, count: int) -> int:
    (v,) = shared
    for _ in range(count):
        v.value += 1  # a get and a set: another process's set in between is lost
    return count


# --- ShareableList: a list of fixed-size items in one SharedMemory segment ------------------------------
# Workers get the segment's name only: unpickling a ShareableList would attach it tracked (gh-82300).


def _shareable_list(res: mechanisms.Resources, scenario: Scenario) -> Any:
    from multiprocessing.shared_memory import ShareableList

    sl = ShareableList([0] * scenario.producers)
    res.defer(functools.partial(shm.destroy, sl.shm))
    return (sl.shm.name,)


def _attach_list(shared: Any, index: int, scenario: Scenario) -> Any:
    return shm.attach_list(shared[0])


def _list_item_increment(sl: Any, index: int, count: int) -> int:
    for _ in range(count):
        sl[index] += 1  # own index: no other process writes it
    return count


def _reset_list(shared: Any) -> None:
    sl = shm.attach_list(shared[0])
    for i in range(len(sl)):
        sl[i] = 0
    sl.shm.close()


def _check_list(shared: Any, n: int) -> tuple[str | None, dict[str, Any]]:
    sl: Any = shm.attach_list(shared[0])
    got = sum(sl)
    sl.shm.close()
    return (None if got == n else f"ShareableList sums to {got}, expected exactly {n}"), {}


# --- locks ------------------------------------------------------------------------------------------
# Each critical section increments an unlocked counter, so mutual exclusion is checked, not assumed.


def _primitive(res: mechanisms.Resources, kind: str) -> Any:
    ctx = res.ctx
    make = {
        "lock": ctx.Lock,
        "rlock": ctx.RLock,
        "semaphore": lambda: ctx.Semaphore(1),
        "condition": ctx.Condition,
        "event": ctx.Event,
    }[kind]
    return (make(), ctx.RawValue("q", 0))


def _acquire_release(shared: Any, index: int, count: int) -> int:
    prim, v = shared
    for _ in range(count):
        with prim:
            v.value += 1
    return count


def _condition_notify(shared: Any, index: int, count: int) -> int:
    cond, v = shared
    for _ in range(count):
        with cond:
            v.value += 1
            cond.notify()
    return count


def _event(shared: Any, index: int, count: int) -> int:
    # Every clear is followed at once by the same worker's set, so no wait() can block for good.
    # (Its return value says nothing here: a wait() woken by one worker's set may find the flag
    # already cleared by another's next cycle, and then returns False though the set happened.)
    ev, _ = shared
    clear, set_, wait = ev.clear, ev.set, ev.wait
    for _ in range(count):
        clear()
        set_()
        wait()
    return count


def _reset_event(shared: Any) -> None:
    shared[0].clear()


def _check_event(shared: Any, n: int) -> tuple[str | None, dict[str, Any]]:
    # Cleared before the round.  The last clear of the round is followed by its worker's set and
    # nothing clears after it, so the event must end set: proof the sets reached the shared event.
    if not shared[0].is_set():
        return "the event ended clear: the round's set() calls did not reach it", {}
    return None, {}


# --- bulk -------------------------------------------------------------------------------------------


def _arrays(res: mechanisms.Resources, scenario: Scenario) -> Any:
    """One shared array per worker, each written by its worker only."""
    return tuple(res.ctx.RawArray("B", scenario.payload_bytes) for _ in range(scenario.producers))


def _fill(index: int) -> int:
    return (index + 1) % 256 or 1


def _reset_arrays(shared: Any) -> None:
    for arr in shared:
        memoryview(arr).cast("B")[:] = bytes(len(arr))


def _check_arrays(shared: Any, n: int) -> tuple[str | None, dict[str, Any]]:
    for i, arr in enumerate(shared):
        if bytes(memoryview(arr).cast("B")) != bytes([_fill(i)]) * len(arr):
            return f"array {i} does not hold what its worker copied into it", {}
    return None, {}


def _source(shared: Any, index: int, scenario: Scenario) -> Any:
    return shared[index], bytes([_fill(index)]) * scenario.payload_bytes


def _source_view(shared: Any, index: int, scenario: Scenario) -> Any:
    return memoryview(shared[index]).cast("B"), bytes([_fill(index)]) * scenario.payload_bytes


#: Both buffers of ``memcpy`` start on a cache-line boundary, as a C memcpy's would.
ALIGN = 64


def _aligned(buf: Any, size: int) -> memoryview:
    """``size`` bytes of ``buf`` (made ``ALIGN - 1`` bytes longer) from its first cache-line boundary.

    Page-aligned mappings keep the offset the same in every process that maps ``buf``.
    """
    address = ctypes.addressof(ctypes.c_char.from_buffer(buf))
    start = -address % ALIGN
    return memoryview(buf).cast("B")[start : start + size]


def _landing(res: mechanisms.Resources, scenario: Scenario) -> Any:
    """One destination per worker, written by its worker only and checked by the parent."""
    size = scenario.payload_bytes + ALIGN - 1
    return tuple(res.ctx.RawArray("B", size) for _ in range(scenario.producers))


def _reset_landing(shared: Any) -> None:
    for arr in shared:
        ctypes.memset(arr, 0, len(arr))


def _check_landing(shared: Any, n: int) -> tuple[str | None, dict[str, Any]]:
    # Every byte: a copy that stopped short, or never ran, leaves zeros behind.
    for i, arr in enumerate(shared):
        size = len(arr) - ALIGN + 1
        if _aligned(arr, size).tobytes() != bytes([_fill(i)]) * size:
            return f"destination {i} does not hold what its worker copied into it", {}
    return None, {}


def _private_source(shared: Any, index: int, scenario: Scenario) -> Any:
    size = scenario.payload_bytes
    # Filled now, so the loop copies from memory that is already mapped.
    src = _aligned(bytearray([_fill(index)]) * (size + ALIGN - 1), size)
    return _aligned(shared[index], size), src


def _memcpy(state: Any, index: int, count: int) -> int:
    """One copy of the payload between aligned buffers: memoryview slice assignment, a plain memcpy
    with the least per-call cost Python has (NumPy's copyto and ctypes.memmove cost ~0.4 µs more)."""
    dst, src = state
    for _ in range(count):
        dst[:] = src
    return count


def _array_slice(state: Any, index: int, count: int) -> int:
    """``arr[:] = src``: the obvious spelling; ctypes copies element by element."""
    arr, src = state
    for _ in range(count):
        arr[:] = src
    return count


def _array_memoryview(state: Any, index: int, count: int) -> int:
    """The same copy through a memoryview: one memcpy."""
    view, src = state
    for _ in range(count):
        view[:] = src
    return count


# --- startup ----------------------------------------------------------------------------------------


def _nothing() -> None:
    pass


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


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


def _start_method(res: mechanisms.Resources, scenario: Scenario) -> Any:
    return scenario.start_method


register(
    Operation(
        name="value_get_lock",
        pattern="shared_state",
        description="Value('q') += 1 under its own get_lock(): must end exact",
        make=lambda res, s: _counter(res, "get_lock"),
        loop=_value_get_lock,
        reset=_reset_value,
        check=_check_exact,
    ),
    Operation(
        name="value_lock",
        pattern="shared_state",
        description="Value('q', lock=False) += 1 under an explicit Lock: must end exact",
        make=lambda res, s: _counter(res, "lock"),
        loop=_value_lock,
        reset=_reset_value,
        check=_check_exact,
    ),
    Operation(
        name="value_unlocked",
        pattern="shared_state",
        description="RawValue('q') += 1 with no lock: the race, reported as lost_updates",
        make=lambda res, s: _counter(res, "raw"),
        loop=_value_unlocked,
        reset=_reset_value,
        check=_check_lost,
    ),
    Operation(
        name="array_partitioned",
        pattern="shared_state",
        description="RawArray('q'): each process increments its own slice, no lock",
        make=lambda res, s: _array(res, s, lock=False),
        loop=_array_partitioned,
        reset=_reset_array,
        check=_check_array,
    ),
    Operation(
        name="array_locked",
        pattern="shared_state",
        description="Array('q'): every increment under the array's one lock",
        make=lambda res, s: _array(res, s, lock=True),
        loop=_array_locked,
        reset=_reset_array,
        check=_check_array,
    ),
    Operation(
        name="shareable_list",
        pattern="shared_state",
        description="shared_memory.ShareableList: sl[own index] += 1, no lock; must end exact",
        make=_shareable_list,
        loop=_list_item_increment,
        reset=_reset_list,
        check=_check_list,
        prepare=_attach_list,
    ),
    Operation(
        name="manager_dict",
        pattern="shared_state",
        description="Manager().dict(): d[own key] += 1 through the proxy; must end exact",
        make=lambda res, s: _manager_shared(res, s, "dict"),
        loop=_proxy_item_increment,
        reset=_reset_items,
        check=_check_items,
    ),
    Operation(
        name="manager_list",
        pattern="shared_state",
        description="Manager().list(): l[own index] += 1 through the proxy; must end exact",
        make=lambda res, s: _manager_shared(res, s, "list"),
        loop=_proxy_item_increment,
        reset=_reset_items,
        check=_check_items,
    ),
    Operation(
        name="manager_value",
        pattern="shared_state",
        description="Manager().Value('q').value += 1 with no lock: reports lost_updates",
        make=lambda res, s: _manager_shared(res, s, "value"),
        loop=_proxy_value_increment,
        reset=_reset_value,
        check=_check_lost,
    ),
    Operation(
        name="manager_lock",
        pattern="locks",
        description="Manager().Lock(): acquire/release through the proxy around a counter",
        make=lambda res, s: _manager_shared(res, s, "lock"),
        loop=_acquire_release,
        reset=_reset_value,
        check=_check_exact,
    ),
    *(
        Operation(
            name=kind,
            pattern="locks",
            description=f"{title}: {what}",
            make=lambda res, s, kind=kind: _primitive(res, kind),  # type: ignore[misc]
            loop=loop,
            reset=reset,
            check=check,
        )
        for kind, title, what, loop, reset, check in (
            (
                "lock",
                "Lock",
                "acquire/release around a counter",
                _acquire_release,
                _reset_value,
                _check_exact,
            ),
            (
                "rlock",
                "RLock",
                "acquire/release around a counter",
                _acquire_release,
                _reset_value,
                _check_exact,
            ),
            (
                "semaphore",
                "Semaphore(1)",
                "acquire/release around a counter",
                _acquire_release,
                _reset_value,
                _check_exact,
            ),
            (
                "condition",
                "Condition",
                "acquire, notify, release around a counter",
                _condition_notify,
                _reset_value,
                _check_exact,
            ),
            (
                "event",
                "Event",
                "clear, set, wait; the round must leave it set",
                _event,
                _reset_event,
                _check_event,
            ),
        )
    ),
    Operation(
        name="memcpy",
        pattern="bulk",
        description=(
            "reference: one memoryview copy of the payload from a private buffer to a shared one, both "
            "cache-line aligned (no other process involved)"
        ),
        make=_landing,
        loop=_memcpy,
        reset=_reset_landing,
        check=_check_landing,
        prepare=_private_source,
        sized=True,
        kind="baseline",
    ),
    Operation(
        name="array_slice",
        pattern="bulk",
        description="RawArray('B') bulk copy as arr[:] = data (ctypes copies element by element)",
        make=_arrays,
        loop=_array_slice,
        reset=_reset_arrays,
        check=_check_arrays,
        prepare=_source,
        sized=True,
        # ~40 MB/s: 64 MiB would take seconds per copy, and the issue asks for "several MiB".
        max_payload=4 << 20,
    ),
    Operation(
        name="array_memoryview",
        pattern="bulk",
        description="RawArray('B') bulk copy through memoryview(arr)[:] = data (one memcpy)",
        make=_arrays,
        loop=_array_memoryview,
        reset=_reset_arrays,
        check=_check_arrays,
        prepare=_source_view,
        sized=True,
    ),
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

#: Every one-sided operation, built in or from a plugin, by name: the registry's read-only view.
OPS = api.OPERATIONS


# --- the pattern ------------------------------------------------------------------------------------


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
