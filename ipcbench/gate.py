"""The regression gate's rules and its judging: thresholds, the TOML config, figures and verdicts.

A change counts only when it is *significant after family-wise control* and *large* (beyond the
scenario's threshold), asv's ``_is_result_better`` rule, and only where the scenario's own noise lets a
change of its threshold's size show at all.  Every pattern is judged on its own figure, in its own
direction:

* ``throughput``: msgs/s; the one-sided patterns (``shared_state``, ``locks``, ``bulk``): ops/s.
  Higher is better.
* ``latency``: the round-trip p50, lower is better.
* ``startup``: the p50 time of one start (``op_ns``), lower is better; never a round's duration over
  a calibrated batch of starts.

What varies between honest runs is what is tested.  A saved run's ``extra_info["trials"]`` holds one
figure per trial, each trial in freshly started workers at another moment of the run: those are the
samples of a file, each put on one host speed by the reading saved beside it (:mod:`ipcbench.host`)
before the test.  A run without trials is one sample (its headline figure), never its rounds: the
rounds of one run share one placement of the workers and one stretch of the machine's load.  A
directory of repeated runs gives one sample per run, its median of trials (see :mod:`ipcbench.runs`).

Sizes are stated as a slowdown factor ``r`` (how much longer the same work takes: baseline/current for
rates, current/baseline for times), so "2x slower" means the same for every metric.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ipcbench import fmt, host, roster, specs, stats
from ipcbench.figures import CompareError as CompareError
from ipcbench.figures import Figure as Figure
from ipcbench.figures import Subject as Subject
from ipcbench.figures import costs as costs
from ipcbench.figures import figure_of as figure_of
from ipcbench.figures import percent as percent
from ipcbench.figures import slowdown as slowdown

DEFAULT_THRESHOLD = 10.0
#: The spread (sd of log figures, ~ a fraction) a whole run adds to a scenario's figure beyond what its
#: trials show, when a thresholds file from ``ipcbench noise`` does not say it for the scenario.  The
#: trials of one file cannot see it: they share the run's build, the host's state over that minute.
DEFAULT_RUN_SD = 0.02
#: The family's error rate: the chance that a compare of two runs of the same code calls anything.
DEFAULT_ALPHA = 0.05

VERDICTS = ("slower", "faster", "same", "noisy", "new", "gone")
#: A pair's note gives its ratio on one host speed when that differs from the measured one by this.
HOST_NOTE = 1.02
#: What the ``noisy`` verdict means, in the tables.
NOISY = "too noisy to judge here"


# --- thresholds -------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Threshold:
    """How much slower counts as a regression: ``10%``, or ``latency=20%`` for one pattern or mechanism."""

    percent: float
    #: A pattern or mechanism name; None for the default.
    key: str | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.percent) and self.percent > 0):
            raise CompareError(f"a threshold must be a positive percentage, not {self.percent!r}")

    @property
    def factor(self) -> float:
        return 1 + self.percent / 100

    def __str__(self) -> str:
        pct = f"{self.percent:g}%"
        return pct if self.key is None else f"{self.key}={pct}"


_THRESHOLD_RE = re.compile(r"^\s*(?:(?P<key>[A-Za-z_][\w-]*)\s*=\s*)?(?P<pct>\d+(?:\.\d*)?|\.\d+)\s*%?\s*$")


def parse_threshold(text: str) -> Threshold:
    """``10%`` / ``10`` (the default) or ``NAME=PCT`` for a pattern or mechanism.

    Like pytest-benchmark's ``parse_compare_fail``: the text becomes a small frozen object, once.
    """
    match = _THRESHOLD_RE.match(str(text))
    if match is None:
        raise CompareError(f"cannot parse threshold {text!r}: use e.g. 10% or latency=20% or queue=15%")
    return Threshold(float(match["pct"]), match["key"])


def threshold_arg(text: str) -> Threshold:
    try:
        return parse_threshold(text)
    except CompareError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


@dataclasses.dataclass(frozen=True)
class Rules:
    """The gate: the family's error rate and the thresholds.  A scenario's own threshold (from a
    thresholds file that ``ipcbench noise`` writes) beats its mechanism's, which beats its pattern's."""

    default: Threshold = Threshold(DEFAULT_THRESHOLD)
    specific: tuple[Threshold, ...] = ()
    alpha: float = DEFAULT_ALPHA
    #: Scenario id -> percent.
    scenarios: Mapping[str, float] = dataclasses.field(default_factory=dict)
    #: What a whole run adds to a file's figure: scenario id -> sd of log figures, else ``run_sd``.
    run_sds: Mapping[str, float] = dataclasses.field(default_factory=dict)
    run_sd: float = DEFAULT_RUN_SD

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise CompareError(f"alpha must be between 0 and 1, not {self.alpha!r}")

    def run_sd_for(self, scenario: str) -> float:
        return self.run_sds.get(scenario, self.run_sd)

    def threshold_for(self, mechanism: str, pattern: str, scenario: str = "") -> Threshold:
        if scenario in self.scenarios:
            return Threshold(self.scenarios[scenario], scenario)
        by_key = {t.key: t for t in self.specific}  # later ones override earlier ones
        return by_key.get(mechanism) or by_key.get(pattern) or self.default

    def check_keys(self, known: Iterable[str]) -> None:
        """A threshold for a name nobody knows is a typo that would silently do nothing."""
        mechanisms = roster.families()
        patterns = tuple(specs.SPECS)
        names = set(known) | set(patterns) | set(mechanisms)
        for t in self.specific:
            if t.key not in names:
                raise CompareError(
                    f"threshold {t}: {t.key!r} is neither a pattern nor a mechanism "
                    f"(patterns: {', '.join(patterns)}; "
                    f"mechanisms: {', '.join(mechanisms)})"
                )

    def describe(self) -> str:
        parts = [f"default {self.default}"] + [str(t) for t in self.specific]
        if self.scenarios:
            parts.append(f"{len(self.scenarios)} scenario(s) with their own")
        return ", ".join(parts)


@dataclasses.dataclass(frozen=True)
class Config:
    """What a TOML config file holds; None where it says nothing."""

    default: Threshold | None = None
    specific: tuple[Threshold, ...] = ()
    alpha: float | None = None
    scenarios: Mapping[str, float] = dataclasses.field(default_factory=dict)
    run_sd: float | None = None
    run_sds: Mapping[str, float] = dataclasses.field(default_factory=dict)


CONFIG_KEYS = ("alpha", "threshold", "thresholds", "scenarios", "run_sd", "run_sds")


def read_config(path: Path) -> Config:
    """A small TOML file: ``alpha = 0.05``, ``threshold = "10%"``, a ``[thresholds]`` table of patterns
    and mechanisms, a ``[scenarios]`` table of scenario ids, and what a whole run adds to a file's
    figure: ``run_sd = "2%"`` and a ``[run_sds]`` table of scenario ids (what ``ipcbench noise`` writes)."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise CompareError(f"{path}: no such config file") from None
    except OSError as exc:
        raise CompareError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise CompareError(f"{path}: is not TOML ({exc})") from None
    unknown = set(data) - set(CONFIG_KEYS)
    if unknown:
        raise CompareError(f"{path}: unknown key(s) {', '.join(sorted(unknown))} ({', '.join(CONFIG_KEYS)})")

    def pct(where: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise CompareError(f'{path}: {where} must be a percentage like "10%", not {value!r}')
        try:
            return parse_threshold(str(value)).percent
        except CompareError as exc:
            raise CompareError(f"{path}: {where}: {exc}") from None

    def table(name: str) -> dict[str, Any]:
        value = data.get(name, {})
        if not isinstance(value, dict):
            raise CompareError(f'{path}: [{name}] must be a table of NAME = "PCT%"')
        return value

    default = Threshold(pct("threshold", data["threshold"])) if "threshold" in data else None
    specific = tuple(Threshold(pct(f"thresholds.{k}", v), k) for k, v in table("thresholds").items())
    scenarios = {k: pct(f'scenarios."{k}"', v) for k, v in table("scenarios").items()}

    def spread(where: str, value: Any) -> float:
        """A run's share of noise: a percentage like "2%" (or a number of percent), zero allowed."""
        text = str(value).strip().removesuffix("%") if isinstance(value, str) else value
        try:
            number = float(text) if not isinstance(text, bool) else math.nan
        except ValueError:
            number = math.nan
        if not (math.isfinite(number) and number >= 0):
            raise CompareError(f'{path}: {where} must be a percentage like "2%", not {value!r}')
        return number / 100

    run_sd = spread("run_sd", data["run_sd"]) if "run_sd" in data else None
    run_sds = {k: spread(f'run_sds."{k}"', v) for k, v in table("run_sds").items()}
    alpha = data.get("alpha")
    if alpha is not None and (
        isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1
    ):
        raise CompareError(f"{path}: alpha must be a number between 0 and 1, not {alpha!r}")
    return Config(default, specific, None if alpha is None else float(alpha), scenarios, run_sd, run_sds)


def rules_from(config: Path | None, thresholds: Sequence[Threshold], alpha: float | None) -> Rules:
    """The config file first, then the command line on top of it."""
    cfg = read_config(config) if config else Config()
    default, specific = cfg.default, list(cfg.specific)
    for t in thresholds:
        if t.key is None:
            default = t
        else:
            specific.append(t)
    return Rules(
        default or Threshold(DEFAULT_THRESHOLD),
        tuple(specific),
        alpha if alpha is not None else cfg.alpha if cfg.alpha is not None else DEFAULT_ALPHA,
        cfg.scenarios,
        cfg.run_sds,
        DEFAULT_RUN_SD if cfg.run_sd is None else cfg.run_sd,
    )


# --- verdicts ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Pair(Subject):
    """One scenario in both runs (or in one only: ``new`` / ``gone``) and the verdict on it."""

    verdict: str
    threshold: float
    baseline: float | None = None
    current: float | None = None
    #: current / baseline of the figure (pyperf's and pytest-benchmark's way round).
    ratio: float | None = None
    p99_ratio: float | None = None
    slowdown: float | None = None
    #: One-sided p of the direction the figure moved, and the same after the family's adjustment.
    p_value: float | None = None
    q_value: float | None = None
    #: The smallest slowdown (percent) this pair's noise and samples let the gate call significant.
    mdc: float | None = None
    #: How much (percent) a side's figure moves between reruns, as this pair's noise estimates it.
    spread: float | None = None
    #: How many samples each side had (trials, or runs for directories).
    samples: tuple[int, int] = (0, 0)
    #: How many times slower the host read for the current side's trials (None without readings).
    host_ratio: float | None = None
    note: str = ""

    @classmethod
    def of(cls, fig: Figure, verdict: str, threshold: float, **fields: Any) -> Pair:
        """A pair described by one side's figure (its metric, unit and direction)."""
        return cls(**fig.subject(), verdict=verdict, threshold=threshold, **fields)

    @property
    def regression(self) -> bool:
        return self.verdict == "slower"

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["samples"] = list(self.samples)
        out["regression"] = self.regression
        for key in ("mdc", "slowdown", "spread"):
            if out[key] is not None and math.isinf(out[key]):
                out[key] = None  # JSON has no infinity
        return out


@dataclasses.dataclass(frozen=True)
class Judged:
    """A pair of figures before the family's decision: its test, if its samples allow one."""

    base: Figure
    cur: Figure
    threshold: Threshold
    test: stats.TTest | None


def prepare(base: Figure, cur: Figure, threshold: Threshold, run_sd: float = 0.0) -> Judged:
    """The pair's test on log costs; ``run_sd`` is what a whole run adds to each side's figure beyond
    its samples (0 when the samples are whole runs, which hold it already)."""
    up = base.higher_is_better
    test = stats.t_test(costs(base.samples, up), costs(cur.samples, up), run_sd)
    return Judged(base, cur, threshold, test)


def decide(judged: Sequence[Judged], alpha: float, unit: str) -> list[Pair]:
    """The family's decision over every pair with a test, then each pair's verdict.

    Each test's variance is first shrunk towards the family's (:func:`ipcbench.stats.moderated`): with
    three trials a side, a scenario whose trials happened to agree would otherwise look steadier than it
    is.  Then Benjamini-Hochberg over the family at ``alpha``, separately for "slower" and "faster" (each
    one-sided).  A pair whose figure moves more between reruns than its threshold (the spread of one
    side's figure, trials and the whole run's share) is ``noisy`` and never gates.
    """
    own = [j.test for j in judged if j.test is not None]
    prior = stats.fit_prior([t.sd**2 for t in own], [t.df for t in own])
    tests = [None if j.test is None else stats.moderated(j.test, prior) for j in judged]
    family = sum(t is not None for t in tests)
    q_slow = stats.benjamini_hochberg([None if t is None else t.p_greater() for t in tests])
    q_fast = stats.benjamini_hochberg([None if t is None else t.p_less() for t in tests])
    level = alpha / max(family, 1)
    return [
        _verdict(dataclasses.replace(j, test=t), qs, qf, level, alpha, unit)
        for j, t, qs, qf in zip(judged, tests, q_slow, q_fast, strict=True)
    ]


def rerun_spread(test: stats.TTest) -> float:
    """How much (percent) one side's figure moves between reruns: its share of the difference's noise."""
    return percent(test.se / math.sqrt(2))


def _verdict(
    j: Judged, q_slow: float | None, q_fast: float | None, level: float, alpha: float, unit: str
) -> Pair:
    base, cur, t = j.base, j.cur, j.test
    # The size judged is that of the samples the test saw (on one host speed when compared).
    r = slowdown(base.level, cur.level, base.higher_is_better)
    factor = j.threshold.factor
    notes: list[str] = []
    p_value = q_value = mdc = spread = None
    if t is None:
        verdict = "noisy"
        notes.append(f"one {unit[:-1]} a side, no spread to judge by (runs without trials are one sample)")
    else:
        slower = t.diff > 0
        p_value = t.p_greater() if slower else t.p_less()
        q_value = q_slow if slower else q_fast
        mdc = percent(t.mdc(level))
        spread = rerun_spread(t)
        if spread > j.threshold.percent:
            verdict = "noisy"
            notes.append(f"a rerun moves it ±{_pct(spread)}, threshold {j.threshold.percent:g}%")
        else:
            significant = q_value is not None and q_value < alpha
            large = r > factor or r < 1 / factor
            if significant and large and (r > 1) == slower:
                verdict = "slower" if slower else "faster"
            else:
                verdict = "same"
                if large and not significant:
                    notes.append(f"not significant (q={'-' if q_value is None else fmt.p_value(q_value)})")
                elif significant and not large:
                    notes.append(f"significant but within {j.threshold.percent:g}%")
                elif large:
                    notes.append(f"figure and {unit} disagree")
    ratio = cur.value / base.value if base.value else None
    hosts = host.host_ratio(base, cur)
    level_ratio = cur.level / base.level if base.level else None
    if ratio and level_ratio and abs(math.log(level_ratio / ratio)) > math.log(HOST_NOTE):
        notes.append(f"on one host speed x{level_ratio:.2f} (host x{hosts or 1:.2f})")
    p99_ratio = cur.p99 / base.p99 if base.p99 and cur.p99 is not None else None
    if p99_ratio is not None:
        notes.append(f"p99 x{p99_ratio:.2f}")
    return Pair.of(
        cur,
        verdict,
        j.threshold.percent,
        baseline=base.value,
        current=cur.value,
        ratio=ratio,
        p99_ratio=p99_ratio,
        slowdown=r,
        p_value=p_value,
        q_value=q_value,
        mdc=mdc,
        spread=spread,
        samples=(len(base.samples), len(cur.samples)),
        host_ratio=hosts,
        note="; ".join(notes),
    )


def _pct(value: float) -> str:
    return f"{value:.0f}%"


def lonely(fig: Figure, verdict: str, t: Threshold) -> Pair:
    side = "current" if verdict == "new" else "baseline"
    note = "only in the current run" if verdict == "new" else "only in the baseline"
    return Pair.of(fig, verdict, t.percent, note=note, **{side: fig.value})
