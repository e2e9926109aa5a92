"""The calibration benchmark group: selected by its mark, saved so the one loader reads it."""

import subprocess
import sys
from pathlib import Path

from ipcbench import results

ROOT = Path(__file__).resolve().parent.parent
SELECT = [
    "--ipc-pattern=throughput",
    "--ipc-mechanism=pipe_bytes",
    "--ipc-mechanism=queue",
    "--ipc-payload=1KiB",
    "--ipc-processes=2",
    "--ipc-start-method=fork",
]


def _pytest(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        str(ROOT / "benchmarks"),
        "-p",
        "no:cacheprovider",
        "-o",
        "addopts=",
    ]
    return subprocess.run([*cmd, *SELECT, *args], capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_calibration_results_load_with_pattern_calibration(tmp_path, no_leaks):
    out = tmp_path / "cal.json"
    run = _pytest("-m", "calibration", "--ipc-rounds=1", "--ipc-round-time=0.002", f"--benchmark-json={out}")
    assert run.returncode == 0, run.stdout + run.stderr
    df = results.load([out])
    # Only the marked group ran (the selection also holds the ordinary throughput scenarios).
    assert set(df["pattern"]) == {"calibration"}
    assert set(df["mechanism"]) == {"pipe_bytes", "queue"}
    for info in df["extra_info"]:
        assert info["ratio"] > 0 and info["calibrates"] in info["scenario"]
