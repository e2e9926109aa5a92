"""Manager proxies: every call is a round trip to the Manager's server process."""

from __future__ import annotations

from typing import Any

from ipcbench.registry import Mechanism, Resources


def _manager_queue(res: Resources) -> tuple[Any, Any]:
    q = res.manager().Queue()
    return q, q


MANAGERS = (
    Mechanism(
        name="manager_queue",
        description="Manager().Queue(): a proxy to a queue living in the Manager's server process",
        carries="objects",
        point_to_point=False,
        make_channel=_manager_queue,
        bind_send=lambda end, size: end.put,
        bind_recv=lambda end, size: end.get,
        max_payload=4 << 20,
    ),
)
