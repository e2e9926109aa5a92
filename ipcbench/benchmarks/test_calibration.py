"""Calibration: the harness's figure beside the smallest hand-written loop, for the selected 1:1 1 KiB
Pipe ``send_bytes`` and Queue scenarios and one-process ``array_memoryview`` bulk copies of 16 MiB and
more (see ``ipcbench.selfcheck``).

Runs with ``--ipc-calibration`` (``ipcbench run --calibration``); then ``-m calibration`` selects it
alone and ``-m "not calibration"`` leaves it out.
"""

from typing import Any

import pytest

from ipcbench import plugin, selfcheck
from ipcbench.harness import Settings


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker("calibration"):
        # Parametrized directly under the name "scenario", so params hold the id saved in extra_info.
        ids = [selfcheck.PREFIX + s.id for s in selfcheck.targets(plugin.scenarios(metafunc.config))]
        metafunc.parametrize("scenario", ids, ids=ids)


@pytest.mark.calibration
def test_calibration(benchmark: Any, scenario: str, ipc_settings: Settings) -> None:
    """Harness rounds timed, each preceded (untimed) by a hand-written round of the same batch."""
    selfcheck.run_benchmark(benchmark, scenario, ipc_settings)
