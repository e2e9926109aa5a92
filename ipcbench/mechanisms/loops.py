"""The hot loops: the only code that runs while the clock is running.

Each is the smallest loop a user would write by hand, with bound methods in locals and batch-level
bookkeeping (a count and two sums), so the harness costs next to nothing.  Messages carry a sequence
number so every round can be verified:

* object mechanisms (pickled) send the tuple ``(seq, payload)`` with one shared, prebuilt ``bytes``;
* bytes mechanisms send a prebuilt ``bytearray`` whose first 8 bytes are overwritten with ``seq``
  (safe because ``send_bytes``/``os.write`` copy synchronously; a ``Queue`` would not be); a receiver
  may hand back a view of its own buffer, valid until its next receive.

Each returns (count, sum of sequence numbers, sum of payload lengths): enough to prove that every
message arrived once, without per-message bookkeeping beyond two additions.
"""

from __future__ import annotations

import struct
import time
from array import array

from ipcbench.registry import Recv, Send

_SEQ = struct.Struct("<q")


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
