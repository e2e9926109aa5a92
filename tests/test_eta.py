"""The time-left estimate: per kind of scenario, then overall, then a prior from the settings."""

import pytest

from ipcbench import eta
from ipcbench.harness import Settings
from ipcbench.scenario import Scenario


def test_prior_counts_calibration_warmup_and_timed_rounds():
    settings = Settings(round_time=0.02, rounds=5, warmup_rounds=1)
    assert eta.prior(settings, processes=2) == pytest.approx((3 + 1 + 5) * 0.02 + 2 * eta.STARTUP_S)


def test_nothing_done_uses_the_prior():
    assert eta.seconds_left([], ["a", "b"], fallback=0.5) == 1.0


def test_each_kind_uses_its_own_median_and_unknown_kinds_the_overall_one():
    done = [("2p", 0.2), ("2p", 0.3), ("2p", 10.0), ("4p", 1.0)]
    # 2p: median 0.3 (the slow outlier does not count); 4p: 1.0; 8p unseen: median of all = 0.65.
    assert eta.seconds_left(done, ["2p", "4p", "8p"], fallback=99) == pytest.approx(0.3 + 1.0 + 0.65)


def test_kind_groups_by_pattern_processes_and_start_method():
    a = Scenario("queue", "throughput", 1, 1, 8, "fork")
    b = Scenario("pipe", "throughput", 1, 1, 65536, "fork")
    c = Scenario("queue", "throughput", 3, 1, 8, "fork")
    assert eta.kind(a) == eta.kind(b) != eta.kind(c)
    assert eta.kind(None) == "other"
