"""Tests of ``vaxreport.runner.stages``: the stage-1 glue and the report helpers, on hand-made frames,
and stage 1 on a tiny synthetic province whose input rows come in another order.

The whole chain runs in ``test_e2e.py`` and ``test_reliability.py``; here each public step is held
to the behaviour its callers rely on: every dose gets its own person's cluster, row conservation
is enforced, ages change on birthdays, the province roll-up reads each district's figures, and
last month's figures are found beside this month's run.
"""

from __future__ import annotations

import json
import random
import shutil
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaxreport import frames
from vaxreport.engine import EngineSpec
from vaxreport.exceptions import ConservationError
from vaxreport.facts import (
    age_group,
    build_dose_facts,
    check_conservation,
    feedback_facts,
    findings_facts,
    quarantine_facts,
    registry_facts,
    site_districts,
)
from vaxreport.io.write import write_parquet
from vaxreport.layout import unit_dir
from vaxreport.linkage.decisions import DecisionOutcome
from vaxreport.linkage.doses import ReconcileResult
from vaxreport.linkage.persons import (
    DOSES,
    PERSON_FIELDS,
    person_id_valid,
    person_merges,
    person_records,
    with_person_id,
)
from vaxreport.params import RunParams, previous_period
from vaxreport.reporting import metrics
from vaxreport.runner.kept import KeptInProcess
from vaxreport.runner.stages import PendingWrites, PlainText, StageOne, district_rollup, previous_metrics
from vaxreport.synth.province import generate

DISTRICTS = {"164": "Thành phố Thái Nguyên", "165": "Thành phố Sông Công", "167": "Huyện Định Hóa"}
refs = st.lists(st.sampled_from(["P1", "P2", "P3", "P4", None]), min_size=1, max_size=12)


def _doses(person_refs: list[str | None]) -> pd.DataFrame:
    n = len(person_refs)
    return pd.DataFrame({
        "record_id": [f"r{i}" for i in range(n)], "person_ref": pd.array(person_refs, dtype="str"),
        "full_name": [f"Tên {r} {i}" for i, r in enumerate(person_refs)],  # differs per dose row
        "birth_date": pd.to_datetime(["1980-01-01"] * n), "gender": ["M"] * n, "id_number": [None] * n,
        "phone": ["0912345678"] * n, "commune_code": ["05443"] * n, "address": ["x"] * n,
        "id_valid": [i % 2 == 0 for i in range(n)],
        "dose_date": pd.to_datetime(["2022-01-01"] * n), "vaccine": ["Pfizer"] * n,
    }, index=pd.Index(range(100, 100 + n)))


# ----------------------------------------------------------------------------- person records, person_id
@settings(max_examples=40, deadline=None)
@given(refs)
def test_person_records_one_row_per_person_ref_from_its_first_dose(person_refs: list[str | None]) -> None:
    doses = _doses(person_refs)
    persons = person_records(doses)
    distinct = list(dict.fromkeys(person_refs))  # first-appearance order, None once
    assert [None if pd.isna(r) else r for r in persons["person_ref"]] == distinct
    first = [person_refs.index(r) for r in distinct]
    assert persons["full_name"].tolist() == doses["full_name"].iloc[first].tolist()
    assert "dose_date" not in persons and "vaccine" not in persons  # person fields (+ id_valid, doses)
    assert set(PERSON_FIELDS) | {"person_ref", "id_valid", DOSES} == set(persons.columns)
    assert persons[DOSES].tolist() == [" ".join(["2022-01-01#0"] * person_refs.count(r)) for r in distinct]


@settings(max_examples=60, deadline=None)
@given(refs, st.integers(0, 60), st.randoms(use_true_random=False))
def test_every_dose_gets_its_own_persons_label(person_refs: list[str | None], others: int,
                                               rnd: random.Random) -> None:
    # the doses of a few persons among many records (a district, a slice) or of all of them
    doses = _doses(person_refs)
    persons = pd.concat([person_records(doses),
                         person_records(_doses([f"X{i}" for i in range(others)]))])
    persons = persons.iloc[rnd.sample(range(len(persons)), len(persons))]  # any order of records
    labels = pd.Series([rnd.randrange(50) for _ in range(len(persons))])
    label_of = {(None if pd.isna(r) else r): lab for r, lab in zip(persons["person_ref"], labels, strict=True)}
    before = doses.copy()
    out = with_person_id(doses, persons, labels)
    pd.testing.assert_frame_equal(doses, before)  # input not mutated
    assert out.index.equals(doses.index)
    assert out["person_id"].tolist() == [label_of[r] for r in person_refs]
    pd.testing.assert_frame_equal(out.drop(columns="person_id"), doses)


@settings(max_examples=40, deadline=None)
@given(refs, st.data())
def test_a_dose_whose_person_ref_has_no_record_raises(person_refs: list[str | None], data: st.DataObject) -> None:
    # also a dose without person_ref when the records hold no blank one
    doses = _doses(person_refs)
    persons = person_records(doses)
    lost = data.draw(st.integers(0, len(persons) - 1))
    kept = persons.drop(index=persons.index[lost])
    ref = persons["person_ref"].iloc[lost]
    n_rows = int(doses["person_ref"].isna().sum()) if pd.isna(ref) else int(doses["person_ref"].eq(ref).sum())
    with pytest.raises(KeyError, match=f"{n_rows} dose rows have a person_ref missing from the person records"):
        with_person_id(doses, kept, pd.Series(range(len(kept))))


def test_person_merges_name_the_surviving_record_of_each_cluster() -> None:
    persons = pd.DataFrame({"person_ref": ["a", "b", "c", "d", "e"]})
    merges = person_merges(persons, pd.Series([0, 0, 2, 0, 2]))
    assert merges.to_dict("list") == {"person_ref": ["b", "d", "e"], "person_id": [0, 0, 2],
                                      "survivor_ref": ["a", "a", "c"]}
    assert person_merges(persons, pd.Series(range(5))).empty  # nobody merged


def test_a_person_has_a_valid_id_if_any_of_their_records_does() -> None:
    persons = pd.DataFrame({"id_valid": [False, True, None, False, None]})
    valid = person_id_valid(persons, pd.Series([0, 0, 2, 3, 3]))
    assert valid.to_dict() == {0: True, 2: False, 3: False}
    assert not person_id_valid(persons.drop(columns="id_valid"), pd.Series([0, 0, 2, 3, 3])).any()


# ----------------------------------------------------------------------------- conservation
@given(st.integers(0, 10**7), st.integers(0, 10**6), st.integers(0, 10**5), st.integers(-3, 3))
def test_conservation_holds_only_when_every_raw_row_is_accounted_for(cleansed: int, merged: int,
                                                                     quarantined: int, off: int) -> None:
    counts = {"raw": cleansed + merged + quarantined + off, "cleansed": cleansed,
              "merged_duplicates": merged, "quarantined": quarantined}
    if off == 0:
        check_conservation(counts)
    else:
        with pytest.raises(ConservationError, match="row conservation failed") as err:
            check_conservation(counts)
        assert str(counts["raw"]) in str(err.value)  # the message shows the counts


# ----------------------------------------------------------------------------- age groups
def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _group(age: int) -> str:
    return "<5" if age <= 4 else "5-11" if age <= 11 else "12-17" if age <= 17 else "18+"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.dates(date(1905, 1, 1), date(2022, 5, 31)), min_size=1, max_size=10),
       st.dates(date(2022, 5, 31), date(2023, 12, 31)))
def test_age_group_is_the_age_in_whole_years_on_the_day(born: list[date], on: date) -> None:
    got = age_group(pd.Series(pd.to_datetime(born)), on).tolist()
    assert got == [_group(_age(b, on)) for b in born]


@pytest.mark.parametrize("age,before,on_birthday", [(5, "<5", "5-11"), (12, "5-11", "12-17"), (18, "12-17", "18+")])
def test_age_group_changes_on_the_birthday_not_the_day_before(age: int, before: str, on_birthday: str) -> None:
    born = date(2022 - age, 5, 31)
    on = date(2022, 5, 31)
    births = pd.Series(pd.to_datetime([born, born]))
    assert age_group(births, on - timedelta(days=1)).tolist() == [before, before]
    assert age_group(births, on).tolist() == [on_birthday, on_birthday]


def test_age_group_unknown_birth_date_is_missing() -> None:
    out = age_group(pd.Series(pd.to_datetime(["2000-01-01", None])), date(2022, 5, 31))
    assert out.iloc[0] == "18+" and pd.isna(out.iloc[1])


# ----------------------------------------------------------------------------- facts
def test_site_district_comes_from_the_tallies_else_the_doses_most_common() -> None:
    tallies = pd.DataFrame({"site_code": ["S1", "S1", "S2"], "district_code": ["164", "164", "165"]})
    doses = pd.DataFrame({"site_code": ["S1", "S3", "S3", "S3", "S4"],
                          "district_code": ["999", "167", "168", "167", None]})
    assert site_districts(tallies, doses).to_dict() == {"S1": "164", "S2": "165", "S3": "167"}


def test_dose_facts_one_row_per_raw_row_with_its_state_and_district() -> None:
    cols = dict(site_name="x", commune_code="05443", sign_status="signed", entered_at=pd.Timestamp("2022-01-02"),
                signed_at=pd.NaT, dose_date=pd.Timestamp("2022-01-01"), vaccine="Pfizer", vaccine_code="PFIZER")
    kept = pd.DataFrame({"record_id": ["r1", "r2"], "site_code": ["S1", "S9"], "person_id": [0, 1],
                         "dose_seq": [1, 1], **cols})
    merged = pd.DataFrame({"record_id": ["r3"], "site_code": ["S1"], "person_id": [0], **cols})
    quarantine = pd.DataFrame({"record_id": ["r4"], "site_code": ["S2"], "commune_code": ["05443"],
                               "sign_status": ["unsigned"], "reason": ["dose_date_missing"]})
    raw = pd.DataFrame({"record_id": ["r1", "r2", "r3", "r4"], "site_code": ["S1", "S9", "S1", "S2"],
                        "district_code": ["164", "173", "164", "165"]})
    facts = build_dose_facts(raw, SimpleNamespace(quarantine=quarantine),
                                      SimpleNamespace(data=kept, merged=merged),
                                      pd.Series({"S1": "164", "S2": "165"}))
    assert len(facts) == len(raw)
    assert dict(zip(facts.record_id, facts.state, strict=True)) == {"r1": "kept", "r2": "kept", "r3": "merged",
                                                                    "r4": "quarantined"}
    # S9 is in no tally: the district the platform recorded on the row
    assert dict(zip(facts.record_id, facts.district_code, strict=True)) == {"r1": "164", "r2": "173", "r3": "164",
                                                                            "r4": "165"}
    assert not {"full_name", "id_number", "phone", "birth_date"} & set(facts.columns)  # no personal data


def _whole_frame_dose_facts(raw, quarantine, kept, merged, site_district):
    """The dose facts as one concatenation of whole frames (what ``build_dose_facts`` builds a
    column at a time)."""
    cols = ["record_id", "site_code", "site_name", "commune_code", "sign_status", "entered_at", "signed_at",
            "dose_date", "vaccine", "vaccine_code", "person_id"]
    typed = frames.plain(pd.concat([kept[cols + ["dose_seq"]].assign(state="kept"),
                                    merged[cols].assign(state="merged")], ignore_index=True))
    quarantined = pd.DataFrame({
        "record_id": quarantine["record_id"].astype(str), "site_code": quarantine["site_code"].astype(str),
        "site_name": quarantine["site_name"] if "site_name" in quarantine else pd.NA,
        "commune_code": quarantine["commune_code"], "sign_status": quarantine["sign_status"], "state": "quarantined"})
    facts = pd.concat([typed, quarantined], ignore_index=True)
    district = facts["site_code"].map(site_district)
    unknown = district.isna().to_numpy()
    district[unknown] = facts.loc[unknown, "record_id"].map(raw.set_index("record_id")["district_code"]).to_numpy()
    facts["district_code"] = district
    return facts.astype({"dose_seq": "Int64", "person_id": "Int64"})


@pytest.mark.parametrize("site_name_in_quarantine", [True, False])
def test_dose_facts_built_a_column_at_a_time_equal_the_whole_frame_build(site_name_in_quarantine) -> None:
    """Categorical text (as stage 1 holds it), a missing ``dose_seq`` on merged rows, quarantined
    rows without dates or products, a site in no tally: the same values and dtypes."""
    rng = np.random.default_rng(3)
    n = 400
    sites = pd.Series(rng.choice(["S1", "S2", "S9", None], n), dtype="str")
    kept = pd.DataFrame({
        "record_id": pd.Series([f"r{i}" for i in range(n)], dtype="str"), "site_code": sites,
        "site_name": sites.map({"S1": "Trạm Y tế Xã Quang Sơn", "S2": "Bệnh viện A"}),
        "commune_code": pd.Series(rng.choice(["05443", "05446"], n), dtype="str"),
        "sign_status": pd.Series(rng.choice(["signed", "unsigned"], n), dtype="str"),
        "entered_at": pd.Timestamp("2022-01-02") + pd.to_timedelta(rng.integers(0, 300, n), "D"),
        "signed_at": pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]"),
        "dose_date": pd.Timestamp("2021-07-01") + pd.to_timedelta(rng.integers(0, 300, n), "D"),
        "vaccine": pd.Series(rng.choice(["Pfizer", "AstraZeneca", None], n), dtype="str"),
        "vaccine_code": pd.Series(rng.choice(["PFIZER", "AZ"], n), dtype="str"),
        "person_id": rng.integers(0, 10**12, n), "dose_seq": pd.array(rng.integers(1, 4, n), dtype="Int64")})
    kept = frames.categorize(kept, ["site_code", "site_name", "commune_code", "sign_status", "vaccine", "vaccine_code"])
    merged, kept = kept.iloc[:40].drop(columns="dose_seq"), kept.iloc[40:]
    quarantine = pd.DataFrame({"record_id": ["q1", "q2"], "site_code": ["S2", "S7"], "commune_code": ["05443", None],
                               "sign_status": ["unsigned", None], "reason": ["x", "y"]})
    if site_name_in_quarantine:
        quarantine["site_name"] = ["Bệnh viện A", None]
    raw = pd.DataFrame({"record_id": [f"r{i}" for i in range(n)] + ["q1", "q2"],
                        "district_code": rng.choice(["164", "173"], n + 2)})
    site_district = pd.Series({"S1": "164", "S2": "165"}, dtype="str")
    built = build_dose_facts(raw, SimpleNamespace(quarantine=quarantine), SimpleNamespace(data=kept, merged=merged),
                             site_district)
    assert isinstance(built["site_code"].dtype, pd.CategoricalDtype)  # held as codes; written as text
    pd.testing.assert_frame_equal(frames.plain(built),
                                  _whole_frame_dose_facts(raw, quarantine, kept, merged, site_district),
                                  check_exact=True)


@pytest.mark.parametrize("index", [None, [5, 3, 9, 1, 7, 2, 8]])
def test_plain_text_writes_the_bytes_of_the_plain_table(tmp_path, monkeypatch, index) -> None:
    """Categorical columns written as their text, row group by row group (3 rows each here):
    the file ``write_parquet`` writes of the plain table, RangeIndex or not."""
    monkeypatch.setattr("vaxreport.io.write.ROW_GROUP_ROWS", 3)
    plain = pd.DataFrame({"site": pd.Series(["S1", "S2", None, "S1", "S3", "S2", "S1"], dtype="str"),
                          "n": pd.array([1, 2, None, 4, 5, 6, 7], dtype="Int64")}, index=index)
    held = frames.categorize(plain, ["site"])
    a = write_parquet(plain, tmp_path / "a.parquet").read_bytes()
    b = PlainText(held).write_parquet(tmp_path / "b.parquet").read_bytes()
    assert a == b and pq.ParquetFile(tmp_path / "b.parquet").num_row_groups == 3


def test_registry_facts_keep_commune_district_and_result_only() -> None:
    registry = pd.DataFrame({"id_number": ["019080000123", "x", "y"], "full_name": ["A", "B", "C"],
                             "commune_code": ["5443", " 05443 ", None], "result": ["match", "not_found", "match"]})
    out = registry_facts(registry, pd.Series({"05443": "164"}))
    assert list(out.columns) == ["commune_code", "district_code", "result"]
    assert out["commune_code"].tolist()[:2] == ["05443", "05443"]  # Excel's lost zero put back
    assert out["district_code"].tolist()[:2] == ["164", "164"] and pd.isna(out["district_code"].iloc[2])


def test_feedback_findings_and_quarantine_facts_carry_no_personal_data() -> None:
    dose_facts = pd.DataFrame({"record_id": ["r1", "r2"], "district_code": ["164", "165"]})
    feedback = pd.DataFrame({"ticket_id": ["t1"], "received_at": ["2022-05-01"], "district_code": ["164"],
                             "site_code": ["S1"], "full_name": ["Lê Hoa"], "birth_date": ["01/01/1990"],
                             "id_number": ["019090000123"], "phone": ["0912345678"], "issue_type": ["x"],
                             "status": ["approved"], "resolved_at": ["2022-05-02"], "reject_reason": [None]})
    findings = pd.DataFrame({"record_id": ["r2", "r9"], "person_id": [1, 2], "code": ["bad_id", "gap"],
                             "label_vi": ["a", "b"], "detail": ["ID 019090000123", "Lê Hoa"]})
    quarantine = pd.DataFrame({"record_id": ["r1"], "full_name": ["Lê Hoa"], "id_number": ["019090000123"],
                               "reason": ["dose_date_missing"]})
    personal = {"full_name", "birth_date", "id_number", "phone", "detail", "person_id", "reject_reason"}
    fb = feedback_facts(feedback)
    fi = findings_facts(findings, dose_facts)
    qu = quarantine_facts(quarantine, dose_facts)
    for table in (fb, fi, qu):
        assert not personal & set(table.columns)
        assert "019090000123" not in table.to_string() and "Lê Hoa" not in table.to_string()
    # findings and quarantined rows are counted in the district of their dose's site
    assert fi["district_code"].tolist()[0] == "165" and pd.isna(fi["district_code"].iloc[1])
    assert qu["district_code"].tolist() == ["164"]


# ----------------------------------------------------------------------------- province roll-up
def _params(period: str = "2022-05", districts: dict[str, str] = DISTRICTS) -> SimpleNamespace:
    return SimpleNamespace(period=period, province_name="Thái Nguyên", district_names=lambda: dict(districts),
                           previous_run=None, province_names=lambda: ("Thái Nguyên",))


def _headline(entry: tuple[int, int], feedback: tuple[int, int] = (5, 5), signing: tuple[int, int] = (9, 10),
              police: tuple[int, int] = (1, 4)) -> dict:
    return {"headline": {k: {"num": n, "den": d, "pct": None} for k, (n, d) in
                         {"entry": entry, "feedback": feedback, "signing": signing, "police_verified": police}.items()}}


def _write_metrics(folder: Path, metrics: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")


def test_district_rollup_reads_each_districts_figures_and_names_the_missing(tmp_path: Path) -> None:
    p = _params()
    _write_metrics(unit_dir(tmp_path, "164", DISTRICTS["164"]), _headline((2756537, 2924867)))
    _write_metrics(unit_dir(tmp_path, "165", DISTRICTS["165"]), _headline((0, 0)))
    table, missing = district_rollup(tmp_path, p)
    assert missing == ["Huyện Định Hóa"]
    assert table["district_code"].tolist() == ["164", "165"]
    assert table["district_name"].tolist() == [DISTRICTS["164"], DISTRICTS["165"]]
    row = table.iloc[0]
    assert (row["entry_num"], row["entry_den"], row["entry_pct"]) == (2756537, 2924867, 94.24)  # from the counts
    assert (row["signing_pct"], row["police_verified_pct"]) == (90.0, 25.0)
    assert np.isnan(table.iloc[1]["entry_pct"])  # nothing administered: no percentage
    assert list(table.columns) == ["district_code", "district_name"] + [
        f"{k}_{part}" for k in ("entry", "feedback", "signing", "police_verified") for part in ("num", "den", "pct")]


def test_district_rollup_with_no_district_report(tmp_path: Path) -> None:
    table, missing = district_rollup(tmp_path, _params())
    assert table.empty and len(table.columns) == 14
    assert missing == list(DISTRICTS.values())
    assert not (tmp_path / "districts").exists()  # reading the roll-up creates no empty report folders


# ----------------------------------------------------------------------------- last month
@given(st.integers(1901, 2100), st.integers(1, 12))
def test_previous_period_is_the_month_before(year: int, month: int) -> None:
    prev = previous_period(f"{year}-{month:02d}")
    expected = date(year, month, 1) - timedelta(days=1)
    assert prev == f"{expected.year}-{expected.month:02d}"


def _previous_run(root: Path, period: str, *, complete: bool = True) -> Path:
    prev = root / period
    _write_metrics(prev / "province", {"unit_code": None, **_headline((1, 2))})
    _write_metrics(prev / "districts" / "164-thanh-pho-thai-nguyen", {"unit_code": "164", **_headline((3, 4))})
    if complete:
        (prev / "manifest.json").write_text("{}", encoding="utf-8")
    return prev


def test_previous_metrics_come_from_the_same_unit_last_month(tmp_path: Path) -> None:
    _previous_run(tmp_path, "2022-04")
    run = tmp_path / "2022-05"
    run.mkdir()
    p = _params("2022-05")
    assert previous_metrics(run, p, "164", DISTRICTS["164"])["unit_code"] == "164"
    assert previous_metrics(run, p, None, "Tỉnh Thái Nguyên")["unit_code"] is None
    assert previous_metrics(run, p, "165", DISTRICTS["165"]) is None  # no report for it last month


def test_previous_metrics_across_the_new_year(tmp_path: Path) -> None:
    _previous_run(tmp_path, "2021-12")
    assert previous_metrics(tmp_path / "2022-01", _params("2022-01"), "164", DISTRICTS["164"]) is not None


def test_previous_metrics_ignore_a_run_that_never_finished(tmp_path: Path) -> None:
    _previous_run(tmp_path, "2022-04", complete=False)
    p = _params("2022-05")
    assert previous_metrics(tmp_path / "2022-05", p, "164", DISTRICTS["164"]) is None
    assert previous_metrics(tmp_path / "2022-05", _params("2022-07"), "164", DISTRICTS["164"]) is None


def _stage_one(run_dir: Path) -> StageOne:
    """A stage 1 at its last section, with tiny tables in place of a province's."""
    frame = lambda n, tag: pd.DataFrame({"record_id": [f"{tag}{i}" for i in range(n)],  # noqa: E731
                                         "value": pd.array(range(n), dtype="Int64")})
    p = SimpleNamespace(**vars(_params("2022-05")), inputs=run_dir / "inputs", worklist_returns=None,
                        review_decisions=None, engine=EngineSpec())
    s = StageOne(p, run_dir)
    s.cleaned = SimpleNamespace(quarantine=frame(2, "q"), audit=frame(3, "a"))  # type: ignore[assignment]
    s.kept = KeptInProcess(ReconcileResult(data=frame(5, "d"), merged=frame(1, "m"), findings=frame(4, "f")))
    s.survivors = frame(3, "p").set_index("record_id")
    s.verification = frame(3, "v")
    s.id_changes = frame(2, "c")
    s.persons, s.labels = pd.DataFrame({"person_ref": ["a", "b"]}), pd.Series([1, 2], index=["a", "b"])
    s.facts = SimpleNamespace(doses=frame(8, "x").assign(site_code="s", district_code="164"),  # type: ignore[assignment]
                              tables=lambda: {"doses": frame(8, "x")})
    s.worklists = {}
    s.review_queue = frame(2, "r")
    s.review = DecisionOutcome()
    return s


def _saved_files(folder: Path) -> list[Path]:
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file() and p.suffix != ".xlsx")


def test_tables_written_in_the_background_are_the_same_files(tmp_path, monkeypatch):
    monkeypatch.setattr("vaxreport.reporting.worklists.to_table",
                        lambda lists: pd.DataFrame({c: pd.Series([], dtype="string")
                                                    for c in ("site_code", "kind", "record_id", "person_ref")}))
    monkeypatch.setattr("vaxreport.reporting.workbooks.write_summary_workbook", lambda *a, **k: None)
    direct = _stage_one(tmp_path / "a").save()
    early = _stage_one(tmp_path / "b")
    early._pending = PendingWrites([(df, tmp_path / "b" / "cleansed" / f"{name}.parquet", True)
                                    for name, df in early._reconciled_tables().items()])
    assert early._pending.names == {"doses", "merged_doses", "quarantine", "audit", "findings"}
    assert direct == early.save() == {"raw": 8, "cleansed": 5, "merged_duplicates": 1, "quarantined": 2}
    files = _saved_files(tmp_path / "a")
    # 9 personal tables (with id_changes and the review queue), 1 fact table, the returned worklists checked
    # and last month's lines followed up (none: counts tables empty), what the review decisions did
    # (counts), the worklists table, conservation.json, engine.json
    assert len(files) == 16
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
        assert ((tmp_path / "b" / rel).stat().st_mode & 0o777) == ((tmp_path / "a" / rel).stat().st_mode & 0o777)


def test_a_failed_background_write_fails_the_save(tmp_path):
    s = _stage_one(tmp_path)
    (tmp_path / "cleansed" / "doses.parquet").mkdir(parents=True)  # a folder where the file goes
    s._pending = PendingWrites([(df, tmp_path / "cleansed" / f"{name}.parquet", True)
                                for name, df in s._reconciled_tables().items()])
    with pytest.raises(OSError):
        s.save()


# ----------------------------------------------------------------------------- row order
def _reordered_copy(src: Path, dst: Path, order: str) -> Path:
    """A copy of a synthetic province whose every input file has its rows reversed or shuffled
    (header kept, values untouched)."""
    shutil.copytree(src, dst)
    for path in sorted((dst / "inputs").glob("*.csv")):
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        rows = (np.arange(len(table))[::-1] if order == "reversed"
                else np.random.default_rng(3).permutation(len(table)))
        table.iloc[rows].to_csv(path, index=False, encoding="utf-8-sig")
    return dst


@pytest.fixture(scope="module")
def reordered_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, StageOne]:
    """Stage 1 on a tiny synthetic province, on its rows reversed and on its rows shuffled."""
    root = tmp_path_factory.mktemp("row-order")
    generate(root / "original", scale=0.002, seed=5)
    folders = {"original": root / "original"}
    folders.update({o: _reordered_copy(root / "original", root / o, o) for o in ("reversed", "shuffled")})
    runs = {}
    for name, folder in folders.items():
        runs[name] = StageOne(RunParams.from_yaml(folder / "params.yaml"), folder / "run")
        runs[name].run()
    return runs


def _ids_by_ref(s: StageOne) -> dict[str, int]:
    return s.labels.to_dict()


def _as_set(df: pd.DataFrame) -> pd.DataFrame:
    """A table's rows in a canonical order (input order is not part of what is compared)."""
    return df.sort_values(list(df.columns), kind="stable").reset_index(drop=True)


def _metrics(s: StageOne) -> dict[str | None, dict]:
    names = {None: s.p.province_name, **s.p.district_names()}
    return {code: metrics.metrics_json(s.facts.scope(code), unit_code=code, unit_name=name, period=s.p.period)
            for code, name in names.items()}


@pytest.mark.parametrize("order", ["reversed", "shuffled"])
def test_person_ids_do_not_depend_on_the_order_of_the_input_rows(reordered_runs, order):
    original, other = reordered_runs["original"], reordered_runs[order]
    ids = _ids_by_ref(original)
    assert len(ids) > 1000 and len(set(ids.values())) < len(ids)  # a province with merged records
    assert _ids_by_ref(other) == ids  # every person code keeps its person_id
    # what is derived from the clusters is the same, row for row (ordered by person_id / code)
    pd.testing.assert_frame_equal(other.survivors, original.survivors)
    pd.testing.assert_frame_equal(other.verification, original.verification)
    pd.testing.assert_frame_equal(other.merges, original.merges)
    pd.testing.assert_frame_equal(other.facts.persons, original.facts.persons)


@pytest.mark.parametrize("order", ["reversed", "shuffled"])
def test_facts_and_indicators_do_not_depend_on_the_order_of_the_input_rows(reordered_runs, order):
    original, other = reordered_runs["original"], reordered_runs[order]
    for name, table in original.facts.tables().items():
        pd.testing.assert_frame_equal(_as_set(other.facts.tables()[name]), _as_set(table), obj=name)
    assert _metrics(other) == _metrics(original)  # metrics.json of the province and of every district
    assert other.counts == original.counts
