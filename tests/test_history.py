"""``ipcbench history``: ordering, step detection and the pages, on synthetic series of a real run."""

import math
import random
import re

import pytest
from synthetic import BASELINE, read, slow_all, slow_down, with_trials, write

from ipcbench import table
from ipcbench.cli import main
from ipcbench.gate import Rules
from ipcbench.history import detect_steps, find_steps, load_runs, series

QUEUE_TP = "queue-throughput-2p-1KiB-fork"
PIPE_TP = "pipe_bytes-throughput-2p-1KiB-fork"
OS_LAT = "os_pipe-latency-2p-1KiB-fork"


@pytest.mark.parametrize(
    ("values", "higher", "expected"),
    [
        ([10, 10, 10, 5, 5, 5], True, [(3, 10, 5, 2.0)]),
        ([1, 1, 1, 2, 2, 2], False, [(3, 1, 2, 2.0)]),
        ([10, 10, 10, 20, 20, 20], True, []),  # got better
        ([10, 11, 9, 10, 10.5, 9.5, 10], True, []),  # noise within the threshold
        ([10, 10, 10, 2, 10, 10, 10], True, []),  # one bad run
        ([10, 10, 10, 5, 5, 10, 10, 10, 10, 10], True, []),  # a bad patch that recovered
        ([10, 10, 5, 5, 5], True, []),  # fewer than 2k runs
    ],
)
def test_detect_steps(values, higher, expected):
    assert detect_steps([float(v) for v in values], higher, 10.0, 3) == expected


def test_of_neighbouring_candidates_one_is_reported_the_largest_and_earliest():
    values = [10.0, 10.0, 10.0, 8.0, 5.0, 5.0, 5.0, 5.0]  # runs 3 and 4 both qualify, with equal medians
    assert detect_steps(values, True, 10.0, 3) == [(3, 10.0, 5.0, 2.0)]
    values = [10.0, 10.0, 10.0, 9.5, 9.0, 4.0, 4.0, 4.0, 4.0]  # 3, 4 and 5 qualify: 10 -> 4 at run 4
    assert detect_steps(values, True, 10.0, 3) == [(4, 10.0, 4.0, 2.5)]


def make_history(tmp_path, n=8, step_at=4):
    """n runs of the committed baseline with a little deterministic jitter; queue throughput halves at
    ``step_at`` and stays; pipe_bytes throughput has a bad patch that recovers; os_pipe latency one spike.
    File names run against time, so only the commit times can order them."""
    d = tmp_path / "runs"
    d.mkdir()
    for i in range(n):
        data = slow_all(read(BASELINE), 1 + 0.02 * ((i * 7) % 5 - 2) / 2)
        if i >= step_at:
            data = slow_down(data, QUEUE_TP, 2.0)
        if i in (2, 3):
            data = slow_down(data, PIPE_TP, 2.0)
        if i == 5:
            data = slow_down(data, OS_LAT, 3.0)
        data["commit_info"]["id"] = f"{i:07d}" + "0" * 33
        data["commit_info"]["time"] = f"2026-11-{10 + i:02d}T12:00:00+00:00"
        data["datetime"] = f"2026-11-{10 + i:02d}T13:00:00+00:00"
        write(d / f"run-{n - i:02d}.json", data)
    return d


def test_history_finds_the_injected_step_and_only_it(tmp_path, capsys):
    runs = make_history(tmp_path)
    out = tmp_path / "page"
    rc = main(["history", str(runs), "-o", str(out)])
    stdout, err = capsys.readouterr()
    assert rc == 0, err
    assert "8 runs, 1 step(s)" in stdout
    assert f"step: {QUEUE_TP} msgs/s at #4 0000004" in stdout
    # Figures of 10^4 and more read with an SI prefix, never as 1.219e+05.
    step = next(line for line in stdout.splitlines() if line.lstrip().startswith("step:"))
    assert re.search(r": \d+(\.\d+)?k -> \d+(\.\d+)?k msgs/s \(\+100% slower\)", step), step
    md = (out / "history.md").read_text()
    assert "## Steps (1)" in md
    assert f"| {QUEUE_TP} | msgs/s | #4 0000004 |" in md
    assert "|---|---|---|---:|---:|---:|---:|" in md  # the figures right-aligned
    assert "+100% slower" in md
    # oldest first, by commit time (the file names run the other way)
    assert md.index("| #0 0000000 | run-08.json") < md.index("| #7 0000007 | run-01.json")
    page = (out / "index.html").read_text()
    assert page.count("data:image/png;base64,") == 3  # one chart per mechanism, embedded
    assert "src='http" not in page and 'src="http' not in page
    assert table.STYLESHEET in page  # the report's stylesheet: one look for both pages
    assert '<td class="num">+100% slower</td>' in page
    assert sorted(p.name for p in out.glob("*.png")) == ["os_pipe.png", "pipe_bytes.png", "queue.png"]


def test_history_thresholds_per_pattern(tmp_path, capsys):
    runs = make_history(tmp_path)
    rc = main(["history", str(runs), "-o", str(tmp_path / "page"), "--threshold", "throughput=150%"])
    assert rc == 0
    assert "0 step(s)" in capsys.readouterr().out


def test_history_skips_unreadable_files_and_names_them(tmp_path, capsys):
    runs = make_history(tmp_path, n=3)
    (runs / "broken.json").write_text("{")
    rc = main(["history", str(runs), "-o", str(tmp_path / "page")])
    out, err = capsys.readouterr()
    assert rc == 0
    assert "3 runs, 0 step(s)" in out
    assert "skipped" in err and "broken.json" in err
    assert "Too few runs for step detection" in (tmp_path / "page" / "history.md").read_text()


@pytest.mark.parametrize("case", ["missing dir", "empty dir", "only garbage", "bad window", "bad threshold"])
def test_bad_input_is_exit_2_with_one_line(tmp_path, capsys, case):
    empty = tmp_path / "empty"
    empty.mkdir()
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "x.json").write_text("nope")
    argv = {
        "missing dir": [str(tmp_path / "nope")],
        "empty dir": [str(empty)],
        "only garbage": [str(garbage)],
        "bad window": [str(garbage), "--window", "0"],
        "bad threshold": [str(garbage), "--threshold", "x"],
    }[case]
    rc = main(["history", *argv, "-o", str(tmp_path / "page")])
    out, err = capsys.readouterr()
    assert rc == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err


# --- realistic noise: honest runs, and a real step ------------------------------------------------------


def trial_noise(seed):
    """Each scenario's trial-to-trial spread, as measured on a quiet 2-CPU VM: a median near 11%,
    some at 3%, a tail to 50%; the stepped scenario at 10%."""
    rng = random.Random(seed)
    ids = [b["extra_info"]["scenario"] for b in read()["benchmarks"]]
    out = {i: min(0.5, max(0.03, math.exp(rng.gauss(math.log(0.11), 0.6)))) for i in ids}
    out[QUEUE_TP] = 0.10
    return out


def noisy_history(tmp_path, seed, step_at=None, n=10, outlier=None):
    """n runs of 5 trials a scenario: trial noise from :func:`trial_noise`, each scenario's own run
    offset (a quarter of its trial noise), optionally one whole run 30% off, and optionally queue
    throughput 25% lower (x0.75 msgs/s) from run ``step_at`` on."""
    d = tmp_path / f"runs-{seed}-{step_at}"
    d.mkdir()
    cv = trial_noise(seed)
    for i in range(n):
        off = math.log(0.7) if i == outlier else 0.0
        data = with_trials(read(), n=5, cv=cv, seed=seed * 100 + i, offset=off, run_share=0.25)
        if step_at is not None and i >= step_at:
            data = slow_down(data, QUEUE_TP, 1 / 0.75)
        data["commit_info"]["time"] = f"2026-11-{10 + i:02d}T12:00:00+00:00"
        write(d / f"run-{i:02d}.json", data)
    return d


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ten_honest_runs_print_no_step(tmp_path, capsys, seed):
    """Unchanged code, realistic noise and one whole run 30% off: the medians rule alone finds steps
    here; with the test and the family's control, none is printed."""
    runs = noisy_history(tmp_path, seed, outlier=6)
    loaded, _ = load_runs(runs)
    rules = Rules()
    unchecked = [
        sid
        for sid, points in series(loaded).items()
        if detect_steps([f.value for _, f in points], points[0][1].higher_is_better, 10.0, 3)
    ]
    assert unchecked  # what the medians rule alone would have printed
    assert find_steps(loaded, rules, 3) == []
    rc = main(["history", str(runs), "-o", str(tmp_path / "page")])
    out = capsys.readouterr().out
    assert rc == 0
    assert "10 runs, 0 step(s)" in out
    assert "step:" not in out


def test_a_real_25_percent_step_that_persists_is_found(tmp_path, capsys):
    runs = noisy_history(tmp_path, 0, step_at=5)
    rc = main(["history", str(runs), "-o", str(tmp_path / "page")])
    out = capsys.readouterr().out
    assert rc == 0
    steps = [line for line in out.splitlines() if line.strip().startswith("step:")]
    assert len(steps) == 1
    assert steps[0].strip().startswith(f"step: {QUEUE_TP} msgs/s at #5")


def with_host(data, reading, seed):
    """Every trial with the host's reading (``canary_ns``) it saved: ``reading`` ns, give or take 2%."""
    rng = random.Random(seed)
    for b in data["benchmarks"]:
        for trial in b["extra_info"]["trials"]:
            trial["canary_ns"] = reading * math.exp(rng.gauss(0, 0.02))
    return data


def hosted_history(tmp_path, host_step, n=10, step_at=5):
    """``noisy_history``'s queue step at ``step_at``, each run's trials with host readings: steady, or
    30% slower from the step's run on (``host_step``)."""
    d = tmp_path / f"hosted-{host_step}"
    d.mkdir()
    cv = trial_noise(0)
    for i in range(n):
        data = with_trials(read(), n=5, cv=cv, seed=i, run_share=0.25)
        if i >= step_at:
            data = slow_down(data, QUEUE_TP, 1 / 0.75)
        slower = 1.3 if host_step and i >= step_at else 1.0
        data = with_host(data, 150_000 * slower * math.exp(random.Random(-i).gauss(0, 0.02)), seed=i)
        data["commit_info"]["time"] = f"2026-11-{10 + i:02d}T12:00:00+00:00"
        write(d / f"run-{i:02d}.json", data)
    return d


def test_a_step_where_the_host_itself_stepped_is_not_taken_for_the_codes(tmp_path):
    """The host read 30% slower from the run the figure stepped: the step is judged beside each run's
    host level, which explains it as well; on a steady host the same step is found."""
    found = {}
    for host_step in (False, True):
        loaded, _ = load_runs(hosted_history(tmp_path, host_step))
        found[host_step] = [s.scenario for s in find_steps(loaded, Rules(), 3)]
    assert any(QUEUE_TP in s for s in found[False])
    assert not any(QUEUE_TP in s for s in found[True])
