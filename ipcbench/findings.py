"""What a report says, computed from the loaded results: warnings, the recommendation, crossovers,
the cost model and how it was measured.  Every finding is a :class:`Table` of ready-formatted text,
so the HTML page and the Markdown file render the very same figures.

pandas and numpy are imported inside functions: this module is only reached from ``ipcbench report``.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import numbers
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ipcbench import catalog, fmt, mechanisms
from ipcbench.runner import SPREAD_WARN

if TYPE_CHECKING:
    import pandas as pd

#: The raw OS pipe: drawn beside the pipe-based mechanisms in the payload chart.
BASELINE = "os_pipe"
#: What most code uses; every winner is also compared with it.
REFERENCE = "queue"
#: The patterns with their own chart sections (other patterns get their own generic section).
CORE_PATTERNS = ("throughput", "latency")
#: A machine whose 1-minute load at start is at least this share of its usable CPUs is "loaded".
LOAD_WARN = 0.5


@dataclasses.dataclass(frozen=True)
class Table:
    """A finding as text cells: rendered alike into HTML and Markdown."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""
    #: One sentence that comes before the table: the table's answer in words.
    lead: str = ""


@dataclasses.dataclass(frozen=True)
class Crossover:
    """Between two adjacent payload sizes, ``faster_above`` overtakes ``faster_below``."""

    series: str
    shape: str
    faster_below: str
    faster_above: str
    payload_bytes: float
    msgs_per_s: float
    within_spread: bool

    def describe(self, with_series: bool) -> str:
        where = f"{self.series}, " if with_series else ""
        noise = " (within spread: may be noise)" if self.within_spread else ""
        return (
            f"{where}{self.shape}: {self.faster_above} overtakes {self.faster_below} "
            f"above ≈{fmt.size(self.payload_bytes)}{noise}"
        )


# --- formatting -------------------------------------------------------------------------------------


def fmt_spread(spread: float) -> str:
    return f"±{fmt.percent(spread)}" if math.isfinite(spread) else "±?"


# --- preparing the frame ----------------------------------------------------------------------------


def prepare(df: pd.DataFrame) -> pd.DataFrame:
    """Add the columns every finding and chart shares: ``series``, ``spread``, rate ranges, RTT in µs.

    A series is one run (host and date) and, when the results mix start methods or placements, one
    start method and one placement: the unit a chart draws as one line per mechanism.
    """
    import pandas as pd

    when = pd.to_datetime(df["datetime"], errors="coerce", utc=True, format="ISO8601")
    stamp = when.dt.strftime("%Y-%m-%d %H:%M").fillna("undated")
    label = df["host"].fillna("unknown host").astype(str) + " " + stamp
    # Two files from the same host and minute still need two names.
    per_label = df.groupby(label)["file"].transform("nunique")
    label = label.where(per_label <= 1, label + " (" + df["run"].astype(str) + ")")
    if df["start_method"].nunique() > 1:
        label = label + " · " + df["start_method"]
    # Pinned and unpinned workers are different experiments: never one median.
    if "placement" in df and df["placement"].nunique() > 1:
        label = label + " · placement " + df["placement"].astype(str)
    out = df.assign(series=label)
    spread = out["stddev"] / out["median"] if "stddev" in out else pd.Series(math.nan, index=out.index)
    # Rates at the quartile rounds: the whiskers of a throughput figure (stats are seconds per message).
    q1 = out["q1"] if "q1" in out else out["median"]
    q3 = out["q3"] if "q3" in out else out["median"]
    return out.assign(
        spread=spread,
        msgs_lo=1 / q3,
        msgs_hi=1 / q1,
        round_ms=out["median"] * out["messages"] * 1e3,
    )


def series_order(df: pd.DataFrame) -> list[str]:
    """Series in the order of their runs' dates, so colours/styles are stable between reports."""
    return list(df.sort_values(["datetime", "series"], na_position="last")["series"].drop_duplicates())


def by_key(df: pd.DataFrame, keys: Sequence[str], value: str) -> pd.DataFrame:
    """Median of ``value`` (and of the spread) per key: duplicates of a scenario in one series fold."""
    cols = [c for c in (value, "spread", "msgs_lo", "msgs_hi", "bytes_per_s") if c in df]
    return df.groupby(list(keys), as_index=False, sort=True)[list(dict.fromkeys(cols))].median()


# --- 1. machine and run -----------------------------------------------------------------------------


def machine_table(df: pd.DataFrame) -> Table:
    """One column per run: what the figures were measured on."""
    runs = df.drop_duplicates("file")

    def cell(value: Any) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "—"
        return str(value)

    def cores(r: Any) -> str:
        return f"{cell(r['cores_physical'])} physical / {cell(r['cores_logical'])} logical"

    def load(r: Any) -> str:
        load = _num(r["load_1m"])
        return "—" if load is None else f"{load:.2f} (1-minute average)"

    def commit(r: Any) -> str:
        return cell(r["commit"])[:12]

    def made_by(r: Any) -> str:
        # A clone's commit, and "modified" when its tree had uncommitted changes; None in older files.
        source = cell(r.get("ipcbench_commit"))[:12]
        if source != "—" and r.get("ipcbench_dirty") is True:
            source += ", modified"
        return cell(r.get("ipcbench_version")) + ("" if source == "—" else f" ({source})")

    def state(r: Any) -> str:
        if r["complete"]:
            return "complete"
        missing = len(r["failed"]) + len(r["not_run"])
        return f"INCOMPLETE ({missing} scenarios missing)"

    fields: list[tuple[str, Any]] = [
        ("host", lambda r: cell(r["host"])),
        ("when", lambda r: cell(r["datetime"])),
        ("CPU model", lambda r: cell(r["cpu_model"])),
        ("cores", cores),
        ("usable CPUs", lambda r: cell(r["cpus_usable"])),
        ("Python", lambda r: cell(r["python"])),
        ("platform", lambda r: cell(r["platform"])),
        (
            "start methods",
            lambda r: f"{cell(r['start_methods'])} (default {cell(r['default_start_method'])})",
        ),
        ("load at start", load),
        ("commit", commit),
        ("ipcbench", made_by),
        ("profile", lambda r: cell(r["profile"])),
        ("benchmarks", lambda r: str(int((df["file"] == r["file"]).sum()))),
        ("run state", state),
        ("file", lambda r: cell(r["file"])),
    ]
    rows = tuple((name, *(fn(r) for _, r in runs.iterrows())) for name, fn in fields)
    headers = ("", *(str(s) for s in runs["series"].str.split(" · ").str[0]))
    return Table(headers, rows)


def _num(value: Any) -> float | None:
    """A number from an optional column (None, NaN or missing -> None)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        return None
    return float(value)


def not_installed(df: pd.DataFrame) -> list[str]:
    """One line per run that skipped optional peers because their module was missing (no warning:
    the run is complete without them)."""
    out: list[str] = []
    runs = df.drop_duplicates("file")
    for _, r in runs.iterrows():
        ids = r["not_installed"]
        if not ids:
            continue
        where = f" in {r['file']}" if len(runs) > 1 else ""
        out.append(f"Not measured{where}, {mechanisms.not_installed_line(ids)}.")
    return out


def warnings(df: pd.DataFrame) -> list[str]:
    """The reasons to distrust some figures, most serious first."""
    out: list[str] = []
    for _, r in df.drop_duplicates("file").iterrows():
        if not r["complete"]:
            missing = [*r["failed"], *r["not_run"]]
            shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
            out.append(
                f"Incomplete run {r['file']}: {len(missing)} scenarios have no figures"
                + (f" ({shown})" if shown else "")
                + "."
            )
        cpus = _num(r["cpus_usable"]) or _num(r["cores_logical"])
        load = _num(r["load_1m"])
        if load is not None and cpus and load >= LOAD_WARN * cpus:
            out.append(
                f"Loaded machine: {r['host']} had a 1-minute load of {load:.2f} on {cpus:.0f} CPUs when "
                f"{r['file']} started; other work shared the CPUs and slowed some figures."
            )
    over = df[df["oversubscribed"]]
    if len(over):
        out.append(
            f"Oversubscribed: {len(over)} of {len(df)} benchmarks ran more processes than usable CPUs "
            f"(up to {int(over['processes'].max())} processes); they measure contention as much as IPC."
        )
    high = df[df["spread"] >= SPREAD_WARN]
    if len(high):
        worst = high.sort_values("spread").iloc[-1]
        out.append(
            f"High spread: {len(high)} of {len(df)} benchmarks have a round-time standard deviation of "
            f"{SPREAD_WARN:.0%} or more of the median (worst {worst['spread']:.0%}, {worst['scenario']}); "
            "differences smaller than the spread are not findings."
        )
    return out


# --- 2. the recommendation --------------------------------------------------------------------------


def _metric(pattern: str) -> tuple[str, bool]:
    """The column that ranks a pattern's mechanisms, and whether higher is better."""
    return ("msgs_per_s", True) if pattern == "throughput" else ("rtt_p50_ns", False)


def _candidates(names: Any) -> Any:
    """Which of ``names`` a user can adopt: neither a raw baseline nor a hand-made channel."""
    return names.map(lambda m: catalog.kind(str(m)) == catalog.IMPORTABLE)


def recommendations(df: pd.DataFrame) -> tuple[Table, Table]:
    """For each series, pattern, process shape and payload: the fastest mechanism a user can import,
    and by how much; then what the raw baselines and hand-made channels reach beside it."""
    many = df["series"].nunique() > 1
    rows: list[tuple[str, ...]] = []
    refs: list[tuple[str, ...]] = []
    core = df[df["pattern"].isin(CORE_PATTERNS)]
    if not len(core):
        return Table((), (), "No throughput or latency benchmarks in these results."), Table((), ())
    keys = ["series", "pattern", "processes", "shape", "payload_bytes"]
    winners: dict[str, list[str]] = {}
    crowded = set(
        zip(
            core.loc[core["oversubscribed"], "series"],
            core.loc[core["oversubscribed"], "processes"],
            strict=True,
        )
    )
    for pattern in CORE_PATTERNS:
        part = core[core["pattern"] == pattern]
        if not len(part):
            continue
        value, higher = _metric(pattern)
        table = by_key(part, [*keys, "mechanism"], value)
        for key, group in table.groupby(keys, sort=True):
            series, shape, payload = str(key[0]), str(key[3]), float(key[4])  # type: ignore[arg-type]
            ranked = group[_candidates(group["mechanism"])].sort_values(value, ascending=not higher)
            if not len(ranked):
                continue
            best = ranked.iloc[0]
            winners.setdefault(pattern, []).append(str(best["mechanism"]))

            def times(other: Any, best: Any = best, value: str = value, higher: bool = higher) -> float:
                """How many times faster ``best`` is than ``other`` (< 1: slower)."""
                ratio: float = best[value] / other[value] if higher else other[value] / best[value]
                return ratio

            def figure(r: Any, pattern: str = pattern) -> str:
                if pattern == "throughput":
                    return f"{fmt.rate(r['msgs_per_s'])} · {fmt.rate(r['bytes_per_s'], 'B')}"
                return f"{fmt.duration_ns(r['rtt_p50_ns'])} p50 RTT"

            runner_up = "—"
            if len(ranked) > 1:
                second = ranked.iloc[1]
                ratio = times(second)
                tie = ratio - 1 < max(best["spread"], second["spread"])
                runner_up = f"{fmt.ratio(ratio)} vs {second['mechanism']}" + (
                    " (within spread)" if tie else ""
                )
            ref = ranked[ranked["mechanism"] == REFERENCE]
            if best["mechanism"] == REFERENCE:
                vs_ref = "is queue"
            else:
                vs_ref = fmt.ratio(times(ref.iloc[0])) if len(ref) else "—"
            where = (
                pattern,
                shape + (" (oversubscribed)" if (series, key[2]) in crowded else ""),
                fmt.size(payload),
            )
            cells = (
                *where,
                best["mechanism"],
                f"{figure(best)} {fmt_spread(best['spread'])}",
                runner_up,
                vs_ref,
            )
            rows.append((series, *cells) if many else cells)
            for _, other in group[~_candidates(group["mechanism"])].iterrows():
                speed = 1 / times(other)
                reach = f"{fmt.ratio(speed)} faster" if speed >= 1 else f"{fmt.ratio(1 / speed)} slower"
                cells = (
                    *where,
                    str(other["mechanism"]),
                    catalog.kind(str(other["mechanism"])),
                    f"{figure(other)} {fmt_spread(other['spread'])}",
                    f"{reach} than {best['mechanism']}",
                )
                refs.append((series, *cells) if many else cells)
    headers = (
        "pattern",
        "processes",
        "payload",
        "fastest",
        "its figure (spread)",
        "vs runner-up",
        f"vs {REFERENCE}",
    )
    caption = (
        "Fastest mechanism a user can import (the standard library's, or an installed peer's) for each "
        "pattern, process shape (2p = one producer and one consumer; 4p-3to1 = three producers, one "
        "consumer) and payload. Throughput ranks by messages/s of the median round, latency by the "
        "median round trip. × = how many times faster. Spread = standard deviation of the round times "
        "over their median; a lead smaller than the spread is marked."
    )
    ref_headers = (
        "pattern",
        "processes",
        "payload",
        "reference",
        "kind",
        "its figure (spread)",
        "vs fastest",
    )
    ref_caption = (
        "Not candidates, shown for scale: raw baselines (the OS or memory path with no framing or "
        "pickling) and channels ipcbench builds by hand from shared memory and semaphores, each beside "
        "the fastest importable mechanism of the same case."
    )
    return (
        Table(("run", *headers) if many else headers, tuple(rows), caption, _lead(winners)),
        Table(("run", *ref_headers) if many else ref_headers, tuple(refs), ref_caption, _REF_LEAD)
        if refs
        else Table((), ()),
    )


_REF_LEAD = "For scale, not to adopt: what raw baselines and hand-made channels reach beside the winner."


def _lead(winners: dict[str, list[str]]) -> str:
    """``Throughput: pipe_bytes is fastest in 6 of 12 cases, queue in 3, ...``."""
    import collections

    parts = []
    for pattern, names in winners.items():
        counts = collections.Counter(names).most_common()
        (top, n), rest = counts[0], counts[1:]
        text = f"{pattern.capitalize()}: {top} is fastest in {n} of {len(names)} cases"
        parts.append(text + "".join(f", {m} in {k}" for m, k in rest) + ".")
    return " ".join(parts)


# --- 4. crossovers ----------------------------------------------------------------------------------


def crossovers(df: pd.DataFrame) -> list[Crossover]:
    """Where two mechanisms swap places in throughput as the payload grows (log-log interpolation)."""
    part = df[(df["pattern"] == "throughput") & _candidates(df["mechanism"])]
    if not len(part):
        return []
    table = by_key(part, ["series", "shape", "mechanism", "payload_bytes"], "msgs_per_s")
    found: list[Crossover] = []
    for (series, shape), group in table.groupby(["series", "shape"], sort=True):
        rate = group.pivot(index="payload_bytes", columns="mechanism", values="msgs_per_s").sort_index()
        noise = group.pivot(index="payload_bytes", columns="mechanism", values="spread").sort_index()
        sizes = [float(s) for s in rate.index]
        mechs = [str(m) for m in rate.columns]
        r, n = rate.to_numpy(dtype=float), noise.fillna(0.0).to_numpy(dtype=float)
        for i, j in itertools.combinations(range(len(mechs)), 2):
            for k in range(len(sizes) - 1):
                a1, a2, b1, b2 = r[k, i], r[k + 1, i], r[k, j], r[k + 1, j]
                if not all(v > 0 for v in (a1, a2, b1, b2)):  # also skips NaN: a size one of them lacks
                    continue
                d1, d2 = math.log(a1 / b1), math.log(a2 / b2)
                if d1 * d2 >= 0:
                    continue
                f = d1 / (d1 - d2)
                lp1, lp2 = math.log(sizes[k]), math.log(sizes[k + 1])
                x = math.exp(lp1 + f * (lp2 - lp1))
                y = math.exp(math.log(a1) + f * (math.log(a2) - math.log(a1)))
                worst = float(max(n[k, i], n[k + 1, i], n[k, j], n[k + 1, j]))
                tie = min(abs(d1), abs(d2)) < math.log1p(worst)
                below, above = (mechs[i], mechs[j]) if d1 > 0 else (mechs[j], mechs[i])
                found.append(Crossover(str(series), str(shape), below, above, x, y, tie))
    return found


# --- 8. the cost model ------------------------------------------------------------------------------


#: A line whose worst point is off by more than this share of the measured round trip is not shown.
FIT_TOLERANCE = 0.25
#: Fewer sizes leave nothing to check the line against: two points always fit exactly.
MIN_FIT_SIZES = 3
#: The payload the model is asked about.
PREDICT_AT = 1 << 20


@dataclasses.dataclass(frozen=True)
class Fit:
    """latency ≈ alpha + beta·bytes over the measured sizes, and how far its worst point is off."""

    alpha_ns: float
    beta_ns_per_byte: float
    #: The largest |fit - measured| / measured over the points: the fit's error, in the data's terms.
    worst_error: float
    sizes: tuple[float, ...]

    @property
    def fits(self) -> bool:
        return self.alpha_ns > 0 and self.beta_ns_per_byte >= 0 and self.worst_error <= FIT_TOLERANCE

    def at(self, payload: float) -> float:
        return self.alpha_ns + self.beta_ns_per_byte * payload


def fit_line(payloads: Iterable[float], rtt_ns: Iterable[float]) -> Fit:
    """Least squares on *relative* residuals (each point weighted by 1/its round trip).

    Unweighted, the largest payloads (milliseconds) dominate and the small-payload cost (tens of
    microseconds) comes out wrong by several times; relative residuals make every size count alike,
    so α is the cost of a small message as measured.
    """
    import numpy as np

    x, y = np.asarray(list(payloads), dtype=float), np.asarray(list(rtt_ns), dtype=float)
    beta, alpha = np.polyfit(x, y, 1, w=1 / y)
    worst = float(np.max(np.abs(alpha + beta * x - y) / y))
    return Fit(float(alpha), float(beta), worst, tuple(float(v) for v in x))


def cost_model(df: pd.DataFrame) -> Table:
    """latency ≈ α + β·bytes per mechanism and shape, where such a line fits the measured RTTs."""
    many = df["series"].nunique() > 1
    part = df[df["pattern"] == "latency"]
    rows: list[tuple[str, ...]] = []
    if len(part):
        table = by_key(part, ["series", "shape", "mechanism", "payload_bytes"], "rtt_p50_ns")
        for (series, shape, mech), group in table.groupby(["series", "shape", "mechanism"], sort=True):
            x = group["payload_bytes"].to_numpy(dtype=float)
            y = group["rtt_p50_ns"].to_numpy(dtype=float)
            measured = f"{fmt.size(x.min())}–{fmt.size(x.max())} ({len(x)} sizes)"
            if len(x) < MIN_FIT_SIZES:
                cells: tuple[str, ...] = (
                    str(mech),
                    str(shape),
                    "—",
                    "—",
                    measured,
                    f"not fitted: needs ≥{MIN_FIT_SIZES} sizes",
                    "—",
                )
            else:
                fit = fit_line(x, y)
                error = f"worst point off by {fmt.percent(fit.worst_error)}"
                if not fit.fits:
                    why = "α ≤ 0" if fit.alpha_ns <= 0 else "β < 0" if fit.beta_ns_per_byte < 0 else error
                    cells = (str(mech), str(shape), "—", "—", measured, f"no line fits ({why})", "—")
                else:
                    at = fmt.duration_ns(fit.at(PREDICT_AT))
                    beyond = PREDICT_AT / x.max()
                    if beyond > 1:
                        at = f"{at}, predicted {fmt.ratio(beyond)} beyond the largest size measured"
                    cells = (
                        str(mech),
                        str(shape),
                        fmt.duration_ns(fit.alpha_ns),
                        f"{fmt.plain(fit.beta_ns_per_byte)} ns/B",
                        measured,
                        error,
                        at,
                    )
            rows.append((str(series), *cells) if many else cells)
    headers = (
        "mechanism",
        "processes",
        "α (fixed cost)",
        "β (per payload byte)",
        "measured",
        "fit",
        f"model at {fmt.size(PREDICT_AT)}",
    )
    caption = (
        "latency ≈ α + β·bytes, fitted to the median round trip (p50) of each payload size, every size "
        "weighted alike (least squares on relative errors), so α is the small-message cost as measured. "
        "A round trip carries the payload both ways, so β is the cost of a payload byte there and back. "
        f"A line whose worst point is off by more than {FIT_TOLERANCE:.0%} is not shown; below "
        f"{MIN_FIT_SIZES} sizes nothing checks the line. A model figure beyond the largest size measured "
        "is a prediction and says so."
    )
    return Table(("run", *headers) if many else headers, tuple(rows), caption)


# --- 9. how it was measured -------------------------------------------------------------------------


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
    return Table(headers, tuple(rows), caption)


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
    messaging = pattern in CORE_PATTERNS
    rate = "" if pattern == "startup" else fmt.rate(msgs_per_s, "msg" if messaging else "op")
    sized = messaging or pattern == "bulk"
    what = "starts" if pattern == "startup" else "round trips"
    absent = "" if count is None else f"n/a ({fmt.count(count)} {what})"
    return (
        rate,
        fmt.rate(bytes_per_s, "B") if sized else "",
        absent if p50_ns is None else fmt.duration_ns(p50_ns),
        absent if p99_ns is None else fmt.duration_ns(p99_ns),
    )


def all_benchmarks(df: pd.DataFrame) -> Table:
    """Every benchmark with its figure and spread: the detail behind each chart."""
    many = df["series"].nunique() > 1
    rows = []
    ordered = df.sort_values(["series", "pattern", "mechanism", "processes", "shape", "payload_bytes"])
    for _, r in ordered.iterrows():
        times = "op" if r["pattern"] == "startup" else "rtt"
        p50, p99 = (_num(r.get(f"{times}_{k}_ns")) for k in ("p50", "p99"))
        cells = (
            str(r["scenario"]),
            *row_figures(
                str(r["pattern"]), r["msgs_per_s"], r["bytes_per_s"], p50, p99, _num(r.get(f"{times}_count"))
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
    return Table(("run", *headers) if many else headers, tuple(rows))


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

    Start-up times every start itself (``op_p50_ns``).  Otherwise ``msgs_per_s`` counts the
    operations of all workers together: with ``w`` workers each one spends ``w / rate`` per operation.
    """
    per_op = _num(row.get("op_p50_ns")) if row["pattern"] == "startup" else None
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
    startup = bool((df["pattern"] == "startup").all())
    rows = []
    order = ["series", "mechanism", "start_method", "processes", "shape", "payload_bytes"]
    for _, r in df.sort_values(order).iterrows():
        cells = (
            str(r["mechanism"]),
            str(r["start_method"]),
            str(r["shape"]),
            *((fmt.size(r["payload_bytes"]),) if sized else ()),
            *((str(r["placement"]),) if placed else ()),
            *(() if startup else (fmt.rate(r["msgs_per_s"], "op"),)),
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
        *(() if startup else ("operations/s (all workers)",)),
        *(("bytes/s",) if sized else ()),
        "one start (p50)" if startup else "time per operation (one worker)",
        "spread",
        *(k.replace("_", " ") for k in extra),
    )
    return Table(("run", *headers) if many else headers, tuple(rows))
