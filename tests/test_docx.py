"""report.docx (vaxreport.reporting.report.docx): the same document as the PDF, NĐ 30 page setup, same bytes."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from collections import Counter

import docx
import pandas as pd
import pytest
from pypdf import PdfReader

from vaxreport.exceptions import ReportRenderError
from vaxreport.reporting import figures
from vaxreport.reporting.report import render_pdf
from vaxreport.reporting.report.docx import FONT, render_docx, write_docx
from vaxreport.reporting.report.render import Figure, Section
from vaxreport.reporting.report.sample import SAMPLE_TIMESTAMP, sample_report

TS = SAMPLE_TIMESTAMP
#: A number as printed: "2.756.537", "94,24%", "31/5/2022" gives "31", "5", "2022".
NUMBER = re.compile(r"\d+(?:[.,]\d+)*%?")


def _chart() -> Figure:
    trend = pd.DataFrame({"week_start": pd.to_datetime(["2022-05-02", "2022-05-09"]),
                          "entered": [10, 30], "signed": [5, 20]})
    return Figure(figures.figure_png(figures.weekly_trend(trend)), caption="Mũi tiêm theo tuần")


def docx_text(data: bytes) -> str:
    """Every paragraph of the body, including those inside table cells, in document order."""
    d = docx.Document(io.BytesIO(data))
    return "\n".join(p.text for p in d.element.body.iter(docx.oxml.ns.qn("w:p"))
                     for p in [docx.text.paragraph.Paragraph(p, d)])


def pdf_text(data: bytes) -> str:
    """The PDF's text without the page numbers (the first line of pages 2+, a DOCX field)."""
    pages = [p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages]
    return "\n".join([pages[0], *[t.lstrip().split("\n", 1)[-1] for t in pages[1:]]])


def numbers(text: str) -> Counter[str]:
    return Counter(NUMBER.findall(text))


@pytest.fixture(scope="module")
def doc():
    d = sample_report(extra_rows=30)
    sections = [*d.sections[:-1], Section(d.sections[-1].heading, [*d.sections[-1].blocks, _chart()])]
    return type(d)(**{**d.__dict__, "sections": sections})


@pytest.fixture(scope="module")
def data(doc) -> bytes:
    return render_docx(doc, timestamp=TS)


def test_every_number_of_the_pdf_is_in_the_docx_and_no_other(doc, data):
    pdf = numbers(pdf_text(render_pdf(doc, timestamp=TS)))
    assert pdf == numbers(docx_text(data))
    assert {"2.756.537", "2.924.867", "94,24%", "90,58%"} <= set(pdf)


def test_same_bytes_on_rerender_and_fixed_dates(doc, data):
    assert render_docx(doc, timestamp=TS) == data
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert {i.date_time for i in z.infolist()} == {(2022, 5, 31, 0, 0, 0)}
        assert "docProps/thumbnail.jpeg" not in z.namelist()
        assert "thumbnail" not in z.read("_rels/.rels").decode()
    props = docx.Document(io.BytesIO(data)).core_properties
    assert props.created == props.modified == TS
    assert props.author == "Sở Y tế" and props.last_modified_by == "vaxreport"


def test_page_setup_margins_and_font(data):
    d = docx.Document(io.BytesIO(data))
    s = d.sections[0]
    assert (round(s.page_width.mm), round(s.page_height.mm)) == (210, 297)
    assert [round(m.mm) for m in (s.top_margin, s.bottom_margin, s.left_margin, s.right_margin)] == [20, 20, 30, 15]
    normal = d.styles["Normal"]
    assert normal.font.name == FONT and normal.font.size.pt == 14
    fonts = normal.element.rPr.find(docx.oxml.ns.qn("w:rFonts"))
    assert {fonts.get(docx.oxml.ns.qn(f"w:{k}")) for k in ("ascii", "hAnsi", "eastAsia", "cs")} == {FONT}
    # page numbers from page 2: a PAGE field in the header, none on the first page's
    assert s.different_first_page_header_footer
    assert 'w:instr="PAGE"' in s.header._element.xml
    assert "PAGE" not in s.first_page_header._element.xml


def test_header_title_tables_and_closing_blocks(data):
    d = docx.Document(io.BytesIO(data))
    head = d.tables[0]
    assert [p.text for p in head.cell(0, 0).paragraphs if p.text] == ["UBND TỈNH THÁI NGUYÊN", "SỞ Y TẾ"]
    assert [p.text for p in head.cell(0, 1).paragraphs if p.text] == [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"]
    assert head.cell(1, 0).text == "Số: 2102/BC-SYT"
    assert head.cell(1, 1).text == "Thái Nguyên, ngày 01 tháng 6 năm 2022"
    title = next(p for p in d.paragraphs if p.text == "BÁO CÁO")
    assert title.runs[0].bold and title.alignment == 1  # centred
    body = d.tables[1]
    assert body.rows[0].cells[0].paragraphs[0].runs[0].bold
    assert "w:tblHeader" in body.rows[0]._tr.xml  # the header row repeats on every page
    assert body.cell(1, 2).text == "2.756.537" and body.cell(1, 2).paragraphs[0].alignment == 2  # right
    closing = d.tables[-1]
    assert closing.cell(0, 0).paragraphs[0].text == "Nơi nhận:"
    assert closing.cell(0, 0).paragraphs[-1].text.startswith("- Lưu: VT")
    assert [p.text for p in closing.cell(0, 1).paragraphs if p.text] == ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "Nguyễn Văn A"]
    assert len(d.inline_shapes) == 1 and round(d.inline_shapes[0].width.mm) == 150
    with zipfile.ZipFile(io.BytesIO(data)) as z:  # the very PNG the PDF embeds
        assert z.read("word/media/image1.png") == _chart().image
    assert any(p.text == "Hình 1. Mũi tiêm theo tuần" for p in d.paragraphs)


def test_an_svg_figure_is_refused_not_dropped(doc):
    svg = Figure(figures.figure_svg(figures.weekly_trend(pd.DataFrame({
        "week_start": pd.to_datetime(["2022-05-02"]), "entered": [1], "signed": [1]}))))
    bad = type(doc)(**{**doc.__dict__, "sections": [Section("I", [svg])]})
    with pytest.raises(ReportRenderError, match="PNG"):
        render_docx(bad, timestamp=TS)


def test_write_docx_is_atomic_and_readable_by_all(doc, tmp_path):
    out = write_docx(doc, tmp_path / "report.docx", timestamp=TS)
    assert out.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["report.docx"]


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_opens_it_and_prints_the_same_numbers(doc, data, tmp_path):
    src = tmp_path / "report.docx"
    src.write_bytes(data)
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/profile",
                    "--convert-to", "pdf", "--outdir", str(tmp_path), str(src)],
                   check=True, capture_output=True, timeout=180)
    printed = pdf_text((tmp_path / "report.pdf").read_bytes())
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in printed
    assert numbers(printed) == numbers(pdf_text(render_pdf(doc, timestamp=TS)))


def test_properties_are_in_schema_order_and_not_repeated(data):
    """Word refuses a file whose pPr/rPr/tblPr children are out of the ECMA-376 order."""
    from vaxreport.reporting.report.docx import _RANK

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        parts = [n for n in z.namelist() if n.startswith("word/") and n.endswith(".xml")]
        for name in parts:
            root = docx.oxml.parse_xml(z.read(name))
            for el in root.iter(*_RANK):
                ranks = [_RANK[el.tag].get(c.tag, 999) for c in el]
                assert ranks == sorted(ranks), (name, el.tag, [c.tag for c in el])
                tags = [c.tag for c in el]
                assert len(tags) == len(set(tags)), (name, tags)
    defaults = docx.Document(io.BytesIO(data)).styles.element.find(
        "w:docDefaults/w:rPrDefault/w:rPr/w:rFonts", {"w": docx.oxml.ns.nsmap["w"]})
    assert not [a for a in defaults.attrib if a.lower().endswith("theme")]  # a theme font would win


def test_text_xml_cannot_hold_is_a_render_error_not_a_crash(doc):
    from vaxreport.reporting.report.render import Paragraph

    bad = type(doc)(**{**doc.__dict__, "sections": [Section("I", [Paragraph("a\x07b")])]})
    with pytest.raises(ReportRenderError, match="report.docx"):
        render_docx(bad, timestamp=TS)
