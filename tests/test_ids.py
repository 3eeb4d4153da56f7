"""Tests of ``vaxreport.cleansing.ids``: ID digits survive separators, labels and Excel, and are never guessed."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from vaxreport import refdata
from vaxreport.cleansing.ids import cccd_province_codes, parse_ids

ids12 = st.integers(0, 10**11 - 1).map(lambda n: f"0{n:011d}")


@settings(max_examples=30, deadline=None)
@given(ids12, st.lists(st.sampled_from([" ", ".", "-", ""]), min_size=11, max_size=11))
def test_id_digits_survive_any_separators(digits: str, seps: list[str]) -> None:
    raw = digits[0] + "".join(s + ch for s, ch in zip(seps, digits[1:], strict=True))
    out = parse_ids(pd.Series([raw, "CCCD: " + raw]))
    plain, labelled = out.iloc[0], out.iloc[1]
    assert plain["value"] == digits and labelled["value"] == digits
    assert (pd.isna(plain["rule"]) if raw == digits else plain["rule"] == "id_strip_separators")
    assert labelled["rule"] == "id_strip_label"


@settings(max_examples=25, deadline=None)
@given(st.integers(10**11, 10**12 - 1).map(str))
def test_excel_scientific_ids_keep_only_certain_digits(digits: str) -> None:
    exact = f"{digits[0]}.{digits[1:]}E+11"  # every digit shown: restored
    lossy = f"{digits[0]}.{digits[1:4]}E+11"  # 8 digits lost: never guessed
    r = parse_ids(pd.Series([exact, lossy, digits + ".0"]))
    assert r["value"].iloc[0] == digits and r["rule"].iloc[0] == "id_excel_scientific"
    assert pd.isna(r["value"].iloc[1]) and r["flag"].iloc[1] == "id_excel_lost_digits"
    assert r["value"].iloc[2] == digits and r["rule"].iloc[2] == "id_excel_float"


def test_ids_that_lost_leading_zeros_are_offered_padded_not_changed() -> None:
    # 019… (Thái Nguyên) and 006… (Bắc Kạn) CCCDs, a 0… CMND, and 11 digits of no province code
    raw = pd.Series(["19080000123", "6080000123", "91122667", "99080000123", "019080000123"])
    r = parse_ids(raw)
    assert r["restorable"].tolist() == [True, True, True, False, False]
    assert r["padded"].tolist()[:3] == ["019080000123", "006080000123", "091122667"]
    assert r["value"].tolist() == raw.tolist()  # the caller restores, after checking the digits


def test_cccd_province_codes_are_the_reference_table() -> None:
    assert cccd_province_codes() == frozenset(refdata.cccd_provinces()["cccd_code"])
    assert cccd_province_codes() is cccd_province_codes()  # read once
