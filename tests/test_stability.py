"""Stability warnings fire on synthetic round times, and stay quiet on steady ones."""

from ipcbench import stability

STEADY = [0.020, 0.0201, 0.0199, 0.020, 0.0202, 0.0198]


def test_steady_rounds_have_no_warning():
    assert stability.round_warnings(STEADY, resolution=1e-9) == []


def test_one_outlier_raises_the_stddev_warning_only():
    times = [*STEADY, 0.040]
    warnings = stability.round_warnings(times, resolution=1e-9)
    assert any("stddev" in w for w in warnings)
    assert not any("interquartile" in w for w in warnings)


def test_wide_rounds_raise_the_iqr_warning():
    times = [0.010, 0.014, 0.018, 0.022, 0.026, 0.030]
    assert any("interquartile" in w for w in stability.round_warnings(times, resolution=1e-9))


def test_too_few_rounds():
    assert any("too few rounds" in w for w in stability.round_warnings([0.02, 0.02], resolution=1e-9))


def test_rounds_too_short_for_1ms_and_for_a_coarse_timer():
    assert any("too short" in w for w in stability.round_warnings([0.0005] * 6, resolution=1e-9))
    # 20 ms rounds are fine for a 1 ns clock but not for a 1 ms one (1000 ticks needed).
    assert any("too short" in w for w in stability.round_warnings(STEADY, resolution=1e-3))


def test_describe_carries_the_warnings():
    from ipcbench import runner
    from ipcbench.harness import RoundResult, Settings
    from ipcbench.scenario import Scenario

    s = Scenario("pipe", "throughput", 1, 1, 8, "fork")
    results = [RoundResult(100, int(t * 1e9), int(t * 1e9)) for t in (0.0005, 0.0005)]
    info = runner.describe(s, Settings(), results, [0.0005, 0.0005], {})
    assert any("too few rounds" in w for w in info["warnings"])
    assert any("too short" in w for w in info["warnings"])
