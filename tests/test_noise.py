"""``ipcbench noise``: per scenario, the machine's spread and what the gate can detect; its thresholds
file read back by ``compare --config``."""

import json
import math
import statistics
import tomllib

import pytest
from synthetic import FIXTURE, read, slow_down, with_trials, write

from ipcbench import noise
from ipcbench.cli import main
from ipcbench.gate import read_config

QUEUE_TP = "queue-throughput-2p-1KiB-fork"
PIPE_TP = "pipe_bytes-throughput-2p-1KiB-fork"


def cvs(quiet=0.02, loud=0.15):
    """Every scenario at ``quiet`` trial noise but queue throughput, at ``loud``."""
    out = {b["extra_info"]["scenario"]: quiet for b in read()["benchmarks"]}
    out[QUEUE_TP] = loud
    return out


def repeated(tmp_path, n=6, trials=5, run_share=0.0, name="runs"):
    d = tmp_path / name
    d.mkdir()
    return [
        write(d / f"r{i}.json", with_trials(read(), n=trials, cv=cvs(), seed=i, run_share=run_share))
        for i in range(n)
    ]


def test_noise_writes_thresholds_that_compare_reads(tmp_path, capsys):
    files = repeated(tmp_path)
    out = tmp_path / "gate.toml"
    rc = main(["noise", *map(str, files), "-o", str(out)])
    printed = capsys.readouterr().out
    assert rc == 0
    assert f"wrote {out}" in printed
    written = tomllib.loads(out.read_text())["scenarios"]
    assert len(written) == len(read()["benchmarks"])
    config = read_config(out)
    assert config.alpha == 0.05
    # the noisy scenario needs a larger change to show than the quiet ones
    assert config.scenarios[QUEUE_TP] > 3 * config.scenarios[PIPE_TP]
    # compare reads them: each pair judged at its own threshold, the quiet ones judged, not too noisy
    slow = write(tmp_path / "slow.json", slow_down(with_trials(read(), n=5, cv=cvs(), seed=99), PIPE_TP, 1.5))
    rc = main(["compare", str(files[0]), str(slow), "--config", str(out), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    pairs = {p["scenario"]: p for p in report["pairs"]}
    assert pairs[PIPE_TP]["threshold"] == config.scenarios[PIPE_TP]
    assert pairs[QUEUE_TP]["threshold"] == config.scenarios[QUEUE_TP]
    assert report["counts"]["noisy"] <= len(pairs) // 10
    assert report["regressions"] == [PIPE_TP]
    assert rc == 1
    # What whole runs add, measured per scenario, replaces the default guess.
    assert set(config.run_sds) == set(written)
    assert all(0 <= v < 0.05 for v in config.run_sds.values())


def test_a_measured_run_share_widens_the_compare(tmp_path, capsys):
    """The same pair of files judged with whole runs known to add 15% to a scenario: its figure moves
    more between reruns than the threshold, so it is too noisy to judge instead of a regression."""
    base = write(tmp_path / "a.json", with_trials(read(), n=5, cv=cvs(), seed=1))
    slow = write(tmp_path / "b.json", slow_down(with_trials(read(), n=5, cv=cvs(), seed=2), PIPE_TP, 1.3))
    moody = tmp_path / "moody.toml"
    moody.write_text(f'[run_sds]\n"{PIPE_TP}" = "15%"\n')

    def verdict(*extra):
        main(["compare", str(base), str(slow), "--format", "json", *extra])
        pairs = {p["scenario"]: p for p in json.loads(capsys.readouterr().out)["pairs"]}
        return pairs[PIPE_TP]["verdict"]

    assert verdict() == "slower"
    assert verdict("--config", str(moody)) == "noisy"


def test_the_estimates_are_those_of_the_noise_put_in(tmp_path):
    files = repeated(tmp_path, n=8, trials=6)
    got = {x.scenario: x for x in noise.measure(files, 0.05, None)[0]}
    assert got[QUEUE_TP].trial_sd == pytest.approx(0.15, rel=0.25)
    assert got[PIPE_TP].trial_sd == pytest.approx(0.02, rel=0.25)
    assert got[PIPE_TP].runs == 8 and got[PIPE_TP].trials == 48


def test_whole_runs_luck_raises_the_threshold(tmp_path):
    """Runs that differ by more than their trials predict: a compare of two files cannot see it in its
    trials, so the threshold must cover it."""
    calm = {x.scenario: x for x in noise.measure(repeated(tmp_path, n=8), 0.05, 5)[0]}
    moody = {
        x.scenario: x for x in noise.measure(repeated(tmp_path, n=8, run_share=3.0, name="moody"), 0.05, 5)[0]
    }
    assert moody[PIPE_TP].run_sd > 0.03 > (calm[PIPE_TP].run_sd or 0.0)
    assert moody[PIPE_TP].threshold > 2 * calm[PIPE_TP].threshold


def test_one_runs_trials_are_enough(tmp_path, capsys):
    one = repeated(tmp_path, n=1)
    assert main(["noise", str(one[0])]) == 0
    (x,) = [x for x in noise.measure(one, 0.05, None)[0] if x.scenario == PIPE_TP]
    assert x.run_sd is None and x.runs == 1 and x.trials == 5
    assert "run sd" in capsys.readouterr().out


def test_more_trials_resolve_smaller_changes(tmp_path):
    files = repeated(tmp_path)
    five = {x.scenario: x.mdc for x in noise.measure(files, 0.05, 5)[0]}
    ten = {x.scenario: x.mdc for x in noise.measure(files, 0.05, 10)[0]}
    assert all(ten[s] < five[s] for s in five)
    assert all(math.isfinite(v) for v in five.values())


def test_repeats_size_thresholds_for_directories_of_runs(tmp_path, capsys):
    """Directories of five runs a side average whole runs: they resolve less than two files of five
    trials, and the thresholds file says which compare it was sized for.  Whole runs' luck widens both."""
    files = repeated(tmp_path, n=8)
    as_files = {x.scenario: x.mdc for x in noise.measure(files, 0.05, 5)[0]}
    as_dirs = {x.scenario: x.mdc for x in noise.measure(files, 0.05, 5, repeats=5)[0]}
    quiet = [s for s in as_files if s != QUEUE_TP]
    assert statistics.median(as_dirs[s] for s in quiet) < 0.8 * statistics.median(as_files[s] for s in quiet)
    assert as_dirs[QUEUE_TP] > 5 * statistics.median(as_dirs[s] for s in quiet)  # the loud one stays loud
    moody = repeated(tmp_path, n=8, run_share=3.0, name="moody")
    by_run = {x.scenario: x.mdc for x in noise.measure(moody, 0.05, 5, repeats=5)[0]}
    assert statistics.median(by_run[s] for s in quiet) > 2 * statistics.median(as_dirs[s] for s in quiet)
    out = tmp_path / "gate.toml"
    assert main(["noise", *map(str, files), "--repeats", "5", "-o", str(out)]) == 0
    assert "two directories of 5 runs" in capsys.readouterr().out
    assert "two directories of 5 runs" in out.read_text()
    assert read_config(out).scenarios[PIPE_TP] == math.ceil(as_dirs[PIPE_TP] * noise.MARGIN)


@pytest.mark.parametrize(
    "case", ["no trials, one run", "missing file", "bad alpha", "too few trials", "repeats 1", "two runs"]
)
def test_bad_input_is_exit_2_with_one_line(tmp_path, capsys, case):
    argv = {
        "no trials, one run": [str(FIXTURE)],
        "missing file": [str(tmp_path / "nope.json")],
        "bad alpha": [str(FIXTURE), "--alpha", "2"],
        "too few trials": [str(FIXTURE), "--trials", "1"],
        "repeats 1": [str(FIXTURE), "--repeats", "1"],
        "two runs": [*map(str, repeated(tmp_path, n=2)), "--repeats", "5"],
    }[case]
    rc = main(["noise", *argv])
    out, err = capsys.readouterr()
    assert rc == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
