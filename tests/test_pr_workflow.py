"""The pull-request gate, ci/bench-pr.sh, run end to end on temporary git repositories, without GitHub.

A team's repository holds a plugin channel and a copy of the script; its pull request makes that
channel do extra work per message, and the gate must call it a regression by name, and must not when
the pull request leaves the channel alone.  A stand-in ``ipcbench`` package checks the rest of the
script's promises in a fraction of a second each: each side runs its own code, alternately, the
worktree goes on every path out, a signal stops everything, bad settings are one line and exit 2.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from ipcbench.cli import main

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="the gate needs git (a worktree)")

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "ci" / "bench-pr.sh"
#: Seconds a whole gate may take here; a tiny one takes a few.
GATE_TIMEOUT = 240

# --- the team's repository ---------------------------------------------------------------------------

#: A channel declared through the public API, as a team gating its own layer would; the pull request
#: raises CHECK_ROUNDS, so the same code does extra work per message.
CHANNEL = '''\
"""A team's channel: multiprocessing.Pipe carrying bytes, each message checked before it is sent."""

import hashlib

from ipcbench.api import Mechanism, register

#: Times each message is hashed before it is sent.
CHECK_ROUNDS = 0


def make_channel(resources):
    reader, writer = resources.ctx.Pipe(duplex=False)
    return writer, reader


def bind_send(end, payload_bytes):
    send = end.send_bytes

    def send_checked(message):
        for _ in range(CHECK_ROUNDS):
            hashlib.sha256(message).digest()
        send(message)

    return send_checked


register(
    Mechanism(
        name="checked_pipe",
        description="a team's Pipe with a per-message check",
        make_channel=make_channel,
        bind_send=bind_send,
        bind_recv=lambda end, payload_bytes: end.recv_bytes,
        carries="bytes",
        point_to_point=True,
    )
)
'''
#: Hashing a 1 KiB message 400 times costs ~0.2-1 ms (with or without SHA instructions), against
#: ~3-10 us a message through the Pipe alone: 40 times slower and more.
SLOW_ROUNDS = 400
#: A regression is 10x slower here, far beyond what honest reruns differ by.  Each side's samples are
#: its runs' medians of trials: three runs a side resolve 10x (are judged, not too noisy) unless those
#: medians spread by a standard deviation over ~1.3 (log), where a 2-CPU machine loaded twice over
#: spread them by ~0.5.
GATE_TOML = 'threshold = "900%"\n'
REPEATS = 3
SELECTION = [
    "--plugin", "bench/checked_pipe.py", "--mechanism", "checked_pipe", "--pattern", "throughput",
    "--processes", "2", "--payload", "1KiB", "--start-method", "fork",
    # A run costs ~3-4 s whatever these are (start-up); more trials make each run's median steadier.
    "--trials", "5", "--rounds", "3", "--round-time", "0.005",
]  # fmt: skip
SCENARIO = "checked_pipe-throughput-2p-1KiB-fork-packed"  # the quick profile packs


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, env=git_env(), check=True, capture_output=True, text=True, timeout=60
    ).stdout


def git_env() -> dict[str, str]:
    """No user or system git configuration (signing, hooks, a default branch): the same git everywhere."""
    who = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    who |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return {**os.environ, **who, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}


def commit(repo: Path, files: dict[str, str], message: str) -> None:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def repository(path: Path, base: dict[str, str], pull_request: dict[str, str]) -> Path:
    """A repository whose branch ``main`` holds ``base`` and whose checked-out branch ``pr`` changes it."""
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    commit(path, base, "base")
    git(path, "checkout", "-q", "-b", "pr")
    commit(path, pull_request, "pull request")
    return path


def gate(repo: Path, tmp: Path, *args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Run the repository's copy of the script as the workflow does; return it and its RUNNER_TEMP."""
    runner_temp = tmp / "runner"
    environ = {
        **git_env(),
        "GITHUB_BASE_REF": "main",
        "RUNNER_TEMP": str(runner_temp),
        "GITHUB_STEP_SUMMARY": str(tmp / "summary.md"),
        "REPEATS": "2",
        "PYTHON": sys.executable,
        # This checkout's ipcbench, as an installed one would be; each side's tree goes before it.
        "PYTHONPATH": str(ROOT),
        **env,
    }
    proc = subprocess.Popen(
        ["bash", "ci/bench-pr.sh", *args],
        cwd=repo,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=GATE_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), runner_temp


def left_behind(tmp: Path) -> list[str]:
    """Processes still running in or on the test's directories, after a moment to finish exiting."""

    def ours(p: psutil.Process) -> bool:
        try:
            return str(tmp) in p.cwd() or any(str(tmp) in a for a in p.cmdline())
        except psutil.Error:
            return False

    found = [p for p in psutil.process_iter() if p.pid != os.getpid() and ours(p)]
    _, alive = psutil.wait_procs(found, timeout=2)
    return [" ".join(p.cmdline()) for p in alive if ours(p)]


def assert_clean(repo: Path, runner_temp: Path, tmp: Path) -> None:
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert not list(runner_temp.glob("ipcbench-base.*"))
    assert left_behind(tmp) == []


def team(tmp_path: Path, check_rounds: int) -> Path:
    """The team's repository: its channel, its gate's config and the script; the pull request sets
    the channel's check rounds (0: the channel as it was, with another change beside it)."""
    base = {
        "bench/checked_pipe.py": CHANNEL,
        "bench/gate.toml": GATE_TOML,
        "ci/bench-pr.sh": SCRIPT.read_text(),
        "README.md": "a team's project\n",
    }
    pull_request = {
        "bench/checked_pipe.py": CHANNEL.replace("CHECK_ROUNDS = 0", f"CHECK_ROUNDS = {check_rounds}"),
        "README.md": "a team's project, edited\n",
    }
    return repository(tmp_path / "team", base, pull_request)


@pytest.mark.parametrize(
    ("check_rounds", "exit_code"), [(SLOW_ROUNDS, 1), (0, 0)], ids=["slowed", "unchanged"]
)
def test_the_gate_catches_a_channel_made_slower_and_passes_it_unchanged(tmp_path, check_rounds, exit_code):
    repo = team(tmp_path, check_rounds)
    proc, runner_temp = gate(
        repo, tmp_path, *SELECTION, "--", "--config", "bench/gate.toml", REPEATS=str(REPEATS)
    )
    assert proc.returncode == exit_code, proc.stdout + proc.stderr
    summary = (tmp_path / "summary.md").read_text()
    verdicts = [line for line in summary.splitlines() if "regression" in line.lower()]
    if exit_code:
        assert any(SCENARIO in line for line in verdicts), summary
    else:
        assert SCENARIO not in "".join(verdicts), summary
    for side in ("baseline", "current"):
        runs = sorted(p.name for p in (runner_temp / side).iterdir())
        assert runs == [f"{i}.json" for i in range(1, REPEATS + 1)]
    # Judged on its samples (a side's runs), not waved through as too noisy: what the summary says is
    # the gate's verdict, and the verdict is what the slowdown was.
    config = str(repo / "bench" / "gate.toml")
    report = compare_json(runner_temp / "baseline", runner_temp / "current", "--config", config)
    [pair] = report["pairs"]
    assert pair["scenario"] == SCENARIO and pair["samples"] == [REPEATS, REPEATS]
    assert pair["verdict"] == ("slower" if exit_code else "same"), pair
    # The exports for trackers (no latency here: the selection has none, and the gate says so and goes on).
    for name in ("throughput.json", "bencher.json"):
        assert SCENARIO in (runner_temp / name).read_text()
    assert_clean(repo, runner_temp, tmp_path)


def compare_json(baseline: Path, current: Path, *args: str) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["compare", str(baseline), str(current), "--format", "json", "--report-only", *args])
    return json.loads(out.getvalue())


# --- the script's promises, with a stand-in ipcbench ---------------------------------------------------

#: An ``ipcbench`` package that logs how it is called and which side's tree it came from; ``run``
#: writes its results file, or (FAKE_BLOCK) waits for a signal.
FAKE_MAIN = """\
import json, os, signal, subprocess, sys
from pathlib import Path

import ipcbench

argv = sys.argv[1:]
# ipcbench run measures in a child started with -P (no current directory on sys.path): which side's
# ipcbench does that child import?
child = [sys.executable, "-P", "-c", "import ipcbench; print(ipcbench.SIDE)"]
child_side = subprocess.run(child, capture_output=True, text=True, timeout=60).stdout.strip()
with open(os.environ["FAKE_LOG"], "a") as log:
    entry = {"side": ipcbench.SIDE, "child_side": child_side, "argv": argv, "cwd": os.getcwd()}
    log.write(json.dumps(entry) + "\\n")
if argv[0] == "run":
    if os.environ.get("FAKE_BLOCK") == ipcbench.SIDE:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        signal.alarm(60)  # never outlives a test that went wrong
        pid = Path(os.environ["FAKE_PID"])
        pid.with_suffix(".tmp").write_text(str(os.getpid()))
        pid.with_suffix(".tmp").rename(pid)
        while True:
            signal.pause()
    Path(argv[argv.index("-o") + 1]).write_text("{}")
    sys.exit(int(os.environ.get("FAKE_RUN_EXIT_" + ipcbench.SIDE, "0")))
if argv[0] == "compare":
    print("| the compare's table |")
    sys.exit(int(os.environ.get("FAKE_COMPARE_EXIT", "0")))
Path(argv[argv.index("-o") + 1]).write_text("{}")
"""


def stand_in(tmp_path: Path, package_dir: str = "") -> Path:
    """A repository that is its own ipcbench (as ipcbench's is), the pull request's marked ``pr``."""
    pkg = f"{package_dir}/ipcbench" if package_dir else "ipcbench"
    base = {
        f"{pkg}/__init__.py": 'SIDE = "base"\n',
        f"{pkg}/__main__.py": FAKE_MAIN,
        "ci/bench-pr.sh": SCRIPT.read_text(),
    }
    return repository(tmp_path / "repo", base, {f"{pkg}/__init__.py": 'SIDE = "pr"\n'})


def calls(tmp_path: Path) -> list[dict]:
    log = tmp_path / "calls.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def fake_gate(repo: Path, tmp: Path, *args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    return gate(repo, tmp, *args, FAKE_LOG=str(tmp / "calls.jsonl"), **env)


@pytest.mark.parametrize("layout", ["", "src"])
@pytest.mark.parametrize("remote", [False, True], ids=["local-branch", "origin-only"])
def test_each_side_runs_its_own_code_alternately_then_compare_on_the_pull_requests(tmp_path, layout, remote):
    repo = stand_in(tmp_path, layout)
    if remote:  # a pull request's checkout: origin/main, and no local main
        git(tmp_path, "clone", "-q", str(repo), "clone")
        repo = tmp_path / "clone"
        assert git(repo, "branch", "--list", "main") == ""
    env = {"BENCH_PYTHONPATH": layout} if layout else {}
    proc, runner_temp = fake_gate(repo, tmp_path, "--mechanism", "x", "--", "--config", "gate.toml", **env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    log = calls(tmp_path)
    assert all(c["child_side"] == c["side"] for c in log), log
    order = [(c["side"], c["argv"][0]) for c in log]
    assert order == [("base", "run"), ("pr", "run")] * 2 + [("pr", "compare")] + [("pr", "export")] * 3
    outputs = [c["argv"][c["argv"].index("-o") + 1] for c in log if c["argv"][0] == "run"]
    assert outputs == [
        str(runner_temp / f"{side}/{i}.json") for i in (1, 2) for side in ("baseline", "current")
    ]
    for c in log:
        # Relative paths in the arguments are each side's own: every call runs from its tree's root,
        # the target branch's a worktree under RUNNER_TEMP (gone now).
        cwd = Path(c["cwd"])
        assert cwd == repo if c["side"] == "pr" else (cwd.name, cwd.parent.parent) == ("base", runner_temp)
        if c["argv"][0] == "run":
            assert c["argv"][1:3] == ["--mechanism", "x"]
    compare = log[4]["argv"]
    assert compare == ["compare", str(runner_temp / "baseline"), str(runner_temp / "current"),
                       "--format", "markdown", "--config", "gate.toml"]  # fmt: skip
    assert "| the compare's table |" in (tmp_path / "summary.md").read_text()
    assert (runner_temp / "compare.md").read_text() == "| the compare's table |\n"
    assert_clean(repo, runner_temp, tmp_path)


@pytest.mark.parametrize("exit_code", [0, 1, 2])
def test_the_compares_exit_status_is_the_gates(tmp_path, exit_code):
    repo = stand_in(tmp_path)
    proc, runner_temp = fake_gate(repo, tmp_path, FAKE_COMPARE_EXIT=str(exit_code), REPEATS="1")
    assert proc.returncode == exit_code, proc.stderr
    assert "| the compare's table |" in (tmp_path / "summary.md").read_text()
    assert_clean(repo, runner_temp, tmp_path)


@pytest.mark.parametrize(
    ("side", "run_exit", "gate_exit", "names"),
    [("pr", 1, 1, "the pull request"), ("pr", 2, 2, "the pull request"), ("base", 1, 2, "main")],
)
def test_a_failed_run_ends_the_gate_saying_which(tmp_path, side, run_exit, gate_exit, names):
    """A run of the pull request that fails a benchmark fails the gate; a broken target branch or bad
    run arguments leave nothing to judge."""
    repo = stand_in(tmp_path)
    proc, runner_temp = fake_gate(repo, tmp_path, **{f"FAKE_RUN_EXIT_{side}": str(run_exit)})
    assert proc.returncode == gate_exit
    line = f"run 1 of 2 of {names} failed (exit {run_exit}): no comparison"
    assert line in proc.stderr and line in (tmp_path / "summary.md").read_text()
    assert "compare" not in [c["argv"][0] for c in calls(tmp_path)]
    assert_clean(repo, runner_temp, tmp_path)


@pytest.mark.parametrize("side", ["base", "pr"])
def test_a_signal_to_the_script_alone_stops_the_run_and_removes_the_worktree(tmp_path, side):
    """As a CI runner cancelling the job, or ``kill``, does: the script's process only."""
    repo = stand_in(tmp_path)
    pid_file = tmp_path / "run.pid"
    environ = {**git_env(), "GITHUB_BASE_REF": "main", "RUNNER_TEMP": str(tmp_path / "runner")}
    environ |= {"PYTHON": sys.executable, "FAKE_LOG": str(tmp_path / "calls.jsonl")}
    environ |= {"FAKE_BLOCK": side, "FAKE_PID": str(pid_file)}
    proc = subprocess.Popen(
        ["bash", "ci/bench-pr.sh"], cwd=repo, env=environ, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not pid_file.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pid_file.exists(), proc.stderr.read() if proc.poll() is not None else "no run started"
        run = psutil.Process(int(pid_file.read_text()))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 128 + signal.SIGTERM
        assert not run.is_running() or run.status() == psutil.STATUS_ZOMBIE
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.stderr.close()
    assert_clean(repo, tmp_path / "runner", tmp_path)


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"GITHUB_BASE_REF": ""}, "GITHUB_BASE_REF is not set"),
        ({"RUNNER_TEMP": ""}, "RUNNER_TEMP is not set"),
        ({"REPEATS": "0"}, "REPEATS must be a positive whole number, not '0'"),
        ({"PYTHON": "no-such-python"}, "no interpreter 'no-such-python'"),
        ({"GITHUB_BASE_REF": "nowhere"}, "neither origin/nowhere nor nowhere is a branch here"),
    ],
)
def test_bad_settings_are_one_line_and_exit_2(tmp_path, env, needle):
    repo = stand_in(tmp_path)
    proc, _ = fake_gate(repo, tmp_path, **env)
    assert proc.returncode == 2
    [line] = proc.stderr.splitlines()
    assert line.startswith("ci/bench-pr.sh: error: ") and needle in line
    assert calls(tmp_path) == []
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1


def test_results_of_an_earlier_gate_are_refused_not_mixed_in(tmp_path):
    repo = stand_in(tmp_path)
    old = tmp_path / "runner" / "current"
    old.mkdir(parents=True)
    (old / "1.json").write_text("{}")
    proc, runner_temp = fake_gate(repo, tmp_path)
    assert proc.returncode == 2
    assert f"{old} already holds results: give an empty RUNNER_TEMP" in proc.stderr
    assert calls(tmp_path) == []
    assert_clean(repo, runner_temp, tmp_path)
