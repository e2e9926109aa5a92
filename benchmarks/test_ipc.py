"""``pytest benchmarks/`` from a clone: the IPC benchmarks, which live in ``ipcbench.benchmarks``."""

from ipcbench.benchmarks.test_ipc import (
    test_bulk,
    test_latency,
    test_locks,
    test_shared_state,
    test_startup,
    test_throughput,
)

__all__ = ["test_bulk", "test_latency", "test_locks", "test_shared_state", "test_startup", "test_throughput"]
