"""The harness on real processes: every mechanism and pattern, verified rounds, deadlines, faults."""

from __future__ import annotations

import os
import signal
import time

import pytest

from ipcbench import harness, mechanisms, stability
from ipcbench.harness import Rig, Settings
from ipcbench.scenario import Scenario, ScenarioError

TINY = Settings(round_time=0.002, rounds=1, warmup_rounds=0, grace=2.0)
FORK = "fork"


def scenario(
    mech: str, pattern: str = "throughput", p: int = 1, c: int = 1, size: int = 1024, method: str = FORK
):
    return Scenario(mech, pattern, p, c, size, method)


@pytest.mark.parametrize(
    ("mech", "pattern"), [(name, p) for name, m in sorted(mechanisms.MECHANISMS.items()) for p in m.patterns]
)
def test_every_mechanism_and_pattern_delivers_verified_rounds(mech, pattern, no_leaks):
    with Rig(scenario(mech, pattern), TINY) as rig:
        n = rig.calibrate()
        for _ in range(3):
            result = rig.run_round(n)
            assert result.messages == n
            assert result.elapsed_ns > 0 and result.span_ns > 0
        if pattern == "latency":
            assert sum(len(a) for a in result.rtts) == n
            assert all(v > 0 for a in result.rtts for v in a)


@pytest.mark.parametrize("size", [8, 64 * 1024 + 3, 1 << 20])
@pytest.mark.parametrize("mech", ["pipe", "pipe_bytes", "os_pipe", "socketpair", "queue"])
def test_payload_sizes_arrive_whole(mech, size, no_leaks):
    """Large frames cross the 64 KiB pipe buffer in pieces; the checksum of lengths proves they are whole."""
    with Rig(scenario(mech, size=size), TINY) as rig:
        assert rig.run_round(5).messages == 5


@pytest.mark.parametrize(("p", "c"), [(3, 1), (1, 3), (2, 2)])
@pytest.mark.parametrize("mech", ["queue", "simple_queue"])
def test_shared_queue_shapes(mech, p, c, no_leaks):
    with Rig(scenario(mech, p=p, c=c, size=8), TINY) as rig:
        for n in (1, 2, 97):  # fewer messages than producers still ends every consumer
            assert rig.run_round(n).messages == n


def test_several_pairs_at_once(no_leaks):
    with Rig(scenario("pipe_bytes", "latency", p=3, c=3, size=8), TINY) as rig:
        result = rig.run_round(30)
        assert len(result.rtts) == 3
        assert sum(len(a) for a in result.rtts) == 30


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
@pytest.mark.parametrize("mech", ["pipe", "queue", "os_pipe"])
def test_other_start_methods(mech, method, no_leaks):
    if method not in harness.available_start_methods():
        pytest.skip(f"{method} is not available on this platform")
    with Rig(scenario(mech, "latency", method=method), TINY) as rig:
        assert rig.run_round(10).messages == 10
    with Rig(scenario(mech, method=method), TINY) as rig:
        assert rig.run_round(10).messages == 10


def test_point_to_point_refuses_uneven_sides():
    with pytest.raises(ScenarioError, match="point-to-point"):
        Rig(scenario("pipe", p=2, c=1), TINY)


def test_unavailable_start_method_is_refused(monkeypatch):
    monkeypatch.setattr(harness, "available_start_methods", lambda: ["spawn"])
    with pytest.raises(ScenarioError, match="not available"):
        Rig(scenario("pipe"), TINY)


# --- faults -----------------------------------------------------------------------------------------


def _worker(rig: Rig, role: str) -> harness._Worker:
    return next(w for w in rig.workers if w.role == role)


@pytest.mark.parametrize(
    ("mech", "pattern", "victim"),
    [
        ("pipe_bytes", "throughput", "consumer"),
        ("pipe_bytes", "throughput", "producer"),
        ("queue", "throughput", "consumer"),
        ("queue", "throughput", "producer"),
        ("pipe", "latency", "ponger"),
        ("simple_queue", "latency", "pinger"),
    ],
)
def test_worker_killed_mid_round_is_reported_at_once(mech, pattern, victim, no_leaks):
    settings = Settings(round_time=0.002, rounds=1, grace=30.0)  # a long grace: death must not wait for it
    with Rig(scenario(mech, pattern, size=8), settings) as rig:
        rig.start_round(10**8)  # far more than can finish: the round is surely under way
        w = _worker(rig, victim)
        os.kill(w.process.pid, signal.SIGKILL)
        t0 = time.monotonic()
        with pytest.raises(harness.WorkerDied) as err:
            rig.finish_round()
        took = time.monotonic() - t0
    message = str(err.value)
    assert rig.scenario.id in message and w.name in message and "signal 9" in message
    assert took < settings.grace, f"death took {took:.1f} s to notice"


def test_stopped_worker_is_reported_at_the_deadline(no_leaks):
    settings = Settings(round_time=0.002, rounds=1, grace=1.0)
    with Rig(scenario("pipe_bytes", size=8), settings) as rig:
        rig.run_round(100)
        w = _worker(rig, "consumer")
        os.kill(w.process.pid, signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            with pytest.raises(harness.WorkerStalled) as err:
                rig.run_round(10**6)
            took = time.monotonic() - t0
        finally:
            os.kill(w.process.pid, signal.SIGCONT)
    assert rig.scenario.id in str(err.value) and "consumer-0" in str(err.value)
    assert "stopped" in str(err.value)
    # The deadline is the previous round's time x 3 plus the grace: seconds, not minutes.
    assert took < 10


def test_lost_message_fails_verification(monkeypatch, no_leaks):
    """Under fork the workers inherit this patch: a consumer that drops one message."""
    real = mechanisms.consume

    def lossy(carries, recv, count, sentinels):
        n, seq_sum, byte_sum = real(carries, recv, count, sentinels)
        return n - 1, seq_sum, byte_sum

    monkeypatch.setattr(mechanisms, "consume", lossy)
    with Rig(scenario("pipe_bytes", size=8), TINY) as rig, pytest.raises(harness.VerificationError) as err:
        rig.run_round(50)
    assert "received 49 of 50" in str(err.value) and rig.scenario.id in str(err.value)


def test_corrupted_message_fails_verification(monkeypatch, no_leaks):
    real = mechanisms.consume

    def corrupt(carries, recv, count, sentinels):
        n, seq_sum, byte_sum = real(carries, recv, count, sentinels)
        return n, seq_sum + 1, byte_sum

    monkeypatch.setattr(mechanisms, "consume", corrupt)
    with (
        Rig(scenario("queue", size=8), TINY) as rig,
        pytest.raises(harness.VerificationError, match="checksum"),
    ):
        rig.run_round(50)


class Unpicklable:
    def __reduce__(self):
        raise TypeError("cannot pickle this payload")


@pytest.mark.parametrize("mech", ["pipe", "queue", "simple_queue"])
def test_unpicklable_payload_is_a_clear_error(mech, monkeypatch, no_leaks):
    """Queue pickles in a feeder thread; its error must still reach the parent, not stall the round."""

    def produce(carries, send, payload, seqs):
        for seq in seqs:
            send((seq, Unpicklable()))

    monkeypatch.setattr(mechanisms, "produce", produce)
    settings = Settings(round_time=0.002, rounds=1, grace=30.0)
    t0 = time.monotonic()
    with Rig(scenario(mech, size=8), settings) as rig, pytest.raises(harness.WorkerFailed) as err:
        rig.run_round(5)
    assert "cannot pickle this payload" in str(err.value) and "producer-0" in str(err.value)
    assert time.monotonic() - t0 < settings.grace


def test_worker_dead_before_round_is_reported(no_leaks):
    with Rig(scenario("pipe", size=8), TINY) as rig:
        w = _worker(rig, "producer")
        os.kill(w.process.pid, signal.SIGKILL)
        w.process.join(5)
        with pytest.raises(harness.WorkerDied, match="producer-0"):
            rig.run_round(10)


def test_close_reaps_a_stopped_worker(no_leaks):
    """SIGSTOPped workers ignore SIGTERM until continued; close() must still end them (SIGKILL)."""
    rig = Rig(scenario("pipe_bytes", size=8), TINY)
    rig.start()
    for w in rig.workers:
        os.kill(w.process.pid, signal.SIGSTOP)
    rig.start_round(10)
    rig.close()
    assert all(w.exitcode is not None for w in rig.workers)


@pytest.mark.parametrize(("mech", "pattern"), [("manager_queue", "throughput"), ("manager_queue", "latency")])
def test_manager_server_killed_mid_round_is_reported(mech, pattern, no_leaks):
    """The Manager's server process is the channel: its death must end the round, not hang it."""
    settings = Settings(round_time=0.002, rounds=1, grace=30.0)
    with Rig(scenario(mech, pattern, size=8), settings) as rig:
        rig.run_round(10)
        server = rig.resources._manager._process
        rig.start_round(10**8)
        os.kill(server.pid, signal.SIGKILL)
        t0 = time.monotonic()
        with pytest.raises(harness.HarnessError) as err:
            rig.finish_round()
        took = time.monotonic() - t0
    assert rig.scenario.id in str(err.value)
    assert took < settings.grace, f"the manager's death took {took:.1f} s to notice"


# --- calibration and the timed batch (no processes: the rounds are scripted) ---------------------------


def scripted(monkeypatch, rig: Rig, per_message_s, log: list[int]) -> None:
    """Rounds that last ``n`` times the scripted per-message time of that round (one value per round)."""
    times = iter(per_message_s)

    def run_round(n: int) -> harness.RoundResult:
        log.append(n)
        return harness.RoundResult(n, int(n * next(times) * 1e9), 1)

    monkeypatch.setattr(rig, "run_round", run_round)


def test_calibration_is_not_fooled_by_one_slow_round(monkeypatch):
    """A round at 8 messages grows the batch to 80; one slow round at 80 reaches the target by chance,
    the next two show the real speed: the batch keeps growing until the median of three agrees."""
    rig = Rig(scenario("pipe_bytes"), Settings(round_time=0.02))
    sizes: list[int] = []
    # warm-up, 8: fast; then at 80: one fluke (20 ms) and two at 8 ms; then steady at 100 µs/message.
    scripted(monkeypatch, rig, [1e-3, 25e-6, 250e-6, 100e-6, 100e-6] + [100e-6] * 10, sizes)
    n = rig.calibrate()
    assert sizes[:5] == [8, 8, 80, 80, 80]
    assert n == 200 and sizes[-3:] == [200, 200, 200]  # three rounds at the size it returns


def test_calibration_stops_after_three_rounds_that_agree(monkeypatch):
    rig = Rig(scenario("pipe_bytes"), Settings(round_time=0.02))
    sizes: list[int] = []
    scripted(monkeypatch, rig, [1e-3] + [2.5e-3] * 10, sizes)  # 8 messages take 20 ms from the start
    assert rig.calibrate() == 8
    assert sizes == [8, 8, 8, 8, 8]  # the warm-up round, three that agree, one warm round confirming


def test_calibration_grows_a_batch_whose_warm_round_is_under_half_the_target(monkeypatch):
    """Growing rounds pay first touches of memory they reach: three agreeing rounds of 20 ms at 8
    messages, then a warm round of 4 ms, grow the batch to what a warm round says (40)."""
    rig = Rig(scenario("pipe_bytes"), Settings(round_time=0.02))
    sizes: list[int] = []
    scripted(monkeypatch, rig, [1e-3] + [2.5e-3] * 3 + [0.5e-3] * 10, sizes)
    assert rig.calibrate() == 40
    assert sizes == [8, 8, 8, 8, 8, 40]  # the last round ran at the size returned


def test_calibration_grows_a_batch_whose_fastest_round_is_under_half_the_target(monkeypatch):
    """Workers taking turns on one CPU run a batch fast or several times slower, by how their time
    slices fall: two slow rounds of 20 ms and a fast one of 2 ms at 8 messages must not stop the growth
    at 8, whose timed rounds would then mostly run fast, a tenth of the target."""
    rig = Rig(scenario("pipe_bytes"), Settings(round_time=0.02))
    sizes: list[int] = []
    scripted(monkeypatch, rig, [1e-3, 2.5e-3, 0.25e-3, 2.5e-3] + [0.25e-3] * 10, sizes)
    assert rig.calibrate() == 80
    # 8 -> 50: the fast round of 2 ms grown to 5/8 of the target; then by the median as ever.
    assert sizes == [8, 8, 8, 8, 50, 80, 80, 80, 80]


def test_calibration_grows_a_batch_whose_rounds_all_waited_until_its_work_fills_half_the_target(
    monkeypatch,
):
    """Four workers packed on one CPU, every calibration round lengthened to the 20 ms target by
    waits (a woken parent queued behind another task), while the work takes 100 µs an operation: a
    round cannot be shorter than its workers' CPU time, so the batch grows until that is over half
    the target, not once the waits make the rounds look long enough."""
    rig = Rig(Scenario("lock", "locks", 4, 0, 8, FORK, placement="packed"), Settings(round_time=0.02))
    sizes: list[int] = []

    def run_round(n: int) -> harness.RoundResult:
        sizes.append(n)
        busy = int(n * 100e3)
        return harness.RoundResult(n, max(busy, 20_000_000), 1, cpu_ns=busy)

    monkeypatch.setattr(rig, "run_round", run_round)
    n = rig.calibrate()
    assert n * 100e-6 >= 0.02 * stability.SHORT_ROUND  # the work alone fills half the target
    assert sizes[:4] == [8, 8, 8, 8] and sizes[-1] == n


def test_latency_batches_stretch_towards_the_tail_samples():
    s = Settings(round_time=0.02, rounds=5, tail_samples=10_000, latency_stretch=2.5)
    latency, throughput = Rig(scenario("pipe", "latency"), s), Rig(scenario("pipe"), s)
    assert latency.sample_batch(400) == 1000  # capped at 2.5 x the calibrated batch
    assert latency.sample_batch(1000) == 2000  # 10,000 round trips over 5 rounds
    assert latency.sample_batch(3000) == 3000  # already enough
    assert throughput.sample_batch(400) == 400


def test_the_round_clock_runs_from_release_to_the_last_report_only(monkeypatch, no_leaks):
    """On a fake clock that ticks 1000 ns a reading: the round's elapsed time is exactly two readings
    apart (release, last report), and the one-sided reset and check fall outside them."""
    import dataclasses

    from ipcbench import ops, registry

    log: list[str] = []
    ticks = iter(range(1000, 10**9, 1000))
    monkeypatch.setattr(harness, "clock", lambda: (log.append("clock"), next(ticks))[1])
    op = ops.OPS["lock"]
    reset = lambda shared: (log.append("reset"), op.reset(shared))  # noqa: E731
    check = lambda shared, n: (log.append("check"), op.check(shared, n))[1]  # noqa: E731
    # ops.OPS is the registry's read-only view: the instrumented record goes into the registry itself.
    monkeypatch.setitem(registry._OPERATIONS, "lock", dataclasses.replace(op, reset=reset, check=check))
    with Rig(Scenario("lock", "locks", 1, 0, 8, FORK), TINY) as rig:
        log.clear()
        result = rig.run_round(100)
    assert log == ["reset", "clock", "clock", "check"]
    assert result.elapsed_ns == 1000


def test_bad_bulk_payload_is_one_line_and_exit_2(capsys):
    from ipcbench import cli

    assert cli.main(["selfcheck", "--bulk-payload", "lots"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
