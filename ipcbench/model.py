"""How the figures depend on the payload: where two mechanisms swap places as it grows (crossovers),
and latency ≈ α + β·bytes where such a line fits (the cost model).

numpy is imported inside functions.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ipcbench import fmt
from ipcbench.frame import by_key, candidates
from ipcbench.table import Table, aligned

if TYPE_CHECKING:
    import pandas as pd


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


def crossovers(df: pd.DataFrame) -> list[Crossover]:
    """Where two mechanisms swap places in throughput as the payload grows (log-log interpolation)."""
    part = df[(df["pattern"] == "throughput") & candidates(df["mechanism"])]
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
    columns = ("run", *headers) if many else headers
    return Table(columns, tuple(rows), caption, align=aligned(columns, (2 + many, 3 + many)))
