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

import importlib
import importlib.util
import os
import sys
from pathlib import Path

from ipcbench import registry
from ipcbench.registry import (
    CARRIES,
    KINDS,
    MECHANISMS,
    MESSAGING_PATTERNS,
    OPERATIONS,
    DeclarationError,
    Mechanism,
    Operation,
    Recv,
    Resources,
    Send,
    generation,
    origin,
    register,
)

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
    "generation",
    "load_entry_points",
    "load_plugin",
    "origin",
    "register",
]


#: The entry-point group an installed package names its plugin in (a module, or ``module:function``).
ENTRY_POINT_GROUP = "ipcbench.plugins"


class PluginError(Exception):
    """A plugin that could not be loaded; the message is one line naming the plugin and the cause."""


#: Canonical specs of the plugins loaded in this process.
_LOADED: set[str] = set()
_builtins_loaded = False


def _ensure_builtins() -> None:
    """Register the built-ins before any plugin, so it is the plugin's duplicate that is refused."""
    global _builtins_loaded
    if _builtins_loaded:
        return
    _builtins_loaded = True
    import ipcbench.mechanisms
    import ipcbench.ops  # noqa: F401


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
    before = generation()
    try:
        with registry.declaring(canonical):
            fresh = _import_file(spec, Path(canonical)) if is_file else _import_module(spec)
    except PluginError:
        raise
    except Exception as exc:
        verb = "declares something invalid" if isinstance(exc, DeclarationError) else "could not be imported"
        raise PluginError(f"plugin {spec} {verb}: {_one_line(exc)}") from None
    if fresh and generation() == before:
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
