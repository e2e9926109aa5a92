"""An ipcbench plugin: ``multiprocessing.connection`` over TCP loopback, beside the built-in channels.

``Listener``/``Client`` are the standard library's own way to reach a process on another host; here
both ends stay on 127.0.0.1, so the figures show what TCP and the authentication handshake add
to a ``Pipe`` on one machine.  Run it beside ``pipe_bytes``::

    ipcbench run --plugin examples/tcp_connection.py --mechanism tcp_connection \\
        --mechanism pipe_bytes --payload 1KiB --processes 2

How the ends are made: the parent listens on an OS-chosen port, connects a ``Client`` to it and
accepts (the two sides of the handshake in two threads), so both ends of the connection exist before
any worker starts.  They are ordinary
``multiprocessing.connection.Connection`` objects, which multiprocessing hands to a worker under every
start method (``spawn`` and ``forkserver`` pickle them by duplicating the socket), exactly as it hands
over the ends of a ``Pipe``.  The parent then closes its copies, so a worker that dies leaves its peer
reading EOF rather than waiting.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from multiprocessing.connection import Client, Connection, Listener

from ipcbench.api import Mechanism, Recv, Resources, Send, register

#: Seconds the parent waits for its own connection (it is local: normally at once).
CONNECT_TIMEOUT = 10.0


def make_channel(resources: Resources) -> tuple[Connection, Connection]:
    """A connected pair over 127.0.0.1: (the client's end, which sends; the accepted end, which receives)."""
    # A fresh key per connection: nothing else on the machine can connect in between and be taken
    # for our client.  The handshake needs both sides at once, so each runs in a thread, and the
    # parent waits for them with a deadline (neither Client nor accept takes a timeout).
    authkey = os.urandom(32)
    ends: dict[str, Connection] = {}
    errors: list[BaseException] = []
    with Listener(("127.0.0.1", 0), authkey=authkey) as listener:

        def connect() -> None:
            try:
                ends["client"] = Client(listener.address, authkey=authkey)
            except BaseException as exc:  # reported below, in the parent's own thread
                errors.append(exc)

        def accept() -> None:
            try:
                ends["server"] = listener.accept()
            except BaseException as exc:
                errors.append(exc)

        threads = [
            threading.Thread(target=f, name=f"tcp_connection-{f.__name__}", daemon=True)
            for f in (connect, accept)
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + CONNECT_TIMEOUT
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
    # On failure what was made is closed; a thread still waiting (locally it never should) is a daemon.
    if len(ends) < 2:
        for conn in ends.values():
            conn.close()
        why = errors[0] if errors else f"no connection within {CONNECT_TIMEOUT:g} s"
        raise ConnectionError(f"could not connect over 127.0.0.1: {why}")
    for conn in ends.values():
        _no_delay(conn)
    return ends["client"], ends["server"]


def _no_delay(conn: Connection) -> None:
    """Turn Nagle's algorithm off, as a user of TCP for small messages would: ``send_bytes`` writes a
    large message's header and body separately, and Nagle would hold the body back for an ACK."""
    sock = socket.socket(fileno=os.dup(conn.fileno()))
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    finally:
        sock.close()


def bind_send(conn: Connection, payload_bytes: int) -> Send:
    """In a worker: the call a user of the connection makes to send bytes."""
    return conn.send_bytes


def bind_recv(conn: Connection, payload_bytes: int) -> Recv:
    return conn.recv_bytes


register(
    Mechanism(
        name="tcp_connection",
        description="example plugin: multiprocessing.connection Client/Listener on TCP 127.0.0.1, bytes",
        make_channel=make_channel,
        bind_send=bind_send,
        bind_recv=bind_recv,
        carries="bytes",
        point_to_point=True,
    )
)
