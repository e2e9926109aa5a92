"""The command line, in process (click's CliRunner style) and, for runs, as a user starts it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from ipcbench import schema
from ipcbench.cli import main

ROOT = Path(__file__).resolve().parent.parent
TINY_RUN = ["--rounds", "2", "--round-time", "0.002", "--trials", "2", "--spares", "0", "--placement", "none"]
ONE_PAIR_8B_THROUGHPUT = ["--payload", "8", "--processes", "2", "--pattern", "throughput"]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_prints_scenario_ids(capsys):
    code, out, _ = run_cli(
        capsys, "list", "--mechanism", "pipe_bytes", "--payload", "1KiB", "--processes", "2"
    )
    assert code == 0
    # The quick profile packs a scenario's workers on one CPU, and the id says so; two workers on one
    # CPU take turns, which the listing marks.
    assert out.splitlines() == [
        "pipe_bytes-throughput-2p-1KiB-fork-packed  (oversubscribed)",
        "pipe_bytes-latency-2p-1KiB-fork-packed  (oversubscribed)",
    ]
    code, out, _ = run_cli(
        capsys,
        "list",
        "--mechanism",
        "pipe_bytes",
        "--payload",
        "1KiB",
        "--processes",
        "2",
        "--placement",
        "none",
        "--pattern",
        "latency",
    )
    assert out.split() == ["pipe_bytes-latency-2p-1KiB-fork"]


def test_quick_profile_covers_every_mechanism_and_oversubscription(capsys):
    code, out, _ = run_cli(capsys, "list")
    assert code == 0
    for mech in ("pipe", "pipe_bytes", "queue", "simple_queue", "os_pipe"):
        for pattern in ("throughput", "latency"):
            assert f"{mech}-{pattern}-" in out
    top = 2 * psutil.cpu_count(logical=True)
    assert f"-{top}p-" in out
    assert "queue-throughput-" in out and "to1-" in out and "-1to" in out


def test_mechanisms_and_info(capsys):
    code, out, _ = run_cli(capsys, "mechanisms")
    assert code == 0 and "os_pipe" in out


def test_mechanisms_lists_each_pattern_with_its_own_members_in_one_column(capsys):
    from ipcbench import catalog

    _, out, _ = run_cli(capsys, "mechanisms")
    sections: dict[str, list[str]] = {}
    for line in out.splitlines():
        if not line.startswith(" "):
            current = sections.setdefault(line.split(":")[0], [])
        elif not line.strip().startswith("("):
            current.append(line)
    for pattern, lines in sections.items():
        listed = [line.split()[0] for line in lines]
        assert listed == [m.name for m in catalog.entries().values() if pattern in m.patterns] or (
            pattern == "latency" and not lines
        )
        # Every description starts in the same column, whatever the longest name.
        columns = set()
        for line, name in zip(lines, listed, strict=True):
            after = line[line.index(name) + len(name) :]
            columns.add(len(line) - len(after.lstrip(" ")))
        assert len(columns) <= 1
    code, out, _ = run_cli(capsys, "info", "--json")
    facts = json.loads(out)
    assert code == 0 and facts["cores_logical"] >= 1 and "default_start_method" in facts


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["list", "--mechanism", "carrier_pigeon"], "invalid choice"),
        (["list", "--pattern", "gossip"], "invalid choice"),
        (["list", "--payload", "1XB"], "cannot parse size"),
        (["list", "--payload", "4"], "below 8 B"),
        (["list", "--processes", "0"], "at least 1"),
        (["list", "--processes", "-3"], "at least 1"),
        # One process exists only for the one-sided patterns (an uncontended lock, say).
        (["list", "--processes", "1", "--pattern", "throughput"], "matches no scenario"),
        (["list", "--processes", "100000"], "beyond the cap"),
        (["list", "--start-method", "teleport"], "unknown start method"),
        (["list", "--processes", "3", "--mechanism", "pipe"], "matches no scenario"),
        (["run", "--rounds", "0"], "at least 1"),
        (["run", "--trials", "0"], "at least 1"),
        (["run", "--round-time", "-1"], "must be positive"),
        (["run", "--deadline", "soon"], "not a number"),
        (["run", "--payload", "1TiB"], "cannot parse size"),
        (["run", "--payload", "512GiB", "--mechanism", "pipe"], "is free"),
        (["frobnicate"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, needle):
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    assert needle in err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err


def test_run_refuses_an_existing_output_before_running(capsys, tmp_path):
    existing = tmp_path / "run.json"
    existing.write_text("precious")
    code, _, err = run_cli(capsys, "run", "--mechanism", "pipe", "-o", str(existing))
    assert code == 2 and "already exists" in err
    assert existing.read_text() == "precious"


def _this_checkout(env: dict[str, str] | None = None) -> dict[str, str]:
    """Run from tmp_path, ``python -m ipcbench`` would import whatever ipcbench is installed (another
    checkout's, with ``pip install -e``): put this checkout first."""
    return {**(os.environ if env is None else env), "PYTHONPATH": str(ROOT)}


def _run(tmp_path: Path, *extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ipcbench", "run", *TINY_RUN, *extra],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
        env=_this_checkout(env),
    )


def test_tiny_run_saves_plain_pytest_benchmark_json_with_ipcbench_fields(tmp_path, no_leaks):
    out = tmp_path / "run.json"
    proc = _run(
        tmp_path,
        "--mechanism",
        "pipe_bytes",
        "--mechanism",
        "queue",
        "--payload",
        "8",
        "--payload",
        "1KiB",
        "--processes",
        "2",
        "-o",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    assert "saved 8 benchmarks" in proc.stdout and str(out) in proc.stdout
    assert "pipe_bytes-latency-2p-1KiB-fork" in proc.stdout  # progress and summary name scenarios
    data = json.loads(out.read_text())
    assert data["ipcbench"]["complete"] is True
    assert data["machine_info"]["ipcbench"]["cores_logical"] >= 1
    assert len(data["benchmarks"]) == 8
    for bench in data["benchmarks"]:
        info = bench["extra_info"]
        for key in schema.REQUIRED_KEYS:
            assert key in info, key
        assert info["ipcbench_schema"] == schema.SCHEMA_VERSION
        assert info["msgs_per_s"] > 0 and info["bytes_per_s"] == pytest.approx(
            info["msgs_per_s"] * info["payload_bytes"]
        )
        # Per-round samples of every trial are kept for the regression gate.
        assert len(bench["stats"]["data"]) == 2 * 2 and len(info["trials"]) == 2
        assert bench["params"] == {"scenario": info["scenario"]}
        if info["pattern"] == "latency":
            rtt = info["rtt_ns"]
            # Tail percentiles only with ten round trips beyond them; null (None) otherwise.
            shown = [rtt[k] for k in ("p50", "p90", "p99", "p999") if rtt[k] is not None]
            assert shown[0] > 0 and shown == sorted(shown) and shown[-1] <= rtt["max"]
            assert (rtt["p999"] is None) == (rtt["count"] < 10_000)
    # pytest-benchmark's own tooling still reads the file.
    compare = subprocess.run(
        [sys.executable, "-m", "pytest_benchmark", "compare", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert compare.returncode == 0, compare.stderr
    assert "pipe_bytes-throughput-2p-8B-fork" in compare.stdout


def test_default_output_is_a_new_file_under_results(tmp_path):
    args = ("--mechanism", "os_pipe", "--payload", "8", "--processes", "2", "--pattern", "throughput")
    first, second = _run(tmp_path, *args), _run(tmp_path, *args)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    saved = sorted((tmp_path / "results").glob("*.json"))
    assert len(saved) == 2  # the second run did not overwrite the first


def test_failed_scenario_has_no_figure_and_exit_1(tmp_path):
    """A scenario whose worker fails is reported by name and left out of the JSON; the rest is saved."""
    out = tmp_path / "run.json"
    env = {**os.environ, "IPCBENCH_FAULT": "os_pipe-throughput-2p-8B-fork"}
    proc = _run(
        tmp_path,
        "--mechanism",
        "os_pipe",
        "--mechanism",
        "pipe_bytes",
        *ONE_PAIR_8B_THROUGHPUT,
        "-o",
        str(out),
        env=env,
    )
    assert proc.returncode == 1, proc.stderr
    assert "os_pipe-throughput-2p-8B-fork" in proc.stderr
    data = json.loads(out.read_text())
    assert [b["extra_info"]["scenario"] for b in data["benchmarks"]] == ["pipe_bytes-throughput-2p-8B-fork"]
    assert data["ipcbench"]["failed"] == ["os_pipe-throughput-2p-8B-fork"]


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_benchmarks_run_under_plain_pytest(method, tmp_path):
    """``pytest benchmarks/`` works as a user would run it (--benchmark-disable: a smoke test)."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(ROOT / "benchmarks"),
            "-p",
            "no:cacheprovider",
            "-q",
            "--benchmark-disable",
            "--ipc-mechanism=pipe",
            "--ipc-mechanism=simple_queue",
            "--ipc-payload=64",
            "--ipc-processes=2",
            f"--ipc-start-method={method}",
            "--ipc-round-time=0.002",
            "--ipc-trials=2",
            "--ipc-spares=0",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "8 passed" in proc.stdout  # four scenarios, two trials each


@pytest.mark.parametrize(("method", "action"), [("spawn", "KILL:producer"), ("forkserver", "STOP:consumer")])
def test_fault_under_other_start_methods_leaks_nothing(tmp_path, method, action, no_leaks):
    """Semaphores of spawn/forkserver runs are tracked by the resource tracker: no leak warnings."""
    scenario = f"queue-throughput-2p-8B-{method}"
    env = {**os.environ, "IPCBENCH_FAULT": f"{scenario}={action}"}
    proc = _run(
        tmp_path,
        "--mechanism",
        "queue",
        *ONE_PAIR_8B_THROUGHPUT,
        "--start-method",
        method,
        "--deadline",
        "1",
        "-o",
        str(tmp_path / "run.json"),
        env=env,
    )
    assert proc.returncode == 1
    assert scenario in proc.stderr
    assert ("died" if action.startswith("KILL") else "no report within") in proc.stdout + proc.stderr
    assert "leaked" not in proc.stderr and "resource_tracker" not in proc.stderr
    assert not (tmp_path / "run.json").exists()  # nothing finished, so nothing to save


def test_killed_runner_leaves_no_orphan_workers(tmp_path):
    """Even SIGKILL of the process that owns the workers (no teardown at all) leaves nothing running:
    workers ask the kernel to kill them when their parent dies (PR_SET_PDEATHSIG)."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            str(ROOT / "benchmarks"),
            "-p",
            "no:cacheprovider",
            "-q",
            "--ipc-mechanism=pipe_bytes",
            "--ipc-processes=2",
            "--ipc-payload=8",
            "--ipc-pattern=throughput",
            "--ipc-round-time=5",
            "--ipc-rounds=100",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    runner = psutil.Process(proc.pid)
    deadline = time.monotonic() + 60
    workers: list[psutil.Process] = []
    while len(workers) < 2 and time.monotonic() < deadline:
        workers = runner.children(recursive=True)
    assert len(workers) >= 2, "the benchmark's workers never started"
    proc.kill()
    proc.wait(10)
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, f"orphaned workers: {[w.pid for w in alive]}"


def test_benchmarks_that_do_not_collect_are_a_failure_not_an_interrupt(capsys, tmp_path, monkeypatch):
    """pytest's exit code 2 also means "errors during collection": with no scenario begun and no
    signal, the run failed (exit 1, saying so); it was not interrupted (130)."""
    from ipcbench import launch

    broken = tmp_path / "benchmarks"
    broken.mkdir()
    (broken / "pytest.ini").write_text("[pytest]\n")
    (broken / "test_ipc.py").write_text("this is not python\n")
    monkeypatch.setattr(launch, "BENCH_DIR", broken)
    out = tmp_path / "run.json"
    code, _, err = run_cli(capsys, "run", *TINY_RUN, "-o", str(out))
    assert code == 1
    assert "could not run the benchmarks" in err and "interrupted" not in err
    assert not out.exists()


def test_summary_prints_each_pattern_in_its_own_terms():
    """Start-up is a time per start, never msgs/s of batches; one-sided patterns count operations."""
    from ipcbench.launch import summary_table

    def bench(scenario: str, pattern: str, **info: object) -> dict[str, object]:
        stats = {"median": 0.0186, "stddev": 0.0009}
        return {"extra_info": {"scenario": scenario, "pattern": pattern, **info}, "stats": stats}

    op = {"p50": 62_000, "p99": 150_000}
    lines = summary_table(
        [
            bench("pipe_bytes-throughput", "throughput", msgs_per_s=999_600, bytes_per_s=8_196_720),
            bench("first_pipe-startup", "startup", msgs_per_s=214, bytes_per_s=1712, op_ns=op),
            bench("lock-locks", "locks", msgs_per_s=243_500, bytes_per_s=1_948_000),
        ]
    ).splitlines()
    assert lines[0].split() == ["scenario", "rate", "bytes/s", "p50", "p99", "spread"]
    assert lines[1].split() == ["pipe_bytes-throughput", "1M", "msg/s", "8.2", "MB/s", "4.8%"]
    assert lines[2].split() == ["first_pipe-startup", "62", "µs", "150", "µs", "4.8%"]
    assert lines[3].split() == ["lock-locks", "244k", "op/s", "4.8%"]
