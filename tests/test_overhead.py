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
    from ipcbench.harness import Rig, Settings
    from ipcbench.scenario import Scenario

    rounds = []
    run_round = Rig.run_round

    def record(rig, n):
        rounds.append(run_round(rig, n))
        return rounds[-1]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Rig, "run_round", record)
        phases = overhead.measure(
            Scenario("pipe_bytes", "throughput", 1, 1, 8, "fork"), Settings(0.002, rounds=2)
        )
    assert set(phases) == set(overhead.PHASES)
    assert phases["worker start"] > 0
    # The timed phases are the last two rounds' own figures: the workers' span and the rest of the
    # parent's clock; the other phases hold everything else.
    timed = rounds[-2:]
    assert phases["timed rounds: IPC (worker span)"] == pytest.approx(sum(r.span_ns for r in timed) / 1e9)
    signalling = sum(max(0, r.elapsed_ns - r.span_ns) for r in timed) / 1e9
    assert phases["timed rounds: start/stop signalling"] == pytest.approx(signalling)


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
