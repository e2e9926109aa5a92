"""The built-in mechanisms and operations by name, for the side of ipcbench that reads results.

Reading saved results (report, compare, history, export) needs a little about each mechanism: which
pattern family it belongs to (charts give each family its own colours; thresholds name it) and its
kind (only an importable one is ever recommended).  That side must not import the code that measures
(:mod:`ipcbench.mechanisms`, :mod:`ipcbench.ops`, the harness), so this module holds those two facts
of every built-in, in registration order; a test checks them against the registry.  Whatever the
registry holds in this process (a plugin loaded by ``--plugin``, or the built-ins themselves) is
asked first, so a plugin's own declaration wins.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from ipcbench import api

IMPORTABLE, BASELINE, HAND_MADE = api.KINDS

#: Every built-in mechanism and operation, in registration order: name -> (first pattern, kind).
BUILT_IN: Mapping[str, tuple[str, str]] = {
    "pipe": ("throughput", IMPORTABLE),
    "pipe_bytes": ("throughput", IMPORTABLE),
    "queue": ("throughput", IMPORTABLE),
    "queue_timeout": ("throughput", IMPORTABLE),
    "simple_queue": ("throughput", IMPORTABLE),
    "os_pipe": ("throughput", BASELINE),
    "socketpair": ("throughput", BASELINE),
    "manager_queue": ("throughput", IMPORTABLE),
    "shm_ring": ("throughput", HAND_MADE),
    "shm_numpy": ("throughput", HAND_MADE),
    "faster_fifo": ("throughput", IMPORTABLE),
    "faster_fifo_timeout": ("throughput", IMPORTABLE),
    "faster_fifo_get_many": ("throughput", IMPORTABLE),
    "faster_fifo_many": ("throughput", IMPORTABLE),
    "zmq": ("throughput", IMPORTABLE),
    "value_get_lock": ("shared_state", IMPORTABLE),
    "value_lock": ("shared_state", IMPORTABLE),
    "value_unlocked": ("shared_state", IMPORTABLE),
    "array_partitioned": ("shared_state", IMPORTABLE),
    "array_locked": ("shared_state", IMPORTABLE),
    "shareable_list": ("shared_state", IMPORTABLE),
    "manager_dict": ("shared_state", IMPORTABLE),
    "manager_list": ("shared_state", IMPORTABLE),
    "manager_value": ("shared_state", IMPORTABLE),
    "manager_lock": ("locks", IMPORTABLE),
    "lock": ("locks", IMPORTABLE),
    "rlock": ("locks", IMPORTABLE),
    "semaphore": ("locks", IMPORTABLE),
    "condition": ("locks", IMPORTABLE),
    "event": ("locks", IMPORTABLE),
    "memcpy": ("bulk", BASELINE),
    "array_slice": ("bulk", IMPORTABLE),
    "array_memoryview": ("bulk", IMPORTABLE),
    "process_start": ("startup", IMPORTABLE),
    "pool_start": ("startup", IMPORTABLE),
    "manager_start": ("startup", IMPORTABLE),
    "first_pipe": ("startup", IMPORTABLE),
    "first_queue": ("startup", IMPORTABLE),
}


def generation() -> int:
    """Changes whenever the registry does: a key for caches built from :func:`families`."""
    return api.generation()


def _registered() -> dict[str, tuple[str, str]]:
    return _registered_at(api.generation())


@functools.cache
def _registered_at(generation: int) -> dict[str, tuple[str, str]]:
    out = {m.name: (m.patterns[0], m.kind) for m in api.MECHANISMS.values()}
    out.update((op.name, (op.pattern, op.kind)) for op in api.OPERATIONS.values())
    return out


def families() -> dict[str, str]:
    """Every mechanism this process knows, name -> its first pattern: the built-ins in registration
    order, then what plugins registered."""
    out = {name: pattern for name, (pattern, _) in BUILT_IN.items()}
    for name, (pattern, _) in _registered().items():
        out.setdefault(name, pattern)
    return out


def kind(mechanism: str) -> str:
    """A mechanism's kind (see :data:`ipcbench.api.KINDS`); one this process does not know (saved by
    another version of ipcbench, or by a plugin not loaded here) is importable."""
    registered = _registered().get(mechanism)
    if registered is not None:
        return registered[1]
    return BUILT_IN.get(mechanism, ("", IMPORTABLE))[1]
