"""Tests of ``vaxreport.cleansing.phones``: one labelled case per row, then the invariants of the phone parser."""

from __future__ import annotations

import pandas as pd
import phonenumbers
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from vaxreport import refdata
from vaxreport.cleansing.phones import parse_phones, phone_migration

# Mobile prefixes in use (Viettel, MobiFone, VinaPhone, Vietnamobile, Gmobile).
MOBILE_PREFIXES = ["032", "039", "056", "058", "070", "079", "081", "086", "088", "089", "090", "091",
                   "096", "097", "098", "099"]


def _is_mobile(number: str) -> bool:
    """libphonenumber's verdict: a valid Vietnamese mobile number."""
    n = phonenumbers.parse(number, "VN")
    return phonenumbers.is_valid_number(n) and phonenumbers.number_type(n) == phonenumbers.PhoneNumberType.MOBILE


mobiles = st.builds(lambda p, n: f"{p}{n:07d}", st.sampled_from(MOBILE_PREFIXES),
                    st.integers(0, 9_999_999)).filter(_is_mobile)


PHONE_CASES = [
    ("clean", "0912345678", "0912345678", None),
    ("+84", "+84912345678", "0912345678", "phone_country_code"),
    ("+84 spaced", "+84 912 345 678", "0912345678", "phone_country_code"),
    ("84 prefix", "84912345678", "0912345678", "phone_country_code"),
    ("0084 prefix", "0084912345678", "0912345678", "phone_country_code"),
    ("+84 (0)", "+84 (0) 912345678", "0912345678", "phone_country_code"),
    ("lost leading zero", "912345678", "0912345678", "phone_restore_leading_zero"),
    ("excel float", "912345678.0", "0912345678", "phone_restore_leading_zero"),
    ("dots", "0912.345.678", "0912345678", "phone_format"),
    ("old Viettel 0168", "01686123456", "0386123456", "phone_migrate_11_to_10"),
    ("old MobiFone 0121", "01213456789", "0793456789", "phone_migrate_11_to_10"),
    ("old number with +84", "+841686123456", "0386123456", "phone_migrate_11_to_10"),
    ("old number lost zero", "1686123456", "0386123456", "phone_migrate_11_to_10"),
    ("two numbers", "0912345678 / 0987654321", "0912345678", "phone_first_of_many"),
    ("landline is not a mobile", "02083856123", None, "phone_invalid"),
    ("too short", "091234567", None, "phone_invalid"),
    ("unassigned prefix", "0112345678", None, "phone_invalid"),
    ("text", "không có", None, "phone_invalid"),
    ("blank", "", None, None),
]


@pytest.mark.parametrize("case,raw,expected,rule", PHONE_CASES, ids=[c[0] for c in PHONE_CASES])
def test_parse_phones_cases(case: str, raw: str, expected: str | None, rule: str | None) -> None:
    out = parse_phones(pd.Series([raw])).iloc[0]
    assert (pd.isna(out["value"]) if expected is None else out["value"] == expected)
    assert (pd.isna(out["rule"]) if rule is None else out["rule"] == rule)
    assert bool(out["valid"]) is (expected is not None)


def test_phone_validity_agrees_with_phonenumbers() -> None:
    numbers = [f"0{p}{n:07d}" for p in ["32", "39", "56", "59", "70", "79", "81", "86", "88", "89",
                                        "90", "96", "99", "11", "20", "40", "60", "80"]
               for n in (1234567, 7654321)]
    ours = parse_phones(pd.Series(numbers))["valid"].tolist()
    theirs = [phonenumbers.is_valid_number(phonenumbers.parse(n, "VN"))
              and phonenumbers.number_type(phonenumbers.parse(n, "VN"))
              == phonenumbers.PhoneNumberType.MOBILE for n in numbers]
    assert ours == theirs


@settings(max_examples=60, deadline=None)
@given(mobiles, st.sampled_from(["{n}", "+84{r}", "+84 {r3} {r6}", "84{r}", "0084{r}", "{r}", "{r}.0",
                                 "{n3}.{n6}.{n9}", "({n3}) {n6}-{n9}", "{n} / 0987654321"]))
@example("0912345000", "{n3}.{n6}.{n9}")  # "0912.345.000" is not an Excel float "….0"
@example("0912345000", "{r}.0")
def test_a_mobile_written_any_way_reads_as_its_10_digit_form(number: str, template: str) -> None:
    r = number[1:]
    raw = template.format(n=number, r=r, r3=r[:3], r6=r[3:], n3=number[:4], n6=number[4:7], n9=number[7:])
    out = parse_phones(pd.Series([raw])).iloc[0]
    assert out["value"] == number, raw
    assert bool(out["valid"]) and not bool(out["invalid"])


def test_every_migrated_11_digit_prefix_maps_to_its_new_prefix() -> None:
    t = refdata.phone_migration()
    raw = pd.Series([f"{old}1234567" for old in t["old_prefix"]])
    out = parse_phones(raw)
    assert out["value"].tolist() == [f"{new}1234567" for new in t["new_prefix"]]
    assert set(out["rule"]) == {"phone_migrate_11_to_10"}


def test_phone_values_are_ten_digit_mobiles_or_missing() -> None:
    raw = pd.Series(["0912345678", "02083856123", "+1 202 555 0100", "0", "abc", "", None, "84 912 345 678"])
    out = parse_phones(raw)
    ok = out["value"].dropna()
    assert ok.str.fullmatch(r"0[35789][0-9]{8}").all()
    assert out["valid"].tolist() == out["value"].notna().tolist()
    assert out["invalid"].tolist() == [False, True, True, True, True, False, False, False]


def test_phone_migration_is_the_reference_table_read_once() -> None:
    t = refdata.phone_migration()
    assert dict(phone_migration()) == dict(zip(t["old_prefix"], t["new_prefix"], strict=True))
    assert phone_migration() is phone_migration()
