"""Stability warnings for one benchmark's rounds, after pyperf's checks (``pyperf/_cli.py``).

pyperf warns when the standard deviation reaches 10% of the mean, when the shortest value is under
1 ms, and when there are too few values for a stable result.  ipcbench reports medians, so spread is
measured against the median, twice: the standard deviation (sensitive to a single outlier round) and
the interquartile range (the spread of the typical rounds).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence

#: pyperf warns when the standard deviation reaches 10% of the mean; we compare with the median.
SPREAD_WARN = 0.10
#: The middle half of the rounds spread over more than this share of the median.
IQR_WARN = 0.10
#: Fewer timed rounds than this and a median is little better than a single value.
MIN_ROUNDS = 5
#: A round must last this many timer ticks, so the clock's resolution is below 0.1% of it...
TIMER_FACTOR = 1000
#: ...and at least this long (pyperf's 1 ms), so scheduler ticks and wake-ups do not dominate.
MIN_ROUND_S = 1e-3
#: The median round must reach this share of the round-time target the batch was calibrated for.
SHORT_ROUND = 0.5


def timer_resolution() -> float:
    return time.get_clock_info("perf_counter").resolution


def quartiles(values: Sequence[float]) -> tuple[float, float]:
    """Q1 and Q3 the way pytest-benchmark computes its ``iqr`` (``statistics.quantiles``, exclusive)."""
    if len(values) < 2:
        return values[0], values[0]
    q = statistics.quantiles(values, n=4)
    return q[0], q[2]


def short(times_s: Sequence[float], target: float) -> bool:
    """Whether the median of rounds lasting ``times_s`` is under :data:`SHORT_ROUND` of ``target``."""
    return bool(times_s) and statistics.median(times_s) < SHORT_ROUND * target


def round_warnings(
    times_s: Sequence[float], resolution: float | None = None, target: float | None = None
) -> list[str]:
    """Warnings for the durations of one benchmark's timed rounds (seconds); empty when all is well.

    ``target``: the round time the batch was calibrated for, if the rounds should have reached it.
    """
    out: list[str] = []
    if not times_s:
        return out
    median = statistics.median(times_s)
    if len(times_s) >= 2 and median > 0:
        sd = statistics.stdev(times_s) / median
        if sd >= SPREAD_WARN:
            out.append(f"high spread: stddev is {sd:.0%} of the median round")
        q1, q3 = quartiles(times_s)
        iqr = (q3 - q1) / median
        if iqr >= IQR_WARN:
            out.append(f"high spread: the interquartile range is {iqr:.0%} of the median round")
    if len(times_s) < MIN_ROUNDS:
        out.append(f"too few rounds: {len(times_s)} (at least {MIN_ROUNDS} for a stable median)")
    shortest = min(times_s)
    floor = max(MIN_ROUND_S, TIMER_FACTOR * (timer_resolution() if resolution is None else resolution))
    if shortest < floor:
        out.append(
            f"rounds too short: the shortest took {shortest * 1e3:.3f} ms, under {floor * 1e3:.3f} ms "
            "(timer resolution and wake-ups weigh on it; raise --round-time)"
        )
    if target is not None and short(times_s, target):
        out.append(
            f"short rounds: the median round took {median * 1e3:.3g} ms, under half the "
            f"{target * 1e3:.3g} ms target (the calibrated batch ran faster than when it was sized)"
        )
    return out
