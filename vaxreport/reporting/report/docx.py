"""Render the same ``ReportDoc`` as the PDF to an editable Word file (``report.docx``).

The DOCX is built from ``render._payload(doc)``, the very JSON the typst template reads: the same
strings, the same formatted table cells, the same numbered captions, the same recipients, the
same figure bytes. A figure therefore cannot differ between ``report.pdf`` and ``report.docx``.

Layout (NĐ 30/2020 Annex I, as the PDF): A4 portrait, margins top 20, bottom 20, left 30, right
15 mm; Times New Roman 14 pt (the font every office machine has); agency and national motto
header in a borderless two-column table; number and place/date line; centred title; numbered
sections; tables with a repeating bold header row; charts as images; Nơi nhận and signature;
page numbers centred in the top margin from page 2.

Same document + same ``timestamp`` ⇒ the same bytes: core properties are dated ``timestamp``,
zip entries carry its day (``ooxml.fixed_zip``), python-docx's template thumbnail is dropped.

Examples:
    >>> from datetime import date, datetime, timezone
    >>> from vaxreport.reporting.report.render import Paragraph, ReportDoc, Section, Signatory
    >>> doc = ReportDoc("UBND tỉnh Thái Nguyên", "Sở Y tế", "2102/BC-SYT", "Thái Nguyên",
    ...     date(2022, 6, 1), "Báo cáo", "Kết quả làm sạch dữ liệu",
    ...     [Section("I. KẾT QUẢ", [Paragraph("Đạt 94,24%.")])], ["Lưu: VT"],
    ...     Signatory("KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "Nguyễn Văn A"))
    >>> data = render_docx(doc, timestamp=datetime(2022, 6, 1, tzinfo=timezone.utc))
    >>> data[:2], data == render_docx(doc, timestamp=datetime(2022, 6, 1, tzinfo=timezone.utc))
    (b'PK', True)
"""

from __future__ import annotations

import io
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.text.paragraph import Paragraph as DocxParagraph

from vaxreport.exceptions import ReportRenderError
from vaxreport.io.write import write_bytes
from vaxreport.reporting.report.ooxml import fixed_zip
from vaxreport.reporting.report.render import ReportDoc, _as_utc, _image_kind, _payload

__all__ = ["FONT", "MARGINS_MM", "render_docx", "write_docx"]

#: The body font (NĐ 30/2020: Times New Roman, Unicode).
FONT = "Times New Roman"
#: Page margins in mm, as the PDF: top, bottom, left, right.
MARGINS_MM = {"top": 20, "bottom": 20, "left": 30, "right": 15}
_TEXT_MM = 210 - MARGINS_MM["left"] - MARGINS_MM["right"]  # 165 mm
_INDENT = Mm(12.7)  # first-line indent 1,27 cm
_ALIGN = {"left": WD_ALIGN_PARAGRAPH.LEFT, "right": WD_ALIGN_PARAGRAPH.RIGHT,
          "center": WD_ALIGN_PARAGRAPH.CENTER}
#: The template's thumbnail (python-docx's own picture) and its references, left out.
_THUMBNAIL = "docProps/thumbnail.jpeg"


# ---------------------------------------------------------------------------- low-level helpers
#: Schema order (ECMA-376) of the property elements this module adds to: Word refuses a file
#: whose properties are out of order, so every ``pPr``, ``rPr`` and ``tblPr`` is sorted at the end.
_ORDER = {
    "pPr": "pStyle keepNext keepLines pageBreakBefore framePr widowControl numPr suppressLineNumbers pBdr shd "
           "tabs suppressAutoHyphens kinsoku wordWrap overflowPunct topLinePunct autoSpaceDE autoSpaceDN bidi "
           "adjustRightInd snapToGrid spacing ind contextualSpacing mirrorIndents suppressOverlap jc "
           "textDirection textAlignment textboxTightWrap outlineLvl divId cnfStyle rPr sectPr pPrChange",
    "rPr": "ins del moveFrom moveTo rStyle rFonts b bCs i iCs caps smallCaps strike dstrike outline shadow "
           "emboss imprint noProof snapToGrid vanish webHidden color spacing w kern position sz szCs "
           "highlight u effect bdr shd fitText vertAlign rtl cs em lang eastAsianLayout specVanish oMath",
    "tblPr": "tblStyle tblpPr tblOverlap bidiVisual tblStyleRowBandSize tblStyleColBandSize tblW jc "
             "tblCellSpacing tblInd tblBorders shd tblLayout tblCellMar tblLook tblCaption tblDescription",
}
_RANK = {qn(f"w:{parent}"): {qn(f"w:{c}"): i for i, c in enumerate(children.split())}
         for parent, children in _ORDER.items()}


def _schema_order(root: Any) -> None:
    """Sort the children of every ``pPr``, ``rPr`` and ``tblPr`` under ``root`` into schema order
    (stable; unknown elements last)."""
    for el in root.iter(*_RANK):
        rank = _RANK[el.tag]
        children = list(el)
        ordered = sorted(children, key=lambda c: rank.get(c.tag, len(rank)))
        if ordered != children:
            el[:] = ordered


def _fonts(rpr: Any, size: float | None = None) -> None:
    """Times New Roman for every script slot and Vietnamese as the language of ``rPr``."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in list(fonts.attrib):
        if attr.lower().endswith("theme"):  # asciiTheme, cstheme, …: a theme font would win
            del fonts.attrib[attr]
    for slot in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(slot), FONT)
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), "vi-VN")
    if size is not None:
        for tag in ("w:sz", "w:szCs"):
            el = rpr.find(qn(tag))
            if el is None:
                el = OxmlElement(tag)
                rpr.append(el)
            el.set(qn("w:val"), str(round(size * 2)))


def _setup_styles(document: Any) -> None:
    """Normal: Times New Roman 14 pt, single spacing, no spacing after; defaults likewise."""
    styles_el = document.styles.element
    rpr_default = styles_el.find(qn("w:docDefaults") + "/" + qn("w:rPrDefault") + "/" + qn("w:rPr"))
    if rpr_default is not None:
        _fonts(rpr_default, 14)
    normal = document.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(14)
    _fonts(normal.element.get_or_add_rPr(), 14)
    pf = normal.paragraph_format
    pf.space_before = Pt(0)
    pf.space_after = Pt(0)
    pf.line_spacing_rule = WD_LINE_SPACING.SINGLE
    for name in ("Header", "Footer", "Table Grid"):
        style = document.styles[name]
        _fonts(style.element.get_or_add_rPr())


def _para(container: Any, text: str = "", *, size: float = 14, bold: bool = False, italic: bool = False,
          align: str = "left", indent: bool = False, before: float = 0, after: float = 0,
          keep_next: bool = False, justify: bool = False, spacing: float | Pt | None = None) -> DocxParagraph:
    """A paragraph holding one run of ``text`` (empty text: no run)."""
    p = container.add_paragraph()
    pf = p.paragraph_format
    pf.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY if justify else _ALIGN[align]
    pf.first_line_indent = _INDENT if indent else Mm(0)
    pf.space_before = Pt(before)
    pf.space_after = Pt(after)
    if keep_next:
        pf.keep_with_next = True
    if spacing is not None:
        pf.line_spacing = spacing
    if text:
        run = p.add_run(text)
        run.font.size = Pt(size)
        run.font.bold = bold
        run.font.italic = italic
    return p


def _rule(container: Any, length_mm: float, width_mm: float, *, after: float = 0) -> DocxParagraph:
    """A centred horizontal rule ``length_mm`` long: an empty 2 pt paragraph with a bottom border,
    indented so that the border spans only the rule (editable in Word, no drawing objects)."""
    p = _para(container, after=after)
    side = Mm(max((width_mm - length_mm) / 2, 0))
    p.paragraph_format.left_indent = side
    p.paragraph_format.right_indent = side
    ppr = p._p.get_or_add_pPr()
    mark = OxmlElement("w:rPr")  # a 2 pt paragraph mark: the paragraph is as high as the rule
    size = OxmlElement("w:sz")
    size.set(qn("w:val"), "4")
    mark.append(size)
    ppr.append(mark)
    border = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for k, v in (("w:val", "single"), ("w:sz", "6"), ("w:space", "0"), ("w:color", "000000")):
        bottom.set(qn(k), v)
    border.append(bottom)
    ppr.append(border)  # put in schema order by _schema_order
    return p


def _text_mm(text: str, size: float, *, caps: bool = False) -> float:
    """Rough printed width of ``text`` in Times at ``size`` pt (capitals ≈ 0,68 em, else 0,5 em)."""
    return len(text) * size * (0.68 if caps else 0.5) * 25.4 / 72


def _borderless(table: Any) -> None:
    tblpr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:val"), "nil")
        borders.append(el)
    tblpr.append(borders)


def _fixed_widths(table: Any, widths_mm: list[float]) -> None:
    """Fixed layout with these column widths (Word and LibreOffice read the cell widths)."""
    table.autofit = False  # <w:tblLayout w:type="fixed"/>
    for col, w in zip(table.columns, widths_mm):
        col.width = Mm(w)
    for row in table.rows:
        for cell, w in zip(row.cells, widths_mm):
            cell.width = Mm(w)


def _cell(table: Any, r: int, c: int) -> Any:
    cell = table.cell(r, c)
    cell.paragraphs[0]._p.getparent().remove(cell.paragraphs[0]._p)  # start empty: _para adds
    return cell


def _row_flags(row: Any, *, header: bool) -> None:
    trpr = row._tr.get_or_add_trPr()
    cant = OxmlElement("w:cantSplit")
    trpr.append(cant)
    if header:
        repeat = OxmlElement("w:tblHeader")
        trpr.append(repeat)


# ---------------------------------------------------------------------------- document parts
def _header(document: Any, d: dict[str, Any]) -> None:
    """Agency (left) and national motto (right); number and place/date line below them."""
    left_mm, right_mm = _TEXT_MM * 0.38, _TEXT_MM * 0.62
    t = document.add_table(rows=2, cols=2)
    _borderless(t)
    _fixed_widths(t, [left_mm, right_mm])
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    agency = d["agency"].upper()
    c = _cell(t, 0, 0)
    _para(c, d["agency_parent"].upper(), size=13, align="center")
    _para(c, agency, size=13, bold=True, align="center")
    _rule(c, min(max(_text_mm(agency, 13, caps=True) * 0.4, 15), 35), left_mm)
    c = _cell(t, 0, 1)
    _para(c, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", size=12.5, bold=True, align="center")
    motto = "Độc lập - Tự do - Hạnh phúc"
    _para(c, motto, size=13.5, bold=True, align="center")
    _rule(c, _text_mm(motto, 13.5) * 0.97, right_mm)
    _para(_cell(t, 1, 0), "Số: " + d["doc_number"], size=13, align="center", before=8)
    _para(_cell(t, 1, 1), d["place_date"], size=14, italic=True, align="center", before=8)
    _para(document, before=6)
    _para(document, d["title"].upper(), bold=True, align="center", after=3)
    _para(document, d["summary_line"], bold=True, align="center", after=4, spacing=1.1)
    _rule(document, 32, _TEXT_MM, after=14)


def _auto_widths(b: dict[str, Any]) -> list[float]:
    """Column widths in mm: ``"auto"`` columns as wide as their widest cell (estimated), the
    weighted ones share the rest of the 165 mm text width."""
    ncol = len(b["columns"])
    autos = {j: max(_text_mm(s, 12) for s in [b["columns"][j], *(r[j] for r in b["rows"])]) + 4.5
             for j, w in enumerate(b["widths"]) if w == "auto"}
    total_auto = sum(autos.values())
    weights = {j: float(w) for j, w in enumerate(b["widths"]) if w != "auto"}
    room = _TEXT_MM - total_auto
    if weights and room < 20 * len(weights):  # autos too wide: shrink them, keep ≥ 20 mm a column
        scale = max(_TEXT_MM - 20 * len(weights), 1) / max(total_auto, 1)
        autos = {j: w * scale for j, w in autos.items()}
        room = _TEXT_MM - sum(autos.values())
    elif not weights and total_auto > 0:
        autos = {j: w * _TEXT_MM / total_auto for j, w in autos.items()}
    wsum = sum(weights.values()) or 1.0
    return [autos[j] if j in autos else room * weights[j] / wsum for j in range(ncol)]


def _table(document: Any, b: dict[str, Any]) -> None:
    if b["caption"]:
        _para(document, b["caption"], size=13, bold=True, align="center", before=10, after=6, keep_next=True)
    t = document.add_table(rows=1 + len(b["rows"]), cols=len(b["columns"]))
    t.style = document.styles["Table Grid"]
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    _fixed_widths(t, _auto_widths(b))
    for r, cells in enumerate([b["columns"], *b["rows"]]):
        _row_flags(t.rows[r], header=r == 0)
        for j, text in enumerate(cells):
            cell = _cell(t, r, j)
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
            _para(cell, text, size=12, bold=r == 0, align="center" if r == 0 else b["align"][j],
                  before=2, after=2)
    _para(document, spacing=Pt(6))  # a spacer (two tables in a row would merge in Word)


def _figure(document: Any, b: dict[str, Any]) -> None:
    image = bytes(b["image"])
    if _image_kind(image) != "png":
        raise ReportRenderError("report.docx embeds PNG figures only (figures.figure_png); got SVG")
    p = _para(document, align="center", before=10, after=2, keep_next=bool(b["caption"]))
    p.add_run().add_picture(io.BytesIO(image), width=Mm(b["width_mm"]))
    if b["caption"]:
        _para(document, b["caption"], size=13, italic=True, align="center", after=10)


def _body(document: Any, d: dict[str, Any]) -> None:
    for sec in d["sections"]:
        if sec["heading"] is not None:
            p = _para(document, sec["heading"], bold=True, indent=True, justify=True, before=12, after=6,
                      keep_next=True)
            lvl = OxmlElement("w:outlineLvl")  # the sections show in Word's navigation pane
            lvl.set(qn("w:val"), "0")
            p._p.get_or_add_pPr().append(lvl)
        for b in sec["blocks"]:
            if b["kind"] == "paragraph":
                _para(document, b["text"], bold=b["bold"], italic=b["italic"], indent=True, justify=True,
                      after=6, spacing=1.15)
            elif b["kind"] == "table":
                _table(document, b)
            elif b["kind"] == "figure":
                _figure(document, b)


def _closing(document: Any, d: dict[str, Any]) -> None:
    """Nơi nhận (left) and the signature block (right), in a borderless table kept together."""
    _para(document, before=4, keep_next=True)
    t = document.add_table(rows=1, cols=2)
    _borderless(t)
    _fixed_widths(t, [_TEXT_MM / 2, _TEXT_MM / 2])
    _row_flags(t.rows[0], header=False)
    c = _cell(t, 0, 0)
    _para(c, "Nơi nhận:", size=12, bold=True, italic=True, after=2)
    for r in d["recipients"]:
        _para(c, r, size=11)
    c = _cell(t, 0, 1)
    s = d["signatory"]
    lines = [x.upper() for x in (s["authority"], s["title"]) if x]
    for line in lines or [""]:
        _para(c, line, bold=True, align="center")
    # the signing space (30 mm, as the PDF), kept when no name is given
    _para(c, s["name"], bold=True, align="center", before=30 / 25.4 * 72)


def _page_numbers(section: Any, footer_note: str | None) -> None:
    """Page number centred in the top margin from page 2 (a different first-page header)."""
    section.different_first_page_header_footer = True
    header = section.header
    p = header.paragraphs[0]
    p.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    fld = OxmlElement("w:fldSimple")
    fld.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    rpr = OxmlElement("w:rPr")
    _fonts(rpr, 13)
    run.append(rpr)
    text = OxmlElement("w:t")
    text.text = "2"
    run.append(text)
    fld.append(run)
    p._p.append(fld)
    section.first_page_header.paragraphs[0].text = ""
    for footer in (section.footer, section.first_page_footer):
        fp = footer.paragraphs[0]
        fp.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
        if footer_note:
            fp.add_run(footer_note).font.size = Pt(8)


def render_docx(doc: ReportDoc, *, timestamp: datetime) -> bytes:
    """Render ``doc`` to DOCX bytes (see the module docstring for layout and determinism).

    Args:
        doc: the report (the same object ``render_pdf`` prints).
        timestamp: timezone-aware date of the document's core properties and zip entries (use
            ``vaxreport.runner.stages.report_timestamp``, as for the PDF).

    Raises:
        ReportRenderError: the document is malformed (as for the PDF) or a figure is not PNG.
    """
    when = _as_utc(timestamp)
    d = _payload(doc)
    document = Document()
    _setup_styles(document)
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(MARGINS_MM["top"]), Mm(MARGINS_MM["bottom"])
    section.left_margin, section.right_margin = Mm(MARGINS_MM["left"]), Mm(MARGINS_MM["right"])
    section.header_distance, section.footer_distance = Mm(8), Mm(8)
    _page_numbers(section, d["footer_note"])
    body = document.element.body
    for p in list(body.iterchildren(qn("w:p"))):  # the template's empty first paragraph
        body.remove(p)
    try:
        _header(document, d)
        _body(document, d)
        _closing(document, d)
    except ValueError as exc:  # lxml: a control character XML cannot hold (the PDF refuses it too)
        raise ReportRenderError(f"report.docx: {exc}") from exc

    props = document.core_properties
    naive = when.replace(tzinfo=None)
    props.created = props.modified = props.last_printed = naive
    props.author = d["agency"]
    props.last_modified_by = "vaxreport"
    props.title = f"{d['title']} {d['summary_line']}"
    props.comments = ""
    props.revision = 1
    for part in [document.element, document.styles.element, section.header._element,
                 section.first_page_header._element, section.footer._element, section.first_page_footer._element]:
        _schema_order(part)
    package = document.part.package
    for rid, rel in list(package.rels.items()):
        if rel.reltype.endswith("/thumbnail"):
            package.rels.pop(rid)
    raw = io.BytesIO()
    document.save(raw)
    return fixed_zip(raw.getvalue(), naive, drop=frozenset({_THUMBNAIL}))


def write_docx(doc: ReportDoc, path: str | os.PathLike[str], *, timestamp: datetime) -> Path:
    """Render ``doc`` and write it to ``path`` atomically (mode 0o644, like ``report.pdf``).

    Examples:
        >>> import pathlib, tempfile
        >>> from datetime import date, datetime, timezone
        >>> from vaxreport.reporting.report.render import ReportDoc, Signatory
        >>> doc = ReportDoc("UBND tỉnh X", "Sở Y tế", "1/BC-SYT", "X", date(2022, 6, 1),
        ...     "Báo cáo", "Tóm tắt", [], ["Lưu: VT"], Signatory("", "GIÁM ĐỐC", "A"))
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     write_docx(doc, pathlib.Path(tmp) / "r.docx",
        ...                timestamp=datetime(2022, 6, 1, tzinfo=timezone.utc)).name
        'r.docx'
    """
    dest = Path(path)
    data = render_docx(doc, timestamp=timestamp)
    return write_bytes(data, dest)
