"""Correction workbooks: the worklists (:mod:`vaxreport.reporting.worklists`) as XLSX files.

:func:`write_site_workbooks` writes one workbook per vaccination site — a sheet per kind of
problem, a header block with the personal-data notice, then the rows — and
:func:`write_summary_workbook` the province summary ``_tong_hop.xlsx`` (counts per site and kind,
no personal data). Files hold personal data, so they are created with mode 0o600, atomically,
and byte-identical for the same inputs: openpyxl's "modified = now" and the zip entry times are
replaced by the reporting period, and the bulk rows are written as XML column-wise (openpyxl
writes ≈2 k rows/s).

Examples:
    >>> _safe_name("S/1"), _safe_name(None)
    ('S_1', '_khong_ro_co_so')
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from vaxreport.io.write import write_bytes
from vaxreport.reporting.report.ooxml import workbook_bytes
from vaxreport.reporting.worklists import COLUMNS, KINDS

PERSONAL_DATA_NOTICE = ("TÀI LIỆU CÓ THÔNG TIN CÁ NHÂN — chỉ sử dụng cho công tác làm sạch "
                        "dữ liệu")
SUMMARY_FILE = "_tong_hop.xlsx"
#: columns the site fills in (after the data columns): header -> width. A returned workbook is
#: read back next month (:mod:`vaxreport.reporting.worklist_returns`): rows marked in
#: ``DONE_HEADER`` are checked.
DONE_HEADER = "Đã sửa (x)"
NOTE_HEADER = "Ghi chú"
FILL_COLUMNS: dict[str, int] = {DONE_HEADER: 10, NOTE_HEADER: 30}


def _period_stamp(period: str | date) -> datetime:
    ts = pd.Timestamp(period)
    return datetime(ts.year, ts.month, ts.day)


def _period_text(period: str | date, stamp: datetime) -> str:
    return f"{stamp.month:02d}/{stamp.year}" if isinstance(period, str) and len(period) == 7 \
        else stamp.strftime("%d/%m/%Y")


def _safe_name(code: object) -> str:
    text = "" if pd.isna(code) else str(code)
    return re.sub(r"[^\w.-]", "_", text) or "_khong_ro_co_so"


def _workbook_bytes(wb: Workbook, stamp: datetime,
                    rows_xml: Mapping[str, str] | None = None) -> bytes:
    """Serialise without openpyxl's "modified = now" and with fixed zip entry timestamps
    (:func:`vaxreport.reporting.report.ooxml.workbook_bytes`; ``rows_xml``: bulk rows per
    worksheet part)."""
    return workbook_bytes(wb, stamp, rows_xml)


_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=13)
_WARN = Font(bold=True, color="C00000")
_HEAD_FILL = PatternFill("solid", fgColor="D9E1F2")
_WRAP = Alignment(wrap_text=True, vertical="top")


def _new_workbook() -> Workbook:
    wb = Workbook()
    wb.remove(wb.active)
    return wb


def _plain(v: object) -> object:
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, np.integer):
        return int(v)
    return v


# XML 1.0 forbids these characters; RE2 syntax (pyarrow.compute).
_ILLEGAL_XML = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x{fffe}\x{ffff}]"


def _xml_text(v: pd.Series) -> pa.Array:
    """Escaped XML text of each value (null stays null)."""
    text = pa.array(v.astype("string").to_numpy(object, na_value=None), type=pa.large_string())
    text = pc.replace_substring_regex(text, _ILLEGAL_XML, "")
    for old, new in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        text = pc.replace_substring(text, old, new)
    return text


def _join(*parts: object) -> pa.Array:
    """Element-wise concatenation of large-string arrays and literal strings (null if any is)."""
    return pc.binary_join_element_wise(
        *[pa.scalar(x, pa.large_string()) if isinstance(x, str) else x for x in parts],
        pa.scalar("", pa.large_string()))


def _rows_xml(table: pd.DataFrame, rownum: np.ndarray) -> pd.Series:
    """One ``<row>`` element per table row (row numbers given), built column-wise.

    Integers are numeric cells, everything else inline strings (escaped; characters XML
    forbids are dropped); missing values are left out. No per-cell Python.

    >>> rows = _rows_xml(pd.DataFrame({"n": pd.array([7, None], dtype="Int64"), "s": ["a<b", None]}),
    ...                  np.array([6, 7])).tolist()
    >>> rows[0].replace("><", ">|<").split("|")  # doctest: +NORMALIZE_WHITESPACE
    ['<row r="6">', '<c r="A6">', '<v>7</v>', '</c>', '<c r="B6" t="inlineStr">', '<is>',
     '<t xml:space="preserve">a&lt;b</t>', '</is>', '</c>', '</row>']
    >>> rows[1]
    '<row r="7"></row>'
    """
    rn = pa.array(np.asarray(rownum).astype(str), type=pa.large_string())
    parts: list[object] = ['<row r="', rn, '">']
    for j, col in enumerate(table.columns):
        v = table[col]
        ref = ['<c r="', get_column_letter(j + 1), rn]
        if pd.api.types.is_integer_dtype(v.dtype):
            text = pa.array(v.astype("Int64").astype("string").to_numpy(object, na_value=None),
                            type=pa.large_string())
            cell = _join(*ref, '"><v>', text, "</v></c>")
        else:
            cell = _join(*ref, '" t="inlineStr"><is><t xml:space="preserve">', _xml_text(v),
                         "</t></is></c>")
        parts.append(pc.fill_null(cell, ""))
    parts.append("</row>")
    return pd.Series(_join(*parts).to_numpy(zero_copy_only=False), dtype=object)


def _write_sheet(wb: Workbook, title: str, lines: list[str], headers: list[str],
                 widths: list[int], rows: list[list[object]] | None = None) -> str:
    """Add a sheet: header block, column headers (frozen below them) and ``rows``.

    Returns the sheet's archive part name, to which bulk rows can be spliced.
    """
    ws = wb.create_sheet(title=title)
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    ws.freeze_panes = f"A{len(lines) + 3}"
    for i, line in enumerate(lines, start=1):
        c = ws.cell(row=i, column=1, value=line)
        c.font = _TITLE if i == 1 else (_WARN if line == PERSONAL_DATA_NOTICE else Font())
    for j, h in enumerate(headers, start=1):
        c = ws.cell(row=len(lines) + 2, column=j, value=h)
        c.font, c.fill = _BOLD, _HEAD_FILL
    for i, row in enumerate(rows or [], start=len(lines) + 3):
        for j, v in enumerate(row, start=1):
            ws.cell(row=i, column=j, value=_plain(v))
    return f"xl/worksheets/sheet{len(wb.worksheets)}.xml"


_FILL_IN = PatternFill("solid", fgColor="FFF2CC")


def _fill_in_columns(ws: object, before: int, *, header_row: int, last_row: int) -> None:
    """Mark the columns the site fills in (after ``before`` data columns): a yellow header, and a
    drop-down offering "x" in ``Đã sửa (x)`` on every data row."""
    from openpyxl.worksheet.datavalidation import DataValidation

    for j in range(before + 1, before + len(FILL_COLUMNS) + 1):
        ws.cell(row=header_row, column=j).fill = _FILL_IN  # type: ignore[attr-defined]
    if last_row > header_row:
        col = get_column_letter(before + 1)
        dv = DataValidation(type="list", formula1='"x"', allow_blank=True)
        dv.add(f"{col}{header_row + 1}:{col}{last_row}")
        ws.add_data_validation(dv)  # type: ignore[attr-defined]


def write_site_workbooks(worklists: Mapping[str, pd.DataFrame], out_dir: str | Path, *,
                         province_name: str, period: str | date, summary: bool = True) -> list[Path]:
    """Write one XLSX per site (a sheet per kind of problem) and, with ``summary``, ``_tong_hop.xlsx``.

    Each sheet starts with a header block (title, province, period, site and the personal-data
    notice), then the column headers (frozen) and the rows, ending with the columns the site
    fills in (:data:`FILL_COLUMNS`: ``Đã sửa (x)`` with a drop-down, ``Ghi chú``). Files are
    written atomically with mode 0o600; same inputs ⇒ byte-identical files (timestamps come
    from ``period``).

    Args:
        worklists: :func:`vaxreport.reporting.worklists.build_worklists` output.
        out_dir: folder to write into (created if missing).
        province_name: e.g. "Thái Nguyên".
        period: reporting period, "2022-05" or a date.
        summary: also write the summary workbook (:func:`write_summary_workbook`).

    Returns:
        The paths written, site files first (sorted), the summary last.

    Examples:
        >>> import tempfile
        >>> wl = _example_worklists()
        >>> with tempfile.TemporaryDirectory() as d:
        ...     [p.name for p in write_site_workbooks(wl, d, province_name="Thái Nguyên",
        ...                                           period="2022-05")]
        ['S1.xlsx', 'S2.xlsx', '_tong_hop.xlsx']
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stamp = _period_stamp(period)
    period_text = _period_text(period, stamp)
    tables = {k: worklists.get(k, pd.DataFrame(columns=list(COLUMNS))) for k in KINDS}
    keys = [c for c in COLUMNS if c not in ("site_code", "site_name")]
    headers = [COLUMNS[c][0] for c in keys] + list(FILL_COLUMNS)
    widths = [COLUMNS[c][1] for c in keys] + list(FILL_COLUMNS.values())

    kind_ix = {k: i for i, k in enumerate(KINDS)}
    all_rows = pd.concat([t.assign(_kind=k, _k=kind_ix[k]) for k, t in tables.items()],
                         ignore_index=True)
    site_key = all_rows["site_code"].astype("string").fillna("")
    all_rows = all_rows.assign(_s=site_key).sort_values(["_s", "_k"], kind="stable")
    site_key = all_rows["_s"]
    names = all_rows.dropna(subset=["site_name"]).drop_duplicates("_s").set_index("_s")[
        "site_name"]
    # bulk rows for every sheet at once; each (site, kind) group starts below the header block
    first_data = 6  # 3 header lines, a blank row, the column headers
    rank = all_rows.groupby(["_s", "_k"], sort=False).cumcount().to_numpy()
    xml = _rows_xml(all_rows[keys], first_data + rank).to_numpy(object)
    s_arr, k_arr = site_key.to_numpy(object), all_rows["_k"].to_numpy()
    change = np.r_[True, (s_arr[1:] != s_arr[:-1]) | (k_arr[1:] != k_arr[:-1])] if len(
        all_rows) else np.zeros(0, bool)
    starts = np.flatnonzero(change)
    ends = np.r_[starts[1:], len(all_rows)]
    groups: dict[str, list[tuple[int, int, int]]] = {}
    for a, b in zip(starts.tolist(), ends.tolist()):  # one entry per (site, kind) group
        groups.setdefault(s_arr[a], []).append((int(k_arr[a]), a, b))
    kind_names = list(KINDS)
    written: list[Path] = []
    for site in sorted(groups):
        site_name = names.get(site, "")
        wb = _new_workbook()
        bulk: dict[str, str] = {}
        for k, a, b in groups[site]:
            title = KINDS[kind_names[k]]
            lines = [f"DANH SÁCH BẢN GHI CẦN ĐIỀU CHỈNH — {title.upper()}",
                     f"Tỉnh {province_name} — kỳ báo cáo {period_text} — cơ sở: {site} "
                     f"{site_name or ''}".rstrip(),
                     PERSONAL_DATA_NOTICE]
            sheet = _write_sheet(wb, title, lines, headers, widths)
            _fill_in_columns(wb[title], len(keys), header_row=len(lines) + 2, last_row=first_data + b - a - 1)
            bulk[sheet] = "".join(xml[a:b].tolist())
        path = out / f"{_safe_name(site or None)}.xlsx"
        write_bytes(_workbook_bytes(wb, stamp, bulk), path, private=True)
        written.append(path)

    if summary:
        written.append(write_summary_workbook(worklists, out, province_name=province_name, period=period))
    return written


def write_summary_workbook(worklists: Mapping[str, pd.DataFrame], out_dir: str | Path, *,
                           province_name: str, period: str | date) -> Path:
    """Write ``_tong_hop.xlsx``: rows to fix per site and kind of problem (no personal data)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stamp = _period_stamp(period)
    period_text = _period_text(period, stamp)
    tables = [t.assign(_kind=k) for k, t in worklists.items() if k in KINDS]
    all_rows = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(
        columns=[*COLUMNS, "_kind"])
    all_rows["_s"] = all_rows["site_code"].astype("string").fillna("")
    names = all_rows.dropna(subset=["site_name"]).drop_duplicates("_s").set_index("_s")["site_name"]
    counts = (all_rows.groupby(["_s", "_kind"]).size().unstack(
        fill_value=0).reindex(columns=list(KINDS), fill_value=0))
    counts = counts[counts.sum(axis=1) > 0] if len(counts) else counts
    summary_rows = [[s, names.get(s, None), *[int(x) for x in r], int(sum(r))]
                    for s, r in zip(counts.index, counts.to_numpy().tolist())]
    totals = counts.sum().astype(int).tolist() if len(counts) else [0] * len(KINDS)
    summary_rows.append(["Tổng", None, *totals, int(sum(totals))])
    wb = _new_workbook()
    _write_sheet(wb, "Tổng hợp",
                 [f"TỔNG HỢP BẢN GHI CẦN ĐIỀU CHỈNH THEO CƠ SỞ TIÊM — TỈNH "
                  f"{province_name.upper()}", f"Kỳ báo cáo {period_text}",
                  "Số bản ghi cần điều chỉnh theo loại lỗi (không chứa thông tin cá nhân)"],
                 ["Mã cơ sở", "Cơ sở tiêm", *KINDS.values(), "Tổng"],
                 [11, 28, *[14] * len(KINDS), 10], summary_rows)
    path = out / SUMMARY_FILE
    write_bytes(_workbook_bytes(wb, stamp), path, private=True)
    return path


def _example_worklists() -> dict[str, pd.DataFrame]:
    """The worklists of :mod:`vaxreport.reporting.worklists`' example records."""
    from vaxreport.reporting.worklists import _example_inputs, build_worklists

    return build_worklists(*_example_inputs(), unsigned_days=30, as_of=date(2022, 5, 31))
