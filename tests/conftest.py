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
    children = psutil.Process().children(recursive=True)
    # multiprocessing's own helpers (resource tracker, forkserver) live for the session by design.
    helpers = ("resource_tracker", "forkserver")
    ours = [c for c in children if not any(h in " ".join(c.cmdline()) for h in helpers)]
    assert not ours, f"child processes left behind: {[(c.pid, c.name()) for c in ours]}"
    leaked = shm() - before
    assert not leaked, f"/dev/shm entries left behind: {sorted(leaked)}"
