"""Every human-readable number ipcbench prints: one home, so a figure reads the same everywhere.

Rates and counts take SI prefixes (``244k msg/s``, ``1.1 GB/s``), durations the unit that keeps them
readable (``48.2 µs``, ``1.5 min``), payload sizes binary units (``64KiB``).  A value is rounded to
its significant digits *before* its prefix is chosen, so 999,600 prints as ``1M``, never ``1e+03k``,
and no formatter here ever prints an exponent.
"""

from __future__ import annotations

import math

from ipcbench.scenario import format_size

#: Significant digits of every figure: more would claim a precision no benchmark has.
DIGITS = 3
_SI = (("Y", 1e24), ("Z", 1e21), ("E", 1e18), ("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3))
#: Durations from nanoseconds up: name and size in ns.  Minutes and hours are not powers of ten.
_TIME = (("h", 3600e9), ("min", 60e9), ("s", 1e9), ("ms", 1e6), ("µs", 1e3))
_BINARY = (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10))
MISSING = "—"


def round_sig(value: float, digits: int = DIGITS) -> float:
    """``value`` rounded to ``digits`` significant digits (0 stays 0)."""
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def plain(value: float, digits: int = DIGITS) -> str:
    """``digits`` significant digits in positional notation: ``0.00123``, ``48.2``, ``123``, ``1230``.

    Trailing zeros after the point are dropped, as ``%g`` does, but never into an exponent.
    """
    if not math.isfinite(value):
        return MISSING
    value = round_sig(value, digits)
    if value == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _scaled(value: float, scales: tuple[tuple[str, float], ...], digits: int) -> tuple[float, str]:
    """The value in the largest unit it reaches *after* rounding, and that unit ('' for none)."""
    rounded = round_sig(value, digits)
    for name, scale in scales:
        if abs(rounded) >= scale:
            # Rounded again from the exact value (rounding twice drifts when the scale is not a power
            # of ten); a value just under the boundary reads as one of the unit, within rounding.
            number = max(abs(round_sig(value / scale, digits)), 1.0)
            return math.copysign(number, value), name
    return rounded, ""


def si(value: float, unit: str = "", digits: int = DIGITS) -> str:
    """``244k msg/s``, ``1.1 GB/s``, ``244k`` (no unit): an SI prefix from k up, none below 1000.

    A prefix joins a unit symbol (``MB/s``) but not a word (``244k msg/s``).
    """
    if not math.isfinite(value):
        return MISSING
    number, prefix = _scaled(value, _SI, digits)
    text = plain(number, digits)
    if not unit:
        return text + prefix
    if prefix and unit[0].isupper():
        return f"{text} {prefix}{unit}"
    return f"{text}{prefix} {unit}"


def rate(per_second: float, what: str = "msg") -> str:
    """How many ``what`` per second: ``244k msg/s``, ``1.1 GB/s`` (``what="B"``)."""
    return si(per_second, f"{what}/s")


def duration_ns(ns: float, digits: int = DIGITS) -> str:
    """A duration given in nanoseconds, from ``ns`` to ``h``: ``62 µs``, ``18.5 ms``, ``1.5 min``."""
    if not math.isfinite(ns):
        return MISSING
    number, unit = _scaled(ns, _TIME, digits)
    return f"{plain(number, digits)} {unit or 'ns'}"


def duration_s(seconds: float, digits: int = DIGITS) -> str:
    return duration_ns(seconds * 1e9, digits)


def size(n: float) -> str:
    """Bytes: whole units exactly as scenario ids write them (``64KiB``, ``8B``), any other amount (a
    crossover between two sizes) rounded in binary units (``12.3 KiB``)."""
    if not math.isfinite(n):
        return MISSING
    exact = float(n).is_integer() and n >= 0 and format_size(int(n)).endswith(("KiB", "MiB", "GiB"))
    if exact or (float(n).is_integer() and 0 <= n < 1024):
        return format_size(int(n))
    for unit, scale in _BINARY:
        if round_sig(n / scale) >= 1:
            return f"{plain(n / scale)} {unit}"
    return f"{plain(n)} B"


def count(n: float) -> str:
    """An exact count with thousands separators: ``233,205`` (lost updates, batch sizes)."""
    return MISSING if not math.isfinite(n) else f"{n:,.0f}"


def percent(fraction: float) -> str:
    """``12%``; one decimal under 10% (``5.5%``) so small spreads do not all read ``5%``."""
    if not math.isfinite(fraction):
        return MISSING
    return f"{fraction:.1%}" if abs(fraction) < 0.0995 else f"{fraction:.0%}"


#: Below this a p- or q-value prints as a bound: more digits would claim a precision the test lacks.
P_FLOOR = 1e-4


def p_value(p: float) -> str:
    """A p- or q-value in two significant digits, never an exponent: ``0.042``, ``0.0012``, ``<0.0001``."""
    if not math.isfinite(p):
        return MISSING
    return f"<{plain(P_FLOOR)}" if p < P_FLOOR else plain(p, digits=2)


def ratio(times: float) -> str:
    """How many times: ``2.4×``, ``1.05×``, ``12×``."""
    return MISSING if not math.isfinite(times) else f"{plain(times)}×"


def commit(value: object, width: int = 7) -> str:
    """A commit as a label: a hash cut to ``width`` characters, a word (pytest-benchmark's
    ``unversioned`` outside a git checkout) whole, and ``no commit`` when none was saved."""
    text = str(value or "")
    if not text:
        return "no commit"
    return text[:width] if all(c in "0123456789abcdef" for c in text.lower()) else text
