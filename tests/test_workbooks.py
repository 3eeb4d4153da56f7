"""The correction workbooks (``vaxreport.reporting.workbooks``): layout, file mode, summary,
cell types and escaping, byte-identical files."""

from __future__ import annotations

import stat
import time

import openpyxl
import pandas as pd
import pytest
from test_worklists import build_example

from vaxreport.reporting import workbooks as workbooks
from vaxreport.reporting import worklists as wlm


@pytest.fixture(scope="module")
def built() -> dict[str, pd.DataFrame]:
    return build_example()


def test_workbooks_layout_mode_and_summary(built, tmp_path):
    paths = workbooks.write_site_workbooks(built, tmp_path / "wl", province_name="Thái Nguyên",
                                     period="2022-05")
    assert [p.name for p in paths] == ["S1.xlsx", "S2.xlsx", "_tong_hop.xlsx"]
    for p in paths:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
    assert sorted(x.name for x in (tmp_path / "wl").iterdir()) == [p.name for p in paths]

    wb = openpyxl.load_workbook(paths[1])
    assert wb.sheetnames == [wlm.KINDS[k] for k in ("bad_id", "id_mismatch", "unsigned")]
    ws = wb[wlm.KINDS["bad_id"]]
    assert ws["A3"].value == workbooks.PERSONAL_DATA_NOTICE
    assert "Thái Nguyên" in ws["A2"].value and "05/2022" in ws["A2"].value
    assert ws.freeze_panes == "A6"
    assert ws["A5"].value == "Ưu tiên" and ws["A5"].font.bold
    assert ws.column_dimensions["L"].width == wlm.COLUMNS["problem"][1]
    rows = list(ws.iter_rows(min_row=6, values_only=True))
    assert [r[2] for r in rows] == ["b", "c"]  # person_ref column (site columns dropped)
    assert wb.properties.created.year == 2022 and wb.properties.created.month == 5

    summary = openpyxl.load_workbook(paths[-1])["Tổng hợp"]
    table = list(summary.iter_rows(min_row=6, values_only=True))
    header = next(summary.iter_rows(min_row=5, max_row=5, values_only=True))
    by_site = {r[0]: dict(zip(header, r)) for r in table}
    assert by_site["S2"][wlm.KINDS["bad_id"]] == 2
    assert by_site["S1"][wlm.KINDS["dose_sequence"]] == 1
    total = sum(len(t) for t in built.values())
    assert by_site["Tổng"]["Tổng"] == total
    assert by_site["S1"]["Tổng"] + by_site["S2"]["Tổng"] == total



def test_numbers_are_numeric_cells_and_tables_survive_storage(built, tmp_path):
    stored = tmp_path / "wl.parquet"
    wlm.to_table(built).to_parquet(stored)
    back = wlm.from_table(pd.read_parquet(stored))
    for kind in wlm.KINDS:
        pd.testing.assert_frame_equal(back[kind], built[kind])
    path = workbooks.write_site_workbooks(back, tmp_path / "wl", province_name="Thái Nguyên",
                                    period="2022-05", summary=False)[0]
    ws = openpyxl.load_workbook(path)[wlm.KINDS["dose_sequence"]]
    header = next(ws.iter_rows(min_row=5, max_row=5, values_only=True))
    row = dict(zip(header, next(ws.iter_rows(min_row=6, max_row=6, values_only=True))))
    assert isinstance(row["Mũi số"], int) and isinstance(row["Ưu tiên"], int)
    assert isinstance(row["Năm sinh"], int) and isinstance(row["Mã bản ghi"], str)
    assert not (tmp_path / "wl" / workbooks.SUMMARY_FILE).exists()



def test_workbooks_are_byte_identical_and_replace_atomically(built, tmp_path):
    first = workbooks.write_site_workbooks(built, tmp_path / "a", province_name="Thái Nguyên",
                                     period="2022-05")
    time.sleep(2.1)  # zip entries have 2-second resolution
    second = workbooks.write_site_workbooks(built, tmp_path / "b", province_name="Thái Nguyên",
                                      period="2022-05")
    for p, q in zip(first, second):
        assert p.read_bytes() == q.read_bytes()
    # rewriting over existing files replaces them and leaves no temporary files behind
    third = workbooks.write_site_workbooks(built, tmp_path / "a", province_name="Thái Nguyên",
                                     period="2022-06")
    assert [p.name for p in third] == [p.name for p in first]
    assert first[0].read_bytes() != second[0].read_bytes()  # replaced by the June file
    assert sorted(x.name for x in (tmp_path / "a").iterdir()) == [p.name for p in first]



def test_cells_escaped_typed_and_empty_worklists(built, tmp_path):
    odd = {k: t.head(0) for k, t in built.items()}
    row = built["unsigned"].head(1).assign(full_name="A & B <c>\x07", birth_year=1990)
    odd["unsigned"] = row
    paths = workbooks.write_site_workbooks(odd, tmp_path, province_name="Thái Nguyên",
                                     period="2022-05")
    ws = openpyxl.load_workbook(paths[0])[wlm.KINDS["unsigned"]]
    values = dict(zip(next(ws.iter_rows(min_row=5, max_row=5, values_only=True)),
                      next(ws.iter_rows(min_row=6, max_row=6, values_only=True))))
    assert values["Họ và tên"] == "A & B <c>"
    assert values["Năm sinh"] == 1990  # a number, not text
    assert values["Ngày tiêm"] == row.dose_date.item()
    none = workbooks.write_site_workbooks({k: t.head(0) for k, t in built.items()}, tmp_path / "e",
                                    province_name="Thái Nguyên", period="2022-05")
    assert [p.name for p in none] == ["_tong_hop.xlsx"]
