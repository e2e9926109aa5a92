"""``ipcbench export``: the shapes github-action-benchmark and Bencher read."""

import json
import shlex
import subprocess
import sys

import pytest
from synthetic import FIXTURE, one_sided, read, write

from ipcbench.cli import main


def export(tmp_path, capsys, *argv):
    out = tmp_path / "out.json"
    rc = main(["export", *map(str, argv), "-o", str(out)])
    _, err = capsys.readouterr()
    return rc, (json.loads(out.read_text()) if rc == 0 else None), err


def scenarios(pattern):
    infos = [b["extra_info"] for b in read()["benchmarks"]]
    return {i["scenario"] for i in infos if i["pattern"] == pattern}


@pytest.mark.parametrize(
    ("measure", "pattern", "unit"), [("throughput", "throughput", "msgs/s"), ("latency", "latency", "µs")]
)
def test_github_action_benchmark_custom_tools(tmp_path, capsys, measure, pattern, unit):
    argv = ["--format", "github-action-benchmark", "--measure", measure, FIXTURE]
    rc, data, _ = export(tmp_path, capsys, *argv)
    assert rc == 0
    assert isinstance(data, list)
    assert {e["name"] for e in data} == scenarios(pattern)
    for entry in data:
        assert set(entry) == {"name", "unit", "value", "extra"}
        assert entry["unit"] == unit
        assert isinstance(entry["value"], float) and entry["value"] > 0
        assert "rounds: 5" in entry["extra"]
    by_name = {e["name"]: e for e in data}
    info = next(b["extra_info"] for b in read()["benchmarks"] if b["extra_info"]["scenario"] in by_name)
    # throughput as msgs/s (not pytest-benchmark's 1/mean of a round), latency as the p50
    expected = info["msgs_per_s"] if measure == "throughput" else info["rtt_ns"]["p50"] / 1000
    assert by_name[info["scenario"]]["value"] == pytest.approx(expected)


def test_bencher_metric_format(tmp_path, capsys):
    rc, data, _ = export(tmp_path, capsys, "--format", "bencher", FIXTURE)
    assert rc == 0
    assert set(data) == scenarios("throughput") | scenarios("latency")
    for name, measures in data.items():
        (measure,) = measures
        assert measure == ("throughput" if "-throughput-" in name else "latency")
        m = measures[measure]
        assert set(m) == {"value", "lower_value", "upper_value"}
        assert m["lower_value"] <= m["value"] <= m["upper_value"]
    lats = [b["extra_info"] for b in read()["benchmarks"] if b["extra_info"]["pattern"] == "latency"]
    lat = next(i for i in lats if i["rtt_ns"]["count"] >= 1000)
    assert data[lat["scenario"]]["latency"]["value"] == pytest.approx(lat["rtt_ns"]["p50"])  # ns
    assert data[lat["scenario"]]["latency"]["upper_value"] == pytest.approx(lat["rtt_ns"]["p99"])
    # Too few round trips for a p99: no upper bound beyond the figure itself.
    few = next(i for i in lats if i["rtt_ns"]["count"] < 1000)
    assert data[few["scenario"]]["latency"]["upper_value"] == pytest.approx(few["rtt_ns"]["p50"])


@pytest.mark.parametrize(
    "argv",
    [
        ["--format", "bencher", "missing.json"],
        ["--format", "csv", str(FIXTURE)],
        [str(FIXTURE)],
    ],
)
def test_bad_input_is_exit_2_with_one_line(tmp_path, capsys, argv):
    rc, _, err = export(tmp_path, capsys, *argv)
    assert rc == 2
    assert len(err.strip().splitlines()) == 1


def test_never_overwrites(tmp_path, capsys):
    assert export(tmp_path, capsys, "--format", "bencher", FIXTURE)[0] == 0
    rc, _, err = export(tmp_path, capsys, "--format", "bencher", FIXTURE)
    assert rc == 2
    assert "already exists" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["--format", "bencher"],
        ["--format", "github-action-benchmark"],
        ["--format", "github-action-benchmark", "--measure", "latency"],
    ],
)
@pytest.mark.parametrize("dash", [False, True], ids=["no-o", "o-dash"])
def test_standard_output_holds_the_export_alone(tmp_path, capsys, monkeypatch, argv, dash):
    monkeypatch.chdir(tmp_path)
    rc = main(["export", *argv, str(FIXTURE), *(["-o", "-"] if dash else [])])
    out, err = capsys.readouterr()
    assert rc == 0
    # The whole of stdout is the JSON a file would hold; the note goes to stderr; no file named "-".
    expected = main(["export", *argv, str(FIXTURE), "-o", str(tmp_path / "file.json")])
    assert expected == 0
    assert json.loads(out) == json.loads((tmp_path / "file.json").read_text())
    assert "standard output" in err
    assert not (tmp_path / "-").exists()


def test_pipes_into_json_tool():
    """The command a user types: ``ipcbench export --format bencher RESULTS.json | python -m json.tool``."""
    py = shlex.quote(sys.executable)
    line = f"{py} -m ipcbench export --format bencher {shlex.quote(str(FIXTURE))} | {py} -m json.tool"
    tool = subprocess.run(
        ["bash", "-o", "pipefail", "-c", line], capture_output=True, text=True, timeout=60, check=False
    )
    assert tool.returncode == 0, tool.stderr
    assert set(json.loads(tool.stdout)) == scenarios("throughput") | scenarios("latency")


@pytest.mark.parametrize(
    ("case", "argv"),
    [
        ("missing input", ["missing.json"]),
        ("input not JSON", ["bad.json"]),
        ("parent is a file", [str(FIXTURE), "-o", "bad.json/out.json"]),
    ],
)
def test_cannot_is_one_line_and_exit_2_with_stdout_empty(tmp_path, capsys, monkeypatch, case, argv):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.json").write_text("{not json")
    rc = main(["export", "--format", "bencher", *argv])
    out, err = capsys.readouterr()
    assert rc == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("ipcbench export: error:")


def test_full_standard_output_is_one_line_and_exit_2(tmp_path):
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "ipcbench", "export", "--format", "bencher", str(FIXTURE)],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "ipcbench export: error: cannot write to standard output: No space left on device"
    ]


def test_start_up_is_exported_per_start_and_operations_as_ops(tmp_path, capsys):
    data = one_sided(one_sided(read(), "first_pipe", "startup", op_p50_ns=62_000), "lock", "locks")
    path = write(tmp_path / "more.json", data)
    rc, lat, _ = export(tmp_path, capsys, "--format", "github-action-benchmark", "--measure", "latency", path)
    assert rc == 0
    start = next(e for e in lat if e["name"].startswith("first_pipe-startup"))
    assert (start["unit"], start["value"]) == ("ms", pytest.approx(0.062))
    assert "p99: 0.124 ms" in start["extra"]
    (tmp_path / "out.json").unlink()
    rc, tp, _ = export(tmp_path, capsys, "--format", "github-action-benchmark", path)
    assert {e["unit"] for e in tp if e["name"].startswith("lock-locks")} == {"ops/s"}
    assert {e["unit"] for e in tp if "-throughput-" in e["name"]} == {"msgs/s"}
    extras = " ".join(e["extra"] for e in tp)
    assert "bytes/s: " in extras and "e+" not in extras
    (tmp_path / "out.json").unlink()
    rc, bmf, _ = export(tmp_path, capsys, "--format", "bencher", path)
    assert bmf[start["name"]]["latency"]["value"] == pytest.approx(62_000)  # ns
