"""The options that choose and pace a run, declared once for both front doors.

``ipcbench run`` / ``list`` take them as ``--mechanism``, ``--payload``...; the pytest plugin behind
``benchmarks/`` takes the same ones as ``--ipc-mechanism``, ``--ipc-payload``...  Both parsers are
generated from the :class:`Option` records here (as pytest-benchmark's plugin and its own CLI share
``add_*_options`` with a prefix), so a value the CLI refuses is refused by pytest too, with the same
one line: an argparse error (exit 2) from the CLI, a usage error from pytest.  To add an option,
add a record; both parsers, and the ``--ipc-*`` command line ``ipcbench run`` hands to pytest, follow.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from ipcbench.scenario import PATTERNS, PLACEMENTS, ScenarioError, parse_size

#: The pytest plugin's options carry this prefix: ``--ipc-mechanism`` for ``--mechanism``.
PYTEST_PREFIX = "ipc-"


def _whole(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"must be at least {least}, not {value}")
    return value


def positive_int(text: str) -> int:
    return _whole(text, 1)


def count(text: str) -> int:
    return _whole(text, 0)


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, not {text}")
    return value


def size(text: str) -> int:
    try:
        return parse_size(text)
    except ScenarioError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _profiles() -> Sequence[str]:
    from ipcbench.selection import PROFILES

    return PROFILES


def _mechanisms() -> Sequence[str]:
    from ipcbench import catalog

    return list(catalog.entries())


@dataclasses.dataclass(frozen=True, kw_only=True)
class Option:
    """One option of both front doors: ``--NAME`` on the CLI, ``--ipc-NAME`` in pytest."""

    name: str
    help: str
    metavar: str | None = None
    #: Repeatable: each use adds a value (the default is then an empty list).
    repeat: bool = False
    default: Any = None
    #: Turns the text into the value; raises ``argparse.ArgumentTypeError`` with one line.
    type: Callable[[str], Any] | None = None
    #: The allowed values, read when a parser is built (a plugin's mechanisms count once loaded).
    choices: Callable[[], Sequence[str]] | None = None
    #: The choices grow with plugins: pytest builds its parser before it loads them, so there the
    #: selection checks the value once they are loaded (the same one line, as a usage error).
    plugins_add_choices: bool = False
    #: In the listing, show every choice (short lists) rather than the metavar alone.
    list_choices: bool = True

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")

    def kwargs(self, *, pytest: bool = False) -> dict[str, Any]:
        """The keyword arguments of ``add_argument`` (argparse) and ``addoption`` (pytest)."""
        out: dict[str, Any] = {"help": self.help}
        if self.repeat:
            out.update(action="append", default=[])
        else:
            out["default"] = self.default
        if self.type is not None:
            out["type"] = self.type
        if self.metavar is not None:
            out["metavar"] = self.metavar
        if self.choices is not None and not (pytest and self.plugins_add_choices):
            names = list(self.choices())
            out["choices"] = names
            if self.list_choices and self.metavar is not None:
                out["help"] = f"{self.help}: {', '.join(names)}"
        return out


#: Which scenarios a run covers (see :mod:`ipcbench.selection`).
SELECTION: tuple[Option, ...] = (
    Option(name="profile", default="quick", choices=_profiles, help="base sweep (default quick)"),
    Option(
        name="mechanism",
        repeat=True,
        metavar="M",
        choices=_mechanisms,
        plugins_add_choices=True,
        help="mechanism, repeatable",
    ),
    Option(name="pattern", repeat=True, metavar="P", choices=lambda: PATTERNS, help="pattern, repeatable"),
    Option(
        name="processes",
        repeat=True,
        metavar="N",
        type=positive_int,
        help="total worker processes, repeatable (default: 2 and 2x the logical CPUs)",
    ),
    Option(
        name="payload",
        repeat=True,
        metavar="SIZE",
        type=size,
        help="payload size, repeatable: 8, 1KiB, 64KiB, 1MiB",
    ),
    Option(
        name="start-method",
        repeat=True,
        metavar="S",
        help="fork, spawn or forkserver, repeatable (default: the platform's default)",
    ),
    Option(
        name="placement",
        repeat=True,
        metavar="PL",
        choices=lambda: PLACEMENTS,
        list_choices=False,
        help="pin workers: spread (one CPU each in turn), packed (all on one CPU), none (default)",
    ),
)

#: How a run measures each scenario (the profile's settings unless given).
PACING: tuple[Option, ...] = (
    Option(name="rounds", type=positive_int, help="timed rounds per trial"),
    Option(
        name="trials",
        type=positive_int,
        help="independent trials per scenario, each with fresh workers, spread over the run "
        "(with a precision: at most this many)",
    ),
    Option(
        name="precision",
        type=positive_float,
        metavar="F",
        help="stop a scenario's trials once its figure is known to within this fraction (95%% "
        "confidence; 0.1: ±10%%), after at least three (default: the full profile 0.1, quick none)",
    ),
    Option(
        name="spares",
        type=count,
        metavar="N",
        help="spare trials a scenario runs, a pass after its others, while fewer than two of its trials "
        "are undisturbed by the host (a fixed loop on the workers' CPU ran 15%% slow) (default 0)",
    ),
    Option(name="round-time", type=positive_float, metavar="S", help="target seconds per round"),
    Option(
        name="deadline",
        type=positive_float,
        default=5.0,
        metavar="S",
        help="seconds a round may overrun before its workers count as stalled (default 5)",
    ),
)


def add_arguments(parser: argparse.ArgumentParser, options: Iterable[Option]) -> None:
    """The CLI's side: ``--NAME``."""
    for option in options:
        parser.add_argument(f"--{option.name}", dest=option.dest, **option.kwargs())


class _PytestGroup(Protocol):
    def addoption(self, *opts: str, **attrs: Any) -> None: ...


def add_pytest_options(group: _PytestGroup, options: Iterable[Option]) -> None:
    """The pytest plugin's side: ``--ipc-NAME``, read back with ``config.getoption("ipc_NAME")``."""
    for option in options:
        group.addoption(f"--{PYTEST_PREFIX}{option.name}", **option.kwargs(pytest=True))


def pytest_arguments(values: Callable[[str], Any], options: Iterable[Option]) -> list[str]:
    """The ``--ipc-NAME=VALUE`` arguments that hand the values the CLI parsed to pytest; an option
    left at its default is left out (pytest then has the same default)."""
    out: list[str] = []
    for option in options:
        value = values(option.dest)
        if option.repeat:
            out += [f"--{PYTEST_PREFIX}{option.name}={v}" for v in value]
        elif value is not None and value != option.default:
            out.append(f"--{PYTEST_PREFIX}{option.name}={value}")
    return out


def scenarios(values: Callable[[str], Any], cpus: int) -> list[Any]:
    """The scenarios the selection options choose; ``values(dest)`` reads one option's value (from
    an argparse namespace or a pytest config).  Raises :class:`ScenarioError` (one line)."""
    from ipcbench import selection

    sel = selection.select(
        values("profile"),
        cpus,
        values("mechanism"),
        values("pattern"),
        values("processes"),
        values("payload"),
        values("start_method"),
        values("placement"),
    )
    return sel.expand()
