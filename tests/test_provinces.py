"""A run covering two provinces (``params provinces:``) on the synthetic two-province export
(``synth.provinces``): the persons vaccinated in both are found across the provinces, their doses
ordered across them and a dose entered in both merged, rows conserved, each province's units and
districts present, one province report each — checked against the synthetic truth."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from vaxreport import refdata
from vaxreport.exceptions import ParamsError
from vaxreport.facts import load_facts
from vaxreport.params import RunParams
from vaxreport.runner.stages import StageOne, open_province
from vaxreport.synth.provinces import generate_provinces, link_scores

PROVINCES = ("19", "06")


@pytest.fixture(scope="module")
def national(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, int], StageOne]:
    data = tmp_path_factory.mktemp("two-provinces")
    totals = generate_provinces(data, PROVINCES, scale=0.003, seed=5)
    run = data / "run"
    stage = StageOne(RunParams.from_yaml(data / "params.yaml"), run)
    stage.run()
    return data, run, totals, stage


def _scores(run: Path, data: Path) -> pd.DataFrame:
    """The run's person linkage scored against the truth, within and across provinces."""
    kept = [pd.read_parquet(run / "cleansed" / f"{t}.parquet", columns=["person_ref", "person_id", "province_code"])
            for t in ("doses", "merged_doses")]
    found = pd.concat(kept).astype({"person_ref": str, "province_code": str}).drop_duplicates("person_ref")
    return link_scores(found, pd.read_parquet(data / "truth" / "persons_truth.parquet"))


def test_the_export_holds_both_provinces_and_its_truth(national):
    data, _, totals, _ = national
    doses = pd.read_csv(data / "inputs" / "doses.csv", dtype=str, encoding="utf-8-sig")
    assert len(doses) == totals["dose_rows"] == totals["dose_rows_19"] + totals["dose_rows_06"]
    assert set(doses["Mã tỉnh"]) == set(PROVINCES)
    assert doses["Mã bản ghi"].is_unique
    movers = pd.read_parquet(data / "truth" / "cross_province.parquet")
    assert len(movers) == totals["movers"] > 20 and set(movers["away"]) == {"06"}
    truth = pd.read_parquet(data / "truth" / "persons_truth.parquet")
    # every mover has a record in each province, under two codes
    refs = truth[truth["person_id"].isin(movers["person_id"])]
    assert refs.groupby("person_id")["person_ref"].nunique().min() == 2
    assert set(movers["away_ref"]) <= set(refs["person_ref"])


def test_cross_province_duplicates_are_linked(national):
    data, run, _, _ = national
    scores = _scores(run, data)
    cross_true, cross_found, cross_both = scores.loc["cross", ["true_pairs", "found_pairs", "both"]]
    within_true, within_found, within_both = scores.loc["within", ["true_pairs", "found_pairs", "both"]]
    assert cross_true > 20 and within_true > 20
    assert cross_both / cross_true >= 0.95  # recall of the pairs of codes in two provinces
    # no more false merges across provinces than the scorer makes within one
    assert cross_found - cross_both <= max(1, (within_found - within_both) / within_found * cross_found)


def test_doses_are_ordered_across_provinces_and_a_dose_entered_in_both_is_merged(national):
    data, run, _, _ = national
    truth = pd.read_parquet(data / "truth" / "doses_truth.parquet")
    movers = pd.read_parquet(data / "truth" / "cross_province.parquet")
    kept = pd.read_parquet(run / "cleansed" / "doses.parquet", columns=["record_id", "dose_seq"])
    theirs = truth[truth["person_id"].isin(movers["person_id"]) & truth["dup_of"].isna()]
    seq = theirs.merge(kept.astype({"record_id": str}), on="record_id")
    assert len(seq) > 0.9 * len(theirs)
    assert (seq["dose_seq"] == seq["true_dose_number"]).mean() >= 0.95
    copies = truth[truth["errors"].str.startswith("dose_duplicate;cross_province")]
    merged = set(pd.read_parquet(run / "cleansed" / "merged_doses.parquet")["record_id"].astype(str))
    assert len(copies) > 5
    assert (copies["record_id"].isin(merged) | copies["dup_of"].isin(merged)).mean() >= 0.9


def test_rows_are_conserved_and_both_provinces_units_are_known(national):
    data, run, totals, stage = national
    counts = stage.counts
    assert counts["raw"] == totals["dose_rows"]
    assert counts["raw"] == counts["cleansed"] + counts["merged_duplicates"] + counts["quarantined"]
    facts = load_facts(run)
    assert set(facts.units["province_code"]) == set(PROVINCES)
    districts = set(stage.p.district_codes())
    assert districts == set(refdata.admin_units_of(PROVINCES)["district_code"])
    assert facts.persons["district_code"].isin(districts).mean() > 0.99
    assert facts.doses["district_code"].isin(districts).all()
    audit = pd.read_parquet(run / "cleansed" / "audit.parquet")
    assert not audit["rule"].astype(str).str.startswith("admin_").any()  # codes of both provinces accepted as typed


def test_each_province_report_gets_its_own_districts(national):
    _, run, _, stage = national
    whole = load_facts(run)
    for code in PROVINCES:
        own, facts, folder = open_province(stage.p, run, code)
        assert own.province_code == code and own.provinces == (code,)
        assert folder == run / "provinces" / f"{code}-{'thai-nguyen' if code == '19' else 'bac-kan'}"
        assert set(facts.doses["district_code"]) <= set(own.district_codes())
        assert facts.units["province_code"].eq(code).all()
    split = [len(open_province(stage.p, run, code)[1].doses) for code in PROVINCES]
    assert sum(split) == len(whole.doses)
    assert open_province(stage.p, run, "19")[0].agency_parent == "UBND TỈNH THÁI NGUYÊN"
    assert open_province(stage.p, run, "06")[0].signatory.authority == ""  # defaults, not Thái Nguyên's deputy


def test_partitions_give_the_same_two_province_tables(national, tmp_path: Path):
    data, run, _, stage = national
    StageOne(stage.p, tmp_path / "run", engine={"partitions": 3}).run()
    for table in ("doses", "persons", "merged_doses", "findings"):
        pd.testing.assert_frame_equal(pd.read_parquet(run / "cleansed" / f"{table}.parquet"),
                                      pd.read_parquet(tmp_path / "run" / "cleansed" / f"{table}.parquet"))


@pytest.mark.parametrize("extra, problem", [
    ({"provinces": ["19", "19"]}, "listed twice"),
    ({"province_code": "01", "provinces": ["19", "06"]}, "must include province_code '01'"),
    ({"provinces": ["19", "99"]}, "'99' is not a GSO province code"),
    ({"provinces": "19"}, "expected a list"),
])
def test_params_provinces_problems(extra, problem):
    with pytest.raises(ParamsError, match=problem):
        RunParams.from_dict({"period": "2022-05", "report_date": "2022-06-01", "inputs": "x", **extra})


def test_params_provinces_default_issuer_is_the_first():
    p = RunParams.from_dict({"period": "2022-05", "report_date": "2022-06-01", "inputs": "x",
                             "provinces": ["06", "19"]})
    assert p.province_code == "06" and p.province_name == "Bắc Kạn" and p.province_codes() == ("06", "19")
    assert p.district("164").agency_parent == "SỞ Y TẾ THÁI NGUYÊN"
    assert p.district("058").agency_parent == "SỞ Y TẾ BẮC KẠN"
    with pytest.raises(ParamsError, match="not covered"):
        p.for_province("01")
    alone = RunParams.from_dict({"period": "2022-05", "report_date": "2022-06-01", "inputs": "x", "provinces": [19]})
    assert alone.provinces == () and alone.province_codes() == ("19",) and alone.for_province("19") is alone


def test_dask_workers_cleanse_with_both_provinces_units(national):
    """The run's provinces reach the Dask workers: the partitioned cleansing gives the one-call
    tables and flags no unit of either province."""
    pytest.importorskip("distributed")
    from vaxreport import io
    from vaxreport.cleansing import audit, phases
    from vaxreport.engine import EngineSpec
    from vaxreport.runner.dask_engine import DaskEngine
    from vaxreport.runner.stages import clean_params

    data, _, _, stage = national
    doses, params = io.load_inputs(stage.p.inputs).doses, clean_params(stage.p)
    whole = audit.clean_doses(doses, params=params)
    engine = DaskEngine(EngineSpec("dask", workers=2, memory_limit="2GB"), data / "run.scratch")
    try:
        paths = phases.write_partitions(phases.split_rows(doses, 3, province_code=params.province_code),
                                        engine.scratch / "doses")
        parted = phases.clean_partitioned(paths, params, engine)
    finally:
        engine.close()
    for name in ("data", "audit", "quarantine", "flags"):
        pd.testing.assert_frame_equal(getattr(parted, name), getattr(whole, name), check_exact=True, obj=name)
    assert not parted.flags["column"].isin(["province_code", "district_code", "commune_code"]).any()
