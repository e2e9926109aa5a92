"""IPC benchmarks: one test per pattern, parametrized by ``ipcbench.plugin`` with the selected scenarios.

Run with ``ipcbench run``, or ``pytest benchmarks/`` from a clone (and any ``--ipc-*`` or ``--benchmark-*``
option).  Each scenario runs as several trials (``ipc_trial``), each with fresh workers, interleaved
over the run and merged into one benchmark when the results are saved (see ``ipcbench.trials``).
"""

from typing import Any

import pytest

from ipcbench.harness import Settings
from ipcbench.runner import run_scenario
from ipcbench.scenario import Scenario
from ipcbench.trials import Trial


@pytest.mark.ipcbench(pattern="throughput")
def test_throughput(benchmark: Any, scenario: Scenario, ipc_settings: Settings, ipc_trial: Trial) -> None:
    """Messages/s and bytes/s of a verified batch streamed from producers to consumers."""
    run_scenario(benchmark, scenario, ipc_settings, ipc_trial)


@pytest.mark.ipcbench(pattern="latency")
def test_latency(benchmark: Any, scenario: Scenario, ipc_settings: Settings, ipc_trial: Trial) -> None:
    """Round-trip time percentiles of ping-pong pairs, each round trip timed in the pinger."""
    run_scenario(benchmark, scenario, ipc_settings, ipc_trial)


@pytest.mark.ipcbench(pattern="shared_state")
def test_shared_state(benchmark: Any, scenario: Scenario, ipc_settings: Settings, ipc_trial: Trial) -> None:
    """Operations/s (as msgs_per_s) of Value/Array updates; lost_updates for the unlocked counter."""
    run_scenario(benchmark, scenario, ipc_settings, ipc_trial)


@pytest.mark.ipcbench(pattern="locks")
def test_locks(benchmark: Any, scenario: Scenario, ipc_settings: Settings, ipc_trial: Trial) -> None:
    """Acquire/release (or clear/set/wait) operations/s of a shared primitive, 1..2x CPUs processes."""
    run_scenario(benchmark, scenario, ipc_settings, ipc_trial)


@pytest.mark.ipcbench(pattern="bulk")
def test_bulk(benchmark: Any, scenario: Scenario, ipc_settings: Settings, ipc_trial: Trial) -> None:
    """Copy bandwidth (a reference memcpy, Array slice and memoryview copies) in bytes/s per payload size."""
    run_scenario(benchmark, scenario, ipc_settings, ipc_trial)


@pytest.mark.ipcbench(pattern="startup")
def test_startup(benchmark: Any, scenario: Scenario, ipc_settings: Settings, ipc_trial: Trial) -> None:
    """Per-operation cost of starting processes, a Pool, a Manager, a first message: lower is better."""
    run_scenario(benchmark, scenario, ipc_settings, ipc_trial)
