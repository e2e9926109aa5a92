"""The IPC mechanisms under test and their hot loops.

Each mechanism makes its channels in the parent (so every start method can hand them to the workers
through ``Process`` arguments) and, inside a worker, turns its end of a channel into a plain ``send``
or ``recv`` callable, called the way its users call it: a primitive people call in several ways
(blocking, with a timeout, batched) is one mechanism per call pattern, named for it.  The loops at
the bottom of this module are the only code that runs while the clock is running; they are written
as the smallest loop a user would write by hand, with bound methods in locals and batch-level
bookkeeping (a count and two sums), so the harness costs next to nothing.

Messages carry a sequence number so every round can be verified:

* object mechanisms (pickled) send the tuple ``(seq, payload)`` with one shared, prebuilt ``bytes``;
* bytes mechanisms send a prebuilt ``bytearray`` whose first 8 bytes are overwritten with ``seq``
  (safe because ``send_bytes``/``os.write`` copy synchronously; a ``Queue`` would not be); a receiver
  may hand back a view of its own buffer, valid until its next receive.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import os
import queue
import socket
import struct
import time
from array import array
from collections.abc import Callable
from typing import Any

from ipcbench import api, shm
from ipcbench.api import Mechanism, Recv, Resources, Send, register

# Declared with the saved run's layout, which the analysis side reads too; kept importable here.
from ipcbench.schema import NOT_INSTALLED as NOT_INSTALLED
from ipcbench.schema import not_installed_line as not_installed_line

_SEQ = struct.Struct("<q")
_LEN = struct.Struct("<Q")

#: The modules the ``peers`` extra installs (a plugin's own requirement is the plugin's to explain).
PEER_MODULES = ("faster_fifo", "zmq", "numpy")


def missing(requires: str | None) -> str | None:
    """Why a mechanism cannot run here (its optional module is not importable), or None."""
    if requires is None or importlib.util.find_spec(requires) is not None:
        return None
    hint = ": pip install 'ipcbench[peers]'" if requires in PEER_MODULES else ""
    return f"needs the optional module {requires!r}{hint}"


def _pipe(res: Resources) -> tuple[Any, Any]:
    reader, writer = res.ctx.Pipe(duplex=False)
    return writer, reader


def _queue(res: Resources) -> tuple[Any, Any]:
    q = res.ctx.Queue()
    return q, q


def _simple_queue(res: Resources) -> tuple[Any, Any]:
    q = res.ctx.SimpleQueue()
    return q, q


def _manager_queue(res: Resources) -> tuple[Any, Any]:
    q = res.manager().Queue()
    return q, q


def _socketpair(res: Resources) -> tuple[Any, Any]:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    return a, b


# The raw baselines are the fewest system calls and copies a channel of this kind allows.  Every
# message of a scenario has the payload's size, so they send no length prefix: one write of the
# message, read straight into one preallocated buffer.  A prefix would cost more than its bytes: at
# 64 KiB, prefix and message overflow the pipe's 64 KiB buffer, so every message took a writer that
# blocks and two more wake-ups (and reading into a new ``bytes`` a fresh allocation, page faults
# included above 128 KiB).


def _fd_writer(conn: Any, size: int) -> Send:
    """``os.write`` of the message; loops only if the kernel takes part of it."""
    write = functools.partial(os.write, conn.fileno())

    def send(buf: Any) -> None:
        done = write(buf)
        if done < len(buf):
            rest = memoryview(buf)[done:]
            while rest:
                rest = rest[write(rest) :]

    return send


def _fd_reader(conn: Any, size: int) -> Recv:
    fd, readv = conn.fileno(), os.readv
    return _fixed_reader(lambda view: readv(fd, (view,)), size)


def _socket_writer(sock: Any, size: int) -> Send:
    return sock.sendall  # loops in C until the whole message is sent


def _socket_reader(sock: Any, size: int) -> Recv:
    return _fixed_reader(sock.recv_into, size)


def _fixed_reader(read_into: Callable[[Any], int], size: int) -> Recv:
    """Messages of exactly ``size`` bytes, each read into the same buffer (valid until the next recv)."""
    view = memoryview(bytearray(size))  # zero-filled, so already mapped

    def recv() -> memoryview:
        got = read_into(view)
        while got < size:
            more = read_into(view[got:])
            if not more:
                raise EOFError("channel closed mid-message")
            got += more
        return view

    return recv


# --- a hand-made channel on shared memory -------------------------------------------------------------
# A ring of fixed-size slots in one SharedMemory segment, one producer and one consumer per ring.
# Two counting semaphores signal: ``items`` (filled slots) and ``space`` (free slots).  Each slot is an
# 8-byte length and the message; the receiver copies the message out before freeing the slot.

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


# --- optional third-party peers ---------------------------------------------------------------------


def _faster_fifo(res: Resources) -> tuple[Any, Any]:
    import faster_fifo

    # The buffer must hold a few whole messages, or a put of one big message could never fit.
    q = faster_fifo.Queue(max_size_bytes=max(1 << 20, 4 * (res.payload_bytes + 256)))
    return q, q


# --- call patterns of a queue (multiprocessing.Queue and faster_fifo.Queue alike) ----------------------
# Each waits again when a wait ends empty-handed, as a user's loop would: the harness's own deadline
# ends a stalled round.

#: faster_fifo has no untimed wait: its "blocking" calls wait this long (and are retried).
FOREVER_S = 3600.0
#: The timeout of the timed call patterns, and faster-fifo's own comparison's.
TIMEOUT_S = 0.01
#: Messages per get_many()/put_many() call at most, as in faster-fifo's own comparison.
BATCH = 100


def _blocking_get(q: Any, size: int) -> Recv:
    """``get(True, FOREVER_S)``, retried on ``Empty``.

    With several consumers faster_fifo's blocking ``get`` can raise ``Empty`` long before its
    timeout (seen once in a quick run, 1:3 at 64 KiB): a woken consumer that loses the message to
    another gives up instead of waiting again.
    """
    return _retry(functools.partial(q.get, True, FOREVER_S), queue.Empty)


def _blocking_put(q: Any, size: int) -> Send:
    return functools.partial(q.put, block=True, timeout=FOREVER_S)


def _timed_get(q: Any, size: int) -> Recv:
    return _retry(functools.partial(q.get, timeout=TIMEOUT_S), queue.Empty)


def _timed_put(q: Any, size: int) -> Send:
    return _retry(q.put, queue.Full, timeout=TIMEOUT_S)


def _retry(call: Callable[..., Any], error: type[Exception], **kwargs: Any) -> Callable[..., Any]:
    def again(*args: Any) -> Any:
        while True:
            try:
                return call(*args, **kwargs)
            except error:
                continue

    return again


def _get_many(q: Any, size: int) -> Recv:
    """``get_many(timeout=TIMEOUT_S, max_messages_to_get=BATCH)``, its list handed out in order.

    What a consumer's ``for msg in q.get_many(...)`` sees; the batch left over is one list.
    """
    get_many = _retry(q.get_many, queue.Empty, timeout=TIMEOUT_S, max_messages_to_get=BATCH)
    pending: list[Any] = []
    pop = pending.pop

    def recv() -> Any:
        if not pending:
            pending.extend(reversed(get_many()))
        return pop()

    return recv


def _put_many(q: Any, size: int) -> Send:
    """``put_many(batch, timeout=TIMEOUT_S)`` of up to ``BATCH`` messages; an end-of-round marker
    (None) goes out at once with what is pending, so no message waits for a batch that never fills.

    A batch must fit the queue's buffer whole (put_many is all or nothing): big payloads batch fewer.
    """
    batch = max(1, min(BATCH, q.max_size_bytes // (4 * (size + 256))))
    put_many = _retry(q.put_many, queue.Full, timeout=TIMEOUT_S)
    pending: list[Any] = []

    def send(obj: Any) -> None:
        pending.append(obj)
        if obj is None or len(pending) >= batch:
            put_many(pending)
            pending.clear()

    return send


@dataclasses.dataclass(frozen=True)
class ZmqEnd:
    kind: str
    address: str
    bind: bool


def _zmq(res: Resources) -> tuple[Any, Any]:
    """An ``ipc://`` endpoint in a private directory the Rig removes; the receiver (or REP) binds.

    Latency is request/reply, as a zmq user would do it: one REQ socket in the pinger, one REP in the
    ponger.  The harness makes a ping-pong's two channels in turn (ping->pong, then pong->ping), so the
    second call returns the first's pair reversed, and each process opens one socket per end.
    """
    if res.pattern != "latency":
        address = f"ipc://{res.scratch_path()}"
        return ZmqEnd("PUSH", address, False), ZmqEnd("PULL", address, True)
    if res.reply_address is None:
        res.reply_address = f"ipc://{res.scratch_path()}"
        return ZmqEnd("REQ", res.reply_address, False), ZmqEnd("REP", res.reply_address, True)
    address, res.reply_address = res.reply_address, None
    return ZmqEnd("REP", address, True), ZmqEnd("REQ", address, False)


#: Sockets opened in this process, by end: a REQ or REP end both sends and receives.
_ZMQ_SOCKETS: dict[ZmqEnd, Any] = {}


def _zmq_socket(end: ZmqEnd) -> Any:
    import zmq

    sock = _ZMQ_SOCKETS.get(end)
    if sock is None:
        sock = zmq.Context.instance().socket(getattr(zmq, end.kind))
        sock.setsockopt(zmq.LINGER, 0)
        (sock.bind if end.bind else sock.connect)(end.address)
        _ZMQ_SOCKETS[end] = sock
    return sock


def _zmq_send(end: ZmqEnd, size: int) -> Send:
    return functools.partial(_zmq_socket(end).send, copy=True)


def _zmq_recv(end: ZmqEnd, size: int) -> Recv:
    return _zmq_socket(end).recv


register(
    Mechanism(
        name="pipe",
        description="multiprocessing.Pipe with pickled send()/recv()",
        carries="objects",
        point_to_point=True,
        make_channel=_pipe,
        bind_send=lambda end, size: end.send,
        bind_recv=lambda end, size: end.recv,
    ),
    Mechanism(
        name="pipe_bytes",
        description="multiprocessing.Pipe with send_bytes()/recv_bytes(): no pickling",
        carries="bytes",
        point_to_point=True,
        make_channel=_pipe,
        bind_send=lambda end, size: end.send_bytes,
        bind_recv=lambda end, size: end.recv_bytes,
    ),
    Mechanism(
        name="queue",
        description=(
            "multiprocessing.Queue, blocking put()/get(): feeder thread, pickled, shared by all producers "
            "and consumers"
        ),
        carries="objects",
        point_to_point=False,
        make_channel=_queue,
        bind_send=lambda end, size: end.put,
        bind_recv=lambda end, size: end.get,
    ),
    Mechanism(
        name="queue_timeout",
        description=(
            f"multiprocessing.Queue called as put(obj, timeout={TIMEOUT_S})/get(timeout={TIMEOUT_S}), "
            "retried on Full/Empty (faster-fifo's comparison calls it so): the timed path"
        ),
        carries="objects",
        point_to_point=False,
        make_channel=_queue,
        bind_send=_timed_put,
        bind_recv=_timed_get,
        variant_of="queue",
    ),
    Mechanism(
        name="simple_queue",
        description="multiprocessing.SimpleQueue: a locked pipe, pickled, no feeder thread",
        carries="objects",
        point_to_point=False,
        make_channel=_simple_queue,
        bind_send=lambda end, size: end.put,
        bind_recv=lambda end, size: end.get,
    ),
    Mechanism(
        name="os_pipe",
        description=(
            "raw baseline: one os.write per message, os.readv into a preallocated buffer (fixed size, "
            "no prefix) on an OS pipe"
        ),
        carries="bytes",
        point_to_point=True,
        make_channel=_pipe,
        bind_send=_fd_writer,
        bind_recv=_fd_reader,
        kind="baseline",
    ),
    Mechanism(
        name="socketpair",
        description=(
            "raw baseline: sendall/recv_into a preallocated buffer (fixed size, no prefix) on an AF_UNIX "
            "socket.socketpair()"
        ),
        carries="bytes",
        point_to_point=True,
        make_channel=_socketpair,
        bind_send=_socket_writer,
        bind_recv=_socket_reader,
        kind="baseline",
    ),
    Mechanism(
        name="manager_queue",
        description="Manager().Queue(): a proxy to a queue living in the Manager's server process",
        carries="objects",
        point_to_point=False,
        make_channel=_manager_queue,
        bind_send=lambda end, size: end.put,
        bind_recv=lambda end, size: end.get,
        max_payload=4 << 20,
    ),
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
    Mechanism(
        name="faster_fifo",
        description=(
            "peer: faster_fifo.Queue, a circular buffer in shared memory, pickled (optional extra); "
            f"put()/get() blocking (its waits are always timed: {FOREVER_S:.0f} s, retried)"
        ),
        carries="objects",
        point_to_point=False,
        make_channel=_faster_fifo,
        bind_send=_blocking_put,
        bind_recv=_blocking_get,
        requires="faster_fifo",
    ),
    Mechanism(
        name="faster_fifo_timeout",
        description=(
            f"peer: faster_fifo.Queue called as put(obj, timeout={TIMEOUT_S})/get(timeout={TIMEOUT_S}), "
            "retried on Full/Empty, as its own comparison calls it"
        ),
        carries="objects",
        point_to_point=False,
        make_channel=_faster_fifo,
        bind_send=_timed_put,
        bind_recv=_timed_get,
        requires="faster_fifo",
        variant_of="faster_fifo",
    ),
    Mechanism(
        name="faster_fifo_get_many",
        description=(
            f"peer: faster_fifo.Queue, put(obj, timeout={TIMEOUT_S}) one by one, consumers "
            f"get_many(timeout={TIMEOUT_S}, max_messages_to_get={BATCH}) (its README's advice for many "
            "producers, its comparison's get_many column); one consumer"
        ),
        carries="objects",
        point_to_point=False,
        make_channel=_faster_fifo,
        bind_send=_timed_put,
        bind_recv=_get_many,
        requires="faster_fifo",
        patterns=("throughput",),
        single_consumer=True,
        variant_of="faster_fifo",
    ),
    Mechanism(
        name="faster_fifo_many",
        description=(
            f"peer: faster_fifo.Queue batched both ways: put_many() of up to {BATCH} messages and "
            f"get_many(max_messages_to_get={BATCH}), timeout {TIMEOUT_S} s; one consumer"
        ),
        carries="objects",
        point_to_point=False,
        make_channel=_faster_fifo,
        bind_send=_put_many,
        bind_recv=_get_many,
        requires="faster_fifo",
        patterns=("throughput",),
        single_consumer=True,
        variant_of="faster_fifo",
    ),
    Mechanism(
        name="zmq",
        description="peer: pyzmq over ipc://, PUSH/PULL for throughput, REQ/REP for latency (optional extra)",
        carries="bytes",
        point_to_point=True,
        make_channel=_zmq,
        bind_send=_zmq_send,
        bind_recv=_zmq_recv,
        requires="zmq",
    ),
)

#: Every channel mechanism, built in or from a plugin, by name: the registry's read-only view.
MECHANISMS = api.MECHANISMS


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
