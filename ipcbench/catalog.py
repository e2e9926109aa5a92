"""Every mechanism of every pattern in one table: what selection, ``ipcbench list`` and docs read.

Messaging mechanisms (:mod:`ipcbench.mechanisms`) run in ``throughput`` and ``latency``; the one-sided
operations (:mod:`ipcbench.ops`) each belong to one pattern.  Names are unique across both.
"""

from __future__ import annotations

import dataclasses
import functools

from ipcbench import mechanisms, ops
from ipcbench.scenario import MIN_PAYLOAD

#: What a user can take from a mechanism's figure (:attr:`Entry.kind`).
IMPORTABLE, BASELINE, HAND_MADE = "importable", "baseline", "hand-made"
#: Raw paths that show what the OS or memory allows: no one adopts os.write on a pipe as IPC.
_BASELINES = frozenset({"os_pipe", "socketpair", "memcpy"})
#: Channels ipcbench builds from primitives itself: a user would have to write them too.
_HAND_MADE = frozenset({"shm_ring", "shm_numpy"})


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
    #: The mechanism this one calls another way (see :attr:`ipcbench.mechanisms.Mechanism.variant_of`).
    variant_of: str | None = None

    def payloads(self, wanted: tuple[int, ...]) -> tuple[int, ...]:
        if not self.sized:
            return (MIN_PAYLOAD,)
        return tuple(p for p in wanted if self.max_payload is None or p <= self.max_payload)


@functools.cache
def entries() -> dict[str, Entry]:
    out = {
        m.name: Entry(
            m.name,
            m.description,
            m.patterns,
            m.point_to_point,
            True,
            m.max_payload,
            m.requires,
            kind=_kind(m.name),
            single_consumer=m.single_consumer,
            variant_of=m.variant_of,
        )
        for m in mechanisms.MECHANISMS.values()
    }
    for op in ops.OPS.values():
        assert op.name not in out, f"mechanism name {op.name} is used twice"
        out[op.name] = Entry(
            op.name,
            op.description,
            (op.pattern,),
            False,
            op.sized,
            op.max_payload,
            op.requires,
            kind=_kind(op.name),
        )
    return out


def _kind(name: str) -> str:
    return BASELINE if name in _BASELINES else HAND_MADE if name in _HAND_MADE else IMPORTABLE


def kind(mechanism: str) -> str:
    """A mechanism's :attr:`Entry.kind`; one saved by another version of ipcbench is importable."""
    entry = entries().get(mechanism)
    return IMPORTABLE if entry is None else entry.kind
