"""The one-sided operations: what every worker repeats on something the parent made.

``shared_state`` (Value and Array updates), ``locks`` (acquire/release, notify/wait), ``bulk`` (copy
bandwidth) and ``startup`` (creating processes, pools, managers, channels), one module per pattern
(:mod:`~ipcbench.ops.shared_state`, :mod:`~ipcbench.ops.locks`, :mod:`~ipcbench.ops.bulk`,
:mod:`~ipcbench.ops.startup`).  Each is an :class:`ipcbench.api.Operation`, declared through the
registry exactly as a plugin declares one; the pattern that runs them all is
:mod:`ipcbench.patterns.one_sided`.  They are a package of their own rather than part of
:mod:`ipcbench.mechanisms` because they are not channels: nothing is sent, a worker acts on shared
state that is checked after the round.
"""

from __future__ import annotations

from ipcbench import registry
from ipcbench.ops import bulk, locks, shared_state, startup
from ipcbench.registry import register

# The registry's order is the order of every listing, table and quick run: pattern by pattern.
register(*shared_state.SHARED_STATE, *locks.LOCKS, *bulk.BULK, *startup.STARTUP)

#: Every one-sided operation, built in or from a plugin, by name: the registry's read-only view.
OPS = registry.OPERATIONS
