"""The accuracy check: both sides run, ratios are finite and positive, the CLI prints and exits 0."""

import json
import math
import statistics

import pytest

from ipcbench import cli, selfcheck
from ipcbench.harness import Settings
from ipcbench.scenario import Scenario

TINY = Settings(round_time=0.002, rounds=2, warmup_rounds=1)


def test_targets_are_the_1to1_1kib_pipe_bytes_and_queue_scenarios_and_a_16mib_bulk_copy():
    ids = {s.id for s in selfcheck.targets(start_method="fork")}
    assert ids == {
        "pipe_bytes-throughput-2p-1KiB-fork",
        "queue-throughput-2p-1KiB-fork",
        "pipe_bytes-latency-2p-1KiB-fork",
        "queue-latency-2p-1KiB-fork",
        "array_memoryview-bulk-1p-16MiB-fork",
    }


def test_targets_filter_a_selection():
    keep = Scenario("queue", "throughput", 1, 1, 1024, "fork")
    others = [
        Scenario("queue", "throughput", 2, 1, 1024, "fork"),
        Scenario("pipe", "throughput", 1, 1, 1024, "fork"),
        Scenario("queue", "throughput", 1, 1, 8, "fork"),
    ]
    assert selfcheck.targets([keep, *others]) == [keep]
    bulk = [
        Scenario("array_memoryview", "bulk", 1, 0, size, "fork") for size in (1 << 20, 16 << 20, 64 << 20)
    ]
    assert selfcheck.targets(bulk) == bulk[1:]  # 16 MiB and above, one process
    assert selfcheck.targets([Scenario("array_memoryview", "bulk", 2, 0, 16 << 20, "fork")]) == []


@pytest.mark.parametrize(
    "scenario", selfcheck.targets(start_method="fork", bulk_payloads=(64 << 10,)), ids=lambda s: s.id
)
def test_check_compares_the_same_batch_in_the_same_unit(scenario, monkeypatch, no_leaks):
    """Both sides' raw measurements, recorded on the way, give exactly the figures and the ratio."""
    hand_raw: list[tuple[int, float]] = []
    hand_round = selfcheck.Hand.round

    def record(self, timeout):
        hand_raw.append(hand_round(self, timeout))
        assert self.n == batch[0]  # the hand-written loop runs the harness's batch
        return hand_raw[-1]

    batch: list[int] = []
    calibrate = selfcheck.Rig.calibrate
    monkeypatch.setattr(selfcheck.Rig, "calibrate", lambda rig: batch.append(calibrate(rig)) or batch[0])
    monkeypatch.setattr(selfcheck.Hand, "round", record)
    result = selfcheck.check(scenario, TINY)
    assert len(result.harness) == len(result.hand) == TINY.rounds
    assert result.messages == batch[0]
    kept = hand_raw[-TINY.rounds :]
    if scenario.pattern == "latency":
        assert result.metric == "rtt_p50_ns"
        assert result.hand == tuple(rtt for _, rtt in kept)
        assert result.ratio == pytest.approx(
            statistics.median(w / h for h, w in zip(result.harness, result.hand, strict=True))
        )
    else:  # messages (bulk: copies) per second on both sides
        assert result.metric == "msgs_per_s"
        assert result.hand == pytest.approx(tuple(batch[0] / (ns / 1e9) for ns, _ in kept))
        assert result.ratio == pytest.approx(
            statistics.median(h / w for h, w in zip(result.harness, result.hand, strict=True))
        )
    assert math.isfinite(result.ratio)


def test_the_harness_side_is_timed_without_reset_and_verification(monkeypatch, no_leaks):
    """As in a run: the bulk copy's reset (zeroing every array) and check (comparing them) happen
    before and after the harness's clock, which times release and collection only."""
    log: list[str] = []
    real = {
        name: getattr(selfcheck.Rig, name) for name in ("prepare_round", "release_round", "collect_round")
    }
    real["verify_round"] = selfcheck.Rig.verify_round
    for name, method in real.items():
        monkeypatch.setattr(
            selfcheck.Rig, name, lambda rig, *a, _m=method, _n=name: (log.append(_n), _m(rig, *a))[1]
        )
    clock = selfcheck.time.perf_counter_ns
    monkeypatch.setattr(selfcheck.time, "perf_counter_ns", lambda: (log.append("clock"), clock())[1])
    scenario = selfcheck.targets(start_method="fork", bulk_payloads=(64 << 10,))[-1]
    with selfcheck.paired(scenario, TINY) as pair:
        log.clear()
        pair.harness_round()
    steps = [e for e in log if e != "clock"]
    assert steps == ["prepare_round", "release_round", "collect_round", "verify_round"]
    first, last = log.index("clock"), len(log) - 1 - log[::-1].index("clock")
    assert log.index("prepare_round") < first and log.index("verify_round") > last


def test_the_bulk_hand_written_loop_copies_into_the_harness_destination(no_leaks):
    """Both sides copy into one array, so neither is measured on luckier physical pages."""
    scenario = selfcheck.targets(start_method="fork", bulk_payloads=(64 << 10,))[-1]
    with selfcheck.paired(scenario, TINY) as pair:
        destination = memoryview(pair.rig.state[0]).cast("B")
        destination[:] = bytes(len(destination))
        pair.hand_round()
        assert destination == b"\x01" * scenario.payload_bytes  # the hand-written loop's copy
        pair.harness_round()  # and the harness's worker still resets, copies and checks it


def test_ratio_orientation():
    s = Scenario("queue", "throughput", 1, 1, 1024, "fork")
    # Throughput: harness/hand; latency: hand/harness. Both below 1 when the harness looks worse.
    assert selfcheck.Check(s, 10, "msgs_per_s", (90.0,), (100.0,)).ratio == pytest.approx(0.9)
    assert selfcheck.Check(s, 10, "rtt_p50_ns", (100.0,), (90.0,)).ratio == pytest.approx(0.9)


def test_the_ratio_pairs_each_harness_round_with_the_hand_written_round_beside_it():
    s = Scenario("queue", "throughput", 1, 1, 1024, "fork")
    # The host slowed the first pair of rounds alike, then the harness's second round alone: the
    # rounds' own ratios say 1.0 (two pairs of three agree), the medians of each side 0.62.
    rounds = (60.0, 62.0, 100.0)
    check = selfcheck.Check(s, 10, "msgs_per_s", rounds, (60.0, 100.0, 100.0), rounds)
    assert check.harness_median / check.hand_median == pytest.approx(0.62)
    assert check.ratio == pytest.approx(1.0) and check.ratio_worker_clock == pytest.approx(1.0)
    late = selfcheck.Check(s, 10, "rtt_p50_ns", (110.0, 220.0, 110.0), (100.0, 200.0, 100.0))
    assert late.ratio == pytest.approx(100 / 110)


def test_cli_prints_the_table_and_saves(tmp_path, capsys, no_leaks):
    out = tmp_path / "check.json"
    argv = ["selfcheck", "--rounds", "1", "--round-time", "0.002", "--start-method", "fork"]
    rc = cli.main([*argv, "--bulk-payload", "64KiB", "--bulk-payload", "128KiB", "-o", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "pipe_bytes-throughput-2p-1KiB-fork" in text and "ratio" in text
    doc = json.loads(out.read_text())
    # A bulk row per payload given.
    assert "array_memoryview-bulk-1p-64KiB-fork" in text and "ops/s" in text
    assert "array_memoryview-bulk-1p-128KiB-fork" in text
    assert len(doc["checks"]) == 6
    for c in doc["checks"]:  # each saved ratio is the one of its saved medians
        harness, hand = c["harness"], c["handwritten"]
        assert c["ratio"] == pytest.approx(harness / hand if c["metric"] == "msgs_per_s" else hand / harness)


def test_cli_bad_input_is_one_line_and_exit_2(capsys):
    assert cli.main(["selfcheck", "--rounds", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "rounds" in err
