"""What a report says, computed from the loaded results: warnings, the recommendation, crossovers,
the cost model and how it was measured.  Every finding is a :class:`~ipcbench.table.Table` of
ready-formatted text, so the HTML page and the Markdown file render the very same figures.

The findings live by concern: the prepared frame (:mod:`ipcbench.frame`), the machine and its warnings
(:mod:`ipcbench.facts`), the recommendation (:mod:`ipcbench.recommend`), crossovers and the cost model
(:mod:`ipcbench.model`); this module holds the tables of every benchmark and names them all in one
place for the report.  pandas is imported inside functions: only ``ipcbench report`` reaches it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ipcbench import fmt, specs
from ipcbench.facts import LOAD_WARN, machine_table, not_installed, placements, warnings
from ipcbench.frame import BASELINE, CORE_PATTERNS, REFERENCE, by_key, fmt_spread, num, prepare, series_order
from ipcbench.model import (
    FIT_TOLERANCE,
    MIN_FIT_SIZES,
    PREDICT_AT,
    Crossover,
    Fit,
    cost_model,
    crossovers,
    fit_line,
)
from ipcbench.recommend import recommendations
from ipcbench.stability import SPREAD_WARN
from ipcbench.table import Table, aligned

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BASELINE",
    "CORE_PATTERNS",
    "FIT_TOLERANCE",
    "LOAD_WARN",
    "MIN_FIT_SIZES",
    "PREDICT_AT",
    "REFERENCE",
    "Crossover",
    "Fit",
    "Table",
    "all_benchmarks",
    "by_key",
    "cost_model",
    "crossovers",
    "extra_numeric_keys",
    "fit_line",
    "machine_table",
    "method_table",
    "not_installed",
    "pattern_table",
    "placements",
    "prepare",
    "recommendations",
    "row_figures",
    "series_order",
    "time_per_op_ns",
    "warnings",
]


def _range(values: pd.Series, fmt: Any = str) -> str:
    lo, hi = values.min(), values.max()
    return "—" if values.isna().all() else (fmt(lo) if lo == hi else f"{fmt(lo)}–{fmt(hi)}")


def method_table(df: pd.DataFrame) -> Table:
    """Per series and pattern: rounds, batch sizes, round times and spreads behind the figures."""
    targets = df["extra_info"].map(lambda info: info.get("round_time_target_s"))
    frame = df.assign(target_ms=targets.astype(float) * 1e3)
    rows = []
    for (series, pattern), g in frame.groupby(["series", "pattern"], sort=True):
        rows.append(
            (
                str(series),
                str(pattern),
                str(len(g)),
                _range(g["rounds"], lambda v: f"{v:.0f}"),
                _range(g["messages"], lambda v: f"{v:,.0f}"),
                _range(g["target_ms"], lambda v: f"{v:.0f} ms"),
                _range(g["round_ms"], lambda v: fmt.duration_s(v / 1e3)),
                f"{g['spread'].median():.0%}",
                f"{g['spread'].max():.0%}",
                str(int((g["spread"] >= SPREAD_WARN).sum())),
            )
        )
    headers = (
        "run",
        "pattern",
        "benchmarks",
        "rounds each",
        "batch (messages per round)",
        "round time target",
        "median round",
        "median spread",
        "worst spread",
        f"spread ≥ {SPREAD_WARN:.0%}",
    )
    caption = (
        "Warm workers start before any timing; each round moves one verified batch (count, sequence "
        "sum and byte sum checked) and the batch is calibrated to the round-time target. Figures come "
        "from the median round; spread is the standard deviation of the round times over their median."
    )
    return Table(headers, tuple(rows), caption, align=aligned(headers, range(2, len(headers))))


def row_figures(
    pattern: str,
    msgs_per_s: float,
    bytes_per_s: float,
    p50_ns: float | None,
    p99_ns: float | None,
    count: float | None = None,
) -> tuple[str, str, str, str]:
    """Rate, bytes/s, p50 and p99 of one benchmark, each only where it means something.

    Start-up is a time per start, never a rate of batches; one-sided patterns count operations;
    only what carries a payload has bytes/s.  A percentile left out for want of samples (``count``
    of them were timed) says so.
    """
    spec = specs.of(pattern)
    rate = fmt.rate(msgs_per_s, spec.noun) if spec.rate else ""
    absent = "" if count is None else f"n/a ({fmt.count(count)} {spec.samples})"
    return (
        rate,
        fmt.rate(bytes_per_s, "B") if spec.sized else "",
        absent if p50_ns is None else fmt.duration_ns(p50_ns),
        absent if p99_ns is None else fmt.duration_ns(p99_ns),
    )


def all_benchmarks(df: pd.DataFrame) -> Table:
    """Every benchmark with its figure and spread: the detail behind each chart."""
    many = df["series"].nunique() > 1
    rows = []
    ordered = df.sort_values(["series", "pattern", "mechanism", "processes", "shape", "payload_bytes"])
    for _, r in ordered.iterrows():
        spec = specs.of(str(r["pattern"]))
        p50, p99 = (num(r.get(spec.percentile(k) or "")) for k in ("p50", "p99"))
        cells = (
            str(r["scenario"]),
            *row_figures(
                spec.name, r["msgs_per_s"], r["bytes_per_s"], p50, p99, num(r.get(spec.count or ""))
            ),
            fmt.duration_s(r["round_ms"] / 1e3),
            fmt_spread(r["spread"]),
            f"{r['rounds']:.0f}" if r["rounds"] == r["rounds"] else "—",
            f"{r['messages']:,.0f}",
            "; ".join(r["warnings"]),
        )
        rows.append((str(r["series"]), *cells) if many else cells)
    headers = (
        "scenario",
        "rate",
        "bytes/s",
        "p50 (round trip or start)",
        "p99",
        "median round",
        "spread",
        "rounds",
        "batch",
        "warnings",
    )
    columns = ("run", *headers) if many else headers
    # Every column between the scenario and its warnings is a figure.
    return Table(columns, tuple(rows), align=aligned(columns, range(1 + many, len(columns) - 1)))


def extra_numeric_keys(df: pd.DataFrame) -> list[str]:
    """Numeric ``extra_info`` keys that no core pattern has: e.g. lost updates of a shared counter."""
    import ipcbench.schema as schema

    known = {*schema.REQUIRED_KEYS, "rounds", "round_time_target_s", "worker_span_ns", "cpus_usable"}
    known |= {"producers", "consumers", "pickle_protocol", "oversubscribed"}
    keys: dict[str, None] = {}
    for info in df["extra_info"]:
        for k, v in info.items():
            if k not in known and isinstance(v, int | float) and not isinstance(v, bool):
                keys[k] = None
    return list(keys)


def _fmt_extra(value: object) -> str:
    """A pattern's own field; missing, None or non-numeric in some rows is shown, not a crash."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "—" if value is None else str(value)
    return fmt.count(value) if float(value).is_integer() else fmt.plain(value)


def time_per_op_ns(row: Any) -> float:
    """How long one operation takes as one worker sees it.

    A pattern that times every operation by itself (start-up) has it as its headline.  Otherwise
    ``msgs_per_s`` counts the operations of all workers together: with ``w`` workers each one spends
    ``w / rate`` per operation.
    """
    spec = specs.of(str(row["pattern"]))
    per_op = num(row.get(spec.headline)) if spec.per_operation else None
    if per_op is not None:
        return per_op
    workers = max(1, int(row["producers"]))
    return workers * 1e9 / float(row["msgs_per_s"])


def pattern_table(df: pd.DataFrame) -> Table:
    """Every benchmark of a one-sided pattern with the columns that tell its rows apart."""
    many = df["series"].nunique() > 1
    extra = extra_numeric_keys(df)
    sized = df["payload_bytes"].nunique() > 1
    placed = "placement" in df and df["placement"].nunique() > 1
    # One pattern's rows, or the generic section's: a rate column unless none of them has a rate.
    spec = specs.of(str(df["pattern"].iloc[0])) if df["pattern"].nunique() == 1 else None
    no_rate = spec is not None and not spec.rate
    rows = []
    order = ["series", "mechanism", "start_method", "processes", "shape", "payload_bytes"]
    for _, r in df.sort_values(order).iterrows():
        cells = (
            str(r["mechanism"]),
            str(r["start_method"]),
            str(r["shape"]),
            *((fmt.size(r["payload_bytes"]),) if sized else ()),
            *((str(r["placement"]),) if placed else ()),
            *(() if no_rate else (fmt.rate(r["msgs_per_s"], "op"),)),
            *((fmt.rate(r["bytes_per_s"], "B"),) if sized else ()),
            fmt.duration_ns(time_per_op_ns(r)),
            fmt_spread(r["spread"]),
            *(_fmt_extra(r["extra_info"].get(k)) for k in extra),
        )
        rows.append((str(r["series"]), *cells) if many else cells)
    headers = (
        "mechanism",
        "start method",
        "processes",
        *(("payload",) if sized else ()),
        *(("placement",) if placed else ()),
        *(() if no_rate else ("operations/s (all workers)",)),
        *(("bytes/s",) if sized else ()),
        f"one {spec.measures} (p50)"
        if spec is not None and spec.per_operation
        else "time per operation (one worker)",
        "spread",
        *(k.replace("_", " ") for k in extra),
    )
    # The columns that tell the rows apart, then figures only.
    labels = many + 3 + sized + placed
    columns = ("run", *headers) if many else headers
    return Table(columns, tuple(rows), align=aligned(columns, range(labels, len(columns))))
