"""Optional third-party peers: ``faster_fifo`` (called every way its users call it) and ``pyzmq``.

They need the ``peers`` extra; a mechanism whose module is missing is listed and skipped, not failed.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from ipcbench.mechanisms.queues import (
    BATCH,
    FOREVER_S,
    TIMEOUT_S,
    blocking_get,
    blocking_put,
    get_many,
    put_many,
    timed_get,
    timed_put,
)
from ipcbench.registry import Mechanism, Recv, Resources, Send


def _faster_fifo(res: Resources) -> tuple[Any, Any]:
    import faster_fifo

    # The buffer must hold a few whole messages, or a put of one big message could never fit.
    q = faster_fifo.Queue(max_size_bytes=max(1 << 20, 4 * (res.payload_bytes + 256)))
    return q, q


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


#: Milliseconds between a zmq end's attempts to connect to a peer that has not bound yet.
RECONNECT_MS = 5

#: Sockets opened in this process, by end: a REQ or REP end both sends and receives.
_ZMQ_SOCKETS: dict[ZmqEnd, Any] = {}


def _zmq_socket(end: ZmqEnd) -> Any:
    import zmq

    sock = _ZMQ_SOCKETS.get(end)
    if sock is None:
        sock = zmq.Context.instance().socket(getattr(zmq, end.kind))
        sock.setsockopt(zmq.LINGER, 0)
        # An end that connects before its peer has bound retries after this interval (100 ms by
        # default: in every trial, most of a zmq trial's cost).  Retries happen only while unconnected,
        # that is before the first round's messages can flow, never beside a timed round.
        sock.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MS)
        (sock.bind if end.bind else sock.connect)(end.address)
        _ZMQ_SOCKETS[end] = sock
    return sock


def _zmq_send(end: ZmqEnd, size: int) -> Send:
    return functools.partial(_zmq_socket(end).send, copy=True)


def _zmq_recv(end: ZmqEnd, size: int) -> Recv:
    return _zmq_socket(end).recv


PEERS = (
    Mechanism(
        name="faster_fifo",
        description=(
            "peer: faster_fifo.Queue, a circular buffer in shared memory, pickled (optional extra); "
            f"put()/get() blocking (its waits are always timed: {FOREVER_S:.0f} s, retried)"
        ),
        carries="objects",
        point_to_point=False,
        make_channel=_faster_fifo,
        bind_send=blocking_put,
        bind_recv=blocking_get,
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
        bind_send=timed_put,
        bind_recv=timed_get,
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
        bind_send=timed_put,
        bind_recv=get_many,
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
        bind_send=put_many,
        bind_recv=get_many,
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
