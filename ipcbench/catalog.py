"""Every mechanism of every pattern in one table: what selection, ``ipcbench list`` and docs read.

Messaging mechanisms (:mod:`ipcbench.mechanisms`) run in ``throughput`` and ``latency``; the one-sided
operations (:mod:`ipcbench.ops`) each belong to one pattern.  Names are unique across both.
"""

from __future__ import annotations

import dataclasses
import functools

from ipcbench import mechanisms, ops
from ipcbench.scenario import MIN_PAYLOAD


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
            ("throughput", "latency"),
            m.point_to_point,
            True,
            m.max_payload,
            m.requires,
        )
        for m in mechanisms.MECHANISMS.values()
    }
    for op in ops.OPS.values():
        assert op.name not in out, f"mechanism name {op.name} is used twice"
        out[op.name] = Entry(
            op.name, op.description, (op.pattern,), False, op.sized, op.max_payload, op.requires
        )
    return out
