"""The report's charts: matplotlib (Agg, imported lazily), one PNG and one SVG per chart.

Colours are keyed by mechanism name and the same in every chart; line styles tell runs apart, so a
comparison of several runs reads as "same colour, same mechanism".
"""

from __future__ import annotations

import dataclasses
import functools
import math
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ipcbench import fmt, progress, roster, specs
from ipcbench.axes import compact, log_axis, payload_axis
from ipcbench.findings import time_per_op_ns
from ipcbench.frame import BASELINE, series_order
from ipcbench.model import Crossover
from ipcbench.scenario import format_size

if TYPE_CHECKING:
    import pandas as pd

#: One colour per known mechanism (colour-blind-friendly Tableau hues); the baseline is grey.
PALETTE = {
    "pipe": "#1f77b4",
    "pipe_bytes": "#2ca02c",
    "queue": "#d62728",
    "simple_queue": "#ff7f0e",
    BASELINE: "#555555",
}
#: Mechanisms added later get a stable colour from their name (crc32, not the salted ``hash``).
FALLBACK = ("#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#393b79", "#637939", "#843c39")
LINESTYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v", "P")
#: At most this many payload sizes get their own panel; the CSV and tables keep all of them.
MAX_PANELS = 4
PERCENTILES = (
    ("rtt_p50_ns", "p50", "o"),
    ("rtt_p90_ns", "p90", "^"),
    ("rtt_p99_ns", "p99", "s"),
    ("rtt_p999_ns", "p99.9", "D"),
)


@dataclasses.dataclass(frozen=True)
class Chart:
    """One saved chart: its files and the words that go with it."""

    key: str
    title: str
    caption: str
    png: Path
    svg: Path


#: Colours for the rest of the catalog: distinct within each pattern, so no two lines of one chart
#: share a colour (tab20 without the hues the fixed palette already uses).
CATALOG_COLOURS = (
    "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#393b79", "#637939", "#843c39",
    "#7b4173", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2",
)  # fmt: skip


@functools.cache
def _catalog_colours(generation: int) -> dict[str, str]:
    """Built-ins first, in registration order, so their colours never depend on a plugin."""
    out: dict[str, str] = {}
    by_pattern: dict[str, int] = {}
    for name, pattern in roster.families().items():
        if name in PALETTE:
            continue
        i = by_pattern[pattern] = by_pattern.get(pattern, -1) + 1
        out[name] = CATALOG_COLOURS[i % len(CATALOG_COLOURS)]
    return out


def colour(mechanism: str) -> str:
    return (
        PALETTE.get(mechanism)
        or _catalog_colours(roster.generation()).get(mechanism)
        or FALLBACK[zlib.crc32(mechanism.encode()) % len(FALLBACK)]
    )


def pick(column: Iterable[Any], n: int = MAX_PANELS) -> list[Any]:
    """Up to ``n`` of the sorted values, evenly spread and always the smallest and the largest."""
    values = sorted(set(column))
    if len(values) <= n:
        return values
    return [values[round(i * (len(values) - 1) / (n - 1))] for i in range(n)]


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _width(columns: int) -> float:
    """Inches: a lone panel is not stretched across the page; the legend keeps its room."""
    return min(12.0, 5.0 + 3.5 * columns)


def _grid(n: int) -> tuple[int, int]:
    return (1, n) if n <= 3 else (math.ceil(n / 2), 2)


def _styles(df: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """Line style and marker per series, in date order."""
    return {
        s: (LINESTYLES[i % len(LINESTYLES)], MARKERS[i % len(MARKERS)])
        for i, s in enumerate(series_order(df))
    }


def _legend(
    fig: Any, mechanisms: Sequence[str], styles: dict[str, tuple[str, str]], extra: Sequence[Any] = ()
) -> None:
    """One legend for the whole figure, outside the panels so it never covers a line."""
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=colour(m), lw=2.5, label=m) for m in mechanisms]
    if len(styles) > 1:
        handles += [
            Line2D([], [], color="black", ls=ls, marker=mk, label=s) for s, (ls, mk) in styles.items()
        ]
    handles += list(extra)
    fig.legend(handles=handles, loc="outside right upper", fontsize=9, frameon=False)


def _mechanisms(df: pd.DataFrame) -> list[str]:
    """Known mechanisms in palette order, then the others alphabetically, the baseline last."""
    names = set(df["mechanism"])
    known = [m for m in PALETTE if m in names and m != BASELINE]
    return known + sorted(names - set(PALETTE)) + ([BASELINE] if BASELINE in names else [])


def _save(fig: Any, out_dir: Path, key: str, title: str, caption: str) -> Chart:
    progress.note("report", f"drawing {title}")  # the drawing happens in savefig: seconds per chart
    fig.suptitle(title, fontsize=13, fontweight="bold")
    png, svg = out_dir / f"{key}.png", out_dir / f"{key}.svg"
    fig.savefig(png, dpi=110)
    # The layout is solved; solving it again for the SVG would cost as much as the drawing.
    fig.set_layout_engine("none")
    fig.savefig(svg)
    _plt().close(fig)
    return Chart(key, title, caption, png, svg)


def _medians(df: pd.DataFrame, keys: Sequence[str], values: Sequence[str]) -> pd.DataFrame:
    cols = [v for v in values if v in df]
    return df.groupby(list(keys), as_index=False, sort=True)[cols].median()


# --- 3. throughput vs process count -----------------------------------------------------------------


def scaling(df: pd.DataFrame, out_dir: Path) -> Chart | None:
    """msgs/s against the number of processes, one panel per payload, one line per mechanism."""
    part = df[(df["pattern"] == "throughput") & (df["producers"] == df["consumers"])]
    if part["processes"].nunique() < 2:  # one process count has no scaling to show
        return None
    plt = _plt()
    from matplotlib.lines import Line2D

    sizes = pick(part["payload_bytes"])
    rows, cols = _grid(len(sizes))
    fig, axes = plt.subplots(
        rows, cols, figsize=(_width(cols), 3.9 * rows), layout="constrained", squeeze=False
    )
    styles = _styles(part)
    data = _medians(
        part, ["series", "mechanism", "payload_bytes", "processes"], ["msgs_per_s", "msgs_lo", "msgs_hi"]
    )
    cpus = sorted({int(c) for c in part["cpus_usable"].dropna()})
    for ax, size in zip(axes.flat, sizes, strict=False):
        for (series, mech), g in data[data["payload_bytes"] == size].groupby(["series", "mechanism"]):
            ls, mk = styles[series]
            y = g["msgs_per_s"].to_numpy()
            # Clipped at 0: a median folded from several runs may sit outside their folded quartiles.
            err = [(y - g["msgs_lo"].to_numpy()).clip(0), (g["msgs_hi"].to_numpy() - y).clip(0)]
            ax.errorbar(g["processes"], y, yerr=err, color=colour(mech), ls=ls, marker=mk, capsize=3, lw=1.8)
        for c in cpus:
            ax.axvline(c, color="grey", ls=":", lw=1.2)
        log_axis(ax, "y")
        procs = sorted(part["processes"].unique())
        ax.set_xticks(procs)
        ax.set_xlim(min(procs) - 0.5, max(procs) + 0.5)
        ax.set_xlabel("worker processes (producers + consumers)")
        ax.set_ylabel("messages per second")
        ax.set_title(f"payload {format_size(int(size))}", fontsize=11)
    for ax in list(axes.flat)[len(sizes) :]:
        ax.set_visible(False)
    extra = [Line2D([], [], color="grey", ls=":", label="usable CPUs")] if cpus else []
    _legend(fig, _mechanisms(part), styles, extra)
    shown = ", ".join(format_size(int(s)) for s in sizes)
    caption = (
        f"Throughput (messages/s of the median round, log scale) as processes are added, for payloads "
        f"{shown}. Pairs only: equal numbers of producers and consumers (N:1 and 1:N shapes are in the "
        "tables). Whiskers span the rates of the quartile rounds (q1–q3). Right of the dotted line "
        "there are more processes than usable CPUs."
    )
    return _save(fig, out_dir, "throughput-vs-processes", "Throughput vs process count", caption)


# --- 4. throughput and bandwidth vs payload ---------------------------------------------------------


def payload_sweep(df: pd.DataFrame, found: Sequence[Crossover], out_dir: Path) -> Chart | None:
    """msgs/s and bytes/s against payload (log-log), os_pipe as a raw baseline, crossovers marked."""
    part = df[(df["pattern"] == "throughput") & (df["producers"] == df["consumers"])]
    if not len(part) or part["payload_bytes"].nunique() < 2:
        return None
    plt = _plt()
    from matplotlib.lines import Line2D

    shapes = [f"{p}p" for p in pick(part["processes"], 3)]
    fig, axes = plt.subplots(
        len(shapes), 2, figsize=(12, 3.9 * len(shapes)), layout="constrained", squeeze=False
    )
    styles = _styles(part)
    data = _medians(part, ["series", "mechanism", "shape", "payload_bytes"], ["msgs_per_s", "bytes_per_s"])
    for (ax_m, ax_b), shape in zip(axes, shapes, strict=True):
        for (series, mech), g in data[data["shape"] == shape].groupby(["series", "mechanism"]):
            ls, mk = styles[str(series)]
            mech = str(mech)
            for ax, col in ((ax_m, "msgs_per_s"), (ax_b, "bytes_per_s")):
                if mech == BASELINE:  # the raw baseline: a wide pale band under a dashed line
                    ax.plot(
                        g["payload_bytes"],
                        g[col],
                        color=colour(mech),
                        lw=7,
                        alpha=0.18,
                        solid_capstyle="round",
                    )
                    ax.plot(g["payload_bytes"], g[col], color=colour(mech), ls="--", lw=1.5, marker=mk, ms=4)
                else:
                    ax.plot(g["payload_bytes"], g[col], color=colour(mech), ls=ls, marker=mk, lw=1.8)
        here = [c for c in found if c.shape == shape]
        if here:  # one artist per panel: a sweep of many mechanisms can cross hundreds of times
            xs = [c.payload_bytes for c in here]
            ys_m = [c.msgs_per_s for c in here]
            ys_b = [c.msgs_per_s * c.payload_bytes for c in here]
            for ax, ys in ((ax_m, ys_m), (ax_b, ys_b)):
                ax.plot(xs, ys, marker="X", ms=10, color="black", mec="white", ls="none", zorder=5)
        for ax, what in ((ax_m, "messages per second"), (ax_b, "bytes per second")):
            log_axis(ax, "y")
            payload_axis(ax, part["payload_bytes"])
            ax.set_ylabel(what)
        ax_m.set_title(f"{shape}: messages/s", fontsize=11)
        ax_b.set_title(f"{shape}: bandwidth", fontsize=11)
    extra = [
        Line2D([], [], color=colour(BASELINE), ls="--", lw=1.5, label=f"{BASELINE}: raw baseline"),
        Line2D([], [], marker="X", ms=9, color="black", ls="none", label="crossover"),
    ]
    _legend(fig, [m for m in _mechanisms(part) if m != BASELINE], styles, extra)
    caption = (
        "Throughput and bandwidth as the payload grows (log–log), for pairs of "
        f"{', '.join(shapes)}. The grey dashed line with the pale band is {BASELINE}, the raw OS pipe of "
        "the same run (os.write/os.read with a length prefix): a reference, not a bound; a mechanism "
        "that writes large payloads in fewer calls can beat it. ✕ marks where two mechanisms "
        "swap places (interpolated between measured sizes; listed below the chart)."
    )
    return _save(fig, out_dir, "throughput-vs-payload", "Throughput and bandwidth vs payload size", caption)


# --- 5. latency -------------------------------------------------------------------------------------


def _latency_part(df: pd.DataFrame) -> tuple[pd.DataFrame, list[int]]:
    part = df[(df["pattern"] == "latency") & df["rtt_p50_ns"].notna()] if "rtt_p50_ns" in df else df.iloc[:0]
    shapes = pick(part["processes"], 2) if len(part) else []
    return part[part["processes"].isin(shapes)], shapes


def latency_percentiles(df: pd.DataFrame, out_dir: Path) -> Chart | None:
    """p50/p90/p99/p99.9 round trips per mechanism: dots on a whisker from p50 to p99.9."""
    part, _ = _latency_part(df)
    if not len(part):
        return None
    plt = _plt()
    from matplotlib.lines import Line2D

    sizes = pick(part["payload_bytes"])
    cols = [c for c, _, _ in PERCENTILES]
    data = _medians(part, ["series", "mechanism", "processes", "payload_bytes"], cols)
    many = data["series"].nunique() > 1
    order = {m: i for i, m in enumerate(_mechanisms(part))}
    cats = data[["series", "mechanism", "processes"]].drop_duplicates()
    cats = cats.assign(o=cats["mechanism"].map(order)).sort_values(["processes", "o", "series"])
    labels = [
        f"{m} · {p // 2} pair{'s' if p > 2 else ''}" + (f"\n{s}" if many else "")
        for s, m, p in cats[["series", "mechanism", "processes"]].itertuples(index=False)
    ]
    index = {
        tuple(k): i for i, k in enumerate(cats[["series", "mechanism", "processes"]].itertuples(index=False))
    }
    height = max(3.2, 0.34 * len(labels) * (1.6 if many else 1) + 1.4)
    fig, axes = plt.subplots(
        1, len(sizes), figsize=(_width(len(sizes)), height), layout="constrained", sharey=True, squeeze=False
    )
    for ax, size in zip(axes[0], sizes, strict=True):
        for r in data[data["payload_bytes"] == size].itertuples(index=False):
            y = index[(r.series, r.mechanism, r.processes)]
            vals = [getattr(r, c) / 1e3 for c in cols]
            # A percentile with too few round trips behind it is NaN: neither drawn nor reached.
            drawn = [v for v in vals if v == v]
            ax.plot([drawn[0], drawn[-1]], [y, y], color=colour(r.mechanism), lw=2, alpha=0.7)
            for v, (_, _, mk) in zip(vals, PERCENTILES, strict=True):
                ax.plot([v], [y], marker=mk, color=colour(r.mechanism), ms=7 if mk == "o" else 5, ls="none")
        log_axis(ax, "x")
        ax.set_xlabel("round trip, µs (log)")
        ax.set_title(f"payload {format_size(int(size))}", fontsize=11)
        ax.set_yticks(range(len(labels)))
        ax.set_yticklabels(labels, fontsize=9)
        ax.set_ylim(len(labels) - 0.5, -0.5)
    extra = [Line2D([], [], marker=mk, color="black", ls="none", label=name) for _, name, mk in PERCENTILES]
    _legend(fig, [], {}, extra)
    caption = (
        "Round-trip time of ping-pong pairs: the dot is the median (p50), the marks along the whisker "
        "are p90, p99 and p99.9 (a long whisker = a heavy tail). Colours are the mechanisms of the other "
        "charts; log scale."
    )
    return _save(fig, out_dir, "latency-percentiles", "Latency percentiles (round trip)", caption)


def latency_cdf(df: pd.DataFrame, out_dir: Path) -> Chart | None:
    """The RTT distribution as a percentile curve through the stored percentiles (min .. max)."""
    part, shapes = _latency_part(df)
    part = part[part["processes"] == min(shapes)] if shapes else part
    needed = ["rtt_min_ns", *(c for c, _, _ in PERCENTILES), "rtt_max_ns"]
    if not len(part) or any(c not in part for c in needed):
        return None
    plt = _plt()

    # Height in "nines": p50 -> 0.3, p90 -> 1, p99 -> 2, p99.9 -> 3; min at 0 and max one step above.
    levels = [0.0, -math.log10(0.5), 1.0, 2.0, 3.0, 3.6]
    names = ["min", "p50", "p90", "p99", "p99.9", "max"]
    sizes = pick(part["payload_bytes"])
    styles = _styles(part)
    data = _medians(part, ["series", "mechanism", "payload_bytes"], needed)
    fig, axes = plt.subplots(
        1, len(sizes), figsize=(_width(len(sizes)), 4.2), layout="constrained", sharey=True, squeeze=False
    )
    for ax, size in zip(axes[0], sizes, strict=True):
        for (series, mech), g in data[data["payload_bytes"] == size].groupby(["series", "mechanism"]):
            ls, mk = styles[str(series)]
            mech = str(mech)
            xs = [float(g[c].iloc[0]) / 1e3 for c in needed]
            # Percentiles with too few round trips behind them are NaN: left out, not drawn.
            pts = [(x, lv) for x, lv in zip(xs, levels, strict=True) if x == x]
            ax.plot(*zip(*pts, strict=True), color=colour(mech), ls=ls, marker=mk, ms=4, lw=1.6)
        log_axis(ax, "x")
        ax.set_yticks(levels)
        ax.set_yticklabels(names)
        ax.set_xlabel("round trip, µs (log)")
        ax.set_title(f"payload {format_size(int(size))}", fontsize=11)
    axes[0][0].set_ylabel("percentile of round trips")
    _legend(fig, _mechanisms(part), styles)
    pairs = min(shapes) // 2
    caption = (
        f"Distribution of round-trip times ({pairs} ping-pong pair{'s' if pairs > 1 else ''}), drawn "
        "through the stored percentiles min, p50, p90, p99, p99.9 and max: the results keep "
        "percentiles, not every round trip, so this is a percentile curve rather than a full CDF. "
        "The vertical axis counts nines; a curve further left is faster, a flatter top is a longer tail."
    )
    return _save(fig, out_dir, "latency-cdf", "Round-trip time distribution", caption)


# --- 6, 7. patterns added later: shared state, start-up ---------------------------------------------


def pattern_chart(
    df: pd.DataFrame, pattern: str, title: str, out_dir: Path, extra_keys: Sequence[str]
) -> Chart | None:
    """Operations/s against processes per mechanism (and start method), plus any loss counter."""
    part = df[df["pattern"] == pattern]
    if not len(part):
        return None
    plt = _plt()

    # Only counters this pattern's own rows carry (shared state's lost updates, not start-up's).
    lost = [
        k
        for k in extra_keys
        if "lost" in k and part["extra_info"].map(lambda i, k=k: isinstance(i.get(k), int | float)).any()
    ]
    panels = 1 + len(lost[:1])
    fig, axes = plt.subplots(
        1, panels, figsize=(12 if panels > 1 else 9, 4.2), layout="constrained", squeeze=False
    )
    styles = _styles(part)
    rows = part.assign(**{k: part["extra_info"].map(lambda i, k=k: i.get(k, math.nan)) for k in lost[:1]})
    # A cost (start-up) is drawn as the time of one operation in its own unit, lower is better.
    spec = specs.of(pattern)
    cost = not spec.higher_is_better
    if cost:
        rows = rows.assign(figure=[time_per_op_ns(r) * spec.scale for _, r in part.iterrows()])
    else:
        rows = rows.assign(figure=part["msgs_per_s"])
    by_method = rows["processes"].nunique() < 2
    x = "start_method" if by_method else "processes"
    # Payload sizes (bulk copies) are separate lines, never one median.
    keys = ["series", "mechanism", "start_method", "payload_bytes", "processes"]
    data = _medians(rows, keys, ["figure", *lost[:1]])
    methods = sorted(data["start_method"].unique())
    for ax, col, label in zip(
        axes[0],
        ["figure", *lost[:1]],
        [
            f"{spec.unit} per {spec.measures} (lower is better)" if cost else "operations per second",
            *lost[:1],
        ],
        strict=False,
    ):
        for (series, mech, method, _size), g in data.groupby(keys[:4]):
            ls, mk = styles[str(series)]
            mech = str(mech)
            xs = [methods.index(m) for m in g["start_method"]] if by_method else g["processes"]
            tag = f"{mech} · {method}" + (
                f" · {fmt.size(g['payload_bytes'].iloc[0])}" if rows["payload_bytes"].nunique() > 1 else ""
            )
            ax.plot(
                xs, g[col], color=colour(mech), ls=ls if not by_method else "none", marker=mk, ms=8, label=tag
            )
        if col == "figure":
            log_axis(ax, "y")
        else:  # a count: 233k, not matplotlib's 2.332 with "1e5" above the axis
            from matplotlib.ticker import FuncFormatter

            ax.yaxis.set_major_formatter(FuncFormatter(compact))
        ax.set_ylabel(label)
        if by_method:
            ax.set_xticks(range(len(methods)))
            ax.set_xticklabels(methods)
            ax.set_xlabel("start method")
        else:
            # Whole processes only: matplotlib would tick 2.25, 2.5, 2.75 between two counts.
            ax.set_xticks(sorted({int(v) for v in data["processes"]}))
            ax.set_xlabel("processes")
        ax.grid(True, alpha=0.3)
    _legend(fig, _mechanisms(part), styles)
    what = f"median time per {spec.measures}" if cost else "operations/s of the median round"
    caption = f"Benchmarks of the {pattern} pattern: {what} by {x.replace('_', ' ')}."
    if lost:
        caption += f" Right: {lost[0]} (from the benchmark's own counter)."
    return _save(fig, out_dir, pattern.replace("_", "-"), title, caption)
