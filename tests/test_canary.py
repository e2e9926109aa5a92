"""The host's speed beside each trial: readings, the reference, disturbed trials, spares, the files."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from test_runner import LOCK, SETTINGS, FakeBenchmark
from test_trials import _Config, _items

from ipcbench import canary, gate, plugin, runner, trials
from ipcbench.trials import Plan, Trial, TrialLog


def test_a_reading_times_the_loop_and_the_fastest_of_its_repeats_counts(monkeypatch):
    assert canary._loop(1000) > 0  # the real loop takes time
    times = iter([300, 100, 200])
    monkeypatch.setattr(canary, "_loop", lambda n: next(times))
    assert canary.reading() == 100
    assert canary.trial_reading([5, 0, 1, 3]) == 3 and canary.trial_reading([]) is None


def test_the_reference_is_a_low_quantile_and_judges_only_with_enough_readings():
    speed = canary.Speed()
    for v in (100, 100, 100, 100):
        speed.add(v)
    assert speed.reference is None and speed.judge(1000) == (None, False)
    speed.add(400)
    speed.add(None)
    assert speed.reference == 100  # one slow reading does not move it
    assert speed.judge(110) == (pytest.approx(1.1), False)
    factor, disturbed = speed.judge(150)
    assert factor == pytest.approx(1.5) and disturbed
    assert len(canary.Speed.seeded().readings) == canary.LEAST


@pytest.mark.parametrize(
    ("plan", "trials_", "clean", "reached", "done"),
    [
        (Plan(3), 3, 3, None, True),
        (Plan(3), 3, 2, None, True),  # no spares: a disturbed trial counts
        (Plan(3, spares=1), 3, 3, None, True),
        (Plan(3, spares=1), 3, 2, None, True),  # two undisturbed trials are enough to judge by
        (Plan(3, spares=1), 3, 1, None, False),  # the spare stands in for a disturbed one
        (Plan(3, spares=1), 4, 1, None, True),  # spares used up
        (Plan(3, spares=1), 2, 2, None, False),
        (Plan(10, 0.1, spares=2), 3, 2, 0.01, False),  # a precision needs three undisturbed trials
        (Plan(10, 0.1, spares=2), 4, 3, 0.01, True),
        (Plan(10, 0.1), 3, 2, 0.01, True),
        (Plan(1, spares=1), 1, 0, None, False),
        (Plan(1, spares=1), 1, 1, None, True),  # one trial planned: one undisturbed is enough
    ],
)
def test_a_plan_with_spares_counts_only_undisturbed_trials(plan, trials_, clean, reached, done):
    assert plan.done(trials_, reached, clean) is done
    assert Plan(3, spares=1).items == 4
    with pytest.raises(ValueError, match="negative"):
        Plan(3, spares=-1)


def test_each_trial_reads_the_hosts_speed_in_its_workers_and_a_slow_one_is_disturbed(no_leaks):
    log = TrialLog()
    # A reference far faster than any real reading: every trial reads as disturbed.
    fast = canary.Speed([1] * canary.LEAST)
    bench = FakeBenchmark([], round_s=1.0)
    runner.run_scenario(bench, LOCK, SETTINGS, Trial(0, 0.0, 1, log, spares=1, speed=fast))
    (record,) = bench.extra_info["trials"]
    assert record["canary_ns"] > 0 and record["disturbed"] is True and record["canary_factor"] > 1
    assert len(fast.readings) == canary.LEAST + 1  # the trial's reading joins the run's
    # One trial planned, disturbed, one spare: the scenario needs it.
    assert bench.extra_info["trials_planned"] == 2 and not log.done and log.clean == 0
    slow = canary.Speed([10**12] * canary.LEAST)
    again = FakeBenchmark([], round_s=1.0)
    runner.run_scenario(again, LOCK, SETTINGS, Trial(1, 1.0, 1, log, spares=1, speed=slow))
    assert again.extra_info["trials"][1]["disturbed"] is False
    assert again.extra_info["trials_planned"] == again.extra_info["trial_count"] == 2 and log.done


def test_a_spare_trial_runs_only_where_a_planned_one_was_disturbed():
    scenario = LOCK
    config = _Config()
    config.stash[plugin._PLAN] = Plan(3, spares=1)
    items = _items(config, scenario, 4)
    log = config.stash.setdefault(plugin._TRIAL_LOGS, {}).setdefault(scenario.id, TrialLog())
    log.records += [{"disturbed": True}, {"disturbed": True}, {"disturbed": False}]
    plugin.pytest_runtest_setup(items[3])  # runs: one undisturbed trial is too few to judge by
    log.records[1] = {"disturbed": False}
    log.done = True
    with pytest.raises(pytest.skip.Exception, match="no spare needed"):
        plugin.pytest_runtest_setup(items[3])
    assert plugin._outcome(items[3], SimpleNamespace(passed=False, skipped=True)) == "measured"


def _row(*trials_: dict) -> dict:
    return {"scenario": "s", "mechanism": "pipe", "pattern": "throughput", "msgs_per_s": 100.0,
            "extra_info": {"trials": list(trials_)}}  # fmt: skip


def test_the_gate_judges_every_trial_and_carries_each_ones_host_reading():
    fig = gate.figure_of(
        _row(
            {"msgs_per_s": 100.0, "canary_ns": 150},
            {"msgs_per_s": 60.0, "disturbed": True, "canary_ns": 250},
            {"msgs_per_s": 104.0, "canary_ns": 151},
        )
    )
    assert fig.samples == (100.0, 60.0, 104.0) and fig.hosts == (150.0, 250.0, 151.0)
    assert fig.value == fig.level == 100.0
    # Readings only when every trial saved one: a sample without its reading cannot be moved.
    part = gate.figure_of(_row({"msgs_per_s": 100.0, "canary_ns": 150}, {"msgs_per_s": 90.0}))
    assert part.samples == (100.0, 90.0) and part.hosts == ()
    # A file without trials is one sample, its headline.
    assert gate.figure_of(_row()).samples == (100.0,) and gate.figure_of(_row()).hosts == ()


def test_a_runs_level_is_its_median_of_the_trials_the_host_left_alone_and_a_directory_judges_by_it():
    from ipcbench import runs

    one = gate.figure_of(
        _row({"msgs_per_s": 100.0}, {"msgs_per_s": 60.0, "disturbed": True}, {"msgs_per_s": 104.0})
    )
    assert one.disturbed == (False, True, False) and one.steady == 102.0 and one.level == 100.0
    every = gate.figure_of(
        _row({"msgs_per_s": 50.0, "disturbed": True}, {"msgs_per_s": 60.0, "disturbed": True})
    )
    assert every.steady == every.level == 55.0  # all disturbed: all of them
    (merged,) = runs.merged([{"s": one}, {"s": every}, {"s": one}]).values()
    assert merged.samples == (102.0, 55.0, 102.0) and merged.value == 100.0
    assert merged.hosts == merged.disturbed == ()


def test_history_follows_every_run_by_its_level():
    from ipcbench import history

    one = gate.figure_of(_row({"msgs_per_s": 100.0}, {"msgs_per_s": 60.0, "disturbed": True}))
    two = gate.figure_of(_row({"msgs_per_s": 50.0, "disturbed": True}))
    runs = [SimpleNamespace(figures={"s": f}) for f in (one, two, one)]
    assert [(i, f.steady) for i, f in history.series(runs)["s"]] == [(0, 100.0), (1, 50.0), (2, 100.0)]


def test_precision_is_that_of_the_undisturbed_trials():
    records = [{"msgs_per_s": 100.0}, {"msgs_per_s": 101.0}, {"msgs_per_s": 50.0, "disturbed": True}]
    info = runner.precision_info(LOCK, Trial(2, planned=3, precision=0.5, spares=1), records)
    assert info["precision"] == trials.precision([100.0, 101.0])
    assert info["trials_planned"] == info["trial_count"] == 3  # two undisturbed: enough
    records[1] = {"msgs_per_s": 40.0, "disturbed": True}
    info = runner.precision_info(LOCK, Trial(2, planned=3, precision=0.5, spares=1), records)
    assert info["trials_planned"] == 4 and info["trial_count"] == 3  # one: a spare is needed


def test_a_run_says_how_many_trials_the_host_slowed():
    runs = [{"extra_info": {"trials": [{"disturbed": True}, {"disturbed": False}, {}]}}, {"extra_info": {}}]
    line = canary.summary(runs)
    assert line is not None and "slowed 1 of 3 trials" in line and "15%" in line
    import pandas as pd

    from ipcbench import facts

    frame = pd.DataFrame({"extra_info": [r["extra_info"] for r in runs], "file": ["a.json", "a.json"]})
    frame = frame.assign(complete=True, cpus_usable=2, cores_logical=2, load_1m=0.0, oversubscribed=False)
    assert any(
        w.startswith("Host disturbed: the host slowed 1 of 3")
        for w in facts.warnings(frame.assign(spread=0.0))
    )
    assert canary.summary([{"extra_info": {"trials": [{}]}}]) is None


def test_the_workers_read_the_hosts_speed_outside_the_clock_before_and_after_the_rounds(
    monkeypatch, no_leaks
):
    from ipcbench.harness import Rig

    log: list[str] = []
    real = Rig.canary

    def logged(self: Rig) -> list[int]:
        log.append("canary")
        return real(self)

    monkeypatch.setattr(Rig, "canary", logged)
    runner.run_scenario(FakeBenchmark(log), LOCK, SETTINGS, Trial(0, 0.0, 1, TrialLog()))
    assert log.count("canary") == 2
    assert log.index("canary") < log.index("clock start")  # before the first round, warm-up included
    assert log[-1] == "canary" and log.count("clock stop") == SETTINGS.warmup_rounds - 1 + SETTINGS.rounds


def test_compare_warns_of_a_file_whose_host_slowed_half_its_trials(tmp_path):
    import synthetic

    from ipcbench import runs

    data = synthetic.with_trials(synthetic.read(synthetic.BASELINE), n=4)
    quiet = synthetic.write(tmp_path / "quiet.json", data)
    for b in data["benchmarks"]:
        for t in b["extra_info"]["trials"][:2]:
            t["disturbed"] = True
    busy = synthetic.write(tmp_path / "busy.json", data)
    assert not any("host slowed" in n for n in runs.load_run(quiet).notes)
    (note,) = [n for n in runs.load_run(busy).notes if "host slowed" in n]
    total = 4 * len(data["benchmarks"])
    assert f"slowed {total // 2} of {total} trials" in note and "quieter machine" in note


def test_the_environment_can_switch_the_judgement_off(monkeypatch):
    monkeypatch.setenv(canary.SWITCH, "off")
    assert canary.switched_off()
    monkeypatch.setenv(canary.SWITCH, "on")
    assert not canary.switched_off()
    monkeypatch.delenv(canary.SWITCH)
    assert not canary.switched_off()


def test_a_real_run_judges_its_trials_unless_switched_off(tmp_path, monkeypatch):
    import json
    import subprocess
    import sys

    argv = ["run", "--mechanism", "lock", "--processes", "1", "--trials", "2", "--rounds", "2"]
    argv += ["--round-time", "0.002", "--placement", "none"]
    seen = {}
    for value in ("off", "on"):
        monkeypatch.setenv(canary.SWITCH, value)
        out = tmp_path / f"{value}.json"
        proc = subprocess.run([sys.executable, "-m", "ipcbench", *argv, "-o", str(out)], capture_output=True,
                              text=True, timeout=120)  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        (bench,) = json.loads(out.read_text())["benchmarks"]
        seen[value] = bench["extra_info"]["trials"]
    assert all(t["canary_ns"] > 0 and "disturbed" not in t for t in seen["off"])
    assert all(t["canary_ns"] > 0 and isinstance(t["disturbed"], bool) for t in seen["on"])
