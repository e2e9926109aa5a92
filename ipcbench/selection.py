"""Which scenarios a run covers: profiles, and the command-line axes that narrow or replace them."""

from __future__ import annotations

import dataclasses
import multiprocessing
from collections.abc import Iterable, Iterator

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

PROFILES = ("quick", "full")

#: Per profile: (target seconds per round, timed rounds per trial, trials per scenario).
#: The quick profile keeps its scenarios (224) under a minute on 2 CPUs by the model (ipcbench.eta), with
#: room for a few more: each trial costs ~40 ms of start-up however short its rounds, so three fit.
PROFILE_SETTINGS = {"quick": (0.004, 3, 3), "full": (0.05, 4, 6)}

KIB, MIB = 1 << 10, 1 << 20


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
    """From 1 (one-sided patterns: uncontended) up to twice the CPUs, so oversubscription shows."""
    top = max(2, 2 * cpus)
    if not full:
        return tuple(sorted({2, top}))
    counts = {1, 2, 3, top}
    n = 4
    while n < top:
        counts.add(n)
        n *= 2
    return tuple(sorted(counts))


def profile(name: str, cpus: int) -> Selection:
    if name == "quick":
        return Selection(
            mechanisms=tuple(entries()),
            patterns=PATTERNS,
            processes=process_counts(cpus, full=False),
            payloads=(8, KIB, 64 * KIB),
            start_methods=(default_start_method(),),
            variant_payloads=(KIB,),
        )
    if name == "full":
        return Selection(
            mechanisms=tuple(entries()),
            patterns=PATTERNS,
            processes=process_counts(cpus, full=True),
            payloads=(8, 64, KIB, 4 * KIB, 16 * KIB, 64 * KIB, 256 * KIB, MIB, 4 * MIB, 16 * MIB, 64 * MIB),
            start_methods=tuple(m for m in START_METHODS if m in multiprocessing.get_all_start_methods()),
            variant_payloads=(8, KIB, 64 * KIB, MIB),
        )
    raise ScenarioError(f"unknown profile {name!r}; choose from {', '.join(PROFILES)}")


def select(
    profile_name: str,
    cpus: int,
    mechanisms: Iterable[str] = (),
    patterns: Iterable[str] = (),
    processes: Iterable[int] = (),
    payloads: Iterable[str | int] = (),
    start_methods: Iterable[str] = (),
    placements: Iterable[str] = (),
) -> Selection:
    """A profile with any axis given on the command line replacing the profile's own."""
    base = profile(profile_name, cpus)
    sizes = tuple(parse_size(p) if isinstance(p, str) else p for p in payloads)
    return Selection(
        mechanisms=tuple(mechanisms) or base.mechanisms,
        patterns=tuple(patterns) or base.patterns,
        processes=tuple(processes) or base.processes,
        payloads=sizes or base.payloads,
        start_methods=tuple(start_methods) or base.start_methods,
        placements=tuple(placements) or base.placements,
        # Named mechanisms get the whole sweep: whoever asks for a variant wants it measured.
        variant_payloads=() if tuple(mechanisms) else base.variant_payloads,
    )
