"""The pre-2025 administrative-unit table (``vaxreport/data/admin_units.csv``)."""

from __future__ import annotations

import unicodedata
from datetime import date

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


# ----------------------------------------------------------------------------- dated units (issue 16)
# Per GSO list: row count and sha256 of its normalised rows, computed by
# scripts/build_admin_units.py from the raw snapshot of daohoangson/dvhcvn (not from the table).
SNAPSHOTS = pd.read_csv(__import__("pathlib").Path(__file__).parent / "data" / "admin_snapshots.csv", dtype=str)
COLUMNS = ["province_code", "province_name", "district_code", "district_name", "district_type",
           "district_short", "commune_code", "commune_name", "commune_type"]


def _digest(df: pd.DataFrame) -> str:
    import hashlib

    lines = sorted("|".join(row) for row in df[COLUMNS].itertuples(index=False, name=None))
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


@pytest.mark.parametrize("list_date", SNAPSHOTS.list_date.tolist())
def test_units_on_a_list_date_equal_that_gso_snapshot(list_date: str) -> None:
    snap = SNAPSHOTS.set_index("list_date").loc[list_date]
    units = refdata.admin_units(None, on=date.fromisoformat(list_date))
    assert len(units) == int(snap["rows"])
    assert _digest(units) == snap["sha256"]
    assert units.province_code.nunique() == 63 and units.commune_code.is_unique


def test_snapshots_of_the_issue_are_covered() -> None:
    assert {"2021-11-01", "2022-10-01"} <= set(SNAPSHOTS.list_date)


def test_history_rows_do_not_overlap() -> None:
    h = refdata.admin_unit_history().sort_values(["commune_code", "valid_from"])
    assert (h.valid_from <= h.valid_to).all()
    nxt = h.groupby("commune_code").valid_from.shift(-1)
    assert (h.valid_to < nxt).where(nxt.notna(), True).all()


def test_que_vo_and_thuan_thanh_stay_huyen_in_2022() -> None:
    for day in (date(2021, 11, 1), date(2022, 4, 10), date(2022, 10, 1), date(2022, 12, 31)):
        d = refdata.districts("27", on=day).set_index("district_code")
        assert d.loc[["259", "262"], "district_type"].tolist() == ["Huyện", "Huyện"], day
    d = refdata.districts("27", on=date(2023, 4, 10)).set_index("district_code")
    assert d.loc[["259", "262"], "district_type"].tolist() == ["Thị xã", "Thị xã"]
    assert set(refdata.admin_units("27", on=date(2022, 10, 1)).query("district_code == '259'").commune_type) == {
        "Thị trấn", "Xã"}


def test_hue_2021_restructuring() -> None:
    before = refdata.admin_units("46", on=date(2021, 7, 1)).set_index("commune_code")
    after = refdata.admin_units("46", on=date(2021, 11, 1)).set_index("commune_code")
    gone = {"19744", "19747", "19765", "19771"}
    assert gone <= set(before.index) and not gone & set(after.index)
    moved = [c for c in after.index if c in before.index and after.loc[c, "district_code"] == "474"
             and before.loc[c, "district_code"] in ("478", "479", "480")]
    assert len(moved) == 13
    assert [c for c in ("19756", "19768") if before.loc[c, "commune_name"] != after.loc[c, "commune_name"]] == [
        "19756", "19768"]


def test_cau_dat_code_since_april_2022() -> None:
    hp = refdata.admin_units("31", on=date(2022, 4, 10))
    assert hp.loc[hp.commune_name == "Phường Cầu Đất", "commune_code"].tolist() == ["11344"]
    hp = refdata.admin_units("31", on=date(2022, 4, 9))
    assert hp.loc[hp.commune_name == "Phường Cầu Đất", "commune_code"].tolist() == ["11353"]


def test_communes_02299_02302_in_district_071() -> None:
    for day in (date(2021, 11, 1), date(2022, 10, 1)):
        u = refdata.admin_units(None, on=day).set_index("commune_code")
        assert u.loc[["02299", "02302"], "district_code"].tolist() == ["071", "071"]


def test_thai_nguyen_2022_05_matches_the_2022_10_list() -> None:
    may = refdata.admin_units("19", on=date(2022, 5, 31))
    oct_ = refdata.admin_units("19", on=date(2022, 10, 1))
    pd.testing.assert_frame_equal(may, oct_)
    assert refdata.admin_units("19").equals(may)


def test_dates_outside_the_lists_are_rejected() -> None:
    first, last = refdata.admin_units_coverage()
    with pytest.raises(ValueError, match="covers"):
        refdata.admin_units(None, on=first.replace(year=first.year - 1))
    with pytest.raises(ValueError, match="covers"):
        refdata.admin_units(None, on=last.replace(year=last.year + 1))


def test_successors_point_to_units_in_force() -> None:
    s = refdata.commune_successors()
    mapped = s[s.new_code != ""]
    assert set(mapped.old_code) >= {"11353"}
    for row in mapped.itertuples():
        after = refdata.admin_units(None, on=date.fromisoformat(row.retired_on))
        assert row.new_code in set(after.commune_code)
        assert row.old_code not in set(after.commune_code)
    assert s.loc[s.new_code == "", "basis"].str.startswith("ambiguous").all()
