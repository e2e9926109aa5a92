"""The pytest plugin behind ``benchmarks/``: selection options, scenario parametrization, machine facts.

Loaded only where the benchmarks run (``-p ipcbench.plugin`` from ``ipcbench run``, the clone's
``benchmarks/conftest.py``), so the unit tests and other projects never see it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import json
import multiprocessing
import time
from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from ipcbench import (
    api,
    canary,
    catalog,
    eta,
    machine,
    mechanisms,
    options,
    preflight,
    schema,
    selection,
    specs,
    tree,
    trials,
)
from ipcbench.harness import Settings
from ipcbench.scenario import Scenario, ScenarioError
from ipcbench.trials import Trial, TrialLog

PROFILE_SETTINGS = selection.PROFILE_SETTINGS


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("ipcbench", "ipcbench scenario selection")
    # The same options as `ipcbench run`, with the same checks, as --ipc-NAME.
    options.add_pytest_options(g, options.SELECTION + options.PACING)
    g.addoption(
        "--ipc-plugin",
        action="append",
        default=[],
        metavar="FILE_OR_MODULE",
        help="load mechanisms from a plugin file or module (repeatable); entry points load by themselves",
    )
    g.addoption("--ipc-progress", action="store_true", help="one line per scenario with its figure")
    g.addoption(
        "--ipc-calibration",
        action="store_true",
        help="also run the calibration group: harness beside hand-written loops (ipcbench.selfcheck)",
    )
    g.addoption(
        "--ipc-preflight", metavar="PATH", help="preflight JSON made by 'ipcbench run' (else made here)"
    )
    g.addoption(
        "--ipc-stop-at",
        type=float,
        default=None,
        help="epoch seconds: scenarios that would end later are skipped",
    )
    g.addoption(
        "--ipc-outcome-file",
        metavar="PATH",
        help="append 'OUTCOME SCENARIO' as each scenario ends (measured, not_installed, not_run, failed)",
    )
    g.addoption(
        "--ipc-parent-fd",
        type=int,
        default=None,
        help="read end of a pipe from 'ipcbench run': at its end (the run died) stop, leaving nothing",
    )
    g.addoption(
        "--ipc-scratch-dir",
        metavar="DIR",
        help="the run's directory for this session's files: removed if it dies",
    )


def scenarios(config: pytest.Config) -> list[Scenario]:
    """The scenarios this session runs, expanded once at configure time."""
    return list(config.stash[_SCENARIOS].values())


def selected(config: pytest.Config) -> list[Scenario]:
    return options.scenarios(lambda dest: config.getoption(f"ipc_{dest}"), machine.logical_cpus())


def plan(config: pytest.Config) -> trials.Plan:
    """The trials each scenario gets: the profile's, or those of --ipc-trials, --ipc-precision and
    --ipc-spares."""
    return selection.plan(lambda dest: config.getoption(f"ipc_{dest}"))


def settings(config: pytest.Config) -> Settings:
    round_time, rounds, trial_count = PROFILE_SETTINGS[config.getoption("ipc_profile")]
    return Settings(
        round_time=config.getoption("ipc_round_time") or round_time,
        rounds=config.getoption("ipc_rounds") or rounds,
        trials=config.getoption("ipc_trials") or trial_count,
        grace=config.getoption("ipc_deadline"),
    )


def pytest_configure(config: pytest.Config) -> None:
    # Also registered here so the plugin works under any configuration file.
    config.addinivalue_line("markers", "ipcbench(pattern): an ipcbench benchmark of one pattern")
    config.addinivalue_line("markers", "calibration: the harness beside hand-written loops (selfcheck)")
    try:
        # Before the selection, which must know the plugins' mechanisms.
        api.load_entry_points()
        for spec in config.getoption("ipc_plugin"):
            api.load_plugin(spec)
        # Keyed by id: fixtures and the progress line look a scenario up by the id in its params.
        config.stash[_SCENARIOS] = {s.id: s for s in selected(config)}
        config.stash[_SETTINGS] = settings(config)
        config.stash[_PLAN] = plan(config)
    except (ScenarioError, api.PluginError) as exc:
        raise pytest.UsageError(str(exc)) from None
    fd = config.getoption("ipc_parent_fd")
    if fd is not None:
        tree.watch_parent(fd, config.getoption("ipc_scratch_dir"))


_SCENARIOS = pytest.StashKey[dict[str, Scenario]]()
_SETTINGS = pytest.StashKey[Settings]()
_PLAN = pytest.StashKey[trials.Plan]()
#: The run's readings of the host's speed (see ipcbench.canary), shared by every trial.
_SPEED = pytest.StashKey[canary.Speed]()
_PROGRESS = pytest.StashKey[dict[str, Any]]()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("ipcbench")
    if marker is None or "scenario" not in metafunc.fixturenames:
        return
    pattern = marker.kwargs["pattern"]
    ids = [s.id for s in metafunc.config.stash[_SCENARIOS].values() if s.pattern == pattern]
    # Parametrized by id (indirect), so pytest-benchmark saves a readable string in "params".
    metafunc.parametrize("scenario", ids, ids=ids, indirect=True)
    if trials.PARAM in metafunc.fixturenames:
        count = metafunc.config.stash[_PLAN].items
        labels = [f"trial{k + 1}" for k in range(count)]
        metafunc.parametrize(trials.PARAM, range(count), ids=labels, indirect=True)


@pytest.fixture
def scenario(request: pytest.FixtureRequest) -> Scenario:
    chosen = request.config.stash[_SCENARIOS][request.param]
    why = mechanisms.missing(catalog.entries()[chosen.mechanism].requires)
    if why:
        pytest.skip(f"{chosen.mechanism} {why}")
    return chosen


@pytest.fixture
def ipc_settings(request: pytest.FixtureRequest) -> Settings:
    return request.config.stash[_SETTINGS]


@pytest.fixture
def ipc_trial(request: pytest.FixtureRequest) -> Trial:
    """This item's trial of its scenario, with the log its earlier trials left."""
    config = request.config
    scenario_id = request.node.callspec.params["scenario"]
    log = config.stash.setdefault(_TRIAL_LOGS, {}).setdefault(scenario_id, TrialLog())
    start = config.stash.get(_START, None)
    started = time.monotonic() - start.monotonic if start is not None else 0.0
    plan = config.stash[_PLAN]
    speed = None if canary.switched_off() else config.stash.setdefault(_SPEED, canary.Speed.seeded())
    return Trial(request.param, started, plan.most, log, plan.precision, plan.spares, speed)


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict[str, Any]) -> None:
    start = config.stash.get(_START, None)
    facts = start.facts if start is not None else machine.facts()
    machine_info["ipcbench"] = {"schema": schema.SCHEMA_VERSION, **facts}
    machine_info["ipcbench"]["preflight"] = config.stash.get(_PREFLIGHT, None)


@pytest.hookimpl(tryfirst=True)
def pytest_benchmark_generate_commit_info(config: pytest.Config) -> dict[str, Any] | None:
    """The commit taken at the start (pytest-benchmark's own would be read at the end, when it saves)."""
    start = config.stash.get(_START, None)
    return dict(start.commit_info) if start is not None else None


def pytest_benchmark_update_json(
    config: pytest.Config, benchmarks: list[Any], output_json: dict[str, Any]
) -> None:
    # pytest-benchmark stamps the time it saves, hours after the start of a long run.
    start = config.stash.get(_START, None)
    if start is not None:
        output_json["datetime"] = start.datetime
    # One benchmark per scenario, all its trials' rounds in it; none for a scenario a trial failed.
    failed: set[str] = config.stash.get(_FAILED, set())
    output_json["benchmarks"] = trials.merge(
        output_json["benchmarks"],
        failed=failed,
        rounds_of={b.fullname: list(b.stats.data) for b in benchmarks if b.stats},
    )


@dataclasses.dataclass(frozen=True)
class Start:
    """What a run records about its start, taken before any scenario: a commit made, or load caused,
    while it runs (a merge during a long run, the run's own workers) must not be saved as its own."""

    datetime: str
    commit_info: Mapping[str, Any]
    facts: Mapping[str, Any]
    #: ``time.monotonic()`` at the start: trials say when they began relative to it.
    monotonic: float = 0.0

    @classmethod
    def now(cls, config: pytest.Config) -> Start:
        from pytest_benchmark.utils import get_commit_info

        return cls(
            datetime=dt.datetime.now(dt.UTC).isoformat(),
            commit_info=get_commit_info(config.getoption("benchmark_project_name", None)),
            facts=machine.facts(),
            monotonic=time.monotonic(),
        )


_START = pytest.StashKey[Start]()
_PREFLIGHT = pytest.StashKey[dict[str, Any]]()
_NOT_RUN = pytest.StashKey[str]()
_TRIAL_LOGS = pytest.StashKey[dict[str, TrialLog]]()
#: Scenarios a trial of which failed (they get no figure) or was cut by --max-time.
_FAILED = pytest.StashKey[set[str]]()
_CUT = pytest.StashKey[set[str]]()
#: On an item skipped because an earlier trial of its scenario failed.
_EARLIER_FAILED = pytest.StashKey[bool]()
#: On an item skipped because its scenario's figure was already known well enough.
_KNOWN = pytest.StashKey[bool]()


def pytest_sessionstart(session: pytest.Session) -> None:
    """The start facts and the preflight are taken before any scenario runs: afterwards the commit
    may have moved on and the load would be our own."""
    config = session.config
    if not config.getoption("collectonly"):
        config.stash[_START] = Start.now(config)
        preload(config.stash[_SCENARIOS].values())
    path = config.getoption("ipc_preflight")
    if path:
        with open(path) as fh:
            config.stash[_PREFLIGHT] = json.load(fh)
    elif not config.getoption("collectonly"):
        most = max((s.processes for s in config.stash[_SCENARIOS].values()), default=2)
        config.stash[_PREFLIGHT] = preflight.collect(most)


def preload(chosen: Iterable[Scenario]) -> list[str]:
    """Import the optional modules of the chosen mechanisms (NumPy, pyzmq...) here, once, and have
    the fork server preload them and the harness: returns their names.

    A forked worker then inherits them instead of importing them in every trial (NumPy took ~0.1 s a
    worker on a 2-vCPU VM, most of such a trial), and a fork server's child the same way once the
    server has them.  Safe for the figures: this runs before the first scenario, so nothing it does
    runs beside a timed round, and a warm worker's rounds call the same module whoever imported it.
    The start-up benchmarks are not affected either: their processes are started by the workers,
    whose own fork server (if any) preloads only what it always does.
    """
    entries = catalog.entries()
    wanted = {entries[s.mechanism].requires for s in chosen if s.mechanism in entries}
    names = []
    for name in sorted(n for n in wanted if n is not None and not mechanisms.missing(n)):
        try:
            importlib.import_module(name)
        except ImportError:  # a broken install: its scenarios fail in their workers, saying why
            continue
        names.append(name)
    if "forkserver" in multiprocessing.get_all_start_methods():
        # Read when the fork server starts: at the first forkserver scenario, after this.
        multiprocessing.set_forkserver_preload(["ipcbench.harness", *names])
    return names


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The calibration group runs only with --ipc-calibration; otherwise it is deselected.

    A pattern the selection leaves empty is deselected too, instead of showing as a skipped item
    (six patterns: a one-pattern selection would otherwise count five empty items in its progress).
    Then the trials are interleaved (last, so a plugin that shuffles the items cannot undo it).
    """
    calibrate = config.getoption("ipc_calibration")
    dropped = [
        i for i in items if _empty_pattern(i) or (i.get_closest_marker("calibration") and not calibrate)
    ]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        gone = set(dropped)
        items[:] = [i for i in items if i not in gone]
    items[:] = trials.interleave(items, _item_trial)


def _item_trial(item: pytest.Item) -> int:
    """The trial index an item runs (0 for items without trials, e.g. calibration)."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    trial = params.get(trials.PARAM, 0)
    return trial if isinstance(trial, int) else 0


def _empty_pattern(item: pytest.Item) -> bool:
    params = getattr(getattr(item, "callspec", None), "params", {})
    # An empty parametrization leaves a placeholder (pytest's NOTSET), not a scenario id.
    return item.get_closest_marker("ipcbench") is not None and not isinstance(params.get("scenario"), str)


def _item_scenario(item: pytest.Item) -> tuple[str, Scenario | None]:
    """The scenario id an item runs and its Scenario (None for calibration items and other tests)."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    if "scenario" in params:
        return params["scenario"], item.config.stash[_SCENARIOS].get(params["scenario"])
    return item.name, None


def _predicted(item: pytest.Item) -> float:
    """Seconds this item is expected to take, from the items done so far (see ipcbench.eta)."""
    state = item.config.stash[_PROGRESS]
    return eta.seconds_left(state["done"], [state["models"][state["index"][item.nodeid]]])


def pytest_collection_finish(session: pytest.Session) -> None:
    settings = session.config.stash[_SETTINGS]

    def model(item: pytest.Item) -> tuple[str, float]:
        scenario = _item_scenario(item)[1]
        cost = eta.expected(
            scenario,
            settings.round_time,
            settings.rounds,
            settings.warmup_rounds,
            trials=settings.trials,
            first=_item_trial(item) == 0,
        )
        return eta.kind(scenario), cost

    session.config.stash[_PROGRESS] = {
        "total": len(session.items),
        "models": [model(i) for i in session.items],
        "names": [_item_scenario(i)[0] for i in session.items],
        "trials": [_item_trial(i) for i in session.items],
        "index": {item.nodeid: n for n, item in enumerate(session.items)},
        # (kind, model seconds, measured seconds) of every item that ran; "ended" counts skipped ones too.
        "done": [],
        "ended": 0,
    }


def pytest_runtest_setup(item: pytest.Item) -> None:
    """``--max-time``: a scenario that would end after the stop time is not started, and listed.

    A later trial that would end too late is not run either, nor any trial after it: the scenario
    keeps the trials it has (``trial_count`` below ``trials_planned``).  A scenario one trial of
    which failed runs no more trials: it has no figure anyway, and they count as failed.
    """
    name = _item_scenario(item)[0]
    if name in item.config.stash.get(_FAILED, set()):
        item.stash[_EARLIER_FAILED] = True
        pytest.skip("an earlier trial of this scenario failed")
    if _known(item, name):
        item.stash[_KNOWN] = True
        pytest.skip("the earlier trials of this scenario are enough: its figure is known, no spare needed")
    cut = item.config.stash.setdefault(_CUT, set())
    stop_at = item.config.getoption("ipc_stop_at")
    if name not in cut and (stop_at is None or time.time() + _predicted(item) <= stop_at):
        return
    cut.add(name)
    item.stash[_NOT_RUN] = name
    pytest.skip("not started: the run's --max-time would be exceeded")


def _known(item: pytest.Item, name: str) -> bool:
    """A later trial of a scenario whose earlier trials are enough: the plan's precision reached, or
    a spare trial where enough trials were undisturbed."""
    log = item.config.stash.get(_TRIAL_LOGS, {}).get(name)
    return log is not None and log.done and _item_trial(item) >= len(log.records)


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> tuple[str, str, str] | None:
    # With progress lines on, the dots would only interleave with them.
    if config.getoption("ipc_progress") and report.when == "call" and report.passed:
        return "passed", "", ""
    if config.getoption("ipc_progress") and report.when == "setup" and report.skipped:
        return "skipped", "", ""
    return None


def _outcome(item: pytest.Item, report: pytest.TestReport) -> str:
    """measured, not_installed, not_run (--max-time) or failed: one per scenario, as ``ipcbench run``
    accounts for them."""
    if report.passed or _KNOWN in item.stash:
        return "measured"
    if report.skipped:
        if _EARLIER_FAILED in item.stash:
            return "failed"
        if _NOT_RUN in item.stash:
            return "not_run"
        scenario = _item_scenario(item)[1]
        if scenario is not None and mechanisms.missing(catalog.entries()[scenario.mechanism].requires):
            return "not_installed"
        return "skipped"
    return "failed"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report: pytest.TestReport = (yield).get_result()
    if report.failed and _item_scenario(item)[1] is not None:
        item.config.stash.setdefault(_FAILED, set()).add(_item_scenario(item)[0])
    # An item ends in its call, or in a setup that did not pass (skipped or failed): count it once.
    if not (call.when == "call" or (call.when == "setup" and not report.passed)):
        return
    state = item.config.stash[_PROGRESS]
    # By position, not by count: --max-time may skip a long scenario and still run a shorter one after it.
    at = state["index"][item.nodeid]
    state["ended"] += 1
    if call.when == "call":
        state["done"].append((*state["models"][at], call.duration))
    name = _item_scenario(item)[0]
    outcome = _outcome(item, report)
    path = item.config.getoption("ipc_outcome_file")
    if path:
        with open(path, "a") as fh:
            fh.write(f"{outcome} {name}\n")
    # A trial its scenario no longer needs says nothing worth a line.
    if not item.config.getoption("ipc_progress") or _KNOWN in item.stash:
        return
    total = state["total"]
    logs = item.config.stash.get(_TRIAL_LOGS, {})
    known = {n for n, log in logs.items() if log.done}
    # A spare trial is expected only where more trials were disturbed than the plan can spare.
    most = item.config.stash[_PLAN].most
    spare = {n for n, log in logs.items() if len(log.records) - log.clean > most - trials.JUDGED_LEAST}
    ahead = zip(*(state[k][at + 1 :] for k in ("models", "names", "trials")), strict=True)
    left = eta.seconds_left(
        state["done"], [model for model, n, k in ahead if n not in known and (k < most or n in spare)]
    )
    fixture = getattr(item, "funcargs", {}).get("benchmark")
    info = getattr(fixture, "extra_info", {}) if fixture is not None else {}
    figure = {
        "not_installed": mechanisms.NOT_INSTALLED,
        "not_run": "not run: --max-time",
        "skipped": "skipped",
        "failed": "FAILED",
    }.get(outcome, "")
    if outcome == "measured" and info.get("msgs_per_s"):
        spec = specs.of(str(info.get("pattern")))
        figure = f"{info['msgs_per_s']:>12,.0f} {spec.noun}/s"
        if spec.times is not None and spec.times in info:
            figure += f"  p50 {info[spec.times]['p50'] / 1000:8.1f} µs"
        if "lost_updates" in info:
            figure += f"  lost {info['lost_updates']}"
        if info.get("precision") is not None:
            figure += f"  ±{info['precision']:.0%}"
        last = (info.get("trials") or [{}])[-1]
        if last.get("disturbed"):
            figure += f"  host x{last['canary_factor']:.2f}: disturbed"
    if _EARLIER_FAILED in item.stash:
        figure = "not run: a trial failed"
    if item.config.stash[_SETTINGS].trials > 1 and _item_scenario(item)[1] is not None:
        name += f" #{_item_trial(item) + 1}"
    # Printed here, not in setup: output during setup is captured.
    writer = item.config.get_terminal_writer()
    writer.line(f"[{state['ended']:>{len(str(total))}}/{total}] {name:<44} {figure:<38} ~{left:.0f} s left")
    writer.flush()
