"""Tests of vaxreport.io.sniff: encodings (BOM, UTF-16, legacy Vietnamese code pages), delimiters
and the header row, seen through ``io.read_raw`` (how a file was read) and ``io.load_table``."""

from __future__ import annotations

from pathlib import Path

import pytest
from input_cases import BAD, NAMES, load_bad

from vaxreport import io, schemas
from vaxreport.exceptions import InputDataError, SchemaViolation
from vaxreport.io import sniff


@pytest.mark.parametrize("head, expected", [
    (b"\xef\xbb\xbfa,b\n", "utf-8-sig"),
    ("a\tb\n".encode("utf-16"), "utf-16"),
    ("a\tb\n".encode("utf-16-le"), "utf-16-le"),
    ("a\tb\n".encode("utf-16-be"), "utf-16-be"),
    ("Hòa Bình,1\n".encode(), "utf-8"),
    (b"Ho\xe0 Bi\xccnh, \xd0\xf4\xccng Hy\xd2\n", "cp1258"),  # Hoà Bình, Đồng Hỷ, decomposed
    ("Céng hoµ x· héi chñ nghÜa, §ång Hû\n".encode("cp1252"), "cp1252"),  # TCVN3 font bytes
])
def test_sniff_encoding_labelled_cases(head: bytes, expected: str) -> None:
    assert sniff.sniff_encoding(head, Path("x.csv")) == expected


def test_find_header_without_a_known_name_is_the_first_non_empty_record() -> None:
    assert sniff.find_header("\n;;\na;b\n1;2\n", ";", schemas.POPULATION, Path("x.csv")) == (
        ["a", "b"], 3)


@pytest.mark.parametrize("name, encoding, delimiter", [
    ("semicolon.csv", "utf-8", ";"),
    ("utf8_bom.csv", "utf-8-sig", ","),
    ("utf16.csv", "utf-16", "\t"),
    ("utf16be.csv", "utf-16", "\t"),
])
def test_encodings_and_delimiters_load_identically(name: str, encoding: str,
                                                   delimiter: str) -> None:
    raw = io.read_raw(BAD / name, schemas.DOSES)
    assert (raw.encoding, raw.delimiter) == (encoding, delimiter)
    df = load_bad(name)
    assert df.full_name.tolist() == NAMES
    assert df.record_id.tolist() == ["R001", "R002", "R003"]  # the BOM is not in the first header
    assert df.id_number.tolist()[:2] == ["019080000123", "019185000456"]


def test_cp1258_is_decoded_but_left_decomposed_for_the_cleanser() -> None:
    import unicodedata

    assert io.read_raw(BAD / "cp1258.csv", schemas.DOSES).encoding == "cp1258"
    df = load_bad("cp1258.csv")
    assert df.full_name.iloc[0] == "Nguyê\u0303n Văn An"  # base letter + combining tilde
    assert [unicodedata.normalize("NFC", s) for s in df.full_name] == NAMES


def test_tcvn3_bytes_are_read_as_cp1252_for_legacy_repair() -> None:
    assert io.read_raw(BAD / "tcvn3.csv", schemas.DOSES).encoding == "cp1252"
    assert load_bad("tcvn3.csv").full_name.tolist() == [
        "NguyÔn ThÞ Hång", "§ç V¨n §¹t", "TrÇn ThÞ Thanh Hµ"]


def test_utf16_without_bom_is_detected(tmp_path: Path) -> None:
    p = tmp_path / "population.csv"
    p.write_bytes("commune_code\tage_group\tpopulation\n05443\t18+\t10\n".encode("utf-16-le"))
    assert io.load_table(p, schemas.POPULATION).population.tolist() == [10]
    assert io.read_raw(p, schemas.POPULATION).encoding == "utf-16-le"


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


def test_wrong_encoding_names_the_row_and_byte() -> None:
    with pytest.raises(InputDataError) as err:
        load_bad("wrong_encoding.csv")
    assert str(err.value) == (f"file {BAD / 'wrong_encoding.csv'}, row 2: cannot decode byte "
                              "0x8a as cp1258; save the file as UTF-8 CSV or XLSX")


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



def test_csv_title_rows_above_the_header_are_skipped() -> None:
    raw = io.read_raw(BAD / "csv_title_rows.csv", schemas.DOSES)
    assert (raw.header_row, raw.first_row) == (4, 5)
    assert load_bad("csv_title_rows.csv").full_name.tolist() == NAMES
