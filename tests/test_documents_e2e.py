"""End to end (issue 17): beside every report.pdf of the demo run, a report.docx with the same
figures and an indicators.xlsx of typed numbers; both hashed in the manifest, listed by the CLI,
and the same bytes when rendered again."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from decimal import Decimal

import openpyxl
import pytest
from test_docx import docx_text, numbers, pdf_text

from vaxreport.facts import load_facts
from vaxreport.params import RunParams
from vaxreport.reporting import narrative
from vaxreport.reporting.report.docx import render_docx
from vaxreport.reporting.report.format import pct
from vaxreport.reporting.report.xlsx import FMT_PCT, INFO_SHEET
from vaxreport.runner.stages import APPENDIX_FRAMES, district_rollup, report_timestamp


def test_every_pdf_has_its_docx_and_xlsx_with_the_same_figures(demo_run):
    pdfs = demo_run.pdfs()
    assert len(pdfs) == 10
    for pdf in pdfs:
        docx, xlsx = pdf.with_name("report.docx"), pdf.with_name("indicators.xlsx")
        assert numbers(pdf_text(pdf.read_bytes())) == numbers(docx_text(docx.read_bytes())), pdf
        wb = openpyxl.load_workbook(xlsx)
        assert wb.sheetnames[0] == INFO_SHEET and wb.sheetnames[-2:] == list(APPENDIX_FRAMES)
        assert all(ws.freeze_panes == "A4" for ws in wb)


def test_appendix_rates_equal_the_printed_rates(demo_run):
    """Every percentage cell of the "Bảng" sheets, printed with 2 decimals, is in the PDF text."""
    for pdf in demo_run.pdfs():
        printed = set(re.findall(r"\d+,\d\d%", pdf_text(pdf.read_bytes())))
        wb = openpyxl.load_workbook(pdf.with_name("indicators.xlsx"))
        shown = {f"{Decimal(str(c.value)) * 100:.2f}".replace(".", ",") + "%"
                 for ws in wb if ws.title.startswith("Bảng") for row in ws.iter_rows(min_row=4) for c in row
                 if c.number_format == FMT_PCT and c.value is not None}
        assert shown and shown <= printed, (pdf, shown - printed)


def test_commune_sheet_rates_come_from_the_raw_counts(demo_run):
    wb = openpyxl.load_workbook(demo_run.out / "province" / "indicators.xlsx")
    ws = wb["Chỉ tiêu theo xã, phường"]
    head = [c.value for c in ws[3]]
    i, n, d = head.index("Tỷ lệ ký"), head.index("Mũi đã ký"), head.index("Mũi tiêm")
    rows = [r for r in ws.iter_rows(min_row=4, values_only=True)]
    assert len(rows) > 20
    for r in rows:
        expected = pct(r[n], r[d])
        assert (r[i] is None) if expected is None else Decimal(str(r[i])) * 100 == expected


def test_manifest_hashes_and_cli_lists_the_new_files(demo_run, demo_logs):
    manifest = json.loads((demo_run.out / "manifest.json").read_text(encoding="utf-8"))
    hashed = {k for nb in manifest["notebooks"] for k in nb["outputs"]}
    for pdf in demo_run.pdfs():
        for name in ("report.docx", "indicators.xlsx"):
            rel = str(pdf.with_name(name).relative_to(demo_run.out))
            assert rel in hashed, rel
            assert rel in demo_logs["stdout"] + demo_logs["stderr"] or str(pdf.with_name(name)) in (
                demo_logs["stdout"] + demo_logs["stderr"])
    assert "10 DOCX drafts" in demo_logs["stdout"] + demo_logs["stderr"]


def test_the_province_docx_renders_again_to_the_same_bytes(demo_run, demo_data):
    p = RunParams.from_yaml(demo_data / "params.yaml")
    facts = load_facts(demo_run.out)
    rollup, missing = district_rollup(demo_run.out, p)
    doc = narrative.build_report(facts, narrative.province_unit(p), p, district_rollup=rollup,
                                 missing_districts=missing)
    again = render_docx(doc, timestamp=report_timestamp(p))
    assert again == (demo_run.out / "province" / "report.docx").read_bytes()


@pytest.mark.parametrize("name", ["report.docx", "indicators.xlsx"])
def test_documents_are_readable_by_all_like_the_pdf(demo_run, name):
    for pdf in demo_run.pdfs():
        assert pdf.with_name(name).stat().st_mode & 0o777 == 0o644


def test_appendix_states_period_sources_and_params_hash_of_the_manifest(demo_run):
    manifest = json.loads((demo_run.out / "manifest.json").read_text(encoding="utf-8"))
    for pdf in demo_run.pdfs():
        ws = openpyxl.load_workbook(pdf.with_name("indicators.xlsx"))[INFO_SHEET]
        lines = [(k, v) for k, v in ws.iter_rows(min_row=4, values_only=True)]
        sources = {v for k, v in lines if k == "Nguồn dữ liệu"}
        assert sources == {f"{name}, sha256 {digest}" for name, digest in manifest["inputs"].items()}
        params = dict(lines)["Tham số"]
        assert params.endswith(manifest["params_sha256"])
        assert dict(lines)["Kỳ báo cáo"].startswith(manifest["params"]["period"])


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_prints_the_province_docx_with_the_pdf_figures(demo_run, tmp_path):
    src = demo_run.out / "province" / "report.docx"
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/profile",
                    "--convert-to", "pdf", "--outdir", str(tmp_path), str(src)],
                   check=True, capture_output=True, timeout=180)
    printed = pdf_text((tmp_path / "report.pdf").read_bytes())
    assert numbers(printed) == numbers(pdf_text(src.with_suffix(".pdf").read_bytes()))
