"""Tests of the cleansing steps (``steps``, ``steps_text``, ``steps_ids``, ``steps_admin``): one case per row."""

from __future__ import annotations

import datetime as dt
import unicodedata

import pandas as pd
import pytest

from vaxreport.cleansing.audit import run_steps
from vaxreport.cleansing.protocol import CleanParams, Step
from vaxreport.cleansing.steps import STEPS, flag_dates, parse_dose_numbers, standardise_gender
from vaxreport.cleansing.steps_admin import map_retired_communes, match_admin_units
from vaxreport.cleansing.steps_ids import standardise_ids
from vaxreport.cleansing.steps_text import standardise_text
from vaxreport.exceptions import SchemaViolation

AS_OF = dt.date(2022, 5, 31)
PARAMS = CleanParams(as_of=AS_OF)


def _ts(s: str | None) -> pd.Timestamp | None:
    return None if s is None else pd.Timestamp(s)


# ----------------------------------------------------------------------------- dates
def test_flag_dates() -> None:
    df = pd.DataFrame({
        "dose_date": pd.to_datetime(["2022-06-02", "2021-01-05", "1990-05-01", "2021-06-01"]),
        "birth_date": pd.to_datetime(["1990-01-01", "1980-01-01", "1991-01-01", None])})
    flags = flag_dates(df, PARAMS)["date_flags"].tolist()
    assert flags == ["dose_date_future", "dose_before_campaign",
                     "dose_before_campaign;dose_before_birth", "birth_date_missing"]


# ----------------------------------------------------------------------------- IDs
ID_CASES = [
    # (case, raw, birth, gender, expected id, rule, flags, valid)
    ("clean CCCD", "019080000123", "1980-01-01", "M", "019080000123", None, "", True),
    ("spaces", "019 080 000 123", "1980-01-01", "M", "019080000123", "id_strip_separators", "", True),
    ("dots", "019.080.000.123", "1980-01-01", "M", "019080000123", "id_strip_separators", "", True),
    ("label", "CCCD: 019080000123", "1980-01-01", "M", "019080000123", "id_strip_label", "", True),
    ("excel float", "019080000123.0", "1980-01-01", "M", "019080000123", "id_excel_float", "", True),
    ("lost leading zero", "19080000123", "1980-01-01", "M", "019080000123",
     "id_restore_leading_zero", "", True),
    ("lost two zeros (Bắc Kạn 006)", "6080000123", "1980-01-01", "M", "006080000123",
     "id_restore_leading_zero", "", True),
    ("lost zero, float", "19080000123.0", "1980-01-01", "M", "019080000123",
     "id_restore_leading_zero", "", True),
    ("11 digits that disagree with the birth year stay",
     "19099000123", "1980-01-01", "M", "19099000123", None, "id_bad_length", False),
    ("CMND lost its zero", "91122667", "1970-01-01", "M", "091122667",
     "id_restore_leading_zero", "cmnd9", True),
    ("scientific with every digit", "1.9080000123E+10", "1980-01-01", "M", "019080000123",
     "id_restore_leading_zero", "", True),
    ("scientific, 12 digits", "1.90800001234E+11", "1980-01-01", "M", "190800001234",
     "id_excel_scientific", "cccd_bad_province;cccd_century_mismatch;cccd_year_mismatch", False),
    ("scientific lost digits", "1.9E+11", "1980-01-01", "M", None, "id_excel_lost_digits",
     "id_excel_lost_digits", False),
    ("letter O for zero", "O19080000123", "1980-01-01", "M", "019080000123", "id_letter_o", "", True),
    ("not a number", "không có", "1980-01-01", "M", None, "id_not_digits", "id_not_digits", False),
    ("missing", None, "1980-01-01", "M", None, None, "id_missing", False),
    ("CMND 9 digits", "090123456", "1980-01-01", "M", "090123456", None, "cmnd9", True),
    ("bad province", "099080000123", "1980-01-01", "M", "099080000123", None,
     "cccd_bad_province", False),
    ("sex digit says female", "019180000123", "1980-01-01", "M", "019180000123", None,
     "cccd_sex_mismatch", False),
    ("century digit says 2000s", "019280000123", "1980-01-01", "M", "019280000123", None,
     "cccd_century_mismatch", False),
    ("born 2005, female", "019305000123", "2005-07-01", "F", "019305000123", None, "", True),
    ("year digits differ", "019081000123", "1980-01-01", "M", "019081000123", None,
     "cccd_year_mismatch", False),
    ("placeholder", "000000000000", "1980-01-01", "M", "000000000000", None,
     "id_placeholder;cccd_bad_province;cccd_year_mismatch", False),
    ("wrong length", "0190800001", "1980-01-01", "M", "0190800001", None, "id_bad_length", False),
    ("no birth date: only structure checked", "019080000123", None, "M", "019080000123", None, "",
     True),
]


@pytest.mark.parametrize("case,raw,birth,gender,expected,rule,flags,valid", ID_CASES,
                         ids=[c[0] for c in ID_CASES])
def test_standardise_ids_cases(case: str, raw: str | None, birth: str | None, gender: str,
                               expected: str | None, rule: str | None, flags: str,
                               valid: bool) -> None:
    df = pd.DataFrame({"id_number": pd.Series([raw], dtype="str"),
                       "birth_date": pd.Series([_ts(birth)], dtype="datetime64[ns]"),
                       "gender": [gender]})
    out = standardise_ids(df, PARAMS).iloc[0]
    assert (pd.isna(out["id_number"]) if expected is None else out["id_number"] == expected)
    assert (pd.isna(out["__rule__id_number"]) if rule is None
            else out["__rule__id_number"] == rule)
    assert out["id_flags"] == flags
    assert bool(out["id_valid"]) is valid


def test_step_missing_column_error() -> None:
    with pytest.raises(SchemaViolation, match="id_number"):
        standardise_ids(pd.DataFrame({"birth_date": [], "gender": []}), PARAMS)


# ----------------------------------------------------------------------------- gender, dose numbers
@pytest.mark.parametrize("raw,expected,rule", [
    ("Nam", "M", None), ("Nữ", "F", None), ("1", "M", None), ("2", "F", None), ("M", "M", None),
    ("nu", "F", "gender_normalise"), ("NỮ", "F", "gender_normalise"),
    ("nam giới", "M", "gender_normalise"), ("Nữ giới", "F", "gender_normalise"),
    ("male", "M", "gender_normalise"), ("female", "F", "gender_normalise"),
    ("2.0", "F", "gender_normalise"), ("Khác", None, "gender_unknown"), ("", None, None),
])
def test_gender_cases(raw: str, expected: str | None, rule: str | None) -> None:
    out = standardise_gender(pd.DataFrame({"gender": [raw]}), PARAMS).iloc[0]
    assert (pd.isna(out["gender"]) if expected is None else out["gender"] == expected)
    assert (pd.isna(out["__rule__gender"]) if rule is None else out["__rule__gender"] == rule)


@pytest.mark.parametrize("raw,expected,rule", [
    ("1", 1, None), ("Mũi 1", 1, None), ("mũi 2", 2, "dose_number_text"),
    ("2.0", 2, "dose_number_text"), ("Mũi thứ hai", 2, "dose_number_text"),
    ("M2", 2, "dose_number_text"), ("Mũi 3 (nhắc lại)", 3, "dose_number_text"),
    ("Mũi nhắc lại lần 1", 3, "dose_number_booster"),
    ("Mũi nhắc lại lần 2", 4, "dose_number_booster"),
    ("nhắc lại", 3, "dose_number_booster_seq"), ("Mũi bổ sung", 3, "dose_number_additional_seq"),
    ("0", None, "dose_number_unknown"), ("abc", None, "dose_number_unknown"),
])
def test_dose_number_cases(raw: str, expected: int | None, rule: str | None) -> None:
    df = pd.DataFrame({"dose_number": [raw], "person_ref": ["p"],
                       "dose_date": pd.to_datetime(["2022-01-01"])})
    out = parse_dose_numbers(df, PARAMS).iloc[0]
    assert (pd.isna(out["dose_number"]) if expected is None else out["dose_number"] == expected)
    assert (pd.isna(out["__rule__dose_number"]) if rule is None
            else out["__rule__dose_number"] == rule)


def test_unnumbered_booster_follows_the_record_sequence() -> None:
    df = pd.DataFrame({"person_ref": ["a", "a", "a", "a", "a"],
                       "dose_number": ["1", "2", "nhắc lại", "2", "nhắc lại"],
                       "dose_date": pd.to_datetime(["2021-06-01", "2021-09-01", "2022-01-01",
                                                    "2021-09-01", "2022-06-01"])})
    assert parse_dose_numbers(df, PARAMS)["dose_number"].tolist() == [1, 2, 3, 2, 4]


# ----------------------------------------------------------------------------- text
@pytest.mark.parametrize("raw,expected,key,rule", [
    ("Nguyễn Văn An", "Nguyễn Văn An", "nguyen van an", None),
    ("  Nguyễn   Văn An ", "Nguyễn Văn An", "nguyen van an", "text_whitespace"),
    ("NGUYỄN VĂN AN", "Nguyễn Văn An", "nguyen van an", "name_case"),
    (unicodedata.normalize("NFD", "Lê Thị Hồng"), "Lê Thị Hồng", "le thi hong", "text_nfc"),
    ("Lê Thị Hoà", "Lê Thị Hòa", "le thi hoa", "text_tone_placement"),
    ("NguyÔn V¨n An", "Nguyễn Văn An", "nguyen van an", "text_legacy_tcvn3"),
    ("Nguyeãn Vaên An", "Nguyễn Văn An", "nguyen van an", "text_legacy_vni"),
    ("Lê Thị Vâ", "Lê Thị Vâ", "le thi va", None),  # a typo, not TCVN3: contains Unicode letters
    ("Đỗ Đức Đạt", "Đỗ Đức Đạt", "do duc dat", None),
])
def test_text_cases(raw: str, expected: str, key: str, rule: str | None) -> None:
    out = standardise_text(pd.DataFrame({"full_name": [raw]}), PARAMS).iloc[0]
    assert out["full_name"] == expected and out["name_key"] == key
    assert (pd.isna(out["__rule__full_name"]) if rule is None
            else out["__rule__full_name"] == rule)


def test_mark_order_is_a_composition_repair() -> None:
    # "ó" + combining circumflex: NFC leaves it, the repair composes "ố" (not a tone move).
    out = standardise_text(pd.DataFrame({"full_name": ["Đặng Thanh Lo\u0301\u0302c"]}), PARAMS)
    assert out["full_name"].iloc[0] == "Đặng Thanh Lốc"
    assert out["__rule__full_name"].iloc[0] == "text_nfc"


_GIVEN = ("An Bình Chi Dung Giang Hà Hải Hoa Hòa Hoàng Hùng Khánh Lan Linh Long Mai My Nam "
          "Nga Ngọc Phúc Quang Sơn Tâm Trang").split()


def _names_with(ambiguous: list[str], n_given: int) -> pd.DataFrame:
    """``ambiguous`` after distinct certainly-Unicode names (4 families x 4 middles x n)."""
    context = [f"{f} {m} {g}" for f in ("Hồ", "Vũ", "Nguyễn", "Lê")
               for m in ("Thị", "Văn", "Đức", "Minh") for g in _GIVEN[:n_given]]
    return pd.DataFrame({"full_name": ambiguous + context})


def test_legacy_name_valid_both_ways_follows_the_column() -> None:
    # Each value is valid Unicode; the column's certainly-Unicode names use "Thị", "Hồ",
    # "Vũ", never "Thò", "Hoà" or "Vò" as family/middle names.
    raw = ["Hoà Thò An", "Vò Minh Mai", "Lê Mai Hoàng", "Nguyễn Văn Hoàng"]
    out = standardise_text(_names_with(raw, 25), PARAMS)
    assert out["full_name"].tolist()[:4] == ["Hồ Thị An", "Vũ Minh Mai", "Lê Mai Hoàng",
                                             "Nguyễn Văn Hoàng"]
    assert out["__rule__full_name"].fillna("").tolist()[:4] == [
        "text_legacy_vni", "text_legacy_tcvn3", "", ""]


def test_legacy_name_without_evidence_stays_unicode() -> None:
    # Too few names to say: the Unicode reading is kept (tone placement only).
    out = standardise_text(_names_with(["Hoà Thò An"], 2), PARAMS)
    assert out["full_name"].iloc[0] == "Hòa Thò An"
    assert out["__rule__full_name"].iloc[0] == "text_tone_placement"
    off = standardise_text(_names_with(["Hoà Thò An"], 25),
                           CleanParams(as_of=AS_OF, legacy_name_evidence=1e30))
    assert off["full_name"].iloc[0] == "Hòa Thò An"


# ----------------------------------------------------------------------------- admin units
def test_admin_units_cases() -> None:
    df = pd.DataFrame({
        "province_code": ["19", "19", "19", "19", "19", "19"],
        "district_code": ["164", "164", "164", "999", "164", "171"],
        "commune_code": ["5443", "Phường Hoàng Văn Thụ", "p. quang trung", "05443",
                         "Xã Không Có", "05443"]})
    out = match_admin_units(df, PARAMS)
    assert out["commune_code"].tolist() == ["05443", "05440", "05446", "05443", "Xã Không Có",
                                            "05443"]
    assert out["__rule__commune_code"].tolist()[:3] == ["admin_pad_code", "admin_name_exact",
                                                        "admin_name_exact"]
    assert out["__flag__district_code"].tolist()[3] == "unknown_code"
    assert out["__flag__commune_code"].tolist()[4:] == ["unknown_name", "not_in_district"]


def test_steps_run_every_verb_once_in_order() -> None:
    names = [s.name for s in STEPS]
    assert len(names) == len(set(names)) and names[0] == "standardise_codes"
    assert names.index("standardise_ids") > max(names.index("parse_other_dates"), names.index("standardise_gender"))


RETIRED = {  # commune code as typed, dose date → (code after cleansing, rule, flag)
    "Cầu Đất: 11353 until the list of 10/04/2022, 11344 since": (
        ("11353", "2021-09-01"), ("11344", "admin_commune_successor", None)),
    "typed after it was retired: mapped, but flagged": (
        ("11353", "2022-05-01"), ("11344", "admin_commune_successor", "commune_not_valid_on_dose_date")),
    "Huế 2021: a phường dissolved into several, no single successor": (
        ("19744", "2021-09-01"), ("19744", None, "commune_retired_ambiguous")),
    "a code in force is left alone": (("05443", "2021-09-01"), ("05443", None, None)),
}


def test_retired_commune_codes_are_mapped_forward_and_audited() -> None:
    cases = list(RETIRED.values())
    df = pd.DataFrame({"record_id": [f"r{i}" for i in range(len(cases))],
                       "commune_code": [c[0][0] for c in cases],
                       "dose_date": pd.to_datetime([c[0][1] for c in cases])})
    params = CleanParams(as_of=AS_OF, units_on=dt.date(2022, 5, 31))
    res = run_steps(df, [Step("map_retired_communes", map_retired_communes, ("commune_code",))], params)
    assert res.data["commune_code"].tolist() == [c[1][0] for c in cases]
    audit = dict(zip(res.audit["record_id"], res.audit["rule"]))
    assert audit == {"r0": "admin_commune_successor", "r1": "admin_commune_successor"}
    flags = dict(zip(res.flags["record_id"], res.flags["flag"]))
    assert flags == {f"r{i}": c[1][2] for i, c in enumerate(cases) if c[1][2]}


def test_map_retired_communes_missing_column() -> None:
    with pytest.raises(SchemaViolation, match="commune_code"):
        map_retired_communes(pd.DataFrame({"dose_date": []}), PARAMS)


def test_moved_commune_in_its_former_district_is_not_flagged() -> None:
    """Xã Phúc Sơn 02299 was in district 073 until the list of 01/07/2021, in 071 since."""
    df = pd.DataFrame({"province_code": ["08", "08", "08"], "district_code": ["073", "071", "070"],
                       "commune_code": ["02299", "02299", "02299"]})
    out = match_admin_units(df, CleanParams(as_of=AS_OF, province_code="08"))
    assert out["__flag__commune_code"].fillna("").tolist() == ["", "", "not_in_district"]


def test_site_habit_decides_names_per_row() -> None:
    df = pd.DataFrame({"full_name": ["NguyÔn V¨n An", "Lª ThÞ Hoa", "Anh Tó", "Nguyễn Thị Hà", "Anh Tó"],
                       "site_code": ["A", "A", "A", "B", "B"]})
    out = standardise_text(df, PARAMS)
    assert out["full_name"].tolist() == ["Nguyễn Văn An", "Lê Thị Hoa", "Anh Tú", "Nguyễn Thị Hà", "Anh Tó"]
    assert out["__rule__full_name"].tolist()[2] == "text_legacy_tcvn3"
    assert out["name_key"].tolist()[2:] == ["anh tu", "nguyen thi ha", "anh to"]
