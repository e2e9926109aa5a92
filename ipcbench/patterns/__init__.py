"""The patterns, one module per family: what the workers of a scenario do in a round.

* :mod:`~ipcbench.patterns.messaging` -- ``throughput`` and ``latency`` over a channel mechanism;
* :mod:`~ipcbench.patterns.one_sided` -- ``shared_state``, ``locks``, ``bulk`` and ``startup`` over a
  registered operation.

Each family has a parent side (a :class:`~ipcbench.rounds.Pattern`, which the rig drives) and a
worker side (a :class:`~ipcbench.rounds.WorkerSide`, which a worker process binds).  The one-sided
family loads on first use, so a messaging run loads none of the operations.
"""

from __future__ import annotations

from ipcbench.rounds import Pattern, WorkerSide
from ipcbench.scenario import ONE_SIDED, PATTERNS


def parent_side(name: str) -> Pattern:
    """The parent side of pattern ``name``."""
    if name in ONE_SIDED:
        from ipcbench.patterns import one_sided

        return one_sided.PATTERNS[name]
    from ipcbench.patterns import messaging

    if name not in PATTERNS:
        raise KeyError(name)
    return messaging.PATTERN


def worker_side(name: str) -> WorkerSide:
    """The worker side of pattern ``name``."""
    if name in ONE_SIDED:
        from ipcbench.patterns import one_sided

        return one_sided.WORKER
    from ipcbench.patterns import messaging

    return messaging.WORKER
