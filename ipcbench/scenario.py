"""The one description of a benchmark case, and the size notation used on the command line.

A :class:`Scenario` gives the pytest id, the worker set-up and the JSON fields, so the three can
never disagree.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from ipcbench import specs

#: Every pattern, with the one line ``ipcbench list`` shows for it (each described in :mod:`ipcbench.specs`).
PATTERN_DESCRIPTIONS = {spec.name: spec.description for spec in specs.BUILT_IN}
PATTERNS = tuple(PATTERN_DESCRIPTIONS)

#: Patterns whose workers all do the same job: ``producers`` counts them and ``consumers`` is 0.
ONE_SIDED = tuple(spec.name for spec in specs.BUILT_IN if spec.one_sided)

#: Where workers run: pinned one per CPU in turn (``spread``), all on one CPU (``packed``), or left to the OS.
PLACEMENTS = ("none", "spread", "packed")


def placement_mask(placement: str, cpus: list[int], index: int) -> list[int]:
    """The CPUs the ``index``-th pinned process of a scenario gets: the next CPU in turn (spread) or
    the first (packed).  The harness and selfcheck's hand-written loops pin by this one rule."""
    return [cpus[index % len(cpus)]] if placement == "spread" else [cpus[0]]


#: Start methods multiprocessing knows; which of them this platform offers is checked in the harness.
START_METHODS = ("fork", "spawn", "forkserver")

#: The smallest payload: every message carries its 8-byte sequence number, so nothing can be smaller.
MIN_PAYLOAD = 8

#: A hard cap on worker processes: beyond this a typo, not a benchmark, is the likely cause.
MAX_PROCESSES = 256

_UNITS = {"": 1, "b": 1, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "kb": 1000, "mb": 10**6, "gb": 10**9}
_SIZE_RE = re.compile(r"^\s*(\d+)\s*([a-zA-Z]*)\s*$")


class ScenarioError(ValueError):
    """A scenario or a size that cannot exist; the message is one line meant for the user."""


def parse_size(text: str) -> int:
    """Parse ``8``, ``8B``, ``1KiB``, ``64KiB``, ``1MiB`` (also ``kB``/``MB``) into bytes."""
    match = _SIZE_RE.match(str(text))
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNITS:
        raise ScenarioError(f"cannot parse size {text!r}: use a number of bytes or e.g. 1KiB, 64KiB, 1MiB")
    return int(match.group(1)) * _UNITS[unit]


def format_size(n: int) -> str:
    """The shortest exact binary notation: 8 -> '8B', 1024 -> '1KiB', 1536 -> '1536B'."""
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= factor and n % factor == 0:
            return f"{n // factor}{unit}"
    return f"{n}B"


def shape_label(producers: int, consumers: int) -> str:
    """``2p`` for pairs (1:1 each) and one-sided patterns (no consumers), ``3p-2to1`` otherwise."""
    if producers == consumers or consumers == 0:
        return f"{producers + consumers}p"
    return f"{producers + consumers}p-{producers}to{consumers}"


@dataclasses.dataclass(frozen=True, order=True)
class Scenario:
    """One benchmark case.

    ``producers``/``consumers`` are the two sides: producers and consumers for ``throughput``,
    pingers and pongers (one pair each) for ``latency``; the :data:`ONE_SIDED` patterns have only
    ``producers`` (every worker does the same job) and ``consumers`` is 0.  Point-to-point mechanisms
    (pipes) give each producer its own channel to one consumer, so they need ``producers ==
    consumers``; shared channels (queues) carry every producer's messages to every consumer.
    """

    mechanism: str
    pattern: str
    producers: int
    consumers: int
    payload_bytes: int
    start_method: str
    placement: str = "none"

    def __post_init__(self) -> None:
        if self.pattern not in PATTERNS:
            raise ScenarioError(f"unknown pattern {self.pattern!r}; choose from {', '.join(PATTERNS)}")
        if self.start_method not in START_METHODS:
            raise ScenarioError(
                f"unknown start method {self.start_method!r}; choose from {', '.join(START_METHODS)}"
            )
        if self.placement not in PLACEMENTS:
            raise ScenarioError(f"unknown placement {self.placement!r}; choose from {', '.join(PLACEMENTS)}")
        sides = ("producers",) if self.pattern in ONE_SIDED else ("producers", "consumers")
        for side in sides:
            value = getattr(self, side)
            if not isinstance(value, int) or value < 1:
                raise ScenarioError(f"{side} must be a positive whole number, not {value!r}")
        if self.pattern in ONE_SIDED and self.consumers != 0:
            raise ScenarioError(f"{self.pattern} has one side: consumers must be 0, not {self.consumers!r}")
        if self.processes > MAX_PROCESSES:
            raise ScenarioError(f"{self.processes} processes is beyond the cap of {MAX_PROCESSES}")
        if self.payload_bytes < MIN_PAYLOAD:
            raise ScenarioError(
                f"payload {self.payload_bytes} B is below {MIN_PAYLOAD} B (the sequence number's size)"
            )
        if self.pattern == "latency" and self.producers != self.consumers:
            raise ScenarioError("latency runs in pairs: producers must equal consumers")

    @property
    def processes(self) -> int:
        return self.producers + self.consumers

    def cpus(self, usable: int) -> int:
        """How many CPUs the workers may run on: one when packed, else the ``usable`` ones."""
        return 1 if self.placement == "packed" else usable

    def oversubscribed(self, usable: int) -> bool:
        """More workers than the CPUs their placement gives them: they take turns, and it shows."""
        return self.processes > self.cpus(usable)

    @property
    def shape(self) -> str:
        """``2p`` for pairs (1:1 each) and one-sided patterns, ``3p-2to1`` where the sides differ in size."""
        return shape_label(self.producers, self.consumers)

    @property
    def id(self) -> str:
        """Readable and unique: ``pipe_bytes-latency-2p-1KiB-fork`` (``-spread``/``-packed`` if pinned)."""
        parts = [self.mechanism, self.pattern, self.shape, format_size(self.payload_bytes), self.start_method]
        if self.placement != "none":
            parts.append(self.placement)
        return "-".join(parts)

    def fields(self) -> dict[str, Any]:
        """The scenario as the JSON keys of ``extra_info`` (see :mod:`ipcbench.schema`)."""
        return {
            "scenario": self.id,
            "mechanism": self.mechanism,
            "pattern": self.pattern,
            "processes": self.processes,
            "producers": self.producers,
            "consumers": self.consumers,
            "payload_bytes": self.payload_bytes,
            "start_method": self.start_method,
            "placement": self.placement,
        }
