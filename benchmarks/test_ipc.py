"""IPC benchmarks: one test per pattern, parametrized by ``ipcbench.plugin`` with the selected scenarios.

Run with ``pytest benchmarks/`` (and any ``--ipc-*`` or ``--benchmark-*`` option) or ``ipcbench run``.
"""

import pytest

from ipcbench.runner import run_scenario


@pytest.mark.ipcbench(pattern="throughput")
def test_throughput(benchmark, scenario, ipc_settings):
    """Messages/s and bytes/s of a verified batch streamed from producers to consumers."""
    run_scenario(benchmark, scenario, ipc_settings)


@pytest.mark.ipcbench(pattern="latency")
def test_latency(benchmark, scenario, ipc_settings):
    """Round-trip time percentiles of ping-pong pairs, each round trip timed in the pinger."""
    run_scenario(benchmark, scenario, ipc_settings)


@pytest.mark.ipcbench(pattern="shared_state")
def test_shared_state(benchmark, scenario, ipc_settings):
    """Operations/s (as msgs_per_s) of Value/Array updates; lost_updates for the unlocked counter."""
    run_scenario(benchmark, scenario, ipc_settings)


@pytest.mark.ipcbench(pattern="locks")
def test_locks(benchmark, scenario, ipc_settings):
    """Acquire/release (or clear/set/wait) operations/s of a shared primitive, 1..2x CPUs processes."""
    run_scenario(benchmark, scenario, ipc_settings)


@pytest.mark.ipcbench(pattern="bulk")
def test_bulk(benchmark, scenario, ipc_settings):
    """Copy bandwidth ceilings (NumPy memcpy, Array slice copy) in bytes/s per payload size."""
    run_scenario(benchmark, scenario, ipc_settings)


@pytest.mark.ipcbench(pattern="startup")
def test_startup(benchmark, scenario, ipc_settings):
    """Per-operation cost of starting processes, a Pool, a Manager, a first message: lower is better."""
    run_scenario(benchmark, scenario, ipc_settings)
