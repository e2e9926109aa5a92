"""Every mechanism of every pattern in one table: what selection, ``ipcbench list`` and docs read.

Messaging mechanisms (:mod:`ipcbench.mechanisms`) run in ``throughput`` and ``latency``; the one-sided
operations (:mod:`ipcbench.ops`) each belong to one pattern.  Names are unique across both (the
registry, :mod:`ipcbench.api`, refuses a second one), and plugins add to both.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence

from ipcbench import api, mechanisms, ops, roster
from ipcbench.scenario import MIN_PAYLOAD, PATTERN_DESCRIPTIONS, PATTERNS

#: What a user can take from a mechanism's figure (:attr:`Entry.kind`), as each record declares it.
IMPORTABLE, BASELINE, HAND_MADE = roster.IMPORTABLE, roster.BASELINE, roster.HAND_MADE


@dataclasses.dataclass(frozen=True)
class Entry:
    name: str
    description: str
    patterns: tuple[str, ...]
    #: Point-to-point messaging: pairs only.
    point_to_point: bool
    #: Whether the payload axis applies; otherwise every scenario uses the minimum payload.
    sized: bool
    #: None: any payload the machine's memory allows.
    max_payload: int | None
    requires: str | None
    #: ``importable`` (the standard library or an installed peer, used as its authors say),
    #: ``baseline`` (a raw OS or memory path) or ``hand-made`` (a channel ipcbench builds itself):
    #: only the first may be recommended; the others are references.
    kind: str = IMPORTABLE
    #: Messaging with a batched get: shapes with one consumer only.
    single_consumer: bool = False
    #: The mechanism this one calls another way (see :attr:`ipcbench.api.Mechanism.variant_of`).
    variant_of: str | None = None

    def payloads(self, wanted: tuple[int, ...]) -> tuple[int, ...]:
        if not self.sized:
            return (MIN_PAYLOAD,)
        return tuple(p for p in wanted if self.max_payload is None or p <= self.max_payload)


def entries() -> dict[str, Entry]:
    """Built in and from plugins, rebuilt whenever a plugin registers something."""
    return _entries(api.generation())


@functools.cache
def _entries(generation: int) -> dict[str, Entry]:
    out = {
        m.name: Entry(
            m.name,
            m.description,
            m.patterns,
            m.point_to_point,
            True,
            m.max_payload,
            m.requires,
            kind=m.kind,
            single_consumer=m.single_consumer,
            variant_of=m.variant_of,
        )
        for m in mechanisms.MECHANISMS.values()
    }
    for op in ops.OPS.values():
        out[op.name] = Entry(
            op.name,
            op.description,
            (op.pattern,),
            False,
            op.sized,
            op.max_payload,
            op.requires,
            kind=op.kind,
        )
    return out


def kind(mechanism: str) -> str:
    """A mechanism's :attr:`Entry.kind`; one saved by another version of ipcbench is importable."""
    return roster.kind(mechanism)


def text(patterns: Sequence[str] = PATTERNS) -> str:
    """Every pattern, then its mechanisms, one line each; optional ones say when they cannot run."""
    known = entries()
    members = {p: [m for m in known.values() if p in m.patterns] for p in patterns}
    width = max((len(m.name) for ms in members.values() for m in ms), default=0)
    lines = []
    for pattern in patterns:
        lines.append(f"{pattern}: {PATTERN_DESCRIPTIONS[pattern]}")
        # A pattern that runs the very mechanisms of one listed above it (latency: throughput's).
        same = next((p for p in patterns[: patterns.index(pattern)] if members[p] == members[pattern]), None)
        if same is not None and members[pattern]:
            lines.append(f"  (the mechanisms of {same})")
            continue
        for m in members[pattern]:
            why = mechanisms.missing(m.requires)
            lines.append(f"  {m.name:<{width}}  {m.description}" + (f"  [skipped: {why}]" if why else ""))
    return "\n".join(lines)
