"""Machine facts, gathered in one place and saved with every run (pyperf's ``metadata``)."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import platform
import sys
from typing import Any


def usable_cpus() -> int:
    """CPUs this process may run on (affinity), which is what a sweep can really use."""
    with contextlib.suppress(AttributeError, OSError):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def logical_cpus() -> int:
    import psutil

    return psutil.cpu_count(logical=True) or os.cpu_count() or 1


def cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def facts() -> dict[str, Any]:
    """Everything about the machine and interpreter that shapes IPC figures."""
    import psutil

    out: dict[str, Any] = {
        "cpu_model": cpu_model(),
        "cores_physical": psutil.cpu_count(logical=False),
        "cores_logical": psutil.cpu_count(logical=True),
        "cpus_usable": usable_cpus(),
        "affinity": sorted(psutil.Process().cpu_affinity() or []),
        "memory_total": psutil.virtual_memory().total,
        "memory_available": psutil.virtual_memory().available,
        "load_avg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "python_build": list(platform.python_build()),
        "python_compiler": platform.python_compiler(),
        "gil_disabled": bool(getattr(sys, "_is_gil_enabled", lambda: True)() is False),
        "platform": platform.platform(),
        "default_start_method": multiprocessing.get_start_method(allow_none=True)
        or multiprocessing.get_context().get_start_method(),
        "start_methods": multiprocessing.get_all_start_methods(),
        "pickle_protocol": pickle.DEFAULT_PROTOCOL,
        "ci": bool(os.environ.get("CI")),
    }
    with contextlib.suppress(Exception):
        freq = psutil.cpu_freq()
        if freq is not None:
            out["cpu_freq_mhz"] = {"current": freq.current, "min": freq.min, "max": freq.max}
    with contextlib.suppress(OSError), open("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor") as fh:
        out["cpu_governor"] = fh.read().strip()
    return out
