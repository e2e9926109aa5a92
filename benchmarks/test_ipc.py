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
