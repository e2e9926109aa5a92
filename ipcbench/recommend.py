"""The answer first: for each case, the fastest mechanism a user can import, and by how much; then
what the raw baselines and hand-made channels reach beside it, for scale.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ipcbench import fmt, roster, specs
from ipcbench.frame import CORE_PATTERNS, REFERENCE, by_key, candidates, fmt_spread
from ipcbench.table import Table

if TYPE_CHECKING:
    import pandas as pd


def _metric(pattern: str) -> tuple[str, bool]:
    """The column that ranks a pattern's mechanisms (its headline), and whether higher is better."""
    spec = specs.of(pattern)
    return spec.headline, spec.higher_is_better


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
            ranked = group[candidates(group["mechanism"])].sort_values(value, ascending=not higher)
            if not len(ranked):
                continue
            best = ranked.iloc[0]
            winners.setdefault(pattern, []).append(str(best["mechanism"]))

            def times(other: Any, best: Any = best, value: str = value, higher: bool = higher) -> float:
                """How many times faster ``best`` is than ``other`` (< 1: slower)."""
                ratio: float = best[value] / other[value] if higher else other[value] / best[value]
                return ratio

            def figure(r: Any, value: str = value, higher: bool = higher) -> str:
                if higher:
                    return f"{fmt.rate(r[value])} · {fmt.rate(r['bytes_per_s'], 'B')}"
                return f"{fmt.duration_ns(r[value])} p50 RTT"

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
            for _, other in group[~candidates(group["mechanism"])].iterrows():
                speed = 1 / times(other)
                reach = f"{fmt.ratio(speed)} faster" if speed >= 1 else f"{fmt.ratio(1 / speed)} slower"
                cells = (
                    *where,
                    str(other["mechanism"]),
                    roster.kind(str(other["mechanism"])),
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
