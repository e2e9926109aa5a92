"""Patterns described once: every module that shows or judges a figure reads the pattern's spec, so a
pattern added with its own spec is compared, exported and reported without touching those modules."""

from __future__ import annotations

import copy
import json

import pytest
from synthetic import FIXTURE, read, slow_down, with_trials, write

from ipcbench import api, findings, gate, specs
from ipcbench.cli import main
from ipcbench.scenario import ONE_SIDED, PATTERN_DESCRIPTIONS, PATTERNS

#: A pattern no module knows by name: every "echo" is timed by itself, lower is better.
ECHO = specs.PatternSpec(
    name="echo",
    description="a pattern declared by a test",
    measures="echo",
    headline="echo_p50_ns",
    metric="echo p50",
    unit="µs",
    scale=1e-3,
    higher_is_better=False,
    per_operation=True,
    times="echo_ns",
    samples="echoes",
)


@pytest.fixture
def echo():
    specs.register(ECHO)
    yield ECHO
    specs.unregister(ECHO.name)


def test_every_pattern_is_described_once():
    assert PATTERNS == tuple(s.name for s in specs.BUILT_IN) == tuple(specs.SPECS)
    assert {s.name: s.description for s in specs.BUILT_IN} == PATTERN_DESCRIPTIONS
    assert ONE_SIDED == ("shared_state", "locks", "bulk", "startup")
    assert api.MESSAGING_PATTERNS == ("throughput", "latency")


@pytest.mark.parametrize(
    ("pattern", "headline", "unit", "higher"),
    [
        ("throughput", "msgs_per_s", "msgs/s", True),
        ("latency", "rtt_p50_ns", "µs", False),
        ("locks", "msgs_per_s", "ops/s", True),
        ("startup", "op_p50_ns", "ms", False),
    ],
)
def test_the_headline_figures(pattern, headline, unit, higher):
    spec = specs.of(pattern)
    assert (spec.headline, spec.unit, spec.higher_is_better) == (headline, unit, higher)
    assert spec.per_operation == (not higher)


def test_a_pattern_saved_by_another_version_reads_as_operations_per_second():
    spec = specs.of("from_the_future")
    assert (spec.headline, spec.unit, spec.higher_is_better) == ("msgs_per_s", "ops/s", True)


def test_a_spec_that_cannot_describe_a_pattern_is_refused():
    with pytest.raises(specs.SpecError, match="p50"):
        specs.PatternSpec(**{**vars(ECHO), "headline": "echo_p99_ns"})
    with pytest.raises(specs.SpecError, match="percentiles' key"):
        specs.PatternSpec(**{**vars(ECHO), "times": None})
    with pytest.raises(specs.SpecError, match="twice"):
        specs.register(specs.BUILT_IN[0])
    with pytest.raises(specs.SpecError, match="built in"):
        specs.unregister("latency")


def _echo_run(data, factor=1.0):
    """``data`` with its latency benchmarks saved as the echo pattern (echo_ns, echo_p50_ns per trial)."""
    out = copy.deepcopy(data)
    for b in out["benchmarks"]:
        info = b["extra_info"]
        if info["pattern"] != "latency":
            continue
        info["pattern"] = "echo"
        info["scenario"] = info["scenario"].replace("-latency-", "-echo-")
        info["echo_ns"] = {k: v if k == "count" else v * factor for k, v in info.pop("rtt_ns").items()}
        for t in info["trials"]:
            t["echo_p50_ns"] = t.pop("rtt_p50_ns") * factor
    return out


def test_a_pattern_added_by_its_spec_is_compared_and_exported(echo, tmp_path, capsys):
    data = with_trials(read(FIXTURE), n=6, cv=0.02, seed=1)
    infos = [b["extra_info"] for b in data["benchmarks"]]
    # One with enough round trips behind its p99.
    info = next(i for i in infos if i["pattern"] == "latency" and i["rtt_ns"]["count"] >= 1000)
    lat, sid = info["scenario"], info["scenario"].replace("-latency-", "-echo-")
    base = write(tmp_path / "base.json", _echo_run(data))
    cur = write(tmp_path / "cur.json", _echo_run(slow_down(data, lat, 2.0)))

    rc = main(["compare", str(base), str(cur), "--format", "json", "--threshold", "echo=20%"])
    pair = next(p for p in json.loads(capsys.readouterr().out)["pairs"] if p["scenario"] == sid)
    subject = (pair["pattern"], pair["metric"], pair["unit"], pair["higher_is_better"])
    assert subject == ("echo", "echo p50", "µs", False)
    assert pair["verdict"] == "slower" and pair["threshold"] == 20 and rc == 1

    out = tmp_path / "bencher.json"
    assert main(["export", "--format", "bencher", str(base), "-o", str(out)]) == 0
    exported = json.loads(out.read_text())[sid]["latency"]  # a time: Bencher's latency measure, in ns
    trials = sorted(t["rtt_p50_ns"] for t in info["trials"])
    assert exported["value"] == pytest.approx((trials[2] + trials[3]) / 2)
    assert exported["upper_value"] == pytest.approx(info["rtt_ns"]["p99"])
    assert exported["lower_value"] == pytest.approx(info["rtt_ns"]["min"])
    out = tmp_path / "gab.json"
    assert (
        main(
            [
                "export",
                "--format",
                "github-action-benchmark",
                "--measure",
                "latency",
                str(base),
                "-o",
                str(out),
            ]
        )
        == 0
    )
    entry = next(e for e in json.loads(out.read_text()) if e["name"] == sid)
    assert entry["unit"] == "µs" and f"p99: {info['rtt_ns']['p99'] / 1000:.3g} µs" in entry["extra"]


def test_a_pattern_added_by_its_spec_is_shown_in_its_own_words(echo):
    rate, size, p50, p99 = findings.row_figures("echo", 1e5, 1e6, 2e4, None, 95)
    assert (rate, size, p50, p99) == ("100k op/s", "", "20 µs", "n/a (95 echoes)")
    row = {"scenario": "x-echo", "mechanism": "x", "pattern": "echo", "echo_p50_ns": 2e4, "echo_p99_ns": 5e4}
    fig = gate.figure_of(row)
    assert (fig.value, fig.p99, fig.unit) == (20.0, 50.0, "µs")
