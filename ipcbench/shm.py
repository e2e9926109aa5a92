"""Shared-memory segments that never leak: the creator owns and unlinks, workers only attach.

CPython 3.11/3.12 register a segment with the resource tracker on *every* attach, not only on create
(gh-82300; ``track=`` arrived in 3.13).  With one tracker shared by the whole process tree, a worker's
registration can land after the creator has already unlinked and unregistered the name, and the
tracker then reports a "leaked shared_memory" and unlinks it again at exit.  So workers attach
untracked, and only the creator (the parent, through :func:`create`) is known to the tracker.
"""

from __future__ import annotations

import contextlib
import sys
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import ShareableList, SharedMemory
from typing import Any


def create(size: int) -> SharedMemory:
    """A new segment of at least ``size`` bytes; the caller must :func:`destroy` it on every path."""
    return SharedMemory(create=True, size=max(1, size))


def attach(name: str) -> SharedMemory:
    """Map an existing segment without telling the resource tracker (the creator unlinks it)."""
    if sys.version_info >= (3, 13):
        return SharedMemory(name, track=False)  # type: ignore[call-arg,unused-ignore]
    return _untracked(SharedMemory, name)


def attach_list(name: str) -> ShareableList[Any]:
    """A ``ShareableList`` over an existing segment, untracked like :func:`attach`."""
    return _untracked(ShareableList, name=name)


def _untracked(make: Any, *args: Any, **kwargs: Any) -> Any:
    register = resource_tracker.register
    # Only this process is affected, and only for the duration of the attach.
    resource_tracker.register = lambda name, rtype: None
    try:
        return make(*args, **kwargs)
    finally:
        resource_tracker.register = register


def destroy(segment: SharedMemory) -> None:
    """Unmap and unlink; safe to call twice and when views are still alive."""
    with contextlib.suppress(BufferError, OSError):
        segment.close()
    with contextlib.suppress(FileNotFoundError):
        segment.unlink()
