"""What ``run_scenario`` times and saves: the workers' round only, statistics per message, percentiles
only with the samples behind them.  A fake benchmark with a fake timer stands in for pytest-benchmark's
``pedantic``, so the order of calls against the clock is checked, not wall-clock durations."""

from __future__ import annotations

import dataclasses
from array import array
from typing import Any

import pytest
from pytest_benchmark.stats import Metadata

from ipcbench import cli, launch, ops, registry, runner
from ipcbench.harness import RoundResult, Settings, VerificationError
from ipcbench.scenario import Scenario

SETTINGS = Settings(round_time=0.002, rounds=3, warmup_rounds=2, grace=20.0)
LOCK = Scenario("lock", "locks", 1, 0, 8, "fork")


class FakeBenchmark:
    """pytest-benchmark's ``pedantic`` as its source runs it: setup, timer, target, timer, teardown.

    Each timed round lasts exactly ``round_s`` on the fake timer, and every call is logged in order.
    """

    def __init__(self, log: list[str], round_s: float = 1.0, enabled: bool = True) -> None:
        self.log = log
        self.round_s = round_s
        self.enabled = enabled
        self.extra_info: dict[str, Any] = {}
        self.group = ""
        self.has_error = False
        self.stats: Any = None

    def pedantic(self, target, args=(), kwargs=None, setup=None, teardown=None, rounds=1, warmup_rounds=0):
        if not self.enabled:  # --benchmark-disable: the target once, no teardown
            if setup:
                setup()
            return target()
        self.stats = Metadata(self, iterations=1, options={})
        for i in range(warmup_rounds + rounds):
            if setup:
                setup()
            self.log.append("clock start")
            target()
            self.log.append("clock stop")
            if i >= warmup_rounds:
                self.stats.update(self.round_s)
            if teardown:
                teardown()
        return None

    # What Metadata reads from its fixture.
    name = fullname = "fake"
    param = None
    params = None
    cprofile_stats = None


def logging_op(monkeypatch, log: list[str], fail_at_round: int | None = None) -> None:
    """The lock benchmark's reset and check, logged; optionally the check of one timed round fails."""
    op = ops.OPS["lock"]

    def reset(shared):
        log.append("reset")
        op.reset(shared)

    def check(shared, n):
        log.append("check")
        if log.count("clock stop") == fail_at_round:
            return "made to fail", {}
        return op.check(shared, n)

    # ops.OPS is the registry's read-only view: the instrumented record goes into the registry itself.
    monkeypatch.setitem(registry._OPERATIONS, "lock", dataclasses.replace(op, reset=reset, check=check))


def test_reset_and_verification_run_outside_the_clock(monkeypatch, no_leaks):
    log: list[str] = []
    logging_op(monkeypatch, log)
    bench = FakeBenchmark(log)
    runner.run_scenario(bench, LOCK, SETTINGS)
    timed = log[log.index("clock start") - 1 :]  # calibration's rounds come before
    # Calibration's last round is one warm-up round: one more, then the timed ones.
    rounds = SETTINGS.warmup_rounds - 1 + SETTINGS.rounds
    assert timed == ["reset", "clock start", "clock stop", "check"] * rounds


def test_a_failed_check_still_fails_the_benchmark(monkeypatch, no_leaks):
    log: list[str] = []
    logging_op(monkeypatch, log, fail_at_round=2)
    bench = FakeBenchmark(log)
    with pytest.raises(VerificationError, match="made to fail"):
        runner.run_scenario(bench, LOCK, SETTINGS)
    assert bench.has_error
    assert log.count("clock stop") == 2  # no round after the failed one


def test_statistics_are_time_per_message_and_the_rounds_are_kept(no_leaks):
    bench = FakeBenchmark([], round_s=2.0)
    runner.run_scenario(bench, LOCK, SETTINGS)
    info, stats = bench.extra_info, bench.stats
    n = info["messages"]
    assert stats.iterations == n
    assert stats.stats.data == [pytest.approx(2.0 / n)] * SETTINGS.rounds
    assert stats.stats.median == pytest.approx(2.0 / n)
    assert stats.stats.ops == pytest.approx(n / 2.0) == info["msgs_per_s"]
    assert info["round_s"] == [2.0] * SETTINGS.rounds
    assert info["rounds"] == SETTINGS.rounds
    saved = stats.as_dict()["stats"]
    assert saved["iterations"] == n and saved["median"] == pytest.approx(2.0 / n)


def test_benchmark_disabled_still_verifies_the_round(monkeypatch, no_leaks):
    log: list[str] = []
    logging_op(monkeypatch, log)
    bench = FakeBenchmark(log, enabled=False)
    runner.run_scenario(bench, LOCK, SETTINGS)
    assert log[-1] == "check"
    assert bench.extra_info["rounds"] == 1 and bench.extra_info["msgs_per_s"] > 0


# --- percentiles ------------------------------------------------------------------------------------


def test_percentiles_nearest_rank():
    out = runner.percentiles([array("q", range(1, 10_001))])
    assert out == {
        "p50": 5000,
        "p90": 9000,
        "p99": 9900,
        "p999": 9990,
        "max": 10_000,
        "min": 1,
        "mean": 5000,
        "count": 10_000,
    }
    # Pairs' samples are pooled.
    assert runner.percentiles([array("q", [3, 1]), array("q", [2])])["p50"] == 2
    assert runner.percentiles([]) == {}


@pytest.mark.parametrize(
    ("count", "absent"),
    [(99, {"p90", "p99", "p999"}), (565, {"p99", "p999"}), (9_999, {"p999"}), (10_000, set())],
)
def test_a_tail_percentile_needs_ten_samples_beyond_it(count, absent):
    out = runner.percentiles([array("q", range(count))])
    assert {k for k, v in out.items() if v is None} == absent
    assert out["count"] == count and out["max"] == count - 1 and out["p50"] is not None


def test_the_summary_says_how_many_round_trips_a_missing_percentile_lacked():
    rtt = runner.percentiles([array("q", range(1000, 1565))])
    info = {"scenario": "x-latency", "pattern": "latency", "msgs_per_s": 1.0, "rtt_ns": rtt}
    table = launch.summary_table([{"extra_info": info, "stats": {}}])
    assert "n/a (565 round trips)" in table
    assert "1.28 µs" in table  # the p50, 1282 ns


def test_describe_warns_when_the_median_round_is_under_half_the_target():
    s = Scenario("pipe", "throughput", 1, 1, 8, "fork")
    results = [RoundResult(100, 1, 1)] * 5
    short = runner.describe(s, Settings(round_time=0.02), results, [0.009] * 5, {})
    enough = runner.describe(s, Settings(round_time=0.02), results, [0.011] * 5, {})
    assert any("short rounds" in w for w in short["warnings"])
    assert not any("short rounds" in w for w in enough["warnings"])
    startup = Scenario("process_start", "startup", 1, 0, 8, "fork")
    start = runner.describe(startup, Settings(round_time=0.02), results, [0.009] * 5, {})
    assert not any("short rounds" in w for w in start["warnings"])


# --- a real run, read by pytest-benchmark's own compare ------------------------------------------------


def test_pytest_benchmark_compare_ranks_a_saved_run_by_time_per_operation(tmp_path, no_leaks):
    """A Lock is ~100x faster per operation than a Manager's Lock (a proxy round trip each); batches
    are calibrated to the same round time, so per round the two would look alike."""
    import json
    import subprocess
    import sys

    out = tmp_path / "run.json"
    argv = ["run", "--pattern", "locks", "--mechanism", "lock", "--mechanism", "manager_lock"]
    argv += ["--processes", "1", "--start-method", "fork", "--rounds", "3", "--round-time", "0.005"]
    assert cli.main([*argv, "-o", str(out)]) == cli.EXIT_OK
    saved = {b["extra_info"]["mechanism"]: b for b in json.loads(out.read_text())["benchmarks"]}
    for b in saved.values():
        assert b["stats"]["iterations"] == b["extra_info"]["messages"]
        assert 1 / b["stats"]["median"] == pytest.approx(b["extra_info"]["msgs_per_s"])
    assert 10 * saved["lock"]["stats"]["mean"] < saved["manager_lock"]["stats"]["mean"]
    cmd = [sys.executable, "-c", "from pytest_benchmark.cli import main; main()", "compare", str(out)]
    proc = subprocess.run(
        [*cmd, "--sort=mean", "--columns=mean,ops"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("test_locks[")]
    assert [r.split("[")[1].split("-")[0] for r in rows] == ["lock", "manager_lock"]


def test_the_report_says_how_many_round_trips_a_missing_p99_lacked():
    from synthetic import FIXTURE

    from ipcbench import findings, results

    df = findings.prepare(results.load([FIXTURE]))
    table = findings.all_benchmarks(df)
    p99 = table.headers.index("p99")
    cells = {row[0]: row[p99] for row in table.rows}
    assert cells["queue-latency-2p-1KiB-fork"] == "n/a (330 round trips)"
    assert cells["pipe_bytes-latency-4p-1KiB-fork"].endswith("µs")  # 4,000 round trips: a p99
