"""Reproducible Office Open XML packages (DOCX, XLSX): one zip rewrite for every writer.

python-docx and openpyxl write zip entries stamped with the current time (and openpyxl a
"modified = now" property); :func:`fixed_zip` rewrites a package with every entry dated from the
report period, in the order the writer produced, so the same document gives the same bytes.
:func:`workbook_bytes` serialises an openpyxl workbook that way (the worklists and the appendix).

Examples:
    >>> import io, zipfile
    >>> buf = io.BytesIO()
    >>> with zipfile.ZipFile(buf, "w") as z:
    ...     z.writestr("a.xml", "<a/>")
    >>> data = fixed_zip(buf.getvalue(), datetime(2022, 5, 31))
    >>> zipfile.ZipFile(io.BytesIO(data)).getinfo("a.xml").date_time
    (2022, 5, 31, 0, 0, 0)
    >>> data == fixed_zip(buf.getvalue(), datetime(2022, 5, 31))
    True
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from datetime import datetime

__all__ = ["fixed_zip", "workbook_bytes"]


def fixed_zip(data: bytes, stamp: datetime, *, mode: int = 0o644, drop: frozenset[str] = frozenset(),
              splice: Mapping[str, str] | None = None) -> bytes:
    """The zip ``data`` rewritten with fixed entry timestamps (``stamp``'s day), deflated.

    Args:
        data: a zip archive (an OOXML package).
        stamp: the date every entry carries (years before 1980, zip's epoch, become 1980).
        mode: the Unix permission bits recorded for every entry.
        drop: entry names left out.
        splice: entry name -> XML text inserted before the entry's ``</sheetData>`` (bulk rows
            of a worksheet written without openpyxl's per-cell objects).
    """
    when = (max(stamp.year, 1980), stamp.month, stamp.day, 0, 0, 0)
    fixed = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            if name in drop:
                continue
            info = zipfile.ZipInfo(name, date_time=when)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = mode << 16
            body = src.read(name)
            if splice and name in splice:
                body = body.replace(b"</sheetData>", splice[name].encode("utf-8") + b"</sheetData>", 1)
            dst.writestr(info, body)
    return fixed.getvalue()


def workbook_bytes(wb: object, stamp: datetime, rows_xml: Mapping[str, str] | None = None, *,
                   mode: int = 0o600) -> bytes:
    """Serialise an openpyxl workbook without "modified = now" and with fixed zip timestamps.

    ``rows_xml`` maps a worksheet part (``xl/worksheets/sheet1.xml``) to ``<row>`` elements
    appended at the end of its ``sheetData`` (bulk rows; openpyxl writes ≈2 k rows/s).
    """
    from openpyxl.writer.excel import ExcelWriter

    props = wb.properties  # type: ignore[attr-defined]
    props.created = stamp
    props.modified = stamp
    props.creator = "vaxreport"
    props.lastModifiedBy = "vaxreport"
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:  # compressed once, below
        ExcelWriter(wb, archive).save()
    return fixed_zip(raw.getvalue(), stamp, mode=mode, splice=rows_xml)
