"""Queues: ``multiprocessing.Queue`` and ``SimpleQueue``, and the call patterns of a queue.

A primitive people call in several ways (blocking, with a timeout, batched) is one mechanism per call
pattern, named for it.  The call patterns here serve any queue with the same methods:
``multiprocessing.Queue`` and the third-party ``faster_fifo.Queue`` alike.
"""

from __future__ import annotations

import functools
import queue
from collections.abc import Callable
from typing import Any

from ipcbench.registry import Mechanism, Recv, Resources, Send


def _queue(res: Resources) -> tuple[Any, Any]:
    q = res.ctx.Queue()
    return q, q


def _simple_queue(res: Resources) -> tuple[Any, Any]:
    q = res.ctx.SimpleQueue()
    return q, q


# --- call patterns of a queue (multiprocessing.Queue and faster_fifo.Queue alike) ----------------------
# Each waits again when a wait ends empty-handed, as a user's loop would: the harness's own deadline
# ends a stalled round.

#: faster_fifo has no untimed wait: its "blocking" calls wait this long (and are retried).
FOREVER_S = 3600.0
#: The timeout of the timed call patterns, and faster-fifo's own comparison's.
TIMEOUT_S = 0.01
#: Messages per get_many()/put_many() call at most, as in faster-fifo's own comparison.
BATCH = 100


def blocking_get(q: Any, size: int) -> Recv:
    """``get(True, FOREVER_S)``, retried on ``Empty``.

    With several consumers faster_fifo's blocking ``get`` can raise ``Empty`` long before its
    timeout (seen once in a quick run, 1:3 at 64 KiB): a woken consumer that loses the message to
    another gives up instead of waiting again.
    """
    return _retry(functools.partial(q.get, True, FOREVER_S), queue.Empty)


def blocking_put(q: Any, size: int) -> Send:
    return functools.partial(q.put, block=True, timeout=FOREVER_S)


def timed_get(q: Any, size: int) -> Recv:
    return _retry(functools.partial(q.get, timeout=TIMEOUT_S), queue.Empty)


def timed_put(q: Any, size: int) -> Send:
    return _retry(q.put, queue.Full, timeout=TIMEOUT_S)


def _retry(call: Callable[..., Any], error: type[Exception], **kwargs: Any) -> Callable[..., Any]:
    def again(*args: Any) -> Any:
        while True:
            try:
                return call(*args, **kwargs)
            except error:
                continue

    return again


def get_many(q: Any, size: int) -> Recv:
    """``get_many(timeout=TIMEOUT_S, max_messages_to_get=BATCH)``, its list handed out in order.

    What a consumer's ``for msg in q.get_many(...)`` sees; the batch left over is one list.
    """
    get_many = _retry(q.get_many, queue.Empty, timeout=TIMEOUT_S, max_messages_to_get=BATCH)
    pending: list[Any] = []
    pop = pending.pop

    def recv() -> Any:
        if not pending:
            pending.extend(reversed(get_many()))
        return pop()

    return recv


def put_many(q: Any, size: int) -> Send:
    """``put_many(batch, timeout=TIMEOUT_S)`` of up to ``BATCH`` messages; an end-of-round marker
    (None) goes out at once with what is pending, so no message waits for a batch that never fills.

    A batch must fit the queue's buffer whole (put_many is all or nothing): big payloads batch fewer.
    """
    batch = max(1, min(BATCH, q.max_size_bytes // (4 * (size + 256))))
    put_many = _retry(q.put_many, queue.Full, timeout=TIMEOUT_S)
    pending: list[Any] = []

    def send(obj: Any) -> None:
        pending.append(obj)
        if obj is None or len(pending) >= batch:
            put_many(pending)
            pending.clear()

    return send


#: ``multiprocessing.Queue`` blocking and timed, then ``SimpleQueue``.
QUEUES = (
    Mechanism(
        name="queue",
        description=(
            "multiprocessing.Queue, blocking put()/get(): feeder thread, pickled, shared by all producers "
            "and consumers"
        ),
        carries="objects",
        point_to_point=False,
        make_channel=_queue,
        bind_send=lambda end, size: end.put,
        bind_recv=lambda end, size: end.get,
    ),
    Mechanism(
        name="queue_timeout",
        description=(
            f"multiprocessing.Queue called as put(obj, timeout={TIMEOUT_S})/get(timeout={TIMEOUT_S}), "
            "retried on Full/Empty (faster-fifo's comparison calls it so): the timed path"
        ),
        carries="objects",
        point_to_point=False,
        make_channel=_queue,
        bind_send=timed_put,
        bind_recv=timed_get,
        variant_of="queue",
    ),
    Mechanism(
        name="simple_queue",
        description="multiprocessing.SimpleQueue: a locked pipe, pickled, no feeder thread",
        carries="objects",
        point_to_point=False,
        make_channel=_simple_queue,
        bind_send=lambda end, size: end.put,
        bind_recv=lambda end, size: end.get,
    ),
)
