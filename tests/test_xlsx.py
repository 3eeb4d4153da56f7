"""Tests of vaxreport.io.xlsx: workbooks as exported (title rows, merged cells, numeric cells, a
two-row header on a second sheet, footers) and damaged or legacy workbooks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from input_cases import BAD, NAMES, load_bad

from vaxreport import io, schemas
from vaxreport.exceptions import InputDataError, SchemaViolation
from vaxreport.io.xlsx import cell_text


@pytest.mark.parametrize("value, shown", [
    (190123456789, "190123456789"),  # an ID typed as a number: digits, no exponent
    (84912345678.0, "84912345678"),  # an integral float: no ".0"
    (1.5, "1.5"),
    (dt.datetime(2022, 5, 1), "2022-05-01"),  # a date cell (midnight) is a date
    (dt.datetime(2022, 5, 1, 8, 30), "2022-05-01 08:30:00"),
    (False, "false"),
    ("", None),
])
def test_cell_text_labelled_cases(value: object, shown: str | None) -> None:
    assert cell_text(value) == shown


def test_xlsx_title_rows_merged_cells_and_numeric_cells() -> None:
    with pytest.warns(io.InputWarning, match=r"row 9 below the table .* footer .*"
                                             r"\['Người lập biểu'\]"):
        df = load_bad("title_rows_merged.xlsx")
    raw = io.read_raw(BAD / "title_rows_merged.xlsx", schemas.DOSES)
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


def test_xlsx_two_row_header_on_second_sheet_with_decorated_names() -> None:
    raw = io.read_raw(BAD / "two_row_header.xlsx", schemas.DOSES)
    assert (raw.sheet, raw.header_row) == ("Dữ liệu", 2)
    df = load_bad("two_row_header.xlsx")
    assert df.full_name.tolist() == NAMES  # "Họ và tên (*)" merged over rows 1-2
    assert df.id_number.tolist()[:2] == ["019080000123", "019185000456"]  # "Số CMND/⏎CCCD"
    assert df.dose_date.tolist() == ["15/05/2022", "2022-05-01", "20/05/2022"]  # "Ngày tiêm*"
    assert df.district_code.tolist() == ["164", "171", "172"]  # under the merged "Địa bàn"


def test_corrupt_and_legacy_workbooks_are_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "doses.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InputDataError, match=r"doses.xlsx: cannot open as an Excel workbook"):
        io.load_table(tmp_path / "doses.xlsx", schemas.DOSES)
    (tmp_path / "doses.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(InputDataError, match=r"legacy .xls workbooks are not supported; save as "
                                             r".xlsx or CSV"):
        io.load_table(tmp_path / "doses.xls", schemas.DOSES)
