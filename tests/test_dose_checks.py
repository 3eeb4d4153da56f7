"""The per-person checks (``vaxreport.linkage.dose_checks``): each finding code on labelled
cases, through ``doses.reconcile`` (which orders the doses and runs the checks) and directly
through ``check_block``."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from test_doses import ADULT, codes_of, dose_frames, make

from vaxreport import refdata
from vaxreport.linkage import dose_checks as dc
from vaxreport.linkage import doses as dz


def test_check_block_flags_in_the_documented_order_and_skips_suspects():
    day = np.array([18871, 18874, 18901])  # 2021-09-01, 3 days later (dose 1 again), 2021-10-01
    vac = dc.Products.of(pd.DataFrame({"vaccine": ["Pfizer"] * 3}), refdata.vaccines())
    out = dc.check_block(np.arange(3), np.zeros(3, np.int64), day, np.ones(3, bool),
                         np.array([1.0, 1.0, 2.0]), np.full(3, 3652), vac, dc.DoseRules())
    assert list(out.found) == ["missing_dose", "dose_number_mismatch", "near_duplicate_dose",
                               "same_day_two_vaccines", "short_interval", "ineligible_age",
                               "mixing_not_allowed", "incomplete_primary"]
    assert out.seq.tolist() == [1, 2, 3]
    assert out.suspect.tolist() == [False, True, False]
    flagged = {c: r.tolist() for c, (r, _) in out.found.items() if len(r)}
    assert flagged == {"near_duplicate_dose": [1]}  # dose 2 counts 30 days after dose 1
    assert out.found["near_duplicate_dose"][1].tolist() == ["Mũi 1 nhập hai lần cách nhau 3 ngày"]


def test_near_duplicate_is_a_finding_only():
    df = make([
        ("n1", "P", ADULT, "Pfizer", 1, "2021-09-01", "S1", "signed", "2021-09-01"),
        ("n2", "P", ADULT, "Pfizer", 1, "2021-09-04", "S2", "signed", "2021-09-04"),
    ])
    res = dz.reconcile(df)
    assert len(res.data) == 2
    assert codes_of(res, "n2") == {"near_duplicate_dose", "incomplete_primary"}
    assert codes_of(res, "n1") == set()
    assert res.data.suspect_duplicate.tolist() == [False, True]


def test_near_duplicate_does_not_cascade_to_later_doses():
    df = make([
        ("n1", "P", ADULT, "AstraZeneca", 1, "2021-09-01", "S1", "signed", "2021-09-01"),
        ("n2", "P", ADULT, "AstraZeneca", 1, "2021-09-03", "S2", "signed", "2021-09-03"),
        ("n3", "P", ADULT, "AstraZeneca", 2, "2021-10-01", "S1", "signed", "2021-10-01"),
        ("n4", "P", ADULT, "Pfizer", 3, "2022-04-15", "S1", "signed", "2022-04-15"),
    ])
    res = dz.reconcile(df)
    assert res.data.dose_seq.tolist() == [1, 2, 3, 4]
    assert set(res.findings.record_id) == {"n2"}  # n3 is dose 2 (28 days), n4 a booster
    summary = dz.person_doses_summary(res.data)
    assert summary.loc["P", "doses"] == 3 and summary.loc["P", "boosters"] == 1


def test_primary_interval_uses_previous_product():
    df = make([
        ("p1", "P", ADULT, "Pfizer", 1, "2021-09-01", "S1", "signed", "2021-09-01"),
        ("p2", "P", ADULT, "Pfizer", 2, "2021-09-15", "S1", "signed", "2021-09-15"),  # 14 < 21
        ("q1", "Q", ADULT, "AstraZeneca", 1, "2021-09-01", "S1", "signed", "2021-09-01"),
        ("q2", "Q", ADULT, "Pfizer", 2, "2021-09-25", "S1", "signed", "2021-09-25"),  # 24 < 28
        ("r1", "R", ADULT, "Pfizer", 1, "2021-09-01", "S1", "signed", "2021-09-01"),
        ("r2", "R", ADULT, "Pfizer", 2, "2021-09-22", "S1", "signed", "2021-09-22"),  # 21 ok
    ])
    res = dz.reconcile(df)
    assert "short_interval" in codes_of(res, "p2")
    assert "short_interval" in codes_of(res, "q2")
    assert codes_of(res, "r2") == set()
    detail = res.findings.loc[res.findings.record_id == "p2", "detail"].item()
    assert "14 ngày" in detail and "21 ngày" in detail


def test_booster_interval_depends_on_rule_date_and_age():
    teen = "2006-06-01"
    df = make([
        # adult, booster 100 days after dose 2 in April 2022: rule 90 days -> ok
        ("a1", "A", ADULT, "Pfizer", 1, "2021-11-01", "S1", "signed", "2021-11-01"),
        ("a2", "A", ADULT, "Pfizer", 2, "2021-12-01", "S1", "signed", "2021-12-01"),
        ("a3", "A", ADULT, "Pfizer", 3, "2022-03-11", "S1", "signed", "2022-03-11"),
        # adult, booster 100 days after dose 2 in January 2022: rule 180 days -> short
        ("b1", "B", ADULT, "Pfizer", 1, "2021-09-01", "S1", "signed", "2021-09-01"),
        ("b2", "B", ADULT, "Pfizer", 2, "2021-10-01", "S1", "signed", "2021-10-01"),
        ("b3", "B", ADULT, "Pfizer", 3, "2022-01-09", "S1", "signed", "2022-01-09"),
        # 15-year-old, 100 days in April 2022: rule 150 days -> short
        ("c1", "C", teen, "Pfizer", 1, "2021-11-01", "S1", "signed", "2021-11-01"),
        ("c2", "C", teen, "Pfizer", 2, "2021-12-01", "S1", "signed", "2021-12-01"),
        ("c3", "C", teen, "Pfizer", 3, "2022-03-11", "S1", "signed", "2022-03-11"),
        # second booster 100 days after the first: rule 120 days -> short
        ("a4", "A", ADULT, "Moderna", 4, "2022-06-19", "S1", "signed", "2022-06-19"),
    ])
    res = dz.reconcile(df)
    assert codes_of(res, "a3") == set()
    assert codes_of(res, "b3") == {"short_interval"}
    assert codes_of(res, "c3") == {"short_interval"}
    assert codes_of(res, "a4") == {"short_interval"}


def test_janssen_booster_checked_as_first_booster():
    df = make([
        ("j1", "J", ADULT, "Janssen", 1, "2021-12-01", "S1", "signed", "2021-12-01"),
        ("j2", "J", ADULT, "Pfizer", 2, "2022-04-01", "S1", "signed", "2022-04-01"),  # 121 ok
        ("k1", "K", ADULT, "Janssen", 1, "2022-03-01", "S1", "signed", "2022-03-01"),
        ("k2", "K", ADULT, "Pfizer", 2, "2022-04-01", "S1", "signed", "2022-04-01"),  # 31 short
    ])
    res = dz.reconcile(df)
    assert codes_of(res, "j1") == set() and codes_of(res, "j2") == set()
    assert codes_of(res, "k2") == {"short_interval"}


def test_age_eligibility_per_product():
    df = make([
        ("e1", "E1", "2014-01-01", "AstraZeneca", 1, "2022-05-01", "S1", "signed", "2022-05-01"),
        ("e2", "E2", "2016-12-01", "Moderna", 1, "2022-05-01", "S1", "signed", "2022-05-01"),
        ("e3", "E3", "2016-12-01", "Pfizer", 1, "2022-05-01", "S1", "signed", "2022-05-01"),
        ("e4", "E4", "2014-01-01", "Vero Cell", 1, "2022-05-01", "S1", "signed", "2022-05-01"),
        ("e5", "E5", "2016-04-30", "Moderna", 1, "2022-05-01", "S1", "signed", "2022-05-01"),
        ("e6", "E6", "2016-05-02", "Moderna", 1, "2022-05-01", "S1", "signed", "2022-05-01"),
    ])
    res = dz.reconcile(df)
    inel = set(res.findings.loc[res.findings.code == "ineligible_age", "record_id"])
    # e5 turned 6 the day before; e6 turns 6 the day after
    assert inel == {"e1", "e2", "e4", "e6"}


def test_mixing_rules_in_primary_series():
    kid = "2013-01-01"
    df = make([
        ("a1", "A", ADULT, "AstraZeneca", 1, "2021-08-01", "S1", "signed", "2021-08-01"),
        ("a2", "A", ADULT, "Pfizer", 2, "2021-10-01", "S1", "signed", "2021-10-01"),
        ("b1", "B", ADULT, "Pfizer", 1, "2021-08-01", "S1", "signed", "2021-08-01"),
        ("b2", "B", ADULT, "AstraZeneca", 2, "2021-10-01", "S1", "signed", "2021-10-01"),
        ("c1", "C", ADULT, "Vero Cell", 1, "2021-08-01", "S1", "signed", "2021-08-01"),
        ("c2", "C", ADULT, "Pfizer", 2, "2021-10-01", "S1", "signed", "2021-10-01"),
        ("c3", "C", ADULT, "AstraZeneca", 3, "2022-04-01", "S1", "signed", "2022-04-01"),
        ("d1", "D", kid, "Pfizer", 1, "2022-04-20", "S1", "signed", "2022-04-20"),
        ("d2", "D", kid, "Moderna", 2, "2022-06-01", "S1", "signed", "2022-06-01"),
    ])
    res = dz.reconcile(df)
    mix = set(res.findings.loc[res.findings.code == "mixing_not_allowed", "record_id"])
    assert mix == {"b2", "c2", "d2"}  # a booster (c3) may differ


def test_no_mixing_finding_on_a_booster_after_a_missing_first_dose():
    df = make([
        # dose 1 never entered: the Pfizer row is the booster the entered numbers say it is
        ("m2", "M", ADULT, "Vero Cell", 2, "2021-09-01", "S1", "signed", "2021-09-01"),
        ("m3", "M", ADULT, "Pfizer", 3, "2022-04-01", "S1", "signed", "2022-04-01"),
        # no gap: a second product in the primary series stays a finding
        ("n1", "N", ADULT, "Vero Cell", 1, "2021-09-01", "S1", "signed", "2021-09-01"),
        ("n2", "N", ADULT, "Pfizer", 2, "2021-10-01", "S1", "signed", "2021-10-01"),
    ])
    res = dz.reconcile(df)
    assert codes_of(res, "m2") == {"missing_dose"}
    assert codes_of(res, "m3") == set()
    assert codes_of(res, "n2") == {"mixing_not_allowed"}


def test_incomplete_primary_series_on_last_dose():
    df = make([
        ("a1", "A", ADULT, "Pfizer", 1, "2022-04-01", "S1", "signed", "2022-04-01"),
        ("j1", "J", ADULT, "Janssen", 1, "2022-04-01", "S1", "signed", "2022-04-01"),
    ])
    res = dz.reconcile(df)
    assert res.findings[["record_id", "code"]].values.tolist() == [["a1", "incomplete_primary"]]
    assert res.findings.detail.item() == "Đã tiêm 1/2 mũi cơ bản (Pfizer)"


def test_findings_carry_labels_from_table_and_contract_columns():
    df = make([
        ("p1", "P", ADULT, "Pfizer", 1, "2021-09-01", "S1", "signed", "2021-09-01"),
        ("p2", "P", ADULT, "Pfizer", 3, "2021-09-15", "S1", "signed", "2021-09-15"),
    ])
    res = dz.reconcile(df)
    assert tuple(res.findings.columns) == dc.FINDING_COLUMNS
    labels = dc.finding_codes()["label_vi"]
    assert (res.findings.label_vi == res.findings.code.map(labels)).all()
    assert res.findings.label_vi.notna().all()
    assert "Khoảng cách giữa hai mũi ngắn hơn quy định" in set(res.findings.label_vi)


def test_integer_person_ids_keep_their_dtype_in_findings():
    df = make([
        ("p1", "P", ADULT, "Pfizer", 1, "2021-09-01", "S1", "signed", "2021-09-01"),
        ("p2", "P", ADULT, "Pfizer", 2, "2021-09-05", "S1", "signed", "2021-09-05"),
    ]).assign(person_id=[7, 7])
    res = dz.reconcile(df)
    assert res.findings.person_id.tolist() == [7]
    assert res.findings.person_id.dtype == df.person_id.dtype
    assert dz.person_doses_summary(res.data).index.tolist() == [7]


@settings(max_examples=15, deadline=None)
@given(dose_frames())
def test_blocks_of_persons_give_the_same_result(df: pd.DataFrame):
    whole = dz.reconcile(df)
    blocks = dz.reconcile(df, block_rows=2)  # many blocks, each cut at a person boundary
    pd.testing.assert_frame_equal(whole.data, blocks.data)
    pd.testing.assert_frame_equal(whole.findings, blocks.findings)
    pd.testing.assert_frame_equal(whole.merged, blocks.merged)
