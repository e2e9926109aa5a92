"""Machine facts, gathered in one place and saved with every run (pyperf's ``metadata``)."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

#: Seconds a ``git`` query may take before the commit is recorded as unknown.
GIT_TIMEOUT_S = 10.0


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


def version() -> str:
    """The installed ipcbench's version; the package's own when it runs without being installed."""
    from importlib import metadata

    try:
        return metadata.version("ipcbench")
    except metadata.PackageNotFoundError:
        import ipcbench

        return ipcbench.__version__


def source(package_dir: Path | None = None) -> tuple[str | None, bool | None]:
    """The git commit of the ipcbench source and whether its tree had uncommitted changes, when it
    runs from a clone (an editable install); ``(None, None)`` for an installed copy.

    Only a package that git tracks counts: an install into a venv inside some other repository
    must not be stamped with that repository's commit.
    """
    where = package_dir or Path(__file__).resolve().parent

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(where), *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=GIT_TIMEOUT_S,
        ).stdout.strip()

    try:
        git("ls-files", "--error-unmatch", "__init__.py")
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit, dirty


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
        "ipcbench_version": version(),
    }
    out["ipcbench_commit"], out["ipcbench_dirty"] = source()
    with contextlib.suppress(Exception):
        freq = psutil.cpu_freq()
        if freq is not None:
            out["cpu_freq_mhz"] = {"current": freq.current, "min": freq.min, "max": freq.max}
    with contextlib.suppress(OSError), open("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor") as fh:
        out["cpu_governor"] = fh.read().strip()
    return out


def pin(pid: int, mask: list[int]) -> None:
    """Every thread of process ``pid`` onto ``mask`` (an affinity set on a pid binds its first thread
    only; threads it starts later inherit it, threads already running keep their own)."""
    import psutil

    process = psutil.Process(pid)
    process.cpu_affinity(mask)
    for thread in process.threads():
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            os.sched_setaffinity(thread.id, mask)
