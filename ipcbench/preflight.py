"""Noise, said before the run: what on this machine may disturb the figures (after ``pyperf system show``).

pyperf checks the CPU governor, Turbo Boost, isolated CPUs and more, and advises how to tune them.
ipcbench does not tune anything; it records what it sees and warns, so a noisy figure comes with its
reason: the load, a power-saving governor, other busy processes, fewer CPUs than the run's processes,
a CI runner, a laptop on battery.
"""

from __future__ import annotations

import contextlib
import glob
import os
import time
from collections.abc import Mapping
from typing import Any

from ipcbench import machine

#: Seconds over which other processes' CPU use is sampled.
SAMPLE_S = 0.3
#: Processes using at least this share of one CPU count as busy.
BUSY_PROCESS = 0.10
#: Warn when the 1-minute load average, or the other processes' CPU use, reaches this share of the CPUs.
LOAD_WARN = 0.5
#: Environment variables that CI services set.
CI_VARS = ("CI", "GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "JENKINS_URL", "TF_BUILD", "CIRCLECI")
#: The governor pyperf recommends; others (powersave, ondemand, schedutil) move the clock under a run.
BENCHMARK_GOVERNOR = "performance"


def governors() -> list[str]:
    """The distinct scaling governors of the CPUs, where sysfs shows them (not in most VMs)."""
    found = set()
    for path in glob.glob("/sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_governor"):
        with contextlib.suppress(OSError), open(path) as fh:
            found.add(fh.read().strip())
    return sorted(found)


def busy_processes(sample_s: float = SAMPLE_S, top: int = 3) -> tuple[float, list[dict[str, Any]]]:
    """Other processes' CPU use over ``sample_s``: (total in CPUs, the ``top`` busiest above a floor)."""
    import psutil

    me = os.getpid()
    procs = []
    for p in psutil.process_iter(["name"]):
        if p.pid == me:
            continue
        with contextlib.suppress(psutil.Error):
            p.cpu_percent(None)  # the first call only starts the measurement
            procs.append(p)
    time.sleep(sample_s)
    seen = []
    for p in procs:
        with contextlib.suppress(psutil.Error):
            seen.append((p.cpu_percent(None) / 100.0, p.pid, p.info.get("name") or "?"))
    total = sum(c for c, _, _ in seen)
    seen.sort(reverse=True)
    busiest = [{"name": n, "pid": pid, "cpu": round(c, 2)} for c, pid, n in seen[:top] if c >= BUSY_PROCESS]
    return round(total, 2), busiest


def on_battery() -> bool | None:
    """True on battery, False on mains, None where there is no battery or it cannot be read."""
    with contextlib.suppress(Exception):
        import psutil

        battery = psutil.sensors_battery()
        if battery is not None and battery.power_plugged is not None:
            return not battery.power_plugged
    return None


def ci_name(environ: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if environ is None else environ
    for var in CI_VARS:
        if env.get(var, "").lower() not in ("", "0", "false"):
            return var
    return None


def collect(max_processes: int = 2, sample_s: float = SAMPLE_S) -> dict[str, Any]:
    """Everything the preflight looks at, plus ``warnings`` (a list of one-line strings)."""
    cpus = machine.usable_cpus()
    load = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    other_cpu, busiest = busy_processes(sample_s)
    facts: dict[str, Any] = {
        "load_avg": load,
        "cpus_usable": cpus,
        "max_processes": max_processes,
        "governors": governors(),
        "other_cpu": other_cpu,
        "busy_processes": busiest,
        "ci": ci_name(),
        "on_battery": on_battery(),
        "sample_s": sample_s,
    }
    facts["warnings"] = warnings(facts)
    return facts


def warnings(facts: Mapping[str, Any]) -> list[str]:
    """The warnings a preflight's facts call for (pure, so tests feed it made-up facts)."""
    out: list[str] = []
    cpus = facts["cpus_usable"]
    load = facts.get("load_avg")
    if load and load[0] >= LOAD_WARN * cpus:
        out.append(f"load average {load[0]:.2f} on {cpus} usable CPUs: other work competes with the run")
    if facts.get("other_cpu", 0) >= LOAD_WARN * cpus or facts.get("busy_processes"):
        names = ", ".join(f"{p['name']} ({p['cpu']:.0%})" for p in facts.get("busy_processes") or [])
        out.append(
            f"other processes use {facts.get('other_cpu', 0):.2f} CPUs"
            + (f"; busiest: {names}" if names else "")
        )
    slow = [g for g in facts.get("governors") or [] if g != BENCHMARK_GOVERNOR]
    if slow:
        out.append(f"CPU frequency governor {', '.join(slow)}: the clock may change under the run")
    if facts.get("max_processes", 0) > cpus:
        out.append(
            f"the run starts up to {facts['max_processes']} processes on {cpus} usable CPUs "
            "(oversubscribed scenarios measure the scheduler too)"
        )
    if facts.get("ci"):
        out.append(f"running in CI ({facts['ci']} is set): shared runners make figures noisy")
    if facts.get("on_battery"):
        out.append("on battery: power saving may slow the CPUs")
    return out


def format_lines(facts: Mapping[str, Any]) -> list[str]:
    """What ``ipcbench run`` prints before it starts: one summary line, then one line per warning."""
    load = facts.get("load_avg")
    parts = [f"load {' '.join(f'{x:.2f}' for x in load)}" if load else "load n/a"]
    parts.append(f"other processes {facts.get('other_cpu', 0):.2f} CPUs")
    parts.append(f"governor {'/'.join(facts['governors'])}" if facts.get("governors") else "governor n/a")
    parts.append(f"up to {facts.get('max_processes')} processes on {facts.get('cpus_usable')} CPUs")
    lines = ["preflight: " + ", ".join(parts)]
    lines += [f"warning: {w}" for w in facts.get("warnings", [])]
    return lines
