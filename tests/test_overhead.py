"""tools/overhead.py: the phases of a run are timed and add up to a share of the whole."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def overhead():
    spec = importlib.util.spec_from_file_location("overhead", ROOT / "tools" / "overhead.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_measure_times_every_phase(overhead, no_leaks):
    from ipcbench.harness import Settings
    from ipcbench.scenario import Scenario

    phases = overhead.measure(
        Scenario("pipe_bytes", "throughput", 1, 1, 8, "fork"), Settings(0.002, rounds=2)
    )
    assert set(phases) == set(overhead.PHASES)
    assert all(v >= 0 for v in phases.values())
    assert phases["worker start"] > 0 and phases["timed rounds: IPC (worker span)"] > 0


def test_cli_prints_the_share(overhead, capsys, no_leaks):
    argv = ["--mechanism", "pipe_bytes", "--pattern", "latency", "--processes", "2", "--payload", "8"]
    assert overhead.main([*argv, "--start-method", "fork", "--rounds", "1", "--round-time", "0.002"]) == 0
    out = capsys.readouterr().out
    assert "worker start" in out and "harness overhead" in out


def test_reads_a_saved_run(overhead, capsys):
    assert overhead.main(["--run", str(ROOT / "tests" / "data" / "quick-fork-2cpu.json")]) == 0
    assert "harness overhead (everything outside timed rounds)" in capsys.readouterr().out


def test_a_file_that_is_not_a_run_is_exit_2(overhead, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert overhead.main(["--run", str(bad)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
