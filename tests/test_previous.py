"""Finding last month's run (``vaxreport.runner.previous``) and the ``previous_run:`` param."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from vaxreport import layout
from vaxreport.exceptions import RunError
from vaxreport.params import RunParams
from vaxreport.runner.previous import carry_over, last_month, previous_person_ids, previous_records, previous_run


def _params(folder: Path, **extra: str) -> RunParams:
    text = "period: 2022-06\nreport_date: 2022-07-01\ninputs: inputs\n" + "".join(
        f"{k}: {v}\n" for k, v in extra.items())
    (folder / "p.yaml").write_text(text, encoding="utf-8")
    return RunParams.from_yaml(folder / "p.yaml")


def _complete(run: Path, refs: list[str], ids: list[int]) -> Path:
    layout.cleansed_dir(run).mkdir(parents=True)
    pd.DataFrame({"person_ref": refs, "person_id": ids}).to_parquet(layout.cleansed_dir(run) / "doses.parquet")
    (run / layout.MANIFEST).write_text("{}", encoding="utf-8")
    return run


def test_previous_period_beside_this_run_when_it_completed(tmp_path: Path) -> None:
    p = _params(tmp_path)
    assert previous_run(p, tmp_path / "out" / "2022-06") is None
    (tmp_path / "out" / "2022-05").mkdir(parents=True)
    assert previous_run(p, tmp_path / "out" / "2022-06") is None  # no manifest: not complete
    _complete(tmp_path / "out" / "2022-05", ["a"], [1])
    assert previous_run(p, tmp_path / "out" / "2022-06") == (tmp_path / "out" / "2022-05").resolve()


def test_previous_run_param_is_relative_to_the_params_file_and_must_be_complete(tmp_path: Path) -> None:
    p = _params(tmp_path, previous_run="runs/may")
    assert p.previous_run == (tmp_path / "runs" / "may").resolve()
    with pytest.raises(RunError, match="no completed run"):
        previous_run(p, tmp_path / "out" / "2022-06")
    _complete(tmp_path / "runs" / "may", ["a", "b"], [1, 1])
    assert previous_run(p, tmp_path / "out" / "2022-06") == p.previous_run
    with pytest.raises(RunError, match="own folder"):
        previous_run(p, tmp_path / "runs" / "may")


def test_carry_over_reads_last_months_codes(tmp_path: Path) -> None:
    run = _complete(tmp_path / "may", ["a", "b", "b"], [1, 2, 2])
    pd.DataFrame({"person_ref": ["c"], "person_id": [3]}).to_parquet(layout.cleansed_dir(run) / "merged_doses.parquet")
    assert previous_person_ids(run).values.tolist() == [["a", 1], ["b", 2], ["c", 3]]
    p = _params(tmp_path, previous_run="may")
    refs = pd.Series(["a", "b", "c"])
    last = last_month(p, tmp_path / "june", pd.DataFrame({"person_ref": refs}))
    assert last is not None and last.run == run.resolve()
    carried = carry_over(last, refs, pd.Series([9, 9, 8]))
    assert carried.ids.tolist() == [1, 1, 3]
    assert carried.changes[["old_id", "new_id", "why"]].values.tolist() == [[2, 1, "merged"]]
    assert last_month(_params(tmp_path), tmp_path / "june", pd.DataFrame({"person_ref": ["a"]})) is None
    carried = carry_over(None, pd.Series(["a"]), pd.Series([9]))
    assert carried.ids.tolist() == [9] and carried.changes.empty


def test_last_month_tells_the_records_whose_person_fields_changed(tmp_path: Path) -> None:
    """Last month's digests come from its cleansed doses (kept and merged rows, any row order);
    a record is unchanged when the linkage now reads the one content it had, and its person is
    then known; a record with two contents last month counts as changed."""
    run = tmp_path / "may"
    layout.cleansed_dir(run).mkdir(parents=True)
    may = pd.DataFrame({"person_ref": ["a", "b", "c", "a", "e", "e"], "person_id": [1, 1, 3, 1, 5, 5],
                        "full_name": ["An", "An", "Chi", "An", "Em", "Em B"],
                        "birth_date": pd.to_datetime(["1990-01-02"] * 2 + ["1980-05-05"] + ["1990-01-02"] * 3)})
    may.iloc[:3].to_parquet(layout.cleansed_dir(run) / "doses.parquet")
    may.iloc[3:].to_parquet(layout.cleansed_dir(run) / "merged_doses.parquet")
    (run / layout.MANIFEST).write_text("{}", encoding="utf-8")
    records = previous_records(run)
    assert records[["person_ref", "person_id"]].values.tolist() == [["a", 1], ["b", 1], ["c", 3], ["e", 5]]
    june = pd.DataFrame({"person_ref": ["d", "c", "b", "a", "e"], "full_name": ["Dung", "Chí", "An", "An", "Em"],
                         "birth_date": pd.to_datetime(["2000-01-01", "1980-05-05"] + ["1990-01-02"] * 3)})
    last = last_month(_params(tmp_path, previous_run="may"), tmp_path / "june", june)
    assert last is not None
    assert last.prior.cluster.tolist() == [-1, -1, 1, 1, -1]  # d new, c corrected, e had two contents
    assert last.prior.intact.tolist() == [False, False, True, True, False]


def test_period_of_a_run_comes_from_its_manifest(tmp_path: Path) -> None:
    from vaxreport.runner.previous import period_of

    run = tmp_path / "run"
    run.mkdir()
    assert period_of(run) == "run"  # no manifest: the folder's name
    (run / layout.MANIFEST).write_text('{"params": {"period": "2022-05"}}', encoding="utf-8")
    assert period_of(run) == "2022-05"


def test_a_run_into_its_own_previous_run_is_refused_before_anything_is_cleared(tmp_path: Path) -> None:
    from vaxreport import runner

    run = _complete(tmp_path / "run", ["a"], [1])
    _params(tmp_path, previous_run="run")
    with pytest.raises(RunError, match="own folder"):
        runner.run(tmp_path / "p.yaml", out=run, force=True, progress=False)
    assert (run / layout.MANIFEST).is_file() and (layout.cleansed_dir(run) / "doses.parquet").is_file()
