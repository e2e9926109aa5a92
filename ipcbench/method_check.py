"""Does a steady-state figure depend on how the workers were started?  The report's answer.

The full profile measures start-up under every start method, but steady-state messaging and the
one-sided patterns under the platform's default only, plus every mechanism once under every other
method (two processes, 1 KiB): this module reads that check.  Once workers are warm they talk through
the same kernel objects whichever way they were started, so the check should find the figures equal
within their trials' noise; where it does not, the table says so, mechanism by mechanism.

pandas is imported inside functions: only ``ipcbench report`` reaches it.
"""

from __future__ import annotations

import math
import statistics
from typing import TYPE_CHECKING, Any

from ipcbench import fmt
from ipcbench.table import Table, aligned

if TYPE_CHECKING:
    import pandas as pd

#: What tells two benchmarks of one run apart, the start method aside.
SAME = ("file", "pattern", "mechanism", "shape", "payload_bytes", "placement")


def _figure(row: Any) -> float | None:
    """A benchmark's headline: its p50 round trip (latency, lower is better) or its rate."""
    value = row.get("rtt_p50_ns") if row["pattern"] == "latency" else row.get("msgs_per_s")
    return float(value) if isinstance(value, int | float) and value > 0 and not math.isnan(value) else None


def _precision(row: Any) -> float:
    value = row["extra_info"].get("precision")
    return float(value) if isinstance(value, int | float) else math.nan


def steady_state_table(df: pd.DataFrame) -> Table | None:
    """Every steady-state benchmark measured under more than one start method, each other method's
    figure against the run's default (the method most of its benchmarks used); None if there is none."""
    steady = df[df["pattern"] != "startup"]
    if steady.empty or steady["start_method"].nunique() < 2:
        return None
    rows, ratios, apart = [], [], 0
    for _, group in steady.groupby(list(SAME), sort=True):
        if group["start_method"].nunique() < 2:
            continue
        run = steady[steady["file"] == group["file"].iloc[0]]
        default = run["start_method"].value_counts().idxmax()
        base = group[group["start_method"] == default]
        if base.empty:
            continue
        ref = base.iloc[0]
        for _, r in group[group["start_method"] != default].iterrows():
            a, b = _figure(ref), _figure(r)
            if a is None or b is None:
                continue
            ratio = b / a
            # Apart when their 95% intervals do not overlap; unknown precision (one trial): not judged.
            reach = math.log1p(_precision(ref)) + math.log1p(_precision(r))
            verdict = "—" if math.isnan(reach) else ("differs" if abs(math.log(ratio)) > reach else "equal")
            apart += verdict == "differs"
            ratios.append(ratio)
            rows.append(
                (
                    str(r["pattern"]),
                    str(r["mechanism"]),
                    str(r["shape"]),
                    fmt.size(r["payload_bytes"]),
                    f"{r['start_method']} / {default}",
                    f"{ratio:.2f}×",
                    verdict,
                )
            )
    if not rows:
        return None
    spread = statistics.median(abs(math.log(x)) for x in ratios)
    caption = (
        f"Steady-state figures (the rate; latency: p50 round trip) under another start method, against "
        f"the default's, where both were measured: {len(rows) - apart} of {len(rows)} equal within their "
        f"trials' 95% intervals, a median difference of {math.expm1(spread):.0%}. Warm workers talk through "
        "the same objects however they were started, so the full profile measures every other pattern "
        "under the default method only; start-up itself is measured under every method."
    )
    headers = ("pattern", "mechanism", "processes", "payload", "methods", "ratio", "within noise")
    return Table(headers, tuple(rows), caption, align=aligned(headers, (5,)))
