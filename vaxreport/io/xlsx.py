"""Reading an Excel export (XLSX, XLSM) into a ``RawTable``.

- The sheet read is the one whose header row has most recognised names (``sniff.header_score``
  over its first ``HEADER_SCAN_ROWS`` rows); title rows above the header are skipped.
- Group labels merged over a second header row are combined with it; header cells merged down
  from a group row take the group's text; data cells merged down a column are filled over their
  block; footer rows (below a blank row, few cells) are dropped with a note; formatted but empty
  rows are not data.
- Cell values are rendered as text: integers (and integral floats) as their digit string without
  ``.0``, other floats as ``repr``, dates as ``YYYY-MM-DD``, date-times as
  ``YYYY-MM-DD HH:MM:SS``, booleans as ``true``/``false``.
- Rows are numbered as the sheet numbers them.

openpyxl reads ~10-20 k XLSX rows a second: full-scale exports should come as CSV.

Examples:
    >>> import tempfile, openpyxl
    >>> from vaxreport import schemas
    >>> wb = openpyxl.Workbook(); ws = wb.active
    >>> for r in (["DÂN SỐ"], [], ["Mã xã", "Nhóm tuổi", "Dân số"], ["05443", "18+", 1234]):
    ...     ws.append(r)
    >>> p = Path(tempfile.mkdtemp()) / "population.xlsx"; wb.save(p)
    >>> raw = read_xlsx(p, schemas.POPULATION)
    >>> raw.header_row, raw.frame.iloc[0].tolist()
    (3, ['05443', '18+', '1234'])
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

from vaxreport.exceptions import InputDataError
from vaxreport.io.raw import RawTable
from vaxreport.io.sniff import HEADER_SCAN_ROWS, header_score, recognise_header
from vaxreport.schemas import TableSchema

if TYPE_CHECKING:
    from openpyxl.workbook.workbook import Workbook

__all__ = ["XLSX_SUFFIXES", "cell_text", "read_xlsx"]

XLSX_SUFFIXES = (".xlsx", ".xlsm")

Merge = tuple[int, int, int, int]  # (min_col, min_row, max_col, max_row): 0-based cols, 1-based rows


def read_xlsx(path: Path, schema: TableSchema) -> RawTable:
    """Read the sheet of a workbook that holds ``schema``'s table: its header and cells as text.

    Args:
        path: the XLSX file.
        schema: the table's contract, used to choose the sheet and the header row.

    Returns:
        The ``RawTable`` (``encoding="xlsx"``, the sheet's name and row numbers, ``notes`` naming
        footer rows not loaded).

    Raises:
        InputDataError: the file is not a workbook, or its sheets are all empty.
    """
    import openpyxl  # local: heavy import, only needed for XLSX

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a corrupt file
        raise InputDataError(f"cannot open as an Excel workbook ({type(exc).__name__}: {exc})",
                             path=str(path)) from exc
    try:
        si, hi, title, top = _locate_header(wb, schema, path)
        merges = _merged_ranges(path, si)
        header_row = hi + 1
        header_cells = _two_row_header(list(top[hi]), list(top[hi + 1]) if hi + 1 < len(top)
                                       else [], header_row, merges, schema)
        if header_cells is not None:
            header_row += 1
        else:
            header_cells = list(top[hi])
        ws = wb.worksheets[si]
        data = list(ws.iter_rows(min_row=header_row + 1, values_only=True))
    finally:
        wb.close()
    ncols = max([len(header_cells)] + [len(r) for r in data[:1000]]) if data else len(header_cells)
    header_cells += [None] * (ncols - len(header_cells))
    # Header cells merged vertically from a group row above: take the anchor's text.
    for c0, r0, _c1, r1 in merges:
        if r0 < header_row <= r1 and c0 < ncols and header_cells[c0] is None:
            header_cells[c0] = top[r0 - 1][c0] if c0 < len(top[r0 - 1]) else None
    frame = _cell_frame(data, ncols, merges, header_row)
    row_numbers = np.arange(header_row + 1, header_row + 1 + len(data))
    frame, row_numbers, notes = _drop_footer_and_empty_rows(frame, row_numbers, schema, path)
    headers = ["" if h is None else (cell_text(h) or "").strip() for h in header_cells]
    return RawTable(headers=headers, frame=frame, rows=row_numbers, first_row=header_row + 1,
                    encoding="xlsx", delimiter="", sheet=title, header_row=header_row, notes=notes)


class _HeaderAt(NamedTuple):
    sheet: int  # index among the workbook's sheets
    row: int  # 0-based index of the header row among ``top``
    title: str  # the sheet's name
    top: list[tuple[Any, ...]]  # the sheet's first rows (up to HEADER_SCAN_ROWS)


def _locate_header(wb: Workbook, schema: TableSchema, path: Path) -> _HeaderAt:
    """The sheet and row whose cells are most of ``schema``'s headers (the first sheet that has
    all required ones wins); when none is recognised, the first non-empty row of the first
    non-empty sheet."""
    best: tuple[int, int, int, str, list[tuple[Any, ...]]] | None = None
    for si, ws in enumerate(wb.worksheets):
        if hasattr(ws, "reset_dimensions"):
            ws.reset_dimensions()  # exporters often write a wrong <dimension ref=...>
        rows = ws.iter_rows(values_only=True)
        top: list[tuple[Any, ...]] = []
        for r in rows:
            top.append(r)
            if len(top) >= HEADER_SCAN_ROWS:
                break
        if not any(any(c is not None for c in r) for r in top):
            continue
        scores = [header_score(r, schema) for r in top]
        hi = int(np.argmax(scores))
        if best is None or scores[hi] > best[0]:
            best = (scores[hi], si, hi, ws.title, top)
        if scores[hi] >= len(schema.required):
            break
    if best is None:
        raise InputDataError("the workbook is empty (no header row)", path=str(path))
    score, si, hi, title, top = best
    if score == 0:  # nothing recognised: the first non-empty row is the header
        hi = next(i for i, r in enumerate(top) if any(c is not None for c in r))
    return _HeaderAt(si, hi, title, top)


def _cell_frame(data: list[tuple[Any, ...]], ncols: int, merges: list[Merge],
                header_row: int) -> pd.DataFrame:
    """The data rows as text columns ``c0..c{ncols-1}`` (``str`` dtype), merged blocks filled."""
    cols: list[list[str | None]] = [[None] * len(data) for _ in range(ncols)]
    for i, r in enumerate(data):
        for j, v in enumerate(r):
            if v is not None and j < ncols:
                cols[j][i] = cell_text(v)
    # Data cells merged vertically show one value over the whole block: fill it down its column.
    for c0, r0, _c1, r1 in merges:
        if r0 > header_row and r1 > r0 and c0 < ncols:
            i0 = r0 - header_row - 1
            anchor = cols[c0][i0] if i0 < len(data) else None
            for i in range(i0 + 1, min(r1 - header_row, len(data))):
                cols[c0][i] = anchor
    return pd.DataFrame({f"c{j}": pd.array(cols[j], dtype="str") for j in range(ncols)})


def _drop_footer_and_empty_rows(frame: pd.DataFrame, row_numbers: np.ndarray, schema: TableSchema,
                                path: Path) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """``frame`` and its row numbers without a footer (noted) or rows with no cell filled."""
    ncols = len(frame.columns)
    filled = frame.notna().sum(axis=1).to_numpy() if ncols else np.zeros(len(row_numbers), int)
    notes = []
    footer = _footer_rows(filled, min_filled=max(2, -(-len(schema.required) // 2)))
    if footer is not None:
        texts = [v for v in frame.iloc[footer:].to_numpy().ravel() if isinstance(v, str)][:3]
        a, b = row_numbers[footer], row_numbers[-1]
        rows = f"row {a}" if a == b else f"rows {a}-{b}"
        notes.append(f"{path}: {rows} below the table (after a blank row, few cells filled) "
                     f"look like a footer and were not loaded: {texts}")
        frame, row_numbers, filled = frame.iloc[:footer], row_numbers[:footer], filled[:footer]
    empty = filled == 0
    if empty.any():  # formatted but empty rows (often trailing): not data
        frame = frame.loc[~empty].reset_index(drop=True)
        row_numbers = row_numbers[~empty]
    return frame, row_numbers, notes


def cell_text(v: Any) -> str | None:
    """Render one XLSX cell as the text a reader sees (see the module docstring).

    >>> [cell_text(v) for v in (190123456789, 12.0, 0.5, None, True, dt.date(2022, 5, 1))]
    ['190123456789', '12', '0.5', None, 'true', '2022-05-01']
    """
    if v is None:
        return None
    if isinstance(v, str):
        return v if v != "" else None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isfinite(v) and v.is_integer():
            return str(int(v))
        return repr(v)
    if isinstance(v, dt.datetime):
        if v.time() == dt.time(0):
            return v.date().isoformat()
        return v.isoformat(sep=" ", timespec="seconds")
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, dt.timedelta):
        return str(v)
    return str(v)


_MERGE_REF = re.compile(rb'<mergeCell ref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def _merged_ranges(path: Path, sheet_index: int) -> list[Merge]:
    """Merged ranges of a sheet as (min_col, min_row, max_col, max_row), 0-based cols, 1-based rows.

    Read from the sheet XML because openpyxl's read-only mode does not expose them.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            name = f"xl/worksheets/sheet{sheet_index + 1}.xml"
            if name not in zf.namelist():
                return []
            data = zf.read(name)
    except (OSError, zipfile.BadZipFile):
        return []
    return [(_col_index(a.decode()), int(b), _col_index(c.decode()), int(d))
            for a, b, c, d in _MERGE_REF.findall(data)]


def _two_row_header(upper: list[Any], lower: list[Any], upper_row: int, merges: list[Merge],
                    schema: TableSchema) -> list[Any] | None:
    """The combined header when ``upper`` holds group labels merged across columns and ``lower``
    the column names below them (else None). Columns merged down over both rows keep ``upper``.
    """
    grouped = {c for c0, r0, c1, _r1 in merges if r0 == upper_row and c1 > c0
               for c in range(c0, c1 + 1)}
    under = [j for j, v in enumerate(lower) if v is not None
             and (j >= len(upper) or upper[j] is None or j in grouped)]
    if not any(isinstance(lower[j], str) and recognise_header(lower[j], schema) for j in under):
        return None
    cells = upper + [None] * max(0, len(lower) - len(upper))
    for j in under:
        cells[j] = lower[j]
    return cells


def _footer_rows(filled: np.ndarray, min_filled: int) -> int | None:
    """Index of the first footer row (signatures, "Người lập biểu"), or None.

    A footer is what follows the last row with at least ``min_filled`` cells, when a blank row
    separates them and no row below is that full.

    >>> _footer_rows(np.array([9, 9, 0, 1, 0, 2]), 5), _footer_rows(np.array([9, 1, 9]), 5)
    (3, None)
    """
    full = np.flatnonzero(filled >= min_filled)
    if not len(full) or full[-1] == len(filled) - 1:
        return None
    below = np.flatnonzero(filled[full[-1] + 1:] > 0)
    if not len(below) or below[0] == 0:
        return None
    return int(full[-1] + 1 + below[0])
