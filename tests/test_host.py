"""Figures put on one host speed by the reading beside each trial (ipcbench.host), and what the gate,
directories, history and noise make of them."""

from __future__ import annotations

import math
import random

import pytest

from ipcbench import gate, host

CENTRE = 150_000.0


def fig(sid: str, samples, hosts=(), pattern: str = "throughput") -> gate.Figure:
    up = pattern != "latency"
    return gate.Figure(
        sid, "pipe", pattern, "msgs/s", "msgs/s", up, value=sorted(samples)[len(samples) // 2],
        samples=tuple(samples), hosts=tuple(hosts),
    )  # fmt: skip


def side(seed: int, slope: float, n: int = 40, trials: int = 3, slow_host: float = 1.0, speed: float = 1.0,
         pattern: str = "throughput", noise: float = 0.02) -> dict[str, gate.Figure]:  # fmt: skip
    """``n`` scenarios whose trials follow their host reading with ``slope``: each reading is the
    centre times ``slow_host`` and a random burst; ``speed`` scales every figure (a real change)."""
    rng = random.Random(seed)
    out = {}
    for i in range(n):
        hosts = [CENTRE * slow_host * math.exp(abs(rng.gauss(0, 0.2))) for _ in range(trials)]
        rates = [
            1000.0 * (i + 1) * speed * (h / CENTRE) ** -slope * math.exp(rng.gauss(0, noise)) for h in hosts
        ]
        if pattern == "latency":
            rates = [1e9 / r for r in rates]
        out[f"s{i}-{pattern}"] = fig(f"s{i}-{pattern}", rates, hosts, pattern)
    return out


def judge(base: dict[str, gate.Figure], cur: dict[str, gate.Figure]) -> dict[str, gate.Pair]:
    judged = [gate.prepare(base[s], cur[s], gate.Threshold(10.0), 0.02) for s in base]
    return {p.scenario: p for p in gate.decide(judged, 0.05, "trials")}


def test_each_patterns_slope_is_found_from_how_trials_follow_their_own_host():
    a = {**side(1, 0.8), **side(2, 0.3, pattern="latency")}
    b = {**side(3, 0.8), **side(4, 0.3, pattern="latency")}
    _, put = host.common([a, b])
    assert put is not None and put.sides == 160
    assert put.slopes["throughput"] == pytest.approx(0.8, abs=0.1)
    assert put.slopes["latency"] == pytest.approx(0.3, abs=0.1)
    assert f"throughput {put.slopes['throughput']:.2f}" in put.describe()


def test_a_run_on_a_slower_host_is_not_a_regression_once_on_one_host_speed():
    base, cur = side(1, 0.8), side(2, 0.8, slow_host=1.3)  # every trial of the current run slowed ~20%
    raw = judge(base, cur)
    assert sum(p.regression for p in raw.values()) > 20  # as measured: the host's slowdown
    moved, put = host.common([base, cur])
    assert put is not None
    pairs = judge(*moved)
    assert not any(p.regression for p in pairs.values())
    assert all("on one host speed" in p.note for p in pairs.values())
    ratios = sorted(p.host_ratio for p in pairs.values())
    assert ratios[len(ratios) // 2] == pytest.approx(1.3, rel=0.1)
    # The figures shown stay what was measured; only the samples the test sees move.
    assert all(moved[1][s].value == cur[s].value for s in cur)


def test_a_real_change_is_kept_whole_where_the_host_read_the_same():
    base = side(1, 0.8)
    cur = {s: gate.Figure(**{**f.__dict__, "samples": tuple(v * 0.75 for v in f.samples),
                             "value": f.value * 0.75}) for s, f in side(1, 0.8).items()}  # fmt: skip
    moved, _ = host.common([base, cur])
    for s in base:
        assert moved[1][s].level / moved[0][s].level == pytest.approx(0.75)
    pairs = judge(*moved)
    assert all(p.regression for p in pairs.values())


def test_a_faster_host_does_not_hide_a_real_slowdown():
    base, cur = side(1, 0.8, slow_host=1.3), side(2, 0.8, speed=0.75)
    assert not all(judge(base, cur)[s].regression for s in base)  # as measured: hidden by the host
    pairs = judge(*host.common([base, cur])[0])
    assert all(p.regression for p in pairs.values())


def test_figures_without_readings_are_left_as_measured():
    base, cur = side(1, 0.8), side(2, 0.8, slow_host=1.3)
    bare = {s: gate.Figure(**{**f.__dict__, "hosts": ()}) for s, f in cur.items()}
    moved, put = host.common([base, bare])
    assert put is None and moved == [base, bare]
    # One scenario without readings on one side: that scenario stays as measured, the rest move.
    mixed = {**cur, "s0-throughput": bare["s0-throughput"]}
    moved, put = host.common([base, mixed])
    assert put is not None
    assert moved[0]["s0-throughput"] == base["s0-throughput"]
    assert moved[1]["s0-throughput"] == mixed["s0-throughput"]
    assert moved[1]["s1-throughput"] != cur["s1-throughput"]


def test_too_few_sides_fit_no_slope_and_slopes_stay_in_bounds():
    small = side(1, 0.8, n=host.LEAST_SIDES // 2 - 1)
    assert host.common([small, side(2, 0.8, n=host.LEAST_SIDES // 2 - 1)])[1] is None
    _, put = host.common([side(1, 5.0), side(2, 5.0)])
    assert put is not None and put.slopes["throughput"] == host.SLOPE_RANGE[1]


def _read_host(data, slope: float = 0.8):
    """Each trial's reading as its host would have read it: a trial slower by f read f^(1/slope)."""
    for b in data["benchmarks"]:
        info = b["extra_info"]
        for t in info["trials"]:
            t["canary_ns"] = CENTRE * (info["msgs_per_s"] / t["msgs_per_s"]) ** (1 / slope)
    return data


def test_files_with_readings_compare_on_one_host_speed(tmp_path, capsys):
    import json

    import synthetic

    from ipcbench.cli import main

    def run(name, seed, offset=0.0):
        data = synthetic.with_trials(synthetic.read(), n=3, cv=0.1, seed=seed, offset=offset)
        return synthetic.write(tmp_path / name, _read_host(data))

    base, cur = run("base.json", 0), run("cur.json", 1, offset=math.log(1.4))  # the host 40% slower
    rc = main(["compare", str(base), str(cur), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert rc == 0 and report["regressions"] == []
    assert any("each trial's figure put on one host speed" in n for n in report["notes"])
    # Without the readings, the same two files differ.
    for path in (base, cur):
        data = json.loads(path.read_text())
        for b in data["benchmarks"]:
            for t in b["extra_info"]["trials"]:
                del t["canary_ns"]
        path.write_text(json.dumps(data))
    assert main(["compare", str(base), str(cur), "--format", "json"]) == 1
    capsys.readouterr()
