"""Render an official NĐ 30/2020 report (Báo cáo) to PDF with typst.

The document is described by plain dataclasses (``ReportDoc`` and its blocks). ``render_pdf``
turns it into JSON, hands that to the template ``templates/report.typ`` through typst's
``sys.inputs`` and compiles with the vendored TeX Gyre Termes fonts only (no system fonts). No
text is ever spliced into typst source, so data such as ``"#x"`` or ``"- a"`` prints literally.

Guarantees:
- Same document + same ``timestamp`` ⇒ byte-identical PDF.
- Any typst error or warning, and any character the fonts cannot draw, raises
  ``ReportRenderError`` (typst itself would silently print nothing for a missing glyph).
"""

from __future__ import annotations

import json
import math
import os
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from numbers import Integral, Real
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import typst

from vaxreport.exceptions import ReportRenderError
from vaxreport.io.write import write_bytes
from vaxreport.params import Signatory  # the one signature block: params reads it, the report prints it
from vaxreport.reporting.report.format import NOT_APPLICABLE, fmt_decimal, fmt_int, fmt_place_date

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FONTS_DIR",
    "TEMPLATE",
    "Figure",
    "Paragraph",
    "ReportDoc",
    "Section",
    "Signatory",
    "Table",
    "render_pdf",
    "write_pdf",
]

_HERE = Path(__file__).resolve().parent
#: Folder of the vendored TeX Gyre Termes OTFs (GUST Font Licence).
FONTS_DIR = _HERE / "fonts"
#: The typst template of the NĐ 30 layout.
TEMPLATE = _HERE / "templates" / "report.typ"

Align = Literal["left", "right", "center"]
Cell = str | int | float | Decimal | None


@dataclass(frozen=True)
class Paragraph:
    """A body paragraph: justified, first line indented 1,27 cm; plain text, never markup."""

    text: str
    bold: bool = False
    italic: bool = False


@dataclass(frozen=True)
class Table:
    """A table with a bold header row that repeats on every page it spans.

    Cells may be ``str`` (printed as is), ``int`` (``2.756.537``), ``Decimal``/``float``
    (2 decimals, comma: ``94,24``) or ``None``/NaN/``pd.NA`` (``—``). ``align`` defaults to
    right for columns of numbers (missing allowed), centre for all-missing columns, else left.
    ``widths`` are relative weights (e.g. ``[3, 1, 1]``), default equal, or ``"auto"``: as wide as
    the column's widest cell, so a cell such as ``"1.079.597 (91,95%)"`` is not wrapped (the
    weighted columns share the rest); the table spans the text width. ``caption`` is printed
    above, bold, centred and numbered for you (``"Bảng 1. <caption>"``).
    """

    columns: list[str]
    rows: Sequence[Sequence[Cell]]
    align: list[Align] | None = None
    caption: str | None = None
    widths: list[float | Literal["auto"]] | None = None

    @classmethod
    def from_frame(cls, df: pd.DataFrame, *, caption: str | None = None, align: list[Align] | None = None,
                   widths: list[float | Literal["auto"]] | None = None) -> Table:
        """A table with the frame's column names as header and its rows (index dropped).

        Examples:
            >>> import pandas as pd
            >>> t = Table.from_frame(pd.DataFrame({"Huyện": ["Đại Từ"], "Mũi": [2756537]}))
            >>> t.columns, t.rows
            (['Huyện', 'Mũi'], [['Đại Từ', 2756537]])
        """
        rows = [[v.item() if hasattr(v, "item") else v for v in row]
                for row in df.itertuples(index=False, name=None)]
        return cls([str(c) for c in df.columns], rows, align=align, caption=caption, widths=widths)


@dataclass(frozen=True)
class Figure:
    """A chart: PNG or SVG bytes (see ``vaxreport.reporting.figures.figure_png``), centred.

    ``width_mm`` is 10–165 (the text width); ``caption`` is printed below in italics and
    numbered for you (``"Hình 1. <caption>"``). The figure is never split across pages.
    """

    image: bytes
    caption: str | None = None
    width_mm: float = 150.0


Block = Paragraph | Table | Figure


@dataclass(frozen=True)
class Section:
    """A numbered part of the body; ``heading`` is printed as given (``"I. KẾT QUẢ ..."``)."""

    heading: str | None
    blocks: Sequence[Block] = field(default_factory=list)


@dataclass(frozen=True)
class ReportDoc:
    """A whole report in the NĐ 30/2020 Annex I layout.

    Attributes:
        agency_parent: governing body, e.g. ``"UBND tỉnh Thái Nguyên"`` (printed in capitals).
        agency: issuing agency, e.g. ``"Sở Y tế"`` (printed in bold capitals).
        doc_number: e.g. ``"2102/BC-SYT"`` (printed after ``"Số: "``).
        place: e.g. ``"Thái Nguyên"``.
        date: the document date.
        title: ``"Báo cáo"`` (printed in capitals).
        summary_line: the trích yếu under the title.
        sections: the body.
        recipients: Nơi nhận items; ``"- "`` is added in front and ``";"`` at the end when
            missing, the last item ends with ``"."`` (``"Lưu: VT, NVY."``).
        signatory: the signature block (:class:`vaxreport.params.Signatory`; empty lines are not
            printed, an empty name keeps the signing space for a handwritten name).
        footer_note: small provenance line at the foot of every page, or ``None``.
    """

    agency_parent: str
    agency: str
    doc_number: str
    place: str
    date: date
    title: str
    summary_line: str
    sections: list[Section]
    recipients: list[str]
    signatory: Signatory
    footer_note: str | None = None

    def with_block(self, section: int, block: Block | None) -> ReportDoc:
        """A copy with ``block`` at the end of ``sections[section]``; the same document when
        ``block`` is None or there is no such section. Does not mutate ``self``."""
        if block is None or not 0 <= section < len(self.sections):
            return self
        sections = list(self.sections)
        sections[section] = replace(sections[section], blocks=[*sections[section].blocks, block])
        return replace(self, sections=sections)


def _is_missing(v: object) -> bool:
    """None, NaN (float or Decimal), ``pd.NA`` or ``pd.NaT`` (pandas is not imported here)."""
    if v is None or type(v).__name__ in ("NAType", "NaTType"):
        return True
    if isinstance(v, Decimal):
        return v.is_nan()
    return isinstance(v, float) and math.isnan(v)


def _is_number(v: object) -> bool:
    return isinstance(v, (Integral, Real, Decimal)) and not isinstance(v, bool)


def _cell_text(v: Cell) -> str:
    """Format one table cell for reading (see ``Table``)."""
    if _is_missing(v):
        return NOT_APPLICABLE
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        raise TypeError(f"table cell must not be a bool: {v!r}")
    if isinstance(v, Integral):
        return fmt_int(int(v))
    if isinstance(v, (Decimal, Real)):
        return fmt_decimal(v)
    raise TypeError(f"unsupported table cell {v!r} of type {type(v).__name__}")


def _auto_align(cells: list[Cell]) -> str:
    """Right for numbers, centre for a column of only missing values, else left.

    Examples:
        >>> _auto_align([1, None]), _auto_align([None, None]), _auto_align(["a", 1]), _auto_align([])
        ('right', 'center', 'left', 'left')
    """
    present = [c for c in cells if not _is_missing(c)]
    if not cells:
        return "left"
    if not present:
        return "center"
    return "right" if all(_is_number(c) for c in present) else "left"


def _table_payload(t: Table) -> dict[str, Any]:
    ncol = len(t.columns)
    if ncol == 0:
        raise ReportRenderError("a table needs at least one column")
    for i, row in enumerate(t.rows):
        if len(row) != ncol:
            raise ReportRenderError(
                f"table {t.caption!r}: row {i + 1} has {len(row)} cells, expected {ncol}")
    if t.align is None:
        align: list[str] = [_auto_align([r[j] for r in t.rows]) for j in range(ncol)]
    else:
        align = list(t.align)
        bad = [a for a in align if a not in ("left", "right", "center")]
        if len(align) != ncol or bad:
            raise ReportRenderError(
                f"table {t.caption!r}: align must list {ncol} of left/right/center, got {align}")
    widths = [1.0] * ncol if t.widths is None else [w if w == "auto" else _weight(w) for w in t.widths]
    if len(widths) != ncol or any(w != "auto" and not w > 0 for w in widths):
        raise ReportRenderError(
            f"table {t.caption!r}: widths must be {ncol} positive numbers, got {t.widths}")
    return {"kind": "table", "columns": list(t.columns), "caption": t.caption,
            "rows": [[_cell_text(c) for c in row] for row in t.rows],
            "align": align, "widths": widths}


def _weight(w: object) -> float:
    """A relative column width as a float (NaN, so rejected, when it is not a number)."""
    return float(w) if _is_number(w) else math.nan  # type: ignore[arg-type]


def _image_kind(data: bytes) -> str:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    head = data[:512].lstrip()
    if head.startswith(b"<?xml") or head.startswith(b"<svg"):
        return "svg"
    raise ReportRenderError("a figure must be PNG or SVG bytes")


def _block_payload(b: Block) -> dict[str, Any]:
    if isinstance(b, Paragraph):
        return {"kind": "paragraph", "text": b.text, "bold": b.bold, "italic": b.italic}
    if isinstance(b, Table):
        return _table_payload(b)
    if isinstance(b, Figure):
        _image_kind(b.image)
        if not 10 <= b.width_mm <= 165:
            raise ReportRenderError(f"figure width_mm must be 10–165 (text width), got {b.width_mm}")
        return {"kind": "figure", "image": list(b.image), "caption": b.caption,
                "width_mm": float(b.width_mm)}
    raise TypeError(f"unsupported block {b!r}")


def _recipient_lines(items: Sequence[str]) -> list[str]:
    """Normalise Nơi nhận items to ``"- X;"`` with the last ending in ``"."``.

    Examples:
        >>> _recipient_lines(["Bộ Y tế", "- UBND tỉnh;", "Lưu: VT, NVY"])
        ['- Bộ Y tế;', '- UBND tỉnh;', '- Lưu: VT, NVY.']
    """
    out = []
    for i, raw in enumerate(items):
        s = raw.strip()
        s = s if s.startswith("- ") else f"- {s.removeprefix('-').lstrip()}"
        s = s.rstrip(";.").rstrip()
        out.append(s + ("." if i == len(items) - 1 else ";"))
    return out


def _clean_text(obj: Any) -> Any:
    """NFC-normalise every string and drop invisible format characters (BOM, ZWSP, soft hyphen).

    Examples:
        >>> _clean_text({"a": ["Ho\u0300a\ufeff"], "n": 1})
        {'a': ['Hòa'], 'n': 1}
    """
    if isinstance(obj, str):
        s = unicodedata.normalize("NFC", obj)
        return "".join(ch for ch in s if unicodedata.category(ch) != "Cf")
    if isinstance(obj, dict):
        return {k: v if k == "image" else _clean_text(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clean_text(v) for v in obj]
    return obj


def _payload(doc: ReportDoc) -> dict[str, Any]:
    """The JSON document the template reads (figure bytes as integer lists)."""
    fig_no = 0
    tab_no = 0
    sections = []
    for sec in doc.sections:
        blocks = []
        for b in sec.blocks:
            p = _block_payload(b)
            if p["kind"] == "figure" and p["caption"]:
                fig_no += 1
                p["caption"] = f"Hình {fig_no}. {p['caption']}"
            elif p["kind"] == "table" and p["caption"]:
                tab_no += 1
                p["caption"] = f"Bảng {tab_no}. {p['caption']}"
            blocks.append(p)
        sections.append({"heading": sec.heading, "blocks": blocks})
    return _clean_text({
        "agency_parent": doc.agency_parent, "agency": doc.agency,
        "doc_number": doc.doc_number, "place_date": fmt_place_date(doc.place, doc.date),
        "title": doc.title, "summary_line": doc.summary_line, "sections": sections,
        "recipients": _recipient_lines(doc.recipients),
        "signatory": {"authority": doc.signatory.authority, "title": doc.signatory.title,
                      "name": doc.signatory.name},
        "footer_note": doc.footer_note,
    })


def _strings(obj: Any) -> list[str]:
    """Every string in the payload, skipping figure bytes."""
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for k, v in obj.items() if k != "image" for s in _strings(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in _strings(v)]
    return []


@cache
def _covered_chars() -> frozenset[str]:
    """Characters drawn by *all four* vendored font files (regular, bold, italic, bold italic)."""
    from matplotlib.ft2font import FT2Font  # FreeType reads the cmap in ~1 ms a font (fontTools: ~40 ms)

    sets = [{chr(cp) for cp in FT2Font(str(path)).get_charmap()} for path in sorted(FONTS_DIR.glob("*.otf"))]
    if len(sets) != 4:
        raise ReportRenderError(f"expected 4 TeX Gyre Termes OTFs in {FONTS_DIR}, found {len(sets)}")
    return frozenset.intersection(*map(frozenset, sets))


def _check_glyphs(payload: dict[str, Any]) -> None:
    covered = _covered_chars()
    missing = sorted({ch for s in _strings(payload) for ch in s + s.upper()
                      if ch not in covered and not ch.isspace()})
    if missing:
        names = ", ".join(f"{ch!r} U+{ord(ch):04X} {unicodedata.name(ch, '?')}" for ch in missing)
        raise ReportRenderError(f"the report font cannot draw: {names}")


@cache
def _fonts() -> typst.Fonts:
    return typst.Fonts(include_system_fonts=False, include_embedded_fonts=False,
                       font_paths=[str(FONTS_DIR)])


def _as_utc(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        raise ValueError(f"timestamp must be timezone-aware, got {ts!r}")
    return ts.astimezone(UTC)


def render_pdf(doc: ReportDoc, *, timestamp: datetime) -> bytes:
    """Render ``doc`` to PDF bytes.

    Args:
        doc: the report.
        timestamp: timezone-aware creation date written into the PDF (use the report date so a
            re-run gives the same bytes).

    Returns:
        The PDF; the same ``doc`` and ``timestamp`` always give the same bytes.

    Raises:
        ReportRenderError: typst failed or warned, or a character has no glyph in the fonts.

    Examples:
        >>> from datetime import date, datetime, timezone
        >>> doc = ReportDoc("UBND tỉnh Thái Nguyên", "Sở Y tế", "2102/BC-SYT", "Thái Nguyên",
        ...     date(2022, 6, 1), "Báo cáo", "Kết quả làm sạch dữ liệu",
        ...     [Section("I. KẾT QUẢ", [Paragraph("Đạt 94,24%.")])], ["Lưu: VT"],
        ...     Signatory("KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "Nguyễn Văn A"))
        >>> pdf = render_pdf(doc, timestamp=datetime(2022, 6, 1, tzinfo=timezone.utc))
        >>> pdf[:5]
        b'%PDF-'
    """
    payload = _payload(doc)
    _check_glyphs(payload)
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    try:
        pdf, warnings = typst.compile_with_warnings(
            TEMPLATE.read_bytes(), font_paths=_fonts(), ignore_system_fonts=True,
            sys_inputs={"data": data}, timestamp=_as_utc(timestamp), format="pdf")
    except typst.TypstError as exc:
        raise ReportRenderError(f"typst failed: {exc.message}\n{exc.diagnostic}") from exc
    except RuntimeError as exc:  # other binding errors
        raise ReportRenderError(f"typst failed: {exc}") from exc
    if warnings:
        msgs = "; ".join(getattr(w, "message", str(w)) for w in warnings)
        raise ReportRenderError(f"typst warned (treated as an error): {msgs}")
    if not isinstance(pdf, bytes):
        raise ReportRenderError(f"typst returned {type(pdf).__name__}, expected PDF bytes")
    return pdf


def write_pdf(doc: ReportDoc, path: str | os.PathLike[str], *, timestamp: datetime) -> Path:
    """Render ``doc`` and write it to ``path`` atomically (temp file, then ``os.replace``).

    Args:
        doc: the report.
        path: destination ``.pdf``; its folder must exist.
        timestamp: see ``render_pdf``.

    Returns:
        The destination path.

    Raises:
        ReportRenderError: rendering failed (nothing is written then).

    Examples:
        >>> import tempfile, pathlib
        >>> from datetime import date, datetime, timezone
        >>> doc = ReportDoc("UBND tỉnh X", "Sở Y tế", "1/BC-SYT", "X", date(2022, 6, 1),
        ...     "Báo cáo", "Tóm tắt", [], ["Lưu: VT"], Signatory("", "GIÁM ĐỐC", "A"))
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     out = write_pdf(doc, pathlib.Path(tmp) / "r.pdf",
        ...                     timestamp=datetime(2022, 6, 1, tzinfo=timezone.utc))
        ...     out.read_bytes()[:5]
        b'%PDF-'
    """
    pdf = render_pdf(doc, timestamp=timestamp)
    return write_bytes(pdf, path)
