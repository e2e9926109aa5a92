"""The pytest plugin behind ``benchmarks/``: selection options, scenario parametrization, machine facts.

Loaded by ``benchmarks/conftest.py`` only, so the unit tests and other projects never see it.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from ipcbench import machine, schema, selection
from ipcbench.harness import Settings
from ipcbench.scenario import Scenario, ScenarioError

#: Per profile: (target seconds per round, timed rounds).
PROFILE_SETTINGS = {"quick": (0.02, 5), "full": (0.1, 15)}


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("ipcbench", "ipcbench scenario selection")
    g.addoption("--ipc-profile", default="quick", choices=selection.PROFILES, help="base sweep")
    g.addoption("--ipc-mechanism", action="append", default=[], help="mechanism (repeatable)")
    g.addoption("--ipc-pattern", action="append", default=[], help="pattern (repeatable)")
    g.addoption("--ipc-processes", action="append", type=int, default=[], help="process count (repeatable)")
    g.addoption("--ipc-payload", action="append", default=[], help="payload size, e.g. 1KiB (repeatable)")
    g.addoption("--ipc-start-method", action="append", default=[], help="start method (repeatable)")
    g.addoption("--ipc-round-time", type=float, default=None, help="target seconds per timed round")
    g.addoption("--ipc-rounds", type=int, default=None, help="timed rounds per scenario")
    g.addoption("--ipc-deadline", type=float, default=5.0, help="seconds a round may overrun before failing")
    g.addoption("--ipc-progress", action="store_true", help="one line per scenario with its figure")


def selected(config: pytest.Config) -> list[Scenario]:
    sel = selection.select(
        config.getoption("ipc_profile"),
        machine.logical_cpus(),
        config.getoption("ipc_mechanism"),
        config.getoption("ipc_pattern"),
        config.getoption("ipc_processes"),
        config.getoption("ipc_payload"),
        config.getoption("ipc_start_method"),
    )
    return sel.expand()


def settings(config: pytest.Config) -> Settings:
    round_time, rounds = PROFILE_SETTINGS[config.getoption("ipc_profile")]
    return Settings(
        round_time=config.getoption("ipc_round_time") or round_time,
        rounds=config.getoption("ipc_rounds") or rounds,
        grace=config.getoption("ipc_deadline"),
    )


def pytest_configure(config: pytest.Config) -> None:
    # Also registered here so the plugin works under any configuration file.
    config.addinivalue_line("markers", "ipcbench(pattern): an ipcbench benchmark of one pattern")
    config.addinivalue_line("markers", "calibration: the harness beside hand-written loops (selfcheck)")
    try:
        config.stash[_SCENARIOS] = selected(config)
        config.stash[_SETTINGS] = settings(config)
    except ScenarioError as exc:
        raise pytest.UsageError(str(exc)) from None


_SCENARIOS = pytest.StashKey[list[Scenario]]()
_SETTINGS = pytest.StashKey[Settings]()
_PROGRESS = pytest.StashKey[dict[str, Any]]()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("ipcbench")
    if marker is None or "scenario" not in metafunc.fixturenames:
        return
    pattern = marker.kwargs["pattern"]
    ids = [s.id for s in metafunc.config.stash[_SCENARIOS] if s.pattern == pattern]
    # Parametrized by id (indirect), so pytest-benchmark saves a readable string in "params".
    metafunc.parametrize("scenario", ids, ids=ids, indirect=True)


@pytest.fixture
def scenario(request: pytest.FixtureRequest) -> Scenario:
    by_id = {s.id: s for s in request.config.stash[_SCENARIOS]}
    return by_id[request.param]


@pytest.fixture
def ipc_settings(request: pytest.FixtureRequest) -> Settings:
    return request.config.stash[_SETTINGS]


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict[str, Any]) -> None:
    machine_info["ipcbench"] = {"schema": schema.SCHEMA_VERSION, **machine.facts()}


def pytest_collection_finish(session: pytest.Session) -> None:
    session.config.stash[_PROGRESS] = {"total": len(session.items), "done": 0, "t0": time.monotonic()}


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> tuple[str, str, str] | None:
    # With progress lines on, the dots would only interleave with them.
    if config.getoption("ipc_progress") and report.when == "call" and report.passed:
        return "passed", "", ""
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    yield
    if call.when != "call" or not item.config.getoption("ipc_progress"):
        return
    state = item.config.stash[_PROGRESS]
    state["done"] += 1
    done, total = state["done"], state["total"]
    left = (time.monotonic() - state["t0"]) / done * (total - done)
    fixture = getattr(item, "funcargs", {}).get("benchmark")
    info = getattr(fixture, "extra_info", {}) if fixture is not None else {}
    figure = "FAILED"
    if call.excinfo is None and info.get("msgs_per_s"):
        figure = f"{info['msgs_per_s']:>12,.0f} msg/s"
        if "rtt_ns" in info:
            figure += f"  p50 {info['rtt_ns']['p50'] / 1000:8.1f} µs"
    callspec = getattr(item, "callspec", None)
    name = callspec.params.get("scenario", item.name) if callspec is not None else item.name
    writer = item.config.get_terminal_writer()
    writer.line(f"[{done:>{len(str(total))}}/{total}] {name:<44} {figure:<38} ~{left:.0f} s left")
    writer.flush()
