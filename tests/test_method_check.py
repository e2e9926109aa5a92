"""The report's check that steady-state figures do not depend on the start method."""

from __future__ import annotations

import copy
import json

import synthetic

from ipcbench import findings, method_check, report, results


def _another_method(data: dict, scenario: str, method: str, factor: float, precision: float | None) -> None:
    """Add ``scenario`` as measured under ``method``, its rate ``factor`` times the default's."""
    twin = copy.deepcopy(synthetic.bench(data, scenario))
    info = twin["extra_info"]
    info["start_method"] = method
    info["scenario"] = scenario.replace("-fork", f"-{method}")
    info["msgs_per_s"] *= factor
    for key in ("median", "mean", "min", "max", "q1", "q3"):
        twin["stats"][key] /= factor
    for b in (twin, synthetic.bench(data, scenario)):
        b["extra_info"]["precision"] = precision
    data["benchmarks"].append(twin)


def _table(tmp_path, data):
    path = tmp_path / "run.json"
    path.write_text(json.dumps(data))
    return method_check.steady_state_table(findings.prepare(results.load([path])))


def test_equal_figures_read_equal_and_a_double_rate_differs(tmp_path):
    data = synthetic.read()
    _another_method(data, "pipe_bytes-throughput-2p-1KiB-fork", "spawn", 1.02, 0.05)
    _another_method(data, "queue-throughput-2p-1KiB-fork", "spawn", 2.0, 0.05)
    table = _table(tmp_path, data)
    rows = {r[1]: r for r in table.rows}
    assert rows["pipe_bytes"][4:] == ("spawn / fork", "1.02×", "equal")
    assert rows["queue"][4:] == ("spawn / fork", "2.00×", "differs")
    assert "1 of 2 equal" in table.caption


def test_without_a_precision_the_check_shows_the_ratio_and_judges_nothing(tmp_path):
    data = synthetic.read()
    _another_method(data, "pipe_bytes-latency-2p-1KiB-fork", "forkserver", 1.0, None)
    (row,) = _table(tmp_path, data).rows
    assert row[0] == "latency" and row[5:] == ("1.00×", "—")


def test_a_run_under_one_start_method_has_no_check(tmp_path):
    assert _table(tmp_path, synthetic.read()) is None


def test_the_report_shows_the_check(tmp_path):
    data = synthetic.read()
    _another_method(data, "pipe_bytes-throughput-2p-1KiB-fork", "spawn", 1.0, 0.05)
    path = tmp_path / "run.json"
    path.write_text(json.dumps(data))
    report.build([path], tmp_path / "report")
    assert "Start methods in steady state" in (tmp_path / "report" / "report.md").read_text()
