"""The gate's statistics, pure maths on lists of floats: no pandas, no scipy.

* :func:`mann_whitney_u`: the rank test, kept for readers of rank statistics (the gate itself uses the
  t-test below, whose p-values can go as low as a family of 200 scenarios needs with a few trials).
* :func:`t_test`: Student's two-sample t-test with a pooled variance, on log figures, so that a change
  is a ratio and "2x slower" weighs the same for a fast and a slow scenario.  A test may carry a known
  run-to-run spread on top of its samples' (the trials of one run cannot see what whole runs add).
* :func:`fit_prior` and :func:`moderated`: the empirical-Bayes variance of Smyth's limma, which many
  small tests of one family share: each test's variance is shrunk towards the family's typical one, so
  three trials a side that happened to agree do not pass for a steady scenario.
* :func:`benjamini_hochberg`: the family-wise decision over every scenario judged in one compare.
* :func:`step_given`: a step in a series of runs, judged beside a covariate of each run (its host's
  speed), so that a step the covariate explains as well is not taken for one.
* :func:`robust_sd`, :func:`pooled_sd` and :func:`mdc`: the noise of a scenario and the smallest change
  a test at a given level can call significant with that noise and those sample counts.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Sequence

# --- Mann-Whitney U ---------------------------------------------------------------------------------


def ranks(values: Sequence[float]) -> list[float]:
    """Ranks from 1, ties sharing their average rank."""
    order = sorted(range(len(values)), key=values.__getitem__)
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def _u_distribution(n1: int, n2: int) -> list[int]:
    """How many of the C(n1+n2, n1) orderings give each U = 0 .. n1*n2 (no ties)."""
    # f[i][j] = counts of U for i and j values; f(i, j) = f(i-1, j) shifted by j + f(i, j-1).
    f = [[[1] for _ in range(n2 + 1)] for _ in range(n1 + 1)]
    for i in range(1, n1 + 1):
        for j in range(1, n2 + 1):
            a, b = f[i - 1][j], f[i][j - 1]
            out = [0] * (i * j + 1)
            for u, c in enumerate(a):
                out[u + j] += c
            for u, c in enumerate(b):
                out[u] += c
            f[i][j] = out
    return f[n1][n2]


#: The exact distribution is used when the smaller sample has at most this many values (and no ties).
EXACT_MAX_SMALLER = 8


def mann_whitney_u(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """(U of ``x``, two-sided p-value), chosen as scipy's ``mannwhitneyu(method="auto")`` chooses:
    exact when either sample has at most :data:`EXACT_MAX_SMALLER` values and there are no ties, else
    the normal approximation with the tie correction and a continuity correction."""
    n1, n2 = len(x), len(y)
    if n1 == 0 or n2 == 0:
        raise ValueError("both samples need at least one value")
    values = [*x, *y]
    r = ranks(values)
    u1 = sum(r[:n1]) - n1 * (n1 + 1) / 2
    ties = len(set(values)) < len(values)
    if not ties and min(n1, n2) <= EXACT_MAX_SMALLER:
        dist = _u_distribution(n1, n2)
        u = min(u1, n1 * n2 - u1)
        tail = sum(dist[: int(u) + 1])
        return u1, min(1.0, 2 * tail / math.comb(n1 + n2, n1))
    counts: dict[float, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    n = n1 + n2
    tie_term = sum(t**3 - t for t in counts.values()) / (n * (n - 1))
    var = n1 * n2 / 12 * ((n + 1) - tie_term)
    if var <= 0:  # every value equal: no evidence of any difference
        return u1, 1.0
    z = (abs(u1 - n1 * n2 / 2) - 0.5) / math.sqrt(var)
    return u1, min(1.0, math.erfc(max(z, 0.0) / math.sqrt(2)))


# --- Student's t ------------------------------------------------------------------------------------


def _betacf(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, eps = 1e-300, 1e-15
    qab, qap, qam = a + b, a + 1, a - 1
    c, d = 1.0, 1 - qab * x / qap
    d = 1 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 1000):
        m2 = 2 * m
        for aa in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1 + aa * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1) < eps:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b), for a, b > 0 and 0 <= x <= 1."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1 - math.exp(log_front) * _betacf(b, a, 1 - x) / b


def t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with ``df`` degrees of freedom."""
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    t2 = t * t
    if t2 < 0.1 * df:  # near 0, df / (df + t²) rounds to 1: the complement keeps the digits
        tail = 0.5 - 0.5 * betainc(0.5, df / 2, t2 / (df + t2))
    else:
        tail = 0.5 * betainc(df / 2, 0.5, df / (df + t2))
    return tail if t > 0 else 1 - tail


def t_isf(p: float, df: float) -> float:
    """The t with P(T > t) = p (0 < p < 1), by bisection: the gate needs a few per compare."""
    if not 0 < p < 1:
        raise ValueError(f"p must be between 0 and 1, not {p!r}")
    lo, hi = -1.0, 1.0
    while t_sf(lo, df) < p:
        lo *= 2
    while t_sf(hi, df) > p:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if t_sf(mid, df) > p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12 * max(1.0, abs(mid)):
            break
    return (lo + hi) / 2


#: Degrees of freedom taken as "known": beyond this Student's t is the normal distribution to 1e-6.
DF_KNOWN = 1e6


@dataclasses.dataclass(frozen=True)
class TTest:
    """Student's two-sample t-test of ``y`` against ``x`` (pooled variance), optionally with a known
    run-to-run spread ``run_sd`` that each side's mean carries on top of its samples' own spread."""

    #: mean(y) - mean(x).
    diff: float
    #: The pooled standard deviation of the two samples and its degrees of freedom.
    sd: float
    df: float
    n1: int
    n2: int
    #: The standard deviation a whole run adds to its mean (known, not estimated from these samples).
    run_sd: float = 0.0

    @property
    def sampling_var(self) -> float:
        """The variance of the difference of means that the samples themselves show."""
        return self.sd**2 * (1 / self.n1 + 1 / self.n2)

    @property
    def se(self) -> float:
        return math.sqrt(self.sampling_var + 2 * self.run_sd**2)

    @property
    def df_eff(self) -> float:
        """Satterthwaite's degrees of freedom: the known part of the variance has no estimation error,
        so the more of the variance it holds, the closer the test comes to a normal one."""
        if self.sampling_var == 0:
            return DF_KNOWN
        return min(DF_KNOWN, self.df * (self.se**2 / self.sampling_var) ** 2)

    @property
    def t(self) -> float:
        if self.se == 0:
            return 0.0 if self.diff == 0 else math.copysign(math.inf, self.diff)
        return self.diff / self.se

    def p_greater(self) -> float:
        """One-sided p of "y is larger than x"."""
        return t_sf(self.t, self.df_eff)

    def p_less(self) -> float:
        """One-sided p of "y is smaller than x"."""
        return t_sf(-self.t, self.df_eff)

    def mdc(self, level: float) -> float:
        """The smallest difference of means a one-sided test at ``level`` calls significant with this
        noise (found half the time at exactly this size; almost always at twice it)."""
        if not math.isfinite(self.se):
            return math.inf
        return t_isf(level, self.df_eff) * self.se


def pooled_sd(groups: Sequence[Sequence[float]]) -> tuple[float, int]:
    """(pooled standard deviation, degrees of freedom) of several samples, each about its own mean."""
    ss = sum(sum((v - statistics.fmean(g)) ** 2 for v in g) for g in groups if g)
    df = sum(len(g) - 1 for g in groups if g)
    return (math.sqrt(ss / df) if df > 0 else math.nan), df


def t_test(x: Sequence[float], y: Sequence[float], run_sd: float = 0.0) -> TTest | None:
    """The test, or None when there is no variance to estimate (fewer than 3 values in all)."""
    sd, df = pooled_sd([x, y])
    if not x or not y or df < 1:
        return None
    return TTest(statistics.fmean(y) - statistics.fmean(x), sd, df, len(x), len(y), run_sd)


# --- the family's shared variance (empirical Bayes) -------------------------------------------------


def digamma(x: float) -> float:
    """psi(x) for x > 0: the recurrence up to 10, then the asymptotic series (error < 1e-12)."""
    shift = 0.0
    while x < 10:
        shift -= 1 / x
        x += 1
    f = 1 / (x * x)
    series = f * (1 / 12 - f * (1 / 120 - f * (1 / 252 - f * (1 / 240 - f / 132))))
    return shift + math.log(x) - 0.5 / x - series


def trigamma(x: float) -> float:
    """psi'(x) for x > 0, the same way."""
    shift = 0.0
    while x < 10:
        shift += 1 / (x * x)
        x += 1
    f = 1 / (x * x)
    return shift + 1 / x + f / 2 + f / x * (1 / 6 - f * (1 / 30 - f * (1 / 42 - f / 30)))


def trigamma_inverse(y: float) -> float:
    """The x > 0 with trigamma(x) = y (y > 0); trigamma falls monotonically, so bisection in log x."""
    if not y > 0:
        raise ValueError(f"trigamma takes only positive values, not {y!r}")
    lo, hi = 1e-8, 1e12
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        if trigamma(mid) > y:
            lo = mid
        else:
            hi = mid
        if hi / lo < 1 + 1e-12:
            break
    return math.sqrt(lo * hi)


@dataclasses.dataclass(frozen=True)
class Prior:
    """What a family's variances say about one of them before its own samples: a scaled inverse
    chi-square with ``df`` degrees of freedom about ``var`` (``df`` is inf when they all agree)."""

    df: float
    var: float


#: Fewer tests than this cannot say how their variances spread: no shrinking.
PRIOR_MIN_TESTS = 10


def fit_prior(variances: Sequence[float], dfs: Sequence[float]) -> Prior | None:
    """Smyth's moment estimate (limma's ``fitFDist``) from the log variances of many tests.

    A sample variance with d degrees of freedom scatters about its true value by a known amount
    (trigamma(d/2) in logs); whatever the family's log variances scatter beyond that is how much the
    true variances differ, and sets how far each is shrunk.  None for too few usable tests.
    """
    pairs = [(v, d) for v, d in zip(variances, dfs, strict=True) if v > 0 and d > 0 and math.isfinite(v)]
    if len(pairs) < PRIOR_MIN_TESTS:
        return None
    e = [math.log(v) - digamma(d / 2) + math.log(d / 2) for v, d in pairs]
    mean = statistics.fmean(e)
    spread = statistics.variance(e) - statistics.fmean(trigamma(d / 2) for _, d in pairs)
    if spread <= 0:
        return Prior(math.inf, math.exp(mean))
    df0 = 2 * trigamma_inverse(spread)
    return Prior(df0, math.exp(mean + digamma(df0 / 2) - math.log(df0 / 2)))


def moderated(test: TTest, prior: Prior | None) -> TTest:
    """The test with its variance shrunk towards the family's: a weighted mean of the two, weighted by
    their degrees of freedom, with those degrees of freedom added (limma's moderated t)."""
    if prior is None or not math.isfinite(test.sd):
        return test
    if math.isinf(prior.df):
        return dataclasses.replace(test, sd=math.sqrt(prior.var), df=DF_KNOWN)
    var = (prior.df * prior.var + test.df * test.sd**2) / (prior.df + test.df)
    return dataclasses.replace(test, sd=math.sqrt(var), df=min(DF_KNOWN, prior.df + test.df))


# --- a step beside a covariate ----------------------------------------------------------------------


def step_given(
    y: Sequence[float], after: Sequence[bool], x: Sequence[float]
) -> tuple[float, float, int] | None:
    """``(step, its standard error, degrees of freedom)`` of ``y = a + step * after + c * x``, by least
    squares (Frisch-Waugh: both ``y`` and the step indicator are first cleared of what ``x`` explains).

    An analysis of covariance: the step is what remains between the two groups once ``x`` has had its
    say, and its error grows as far as ``x`` moved with the split itself.  None when nothing of the
    split is left once ``x`` is accounted for (``x`` stepped exactly where ``y`` did: no test can
    tell the two apart), or too few values for three parameters and an error.
    """
    n = len(y)
    if n < 4 or len(after) != n or len(x) != n:
        return None

    mx = statistics.fmean(x)
    sxx = sum((xi - mx) ** 2 for xi in x)

    def cleared(v: Sequence[float]) -> list[float]:
        mv = statistics.fmean(v)
        slope = sum((xi - mx) * (vi - mv) for xi, vi in zip(x, v, strict=True)) / sxx if sxx > 0 else 0.0
        return [vi - mv - slope * (xi - mx) for xi, vi in zip(x, v, strict=True)]

    ry, rs = cleared(y), cleared([1.0 if a else 0.0 for a in after])
    sss = sum(r * r for r in rs)
    # What the split shares with x beyond rounding: below this it is x's own step.
    if sss < 1e-9 * n:
        return None
    step = sum(a * b for a, b in zip(rs, ry, strict=True)) / sss
    df = n - 3 if sxx > 0 else n - 2  # a constant x fits nothing: the plain two-group test
    rss = sum((b - step * a) ** 2 for a, b in zip(rs, ry, strict=True))
    return step, math.sqrt(rss / df / sss), df


# --- noise and the smallest detectable change -------------------------------------------------------

#: MAD * this estimates the standard deviation of normal values.
MAD_TO_SD = 1.482602218505602


def robust_sd(values: Sequence[float]) -> float:
    """The spread of values with outliers given no weight: 1.4826 x the median absolute deviation."""
    if len(values) < 2:
        return math.nan
    m = statistics.median(values)
    return MAD_TO_SD * statistics.median(abs(v - m) for v in values)


def mdc(sd: float, df: float, n1: int, n2: int, level: float, run_sd: float = 0.0) -> float:
    """The smallest difference of means a one-sided t-test at ``level`` calls significant, for samples
    of ``n1`` and ``n2`` values whose pooled standard deviation is ``sd`` (``df`` degrees of freedom),
    each side's mean also carrying a known ``run_sd``.  ``inf`` without an estimate of the noise.
    """
    if df < 1 or n1 < 1 or n2 < 1 or not math.isfinite(sd):
        return math.inf
    return TTest(0.0, sd, df, n1, n2, run_sd).mdc(level)


# --- the family -------------------------------------------------------------------------------------


def benjamini_hochberg(p_values: Sequence[float | None]) -> list[float | None]:
    """Benjamini-Hochberg adjusted p-values (q-values) over the family of the non-None p-values.

    ``q <= alpha`` is the step-up decision at false-discovery rate ``alpha``; when nothing changed at all
    (every hypothesis true) it is also the chance of any false call, as with Bonferroni.
    """
    family = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = len(family)
    out: list[float | None] = [None] * len(p_values)
    running = 1.0
    for rank in range(m, 0, -1):
        p, i = family[rank - 1]
        running = min(running, p * m / rank)
        out[i] = running
    return out


def log_all(values: Sequence[float]) -> list[float]:
    """Natural logs of the positive values (a rate or a time that is zero or negative has no ratio)."""
    return [math.log(v) for v in values if v > 0 and math.isfinite(v)]
