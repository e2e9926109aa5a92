"""The vocabulary of a round, shared by the rig, the worker process and the patterns.

A round is one batch of messages (or operations) split over warm workers.  The parent's rig
prepares it, releases it, collects every worker's report and verifies it; what the workers do is a
pattern, in two halves that never meet in one process:

* :class:`Pattern`, the parent side: refuse a scenario it cannot run, lay out the workers, split a
  round's batch into one :class:`Task` per worker, verify the finished round.  It sees the rig only
  through :class:`Round`, the rig's public round API.
* :class:`WorkerSide`, the worker side: bind a worker's ends to a :class:`Share`, the callable that
  runs its task inside the clock, with optional untimed steps before and after it.

This module imports nothing of the rig, the worker process or the patterns: they all build on it.
"""

from __future__ import annotations

import dataclasses
from array import array
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ipcbench.scenario import Scenario

if TYPE_CHECKING:
    from ipcbench.registry import Resources


class HarnessError(RuntimeError):
    """A benchmark that cannot report a number; the message names the scenario and what happened."""


class WorkerDied(HarnessError):
    pass


class WorkerStalled(HarnessError):
    pass


class WorkerFailed(HarnessError):
    pass


class VerificationError(HarnessError):
    pass


@dataclasses.dataclass(frozen=True)
class RoundResult:
    messages: int
    #: Parent-side wall time from the first start signal to the last report.
    elapsed_ns: int
    #: Worker-side time from the earliest start to the latest finish (same monotonic clock).
    span_ns: int
    #: Per-message (latency) or per-operation (startup) times in nanoseconds.
    rtts: tuple[array, ...] = ()
    #: Pattern-specific figures for ``extra_info`` (e.g. ``lost_updates``).
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: CPU time (user + system) the workers spent on their shares of the round, summed over workers.
    cpu_ns: int = 0


@dataclasses.dataclass(frozen=True)
class Task:
    """One worker's share of a round."""

    first: int
    stop: int
    #: Consumers: how many messages to expect, or None to read until ``sentinels`` end-markers.
    count: int | None = None
    sentinels: int = 0


#: A worker's timed callable: runs one task, returns what the parent's verification needs.
Run = Callable[[Any], Any]

#: What the parent sends a worker for a step outside the clock, as ``(step, task)``; a bare
#: :class:`Task` starts the timed part, None stops the worker.
BEFORE = "before"
AFTER = "after"
#: What the parent sends a worker, between rounds, to time the fixed loop of :mod:`ipcbench.canary`
#: on its CPU; the worker answers ``(CANARY, nanoseconds)``.
CANARY = "canary"


@dataclasses.dataclass(frozen=True)
class Share:
    """A worker's bound share of every round.

    ``run`` is all the round's clock sees.  ``before(task)`` and ``after(task)`` run outside it, in the
    worker, in steps of their own that the parent waits for before it starts the clock and after it
    stops it: what they touch stays in the worker's cache, not the parent's.  ``after`` returns an
    error (the round fails) or None.
    """

    run: Run
    before: Callable[[Task], None] | None = None
    after: Callable[[Task], str | None] | None = None


def span(replies: Mapping[str, tuple[Any, ...]]) -> int:
    """Worker-side time from the earliest start to the latest finish."""
    return max(r[2] for r in replies.values()) - min(r[1] for r in replies.values())


class Seat(Protocol):
    """One worker as a pattern sees it: its role and its index among the workers of that role."""

    @property
    def role(self) -> str: ...

    @property
    def index(self) -> int: ...


class Round(Protocol):
    """The rig's public round API: everything a pattern reads from or asks of the rig."""

    #: What a one-sided pattern's workers share, made by :meth:`Pattern.layout` (None for messaging).
    state: Any

    @property
    def scenario(self) -> Scenario: ...

    @property
    def workers(self) -> Sequence[Seat]:
        """Every worker, in the order :meth:`Pattern.split` returns their tasks."""

    @property
    def batch(self) -> int:
        """Messages (operations, round trips) in the round being prepared, run or verified."""

    @property
    def round_number(self) -> int:
        """The number of the round being prepared, run or verified: 0 for the first, then 1, 2, ..."""

    @property
    def worker_checks(self) -> Mapping[str, str | None]:
        """Per worker name: what its untimed ``after`` step found wrong in the round, or None."""

    def keep_ends(self, *ends: Any) -> None:
        """Channel ends the parent made: closed in the parent once the workers hold them."""

    def raise_reported_error(self, wait: float = 0.5) -> None:
        """Raise :class:`WorkerFailed` if a worker reports an error within ``wait`` seconds."""


class Pattern:
    """The parent side of a pattern: lay out its workers, split a round, verify it.

    Instances keep no state (the rig does), so one serves every scenario.
    """

    #: Roles released last in a round, so that receivers already wait when the first message leaves.
    starters: tuple[str, ...] = ()
    #: Daemonic workers cannot start processes of their own.  Non-daemonic ones lead their own
    #: process group, which the rig kills after the workers so that no grandchild outlives it.
    daemon_workers = True

    def check(self, scenario: Scenario) -> None:
        """Refuse (ScenarioError) a scenario this pattern cannot run."""

    def first_batch(self, scenario: Scenario) -> int:
        """The batch calibration starts from."""
        return max(scenario.producers, 8)

    def worker_steps(self, scenario: Scenario) -> bool:
        """True if the workers' shares have ``before``/``after`` steps: the rig then runs them in
        every round, outside the clock."""
        return False

    def layout(self, rig: Round, res: Resources) -> list[tuple[str, tuple[Any, ...]]]:
        """(role, arguments) of every worker, making what they share in the parent."""
        raise NotImplementedError

    def split(self, rig: Round, n: int) -> list[Task]:
        """One task per worker (in ``rig.workers`` order) for a round of ``n``."""
        raise NotImplementedError

    def verify(self, rig: Round, replies: Mapping[str, tuple[Any, ...]], elapsed: int) -> RoundResult:
        """Check a finished round (VerificationError naming the scenario) and summarise it."""
        raise NotImplementedError


class WorkerSide:
    """The worker side of a pattern: turn a worker's ends into its :class:`Share` of every round."""

    def bind(self, role: str, scenario: Scenario, ends: tuple[Any, ...]) -> Share:
        """Set up outside the clock (ends bound, payloads built), and return the worker's share."""
        raise NotImplementedError
