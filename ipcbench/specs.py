"""Every pattern described once: what it measures, its headline figure, unit and direction.

A :class:`PatternSpec` is what the reading side needs to know about a pattern: which ``extra_info``
key holds its headline figure (the same key in every trial record), how that figure is shown (unit
and scale), which direction is better, whether it times each operation by itself or a round of
them, and where the report draws it.  Compare, history, export, the report, the progress line and the
runner all read it here, so adding a pattern means adding its own module and its spec, nothing else.

This module is the base of both sides: it imports nothing of ipcbench, so the measuring side and the
analysis side can both build on it.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping
from typing import Any


class SpecError(ValueError):
    """A spec that cannot describe a pattern; the message is one line."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class PatternSpec:
    """One pattern, as every module that shows or judges its figures needs to know it."""

    #: The pattern's name, as in scenario ids and ``--pattern``.
    name: str
    #: The one line ``ipcbench list`` shows for it.
    description: str
    #: What one operation of the pattern is, in words: "message", "round trip", "process start"...
    measures: str
    #: The ``extra_info`` key of its headline figure, also the key in each trial's record.
    headline: str
    #: The figure's name in tables (``msgs/s``, ``rtt p50``, ``start-up``).
    metric: str
    #: The unit it is shown in, and the factor from the headline key's value to that unit.
    unit: str
    scale: float = 1.0
    higher_is_better: bool
    #: True: every operation is timed by itself and the headline is the median of those times (the
    #: percentiles are saved under :attr:`times`); False: a rate, from the median round's batch.
    per_operation: bool
    #: The ``extra_info`` key of the per-operation percentiles (``rtt_ns``, ``op_ns``), if any.
    times: str | None = None
    #: What those percentiles count, for "n/a (95 round trips)".
    samples: str = "operations"
    #: Its operations are messages over a channel (a mechanism); otherwise every worker repeats an
    #: operation on something shared (a one-sided pattern: no consumers).
    messaging: bool = False
    #: An operation carries the payload, so bytes/s means something.
    sized: bool = False
    #: ``msgs_per_s`` means something to a reader (for start-up it would be starts per batch).
    rate: bool = True
    #: Rounds aim at the target round time; False: a round is as long as its operations make it.
    round_target: bool = True
    #: The workers' CPU time per operation applies (not where the work is in processes it starts).
    cpu_time: bool = True
    #: The report's section for its chart and table: (id, title); None: the report's own sections.
    section: tuple[str, str] | None = None
    #: The title of its chart in the report.
    title: str = ""

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise SpecError(f"pattern name {self.name!r}: use letters, digits and underscores")
        if not self.scale > 0:
            raise SpecError(f"pattern {self.name!r}: scale must be positive, not {self.scale!r}")
        if self.per_operation != (self.times is not None):
            raise SpecError(f"pattern {self.name!r}: a per-operation figure needs its percentiles' key")
        if self.times is not None and not self.times.endswith("_ns"):
            raise SpecError(f"pattern {self.name!r}: percentiles are in nanoseconds (a key ending _ns)")
        if self.per_operation and self.headline != self.percentile("p50"):
            raise SpecError(
                f"pattern {self.name!r}: a per-operation headline is its p50 ({self.percentile('p50')})"
            )

    @property
    def noun(self) -> str:
        """What its rate counts: ``msg`` or ``op`` (``244k msg/s``, ``244k op/s``)."""
        return "msg" if self.messaging else "op"

    @property
    def one_sided(self) -> bool:
        return not self.messaging

    def percentile(self, key: str) -> str | None:
        """The loaded column of one of its percentiles (``p50`` -> ``rtt_p50_ns``); None without any."""
        if self.times is None:
            return None
        return f"{self.times.removesuffix('_ns')}_{key}_ns"

    @property
    def count(self) -> str | None:
        """The loaded column counting the timed operations behind the percentiles."""
        return None if self.times is None else f"{self.times.removesuffix('_ns')}_count"


def _rate(**fields: Any) -> PatternSpec:
    """A pattern whose figure is a rate from the median round: higher is better."""
    return PatternSpec(headline="msgs_per_s", higher_is_better=True, per_operation=False, **fields)


def _operations(**fields: Any) -> PatternSpec:
    """A one-sided pattern: every worker repeats an operation; operations/s."""
    return _rate(metric="ops/s", unit="ops/s", measures="operation", **fields)


#: The patterns ipcbench measures, in the order every listing uses.
BUILT_IN: tuple[PatternSpec, ...] = (
    _rate(
        name="throughput",
        description="producers stream a verified batch to consumers: messages/s and bytes/s",
        measures="message",
        metric="msgs/s",
        unit="msgs/s",
        messaging=True,
        sized=True,
    ),
    PatternSpec(
        name="latency",
        description="ping-pong pairs, every round trip timed: p50/p90/p99/p99.9/max",
        measures="round trip",
        headline="rtt_p50_ns",
        metric="rtt p50",
        unit="µs",
        scale=1e-3,
        higher_is_better=False,
        per_operation=True,
        times="rtt_ns",
        samples="round trips",
        messaging=True,
        sized=True,
    ),
    _operations(
        name="shared_state",
        description="processes update shared Value/Array state: operations/s (as msgs_per_s), lost updates",
        section=("shared-state", "Shared state and locks"),
        title="Shared state: Value, Array, ShareableList, Manager",
    ),
    _operations(
        name="locks",
        description="acquire/release (or notify/wait) of a shared primitive: operations/s, uncontended to "
        "2x CPUs",
        section=("shared-state", "Shared state and locks"),
        title="Locks",
    ),
    _operations(
        name="bulk",
        description="copy bandwidth in one process per worker: a reference memcpy, Array slice and "
        "memoryview copies",
        sized=True,
        section=("bulk", "Bulk copies into shared memory"),
        title="Bulk copies into shared memory",
    ),
    PatternSpec(
        name="startup",
        description="cost of creating processes, a Pool, a Manager, a new channel: per operation, lower is "
        "better",
        measures="start",
        # One start, as every start-up figure is judged: a round is a calibrated batch of starts.
        headline="op_p50_ns",
        metric="start-up",
        unit="ms",
        scale=1e-6,
        higher_is_better=False,
        per_operation=True,
        times="op_ns",
        samples="starts",
        rate=False,
        round_target=False,
        cpu_time=False,
        section=("startup", "Start-up cost by start method"),
        title="Start-up cost by start method",
    ),
)

_SPECS: dict[str, PatternSpec] = {s.name: s for s in BUILT_IN}
#: Every pattern this process knows, by name: a read-only view of the live registry.
SPECS: Mapping[str, PatternSpec] = types.MappingProxyType(_SPECS)


def register(spec: PatternSpec) -> None:
    """Add a pattern's spec; a name already described is refused."""
    if spec.name in _SPECS:
        raise SpecError(f"pattern {spec.name!r} is described twice")
    _SPECS[spec.name] = spec


def unregister(name: str) -> None:
    """Forget a pattern added by :func:`register` (the built-ins stay)."""
    if any(s.name == name for s in BUILT_IN):
        raise SpecError(f"pattern {name!r} is built in")
    _SPECS.pop(name, None)


def of(pattern: str) -> PatternSpec:
    """The spec of ``pattern``; one this process does not know (saved by another version of ipcbench)
    is read as the one-sided patterns are: operations/s, higher is better."""
    spec = _SPECS.get(pattern)
    if spec is None:
        return _operations(name=pattern if pattern.isidentifier() else "unknown", description="")
    return spec
