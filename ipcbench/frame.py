"""The frame every finding and chart reads: the loaded results with the columns they share.

pandas is imported inside functions: only the commands that read results reach it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ipcbench import fmt, roster, specs

if TYPE_CHECKING:
    import pandas as pd

#: The raw OS pipe: drawn beside the pipe-based mechanisms in the payload chart.
BASELINE = "os_pipe"
#: What most code uses; every winner is also compared with it.
REFERENCE = "queue"
#: The patterns the report gives its own chart sections (their specs name no section of their own).
CORE_PATTERNS = tuple(spec.name for spec in specs.BUILT_IN if spec.section is None)


def fmt_spread(spread: float) -> str:
    return f"±{fmt.percent(spread)}" if math.isfinite(spread) else "±?"


def num(value: Any) -> float | None:
    """A number from an optional column (None, NaN or missing -> None)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        return None
    return float(value)


def candidates(names: Any) -> Any:
    """Which of ``names`` (a pandas Series) a user can adopt: neither a raw baseline nor a
    hand-made channel."""
    return names.map(lambda m: roster.kind(str(m)) == roster.IMPORTABLE)


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
