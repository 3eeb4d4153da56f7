"""indicators.xlsx (vaxreport.reporting.report.xlsx): typed numbers equal to the report's, sheet names,
frozen header rows, number formats, same bytes."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from decimal import Decimal

import openpyxl
import pandas as pd
import pytest

from vaxreport.reporting.metrics import Ratio
from vaxreport.reporting.narrative import coverage_table, headline_table
from vaxreport.reporting.report.format import fmt_pct
from vaxreport.reporting.report.render import ReportDoc, Section, Signatory
from vaxreport.reporting.report.sample import SAMPLE_TIMESTAMP, sample_report
from vaxreport.reporting.report.xlsx import FMT_INT, FMT_PCT, INFO_SHEET, parse_cell, render_xlsx, sheet_title

TS = SAMPLE_TIMESTAMP
FORBIDDEN = set("[]:*?/\\")


def _doc() -> ReportDoc:
    h = {"entry": Ratio(2756537, 2924867), "feedback": Ratio(2628, 2628), "signing": Ratio(2496793, 2756537),
         "police_verified": Ratio(200763, 0)}
    cov = pd.DataFrame({"age_group": ["18+", "<5", "Tổng"], "population": [1000, 0, 1000],
                        "at_least_one": [950, 3, 953], "at_least_one_pct": [95.0, float("nan"), 95.3],
                        "primary_complete": [900, 0, 900], "primary_complete_pct": [90.0, float("nan"), 90.0],
                        "booster": [1, 0, 1], "booster_pct": [0.1, float("nan"), 0.1]})
    return ReportDoc("UBND tỉnh Thái Nguyên", "Sở Y tế", "2102/BC-SYT", "Thái Nguyên", date(2022, 6, 1), "Báo cáo",
                     "Tóm tắt", [Section("I. KẾT QUẢ", [headline_table(h), coverage_table(cov)])], ["Lưu: VT"],
                     Signatory("", "GIÁM ĐỐC", "A"))


FRAMES = {"Chỉ tiêu theo xã, phường": pd.DataFrame({
    "commune_code": ["05761", "05764"], "commune_name": ["Thị trấn Hùng Sơn", "Xã A"],
    "doses": [153, 0], "signed": [138, 0], "signing_pct": [90.2, float("nan")]})}


@pytest.fixture(scope="module")
def data() -> bytes:
    return render_xlsx(_doc(), timestamp=TS, frames=FRAMES, info=[("Kỳ báo cáo", "2022-05")])


@pytest.fixture(scope="module")
def wb(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def test_sheets_one_per_table_plus_indicators_and_info(wb):
    assert wb.sheetnames == [INFO_SHEET, "Bảng 1", "Bảng 2", "Chỉ tiêu theo xã, phường"]
    for ws in wb:
        assert len(ws.title) <= 31 and not FORBIDDEN & set(ws.title)
        assert ws.freeze_panes == "A4"  # caption, blank, header: frozen below the header
        assert all(ws.column_dimensions[c].width >= 12 for c in "AB")
    info = {r[0]: r[1] for r in wb[INFO_SHEET].iter_rows(min_row=4, values_only=True)}
    assert info["Phụ lục của văn bản"] == "BÁO CÁO số 2102/BC-SYT" and info["Kỳ báo cáo"] == "2022-05"


def test_numbers_are_typed_with_formats_and_equal_the_report(wb):
    ws = wb["Bảng 1"]
    assert ws["A1"].value == "Bảng 1. Kết quả các chỉ tiêu chính"
    assert [c.value for c in ws[3]] == ["Chỉ tiêu", "Kết quả", "Mẫu số", "Tỷ lệ"]
    entry = ws[4]
    assert (entry[1].value, entry[2].value) == (2756537, 2924867)
    assert entry[1].number_format == FMT_INT and entry[3].number_format == FMT_PCT
    assert isinstance(entry[3].value, float) and entry[3].value == pytest.approx(0.9424, abs=1e-12)
    assert f"{entry[3].value * 100:.2f}".replace(".", ",") + "%" == fmt_pct(2756537, 2924867)
    assert ws[6][3].value == pytest.approx(0.9058)  # 90,58%: half-up, not the seed's truncated 90,57%
    assert ws[7][3].value is None  # "—": no denominator, an empty cell, never a string
    for row in ws.iter_rows(min_row=4, min_col=2, values_only=True):
        assert not any(isinstance(v, str) for v in row)


def test_a_count_with_its_rate_becomes_two_typed_columns(wb):
    ws = wb["Bảng 2"]
    assert [c.value for c in ws[3]][:4] == ["Nhóm tuổi", "Dân số", "Tiêm ≥ 1 mũi", "Tiêm ≥ 1 mũi (%)"]
    assert [c.value for c in ws[4]][1:4] == [1000, 950, pytest.approx(0.95)]
    assert [c.value for c in ws[5]][1:4] == [None, 3, None]  # "<5": no population, no rate


def test_indicator_frames_keep_codes_as_text_and_rates_as_fractions(wb):
    ws = wb["Chỉ tiêu theo xã, phường"]
    assert [c.value for c in ws[3]] == ["Mã xã", "Xã, phường, thị trấn", "Mũi tiêm", "Mũi đã ký", "Tỷ lệ ký"]
    assert [c.value for c in ws[4]] == ["05761", "Thị trấn Hùng Sơn", 153, 138, pytest.approx(0.902)]
    assert ws["E4"].number_format == FMT_PCT and ws["C4"].number_format == FMT_INT and ws["E5"].value is None


def test_same_bytes_and_fixed_timestamps(data):
    assert render_xlsx(_doc(), timestamp=TS, frames=FRAMES, info=[("Kỳ báo cáo", "2022-05")]) == data
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert {i.date_time for i in z.infolist()} == {(2022, 5, 31, 0, 0, 0)}
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.properties.created == wb.properties.modified == TS.replace(tzinfo=None)


def test_parse_cell_reads_back_every_formatted_value():
    assert parse_cell("0") == (0,) and parse_cell("-1.000") == (-1000,)
    assert parse_cell("100,00%") == (Decimal("1"),) and parse_cell("12,50") == (Decimal("12.50"),)
    assert parse_cell("02/5") == ("02/5",)  # a date, not a ratio
    assert parse_cell("7/8", ratios=False) == ("7/8",)
    assert parse_cell("5 (—)") == (5, None)


def test_sheet_titles_are_valid_and_unique():
    assert sheet_title("a" * 40) == "a" * 31
    assert sheet_title("Bảng 1", ["bảng 1"]) == "Bảng 1 (2)"
    assert sheet_title("[]:*?/\\") == "Bảng"


def test_sample_report_sheet(tmp_path):
    wb = openpyxl.load_workbook(io.BytesIO(render_xlsx(sample_report(), timestamp=TS)))
    assert wb.sheetnames == [INFO_SHEET, "Bảng 1"]
