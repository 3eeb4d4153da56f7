"""Tests of vaxreport.io.conform: loading the five input tables (headers and vocabularies mapped,
values kept raw), the errors that name file, row and column, and finding each table's file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from input_cases import BAD, DOSE_ROWS, DOSES_VI, load_bad, write_inputs

from vaxreport import io, schemas
from vaxreport.exceptions import InputDataError, SchemaViolation


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


def test_empty_vocab_cell_without_a_default_is_named(tmp_path: Path) -> None:
    p = tmp_path / "registry.csv"
    p.write_text("id_number,full_name,birth_date,gender,result\n019080000123,A,1/1/1980,Nam,\n")
    with pytest.raises(SchemaViolation, match=r"row 2, column 'result': unknown value an empty "
                                              r"cell for result; allowed: \['corrected', 'match', "
                                              r"'not_found'\]"):
        io.load_table(p, schemas.REGISTRY)


def test_sign_status_accepts_both_ki_spellings(tmp_path: Path) -> None:
    p = tmp_path / "doses.csv"
    rows = [r[:] for r in DOSE_ROWS]
    rows[0][13], rows[1][13] = "Đã kí", "chưa kí"
    p.write_text("\n".join(",".join(r) for r in [DOSES_VI, *rows]) + "\n", encoding="utf-8")
    assert io.load_table(p, schemas.DOSES).sign_status.tolist() == ["signed", "unsigned"]


def test_find_input_accepts_vietnamese_names_and_rejects_ambiguity(tmp_path: Path) -> None:
    (tmp_path / "Dữ liệu tiêm.xlsx").write_bytes(b"")
    (tmp_path / "~$Dữ liệu tiêm.xlsx").write_bytes(b"")
    assert io.find_input(tmp_path, "doses").name == "Dữ liệu tiêm.xlsx"
    (tmp_path / "doses.csv").write_text("x")
    with pytest.raises(InputDataError, match=r"more than one doses file: \['Dữ liệu tiêm.xlsx', "
                                             r"'doses.csv'\]"):
        io.find_input(tmp_path, "doses")


def test_vocab_values_typed_in_a_legacy_font_are_mapped(tmp_path: Path) -> None:
    """Issue 16: "Đã ký" typed in TCVN3 ("§· ký") or VNI ("Ñaõ kyù") is still a status."""
    rows = [list(DOSE_ROWS[0]), list(DOSE_ROWS[1])]
    rows[0][13], rows[1][13] = "§· ký", "Ñaõ kyù"
    text_ = "\n".join(",".join(r) for r in [DOSES_VI, *rows]) + "\n"
    inputs = io.load_inputs(write_inputs(tmp_path, text_))
    assert inputs.doses.sign_status.tolist() == ["signed", "signed"]
