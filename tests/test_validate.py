"""Tests of ``vaxreport.cleansing.validate``: a folder of inputs checked before a run, every problem at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from input_cases import write_inputs  # a minimal valid input folder

from vaxreport.cleansing.validate import DATE_FORMATS, validate_folder

BAD = Path(__file__).parent / "data" / "bad"


def test_impossible_dates_are_row_issues_naming_file_column_row_and_value(tmp_path: Path) -> None:
    folder = write_inputs(tmp_path, (BAD / "impossible_dates.csv").read_text(encoding="utf-8"))
    report = validate_folder(folder)
    assert report.ok and report.problems == []
    path = folder / "doses.csv"
    assert report.row_issues == [
        f"file {path}, column 'Ngày sinh': 1 value(s) are not a valid date: row 3 'ngày sinh?' "
        f"(accepted: {', '.join(DATE_FORMATS)})",
        f"file {path}, column 'Ngày tiêm': 1 value(s) are not a valid date: row 2 '31/02/2022' "
        f"(accepted: {', '.join(DATE_FORMATS)})",
    ]
    assert "the run quarantines these rows" in report.describe()


def test_validate_folder_reports_every_blocking_problem(tmp_path: Path) -> None:
    folder = write_inputs(tmp_path, (BAD / "missing_column.csv").read_text(encoding="utf-8"))
    (folder / "population.csv").write_text("commune_code,age_group,population\n05443,60+,10\n")
    report = validate_folder(folder)
    assert not report.ok and len(report.problems) == 2
    assert "missing required column(s) ['dose_date']" in report.problems[0]
    assert report.problems[1].startswith(f"file {folder / 'population.csv'}, row 2, column "
                                         "'age_group': unknown value '60+' for age_group")
    assert report.rows == {"site_tallies": 1, "feedback": 1, "registry": 1}
    assert report.describe().splitlines()[0] == f"{folder}: 2 problem(s); the run cannot start:"


def test_cli_validate_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from vaxreport import cli

    good = write_inputs(tmp_path / "good")
    assert cli.main(["validate", str(good)]) == 0
    assert capsys.readouterr().out.startswith(f"{good}: OK (doses 2, site_tallies 1, feedback 1, "
                                              "registry 1, population 1 rows)")
    (good / "doses.csv").write_bytes(b"")
    assert cli.main(["validate", str(good)]) == 1
    assert "the file is empty (no header row)" in capsys.readouterr().out
