"""Independent trials of a scenario: what one trial leaves for the next, and their merge into one benchmark.

The rounds of one set of workers are not independent samples of "this code on this machine": they
share one placement of the workers, one memory layout and one stretch of the host's load.  So a
scenario is measured in several trials, each with freshly started workers, and a run interleaves the
trials of all scenarios (trial 1 of every scenario, then trial 2 of every scenario, ...) so that each
trial sees another moment of the machine.  Each trial is its own pytest item; the saved file still
holds one benchmark per scenario, all trials' rounds in its ``stats.data`` (see :func:`merge`).

A run may stop a scenario's trials once its figure is known well enough (:class:`Plan`): a steady
scenario then finishes after a few trials, a noisy one gets more, up to a cap, and each says what
precision it reached (:func:`precision`).
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from ipcbench import canary, stats
from ipcbench.scenario import ScenarioError

T = TypeVar("T")

#: The parametrized name of the trial index of an item (the fixture ``ipc_trial``).
PARAM = "ipc_trial"

#: The confidence of the interval a precision is the half-width of.
CONFIDENCE = 0.95
#: The fewest trials a precision may stop at: two agreeing by chance say little (Student's t for one
#: degree of freedom is 12.7), and three already stop a steady scenario at a few percent.
LEAST = 3
#: The fewest undisturbed trials (see :mod:`ipcbench.canary`) a scenario should have: the gate puts a
#: disturbed trial on one host speed by its reading, but one the host slowed far is known less well
#: than one it left alone; a spare trial runs when fewer remain.
JUDGED_LEAST = 2
#: Each trial's figure, by pattern (the key of its ``extra_info["trials"]`` record), and whether
#: higher is better does not matter here: the precision is relative.  Others: ``msgs_per_s``.
FIGURE_KEYS = {"latency": "rtt_p50_ns", "startup": "op_p50_ns"}


@dataclasses.dataclass(frozen=True)
class Plan:
    """How many trials each scenario gets.

    ``precision`` None: exactly ``most`` (a fixed count, what a comparison of two runs needs: the same
    number a side).  Otherwise trials stop once :func:`precision` reaches it, after at least
    :data:`LEAST` (or ``most``, if fewer), and at ``most`` however far it still is.
    """

    most: int = 1
    #: The half-width of the 95% confidence interval, as a fraction of the figure (0.1: ±10%).
    precision: float | None = None
    #: Trials beyond ``most`` that run only in place of disturbed ones (:mod:`ipcbench.canary`): a
    #: scenario left with fewer than :data:`JUDGED_LEAST` undisturbed trials gets another, one pass
    #: later, up to this many.
    spares: int = 0

    def __post_init__(self) -> None:
        if self.most < 1:
            raise ScenarioError(f"trials must be at least 1, not {self.most}")
        if self.precision is not None and not self.precision > 0:
            raise ScenarioError(f"precision must be positive, not {self.precision}")
        if self.spares < 0:
            raise ScenarioError(f"spare trials cannot be negative, not {self.spares}")

    @property
    def least(self) -> int:
        return self.most if self.precision is None else min(LEAST, self.most)

    @property
    def items(self) -> int:
        """Trials a scenario may run in all: the plan's and its spares."""
        return self.most + self.spares

    def done(self, trials: int, reached: float | None, clean: int | None = None) -> bool:
        """Whether a scenario with ``trials`` finished trials, ``clean`` of them undisturbed (all, if
        not said), known to ``reached``, needs no more.  With spares, the planned trials are enough
        once :data:`JUDGED_LEAST` of them are undisturbed: a spare costs a whole trial, and two
        undisturbed trials a side anchor the rest."""
        counted = trials if clean is None or not self.spares else clean
        if trials >= self.items:
            return True
        if trials >= self.most:
            return counted >= min(self.most, JUDGED_LEAST)
        if self.precision is None or counted < self.least:
            return False
        return reached is not None and reached <= self.precision


def figure(pattern: str, record: Mapping[str, Any]) -> float | None:
    """One trial's figure: its p50 round trip (latency), p50 per start (startup), else its rate."""
    value = record.get(FIGURE_KEYS.get(pattern, "msgs_per_s"))
    return float(value) if isinstance(value, int | float) and value > 0 else None


def precision(values: Sequence[float]) -> float | None:
    """How well independent trials know a figure: the half-width of the 95% confidence interval of
    their mean log figure (Student's t), as a fraction of the figure; None with fewer than two.

    Logs, because a figure is a rate or a time: a trial twice as fast and one twice as slow are equally
    far from the middle.  0.1 means the figure is known to within about ±10%.
    """
    logs = [math.log(v) for v in values if v > 0]
    if len(logs) < 2:
        return None
    t = stats.t_isf((1 - CONFIDENCE) / 2, len(logs) - 1)
    return math.expm1(t * statistics.stdev(logs) / math.sqrt(len(logs)))


@dataclasses.dataclass
class TrialLog:
    """What the finished trials of one scenario leave for the next one; the caller keeps one per scenario.

    Mutable on purpose: it accumulates, trial after trial, and is only appended to when a trial
    succeeds.
    """

    #: The timed batch the first trial calibrated; later trials reuse it, so trials stay comparable
    #: (and cheap: calibration is most of a short trial's cost).
    batch: int | None = None
    #: Every timed round of the finished trials (RoundResult), in order.
    results: list[Any] = dataclasses.field(default_factory=list)
    #: Their durations in seconds.
    round_s: list[float] = dataclasses.field(default_factory=list)
    #: One record per finished trial (the ``extra_info["trials"]`` entries).
    records: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    #: The scenario needs no more trials: its figure is known well enough (see :class:`Plan`).
    done: bool = False

    @property
    def clean(self) -> int:
        """Finished trials the host did not disturb (see :mod:`ipcbench.canary`)."""
        return len(canary.undisturbed(self.records))


@dataclasses.dataclass(frozen=True)
class Trial:
    """One trial of a scenario: its index (0-based), when it began, and its scenario's log."""

    index: int = 0
    #: Seconds since the run started, when this trial began.
    started_s: float = 0.0
    #: Trials the run plans for this scenario at most (``--max-time`` may cut later ones, a precision
    #: reached may make them unneeded).
    planned: int = 1
    log: TrialLog = dataclasses.field(default_factory=TrialLog)
    #: The precision that ends the scenario's trials early, if any (see :class:`Plan`).
    precision: float | None = None
    #: Spare trials, run in place of disturbed ones (see :class:`Plan`).
    spares: int = 0
    #: The run's speed readings, to judge whether the host disturbed this trial (None: no judging).
    speed: canary.Speed | None = None

    @property
    def plan(self) -> Plan:
        return Plan(self.planned, self.precision, self.spares)


def interleave(items: Sequence[T], trial_of: Callable[[T], int]) -> list[T]:
    """Trial 1 of every item, then trial 2 of every item, ...: a stable sort by trial index keeps
    the collection order within each pass, so trial k of a scenario is one whole pass after trial
    k-1 and the trials of a scenario are spread over the run."""
    return sorted(items, key=trial_of)


def merge(
    benchmarks: Iterable[dict[str, Any]],
    failed: Iterable[str] = (),
    rounds_of: Mapping[str, Sequence[float]] | None = None,
) -> list[dict[str, Any]]:
    """pytest-benchmark's saved benchmarks, one per trial, merged into one per scenario.

    The last trial's ``extra_info`` holds the figures of all trials pooled (see
    ``ipcbench.runner.run_scenario``); ``stats`` are recomputed over every timed round of every
    trial.  Names and params lose the trial, so the file reads as before and ``pytest-benchmark
    compare`` matches it with older runs.  A scenario with a ``failed`` trial is dropped: it has no
    figure.  ``rounds_of`` (fullname -> rounds) stands in for ``stats.data`` where the file leaves it
    out (pytest-benchmark's ``--benchmark-save`` without ``--benchmark-save-data``).
    """
    from pytest_benchmark.stats import Stats

    dropped = set(failed)
    groups: dict[str, list[dict[str, Any]]] = {}
    out: list[Any] = []
    for bench in benchmarks:
        params = bench.get("params") or {}
        if PARAM not in params:
            out.append(bench)
            continue
        scenario = str(params.get("scenario"))
        if scenario in dropped:
            continue
        if scenario not in groups:
            groups[scenario] = []
            out.append(scenario)  # its place: where its first trial was
        groups[scenario].append(bench)
    merged: list[dict[str, Any]] = []
    for entry in out:
        if not isinstance(entry, str):
            merged.append(entry)
            continue
        trials = sorted(groups[entry], key=lambda b: b["params"][PARAM])
        last = trials[-1]
        stats = Stats()
        with_data = "data" in last["stats"]
        for b in trials:
            data = b["stats"]["data"] if with_data else (rounds_of or {}).get(b["fullname"], [])
            for d in data:
                stats.update(d)
        saved = {**stats.as_dict(), "iterations": last["stats"]["iterations"]}
        if with_data:
            saved["data"] = stats.data
        old, new = f"[{last['param']}]", f"[{entry}]"
        merged.append(
            {
                **last,
                "name": last["name"].replace(old, new),
                "fullname": last["fullname"].replace(old, new),
                "params": {k: v for k, v in last["params"].items() if k != PARAM},
                "param": entry,
                "stats": saved,
            }
        )
    return merged
