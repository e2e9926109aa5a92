"""Figures from different moments put on one host speed before the gate compares them.

Each trial saves how fast a fixed loop ran on its workers' CPU just before and after its rounds
(``canary_ns``, see :mod:`ipcbench.canary`).  On a virtual machine that reading moves with the trial's
own figure: over ten quick runs on a 2-vCPU VM, a trial's log figure followed its log reading with a
correlation of 0.75-0.8, within runs and between them alike, and knowing the reading took 40% off the
spread of the trials of one scenario.  Setting the slowest-reading trials aside used only part of that
(a trial slowed 5-14% still counted as clean, and a run whose host was slow throughout had no clean
trial to stand for it), while judging each trial *by* its reading uses all of it.

So before a test, every sample of every figure compared is moved to one host speed, the way an
analysis of covariance (or CUPED, in online experiments) removes a covariate the treatment cannot move:

    log cost' = log cost - slope * (log reading - log centre)

``slope`` says how closely a figure follows its host, and patterns differ: over three sets of ten quick
runs, shared counters and lock hand-offs followed the loop at 0.9-1.0, messaging at 0.7-0.75, single
scenarios from 0.2 to 1.3.  One slope is fitted per pattern (the within-side least-squares slope of log
cost on log reading, pooled over every scenario of the pattern and every file compared, so that it
measures how a trial follows its own host, never how two runs differ), and shrunk towards the
family's as far as its own data leave it uncertain: DerSimonian and Laird's random-effects estimate, as
meta-analyses combine studies.  Not one slope per scenario: fitted from the six trials of a two-file
compare, such slopes followed the noise of the very trials they then judged, and made 5-6 of 9 honest
pairs differ where per-pattern slopes made 1.  ``centre`` is the median reading of everything compared.
Only the samples move; a figure's ``value`` stays what was measured.

A change to a channel cannot move the reading (a pure-Python loop, outside the clock, with the other
workers idle), so the adjustment keeps every real change whole.  A scenario compared against files
without readings (saved before they existed), or with too few sides to fit a slope, is left as
measured.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Mapping, Sequence

from ipcbench.figures import Figure, costs

#: Sides (a scenario in one file) with two samples or more needed to fit the slopes.
LEAST_SIDES = 10
#: Slopes are kept within these bounds: 0 (the figure ignores the host) to twice the loop's own
#: slowdown (lock hand-offs on a 2-vCPU VM followed it at 1.3; nothing came near 2).
SLOPE_RANGE = (0.0, 2.0)


@dataclasses.dataclass(frozen=True)
class Common:
    """How a comparison's figures were put on one host speed."""

    #: Log cost per log reading: the family's, and each pattern's (shrunk towards the family's).
    slope: float
    slopes: Mapping[str, float]
    #: The reading (ns) every sample was moved to.
    centre: float
    #: Sides the slopes were fitted over.
    sides: int

    def describe(self) -> str:
        each = ", ".join(f"{k} {v:.2f}" for k, v in sorted(self.slopes.items()))
        return (
            f"each trial's figure put on one host speed (a fixed loop at {self.centre / 1000:.0f} us); "
            f"over {self.sides} scenario sides, figures followed their host's reading with a slope of "
            f"{self.slope:.2f} ({each})"
        )


def _readable(fig: Figure) -> bool:
    return len(fig.hosts) == len(fig.samples) > 0


@dataclasses.dataclass
class _Fit:
    """A pattern's sums of squares and products, each side about its own means."""

    sxx: float = 0.0
    sxy: float = 0.0
    syy: float = 0.0
    df: int = 0
    sides: int = 0

    def add(self, fig: Figure) -> None:
        y = costs(fig.samples, fig.higher_is_better)
        x = [math.log(h) for h in fig.hosts]
        my, mx = statistics.fmean(y), statistics.fmean(x)
        self.sxx += sum((a - mx) ** 2 for a in x)
        self.sxy += sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
        self.syy += sum((b - my) ** 2 for b in y)
        self.df += len(y) - 1
        self.sides += 1

    def estimate(self) -> tuple[float, float] | None:
        """(slope, its sampling variance), or None without two degrees of freedom to judge it by."""
        if self.sxx <= 0 or self.df < 2:
            return None
        b = self.sxy / self.sxx
        resid = max(0.0, self.syy - b * self.sxy) / (self.df - 1)
        return b, max(resid, 1e-12) / self.sxx


def slopes(figures: Sequence[Figure]) -> Common | None:
    """Each pattern's slope, shrunk towards the family's; None with fewer than :data:`LEAST_SIDES`
    sides to fit them over.  ``centre`` is left at 0."""
    fits: dict[str, _Fit] = {}
    for fig in figures:
        if _readable(fig) and len(fig.samples) >= 2:
            fits.setdefault(fig.pattern, _Fit()).add(fig)
    sides = sum(f.sides for f in fits.values())
    own = {k: e for k, f in fits.items() if (e := f.estimate()) is not None}
    if sides < LEAST_SIDES or not own:
        return None
    # DerSimonian-Laird: the family's slope weighted by each one's precision, and how much more the
    # slopes scatter than their own uncertainty explains (tau^2, the true slopes' variance).
    w = {k: 1 / v for k, (_, v) in own.items()}
    total = sum(w.values())
    family = sum(w[k] * b for k, (b, _) in own.items()) / total
    q = sum(w[k] * (b - family) ** 2 for k, (b, _) in own.items())
    scale = total - sum(x * x for x in w.values()) / total
    tau2 = max(0.0, (q - (len(own) - 1)) / scale) if scale > 0 else 0.0

    def shrunk(k: str) -> float:
        if k not in own or tau2 == 0:
            return family
        b, v = own[k]
        return (b / v + family / tau2) / (1 / v + 1 / tau2)

    low, high = SLOPE_RANGE
    bounded = {k: min(high, max(low, shrunk(k))) for k in {f.pattern for f in figures}}
    return Common(min(high, max(low, family)), bounded, 0.0, sides)


def on_host(fig: Figure, by: float, centre: float) -> Figure:
    """The figure's samples as if each had run on a host reading ``centre`` (slope ``by``)."""
    # A higher cost is a lower rate or a longer time; moving the cost by -by*d moves a rate by +by*d.
    sign = 1 if fig.higher_is_better else -1
    samples = tuple(
        s * math.exp(sign * by * (math.log(h) - math.log(centre)))
        for s, h in zip(fig.samples, fig.hosts, strict=True)
    )
    return dataclasses.replace(fig, samples=samples)


def common(maps: Sequence[Mapping[str, Figure]]) -> tuple[list[dict[str, Figure]], Common | None]:
    """Every figure of every map on one host speed, where every side of its scenario has readings."""
    out = [dict(m) for m in maps]
    every = {sid for m in maps for sid in m}
    usable = {sid for sid in every if all(_readable(m[sid]) for m in maps if sid in m)}
    figs = [m[sid] for m in maps for sid in m if sid in usable]
    fitted = slopes(figs)
    if fitted is None:
        return out, None
    centre = math.exp(statistics.median(math.log(h) for f in figs for h in f.hosts))
    for m in out:
        for sid in m.keys() & usable:
            m[sid] = on_host(m[sid], fitted.slopes[m[sid].pattern], centre)
    return out, dataclasses.replace(fitted, centre=centre)


def run_level(figures: Mapping[str, Figure]) -> float | None:
    """A whole run's host speed: the median log reading of every trial of every figure (None without
    readings).  Where the host grows busier run by run, the figures of some patterns (start-up, four
    workers sharing a counter on two CPUs) slowed by more than their trials' own readings said."""
    logs = [math.log(h) for f in figures.values() if _readable(f) for h in f.hosts]
    return statistics.median(logs) if logs else None


def host_ratio(base: Figure, cur: Figure) -> float | None:
    """How many times slower the host read for the current side's samples than for the baseline's."""
    if not (base.hosts and cur.hosts):
        return None
    mean = [statistics.fmean(math.log(h) for h in f.hosts) for f in (base, cur)]
    return math.exp(mean[1] - mean[0])
