"""Checks that check: a broken operation fails its round, and a raw baseline is the minimal path.

Workers are forked, so an operation replaced here (``monkeypatch``) is the one they run.
"""

import ctypes
import dataclasses
import fcntl
import multiprocessing
import os
import socket
import termios
import threading
import time
from array import array

import pytest

from ipcbench import harness, mechanisms, ops, registry
from ipcbench.harness import Rig, Settings, VerificationError
from ipcbench.mechanisms import pipes
from ipcbench.ops import bulk
from ipcbench.scenario import Scenario

TINY = Settings(round_time=0.002, rounds=1, warmup_rounds=0, grace=20.0)


def broken(monkeypatch, name: str, loop) -> None:
    # OPS is the registry's read-only view: the instrumented record goes into the registry itself.
    monkeypatch.setitem(registry._OPERATIONS, name, dataclasses.replace(ops.OPS[name], loop=loop))


def first_round(scenario: Scenario, n: int) -> None:
    with Rig(scenario, TINY) as rig:
        rig.run_round(n)


# --- event: cleared before each round, it must end set (every worker's last step is a set) ------------


def test_event_rounds_pass_and_leave_the_event_set(no_leaks):
    with Rig(Scenario("event", "locks", 2, 0, 8, "fork"), TINY) as rig:
        for _ in range(3):
            assert rig.run_round(500).messages == 500
        assert rig.state[0].is_set()


def _event_never_set(shared, index, count):
    ev, _ = shared
    for _ in range(count):
        ev.clear()
        ev.wait(0)  # nobody sets it: the wait comes back empty-handed
    return count


def _event_left_clear(shared, index, count):
    ev, _ = shared
    for _ in range(count):
        ev.clear()
        ev.set()
        ev.wait()
    ev.clear()  # a stray clear after the last set: the event no longer holds what the round did
    return count


# One worker for the stray clear: with two, it could clear the flag under the other's wait for good.
@pytest.mark.parametrize(("loop", "workers"), [(_event_never_set, 2), (_event_left_clear, 1)])
def test_event_fails_when_the_sets_do_not_reach_it(loop, workers, monkeypatch, no_leaks):
    broken(monkeypatch, "event", loop)
    with pytest.raises(VerificationError, match=rf"event-locks-{workers}p-8B-fork: .*the event ended clear"):
        first_round(Scenario("event", "locks", workers, 0, 8, "fork"), 200)


def test_event_fails_when_a_round_does_nothing(no_leaks):
    """The event is cleared before each round, so one round's sets cannot pass for the next's."""
    with Rig(Scenario("event", "locks", 1, 0, 8, "fork"), TINY) as rig:
        rig.run_round(10)
        with pytest.raises(VerificationError, match="the event ended clear"):
            rig.run_round(0)


# --- memcpy: the whole destination, every round --------------------------------------------------------


def _memcpy_half(state, index, count):
    dst, src = state
    half = len(dst) // 2
    for _ in range(count):
        dst[:half] = src[:half]
    return count


def _memcpy_but_the_first_byte(state, index, count):
    dst, src = state
    for _ in range(count):
        dst[1:] = src[1:]  # the last byte is right, as the old check required, the first is not
    return count


@pytest.mark.parametrize("size", [64, 64 << 10])
def test_memcpy_round_checks_every_byte_of_every_destination(size, no_leaks):
    with Rig(Scenario("memcpy", "bulk", 2, 0, size, "fork"), TINY) as rig:
        for _ in range(2):
            assert rig.run_round(10).messages == 10
        for i, arr in enumerate(rig.state):
            assert bulk._aligned(arr, size).tobytes() == bytes([bulk._fill(i)]) * size


@pytest.mark.parametrize("loop", [_memcpy_half, _memcpy_but_the_first_byte])
def test_memcpy_fails_when_the_copy_is_incomplete(loop, monkeypatch, no_leaks):
    broken(monkeypatch, "memcpy", loop)
    with pytest.raises(VerificationError, match="destination 0 does not hold what its worker copied"):
        first_round(Scenario("memcpy", "bulk", 1, 0, 64 << 10, "fork"), 4)


def test_memcpy_destination_is_cleared_before_each_round(no_leaks):
    """One round's copies cannot pass for the next's: a round of no copies leaves a cleared destination."""
    with Rig(Scenario("memcpy", "bulk", 1, 0, 4096, "fork"), TINY) as rig:
        rig.run_round(4)
        with pytest.raises(VerificationError, match="does not hold"):
            rig.run_round(0)


def test_memcpy_buffers_are_aligned_and_the_source_is_private():
    size = 1000
    landing = (bytearray(size + bulk.ALIGN - 1),)
    dst, src = bulk._private_source(landing, 0, Scenario("memcpy", "bulk", 1, 0, size, "fork"))
    for view in (dst, src):
        assert len(view) == size
        assert ctypes.addressof(ctypes.c_char.from_buffer(view)) % bulk.ALIGN == 0
    assert dst.obj is landing[0] and src.obj is not landing[0]
    assert src.tobytes() == bytes([bulk._fill(0)]) * size


# --- raw baselines: the fewest system calls and copies -------------------------------------------------


def _pipe_pair():
    r, w = os.pipe()
    return os.fdopen(r, "rb", buffering=0), os.fdopen(w, "wb", buffering=0)


def _queued(fd: int) -> int:
    buf = array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, buf)
    return buf[0]


def test_os_pipe_message_of_64kib_fits_the_pipe_in_one_write():
    """No length prefix: a 64 KiB message fills a 64 KiB pipe buffer exactly, so the writer never waits
    for the reader (with a prefix it overflowed by 8 bytes, costing a blocked writer and two wake-ups)."""
    reader, writer = _pipe_pair()
    try:
        if fcntl.fcntl(writer.fileno(), fcntl.F_GETPIPE_SZ) != 64 << 10:
            pytest.skip("this kernel's pipe buffer is not 64 KiB")
        os.set_blocking(writer.fileno(), False)  # a write that had to wait raises instead of hanging
        send = pipes._fd_writer(writer, 64 << 10)
        send(bytearray(b"\x5a" * (64 << 10)))
        assert _queued(reader.fileno()) == 64 << 10
    finally:
        reader.close()
        writer.close()


@pytest.mark.parametrize("mech", ["os_pipe", "socketpair"])
def test_raw_baselines_read_whole_messages_into_one_buffer(mech):
    size = 200_000  # bigger than one read of a pipe or a socket: the reader must loop
    if mech == "os_pipe":
        rx, tx = _pipe_pair()
    else:
        tx, rx = socket.socketpair()
    m = mechanisms.MECHANISMS[mech]
    try:
        send, recv = m.bind_send(tx, size), m.bind_recv(rx, size)
        msgs = [bytes([i]) * size for i in (1, 2)]
        t = threading.Thread(target=lambda: [send(x) for x in msgs])
        t.start()
        first = recv()
        assert first.tobytes() == msgs[0]
        second = recv()
        t.join(10)
        assert second.tobytes() == msgs[1]
        assert first.obj is second.obj  # one preallocated buffer, reused: no allocation per message
        tx.close()
        with pytest.raises(EOFError):
            recv()
    finally:
        tx.close()
        rx.close()


# --- bulk copies: each worker resets and checks its own destination, outside the clock --------------


def _copy_then_corrupt(state, index, count):
    dst, src = state
    for _ in range(count):
        dst[:] = src
    if index == 1:
        dst[len(dst) // 2] ^= 0xFF  # one byte in the middle of the second worker's copy is wrong
    return count


@pytest.mark.parametrize(("name", "what"), [("memcpy", "destination"), ("array_memoryview", "array")])
def test_a_corrupted_destination_is_caught_by_its_workers_own_check(name, what, monkeypatch, no_leaks):
    broken(monkeypatch, name, _copy_then_corrupt)
    failure = rf"bulk-2p-64KiB-fork: round 0 failed verification: worker-1: {what} 1 does not hold"
    with pytest.raises(VerificationError, match=failure):
        first_round(Scenario(name, "bulk", 2, 0, 64 << 10, "fork"), 4)


class _OffLimits:
    """What the workers share, which the process that made it may not read or write (workers may)."""

    def __init__(self, items):
        self._items = items
        self._maker = os.getpid()

    def _guard(self):
        assert os.getpid() != self._maker, "the parent touched a worker's destination"

    def __getitem__(self, i):
        self._guard()
        return self._items[i]

    def __len__(self):
        self._guard()
        return len(self._items)

    def __iter__(self):
        self._guard()
        return iter(self._items)


@pytest.mark.parametrize("name", [op.name for op in bulk.BULK])
def test_the_parent_never_touches_a_destination_between_rounds(name, monkeypatch, no_leaks):
    """Rounds run, reset and check with destinations the parent cannot touch without failing the test."""
    op = ops.OPS[name]
    made = []
    off_limits = lambda res, s: made.append(_OffLimits(op.make(res, s))) or made[-1]  # noqa: E731
    monkeypatch.setitem(registry._OPERATIONS, name, dataclasses.replace(op, make=off_limits))
    with Rig(Scenario(name, "bulk", 2, 0, 4096, "fork"), TINY) as rig:
        for _ in range(3):
            assert rig.run_round(4).messages == 4
        assert rig.worker_checks == {"worker-0": None, "worker-1": None}
    for i, arr in enumerate(made[0]._items):  # the workers' copies landed, seen by the test alone
        assert bytes([bulk._fill(i)]) * 4096 in bytes(memoryview(arr).cast("B"))


def test_a_workers_reset_and_check_run_outside_the_round_clock(monkeypatch, no_leaks):
    """Each worker ends its reset before the parent starts the round's clock and starts its check
    after the clock stops (one monotonic clock for every process)."""
    stamps = multiprocessing.get_context("fork").RawArray("q", 2)
    op = ops.OPS["memcpy"]

    def reset(state, index):
        op.worker_reset(state, index)
        stamps[0] = time.perf_counter_ns()

    def check(state, index, count):
        stamps[1] = time.perf_counter_ns()
        return op.worker_check(state, index, count)

    changed = dataclasses.replace(op, worker_reset=reset, worker_check=check)
    monkeypatch.setitem(registry._OPERATIONS, "memcpy", changed)
    readings: list[int] = []
    monkeypatch.setattr(harness, "clock", lambda: readings.append(time.perf_counter_ns()) or readings[-1])
    with Rig(Scenario("memcpy", "bulk", 1, 0, 4096, "fork"), TINY) as rig:
        readings.clear()
        rig.run_round(4)
    start, stop = readings
    assert stamps[0] < start and stop < stamps[1]


def test_a_bulk_copy_leaves_its_check_to_its_worker():
    """No bulk copy has the parent reset or check its destinations; each worker does both."""
    for op in bulk.BULK:
        assert op.reset is None and op.check is None, op.name
        assert op.worker_reset is not None and op.worker_check is not None, op.name


def test_filled_sees_every_byte():
    buf = bytearray(b"\x07" * 1000)
    assert bulk._filled(buf, 7) and not bulk._filled(buf, 8)
    for i in (0, 1, 500, 999):
        wrong = bytearray(buf)
        wrong[i] = 0
        assert not bulk._filled(wrong, 7), i
    bulk._clear(buf)
    assert buf == bytearray(1000) and bulk._filled(bytearray(), 7)
