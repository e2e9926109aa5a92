"""A hand-made channel on shared memory.

A ring of fixed-size slots in one SharedMemory segment, one producer and one consumer per ring.  Two
counting semaphores signal: ``items`` (filled slots) and ``space`` (free slots).  Each slot is an
8-byte length and the message; the receiver copies the message out before freeing the slot.  The
NumPy variant hands off one buffer through NumPy views.
"""

from __future__ import annotations

import dataclasses
import functools
import struct
from collections.abc import Callable
from typing import Any

from ipcbench import shm
from ipcbench.registry import Mechanism, Recv, Resources, Send

_LEN = struct.Struct("<Q")

#: Rings hold at most this many bytes (or two slots, for payloads bigger than that).
RING_BYTES = 4 << 20
RING_MAX_SLOTS = 64


@dataclasses.dataclass(frozen=True)
class RingEnd:
    name: str
    slots: int
    slot_size: int
    items: Any
    space: Any
    numpy: bool


def _ring(res: Resources, *, numpy: bool) -> tuple[Any, Any]:
    slot_size = -(-(8 + res.payload_bytes) // 64) * 64
    # The NumPy hand-off is one buffer (write, signal, read); the ring lets the producer run ahead.
    slots = 1 if numpy else max(2, min(RING_MAX_SLOTS, RING_BYTES // slot_size))
    segment = shm.create(slots * slot_size)
    res.defer(functools.partial(shm.destroy, segment))
    end = RingEnd(segment.name, slots, slot_size, res.ctx.Semaphore(0), res.ctx.Semaphore(slots), numpy)
    segment.close()  # the parent never touches the ring; it only owns (and unlinks) the name
    return end, end


def _ring_writer(end: RingEnd, size: int) -> Send:
    segment = shm.attach(end.name)
    buf: Any = segment.buf
    acquire, release = end.space.acquire, end.items.release
    pack = _LEN.pack_into
    slots, size = end.slots, end.slot_size
    head = 0
    copy_in = _numpy_copy_in(buf) if end.numpy else None

    def send(data: Any) -> None:
        nonlocal head
        n = len(data)
        off = head * size
        acquire()
        pack(buf, off, n)
        if copy_in is None:
            buf[off + 8 : off + 8 + n] = data
        else:
            copy_in(off + 8, data)
        release()
        head = (head + 1) % slots

    send.segment = segment  # type: ignore[attr-defined]  # keeps the mapping alive
    return send


def _ring_reader(end: RingEnd, size: int) -> Recv:
    segment = shm.attach(end.name)
    buf: Any = segment.buf
    acquire, release = end.items.acquire, end.space.release
    unpack = _LEN.unpack_from
    slots, size = end.slots, end.slot_size
    tail = 0
    copy_out = _numpy_copy_out(buf) if end.numpy else None

    def recv() -> Any:
        nonlocal tail
        off = tail * size
        acquire()
        (n,) = unpack(buf, off)
        data = bytes(buf[off + 8 : off + 8 + n]) if copy_out is None else copy_out(off + 8, n)
        release()
        tail = (tail + 1) % slots
        return data

    recv.segment = segment  # type: ignore[attr-defined]
    return recv


def _numpy_copy_in(buf: Any) -> Callable[[int, Any], None]:
    import numpy as np

    view = np.ndarray((len(buf),), dtype=np.uint8, buffer=buf)
    copyto, frombuffer, uint8 = np.copyto, np.frombuffer, np.uint8

    def copy_in(off: int, data: Any) -> None:
        copyto(view[off : off + len(data)], frombuffer(data, uint8))

    return copy_in


def _numpy_copy_out(buf: Any) -> Callable[[int, int], Any]:
    import numpy as np

    view = np.ndarray((len(buf),), dtype=np.uint8, buffer=buf)

    def copy_out(off: int, n: int) -> Any:
        return view[off : off + n].copy()

    return copy_out


SHARED_MEMORY = (
    Mechanism(
        name="shm_ring",
        description="hand-made channel: a ring of slots in a SharedMemory block, two semaphores signal",
        carries="bytes",
        point_to_point=True,
        make_channel=functools.partial(_ring, numpy=False),
        bind_send=_ring_writer,
        bind_recv=_ring_reader,
        kind="hand-made",
    ),
    Mechanism(
        name="shm_numpy",
        description="SharedMemory hand-off of one buffer through NumPy views: write, signal, read (copy out)",
        carries="bytes",
        point_to_point=True,
        make_channel=functools.partial(_ring, numpy=True),
        bind_send=_ring_writer,
        bind_recv=_ring_reader,
        requires="numpy",
        kind="hand-made",
    ),
)
