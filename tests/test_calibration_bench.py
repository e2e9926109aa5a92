"""The calibration benchmark group rides along with the scenarios it checks and loads like any result."""

from ipcbench import cli, results


def test_a_run_saves_calibration_benchmarks_the_loader_reads(tmp_path, capsys, no_leaks):
    out = tmp_path / "run.json"
    argv = ["run", "--pattern", "throughput", "--mechanism", "pipe_bytes", "--mechanism", "queue"]
    argv += ["--payload", "1KiB", "--processes", "2", "--start-method", "fork"]
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
        assert info["ratio"] > 0 and info["calibrates"] in info["scenario"]
