"""A test plugin that does not import: it needs a module nobody has."""

import ipcbench_no_such_module  # noqa: F401
