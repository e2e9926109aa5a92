"""The process tree of a run: end it whole, and tie its life to the ``ipcbench run`` that started it.

``ipcbench run`` starts pytest, which starts the workers, Manager servers, a fork server and the
resource tracker; start-up benchmarks start processes of their own.  Signals and parent-death
requests each cover one link of that chain; the functions here cover the whole of it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psutil

#: Seconds a pytest whose ``ipcbench run`` died gets to tear down in order before it is killed.
ORPHAN_GRACE = 3.0


def _is_tracker(proc: psutil.Process) -> bool:
    import psutil

    try:
        return "resource_tracker" in " ".join(proc.cmdline())
    except psutil.Error:
        return False


def kill_tree(pid: int, *, include_root: bool = True) -> None:
    """SIGKILL ``pid`` and every process under it, the resource tracker aside.

    Everything is listed before anything dies: a dead parent's children are re-parented and could
    no longer be found from it.  The resource tracker is spared because it unlinks the shared-memory
    segments and semaphores that the killed processes leave; it exits by itself once they are gone.
    """
    import psutil

    try:
        root = psutil.Process(pid)
        procs = root.children(recursive=True)
    except psutil.Error:
        return
    targets = [p for p in procs if not _is_tracker(p)] + ([root] if include_root else [])
    for p in targets:
        with contextlib.suppress(psutil.Error):
            p.kill()


def watch_parent(fd: int, scratch: str | None = None) -> None:
    """Stop this process when ``fd``, the read end of a pipe whose write end only the parent holds,
    reaches end of file: the parent died, however (even by SIGKILL).

    First as Ctrl-C would (pytest tears the workers down in order), then, if that takes longer than
    :data:`ORPHAN_GRACE`, by killing the whole tree.  ``scratch``, the dead parent's directory for
    this process's files, is removed on the way out: nobody is left to read them.
    """

    # SIGINT is how the watch stops pytest, and how 'ipcbench run' does: a run started in the background
    # of a script inherits SIGINT ignored, which would leave both unheard.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    def watch() -> None:
        with contextlib.suppress(OSError):
            while os.read(fd, 1):
                pass
        if scratch is not None:
            atexit.register(shutil.rmtree, scratch, True)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(ORPHAN_GRACE)  # the deadline of the orderly teardown; the process is gone if it made it
        kill_tree(os.getpid(), include_root=False)
        if scratch is not None:
            shutil.rmtree(scratch, True)
        os._exit(128 + signal.SIGINT)

    threading.Thread(target=watch, name="ipcbench-parent-watch", daemon=True).start()
