"""``ipcbench run --max-time``: scenarios that do not fit are skipped, listed, and the run says incomplete."""

import json

from ipcbench import cli


def test_max_time_skips_and_saves_an_incomplete_run(tmp_path, capsys, no_leaks):
    out = tmp_path / "run.json"
    argv = [
        "run",
        "--mechanism",
        "pipe_bytes",
        "--pattern",
        "throughput",
        "--processes",
        "2",
        "--payload",
        "8",
        "--placement",
        "none",
    ]
    rc = cli.main([*argv, "--max-time", "0.001", "-o", str(out)])
    assert rc == cli.EXIT_OK
    run = json.loads(out.read_text())
    assert run["ipcbench"]["complete"] is False
    assert run["ipcbench"]["not_run"] == ["pipe_bytes-throughput-2p-8B-fork"]
    assert run["ipcbench"]["failed"] == []
    assert run["benchmarks"] == []
    assert "preflight" in run["machine_info"]["ipcbench"]
    captured = capsys.readouterr()
    assert captured.out.startswith("ipcbench: 1 scenarios")
    assert "preflight:" in captured.out
    assert "not run" in captured.err


def test_max_time_must_be_positive(capsys):
    assert cli.main(["run", "--max-time", "0"]) == cli.EXIT_USAGE
    assert "max-time" in capsys.readouterr().err
