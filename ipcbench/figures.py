"""A saved benchmark's figure for the gate: its pattern's headline, in its direction, and the
independent samples behind it (one per trial), each with the host's speed when it ran (see
:mod:`ipcbench.canary` and :mod:`ipcbench.host`).

Read by the gate, ``noise``, ``history`` and ``export`` alike, so that every command judges the same
figure.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from ipcbench import specs, stats


class CompareError(ValueError):
    """Unusable input for a comparison; the message is one line meant for the user."""


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
    """A benchmark's figure and the independent samples behind it (same unit and direction)."""

    value: float
    #: One per trial (a file with trials), one per run (a directory), or the run's figure alone.
    samples: tuple[float, ...]
    #: Latency only: the p99, to report beside the p50.
    p99: float | None = None
    #: The host's reading (``canary_ns``) beside each sample, when every trial saved one; else empty.
    hosts: tuple[float, ...] = ()
    #: Whether the host disturbed each sample's trial (see :mod:`ipcbench.canary`); empty if unknown.
    disturbed: tuple[bool, ...] = ()

    @property
    def steady(self) -> float:
        """The median of the samples whose trials the host did not disturb, or of all if it disturbed
        every one: a run's level where it stands for the run (history, directories)."""
        if len(self.disturbed) != len(self.samples):
            return self.level
        kept = [s for s, d in zip(self.samples, self.disturbed, strict=True) if not d]
        return statistics.median(kept) if kept else self.level

    @property
    def level(self) -> float:
        """What the gate judges: the median of the samples (put on one host speed when compared, see
        :mod:`ipcbench.host`); ``value`` stays the figure as measured."""
        return statistics.median(self.samples) if self.samples else self.value

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


def trials_of(row: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The per-trial records of a loaded row (``extra_info["trials"]``), empty for older files."""
    info = row.get("extra_info")
    trials = info.get("trials") if isinstance(info, Mapping) else None
    return [t for t in trials if isinstance(t, Mapping)] if isinstance(trials, list) else []


def figure_of(row: Mapping[str, Any]) -> Figure:
    """The figure that matters for one loaded row: its pattern's headline (:mod:`ipcbench.specs`)."""
    sid, mechanism, pattern = str(row["scenario"]), str(row["mechanism"]), str(row["pattern"])
    spec = specs.of(pattern)
    key, scale = spec.headline, spec.scale
    p99_key = spec.percentile("p99")
    p99 = None if p99_key is None else _num(row, p99_key)
    headline = _num(row, key)
    if headline is None and spec.per_operation:
        # Files from before per-operation times were saved: the median time per operation (schema 2,
        # in seconds).
        median = _num(row, "median")
        if not median:
            raise CompareError(f"{row.get('file')}: {sid} has no {spec.metric}")
        headline = median * 1e9
    headline = headline or 0.0

    # Every trial, the host's slow ones too: the gate puts them all on one host speed by their
    # readings (ipcbench.host) rather than setting the slowest aside.  A file without trials is one
    # sample: its headline.
    pairs = [(_num(t, key), _num(t, "canary_ns"), bool(t.get("disturbed"))) for t in trials_of(row)]
    usable = [(v * scale, h, d) for v, h, d in pairs if v is not None and v > 0]
    samples = tuple(v for v, _, _ in usable) or (headline * scale,)
    readings = tuple(h for _, h, _ in usable if h is not None and h > 0)
    return Figure(
        sid,
        mechanism,
        pattern,
        spec.metric,
        spec.unit,
        spec.higher_is_better,
        value=statistics.median(samples),
        samples=samples,
        p99=None if p99 is None else p99 * scale,
        hosts=readings if usable and len(readings) == len(usable) else (),
        disturbed=tuple(d for _, _, d in usable),
    )


def slowdown(base: float, cur: float, higher_is_better: bool) -> float:
    """How many times longer the same work takes now: > 1 is worse, whatever the metric's direction."""
    if base <= 0 or cur <= 0:
        return math.inf if (cur <= 0) == higher_is_better else 0.0
    return base / cur if higher_is_better else cur / base


def costs(values: Sequence[float], higher_is_better: bool) -> list[float]:
    """Figures as log costs: larger is slower, whatever the metric's direction."""
    logs = stats.log_all(values)
    return [-v for v in logs] if higher_is_better else logs


def percent(log_ratio: float) -> float:
    """A log slowdown as a percentage slower (inf stays inf)."""
    return math.inf if math.isinf(log_ratio) else (math.exp(log_ratio) - 1) * 100
