from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaxreport.exceptions import SchemaViolation
from vaxreport.frames import categorize, plain
from vaxreport.linkage import dose_checks
from vaxreport.linkage import doses as dz
from vaxreport.runner.stages import LOW_CARDINALITY

CODES = {"AstraZeneca": "AZ", "Pfizer": "PFIZER", "Moderna": "MODERNA", "Vero Cell": "VEROCELL",
         "Janssen": "JANSSEN"}

def make(rows: list[tuple]) -> pd.DataFrame:
    """rows: (record_id, person_id, birth, vaccine, dose_number, dose_date, site, sign, entered)."""
    df = pd.DataFrame(rows, columns=["record_id", "person_id", "birth_date", "vaccine",
                                     "dose_number", "dose_date", "site_code", "sign_status",
                                     "entered_at"])
    return df.assign(
        person_ref=df["person_id"] + "-ref",
        birth_date=pd.to_datetime(df["birth_date"]),
        dose_date=pd.to_datetime(df["dose_date"]),
        entered_at=pd.to_datetime(df["entered_at"]),
        dose_number=df["dose_number"].astype("Int64"),
        vaccine_code=df["vaccine"].map(CODES),
    )


ADULT = "1980-05-05"


def codes_of(res: dz.ReconcileResult, record_id: str) -> set[str]:
    return set(res.findings.loc[res.findings.record_id == record_id, "code"])


def test_same_date_same_vaccine_keeps_signed_row():
    df = make([
        ("a1", "P", ADULT, "Pfizer", 1, "2021-09-01", "S1", "unsigned", "2021-09-01"),
        ("a2", "P", ADULT, "Pfizer", 1, "2021-09-01", "S1", "signed", "2021-09-05"),
    ])
    res = dz.reconcile(df)
    assert res.data.record_id.tolist() == ["a2"]
    assert res.merged[["record_id", "merged_into", "reason"]].values.tolist() == [
        ["a1", "a2", "duplicate_same_vaccine"]]


def test_survivor_tie_breaks_on_entered_at_then_record_id():
    df = make([
        ("b3", "P", ADULT, "Pfizer", 1, "2021-09-01", "S1", "unsigned", "2021-09-02"),
        ("b2", "P", ADULT, "Pfizer", 1, "2021-09-01", "S1", "unsigned", "2021-09-03"),
        ("b1", "P", ADULT, "Pfizer", 1, "2021-09-01", "S1", "unsigned", "2021-09-03"),
        ("c2", "Q", ADULT, "Pfizer", 1, "2021-09-01", "S1", "unsigned", "2021-09-03"),
        ("c1", "Q", ADULT, "Pfizer", 1, "2021-09-01", "S1", "unsigned", "2021-09-03"),
    ])
    res = dz.reconcile(df)
    assert sorted(res.data.record_id) == ["b3", "c1"]
    assert dict(zip(res.merged.record_id, res.merged.merged_into)) == {
        "b2": "b3", "b1": "b3", "c2": "c1"}


def test_same_date_two_sites_merges_even_with_other_vaccine_and_chains():
    df = make([
        ("x1", "P", ADULT, "Pfizer", 1, "2021-09-01", "S1", "signed", "2021-09-01"),
        ("x2", "P", ADULT, "Pfizer", 1, "2021-09-01", "S1", "unsigned", "2021-09-01"),
        ("x3", "P", ADULT, "Moderna", 1, "2021-09-01", "S2", "unsigned", "2021-09-02"),
        ("x4", "P", ADULT, "Moderna", 1, "2021-09-01", "S2", "unsigned", "2021-09-03"),
    ])
    res = dz.reconcile(df)
    assert res.data.record_id.tolist() == ["x1"]
    got = res.merged.set_index("record_id")
    assert got.merged_into.to_dict() == {"x2": "x1", "x3": "x1", "x4": "x1"}
    assert got.reason.to_dict() == {"x2": "duplicate_same_vaccine", "x3": "duplicate_other_site",
                                    "x4": "duplicate_same_vaccine"}


def test_same_date_same_site_other_vaccine_is_a_finding_not_a_merge():
    df = make([
        ("y1", "P", ADULT, "Pfizer", 1, "2021-09-01", "S1", "signed", "2021-09-01"),
        ("y2", "P", ADULT, "Moderna", 2, "2021-09-01", "S1", "signed", "2021-09-01"),
    ])
    res = dz.reconcile(df)
    assert len(res.data) == 2 and res.merged.empty
    # one of the two entries is wrong, so only one dose counts towards the series
    assert codes_of(res, "y2") == {"same_day_two_vaccines", "incomplete_primary"}
    assert res.data.suspect_duplicate.tolist() == [False, True]


def test_same_dose_a_day_apart_is_merged_only_with_same_product_and_number():
    df = make([
        # one dose entered twice, the second a day off (chained: three entries)
        ("a1", "A", ADULT, "Pfizer", 1, "2021-09-01", "S1", "unsigned", "2021-09-01"),
        ("a2", "A", ADULT, "Pfizer", 1, "2021-09-02", "S2", "signed", "2021-09-05"),
        ("a3", "A", ADULT, "Pfizer", 1, "2021-09-03", "S2", "unsigned", "2021-09-06"),
        ("a4", "A", ADULT, "Pfizer", 2, "2021-09-25", "S1", "signed", "2021-09-25"),
        # other number or other product a day apart: not the same dose, a finding at most
        ("b1", "B", ADULT, "Pfizer", 1, "2021-09-01", "S1", "signed", "2021-09-01"),
        ("b2", "B", ADULT, "Pfizer", 2, "2021-09-02", "S1", "signed", "2021-09-02"),
        ("c1", "C", ADULT, "Pfizer", 1, "2021-09-01", "S1", "signed", "2021-09-01"),
        ("c2", "C", ADULT, "Moderna", 1, "2021-09-02", "S1", "signed", "2021-09-02"),
    ])
    res = dz.reconcile(df)
    got = res.merged.set_index("record_id")
    assert got.merged_into.to_dict() == {"a1": "a2", "a3": "a2"}  # the signed entry stays
    assert set(got.reason) == {"duplicate_near_date"}
    assert dict(zip(res.data.record_id, res.data.dose_seq))["a4"] == 2
    assert "duplicate_near_date" in dose_checks.finding_codes().index  # worklists label the merge
    assert dz.reconcile(df, rules=dz.DoseRules(same_dose_days=0)).merged.empty


def test_unusable_dose_date_is_placed_by_its_number():
    df = make([
        ("u1", "P", ADULT, "AstraZeneca", 1, "2021-03-08", "S1", "signed", "2021-03-08"),
        ("u2", "P", ADULT, "Pfizer", 3, "2022-02-03", "S1", "signed", "2022-02-03"),
        ("u3", "P", ADULT, "Pfizer", 2, "2023-05-15", "S1", "signed", "2021-05-15"),
    ]).assign(date_flags=["", "", "dose_date_future"])
    res = dz.reconcile(df)
    assert dict(zip(res.data.record_id, res.data.dose_seq)) == {"u1": 1, "u3": 2, "u2": 3}
    assert res.findings.empty
    # without the flag the future date sorts last and both Pfizer doses look misnumbered
    plain = dz.reconcile(df.assign(date_flags=""))
    assert set(plain.findings.code) == {"dose_number_mismatch"}


def test_renumbering_and_missing_and_out_of_order():
    df = make([
        # person A: only dose 2 entered -> missing, not also a mismatch
        ("a1", "A", ADULT, "Pfizer", 2, "2021-10-01", "S1", "signed", "2021-10-01"),
        # person B: 2 then 3 -> one missing dose before the first row only
        ("b1", "B", ADULT, "Pfizer", 2, "2021-10-01", "S1", "signed", "2021-10-01"),
        ("b2", "B", ADULT, "Pfizer", 3, "2022-03-01", "S1", "signed", "2022-03-01"),
        # person C: dates swapped -> both mismatches, nothing missing
        ("c1", "C", ADULT, "Pfizer", 2, "2021-09-01", "S1", "signed", "2021-09-01"),
        ("c2", "C", ADULT, "Pfizer", 1, "2021-10-01", "S1", "signed", "2021-10-01"),
        # person D: 1 then 3 -> missing at the second row
        ("d1", "D", ADULT, "Pfizer", 1, "2021-09-01", "S1", "signed", "2021-09-01"),
        ("d2", "D", ADULT, "Pfizer", 3, "2021-10-01", "S1", "signed", "2021-10-01"),
    ])
    res = dz.reconcile(df)
    seq = dict(zip(res.data.record_id, res.data.dose_seq))
    assert seq == {"a1": 1, "b1": 1, "b2": 2, "c1": 1, "c2": 2, "d1": 1, "d2": 2}
    assert codes_of(res, "a1") == {"missing_dose", "incomplete_primary"}
    assert codes_of(res, "b1") == {"missing_dose"}
    assert codes_of(res, "b2") == set()
    assert codes_of(res, "c1") == {"dose_number_mismatch"}
    assert codes_of(res, "c2") == {"dose_number_mismatch"}
    assert codes_of(res, "d1") == set()
    assert codes_of(res, "d2") == {"missing_dose"}


def test_undated_rows_are_kept_and_numbered_last():
    df = make([
        ("u1", "P", ADULT, "Pfizer", 1, None, "S1", "signed", "2021-09-01"),
        ("u2", "P", ADULT, "Pfizer", 1, None, "S1", "signed", "2021-09-01"),
        ("u3", "P", ADULT, "Pfizer", 1, "2021-09-01", "S1", "signed", "2021-09-01"),
    ])
    res = dz.reconcile(df)
    assert res.merged.empty
    assert dict(zip(res.data.record_id, res.data.dose_seq)) == {"u3": 1, "u1": 2, "u2": 3}


def test_missing_person_id_falls_back_to_person_ref():
    df = make([
        ("m1", "P", ADULT, "Pfizer", 1, "2021-09-01", "S1", "signed", "2021-09-01"),
        ("m2", "P", ADULT, "Pfizer", 1, "2021-09-01", "S1", "signed", "2021-09-02"),
    ]).assign(person_id=[None, None], person_ref=["r1", "r2"])
    res = dz.reconcile(df)
    assert len(res.data) == 2 and res.merged.empty


def test_input_untouched_order_kept_and_missing_column_raises():
    df = make([
        ("z2", "P", ADULT, "Pfizer", 2, "2021-10-01", "S1", "signed", "2021-10-01"),
        ("z1", "P", ADULT, "Pfizer", 1, "2021-09-01", "S1", "signed", "2021-09-01"),
    ])
    before = df.copy()
    res = dz.reconcile(df)
    pd.testing.assert_frame_equal(df, before)
    assert res.data.record_id.tolist() == ["z2", "z1"]
    assert res.data.dose_seq.tolist() == [2, 1]
    with pytest.raises(SchemaViolation, match="dose_date"):
        dz.reconcile(df.drop(columns="dose_date"))


def test_person_doses_summary():
    df = make([
        ("a1", "A", ADULT, "AstraZeneca", 1, "2021-08-01", "S1", "signed", "2021-08-01"),
        ("a2", "A", ADULT, "Pfizer", 2, "2021-10-01", "S1", "signed", "2021-10-01"),
        ("a3", "A", ADULT, "Pfizer", 3, "2022-04-01", "S1", "signed", "2022-04-01"),
        ("b1", "B", ADULT, "Pfizer", 1, "2022-04-01", "S1", "signed", "2022-04-01"),
        ("j1", "J", ADULT, "Janssen", 1, "2022-01-01", "S1", "signed", "2022-01-01"),
    ])
    s = dz.person_doses_summary(dz.reconcile(df).data)
    assert s.doses.to_dict() == {"A": 3, "B": 1, "J": 1}
    assert s.primary_complete.to_dict() == {"A": True, "B": False, "J": True}
    assert s.boosters.to_dict() == {"A": 1, "B": 0, "J": 0}
    assert s.loc["A", "last_dose_date"] == pd.Timestamp("2022-04-01")
    assert s.loc["A", "birth_date"] == pd.Timestamp(ADULT)


@st.composite
def dose_frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(0, 25))
    rows = []
    for i in range(n):
        rows.append((
            f"r{i:03d}", draw(st.sampled_from(["P", "Q", "R"])),
            draw(st.sampled_from([ADULT, "2015-03-03", None])),
            draw(st.sampled_from(list(CODES))), draw(st.sampled_from([1, 2, 3, None])),
            draw(st.sampled_from(["2021-09-01", "2021-09-03", "2021-10-01", "2022-04-01", None])),
            draw(st.sampled_from(["S1", "S2"])), draw(st.sampled_from(["signed", "unsigned"])),
            draw(st.sampled_from(["2021-09-01", "2022-05-01", None])),
        ))
    return make(rows) if rows else make([]).astype({"record_id": "object"})


@settings(max_examples=15, deadline=None)
@given(dose_frames())
def test_conservation_and_idempotence(df: pd.DataFrame):
    res = dz.reconcile(df)
    assert len(df) == len(res.data) + len(res.merged)
    assert set(res.data.record_id).isdisjoint(res.merged.record_id)
    assert set(res.merged.merged_into) <= set(res.data.record_id)
    assert set(res.findings.record_id) <= set(res.data.record_id)
    again = dz.reconcile(res.data.drop(columns="dose_seq"))
    assert again.merged.empty
    assert again.data.dose_seq.tolist() == res.data.dose_seq.tolist()
    # per person the sequence is 1..n
    for _, g in res.data.groupby("person_id"):
        assert sorted(g.dose_seq) == list(range(1, len(g) + 1))


@settings(max_examples=25, deadline=None)
@given(dose_frames())
def test_every_row_accounted_for_duplicates_collapsed_sequence_by_date(df: pd.DataFrame):
    res = dz.reconcile(df)
    # every input row is kept or merged into a kept row of the same person and date
    assert sorted(res.data.record_id.tolist() + res.merged.record_id.tolist()) == sorted(
        df.record_id)
    kept = res.data.set_index("record_id")
    for m in res.merged.itertuples():
        into = kept.loc[m.merged_into]
        assert into.person_id == m.person_id
        if m.reason == "duplicate_near_date":  # same product and number, a day or two apart
            assert into.vaccine == m.vaccine and into.dose_number == m.dose_number
            assert abs((into.dose_date - m.dose_date).days) <= 2
        else:
            assert into.dose_date == m.dose_date
    # no two kept rows of one person share a date and a vaccine
    dated = res.data.dropna(subset=["dose_date"])
    assert not dated.duplicated(["person_id", "dose_date", "vaccine"]).any()
    # renumbered by date: a later dated dose never has a lower dose_seq
    for _, g in dated.groupby("person_id"):
        g = g.sort_values(["dose_date", "dose_seq"])
        assert g.dose_seq.is_monotonic_increasing
    # undated doses without an entered number come after the dated ones (with a number they
    # are placed by it)
    for _, g in res.data.groupby("person_id"):
        undated = g[g.dose_date.isna() & g.dose_number.isna()]
        if len(undated) and g.dose_date.notna().any():
            assert undated.dose_seq.min() > g[g.dose_date.notna()].dose_seq.max()


@settings(max_examples=20, deadline=None)
@given(dose_frames())
def test_categorical_text_columns_give_the_same_reconciliation(df: pd.DataFrame):
    # stage 1 holds site, vaccine and statuses as categoricals (frames.categorize)
    res = dz.reconcile(df)
    cat = dz.reconcile(categorize(df, LOW_CARDINALITY))
    assert plain(cat.data).equals(res.data) and plain(cat.merged).equals(res.merged)
    assert cat.findings.equals(res.findings)
