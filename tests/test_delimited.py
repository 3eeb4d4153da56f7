"""Tests of vaxreport.io.delimited: CSV/TSV files as exported (header only, truncated rows, big
fields, Excel-mangled cells, title rows), and every cell back as the same raw string."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from input_cases import BAD, load_bad

from vaxreport import io, schemas
from vaxreport.exceptions import InputDataError, SchemaViolation


def test_empty_file_is_an_error() -> None:
    with pytest.raises(InputDataError) as err:
        load_bad("empty.csv")
    assert str(err.value) == f"file {BAD / 'empty.csv'}: the file is empty (no header row)"


def test_header_only_is_a_valid_table_with_zero_rows() -> None:
    df = load_bad("header_only.csv")
    assert len(df) == 0 and tuple(df.columns) == schemas.DOSES.columns


def test_header_only_without_final_newline(tmp_path: Path) -> None:
    p = tmp_path / "population.csv"
    p.write_text("commune_code,age_group,population")
    df = io.load_table(p, schemas.POPULATION)
    assert len(df) == 0 and list(df.columns) == ["commune_code", "age_group", "population"]


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


def test_excel_mangled_ids_are_kept_raw() -> None:
    df = load_bad("excel_ids.csv")
    assert df.id_number.tolist() == ["1.9E+11", "19185000456"]
    assert df.phone.tolist() == ["912345678", "84987654321"]


def test_excel_text_formulas_are_read_as_their_text() -> None:
    df = load_bad("excel_text_formula.csv")
    assert df.id_number.tolist() == ["019080000123", "019185000456"]
    assert df.phone.tolist() == ["0912345678", "0987654321"]


def test_csv_title_rows_keep_spreadsheet_row_numbers(tmp_path: Path) -> None:
    p = tmp_path / "population.csv"
    p.write_text("DÂN SỐ THEO XÃ,,\n\ncommune_code,age_group,population\n05443,18+,10\n"
                 "05444,5-11,x\n", encoding="utf-8")
    with pytest.raises(SchemaViolation, match=r"row 5, column 'population': 'x' is not"):
        io.load_table(p, schemas.POPULATION)


# --------------------------------------------------------------------------------------------
# Property: whatever the delimiter and encoding, every cell comes back as the same raw string
# --------------------------------------------------------------------------------------------

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
