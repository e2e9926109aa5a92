"""Shared test fixtures: kept tiny on purpose (see STYLE.md)."""

import os

import pytest

# Tests of ipcbench never run benchmarks for figures; they run them once, as smoke tests.
os.environ.setdefault("IPCBENCH_TESTING", "1")


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
    leaked = shm() - before
    assert not leaked, f"/dev/shm entries left behind: {sorted(leaked)}"


def _cmdline(proc) -> list[str]:
    import psutil

    try:
        return proc.cmdline()
    except psutil.Error:
        return []
