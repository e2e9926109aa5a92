"""Trials: each scenario measured in several fresh-worker trials, interleaved over the run, merged on
saving into one benchmark per scenario; and the workers' CPU time per message."""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from test_runner import LOCK, SETTINGS, FakeBenchmark

from ipcbench import calibration, cli, eta, harness, launch, plugin, runner, trials, worker
from ipcbench.harness import Rig, Settings
from ipcbench.scenario import Scenario
from ipcbench.trials import Trial, TrialLog

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "ipcbench" / "benchmarks"
TINY = ["--rounds", "2", "--round-time", "0.005", "--trials", "3", "--spares", "0", "--placement", "none"]
PIPE_TP = "pipe_bytes-throughput-2p-8B-fork"
TRIAL_KEYS = {"trial", "started_s", "rounds", "messages", "msgs_per_s", "worker_pids"}


# --- order ------------------------------------------------------------------------------------------


def test_items_run_trial_1_of_every_scenario_then_trial_2_and_so_on():
    cmd = [sys.executable, "-m", "pytest", str(BENCH_DIR), "-c", str(BENCH_DIR / "pytest.ini")]
    cmd += [f"--rootdir={BENCH_DIR}", "-p", "ipcbench.plugin", "-p", "no:randomly", "-p", "no:cacheprovider"]
    cmd += ["--collect-only", "-q", "--ipc-mechanism=pipe_bytes", "--ipc-mechanism=lock"]
    cmd += ["--ipc-processes=2", "--ipc-payload=8", "--ipc-start-method=fork", "--ipc-trials=3"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ids = [line.split("[", 1)[1].rstrip("]") for line in proc.stdout.splitlines() if "::test_" in line]
    scenarios = [i.rsplit("-trial", 1)[0] for i in ids]
    passes = [int(i.rsplit("-trial", 1)[1]) for i in ids]
    first = scenarios[: len(set(scenarios))]
    assert len(first) == 3  # pipe_bytes throughput and latency, lock
    assert passes == [1] * 3 + [2] * 3 + [3] * 3
    assert scenarios == first * 3  # the same order in every pass
    # A spare trial is one more pass, after the planned ones: it runs only where the planned trials
    # left fewer than two undisturbed, one whole pass later.
    spare = subprocess.run([*cmd, "--ipc-spares=1"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    ids = [line.split("[", 1)[1].rstrip("]") for line in spare.stdout.splitlines() if "::test_" in line]
    assert [int(i.rsplit("-trial", 1)[1]) for i in ids] == [1] * 3 + [2] * 3 + [3] * 3 + [4] * 3


# --- merging ----------------------------------------------------------------------------------------


def _saved(scenario: str, trial: int, data: list[float], *, with_data: bool = True) -> dict[str, Any]:
    """A benchmark as pytest-benchmark saves one trial (only the keys the merge reads)."""
    param = f"{scenario}-trial{trial + 1}"
    stats: dict[str, Any] = {"median": 0.0, "iterations": 100}
    if with_data:
        stats["data"] = data
    return {
        "name": f"test_throughput[{param}]",
        "fullname": f"benchmarks/test_ipc.py::test_throughput[{param}]",
        "params": {"scenario": scenario, trials.PARAM: trial},
        "param": param,
        "extra_info": {"scenario": scenario, "trial_count": trial + 1},
        "stats": stats,
    }


def test_merge_keeps_one_benchmark_per_scenario_with_every_round_of_every_trial():
    calibration = {"name": "test_calibration[x]", "params": {"scenario": "x"}, "stats": {}}
    saved = [
        _saved("a", 0, [1.0, 2.0]),
        calibration,
        _saved("b", 0, [5.0]),
        _saved("a", 1, [3.0, 4.0]),
        _saved("b", 1, [6.0]),
    ]
    merged = trials.merge(saved)
    assert [m["name"] for m in merged] == ["test_throughput[a]", "test_calibration[x]", "test_throughput[b]"]
    a = merged[0]
    assert a["stats"]["data"] == [1.0, 2.0, 3.0, 4.0]
    assert a["stats"]["rounds"] == 4 and a["stats"]["median"] == 2.5 and a["stats"]["iterations"] == 100
    assert a["stats"]["ops"] == pytest.approx(4 / 10.0)
    assert a["params"] == {"scenario": "a"} and a["param"] == "a"
    assert a["fullname"] == "benchmarks/test_ipc.py::test_throughput[a]"
    assert a["extra_info"]["trial_count"] == 2  # the last trial's: every trial pooled
    assert merged[1] is calibration


def test_a_scenario_with_a_failed_trial_is_dropped():
    saved = [_saved("a", 0, [1.0]), _saved("b", 0, [1.0]), _saved("b", 2, [1.0])]
    assert [m["param"] for m in trials.merge(saved, failed={"a"})] == ["b"]


def test_merge_takes_the_rounds_from_memory_when_the_file_leaves_them_out():
    saved = [_saved("a", 0, [], with_data=False), _saved("a", 1, [], with_data=False)]
    rounds = {saved[0]["fullname"]: [1.0], saved[1]["fullname"]: [3.0]}
    (merged,) = trials.merge(saved, rounds_of=rounds)
    assert "data" not in merged["stats"]
    assert merged["stats"]["rounds"] == 2 and merged["stats"]["mean"] == 2.0


# --- run_scenario: later trials reuse the batch, fresh workers ------------------------------------


def test_a_later_trial_reuses_the_batch_with_fresh_workers_and_pools_the_rounds(monkeypatch, no_leaks):
    log = TrialLog()
    first = FakeBenchmark([], round_s=2.0)
    runner.run_scenario(first, LOCK, SETTINGS, Trial(0, 0.5, 2, log))
    n = first.extra_info["messages"]
    assert log.batch == n

    def no_calibration(self: Rig) -> int:
        raise AssertionError("a later trial calibrated again")

    monkeypatch.setattr(Rig, "calibrate", no_calibration)
    monkeypatch.setattr(Rig, "run_round", _rounds_lasting(SETTINGS.round_time))
    second = FakeBenchmark([], round_s=4.0)
    runner.run_scenario(second, LOCK, SETTINGS, Trial(1, 1.5, 2, log))
    info = second.extra_info
    assert info["messages"] == n and info["trial_count"] == 2 and info["trials_planned"] == 2
    assert info["rounds"] == 2 * SETTINGS.rounds
    assert info["round_s"] == [2.0] * SETTINGS.rounds + [4.0] * SETTINGS.rounds
    assert info["msgs_per_s"] == pytest.approx(n / 3.0)  # the median of all rounds pooled
    one, two = info["trials"]
    assert TRIAL_KEYS | {"cpu_ns_per_msg", "canary_ns"} == set(one) == set(two)
    assert (one["trial"], one["started_s"], two["trial"], two["started_s"]) == (0, 0.5, 1, 1.5)
    assert one["msgs_per_s"] == pytest.approx(n / 2.0) and two["msgs_per_s"] == pytest.approx(n / 4.0)
    assert one["rounds"] == two["rounds"] == SETTINGS.rounds
    assert not set(one["worker_pids"]) & set(two["worker_pids"])
    # pytest-benchmark's statistics hold this trial's rounds; the merge on saving pools them.
    assert second.stats.stats.data == [pytest.approx(4.0 / n)] * SETTINGS.rounds


def _rounds_lasting(seconds: float) -> Any:
    """Rig.run_round that runs the real round but reports it as lasting ``seconds``, all of them busy
    (the workers' CPU time: a later trial judges its batch by both)."""
    real = Rig.run_round

    def run_round(self: Rig, n: int) -> Any:
        ns = int(seconds * 1e9)
        return dataclasses.replace(real(self, n), elapsed_ns=ns, cpu_ns=ns)

    return run_round


def test_a_later_trial_whose_reused_batch_runs_short_sizes_it_again(monkeypatch, no_leaks):
    """Rounds under half the target are too short to trust: a later trial whose warm-up round at the
    first trial's batch is that short calibrates again instead of timing short rounds."""
    log = TrialLog()
    runner.run_scenario(FakeBenchmark([], round_s=2.0), LOCK, SETTINGS, Trial(0, 0.5, 2, log))
    n = log.batch
    assert n is not None
    calibrated: list[int] = []

    def calibrate(self: Rig) -> int:
        calibrated.append(1)
        return 3 * n

    monkeypatch.setattr(Rig, "calibrate", calibrate)
    monkeypatch.setattr(Rig, "run_round", _rounds_lasting(SETTINGS.round_time / 3))
    second = FakeBenchmark([], round_s=2.0)
    runner.run_scenario(second, LOCK, SETTINGS, Trial(1, 1.5, 2, log))
    assert calibrated == [1]
    assert second.extra_info["trials"][1]["messages"] == 3 * n == log.batch
    # Rounds of 2 s at n, then at 3n: the pooled rate is one over the median time per message, the
    # figure pytest-benchmark's merged statistics hold, not the last batch over the median round.
    per_message = sorted([2.0 / n] * SETTINGS.rounds + [2.0 / (3 * n)] * SETTINGS.rounds)
    middle = len(per_message) // 2
    assert second.extra_info["msgs_per_s"] == pytest.approx(
        2 / (per_message[middle - 1] + per_message[middle])
    )


def test_a_later_trial_whose_warm_round_only_waited_long_enough_sizes_its_batch_again(monkeypatch, no_leaks):
    """A warm round as long as the target, but with its workers busy for a third of it (the rest
    waits that later rounds may not have): the batch would run short once nothing waits."""
    log = TrialLog()
    runner.run_scenario(FakeBenchmark([], round_s=2.0), LOCK, SETTINGS, Trial(0, 0.5, 2, log))
    assert log.batch is not None
    calibrated: list[int] = []
    monkeypatch.setattr(Rig, "calibrate", lambda self: calibrated.append(1) or log.batch)
    real = Rig.run_round

    def waiting(self: Rig, n: int) -> Any:
        ns = int(SETTINGS.round_time * 1e9)
        return dataclasses.replace(real(self, n), elapsed_ns=ns, cpu_ns=ns // 3)

    monkeypatch.setattr(Rig, "run_round", waiting)
    runner.run_scenario(FakeBenchmark([], round_s=2.0), LOCK, SETTINGS, Trial(1, 1.5, 2, log))
    assert calibrated == [1]


# --- CPU time per message -----------------------------------------------------------------------------


def test_cpu_time_is_each_workers_own_share_summed_per_round_on_a_fake_clock(monkeypatch, no_leaks):
    """Every read of the fake CPU clock advances it 1 µs, so each worker's share reads as exactly
    1 µs whatever it did; forked workers inherit the fake."""
    ticks = itertools.count(0, 1000)
    monkeypatch.setattr(worker, "cpu_clock", lambda: next(ticks))
    scenario = Scenario("pipe_bytes", "throughput", 2, 2, 8, "fork")  # four workers
    with Rig(scenario, Settings(round_time=0.002, rounds=1)) as rig:
        results = [rig.run_round(100), rig.run_round(400)]
    assert [r.cpu_ns for r in results] == [4 * 1000, 4 * 1000]
    assert runner.cpu_per_message(scenario, results) == pytest.approx((40 + 10) / 2)
    bench = FakeBenchmark([], round_s=1.0)
    runner.run_scenario(bench, LOCK, SETTINGS)
    info = bench.extra_info
    assert info["cpu_ns_per_msg"] == pytest.approx(1000 * LOCK.processes / info["messages"])
    assert info["trials"][0]["cpu_ns_per_msg"] == info["cpu_ns_per_msg"]


def test_start_up_has_no_cpu_time_per_message():
    startup = Scenario("process_start", "startup", 1, 0, 8, "fork")
    assert runner.cpu_per_message(startup, [harness.RoundResult(4, 1, 1, cpu_ns=10)]) is None


# --- a real run -------------------------------------------------------------------------------------


def _run(tmp_path: Path, *argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ipcbench", "run", *TINY, *argv, "-o", str(tmp_path / "run.json")],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
        env={**(os.environ if env is None else env), "PYTHONPATH": str(ROOT)},
    )


def test_a_saved_run_holds_every_trial_of_every_scenario(tmp_path, no_leaks):
    argv = ["--mechanism", "pipe_bytes", "--mechanism", "lock", "--mechanism", "process_start"]
    proc = _run(tmp_path, *argv, "--processes", "2", "--payload", "8", "--start-method", "fork")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "[12/12]" in proc.stdout and f"{PIPE_TP} #3" in proc.stdout
    data = json.loads((tmp_path / "run.json").read_text())
    assert data["ipcbench"]["complete"] is True and data["ipcbench"]["trials_cut"] == []
    benches = {b["extra_info"]["scenario"]: b for b in data["benchmarks"]}
    assert len(benches) == len(data["benchmarks"]) == 4
    starts = []
    for scenario, bench in benches.items():
        info, stats = bench["extra_info"], bench["stats"]
        assert bench["params"] == {"scenario": scenario} and bench["name"].endswith(f"[{scenario}]")
        assert info["trial_count"] == info["trials_planned"] == 3
        assert len(stats["data"]) == stats["rounds"] == info["rounds"] == 2 * 3
        assert [t["trial"] for t in info["trials"]] == [0, 1, 2]
        pids = [set(t["worker_pids"]) for t in info["trials"]]
        assert len(set().union(*pids)) == 2 * 3  # two workers a trial, none of them used twice
        for t in info["trials"]:
            # A later trial whose warm round runs short sizes its own batch, so batches may differ.
            assert set(t) >= TRIAL_KEYS and t["rounds"] == 2 and t["messages"] > 0
            assert t["msgs_per_s"] > 0
            if info["pattern"] == "startup":
                assert "cpu_ns_per_msg" not in t and t["op_p50_ns"] > 0
            else:
                # Per message, and bounded as CPU time must be: a one-thread worker cannot spend more
                # CPU than the round's wall time, so the workers together at most 2 x the round.
                assert 0 < t["cpu_ns_per_msg"] <= 2 * 1e9 / t["msgs_per_s"]
            if info["pattern"] == "latency":
                assert t["rtt_p50_ns"] > 0
        assert ("cpu_ns_per_msg" in info) == (info["pattern"] != "startup")
        assert info["messages"] == info["trials"][-1]["messages"]  # the batch of the last rounds
        starts.append([t["started_s"] for t in info["trials"]])
    # Interleaved: every scenario's trial k began before any scenario's trial k+1.
    for k in range(2):
        assert max(s[k] for s in starts) < min(s[k + 1] for s in starts)


def test_a_failure_in_a_later_trial_fails_the_scenario(tmp_path):
    env = {**os.environ, "IPCBENCH_FAULT": f"{PIPE_TP}@1"}
    argv = ["--mechanism", "pipe_bytes", "--mechanism", "os_pipe", "--pattern", "throughput"]
    proc = _run(tmp_path, *argv, "--processes", "2", "--payload", "8", "--start-method", "fork", env=env)
    assert proc.returncode == cli.EXIT_FAILED, proc.stdout + proc.stderr
    data = json.loads((tmp_path / "run.json").read_text())
    assert data["ipcbench"]["failed"] == [PIPE_TP]
    (bench,) = data["benchmarks"]
    assert bench["extra_info"]["scenario"] == "os_pipe-throughput-2p-8B-fork"
    assert bench["extra_info"]["trial_count"] == 3
    lines = [line for line in proc.stdout.splitlines() if f"{PIPE_TP} #" in line]
    assert len(lines) == 3 and "msg/s" in lines[0] and "FAILED" in lines[1]
    assert "not run: a trial failed" in lines[2]  # after its second trial failed, its third did not run


# --- --max-time cuts trials -------------------------------------------------------------------------


class _Config:
    def __init__(self, **options: Any) -> None:
        self.options = options
        self.stash = pytest.Stash()

    def getoption(self, name: str) -> Any:
        return self.options.get(name)


def _items(config: _Config, scenario: Scenario, count: int) -> list[Any]:
    items = [
        SimpleNamespace(
            config=config,
            nodeid=f"{scenario.id}-trial{k + 1}",
            name=f"test_throughput[{scenario.id}-trial{k + 1}]",
            callspec=SimpleNamespace(params={"scenario": scenario.id, trials.PARAM: k}),
            stash=pytest.Stash(),
        )
        for k in range(count)
    ]
    config.stash[plugin._SCENARIOS] = {scenario.id: scenario}
    config.stash[plugin._PROGRESS] = {
        "done": [],
        "ended": 0,
        "models": [("k", 1.0)] * count,
        "index": {i.nodeid: n for n, i in enumerate(items)},
    }
    return items


def test_max_time_cuts_the_later_trials_and_a_scenario_with_a_trial_counts_as_measured():
    scenario = Scenario("pipe_bytes", "throughput", 1, 1, 8, "fork")
    config = _Config(ipc_stop_at=time.time() + 3600)
    first, second, third = _items(config, scenario, 3)
    plugin.pytest_runtest_setup(first)  # fits: runs
    config.options["ipc_stop_at"] = time.time() - 1
    with pytest.raises(pytest.skip.Exception):
        plugin.pytest_runtest_setup(second)
    config.options["ipc_stop_at"] = time.time() + 3600
    with pytest.raises(pytest.skip.Exception):
        plugin.pytest_runtest_setup(third)  # a cut scenario stays cut, even if time came back
    skipped = SimpleNamespace(passed=False, skipped=True)
    assert plugin._outcome(second, skipped) == plugin._outcome(third, skipped) == "not_run"
    # Its first trial was saved: the run counts it measured (listed under trials_cut), not "not run".
    account = launch.Account.of([scenario], {scenario.id}, {scenario.id: "not_run"}, interrupted=False)
    assert account.measured == (scenario.id,) and account.not_run == ()


def test_after_a_failed_trial_the_later_ones_are_not_run_and_count_as_failed():
    scenario = Scenario("pipe_bytes", "throughput", 1, 1, 8, "fork")
    config = _Config()
    first, second = _items(config, scenario, 2)
    # The report hook as pluggy drives a hook wrapper: up to its yield, then resumed with the result.
    hook = plugin.pytest_runtest_makereport(first, SimpleNamespace(when="call", duration=0.1))
    next(hook)
    failed = SimpleNamespace(failed=True, passed=False, skipped=False)
    with pytest.raises(StopIteration):
        hook.send(SimpleNamespace(get_result=lambda: failed))
    with pytest.raises(pytest.skip.Exception, match="earlier trial"):
        plugin.pytest_runtest_setup(second)
    assert plugin._outcome(second, SimpleNamespace(passed=False, skipped=True)) == "failed"


# --- eta --------------------------------------------------------------------------------------------


def test_later_trials_cost_no_calibration_and_the_estimate_counts_every_trial():
    s = Scenario("queue", "throughput", 1, 1, 8, "fork")
    first = eta.expected(s, 0.02, 5, trials=3)
    later = eta.expected(s, 0.02, 5, trials=3, first=False)
    # Calibration's last round is the warm-up a later trial runs too; its first, the smallest batch.
    assert first - later == pytest.approx((eta.CALIBRATION_ROUNDS - 1) * 0.02 + eta._floor(s))
    assert eta.estimate([s], 0.02, 5, trials=3, overhead=False) == pytest.approx(first + 2 * later)
    assert eta.estimate([s], 0.02, 5) == pytest.approx(eta.RUN_OVERHEAD_S + eta.expected(s, 0.02, 5))


def test_latency_shares_its_tail_samples_over_the_trials():
    latency = Rig(Scenario("queue", "latency", 1, 1, 8, "fork"), Settings(rounds=5, trials=2))
    assert latency.sample_batch(1000) == 1000  # 10,000 round trips over 2 x 5 rounds (one trial: 2,000)
    with pytest.raises(ValueError, match="trials"):
        Settings(trials=0)


# --- trials stopped by a precision --------------------------------------------------------------------


def test_a_scenario_known_to_its_precision_skips_its_later_trials_as_measured():
    scenario = Scenario("pipe_bytes", "throughput", 1, 1, 8, "fork")
    config = _Config()
    items = _items(config, scenario, 5)
    log = config.stash.setdefault(plugin._TRIAL_LOGS, {}).setdefault(scenario.id, TrialLog())
    for item in items[:3]:
        plugin.pytest_runtest_setup(item)  # runs
        log.records.append({})
    log.done = True
    with pytest.raises(pytest.skip.Exception, match="enough"):
        plugin.pytest_runtest_setup(items[3])
    assert plugin._outcome(items[3], SimpleNamespace(passed=False, skipped=True)) == "measured"


def test_a_real_run_stops_a_scenario_at_three_trials_once_its_figure_is_known(tmp_path, no_leaks):
    # A precision of ±10,000%: three trials always reach it, so trials 4 and 5 are not run.
    argv = ["--mechanism", "lock", "--processes", "1", "--trials", "5", "--precision", "100", "--spares", "0"]
    proc = _run(tmp_path, *argv, "--start-method", "fork")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "lock-locks-1p-8B-fork #3" in proc.stdout and "#4" not in proc.stdout
    data = json.loads((tmp_path / "run.json").read_text())
    assert data["ipcbench"]["complete"] is True and data["ipcbench"]["trials_cut"] == []
    (bench,) = data["benchmarks"]
    info = bench["extra_info"]
    assert info["trial_count"] == info["trials_planned"] == 3
    assert info["precision_target"] == 100 and 0 <= info["precision"] < 100


# --- what runs outside the clock ----------------------------------------------------------------------


def test_the_chosen_mechanisms_modules_load_once_in_the_parent_and_in_the_fork_server(monkeypatch):
    asked: list[list[str]] = []
    monkeypatch.setattr(plugin.multiprocessing, "set_forkserver_preload", asked.append)
    chosen = [
        Scenario("shm_numpy", "throughput", 1, 1, 8, "fork"),
        Scenario("pipe", "latency", 1, 1, 8, "fork"),
    ]
    names = plugin.preload(chosen)
    assert names == ([] if plugin.mechanisms.missing("numpy") else ["numpy"])
    assert all(name in sys.modules for name in names)
    if "forkserver" in plugin.multiprocessing.get_all_start_methods():
        assert asked == [["ipcbench.harness", *names]]
    assert plugin.preload([Scenario("pipe", "latency", 1, 1, 8, "fork")]) == []


def test_a_trial_whose_timed_rounds_ran_short_sizes_the_next_trials_batch_by_them(no_leaks, monkeypatch):
    """A batch sized while the host slowed the first trial (or in a slower mode of its workers) runs
    short once it does not: the next trial takes the batch the timed rounds say lasts the target."""
    log = TrialLog()
    runner.run_scenario(
        FakeBenchmark([], round_s=SETTINGS.round_time / 3), LOCK, SETTINGS, Trial(0, 0.5, 3, log)
    )
    first = log.results[0].messages  # the first trial's batch
    assert log.batch == calibration.grown(SETTINGS, first, SETTINGS.round_time / 3) > 2 * first
    resized = log.batch
    calibrated: list[int] = []
    monkeypatch.setattr(Rig, "calibrate", lambda self: calibrated.append(1) or first)
    monkeypatch.setattr(Rig, "run_round", _rounds_lasting(SETTINGS.round_time))  # the warm round: long enough
    runner.run_scenario(FakeBenchmark([], round_s=SETTINGS.round_time), LOCK, SETTINGS, Trial(1, 1.5, 3, log))
    assert calibrated == [] and log.results[-1].messages == resized == log.batch
