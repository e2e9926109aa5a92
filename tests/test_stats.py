"""The gate's statistics against scipy's, across the sample sizes a compare meets."""

import math
import warnings

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ipcbench import stats

scipy_stats = pytest.importorskip("scipy.stats")

#: Values with room for ties (a few distinct ones) and without (continuous).
tied = st.integers(min_value=0, max_value=6).map(float)
continuous = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)


def samples(elements, low=2, high=30):
    return st.lists(elements, min_size=low, max_size=high)


@settings(max_examples=300, deadline=None)
@given(x=samples(st.one_of(tied, continuous)), y=samples(st.one_of(tied, continuous)))
def test_mann_whitney_u_is_scipys_auto(x, y):
    u, p = stats.mann_whitney_u(x, y)
    ref = scipy_stats.mannwhitneyu(x, y, alternative="two-sided", method="auto")
    assert u == pytest.approx(ref.statistic)
    if math.isnan(ref.pvalue):  # scipy: every value equal
        assert p == 1.0
    else:
        assert p == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)


def test_the_exact_distribution_is_used_up_to_eight_in_the_smaller_sample():
    """scipy's auto switches at 8 a side, not at a total of 40: 8 vs 30 is exact, 9 vs 9 is not."""
    x, y = [float(i) for i in range(8)], [float(i) + 0.5 for i in range(4, 34)]
    exact = scipy_stats.mannwhitneyu(x, y, method="exact").pvalue
    assert stats.mann_whitney_u(x, y)[1] == pytest.approx(exact, rel=1e-12)
    x, y = [float(i) for i in range(9)], [float(i) + 0.5 for i in range(4, 13)]
    normal = scipy_stats.mannwhitneyu(x, y, method="asymptotic").pvalue
    assert stats.mann_whitney_u(x, y)[1] == pytest.approx(normal, rel=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    t=st.floats(min_value=-60, max_value=60, allow_nan=False),
    df=st.integers(min_value=1, max_value=200),
)
def test_t_sf_is_scipys(t, df):
    assert stats.t_sf(t, df) == pytest.approx(scipy_stats.t.sf(t, df), rel=1e-8, abs=1e-300)


@settings(max_examples=100, deadline=None)
@given(
    p=st.floats(min_value=1e-9, max_value=0.5),
    df=st.integers(min_value=1, max_value=100),
)
def test_t_isf_is_scipys(p, df):
    assert stats.t_isf(p, df) == pytest.approx(scipy_stats.t.isf(p, df), rel=1e-7)


@settings(max_examples=200, deadline=None)
@given(
    x=samples(st.floats(min_value=-5, max_value=5, allow_nan=False)),
    y=samples(st.floats(min_value=-5, max_value=5, allow_nan=False)),
)
def test_t_test_is_scipys_student(x, y):
    test = stats.t_test(x, y)
    assert test is not None
    assume(test.sd > 1e-6)  # no spread: scipy warns or says nan, the gate decides by the sign alone
    with warnings.catch_warnings():  # scipy warns of a sample without spread; the reference stands
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = scipy_stats.ttest_ind(y, x, equal_var=True, alternative="greater")
    assert test.t == pytest.approx(ref.statistic, rel=1e-7, abs=1e-9)
    assert test.p_greater() == pytest.approx(ref.pvalue, rel=1e-6, abs=1e-300)
    assert test.p_less() == pytest.approx(1 - ref.pvalue, rel=1e-6, abs=1e-12)


def test_t_test_needs_a_spread_to_estimate():
    assert stats.t_test([1.0], [2.0]) is None
    assert stats.t_test([], [1.0, 2.0]) is None
    assert stats.t_test([1.0], [2.0, 3.0]) is not None


@settings(max_examples=200, deadline=None)
@given(p=st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=60))
def test_benjamini_hochberg_is_scipys(p):
    ref = scipy_stats.false_discovery_control(p, method="bh")
    assert stats.benjamini_hochberg(p) == pytest.approx(list(ref), rel=1e-12, abs=1e-300)


def test_benjamini_hochberg_leaves_the_unjudged_out_of_the_family():
    assert stats.benjamini_hochberg([0.01, None, 0.04]) == [0.02, None, 0.04]


def test_mdc_is_the_change_that_is_just_significant():
    """A difference of exactly the MDC gives p = level; a larger one p < level."""
    sd, n1, n2, level = 0.1, 6, 5, 0.05 / 200
    change = stats.mdc(sd, n1 + n2 - 2, n1, n2, level)
    test = stats.TTest(change, sd, n1 + n2 - 2, n1, n2)
    assert test.p_greater() == pytest.approx(level, rel=1e-6)
    assert stats.TTest(change * 1.01, sd, n1 + n2 - 2, n1, n2).p_greater() < level
    assert stats.mdc(sd, 0, 1, 1, level) == math.inf


@pytest.mark.parametrize(
    ("n", "at_most"),
    [(5, 0.43), (8, 0.26), (10, 0.21)],
)
def test_mdc_at_realistic_noise_and_a_family_of_200(n, at_most):
    """The arithmetic the README states: 10% noise, n trials a side, a lone change among 200 at 5%."""
    got = math.exp(stats.mdc(0.10, 2 * n - 2, n, n, 0.05 / 200)) - 1
    assert at_most - 0.05 < got <= at_most


def test_robust_sd_ignores_one_outlier():
    values = [1.0, 1.1, 0.9, 1.05, 0.95, 50.0]
    assert stats.robust_sd(values) < 0.2
    assert math.isnan(stats.robust_sd([1.0]))


# --- a whole run's share, and the family's shared variance -----------------------------------------------

scipy_special = pytest.importorskip("scipy.special")


@settings(max_examples=200, deadline=None)
@given(x=st.floats(min_value=1e-3, max_value=1e4))
def test_digamma_and_trigamma_are_scipys(x):
    assert stats.digamma(x) == pytest.approx(scipy_special.digamma(x), rel=1e-10, abs=1e-10)
    assert stats.trigamma(x) == pytest.approx(scipy_special.polygamma(1, x), rel=1e-10, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(y=st.floats(min_value=1e-4, max_value=1e4))
def test_trigamma_inverse_inverts(y):
    assert stats.trigamma(stats.trigamma_inverse(y)) == pytest.approx(y, rel=1e-8)


def test_a_known_run_share_widens_the_test_and_keeps_its_normal_limit():
    """The run share adds 2 x run_sd² to the variance of the difference; being known, it raises the
    degrees of freedom (Satterthwaite), so with no sample noise the test is a z-test."""
    plain = stats.TTest(0.2, 0.05, 4, 3, 3)
    wide = stats.TTest(0.2, 0.05, 4, 3, 3, run_sd=0.03)
    assert wide.se == pytest.approx(math.sqrt(0.05**2 * 2 / 3 + 2 * 0.03**2))
    assert wide.t < plain.t and wide.df_eff > plain.df_eff == 4
    known = stats.TTest(0.2, 0.0, 4, 3, 3, run_sd=0.1)
    assert known.p_greater() == pytest.approx(scipy_stats.norm.sf(0.2 / math.sqrt(0.02)), rel=1e-4)
    assert stats.t_test([1.0, 1.1, 0.9], [1.2, 1.3, 1.1], run_sd=0.05).run_sd == 0.05


def test_fit_prior_recovers_a_family_of_equal_variances():
    """Sample variances of one true variance scatter only as chi-square predicts: no spread is left
    between the true variances, so the prior knows the variance (infinite degrees of freedom)."""
    rng = __import__("random").Random(7)
    true_sd, n = 0.1, 3
    variances = []
    for _ in range(400):
        a, b = ([rng.gauss(0, true_sd) for _ in range(n)] for _ in range(2))
        variances.append(stats.pooled_sd([a, b])[0] ** 2)
    prior = stats.fit_prior(variances, [2 * n - 2] * len(variances))
    assert prior is not None
    assert prior.df > 30
    assert math.sqrt(prior.var) == pytest.approx(true_sd, rel=0.1)


def test_fit_prior_of_spread_out_variances_shrinks_little():
    rng = __import__("random").Random(8)
    variances, dfs = [], []
    for _ in range(400):
        sd = 0.1 * math.exp(rng.gauss(0, 1.0))  # true variances that differ by a factor of ~7 each way
        a, b = ([rng.gauss(0, sd) for _ in range(3)] for _ in range(2))
        variances.append(stats.pooled_sd([a, b])[0] ** 2)
        dfs.append(4)
    prior = stats.fit_prior(variances, dfs)
    assert prior is not None and prior.df < 5
    assert stats.fit_prior(variances[:5], dfs[:5]) is None  # too few to tell


def test_moderation_weights_own_and_family_variance_by_their_degrees_of_freedom():
    test = stats.TTest(0.1, 0.01, 4, 3, 3)
    mod = stats.moderated(test, stats.Prior(4.0, 0.04**2))
    assert mod.sd == pytest.approx(math.sqrt((4 * 0.04**2 + 4 * 0.01**2) / 8))
    assert mod.df == 8 and mod.diff == test.diff
    assert stats.moderated(test, None) is test
    assert stats.moderated(test, stats.Prior(math.inf, 0.0009)).sd == pytest.approx(0.03)


@settings(max_examples=100, deadline=None)
@given(
    y=st.lists(st.floats(min_value=-5, max_value=5, allow_nan=False), min_size=6, max_size=12),
    x_seed=st.integers(0, 2**32 - 1),
    cut=st.integers(2, 4),
)
def test_step_given_a_covariate_is_least_squares(y, x_seed, cut):
    """The step and its standard error are those of the full regression ``y ~ 1 + after + x``."""
    np = pytest.importorskip("numpy")
    rng = np.random.default_rng(x_seed)
    x = list(rng.normal(size=len(y)))
    after = [i >= cut for i in range(len(y))]
    design = np.column_stack([np.ones(len(y)), np.array(after, float), np.array(x)])
    coef, _, rank, _ = np.linalg.lstsq(design, np.array(y), rcond=None)
    assume(rank == 3)
    residual = np.array(y) - design @ coef
    s2 = residual @ residual / (len(y) - 3)
    se = math.sqrt(s2 * np.linalg.inv(design.T @ design)[1, 1])
    fit = stats.step_given(y, after, x)
    assert fit is not None
    assert fit[0] == pytest.approx(coef[1], rel=1e-6, abs=1e-9)
    assert fit[1] == pytest.approx(se, rel=1e-6, abs=1e-9)
    assert fit[2] == len(y) - 3


def test_a_step_the_covariate_takes_exactly_is_not_judged_and_a_constant_one_is_the_plain_test():
    y = [1.0, 1.1, 0.9, 2.0, 2.1, 1.9]
    after = [False] * 3 + [True] * 3
    assert stats.step_given(y, after, [0.0] * 3 + [1.0] * 3) is None  # the host stepped exactly there
    step, se, df = stats.step_given(y, after, [5.0] * 6)
    plain = stats.t_test(y[:3], y[3:])
    assert (step, se, df) == pytest.approx((plain.diff, plain.se, plain.df))
