"""``ipcbench report``: saved results -> one self-contained HTML page, the same findings as Markdown,
every chart as PNG and SVG, and the tidy table as CSV.

The page answers first (which mechanism, by how much) and then shows why (the charts), how sure
(spread, warnings) and how it was measured.  The findings come from :mod:`ipcbench.findings`, the
charts from :mod:`ipcbench.charts`; this module only lays them out.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ipcbench import errors, progress, results, specs, table
from ipcbench.table import Table, escape

if TYPE_CHECKING:
    import pandas as pd

    from ipcbench.charts import Chart

#: Crossovers listed under the payload chart; more are counted, not listed.
MAX_CROSSOVERS = 30


def optional_sections() -> tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]:
    """The sections of patterns that may be absent, as their specs place them: section id, title, and
    its patterns with a chart title each."""
    sections: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for spec in specs.SPECS.values():
        if spec.section is not None:
            sections.setdefault(spec.section, []).append((spec.name, spec.title or spec.name))
    return tuple((sid, title, tuple(patterns)) for (sid, title), patterns in sections.items())


class ReportError(Exception):
    """The report could not be written; one line meant for the user."""


@dataclasses.dataclass(frozen=True)
class Section:
    """One part of the page, in the order the reader meets it."""

    id: str
    title: str
    text: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    charts: tuple[Chart, ...] = ()
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    details: tuple[tuple[str, Table], ...] = ()


def build(paths: Iterable[str | Path], out_dir: str | Path) -> Path:
    """Load ``paths`` (raises :class:`results.LoadError`), write the report into ``out_dir``.

    Returns the path of ``index.html``.
    """
    df = results.load(paths)
    progress.note("report", f"{len(df)} benchmarks loaded; writing the report")
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"cannot create {out}: {exc.strerror or exc}") from None
    if not out.is_dir():
        raise ReportError(f"{out} is not a directory")
    try:
        return _write(df, out)
    except OSError as exc:
        raise ReportError(f"cannot write the report in {out}: {exc.strerror or exc}") from None


def _write(raw: pd.DataFrame, out: Path) -> Path:
    from ipcbench import charts, findings, method_check

    df = findings.prepare(raw)
    _write_csv(df, out / "results.csv")
    crossings = findings.crossovers(df)
    many = df["series"].nunique() > 1
    listed = [c.describe(many) for c in crossings[:MAX_CROSSOVERS]]
    if len(crossings) > MAX_CROSSOVERS:
        listed.append(f"… and {len(crossings) - MAX_CROSSOVERS} more crossovers")
    sections = [
        Section(
            "machine",
            "Machine and run",
            text=(*findings.placements(df), *findings.not_installed(df)),
            tables=(findings.machine_table(df),),
            warnings=tuple(findings.warnings(df)),
        ),
        Section(
            "recommendation",
            "Recommendation: the fastest mechanism",
            tables=tuple(t for t in findings.recommendations(df) if t.headers or t.caption),
        ),
        _chart_section(
            "scaling",
            "Throughput vs process count",
            charts.scaling(df, out),
            "Not in this run: needs throughput benchmarks of pairs at two or more process counts.",
        ),
        _chart_section(
            "payload",
            "Throughput and bandwidth vs payload size",
            charts.payload_sweep(df, crossings, out),
            "Not in this run: needs throughput benchmarks at two or more payload sizes.",
            notes=tuple(listed)
            if listed
            else ("No crossovers: the order of the mechanisms holds at every size.",),
        ),
        Section(
            "latency",
            "Latency",
            charts=tuple(c for c in (charts.latency_percentiles(df, out), charts.latency_cdf(df, out)) if c),
            text=() if (df["pattern"] == "latency").any() else ("Not in this run: no latency benchmarks.",),
        ),
    ]
    extra = findings.extra_numeric_keys(df)
    optional = optional_sections()
    for sid, title, patterns in optional:
        present = [(p, t) for p, t in patterns if (df["pattern"] == p).any()]
        if present:
            found = [charts.pattern_chart(df, p, t, out, extra) for p, t in present]
            tables = tuple(findings.pattern_table(df[df["pattern"] == p]) for p, _ in present)
            sections.append(Section(sid, title, charts=tuple(c for c in found if c), tables=tables))
        else:
            names = " or ".join(p for p, _ in patterns)
            sections.append(Section(sid, title, text=(f"Not in this run: no {names} benchmarks.",)))
    check = method_check.steady_state_table(df)
    if check is not None:
        sections.append(Section("start-methods", "Start methods in steady state", tables=(check,)))
    known = {p for _, _, patterns in optional for p, _ in patterns}
    for pattern in sorted(set(df["pattern"]) - {*findings.CORE_PATTERNS, *known}):
        part = df[df["pattern"] == pattern]
        title = pattern.replace("_", " ").capitalize()
        sections.append(Section(f"pattern-{pattern}", title, tables=(findings.pattern_table(part),)))
    sections += [
        Section("cost-model", "Cost model: latency ≈ α + β·bytes", tables=(findings.cost_model(df),)),
        Section(
            "method",
            "How it was measured",
            tables=(findings.method_table(df),),
            details=(("Every benchmark, with its spread", findings.all_benchmarks(df)),),
        ),
    ]
    title = _title(df)
    (out / "report.md").write_text(_markdown(title, sections), encoding="utf-8")
    index = out / "index.html"
    index.write_text(_html(title, sections), encoding="utf-8")
    return index


def _chart_section(
    sid: str, title: str, chart: Chart | None, absent: str, notes: tuple[str, ...] = ()
) -> Section:
    if chart is None:
        return Section(sid, title, text=(absent,))
    return Section(sid, title, charts=(chart,), notes=notes)


def _title(df: pd.DataFrame) -> str:
    runs = df.drop_duplicates("file")
    if len(runs) == 1:
        r = runs.iloc[0]
        return f"ipcbench report: {r['host']}, {str(r['datetime'])[:16].replace('T', ' ')}"
    return f"ipcbench report: {len(runs)} runs compared"


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    """The tidy table, one row per benchmark; list columns joined so any spreadsheet reads it."""
    flat = df.drop(columns=["data", "extra_info", "msgs_lo", "msgs_hi"], errors="ignore")
    joined = {
        c: flat[c].map(lambda v: "; ".join(map(str, v)) if isinstance(v, list) else v)
        for c in ("warnings", "failed", "not_run", "not_installed")
    }
    flat.assign(**joined).to_csv(path, index=False)


# --- HTML -------------------------------------------------------------------------------------------


def _html_chart(chart: Chart) -> str:
    data = base64.b64encode(chart.png.read_bytes()).decode("ascii")
    alt = escape(chart.title)
    files = f'<span class="files">(files: {escape(chart.png.name)}, {escape(chart.svg.name)})</span>'
    return (
        f'<figure id="chart-{chart.key}"><img alt="{alt}" src="data:image/png;base64,{data}">'
        f"<figcaption>{escape(chart.caption)} {files}</figcaption></figure>"
    )


def _html(title: str, sections: Sequence[Section]) -> str:
    nav = "".join(f'<a href="#{s.id}">{escape(s.title.split(":")[0])}</a>' for s in sections)
    parts = [f"<nav>{nav}</nav>"]
    for s in sections:
        parts.append(f'<section id="{s.id}"><h2>{escape(s.title)}</h2>')
        parts += [f'<div class="warn">⚠ {escape(w)}</div>' for w in s.warnings]
        parts += [f'<p class="absent">{escape(t)}</p>' for t in s.text]
        parts += [table.html(t) for t in s.tables]
        parts += [_html_chart(c) for c in s.charts]
        if s.notes:
            parts.append("<ul>" + "".join(f"<li>{escape(n)}</li>" for n in s.notes) + "</ul>")
        for summary, details in s.details:
            parts.append(f"<details><summary>{escape(summary)}</summary>{table.html(details)}</details>")
        parts.append("</section>")
    return table.page(title, parts)


# --- Markdown ---------------------------------------------------------------------------------------


def _markdown(title: str, sections: Sequence[Section]) -> str:
    out = [f"# {title}", ""]
    for s in sections:
        out += [f"## {s.title}", ""]
        out += [f"> ⚠ {w}\n" for w in s.warnings]
        out += [f"_{t}_\n" for t in s.text]
        out += [table.markdown(t) for t in s.tables]
        for c in s.charts:
            out += [f"![{c.title}]({c.png.name})", "", f"{c.caption} (SVG: `{c.svg.name}`)", ""]
        out += [f"- {n}" for n in s.notes] + ([""] if s.notes else [])
        for summary, details in s.details:
            out += [f"<details><summary>{summary}</summary>", "", table.markdown(details), "</details>", ""]
    return "\n".join(out)


# --- command line -----------------------------------------------------------------------------------


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``ipcbench report RESULTS... [-o DIR]``; the CLI adds the subcommand and dispatches here."""
    p.add_argument("results", nargs="+", metavar="RESULTS", help="results JSON files (several are compared)")
    p.add_argument(
        "-o", "--output", default="report", metavar="DIR", help="output directory (default report/)"
    )
    return p


def cmd_report(args: argparse.Namespace) -> int:
    try:
        index = build(args.results, args.output)
    except (results.LoadError, ReportError) as exc:
        return errors.usage("report", exc)
    print(index)
    return errors.EXIT_OK
