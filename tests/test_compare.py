"""``ipcbench compare``: the gate judged on real saved runs, some made slower or faster on purpose."""

import dataclasses
import json
import subprocess
import sys

import pytest
from synthetic import BASELINE, FIXTURE, ROOT, bench, keep, one_sided, read, slow_all, slow_down, write

from ipcbench import compare
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


# --- A/A --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [FIXTURE, BASELINE], ids=["quick-fixture", "committed-baseline"])
def test_a_file_with_itself_is_no_regression(capsys, path):
    rc, report = as_json(capsys, path, path)
    assert rc == 0
    assert report["regressions"] == []
    assert set(verdicts(report).values()) == {"same"}
    assert report["machine_differences"] == []


def test_a_real_tiny_run_is_judged_by_the_stated_fallback(tmp_path, capsys):
    """A real run against itself is the same; three times slower is a regression.

    Three rounds a side cannot reach p < 0.05, so the stated fallback (ratio beyond 2x the threshold)
    decides.  The slower run is the same run with every round made slower on purpose, so nothing here
    rests on the timing of a loaded machine.
    """
    path = tmp_path / "a.json"
    cmd = [sys.executable, "-m", "ipcbench", "run", "--mechanism", "pipe_bytes", "--mechanism", "os_pipe"]
    cmd += ["--pattern", "throughput", "--payload", "1KiB", "--processes", "2"]
    cmd += ["--rounds", "3", "--round-time", "0.002", "-o", str(path)]
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, timeout=120)
    rc, report = as_json(capsys, path, path)
    assert rc == 0
    assert len(report["pairs"]) == 2
    assert set(verdicts(report).values()) == {"same"}
    assert all(p["rule"] == "ratio" and "too few for the test" in p["note"] for p in report["pairs"])
    slow = write(tmp_path / "slow.json", slow_all(read(path), 3.0))
    rc, report = as_json(capsys, path, slow)
    assert rc == 1
    assert set(verdicts(report).values()) == {"slower"}


# --- direction and size -------------------------------------------------------------------------------


def test_throughput_twice_slower_is_a_regression_naming_it(tmp_path, capsys):
    slow = write(tmp_path / "slow.json", slow_down(read(), QUEUE_TP, 2.0))
    rc, out, err = run_compare(capsys, FIXTURE, slow)
    assert rc == 1
    assert err.strip().splitlines()[-1] == f"ipcbench compare: regression in {QUEUE_TP}"
    assert f"REGRESSION in 1: {QUEUE_TP}" in out
    _, report = as_json(capsys, FIXTURE, slow)
    assert report["regressions"] == [QUEUE_TP]
    pair = next(p for p in report["pairs"] if p["scenario"] == QUEUE_TP)
    assert pair["ratio"] == pytest.approx(0.5)
    assert pair["slowdown"] == pytest.approx(2.0)
    assert pair["p_value"] < 0.05


def test_lower_is_better_is_judged_the_right_way_round(tmp_path, capsys):
    slower = write(tmp_path / "slower.json", slow_down(read(), PIPE_LAT, 2.0))
    faster = write(tmp_path / "faster.json", slow_down(read(), PIPE_LAT, 0.5))
    rc, report = as_json(capsys, FIXTURE, slower)
    assert rc == 1
    assert report["regressions"] == [PIPE_LAT]
    assert verdicts(report)[PIPE_LAT] == "slower"
    rc, report = as_json(capsys, FIXTURE, faster)
    assert rc == 0
    assert verdicts(report)[PIPE_LAT] == "faster"
    pair = next(p for p in report["pairs"] if p["scenario"] == PIPE_LAT)
    assert pair["ratio"] == pytest.approx(0.5)  # p50 halved
    # 900 round trips are too few for a p99 (ten beyond it need 1,000): nothing to compare.
    assert bench(read(), PIPE_LAT)["extra_info"]["rtt_ns"]["count"] < 1000
    assert pair["p99_ratio"] is None


def test_throughput_twice_faster_is_faster(tmp_path, capsys):
    fast = write(tmp_path / "fast.json", slow_down(read(), QUEUE_TP, 0.5))
    rc, report = as_json(capsys, FIXTURE, fast)
    assert rc == 0
    assert verdicts(report)[QUEUE_TP] == "faster"


def test_small_change_is_same_even_when_significant(tmp_path, capsys):
    a_bit = write(tmp_path / "bit.json", slow_down(read(), QUEUE_TP, 1.05))
    rc, report = as_json(capsys, FIXTURE, a_bit)
    assert rc == 0
    pair = next(p for p in report["pairs"] if p["scenario"] == QUEUE_TP)
    assert pair["verdict"] == "same"


def test_report_only_prints_the_regression_and_exits_0(tmp_path, capsys):
    slow = write(tmp_path / "slow.json", slow_down(read(), QUEUE_TP, 2.0))
    rc, out, _ = run_compare(capsys, FIXTURE, slow, "--report-only")
    assert rc == 0
    assert "SLOWER" in out and QUEUE_TP in out


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
def test_per_pattern_and_per_mechanism_thresholds(tmp_path, capsys, thresholds, rc):
    slow = write(tmp_path / "slow.json", slow_down(read(), QUEUE_TP, 1.5))
    args = [a for t in thresholds for a in ("--threshold", t)]
    assert as_json(capsys, FIXTURE, slow, *args)[0] == rc


def test_thresholds_from_a_config_file(tmp_path, capsys):
    slow = write(tmp_path / "slow.json", slow_down(read(), QUEUE_TP, 1.5))
    cfg = tmp_path / "gate.toml"
    cfg.write_text('alpha = 0.04\nthreshold = "10%"\n[thresholds]\nthroughput = "60%"\n')
    rc, report = as_json(capsys, FIXTURE, slow, "--config", cfg)
    assert rc == 0
    assert report["rules"]["alpha"] == 0.04
    assert report["rules"]["thresholds"] == {"throughput": 60.0}
    # the command line goes on top of the file
    assert as_json(capsys, FIXTURE, slow, "--config", cfg, "--threshold", "queue=20%")[0] == 1


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


# --- few or no samples --------------------------------------------------------------------------------


def _truncate(data, rounds):
    for b in data["benchmarks"]:
        b["stats"]["data"] = b["stats"]["data"][:rounds]
    return data


@pytest.mark.parametrize(("factor", "verdict"), [(1.15, "same"), (1.3, "slower")])
def test_too_few_rounds_fall_back_to_the_stated_ratio_rule(tmp_path, capsys, factor, verdict):
    base = write(tmp_path / "base.json", _truncate(read(), 2))
    cur = write(tmp_path / "cur.json", _truncate(slow_down(read(), QUEUE_TP, factor), 2))
    _, report = as_json(capsys, base, cur)
    pair = next(p for p in report["pairs"] if p["scenario"] == QUEUE_TP)
    assert pair["verdict"] == verdict
    assert pair["rule"] == "ratio"
    assert "2 vs 2 rounds, too few for the test: ratio alone, beyond 20%" in pair["note"]
    assert "ratio alone decides" in report["rules"]["text"]


def test_missing_samples_fall_back_too(tmp_path, capsys):
    data = slow_down(read(), QUEUE_TP, 3.0)
    del bench(data, QUEUE_TP)["stats"]["data"]
    cur = write(tmp_path / "cur.json", data)
    rc, report = as_json(capsys, FIXTURE, cur)
    assert rc == 1
    pair = next(p for p in report["pairs"] if p["scenario"] == QUEUE_TP)
    assert pair["note"].startswith("no per-round samples")


def test_three_rounds_a_side_cannot_be_significant_so_the_fallback_decides():
    assert compare.min_p_value(3, 3) == pytest.approx(0.1)
    assert compare.min_p_value(5, 5) == pytest.approx(2 / 252)


# --- pairing --------------------------------------------------------------------------------------------


def test_pairs_by_scenario_not_position(tmp_path, capsys):
    data = read()
    data["benchmarks"].reverse()
    rc, report = as_json(capsys, FIXTURE, write(tmp_path / "rev.json", data))
    assert rc == 0
    assert set(verdicts(report).values()) == {"same"}


def test_new_and_gone(tmp_path, capsys):
    ids = {b["extra_info"]["scenario"] for b in read()["benchmarks"]}
    base = write(tmp_path / "base.json", keep(read(), ids - {QUEUE_TP}))
    cur = write(tmp_path / "cur.json", keep(read(), ids - {PIPE_LAT}))
    rc, report = as_json(capsys, base, cur)
    assert rc == 0
    assert verdicts(report)[QUEUE_TP] == "new"
    assert verdicts(report)[PIPE_LAT] == "gone"


def test_normalize_divides_by_the_same_runs_os_pipe(tmp_path, capsys):
    """A whole run 2x slower (another machine) is a regression raw, and none as a ratio to os_pipe."""
    slow = write(tmp_path / "slow.json", slow_all(read(), 2.0))
    assert as_json(capsys, FIXTURE, slow)[0] == 1
    rc, report = as_json(capsys, FIXTURE, slow, "--normalize")
    assert rc == 0
    assert report["normalized"] is True
    pair = next(p for p in report["pairs"] if p["scenario"] == QUEUE_TP)
    assert pair["unit"] == "x os_pipe"
    assert pair["ratio"] == pytest.approx(1.0)


def test_normalize_without_a_reference_compares_raw_and_says_so(tmp_path, capsys):
    ids = {b["extra_info"]["scenario"] for b in read()["benchmarks"]}
    no_ref = {i for i in ids if not i.startswith("os_pipe-")}
    cur = write(tmp_path / "cur.json", keep(read(), no_ref))
    rc, out, _ = run_compare(capsys, FIXTURE, cur, "--normalize")
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


def test_markdown_is_a_table_of_every_pair(tmp_path, capsys):
    slow = write(tmp_path / "slow.json", slow_down(read(), QUEUE_TP, 2.0))
    rc, out, _ = run_compare(capsys, FIXTURE, slow, "--format", "markdown")
    assert rc == 1
    lines = out.splitlines()
    assert lines[0] == "### ipcbench compare: 1 regression(s)"
    header = lines.index("| scenario | metric | baseline | current | ratio | p | verdict | note |")
    rows = [line for line in lines[header + 2 :] if line.startswith("|")]
    assert len(rows) == len(read()["benchmarks"])
    assert all(line.count(" | ") == 7 for line in rows)
    assert any(QUEUE_TP in r and "**SLOWER**" in r for r in rows)


def test_json_holds_every_pair_and_the_rules(capsys):
    rc, report = as_json(capsys, FIXTURE, BASELINE)
    slower = [p["scenario"] for p in report["pairs"] if p["verdict"] == "slower"]
    assert [p["scenario"] for p in report["regressions"]] == slower
    assert rc == (1 if slower else 0)
    assert {"baseline", "current", "rules", "pairs", "regressions", "counts"} <= set(report)
    assert sum(report["counts"].values()) == len(report["pairs"])
    for pair in report["pairs"]:
        assert pair["verdict"] in compare.VERDICTS


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


# --- the statistics -------------------------------------------------------------------------------------

# Reference values from scipy.stats.mannwhitneyu (method="auto", two-sided), computed once.
MWU_CASES = [
    ([1, 2, 3, 4, 5], [6, 7, 8, 9, 10], 0.0, 0.007936507936507936),
    ([1.1, 2.5, 3, 4.2, 5, 7], [2, 6, 8, 9, 10, 11, 12], 6.0, 0.03496503496503497),
    ([1, 1, 2, 2, 3], [2, 3, 3, 4, 4, 5], 3.0, 0.031633423039876964),
    ([3.0, 1.0, 2.0], [3.0, 1.0, 2.0], 4.5, 1.0),
]


@pytest.mark.parametrize(("x", "y", "u", "p"), MWU_CASES)
def test_mann_whitney_u_matches_scipy(x, y, u, p):
    got_u, got_p = compare.mann_whitney_u(x, y)
    assert got_u == pytest.approx(u)
    assert got_p == pytest.approx(p, rel=1e-9)


def test_mann_whitney_u_large_samples_use_the_normal_approximation():
    x = [float(i) for i in range(30)]
    y = [float(i) + 0.5 for i in range(10, 40)]
    u, p = compare.mann_whitney_u(x, y)
    assert u == pytest.approx(190.0)
    assert p == pytest.approx(0.00012477053789099933, rel=1e-9)


# --- directories of repeated runs -----------------------------------------------------------------------


def _repeats(tmp_path, name, n=5, slow=None, factor=1.0):
    """n copies of the fixture with a little deterministic jitter, one scenario optionally slowed."""
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
    assert "per-run samples" in report["rules"]["text"]
    slow = _repeats(tmp_path, "slow", slow=QUEUE_TP, factor=2.0)
    rc, report = as_json(capsys, a, slow)
    assert rc == 1
    assert report["regressions"] == [QUEUE_TP]


def test_three_repeated_runs_a_side_fall_back_to_the_ratio_rule(tmp_path, capsys):
    a, b = _repeats(tmp_path, "a", n=3), _repeats(tmp_path, "b", n=3, slow=QUEUE_TP, factor=1.5)
    rc, report = as_json(capsys, a, b)
    assert rc == 1
    pair = next(p for p in report["pairs"] if p["scenario"] == QUEUE_TP)
    assert pair["rule"] == "ratio"
    assert pair["note"].startswith("3 vs 3 runs, too few for the test")


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
    """Each run on a machine of a different speed: raw, a regression; as ratios to each run's own
    os_pipe, every run's figure is the baseline's again."""
    base, cur = tmp_path / "base", tmp_path / "cur"
    base.mkdir()
    cur.mkdir()
    for i, factor in enumerate([1.5, 2.0, 3.0, 2.5, 1.8]):
        write(base / f"run{i}.json", read(BASELINE))
        write(cur / f"run{i}.json", slow_all(read(BASELINE), factor))
    assert as_json(capsys, base, cur)[0] == 1
    rc, report = as_json(capsys, base, cur, "--normalize")
    assert rc == 0
    assert all(p["ratio"] == pytest.approx(1.0) for p in report["pairs"])


# --- what a figure is -----------------------------------------------------------------------------


def test_start_up_is_judged_per_start_not_per_round(tmp_path, capsys):
    """A round is a calibrated batch of starts; the figure is one start, its own p50."""
    data = one_sided(read(), "first_pipe", "startup", op_p50_ns=62_000)
    path = write(tmp_path / "startup.json", data)
    b = data["benchmarks"][-1]
    row = compare.load_run(path).rows[b["extra_info"]["scenario"]]
    fig = compare.figure_of(row)
    assert (fig.metric, fig.unit) == ("start-up", "ms")
    assert fig.value == pytest.approx(0.062)
    assert fig.p99 == pytest.approx(0.124)
    per_start = [d / b["extra_info"]["messages"] * 1000 for d in b["stats"]["data"]]
    assert fig.samples == pytest.approx(per_start)
    twice = slow_down(data, b["extra_info"]["scenario"], 2.0)
    _, report = as_json(capsys, path, write(tmp_path / "twice.json", twice))
    pair = next(p for p in report["pairs"] if p["scenario"] == b["extra_info"]["scenario"])
    assert (pair["verdict"], pair["current"]) == ("slower", pytest.approx(0.124))


def test_one_sided_patterns_count_operations(tmp_path):
    path = write(tmp_path / "ops.json", one_sided(read(), "value_lock", "shared_state"))
    row = compare.load_run(path).rows["value_lock-shared_state-2p-8B-fork"]
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
    assert compare.fmt_value(value, unit) == text
