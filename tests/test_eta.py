"""Time left: the per-scenario model, scaled by the measured/model ratio of finished scenarios."""

import pytest

from ipcbench import eta, harness, selection, trials
from ipcbench.harness import Settings
from ipcbench.scenario import Scenario

SMALL = Scenario("queue", "throughput", 1, 1, 8, "fork")
BIG = Scenario("queue", "throughput", 1, 1, 64 << 20, "fork")


def test_each_timed_or_warm_up_round_costs_one_round_time():
    base = eta.expected(SMALL, 0.02, 5)
    assert eta.expected(SMALL, 0.02, 6) - base == pytest.approx(0.02)
    assert eta.expected(SMALL, 0.02, 5, warmup_rounds=2) - base == pytest.approx(0.02)


def test_calibration_costs_at_least_its_window_of_full_rounds():
    # The fixed part (no timed or warm-up rounds) holds the rounds calibration judges the batch by.
    fixed = eta.expected(SMALL, 0.02, 0, warmup_rounds=0)
    assert fixed - eta.OVERHEAD_S - 2 * eta.WORKER_SERIAL_S >= harness.CALIBRATION_WINDOW * 0.02


def test_latency_rounds_stretch_for_tail_samples_within_their_limit():
    latency = Scenario("queue", "latency", 1, 1, 8, "fork")
    extra = eta.expected(latency, 0.02, 5) - eta.expected(SMALL, 0.02, 5)
    # (and the smallest batch's floor, a round trip moving its 8 B twice: nanoseconds)
    assert 0 < extra <= 5 * 0.02 * (Settings().latency_stretch - 1) + eta._floor(latency)


def test_the_quick_profile_stays_under_a_minute_on_two_cpus():
    quick = selection.select("quick", 2).expand()
    assert eta.estimate(quick, *selection.PROFILE_SETTINGS["quick"], cpus=2) < 60


def test_the_full_profile_at_its_cap_fits_half_an_hour_on_two_cpus_and_an_hour_on_64():
    for cpus, limit in ((2, 30 * 60), (64, 60 * 60)):
        full = selection.select("full", cpus).expand()
        round_time, rounds, most = selection.PROFILE_SETTINGS["full"]
        plan = trials.Plan(most, selection.PROFILE_PRECISION["full"])
        least, longest = eta.bounds(full, round_time, rounds, plan, cpus=cpus)
        assert least < longest <= limit


def test_a_fixed_plan_has_one_estimate_and_it_counts_every_trial():
    scenarios = selection.select("quick", 2).expand()
    least, most = eta.bounds(scenarios, 0.004, 3, trials.Plan(3), cpus=2)
    assert least == most == pytest.approx(eta.estimate(scenarios, 0.004, 3, 3, cpus=2))


def test_each_placement_is_a_scenario_of_its_own_in_the_estimate():
    one = selection.select("quick", 2, placements=["none"]).expand()
    two = selection.select("quick", 2, placements=["none", "spread"]).expand()
    run = eta.RUN_OVERHEAD_S
    # The pinned copy costs what the unpinned one does, plus pinning each worker of each trial.
    pinning = eta.PIN_S * 3 * sum(s.processes for s in one)
    assert eta.estimate(two, 0.004, 3, 3, cpus=2) - run == pytest.approx(
        2 * (eta.estimate(one, 0.004, 3, 3, cpus=2) - run) + pinning
    )


def test_spawned_workers_start_side_by_side_on_more_cpus():
    many = Scenario("queue", "throughput", 8, 8, 8, "spawn")
    assert eta.expected(many, 0.01, 3, cpus=16) < eta.expected(many, 0.01, 3, cpus=2)
    forked = Scenario("queue", "throughput", 8, 8, 8, "fork")
    assert eta.expected(forked, 0.01, 3, cpus=16) == eta.expected(forked, 0.01, 3, cpus=2)


def test_start_up_operations_slow_down_only_once_they_outnumber_the_cpus():
    pool = Scenario("pool_start", "startup", 8, 0, 8, "fork")
    assert eta.expected(pool, 0.004, 3, cpus=8) < eta.expected(pool, 0.004, 3, cpus=2)
    assert eta.expected(pool, 0.004, 3, cpus=8) == eta.expected(pool, 0.004, 3, cpus=64)


def test_a_latency_round_trip_moves_its_payload_twice():
    size = 16 << 20
    latency = Scenario("pipe_bytes", "latency", 1, 1, size, "fork")
    throughput = Scenario("pipe_bytes", "throughput", 1, 1, size, "fork")
    assert eta._floor(latency) == pytest.approx(2 * eta._floor(throughput))


def test_a_big_payload_costs_more_than_its_round_time():
    # A round must move a minimum batch however long that takes, so 64 MiB is not an 8 B scenario.
    assert eta.expected(BIG, 0.1, 15) > 4 * eta.expected(SMALL, 0.1, 15)


def test_spawn_costs_more_than_fork():
    spawn = Scenario("queue", "throughput", 1, 1, 8, "spawn")
    assert eta.expected(spawn, 0.1, 15, cpus=2) > eta.expected(SMALL, 0.1, 15, cpus=2)


def test_nothing_done_trusts_the_model():
    assert eta.seconds_left([], [("a", 0.5), ("b", 1.5)]) == 2.0


def test_each_kind_scales_by_its_own_median_ratio_and_unknown_kinds_by_the_overall_one():
    # 2p runs at twice its model (the slow outlier does not count), 4p at the model.
    done = [("2p", 1.0, 2.0), ("2p", 1.0, 2.0), ("2p", 1.0, 30.0), ("4p", 2.0, 2.0)]
    # Unseen 8p: median of all ratios (2, 2, 30, 1) = 2.
    left = eta.seconds_left(done, [("2p", 10.0), ("4p", 3.0), ("8p", 1.0)])
    assert left == pytest.approx(10.0 * 2 + 3.0 * 1 + 1.0 * 2)


def test_the_ratio_carries_a_small_payloads_speed_to_a_big_one():
    # The old per-kind median of durations would have predicted the big one as short as the small.
    small, big = eta.expected(SMALL, 0.1, 15), eta.expected(BIG, 0.1, 15)
    left = eta.seconds_left([("k", small, 1.5 * small)], [("k", big)])
    assert left == pytest.approx(1.5 * big)


def test_kind_groups_by_pattern_processes_and_start_method():
    b = Scenario("pipe", "throughput", 1, 1, 65536, "fork")
    c = Scenario("queue", "throughput", 3, 1, 8, "fork")
    assert eta.kind(SMALL) == eta.kind(b) != eta.kind(c)
    assert eta.kind(None) == "other"


def test_packed_workers_take_turns_on_one_cpu_in_the_model():
    """Packed, a pair's copies and starts share one CPU however many the machine has: a big payload's
    floor and a start-up's process starts cost more than the same scenario left to the OS."""
    for pattern, payload, mechanism in (("throughput", 1 << 20, "pipe_bytes"), ("startup", 8, "pool_start")):
        producers, consumers = (1, 1) if pattern == "throughput" else (2, 0)
        args = (mechanism, pattern, producers, consumers, payload, "fork")
        free = eta.expected(Scenario(*args, "none"), 0.004, 3, cpus=2)
        packed = eta.expected(Scenario(*args, "packed"), 0.004, 3, cpus=2)
        assert packed > free, pattern
