"""Tests of ``vaxreport.explore``: the look-ups of ``notebooks/explore.ipynb``.

An analyst types part of a name (with or without diacritics) and sees matching persons with their
IDs and phones masked and only the birth year; asks for a merged pair; slices dose counts.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from vaxreport import explore, linkage
from vaxreport.facts import Facts


@pytest.fixture
def cleansed() -> dict[str, pd.DataFrame]:
    persons = pd.DataFrame({
        "person_id": [0, 2, 5],
        "full_name": ["Nguyễn Văn An", "Lê Thị Hoa", "Nguyen Van Anh"],
        "birth_date": pd.to_datetime(["1980-03-04", "1990-01-01", None]),
        "gender": ["M", "F", "M"],
        "id_number": ["019080000123", None, "090123456"],
        "phone": ["0912345678", "0987654321", None],
        "commune_code": ["05443", "05444", "05445"],
        "n_records": [2, 1, 1],
    })
    doses = pd.DataFrame({
        "person_id": [0, 0, 2, 0, 5],
        "person_ref": ["r2", "r1", "r3", "r2", "r5"],
        "full_name": ["Nguyen van an", "Nguyễn Văn An", "Lê Thị Hoa", "Nguyen van an", "Nguyen Van Anh"],
        "birth_date": pd.to_datetime(["1980-03-04"] * 3 + ["1980-03-04", None]),
        "gender": ["M", "M", "F", "M", "M"],
        "id_number": [None, "019080000123", None, None, "090123456"],
        "phone": [None, "0912345678", "0987654321", None, None],
        "commune_code": ["05443"] * 5, "address": ["x"] * 5,
    })
    return {"persons": persons, "doses": doses}


def test_find_person_matches_folded_names_and_masks_identifiers(cleansed: dict[str, pd.DataFrame]) -> None:
    hits = explore.find_person(cleansed, "NGUYEN VAN AN")  # no diacritics, any case
    assert hits["person_id"].tolist() == [0, 5]  # "Nguyễn Văn An" and "Nguyen Van Anh"
    an = hits.iloc[0]
    assert an["id_number"] == "0190******23" and an["phone"] == "09******78"
    assert an["birth_year"] == 1980 and "birth_date" not in hits  # the year only
    assert an["doses"] == 3 and an["records"] == 2
    shown = hits.to_string()
    assert "019080000123" not in shown and "0912345678" not in shown and "090123456" not in shown


def test_find_person_with_diacritics_and_no_match(cleansed: dict[str, pd.DataFrame]) -> None:
    assert explore.find_person(cleansed, "thị hoa")["person_id"].tolist() == [2]
    assert explore.find_person(cleansed, "Trần").empty


def test_merged_pair_gives_two_records_of_one_person(cleansed: dict[str, pd.DataFrame]) -> None:
    a, b = explore.merged_pair(cleansed)
    assert a["full_name"] == "Nguyễn Văn An" and b["full_name"] == "Nguyen van an"  # r1, then r2
    assert "person_id" not in a.index and "full_name" in a.index


def test_explain_merge_masks_ids_and_phones_but_keeps_their_evidence(cleansed: dict[str, pd.DataFrame]) -> None:
    both = {**cleansed, "doses": cleansed["doses"].assign(
        id_number=[None, "019080000123", None, None, "090123456"],
        phone=["0912345687", "0912345678", "0987654321", "0912345687", None])}  # r2: last digits swapped
    e = explore.explain_merge(both)
    shown = e.table.set_index("comparison")
    assert shown.loc["phone", "value_a"] == "09******78" and shown.loc["phone", "value_b"] == "09******87"
    assert pd.isna(shown.loc["id_number", "value_b"])
    assert shown.loc["phone", "level"] == linkage.explain_pair(*explore.merged_pair(both)).table.set_index(
        "comparison").loc["phone", "level"] != "exact"
    text = str(e)
    assert "0912345678" not in text and "019080000123" not in text


def test_merged_pair_when_nobody_was_merged(cleansed: dict[str, pd.DataFrame]) -> None:
    single = {**cleansed, "doses": cleansed["doses"].drop_duplicates("person_id")}
    with pytest.raises(LookupError, match="no person in this run was merged"):
        explore.merged_pair(single)


def test_slice_doses_counts_rows_and_signed_share() -> None:
    doses = pd.DataFrame({"record_id": [f"r{i}" for i in range(5)],
                          "vaccine": ["Pfizer", "Pfizer", "Pfizer", "Moderna", None],
                          "sign_status": ["signed", "signed", "unsigned", "unsigned", "signed"]})
    empty = pd.DataFrame()
    facts = Facts(doses=doses, persons=empty, tallies=empty, feedback=empty, registry=empty, population=empty,
                  findings=empty, quarantine=empty, units=empty)
    out = explore.slice_doses(facts, by=["vaccine"]).set_index("vaccine")
    assert out.loc["Pfizer"].tolist() == [3, 2, 66.67]
    assert out.loc["Moderna"].tolist() == [1, 0, 0.0]
    assert out["doses"].sum() == len(doses)  # rows with no vaccine are counted too


def test_load_cleansed_reads_the_tables_present(tmp_path: Path, cleansed: dict[str, pd.DataFrame]) -> None:
    folder = tmp_path / "cleansed"
    folder.mkdir()
    cleansed["persons"].to_parquet(folder / "persons.parquet")
    cleansed["doses"].to_parquet(folder / "doses.parquet")
    (folder / "notes.parquet").write_bytes(b"not a table of stage 1")
    loaded = explore.load_cleansed(tmp_path)
    assert set(loaded) == {"persons", "doses"}
    pd.testing.assert_frame_equal(loaded["doses"], cleansed["doses"], check_dtype=False)
