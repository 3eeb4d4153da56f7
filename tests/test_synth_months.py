"""Tests of the next month of a synthetic province (``vaxreport.synth.months``)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from vaxreport import params, synth
from vaxreport.cli import main
from vaxreport.synth.months import CHANGES, MonthRates, next_month

SCALE = 0.002


@pytest.fixture(scope="module")
def months(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    first = tmp_path_factory.mktemp("month1")
    synth.generate(first, scale=SCALE, seed=7)
    second = first / "2022-06"
    next_month(first, second)
    return first, second


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def _sha(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_cumulative_export_keeps_every_record(months: tuple[Path, Path]) -> None:
    """Last month's rows come back with their record ids and person codes, in the same order;
    the new rows follow with new record ids, all dated in the new month."""
    one, two = (_csv(m / "inputs" / "doses.csv") for m in months)
    assert len(two) > len(one)
    head = two.iloc[:len(one)]
    assert head["Mã bản ghi"].tolist() == one["Mã bản ghi"].tolist()
    assert head["Mã đối tượng"].tolist() == one["Mã đối tượng"].tolist()
    new = two.iloc[len(one):]
    assert not new["Mã bản ghi"].isin(set(one["Mã bản ghi"])).any()
    assert new["Mã bản ghi"].is_unique
    dates = pd.to_datetime(new["Ngày tiêm"], format="%d/%m/%Y")
    assert dates.between("2022-06-01", "2022-06-30").all()


def test_changes_are_the_truth_of_what_moved(months: tuple[Path, Path]) -> None:
    """Corrected records show their person's true values; corrected doses their true date; new
    person codes are new; the truth lists every change and its rows line up with the export."""
    one, two = months
    raw1, raw2 = _csv(one / "inputs" / "doses.csv"), _csv(two / "inputs" / "doses.csv")
    truth = pd.read_parquet(two / "truth" / "doses_truth.parquet")
    changes = pd.read_parquet(two / "truth" / "changes.parquet")
    assert set(changes["change"]) <= set(CHANGES)
    assert {"corrected_record", "corrected_dose", "new_dose", "new_duplicate_person"} <= set(changes["change"])
    assert truth["record_id"].tolist() == raw2["Mã bản ghi"].tolist()
    assert truth["person_ref"].tolist() == raw2["Mã đối tượng"].tolist()
    fixed = changes.loc[changes["change"].eq("corrected_record"), "person_ref"]
    rows = raw2["Mã đối tượng"].isin(set(fixed)).to_numpy()
    assert rows.any()
    assert (raw2.loc[rows, "Họ và tên"] == truth.loc[rows, "true_full_name"]).all()
    assert (raw2.loc[rows, "Số CMND/CCCD"] == truth.loc[rows, "true_id_number"].fillna("")).all()
    before = rows[:len(raw1)]
    true_name = truth["true_full_name"].to_numpy()[:len(raw1)][before]
    assert (raw1.loc[before, "Họ và tên"].to_numpy() != true_name).any()
    dose = changes[changes["change"].eq("corrected_dose")]
    at = raw2.set_index("Mã bản ghi").loc[dose["record_id"]]
    true = truth.set_index("record_id").loc[dose["record_id"]]
    assert (pd.to_datetime(at["Ngày tiêm"], format="%d/%m/%Y").to_numpy() == true["true_dose_date"].to_numpy()).all()
    again = changes[changes["change"].eq("new_duplicate_person")]
    assert not again["person_ref"].isin(set(raw1["Mã đối tượng"])).any()
    persons = pd.read_parquet(two / "truth" / "persons_truth.parquet").set_index("person_ref")
    assert (persons.loc[again["person_ref"], "person_id"].to_numpy() == again["person_id"].to_numpy()).all()
    assert persons.loc[again["person_ref"], "errors"].str.contains("duplicate_person").all()
    assert set(raw2["Mã đối tượng"]) == set(persons.index)


def test_tallies_and_params_move_on(months: tuple[Path, Path]) -> None:
    one, two = months
    t1, t2 = (_csv(m / "inputs" / "site_tallies.csv") for m in months)
    new_doses = len(_csv(two / "inputs" / "doses.csv")) - len(_csv(one / "inputs" / "doses.csv"))
    dup = pd.read_parquet(two / "truth" / "changes.parquet")["change"].eq("new_duplicate_dose").sum()
    gained = t2["Số mũi đã tiêm"].astype(int).sum() - t1["Số mũi đã tiêm"].astype(int).sum()
    assert gained >= new_doses - dup
    p = params.RunParams.from_yaml(two / "params.yaml")
    assert (p.period, str(p.period_end), str(p.report_date)) == ("2022-06", "2022-06-30", "2022-07-01")
    assert p.inputs == (two / "inputs").resolve()


def test_same_month_same_bytes_and_first_month_unchanged(months: tuple[Path, Path], tmp_path: Path) -> None:
    """``synth --months 2`` writes the first month exactly as ``synth`` does, and the second as
    :func:`next_month` does."""
    one, two = months
    assert main(["synth", "--out", str(tmp_path), "--scale", str(SCALE), "--seed", "7", "--months", "2"]) == 0
    both = _sha(tmp_path)
    assert {k: v for k, v in both.items() if not k.startswith("2022-06")} == {
        k: v for k, v in _sha(one).items() if not k.startswith("2022-06")}
    assert {k[len("2022-06/"):]: v for k, v in both.items() if k.startswith("2022-06")} == _sha(two)


def test_rates_are_checked() -> None:
    with pytest.raises(ValueError, match="month rates"):
        MonthRates(sign=1.5)
