"""``ipcbench compare``: the gate judged on saved runs with trials, some made slower or faster on purpose."""

import dataclasses
import json
import subprocess
import sys

import pytest
from synthetic import (
    BASELINE,
    FIXTURE,
    ROOT,
    bench,
    keep,
    one_sided,
    read,
    slow_all,
    slow_down,
    with_trials,
    write,
)

from ipcbench import compare, gate, render, runs
from ipcbench.cli import main

QUEUE_TP = "queue-throughput-2p-1KiB-fork"
PIPE_LAT = "pipe_bytes-latency-2p-1KiB-fork"


def run_compare(capsys, *argv):
    rc = main(["compare", *map(str, argv)])
    out, err = capsys.readouterr()
    return rc, out, err


def as_json(capsys, *argv):
    rc, out, _ = run_compare(capsys, *argv, "--format", "json")
    return rc, json.loads(out)


def verdicts(report):
    return {p["scenario"]: p["verdict"] for p in report["pairs"]}


def pair_of(report, scenario):
    return next(p for p in report["pairs"] if p["scenario"] == scenario)


def trials(seed, cv=0.02, n=6, data=None, offset=0.0):
    """The quick fixture as a run with ``n`` trials a scenario, scattered by ``cv`` (seeded)."""
    return with_trials(read() if data is None else data, n=n, cv=cv, seed=seed, offset=offset)


@pytest.fixture
def base(tmp_path):
    return write(tmp_path / "base.json", trials(1))


def current(tmp_path, name="cur.json", scenario=None, factor=1.0, **kw):
    data = trials(kw.pop("seed", 2), **kw)
    if scenario:
        data = slow_down(data, scenario, factor)
    return write(tmp_path / name, data)


# --- A/A --------------------------------------------------------------------------------------------


def test_a_file_with_itself_is_no_regression(capsys, base):
    rc, report = as_json(capsys, base, base)
    assert rc == 0
    assert report["regressions"] == []
    assert set(verdicts(report).values()) == {"same"}
    assert report["machine_differences"] == []
    assert report["rules"]["family"] == len(report["pairs"])


def test_two_honest_runs_with_trials_are_no_regression(tmp_path, capsys, base):
    rc, report = as_json(capsys, base, current(tmp_path))
    assert rc == 0
    assert set(verdicts(report).values()) == {"same"}
    assert all(p["samples"] == [6, 6] for p in report["pairs"])


def test_honest_pairs_rarely_call_anything_at_realistic_noise(tmp_path, capsys):
    """Twenty A/A pairs at 10% trial noise and 10 trials a side (seeded): the family's 5% error rate
    allows about one pair in twenty to call anything; a per-scenario test at 5% would flag ~4 of the 72
    scenarios in every pair."""
    flagged = 0
    for i in range(20):
        a = write(tmp_path / "a.json", trials(100 + i, cv=0.10, n=10))
        b = write(tmp_path / "b.json", trials(200 + i, cv=0.10, n=10))
        _, report = as_json(capsys, a, b, "--threshold", "25%")
        flagged += report["counts"]["slower"] + report["counts"]["faster"] > 0
        assert report["counts"]["noisy"] < len(report["pairs"])  # most are judged at 25%
    assert flagged <= 2


def test_files_without_trials_are_one_sample_each_and_never_gate(tmp_path, capsys):
    """Rounds are never the samples: an older file is one sample a side, so even 3x slower cannot be
    told from noise (the table says so and shows the figures)."""
    slow = write(tmp_path / "slow.json", slow_down(read(), QUEUE_TP, 3.0))
    rc, out, _ = run_compare(capsys, FIXTURE, slow)
    assert rc == 0
    assert "one trial a side, no spread to judge by" in out
    _, report = as_json(capsys, FIXTURE, slow)
    pair = pair_of(report, QUEUE_TP)
    assert pair["verdict"] == "noisy"
    assert pair["samples"] == [1, 1]
    assert pair["ratio"] == pytest.approx(1 / 3)
    assert report["rules"]["family"] == 0


def test_the_rounds_are_not_tested(tmp_path, capsys, base):
    """Every round of one scenario 2x slower while its trials are unchanged: no regression."""
    data = trials(1)
    stats = bench(data, QUEUE_TP)["stats"]
    stats["data"] = [d * 2 for d in stats["data"]]
    rc, report = as_json(capsys, base, write(tmp_path / "rounds.json", data))
    assert rc == 0
    assert verdicts(report)[QUEUE_TP] == "same"


def test_two_real_tiny_runs_pair_up(tmp_path, capsys):
    """Two honest real runs: every scenario paired, each side's samples its trials (one sample for a
    run saved without them).  Report-only: what a loaded machine does to the verdict is not tested."""
    paths = [tmp_path / "a.json", tmp_path / "b.json"]
    for p in paths:
        cmd = [sys.executable, "-m", "ipcbench", "run", "--mechanism", "pipe_bytes", "--mechanism", "os_pipe"]
        cmd += ["--pattern", "throughput", "--payload", "1KiB", "--processes", "2"]
        cmd += ["--rounds", "3", "--round-time", "0.002", "-o", str(p)]
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, timeout=120)
    rc, report = as_json(capsys, *paths, "--report-only")
    assert rc == 0
    assert len(report["pairs"]) == 2
    # The same run made 3x slower on purpose: judged by its trials, or never gating without them.
    slow = write(tmp_path / "slow.json", slow_all(read(paths[0]), 3.0))
    _, slowed = as_json(capsys, paths[0], slow)
    trials = {
        b["extra_info"]["scenario"]: len(b["extra_info"].get("trials", []))
        for b in read(paths[0])["benchmarks"]
    }
    for pair in slowed["pairs"]:
        if trials[pair["scenario"]] < 3:
            assert pair["verdict"] == "noisy"
        else:
            # Judged, it is slower; a loaded machine's trials (bimodal with placement) may leave its
            # smallest detectable change above the threshold, and then it says so instead.
            assert pair["verdict"] == "slower" or (
                pair["verdict"] == "noisy" and pair["mdc"] > pair["threshold"]
            )
    for path, side in zip(paths, (0, 1), strict=True):
        saved = {
            b["extra_info"]["scenario"]: b["extra_info"] for b in json.loads(path.read_text())["benchmarks"]
        }
        for pair in report["pairs"]:
            # One sample per trial, the host's slow ones too; a file without trials is one sample.
            info = saved[pair["scenario"]]
            assert pair["samples"][side] == len(info.get("trials") or [None])


# --- direction and size -------------------------------------------------------------------------------


def test_throughput_twice_slower_is_a_regression_naming_it(tmp_path, capsys, base):
    slow = current(tmp_path, scenario=QUEUE_TP, factor=2.0)
    rc, out, err = run_compare(capsys, base, slow)
    assert rc == 1
    assert err.strip().splitlines()[-1] == f"ipcbench compare: regression in {QUEUE_TP}"
    assert f"REGRESSION in 1: {QUEUE_TP}" in out
    _, report = as_json(capsys, base, slow)
    assert report["regressions"] == [QUEUE_TP]
    pair = pair_of(report, QUEUE_TP)
    assert pair["ratio"] == pytest.approx(0.5, rel=0.05)
    assert pair["slowdown"] == pytest.approx(2.0, rel=0.05)
    assert pair["q_value"] < 0.05
    assert pair["mdc"] < 100 and pair["spread"] < 10  # a 100% slowdown, well within what it resolves


def test_lower_is_better_is_judged_the_right_way_round(tmp_path, capsys, base):
    rc, report = as_json(capsys, base, current(tmp_path, scenario=PIPE_LAT, factor=2.0))
    assert rc == 1
    assert report["regressions"] == [PIPE_LAT]
    rc, report = as_json(capsys, base, current(tmp_path, scenario=PIPE_LAT, factor=0.5))
    assert rc == 0
    assert verdicts(report)[PIPE_LAT] == "faster"
    pair = pair_of(report, PIPE_LAT)
    assert pair["ratio"] == pytest.approx(0.5, rel=0.05)  # p50 halved
    assert pair["metric"] == "rtt p50"
    # 900 round trips are too few for a p99 (ten beyond it need 1,000): nothing to compare.
    assert bench(read(), PIPE_LAT)["extra_info"]["rtt_ns"]["count"] < 1000
    assert pair["p99_ratio"] is None


def test_throughput_twice_faster_is_faster(tmp_path, capsys, base):
    rc, report = as_json(capsys, base, current(tmp_path, scenario=QUEUE_TP, factor=0.5))
    assert rc == 0
    assert verdicts(report)[QUEUE_TP] == "faster"


def test_small_change_is_same_even_when_significant(tmp_path, capsys):
    quiet = write(tmp_path / "quiet.json", trials(1, cv=0.005))
    a_bit = current(tmp_path, scenario=QUEUE_TP, factor=1.05, cv=0.005)
    # Runs known to be as steady as their trials (a noise file would say so): 5% is significant.
    config = tmp_path / "steady.toml"
    config.write_text('run_sd = "0%"\n')
    rc, report = as_json(capsys, quiet, a_bit, "--config", str(config))
    assert rc == 0
    pair = pair_of(report, QUEUE_TP)
    assert pair["verdict"] == "same"
    assert pair["note"] == "significant but within 10%"


def test_report_only_prints_the_regression_and_exits_0(tmp_path, capsys, base):
    rc, out, _ = run_compare(capsys, base, current(tmp_path, scenario=QUEUE_TP, factor=2.0), "--report-only")
    assert rc == 0
    assert "SLOWER" in out and QUEUE_TP in out


# --- each pattern on its own figure ---------------------------------------------------------------------


def _row(pattern, trials_, **fields):
    return {
        "scenario": f"x-{pattern}",
        "mechanism": "x",
        "pattern": pattern,
        "extra_info": {"trials": trials_},
        **fields,
    }


def test_start_up_is_judged_per_start_by_the_trials_op_p50():
    """A trial that timed 5 starts a round and one that timed 4, at the same cost per start, are equal."""
    row = _row(
        "startup", [{"op_p50_ns": 4e6}, {"op_p50_ns": 4e6}], median=0.02, op_p50_ns=4e6, data=[0.02, 0.016]
    )
    fig = compare.figure_of(row)
    assert (fig.metric, fig.unit, fig.higher_is_better) == ("start-up", "ms", False)
    assert fig.samples == (4.0, 4.0)
    assert fig.value == 4.0
    old = compare.figure_of({**row, "extra_info": {}})
    assert old.samples == (4.0,)  # no trials: the run's own p50 per start, one sample


def test_one_sided_patterns_are_operations_per_second():
    fig = compare.figure_of(_row("locks", [{"msgs_per_s": 3e5}, {"msgs_per_s": 2e5}], msgs_per_s=2.5e5))
    assert (fig.metric, fig.higher_is_better) == ("ops/s", True)
    assert fig.samples == (3e5, 2e5)
    assert fig.value == 2.5e5  # the median of the trials


def test_latency_is_the_trials_rtt_p50():
    fig = compare.figure_of(_row("latency", [{"rtt_p50_ns": 2e4}, {"rtt_p50_ns": 4e4}], rtt_p50_ns=1e4))
    assert fig.samples == (20.0, 40.0)
    assert fig.value == 30.0


# --- noise and the family -------------------------------------------------------------------------------


def test_a_scenario_too_noisy_for_its_threshold_is_shown_and_never_gates(tmp_path, capsys):
    noisy = write(tmp_path / "noisy.json", trials(1, cv=0.3))
    slow = current(tmp_path, scenario=QUEUE_TP, factor=1.5, cv=0.3)
    rc, out, _ = run_compare(capsys, noisy, slow)
    assert rc == 0
    assert "too noisy to judge here (" in out
    assert "ipcbench noise says what this machine can judge" in out
    _, report = as_json(capsys, noisy, slow)
    pair = pair_of(report, QUEUE_TP)
    assert pair["verdict"] == "noisy"
    assert pair["spread"] > 10 and pair["mdc"] > 10
    assert pair["note"].startswith(f"a rerun moves it ±{pair['spread']:.0f}%, threshold 10%")
    assert pair["baseline"] and pair["current"]  # with its figures
    # The same noise against a threshold it can resolve: a 4x slowdown is judged, and caught.
    slower = current(tmp_path, "slower.json", scenario=QUEUE_TP, factor=4.0, cv=0.3)
    rc, report = as_json(capsys, noisy, slower, "--threshold", "150%")
    assert rc == 1
    assert report["regressions"] == [QUEUE_TP]
    assert pair_of(report, QUEUE_TP)["mdc"] < 150


def test_the_family_is_every_scenario_judged(tmp_path, capsys):
    """The same change in the same scenario: caught among 12 scenarios; among 72 the level a lone
    change must reach is 6 times smaller, and the same change is no longer significant."""
    ids = {b["extra_info"]["scenario"] for b in read()["benchmarks"]}
    # Twelve: enough for the family's shared variance (as in the 72), so only the family's size differs.
    few = {QUEUE_TP, *sorted(ids - {QUEUE_TP})[:11]}
    a = trials(1, cv=0.2)
    b = slow_down(trials(2, cv=0.2), QUEUE_TP, 1.17)
    rc_few, few_report = as_json(
        capsys,
        write(tmp_path / "a3.json", keep(a, few)),
        write(tmp_path / "b3.json", keep(b, few)),
        "--threshold",
        "12%",
    )
    rc_all, all_report = as_json(
        capsys,
        write(tmp_path / "a.json", keep(a, ids)),
        write(tmp_path / "b.json", keep(b, ids)),
        "--threshold",
        "12%",
    )
    assert few_report["rules"]["family"] == 12 and all_report["rules"]["family"] == 72
    few_pair, all_pair = pair_of(few_report, QUEUE_TP), pair_of(all_report, QUEUE_TP)
    # Its own test sees the same change either way; what a lone change must reach is what differs.
    assert few_pair["p_value"] == pytest.approx(all_pair["p_value"], rel=0.5)
    assert all_pair["q_value"] > 0.05 > few_pair["q_value"]
    assert all_pair["mdc"] > few_pair["mdc"]
    assert (few_pair["verdict"], all_pair["verdict"]) == ("slower", "same")
    assert (rc_few, rc_all) == (1, 0)


# --- thresholds ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("thresholds", "rc"),
    [
        ([], 1),
        (["60%"], 0),
        (["throughput=60%"], 0),
        (["latency=60%"], 1),
        (["queue=60%"], 0),
        (["pipe=60%"], 1),
        (["throughput=60%", "queue=20%"], 1),  # the mechanism's beats the pattern's
        (["queue=20%", "throughput=60%"], 1),
    ],
)
def test_per_pattern_and_per_mechanism_thresholds(tmp_path, capsys, base, thresholds, rc):
    slow = current(tmp_path, scenario=QUEUE_TP, factor=1.5)
    args = [a for t in thresholds for a in ("--threshold", t)]
    assert as_json(capsys, base, slow, *args)[0] == rc


def test_thresholds_from_a_config_file(tmp_path, capsys, base):
    slow = current(tmp_path, scenario=QUEUE_TP, factor=1.5)
    cfg = tmp_path / "gate.toml"
    cfg.write_text('alpha = 0.04\nthreshold = "10%"\n[thresholds]\nthroughput = "60%"\n')
    rc, report = as_json(capsys, base, slow, "--config", cfg)
    assert rc == 0
    assert report["rules"]["alpha"] == 0.04
    assert report["rules"]["thresholds"] == {"throughput": 60.0}
    # the command line goes on top of the file
    assert as_json(capsys, base, slow, "--config", cfg, "--threshold", "queue=20%")[0] == 1


def test_a_scenarios_own_threshold_beats_its_mechanisms(tmp_path, capsys, base):
    slow = current(tmp_path, scenario=QUEUE_TP, factor=1.5)
    cfg = tmp_path / "gate.toml"
    cfg.write_text(f'[thresholds]\nqueue = "20%"\n[scenarios]\n"{QUEUE_TP}" = "60%"\n')
    rc, report = as_json(capsys, base, slow, "--config", cfg)
    assert rc == 0
    assert pair_of(report, QUEUE_TP)["threshold"] == 60.0
    assert pair_of(report, "queue-throughput-2p-8B-fork")["threshold"] == 20.0
    assert report["rules"]["scenario_thresholds"] == {QUEUE_TP: 60.0}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10%", compare.Threshold(10.0)),
        ("10", compare.Threshold(10.0)),
        ("2.5%", compare.Threshold(2.5)),
        ("latency=20%", compare.Threshold(20.0, "latency")),
        ("queue = 15", compare.Threshold(15.0, "queue")),
    ],
)
def test_parse_threshold(text, expected):
    t = compare.parse_threshold(text)
    assert t == expected
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.percent = 1  # type: ignore[misc]


@pytest.mark.parametrize("text", ["", "%", "ten", "-5%", "0%", "latency=", "=5%", "a b=5%"])
def test_parse_threshold_refuses(text):
    with pytest.raises(compare.CompareError):
        compare.parse_threshold(text)


# --- pairing --------------------------------------------------------------------------------------------


def test_pairs_by_scenario_not_position(tmp_path, capsys, base):
    data = trials(1)
    data["benchmarks"].reverse()
    rc, report = as_json(capsys, base, write(tmp_path / "rev.json", data))
    assert rc == 0
    assert set(verdicts(report).values()) == {"same"}
    assert all(p["ratio"] == 1.0 for p in report["pairs"])


def test_new_and_gone(tmp_path, capsys):
    ids = {b["extra_info"]["scenario"] for b in read()["benchmarks"]}
    base = write(tmp_path / "base.json", keep(trials(1), ids - {QUEUE_TP}))
    cur = write(tmp_path / "cur.json", keep(trials(2), ids - {PIPE_LAT}))
    rc, report = as_json(capsys, base, cur)
    assert rc == 0
    assert verdicts(report)[QUEUE_TP] == "new"
    assert verdicts(report)[PIPE_LAT] == "gone"
    assert report["rules"]["family"] == len(ids) - 2


def test_normalize_divides_by_the_same_runs_os_pipe(tmp_path, capsys, base):
    """A whole run 2x slower (another machine) is a regression raw, and none as a ratio to os_pipe."""
    slow = write(tmp_path / "slow.json", slow_all(trials(1), 2.0))
    assert as_json(capsys, base, slow)[0] == 1
    rc, report = as_json(capsys, base, slow, "--normalize")
    assert rc == 0
    assert report["normalized"] is True
    pair = pair_of(report, QUEUE_TP)
    assert pair["unit"] == "x os_pipe"
    assert pair["ratio"] == pytest.approx(1.0)


def test_normalize_without_a_reference_compares_raw_and_says_so(tmp_path, capsys, base):
    ids = {b["extra_info"]["scenario"] for b in read()["benchmarks"]}
    no_ref = {i for i in ids if not i.startswith("os_pipe-")}
    cur = write(tmp_path / "cur.json", keep(trials(2), no_ref))
    rc, out, _ = run_compare(capsys, base, cur, "--normalize", "--all")
    assert rc == 0
    assert "lack a same-run os_pipe figure" in out
    assert "raw: no os_pipe reference" in out


# --- machine fingerprint --------------------------------------------------------------------------------


def test_different_machines_warn_loudly_and_strict_is_an_error(tmp_path, capsys):
    data = read()
    data["machine_info"]["node"] = "elsewhere"
    data["machine_info"]["ipcbench"]["cores_logical"] = 64
    other = write(tmp_path / "other.json", data)
    rc, out, err = run_compare(capsys, FIXTURE, other)
    assert rc == 0
    assert "WARNING: the two runs come from different machines" in out
    assert "host: vm vs elsewhere" in err and "cores_logical: 2 vs 64" in err
    rc, out, err = run_compare(capsys, FIXTURE, other, "--strict-machine")
    assert rc == 2
    assert out == "" and len(err.strip().splitlines()) == 1


# --- formats --------------------------------------------------------------------------------------------


def _changed_run(tmp_path):
    data = trials(2)
    for scenario, factor in ((QUEUE_TP, 1.5), (PIPE_LAT, 3.0), ("os_pipe-throughput-2p-1KiB-fork", 0.5)):
        data = slow_down(data, scenario, factor)
    return write(tmp_path / "changed.json", data)


def test_text_leads_with_what_changed_largest_first(tmp_path, capsys, base):
    rc, out, _ = run_compare(capsys, base, _changed_run(tmp_path))
    assert rc == 1
    lines = out.splitlines()
    start = lines.index("changed, largest first (3):")
    rows = lines[start + 2 : start + 5]
    assert [r.split()[0] for r in rows] == [PIPE_LAT, QUEUE_TP, "os_pipe-throughput-2p-1KiB-fork"]
    assert "unchanged (" not in out  # the 69 others only on request
    assert "geometric mean of the slowdowns: x" in out
    _, everything, _ = run_compare(capsys, base, _changed_run(tmp_path), "--all")
    assert "unchanged (69):" in everything


def test_markdown_has_a_table_per_section(tmp_path, capsys, base):
    rc, out, _ = run_compare(capsys, base, _changed_run(tmp_path), "--format", "markdown")
    assert rc == 1
    lines = out.splitlines()
    assert lines[0] == "### ipcbench compare: 2 regression(s)"
    header = "| " + " | ".join(compare_headers()) + " |"
    assert lines.count(header) == 1
    start = lines.index(header)
    assert lines[start + 1] == "|---|---|---:|---:|---:|---:|---:|---:|---|---|"  # figures right-aligned
    rows = [line for line in lines[start + 2 :] if line.startswith("|")]
    assert len(rows) == 3
    assert all(line.count(" | ") == len(compare_headers()) - 1 for line in rows)
    assert PIPE_LAT in rows[0] and "**SLOWER**" in rows[0]
    _, everything, _ = run_compare(capsys, base, _changed_run(tmp_path), "--format", "markdown", "--all")
    assert "#### unchanged (69)" in everything


def compare_headers():
    return render.HEADERS


def test_json_holds_every_pair_and_the_rules(tmp_path, capsys, base):
    rc, report = as_json(capsys, base, _changed_run(tmp_path))
    assert rc == 1
    assert {"baseline", "current", "rules", "pairs", "regressions", "counts"} <= set(report)
    assert sum(report["counts"].values()) == len(report["pairs"]) == 72
    assert report["counts"]["slower"] == 2 and report["counts"]["faster"] == 1
    assert sorted(report["regressions"]) == sorted([PIPE_LAT, QUEUE_TP])
    for pair in report["pairs"]:
        assert pair["verdict"] in gate.VERDICTS


# --- bad input ------------------------------------------------------------------------------------------


def _bad_inputs(tmp_path):
    empty = tmp_path / "empty.json"
    empty.write_text("")
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    ids = [b["extra_info"]["scenario"] for b in read()["benchmarks"]]
    a = write(tmp_path / "a.json", keep(read(), set(ids[:3])))
    b = write(tmp_path / "b.json", keep(read(), set(ids[3:6])))
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("threshold = [")
    typo_toml = tmp_path / "typo.toml"
    typo_toml.write_text('[thresholds]\nlatncy = "20%"\n')
    negative_toml = tmp_path / "negative.toml"
    negative_toml.write_text('run_sd = "-2%"\n')
    return {
        "missing file": [tmp_path / "nope.json", FIXTURE],
        "empty file": [empty, FIXTURE],
        "not json": [FIXTURE, garbage],
        "a directory": [tmp_path, FIXTURE],
        "nothing in common": [a, b],
        "bad threshold": [FIXTURE, FIXTURE, "--threshold", "ten"],
        "unknown threshold name": [FIXTURE, FIXTURE, "--threshold", "quue=10%"],
        "bad alpha": [FIXTURE, FIXTURE, "--alpha", "5"],
        "missing config": [FIXTURE, FIXTURE, "--config", tmp_path / "none.toml"],
        "bad config": [FIXTURE, FIXTURE, "--config", bad_toml],
        "typo in config": [FIXTURE, FIXTURE, "--config", typo_toml],
        "negative run share in config": [FIXTURE, FIXTURE, "--config", negative_toml],
        "bad format": [FIXTURE, FIXTURE, "--format", "html"],
        "one file only": [FIXTURE],
    }


BAD = [
    "missing file",
    "empty file",
    "not json",
    "a directory",
    "nothing in common",
    "bad threshold",
    "unknown threshold name",
    "bad alpha",
    "missing config",
    "bad config",
    "typo in config",
    "negative run share in config",
    "bad format",
    "one file only",
]


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_exit_2_with_one_line(tmp_path, capsys, case):
    rc, out, err = run_compare(capsys, *_bad_inputs(tmp_path)[case])
    assert rc == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err


# --- directories of repeated runs -----------------------------------------------------------------------


def _repeats(tmp_path, name, n=5, slow=None, factor=1.0):
    """n copies of the baseline (no trials: one sample each) with a little deterministic jitter, one
    scenario optionally slowed."""
    d = tmp_path / name
    d.mkdir()
    for i in range(n):
        data = slow_all(read(BASELINE), 1 + 0.01 * ((i * 3) % 5 - 2))
        if slow:
            data = slow_down(data, slow, factor)
        write(d / f"run{i}.json", data)
    return d


def test_directories_of_repeated_runs_are_tested_run_by_run(tmp_path, capsys):
    a, b = _repeats(tmp_path, "a"), _repeats(tmp_path, "b")
    rc, report = as_json(capsys, a, b)
    assert rc == 0
    assert set(verdicts(report).values()) == {"same"}
    assert all(p["samples"] == [5, 5] for p in report["pairs"])
    assert "per-run figures" in report["rules"]["text"]
    slow = _repeats(tmp_path, "slow", slow=QUEUE_TP, factor=2.0)
    rc, report = as_json(capsys, a, slow)
    assert rc == 1
    assert report["regressions"] == [QUEUE_TP]


def test_each_run_is_one_sample_however_many_trials_it_has(tmp_path, capsys):
    """Runs whose trials agree closely but whose whole-run figures differ by ~8% (the machine's mood):
    pooled trials would call those offsets significant; one sample per run (its median of trials) does
    not, and still finds a real 2x slowdown."""
    a, b, slow = tmp_path / "a", tmp_path / "b", tmp_path / "slow"
    for d in (a, b, slow):
        d.mkdir()
    offsets = [0.08, -0.06, 0.02, -0.09, 0.05]
    for i, off in enumerate(offsets):
        write(a / f"r{i}.json", trials(10 + i, cv=0.01, offset=off))
        write(b / f"r{i}.json", trials(20 + i, cv=0.01, offset=-off * 0.9))
        write(slow / f"r{i}.json", slow_down(trials(30 + i, cv=0.01, offset=off), QUEUE_TP, 2.0))
    rc, report = as_json(capsys, a, b, "--threshold", "50%")
    assert rc == 0
    pair = pair_of(report, QUEUE_TP)
    assert pair["samples"] == [5, 5]
    assert pair["verdict"] == "same"
    rc, report = as_json(capsys, a, slow, "--threshold", "50%")
    assert report["regressions"] == [QUEUE_TP]


def test_three_repeated_runs_a_side_are_tested_too(tmp_path, capsys):
    a, b = _repeats(tmp_path, "a", n=3), _repeats(tmp_path, "b", n=3, slow=QUEUE_TP, factor=1.5)
    rc, report = as_json(capsys, a, b)
    assert rc == 1
    pair = pair_of(report, QUEUE_TP)
    assert pair["samples"] == [3, 3]
    assert pair["verdict"] == "slower"


@pytest.mark.parametrize("case", ["file against directory", "empty directory"])
def test_directories_bad_input_is_exit_2_with_one_line(tmp_path, capsys, case):
    empty = tmp_path / "empty"
    empty.mkdir()
    argv = {
        "file against directory": [FIXTURE, _repeats(tmp_path, "a", n=2)],
        "empty directory": [empty, empty],
    }
    rc, out, err = run_compare(capsys, *argv[case])
    assert rc == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err


def test_repeated_runs_are_normalized_each_by_its_own_os_pipe(tmp_path, capsys):
    """Each run on a machine of a different speed: raw, 1.5x to 3x slower; as ratios to each run's own
    os_pipe, every run's figure is the baseline's again."""
    base, cur = tmp_path / "base", tmp_path / "cur"
    base.mkdir()
    cur.mkdir()
    for i, factor in enumerate([1.5, 2.0, 3.0, 2.5, 1.8]):
        write(base / f"run{i}.json", read(BASELINE))
        write(cur / f"run{i}.json", slow_all(read(BASELINE), factor))
    _, report = as_json(capsys, base, cur)
    assert all(p["slowdown"] == pytest.approx(2.0) for p in report["pairs"])  # the median run's 2x
    rc, report = as_json(capsys, base, cur, "--normalize")
    assert rc == 0
    assert all(p["ratio"] == pytest.approx(1.0) for p in report["pairs"])


def test_start_up_is_judged_per_start_not_per_round(tmp_path, capsys):
    """A round is a calibrated batch of starts; the figure is one start, each trial's own p50."""
    data = with_trials(one_sided(read(), "first_pipe", "startup", op_p50_ns=62_000), n=6, cv=0.02, seed=1)
    path = write(tmp_path / "startup.json", data)
    sid = data["benchmarks"][-1]["extra_info"]["scenario"]
    fig = compare.figure_of(runs.load_run(path).rows[sid])
    assert (fig.metric, fig.unit) == ("start-up", "ms")
    assert fig.value == pytest.approx(0.062, rel=0.05)
    assert fig.p99 == pytest.approx(0.124)
    assert len(fig.samples) == 6
    twice = slow_down(
        with_trials(one_sided(read(), "first_pipe", "startup", op_p50_ns=62_000), seed=2, cv=0.02), sid, 2.0
    )
    _, report = as_json(capsys, path, write(tmp_path / "twice.json", twice))
    pair = pair_of(report, sid)
    assert (pair["verdict"], pair["current"]) == ("slower", pytest.approx(0.124, rel=0.05))


def test_one_sided_patterns_count_operations(tmp_path):
    path = write(tmp_path / "ops.json", one_sided(read(), "value_lock", "shared_state"))
    row = runs.load_run(path).rows["value_lock-shared_state-2p-8B-fork"]
    fig = compare.figure_of(row)
    assert (fig.metric, fig.unit) == ("ops/s", "ops/s")


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (999_600, "msgs/s", "1M"),
        (243_500, "ops/s", "244k"),
        (12_345.6, "µs", "12300"),
        (0.0615, "ms", "0.0615"),
    ],
)
def test_values_never_print_an_exponent(value, unit, text):
    assert render.fmt_value(value, unit) == text
