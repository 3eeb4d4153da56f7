"""Worklist round trip (issue 17): a site marks rows "x" in its workbook, next month's run reads the
returned workbook, checks each marked row against the new worklists and counts fixed / not fixed
in section II of the report."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import openpyxl
import pandas as pd
import pytest
from test_worklists import AS_OF, dose_rows, verification

from vaxreport import layout
from vaxreport.linkage import doses as dz
from vaxreport.reporting import workbooks as wbk
from vaxreport.reporting import worklist_returns as wr
from vaxreport.reporting import worklists as wlm
from vaxreport.reporting.report.render import Paragraph, ReportDoc, Section, Signatory
from vaxreport.runner.stages import check_worklist_returns, with_worklist_returns


@pytest.fixture(scope="module")
def month1() -> dict[str, pd.DataFrame]:
    data = dose_rows()
    res = dz.reconcile(data)
    return wlm.build_worklists(res.data, res.findings, verification(), unsigned_days=30, as_of=AS_OF)


def _mark(path: Path, marks: dict[tuple[str, str], str]) -> None:
    """Fill ``Đã sửa (x)`` (and a note) in ``path`` for rows keyed by (sheet title, record or person ref)."""
    wb = openpyxl.load_workbook(path)
    for ws in wb:
        header = next(r for r in ws.iter_rows() if r[0].value == "Ưu tiên")
        cols = {c.value: c.column for c in header}
        assert list(cols)[-2:] == [wbk.DONE_HEADER, wbk.NOTE_HEADER]  # the columns the site fills in
        for row in ws.iter_rows(min_row=header[0].row + 1):
            key = row[cols["Mã bản ghi"] - 1].value or row[cols["Mã đối tượng"] - 1].value
            if (ws.title, key) in marks:
                ws.cell(row[0].row, cols[wbk.DONE_HEADER], marks[ws.title, key])
                ws.cell(row[0].row, cols[wbk.NOTE_HEADER], "đã sửa trên nền tảng")
    wb.save(path)


@pytest.fixture(scope="module")
def returned(month1, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("month1")
    wbk.write_site_workbooks(month1, out / "worklists", province_name="Thái Nguyên", period="2022-05")
    folder = out / "inputs" / wr.FOLDER
    folder.mkdir(parents=True)
    for name, back in (("S1.xlsx", "S1 (trả lại).xlsx"), ("S2.xlsx", "S2.xlsx"), (wbk.SUMMARY_FILE,) * 2):
        shutil.copy(out / "worklists" / name, folder / back)  # a site may rename its file
    unsigned, bad = wlm.KINDS["unsigned"], wlm.KINDS["bad_id"]
    _mark(folder / "S1 (trả lại).xlsx", {(unsigned, "r2"): "x", (wlm.KINDS["dose_sequence"], "r2"): ""})
    _mark(folder / "S2.xlsx", {(unsigned, "r6"): " X ", (bad, "b"): "x", (bad, "c"): "chưa"})
    return folder


def test_read_returns_finds_marked_rows_only_as_done(returned):
    rows = wr.read_returns(returned)
    assert set(rows.site_code) == {"S1", "S2"}  # the summary workbook is skipped
    done = rows[rows.done].sort_values(["site_code", "kind"])
    assert done[["site_code", "kind", "record_id", "person_ref"]].astype(object).where(done.notna(), None)\
        .values.tolist() == [["S1", "unsigned", "r2", "a"], ["S2", "bad_id", None, "b"], ["S2", "unsigned", "r6", "e"]]
    assert rows.loc[rows.done, "note"].eq("đã sửa trên nền tảng").all()
    assert wr.read_returns(None).empty and wr.read_returns(returned.parent).empty


def test_next_month_counts_fixed_and_not_fixed(month1, returned):
    # month 2: r2 was signed on the platform (no longer listed); b still has no ID; r6 still unsigned
    data = dose_rows()
    data.loc[data.record_id == "r2", "sign_status"] = "signed"
    res = dz.reconcile(data)
    month2 = wlm.to_table(wlm.build_worklists(res.data, res.findings, verification(), unsigned_days=30, as_of=AS_OF))
    checked = wr.check_returns(wr.read_returns(returned), month2)
    assert dict(zip(checked.record_id.fillna(checked.person_ref), checked.fixed)) == {
        "r2": True, "b": False, "r6": False}
    summary = wr.summarise(checked, pd.Series({"S1": "164", "S2": "165"}), pd.Series({"S1": "TYT Phường A"}))
    assert summary[["district_code", "site_code", "kind", "marked", "fixed", "not_fixed"]].values.tolist() == [
        ["164", "S1", "unsigned", 1, 1, 0], ["165", "S2", "bad_id", 1, 0, 1], ["165", "S2", "unsigned", 1, 0, 1]]
    para = wr.returns_paragraph(summary)
    assert para.text == ("Theo danh sách điều chỉnh kỳ trước, các cơ sở tiêm chủng báo cáo đã sửa 3 bản ghi; "
                         "đối chiếu với dữ liệu kỳ này: 1 bản ghi đã được sửa (33,33%), 2 bản ghi vẫn còn lỗi, "
                         "tập trung tại: S2 (2).")


def _doc() -> ReportDoc:
    return ReportDoc("UBND tỉnh X", "Sở Y tế", "1/BC-SYT", "X", date(2022, 6, 1), "Báo cáo", "Tóm tắt",
                     [Section("I. KẾT QUẢ", []), Section("II. KHÓ KHĂN", [Paragraph("a")]),
                      Section("III. ĐỀ XUẤT", [])], ["Lưu: VT"], Signatory("", "GIÁM ĐỐC", "A"))


def test_stage_one_writes_counts_and_the_district_report_states_them(month1, returned, tmp_path):
    p = SimpleNamespace(inputs=returned.parent, worklist_returns=None)
    table = wlm.to_table(month1)  # the same export again: nothing was fixed
    facts = pd.DataFrame({"site_code": ["S1", "S2"], "district_code": ["164", "165"],
                          "site_name": ["TYT Phường A", "TYT Xã B"]})
    summary = check_worklist_returns(p, table, facts)
    assert set(summary.columns) == set(wr.SUMMARY_COLUMNS)  # counts only: no record or person keys
    assert (summary.marked.sum(), summary.fixed.sum()) == (3, 0)
    run = tmp_path / "run"
    (run / "cleansed" / "facts").mkdir(parents=True)
    summary.to_parquet(layout.returns_table(run))
    doc = with_worklist_returns(_doc(), run, "165")
    assert [b.text for b in doc.sections[1].blocks][1].startswith(
        "Theo danh sách điều chỉnh kỳ trước, các cơ sở tiêm chủng báo cáo đã sửa 2 bản ghi")
    assert with_worklist_returns(_doc(), run, "999") == _doc()  # no returns for that district
    # a province of a run covering several: its districts' returns only
    assert with_worklist_returns(_doc(), run, ["165", "058"]) == doc
    assert with_worklist_returns(_doc(), run, ["999", "058"]) == _doc()
    assert with_worklist_returns(_doc(), tmp_path / "none", None) == _doc()


def test_returns_folder_from_params_or_beside_the_inputs(returned, tmp_path):
    assert wr.returns_folder(SimpleNamespace(inputs=returned.parent, worklist_returns=None)) == returned
    assert wr.returns_folder(SimpleNamespace(inputs=tmp_path, worklist_returns=None)) is None
    assert wr.returns_folder(SimpleNamespace(inputs=tmp_path, worklist_returns=returned)) == returned


def test_params_key_is_resolved_against_the_yaml_folder(tmp_path):
    from vaxreport.params import RunParams

    base = {"period": "2022-05", "report_date": "2022-06-01", "inputs": "exports"}
    p = RunParams.from_dict({**base, "worklist_returns": "returned/2022-04"}, base_dir=tmp_path)
    assert p.worklist_returns == (tmp_path / "returned" / "2022-04").resolve()
    assert RunParams.from_dict(base, base_dir=tmp_path).worklist_returns is None


def test_returned_workbooks_are_inputs_of_the_run(returned):
    from vaxreport.runner import dag

    hashes = dag.input_hashes(SimpleNamespace(inputs=returned.parent, worklist_returns=None, review_decisions=None))
    assert sorted(hashes) == [f"{wr.FOLDER}/S1 (trả lại).xlsx", f"{wr.FOLDER}/S2.xlsx",
                              f"{wr.FOLDER}/{wbk.SUMMARY_FILE}"]
    assert all(len(h) == 64 for h in hashes.values())


def test_the_fill_in_columns_are_marked_and_offer_x(returned):
    wb = openpyxl.load_workbook(returned / "S2.xlsx")
    ws = wb[wlm.KINDS["bad_id"]]
    header = next(r for r in ws.iter_rows() if r[0].value == "Ưu tiên")
    done = next(c for c in header if c.value == wbk.DONE_HEADER)
    assert done.fill.fgColor.rgb.endswith("FFF2CC")
    (dv,) = ws.data_validations.dataValidation
    assert dv.formula1 == '"x"' and str(dv.sqref).startswith(f"{done.column_letter}{done.row + 1}:")
