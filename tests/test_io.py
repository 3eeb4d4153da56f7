"""Tests of vaxreport.io: loading the five input tables, validation, writers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from vaxreport import io, schemas
from vaxreport.exceptions import InputDataError, SchemaViolation

DOSES_VI = ["Mã bản ghi", "Mã đối tượng", "Họ và tên", "Ngày sinh", "Giới tính", "Số CMND/CCCD",
            "Số điện thoại", "Mã huyện", "Mã xã", "Tên vắc xin", "Mũi tiêm", "Ngày tiêm",
            "Mã cơ sở tiêm", "Trạng thái ký", "Trạng thái xác thực"]
DOSE_ROWS = [
    ["R1", "P1", "Nguyễn Văn An", "01/02/1980", "Nam", "019080000123", "0912345678", "164",
     "05443", "Pfizer", "1", "15/05/2022", "S01", "Đã ký", "Xác thực đúng"],
    ["R2", "P2", "Lê Thị Bình", "1980-03-04", "Nữ", "", "0987654321", "165", "05500",
     "AstraZeneca", "2", "2022-05-01", "S02", "Chưa ký", ""],
]


def write_inputs(folder: Path, doses_text: str | None = None) -> Path:
    """A minimal valid input folder (all five tables, various delimiters)."""
    folder.mkdir(parents=True, exist_ok=True)
    if doses_text is None:
        doses_text = "\n".join(",".join(r) for r in [DOSES_VI, *DOSE_ROWS]) + "\n"
    (folder / "doses.csv").write_text(doses_text, encoding="utf-8-sig")
    (folder / "site_tallies.csv").write_text(
        "site_code;district_code;week_start;doses_administered\nS01;164;02/05/2022;1.200\n")
    (folder / "feedback.csv").write_text(
        "ticket_id,received_at,district_code,status\nT1,2022-05-02,164,Đã duyệt\n")
    (folder / "registry.csv").write_text(
        "id_number\tfull_name\tbirth_date\tgender\tresult\n"
        "019080000123\tNguyễn Văn An\t01/02/1980\tNam\tKhớp\n")
    (folder / "population.csv").write_text("commune_code|age_group|population\n05443|18+|1000\n")
    return folder


def test_load_inputs_maps_headers_and_vocab_keeps_raw_strings(tmp_path: Path) -> None:
    inputs = io.load_inputs(write_inputs(tmp_path))
    d = inputs.doses
    assert tuple(d.columns) == schemas.DOSES.columns
    assert d.id_number.tolist()[0] == "019080000123"
    assert pd.isna(d.id_number.iloc[1])
    assert d.commune_code.tolist() == ["05443", "05500"]
    assert d.dose_number.tolist() == ["1", "2"]
    assert d.birth_date.tolist() == ["01/02/1980", "1980-03-04"]
    assert d.sign_status.tolist() == ["signed", "unsigned"]
    assert d.verify_status.tolist() == ["verified", "unchecked"]
    assert d.insurance_no.isna().all()
    assert inputs.site_tallies.doses_administered.tolist() == [1200]
    assert inputs.feedback.status.tolist() == ["approved"]
    assert inputs.registry.result.tolist() == ["match"]
    assert inputs.population.population.tolist() == [1000]
    src = inputs.sources["doses"]
    assert (src.rows, src.encoding, src.delimiter) == (2, "utf-8-sig", ",")
    assert len(src.sha256) == 64
    assert [inputs.sources[n].delimiter for n in ("site_tallies", "registry", "population")] == [
        ";", "\t", "|"]
    assert inputs.warnings == []


def test_load_inputs_never_modifies_raw_files(tmp_path: Path) -> None:
    folder = write_inputs(tmp_path)
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}
    io.load_inputs(folder)
    assert before == {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}


def test_load_inputs_lists_every_missing_table(tmp_path: Path) -> None:
    folder = write_inputs(tmp_path)
    (folder / "feedback.csv").unlink()
    (folder / "registry.csv").unlink()
    with pytest.raises(InputDataError) as err:
        io.load_inputs(folder)
    msg = str(err.value)
    assert "2 input problems" in msg and "no feedback file" in msg and "no registry file" in msg


def test_unknown_vocab_value_names_file_row_column_and_allowed(tmp_path: Path) -> None:
    rows = [r[:] for r in DOSE_ROWS]
    rows[1][13] = "Đang ký"
    text = "\n".join(",".join(r) for r in [DOSES_VI, *rows]) + "\n"
    folder = write_inputs(tmp_path, text)
    with pytest.raises(SchemaViolation) as err:
        io.load_table(folder / "doses.csv", schemas.DOSES)
    assert str(err.value).startswith(
        f"file {folder / 'doses.csv'}, row 3, column 'Trạng thái ký': unknown value 'Đang ký' "
        "for sign_status; allowed: ['signed', 'unsigned']")


def test_integer_column_rejects_negative_and_names_row(tmp_path: Path) -> None:
    p = tmp_path / "site_tallies.csv"
    p.write_text("site_code,district_code,week_start,doses_administered\n"
                 "S01,164,02/05/2022,10\nS02,164,02/05/2022,-3\n")
    with pytest.raises(SchemaViolation, match=r"row 3, column 'doses_administered': '-3' is not "
                                              r"a non-negative integer"):
        io.load_table(p, schemas.SITE_TALLIES)


def test_write_parquet_is_byte_reproducible_and_private(tmp_path: Path) -> None:
    df = pd.DataFrame({"id": ["019", None], "n": pd.array([1, None], dtype="Int64"),
                       "d": pd.to_datetime(["2022-05-01", None])})
    a = io.write_parquet(df, tmp_path / "a.parquet", private=True)
    b = io.write_parquet(df, tmp_path / "sub" / "b.parquet")
    assert a.read_bytes() == b.read_bytes()
    assert a.stat().st_mode & 0o777 == 0o600
    assert b.stat().st_mode & 0o777 == 0o644
    pd.testing.assert_frame_equal(pd.read_parquet(a), df)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_write_json_sorted_utf8_atomic(tmp_path: Path) -> None:
    import datetime as dt

    import numpy as np
    p = io.write_json({"z": np.int64(3), "a": [dt.date(2022, 6, 1), "Sở Y tế"]}, tmp_path / "m.json")
    assert p.read_text(encoding="utf-8") == (
        '{\n  "a": [\n    "2022-06-01",\n    "Sở Y tế"\n  ],\n  "z": 3\n}\n')
