"""Shared state: Value and Array updates, Manager proxies, a ShareableList.

Locked counters must end exactly at the expected total; unlocked ones report their lost updates
instead of failing.
"""

from __future__ import annotations

import functools
from typing import Any

from ipcbench import shm
from ipcbench.registry import Operation, Resources
from ipcbench.scenario import Scenario


def _counter(res: Resources, kind: str) -> Any:
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
def reset_value(shared: Any) -> None:
    shared[-1].value = 0


def check_exact(shared: Any, n: int) -> tuple[str | None, dict[str, Any]]:
    got = shared[-1].value
    return (None if got == n else f"counter ended at {got}, expected exactly {n}"), {}


def _check_lost(shared: Any, n: int) -> tuple[str | None, dict[str, Any]]:
    got = shared[-1].value
    if got > n or got < 1:
        return f"counter ended at {got}, impossible for {n} increments", {}
    return None, {"lost_updates": n - got, "updates_expected": n}


#: Elements (8-byte) each worker owns in the Array patterns.
ARRAY_SLICE = 64


def _array(res: Resources, scenario: Scenario, *, lock: bool) -> Any:
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


def _manager_shared(res: Resources, scenario: Scenario, kind: str) -> Any:
    m = res.manager()
    workers = scenario.producers
    if kind == "dict":
        return (m.dict({i: 0 for i in range(workers)}),)
    if kind == "list":
        return (m.list([0] * workers),)
    return (m.Value("q", 0),)


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


def _shareable_list(res: Resources, scenario: Scenario) -> Any:
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


SHARED_STATE = (
    Operation(
        name="value_get_lock",
        pattern="shared_state",
        description="Value('q') += 1 under its own get_lock(): must end exact",
        make=lambda res, s: _counter(res, "get_lock"),
        loop=_value_get_lock,
        reset=reset_value,
        check=check_exact,
    ),
    Operation(
        name="value_lock",
        pattern="shared_state",
        description="Value('q', lock=False) += 1 under an explicit Lock: must end exact",
        make=lambda res, s: _counter(res, "lock"),
        loop=_value_lock,
        reset=reset_value,
        check=check_exact,
    ),
    Operation(
        name="value_unlocked",
        pattern="shared_state",
        description="RawValue('q') += 1 with no lock: the race, reported as lost_updates",
        make=lambda res, s: _counter(res, "raw"),
        loop=_value_unlocked,
        reset=reset_value,
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
        reset=reset_value,
        check=_check_lost,
    ),
)
