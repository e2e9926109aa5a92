"""``pytest benchmarks/`` from a clone: the calibration group, which lives in ``ipcbench.benchmarks``."""

from ipcbench.benchmarks.test_calibration import pytest_generate_tests, test_calibration

__all__ = ["pytest_generate_tests", "test_calibration"]
