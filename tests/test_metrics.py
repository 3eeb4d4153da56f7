"""Indicators on tiny hand-made facts: each row a labelled case."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaxreport.facts import Facts
from vaxreport.reporting import metrics
from vaxreport.reporting.metrics import Ratio

UNITS = pd.DataFrame({"district_code": ["164", "164", "167"], "district_name": ["TP Thái Nguyên"] * 2 + ["Định Hóa"],
                      "commune_code": ["05440", "05443", "05500"], "commune_name": ["Phường A", "Phường B", "Xã C"]})


def facts() -> Facts:
    doses = pd.DataFrame({
        "record_id": ["1", "2", "3", "4", "5", "6"],
        "state": ["kept", "kept", "merged", "kept", "quarantined", "kept"],
        "site_code": ["S1", "S1", "S1", "S2", "S2", "S3"],
        "site_name": ["TYT A", "TYT A", "TYT A", "TYT B", "TYT B", "TYT C"],
        "district_code": ["164", "164", "164", "164", "164", "167"],
        "commune_code": ["05440", "05440", "05440", "05443", "05443", "05500"],
        "sign_status": ["signed", "signed", "unsigned", "unsigned", "signed", "signed"],
        "entered_at": pd.to_datetime(["2022-05-02", "2022-05-03", "2022-05-10", "2022-05-11", None, "2022-05-30"]),
        "signed_at": pd.to_datetime(["2022-05-03", "2022-05-20", None, None, "2022-05-02", "2022-05-31"]),
    })
    persons = pd.DataFrame({"person_id": [1, 2, 3], "district_code": ["164", "164", "167"],
                            "commune_code": ["05440", "05443", "05500"], "age_group": ["18+", "5-11", "18+"],
                            "n_refs": [2, 1, 1], "id_valid": [True, False, True], "doses": [2, 1, 1],
                            "primary_complete": [True, False, False], "boosters": [1, 0, 0],
                            "verify_status": ["verified", "no_id", "unchecked"]})
    return Facts(
        doses=doses, persons=persons,
        tallies=pd.DataFrame({"site_code": ["S1", "S2", "S3"], "district_code": ["164", "164", "167"],
                              "week_start": pd.to_datetime(["2022-05-02", "2022-05-09", "2022-05-30"]),
                              "doses_administered": [4, 2, 1]}),
        feedback=pd.DataFrame({"ticket_id": ["t1", "t2", "t3"], "district_code": ["164", "164", "167"],
                               "status": ["approved", "pending", "rejected"]}),
        registry=pd.DataFrame({"commune_code": ["05440"], "district_code": ["164"], "result": ["match"]}),
        population=pd.DataFrame({"commune_code": ["05440", "05443", "05500"], "age_group": ["18+", "5-11", "18+"],
                                 "population": [10, 5, 4]}),
        findings=pd.DataFrame({"record_id": ["2"], "code": ["short_interval"], "label_vi": ["Khoảng cách ngắn"],
                               "district_code": ["164"]}),
        quarantine=pd.DataFrame({"record_id": ["5"], "reason": ["impossible_dose_date"], "district_code": ["164"]}),
        units=UNITS,
    )


def test_headline_counts_rows_as_exported():
    h = metrics.headline(facts())
    assert h["entry"] == Ratio(6, 7)  # merged and quarantined rows were on the platform too
    assert h["signing"] == Ratio(4, 6)
    assert h["feedback"] == Ratio(2, 3)  # approved + rejected; pending is not handled
    assert h["police_verified"] == Ratio(1, 3)


def test_scope_restricts_every_table_to_the_district():
    h = metrics.headline(facts().scope("167"))
    assert h["entry"] == Ratio(1, 1) and h["feedback"] == Ratio(1, 1) and h["police_verified"] == Ratio(0, 1)


def test_by_site_rates():
    t = metrics.by_site(facts()).set_index("site_code")
    assert t.loc["S1", "on_platform"] == 3 and t.loc["S1", "administered"] == 4
    assert t.loc["S1", "entry_pct"] == 75.0
    assert t.loc["S2", "signing_pct"] == 50.0


def test_by_commune_excludes_quarantined_rows_and_counts_police():
    t = metrics.by_commune(facts()).set_index("commune_code")
    assert t.loc["05443", "doses"] == 1  # record 5 was quarantined
    assert t.loc["05440", "police_verified"] == 1
    assert t.loc["05440", "primary_coverage_pct"] == 10.0


def test_coverage_in_age_order_with_total():
    t = metrics.coverage(facts())
    assert t.age_group.tolist() == ["5-11", "12-17", "18+", "Tổng"]
    total = t.set_index("age_group").loc["Tổng"]
    assert total.population == 19 and total.at_least_one == 3 and total.booster == 1


def test_weekly_trend_counts_in_period_weeks():
    t = metrics.weekly_trend(facts(), date(2022, 5, 1), date(2022, 5, 31))
    assert t.week_start.iloc[0] == pd.Timestamp("2022-04-25")
    by_week = t.set_index("week_start")
    assert by_week.loc["2022-05-02", "entered"] == 2
    assert by_week.loc["2022-05-02", "signed"] == 2
    assert by_week.loc["2022-05-30", "administered"] == 1
    assert t.entered.sum() == 5  # the quarantined row has no entry date


def test_data_quality_counts():
    dq = metrics.data_quality(facts())
    assert dq["valid_id"] == Ratio(2, 3)
    assert dq["person_records_merged"] == 1 and dq["dose_rows_merged"] == 1 and dq["quarantined_rows"] == 1


def test_compare_with_previous_run():
    h = metrics.headline(facts())
    prev = {"headline": {"entry": {"num": 5, "den": 7, "pct": "71.43"}}}
    t = metrics.compare(h, prev).set_index("indicator")
    assert t.loc["entry", "change_pp"] == Decimal("85.71") - Decimal("71.43")
    assert t.loc["signing", "change_pp"] is None


@given(st.integers(0, 10**7), st.integers(1, 10**7))
def test_ratio_text_reproduces(num, den):
    from vaxreport.reporting.report.format import fmt_pct, parse_pct

    r = Ratio(num, den)
    shown = fmt_pct(r.num, r.den)
    assert parse_pct(shown) == r.pct


def test_metrics_json_is_plain():
    import json

    m = metrics.metrics_json(facts(), unit_code=None, unit_name="Thái Nguyên")
    assert json.loads(json.dumps(m))["headline"]["entry"] == {"num": 6, "den": 7, "pct": "85.71"}


@pytest.mark.parametrize("den,expected", [(0, None), (3, Decimal("33.33"))])
def test_ratio_pct(den, expected):
    assert Ratio(1, den).pct == expected


def test_by_site_drops_rows_without_a_site_and_takes_the_first_known_name():
    f = facts()
    doses = f.doses.assign(site_code=["S1", "S1", None, "S2", "S2", "S3"],
                           site_name=[None, "TYT A", "TYT X", "TYT B", "TYT B2", "TYT C"])
    t = metrics.by_site(Facts(**{**f.__dict__, "doses": doses})).set_index("site_code")
    assert t.loc["S1", "on_platform"] == 2 and t.loc["S1", "signed"] == 2  # groupby drops a missing key
    assert t.loc["S1", "site_name"] == "TYT A" and t.loc["S2", "site_name"] == "TYT B"  # first non-missing
    assert t.loc["S1", "district_code"] == "164"


def test_weekly_trend_is_the_same_in_any_time_unit():
    f = facts()
    coarse = f.doses.assign(entered_at=f.doses.entered_at.astype("datetime64[s]"),
                            signed_at=f.doses.signed_at.astype("datetime64[ms]"))
    fine = f.doses.assign(entered_at=f.doses.entered_at.astype("datetime64[ns]"))
    tables = [metrics.weekly_trend(Facts(**{**f.__dict__, "doses": d}), date(2022, 5, 1), date(2022, 5, 31))
              for d in (coarse, fine)]
    pd.testing.assert_frame_equal(tables[0], tables[1])
    assert tables[0].signed.tolist() == [0, 2, 0, 1, 0, 1]  # weeks from Mon 25/4; 31 May counts, NaT does not


def test_indicators_computed_once_give_the_same_metrics_json():
    f = facts()
    shared = metrics.report_metrics(f, date(2022, 5, 1), date(2022, 5, 31))
    assert (metrics.metrics_json(f, unit_code=None, unit_name="X", indicators=shared)
            == metrics.metrics_json(f, unit_code=None, unit_name="X"))
    pd.testing.assert_frame_equal(shared.communes, metrics.by_commune(f))


def test_weekly_trend_tells_the_days_of_weeks_the_period_cuts():
    t = metrics.weekly_trend(facts(), date(2022, 5, 1), date(2022, 5, 31)).set_index("week_start")
    assert t.loc["2022-04-25", "days"] == 1  # only Sunday 1/5 is in the period
    assert t.loc["2022-05-02", "days"] == 7
    assert t.loc["2022-05-30", "days"] == 2  # Monday 30/5 and Tuesday 31/5
    assert t.days.sum() == 31


def test_coverage_total_counts_every_person_and_shows_who_has_no_age_group():
    f = facts()
    persons = pd.concat([f.persons, pd.DataFrame({
        "person_id": [4, 5, 6], "district_code": ["164"] * 3, "commune_code": ["05440"] * 3,
        "age_group": ["<5", None, None], "n_refs": [1] * 3, "id_valid": [True] * 3, "doses": [1, 2, 3],
        "primary_complete": [False, True, True], "boosters": [0, 0, 1], "verify_status": ["unchecked"] * 3})],
        ignore_index=True)
    t = metrics.coverage(Facts(**{**f.__dict__, "persons": persons})).set_index("age_group")
    assert t.index.tolist() == ["5-11", "12-17", "18+", "<5", "unknown", "Tổng"]
    assert t.loc["Tổng", "at_least_one"] == len(persons) == 6
    assert t.loc["Tổng", "primary_complete"] == 3 and t.loc["Tổng", "booster"] == 2
    assert t.loc["<5", "at_least_one"] == 1 and t.loc["unknown", "at_least_one"] == 2
    assert (t.loc[["<5", "unknown"], "population"] == 0).all()
    assert t.loc[["<5", "unknown"], "at_least_one_pct"].isna().all()
    assert t.loc["Tổng", "population"] == 19  # the age groups' population only
    assert t.loc["Tổng", "at_least_one_pct"] == float(Ratio(6, 19).pct)  # reproduces from the row's counts
