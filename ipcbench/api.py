"""The public extension API: declare a channel or an operation, and ipcbench measures it.

ipcbench measures two kinds of things, each described by a frozen record built with keyword
arguments and added to one registry with :func:`register`.  The built-in mechanisms
(:mod:`ipcbench.mechanisms`) and operations (:mod:`ipcbench.ops`) are declared exactly this way.

* A :class:`Mechanism` is a one-way channel that carries messages (``throughput``: producers stream
  to consumers; ``latency``: ping-pong pairs).  The parent makes each channel with
  ``make_channel(resources) -> (send_end, recv_end)``; the ends reach the workers as
  ``multiprocessing.Process`` arguments (so under ``spawn`` and ``forkserver`` they must pickle the
  way multiprocessing pickles its own objects), and each worker turns its end into a plain callable
  with ``bind_send(end, payload_bytes) -> send(message)`` or
  ``bind_recv(end, payload_bytes) -> recv() -> message``.
* An :class:`Operation` is what every worker of a one-sided pattern (``shared_state``, ``locks``,
  ``bulk``, ``startup``) repeats on something the parent made.

A plugin is a Python file or an importable module that calls :func:`register`; ``ipcbench run``,
``list`` and ``mechanisms`` load it with ``--plugin FILE_OR_MODULE``, and installed packages offer
theirs through the ``ipcbench.plugins`` entry-point group.  A plugin's channels get what the built-in
ones get: warm workers, every round verified (a channel that loses or mangles a message fails),
deadlines, clean-up, every start method, and a place in the report beside the standard ones::

    from multiprocessing.connection import Connection

    from ipcbench.api import Mechanism, Resources, register


    def make_pipe(resources: Resources) -> tuple[Connection, Connection]:
        reader, writer = resources.ctx.Pipe(duplex=False)
        return writer, reader


    register(
        Mechanism(
            name="my_pipe",
            description="multiprocessing.Pipe, send_bytes()/recv_bytes()",
            make_channel=make_pipe,
            bind_send=lambda end, payload_bytes: end.send_bytes,
            bind_recv=lambda end, payload_bytes: end.recv_bytes,
            carries="bytes",
            point_to_point=True,
        )
    )

What a message is: a ``bytes`` channel is handed a ``bytearray`` whose first 8 bytes hold a sequence
number, and must deliver the same bytes (as any bytes-like object); the sender reuses that buffer for
the next message, so ``send`` must have copied or sent it when it returns.  An ``objects`` channel is
handed ``(seq, payload)`` tuples (and ``None``, an end marker, on shared channels) and must deliver
equal objects.  The harness counts and checksums what arrives in every round: a plugin verifies
nothing itself.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib
import importlib.util
import os
import re
import shutil
import sys
import tempfile
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from ipcbench import specs
from ipcbench.scenario import MIN_PAYLOAD, ONE_SIDED, PATTERNS, Scenario

__all__ = [
    "CARRIES",
    "ENTRY_POINT_GROUP",
    "KINDS",
    "MECHANISMS",
    "MESSAGING_PATTERNS",
    "OPERATIONS",
    "DeclarationError",
    "Mechanism",
    "Operation",
    "PluginError",
    "Recv",
    "Resources",
    "Send",
    "load_entry_points",
    "load_plugin",
    "origin",
    "register",
]

#: The patterns a channel can run in; the others (:data:`~ipcbench.scenario.ONE_SIDED`) are operations'.
MESSAGING_PATTERNS = tuple(spec.name for spec in specs.BUILT_IN if spec.messaging)
#: ``objects``: the channel carries pickled Python objects; ``bytes``: byte strings.
CARRIES = ("objects", "bytes")
#: What a reader can take from a figure (``kind``): only ``importable`` ones are recommended.
KINDS = ("importable", "baseline", "hand-made")
#: The entry-point group an installed package names its plugin in (a module, or ``module:function``).
ENTRY_POINT_GROUP = "ipcbench.plugins"

Carries = Literal["objects", "bytes"]
Send = Callable[[Any], Any]
Recv = Callable[[], Any]

#: Names end up in scenario ids (``name-pattern-2p-1KiB-fork``) and in file names: no dashes.
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


class DeclarationError(ValueError):
    """A record that cannot be measured (unknown pattern, bad value, a name declared twice)."""


class PluginError(Exception):
    """A plugin that could not be loaded; the message is one line naming the plugin and the cause."""


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

            from ipcbench.harness import die_with_parent  # harness builds on this module

            # ctx.Manager(), but its server dies with the process that started it, like the workers.
            self._manager = SyncManager(ctx=self.ctx)
            self._manager.start(die_with_parent)
            self.defer(self._manager.shutdown)
        return self._manager

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
    #: Parent side, between rounds: ``reset(shared)`` makes the round's check start from zero.
    reset: Callable[[Any], None] | None = None
    #: Parent side, after a round: ``check(shared, n)`` -> (error or None, extra figures).
    check: Callable[[Any, int], tuple[str | None, dict[str, Any]]] | None = None
    #: Worker side, outside the clock: ``prepare(shared, index, scenario)`` -> the loop's state.
    prepare: Callable[[Any, int, Scenario], Any] | None = None
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
        _check_callables(what, self, ("make", "loop", "reset", "check", "prepare"))
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
#: Canonical specs of the plugins loaded in this process.
_LOADED: set[str] = set()
_loading: list[str] = []
_builtins_loaded = False
_generation = 0

#: Every registered mechanism by name: a read-only view of the live registry.
MECHANISMS: Mapping[str, Mechanism] = types.MappingProxyType(_MECHANISMS)
#: Every registered operation by name: a read-only view of the live registry.
OPERATIONS: Mapping[str, Operation] = types.MappingProxyType(_OPERATIONS)


def _ensure_builtins() -> None:
    """Register the built-ins before any plugin, so it is the plugin's duplicate that is refused."""
    global _builtins_loaded
    if _builtins_loaded:
        return
    _builtins_loaded = True
    import ipcbench.mechanisms
    import ipcbench.ops  # noqa: F401


def register(*records: Mechanism | Operation) -> None:
    """Add mechanisms and operations to the registry; all of them, or (on any error) none.

    The built-ins are registered when :mod:`ipcbench.mechanisms` and :mod:`ipcbench.ops` are
    imported, which :func:`load_plugin` does before it loads a plugin.
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


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or "(no message)"
    return text if isinstance(exc, DeclarationError) else f"{type(exc).__name__}: {text}"


def load_plugin(spec: str) -> str:
    """Load a plugin and return its canonical spec; loading it again does nothing.

    ``spec`` is a Python file (``path/to/plugin.py``: any spec ending in ``.py`` or holding a ``/``),
    a module (``pkg.module``) or a function to call after importing its module (``pkg.module:func``).
    A file is imported as a module named after it, from its directory, which is added to the end of
    ``sys.path``: workers started by ``spawn`` or ``forkserver`` receive the parent's ``sys.path``, so
    they can unpickle what the plugin defines.  Raises :class:`PluginError` (one line) on any failure.
    """
    _ensure_builtins()
    is_file = spec.endswith(".py") or "/" in spec or os.sep in spec
    canonical = str(Path(spec).resolve()) if is_file else spec
    if canonical in _LOADED:
        return canonical
    _loading.append(canonical)
    before = _generation
    try:
        fresh = _import_file(spec, Path(canonical)) if is_file else _import_module(spec)
    except PluginError:
        raise
    except Exception as exc:
        verb = "declares something invalid" if isinstance(exc, DeclarationError) else "could not be imported"
        raise PluginError(f"plugin {spec} {verb}: {_one_line(exc)}") from None
    finally:
        _loading.pop()
    if fresh and _generation == before:
        raise PluginError(f"plugin {spec} declares nothing: it must call ipcbench.api.register(...)")
    _LOADED.add(canonical)
    return canonical


def _import_file(spec: str, path: Path) -> bool:
    """Import a plugin file under its own name; False if this process had already imported it."""
    if not path.is_file():
        raise PluginError(f"plugin {spec}: no such file")
    name = path.stem
    if not name.isidentifier():
        raise PluginError(f"plugin {spec}: {name!r} is not a module name; rename the file")
    module = sys.modules.get(name)
    if module is not None:
        if Path(getattr(module, "__file__", "") or "").resolve() == path:
            return False
        raise PluginError(f"plugin {spec}: the module name {name!r} is already taken; rename the file")
    found = importlib.util.find_spec(name)
    if found is not None and found.origin is not None and Path(found.origin).resolve() != path:
        raise PluginError(f"plugin {spec}: the module name {name!r} is taken by {found.origin}; rename it")
    if str(path.parent) not in sys.path:
        sys.path.append(str(path.parent))
    importlib.import_module(name)
    return True


def _import_module(spec: str) -> bool:
    module_name, _, func = spec.partition(":")
    fresh = module_name not in sys.modules
    module = importlib.import_module(module_name)
    if func:
        target = getattr(module, func, None)
        if not callable(target):
            raise PluginError(f"plugin {spec}: {module_name} has no function {func!r}")
        target()
        return True
    return fresh


def load_entry_points() -> tuple[str, ...]:
    """Load every plugin installed packages name in the ``ipcbench.plugins`` entry-point group."""
    import importlib.metadata  # tens of milliseconds: only where plugins are loaded

    specs = []
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            specs.append(load_plugin(f"{ep.module}:{ep.attr}" if ep.attr else ep.module))
        except PluginError as exc:
            raise PluginError(f"entry point {ep.name!r} ({ENTRY_POINT_GROUP}): {exc}") from None
    return tuple(specs)
