"""Bulk copies: the bandwidth of copying a payload into shared memory, with a plain memcpy for reference.

Each worker copies into a destination of its own, and resets and checks it itself, outside the clock
(``worker_reset``, ``worker_check``): the parent never touches a destination between rounds, so its
cache lines stay with the worker that copies into them, as they would in a loop written by hand.
"""

from __future__ import annotations

import ctypes
from typing import Any

from ipcbench.registry import Operation, Resources
from ipcbench.scenario import Scenario


def _arrays(res: Resources, scenario: Scenario) -> Any:
    """One shared array per worker, each written by its worker only."""
    return tuple(res.ctx.RawArray("B", scenario.payload_bytes) for _ in range(scenario.producers))


def _fill(index: int) -> int:
    return (index + 1) % 256 or 1


_LIBC = ctypes.CDLL(None)
_LIBC.memcmp.argtypes = (ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
_LIBC.memcmp.restype = ctypes.c_int


def _address(view: memoryview) -> int:
    return ctypes.addressof(ctypes.c_char.from_buffer(view))


def _clear(buf: Any) -> None:
    """Zero every byte of a writable buffer in place."""
    view = memoryview(buf).cast("B")
    if len(view):
        ctypes.memset(_address(view), 0, len(view))


def _filled(buf: Any, value: int) -> bool:
    """Every byte of a writable buffer is ``value``: its first byte is, and each byte equals the next
    (one memcmp of the buffer against itself one byte on: no copy of a payload of many MiB)."""
    view = memoryview(buf).cast("B")
    if not len(view):
        return True
    if view[0] != value:
        return False
    start = _address(view)
    return _LIBC.memcmp(start, start + 1, len(view) - 1) == 0


def _clear_own(state: Any, index: int) -> None:
    _clear(state[0])


def _check_own_array(state: Any, index: int, count: int) -> str | None:
    # Every byte: a copy that stopped short, or never ran, leaves zeros behind.
    ok = _filled(state[0], _fill(index))
    return None if ok else f"array {index} does not hold what its worker copied into it"


def _check_own_destination(state: Any, index: int, count: int) -> str | None:
    ok = _filled(state[0], _fill(index))
    return None if ok else f"destination {index} does not hold what its worker copied into it"


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


def _landing(res: Resources, scenario: Scenario) -> Any:
    """One destination per worker, written, reset and checked by its worker only."""
    size = scenario.payload_bytes + ALIGN - 1
    return tuple(res.ctx.RawArray("B", size) for _ in range(scenario.producers))


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


BULK = (
    Operation(
        name="memcpy",
        pattern="bulk",
        description=(
            "reference: one memoryview copy of the payload from a private buffer to a shared one, both "
            "cache-line aligned (no other process involved)"
        ),
        make=_landing,
        loop=_memcpy,
        worker_reset=_clear_own,
        worker_check=_check_own_destination,
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
        worker_reset=_clear_own,
        worker_check=_check_own_array,
        prepare=_source,
        sized=True,
        # ~40 MB/s: 64 MiB would take seconds per copy; 4 MiB already shows the per-element cost.
        max_payload=4 << 20,
    ),
    Operation(
        name="array_memoryview",
        pattern="bulk",
        description="RawArray('B') bulk copy through memoryview(arr)[:] = data (one memcpy)",
        make=_arrays,
        loop=_array_memoryview,
        worker_reset=_clear_own,
        worker_check=_check_own_array,
        prepare=_source_view,
        sized=True,
    ),
)
