"""The channel mechanisms under test, one module per family, and their hot loops.

Each mechanism makes its channels in the parent (so every start method can hand them to the workers
through ``Process`` arguments) and, inside a worker, turns its end of a channel into a plain ``send``
or ``recv`` callable, called the way its users call it.  The families, after the standard library's
own layout (a module per primitive):

* :mod:`~ipcbench.mechanisms.pipes` -- ``Pipe``, and the raw baselines beside it (an OS pipe, a socket
  pair);
* :mod:`~ipcbench.mechanisms.queues` -- ``Queue``, ``SimpleQueue`` and the call patterns of a queue;
* :mod:`~ipcbench.mechanisms.managers` -- Manager proxies;
* :mod:`~ipcbench.mechanisms.shared_memory` -- hand-made channels on ``SharedMemory``;
* :mod:`~ipcbench.mechanisms.peers` -- optional third-party peers (faster-fifo, pyzmq).

:mod:`~ipcbench.mechanisms.loops` holds the hot loops every family shares: the only code that runs
while the clock is running.  Every family declares its records through
:func:`ipcbench.registry.register`, the very function a plugin calls as ``ipcbench.api.register``.
"""

from __future__ import annotations

import importlib.util

from ipcbench import registry
from ipcbench.mechanisms import managers, peers, pipes, queues, shared_memory
from ipcbench.mechanisms.loops import consume as consume
from ipcbench.mechanisms.loops import ping as ping
from ipcbench.mechanisms.loops import pong as pong
from ipcbench.mechanisms.loops import produce as produce
from ipcbench.registry import Resources as Resources
from ipcbench.registry import register

# Declared with the saved run's layout, which the analysis side reads too; kept importable here.
from ipcbench.schema import NOT_INSTALLED as NOT_INSTALLED
from ipcbench.schema import not_installed_line as not_installed_line

#: The modules the ``peers`` extra installs (a plugin's own requirement is the plugin's to explain).
PEER_MODULES = ("faster_fifo", "zmq", "numpy")


def missing(requires: str | None) -> str | None:
    """Why a mechanism cannot run here (its optional module is not importable), or None."""
    if requires is None or importlib.util.find_spec(requires) is not None:
        return None
    hint = ": pip install 'ipcbench[peers]'" if requires in PEER_MODULES else ""
    return f"needs the optional module {requires!r}{hint}"


# The registry's order is the order of every listing, table and quick run (and of the analysis side's
# roster of built-ins): the standard library's pipes and queues first, then the raw baselines to read
# them against, Manager proxies, the hand-made shared-memory channels, and the third-party peers last.
register(
    *pipes.PIPES,
    *queues.QUEUES,
    *pipes.RAW_BASELINES,
    *managers.MANAGERS,
    *shared_memory.SHARED_MEMORY,
    *peers.PEERS,
)

#: Every channel mechanism, built in or from a plugin, by name: the registry's read-only view.
MECHANISMS = registry.MECHANISMS
