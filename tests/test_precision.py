"""Trials that stop once the figure is known: the precision of a few trials, the plan that reads it,
and what a scenario saves about it."""

from __future__ import annotations

import math

import pytest

from ipcbench import runner, trials
from ipcbench.scenario import Scenario, ScenarioError
from ipcbench.trials import Plan, Trial

PIPE = Scenario("pipe_bytes", "throughput", 1, 1, 8, "fork")


def test_precision_is_the_half_width_of_the_95pc_interval_of_the_mean_log_figure():
    # Logs 0.0953 apart: sd 0.0953, three trials, Student's t for two degrees of freedom 4.3027.
    assert trials.precision([100, 110, 121]) == pytest.approx(
        math.expm1(4.302653 * math.log(1.1) / math.sqrt(3))
    )


def test_one_trial_states_no_precision_and_agreeing_trials_a_perfect_one():
    assert trials.precision([5.0]) is None
    assert trials.precision([]) is None
    assert trials.precision([5.0, 5.0, 5.0]) == 0.0


def test_more_trials_of_the_same_spread_know_the_figure_better():
    few, many = [90, 110, 100], [90, 110, 100] * 3
    assert trials.precision(many) < trials.precision(few)


def test_a_rate_twice_as_fast_and_one_twice_as_slow_are_as_far_from_the_middle():
    assert trials.precision([1, 2, 4]) == pytest.approx(trials.precision([4, 2, 1]))
    assert trials.precision([1, 2]) == pytest.approx(trials.precision([2, 4]))


def test_a_fixed_plan_runs_every_trial_whatever_the_precision():
    plan = Plan(3)
    assert plan.least == 3
    assert not plan.done(2, 0.0)
    assert plan.done(3, None)


def test_a_plan_with_a_precision_stops_once_reached_after_three_trials_or_at_its_cap():
    plan = Plan(10, 0.1)
    assert plan.least == 3
    assert not plan.done(2, 0.01)  # two agreeing trials are not enough
    assert plan.done(3, 0.05)
    assert not plan.done(3, 0.2)
    assert not plan.done(9, None)
    assert plan.done(10, 0.5)  # the cap, however far
    assert Plan(2, 0.1).least == 2


@pytest.mark.parametrize("most, precision", [(0, None), (3, 0.0), (3, -0.1)])
def test_a_plan_refuses_what_cannot_be(most, precision):
    with pytest.raises(ScenarioError):
        Plan(most, precision)


def _records(*rates: float) -> list[dict[str, float]]:
    return [{"trial": k, "msgs_per_s": r} for k, r in enumerate(rates)]


def test_a_scenario_known_to_its_precision_reads_complete_with_the_trials_it_ran():
    info = runner.precision_info(PIPE, Trial(2, planned=10, precision=0.1), _records(100, 101, 99))
    assert info["trial_count"] == info["trials_planned"] == 3
    assert info["precision"] < 0.1 and info["precision_target"] == 0.1


def test_a_noisy_scenario_keeps_its_cap_until_it_reaches_it():
    noisy = _records(100, 200, 50)
    info = runner.precision_info(PIPE, Trial(2, planned=10, precision=0.1), noisy)
    assert (info["trial_count"], info["trials_planned"]) == (3, 10) and info["precision"] > 0.1
    info = runner.precision_info(PIPE, Trial(9, planned=10, precision=0.1), noisy * 3 + noisy[:1])
    assert info["trial_count"] == info["trials_planned"] == 10 and info["precision"] > 0.1


def test_a_fixed_count_still_says_what_precision_it_reached():
    info = runner.precision_info(PIPE, Trial(2, planned=3), _records(100, 101, 99))
    assert info["trial_count"] == info["trials_planned"] == 3
    assert info["precision"] is not None and info["precision_target"] is None
    assert runner.precision_info(PIPE, Trial(0, planned=3), _records(100))["trials_planned"] == 3


def test_latency_and_start_up_are_known_by_their_own_figure():
    latency = Scenario("pipe_bytes", "latency", 1, 1, 8, "fork")
    records = [{"msgs_per_s": 1.0, "rtt_p50_ns": v} for v in (1000, 1000, 1000)]
    assert runner.precision_info(latency, Trial(2, planned=5, precision=0.1), records)["precision"] == 0.0
    assert trials.figure("startup", {"op_p50_ns": 5e6, "msgs_per_s": 3.0}) == 5e6
    assert trials.figure("throughput", {"msgs_per_s": 0}) is None
