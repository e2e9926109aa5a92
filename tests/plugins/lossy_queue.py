"""A test plugin: a shared queue whose sender loses every 100th message, as a buggy channel would.

It loses the first one too, so even the smallest round shows the loss, however slow the machine.

Its ends are instances of a class defined here, so a spawned worker can only unpickle them if it can
import this file too.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

from ipcbench.api import Mechanism, Resources, Send, register

DROP_EVERY = 100


@dataclasses.dataclass(frozen=True)
class LossyEnd:
    queue: Any

    def close(self) -> None:
        self.queue.close()


def make_channel(resources: Resources) -> tuple[LossyEnd, LossyEnd]:
    end = LossyEnd(resources.ctx.SimpleQueue())
    return end, end


def bind_send(end: LossyEnd, payload_bytes: int) -> Send:
    put, sent = end.queue.put, itertools.count()

    def send(message: Any) -> None:
        if message is not None and next(sent) % DROP_EVERY == 0:
            return  # lost
        put(message)

    return send


register(
    Mechanism(
        name="lossy_queue",
        description="test plugin: a SimpleQueue whose sender drops every 100th message",
        make_channel=make_channel,
        bind_send=bind_send,
        bind_recv=lambda end, payload_bytes: end.queue.get,
        carries="objects",
        point_to_point=False,
        patterns=("throughput",),
    )
)
