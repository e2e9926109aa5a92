"""Progress of a long command on standard error, so standard output stays the command's result.

Deterministic on purpose (counted, never timed).  Two kinds:

* :func:`note` and :func:`step`, for work done once the input is known to be good (drawing charts):
  lines, on a terminal every step, elsewhere (a CI log, a file) the first, each tenth of the way and
  the last, so a log shows a long command advancing without a line per chart;
* :func:`counting`, for loading the input: one line redrawn in place on a terminal and erased when the
  loading ends, nothing elsewhere, so an unreadable file is still reported as the one line on stderr.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator


def _line(command: str, text: str) -> str:
    return f"ipcbench {command}: {text}…"


def note(command: str, text: str) -> None:
    """One line: ``ipcbench report: drawing Latency…``."""
    print(_line(command, text), file=sys.stderr, flush=True)


def step(command: str, noun: str, n: int, total: int, what: str = "") -> None:
    """Step ``n`` of ``total`` (from 1): ``ipcbench history: chart 3 of 34 (queue)…``."""
    if not (sys.stderr.isatty() or n in (1, total) or n * 10 // total != (n - 1) * 10 // total):
        return
    detail = f" ({what})" if what else ""
    note(command, f"{noun} {n} of {total}{detail}")


@contextlib.contextmanager
def counting(command: str, noun: str, total: int) -> Iterator[Callable[[int, str], None]]:
    """A function to call with ``(n, what)`` per item; on a terminal, the count redrawn in one line."""
    err = sys.stderr
    live = err.isatty()

    def tick(n: int, what: str = "") -> None:
        if live:
            detail = f" ({what})" if what else ""
            err.write(f"\r{_line(command, f'{noun} {n} of {total}{detail}')}\033[K")
            err.flush()

    try:
        yield tick
    finally:
        if live:
            err.write("\r\033[K")  # erased: what follows (the result, an error) starts a clean line
            err.flush()
