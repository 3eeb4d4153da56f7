"""The appendix (Phụ lục) of a report as a workbook of typed numbers: ``indicators.xlsx``.

Every table of the ``ReportDoc`` gets a sheet ("Bảng 1", "Bảng 2", …) read from the very cells the
PDF prints (``render._payload``), turned back into numbers: ``"2.756.537"`` → 2756537 (``#,##0``),
``"94,24%"`` → 0.9424 (``0.00%``), ``"2.628/2.628"`` and ``"1.079.597 (91,95%)"`` → two typed
columns, ``"—"`` → an empty cell. So the workbook cannot disagree with the report: its
percentages are the report's half-up values, never strings. Indicator frames (per commune, per
site) get a sheet each; a "Thông tin" sheet states the unit, the period, the sources and the
params hash. Header rows are frozen, columns sized; same input ⇒ same bytes (``ooxml``).

Examples:
    >>> parse_cell("2.756.537"), parse_cell("94,24%"), parse_cell("2.628/2.628")
    ((2756537,), (Decimal('0.9424'),), (2628, 2628))
    >>> parse_cell("1.079.597 (91,95%)"), parse_cell("—"), parse_cell("Đại Từ")
    ((1079597, Decimal('0.9195')), (None,), ('Đại Từ',))
    >>> sheet_title("Bảng 1: tỷ lệ [%] / xã?")
    'Bảng 1 tỷ lệ % xã'
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from vaxreport.io.write import write_bytes
from vaxreport.reporting.report.format import NOT_APPLICABLE
from vaxreport.reporting.report.ooxml import workbook_bytes
from vaxreport.reporting.report.render import ReportDoc, _payload

__all__ = ["FMT_INT", "FMT_PCT", "INFO_SHEET", "parse_cell", "render_xlsx", "sheet_title", "write_xlsx"]

FMT_INT = "#,##0"
FMT_PCT = "0.00%"
FMT_DEC = "#,##0.00"
INFO_SHEET = "Thông tin"
#: Vietnamese headers of the indicator frames' columns (``metrics.by_commune``, ``by_site``);
#: listed columns come first, in this order; a column not listed keeps its name and comes after.
#: Columns ending in ``_pct`` are percentages (0–100, already rounded half-up).
HEADERS = {
    "commune_code": "Mã xã", "commune_name": "Xã, phường, thị trấn",
    "site_code": "Mã cơ sở", "site_name": "Cơ sở tiêm chủng",
    "district_code": "Mã huyện", "district_name": "Huyện/thành phố",
    "persons": "Số người tiêm", "administered": "Mũi đã tiêm", "on_platform": "Mũi đã nhập",
    "entry_pct": "Tỷ lệ nhập", "doses": "Mũi tiêm", "signed": "Mũi đã ký", "signing_pct": "Tỷ lệ ký",
    "police_verified": "Công an xác minh", "population": "Dân số",
    "primary_complete": "Người đủ liều cơ bản", "primary_coverage_pct": "Tỷ lệ đủ liều cơ bản/dân số",
}

_INT = r"-?(?:0|[1-9]\d{0,2}(?:\.\d{3})*)"  # no leading zero: "02/5" is a date, not a ratio
_PCT = r"-?\d{1,3}(?:\.\d{3})*,\d+%"
_DEC = r"-?\d{1,3}(?:\.\d{3})*,\d+"
_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=13)
_HEAD_FILL = PatternFill("solid", fgColor="D9E1F2")
_HEAD_ALIGN = Alignment(wrap_text=True, vertical="center", horizontal="center")

Value = int | Decimal | str | None


def _int(text: str) -> int:
    return int(text.replace(".", ""))


def _pct(text: str) -> Decimal:
    """``"94,24%"`` → ``Decimal("0.9424")`` (exact: the printed value, as a fraction)."""
    return Decimal(text.rstrip("%").replace(".", "").replace(",", ".")) / 100


def parse_cell(text: str, *, ratios: bool = True) -> tuple[Value, ...]:
    """The typed value(s) of a printed table cell (see the module docstring); text stays text.

    ``ratios=False``: ``"a/b"`` stays text (a column whose header has no "/" holds no ratios).
    """
    s = text.strip()
    if s in (NOT_APPLICABLE, ""):
        return (None,)
    if re.fullmatch(_INT, s):
        return (_int(s),)
    if re.fullmatch(_PCT, s):
        return (_pct(s),)
    if re.fullmatch(_DEC, s):
        return (Decimal(s.replace(".", "").replace(",", ".")),)
    if ratios and (m := re.fullmatch(f"({_INT})/({_INT})", s)):
        return (_int(m[1]), _int(m[2]))
    if m := re.fullmatch(rf"({_INT}) \(({_PCT}|{NOT_APPLICABLE})\)", s):
        return (_int(m[1]), None if m[2] == NOT_APPLICABLE else _pct(m[2]))
    return (text,)


def sheet_title(name: str, taken: Sequence[str] = ()) -> str:
    """A valid, unique sheet name: no ``[]:*?/\\``, at most 31 characters."""
    base = re.sub(r"\s+", " ", _FORBIDDEN.sub("", name)).strip().strip("'")[:31].rstrip() or "Bảng"
    title, n = base, 2
    lowered = {t.lower() for t in taken}
    while title.lower() in lowered:
        suffix = f" ({n})"
        title, n = base[:31 - len(suffix)] + suffix, n + 1
    return title


def _split_headers(header: str, parts: tuple[Value, ...]) -> list[str]:
    if len(parts) == 1:
        return [header]
    if isinstance(parts[1], Decimal):  # "n (p%)"
        return [header, f"{header} (%)"]
    return [f"{header}: tử số", f"{header}: mẫu số"]


def _typed_table(columns: list[str], rows: list[list[str]]) -> tuple[list[str], list[list[Value]]]:
    """Printed cells → typed cells; a column of ``a/b`` or ``n (p%)`` cells becomes two columns."""
    ratios = ["/" in h for h in columns]
    parsed = [[parse_cell(c, ratios=ratios[j]) for j, c in enumerate(row)] for row in rows]
    headers: list[str] = []
    width = []
    for j, h in enumerate(columns):
        shapes = [r[j] for r in parsed]
        k = max((len(s) for s in shapes), default=1)
        width.append(k)
        widest = next((s for s in shapes if len(s) == k), (None,))
        headers += _split_headers(h, widest)
    out = [[v for j, cell in enumerate(r) for v in (*cell, *[None] * (width[j] - len(cell)))] for r in parsed]
    return headers, out


def _number_format(values: list[Value]) -> str | None:
    present = [v for v in values if v is not None]
    if not present or any(isinstance(v, str) for v in present):
        return None
    if all(isinstance(v, int) for v in present):
        return FMT_INT
    return FMT_PCT if all(isinstance(v, Decimal) and abs(v) <= 10 for v in present) else FMT_DEC


def _put_sheet(wb: Workbook, title: str, caption: str, headers: list[str], rows: list[list[Value]],
               formats: list[str | None] | None = None) -> None:
    """Caption in A1, headers in row 3 (frozen below), typed rows, number formats, widths."""
    ws = wb.create_sheet(title)
    ws.cell(1, 1, caption).font = _TITLE
    for j, h in enumerate(headers, start=1):
        c = ws.cell(3, j, h)
        c.font, c.fill, c.alignment = _BOLD, _HEAD_FILL, _HEAD_ALIGN
    ws.freeze_panes = "A4"
    cols = list(zip(*rows)) if rows else [()] * len(headers)
    fmts = formats or [_number_format(list(col)) for col in cols]
    for i, row in enumerate(rows, start=4):
        for j, v in enumerate(row, start=1):
            value = float(v) if isinstance(v, Decimal) else v  # Excel numbers are doubles
            c = ws.cell(i, j, value)
            if fmts[j - 1] and v is not None and not isinstance(v, str):
                c.number_format = fmts[j - 1]
    for j, h in enumerate(headers, start=1):
        texts = [len(str(v)) for v in cols[j - 1] if isinstance(v, str)] if rows else []
        numeric = 14 if fmts[j - 1] else 0
        ws.column_dimensions[get_column_letter(j)].width = min(max([12, numeric, len(h) * 0.6, *texts]) + 2, 60)


def _frame_rows(df: pd.DataFrame) -> tuple[list[str], list[list[Value]], list[str | None]]:
    """An indicator frame as headers, typed rows (percent columns as fractions) and formats."""
    headers: list[str] = []
    columns: list[list[Value]] = []
    formats: list[str | None] = []
    order = [c for c in HEADERS if c in df.columns] + [c for c in df.columns if c not in HEADERS]
    for col in order:
        s = df[col]
        headers.append(HEADERS.get(str(col), str(col)))
        values: list[Value]
        if str(col).endswith("_pct"):
            values = [None if pd.isna(v) else Decimal(str(v)) / 100 for v in s.tolist()]
            formats.append(FMT_PCT)
        elif pd.api.types.is_integer_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
            values = [None if pd.isna(v) else int(v) for v in s.tolist()]
            formats.append(FMT_INT)
        elif pd.api.types.is_float_dtype(s.dtype):
            values = [None if pd.isna(v) else Decimal(str(v)) for v in s.tolist()]
            formats.append(FMT_DEC)
        else:
            values = [None if pd.isna(v) else str(v) for v in s.tolist()]
            formats.append(None)
        columns.append(values)
    return headers, [list(r) for r in zip(*columns)], formats


def appendix_workbook(doc: ReportDoc, *, frames: Mapping[str, pd.DataFrame] | None = None,
                      info: Sequence[tuple[str, str]] = ()) -> Workbook:
    """The appendix workbook: "Thông tin", one sheet per report table, one per indicator frame.

    Args:
        doc: the report (its tables are read as the PDF prints them).
        frames: sheet name -> indicator frame (e.g. ``{"Theo xã, phường": m.communes}``).
        info: (label, value) lines of the "Thông tin" sheet after the unit and the document.
    """
    d = _payload(doc)
    wb = Workbook()
    wb.remove(wb.active)
    lines = [("Phụ lục của văn bản", f"{d['title'].upper()} số {d['doc_number']}"),
             ("Cơ quan ban hành", f"{d['agency']} ({d['agency_parent']})"),
             ("Trích yếu", d["summary_line"]), ("Địa danh, ngày", d["place_date"]), *info,
             ("Quy tắc làm tròn", "Tỷ lệ tính từ số đếm gốc, làm tròn nửa lên 2 chữ số thập phân "
                                  "(như trong báo cáo); ô tỷ lệ là số, định dạng 0.00%"),
             ("Dữ liệu cá nhân", "Không có: chỉ số liệu tổng hợp")]
    _put_sheet(wb, INFO_SHEET, "PHỤ LỤC SỐ LIỆU — THÔNG TIN CHUNG", ["Mục", "Nội dung"],
               [[k, v] for k, v in lines], [None, None])
    wb[INFO_SHEET].column_dimensions["B"].width = 100
    n = 0
    for sec in d["sections"]:
        for b in sec["blocks"]:
            if b["kind"] != "table":
                continue
            n += 1
            headers, rows = _typed_table(b["columns"], b["rows"])
            caption = b["caption"] or f"Bảng {n}"
            _put_sheet(wb, sheet_title(f"Bảng {n}", wb.sheetnames), caption, headers, rows)
    for name, df in (frames or {}).items():
        headers, rows, formats = _frame_rows(df)
        _put_sheet(wb, sheet_title(name, wb.sheetnames), name, headers, rows, formats)
    return wb


def render_xlsx(doc: ReportDoc, *, timestamp: datetime, frames: Mapping[str, pd.DataFrame] | None = None,
                info: Sequence[tuple[str, str]] = ()) -> bytes:
    """The appendix as XLSX bytes; same arguments ⇒ same bytes (``timestamp`` dates it)."""
    if timestamp.tzinfo is None:
        raise ValueError(f"timestamp must be timezone-aware, got {timestamp!r}")
    stamp = timestamp.astimezone(UTC).replace(tzinfo=None)
    return workbook_bytes(appendix_workbook(doc, frames=frames, info=info), stamp, mode=0o644)


def write_xlsx(doc: ReportDoc, path: str | os.PathLike[str], *, timestamp: datetime,
               frames: Mapping[str, pd.DataFrame] | None = None, info: Sequence[tuple[str, str]] = ()) -> Path:
    """Write :func:`render_xlsx` to ``path`` atomically (mode 0o644: aggregates only).

    Examples:
        >>> import pathlib, tempfile
        >>> from vaxreport.reporting.report.sample import SAMPLE_TIMESTAMP, sample_report
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     out = write_xlsx(sample_report(), pathlib.Path(tmp) / "indicators.xlsx",
        ...                      timestamp=SAMPLE_TIMESTAMP)
        ...     import openpyxl; openpyxl.load_workbook(out).sheetnames
        ['Thông tin', 'Bảng 1']
    """
    dest = Path(path)
    data = render_xlsx(doc, timestamp=timestamp, frames=frames, info=info)
    return write_bytes(data, dest)
