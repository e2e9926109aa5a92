"""The one loader: a corpus of bad files, and mutations of a good one, never give a traceback."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipcbench import compare, results

GOOD = Path(__file__).parent / "data" / "quick-fork-2cpu.json"
GOOD_DATA = json.loads(GOOD.read_text())


def write(tmp_path: Path, content: str | bytes, name: str = "run.json") -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def mutated(edit) -> str:
    data = copy.deepcopy(GOOD_DATA)
    edit(data)
    return json.dumps(data)


def test_good_file_loads_one_row_per_benchmark():
    df = results.load([GOOD])
    assert len(df) == len(GOOD_DATA["benchmarks"])
    assert set(results.SCENARIO_COLUMNS) <= set(df.columns)
    latency = df[df["pattern"] == "latency"]
    tail = latency[latency["rtt_p99_ns"].notna()]
    assert len(tail) and (tail["rtt_p50_ns"] <= tail["rtt_p99_ns"]).all()
    # A p99 needs 1,000 round trips behind it (this file predates the rule: the loader applies it).
    assert (latency["rtt_p99_ns"].isna() == (latency["rtt_count"] < 1000)).all()
    assert df["data"].map(len).eq(df["rounds"]).all()


CORPUS = {
    "empty": ("", "is empty"),
    "not json": ("hello, world", "is not JSON"),
    "truncated": (GOOD.read_text()[:5000], "truncated"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00", "cannot be read"),
    "a list": ("[1, 2, 3]", "not pytest-benchmark JSON"),
    "no benchmarks key": ('{"machine_info": {}}', "not pytest-benchmark JSON"),
    "benchmarks not a list": ('{"benchmarks": {}}', "not pytest-benchmark JSON"),
    "foreign benchmarks": (
        json.dumps({"benchmarks": [{"name": "test_x", "stats": {"median": 1.0}, "extra_info": {}}]}),
        "no ipcbench benchmarks",
    ),
    "no benchmarks at all": ('{"benchmarks": []}', "no ipcbench benchmarks"),
    "future schema": (
        mutated(lambda d: d["benchmarks"][0]["extra_info"].update(ipcbench_schema=99)),
        "schema 99",
    ),
    "missing field": (mutated(lambda d: d["benchmarks"][3]["extra_info"].pop("msgs_per_s")), "msgs_per_s"),
    "string number": (
        mutated(lambda d: d["benchmarks"][0]["extra_info"].update(payload_bytes="1KiB")),
        "payload_bytes",
    ),
    "negative rate": (mutated(lambda d: d["benchmarks"][0]["extra_info"].update(msgs_per_s=-5)), "positive"),
    "no stats": (mutated(lambda d: d["benchmarks"][0].pop("stats")), "no stats"),
    "latency without percentiles": (
        mutated(
            lambda d: next(b for b in d["benchmarks"] if "rtt_ns" in b["extra_info"])["extra_info"].pop(
                "rtt_ns"
            )
        ),
        "rtt_ns",
    ),
    "benchmark not an object": (mutated(lambda d: d["benchmarks"].append(7)), "not an object"),
}


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_bad_file_is_refused_in_one_sentence(tmp_path, case):
    content, needle = CORPUS[case]
    path = write(tmp_path, content)
    with pytest.raises(results.LoadError) as err:
        results.load([path])
    message = str(err.value)
    assert needle in message and str(path) in message
    assert "\n" not in message


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(results.LoadError, match="no such file"):
        results.load([tmp_path / "nope.json"])
    with pytest.raises(results.LoadError, match="directory"):
        results.load([tmp_path])
    with pytest.raises(results.LoadError, match="no results files"):
        results.load([])


# --- property: any mutation of a good file loads or is refused, never anything else ----------------

SMALL = copy.deepcopy(GOOD_DATA)
SMALL["benchmarks"] = [
    SMALL["benchmarks"][0],
    next(b for b in SMALL["benchmarks"] if "rtt_ns" in b["extra_info"]),
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


def paths_of(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths_of(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from paths_of(value, (*prefix, i))


def loads_or_is_refused(tmp_path: Path, data: object) -> None:
    file = write(tmp_path, json.dumps(data))
    try:
        df = results.load([file])
    except results.LoadError as exc:
        assert "\n" not in str(exc)
        return
    # Accepted: then every figure it reports must be a positive finite number.
    assert (df["msgs_per_s"] > 0).all() and (df["median"] > 0).all()


ALL_PATHS = [p for p in paths_of(SMALL) if p]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    edits=st.lists(
        st.tuples(st.sampled_from(ALL_PATHS), st.sampled_from(["replace", "delete"]), json_values),
        min_size=1,
        max_size=3,
    )
)
def test_mutated_file_loads_or_is_refused(tmp_path, edits):
    data = copy.deepcopy(SMALL)
    for path, action, value in edits:
        parent = data
        try:
            for key in path[:-1]:
                parent = parent[key]
            if action == "delete":
                del parent[path[-1]]
            else:
                parent[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed this path
    loads_or_is_refused(tmp_path, data)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=0, max_value=len(json.dumps(SMALL)) - 1))
def test_any_truncation_is_refused(tmp_path, cut):
    file = write(tmp_path, json.dumps(SMALL)[:cut])
    with pytest.raises(results.LoadError):
        results.load([file])


FIELDS = (
    [("benchmarks", 0, "extra_info", key) for key in SMALL["benchmarks"][0]["extra_info"]]
    + [
        ("benchmarks", 1, "extra_info", "rtt_ns", key)
        for key in SMALL["benchmarks"][1]["extra_info"]["rtt_ns"]
    ]
    + [("benchmarks", 0, "stats", key) for key in SMALL["benchmarks"][0]["stats"]]
    + [("machine_info",), ("machine_info", "ipcbench"), ("ipcbench",), ("commit_info",), ("datetime",)]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(FIELDS), value=json_values)
def test_any_value_in_any_field_loads_or_is_refused(tmp_path, field, value):
    data = copy.deepcopy(SMALL)
    parent = data
    for key in field[:-1]:
        parent = parent[key]
    parent[field[-1]] = value
    loads_or_is_refused(tmp_path, data)


def _rows_by_scenario(path):
    return {r["scenario"]: r for r in results.load_rows([path])}


def test_a_version_1_file_is_read_per_message():
    """Version 1 saved seconds per round (a calibrated batch); the loader divides by the batch."""
    rows = _rows_by_scenario(GOOD)
    for b in GOOD_DATA["benchmarks"]:
        info, stats = b["extra_info"], b["stats"]
        if info["pattern"] == "calibration":
            continue
        row = rows[info["scenario"]]
        assert row["median"] == pytest.approx(stats["median"] / info["messages"])
        assert row["data"] == pytest.approx([d / info["messages"] for d in stats["data"]])
        # msgs/s was the batch over the median round: now simply one over the median.
        assert row["msgs_per_s"] == pytest.approx(1 / row["median"])


def test_a_version_2_file_loads_like_its_version_1_twin(tmp_path):
    """The same run saved per message (version 2) gives every reader the same figures."""
    data = copy.deepcopy(GOOD_DATA)
    for b in data["benchmarks"]:
        info, stats = b["extra_info"], b["stats"]
        n = info["messages"]
        for key in ("min", "max", "mean", "stddev", "median", "iqr", "q1", "q3"):
            stats[key] /= n
        stats["data"] = [d / n for d in stats["data"]]
        stats["iterations"] = n
        info["ipcbench_schema"] = 2
    new = tmp_path / "v2.json"
    new.write_text(json.dumps(data))
    old_rows, new_rows = _rows_by_scenario(GOOD), _rows_by_scenario(new)
    for sid, row in new_rows.items():
        for key in ("median", "q1", "q3", "stddev", "msgs_per_s", "rtt_p99_ns"):
            assert row.get(key) == pytest.approx(old_rows[sid].get(key), nan_ok=True)
        if row["pattern"] != "calibration":
            old_fig, new_fig = compare.figure_of(old_rows[sid]), compare.figure_of(row)
            assert new_fig.value == pytest.approx(old_fig.value)
            assert new_fig.samples == pytest.approx(old_fig.samples)


def test_a_null_percentile_loads_as_missing_with_its_count(tmp_path):
    data = copy.deepcopy(GOOD_DATA)
    lat = next(b for b in data["benchmarks"] if b["extra_info"]["pattern"] == "latency")
    lat["extra_info"]["ipcbench_schema"] = 2
    lat["extra_info"]["rtt_ns"].update(count=20_000, p999=None)
    path = tmp_path / "null.json"
    path.write_text(json.dumps(data))
    row = _rows_by_scenario(path)[lat["extra_info"]["scenario"]]
    assert math.isnan(row["rtt_p999_ns"]) and row["rtt_count"] == 20_000
    assert row["rtt_p99_ns"] == lat["extra_info"]["rtt_ns"]["p99"]
