"""The one formatter: never an exponent, few digits, the right prefix at every boundary."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ipcbench import fmt

SI = {"": 1.0, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18, "Z": 1e21, "Y": 1e24}
TIME = {"ns": 1.0, "µs": 1e3, "ms": 1e6, "s": 1e9, "min": 60e9, "h": 3600e9}
values = st.floats(min_value=1e-6, max_value=1e26, allow_nan=False, allow_infinity=False)


def parse_si(text: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([kMGTPEZY]?) msg/s", text)
    assert match, text
    return float(match[1]) * SI[match[2]]


def digits(number: str) -> int:
    return len(number.replace(".", "").lstrip("0").rstrip("0") or "0")


def test_prefix_boundaries_round_first() -> None:
    assert fmt.si(999600, "msg/s") == "1M msg/s"
    assert fmt.duration_ns(999600) == "1 ms"
    assert fmt.si(999.6, "B/s") == "1 kB/s"
    assert fmt.duration_ns(59.96e9) == "1 min"
    assert fmt.si(243500, "msg/s") == "244k msg/s"
    assert fmt.count(233205) == "233,205"
    assert fmt.size(65536) == "64KiB"
    assert fmt.size(1024 * 1023.9) == "1 MiB"


@given(values)
def test_si_parses_back_without_exponent(value: float) -> None:
    text = fmt.si(value, "msg/s")
    assert "e" not in text.split()[0]
    number = text.split()[0].rstrip("kMGTPEZY")
    assert float(number) < 1000 or text.endswith("Y msg/s")
    assert digits(number) <= 3
    assert abs(parse_si(text) - value) <= 0.005 * value + 1e-12


@given(values, values)
def test_si_is_monotone(a: float, b: float) -> None:
    lo, hi = sorted((a, b))
    assert parse_si(fmt.si(lo, "msg/s")) <= parse_si(fmt.si(hi, "msg/s"))


@given(st.floats(min_value=0.001, max_value=1e16, allow_nan=False))
def test_durations_parse_back(ns: float) -> None:
    text = fmt.duration_ns(ns)
    number, unit = text.split(" ")
    assert "e" not in number and digits(number) <= 4
    assert unit in TIME
    assert float(number) < 1000 or unit == "h"
    assert abs(float(number) * TIME[unit] - ns) <= 0.005 * ns


@given(st.floats(min_value=1, max_value=1e13, allow_nan=False))
def test_sizes_parse_back(n: float) -> None:
    text = fmt.size(n)
    match = re.fullmatch(r"(\d+(?:\.\d+)?) ?(B|KiB|MiB|GiB|TiB)", text)
    assert match, text
    scale = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}[match[2]]
    assert abs(float(match[1]) * scale - n) <= 0.005 * n


@pytest.mark.parametrize(
    ("p", "text"), [(0.042, "0.042"), (0.5, "0.5"), (1.0, "1"), (0.00123, "0.0012"), (2.3e-5, "<0.0001")]
)
def test_p_values_print_two_digits_and_never_an_exponent(p, text):
    assert fmt.p_value(p) == text


@given(st.floats(min_value=0, max_value=1))
def test_no_p_value_prints_an_exponent(p):
    assert "e" not in fmt.p_value(p)


@pytest.mark.parametrize(
    ("value", "width", "label"),
    [
        ("0123456789abcdef0123", 7, "0123456"),
        ("ABCDEF0123456789", 10, "ABCDEF0123"),
        ("unversioned", 7, "unversioned"),  # pytest-benchmark's word outside a git checkout
        (None, 7, "no commit"),
        ("", 10, "no commit"),
    ],
)
def test_a_commit_label_cuts_hashes_only(value, width, label):
    assert fmt.commit(value, width) == label
