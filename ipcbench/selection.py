"""Which scenarios a run covers: profiles, and the command-line axes that narrow or replace them."""

from __future__ import annotations

import dataclasses
import multiprocessing
from collections.abc import Iterable, Iterator

from ipcbench.mechanisms import MECHANISMS
from ipcbench.scenario import PATTERNS, START_METHODS, Scenario, ScenarioError, parse_size

PROFILES = ("quick", "full")

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

    def __post_init__(self) -> None:
        for m in self.mechanisms:
            if m not in MECHANISMS:
                raise ScenarioError(f"unknown mechanism {m!r}; choose from {', '.join(MECHANISMS)}")
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
            if n < 2:
                raise ScenarioError(f"process count must be at least 2 (a sender and a receiver), not {n}")

    def expand(self) -> list[Scenario]:
        out: list[Scenario] = []
        for method in self.start_methods:
            for pattern in self.patterns:
                for mech in self.mechanisms:
                    for procs in self.processes:
                        for producers, consumers in shapes(mech, pattern, procs):
                            for size in self.payloads:
                                out.append(Scenario(mech, pattern, producers, consumers, size, method))
        return list(dict.fromkeys(out))


def shapes(mechanism: str, pattern: str, processes: int) -> Iterator[tuple[int, int]]:
    """(producers, consumers) for a process count: pairs, and N:1 / 1:N for shared channels."""
    if processes % 2 == 0:
        yield processes // 2, processes // 2
    if pattern == "throughput" and not MECHANISMS[mechanism].point_to_point and processes >= 3:
        yield processes - 1, 1
        yield 1, processes - 1


def process_counts(cpus: int, full: bool) -> tuple[int, ...]:
    """From 2 up to twice the CPUs, so oversubscription shows in the figures."""
    top = max(2, 2 * cpus)
    if not full:
        return tuple(sorted({2, top}))
    counts = {2, 3, top}
    n = 4
    while n < top:
        counts.add(n)
        n *= 2
    return tuple(sorted(counts))


def profile(name: str, cpus: int) -> Selection:
    if name == "quick":
        return Selection(
            mechanisms=tuple(MECHANISMS),
            patterns=PATTERNS,
            processes=process_counts(cpus, full=False),
            payloads=(8, KIB, 64 * KIB),
            start_methods=(default_start_method(),),
        )
    if name == "full":
        return Selection(
            mechanisms=tuple(MECHANISMS),
            patterns=PATTERNS,
            processes=process_counts(cpus, full=True),
            payloads=(8, 64, KIB, 4 * KIB, 16 * KIB, 64 * KIB, 256 * KIB, MIB),
            start_methods=tuple(m for m in START_METHODS if m in multiprocessing.get_all_start_methods()),
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
    )
