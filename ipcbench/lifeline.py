"""A child process's life tied to its parent's, so no orphan keeps spinning after a crash."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys


def die_with_parent(parent_pid: int | None = None) -> None:
    """Linux: have the kernel kill this process if its parent dies, so no orphan keeps spinning.

    A parent that died before the request was made is not covered by it: then the process is already
    an orphan, which ``parent_pid`` (the expected parent, where it is known) reveals.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)
