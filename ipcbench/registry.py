"""The registry of what ipcbench measures: the records a channel or an operation is declared with.

The public face of these records is :mod:`ipcbench.api`, which re-exports them beside plugin
loading.  They live here, apart from it, so that the built-in families (:mod:`ipcbench.mechanisms`,
:mod:`ipcbench.ops`) declare themselves through the very records and :func:`register` a plugin uses
while the module that loads plugins (and registers the built-ins before them) builds on theirs: no
import runs in a circle.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import re
import shutil
import tempfile
import types
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal

from ipcbench import specs
from ipcbench.scenario import MIN_PAYLOAD, ONE_SIDED, PATTERNS, Scenario

#: The patterns a channel can run in; the others (:data:`~ipcbench.scenario.ONE_SIDED`) are operations'.
MESSAGING_PATTERNS = tuple(spec.name for spec in specs.BUILT_IN if spec.messaging)
#: ``objects``: the channel carries pickled Python objects; ``bytes``: byte strings.
CARRIES = ("objects", "bytes")
#: What a reader can take from a figure (``kind``): only ``importable`` ones are recommended.
KINDS = ("importable", "baseline", "hand-made")

Carries = Literal["objects", "bytes"]
Send = Callable[[Any], Any]
Recv = Callable[[], Any]

#: Names end up in scenario ids (``name-pattern-2p-1KiB-fork``) and in file names: no dashes.
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


class DeclarationError(ValueError):
    """A record that cannot be measured (unknown pattern, bad value, a name declared twice)."""


class Resources:
    """Parent-side things channels need beyond the context: a Manager, segments, socket directories.

    ``make_channel`` and an operation's ``make`` receive it.  ``ctx`` is the scenario's
    multiprocessing context (use it, not the ``multiprocessing`` module, so the start method is the
    scenario's); ``payload_bytes`` and ``pattern`` describe the scenario.  The harness closes
    everything deferred here (last first) after its workers are gone, on every path, so nothing
    outlives the scenario.
    """

    def __init__(self, ctx: Any, payload_bytes: int, pattern: str) -> None:
        self.ctx = ctx
        self.payload_bytes = payload_bytes
        self.pattern = pattern
        self._closers: list[Callable[[], Any]] = []
        self._manager: Any = None
        self._dir: str | None = None
        self._count = 0
        #: The address of a request/reply pair whose second (reply) channel is still to be made.
        self.reply_address: str | None = None

    def defer(self, close: Callable[[], Any]) -> None:
        """Call ``close()`` when the scenario ends, after its workers have exited."""
        self._closers.append(close)

    def manager(self) -> Any:
        """One Manager process per scenario, started on first use and shut down by :meth:`close`."""
        if self._manager is None:
            from multiprocessing.managers import SyncManager

            from ipcbench.lifeline import die_with_parent

            # ctx.Manager(), but its server dies with the process that started it, like the workers.
            self._manager = SyncManager(ctx=self.ctx)
            self._manager.start(die_with_parent)
            self.defer(self._manager.shutdown)
        return self._manager

    def helper_pids(self) -> list[int]:
        """The processes a channel started beside the workers (a Manager's server): a placement pins
        them with the workers, else the OS would put a part of the channel anywhere, run by run."""
        process = getattr(self._manager, "_process", None)
        return [process.pid] if process is not None and process.pid is not None else []

    def scratch_path(self) -> str:
        """A fresh path in a private directory that :meth:`close` removes (for ``ipc://`` sockets)."""
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="ipcbench-")
            self.defer(functools.partial(shutil.rmtree, self._dir, True))
        self._count += 1
        return os.path.join(self._dir, str(self._count))

    def close(self) -> None:
        while self._closers:
            with contextlib.suppress(Exception):
                self._closers.pop()()


def _check_common(what: str, record: Any) -> None:
    name = record.name
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise DeclarationError(
            f"{what} name {name!r}: use a letter, then letters, digits or underscores (it is part of ids)"
        )
    if name in PATTERNS:
        raise DeclarationError(f"{what} {name!r}: a name must not be a pattern's name")
    if not isinstance(record.description, str) or not record.description.strip():
        raise DeclarationError(f"{what} {name!r}: description must be a non-empty string")
    if record.kind not in KINDS:
        raise DeclarationError(
            f"{what} {name!r}: kind must be one of {', '.join(KINDS)}, not {record.kind!r}"
        )
    if record.requires is not None and not isinstance(record.requires, str):
        raise DeclarationError(f"{what} {name!r}: requires must be a module name or None")
    limit = record.max_payload
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < MIN_PAYLOAD):
        raise DeclarationError(f"{what} {name!r}: max_payload must be None or at least {MIN_PAYLOAD} bytes")


def _check_callables(what: str, record: Any, names: tuple[str, ...]) -> None:
    for field in names:
        value = getattr(record, field)
        if value is not None and not callable(value):
            raise DeclarationError(f"{what} {record.name!r}: {field} must be callable, not {value!r}")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Mechanism:
    """A one-way messaging channel, measured in ``throughput`` and ``latency``."""

    #: Unique across every mechanism and operation; the ``--mechanism`` name and part of scenario ids.
    name: str
    #: One line for ``ipcbench list`` and ``mechanisms``.
    description: str
    #: Parent side: make one channel, returning (sending end, receiving end).  A point-to-point
    #: channel is made once per producer/consumer pair, a shared one once per scenario; ``latency``
    #: makes two per ping-pong pair (ping, then pong).  Defer clean-up with ``resources.defer``.
    make_channel: Callable[[Resources], tuple[Any, Any]]
    #: Worker side, outside the clock: ``bind_send(end, payload_bytes)`` turns a sending end into
    #: ``send(message)``; every message of a scenario has ``payload_bytes`` bytes of payload.
    bind_send: Callable[[Any, int], Send]
    #: Worker side, outside the clock: ``bind_recv(end, payload_bytes)`` turns a receiving end into
    #: ``recv() -> message``.  A bytes message may be a view of the receiver's own buffer, valid until
    #: its next ``recv``.
    bind_recv: Callable[[Any, int], Recv]
    #: ``objects`` (pickled Python objects) or ``bytes`` (byte strings); see the module's docstring.
    carries: Carries
    #: True: a channel joins one producer to one consumer (pairs only).  False: one channel is shared
    #: by every producer and consumer (N:1 and 1:N shapes too), and must carry ``objects``.
    point_to_point: bool
    #: The messaging patterns it runs in.
    patterns: tuple[str, ...] = MESSAGING_PATTERNS
    #: The largest payload in bytes it is run with, or None for no limit.
    max_payload: int | None = None
    #: An optional third-party module; without it the mechanism is listed and skipped, saying so.
    requires: str | None = None
    #: One consumer only (shared channels): a batched get takes whatever is queued, end-of-round
    #: markers meant for another consumer included.
    single_consumer: bool = False
    #: The mechanism whose channel it uses with another call pattern (profiles run variants sparingly);
    #: it must be registered first.
    variant_of: str | None = None
    #: What a reader can take from its figure: ``importable`` (something a user imports and uses as
    #: is: the standard library, an installed package, your own layer), ``baseline`` (a raw OS or
    #: memory path, for reference) or ``hand-made`` (built here from primitives: a user would have to
    #: write it too).  The report recommends importable ones only; the others are references.
    kind: str = "importable"

    def __post_init__(self) -> None:
        what = "mechanism"
        _check_common(what, self)
        _check_callables(what, self, ("make_channel", "bind_send", "bind_recv"))
        if self.carries not in CARRIES:
            raise DeclarationError(
                f"{what} {self.name!r}: carries must be one of {', '.join(CARRIES)}, not {self.carries!r}"
            )
        if not isinstance(self.point_to_point, bool):
            raise DeclarationError(f"{what} {self.name!r}: point_to_point must be True or False")
        if not isinstance(self.single_consumer, bool):
            raise DeclarationError(f"{what} {self.name!r}: single_consumer must be True or False")
        if self.single_consumer and self.point_to_point:
            raise DeclarationError(f"{what} {self.name!r}: single_consumer is for shared channels")
        if not self.point_to_point and self.carries == "bytes":
            # Shared channels end a round with None markers, which only an object channel can carry.
            raise DeclarationError(f"{what} {self.name!r}: a shared channel must carry objects")
        if isinstance(self.patterns, str) or not self.patterns:
            raise DeclarationError(f"{what} {self.name!r}: patterns must be a non-empty tuple of names")
        object.__setattr__(self, "patterns", tuple(self.patterns))
        for pattern in self.patterns:
            if pattern not in MESSAGING_PATTERNS:
                raise DeclarationError(
                    f"{what} {self.name!r}: unknown pattern {pattern!r}; a channel runs in "
                    f"{', '.join(MESSAGING_PATTERNS)} (the one-sided patterns take an Operation)"
                )


@dataclasses.dataclass(frozen=True, kw_only=True)
class Operation:
    """What every worker of a one-sided pattern repeats; a round of ``n`` is split over the workers."""

    #: Unique across every mechanism and operation.
    name: str
    #: One of the one-sided patterns: shared_state, locks, bulk, startup.
    pattern: str
    description: str
    #: Parent side, once per scenario: make what every worker shares (it must pickle, as channel ends).
    make: Callable[[Resources, Scenario], Any]
    #: Worker side: ``loop(state, worker index, count)`` runs ``count`` operations and returns how
    #: many it did (per-operation ones run one at a time and return whether it worked).
    loop: Callable[[Any, int, int], Any]
    #: Parent side, between rounds: ``reset(shared)`` makes the round's check start from zero.  For
    #: what every worker shares (a counter): what one worker alone writes is ``worker_reset``'s.
    reset: Callable[[Any], None] | None = None
    #: Parent side, after a round: ``check(shared, n)`` -> (error or None, extra figures).
    check: Callable[[Any, int], tuple[str | None, dict[str, Any]]] | None = None
    #: Worker side, outside the clock: ``prepare(shared, index, scenario)`` -> the loop's state.
    prepare: Callable[[Any, int, Scenario], Any] | None = None
    #: Worker side, outside the clock, before each round: ``worker_reset(state, index)`` clears what
    #: this worker alone writes (``state`` is what ``prepare`` returned).  A large buffer is reset and
    #: checked here rather than in the parent: a parent that touches it between rounds pulls its
    #: cache lines to its own CPU, and the worker's next timed round pays to fetch them back.
    worker_reset: Callable[[Any, int], None] | None = None
    #: Worker side, outside the clock, after each round: ``worker_check(state, index, count)`` -> an
    #: error, or None if what this worker alone wrote is what its ``count`` operations should leave.
    worker_check: Callable[[Any, int, int], str | None] | None = None
    #: An optional third-party module, as for mechanisms.
    requires: str | None = None
    #: The payload axis means something (bytes per operation), as for bulk copies.
    sized: bool = False
    #: Operations are timed one by one (start-up costs), not only as a batch.
    per_op: bool = False
    #: The largest payload it is run with, if it has a limit.
    max_payload: int | None = None
    #: As for mechanisms: ``importable``, ``baseline`` or ``hand-made``.
    kind: str = "importable"

    def __post_init__(self) -> None:
        what = "operation"
        _check_common(what, self)
        _check_callables(
            what, self, ("make", "loop", "reset", "check", "prepare", "worker_reset", "worker_check")
        )
        if self.make is None or self.loop is None:
            raise DeclarationError(f"{what} {self.name!r}: make and loop are required")
        if self.pattern not in ONE_SIDED:
            raise DeclarationError(
                f"{what} {self.name!r}: unknown pattern {self.pattern!r}; an operation runs in one of "
                f"{', '.join(ONE_SIDED)} (messaging takes a Mechanism)"
            )
        for flag in ("sized", "per_op"):
            if not isinstance(getattr(self, flag), bool):
                raise DeclarationError(f"{what} {self.name!r}: {flag} must be True or False")


# --- the registry -----------------------------------------------------------------------------------

_MECHANISMS: dict[str, Mechanism] = {}
_OPERATIONS: dict[str, Operation] = {}
#: The plugin spec that declared a name (absent for the built-ins), so a worker can load it too.
_ORIGINS: dict[str, str] = {}
_loading: list[str] = []
_generation = 0

#: Every registered mechanism by name: a read-only view of the live registry.
MECHANISMS: Mapping[str, Mechanism] = types.MappingProxyType(_MECHANISMS)
#: Every registered operation by name: a read-only view of the live registry.
OPERATIONS: Mapping[str, Operation] = types.MappingProxyType(_OPERATIONS)


@contextlib.contextmanager
def declaring(spec: str) -> Iterator[None]:
    """Record ``spec`` (a plugin) as the origin of whatever is registered inside the block."""
    _loading.append(spec)
    try:
        yield
    finally:
        _loading.pop()


def register(*records: Mechanism | Operation) -> None:
    """Add mechanisms and operations to the registry; all of them, or (on any error) none.

    The built-ins are registered when :mod:`ipcbench.mechanisms` and :mod:`ipcbench.ops` are
    imported, which :func:`ipcbench.api.load_plugin` does before it loads a plugin.
    """
    seen: set[str] = set()
    for record in records:
        if not isinstance(record, Mechanism | Operation):
            raise DeclarationError(f"register() takes Mechanism and Operation records, not {record!r}")
        name = record.name
        if name in _MECHANISMS or name in _OPERATIONS or name in seen:
            by = _ORIGINS.get(name)
            first = f" (first by plugin {by})" if by else " (built in)" if name not in seen else ""
            raise DeclarationError(f"{name!r} is declared twice{first}; names must be unique")
        variant_of = getattr(record, "variant_of", None)
        if variant_of is not None and variant_of not in _MECHANISMS and variant_of not in seen:
            raise DeclarationError(
                f"mechanism {name!r}: variant_of {variant_of!r} is not a registered mechanism"
            )
        seen.add(name)
    global _generation
    for record in records:
        table: dict[str, Any] = _MECHANISMS if isinstance(record, Mechanism) else _OPERATIONS
        table[record.name] = record
        if _loading:
            _ORIGINS[record.name] = _loading[-1]
    _generation += 1


def generation() -> int:
    """Changes whenever the registry does: a key for caches built from it."""
    return _generation


def origin(name: str) -> str | None:
    """The plugin spec that declared ``name``, for a worker to load; None for the built-ins."""
    return _ORIGINS.get(name)
