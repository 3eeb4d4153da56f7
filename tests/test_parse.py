"""Tests of ``vaxreport.parse``: properties of the column parsers.

The labelled one-value cases (one format or repair per row) are in ``test_clean.py``; here are
the invariants a user relies on whatever the value: a date written in any supported format reads
back as itself, day and month are swapped only when the written order is impossible, a value
parses the same alone or inside a column (fast paths agree with the general parser), results stay
aligned to the input's index, and the input is never modified.
"""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np
import pandas as pd
import phonenumbers
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from vaxreport import parse, refdata

AS_OF = dt.date(2022, 5, 31)
EXCEL_DAY0 = dt.date(1899, 12, 30)
VN = dt.timezone(dt.timedelta(hours=7))
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

dates = st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2099, 12, 31))
# Mobile prefixes in use (Viettel, MobiFone, VinaPhone, Vietnamobile, Gmobile).
MOBILE_PREFIXES = ["032", "039", "056", "058", "070", "079", "081", "086", "088", "089", "090", "091",
                   "096", "097", "098", "099"]


def _is_mobile(number: str) -> bool:
    """libphonenumber's verdict: a valid Vietnamese mobile number."""
    n = phonenumbers.parse(number, "VN")
    return phonenumbers.is_valid_number(n) and phonenumbers.number_type(n) == phonenumbers.PhoneNumberType.MOBILE


mobiles = st.builds(lambda p, n: f"{p}{n:07d}", st.sampled_from(MOBILE_PREFIXES),
                    st.integers(0, 9_999_999)).filter(_is_mobile)


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


# ----------------------------------------------------------------------------- dates
@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(dates, st.sampled_from(FORMATS)), min_size=1, max_size=8))
def test_a_date_in_any_supported_format_reads_back_as_itself(written: list[tuple[dt.date, str]]) -> None:
    raw = pd.Series([_written(d, fmt) for d, fmt in written])
    # birth dates: epoch milliseconds are read for any year (dose-side 10-digit values are seconds)
    r = parse.parse_dates(raw, kind="birth", as_of=AS_OF)
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
    out = parse.parse_dates(pd.Series(raw), kind="dose")
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
        one = parse.parse_dates(pd.Series(fast), date_only=date_only)
        other = parse.parse_dates(pd.Series(general), date_only=date_only)
        differ = one["value"].ne(other["value"]) & (one["value"].notna() | other["value"].notna())
        assert not differ.any(), [(fast[i], general[i]) for i in np.flatnonzero(differ)[:5]]
        assert one["status"].eq("ok").equals(other["status"].eq("ok"))
    assert 0.2 < one["status"].eq("ok").mean() < 0.9  # the grid holds both kinds


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 99), dates)
def test_two_digit_birth_years_are_never_after_the_report_year(yy: int, d: dt.date) -> None:
    out = parse.parse_dates(pd.Series([f"{d.day}/{d.month}/{yy:02d}"]), kind="birth", as_of=AS_OF).iloc[0]
    if out["status"] == "ok":  # 29/2 of a year that is not leap in the chosen century: impossible
        year = out["value"].year
        assert year % 100 == yy and AS_OF.year - 99 <= year <= AS_OF.year
        assert out["rule"] == "date_two_digit_year"
    else:
        assert (d.day, d.month) == (29, 2)


def test_two_digit_dose_years_are_this_century() -> None:
    r = parse.parse_dates(pd.Series(["1/6/21", "1/6/99"]), kind="dose", as_of=AS_OF)
    assert [v.year for v in r["value"]] == [2021, 2099]


@pytest.mark.parametrize("raw", ["Ngày 5 tháng 3 năm 2022", "NGÀY 5 THÁNG 3 NĂM 2022",
                                 "ngày 05 Tháng 03 Năm 2022", "5 tháng 3, 2022"])
def test_vietnamese_words_date_in_any_letter_case(raw: str) -> None:
    out = parse.parse_dates(pd.Series([raw])).iloc[0]
    assert (out["status"], out["value"], out["rule"]) == ("ok", pd.Timestamp("2022-03-05"), "date_words")


@settings(max_examples=40, deadline=None)
@given(st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2090, 1, 1)))
def test_utc_timestamps_are_read_in_vietnam_local_time(t: dt.datetime) -> None:
    t = t.replace(microsecond=0)
    raw = pd.Series([t.strftime("%Y-%m-%dT%H:%M:%SZ"), t.strftime("%Y-%m-%dT%H:%M:%S+07:00")])
    r = parse.parse_dates(raw, date_only=False)
    assert r["value"].tolist() == [pd.Timestamp(t) + pd.Timedelta(hours=7), pd.Timestamp(t)]
    days = parse.parse_dates(raw, date_only=True)["value"]
    assert days.tolist() == [(pd.Timestamp(t) + pd.Timedelta(hours=7)).normalize(), pd.Timestamp(t).normalize()]


MIXED = ["15/03/2022", "5/3/2022", "2022-03-15", "2022-03-15 08:30:00", "03/15/2022", "31/02/2022",
         "44635", "1647302400000", "15-Mar-22", "ngày 5 tháng 3 năm 2022", "", "x", None, "15/03/2022 08:30",
         "2022-03-14T17:00:00Z", "15032022", "1985"]


@functools.cache
def _alone(value: str | None, kind: str) -> pd.Series:
    return parse.parse_dates(pd.Series([value], dtype="str"), kind=kind, as_of=AS_OF).iloc[0]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(MIXED), min_size=1, max_size=12), st.sampled_from(["birth", "dose"]))
def test_a_date_parses_the_same_alone_or_in_a_column(values: list[str | None], kind: str) -> None:
    together = parse.parse_dates(pd.Series(values, dtype="str"), kind=kind, as_of=AS_OF)
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
    expected = parse.parse_dates(short, kind="birth", as_of=AS_OF)
    got = parse.parse_dates(long, kind="birth", as_of=AS_OF).iloc[:len(MIXED)]
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected.reset_index(drop=True),
                                  check_dtype=False)


def test_object_columns_of_python_dates_and_numbers_parse() -> None:
    raw = pd.Series([dt.date(2022, 3, 15), dt.datetime(2022, 3, 15, 8, 30), 44635.0, "15/03/2022", None],
                    dtype=object)
    r = parse.parse_dates(raw)
    assert r["value"].tolist()[:4] == [pd.Timestamp("2022-03-15")] * 4
    assert r["status"].tolist() == ["ok"] * 4 + ["empty"]


# ----------------------------------------------------------------------------- every parser
PARSERS = {
    "dates": (parse.parse_dates, ["15/03/2022", "03/15/2022", "x", None, "44635"]),
    "ids": (parse.parse_ids, ["019080000123", "019 080 000 123", "1.9E+11", None, "19080000123"]),
    "phones": (parse.parse_phones, ["0912345678", "+84 912 345 678", "123", None, "01686123456"]),
    "gender": (parse.parse_gender, ["Nam", "nữ", "khác", None, "2"]),
    "dose numbers": (parse.parse_dose_numbers, ["Mũi 1", "2", "?", None, "Mũi nhắc lại lần 1"]),
    "vaccines": (parse.parse_vaccines, ["Pfizer", "astra zeneca", "Sinovac", None, "Moderma"]),
}


@pytest.mark.parametrize("name", list(PARSERS))
def test_parsers_align_to_the_input_index_and_do_not_mutate_it(name: str) -> None:
    func, values = PARSERS[name]
    index = pd.Index([40, 7, 13, 2, 99], name="row")
    raw = pd.Series(values, index=index, dtype="str")
    before = raw.copy()
    out = func(raw)
    pd.testing.assert_series_equal(raw, before)
    assert out.index.equals(index)
    # each row's result is the result of parsing that value alone
    for label, v in raw.items():
        alone = func(pd.Series([v], dtype="str")).iloc[0]
        got = out.loc[label]
        for col in out.columns:
            assert (pd.isna(got[col]) and pd.isna(alone[col])) or got[col] == alone[col], (name, v, col)


# ----------------------------------------------------------------------------- IDs
ids12 = st.integers(0, 10**11 - 1).map(lambda n: f"0{n:011d}")


@settings(max_examples=30, deadline=None)
@given(ids12, st.lists(st.sampled_from([" ", ".", "-", ""]), min_size=11, max_size=11))
def test_id_digits_survive_any_separators(digits: str, seps: list[str]) -> None:
    raw = digits[0] + "".join(s + ch for s, ch in zip(seps, digits[1:], strict=True))
    out = parse.parse_ids(pd.Series([raw, "CCCD: " + raw]))
    plain, labelled = out.iloc[0], out.iloc[1]
    assert plain["value"] == digits and labelled["value"] == digits
    assert (pd.isna(plain["rule"]) if raw == digits else plain["rule"] == "id_strip_separators")
    assert labelled["rule"] == "id_strip_label"


@settings(max_examples=25, deadline=None)
@given(st.integers(10**11, 10**12 - 1).map(str))
def test_excel_scientific_ids_keep_only_certain_digits(digits: str) -> None:
    exact = f"{digits[0]}.{digits[1:]}E+11"  # every digit shown: restored
    lossy = f"{digits[0]}.{digits[1:4]}E+11"  # 8 digits lost: never guessed
    r = parse.parse_ids(pd.Series([exact, lossy, digits + ".0"]))
    assert r["value"].iloc[0] == digits and r["rule"].iloc[0] == "id_excel_scientific"
    assert pd.isna(r["value"].iloc[1]) and r["flag"].iloc[1] == "id_excel_lost_digits"
    assert r["value"].iloc[2] == digits and r["rule"].iloc[2] == "id_excel_float"


def test_ids_that_lost_leading_zeros_are_offered_padded_not_changed() -> None:
    # 019… (Thái Nguyên) and 006… (Bắc Kạn) CCCDs, a 0… CMND, and 11 digits of no province code
    raw = pd.Series(["19080000123", "6080000123", "91122667", "99080000123", "019080000123"])
    r = parse.parse_ids(raw)
    assert r["restorable"].tolist() == [True, True, True, False, False]
    assert r["padded"].tolist()[:3] == ["019080000123", "006080000123", "091122667"]
    assert r["value"].tolist() == raw.tolist()  # the caller restores, after checking the digits


# ----------------------------------------------------------------------------- phones
@settings(max_examples=60, deadline=None)
@given(mobiles, st.sampled_from(["{n}", "+84{r}", "+84 {r3} {r6}", "84{r}", "0084{r}", "{r}", "{r}.0",
                                 "{n3}.{n6}.{n9}", "({n3}) {n6}-{n9}", "{n} / 0987654321"]))
@example("0912345000", "{n3}.{n6}.{n9}")  # "0912.345.000" is not an Excel float "….0"
@example("0912345000", "{r}.0")
def test_a_mobile_written_any_way_reads_as_its_10_digit_form(number: str, template: str) -> None:
    r = number[1:]
    raw = template.format(n=number, r=r, r3=r[:3], r6=r[3:], n3=number[:4], n6=number[4:7], n9=number[7:])
    out = parse.parse_phones(pd.Series([raw])).iloc[0]
    assert out["value"] == number, raw
    assert bool(out["valid"]) and not bool(out["invalid"])


def test_every_migrated_11_digit_prefix_maps_to_its_new_prefix() -> None:
    t = refdata.phone_migration()
    raw = pd.Series([f"{old}1234567" for old in t["old_prefix"]])
    out = parse.parse_phones(raw)
    assert out["value"].tolist() == [f"{new}1234567" for new in t["new_prefix"]]
    assert set(out["rule"]) == {"phone_migrate_11_to_10"}


def test_phone_values_are_ten_digit_mobiles_or_missing() -> None:
    raw = pd.Series(["0912345678", "02083856123", "+1 202 555 0100", "0", "abc", "", None, "84 912 345 678"])
    out = parse.parse_phones(raw)
    ok = out["value"].dropna()
    assert ok.str.fullmatch(r"0[35789][0-9]{8}").all()
    assert out["valid"].tolist() == out["value"].notna().tolist()
    assert out["invalid"].tolist() == [False, True, True, True, True, False, False, False]


# ----------------------------------------------------------------------------- gender, dose numbers
@pytest.mark.parametrize("raw,expected", [
    ("NAM", "M"), ("nam", "M"), (" Nam ", "M"), ("Nam giới", "M"), ("NỮ", "F"), ("Nu", "F"),
    ("nữ giới", "F"), ("1.0", "M"), ("2", "F"), ("F", "F"), ("m", "M"), ("Không rõ", None),
])
def test_gender_ignores_case_diacritics_and_spacing(raw: str, expected: str | None) -> None:
    out = parse.parse_gender(pd.Series([raw])).iloc[0]
    assert (pd.isna(out["value"]) if expected is None else out["value"] == expected)


@pytest.mark.parametrize("k", range(1, 10))
def test_dose_numbers_in_words_and_digits(k: int) -> None:
    raw = pd.Series([str(k), f"Mũi {k}", f"mũi thứ {k}", f"{k}.0", f"Mũi {k} (nhắc lại)"])
    assert parse.parse_dose_numbers(raw)["value"].tolist() == [k] * 5


@pytest.mark.parametrize("k", range(1, 8))
def test_booster_k_is_dose_two_plus_k(k: int) -> None:
    raw = pd.Series([f"Mũi nhắc lại lần {k}", f"mũi tăng cường lần {k}"])
    out = parse.parse_dose_numbers(raw)
    assert out["value"].tolist() == [2 + k] * 2 and set(out["rule"]) == {"dose_number_booster"}


def test_integer_dose_numbers_are_kept_as_they_are() -> None:
    out = parse.parse_dose_numbers(pd.Series([1, 2, 3], dtype="Int64"))
    assert out["value"].tolist() == [1, 2, 3] and out["rule"].isna().all()


def test_dose_numbers_out_of_range_are_unknown() -> None:
    out = parse.parse_dose_numbers(pd.Series(["0", "10", "-1", "Mũi 12"]))
    assert out["value"].isna().all() and set(out["rule"]) == {"dose_number_unknown"}


# ----------------------------------------------------------------------------- vaccines
def test_every_vaccine_name_code_and_alias_maps_to_its_product() -> None:
    t = refdata.vaccines()
    rows = [(raw, name, code) for code, name, aliases in zip(t["vaccine_code"], t["canonical_name"], t["aliases"],
                                                             strict=True)
            for raw in [name, code, *[a for a in aliases.split("|") if a]]]
    out = parse.parse_vaccines(pd.Series([r[0] for r in rows]))
    assert out["value"].tolist() == [r[1] for r in rows]
    assert out["code"].tolist() == [r[2] for r in rows]
    names = set(t["canonical_name"])
    assert [pd.isna(rule) for rule in out["rule"]] == [r[0] in names for r in rows]  # names are silent


def test_vaccine_matching_ignores_case_and_diacritics() -> None:
    name = refdata.vaccines()["canonical_name"].iloc[0]
    out = parse.parse_vaccines(pd.Series([name.upper(), f"  {name.lower()}  ", f"Vắc xin {name}"]))
    assert out["value"].tolist() == [name] * 3


LEGACY_CATEGORIES = {  # raw → (gender code or dose number, rule)
    "gender: Nữ in TCVN3": ("gender", "N÷", ("F", "gender_legacy_text")),
    "gender: Nữ in VNI": ("gender", "Nöõ", ("F", "gender_legacy_text")),
    "gender: NỮ in VNI capitals": ("gender", "NÖÕ", ("F", "gender_legacy_text")),
    "dose: Mũi 2 in TCVN3": ("dose", "Mòi 2", (2, "dose_number_legacy_text")),
    "dose: Mũi 3 in VNI": ("dose", "Muõi 3", (3, "dose_number_legacy_text")),
}


@pytest.mark.parametrize("case", list(LEGACY_CATEGORIES))
def test_legacy_text_in_categorical_fields(case: str) -> None:
    field, raw, expected = LEGACY_CATEGORIES[case]
    parser = parse.parse_gender if field == "gender" else parse.parse_dose_numbers
    r = parser(pd.Series([raw]))
    assert (r["value"].iloc[0], r["rule"].iloc[0]) == expected
