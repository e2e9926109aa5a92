"""Queues measured the ways people call them: blocking, with a timeout, batched; every message counted.

Workers are forked, so a mechanism replaced here (``monkeypatch``) is the one they run.
"""

import dataclasses
import queue

import pytest

from ipcbench import catalog, mechanisms, registry, selection
from ipcbench.harness import Rig, Settings, VerificationError
from ipcbench.mechanisms import queues
from ipcbench.scenario import Scenario, ScenarioError

TINY = Settings(round_time=0.002, rounds=1, warmup_rounds=0, grace=20.0)
VARIANTS = ("queue_timeout", "faster_fifo_timeout", "faster_fifo_get_many", "faster_fifo_many")


def needs(mechanism: str) -> None:
    why = mechanisms.missing(mechanisms.MECHANISMS[mechanism].requires)
    if why:
        pytest.skip(f"{mechanism} {why}")


def cases():
    for name in VARIANTS:
        m = mechanisms.MECHANISMS[name]
        for pattern in m.patterns:
            shapes = [(1, 1)] if pattern == "latency" else [(1, 1), (3, 1)]
            if not m.single_consumer and pattern == "throughput":
                shapes.append((1, 3))
            for p, c in shapes:
                yield pytest.param(name, pattern, p, c, id=f"{name}-{pattern}-{p}to{c}")


@pytest.mark.parametrize(("mechanism", "pattern", "p", "c"), list(cases()))
def test_call_pattern_variants_run_verified_rounds(mechanism, pattern, p, c, no_leaks):
    needs(mechanism)
    with Rig(Scenario(mechanism, pattern, p, c, 1024, "fork"), TINY) as rig:
        # 250 = two full batches and a part: the end-of-round marker must flush the last one.
        for n in (c, 250, 7):  # fewer messages than a batch, and rounds that follow one another
            assert rig.run_round(n).messages == n


def test_batched_put_fits_big_payloads_in_the_queue(no_leaks):
    """put_many is all or nothing: a batch of 64 KiB messages must fit the buffer whole, or it never goes."""
    needs("faster_fifo_many")
    with Rig(Scenario("faster_fifo_many", "throughput", 1, 1, 64 << 10, "fork"), TINY) as rig:
        assert rig.run_round(40).messages == 40


class _Dropping:
    """A faster_fifo queue whose batched calls lose the message with sequence number 0."""

    def __init__(self, q):
        self.q = q
        self.max_size_bytes = q.max_size_bytes

    def _drop(self, msgs):
        # The first message of the first round: one producer sends it, one consumer would get it.
        return [m for m in msgs if m is None or m[0] != 0]

    def get_many(self, **kwargs):
        # The real call never answers an empty list: with nothing left after the drop it has nothing.
        got = self._drop(self.q.get_many(**kwargs))
        if not got:
            raise queue.Empty
        return got

    def put_many(self, msgs, **kwargs):
        return self.q.put_many(self._drop(list(msgs)), **kwargs)


@pytest.mark.parametrize(
    ("mechanism", "side"), [("faster_fifo_get_many", "recv"), ("faster_fifo_many", "send")]
)
def test_a_message_lost_in_the_batched_path_fails_the_round(mechanism, side, monkeypatch, no_leaks):
    needs(mechanism)
    m = mechanisms.MECHANISMS[mechanism]
    field = f"bind_{side}"
    real = getattr(m, field)
    lossy = dataclasses.replace(m, **{field: lambda q, size: real(_Dropping(q), size)})
    # MECHANISMS is the registry's read-only view: the instrumented record goes into the registry itself.
    monkeypatch.setitem(registry._MECHANISMS, mechanism, lossy)
    with (
        pytest.raises(VerificationError, match=r"received 249 of 250 messages"),
        Rig(Scenario(mechanism, "throughput", 3, 1, 64, "fork"), TINY) as rig,
    ):
        rig.run_round(250)


# --- the call each pattern makes ----------------------------------------------------------------------


class _Recorder:
    """Records every call; raises ``fails`` times (Empty/Full) before it answers."""

    max_size_bytes = 1 << 20

    def __init__(self, fails: int = 0):
        self.calls: list[tuple[str, tuple, dict]] = []
        self.fails = fails

    def _call(self, name, error, args, kwargs, answer):
        self.calls.append((name, args, kwargs))
        if self.fails:
            self.fails -= 1
            raise error
        return answer

    def get(self, *args, **kwargs):
        return self._call("get", queue.Empty(), args, kwargs, "msg")

    def put(self, *args, **kwargs):
        return self._call("put", queue.Full(), args, kwargs, None)

    def get_many(self, *args, **kwargs):
        return self._call("get_many", queue.Empty(), args, kwargs, ["a", "b", "c"])

    def put_many(self, msgs, **kwargs):
        # A copy, as faster_fifo pickles the batch before put_many returns.
        return self._call("put_many", queue.Full(), (list(msgs),), kwargs, None)


def test_timed_calls_pass_the_timeout_and_retry_on_empty_and_full():
    q = _Recorder(fails=2)
    assert queues.timed_get(q, 8)() == "msg"
    assert q.calls == [("get", (), {"timeout": queues.TIMEOUT_S})] * 3
    q = _Recorder(fails=1)
    queues.timed_put(q, 8)("x")
    assert q.calls == [("put", ("x",), {"timeout": queues.TIMEOUT_S})] * 2


def test_blocking_faster_fifo_get_waits_again_after_a_spurious_empty():
    q = _Recorder(fails=1)
    assert queues.blocking_get(q, 8)() == "msg"
    assert q.calls == [("get", (True, queues.FOREVER_S), {})] * 2


def test_get_many_hands_out_one_batch_in_order_with_one_call():
    q = _Recorder()
    recv = queues.get_many(q, 8)
    assert [recv() for _ in range(4)] == ["a", "b", "c", "a"]
    kwargs = {"timeout": queues.TIMEOUT_S, "max_messages_to_get": queues.BATCH}
    assert q.calls == [("get_many", (), kwargs)] * 2


def test_put_many_sends_full_batches_and_flushes_at_the_end_marker():
    q = _Recorder()
    send = queues.put_many(q, 8)
    for i in range(queues.BATCH + 3):
        send(i)
    send(None)
    batches = [args[0] for name, args, _ in q.calls]
    assert batches == [list(range(queues.BATCH)), [*range(queues.BATCH, queues.BATCH + 3), None]]


def test_batched_variants_run_with_one_consumer_in_throughput_only():
    needs("faster_fifo_many")
    with pytest.raises(ScenarioError, match="one consumer only"):
        Rig(Scenario("faster_fifo_many", "throughput", 2, 2, 64, "fork"), TINY)
    with pytest.raises(ScenarioError, match="throughput only"):
        Rig(Scenario("faster_fifo_get_many", "latency", 1, 1, 64, "fork"), TINY)
    named = selection.select("quick", 2, mechanisms=["faster_fifo_get_many"]).expand()
    assert {(s.pattern, s.producers, s.consumers) for s in named} == {
        ("throughput", 1, 1),
        ("throughput", 3, 1),
    }


# --- where the variants run ----------------------------------------------------------------------------


def test_quick_profile_runs_variants_at_1kib_with_one_consumer():
    scenarios = selection.profile("quick", 2).expand()
    variants = [s for s in scenarios if catalog.entries()[s.mechanism].variant_of]
    assert {s.mechanism for s in variants} == set(VARIANTS)
    assert {s.payload_bytes for s in variants} == {1024}
    assert {(s.pattern, s.producers, s.consumers) for s in variants} == {
        ("throughput", 1, 1),
        ("throughput", 3, 1),
        ("latency", 1, 1),
    }
    # Their base mechanisms keep the whole sweep, for the comparison at the same scenarios.
    assert {s.payload_bytes for s in scenarios if s.mechanism == "queue"} == {8, 1024, 64 << 10}


def test_a_variant_named_on_the_command_line_gets_the_whole_sweep():
    named = selection.select("quick", 2, mechanisms=["queue_timeout"]).expand()
    assert {s.payload_bytes for s in named} == {8, 1024, 64 << 10}
    assert any(s.consumers == 3 for s in named)
    # Another axis narrows as usual: 1 KiB variants only where 1 KiB is asked for.
    assert not [
        s for s in selection.select("quick", 2, payloads=["8"]).expand() if s.mechanism == "queue_timeout"
    ]
