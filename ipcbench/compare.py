"""``ipcbench compare BASELINE CURRENT``: a regression gate that needs both statistics and size.

A change counts only when it is *significant* (a Mann-Whitney U test on the per-round samples, as
pyperf's ``is_significant`` gates on a t-test) *and* *large* (beyond a threshold, as pytest-benchmark's
``--benchmark-compare-fail``), which is asv's ``_is_result_better`` rule.  Benchmarks are paired by
scenario id, never by position, and every metric is judged with its own direction:

* ``throughput`` (and any pattern with ``msgs_per_s`` that is not listed below): msgs/s, higher is
  better; the samples are per-round rates (messages / round seconds), so two runs whose calibration
  chose different batch sizes still compare.
* ``latency``: the round-trip p50, lower is better.  A latency round is a fixed number of round trips,
  and its datum (seconds per message) is the mean round trip of that round: those are the samples tested.
* ``startup``: the median time of one start (``op_ns`` p50) in ms, lower is better; the samples are
  each round's mean start.
* the one-sided patterns (``shared_state``, ``locks``, ``bulk``) count operations: ops/s.

The loaded ``data`` are seconds per message of each round (see :mod:`ipcbench.schema`).

Sizes are stated as a slowdown factor ``r`` (how much longer the same work takes: baseline/current for
rates, current/baseline for times), so "2x slower" means the same for every metric; ``slower`` needs
``r > 1 + threshold`` and ``faster`` needs ``r < 1 / (1 + threshold)``.

pandas is imported only through :func:`ipcbench.results.load`, inside the command.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import re
import statistics
import sys
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ipcbench import fmt, progress, results
from ipcbench.catalog import entries
from ipcbench.scenario import PATTERNS

EXIT_OK, EXIT_REGRESSION, EXIT_USAGE = 0, 1, 2

DEFAULT_THRESHOLD = 10.0
DEFAULT_ALPHA = 0.05
#: Below this many rounds on a side the test is not used at all (see :func:`judge`).
MIN_ROUNDS = 3
#: Without a usable test the ratio alone decides, at this multiple of the threshold.
FALLBACK_FACTOR = 2.0
#: Patterns other branches add; thresholds may name them before they exist here.
FUTURE_PATTERNS: tuple[str, ...] = ()
#: The raw baseline mechanism that ``--normalize`` divides by.
REFERENCE_MECHANISM = "os_pipe"
#: Patterns whose operations are messages; every other pattern counts operations.
MESSAGING = ("throughput", "latency")

VERDICTS = ("slower", "faster", "same", "new", "gone")


class CompareError(ValueError):
    """Unusable input for a comparison; the message is one line meant for the user."""


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


def _alpha_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"alpha must be between 0 and 1, not {text}")
    return value


@dataclasses.dataclass(frozen=True)
class Rules:
    """The gate: significance level and thresholds.  A mechanism's threshold beats its pattern's."""

    default: Threshold = Threshold(DEFAULT_THRESHOLD)
    specific: tuple[Threshold, ...] = ()
    alpha: float = DEFAULT_ALPHA

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise CompareError(f"alpha must be between 0 and 1, not {self.alpha!r}")

    def threshold_for(self, mechanism: str, pattern: str) -> Threshold:
        by_key = {t.key: t for t in self.specific}  # later ones override earlier ones
        return by_key.get(mechanism) or by_key.get(pattern) or self.default

    def check_keys(self, known: Iterable[str]) -> None:
        """A threshold for a name nobody knows is a typo that would silently do nothing."""
        mechanisms = entries()
        names = set(known) | set(PATTERNS) | set(FUTURE_PATTERNS) | set(mechanisms)
        for t in self.specific:
            if t.key not in names:
                raise CompareError(
                    f"threshold {t}: {t.key!r} is neither a pattern nor a mechanism "
                    f"(patterns: {', '.join(PATTERNS + FUTURE_PATTERNS)}; "
                    f"mechanisms: {', '.join(mechanisms)})"
                )

    def describe(self) -> str:
        parts = [f"default {self.default}"] + [str(t) for t in self.specific]
        return ", ".join(parts)


def read_config(path: Path) -> tuple[Threshold | None, list[Threshold], float | None]:
    """A small TOML file: ``alpha = 0.05``, ``threshold = "10%"`` and a ``[thresholds]`` table."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise CompareError(f"{path}: no such config file") from None
    except OSError as exc:
        raise CompareError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise CompareError(f"{path}: is not TOML ({exc})") from None
    unknown = set(data) - {"alpha", "threshold", "thresholds"}
    if unknown:
        raise CompareError(
            f"{path}: unknown key(s) {', '.join(sorted(unknown))} (alpha, threshold, thresholds)"
        )

    def pct(where: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise CompareError(f'{path}: {where} must be a percentage like "10%", not {value!r}')
        try:
            return parse_threshold(str(value)).percent
        except CompareError as exc:
            raise CompareError(f"{path}: {where}: {exc}") from None

    default = Threshold(pct("threshold", data["threshold"])) if "threshold" in data else None
    table = data.get("thresholds", {})
    if not isinstance(table, dict):
        raise CompareError(f'{path}: [thresholds] must be a table of NAME = "PCT%"')
    specific = [Threshold(pct(f"thresholds.{k}", v), k) for k, v in table.items()]
    alpha = data.get("alpha")
    if alpha is not None and (
        isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1
    ):
        raise CompareError(f"{path}: alpha must be a number between 0 and 1, not {alpha!r}")
    return default, specific, None if alpha is None else float(alpha)


def rules_from(config: Path | None, thresholds: Sequence[Threshold], alpha: float | None) -> Rules:
    """The config file first, then the command line on top of it."""
    default, specific, cfg_alpha = read_config(config) if config else (None, [], None)
    for t in thresholds:
        if t.key is None:
            default = t
        else:
            specific.append(t)
    return Rules(
        default or Threshold(DEFAULT_THRESHOLD),
        tuple(specific),
        alpha if alpha is not None else cfg_alpha if cfg_alpha is not None else DEFAULT_ALPHA,
    )


# --- statistics -------------------------------------------------------------------------------------


def _ranks(values: Sequence[float]) -> list[float]:
    """Ranks from 1, ties sharing their average rank."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


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


#: Exact p-values up to this many values in all; beyond, the normal approximation is good.
EXACT_LIMIT = 40


def mann_whitney_u(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """(U of ``x``, two-sided p-value), exact without ties for small samples, else normal with ties.

    The same choice scipy's ``mannwhitneyu(method="auto")`` makes; written out here so the gate needs
    no extra dependency.
    """
    n1, n2 = len(x), len(y)
    if n1 == 0 or n2 == 0:
        raise ValueError("both samples need at least one value")
    values = [*x, *y]
    ranks = _ranks(values)
    u1 = sum(ranks[:n1]) - n1 * (n1 + 1) / 2
    mean = n1 * n2 / 2
    ties = len(set(values)) < len(values)
    if not ties and n1 + n2 <= EXACT_LIMIT:
        dist = _u_distribution(n1, n2)
        total = math.comb(n1 + n2, n1)
        u = min(u1, n1 * n2 - u1)
        tail = sum(dist[: int(u) + 1])
        return u1, min(1.0, 2 * tail / total)
    counts: dict[float, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    n = n1 + n2
    tie_term = sum(t**3 - t for t in counts.values()) / (n * (n - 1))
    var = n1 * n2 / 12 * ((n + 1) - tie_term)
    if var <= 0:  # every value equal: no evidence of any difference
        return u1, 1.0
    z = (abs(u1 - mean) - 0.5) / math.sqrt(var)  # continuity correction
    return u1, min(1.0, math.erfc(max(z, 0.0) / math.sqrt(2)))


def min_p_value(n1: int, n2: int) -> float:
    """The smallest two-sided p the exact test can give: with 3 rounds a side it is 0.1, never < 0.05."""
    return min(1.0, 2 / math.comb(n1 + n2, n1))


# --- figures ----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Subject:
    """What a figure or a verdict is about: the scenario, and the metric with its direction."""

    scenario: str
    mechanism: str
    pattern: str
    metric: str
    unit: str
    higher_is_better: bool

    def subject(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(Subject)}


@dataclasses.dataclass(frozen=True)
class Figure(Subject):
    """A benchmark's headline figure and the per-round samples behind it (same direction)."""

    value: float
    #: Per round, in a unit that moves the same way as ``value`` (rates, or seconds per round trip).
    samples: tuple[float, ...]
    #: Latency only: the p99, to report beside the p50.
    p99: float | None = None

    def scaled(self, by: float, unit: str) -> Figure:
        """Divided by a reference figure (``--normalize``)."""
        p99 = None if self.p99 is None else self.p99 / by
        return dataclasses.replace(
            self, value=self.value / by, samples=tuple(s / by for s in self.samples), p99=p99, unit=unit
        )


def _num(row: Mapping[str, Any], key: str) -> float | None:
    value = row.get(key)
    if value is None or isinstance(value, bool):
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def figure_of(row: Mapping[str, Any]) -> Figure:
    """The figure that matters for one loaded row (see the module docstring for each pattern)."""
    data = row.get("data")
    # Seconds per message (operation, start) of each round.
    rounds = [float(d) for d in data] if isinstance(data, list | tuple) else []
    sid, mechanism, pattern = str(row["scenario"]), str(row["mechanism"]), str(row["pattern"])
    if pattern == "latency":
        p50, p99 = _num(row, "rtt_p50_ns"), _num(row, "rtt_p99_ns")
        if p50 is None:
            raise CompareError(f"{row.get('file')}: {sid} has no rtt p50")
        return Figure(
            sid,
            mechanism,
            pattern,
            metric="rtt p50",
            unit="µs",
            higher_is_better=False,
            value=p50 / 1000,
            samples=tuple(rounds),
            p99=None if p99 is None else p99 / 1000,
        )
    if pattern == "startup":
        # One start, as every start-up figure is judged: a round is a calibrated batch of starts.
        per_op = _num(row, "op_p50_ns")
        if per_op is None:
            per_op = (_num(row, "median") or 0.0) * 1e9
        return Figure(
            sid,
            mechanism,
            pattern,
            metric="start-up",
            unit="ms",
            higher_is_better=False,
            value=per_op / 1e6,
            samples=tuple(d * 1000 for d in rounds),
            p99=None if (p99 := _num(row, "op_p99_ns")) is None else p99 / 1e6,
        )
    rate = _num(row, "msgs_per_s") or 0.0
    # The one-sided patterns count operations, not messages.
    unit = "msgs/s" if pattern in MESSAGING else "ops/s"
    return Figure(
        sid,
        mechanism,
        pattern,
        metric=unit,
        unit=unit,
        higher_is_better=True,
        value=rate,
        samples=tuple(1 / d for d in rounds if d > 0),
    )


def slowdown(base: float, cur: float, higher_is_better: bool) -> float:
    """How many times longer the same work takes now: > 1 is worse, whatever the metric's direction."""
    if base <= 0 or cur <= 0:
        return math.inf if (cur <= 0) == higher_is_better else 0.0
    return base / cur if higher_is_better else cur / base


# --- pairs ------------------------------------------------------------------------------------------


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
    p_value: float | None = None
    #: How many samples each side had (rounds, or runs for directories).
    samples: tuple[int, int] = (0, 0)
    #: ``mwu`` (test and threshold) or ``ratio`` (the stated fallback); empty for new/gone.
    rule: str = ""
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
        return out


def judge(base: Figure, cur: Figure, threshold: Threshold, alpha: float, sample: str = "rounds") -> Pair:
    """asv's rule: a verdict other than ``same`` needs a significant difference and a large one.

    Fallback, stated in the pair's note: with fewer than :data:`MIN_ROUNDS` samples (rounds, or runs)
    on a side, or so few that the exact test cannot reach ``alpha`` at all (3 vs 3 gives p >= 0.1),
    the ratio alone decides, at :data:`FALLBACK_FACTOR` times the threshold.
    """
    r = slowdown(base.value, cur.value, base.higher_is_better)
    n1, n2 = len(base.samples), len(cur.samples)
    p_value: float | None = None
    notes: list[str] = []
    if min(n1, n2) >= MIN_ROUNDS and min_p_value(n1, n2) <= alpha:
        rule, factor = "mwu", threshold.factor
        _, p_value = mann_whitney_u(base.samples, cur.samples)
        # The samples must move the same way as the figure (a p50 can move against the mean).
        s = slowdown(statistics.median(base.samples), statistics.median(cur.samples), base.higher_is_better)
        large = r > factor or r < 1 / factor
        if p_value >= alpha:
            verdict = "same"
            if large:
                notes.append(f"not significant (p={p_value:.2g})")
        elif not large:
            verdict = "same"
            notes.append(f"significant but within {threshold.percent:g}%")
        elif (r > 1) != (s > 1):
            verdict = "same"
            notes.append(f"figure and {sample} disagree")
        else:
            verdict = "slower" if r > 1 else "faster"
    else:
        rule, factor = "ratio", 1 + FALLBACK_FACTOR * threshold.percent / 100
        why = "no per-round samples" if min(n1, n2) == 0 else f"{n1} vs {n2} {sample}, too few for the test"
        notes.append(f"{why}: ratio alone, beyond {FALLBACK_FACTOR * threshold.percent:g}%")
        verdict = "slower" if r > factor else "faster" if r < 1 / factor else "same"
    ratio = cur.value / base.value if base.value else None
    p99_ratio = cur.p99 / base.p99 if base.p99 and cur.p99 is not None else None
    if p99_ratio is not None:
        notes.append(f"p99 x{p99_ratio:.2f}")
    return Pair.of(
        cur,
        verdict,
        threshold.percent,
        baseline=base.value,
        current=cur.value,
        ratio=ratio,
        p99_ratio=p99_ratio,
        slowdown=r,
        p_value=p_value,
        samples=(n1, n2),
        rule=rule,
        note="; ".join(notes),
    )


# --- runs -------------------------------------------------------------------------------------------

#: Machine facts that make absolute figures incomparable when they differ.
MACHINE_KEYS = ("host", "cpu_model", "cores_logical", "cores_physical")


@dataclasses.dataclass(frozen=True)
class Run:
    """One loaded results file: its facts and its figures by scenario id."""

    path: str
    facts: Mapping[str, Any]
    figures: Mapping[str, Figure]
    rows: Mapping[str, Mapping[str, Any]]
    notes: tuple[str, ...] = ()
    #: What one sample is: a round of one run, or (a directory of repeated runs) one run's figure.
    sample: str = "rounds"
    #: The repeated runs a directory merged (empty for one file).
    parts: tuple[Run, ...] = ()

    def label(self) -> str:
        f = self.facts
        commit = str(f.get("commit") or "")[:10] or "no commit"
        return (
            f"{self.path} ({f.get('host')}, {f.get('cpu_model')}, {f.get('cores_logical')} CPUs, "
            f"Python {f.get('python')}, {commit}, {f.get('datetime')})"
        )


def load_run(path: str | Path) -> Run:
    """Through the one loader; duplicate scenarios keep the last and say so.

    Plain rows, not the loader's DataFrame: a figure needs a few fields of each row, and building a
    frame per file made loading a directory of quick runs cost ~0.2 s a file.
    """
    rows: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    for row in results.load_rows([path]):
        sid = str(row["scenario"])
        if sid in rows:
            notes.append(f"{path}: {sid} appears more than once; the last one is used")
        rows[sid] = {str(k): v for k, v in row.items()}
    first = next(iter(rows.values()))
    facts = {
        k: first.get(k)
        for k in (
            "host",
            "cpu_model",
            "cores_logical",
            "cores_physical",
            "python",
            "commit",
            "commit_time",
            "datetime",
            "complete",
            "profile",
        )
    }
    if facts.get("complete") is False:
        notes.append(f"{path} is an incomplete run: what it lacks shows as new or gone")
    return Run(str(path), facts, {sid: figure_of(r) for sid, r in rows.items()}, rows, tuple(notes))


def load_side(path: str | Path) -> Run:
    """A results file, or a directory of repeated runs of the same code (every ``*.json`` in it).

    Repeated runs are what makes the test honest on a noisy machine: the rounds of one run share one
    placement of the workers on the CPUs and one moment of the machine's load, so they vary far less
    than two runs do.  With a directory, each scenario's figure is the median of the runs' figures and
    the samples tested are the runs' figures themselves, one per run.
    """
    path = Path(path)
    if not path.is_dir():
        return load_run(path)
    files = sorted(path.glob("*.json"))
    if not files:
        raise CompareError(f"{path}: a directory without results files (*.json)")
    runs = []
    with progress.counting("compare", f"loading {path}: run", len(files)) as tick:
        for n, f in enumerate(files, 1):
            tick(n, f.name)
            runs.append(load_run(f))
    if len(runs) == 1:
        return runs[0]
    rows: dict[str, Mapping[str, Any]] = {}
    for run in runs:
        for sid, row in run.rows.items():
            rows.setdefault(sid, row)
    figures = _merged([r.figures for r in runs])
    notes = [n for r in runs for n in r.notes]
    hosts = {str(r.facts.get("host")) for r in runs}
    if len(hosts) > 1:
        notes.append(f"{path}: its runs come from several hosts ({', '.join(sorted(hosts))})")
    notes.append(
        f"{path}: {len(runs)} runs; each scenario is judged on the runs' figures, one sample per run"
    )
    return Run(str(path), runs[0].facts, figures, rows, tuple(notes), sample="runs", parts=tuple(runs))


def _merged(parts: Sequence[Mapping[str, Figure]]) -> dict[str, Figure]:
    """Per scenario: the median of the runs' figures, and the runs' figures as its samples."""
    out: dict[str, Figure] = {}
    for sid in dict.fromkeys(sid for part in parts for sid in part):
        figs = [part[sid] for part in parts if sid in part]
        p99s = [f.p99 for f in figs if f.p99 is not None]
        out[sid] = dataclasses.replace(
            figs[0],
            value=statistics.median(f.value for f in figs),
            samples=tuple(f.value for f in figs),
            p99=statistics.median(p99s) if p99s else None,
        )
    return out


def machine_differences(a: Run, b: Run) -> list[str]:
    out = []
    for key in MACHINE_KEYS:
        x, y = a.facts.get(key), b.facts.get(key)
        if x != y and not (_missing(x) and _missing(y)):
            out.append(f"{key}: {x} vs {y}")
    return out


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _reference_key(row: Mapping[str, Any]) -> tuple[Any, ...]:
    return (row.get("pattern"), row.get("payload_bytes"), row.get("processes"), row.get("start_method"))


def normalized(run: Run) -> tuple[dict[str, Figure], set[str]]:
    """Figures divided by the same run's os_pipe figure of the same pattern, payload, processes and start
    method; the set names the scenarios that have no such reference (left raw).  Repeated runs are
    normalized run by run, each by its own reference, and then merged."""
    if run.parts:
        each = [normalized(part) for part in run.parts]
        missing_any = set().union(*(m for _, m in each))
        merged = _merged([{k: v for k, v in figs.items() if k not in missing_any} for figs, _ in each])
        return {**run.figures, **merged}, missing_any
    refs: dict[tuple[Any, ...], Figure] = {}
    for sid, row in run.rows.items():
        if row.get("mechanism") == REFERENCE_MECHANISM and row.get("producers") == row.get("consumers"):
            refs[_reference_key(row)] = run.figures[sid]
    out: dict[str, Figure] = {}
    missing: set[str] = set()
    for sid, fig in run.figures.items():
        ref = refs.get(_reference_key(run.rows[sid]))
        if ref is None or ref.value <= 0:
            out[sid] = fig
            missing.add(sid)
        else:
            out[sid] = fig.scaled(ref.value, f"x {REFERENCE_MECHANISM}")
    return out, missing


@dataclasses.dataclass(frozen=True)
class Comparison:
    baseline: Run
    current: Run
    rules: Rules
    pairs: tuple[Pair, ...]
    machine: tuple[str, ...]
    notes: tuple[str, ...]
    normalize: bool = False

    @property
    def regressions(self) -> list[Pair]:
        return [p for p in self.pairs if p.regression]

    def counts(self) -> dict[str, int]:
        return {v: sum(p.verdict == v for p in self.pairs) for v in VERDICTS}

    def rule_text(self) -> str:
        unit = self.baseline.sample  # "rounds", or "runs" for directories of repeated runs
        return (
            f"regression = slower with Mann-Whitney U p < {self.rules.alpha:g} on the per-{unit[:-1]} "
            f"samples AND beyond the threshold ({self.rules.describe()}); with fewer than {MIN_ROUNDS} "
            f"{unit} a side (or too few for p to reach {self.rules.alpha:g}) the ratio alone decides, "
            f"beyond {FALLBACK_FACTOR:g}x the threshold"
        )


def compare_runs(base: Run, cur: Run, rules: Rules, normalize: bool = False) -> Comparison:
    if base.sample != cur.sample:
        raise CompareError(
            "compare a directory of repeated runs with another directory, or a file with a file "
            "(their samples are runs and rounds, which do not mix)"
        )
    ids_b, ids_c = set(base.figures), set(cur.figures)
    if not ids_b & ids_c:
        raise CompareError(f"{base.path} and {cur.path} have no scenario in common")
    known = {
        str(r.get(k)) for run in (base, cur) for r in run.rows.values() for k in ("mechanism", "pattern")
    }
    rules.check_keys(known)
    notes = [*base.notes, *cur.notes]
    figs_b, figs_c = dict(base.figures), dict(cur.figures)
    raw: set[str] = set()
    if normalize:
        figs_b, miss_b = normalized(base)
        figs_c, miss_c = normalized(cur)
        raw = miss_b | miss_c
    pairs: list[Pair] = []
    for sid in sorted(ids_b | ids_c, key=_order):
        if sid not in ids_c:
            fig = figs_b[sid]
            t = rules.threshold_for(fig.mechanism, fig.pattern)
            pairs.append(_lonely(fig, "gone", t))
            continue
        if sid not in ids_b:
            fig = figs_c[sid]
            t = rules.threshold_for(fig.mechanism, fig.pattern)
            pairs.append(_lonely(fig, "new", t))
            continue
        b, c = figs_b[sid], figs_c[sid]
        if sid in raw:  # one side cannot be normalized: compare both raw rather than mix units
            b, c = base.figures[sid], cur.figures[sid]
        pair = judge(b, c, rules.threshold_for(b.mechanism, b.pattern), rules.alpha, base.sample)
        if sid in raw:
            pair = dataclasses.replace(
                pair, note="; ".join(filter(None, [f"raw: no {REFERENCE_MECHANISM} reference", pair.note]))
            )
        pairs.append(pair)
    if normalize and raw:
        notes.append(
            f"--normalize: {len(raw)} scenario(s) lack a same-run {REFERENCE_MECHANISM} figure of the same "
            "pattern, payload, processes and start method on one side; those are compared raw"
        )
    return Comparison(
        base, cur, rules, tuple(pairs), tuple(machine_differences(base, cur)), tuple(notes), normalize
    )


def _order(sid: str) -> tuple[str, str]:
    parts = sid.split("-")
    return (parts[1] if len(parts) > 1 else "", sid)


def _lonely(fig: Figure, verdict: str, t: Threshold) -> Pair:
    side = "current" if verdict == "new" else "baseline"
    note = "only in the current run" if verdict == "new" else "only in the baseline"
    return Pair.of(fig, verdict, t.percent, note=note, **{side: fig.value})


# --- output -----------------------------------------------------------------------------------------


def fmt_value(value: float | None, unit: str) -> str:
    """A figure whose unit is in its own column: rates with an SI prefix (``244k``), times plain."""
    if value is None:
        return "-"
    return fmt.si(value) if unit.endswith("/s") else fmt.plain(value)


def _cells(p: Pair) -> list[str]:
    return [
        p.scenario,
        p.metric if p.metric == p.unit else f"{p.metric} {p.unit}",
        fmt_value(p.baseline, p.unit),
        fmt_value(p.current, p.unit),
        "-" if p.ratio is None else f"x{p.ratio:.2f}",
        "-" if p.p_value is None else f"{p.p_value:.2g}",
        p.verdict.upper() if p.regression else p.verdict,
        p.note,
    ]


HEADERS = ["scenario", "metric", "baseline", "current", "ratio", "p", "verdict", "note"]


def _summary(c: Comparison) -> str:
    counts = c.counts()
    text = f"{len(c.pairs)} scenarios: " + ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    regs = c.regressions
    if regs:
        text += f"\nREGRESSION in {len(regs)}: " + ", ".join(p.scenario for p in regs)
    else:
        text += "\nno regression"
    return text


def _warnings(c: Comparison) -> list[str]:
    out = []
    if c.machine:
        out.append(
            "WARNING: the two runs come from different machines (" + "; ".join(c.machine) + "): absolute "
            "figures do not carry across machines; consider --normalize"
        )
    return out + list(c.notes)


def render_text(c: Comparison) -> str:
    rows = [HEADERS, *(_cells(p) for p in c.pairs)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADERS))]
    lines = [f"baseline: {c.baseline.label()}", f"current:  {c.current.label()}"]
    lines += [f"rule: {c.rule_text()}"]
    if c.normalize:
        lines.append(f"figures normalized by each run's own {REFERENCE_MECHANISM} figure")
    lines += _warnings(c)
    lines.append("")
    for r in rows:
        left = [r[0].ljust(widths[0]), r[1].ljust(widths[1])]
        mid = [cell.rjust(w) for cell, w in zip(r[2:6], widths[2:6], strict=True)]
        lines.append("  ".join([*left, *mid, r[6].ljust(widths[6]), r[7]]).rstrip())
    lines += ["", _summary(c)]
    return "\n".join(lines)


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(c: Comparison) -> str:
    regs = c.regressions
    head = "### ipcbench compare: " + (f"{len(regs)} regression(s)" if regs else "no regression")
    lines = [head, ""]
    lines += [
        f"> **{_md_escape(w)}**" if w.startswith("WARNING") else f"> {_md_escape(w)}" for w in _warnings(c)
    ]
    if _warnings(c):
        lines.append("")
    lines += [
        f"- baseline: `{_md_escape(c.baseline.label())}`",
        f"- current: `{_md_escape(c.current.label())}`",
        f"- {_md_escape(c.rule_text())}",
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|" + "|".join(["---", "---", "---:", "---:", "---:", "---:", "---", "---"]) + "|",
    ]
    for p in c.pairs:
        cells = [_md_escape(x) for x in _cells(p)]
        if p.regression:
            cells[6] = f"**{cells[6]}**"
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", *_summary(c).splitlines()]
    return "\n".join(lines)


def to_json(c: Comparison) -> dict[str, Any]:
    def run(r: Run) -> dict[str, Any]:
        return {"path": r.path, **{k: (None if _missing(v) else v) for k, v in r.facts.items()}}

    return {
        "baseline": run(c.baseline),
        "current": run(c.current),
        "rules": {
            "alpha": c.rules.alpha,
            "threshold_percent": c.rules.default.percent,
            "thresholds": {t.key: t.percent for t in c.rules.specific},
            "min_rounds": MIN_ROUNDS,
            "fallback_factor": FALLBACK_FACTOR,
            "text": c.rule_text(),
        },
        "normalized": c.normalize,
        "machine_differences": list(c.machine),
        "notes": list(c.notes),
        "counts": c.counts(),
        "regressions": [p.scenario for p in c.regressions],
        "pairs": [p.as_dict() for p in c.pairs],
    }


# --- command ----------------------------------------------------------------------------------------


def add_threshold_option(p: argparse.ArgumentParser, what: str) -> None:
    """``--threshold [NAME=]PCT``, shared by ``compare`` and ``history``."""
    p.add_argument(
        "--threshold",
        action="append",
        default=[],
        type=threshold_arg,
        metavar="[NAME=]PCT",
        help=f"how much slower is {what} (default {DEFAULT_THRESHOLD:g}%%); NAME=PCT for one pattern "
        "or mechanism (a mechanism's beats a pattern's); repeatable",
    )


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument(
        "baseline",
        metavar="BASELINE",
        help="results JSON of the reference run, or a directory of repeated runs (tested run by run)",
    )
    p.add_argument("current", metavar="CURRENT", help="results JSON of the run to judge, or a directory")
    add_threshold_option(p, "a regression")
    p.add_argument(
        "--config", type=Path, metavar="FILE", help="TOML: alpha, threshold, [thresholds] NAME = PCT"
    )
    p.add_argument(
        "--alpha", type=_alpha_arg, default=None, help=f"significance level (default {DEFAULT_ALPHA:g})"
    )
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    p.add_argument(
        "--normalize",
        action="store_true",
        help=f"divide each figure by the same run's {REFERENCE_MECHANISM} figure (compare across machines)",
    )
    p.add_argument(
        "--strict-machine",
        action="store_true",
        help="different machines are an error (exit 2), not a warning",
    )
    p.add_argument(
        "--report-only",
        action="store_true",
        help="print the comparison and exit 0 even on regression (2 still means unusable input)",
    )
    return p


def cmd_compare(args: argparse.Namespace) -> int:
    try:
        rules = rules_from(args.config, args.threshold, args.alpha)
        base, cur = load_side(args.baseline), load_side(args.current)
        comparison = compare_runs(base, cur, rules, args.normalize)
    except (results.LoadError, CompareError) as exc:
        print(f"ipcbench compare: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if comparison.machine:
        if args.strict_machine:
            print(
                "ipcbench compare: error: --strict-machine: the runs come from different machines ("
                + "; ".join(comparison.machine)
                + ")",
                file=sys.stderr,
            )
            return EXIT_USAGE
        print(
            "ipcbench compare: WARNING: different machines: " + "; ".join(comparison.machine), file=sys.stderr
        )
    if args.format == "json":
        print(json.dumps(to_json(comparison), indent=2))
    elif args.format == "markdown":
        print(render_markdown(comparison))
    else:
        print(render_text(comparison))
    if comparison.regressions and not args.report_only:
        names = ", ".join(p.scenario for p in comparison.regressions)
        print(f"ipcbench compare: regression in {names}", file=sys.stderr)
        return EXIT_REGRESSION
    return EXIT_OK
