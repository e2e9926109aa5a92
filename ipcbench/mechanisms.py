"""The IPC mechanisms under test and their hot loops.

Each mechanism makes its channels in the parent (so every start method can hand them to the workers
through ``Process`` arguments) and, inside a worker, turns its end of a channel into a plain ``send``
or ``recv`` callable.  The loops at the bottom of this module are the only code that runs while the
clock is running; they are written as the smallest loop a user would write by hand, with bound methods
in locals and batch-level bookkeeping (a count and two sums), so the harness costs next to nothing.

Messages carry a sequence number so every round can be verified:

* object mechanisms (pickled) send the tuple ``(seq, payload)`` with one shared, prebuilt ``bytes``;
* bytes mechanisms send a prebuilt ``bytearray`` whose first 8 bytes are overwritten with ``seq``
  (safe because ``send_bytes``/``os.write`` copy synchronously; a ``Queue`` would not be).
"""

from __future__ import annotations

import dataclasses
import os
import struct
import time
from array import array
from collections.abc import Callable
from typing import Any

_SEQ = struct.Struct("<q")
_LEN = struct.Struct("<Q")

Send = Callable[[Any], Any]
Recv = Callable[[], Any]


@dataclasses.dataclass(frozen=True)
class Mechanism:
    """How one IPC primitive is set up, and whether it carries objects or bytes."""

    name: str
    description: str
    #: ``objects``: pickled Python objects; ``bytes``: raw byte strings.
    carries: str
    #: Point-to-point channels join one producer to one consumer; shared ones join all of them.
    point_to_point: bool
    #: Parent side: make a one-way channel, returning (sending end, receiving end).
    make_channel: Callable[[Any], tuple[Any, Any]]
    #: Worker side: turn an end into a callable.
    bind_send: Callable[[Any], Send]
    bind_recv: Callable[[Any], Recv]


def _pipe(ctx: Any) -> tuple[Any, Any]:
    reader, writer = ctx.Pipe(duplex=False)
    return writer, reader


def _queue(ctx: Any) -> tuple[Any, Any]:
    q = ctx.Queue()
    return q, q


def _simple_queue(ctx: Any) -> tuple[Any, Any]:
    q = ctx.SimpleQueue()
    return q, q


def _fd_writer(conn: Any) -> Send:
    """``os.writev`` of a length-prefixed frame: one syscall, no copy; loops if the write is partial."""
    fd = conn.fileno()
    writev = os.writev
    write = os.write
    pack = _LEN.pack

    def send(buf: Any) -> None:
        total = 8 + len(buf)
        done = writev(fd, (pack(len(buf)), buf))
        if done < total:
            rest = memoryview(pack(len(buf)) + bytes(buf))[done:]
            while rest:
                rest = rest[write(fd, rest) :]

    return send


def _fd_reader(conn: Any) -> Recv:
    fd = conn.fileno()
    read = os.read
    unpack = _LEN.unpack

    def recv_exact(n: int) -> bytes:
        chunk = read(fd, n)
        if len(chunk) == n:
            return chunk
        parts = [chunk]
        got = len(chunk)
        while got < n:
            if not chunk:
                raise EOFError("os_pipe closed mid-message")
            chunk = read(fd, n - got)
            parts.append(chunk)
            got += len(chunk)
        return b"".join(parts)

    def recv() -> bytes:
        (length,) = unpack(recv_exact(8))
        return recv_exact(length)

    return recv


MECHANISMS: dict[str, Mechanism] = {
    m.name: m
    for m in (
        Mechanism(
            "pipe",
            "multiprocessing.Pipe with pickled send()/recv()",
            "objects",
            True,
            _pipe,
            lambda end: end.send,
            lambda end: end.recv,
        ),
        Mechanism(
            "pipe_bytes",
            "multiprocessing.Pipe with send_bytes()/recv_bytes(): no pickling",
            "bytes",
            True,
            _pipe,
            lambda end: end.send_bytes,
            lambda end: end.recv_bytes,
        ),
        Mechanism(
            "queue",
            "multiprocessing.Queue: feeder thread, pickled, shared by all producers and consumers",
            "objects",
            False,
            _queue,
            lambda end: end.put,
            lambda end: end.get,
        ),
        Mechanism(
            "simple_queue",
            "multiprocessing.SimpleQueue: a locked pipe, pickled, no feeder thread",
            "objects",
            False,
            _simple_queue,
            lambda end: end.put,
            lambda end: end.get,
        ),
        Mechanism(
            "os_pipe",
            "raw baseline: os.write/os.read of length-prefixed bytes on an OS pipe",
            "bytes",
            True,
            _pipe,
            _fd_writer,
            _fd_reader,
        ),
    )
}


# --- hot loops --------------------------------------------------------------------------------------
# Each returns (count, sum of sequence numbers, sum of payload lengths): enough to prove that every
# message arrived once, without per-message bookkeeping beyond two additions.


def produce(carries: str, send: Send, payload: bytes, seqs: range) -> None:
    if carries == "objects":
        for seq in seqs:
            send((seq, payload))
    else:
        buf = bytearray(payload)
        pack = _SEQ.pack_into
        for seq in seqs:
            pack(buf, 0, seq)
            send(buf)


def consume(carries: str, recv: Recv, count: int | None, sentinels: int) -> tuple[int, int, int]:
    """Receive ``count`` messages, or (``count`` None) until ``sentinels`` end-markers have arrived."""
    n = seq_sum = byte_sum = 0
    if carries == "objects":
        if count is not None:
            for _ in range(count):
                seq, data = recv()
                seq_sum += seq
                byte_sum += len(data)
            return count, seq_sum, byte_sum
        while sentinels:
            msg = recv()
            if msg is None:
                sentinels -= 1
                continue
            n += 1
            seq_sum += msg[0]
            byte_sum += len(msg[1])
        return n, seq_sum, byte_sum
    unpack = _SEQ.unpack_from
    if count is None:
        raise ValueError("bytes mechanisms are point-to-point and need a count")
    for _ in range(count):
        data = recv()
        seq_sum += unpack(data)[0]
        byte_sum += len(data)
    return count, seq_sum, byte_sum


def ping(carries: str, send: Send, recv: Recv, payload: bytes, seqs: range) -> tuple[int, int, int, array]:
    """Round trips timed one by one with ``perf_counter_ns``; returns the sums and the RTTs."""
    rtts = array("q", bytes(8 * len(seqs)))
    clock = time.perf_counter_ns
    seq_sum = byte_sum = bad = 0
    if carries == "objects":
        for i, seq in enumerate(seqs):
            t0 = clock()
            send((seq, payload))
            back, data = recv()
            rtts[i] = clock() - t0
            bad += back != seq
            seq_sum += back
            byte_sum += len(data)
    else:
        buf = bytearray(payload)
        pack = _SEQ.pack_into
        unpack = _SEQ.unpack_from
        for i, seq in enumerate(seqs):
            pack(buf, 0, seq)
            t0 = clock()
            send(buf)
            data = recv()
            rtts[i] = clock() - t0
            (back,) = unpack(data)
            bad += back != seq
            seq_sum += back
            byte_sum += len(data)
    if bad:
        # An echo that is not the message just sent means the channel crossed or lost messages.
        seq_sum = -1
    return len(seqs), seq_sum, byte_sum, rtts


def pong(send: Send, recv: Recv, count: int) -> None:
    for _ in range(count):
        send(recv())
