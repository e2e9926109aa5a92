"""The accuracy check: both sides run, ratios are finite and positive, the CLI prints and exits 0."""

import json
import math

import pytest

from ipcbench import cli, selfcheck
from ipcbench.harness import Settings
from ipcbench.scenario import Scenario

TINY = Settings(round_time=0.002, rounds=2, warmup_rounds=1)


def test_targets_are_the_1to1_1kib_pipe_bytes_and_queue_scenarios():
    ids = {s.id for s in selfcheck.targets(start_method="fork")}
    assert ids == {
        "pipe_bytes-throughput-2p-1KiB-fork",
        "queue-throughput-2p-1KiB-fork",
        "pipe_bytes-latency-2p-1KiB-fork",
        "queue-latency-2p-1KiB-fork",
    }


def test_targets_filter_a_selection():
    keep = Scenario("queue", "throughput", 1, 1, 1024, "fork")
    others = [
        Scenario("queue", "throughput", 2, 1, 1024, "fork"),
        Scenario("pipe", "throughput", 1, 1, 1024, "fork"),
        Scenario("queue", "throughput", 1, 1, 8, "fork"),
    ]
    assert selfcheck.targets([keep, *others]) == [keep]


@pytest.mark.parametrize("scenario", selfcheck.targets(start_method="fork"), ids=lambda s: s.id)
def test_check_gives_a_finite_positive_ratio(scenario, no_leaks):
    result = selfcheck.check(scenario, TINY)
    assert len(result.harness) == len(result.hand) == TINY.rounds
    assert math.isfinite(result.ratio) and result.ratio > 0
    assert result.metric == ("msgs_per_s" if scenario.pattern == "throughput" else "rtt_p50_ns")


def test_ratio_orientation():
    s = Scenario("queue", "throughput", 1, 1, 1024, "fork")
    # Throughput: harness/hand; latency: hand/harness. Both below 1 when the harness looks worse.
    assert selfcheck.Check(s, 10, "msgs_per_s", (90.0,), (100.0,)).ratio == pytest.approx(0.9)
    assert selfcheck.Check(s, 10, "rtt_p50_ns", (100.0,), (90.0,)).ratio == pytest.approx(0.9)


def test_cli_prints_the_table_and_saves(tmp_path, capsys, no_leaks):
    out = tmp_path / "check.json"
    rc = cli.main(
        ["selfcheck", "--rounds", "1", "--round-time", "0.002", "--start-method", "fork", "-o", str(out)]
    )
    assert rc == 0
    text = capsys.readouterr().out
    assert "pipe_bytes-throughput-2p-1KiB-fork" in text and "ratio" in text
    doc = json.loads(out.read_text())
    assert len(doc["checks"]) == 4
    assert all(c["ratio"] > 0 for c in doc["checks"])


def test_cli_bad_input_is_one_line_and_exit_2(capsys):
    assert cli.main(["selfcheck", "--rounds", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "rounds" in err
