"""Exit codes and the one printer of errors, shared by every command.

Bad input (a usage error, an unreadable file, a refused write) is one line on standard error and exit
code 2, never a traceback; a failed or regressed run is 1; an interrupt is 130 (or 128 + the signal).
"""

from __future__ import annotations

import sys

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
#: ``ipcbench compare`` (and ``history``) found a regression: a failure, as a failed run is.
EXIT_REGRESSION = EXIT_FAILED


class UsageError(Exception):
    """Bad input: one line, exit 2."""


def usage(command: str | None, error: BaseException | str) -> int:
    """Print ``ipcbench COMMAND: error: MESSAGE`` on standard error and return :data:`EXIT_USAGE`."""
    prefix = f"ipcbench {command}" if command else "ipcbench"
    print(f"{prefix}: error: {error}", file=sys.stderr)
    return EXIT_USAGE
