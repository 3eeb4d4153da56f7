"""Reading the platform's exports and writing run artefacts: the only module that touches input files.

Reading (``load_table``, ``load_inputs``, ``validate_folder``):

- CSV (``,`` ``;`` tab ``|`` detected from the first lines) or XLSX (the sheet whose header row
  has most recognised names). Title rows above the header are skipped in both; in an XLSX, group
  labels merged over a second header row are combined with it, data cells merged down a column are
  filled over their block, and footer rows (below a blank row, few cells) are dropped with a
  warning. openpyxl reads ~10-20 k XLSX rows a second: full-scale exports should come as CSV.
- Text encodings: UTF-8 with or without BOM, UTF-16 LE/BE with BOM (or without BOM when the NUL
  pattern is plain), Windows-1258. A file that is not UTF-8 is read as cp1258 unless its bytes look
  like TCVN3/VNI legacy-font text, which is read as cp1252 so that ``text.to_unicode`` can repair it.
  Decomposed or mojibake text is *not* repaired here: that is the cleanser's job.
- Headers: canonical names or the Vietnamese aliases of ``schemas`` (any case, with or without
  diacritics). Columns come back in schema order, then unknown extra columns under their original
  header. Unknown extras are kept and reported with ``warnings.warn(InputWarning)``;
  ``load_inputs`` collects these into ``Inputs.warnings``.
- Values stay raw strings (pandas ``str`` dtype; an empty cell is missing, NaN): IDs and phones keep
  their leading zeros and dates are not parsed (the cleanser parses and quarantines them). Two
  exceptions: the closed vocabularies ``schema.vocab`` are mapped to canonical codes, and
  ``schema.integer`` columns are parsed to ``int64`` (non-negative; thousands separators in groups
  of three, e.g. ``1.234``, are accepted).
- CSV cells written as Excel text formulas (``="0912345678"``, the trick exports use to keep
  leading zeros) are read as the text a spreadsheet shows (``0912345678``).
- XLSX cell values are rendered as text: integers (and integral floats) as their digit string
  without ``.0``, other floats as ``repr``, dates as ``YYYY-MM-DD``, date-times as
  ``YYYY-MM-DD HH:MM:SS``, booleans as ``true``/``false``.
- Rows are numbered as a spreadsheet shows them: in a CSV the header is row 1 (or the line it is
  on, below title rows) and the first data row is row 2 (blank lines inside the data are not
  counted); in an XLSX the sheet's own row numbers.
- Every failure a user can act on raises ``InputDataError`` / ``SchemaViolation`` naming the file,
  and where known the row and column.

Writing (``write_parquet``, ``write_json``): byte-reproducible, atomic (temp file + ``os.replace``).

Examples:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "population.csv").write_text("Mã xã;Nhóm tuổi;Dân số\\n05443;18+;1.234\\n")
    >>> load_table(d / "population.csv", schemas.POPULATION).to_dict("records")
    [{'commune_code': '05443', 'age_group': '18+', 'population': 1234}]
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io as _stdio
import json
import math
import os
import re
import tempfile
import warnings
import zipfile
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from vaxreport import schemas, text
from vaxreport.exceptions import InputDataError, SchemaViolation
from vaxreport.schemas import TableSchema

__all__ = [
    "InputWarning", "SourceFile", "Inputs", "ValidationReport", "load_table", "find_input",
    "load_inputs", "validate_folder", "write_parquet", "write_json", "DELIMITERS",
]

DELIMITERS = (",", ";", "\t", "|")
_SAMPLE_BYTES = 1 << 20  # bytes read to sniff encoding, delimiter and header
_CSV_SUFFIXES = (".csv", ".tsv", ".txt")
_XLSX_SUFFIXES = (".xlsx", ".xlsm")
_HEADER_SCAN_ROWS = 30  # XLSX: rows searched for the header row
_MAX_LISTED = 5  # offending rows/values quoted in one message

# Vietnamese file stems accepted besides the table name (compared with ``schemas.header_key``).
FILE_ALIASES: dict[str, tuple[str, ...]] = {
    "doses": ("mui tiem", "du lieu tiem", "danh sach tiem", "du lieu mui tiem", "line list"),
    "site_tallies": ("bao cao co so", "so mui da tiem", "tong hop co so", "bao cao tiem"),
    "feedback": ("phan anh", "phan anh kien nghi", "danh sach phan anh"),
    "registry": ("ket qua xac minh", "xac minh cong an", "ket qua xac thuc", "csdlqg"),
    "population": ("dan so", "dan so theo xa"),
}


class InputWarning(UserWarning):
    """Warned when an input loads but has something the analyst should know (extra columns)."""


@dataclass(frozen=True)
class SourceFile:
    """Provenance of one input file as it was read.

    Attributes:
        path: the file read (never modified).
        sha256: hex digest of its bytes.
        rows: data rows loaded.
        encoding: text encoding used (``"utf-8"``, ``"utf-8-sig"``, ``"utf-16"``, ``"cp1258"``,
            ``"cp1252"``), or ``"xlsx"``.
        delimiter: the CSV delimiter, or ``""`` for XLSX.
        sheet: XLSX sheet name, else ``""``.
        header_row: spreadsheet row number of the header row.
    """

    path: Path
    sha256: str
    rows: int
    encoding: str
    delimiter: str
    sheet: str = ""
    header_row: int = 1


@dataclass(frozen=True)
class Inputs:
    """The five input tables of one period, with canonical columns (see ``schemas.TABLES``)."""

    doses: pd.DataFrame
    site_tallies: pd.DataFrame
    feedback: pd.DataFrame
    registry: pd.DataFrame
    population: pd.DataFrame
    sources: dict[str, SourceFile]
    warnings: list[str] = field(default_factory=list)

    def table(self, name: str) -> pd.DataFrame:
        """The table called ``name`` (a key of ``schemas.TABLES``)."""
        if name not in schemas.TABLES:
            raise ValueError(f"unknown table {name!r}; expected one of {sorted(schemas.TABLES)}")
        return getattr(self, name)


@dataclass(frozen=True)
class ValidationReport:
    """Outcome of ``validate_folder``.

    Attributes:
        folder: the folder checked.
        problems: blocking problems (a file missing or unreadable, a required column missing, an
            unknown status value...): ``load_inputs`` would fail. ``ok`` is False when any.
        row_issues: row-level findings that do not stop a run (a date that does not parse in a
            date column): the cleanser quarantines those rows.
        warnings: non-blocking notices (unknown extra columns kept).
        rows: data rows per table that loaded.
    """

    folder: Path
    problems: list[str]
    row_issues: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when ``load_inputs`` on this folder would succeed."""
        return not self.problems

    def describe(self) -> str:
        """Every problem, issue and warning, or a one-line summary of rows per table."""
        counts = ", ".join(f"{name} {n:,}".replace(",", ".") for name, n in self.rows.items())
        lines: list[str] = []
        if self.problems:
            lines.append(f"{self.folder}: {len(self.problems)} problem(s); the run cannot start:")
            lines += [f"- {p}" for p in self.problems]
        else:
            lines.append(f"{self.folder}: OK ({counts} rows)")
        if self.row_issues:
            lines.append(f"{len(self.row_issues)} row issue(s); the run quarantines these rows:")
            lines += [f"- {p}" for p in self.row_issues]
        if self.warnings:
            lines.append(f"{len(self.warnings)} warning(s):")
            lines += [f"- {w}" for w in self.warnings]
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Encoding and delimiter sniffing
# --------------------------------------------------------------------------------------------

_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
# TCVN3 puts its commonest letters (ă â ê ô ơ ư đ, à ả ã á ạ) on bytes that Windows-1258 uses only
# for symbols (§¨©ª«¬® µ¶·¸¹); VNI writes a base vowel followed by a mark byte (aø aù aû aï).
_TCVN3_SIGNS = re.compile(rb"[\xa7-\xae\xb5-\xb9]")
_VNI_SIGNS = re.compile(rb"[aeiouyAEIOUY][\xf8\xf9\xfb\xef\xd8\xd9\xdb\xcf]")
_NON_ASCII = re.compile(rb"[\x80-\xff]")


def _sniff_encoding(head: bytes, path: Path) -> str:
    """Encoding of a text file from its first bytes (see the module docstring for the rules)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    probe = head[:4096]
    if len(probe) >= 4:
        even_nul = probe[0::2].count(0) / len(probe[0::2])
        odd_nul = probe[1::2].count(0) / len(probe[1::2])
        if odd_nul > 0.3 and even_nul < 0.05:
            return "utf-16-le"
        if even_nul > 0.3 and odd_nul < 0.05:
            return "utf-16-be"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError as exc:
        good = len(_UTF8_MULTIBYTE.findall(head))
        if good >= 3 and good > 10 * _count_invalid_utf8(head):
            # A UTF-8 file with a few corrupt bytes: mojibake everywhere would be worse.
            row = head[: exc.start].count(b"\n") + 1
            raise InputDataError(
                f"invalid UTF-8 byte 0x{head[exc.start]:02x} in an otherwise UTF-8 file; "
                "re-export the file as UTF-8", path=str(path), row=row) from exc
    return _legacy_encoding(head)


def _count_invalid_utf8(data: bytes) -> int:
    return data.decode("utf-8", errors="replace").count("\ufffd")


def _legacy_encoding(data: bytes) -> str:
    """cp1258 (Windows Vietnamese) unless the bytes look like TCVN3/VNI legacy-font text.

    >>> _legacy_encoding(b"Ho\\xe0 Bi\\xccnh, \\xd0\\xf4\\xccng Hy\\xd2")  # Hoà Bình, Đồng Hỷ
    'cp1258'
    >>> _legacy_encoding("Céng hoµ x· héi chñ nghÜa ViÖt Nam, Th¸i Nguyªn, §ång Hû".encode("cp1252"))
    'cp1252'
    """
    non_ascii = len(_NON_ASCII.findall(data))
    legacy = max(len(_TCVN3_SIGNS.findall(data)), len(_VNI_SIGNS.findall(data)))
    return "cp1252" if legacy >= 3 and legacy >= 0.15 * non_ascii else "cp1258"


def _decode_sample(head: bytes, encoding: str, path: Path) -> str:
    dec = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        text = dec.decode(head, final=False)
    except UnicodeDecodeError as exc:
        row = head[: exc.start].count(b"\n") + 1
        raise InputDataError(
            f"cannot decode byte 0x{head[exc.start]:02x} as {encoding}; "
            "save the file as UTF-8 CSV or XLSX", path=str(path), row=row) from exc
    return text.lstrip("\ufeff")


def _sniff_delimiter(sample: str) -> str:
    """The delimiter among ``DELIMITERS`` that splits the header into most fields consistently.

    >>> _sniff_delimiter("a;b;c\\n1;2,5;3\\n")
    ';'
    >>> _sniff_delimiter("a|b\\n1|2\\n")
    '|'
    """
    lines = [ln for ln in sample.splitlines()[:50] if ln.strip()]
    if not lines:
        return ","
    best, best_score = ",", (0, 0)
    for d in DELIMITERS:
        try:
            rows = list(csv.reader(lines[:20], delimiter=d))
        except csv.Error:
            continue
        n = len(rows[0])
        if n < 2:
            continue
        consistent = sum(len(r) == n for r in rows[1:])
        score = (consistent, n)
        if score > best_score:
            best, best_score = d, score
    return best


# --------------------------------------------------------------------------------------------
# Raw readers: file -> (DataFrame with raw headers as positional columns, row numbers, meta)
# --------------------------------------------------------------------------------------------


@dataclass
class _Raw:
    headers: list[str]
    frame: pd.DataFrame  # columns c0..cN-1, all str dtype (NaN = empty)
    rows: np.ndarray | None  # spreadsheet row number of each data row; None = index + first_row
    first_row: int
    encoding: str
    delimiter: str
    sheet: str = ""
    header_row: int = 1
    notes: list[str] = field(default_factory=list)  # warnings raised while reading

    def row_of(self, i: int) -> int:
        return int(self.rows[i]) if self.rows is not None else self.first_row + i


def _find_header(sample: str, delimiter: str, schema: TableSchema,
                 path: Path) -> tuple[list[str], int]:
    """(header fields, physical line number of the header) among the first records.

    The header is the record with most recognised column names (title rows above it are
    skipped); when none is recognised, the first non-empty record.
    """
    reader = csv.reader(_stdio.StringIO(sample), delimiter=delimiter)
    best: tuple[int, list[str], int] | None = None
    first: tuple[list[str], int] | None = None
    try:
        for _ in range(_HEADER_SCAN_ROWS):
            rec = next(reader, None)
            if rec is None:
                break
            if not any(f.strip() for f in rec):
                continue
            if first is None:
                first = (rec, reader.line_num)
            score = _header_score(rec, schema)
            if score and (best is None or score > best[0]):
                best = (score, rec, reader.line_num)
    except csv.Error as exc:
        raise InputDataError(f"cannot read the header row: {exc}", path=str(path),
                             row=reader.line_num) from exc
    if best is not None:
        return best[1], best[2]
    if first is None:
        raise InputDataError("the file is empty (no header row)", path=str(path))
    return first


def _first_bad_utf8(path: Path) -> tuple[int, int] | None:
    """(physical line, byte) of the first invalid UTF-8 sequence in a file, else None."""
    dec = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with path.open("rb") as fh:
        while chunk := fh.read(8 << 20):
            try:
                dec.decode(chunk)
            except UnicodeDecodeError as exc:
                return line + chunk[: exc.start].count(b"\n"), chunk[exc.start]
            line += chunk.count(b"\n")
    return None


def _read_csv(path: Path, schema: TableSchema) -> _Raw:
    with path.open("rb") as fh:
        head = fh.read(_SAMPLE_BYTES)
    if not head.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise InputDataError("the file is empty (no header row)", path=str(path))
    encoding = _sniff_encoding(head, path)
    try:
        return _read_csv_as(path, schema, head, encoding)
    except _NotUtf8:
        pass
    # The first megabyte was UTF-8 (often plain ASCII) but a later byte is not.
    bad = _first_bad_utf8(path)
    data = path.read_bytes()
    if bad is not None and len(_UTF8_MULTIBYTE.findall(data)) > 10 * _count_invalid_utf8(data):
        raise InputDataError(f"invalid UTF-8 byte 0x{bad[1]:02x} in an otherwise UTF-8 file; "
                             "re-export the file as UTF-8", path=str(path), row=bad[0])
    return _read_csv_as(path, schema, head, _legacy_encoding(data))


class _NotUtf8(Exception):
    """pyarrow found invalid UTF-8 after the sniffed sample."""


def _read_csv_as(path: Path, schema: TableSchema, head: bytes, encoding: str) -> _Raw:
    sample = _decode_sample(head, encoding, path)
    if not sample.strip():
        raise InputDataError("the file is empty (no header row)", path=str(path))
    delimiter = _sniff_delimiter(sample)
    header, header_line = _find_header(sample, delimiter, schema, path)
    names = [f"c{i}" for i in range(len(header))]
    if len(head) < _SAMPLE_BYTES and not "".join(sample.splitlines()[header_line:]).strip():
        # header only (pyarrow cannot skip a last line without a newline): a valid empty table
        empty = pd.DataFrame({n: pd.Series([], dtype="str") for n in names})
        return _Raw(headers=[h.strip() for h in header], frame=empty, rows=None,
                    first_row=header_line + 1, encoding=encoding, delimiter=delimiter,
                    header_row=header_line)
    invalid: list[tuple[int | None, int, int, str]] = []

    def on_invalid(row: Any) -> str:
        invalid.append((row.number, row.expected_columns, row.actual_columns, row.text))
        return "skip"

    def read(threads: bool) -> pa.Table:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                encoding="utf8" if encoding in ("utf-8", "utf-8-sig") else encoding,
                column_names=names, skip_rows=header_line, use_threads=threads,
                block_size=16 << 20),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True,
                                             invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.large_string() for n in names}, null_values=[""],
                strings_can_be_null=True, quoted_strings_can_be_null=True),
        )

    try:
        table = read(True)
        if invalid:  # rare: re-read single-threaded to learn the row numbers
            invalid.clear()
            read(False)
    except (pa.ArrowException, UnicodeDecodeError) as exc:
        msg = str(exc)
        if encoding == "utf-8" and ("UTF8" in msg or "UTF-8" in msg):
            raise _NotUtf8 from exc
        if "UTF8" in msg or "UTF-8" in msg or isinstance(exc, UnicodeDecodeError):
            raise InputDataError(f"cannot decode the file as {encoding} ({msg.splitlines()[0]}); "
                                 "save it as UTF-8 CSV or XLSX", path=str(path)) from exc
        raise InputDataError(f"cannot parse the CSV ({msg.splitlines()[0]})",
                             path=str(path)) from exc
    if invalid:
        # pyarrow numbers rows from the top of the file (header = its line), skipping blank
        # lines inside the data.
        number, expected, actual, text = invalid[0]
        more = f" ({len(invalid)} such rows)" if len(invalid) > 1 else ""
        text = text if len(text) <= 80 else text[:77] + "..."
        raise InputDataError(
            f"has {actual} fields, the header has {expected} (delimiter {delimiter!r}){more}: "
            f"{text!r}; a truncated file, an unterminated quote or a stray delimiter",
            path=str(path), row=number)
    frame = _unwrap_excel_text(table).to_pandas()
    return _Raw(headers=[h.strip() for h in header], frame=frame, rows=None,
                first_row=header_line + 1, encoding=encoding, delimiter=delimiter,
                header_row=header_line)


def _unwrap_excel_text(table: pa.Table) -> pa.Table:
    """``="0912345678"`` -> ``0912345678``: the formula trick exports use to keep leading zeros.

    A spreadsheet shows the text inside, so that is the raw value.

    >>> _unwrap_excel_text(pa.table({"p": ['="0912"', "=1", None]})).column("p").to_pylist()
    ['0912', '=1', None]
    """
    for i, name in enumerate(table.column_names):
        col = table.column(i)
        starts = pc.starts_with(col, '="')
        if not pc.any(starts).as_py():
            continue
        wrapped = pc.and_(starts, pc.ends_with(col, '"'))
        if pc.any(wrapped).as_py():
            inner = pc.replace_substring(pc.utf8_slice_codeunits(col, 2, -1), '""', '"')
            table = table.set_column(i, name, pc.if_else(wrapped, inner, col))
    return table


def _cell_text(v: Any) -> str | None:
    """Render one XLSX cell as the text a reader sees (see the module docstring).

    >>> [_cell_text(v) for v in (190123456789, 12.0, 0.5, None, True, dt.date(2022, 5, 1))]
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


def _col_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _merged_ranges(path: Path, sheet_index: int) -> list[tuple[int, int, int, int]]:
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


_REQUIRED_MARK = re.compile(r"\s*(?:\(\*\)|\*+|:)\s*$")
_SPACED_PUNCT = re.compile(r"\s*([/()-])\s*")


def _canonical(header: str, schema: TableSchema) -> str | None:
    r"""``schemas.canonical_header``, also accepting template decorations.

    Required-field marks (``Họ và tên (*)``, ``Ngày tiêm*``), a trailing colon and line breaks
    or spaces around ``/`` (``Số CMND/`` newline ``CCCD``) are ignored.

    >>> _canonical("Số CMND/\nCCCD (*)", schemas.DOSES), _canonical("Ghi chú", schemas.DOSES)
    ('id_number', None)
    """
    canon = schemas.canonical_header(header, schema)
    if canon is None:
        bare = _SPACED_PUNCT.sub(r"\1", _REQUIRED_MARK.sub("", " ".join(header.split())))
        canon = schemas.canonical_header(bare, schema)
    return canon


def _header_score(cells: Iterable[Any], schema: TableSchema) -> int:
    return sum(1 for c in cells if isinstance(c, str) and _canonical(c, schema))


def _read_xlsx(path: Path, schema: TableSchema) -> _Raw:
    import openpyxl  # local: heavy import, only needed for XLSX

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a corrupt file
        raise InputDataError(f"cannot open as an Excel workbook ({type(exc).__name__}: {exc})",
                             path=str(path)) from exc
    try:
        best: tuple[int, int, int, str, list[tuple[Any, ...]]] | None = None
        for si, ws in enumerate(wb.worksheets):
            if hasattr(ws, "reset_dimensions"):
                ws.reset_dimensions()  # exporters often write a wrong <dimension ref=...>
            rows = ws.iter_rows(values_only=True)
            top: list[tuple[Any, ...]] = []
            for r in rows:
                top.append(r)
                if len(top) >= _HEADER_SCAN_ROWS:
                    break
            if not any(any(c is not None for c in r) for r in top):
                continue
            scores = [_header_score(r, schema) for r in top]
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
    cols: list[list[str | None]] = [[None] * len(data) for _ in range(ncols)]
    for i, r in enumerate(data):
        for j, v in enumerate(r):
            if v is not None and j < ncols:
                cols[j][i] = _cell_text(v)
    # Data cells merged vertically show one value over the whole block: fill it down its column.
    for c0, r0, _c1, r1 in merges:
        if r0 > header_row and r1 > r0 and c0 < ncols:
            i0 = r0 - header_row - 1
            anchor = cols[c0][i0] if i0 < len(data) else None
            for i in range(i0 + 1, min(r1 - header_row, len(data))):
                cols[c0][i] = anchor
    frame = pd.DataFrame({f"c{j}": pd.array(cols[j], dtype="str") for j in range(ncols)})
    row_numbers = np.arange(header_row + 1, header_row + 1 + len(data))
    filled = frame.notna().sum(axis=1).to_numpy() if ncols else np.zeros(len(data), int)
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
    headers = ["" if h is None else (_cell_text(h) or "").strip() for h in header_cells]
    return _Raw(headers=headers, frame=frame, rows=row_numbers, first_row=header_row + 1,
                encoding="xlsx", delimiter="", sheet=title, header_row=header_row, notes=notes)


def _two_row_header(upper: list[Any], lower: list[Any], upper_row: int,
                    merges: list[tuple[int, int, int, int]],
                    schema: TableSchema) -> list[Any] | None:
    """The combined header when ``upper`` holds group labels merged across columns and ``lower``
    the column names below them (else None). Columns merged down over both rows keep ``upper``.
    """
    grouped = {c for c0, r0, c1, _r1 in merges if r0 == upper_row and c1 > c0
               for c in range(c0, c1 + 1)}
    under = [j for j, v in enumerate(lower) if v is not None
             and (j >= len(upper) or upper[j] is None or j in grouped)]
    if not any(isinstance(lower[j], str) and _canonical(lower[j], schema) for j in under):
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


def _read_raw(path: Path, schema: TableSchema) -> _Raw:
    if not path.is_file():
        raise InputDataError("file not found", path=str(path))
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise InputDataError("legacy .xls workbooks are not supported; save as .xlsx or CSV",
                             path=str(path))
    with path.open("rb") as fh:
        magic = fh.read(4)
    if suffix in _XLSX_SUFFIXES or magic == b"PK\x03\x04":  # also an XLSX saved as .csv
        try:
            return _read_xlsx(path, schema)
        except InputDataError:
            raise
        except Exception as exc:  # openpyxl/zip/XML errors of a damaged workbook
            raise InputDataError(f"cannot read the workbook ({type(exc).__name__}: {exc})",
                                 path=str(path)) from exc
    return _read_csv(path, schema)


# --------------------------------------------------------------------------------------------
# Mapping raw columns to the schema
# --------------------------------------------------------------------------------------------


def _map_headers(raw: _Raw, schema: TableSchema, path: Path) -> tuple[dict[str, str], list[str]]:
    """Raw positional column -> output column name, and the warnings for unknown extras."""
    seen: dict[str, int] = {}
    mapping: dict[str, str] = {}
    extras: list[str] = []
    dupes: list[str] = []
    for j, h in enumerate(raw.headers):
        pos = f"c{j}"
        if h == "":
            if pos in raw.frame and raw.frame[pos].notna().any():
                h = f"unnamed_{_col_letter(j)}"
            else:
                continue  # an empty trailing/filler column
        canon = _canonical(h, schema)
        name = canon or h
        if name in seen:
            k = seen[name]
            dupes.append(f"{raw.headers[k]!r} (column {_col_letter(k)}) and {h!r} (column "
                         f"{_col_letter(j)})" + (f" both mean {canon!r}" if canon else ""))
            continue
        seen[name] = j
        mapping[pos] = name
        if canon is None:
            extras.append(h)
    if dupes:
        raise SchemaViolation("duplicate columns: " + "; ".join(dupes)
                              + "; keep one of each and re-export", path=str(path),
                              row=raw.header_row)
    missing = [c for c in schema.required if c not in seen]
    if missing:
        found = [h for h in raw.headers if h]
        if len(found) <= 1 and raw.delimiter and len(schema.required) > 1:
            shown = found[0] if found else ""
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            raise SchemaViolation(
                f"the header row (row {raw.header_row}) is one field {shown!r}: the file is not "
                f"delimited by , ; tab or | (read as {raw.encoding}); save it as CSV with one of "
                f"these delimiters, or as XLSX. Missing required column(s) for table "
                f"{schema.name!r}: {missing}", path=str(path))
        raise SchemaViolation(
            f"missing required column(s) {missing} for table {schema.name!r}; headers found "
            f"(row {raw.header_row}): {found}", path=str(path))
    warns = []
    if extras:
        warns.append(f"{path}: {len(extras)} unknown column(s) kept as extra columns: {extras}")
    return mapping, warns


_INT_RE = re.compile(r"^\s*(?:\d+|\d{1,3}(?:\.\d{3})+|\d{1,3}(?:,\d{3})+|\d{1,3}(?: \d{3})+)\s*$")


def _parse_integers(s: pd.Series, raw: _Raw, path: Path, header: str) -> pd.Series:
    ok = s.fillna("").str.match(_INT_RE)
    if not ok.all():
        bad = np.flatnonzero(~ok.to_numpy())
        i = int(bad[0])
        value = s.iloc[i]
        shown = "an empty cell" if pd.isna(value) else repr(value)
        more = f" ({len(bad)} bad rows in this column)" if len(bad) > 1 else ""
        raise SchemaViolation(f"{shown} is not a non-negative integer{more}",
                              path=str(path), row=raw.row_of(i), column=header)
    digits = s.str.replace(r"[^0-9]", "", regex=True)
    return digits.astype("int64")


def _legacy_vocab(value: str, vocab: Mapping[str, str]) -> str | None:
    """The code of the first legacy-font reading of ``value`` in ``vocab`` ("§· ký", TCVN3 for
    "Đã ký"), or None."""
    for cand in text.legacy_candidates(value):
        code = vocab.get(schemas.header_key(cand))
        if code is not None:
            return code
    return None


def _map_vocab(s: pd.Series, vocab: Mapping[str, str], raw: _Raw, path: Path, header: str,
               column: str) -> pd.Series:
    codes, uniques = pd.factorize(s, use_na_sentinel=True)  # statuses repeat: map each once
    values = [str(u) for u in uniques] + [""]  # the last slot stands for empty cells
    mapped = [vocab.get(schemas.header_key(u)) for u in values]
    mapped = [m if m is not None or u.isascii() else _legacy_vocab(u, vocab) for u, m in zip(values, mapped)]
    codes = np.where(codes < 0, len(values) - 1, codes)
    unknown = [i for i, m in enumerate(mapped) if m is None]
    if unknown and unknown[-1] == len(values) - 1 and not (codes == unknown[-1]).any():
        unknown.pop()  # no empty cells: the empty slot is unused
    if unknown:
        bad = np.isin(codes, unknown)
        i = int(np.flatnonzero(bad)[0])
        shown = repr(values[codes[i]]) if values[codes[i]] else "an empty cell"
        allowed = sorted(set(vocab.values()))
        accepted = sorted({k for k in vocab if k})
        shown_all = [values[u] for u in unknown]
        more = f" ({int(bad.sum())} rows, values {shown_all[:_MAX_LISTED]})" if bad.sum() > 1 else ""
        raise SchemaViolation(
            f"unknown value {shown} for {column}{more}; allowed: {allowed} "
            f"(as exported, any case and diacritics: {accepted})",
            path=str(path), row=raw.row_of(i), column=header)
    table = pa.array(mapped, type=pa.string())
    return pd.Series(table.take(pa.array(codes)).to_pandas(), index=s.index, dtype="str")


def _conform(raw: _Raw, schema: TableSchema, path: Path) -> tuple[pd.DataFrame, list[str]]:
    mapping, warns = _map_headers(raw, schema, path)
    header_of = {name: raw.headers[int(pos[1:])] for pos, name in mapping.items()}
    frame = raw.frame.rename(columns=mapping)[list(mapping.values())]
    n = len(frame)
    out: dict[str, pd.Series] = {}
    for col in schema.columns:
        if col not in frame:
            out[col] = pd.Series(pd.array([None] * n, dtype="str"), index=frame.index)
            continue
        s = frame[col]
        if col in schema.integer:
            s = _parse_integers(s, raw, path, header_of[col])
        elif col in schema.vocab:
            s = _map_vocab(s, schema.vocab[col], raw, path, header_of[col], col)
        out[col] = s
    for col in frame.columns:
        if col not in out:
            out[col] = frame[col]
    return pd.DataFrame(out, index=pd.RangeIndex(n)), warns


def _load(path: Path, schema: TableSchema) -> tuple[pd.DataFrame, _Raw, list[str]]:
    path = Path(path)
    try:
        raw = _read_raw(path, schema)
    except OSError as exc:
        raise InputDataError(f"cannot read the file ({exc.strerror or exc})",
                             path=str(path)) from exc
    df, warns = _conform(raw, schema, path)
    return df, raw, raw.notes + warns


def load_table(path: Path | str, schema: TableSchema) -> pd.DataFrame:
    """Load one input table (CSV or XLSX) with the canonical columns of ``schema``.

    Values stay raw strings except ``schema.vocab`` columns (canonical codes) and
    ``schema.integer`` columns (``int64``); missing optional columns are added as NA; unknown
    extra columns are kept after the schema's columns and reported with
    ``warnings.warn(..., InputWarning)``. A header-only file yields 0 rows.

    Args:
        path: the CSV/XLSX file.
        schema: the table's contract, e.g. ``schemas.DOSES``.

    Returns:
        A DataFrame with a fresh RangeIndex.

    Raises:
        InputDataError: the file is missing, empty, undecodable or has a row with the wrong
            number of fields (named by row).
        SchemaViolation: a required column is missing, a column is duplicated, a status value is
            outside its vocabulary or an integer column holds a non-integer (file/row/column).

    Examples:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "site_tallies.csv"
        >>> _ = p.write_text("site_code,district_code,week_start,doses_administered\\n"
        ...                  "0101,164,02/05/2022,120\\n")
        >>> df = load_table(p, schemas.SITE_TALLIES)
        >>> df.site_code.tolist(), df.doses_administered.tolist()
        (['0101'], [120])
    """
    df, _raw, warns = _load(Path(path), schema)
    for w in warns:
        warnings.warn(w, InputWarning, stacklevel=2)
    return df


def find_input(folder: Path | str, name: str) -> Path:
    """The file holding table ``name`` in ``folder``.

    Accepts ``<name>.csv|.tsv|.txt|.xlsx`` and Vietnamese stems (``FILE_ALIASES``: e.g.
    ``Mũi tiêm.xlsx`` or ``du_lieu_tiem.csv`` for doses), compared case- and
    diacritics-insensitively. Excel lock files (``~$...``) and hidden files are ignored.

    Raises:
        InputDataError: no such file, or more than one candidate.

    Examples:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "Dân số.xlsx").write_bytes(b"")
        >>> find_input(d, "population").name
        'Dân số.xlsx'
    """
    folder = Path(folder)
    if name not in schemas.TABLES:
        raise ValueError(f"unknown table {name!r}; expected one of {sorted(schemas.TABLES)}")
    if not folder.is_dir():
        raise InputDataError("input folder not found", path=str(folder))
    stems = {schemas.header_key(name), *FILE_ALIASES.get(name, ())}
    found = sorted(
        p for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(("~$", "."))
        and p.suffix.lower() in _CSV_SUFFIXES + _XLSX_SUFFIXES
        and schemas.header_key(p.stem) in stems
    )
    if not found:
        raise InputDataError(
            f"no {name} file (looked for {name}.csv, {name}.xlsx or one of "
            f"{sorted(FILE_ALIASES.get(name, ()))} with .csv/.xlsx)", path=str(folder))
    if len(found) > 1:
        raise InputDataError(f"more than one {name} file: {[p.name for p in found]}; keep one",
                             path=str(folder))
    return found[0]


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


@dataclass
class _Loaded:
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    sources: dict[str, SourceFile] = field(default_factory=dict)
    raws: dict[str, _Raw] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    errors: list[InputDataError] = field(default_factory=list)


def _load_all(folder: Path) -> _Loaded:
    out = _Loaded()
    if not folder.is_dir():
        out.errors.append(InputDataError("input folder not found", path=str(folder)))
        return out
    with ThreadPoolExecutor(max_workers=2) as pool:
        for name, schema in schemas.TABLES.items():
            try:
                path = find_input(folder, name)
                digest = pool.submit(_sha256, path)  # hashing overlaps parsing
                df, raw, w = _load(path, schema)
                out.sources[name] = SourceFile(path=path, sha256=digest.result(), rows=len(df),
                                               encoding=raw.encoding, delimiter=raw.delimiter,
                                               sheet=raw.sheet, header_row=raw.header_row)
                out.frames[name], out.raws[name] = df, raw
                out.warnings += w
            except InputDataError as exc:
                out.errors.append(exc)
    return out


def load_inputs(folder: Path | str) -> Inputs:
    """Load the five input tables of a period folder (never modifying the files).

    Args:
        folder: folder holding ``doses``, ``site_tallies``, ``feedback``, ``registry`` and
            ``population`` as CSV or XLSX (see ``find_input``).

    Returns:
        ``Inputs`` with canonical-column DataFrames (see ``load_table``), each file's
        ``SourceFile`` (sha256, rows, encoding, delimiter) and the warnings (unknown extra
        columns, XLSX footers not loaded).

    Raises:
        InputDataError: the one error if a single table failed (``SchemaViolation`` kept);
            otherwise one error listing every table that failed, one ``- ...`` line each.
    """
    folder = Path(folder)
    loaded = _load_all(folder)
    if len(loaded.errors) == 1:
        raise loaded.errors[0]
    if loaded.errors:
        raise InputDataError(f"{len(loaded.errors)} input problems in {folder}:\n"
                             + "\n".join(f"- {e}" for e in loaded.errors)) from loaded.errors[0]
    return Inputs(**loaded.frames, sources=loaded.sources, warnings=loaded.warnings)


# --------------------------------------------------------------------------------------------
# Date columns: checked by validate_folder only (load keeps raw strings)
# --------------------------------------------------------------------------------------------

DATE_FORMATS = ("dd/mm/yyyy", "d/m/yy", "dd-mm-yyyy", "dd.mm.yyyy", "yyyy-mm-dd[ time]",
                "Excel serial", "epoch s/ms")  # what ``parse.parse_dates`` accepts, in short
_BIRTH_COLUMNS = frozenset({"birth_date"})


def _date_issues(df: pd.DataFrame, raw: _Raw, schema: TableSchema, path: Path,
                 as_of: dt.date | None) -> list[str]:
    """One line per date column holding values the cleanser cannot parse (it quarantines them)."""
    from vaxreport import parse  # the cleanser's own parser: validate agrees with the run

    issues = []
    headers = {_canonical(h, schema): h for h in raw.headers if h}
    for col in schema.dates:
        if col not in df or df[col].isna().all():
            continue
        kind = "birth" if col in _BIRTH_COLUMNS else "dose"
        codes, uniques = pd.factorize(df[col], use_na_sentinel=True)  # parse each value once
        status = parse.parse_dates(pd.Series(uniques, dtype="str"), kind=kind, as_of=as_of,
                                   date_only=False)["status"]
        bad_unique = np.append(status.isin(["unparseable", "impossible"]).to_numpy(), False)
        bad = np.flatnonzero(bad_unique[codes])  # code -1 (empty) picks the appended False
        if not len(bad):
            continue
        shown = ", ".join(f"row {raw.row_of(int(i))} {df[col].iloc[int(i)]!r}"
                          for i in bad[:_MAX_LISTED])
        more = f" and {len(bad) - _MAX_LISTED} more" if len(bad) > _MAX_LISTED else ""
        issues.append(f"file {path}, column {headers.get(col, col)!r}: {len(bad)} value(s) are "
                      f"not a valid date: {shown}{more} (accepted: {', '.join(DATE_FORMATS)})")
    return issues


def validate_folder(folder: Path | str, *, as_of: dt.date | None = None) -> ValidationReport:
    """Check a folder of inputs and report everything wrong at once.

    Blocking problems are what makes ``load_inputs`` fail (every table is tried). For the tables
    that load, date columns are parsed with the cleanser's ``parse.parse_dates`` (``as_of``:
    report date for two-digit birth years, default today): a value it cannot parse or an
    impossible date (31/02/2022) is a *row issue* naming file, column, first rows and values, since
    the run quarantines those rows rather than stop.

    Examples:
        >>> import tempfile, pathlib
        >>> validate_folder(pathlib.Path(tempfile.mkdtemp())).ok
        False
    """
    folder = Path(folder)
    loaded = _load_all(folder)
    issues: list[str] = []
    for name, df in loaded.frames.items():
        issues += _date_issues(df, loaded.raws[name], schemas.TABLES[name],
                               loaded.sources[name].path, as_of)
    return ValidationReport(folder=folder, problems=[str(e) for e in loaded.errors],
                            row_issues=issues, warnings=loaded.warnings,
                            rows={name: len(df) for name, df in loaded.frames.items()})


# --------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------


def _atomic_write(path: Path, data_writer: Any, *, private: bool) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            data_writer(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600 if private else 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_parquet(df: pd.DataFrame, path: Path | str, *, private: bool = False) -> Path:
    """Write ``df`` as a byte-reproducible parquet file, atomically.

    zstd level 1 (as small as level 3 on our tables, a quarter faster), no row-group statistics
    beyond pyarrow's defaults, pandas dtype metadata kept
    (it holds no timestamps), index stored only if it is not a RangeIndex.

    Args:
        df: the frame to write.
        path: destination; parent folders are created.
        private: file mode 0o600 (personal data) instead of 0o644.

    Examples:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.parquet"
        >>> df = pd.DataFrame({"id": ["019"], "n": pd.array([1], dtype="Int64")})
        >>> a = write_parquet(df, p).read_bytes(); b = write_parquet(df, p).read_bytes()
        >>> a == b, pd.read_parquet(p).equals(df)
        (True, True)
    """
    path = Path(path)
    table = pa.Table.from_pandas(df, preserve_index=None)
    _atomic_write(path, lambda fh: pq.write_table(table, fh, compression="zstd",
                                                  compression_level=1), private=private)
    return path


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        items = sorted(obj, key=str) if isinstance(obj, (set, frozenset)) else obj
        return [_jsonable(v) for v in items]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating, Decimal)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if obj is None or obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, (dt.datetime, dt.date, dt.time, pd.Timestamp)):
        return obj.isoformat()
    if isinstance(obj, Path):
        return obj.as_posix()
    if hasattr(obj, "__dataclass_fields__"):
        from dataclasses import asdict
        return _jsonable(asdict(obj))
    if isinstance(obj, str):
        return obj
    raise TypeError(f"cannot write {type(obj).__name__} to JSON: {obj!r}")


def write_json(obj: Any, path: Path | str, *, private: bool = False) -> Path:
    """Write ``obj`` as UTF-8 JSON with sorted keys and a final newline, atomically.

    Dates become ISO strings, paths POSIX strings, numpy scalars Python numbers, NaN/NA null.

    Examples:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "m.json"
        >>> print(write_json({"b": float("nan"), "a": "Thái Nguyên"}, p).read_text(), end="")
        {
          "a": "Thái Nguyên",
          "b": null
        }
    """
    text = json.dumps(_jsonable(obj), sort_keys=True, ensure_ascii=False, indent=2,
                      allow_nan=False) + "\n"
    data = text.encode("utf-8")
    _atomic_write(Path(path), lambda fh: fh.write(data), private=private)
    return Path(path)
