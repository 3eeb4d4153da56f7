"""Tests of ``vaxreport.linkage.prepare``: one fold (``text.fold``), one gender parser and one
phone-migration table shared with the cleansing; name parts, dates and ID keys."""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd

from vaxreport import refdata
from vaxreport.cleansing.parse import parse_gender, parse_phones
from vaxreport.linkage.prepare import GENDER_CODES, MAX_DOSES, dob_int, prepare_fields
from vaxreport.text import encode_legacy, fold


def test_names_fold_with_text_fold_whatever_the_encoding() -> None:
    names = ["Đặng Thị Đào", "đặng thị đào", unicodedata.normalize("NFD", "Đặng Thị Đào"),
             encode_legacy("Đặng Thị Đào", "tcvn3"), encode_legacy("Đặng Thị Đào", "vni"),
             "  DANG   THI DAO ", "Nguyễn Văn Hùng", None]
    prep = prepare_fields(pd.DataFrame({"full_name": names}))
    codes = prep.codes["name"]
    assert len(set(codes[:6].tolist())) == 1 and codes[-1] == -1
    assert prep.strings["name"][codes[0]] == fold("Đặng Thị Đào") == "dang thi dao"
    assert prep.strings["name"][codes[6]] == fold("Nguyễn Văn Hùng")
    parts = {k: prep.strings[k][prep.codes[k][6]] for k in ("surname", "middle", "given", "surname_middle")}
    assert parts == {"surname": "nguyen", "middle": "van", "given": "hung", "surname_middle": "nguyen van"}


def test_gender_is_the_cleansing_parser() -> None:
    values = pd.Series(["Nam", "Nữ", "nam", "NỮ", "M", "F", " M", "male", "Female", "1", "2", "1.0",
                        "2.0", "nu", "Nam giới", "khác", "", None])
    prep = prepare_fields(pd.DataFrame({"gender": values}))
    expected = parse_gender(values)["value"].map(GENDER_CODES).fillna(0).astype(int).tolist()
    assert prep.gender.tolist() == expected
    assert expected[:14] == [1, 2, 1, 2, 1, 2, 1, 1, 2, 1, 2, 1, 2, 2]
    assert expected[-3:] == [0, 0, 0]


def test_old_mobiles_migrate_with_the_cleansing_table() -> None:
    table = refdata.phone_migration()
    old = [p + "1234567" for p in table["old_prefix"]]
    phones = pd.Series([*old, "+84912345678", "84912345678", "912345678", "02083851234", "0999999999", None])
    prep = prepare_fields(pd.DataFrame({"phone": phones}))
    got = [prep.strings["phone"][c] if c >= 0 else None for c in prep.codes["phone"]]
    assert got[:len(old)] == [p + "1234567" for p in table["new_prefix"]]
    assert got[:len(old)] == parse_phones(pd.Series(old))["value"].tolist()
    # a match key, not a validated mobile: a landline counts, junk does not
    assert got[len(old):] == ["0912345678", "0912345678", "0912345678", "02083851234", None, None]


def test_dates_and_id_keys() -> None:
    df = pd.DataFrame({"birth_date": ["12/03/1985", "1985-03-12", "19850312", "1985", "31/31/1985", None],
                       "id_number": ["019085001234", "19085001234", "019085002134", "111111111111",
                                     "019199001234", None]})
    prep = prepare_fields(df)
    # day and month are kept as written (1–31), so that a swapped day/month stays comparable
    assert prep.nums["dob"].tolist() == [19850312, 19850312, 19850312, 19850000, 19853131, 0]
    assert dob_int(prep.y, prep.m, prep.d).tolist() == [19850312] * 3 + [0, 19853131, 0]
    ids = prep.codes["id"]
    assert ids[0] == ids[1] >= 0 and ids[2] >= 0 and ids[3] == -1 and ids[5] == -1
    # a transposition leaves one pigeonhole key intact
    assert any(prep.codes[k][0] == prep.codes[k][2] for k in ("id_tail6", "id_head9", "id_head6_tail3",
                                                              "id_head6_sorted6"))
    # a CCCD whose birth-year digits contradict the record's birth date is not this person's ID
    assert prep.nums["id_row_ok"].tolist() == [True, True, True, True, False, True]
    assert np.all(prep.gender == 0)


def test_rows_read_the_table_in_that_order_without_a_copy() -> None:
    df = pd.DataFrame({"full_name": ["Lê Văn Tám", "LE VAN TAM", "Phạm Hà", None],
                       "birth_date": ["1990-01-02", "02/01/1990", None, "1970"],
                       "phone": ["0912345678", None, "0912345678", "84912345679"],
                       "id_number": ["019090000123", "019090000123", None, "C1234567"],
                       "doses": ["2021-08-01#1", "2021-09-01#2 2021-08-01#1", None, ""]},
                      index=[7, 3, 5, 1])
    rows = np.array([2, 0, 3, 1])
    got, want = prepare_fields(df, rows=rows), prepare_fields(df.iloc[rows])
    assert got.n == want.n == 4
    for part in ("codes", "strings", "nums", "freq"):
        a, b = getattr(got, part), getattr(want, part)
        assert a.keys() == b.keys()
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])
    for part in ("y", "m", "d", "gender"):
        np.testing.assert_array_equal(getattr(got, part), getattr(want, part))


def test_dose_history_slots() -> None:
    """Distinct days in order with their numbers, unparseable tokens skipped, at most
    MAX_DOSES slots."""
    many = " ".join(f"2021-{m:02d}-01#{m}" for m in range(1, MAX_DOSES + 3))
    p = prepare_fields(pd.DataFrame({"doses": ["2021-09-01#2 2021-08-01#1 2021-08-01#1 junk",
                                               "", None, many]}))
    day, no = p.nums["dose_day"], p.nums["dose_no"]
    assert day.shape == (4, MAX_DOSES)
    assert (day[0, :3] == [18840, 18871, 0]).all() and (no[0, :2] == [1, 2]).all()
    assert not day[1:3].any()
    assert (no[3] == np.arange(1, MAX_DOSES + 1)).all()
    assert not prepare_fields(pd.DataFrame({"full_name": ["An"]})).nums["dose_day"].any()
