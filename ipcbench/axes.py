"""Chart axes that read in plain numbers, shared by the report's charts and the history's.

matplotlib is imported inside the functions: they run only while a chart is drawn.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from ipcbench import fmt
from ipcbench.scenario import format_size


def compact(value: float, _pos: Any = None) -> str:
    """Tick labels: ``400k``, ``1.5M``, ``20``: three significant figures, SI prefix, no unit."""
    return fmt.si(value)


def _minor_labels(*mantissas: int) -> Any:
    """Label only the minor ticks at these multiples of a power of ten (2 and 5: 20, 50, 200...)."""
    from matplotlib.ticker import FuncFormatter

    def label(value: float, _pos: Any = None) -> str:
        mantissa = value / 10 ** math.floor(math.log10(value)) if value > 0 else 0
        return compact(value) if any(abs(mantissa - m) < 1e-6 for m in mantissas) else ""

    return FuncFormatter(label)


def log_axis(ax: Any, axis: str) -> None:
    """A log axis labelled in plain numbers; minor ticks get labels only while they cannot crowd.

    Call it after plotting: how many labels fit depends on the span of the data.
    """
    from matplotlib.ticker import FuncFormatter, NullLocator

    getattr(ax, f"set_{axis}scale")("log")
    target = getattr(ax, f"{axis}axis")
    lo, hi = getattr(ax, f"get_{axis}lim")()
    target.set_major_formatter(FuncFormatter(compact))
    if hi / lo <= 3:
        target.set_minor_formatter(FuncFormatter(compact))
    elif hi / lo <= 120:  # label 2, 3 and 5 of each decade: enough to read a value, never crowded
        target.set_minor_formatter(_minor_labels(2, 3, 5))
    elif hi / lo <= 1200:
        target.set_minor_formatter(_minor_labels(2, 5))
    else:  # decades apart: the major grid reads well and minor ticks only cost drawing time
        target.set_minor_locator(NullLocator())
    ax.grid(True, which="major", alpha=0.35)
    ax.grid(True, which="minor", alpha=0.12)


def payload_axis(ax: Any, sizes: Iterable[float]) -> None:
    from matplotlib.ticker import FixedLocator, NullLocator

    ax.set_xscale("log", base=2)
    ticks = sorted(set(sizes))
    if len(ticks) > 8:  # keep labels apart: every other size
        ticks = ticks[:: math.ceil(len(ticks) / 8)]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([format_size(int(t)) for t in ticks])
    ax.set_xlabel("payload per message")
