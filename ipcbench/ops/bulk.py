"""Bulk copies: the bandwidth of copying a payload into shared memory, with a plain memcpy for reference."""

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


def _landing(res: Resources, scenario: Scenario) -> Any:
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
        # ~40 MB/s: 64 MiB would take seconds per copy; 4 MiB already shows the per-element cost.
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
)
