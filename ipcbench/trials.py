"""Independent trials of a scenario: what one trial leaves for the next, and their merge into one benchmark.

The rounds of one set of workers are not independent samples of "this code on this machine": they
share one placement of the workers, one memory layout and one stretch of the host's load.  So a
scenario is measured in several trials, each with freshly started workers, and a run interleaves the
trials of all scenarios (trial 1 of every scenario, then trial 2 of every scenario, ...) so that each
trial sees another moment of the machine.  Each trial is its own pytest item; the saved file still
holds one benchmark per scenario, all trials' rounds in its ``stats.data`` (see :func:`merge`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

#: The parametrized name of the trial index of an item (the fixture ``ipc_trial``).
PARAM = "ipc_trial"


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


@dataclasses.dataclass(frozen=True)
class Trial:
    """One trial of a scenario: its index (0-based), when it began, and its scenario's log."""

    index: int = 0
    #: Seconds since the run started, when this trial began.
    started_s: float = 0.0
    #: Trials the run plans for this scenario (``--max-time`` may cut later ones).
    planned: int = 1
    log: TrialLog = dataclasses.field(default_factory=TrialLog)


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
