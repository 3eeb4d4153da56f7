from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from vaxreport.exceptions import SchemaViolation
from vaxreport.frames import categorize, plain
from vaxreport.linkage import doses as dz
from vaxreport.reporting import worklists as wlm
from vaxreport.runner.stages import LOW_CARDINALITY

AS_OF = date(2022, 5, 31)


def test_masks_are_vectorised_and_keep_na():
    ids = pd.Series([" 019084000923 ", "123456789", "123456", "", None], index=[5, 6, 7, 8, 9])
    assert wlm.mask_id(ids).tolist() == ["0190******23", "1234***89", "******", pd.NA, pd.NA]
    assert wlm.mask_id(ids).index.tolist() == [5, 6, 7, 8, 9]
    assert wlm.mask_phone(pd.Series(["0912345667", "091", None])).tolist() == [
        "09******67", "***", pd.NA]


def dose_rows() -> pd.DataFrame:
    rows = [
        # record, ref, pid, name, birth, id, id_valid, flags, site, vaccine, no, date, sign
        ("r1", "a", 1, "Nguyễn Văn An", "1980-01-01", "019080000001", True, "", "S1",
         "Pfizer", 1, "2021-09-01", "signed"),
        ("r2", "a", 1, "Nguyễn Văn An", "1980-01-01", "019080000001", True, "", "S1",
         "Pfizer", 3, "2021-10-01", "unsigned"),
        ("r3", "b", 2, "Lê Thị Hoa", "1990-02-01", None, False, "", "S2",
         "Pfizer", 1, "2022-05-20", "unsigned"),
        ("r4", "c", 3, "Trần Văn Bình", "1991-05-05", "0191910004", False, "id_length", "S2",
         "AstraZeneca", 1, "2021-08-01", "signed"),
        ("r5", "d", 4, "Phạm Thị Lan", "1985-03-03", "019185000005", True, "", "S1",
         "Moderna", 1, "2021-08-01", "signed"),
        ("r6", "e", 5, "Hoàng Văn Cường", "1970-06-06", "019070000006", True, "", "S2",
         "Moderna", 1, "2021-08-01", "unsigned"),
        ("r7", "f", 5, "Hoàng Văn Cường", "1970-06-06", "019070000006", True, "", "S1",
         "Moderna", 2, "2021-09-15", "signed"),
    ]
    df = pd.DataFrame(rows, columns=["record_id", "person_ref", "person_id", "full_name",
                                     "birth_date", "id_number", "id_valid", "id_flags",
                                     "site_code", "vaccine", "dose_number", "dose_date",
                                     "sign_status"])
    return df.assign(
        birth_date=pd.to_datetime(df.birth_date), dose_date=pd.to_datetime(df.dose_date),
        dose_number=df.dose_number.astype("Int64"), phone="0912345678",
        site_name=df.site_code.map({"S1": "TYT Phường A", "S2": "TYT Xã B"}),
        id_number=df.id_number.astype("string"))


def verification() -> pd.DataFrame:
    return pd.DataFrame({
        "person_id": [1, 2, 3, 4, 5],
        "status": ["verified", "no_id", "no_id", "not_found", "mismatch"],
        "mismatch_fields": ["", "", "", "", "birth_date;gender"],
        "suggested_id": pd.array([pd.NA, "019190000777", pd.NA, pd.NA, pd.NA], dtype="string"),
        "registry_full_name": pd.array([None, None, None, None, "Hoàng Văn Cường"],
                                       dtype="string"),
        "registry_birth_date": pd.to_datetime([None, None, None, None, "1970-07-06"]),
        "registry_gender": pd.array([None, None, None, None, "F"], dtype="string"),
    })


def build_example(*, categorical: bool = False) -> dict[str, pd.DataFrame]:
    """The worklists of :func:`dose_rows` (every kind of problem), also written by test_workbooks;
    ``categorical``: the low-cardinality text as categoricals, as stage 1 holds it."""
    data = dose_rows()
    if categorical:
        data = categorize(data, LOW_CARDINALITY)
    res = dz.reconcile(data)
    merged = data.iloc[[0]].assign(record_id="r1b", merged_into="r1",
                                   reason="duplicate_same_vaccine")
    merges = pd.DataFrame({"person_ref": ["f"], "person_id": [5], "survivor_ref": ["e"],
                           "score": [17.234]})
    return wlm.build_worklists(res.data, res.findings, verification(), unsigned_days=30,
                               as_of=AS_OF, person_merges=merges, merged_doses=merged)


def test_categorical_text_columns_give_the_same_worklists(built):
    cat = build_example(categorical=True)
    for kind, table in built.items():
        pd.testing.assert_frame_equal(plain(cat[kind]), table, obj=kind)


@pytest.fixture(scope="module")
def built() -> dict[str, pd.DataFrame]:
    return build_example()


def test_all_kinds_present_with_contract_columns(built):
    assert list(built) == list(wlm.KINDS)
    for t in built.values():
        assert list(t.columns) == [*wlm.COLUMNS, *wlm.KEY_COLUMNS]


def test_every_row_carries_its_persons_id(built):
    """Every line, person-level or dose-level, names the person it is about (``person_id``)."""
    lines = wlm.to_table(built)
    assert len(lines) and lines["person_id"].notna().all()
    assert lines["person_id"].dtype == "Int64"


def test_identity_kinds(built):
    bad = built["bad_id"].set_index("person_ref")
    assert bad.code.to_dict() == {"b": "no_id", "c": "bad_id", "d": "id_not_found"}
    # the registry's ID in full: the site enters it on the platform (issue 17)
    assert bad.loc["b", "suggestion"] == ("Số định danh theo CSDLQG: 019190000777 "
                                          "(đối chiếu với Công an xã)")
    assert "id_length" in bad.loc["c", "problem"]
    assert bad.record_id.isna().all()  # person-level: fix the person record
    mm = built["id_mismatch"]
    assert set(mm.person_ref) == {"e", "f"}
    assert mm.problem.iloc[0] == "Thông tin không khớp với CSDLQG: ngày sinh, giới tính"
    assert mm.suggestion.iloc[0] == "Sửa theo CSDLQG — Ngày sinh: 06/07/1970; Giới tính: Nữ"


def test_own_id_masked_except_the_digits_that_differ_from_the_suggestion():
    data = dose_rows()
    ver = verification()
    ver.loc[ver.person_id == 4, "suggested_id"] = "019185000050"  # d's own ID: 019185000005
    wl = wlm.build_worklists(dz.reconcile(data).data, pd.DataFrame(columns=["record_id", "person_id", "code",
                             "label_vi", "detail"]), ver, unsigned_days=30, as_of=AS_OF)
    d = wl["bad_id"].set_index("person_ref").loc["d"]
    assert d.id_masked == "**********05"  # only the two swapped digits show
    assert d.suggestion == "Số định danh theo CSDLQG: 019185000050 (đối chiếu với Công an xã)"
    c = wl["bad_id"].set_index("person_ref").loc["c"]
    assert c.id_masked == "0191****04"  # no suggestion: the usual mask


def test_duplicate_person_and_duplicate_dose(built):
    dp = built["duplicate_person"]
    assert dp.person_ref.tolist() == ["f"]
    assert dp.problem.item().endswith("trùng với mã e (điểm 17.2)")
    assert dp.suggestion.item() == "Gộp hồ sơ về mã đối tượng e (TYT Xã B)"
    dd = built["duplicate_dose"]
    assert dd.record_id.tolist() == ["r1b"]
    assert "trùng với bản ghi r1" in dd.problem.item()


def test_dose_findings_routed_by_kind(built):
    seq = built["dose_sequence"]
    assert seq[["record_id", "code"]].values.tolist() == [["r2", "missing_dose"]]
    assert seq.problem.item().startswith("Thiếu mũi tiêm trước")
    assert seq.dose_date.item() == "01/10/2021"
    assert "incomplete_primary" not in set(pd.concat(built.values()).code)


def test_unsigned_older_than_n_days(built):
    un = built["unsigned"].set_index("record_id")
    assert set(un.index) == {"r2", "r6"}  # r3 is 11 days old
    assert un.loc["r2", "suggestion"] == "Ký số mũi tiêm"
    assert un.loc["r6", "suggestion"] == "Xác thực thông tin với CSDLQG trước khi ký số"
    assert un.loc["r2", "problem"].endswith("đã 242 ngày")


def test_no_unmasked_personal_ids_and_birth_year_only(built):
    cells = pd.concat(built.values()).astype("string").fillna("")
    text = " ".join(cells.to_numpy().ravel().tolist())
    for raw in ("019080000001", "019185000005", "0912345678", "1980-01-01", "01/01/1980"):
        assert raw not in text
    assert "019190000777" in text  # a suggested registry ID is shown in full (issue 17)
    assert set(built["bad_id"].birth_year) == {1990, 1991, 1985}


def test_sorted_by_priority_then_site():
    data = dose_rows()
    f = pd.DataFrame({"record_id": ["r6", "r5", "r7"], "person_id": [5, 4, 5],
                      "code": ["short_interval", "mixing_not_allowed", "short_interval"],
                      "label_vi": ["x", "y", "z"], "detail": ["", "", ""]})
    wl = wlm.build_worklists(data, f, verification(), unsigned_days=30, as_of=AS_OF)
    assert wl["short_interval"].record_id.tolist() == ["r7", "r6"]  # S1 before S2
    combined = pd.concat(wl.values())
    assert combined.groupby("code").priority.nunique().eq(1).all()
    with pytest.raises(SchemaViolation, match="sign_status"):
        wlm.build_worklists(data.drop(columns="sign_status"), f, verification(),
                            unsigned_days=30, as_of=AS_OF)


def test_merge_audit_shape_derives_survivor_ref():
    data = dose_rows()
    merges = pd.DataFrame({"record": ["f"], "survivor": [5], "score": [12.0]})
    wl = wlm.build_worklists(data, data.iloc[:0].assign(code=[], label_vi=[], detail=[]),
                             verification(), unsigned_days=30, as_of=AS_OF,
                             person_merges=merges)
    assert wl["duplicate_person"].suggestion.item().startswith("Gộp hồ sơ về mã đối tượng e")


def test_inputs_not_mutated():
    data, ver = dose_rows(), verification()
    before = data.copy(), ver.copy()
    res = dz.reconcile(data)
    wlm.build_worklists(res.data, res.findings, ver, unsigned_days=30, as_of=AS_OF)
    pd.testing.assert_frame_equal(data, before[0])
    pd.testing.assert_frame_equal(ver, before[1])


def test_person_ids_keep_all_63_bits_even_for_a_record_without_kept_doses():
    """A merged record whose doses were all duplicates has no kept dose row: its line still
    carries the merge's exact id (a float on the way would round a 63-bit id)."""
    big = 2**62 + 12345  # not representable as a float64
    data = dose_rows().assign(person_id=lambda d: d["person_id"].astype("int64") + big)
    res = dz.reconcile(data)
    merges = pd.DataFrame({"person_ref": ["f", "gone"], "person_id": [big + 5, big + 9], "survivor_ref": ["e", "e"]})
    lists = wlm.build_worklists(res.data, res.findings, verification().assign(
        person_id=lambda v: v["person_id"].astype("int64") + big), unsigned_days=30, as_of=AS_OF, person_merges=merges)
    dup = lists["duplicate_person"].set_index("person_ref")["person_id"]
    assert dup.to_dict() == {"f": big + 5, "gone": big + 9}
    assert wlm.to_table(lists)["person_id"].dropna().ge(big).all()
