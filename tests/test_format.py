"""Vietnamese number, percentage and date formatting (vaxreport.reporting.report.format)."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaxreport.reporting.report.format import (
    fmt_date_long,
    fmt_date_short,
    fmt_decimal,
    fmt_int,
    fmt_pct,
    fmt_place_date,
    fmt_ratio_sentence,
    parse_pct,
    pct,
)


def _half_up_oracle(num: int, den: int) -> Decimal:
    """Independent oracle: high-precision decimal division, then quantize half-up."""
    with localcontext() as ctx:
        ctx.prec = 200
        return (Decimal(num) * 100 / Decimal(den)).quantize(Decimal("0.01"), ROUND_HALF_UP)


@pytest.mark.parametrize(("num", "den", "expected"), [
    (2756537, 2924867, "94.24"),   # seed says 94,17%: it does not reproduce
    (2496793, 2756537, "90.58"),   # seed says 90,57%: truncated, not rounded
    (2628, 2628, "100.00"),
    (1, 8, "12.50"),
    (1, 800, "0.13"),              # 0.125 -> half-up
    (1, 1600, "0.06"),             # 0.0625 -> 0.06
    (0, 7, "0.00"),
    (-1, 800, "-0.13"),            # half away from zero, like Decimal's ROUND_HALF_UP
])
def test_pct_known_values(num: int, den: int, expected: str) -> None:
    assert pct(num, den) == Decimal(expected)
    assert str(pct(num, den)) == expected


def test_pct_zero_denominator_and_bad_input() -> None:
    assert pct(5, 0) is None
    assert fmt_pct(5, 0) == "—"
    with pytest.raises(ValueError, match="den must be >= 0"):
        pct(1, -2)
    with pytest.raises(TypeError, match="integer count"):
        pct(1.5, 2)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="integer count"):
        fmt_int(True)  # type: ignore[arg-type]


def test_numpy_integers_accepted() -> None:
    np = pytest.importorskip("numpy")
    assert fmt_int(np.int64(2924867)) == "2.924.867"
    assert fmt_pct(np.int64(2756537), np.int32(2924867)) == "94,24%"


def test_fmt_examples() -> None:
    assert fmt_int(2756537) == "2.756.537"
    assert fmt_int(-1234567) == "-1.234.567"
    assert fmt_pct(2756537, 2924867) == "94,24%"
    assert fmt_pct(2496793, 2756537) == "90,58%"
    assert fmt_decimal(Decimal("1234567.005")) == "1.234.567,01"
    assert fmt_decimal(Decimal("-0.5"), 0) == "-1"
    assert fmt_ratio_sentence(2756537, 2924867, "mũi tiêm") == "2.756.537/2.924.867 mũi tiêm đạt 94,24%"
    assert fmt_ratio_sentence(3, 0) == "3/0 (không áp dụng)"


@given(num=st.integers(min_value=0, max_value=10**12), den=st.integers(min_value=1, max_value=10**12))
def test_fmt_pct_reparses_to_exact_half_up(num: int, den: int) -> None:
    text = fmt_pct(num, den)
    assert text.endswith("%") and "," in text
    assert parse_pct(text) == _half_up_oracle(num, den) == pct(num, den)


@given(n=st.integers(min_value=-10**15, max_value=10**15))
def test_fmt_int_reparses(n: int) -> None:
    text = fmt_int(n)
    assert int(text.replace(".", "")) == n
    groups = text.lstrip("-").split(".")
    assert all(len(g) == 3 for g in groups[1:]) and 1 <= len(groups[0]) <= 3


@pytest.mark.parametrize(("d", "long", "short"), [
    (date(2022, 6, 1), "ngày 01 tháng 6 năm 2022", "01/6/2022"),
    (date(2022, 5, 31), "ngày 31 tháng 5 năm 2022", "31/5/2022"),
    (date(2022, 2, 5), "ngày 05 tháng 02 năm 2022", "05/02/2022"),
    (date(2022, 1, 15), "ngày 15 tháng 01 năm 2022", "15/01/2022"),
    (date(2022, 3, 9), "ngày 09 tháng 3 năm 2022", "09/3/2022"),
    (date(2021, 12, 10), "ngày 10 tháng 12 năm 2021", "10/12/2021"),
])
def test_dates_follow_nd30(d: date, long: str, short: str) -> None:
    assert fmt_date_long(d) == long
    assert fmt_date_short(d) == short


def test_place_date() -> None:
    assert fmt_place_date("Thái Nguyên", date(2022, 6, 1)) == "Thái Nguyên, ngày 01 tháng 6 năm 2022"


def test_changes_in_words() -> None:
    from vaxreport.reporting.report.format import fmt_int_change, fmt_pp_change
    assert fmt_pp_change(pct(2756537, 2924867), pct(2700000, 2924867)) == "tăng 1,93 điểm phần trăm"
    assert fmt_pp_change(pct(1, 3), pct(1, 0)) == "không áp dụng"
    assert fmt_int_change(100, 1100, "phản ánh") == "giảm 1.000 phản ánh"
