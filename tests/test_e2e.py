"""End to end: ``vaxreport demo`` on a tiny province; every PDF's figures reproduce the indicators."""

from __future__ import annotations

import json
import re

import pytest
from pypdf import PdfReader

from vaxreport.facts import Facts, load_facts
from vaxreport.layout import WORKLISTS_TABLE, unit_dir
from vaxreport.params import RunParams
from vaxreport.reporting import metrics
from vaxreport.reporting.report.format import fmt_int, fmt_pct
from vaxreport.runner.stages import district_rollup


def _pdf_text(path) -> str:
    text = "".join(page.extract_text() for page in PdfReader(path).pages)
    return re.sub(r"\s+", "", text)


def _expected_headline(facts: Facts) -> list[str]:
    h = metrics.headline(facts)
    ratios = [f"{fmt_int(h[k].num)}/{fmt_int(h[k].den)}" for k in ("entry", "feedback", "signing")]
    return ratios + [fmt_int(h["police_verified"].num)] + [fmt_pct(r.num, r.den) for r in h.values()]


def test_demo_writes_ten_pdfs_and_a_complete_manifest(demo_run):
    pdfs = demo_run.pdfs()
    assert len(pdfs) == 10
    manifest = json.loads((demo_run.out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["ok"] is True
    assert len(manifest["notebooks"]) == 11
    assert all(len(h) == 64 for h in manifest["inputs"].values())
    assert {"pandas", "typst", "papermill"} <= set(manifest["versions"])
    for nb in manifest["notebooks"]:
        assert nb["ok"] and nb["seconds"] > 0


def test_row_conservation(demo_run):
    counts = json.loads((demo_run.out / "cleansed" / "conservation.json").read_text())
    assert counts["raw"] == counts["cleansed"] + counts["merged_duplicates"] + counts["quarantined"]
    assert counts["merged_duplicates"] > 0


def test_every_site_with_records_to_fix_has_its_workbook(demo_run):
    import pandas as pd

    from vaxreport.reporting import workbooks

    cleansed = demo_run.out / "cleansed"
    table = pd.read_parquet(cleansed / WORKLISTS_TABLE)
    files = sorted(p.name for p in (cleansed / "worklists").glob("*.xlsx"))
    assert files == sorted({f"{s}.xlsx" for s in table["site_code"]} | {workbooks.SUMMARY_FILE})
    assert table["district_code"].notna().all()


def test_province_pdf_carries_the_headline_counts_and_percentages(demo_run, demo_data):
    facts = load_facts(demo_run.out)
    text = _pdf_text(demo_run.out / "province" / "report.pdf")
    for s in _expected_headline(facts):
        assert s in text, s
    assert "BÁOCÁO" in text and "Nơinhận" in text


def test_every_district_pdf_matches_its_indicators(demo_run, demo_data):
    facts = load_facts(demo_run.out)
    p = RunParams.from_yaml(demo_data / "params.yaml")
    for code, name in p.district_names().items():
        pdf = unit_dir(demo_run.out, code, name) / "report.pdf"
        text = _pdf_text(pdf)
        for s in _expected_headline(facts.scope(code)):
            assert s in text, (code, s)
        metrics_json = json.loads(pdf.with_name("metrics.json").read_text(encoding="utf-8"))
        assert metrics_json["headline"] == {k: r.to_dict() for k, r in metrics.headline(facts.scope(code)).items()}


def test_every_printed_percentage_reproduces_from_its_counts(demo_run):
    """Each "a/b ... đạt x%" in a report: x is a/b rounded half-up (never the seed's 94,17% mistake)."""
    from vaxreport.reporting.report.format import parse_pct, pct

    pattern = re.compile(r"(\d[\d.]*)/(\d[\d.]*)[^/%]{0,40}?đạt(\d+,\d\d)%")
    checked = 0
    for pdf in demo_run.pdfs():
        for num, den, shown in pattern.findall(_pdf_text(pdf)):
            n, d = int(num.replace(".", "")), int(den.replace(".", ""))
            assert pct(n, d) == parse_pct(shown + "%"), (pdf, num, den, shown)
            checked += 1
    assert checked >= 2 * len(demo_run.pdfs())  # entry and signing in every report; feedback when any


def test_district_totals_add_up_to_the_province(demo_run):
    facts = load_facts(demo_run.out)
    table = metrics.by_district(facts)
    h = metrics.headline(facts)
    assert table.entry_den.sum() == h["entry"].den
    # rows of sites outside the province's districts stay province-level
    assert table.signing_den.sum() <= h["signing"].den
    assert table.feedback_den.sum() == h["feedback"].den


@pytest.mark.parametrize("name", ["cleansed/cleanse.html", "province/report.html"])
def test_html_copies_have_no_code(demo_run, name):
    html = (demo_run.out / name).read_text(encoding="utf-8")
    assert "import " not in html and "open_run" not in html


def test_province_rollup_of_district_reports_equals_the_facts(demo_run, demo_data):
    import pandas as pd

    p = RunParams.from_yaml(demo_data / "params.yaml")
    facts = load_facts(demo_run.out)
    rollup, missing = district_rollup(demo_run.out, p)
    assert missing == []
    expected = metrics.by_district(facts)[rollup.columns]
    pd.testing.assert_frame_equal(rollup.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False)
