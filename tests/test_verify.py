from __future__ import annotations

import unicodedata

import pandas as pd
import pytest

from vaxreport import text
from vaxreport.exceptions import SchemaViolation
from vaxreport.linkage import verify


def persons(rows: list[tuple]) -> pd.DataFrame:
    """rows: (person_id, full_name, birth_date, gender, id_number, commune_code)."""
    df = pd.DataFrame(rows, columns=["person_id", "full_name", "birth_date", "gender",
                                     "id_number", "commune_code"])
    return df.assign(birth_date=pd.to_datetime(df["birth_date"]),
                     id_number=df["id_number"].astype("string"))


def registry(rows: list[tuple]) -> pd.DataFrame:
    """rows: (id_number, full_name, birth_date, gender, commune_code, checked_at, result)."""
    return pd.DataFrame(rows, columns=["id_number", "full_name", "birth_date", "gender",
                                       "commune_code", "checked_at", "result"])


REG = registry([
    ("019080000001", "NGUYỄN VĂN AN", "01/01/1980", "Nam", "05443", "15/05/2022", "match"),
    ("019190000002", "Lê Thị Hoa", "1990-02-01", "Nữ", "05443", "15/05/2022", "corrected"),
    ("019190000003", "Phạm Thị Lan", "03/03/1990", "Nữ", "05443", "15/05/2022", "not_found"),
    ("019191000004", "Trần Văn Bình", "05/05/1991", "Nam", "05443", "15/05/2022", "match"),
    ("019191000005", "Hoàng Văn Cường", "06/06/1991", "Nam", "05450", "15/05/2022", "match"),
    ("019191000006", "Hoàng Văn Cường", "06/06/1991", "Nam", "05460", "15/05/2022", "match"),
])


def by_id(df: pd.DataFrame) -> pd.DataFrame:
    return df.set_index("person_id")


def test_verified_when_folded_name_dob_and_gender_agree():
    p = persons([("P1", "Nguyen Van An", "1980-01-01", "M", "019080000001", "05443"),
                 ("P2", "Lê Thị Hoa", "1990-02-01", "F", "019190000002", "05443")])
    v = by_id(verify.verify_persons(p, REG))
    assert v.status.tolist() == ["verified", "verified"]
    assert v.mismatch_fields.tolist() == ["", ""]
    assert v.registry_result.tolist() == ["match", "corrected"]
    assert v.loc["P1", "name_score"] == 100


def test_fuzzy_name_threshold():
    p = persons([("P1", "Nguyễn Văn Anh", "1980-01-01", "M", "019080000001", "05443")])
    assert verify.verify_persons(p, REG).status.item() == "verified"
    strict = verify.verify_persons(p, REG, name_score=99)
    assert strict.status.item() == "mismatch"
    assert strict.mismatch_fields.item() == "full_name"
    assert strict.registry_full_name.item() == "NGUYỄN VĂN AN"


def test_mismatch_lists_fields_and_registry_values():
    p = persons([("P2", "Lê Thị Hoa", "1990-01-02", "M", "019190000002", "05443")])
    v = verify.verify_persons(p, REG)
    assert v.status.item() == "mismatch"
    assert v.mismatch_fields.item() == "birth_date;gender"
    assert v.registry_birth_date.item() == pd.Timestamp("1990-02-01")
    assert v.registry_gender.item() == "F"


def test_not_found_by_police_and_never_sent_with_suggestion():
    p = persons([
        ("P3", "Phạm Thị Lan", "1990-03-03", "F", "019190000003", "05443"),  # police: not found
        ("P4", "Trần Văn Bình", "1991-05-05", "M", "019191999999", "05443"),  # typo in the ID
    ])
    v = by_id(verify.verify_persons(p, REG))
    assert v.status.tolist() == ["not_found", "not_found"]
    assert v.loc["P3", "registry_result"] == "not_found"
    assert pd.isna(v.loc["P4", "registry_result"])
    assert pd.isna(v.loc["P3", "suggested_id"])  # only candidate is the not_found row itself
    assert v.loc["P4", "suggested_id"] == "019191000004"
    assert pd.isna(v.loc["P4", "registry_full_name"])


def test_valid_id_absent_from_the_extract_is_unchecked_not_not_found():
    p = persons([("P9", "Đỗ Văn Khánh", "1975-07-07", "M", "019075123456", "05443")])
    v = verify.verify_persons(p, REG)
    assert v.status.item() == "unchecked"
    assert pd.isna(v.registry_result.item()) and pd.isna(v.suggested_id.item())


def test_holder_of_a_valid_id_gets_no_namesake_from_another_commune():
    p = persons([
        # own valid ID unknown to the extract, namesake with an unrelated ID elsewhere
        ("Q1", "Hoàng Văn Cường", "1991-06-06", "M", "019091777777", "05460"),
        ("Q2", "Trần Văn Bình", "1991-05-05", "M", "019091777777", "05999"),
        # one transposition from the registry ID, other commune: a typo, suggested
        ("Q3", "Trần Văn Bình", "1991-05-05", "M", "019191000040", "05999"),
        # no ID at all: the one candidate is suggested whatever the commune
        ("Q4", "Trần Văn Bình", "1991-05-05", "M", None, "05999"),
    ])
    v = by_id(verify.verify_persons(p, REG))
    assert v.loc["Q1", "suggested_id"] == "019191000006"  # same commune
    assert v.loc["Q1", "status"] == "not_found"
    assert pd.isna(v.loc["Q2", "suggested_id"]) and v.loc["Q2", "status"] == "unchecked"
    assert v.loc["Q3", "suggested_id"] == "019191000004"
    assert v.loc["Q4", "suggested_id"] == "019191000004"


def test_no_id_suggestion_only_when_one_candidate_is_best():
    p = persons([
        ("A", "Hoàng Văn Cường", "1991-06-06", "M", None, "05450"),  # commune breaks the tie
        ("B", "Hoàng Văn Cường", "1991-06-06", "M", None, "05999"),  # two equal candidates
        ("C", "Trần Văn Bình", "1991-05-06", "M", None, "05443"),  # other birth date
    ])
    v = by_id(verify.verify_persons(p, REG))
    assert v.status.tolist() == ["no_id", "no_id", "no_id"]
    assert v.loc["A", "suggested_id"] == "019191000005"
    assert pd.isna(v.loc["B", "suggested_id"])
    assert pd.isna(v.loc["C", "suggested_id"])


def test_id_valid_column_decides_no_id():
    p = persons([("P", "Trần Văn Bình", "1991-05-05", "M", "019191999999", "05443")]).assign(
        id_valid=[False])
    v = verify.verify_persons(p, REG)
    assert v.status.item() == "no_id"
    assert v.suggested_id.item() == "019191000004"


def test_registry_duplicates_latest_found_row_wins_and_ids_restored():
    reg = registry([
        ("19080000001", "Nguyễn Văn An", "01/01/1980", "Nam", "05443", "01/04/2022", "not_found"),
        ("19080000001", "Nguyễn Văn Bá", "01/01/1980", "Nam", "05443", "01/05/2022", "match"),
        ("19080000001", "Nguyễn Văn An", "01/01/1980", "Nam", "05443", "20/05/2022", "corrected"),
    ])
    p = persons([("P1", "Nguyễn Văn An", "1980-01-01", "M", "019080000001", "05443")])
    v = verify.verify_persons(p, reg)
    assert v.status.item() == "verified"
    assert v.registry_result.item() == "corrected"


def test_shape_order_no_mutation_and_missing_columns():
    p = persons([("Z", "Lê Thị Hoa", "1990-02-01", "F", "019190000002", "05443"),
                 ("A", "Ai Đó", "2000-01-01", "F", None, "05443")])
    before_p, before_r = p.copy(), REG.copy()
    v = verify.verify_persons(p, REG)
    pd.testing.assert_frame_equal(p, before_p)
    pd.testing.assert_frame_equal(REG, before_r)
    assert v.person_id.tolist() == ["Z", "A"]
    assert tuple(v.columns) == verify.OUTPUT_COLUMNS
    assert set(v.status) <= set(verify.STATUSES)
    with pytest.raises(SchemaViolation, match="gender"):
        verify.verify_persons(p.drop(columns="gender"), REG)
    with pytest.raises(SchemaViolation, match="result"):
        verify.verify_persons(p, REG.drop(columns="result"))


def test_status_counts_has_all_statuses():
    p = persons([("P1", "Nguyen Van An", "1980-01-01", "M", "019080000001", "05443"),
                 ("P2", "X", "1980-01-01", "M", None, "05443")])
    counts = verify.status_counts(verify.verify_persons(p, REG))
    assert counts.to_dict() == {"verified": 1, "mismatch": 0, "not_found": 0, "no_id": 1, "unchecked": 0}


@pytest.mark.parametrize("name", ["Nguyễn Thị Hoà", "NGUYỄN  VĂN   ĐỨC", "H'Mông Ê Ban",
                                  "Ngô Quý Thuỷ", "Đoàn-Thị  Lụa.", "Lò Văn Ự",
                                  unicodedata.normalize("NFD", "Đặng Thị Hoà")])
def test_name_keys_are_the_shared_text_fold(name: str):
    reg = pd.DataFrame({"id_number": ["019080000001"], "full_name": [name], "birth_date": ["01/01/1980"],
                        "gender": ["Nam"], "result": ["match"]})
    assert verify.normalise_registry(reg)["name_key"].item() == text.fold(name)


def test_empty_inputs_and_undated_checks():
    p = persons([("P1", "Nguyen Van An", "1980-01-01", "M", "019080000001", "05443"),
                 ("P2", "X", "1990-01-01", "F", None, "05443")])
    empty_reg = verify.verify_persons(p, REG.iloc[:0])
    assert empty_reg.status.tolist() == ["unchecked", "no_id"]
    assert verify.verify_persons(p.iloc[:0], REG).empty
    # an undated not_found row never outranks a dated match for the same ID
    reg = registry([
        ("019080000001", "Nguyễn Văn An", "01/01/1980", "Nam", "05443", None, "not_found"),
        ("019080000001", "Nguyễn Văn An", "01/01/1980", "Nam", "05443", "01/05/2022", "match"),
    ])
    assert verify.verify_persons(p, reg).status.tolist() == ["verified", "no_id"]
    reg2 = registry([
        ("019080000001", "Nguyễn Văn Ba", "01/01/1980", "Nam", "05443", None, "match"),
        ("019080000001", "Nguyễn Văn An", "01/01/1980", "Nam", "05443", "01/05/2022", "match"),
    ])
    assert verify.verify_persons(p, reg2).status.tolist() == ["verified", "no_id"]


def test_status_codes_name_the_statuses():
    assert verify.STATUSES == ("verified", "mismatch", "not_found", "no_id", "unchecked")
    assert [verify.STATUSES[s] for s in verify.Status] == [s.name.lower() for s in verify.Status]
