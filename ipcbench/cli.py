"""ipcbench: how fast Python processes talk through multiprocessing primitives.

A thin command line, one function per subcommand (pyperf's ``__main__``).

``main(argv) -> int`` never lets a traceback reach the user for bad input: usage errors, unreadable
files and refused writes print one line on stderr and return 2.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ipcbench import (
    api,
    catalog,
    compare,
    eta,
    export,
    fmt,
    history,
    machine,
    noise,
    preflight,
    report,
    schema,
    selection,
    selfcheck,
    storage,
    tree,
)
from ipcbench.scenario import PATTERN_DESCRIPTIONS, PATTERNS, PLACEMENTS, Scenario, ScenarioError, parse_size

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
#: pytest's exit codes for "interrupted, or errors during collection", "internal error", "usage error".
PYTEST_BROKE = (2, 3, 4)

#: The benchmarks ``ipcbench run`` drives: inside the package, so that any install can run them.
BENCH_DIR = Path(__file__).resolve().parent / "benchmarks"
RESULTS_DIR = Path("results")


class UsageError(Exception):
    """Bad input: one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (``ipcbench run: error: ...``), not usage plus error."""

    def error(self, message: str) -> Any:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, not {text}")
    return value


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ScenarioError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_selection(p: argparse.ArgumentParser) -> None:
    # Read when the parser is built, after any plugin has registered its mechanisms.
    names = list(catalog.entries())
    p.add_argument(
        "--profile", choices=selection.PROFILES, default="quick", help="base sweep (default quick)"
    )
    p.add_argument(
        "--mechanism",
        action="append",
        default=[],
        choices=names,
        metavar="M",
        help=f"mechanism, repeatable: {', '.join(names)}",
    )
    p.add_argument(
        "--pattern",
        action="append",
        default=[],
        choices=PATTERNS,
        metavar="P",
        help=f"pattern, repeatable: {', '.join(PATTERNS)}",
    )
    p.add_argument(
        "--processes",
        action="append",
        default=[],
        type=_positive_int,
        metavar="N",
        help="total worker processes, repeatable (default: 2 and 2x the logical CPUs)",
    )
    p.add_argument(
        "--payload",
        action="append",
        default=[],
        type=_size,
        metavar="SIZE",
        help="payload size, repeatable: 8, 1KiB, 64KiB, 1MiB",
    )
    p.add_argument(
        "--start-method",
        action="append",
        default=[],
        metavar="S",
        help="fork, spawn or forkserver, repeatable (default: the platform's default)",
    )
    p.add_argument(
        "--placement",
        action="append",
        default=[],
        choices=PLACEMENTS,
        metavar="PL",
        help="pin workers: spread (one CPU each in turn), packed (all on one CPU), none (default)",
    )


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


def _selection(args: argparse.Namespace) -> list[Scenario]:
    sel = selection.select(
        args.profile,
        machine.logical_cpus(),
        args.mechanism,
        args.pattern,
        args.processes,
        args.payload,
        args.start_method,
        args.placement,
    )
    scenarios = sel.expand()
    if not scenarios:
        raise UsageError("the selection matches no scenario (pipes need an even process count)")
    _check_memory(scenarios)
    return scenarios


def _check_memory(scenarios: Sequence[Scenario]) -> None:
    """Refuse up front a payload that cannot fit: each process holds a few copies of it in flight."""
    import psutil

    free = psutil.virtual_memory().available
    worst = max(scenarios, key=lambda s: s.payload_bytes * s.processes)
    need = 4 * worst.payload_bytes * worst.processes
    if need > free:
        raise UsageError(
            f"{worst.id} needs about {need / 2**30:.0f} GiB of memory ({worst.processes} processes x 4 "
            f"copies of the payload) but only {free / 2**30:.1f} GiB is free"
        )


# --- run --------------------------------------------------------------------------------------------


def _pytest_command(args: argparse.Namespace, json_path: Path) -> list[str]:
    cmd = [
        sys.executable,
        # Not the current directory first on sys.path: run from a clone, `python -m` would import the
        # clone's ipcbench/ instead of the installed one whose benchmarks it collects (tox does that).
        "-P",
        "-m",
        "pytest",
        str(BENCH_DIR),
        # The benchmarks' own configuration and rootdir, given explicitly: not the unit tests', nor a
        # pytest.ini or pyproject.toml that happens to be in the user's directory or above the install.
        "-c",
        str(BENCH_DIR / "pytest.ini"),
        f"--rootdir={BENCH_DIR}",
        "-p",
        "ipcbench.plugin",
        "-q",
        "--no-header",
        "--tb=line",
        "--benchmark-quiet",
        f"--benchmark-json={json_path}",
        # Its storage directory is made even when nothing is saved there: not in the user's directory.
        f"--benchmark-storage={json_path.parent}",
        "--ipc-progress",
        f"--ipc-profile={args.profile}",
        f"--ipc-deadline={args.deadline}",
    ]
    for opt, values in (
        ("mechanism", args.mechanism),
        ("pattern", args.pattern),
        ("processes", args.processes),
        ("payload", args.payload),
        ("start-method", args.start_method),
        ("placement", args.placement),
    ):
        cmd += [f"--ipc-{opt}={v}" for v in values]
    # Absolute paths or module names, loaded again in the pytest process (and in its workers).
    cmd += [f"--ipc-plugin={spec}" for spec in getattr(args, "plugins", ())]
    if args.rounds:
        cmd.append(f"--ipc-rounds={args.rounds}")
    if args.round_time:
        cmd.append(f"--ipc-round-time={args.round_time}")
    if args.trials:
        cmd.append(f"--ipc-trials={args.trials}")
    return cmd


def cmd_run(args: argparse.Namespace) -> int:
    with _signals_stop_the_run():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    scenarios = _selection(args)
    out = Path(args.output) if args.output else storage.default_path(RESULTS_DIR, args.profile)
    storage.check_writable(out)
    cpus = machine.usable_cpus()
    print(
        f"ipcbench: {len(scenarios)} scenarios ({args.profile} profile) on {machine.cpu_model()}, "
        f"{cpus} usable CPUs, Python {sys.version.split()[0]}",
        flush=True,
    )
    round_time, rounds, trials = selection.PROFILE_SETTINGS[args.profile]
    estimate = eta.estimate(
        scenarios, args.round_time or round_time, args.rounds or rounds, args.trials or trials
    )
    print(f"estimated duration: about {_fmt_duration(estimate)} (a rough model; the machine's load adds)")
    over = sum(s.processes > cpus for s in scenarios)
    if over:
        print(
            f"note: {over} scenarios start more processes than the {cpus} usable CPUs (oversubscribed; "
            "marked in the results)",
            flush=True,
        )
    started = dt.datetime.now(dt.UTC)
    t0 = time.monotonic()
    facts = preflight.collect(max(s.processes for s in scenarios))
    print("\n".join(preflight.format_lines(facts)), flush=True)
    with tempfile.TemporaryDirectory(prefix="ipcbench-") as tmp:
        json_path = Path(tmp) / "run.json"
        command, outcome_file = _quality_options(args, Path(tmp), facts, started.timestamp())
        rc, stopped = _run_pytest(_pytest_command(args, json_path) + command)
        data = _read_run(json_path)
        outcomes = _read_outcomes(outcome_file)
    if stopped is None and rc in PYTEST_BROKE and not outcomes:
        # pytest stopped before any scenario began: a collection error or a bad option, which it has
        # printed above; not an interrupt, whatever its exit code says.
        print(
            f"ipcbench: pytest could not run the benchmarks (its exit code {rc}; its error is above)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    # pytest's own exit code 2 once scenarios ran: interrupted (a signal that reached it and not us).
    interrupted = stopped is not None or rc == 2
    done = {b.get("extra_info", {}).get("scenario") for b in data["benchmarks"]} if data else set()
    account = Account.of(scenarios, done, outcomes, interrupted)
    exit_code = (128 + stopped if stopped else EXIT_INTERRUPTED) if interrupted else EXIT_OK
    if data is None and (account.not_run or account.not_installed) and not interrupted:
        # Nothing measured (--max-time left no time, or nothing selected is installed): still save the
        # run, so it says what was not run.
        facts_all = {"schema": schema.SCHEMA_VERSION, **machine.facts(), "preflight": facts}
        data = {"machine_info": {"ipcbench": facts_all}, "benchmarks": [], "datetime": started.isoformat()}
    if data is None:
        if account.failed and not interrupted:
            print(
                f"ipcbench: {len(account.failed)} scenarios failed: {', '.join(account.failed)}",
                file=sys.stderr,
            )
        print(f"ipcbench: {account.line()}", file=sys.stderr)
        print("ipcbench: no benchmark finished; nothing saved", file=sys.stderr)
        return exit_code if interrupted else EXIT_FAILED
    # Scenarios saved with fewer trials than planned (--max-time or a stop cut the later ones).
    cut = [
        b["extra_info"]["scenario"]
        for b in data["benchmarks"]
        if b.get("extra_info", {}).get("trial_count", 1) < b.get("extra_info", {}).get("trials_planned", 1)
    ]
    data["ipcbench"] = {
        "schema": schema.SCHEMA_VERSION,
        "complete": not account.failed and not interrupted and not account.not_run and not cut,
        "interrupted": interrupted,
        "failed": list(account.failed),
        "not_run": list(account.not_run),
        "trials_cut": cut,
        "not_installed": dict(account.not_installed),
        "account": account.counts(),
        "max_time": args.max_time,
        "profile": args.profile,
        "argv": sys.argv[1:],
        "started": started.isoformat(),
        "wall_s": round(time.monotonic() - t0, 3),
    }
    path = storage.write_new(out, data)
    print(summary_table(data["benchmarks"]))
    if account.not_installed:
        print(catalog.mechanisms.not_installed_line(account.not_installed))
    wall = data["ipcbench"]["wall_s"]
    if interrupted:
        print(f"ipcbench: {account.line()}")
        print(
            f"ipcbench: interrupted; the {len(done)} finished benchmarks are saved as an incomplete run "
            f"in {path}",
            file=sys.stderr,
        )
        return exit_code
    failed, not_run = account.failed, account.not_run
    if failed:
        print(
            f"ipcbench: {len(failed)} scenarios failed and have no figures: {', '.join(failed)}",
            file=sys.stderr,
        )
    if not_run:
        print(
            f"ipcbench: --max-time {args.max_time:g} s: {len(not_run)} scenarios not run, saved as an "
            f"incomplete run: {', '.join(not_run)}",
            file=sys.stderr,
        )
    if cut:
        print(
            f"ipcbench: {len(cut)} scenarios saved with fewer trials than planned (--max-time): "
            f"{', '.join(cut)}",
            file=sys.stderr,
        )
    print(f"ipcbench: {account.line()}")
    print(f"saved {len(done)} benchmarks in {wall:.0f} s to {path}")
    # A --max-time run may hold no benchmark at all: nothing to report then.
    if (
        args.report
        and data["benchmarks"]
        and report.cmd_report(argparse.Namespace(results=[path], output=args.report))
    ):
        return EXIT_FAILED
    return EXIT_FAILED if account.failed else EXIT_OK


@dataclasses.dataclass(frozen=True)
class Account:
    """How every selected scenario ended: exactly one of measured, not installed, not run, failed."""

    measured: tuple[str, ...]
    #: Scenario id -> why: its mechanism's optional module is missing (skipped, never failed).
    not_installed: dict[str, str]
    #: Not started (--max-time), or abandoned by a stop signal.
    not_run: tuple[str, ...]
    failed: tuple[str, ...]

    @classmethod
    def of(
        cls, scenarios: Sequence[Scenario], done: set[str], outcomes: dict[str, str], interrupted: bool
    ) -> Account:
        """``done``: the scenarios with a figure; ``outcomes``: how pytest said each ended.

        A scenario with no figure and no word from pytest failed, unless a signal stopped the run
        first: then it was not run.
        """
        measured, not_run, failed = [], [], []
        not_installed: dict[str, str] = {}
        for s in scenarios:
            requires = catalog.entries()[s.mechanism].requires
            if s.id in done:
                measured.append(s.id)
            elif requires and catalog.mechanisms.missing(requires):
                not_installed[s.id] = f"{requires} {catalog.mechanisms.NOT_INSTALLED}"
            elif outcomes.get(s.id) == "failed" or (not interrupted and outcomes.get(s.id) != "not_run"):
                failed.append(s.id)
            else:
                not_run.append(s.id)
        return cls(tuple(measured), not_installed, tuple(not_run), tuple(failed))

    def counts(self) -> dict[str, int]:
        return {
            "measured": len(self.measured),
            "not_installed": len(self.not_installed),
            "not_run": len(self.not_run),
            "failed": len(self.failed),
        }

    def line(self) -> str:
        counts = self.counts()
        parts = ", ".join(f"{n} {key.replace('_', ' ')}" for key, n in counts.items())
        return f"{sum(counts.values())} scenarios: {parts}"


#: Seconds pytest gets, after the first stop signal, to stop its workers and save what finished, so
#: that the run ends within 5 s of the signal.
STOP_TIMEOUT = 4.0


class Stopped(KeyboardInterrupt):
    """SIGINT or SIGTERM reached ``ipcbench run``: it stops and exits 128 + the signal's number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_stopped(signum: int, frame: object) -> None:
    raise Stopped(signum)


@contextlib.contextmanager
def _signals_stop_the_run() -> Iterator[None]:
    """SIGINT and SIGTERM stop a run whoever sends them: a terminal's Ctrl-C (the whole group),
    ``kill``, ``timeout``, a CI runner or ``docker stop`` (this process alone).

    Installed even where SIGINT was inherited ignored (a run started with ``&`` in a script), and
    before pytest starts, so that pytest does not inherit it ignored and hears the SIGINT we send.
    """
    previous = {sig: signal.signal(sig, _raise_stopped) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _run_pytest(command: list[str]) -> tuple[int, int | None]:
    """Run pytest to its end, or stop it on the first SIGINT/SIGTERM; return its exit code and the
    signal that stopped it (None if none did).  A second signal kills everything at once."""
    read_end, write_end = os.pipe()
    try:
        # Its own session: a Ctrl-C reaches only us, and we pass on exactly one SIGINT, so pytest's
        # teardown (which reaps the workers) is not cut short by a second one.  Only we hold the pipe's
        # write end: when we die, however, pytest reads end of file and stops (tree.watch_parent).
        proc = subprocess.Popen(
            [*command, f"--ipc-parent-fd={read_end}"], pass_fds=(read_end,), start_new_session=True
        )
    finally:
        os.close(read_end)
    stopped: int | None = None
    try:
        try:
            return proc.wait(), None
        except Stopped as first:
            stopped = first.signum
            print(
                "ipcbench: stopping: the benchmark in flight is abandoned, the finished ones are saved "
                "(signal again to stop at once)",
                file=sys.stderr,
                flush=True,
            )
            proc.send_signal(signal.SIGINT)
            return proc.wait(STOP_TIMEOUT), stopped
    except (Stopped, subprocess.TimeoutExpired) as exc:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)  # nothing may cut the kill short
        tree.kill_tree(proc.pid)
        proc.wait()
        if isinstance(exc, Stopped):
            print("ipcbench: stopped at once; nothing saved", file=sys.stderr)
            raise Stopped(stopped or exc.signum) from None
        print(f"ipcbench: pytest did not stop within {STOP_TIMEOUT:g} s: killed", file=sys.stderr)
        return proc.returncode, stopped
    finally:
        if proc.returncode is None:  # anything unforeseen: leave nothing running
            tree.kill_tree(proc.pid)
            proc.wait()
        os.close(write_end)


def _read_outcomes(path: Path) -> dict[str, str]:
    """Scenario id -> how pytest said it ended (see the plugin's --ipc-outcome-file)."""
    if not path.exists():
        return {}
    pairs = (line.split(" ", 1) for line in path.read_text().splitlines() if " " in line)
    return {name: outcome for outcome, name in pairs}


def _quality_options(
    args: argparse.Namespace, tmp: Path, facts: dict[str, Any], started: float
) -> tuple[list[str], Path]:
    """pytest options for the preflight (taken once, here) and --max-time; and the outcome file."""
    facts_path, outcomes = tmp / "preflight.json", tmp / "outcomes.txt"
    facts_path.write_text(json.dumps(facts))
    options = [f"--ipc-preflight={facts_path}", f"--ipc-outcome-file={outcomes}", f"--ipc-scratch-dir={tmp}"]
    if args.calibration:
        options.append("--ipc-calibration")
    if args.max_time is not None:
        # If no scenario fits in the time, pytest-benchmark warns that it saves nothing: not an error here.
        options += [
            f"--ipc-stop-at={started + args.max_time}",
            "-W",
            "ignore::pytest_benchmark.logger.PytestBenchmarkWarning",
        ]
    return options, outcomes


def _fmt_duration(seconds: float) -> str:
    # Two digits: an estimate has no third.
    return fmt.duration_s(seconds, digits=2)


def _read_run(path: Path) -> dict[str, Any] | None:
    try:
        with open(path) as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not data.get("benchmarks"):
        return None
    return data


def summary_table(benchmarks: Sequence[dict[str, Any]]) -> str:
    """One line per benchmark with the figures that mean something for its pattern."""
    from ipcbench import table
    from ipcbench.findings import row_figures

    headers = ("scenario", "rate", "bytes/s", "p50", "p99", "spread", "")
    rows = []
    for b in benchmarks:
        info, stats = b.get("extra_info", {}), b.get("stats", {})
        pattern = str(info.get("pattern"))
        times = (info.get("op_ns") if pattern == "startup" else info.get("rtt_ns")) or {}
        spread = stats.get("stddev", 0) / stats["median"] if stats.get("median") else 0
        rate, size = info.get("msgs_per_s", 0), info.get("bytes_per_s", 0)
        figures = row_figures(pattern, rate, size, times.get("p50"), times.get("p99"), times.get("count"))
        rows.append(
            (
                info.get("scenario", b.get("name", "?")),
                *figures,
                fmt.percent(spread),
                "oversubscribed" if info.get("oversubscribed") else "",
            )
        )
    return table.text(table.Table(headers, tuple(rows), align=table.aligned(headers, range(1, 6))))


# --- list / info ------------------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    scenarios = _selection(args)
    cpus = machine.usable_cpus()
    if not args.ids:
        # Descriptions for the reader on stderr (like the count), so stdout stays one id per line.
        print(catalog_text(sorted({s.pattern for s in scenarios}, key=PATTERNS.index)), file=sys.stderr)
    for s in scenarios:
        print(s.id + ("  (oversubscribed)" if s.processes > cpus and not args.ids else ""))
    print(f"{len(scenarios)} scenarios", file=sys.stderr)
    return EXIT_OK


def catalog_text(patterns: Sequence[str] = PATTERNS) -> str:
    """Every pattern, then its mechanisms, one line each; optional ones say when they cannot run."""
    entries = catalog.entries()
    members = {p: [m for m in entries.values() if p in m.patterns] for p in patterns}
    width = max((len(m.name) for ms in members.values() for m in ms), default=0)
    lines = []
    for pattern in patterns:
        lines.append(f"{pattern}: {PATTERN_DESCRIPTIONS[pattern]}")
        if pattern == "latency" and members.get("throughput") == members[pattern]:
            lines.append("  (the mechanisms of throughput)")
            continue
        for m in members[pattern]:
            why = catalog.mechanisms.missing(m.requires)
            lines.append(f"  {m.name:<{width}}  {m.description}" + (f"  [skipped: {why}]" if why else ""))
    return "\n".join(lines)


def cmd_mechanisms(args: argparse.Namespace) -> int:
    print(catalog_text())
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
    _add_selection(run)
    _add_plugin(run)
    run.add_argument("--output", "-o", metavar="PATH", help="results file (default: a new name in results/)")
    run.add_argument("--rounds", type=_positive_int, help="timed rounds per trial")
    run.add_argument(
        "--trials",
        type=_positive_int,
        help="independent trials per scenario, each with fresh workers, spread over the run",
    )
    run.add_argument("--round-time", type=_positive_float, metavar="S", help="target seconds per round")
    run.add_argument(
        "--deadline",
        type=_positive_float,
        default=5.0,
        metavar="S",
        help="seconds a round may overrun before its workers count as stalled (default 5)",
    )
    run.add_argument("--report", metavar="DIR", help="build the report of this run into DIR when it ends")
    run.add_argument(
        "--calibration",
        action="store_true",
        help="also run the calibration benchmarks of the selected 1:1 1 KiB pipe_bytes/queue scenarios",
    )
    run.add_argument(
        "--max-time",
        type=_positive_float,
        metavar="S",
        help="cap the run's total: scenarios that would end later are not run (listed; run incomplete)",
    )
    run.set_defaults(func=cmd_run)
    lst = sub.add_parser("list", help="describe the patterns and mechanisms of a selection and its scenarios")
    _add_selection(lst)
    _add_plugin(lst)
    lst.add_argument("--ids", action="store_true", help="only the scenario ids: no descriptions, no marks")
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
        print(f"ipcbench: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except (UsageError, ScenarioError, storage.StorageError) as exc:
        print(f"ipcbench: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Stopped as exc:
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
