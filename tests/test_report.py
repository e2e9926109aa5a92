"""``ipcbench report``: sections and charts of saved and fresh runs, bad inputs, big files, Chromium."""

from __future__ import annotations

import copy
import json
import logging
import random
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ipcbench import cli, report, table

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
FIXTURE = DATA / "quick-fork-2cpu.json"
SECTIONS = (
    "machine",
    "recommendation",
    "scaling",
    "payload",
    "latency",
    "shared-state",
    "bulk",
    "startup",
    "cost-model",
    "method",
)
CHARTS = ("throughput-vs-processes", "throughput-vs-payload", "latency-percentiles", "latency-cdf")
BAD = sorted((DATA / "bad").glob("*.json"))
log = logging.getLogger(__name__)


def check_report(out: Path, charts: tuple[str, ...] = CHARTS) -> str:
    """Every promised file exists and is valid; returns the page."""
    from PIL import Image

    page = (out / "index.html").read_text(encoding="utf-8")
    for sid in SECTIONS:
        assert f'<section id="{sid}">' in page, sid
    assert "http://" not in page and "https://" not in page, "the page must open with no network"
    assert table.STYLESHEET in page
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert markdown.count("\n## ") >= len(SECTIONS)
    for key in charts:
        png, svg = out / f"{key}.png", out / f"{key}.svg"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", key
        with Image.open(png) as img:
            img.verify()
        assert ET.parse(svg).getroot().tag.endswith("svg"), key
        assert f'id="chart-{key}"' in page
        assert f"]({key}.png)" in markdown
    assert (out / "results.csv").stat().st_size > 0
    return page


@pytest.fixture(scope="module")
def fixture_report(tmp_path_factory) -> Path:
    """The report of the saved quick run, built once through the CLI for the tests that read it."""
    out = tmp_path_factory.mktemp("report") / "rep"
    assert cli.main(["report", str(FIXTURE), "-o", str(out)]) == 0
    return out


def test_report_command_prints_the_page(tmp_path, capsys, monkeypatch):
    """The CLI prints only the page's path; the build itself is checked on the module's report."""
    calls = []
    monkeypatch.setattr(
        report, "build", lambda paths, out: calls.append((paths, out)) or Path(out) / "index.html"
    )
    assert cli.main(["report", str(FIXTURE)]) == 0
    assert capsys.readouterr().out == f"{Path('report') / 'index.html'}\n"
    assert calls == [([str(FIXTURE)], "report")]


def test_report_from_fixture(fixture_report):
    out = fixture_report
    page = check_report(out)
    # The answer comes first and names a winner with its spread; absent patterns say so.
    assert page.index('id="recommendation"') < page.index('id="scaling"')
    assert "Latency: pipe_bytes is fastest in 6 of 6 cases." in page and "±" in page
    assert "Not in this run: no shared_state or locks benchmarks." in page
    assert "Oversubscribed:" in page and "High spread:" in page
    import pandas as pd

    assert len(pd.read_csv(out / "results.csv")) == 72


def test_report_from_a_real_tiny_run(tmp_path):
    """``run --report`` measures, saves, then builds the page of what it saved."""
    cmd = [sys.executable, "-m", "ipcbench", "run", "--mechanism", "pipe_bytes", "--mechanism", "queue"]
    cmd += ["--payload", "8", "--payload", "1KiB", "--processes", "2", "--rounds", "1"]
    cmd += ["--round-time", "0.002", "-o", str(tmp_path / "run.json"), "--report", str(tmp_path / "rep")]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(str(tmp_path / "rep" / "index.html"))
    page = check_report(tmp_path / "rep", CHARTS[1:])
    assert "needs throughput benchmarks of pairs at two or more process counts" in page  # only 2 processes
    # Two runs side by side: one series per run, labelled by host and date.
    both = report.build([FIXTURE, tmp_path / "run.json"], tmp_path / "both")
    page = check_report(both.parent)
    assert "2 runs compared" in page and page.count("vm 2026-11-24 22:47") >= 2


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_results_file_is_one_line_and_exit_2(path, tmp_path, capsys):
    assert cli.main(["report", str(path), "-o", str(tmp_path / "rep")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and str(path) in captured.err and "Traceback" not in captured.err


@pytest.mark.parametrize("where", ["missing", "directory"])
def test_missing_file_or_directory_is_one_line_and_exit_2(where, tmp_path, capsys):
    path = tmp_path / "nope.json" if where == "missing" else tmp_path
    assert cli.main(["report", str(path), "-o", str(tmp_path / "rep")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ("no such file" in err or "directory" in err)


def test_bad_inputs_cover_every_refusal():
    """The corpus keeps one file per kind of bad input the loader refuses."""
    names = {p.stem for p in BAD}
    assert names >= {
        "not-json",
        "truncated",
        "not-pytest-benchmark",
        "no-ipcbench-benchmarks",
        "unknown-schema",
        "missing-fields",
    }


def variant(bench: dict, payload: int, scale: int, rate: float, pattern: str | None = None) -> dict:
    """A copy of a saved benchmark at another payload and process count (ids follow the fields)."""
    from ipcbench.scenario import format_size, shape_label

    b = copy.deepcopy(bench)
    info = b["extra_info"]
    info["producers"] *= scale
    info["consumers"] *= scale
    info["processes"] = info["producers"] + info["consumers"]
    info["payload_bytes"] = payload
    info["msgs_per_s"] *= rate
    info["bytes_per_s"] = info["msgs_per_s"] * payload
    info["pattern"] = pattern or info["pattern"]
    shape = shape_label(info["producers"], info["consumers"])
    info["scenario"] = "-".join(
        (info["mechanism"], info["pattern"], shape, format_size(payload), info["start_method"])
    )
    return b


def test_shared_state_and_unknown_mechanisms_render(tmp_path):
    """Patterns added later get their section; a mechanism without a palette entry still gets a colour."""
    data = json.loads(FIXTURE.read_text())
    extra = []
    for i, b in enumerate(data["benchmarks"][:12]):
        s = variant(b, 8, 1 + i % 3, 1.0, pattern="shared_state")
        s["extra_info"]["lost_updates"] = 100 * i
        extra.append(s)
    odd = variant(data["benchmarks"][0], 8, 1, 0.5)
    odd["extra_info"]["mechanism"] = "faster_fifo"
    data["benchmarks"] += [*extra, odd]
    path = tmp_path / "more.json"
    path.write_text(json.dumps(data))
    out = report.build([path], tmp_path / "rep")
    page = check_report(out.parent, (*CHARTS, "shared-state"))
    assert "lost_updates" in page and "Not in this run: no shared_state" not in page
    assert "Not in this run: no startup benchmarks." in page


def test_every_line_of_a_chart_has_its_own_colour():
    """Mechanisms drawn together (one pattern's) never share a colour; an unknown name gets one too."""
    from ipcbench import catalog
    from ipcbench.charts import FALLBACK, colour

    by_pattern: dict[str, list[str]] = {}
    for e in catalog.entries().values():
        by_pattern.setdefault(e.patterns[0], []).append(e.name)
    for pattern, names in by_pattern.items():
        assert len({colour(n) for n in names}) == len(names), pattern
    assert colour("not_a_mechanism") in FALLBACK


def test_one_sided_sections_have_names_columns_and_whole_process_ticks(tmp_path, monkeypatch):
    from ipcbench import charts

    data = json.loads(FIXTURE.read_text())
    first = data["benchmarks"][0]
    more = []
    for pattern, mech in (("shared_state", "value_lock"), ("locks", "lock")):
        for scale in (1, 2, 3):
            b = variant(first, 8, scale, 1.0, pattern=pattern)
            b["extra_info"].update(mechanism=mech, consumers=0, processes=b["extra_info"]["producers"])
            more.append(b)
    for payload in (1024, 1 << 20):
        b = variant(first, payload, 1, 1.0, pattern="bulk")
        b["extra_info"].update(mechanism="array_memoryview", consumers=0, processes=1)
        more.append(b)
    for b in more:
        info = b["extra_info"]
        info["scenario"] = (
            f"{info['mechanism']}-{info['pattern']}-{info['processes']}p-{info['payload_bytes']}"
        )
    data["benchmarks"] += more
    path = tmp_path / "one-sided.json"
    path.write_text(json.dumps(data))
    ticks: dict[str, list[float]] = {}
    save = charts._save

    def keep_ticks(fig, out_dir, key, title, caption):
        ticks[key] = list(fig.axes[0].get_xticks())
        return save(fig, out_dir, key, title, caption)

    monkeypatch.setattr(charts, "_save", keep_ticks)
    page = report.build([path], tmp_path / "rep").read_text(encoding="utf-8")
    assert "Pattern " not in page
    section = page[page.index('<section id="shared-state">') : page.index('<section id="bulk">')]
    assert section.count("<table") == 2 and "lock" in section and "value_lock" in section
    bulk = page[page.index('<section id="bulk">') : page.index('<section id="startup">')]
    assert "Bulk copies into shared memory" in bulk and "<th>payload</th>" in bulk
    assert "<td>1KiB</td>" in bulk and "<td>1MiB</td>" in bulk
    assert ticks["shared-state"] == [1, 2, 3] and ticks["locks"] == [1, 2, 3]


def test_a_report_of_2000_benchmarks_builds(tmp_path):
    """A report of 2,000 benchmarks builds (it should take seconds; timing is a benchmark, not asserted)."""
    data = json.loads(FIXTURE.read_text())
    rng = random.Random(4)
    base = data["benchmarks"]
    benches = []
    for i in range(2000):
        k = i // len(base)  # 0..27: 4 process scales x 7 payload steps
        b = base[i % len(base)]
        payload = b["extra_info"]["payload_bytes"] * 4 ** (k // 4)
        benches.append(variant(b, payload, 1 + k % 4, rng.uniform(0.7, 1.3)))
    data["benchmarks"] = benches
    path = tmp_path / "big.json"
    path.write_text(json.dumps(data))
    t0 = time.perf_counter()
    out = report.build([path], tmp_path / "rep")
    elapsed = time.perf_counter() - t0
    log.warning("report of %d benchmarks built in %.1f s", len(benches), elapsed)
    check_report(out.parent)


@pytest.mark.skipif(
    shutil.which("chromium") is None, reason="chromium is not installed (apt-get install chromium)"
)
def test_page_renders_in_headless_chromium(fixture_report, tmp_path):
    from PIL import Image, ImageStat

    index = fixture_report / "index.html"
    shot = tmp_path / "shot.png"
    cmd = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
    cmd += ["--disable-background-networking", "--disable-component-update", "--disable-sync"]
    cmd += [f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1280,4000"]
    done = subprocess.run([*cmd, index.resolve().as_uri()], capture_output=True, text=True, timeout=180)
    assert shot.exists(), done.stderr[-2000:]
    with Image.open(shot) as img:
        rgb = img.convert("RGB")
        assert rgb.size == (1280, 4000)
        colours = rgb.getcolors(maxcolors=1 << 20)
        assert colours is None or len(colours) > 50, "the screenshot is (nearly) blank"
        assert max(ImageStat.Stat(rgb).stddev) > 10


def test_warnings_name_an_incomplete_run_and_a_loaded_machine(tmp_path):
    from ipcbench import findings, results

    data = json.loads(FIXTURE.read_text())
    data["ipcbench"].update(complete=False, failed=["queue-latency-2p-8B-fork"])
    data["machine_info"]["ipcbench"]["load_avg"] = [3.5, 2.0, 1.0]
    path = tmp_path / "cut.json"
    path.write_text(json.dumps(data))
    said = " ".join(findings.warnings(findings.prepare(results.load([path]))))
    assert "Incomplete run" in said and "queue-latency-2p-8B-fork" in said
    assert "Loaded machine" in said and "3.50 on 2 CPUs" in said
    assert "Loaded machine" not in " ".join(findings.warnings(findings.prepare(results.load([FIXTURE]))))
