"""Tests of ``vaxreport.cleansing.dates``: one labelled format or repair per row, then the invariants.

A date written in any supported format reads back as itself, day and month are swapped only when
the written order is impossible, a value parses the same alone or inside a column (the fast path
agrees with the general parser), and results stay aligned to the input's index.
"""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaxreport.cleansing.dates import parse_dates

AS_OF = dt.date(2022, 5, 31)
EXCEL_DAY0 = dt.date(1899, 12, 30)
VN = dt.timezone(dt.timedelta(hours=7))
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

dates = st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2099, 12, 31))


DATE_CASES = [
    # (case, raw, kind, expected ISO date or None, rule, status)
    ("dd/mm/yyyy", "15/03/2022", "dose", "2022-03-15", None, "ok"),
    ("d/m/yyyy unpadded", "5/3/2022", "dose", "2022-03-05", None, "ok"),
    ("dd-mm-yyyy", "15-03-2022", "dose", "2022-03-15", None, "ok"),
    ("dd.mm.yyyy", "15.03.2022", "dose", "2022-03-15", None, "ok"),
    ("iso date", "2022-03-15", "dose", "2022-03-15", None, "ok"),
    ("iso timestamp", "2022-03-15 08:30:00", "dose", "2022-03-15", None, "ok"),
    ("iso utc evening is next local day", "2022-03-14T17:00:00Z", "dose", "2022-03-15", None, "ok"),
    ("iso with +07:00", "2022-03-15T00:30:00+07:00", "dose", "2022-03-15", None, "ok"),
    ("two-digit year dose", "5/3/22", "dose", "2022-03-05", "date_two_digit_year", "ok"),
    ("two-digit year birth, last century", "1/2/80", "birth", "1980-02-01", "date_two_digit_year", "ok"),
    ("two-digit year birth, this century", "1/2/15", "birth", "2015-02-01", "date_two_digit_year", "ok"),
    ("mm/dd when dd/mm is impossible", "03/15/2022", "dose", "2022-03-15", "date_swap_day_month", "ok"),
    ("yyyy-dd-mm when month > 12", "2022-15-03", "dose", "2022-03-15", "date_swap_day_month", "ok"),
    ("ambiguous stays dd/mm", "03/04/2022", "dose", "2022-04-03", None, "ok"),
    ("excel serial", "44635", "dose", "2022-03-15", "date_excel_serial", "ok"),
    ("excel serial with time", "44635.75", "dose", "2022-03-15", "date_excel_serial", "ok"),
    ("epoch ms at 07:00 local", "1647302400000", "dose", "2022-03-15", "date_epoch_ms", "ok"),
    ("epoch ms before 1970", "-315619200000", "birth", "1960-01-01", "date_epoch_ms", "ok"),
    ("epoch ms near 1970", "2332800000", "birth", "1970-01-28", "date_epoch_ms", "ok"),
    ("compact ddmmyyyy", "15032022", "dose", "2022-03-15", "date_compact", "ok"),
    ("compact yyyymmdd", "20220315", "dose", "2022-03-15", "date_compact", "ok"),
    ("Excel d-mmm-yy", "15-Mar-22", "dose", "2022-03-15", "date_month_name", "ok"),
    ("Vietnamese words", "ngày 5 tháng 3 năm 2022", "dose", "2022-03-05", "date_words", "ok"),
    ("year only birth", "1985", "birth", "1985-01-01", "date_year_only", "ok"),
    ("year only dose is unusable", "2022", "dose", None, None, "unparseable"),
    ("31 February", "31/02/2022", "dose", None, None, "impossible"),
    ("both readings impossible", "13/25/1990", "birth", None, None, "impossible"),
    ("year out of range", "15/03/3022", "dose", None, None, "impossible"),
    ("garbage", "không rõ", "dose", None, None, "unparseable"),
    ("blank", "  ", "dose", None, None, "empty"),
]


@pytest.mark.parametrize("case,raw,kind,expected,rule,status", DATE_CASES,
                         ids=[c[0] for c in DATE_CASES])
def test_parse_dates_cases(case: str, raw: str, kind: str, expected: str | None,
                           rule: str | None, status: str) -> None:
    out = parse_dates(pd.Series([raw, "01/01/2000"]), kind=kind, as_of=AS_OF).iloc[0]
    assert out["status"] == status
    assert (pd.isna(out["value"]) if expected is None
            else out["value"] == pd.Timestamp(expected))
    assert (pd.isna(out["rule"]) if rule is None else out["rule"] == rule)


def test_parse_dates_keeps_time_for_timestamps_and_accepts_datetimes() -> None:
    r = parse_dates(pd.Series(["15/03/2022 08:30:15", "2022-03-15T01:00:00Z"]),
                          date_only=False)
    assert r["value"].tolist() == [pd.Timestamp("2022-03-15 08:30:15"),
                                   pd.Timestamp("2022-03-15 08:00:00")]
    typed = pd.Series(pd.to_datetime(["2022-03-15", None]))
    r = parse_dates(typed)
    assert r["status"].tolist() == ["ok", "empty"] and r["rule"].isna().all()


def _written(d: dt.date, fmt: str) -> str:
    """``d`` as an export writes it in format ``fmt``."""
    epoch_ms = int(dt.datetime(d.year, d.month, d.day, tzinfo=VN).timestamp() * 1000)
    return {
        "dd/mm/yyyy": f"{d.day:02d}/{d.month:02d}/{d.year}",
        "d/m/yyyy": f"{d.day}/{d.month}/{d.year}",
        "dd-mm-yyyy": f"{d.day:02d}-{d.month:02d}-{d.year}",
        "dd.mm.yyyy": f"{d.day:02d}.{d.month:02d}.{d.year}",
        "yyyy-mm-dd": d.isoformat(),
        "yyyy/m/d": f"{d.year}/{d.month}/{d.day}",
        "iso timestamp": f"{d.isoformat()} 13:45:00",
        "dd/mm/yyyy hh:mm": f"{d.day:02d}/{d.month:02d}/{d.year} 07:05",
        "words": f"ngày {d.day} tháng {d.month} năm {d.year}",
        "Words": f"Ngày {d.day:02d} Tháng {d.month:02d} Năm {d.year}",
        "d-Mon-yyyy": f"{d.day}-{MONTHS[d.month - 1]}-{d.year}",
        "excel serial": str((d - EXCEL_DAY0).days),
        "epoch ms": str(epoch_ms),
    }[fmt]


FORMATS = ["dd/mm/yyyy", "d/m/yyyy", "dd-mm-yyyy", "dd.mm.yyyy", "yyyy-mm-dd", "yyyy/m/d", "iso timestamp",
           "dd/mm/yyyy hh:mm", "words", "Words", "d-Mon-yyyy", "excel serial", "epoch ms"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(dates, st.sampled_from(FORMATS)), min_size=1, max_size=8))
def test_a_date_in_any_supported_format_reads_back_as_itself(written: list[tuple[dt.date, str]]) -> None:
    raw = pd.Series([_written(d, fmt) for d, fmt in written])
    # birth dates: epoch milliseconds are read for any year (dose-side 10-digit values are seconds)
    r = parse_dates(raw, kind="birth", as_of=AS_OF)
    assert r["status"].tolist() == ["ok"] * len(raw), raw.tolist()
    assert r["value"].tolist() == [pd.Timestamp(d) for d, _ in written], raw.tolist()


#: Years around the parser's range and leap rules (1900 and 2100 are not leap years, 2000 is).
YEARS = [1899, 1900, 1999, 2000, 2021, 2024, 2100, 2101]


def _real(y: int, m: int, d: int) -> pd.Timestamp | None:
    try:
        return pd.Timestamp(dt.date(y, m, d)) if 1900 <= y <= 2100 else None
    except ValueError:
        return None


@pytest.mark.parametrize("form", ["d/mm/yyyy", "yyyy-mm-d"])
def test_day_and_month_swap_only_when_the_written_order_is_impossible(form: str) -> None:
    # every day/month pair 1..31 x 1..31: the written order wins whenever it is a real date, even
    # when the other is too (03/04 is 3 April); else the other order; else the value is impossible
    grid = [(a, b, y) for a in range(1, 32) for b in range(1, 32) for y in YEARS]
    if form == "d/mm/yyyy":  # a is the day
        raw = [f"{a}/{b:02d}/{y}" for a, b, y in grid]
        written, other = [_real(y, b, a) for a, b, y in grid], [_real(y, a, b) for a, b, y in grid]
    else:  # a is the month
        raw = [f"{y}-{a:02d}-{b}" for a, b, y in grid]
        written, other = [_real(y, a, b) for a, b, y in grid], [_real(y, b, a) for a, b, y in grid]
    out = parse_dates(pd.Series(raw), kind="dose")
    for i, (w, o) in enumerate(zip(written, other, strict=True)):
        got = out.iloc[i]
        if w is not None:
            assert (got["status"], got["value"]) == ("ok", w) and pd.isna(got["rule"]), raw[i]
        elif o is not None:
            assert (got["status"], got["value"], got["rule"]) == ("ok", o, "date_swap_day_month"), raw[i]
        else:
            assert got["status"] == "impossible" and pd.isna(got["value"]), raw[i]


def test_separators_do_not_change_the_reading() -> None:
    # zero-padded "/" and "-" forms take the column-at-once fast path, "." forms the general
    # parser: both must accept and reject alike (31/02, month 13, day 00, year 2101, minute 60…)
    grid = [(a, b, y, (a * 7 + b) % 26, (a + 3 * b) % 62) for a in range(40) for b in range(40) for y in YEARS]
    fast = [s for a, b, y, hh, mm in grid for s in
            (f"{a:02d}/{b:02d}/{y}", f"{y}-{b:02d}-{a:02d} {hh:02d}:{mm:02d}:{a:02d}",
             f"{a:02d}/{b:02d}/{y} {hh:02d}:{mm:02d}")]
    general = [s for a, b, y, hh, mm in grid for s in
               (f"{a:02d}.{b:02d}.{y}", f"{y}.{b:02d}.{a:02d} {hh:02d}:{mm:02d}:{a:02d}",
                f"{a:02d}.{b:02d}.{y} {hh:02d}:{mm:02d}")]
    for date_only in (True, False):
        one = parse_dates(pd.Series(fast), date_only=date_only)
        other = parse_dates(pd.Series(general), date_only=date_only)
        differ = one["value"].ne(other["value"]) & (one["value"].notna() | other["value"].notna())
        assert not differ.any(), [(fast[i], general[i]) for i in np.flatnonzero(differ)[:5]]
        assert one["status"].eq("ok").equals(other["status"].eq("ok"))
    assert 0.2 < one["status"].eq("ok").mean() < 0.9  # the grid holds both kinds


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 99), dates)
def test_two_digit_birth_years_are_never_after_the_report_year(yy: int, d: dt.date) -> None:
    out = parse_dates(pd.Series([f"{d.day}/{d.month}/{yy:02d}"]), kind="birth", as_of=AS_OF).iloc[0]
    if out["status"] == "ok":  # 29/2 of a year that is not leap in the chosen century: impossible
        year = out["value"].year
        assert year % 100 == yy and AS_OF.year - 99 <= year <= AS_OF.year
        assert out["rule"] == "date_two_digit_year"
    else:
        assert (d.day, d.month) == (29, 2)


def test_two_digit_dose_years_are_this_century() -> None:
    r = parse_dates(pd.Series(["1/6/21", "1/6/99"]), kind="dose", as_of=AS_OF)
    assert [v.year for v in r["value"]] == [2021, 2099]


@pytest.mark.parametrize("raw", ["Ngày 5 tháng 3 năm 2022", "NGÀY 5 THÁNG 3 NĂM 2022",
                                 "ngày 05 Tháng 03 Năm 2022", "5 tháng 3, 2022"])
def test_vietnamese_words_date_in_any_letter_case(raw: str) -> None:
    out = parse_dates(pd.Series([raw])).iloc[0]
    assert (out["status"], out["value"], out["rule"]) == ("ok", pd.Timestamp("2022-03-05"), "date_words")


@settings(max_examples=40, deadline=None)
@given(st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2090, 1, 1)))
def test_utc_timestamps_are_read_in_vietnam_local_time(t: dt.datetime) -> None:
    t = t.replace(microsecond=0)
    raw = pd.Series([t.strftime("%Y-%m-%dT%H:%M:%SZ"), t.strftime("%Y-%m-%dT%H:%M:%S+07:00")])
    r = parse_dates(raw, date_only=False)
    assert r["value"].tolist() == [pd.Timestamp(t) + pd.Timedelta(hours=7), pd.Timestamp(t)]
    days = parse_dates(raw, date_only=True)["value"]
    assert days.tolist() == [(pd.Timestamp(t) + pd.Timedelta(hours=7)).normalize(), pd.Timestamp(t).normalize()]


MIXED = ["15/03/2022", "5/3/2022", "2022-03-15", "2022-03-15 08:30:00", "03/15/2022", "31/02/2022",
         "44635", "1647302400000", "15-Mar-22", "ngày 5 tháng 3 năm 2022", "", "x", None, "15/03/2022 08:30",
         "2022-03-14T17:00:00Z", "15032022", "1985"]


@functools.cache
def _alone(value: str | None, kind: str) -> pd.Series:
    return parse_dates(pd.Series([value], dtype="str"), kind=kind, as_of=AS_OF).iloc[0]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(MIXED), min_size=1, max_size=12), st.sampled_from(["birth", "dose"]))
def test_a_date_parses_the_same_alone_or_in_a_column(values: list[str | None], kind: str) -> None:
    together = parse_dates(pd.Series(values, dtype="str"), kind=kind, as_of=AS_OF)
    for i, v in enumerate(values):
        alone = _alone(v, kind)
        got = together.iloc[i]
        assert got["status"] == alone["status"], v
        assert (pd.isna(got["value"]) and pd.isna(alone["value"])) or got["value"] == alone["value"], v
        assert (pd.isna(got["rule"]) and pd.isna(alone["rule"])) or got["rule"] == alone["rule"], v


def test_a_long_column_of_few_distinct_dates_parses_like_a_short_one() -> None:
    # > 50 000 rows with few distinct values take the parse-each-value-once path
    short = pd.Series(MIXED, dtype="str")
    long = pd.Series(MIXED * 3000, dtype="str")
    expected = parse_dates(short, kind="birth", as_of=AS_OF)
    got = parse_dates(long, kind="birth", as_of=AS_OF).iloc[:len(MIXED)]
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected.reset_index(drop=True),
                                  check_dtype=False)


def test_object_columns_of_python_dates_and_numbers_parse() -> None:
    raw = pd.Series([dt.date(2022, 3, 15), dt.datetime(2022, 3, 15, 8, 30), 44635.0, "15/03/2022", None],
                    dtype=object)
    r = parse_dates(raw)
    assert r["value"].tolist()[:4] == [pd.Timestamp("2022-03-15")] * 4
    assert r["status"].tolist() == ["ok"] * 4 + ["empty"]
