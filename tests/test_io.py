"""Tests of vaxreport.io: loading the five input tables, validation, writers."""

from __future__ import annotations

import warnings
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


# --------------------------------------------------------------------------------------------
# The bad-input corpus (tests/data/bad/, written by tests/data/make_bad_corpus.py)
# --------------------------------------------------------------------------------------------

BAD = Path(__file__).parent / "data" / "bad"
NAMES = ["Nguyễn Văn An", "Lê Thị Hoà", "Đỗ Thuỷ Tiên"]


def load_bad(name: str, schema: schemas.TableSchema = schemas.DOSES) -> pd.DataFrame:
    return io.load_table(BAD / name, schema)


def test_corpus_is_what_the_generator_writes(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_bad_corpus",
                                                  BAD.parent / "make_bad_corpus.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for p in mod.build(tmp_path):
        if p.suffix != ".xlsx":  # zip entries carry timestamps
            assert p.read_bytes() == (BAD / p.name).read_bytes(), p.name


def test_empty_file_is_an_error() -> None:
    with pytest.raises(InputDataError) as err:
        load_bad("empty.csv")
    assert str(err.value) == f"file {BAD / 'empty.csv'}: the file is empty (no header row)"


def test_header_only_is_a_valid_table_with_zero_rows() -> None:
    df = load_bad("header_only.csv")
    assert len(df) == 0 and tuple(df.columns) == schemas.DOSES.columns


def test_wrong_delimiter_names_file_columns_and_delimiter() -> None:
    with pytest.raises(SchemaViolation) as err:
        load_bad("wrong_delimiter.csv")
    assert str(err.value) == (
        f"file {BAD / 'wrong_delimiter.csv'}: the header row (row 1) is one field "
        "'Mã bản ghi:Mã đối tượng:Họ và tên:Ngày sinh:Giới tính:Số ...': the file is not "
        "delimited by , ; tab or | (read as utf-8); save it as CSV with one of these delimiters, "
        "or as XLSX. Missing required column(s) for table 'doses': ['record_id', 'person_ref', "
        "'full_name', 'birth_date', 'gender', 'id_number', 'phone', 'district_code', "
        "'commune_code', 'vaccine', 'dose_number', 'dose_date', 'site_code', 'sign_status']")


@pytest.mark.parametrize("name, encoding, delimiter", [
    ("semicolon.csv", "utf-8", ";"),
    ("utf8_bom.csv", "utf-8-sig", ","),
    ("utf16.csv", "utf-16", "\t"),
    ("utf16be.csv", "utf-16", "\t"),
])
def test_encodings_and_delimiters_load_identically(name: str, encoding: str,
                                                   delimiter: str) -> None:
    raw = io._read_raw(BAD / name, schemas.DOSES)
    assert (raw.encoding, raw.delimiter) == (encoding, delimiter)
    df = load_bad(name)
    assert df.full_name.tolist() == NAMES
    assert df.record_id.tolist() == ["R001", "R002", "R003"]  # the BOM is not in the first header
    assert df.id_number.tolist()[:2] == ["019080000123", "019185000456"]


def test_cp1258_is_decoded_but_left_decomposed_for_the_cleanser() -> None:
    import unicodedata

    assert io._read_raw(BAD / "cp1258.csv", schemas.DOSES).encoding == "cp1258"
    df = load_bad("cp1258.csv")
    assert df.full_name.iloc[0] == "Nguyê\u0303n Văn An"  # base letter + combining tilde
    assert [unicodedata.normalize("NFC", s) for s in df.full_name] == NAMES


def test_tcvn3_bytes_are_read_as_cp1252_for_legacy_repair() -> None:
    assert io._read_raw(BAD / "tcvn3.csv", schemas.DOSES).encoding == "cp1252"
    assert load_bad("tcvn3.csv").full_name.tolist() == [
        "NguyÔn ThÞ Hång", "§ç V¨n §¹t", "TrÇn ThÞ Thanh Hµ"]


def test_xlsx_title_rows_merged_cells_and_numeric_cells() -> None:
    with pytest.warns(io.InputWarning, match=r"row 9 below the table .* footer .*"
                                             r"\['Người lập biểu'\]"):
        df = load_bad("title_rows_merged.xlsx")
    raw = io._read_raw(BAD / "title_rows_merged.xlsx", schemas.DOSES)
    assert (raw.header_row, raw.sheet, raw.encoding) == (4, "Danh sách", "xlsx")
    assert df.full_name.tolist() == NAMES
    assert df.birth_date.tolist() == ["1980-02-01", "04/03/1985", "40159"]
    assert df.dose_date.tolist() == ["2022-05-15", "2022-05-01 08:30:00", "20/05/2022"]
    assert df.id_number.tolist()[:2] == ["19080000123", "019185000456"]  # number cell: zero lost
    assert df.phone.tolist()[0] == "912345678"
    assert df.district_code.tolist() == ["164", "171", "172"]
    assert df.dose_number.tolist() == ["1", "2", "1.5"]
    assert df.site_code.tolist() == ["S0101"] * 3  # M5:M7 merged: the value fills the block
    assert df.sign_status.tolist() == ["signed", "unsigned", "unsigned"]


def test_xlsx_error_rows_are_sheet_rows(tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.load_workbook(BAD / "title_rows_merged.xlsx")
    wb.active["N6"] = "Không rõ"
    wb.save(tmp_path / "doses.xlsx")
    with pytest.raises(SchemaViolation, match=r"row 6, column 'Trạng thái ký': unknown value "
                                              r"'Không rõ'"):
        io.load_table(tmp_path / "doses.xlsx", schemas.DOSES)


def test_duplicate_columns_are_an_error() -> None:
    with pytest.raises(SchemaViolation) as err:
        load_bad("duplicate_columns.csv")
    assert str(err.value) == (
        f"file {BAD / 'duplicate_columns.csv'}, row 1: duplicate columns: 'Họ và tên' (column C) "
        "and 'Họ tên' (column O) both mean 'full_name'; keep one of each and re-export")


def test_unknown_extra_columns_are_kept_and_warned() -> None:
    with pytest.warns(io.InputWarning) as rec:
        df = load_bad("extra_columns.csv")
    assert [str(w.message) for w in rec] == [
        f"{BAD / 'extra_columns.csv'}: 2 unknown column(s) kept as extra columns: "
        "['Ghi chú', 'Người nhập']"]
    assert tuple(df.columns) == schemas.DOSES.columns + ("Ghi chú", "Người nhập")
    assert df["Người nhập"].tolist() == ["cb01"] * 3


def test_missing_column_names_file_columns_and_headers_found() -> None:
    with pytest.raises(SchemaViolation) as err:
        load_bad("missing_column.csv")
    assert str(err.value) == (
        f"file {BAD / 'missing_column.csv'}: missing required column(s) ['dose_date'] for table "
        "'doses'; headers found (row 1): ['Mã bản ghi', 'Mã đối tượng', 'Họ và tên', "
        "'Ngày sinh', 'Giới tính', 'Số CMND/CCCD', 'Số điện thoại', 'Mã huyện', 'Mã xã', "
        "'Tên vắc xin', 'Mũi tiêm', 'Mã cơ sở tiêm', 'Trạng thái ký']")


def test_impossible_dates_stay_raw_and_validate_reports_them(tmp_path: Path) -> None:
    df = load_bad("impossible_dates.csv")
    assert df.dose_date.tolist()[0] == "31/02/2022"
    assert df.birth_date.tolist()[1] == "ngày sinh?"
    folder = write_inputs(tmp_path, (BAD / "impossible_dates.csv").read_text(encoding="utf-8"))
    report = io.validate_folder(folder)
    assert report.ok and report.problems == []
    path = folder / "doses.csv"
    assert report.row_issues == [
        f"file {path}, column 'Ngày sinh': 1 value(s) are not a valid date: row 3 'ngày sinh?' "
        f"(accepted: {', '.join(io.DATE_FORMATS)})",
        f"file {path}, column 'Ngày tiêm': 1 value(s) are not a valid date: row 2 '31/02/2022' "
        f"(accepted: {', '.join(io.DATE_FORMATS)})",
    ]
    assert "the run quarantines these rows" in report.describe()


def test_excel_mangled_ids_are_kept_raw() -> None:
    df = load_bad("excel_ids.csv")
    assert df.id_number.tolist() == ["1.9E+11", "19185000456"]
    assert df.phone.tolist() == ["912345678", "84987654321"]


def test_truncated_file_names_the_row() -> None:
    with pytest.raises(InputDataError) as err:
        load_bad("truncated.csv")
    assert str(err.value) == (
        f"file {BAD / 'truncated.csv'}, row 4: has 3 fields, the header has 14 (delimiter ','): "
        "'R003,P003,\"Đỗ Thu'; a truncated file, an unterminated quote or a stray delimiter")


def test_100_kb_field_loads_whole() -> None:
    df = load_bad("big_field.csv")
    assert df.address.str.len().tolist() == [100_000]
    assert df.address.iloc[0].startswith("Tổ 5, xxx")


def test_unknown_status_value_lists_allowed_values() -> None:
    with pytest.raises(SchemaViolation) as err:
        load_bad("unknown_status.csv")
    assert str(err.value).startswith(
        f"file {BAD / 'unknown_status.csv'}, row 3, column 'Trạng thái ký': unknown value "
        "'Đang chờ ký' for sign_status; allowed: ['signed', 'unsigned'] (as exported, any case "
        "and diacritics: ['0', '1', 'chua ki',")
    assert "'da ky', 'da ky (co so)'" in str(err.value)


def test_tally_that_is_not_an_integer() -> None:
    with pytest.raises(SchemaViolation) as err:
        load_bad("tallies_not_integer.csv", schemas.SITE_TALLIES)
    assert str(err.value) == (f"file {BAD / 'tallies_not_integer.csv'}, row 3, column "
                              "'Số mũi đã tiêm': '12,5' is not a non-negative integer")


def test_validate_folder_reports_every_blocking_problem(tmp_path: Path) -> None:
    folder = write_inputs(tmp_path, (BAD / "missing_column.csv").read_text(encoding="utf-8"))
    (folder / "population.csv").write_text("commune_code,age_group,population\n05443,60+,10\n")
    report = io.validate_folder(folder)
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


def test_find_input_accepts_vietnamese_names_and_rejects_ambiguity(tmp_path: Path) -> None:
    (tmp_path / "Dữ liệu tiêm.xlsx").write_bytes(b"")
    (tmp_path / "~$Dữ liệu tiêm.xlsx").write_bytes(b"")
    assert io.find_input(tmp_path, "doses").name == "Dữ liệu tiêm.xlsx"
    (tmp_path / "doses.csv").write_text("x")
    with pytest.raises(InputDataError, match=r"more than one doses file: \['Dữ liệu tiêm.xlsx', "
                                             r"'doses.csv'\]"):
        io.find_input(tmp_path, "doses")


def test_csv_title_rows_above_the_header_are_skipped() -> None:
    raw = io._read_raw(BAD / "csv_title_rows.csv", schemas.DOSES)
    assert (raw.header_row, raw.first_row) == (4, 5)
    assert load_bad("csv_title_rows.csv").full_name.tolist() == NAMES


def test_csv_title_rows_keep_spreadsheet_row_numbers(tmp_path: Path) -> None:
    p = tmp_path / "population.csv"
    p.write_text("DÂN SỐ THEO XÃ,,\n\ncommune_code,age_group,population\n05443,18+,10\n"
                 "05444,5-11,x\n", encoding="utf-8")
    with pytest.raises(SchemaViolation, match=r"row 5, column 'population': 'x' is not"):
        io.load_table(p, schemas.POPULATION)


def test_invalid_utf8_byte_names_the_row() -> None:
    with pytest.raises(InputDataError) as err:
        load_bad("invalid_utf8.csv")
    assert str(err.value) == (f"file {BAD / 'invalid_utf8.csv'}, row 3: invalid UTF-8 byte 0xe0 "
                              "in an otherwise UTF-8 file; re-export the file as UTF-8")


def test_legacy_bytes_after_the_sniffed_megabyte(tmp_path: Path) -> None:
    head = b"commune_code,age_group,population\n" + b"05443,18+,10\n" * 90_000  # > 1 MB ASCII
    late = tmp_path / "late_cp1258.csv"
    late.write_bytes(head + b"0544\xe0,18+,10\n")
    assert io.load_table(late, schemas.POPULATION).commune_code.iloc[-1] == "0544à"
    corrupt = tmp_path / "late_corrupt.csv"
    corrupt.write_bytes(head + "Hòa,18+,10\n".encode() * 20 + b"0544\xe0,18+,10\n")
    with pytest.raises(InputDataError, match=r"row 90022: invalid UTF-8 byte 0xe0"):
        io.load_table(corrupt, schemas.POPULATION)


def test_utf16_without_bom_is_detected(tmp_path: Path) -> None:
    p = tmp_path / "population.csv"
    p.write_bytes("commune_code\tage_group\tpopulation\n05443\t18+\t10\n".encode("utf-16-le"))
    assert io.load_table(p, schemas.POPULATION).population.tolist() == [10]
    assert io._read_raw(p, schemas.POPULATION).encoding == "utf-16-le"


def test_empty_vocab_cell_without_a_default_is_named(tmp_path: Path) -> None:
    p = tmp_path / "registry.csv"
    p.write_text("id_number,full_name,birth_date,gender,result\n019080000123,A,1/1/1980,Nam,\n")
    with pytest.raises(SchemaViolation, match=r"row 2, column 'result': unknown value an empty "
                                              r"cell for result; allowed: \['corrected', 'match', "
                                              r"'not_found'\]"):
        io.load_table(p, schemas.REGISTRY)


def test_xlsx_two_row_header_on_second_sheet_with_decorated_names() -> None:
    raw = io._read_raw(BAD / "two_row_header.xlsx", schemas.DOSES)
    assert (raw.sheet, raw.header_row) == ("Dữ liệu", 2)
    df = load_bad("two_row_header.xlsx")
    assert df.full_name.tolist() == NAMES  # "Họ và tên (*)" merged over rows 1-2
    assert df.id_number.tolist()[:2] == ["019080000123", "019185000456"]  # "Số CMND/⏎CCCD"
    assert df.dose_date.tolist() == ["15/05/2022", "2022-05-01", "20/05/2022"]  # "Ngày tiêm*"
    assert df.district_code.tolist() == ["164", "171", "172"]  # under the merged "Địa bàn"


def test_sign_status_accepts_both_ki_spellings(tmp_path: Path) -> None:
    p = tmp_path / "doses.csv"
    rows = [r[:] for r in DOSE_ROWS]
    rows[0][13], rows[1][13] = "Đã kí", "chưa kí"
    p.write_text("\n".join(",".join(r) for r in [DOSES_VI, *rows]) + "\n", encoding="utf-8")
    assert io.load_table(p, schemas.DOSES).sign_status.tolist() == ["signed", "unsigned"]


def test_wrong_encoding_names_the_row_and_byte() -> None:
    with pytest.raises(InputDataError) as err:
        load_bad("wrong_encoding.csv")
    assert str(err.value) == (f"file {BAD / 'wrong_encoding.csv'}, row 2: cannot decode byte "
                              "0x8a as cp1258; save the file as UTF-8 CSV or XLSX")


def test_corrupt_and_legacy_workbooks_are_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "doses.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InputDataError, match=r"doses.xlsx: cannot open as an Excel workbook"):
        io.load_table(tmp_path / "doses.xlsx", schemas.DOSES)
    (tmp_path / "doses.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(InputDataError, match=r"legacy .xls workbooks are not supported; save as "
                                             r".xlsx or CSV"):
        io.load_table(tmp_path / "doses.xls", schemas.DOSES)


def test_header_only_without_final_newline(tmp_path: Path) -> None:
    p = tmp_path / "population.csv"
    p.write_text("commune_code,age_group,population")
    df = io.load_table(p, schemas.POPULATION)
    assert len(df) == 0 and list(df.columns) == ["commune_code", "age_group", "population"]


# --------------------------------------------------------------------------------------------
# Property: whatever the delimiter and encoding, every cell comes back as the same raw string
# --------------------------------------------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_CELL = st.text(alphabet=st.sampled_from(list("0123456789 aăâbcdđeêghiklmnoôơpqrstuưvxyÀÁẢÃẠ"
                                              "ẾỀỂỄỆếềểễệỳýỷỹỵ,;|\t\"'/.-+E\n")),
                max_size=12)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(_CELL, min_size=3, max_size=3), min_size=1, max_size=6),
       delimiter=st.sampled_from(io.DELIMITERS),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-be"]))
def test_cells_round_trip_as_raw_strings(tmp_path: Path, rows: list[list[str]], delimiter: str,
                                         encoding: str) -> None:
    import csv as _csv
    import io as _sio

    buf = _sio.StringIO()
    writer = _csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(["record_id", "full_name", "phone", "ticket", "sign_status"])
    for r in rows:
        writer.writerow(["R1", *r, "Đã ký"])
    text = buf.getvalue()
    data = (b"\xfe\xff" + text.encode("utf-16-be")) if encoding == "utf-16-be" else \
        text.encode(encoding)
    p = tmp_path / "doses.csv"
    p.write_bytes(data)
    schema = schemas.TableSchema(name="t", required=("record_id", "full_name", "phone",
                                                     "sign_status"),
                                 vocab={"sign_status": schemas.DOSES.vocab["sign_status"]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", io.InputWarning)
        df = io.load_table(p, schema)
    got = df[["full_name", "phone", "ticket"]].astype(object).where(df.notna(), "")
    assert got.values.tolist() == rows
    assert df.sign_status.tolist() == ["signed"] * len(rows)


def test_excel_text_formulas_are_read_as_their_text() -> None:
    df = load_bad("excel_text_formula.csv")
    assert df.id_number.tolist() == ["019080000123", "019185000456"]
    assert df.phone.tolist() == ["0912345678", "0987654321"]


def test_vocab_values_typed_in_a_legacy_font_are_mapped(tmp_path: Path) -> None:
    """Issue 16: "Đã ký" typed in TCVN3 ("§· ký") or VNI ("Ñaõ kyù") is still a status."""
    rows = [list(DOSE_ROWS[0]), list(DOSE_ROWS[1])]
    rows[0][13], rows[1][13] = "§· ký", "Ñaõ kyù"
    text_ = "\n".join(",".join(r) for r in [DOSES_VI, *rows]) + "\n"
    inputs = io.load_inputs(write_inputs(tmp_path, text_))
    assert inputs.doses.sign_status.tolist() == ["signed", "signed"]
