"""``ipcbench run`` as a library: select, run the benchmarks under pytest, account, save the record.

The command line only parses its options into a :class:`Request` and calls :func:`run`.  The run
drives pytest (with the ``ipcbench.plugin`` options generated from :mod:`ipcbench.options`) in its
own session, stops it on SIGINT/SIGTERM within a few seconds, accounts for every selected scenario
(:class:`Account`) and saves the pytest-benchmark JSON with the run's own record
(:func:`run_record`) under its top-level ``ipcbench`` key.
"""

from __future__ import annotations

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
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ipcbench import (
    canary,
    catalog,
    errors,
    eta,
    fmt,
    machine,
    mechanisms,
    options,
    preflight,
    schema,
    selection,
    specs,
    storage,
    tree,
    trials,
)
from ipcbench.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, UsageError
from ipcbench.scenario import Scenario

#: pytest's exit codes for "interrupted, or errors during collection", "internal error", "usage error".
PYTEST_BROKE = (2, 3, 4)

#: The benchmarks ``ipcbench run`` drives: inside the package, so that any install can run them.
BENCH_DIR = Path(__file__).resolve().parent / "benchmarks"
RESULTS_DIR = Path("results")


@dataclasses.dataclass(frozen=True)
class Request:
    """What a run was asked for: every selection and pacing option's value by name, and the rest."""

    #: By ``Option.dest``: every option of :data:`ipcbench.options.SELECTION` and ``PACING``.
    options: Mapping[str, Any]
    output: Path | None = None
    #: A directory to build the run's report into when it ends.
    report: str | None = None
    calibration: bool = False
    max_time: float | None = None
    #: Canonical plugin specs, loaded again in the pytest process (and in its workers).
    plugins: tuple[str, ...] = ()
    #: The command line, saved in the record.
    argv: tuple[str, ...] = ()

    @property
    def profile(self) -> str:
        return str(self.options["profile"])

    def pacing(self) -> tuple[float, int, int]:
        """Round time, rounds and trials: the options given, else the profile's."""
        return pacing(self.options.get)


def pacing(get: Callable[[str], Any]) -> tuple[float, int, int]:
    """Round time, rounds and trials: the options ``get(dest)`` gives, else the profile's."""
    round_time, rounds, most = selection.PROFILE_SETTINGS[str(get("profile"))]
    return get("round_time") or round_time, get("rounds") or rounds, get("trials") or most


def estimate_text(get: Callable[[str], Any], scenarios: Sequence[Scenario], cpus: int | None = None) -> str:
    """``about 40 s``, or with a precision ``about 5.3 min to 15 min (3 to 10 trials...)``."""
    round_time, rounds, most = pacing(get)
    wanted = get("precision") or selection.PROFILE_PRECISION[str(get("profile"))]
    plan = trials.Plan(most, wanted)
    least, longest = eta.bounds(scenarios, round_time, rounds, plan, cpus=cpus)
    # Two digits: an estimate has no third.
    if plan.precision is None or least == longest:
        return f"about {fmt.duration_s(least, digits=2)}"
    return (
        f"about {fmt.duration_s(least, digits=2)} to {fmt.duration_s(longest, digits=2)} ({plan.least} "
        f"to {plan.most} trials a scenario: each stops once its figure is known to ±{plan.precision:.0%})"
    )


def select(values: Callable[[str], Any], cpus: int | None = None) -> list[Scenario]:
    """The scenarios the selection options choose (``values(dest)`` reads one) for this machine or one
    of ``cpus`` CPUs, refusing a selection that matches nothing or cannot fit in memory.  Raises
    :class:`UsageError` or ``ScenarioError``."""
    scenarios = options.scenarios(values, cpus or machine.logical_cpus())
    if not scenarios:
        raise UsageError("the selection matches no scenario (pipes need an even process count)")
    check_memory(scenarios)
    return scenarios


def check_memory(scenarios: Sequence[Scenario]) -> None:
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


def pytest_command(request: Request, json_path: Path) -> list[str]:
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
    ]
    cmd += options.pytest_arguments(request.options.__getitem__, options.SELECTION + options.PACING)
    # Absolute paths or module names, loaded again in the pytest process (and in its workers).
    cmd += [f"--ipc-plugin={spec}" for spec in request.plugins]
    return cmd


def run(request: Request) -> int:
    """Run the selected scenarios and save the results; the exit code (0, 1, 130 or 128 + signal).

    Call it inside :func:`signals_stop_the_run`.  Progress goes to standard output, problems to
    standard error, as the run goes.
    """
    scenarios = select(request.options.__getitem__)
    out = request.output or storage.default_path(RESULTS_DIR, request.profile)
    storage.check_writable(out)
    cpus = machine.usable_cpus()
    print(
        f"ipcbench: {len(scenarios)} scenarios ({request.profile} profile) on {machine.cpu_model()}, "
        f"{cpus} usable CPUs, Python {sys.version.split()[0]}",
        flush=True,
    )
    about = estimate_text(request.options.get, scenarios)
    print(f"estimated duration: {about} (a rough model; the machine's load adds)")
    over = sum(s.oversubscribed(cpus) for s in scenarios)
    if over:
        print(
            f"note: {over} scenarios start more processes than the CPUs they may use (oversubscribed; "
            "marked in the results)",
            flush=True,
        )
    started = dt.datetime.now(dt.UTC)
    t0 = time.monotonic()
    facts = preflight.collect(max(s.processes for s in scenarios))
    print("\n".join(preflight.format_lines(facts)), flush=True)
    with tempfile.TemporaryDirectory(prefix="ipcbench-") as tmp:
        json_path = Path(tmp) / "run.json"
        command, outcome_file = quality_options(request, Path(tmp), facts, started.timestamp())
        rc, stopped = run_pytest(pytest_command(request, json_path) + command)
        data = read_run(json_path)
        outcomes = read_outcomes(outcome_file)
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
    wall_s = round(time.monotonic() - t0, 3)
    data["ipcbench"] = run_record(request, account, cut, interrupted, started, wall_s)
    path = storage.write_new(out, data)
    print(summary_table(data["benchmarks"]))
    if account.not_installed:
        print(schema.not_installed_line(account.not_installed))
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
            f"ipcbench: --max-time {request.max_time:g} s: {len(not_run)} scenarios not run, saved as an "
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
    if disturbed := canary.summary(data["benchmarks"]):
        print(f"ipcbench: {disturbed}")
    print(f"saved {len(done)} benchmarks in {wall:.0f} s to {path}")
    # A --max-time run may hold no benchmark at all: nothing to report then.
    if request.report and data["benchmarks"] and _build_report(path, request.report):
        return EXIT_FAILED
    return EXIT_FAILED if account.failed else EXIT_OK


def run_record(
    request: Request,
    account: Account,
    cut: Sequence[str],
    interrupted: bool,
    started: dt.datetime,
    wall_s: float,
) -> dict[str, Any]:
    """The run's own record, the top-level ``ipcbench`` key of the saved file (see :mod:`ipcbench.schema`)."""
    return {
        "schema": schema.SCHEMA_VERSION,
        "complete": not account.failed and not interrupted and not account.not_run and not cut,
        "interrupted": interrupted,
        "failed": list(account.failed),
        "not_run": list(account.not_run),
        "trials_cut": list(cut),
        "not_installed": dict(account.not_installed),
        "account": account.counts(),
        "max_time": request.max_time,
        "profile": request.profile,
        "argv": list(request.argv),
        "started": started.isoformat(),
        "wall_s": wall_s,
    }


def _build_report(path: Path, out_dir: str) -> int:
    """Build the run's report and print where it is; the exit code of ``ipcbench report``."""
    from ipcbench import report, results

    try:
        print(report.build([path], out_dir))
    except (results.LoadError, report.ReportError) as exc:
        return errors.usage("report", exc)
    return EXIT_OK


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
            elif requires and mechanisms.missing(requires):
                not_installed[s.id] = f"{requires} {schema.NOT_INSTALLED}"
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
def signals_stop_the_run() -> Iterator[None]:
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


def run_pytest(command: list[str]) -> tuple[int, int | None]:
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


def read_outcomes(path: Path) -> dict[str, str]:
    """Scenario id -> how pytest said it ended (see the plugin's --ipc-outcome-file)."""
    if not path.exists():
        return {}
    pairs = (line.split(" ", 1) for line in path.read_text().splitlines() if " " in line)
    return {name: outcome for outcome, name in pairs}


def quality_options(
    request: Request, tmp: Path, facts: dict[str, Any], started: float
) -> tuple[list[str], Path]:
    """pytest options for the preflight (taken once, here) and --max-time; and the outcome file."""
    facts_path, outcomes = tmp / "preflight.json", tmp / "outcomes.txt"
    facts_path.write_text(json.dumps(facts))
    options = [f"--ipc-preflight={facts_path}", f"--ipc-outcome-file={outcomes}", f"--ipc-scratch-dir={tmp}"]
    if request.calibration:
        options.append("--ipc-calibration")
    if request.max_time is not None:
        # If no scenario fits in the time, pytest-benchmark warns that it saves nothing: not an error here.
        options += [
            f"--ipc-stop-at={started + request.max_time}",
            "-W",
            "ignore::pytest_benchmark.logger.PytestBenchmarkWarning",
        ]
    return options, outcomes


def read_run(path: Path) -> dict[str, Any] | None:
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
        times_key = specs.of(pattern).times
        times = (info.get(times_key) if times_key else None) or {}
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
