"""Shared test fixtures: kept tiny on purpose."""

import os
import sys
from pathlib import Path

import pytest

# What the tests count (trials judged, runs a directory judges by) must not depend on the host's bursts
# while they run: no trial is judged disturbed here (ipcbench.canary).  Tests of the judgement pass
# their own reference.
os.environ["IPCBENCH_HOST_CHECK"] = "off"


@pytest.fixture
def no_leaks():
    """Assert that a test leaves no child process and no new /dev/shm entry behind."""
    import psutil

    def shm() -> set[str]:
        try:
            return set(os.listdir("/dev/shm"))
        except OSError:
            return set()

    before = shm()
    yield
    helpers = ("resource_tracker", "forkserver")
    children = psutil.Process().children(recursive=True)
    ours = [c for c in children if not any(h in " ".join(_cmdline(c)) for h in helpers)]
    # A worker under forkserver is reaped by the forkserver, not by us, an instant after it exits:
    # allow a bounded wait for that, then name whoever is still there.
    _, alive = psutil.wait_procs(ours, timeout=2)
    assert not alive, f"child processes left behind: {[(c.pid, _cmdline(c)) for c in alive]}"
    leaked = _not_in_use_elsewhere(shm() - before)
    assert not leaked, f"/dev/shm entries left behind: {sorted(leaked)}"


@pytest.fixture
def registry():
    """Plugins a test loads or registers are forgotten afterwards: other tests see the built-ins only."""
    from ipcbench import api, registry

    tables = (registry._MECHANISMS, registry._OPERATIONS, registry._ORIGINS, api._LOADED)
    saved = [t.copy() for t in tables]
    path = list(sys.path)
    yield
    # The plugins' own modules only: a library imported meanwhile (pandas, say) must stay imported.
    added = [p + os.sep for p in sys.path if p not in path]
    new = api._LOADED - saved[3]
    plugins = {Path(s).stem if s.endswith(".py") else s.partition(":")[0] for s in new}
    for name, module in list(sys.modules.items()):
        where = str(getattr(module, "__file__", "") or "")
        if name in plugins or any(where.startswith(p) for p in added):
            del sys.modules[name]
    sys.path[:] = path
    for table, old in zip(tables, saved, strict=True):
        table.clear()
        table.update(old)
    registry._generation += 1


def _cmdline(proc) -> list[str]:
    import psutil

    try:
        return proc.cmdline()
    except psutil.Error:
        return []


def _not_in_use_elsewhere(names: set[str]) -> set[str]:
    """Drop entries that a process outside this test's tree has mapped: another suite's live segment
    on a shared machine, not our leak (a leak is mapped by nobody).  On CI nothing else runs."""
    if not names:
        return names
    import psutil

    me = psutil.Process()
    ours = {me.pid} | {c.pid for c in me.children(recursive=True)}
    in_use: set[str] = set()
    for pid in psutil.pids():
        if pid in ours:
            continue
        try:
            with open(f"/proc/{pid}/maps") as fh:
                maps = fh.read()  # once: a second read() of the file returns ""
        except OSError:
            continue
        in_use |= {n for n in names if f"/dev/shm/{n}" in maps}
    return names - in_use
