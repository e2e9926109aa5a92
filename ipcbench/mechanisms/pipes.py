"""Pipes and the raw baselines beside them.

``multiprocessing.Pipe`` called with pickled ``send``/``recv`` and with ``send_bytes``/``recv_bytes``,
and the raw baselines: an OS pipe and an AF_UNIX socket pair driven by the fewest system calls a
channel of that kind allows.
"""

from __future__ import annotations

import functools
import os
import socket
from collections.abc import Callable
from typing import Any

from ipcbench.registry import Mechanism, Recv, Resources, Send


def _pipe(res: Resources) -> tuple[Any, Any]:
    reader, writer = res.ctx.Pipe(duplex=False)
    return writer, reader


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


#: ``multiprocessing.Pipe``, called the two ways its users call it.
PIPES = (
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
)

#: The raw baselines: what the operating system's own channels cost from Python.
RAW_BASELINES = (
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
)
