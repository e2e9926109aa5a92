"""``run --calibration``: the calibration group rides along with the scenarios it checks, loads like any
result, and stays out of a run that does not ask for it."""

import json

import pytest

from ipcbench import cli, results


def test_a_run_saves_calibration_benchmarks_the_loader_reads(tmp_path, capsys, no_leaks):
    out = tmp_path / "run.json"
    argv = ["run", "--pattern", "throughput", "--mechanism", "pipe_bytes", "--mechanism", "queue"]
    argv += ["--payload", "1KiB", "--processes", "2", "--start-method", "fork", "--calibration"]
    argv += ["--placement", "none"]  # as the hand-written loops run: where the OS puts them
    assert cli.main([*argv, "--rounds", "1", "--round-time", "0.002", "-o", str(out)]) == cli.EXIT_OK
    df = results.load([out])
    calibration = df[df["pattern"] == "calibration"]
    assert sorted(calibration["scenario"]) == [
        "calibration-pipe_bytes-throughput-2p-1KiB-fork",
        "calibration-queue-throughput-2p-1KiB-fork",
    ]
    assert sorted(df[df["pattern"] == "throughput"]["scenario"]) == [
        "pipe_bytes-throughput-2p-1KiB-fork",
        "queue-throughput-2p-1KiB-fork",
    ]
    for info in calibration["extra_info"]:
        assert info["calibrates"] in info["scenario"]
        # Throughput: the ratio of the two medians saved beside it, the harness's being the figure.
        assert info["ratio"] == pytest.approx(info["harness"] / info["handwritten"])
        assert info["msgs_per_s"] == pytest.approx(info["harness"])
    # pytest-benchmark's statistics are per message here too: each round over its batch.
    for b in json.loads(out.read_text())["benchmarks"]:
        assert b["stats"]["iterations"] == b["extra_info"]["messages"]


def test_calibration_is_off_by_default():
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    cmd = [sys.executable, "-m", "pytest", str(root / "benchmarks"), "--collect-only", "-q"]
    cmd += ["--ipc-payload=1KiB", "--ipc-processes=2", "--ipc-mechanism=queue"]
    off = subprocess.run(cmd, capture_output=True, text=True, cwd=root, timeout=120)
    on = subprocess.run([*cmd, "--ipc-calibration"], capture_output=True, text=True, cwd=root, timeout=120)
    assert "test_calibration[" not in off.stdout
    assert "test_calibration[calibration-queue-throughput-2p-1KiB-" in on.stdout
