"""The pre-2025 administrative-unit table (``vaxreport/data/admin_units.csv``)."""

from __future__ import annotations

import unicodedata

import pandas as pd
import pytest

from vaxreport import refdata

# DOMAIN.md §8: Thái Nguyên's district-level units before 1/7/2025 (code → name as reports write it).
TN_DISTRICTS_2019 = {
    "164": "TP Thái Nguyên",
    "165": "TP Sông Công",
    "167": "Định Hóa",
    "168": "Phú Lương",
    "169": "Đồng Hỷ",
    "170": "Võ Nhai",
    "171": "Đại Từ",
    "172": "Phổ Yên",
    "173": "Phú Bình",
}
PREFIX_OF_COMMUNE_TYPE = {"Phường": "Phường ", "Thị trấn": "Thị trấn ", "Xã": "Xã "}
PREFIX_OF_DISTRICT_TYPE = {"Thành phố": "Thành phố ", "Thị xã": "Thị xã ", "Huyện": "Huyện ", "Quận": "Quận "}


@pytest.fixture(scope="module")
def units() -> pd.DataFrame:
    return refdata.admin_units(None)


def test_columns_follow_the_contract(units: pd.DataFrame) -> None:
    assert list(units.columns) == [
        "province_code",
        "province_name",
        "district_code",
        "district_name",
        "district_type",
        "district_short",
        "commune_code",
        "commune_name",
        "commune_type",
    ]
    assert units.map(lambda v: isinstance(v, str) and v != "").all().all()


def test_thai_nguyen_has_the_nine_districts_of_domain_section_8() -> None:
    d = refdata.districts("19")
    assert d.district_code.tolist() == list(TN_DISTRICTS_2019)
    short = dict(zip(d.district_code, d.district_short))
    assert {k: v.removeprefix("TP ").removeprefix("TX ") for k, v in short.items()} == {
        k: v.removeprefix("TP ") for k, v in TN_DISTRICTS_2019.items()
    }
    assert short["164"] == "TP Thái Nguyên" and short["167"] == "Định Hóa"


def test_thai_nguyen_communes_in_2022() -> None:
    tn = refdata.admin_units()
    assert tn.province_name.unique().tolist() == ["Thái Nguyên"]
    assert 172 <= len(tn) <= 178
    assert tn.commune_type.value_counts().to_dict() == {"Xã": 128, "Phường": 41, "Thị trấn": 9}


def test_pho_yen_is_a_city_of_13_wards_and_5_communes() -> None:
    """UBTVQH resolution of 15/2/2022, in force 10/4/2022 (see PROVENANCE.md)."""
    py = refdata.admin_units().query("district_code == '172'")
    assert py.district_type.unique().tolist() == ["Thành phố"]
    assert py.commune_type.value_counts().to_dict() == {"Phường": 13, "Xã": 5}


def test_codes_are_zero_padded_digit_strings(units: pd.DataFrame) -> None:
    assert units.province_code.str.fullmatch(r"\d{2}").all()
    assert units.district_code.str.fullmatch(r"\d{3}").all()
    assert units.commune_code.str.fullmatch(r"\d{5}").all()
    assert units.commune_code.is_unique
    assert units.province_code.nunique() == 63
    # a district belongs to exactly one province
    assert units.groupby("district_code").province_code.nunique().eq(1).all()


def test_types_agree_with_name_prefixes(units: pd.DataFrame) -> None:
    assert set(units.commune_type) == set(PREFIX_OF_COMMUNE_TYPE)
    assert set(units.district_type) <= set(PREFIX_OF_DISTRICT_TYPE)
    for col, prefixes in (("commune", PREFIX_OF_COMMUNE_TYPE), ("district", PREFIX_OF_DISTRICT_TYPE)):
        expected = units[f"{col}_type"].map(prefixes)
        starts = [name.startswith(p) for name, p in zip(units[f"{col}_name"], expected)]
        assert all(starts), col


def test_names_are_nfc_and_trimmed(units: pd.DataFrame) -> None:
    for col in ("province_name", "district_name", "district_short", "commune_name"):
        values = units[col].unique()
        assert all(unicodedata.is_normalized("NFC", v) for v in values), col
        assert all(v == " ".join(v.split()) and v for v in values), col


def test_province_names_match_the_cccd_table(units: pd.DataFrame) -> None:
    assert set(units.province_name) == set(refdata.cccd_provinces().province_name)


def test_unknown_province_is_rejected() -> None:
    with pytest.raises(ValueError, match="'99'"):
        refdata.admin_units("99")
