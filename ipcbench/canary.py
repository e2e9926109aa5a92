"""How fast the CPU runs a fixed piece of pure Python right now: the machine's own speed, beside a trial.

A virtual machine's CPUs are not always its own.  On a 2-vCPU VM, a quarter of the trials of 1:1
``pipe_bytes`` (fresh workers, every round slow, CPU time per message up with them) once ran 15-45%
slower than the rest, in bursts of a few seconds, with no other process running; a fixed loop timed in
the same worker before and after the trial ran 40-80% slower at the same moments (correlation 0.7 with
the trial's figure over 1,500 trials).  What slows the loop is the host, not the channel: a change to a
channel cannot make it slower.  So each worker times the loop (:func:`reading`) on its own CPU just
before a trial's timed rounds and just after them, outside the clock, with the other workers idle, and
the trial saves the reading (``canary_ns``).  The gate puts every trial on one host speed by it
(:mod:`ipcbench.host`).

A trial whose workers' loop ran :data:`DISTURBED` times slower than the run's undisturbed reference
(:class:`Speed`) is also flagged *disturbed*, for the people watching: the progress line, the run's
last lines and the report count them, ``compare`` warns of a file the host slowed throughout, and
``--spares`` runs another trial of a scenario left with too few undisturbed ones.
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import time
from collections.abc import Iterable, Mapping
from typing import Any

#: ``IPCBENCH_HOST_CHECK=off`` in the environment: trials still save their reading, but none is judged
#: disturbed.  ipcbench's own tests set it, so that what they count (trials judged, runs a directory
#: judges by) does not depend on what the host was doing while they ran.
SWITCH = "IPCBENCH_HOST_CHECK"

#: Iterations of the loop: ~0.15 ms on a 2020s x86 CPU, short enough to run twice per worker per trial.
LOOP = 4000
#: Loops per reading; the fastest counts, so an interrupt in one does not make the CPU look slow.
REPEATS = 3
#: A trial whose loop ran this many times slower than the reference is disturbed.  The loop's own
#: spread on a quiet CPU is a few percent; the host's bursts slow it by 40% and more.
DISTURBED = 1.15
#: Readings the reference needs before it judges anything.
LEAST = 5
#: The reference is this low quantile of the readings so far: the machine undisturbed, robust to a
#: run that starts in a burst, not dragged down by a single lucky reading as the minimum would be.
QUANTILE = 0.1


def switched_off() -> bool:
    """Whether the environment asks for no trial to be judged disturbed (:data:`SWITCH`)."""
    return os.environ.get(SWITCH, "").lower() == "off"


def _loop(n: int) -> int:
    t0 = time.perf_counter_ns()
    total = 0
    for i in range(n):
        total += i * i
    return time.perf_counter_ns() - t0


def reading(loop: int = LOOP, repeats: int = REPEATS) -> int:
    """Nanoseconds the fixed loop takes on this process's CPU now (the fastest of ``repeats``)."""
    return min(_loop(loop) for _ in range(repeats))


def trial_reading(readings: Iterable[int]) -> int | None:
    """One trial's reading from its workers' (before and after its rounds): their median."""
    values = [v for v in readings if v > 0]
    return int(statistics.median(values)) if values else None


@dataclasses.dataclass
class Speed:
    """The run's readings so far and the undisturbed reference they give.

    Mutable on purpose: a run keeps one and adds each trial's reading as it finishes.
    """

    readings: list[int] = dataclasses.field(default_factory=list)

    @classmethod
    def seeded(cls) -> Speed:
        """Readings of this process's own CPU to start from, so that the run's first trials are
        judged too (the loop runs as fast in the parent as in a worker: same interpreter, same code)."""
        return cls([reading() for _ in range(LEAST)])

    def add(self, value: int | None) -> None:
        if value is not None and value > 0:
            self.readings.append(value)

    @property
    def reference(self) -> int | None:
        """The low quantile of the readings so far; None before :data:`LEAST` of them."""
        if len(self.readings) < LEAST:
            return None
        ordered = sorted(self.readings)
        return ordered[int(QUANTILE * (len(ordered) - 1))]

    def judge(self, value: int | None) -> tuple[float | None, bool]:
        """(how many times slower than the reference ``value`` ran, whether that is disturbed)."""
        ref = self.reference
        if value is None or ref is None:
            return None, False
        factor = value / ref
        return factor, factor > DISTURBED


def undisturbed(records: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The trial records the host did not disturb (those saved before the check count as such)."""
    return [r for r in records if not r.get("disturbed")]


def tally(benchmarks: Iterable[Mapping[str, Any]]) -> tuple[int, int]:
    """(trials the host slowed, trials) of a run's benchmarks (saved, or loaded rows: both carry
    ``extra_info``)."""
    records = [t for b in benchmarks for t in (b.get("extra_info") or {}).get("trials") or []]
    return len(records) - len(undisturbed(records)), len(records)


def summary(benchmarks: Iterable[Mapping[str, Any]]) -> str | None:
    """One line: how many of a run's trials the host slowed, or None if it slowed none."""
    slowed, trials = tally(benchmarks)
    if not slowed:
        return None
    why = f"a fixed loop on their workers' CPU ran over {DISTURBED - 1:.0%} slower"
    return f"the host slowed {slowed} of {trials} trials ({why}): the gate judges each by its reading"
