"""Locks: acquire/release of every synchronisation primitive, and notify/wait, Manager's Lock included.

Each critical section increments an unlocked counter, so mutual exclusion is checked, not assumed.
"""

from __future__ import annotations

from typing import Any

from ipcbench.ops.shared_state import check_exact, reset_value
from ipcbench.registry import Operation, Resources
from ipcbench.scenario import Scenario


def _manager_lock(res: Resources, scenario: Scenario) -> Any:
    return (res.manager().Lock(), res.ctx.RawValue("q", 0))


def _primitive(res: Resources, kind: str) -> Any:
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


LOCKS = (
    Operation(
        name="manager_lock",
        pattern="locks",
        description="Manager().Lock(): acquire/release through the proxy around a counter",
        make=_manager_lock,
        loop=_acquire_release,
        reset=reset_value,
        check=check_exact,
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
                reset_value,
                check_exact,
            ),
            (
                "rlock",
                "RLock",
                "acquire/release around a counter",
                _acquire_release,
                reset_value,
                check_exact,
            ),
            (
                "semaphore",
                "Semaphore(1)",
                "acquire/release around a counter",
                _acquire_release,
                reset_value,
                check_exact,
            ),
            (
                "condition",
                "Condition",
                "acquire, notify, release around a counter",
                _condition_notify,
                reset_value,
                check_exact,
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
)
