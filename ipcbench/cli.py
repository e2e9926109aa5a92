"""ipcbench: how fast Python processes talk through multiprocessing primitives.

A thin command line, one function per subcommand (pyperf's ``__main__``): each parses its options,
calls the library and prints.  :func:`main` is the one place where errors become exit codes (see
:mod:`ipcbench.errors`): usage errors, unreadable files and refused writes print one line on stderr
and return 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ipcbench import (
    api,
    catalog,
    compare,
    errors,
    export,
    history,
    launch,
    machine,
    noise,
    options,
    report,
    selfcheck,
    storage,
)
from ipcbench.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UsageError
from ipcbench.scenario import PATTERNS, ScenarioError

__all__ = ["EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (``ipcbench run: error: ...``), not usage plus error."""

    def error(self, message: str) -> Any:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def add_selection(p: argparse.ArgumentParser) -> None:
    """The selection options (``--mechanism``, ``--payload``...), as the pytest plugin has them too."""
    # Read when the parser is built, after any plugin has registered its mechanisms.
    options.add_arguments(p, options.SELECTION)


def selected(args: argparse.Namespace) -> list[Any]:
    """The scenarios the parsed selection options choose (raises UsageError or ScenarioError)."""
    return launch.select(lambda dest: getattr(args, dest), getattr(args, "cpus", None))


def _add_plugin(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="FILE_OR_MODULE",
        help="load mechanisms from a Python file or module that calls ipcbench.api.register(), "
        "repeatable (installed packages' ipcbench.plugins entry points load by themselves)",
    )


#: The commands that load plugins: the ones that select or describe mechanisms.
PLUGIN_COMMANDS = ("run", "list", "mechanisms")


def load_plugins(argv: Sequence[str]) -> None:
    """Load the entry-point plugins and every ``--plugin`` before the parser is built, so that
    ``--mechanism`` knows their names."""
    command = next((a for a in argv if not a.startswith("-")), None)
    if command not in PLUGIN_COMMANDS:
        return
    pre = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    pre.add_argument("--plugin", action="append", default=[])
    known, _ = pre.parse_known_args(argv)
    api.load_entry_points()
    for spec in known.plugin:
        api.load_plugin(spec)


# --- commands ---------------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    request = launch.Request(
        options={o.dest: getattr(args, o.dest) for o in options.SELECTION + options.PACING},
        output=Path(args.output) if args.output else None,
        report=args.report,
        calibration=args.calibration,
        max_time=args.max_time,
        plugins=args.plugins,
        argv=tuple(sys.argv[1:]),
    )
    with launch.signals_stop_the_run():
        return launch.run(request)


def cmd_list(args: argparse.Namespace) -> int:
    scenarios = selected(args)
    cpus = machine.usable_cpus()
    if not args.ids:
        # Descriptions for the reader on stderr (like the count), so stdout stays one id per line.
        print(catalog.text(sorted({s.pattern for s in scenarios}, key=PATTERNS.index)), file=sys.stderr)
    for s in scenarios:
        print(s.id + ("  (oversubscribed)" if s.oversubscribed(cpus) and not args.ids else ""))
    where = f" on a machine of {args.cpus} CPUs" if args.cpus else ""
    about = launch.estimate_text(lambda dest: getattr(args, dest, None), scenarios, args.cpus)
    print(f"{len(scenarios)} scenarios; {about}{where}", file=sys.stderr)
    return EXIT_OK


def cmd_mechanisms(args: argparse.Namespace) -> int:
    print(catalog.text())
    return EXIT_OK


def cmd_info(args: argparse.Namespace) -> int:
    facts = machine.facts()
    if args.json:
        print(json.dumps(facts, indent=2))
        return EXIT_OK
    width = max(len(k) for k in facts)
    for key, value in facts.items():
        print(f"{key:<{width}}  {value}")
    return EXIT_OK


# --- dispatch ---------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ipcbench", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"ipcbench {machine.version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="run benchmarks and save a results JSON")
    add_selection(run)
    _add_plugin(run)
    run.add_argument("--output", "-o", metavar="PATH", help="results file (default: a new name in results/)")
    options.add_arguments(run, options.PACING)
    run.add_argument("--report", metavar="DIR", help="build the report of this run into DIR when it ends")
    run.add_argument(
        "--calibration",
        action="store_true",
        help="also run the calibration benchmarks of the selected 1:1 1 KiB pipe_bytes/queue scenarios",
    )
    run.add_argument(
        "--max-time",
        type=options.positive_float,
        metavar="S",
        help="cap the run's total: scenarios that would end later are not run (listed; run incomplete)",
    )
    run.set_defaults(func=cmd_run)
    lst = sub.add_parser("list", help="describe the patterns and mechanisms of a selection and its scenarios")
    add_selection(lst)
    _add_plugin(lst)
    lst.add_argument("--ids", action="store_true", help="only the scenario ids: no descriptions, no marks")
    lst.add_argument(
        "--cpus",
        type=options.positive_int,
        metavar="N",
        help="plan for a machine of N CPUs: its process counts and time",
    )
    lst.set_defaults(func=cmd_list)
    mechs = sub.add_parser("mechanisms", help="every pattern and mechanism, one line each")
    _add_plugin(mechs)
    mechs.set_defaults(func=cmd_mechanisms)
    info = sub.add_parser("info", help="print the machine facts saved with every run")
    info.add_argument("--json", action="store_true")
    info.set_defaults(func=cmd_info)
    compare.add_arguments(
        sub.add_parser("compare", help="compare two runs scenario by scenario; exit 1 on a regression")
    ).set_defaults(func=compare.cmd_compare)
    export.add_arguments(
        sub.add_parser("export", help="write a run for github-action-benchmark or Bencher")
    ).set_defaults(func=export.cmd_export)
    history.add_arguments(
        sub.add_parser("history", help="trend charts and steps over many saved runs (HTML and Markdown)")
    ).set_defaults(func=history.cmd_history)
    noise.add_arguments(
        sub.add_parser("noise", help="per scenario: this machine's spread and what the gate can detect")
    ).set_defaults(func=noise.cmd_noise)
    report.add_arguments(
        sub.add_parser("report", help="one HTML page (and Markdown, PNG/SVG charts, CSV) from saved runs")
    ).set_defaults(func=report.cmd_report)
    selfcheck.add_arguments(
        sub.add_parser("selfcheck", help="the harness's figures beside hand-written loops (accuracy)")
    ).set_defaults(func=selfcheck.cmd)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        load_plugins(argv)
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # argparse already printed its one-line usage error
            return EXIT_USAGE if exc.code else EXIT_OK
        # Loaded already (the same spec loads once); this gives their canonical names for the run.
        args.plugins = tuple(api.load_plugin(spec) for spec in getattr(args, "plugin", ()))
    except api.PluginError as exc:
        return errors.usage(None, exc)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except (UsageError, ScenarioError, storage.StorageError) as exc:
        return errors.usage(None, exc)
    except launch.Stopped as exc:
        print("ipcbench: interrupted", file=sys.stderr)
        return 128 + exc.signum
    except KeyboardInterrupt:
        print("ipcbench: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `ipcbench list | head`: the reader left; not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
