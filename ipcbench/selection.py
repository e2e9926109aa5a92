"""Which scenarios a run covers: profiles, and the command-line axes that narrow or replace them."""

from __future__ import annotations

import dataclasses
import math
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ipcbench.catalog import entries
from ipcbench.scenario import (
    ONE_SIDED,
    PATTERNS,
    PLACEMENTS,
    START_METHODS,
    Scenario,
    ScenarioError,
    parse_size,
)
from ipcbench.trials import Plan

PROFILES = ("quick", "full")

#: Per profile: (target seconds per round, timed rounds per trial, trials per scenario).
#: The quick profile keeps its scenarios (224) under a minute on 2 CPUs: three trials (38-42 s on a
#: 2-vCPU VM; four took 49-56 s, too close to the minute for what they bought in one A/A).  With the
#: host's speed read beside each trial: 44-45 s when the host slowed few trials, up to 62 s in a run
#: where it slowed 63% of them (everything runs slower then).
#: The full profile's trial count is a cap: its trials stop once the figure is known to within
#: :data:`PROFILE_PRECISION` (see :mod:`ipcbench.trials`).  Its rounds are short because trials, not
#: rounds, carry the noise that matters (a placement, a moment of the machine): more trials of short
#: rounds know a figure better than a few long ones.
PROFILE_SETTINGS = {"quick": (0.004, 3, 3), "full": (0.01, 3, 10)}
#: Per profile: the precision its trials stop at (the 95% confidence interval of the scenario's figure
#: as a fraction of it), or None for a fixed trial count.  The quick profile keeps a fixed count: a
#: comparison of two runs needs the same number of trials a side.
PROFILE_PRECISION: dict[str, float | None] = {"quick": None, "full": 0.10}


def plan(get: Callable[[str], Any]) -> Plan:
    """The trials each scenario gets: the profile's, or those the options ``get(dest)`` give
    (``trials``, ``precision``, ``spares``)."""
    profile = str(get("profile"))
    # No spares unless asked: on a 2-vCPU VM whose host slowed 45% of all trials, a spare for every
    # scenario left with one undisturbed trial cost 4-27% of a quick run (50-73 s) and changed no
    # verdict of ten quick runs compared pair by pair.
    return Plan(
        get("trials") or PROFILE_SETTINGS[profile][2],
        get("precision") or PROFILE_PRECISION[profile],
        get("spares") or 0,
    )


KIB, MIB = 1 << 10, 1 << 20

#: The quick profile's placement.  Quick runs gate pull requests, so they take the placement whose
#: figures a rerun reproduces best.  Measured on a 2-vCPU VM (five quick runs each, three trials):
#: the median scenario's trials spread 4% packed, 16% spread, 17% left to the OS, whose runs are
#: bimodal (1:1 pipe_bytes at 1 KiB: 360k msgs/s when the OS parts the pair, 200k when it does not).
#: Packed leaves the other CPUs to the parent and the machine's other work; pinned one per CPU, the
#: workers collide with it.  The full profile keeps the OS's own placement: the answer a reader wants.
QUICK_PLACEMENT = "packed"


def default_start_method() -> str:
    """The platform's default (fork on Linux before 3.14, forkserver from 3.14): recorded, not assumed."""
    return multiprocessing.get_context().get_start_method()


@dataclasses.dataclass(frozen=True)
class Selection:
    """The axes of a sweep.  ``expand`` turns them into scenarios, skipping shapes a mechanism lacks."""

    mechanisms: tuple[str, ...]
    patterns: tuple[str, ...]
    processes: tuple[int, ...]
    payloads: tuple[int, ...]
    start_methods: tuple[str, ...]
    placements: tuple[str, ...] = ("none",)
    #: Call-pattern variants (``queue_timeout``, ``faster_fifo_get_many``…) run only at these payloads
    #: and with one consumer (1:1, N:1), where they answer "does the call pattern matter?" at a
    #: fraction of the cost; empty: like every other mechanism (a mechanism named on the command line).
    variant_payloads: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        known = entries()
        for m in self.mechanisms:
            if m not in known:
                raise ScenarioError(f"unknown mechanism {m!r}; choose from {', '.join(known)}")
        for pl in self.placements:
            if pl not in PLACEMENTS:
                raise ScenarioError(f"unknown placement {pl!r}; choose from {', '.join(PLACEMENTS)}")
        for p in self.patterns:
            if p not in PATTERNS:
                raise ScenarioError(f"unknown pattern {p!r}; choose from {', '.join(PATTERNS)}")
        available = multiprocessing.get_all_start_methods()
        for s in self.start_methods:
            if s not in START_METHODS or s not in available:
                raise ScenarioError(
                    f"unknown start method {s!r} on this platform; choose from {', '.join(available)}"
                )
        for n in self.processes:
            if n < 1:
                raise ScenarioError(f"process count must be at least 1, not {n}")

    def expand(self) -> list[Scenario]:
        """Every scenario of the product that exists: a mechanism runs only in its own patterns."""
        out: list[Scenario] = []
        for method in self.start_methods:
            for pattern in self.patterns:
                for mech in self.mechanisms:
                    entry = entries()[mech]
                    if pattern not in entry.patterns:
                        continue
                    sparing = entry.variant_of is not None and bool(self.variant_payloads)
                    sizes = tuple(p for p in self.payloads if not sparing or p in self.variant_payloads)
                    for procs in self.processes:
                        for producers, consumers in shapes(mech, pattern, procs):
                            if sparing and consumers != 1:
                                continue
                            for size in entry.payloads(sizes):
                                for place in self.placements:
                                    out.append(
                                        Scenario(mech, pattern, producers, consumers, size, method, place)
                                    )
        return list(dict.fromkeys(out))


def shapes(mechanism: str, pattern: str, processes: int) -> Iterator[tuple[int, int]]:
    """(producers, consumers) for a process count: pairs, and N:1 / 1:N for shared channels.

    One-sided patterns have one side: every worker repeats the same operation.
    """
    if pattern in ONE_SIDED:
        yield processes, 0
        return
    entry = entries()[mechanism]
    if processes % 2 == 0 and not (entry.single_consumer and processes > 2):
        yield processes // 2, processes // 2
    if pattern == "throughput" and not entry.point_to_point and processes >= 3:
        yield processes - 1, 1
        if not entry.single_consumer:
            yield 1, processes - 1


def process_counts(cpus: int, full: bool) -> tuple[int, ...]:
    """From 1 (one-sided patterns: uncontended) up to twice the CPUs, so oversubscription shows.

    The full profile's curve has a few points whatever the machine: 1, 2, 3 (the first N:1 and 1:N
    shapes), 4, one point between 4 and the CPUs, the CPUs (every core busy) and twice the CPUs
    (oversubscribed).  Every power of two, as before, gave a 64-CPU machine nine counts, each of its
    top ones starting 128 workers per trial.
    """
    top = max(2, 2 * cpus)
    if not full:
        return tuple(sorted({2, top}))
    counts = {n for n in (1, 2, 3, 4, cpus, top) if n <= top}
    if cpus > 8:
        # The geometric middle of 4..CPUs, rounded to a power of two (16 on 64 CPUs).
        counts.add(1 << round(math.log2(math.sqrt(4 * cpus))))
    return tuple(sorted(counts))


@dataclasses.dataclass(frozen=True)
class Sweep:
    """A profile: the union of a few products, each a :class:`Selection` that answers one question.

    The full product of every axis (2,544 scenarios on 2 CPUs) measured mostly what one point per
    curve already says; a sweep keeps every axis and every value of it, but crosses them only where
    the cross says something (see :func:`profile`).
    """

    parts: tuple[Selection, ...]

    def expand(self) -> list[Scenario]:
        """Every scenario of every part, once, in the parts' order."""
        return list(dict.fromkeys(s for part in self.parts for s in part.expand()))

    def replace(self, **axes: tuple[Any, ...]) -> Sweep:
        """The same parts with each given (non-empty) axis replacing every part's own; a part keeps
        only the given patterns it has (the start-up part stays about start-up)."""
        given = {k: v for k, v in axes.items() if v}
        parts = []
        for part in self.parts:
            own = dict(given)
            if "patterns" in given:
                own["patterns"] = tuple(p for p in given["patterns"] if p in part.patterns)
            parts.append(dataclasses.replace(part, **own))
        return Sweep(tuple(parts))


#: The full profile's payload curve: the per-message regime (8 B, 1 KiB), either side of a pipe's 64 KiB
#: buffer (16 KiB, 64 KiB), big messages (1 MiB, 4 MiB: the largest ``manager_queue`` and ``array_slice``
#: take) and the largest (64 MiB, where page faults and memory bandwidth show); the 11 sizes of the full
#: product added points between these on smooth curves.
#: Measured at one pair (and one or two workers for the one-sided patterns); the process curve uses
#: two of them.
FULL_PAYLOADS = (8, KIB, 16 * KIB, 64 * KIB, MIB, 4 * MIB, 64 * MIB)
#: The payloads every process count and shape is measured at: a small message and a big one.
FULL_SCALING_PAYLOADS = (KIB, MIB)
#: Where every mechanism runs under every start method (processes, payloads), to show that
#: steady-state figures do not depend on how warm workers were started (start-up itself is measured
#: under every method; ``ipcbench.method_check`` reads the check for the report).
METHOD_CHECK = ((2,), (KIB,))


def profile(name: str, cpus: int) -> Sweep:
    """A named sweep for a machine of ``cpus`` CPUs."""
    everything = tuple(entries())
    default = (default_start_method(),)
    if name == "quick":
        return Sweep(
            (
                Selection(
                    mechanisms=everything,
                    patterns=PATTERNS,
                    processes=process_counts(cpus, full=False),
                    payloads=(8, KIB, 64 * KIB),
                    start_methods=default,
                    # All of a scenario's workers on one CPU: the quietest placement measured for the
                    # gate (see QUICK_PLACEMENT); pull requests are gated on quick runs.
                    placements=(QUICK_PLACEMENT,),
                    variant_payloads=(KIB,),
                ),
            )
        )
    if name != "full":
        raise ScenarioError(f"unknown profile {name!r}; choose from {', '.join(PROFILES)}")
    methods = tuple(m for m in START_METHODS if m in multiprocessing.get_all_start_methods())
    steady = tuple(p for p in PATTERNS if p != "startup")
    bandwidth = tuple(p for p in steady if p != "latency")
    variants = (8, KIB, 64 * KIB, MIB)
    return Sweep(
        (
            # Rate against payload: one pair, one or two copying workers.
            Selection(everything, bandwidth, (1, 2), FULL_PAYLOADS, default, variant_payloads=variants),
            # Round trips against payload up to 1 MiB: beyond, a round trip is two transfers, whose
            # bandwidth the throughput curve measures (latency at 16 and 64 MiB cost half the run).
            Selection(everything, ("latency",), (2,), FULL_PAYLOADS[:-2], default, variant_payloads=variants),
            # Rate against processes and shape, up to oversubscription, at a small and a big message.
            Selection(
                everything,
                steady,
                process_counts(cpus, full=True),
                FULL_SCALING_PAYLOADS,
                default,
                variant_payloads=variants,
            ),
            # Start-up: where the start method is the figure.
            Selection(everything, ("startup",), process_counts(cpus, full=True), (8,), methods),
            # Every other mechanism under every start method, at one point.
            Selection(everything, steady, *METHOD_CHECK, methods, variant_payloads=variants),
        )
    )


def select(
    profile_name: str,
    cpus: int,
    mechanisms: Iterable[str] = (),
    patterns: Iterable[str] = (),
    processes: Iterable[int] = (),
    payloads: Iterable[str | int] = (),
    start_methods: Iterable[str] = (),
    placements: Iterable[str] = (),
) -> Sweep:
    """A profile with any axis given on the command line replacing the profile's own, in each of its
    parts (patterns: each part keeps those it has)."""
    named = tuple(mechanisms)
    sweep = profile(profile_name, cpus).replace(
        mechanisms=named,
        patterns=tuple(patterns),
        processes=tuple(processes),
        payloads=tuple(parse_size(p) if isinstance(p, str) else p for p in payloads),
        start_methods=tuple(start_methods),
        placements=tuple(placements),
    )
    if named:
        # Named mechanisms get the whole sweep: whoever asks for a variant wants it measured.
        sweep = Sweep(tuple(dataclasses.replace(part, variant_payloads=()) for part in sweep.parts))
    return sweep
