"""Reading a delimited text export (CSV, TSV, ``.txt``) into a ``RawTable``.

Named ``delimited`` rather than ``csv``: a ``vaxreport.io.csv`` beside the standard library's
``csv`` (which ``sniff`` uses) would make every ``import csv`` a question for the reader.

- Encoding, delimiter and header row come from ``sniff`` (on the first megabyte); a file whose
  first megabyte is UTF-8 but whose later bytes are not is read again as its legacy encoding, or
  rejected naming the row when it is UTF-8 with a few corrupt bytes.
- pyarrow parses the rest, all columns as strings (an empty cell is missing), quoted newlines
  inside values allowed. A row with the wrong number of fields is an error naming its row.
- Cells written as Excel text formulas (``="0912345678"``, the trick exports use to keep leading
  zeros) are read as the text a spreadsheet shows (``0912345678``).
- Rows are numbered as a spreadsheet shows them: the header is row 1 (or the line it is on, below
  title rows) and the first data row is row 2 (blank lines inside the data are not counted).

Examples:
    >>> import tempfile
    >>> from vaxreport import schemas
    >>> p = Path(tempfile.mkdtemp()) / "population.csv"
    >>> _ = p.write_text("Mã xã;Nhóm tuổi;Dân số\\n05443;18+;1.234\\n")
    >>> raw = read_delimited(p, schemas.POPULATION)
    >>> raw.headers, raw.delimiter, raw.frame.c2.tolist()
    (['Mã xã', 'Nhóm tuổi', 'Dân số'], ';', ['1.234'])
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from vaxreport.exceptions import InputDataError
from vaxreport.io.raw import RawTable
from vaxreport.io.sniff import (
    SAMPLE_BYTES,
    count_invalid_utf8,
    count_utf8_sequences,
    decode_sample,
    find_header,
    first_bad_utf8,
    legacy_encoding,
    sniff_delimiter,
    sniff_encoding,
)
from vaxreport.schemas import TableSchema

__all__ = ["CSV_SUFFIXES", "read_delimited"]

CSV_SUFFIXES = (".csv", ".tsv", ".txt")


def read_delimited(path: Path, schema: TableSchema) -> RawTable:
    """Read a delimited text file: its header row (recognised by ``schema``'s names) and cells.

    Args:
        path: the CSV/TSV file.
        schema: the table's contract, used to find the header row below title rows.

    Returns:
        The ``RawTable`` (encoding and delimiter as sniffed); a header-only file has 0 rows.

    Raises:
        InputDataError: the file is empty or undecodable, or a row has the wrong number of
            fields (named by row).
    """
    with path.open("rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    if not head.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise InputDataError("the file is empty (no header row)", path=str(path))
    encoding = sniff_encoding(head, path)
    try:
        return _read_as(path, schema, head, encoding)
    except _NotUtf8:
        pass
    # The first megabyte was UTF-8 (often plain ASCII) but a later byte is not.
    bad = first_bad_utf8(path)
    data = path.read_bytes()
    if bad is not None and count_utf8_sequences(data) > 10 * count_invalid_utf8(data):
        raise InputDataError(f"invalid UTF-8 byte 0x{bad[1]:02x} in an otherwise UTF-8 file; "
                             "re-export the file as UTF-8", path=str(path), row=bad[0])
    return _read_as(path, schema, head, legacy_encoding(data))


class _NotUtf8(Exception):
    """pyarrow found invalid UTF-8 after the sniffed sample."""


def _read_as(path: Path, schema: TableSchema, head: bytes, encoding: str) -> RawTable:
    sample = decode_sample(head, encoding, path)
    if not sample.strip():
        raise InputDataError("the file is empty (no header row)", path=str(path))
    delimiter = sniff_delimiter(sample)
    header, header_line = find_header(sample, delimiter, schema, path)
    names = [f"c{i}" for i in range(len(header))]
    if len(head) < SAMPLE_BYTES and not "".join(sample.splitlines()[header_line:]).strip():
        # header only (pyarrow cannot skip a last line without a newline): a valid empty table
        empty = pd.DataFrame({n: pd.Series([], dtype="str") for n in names})
        return RawTable(headers=[h.strip() for h in header], frame=empty, rows=None,
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
    return RawTable(headers=[h.strip() for h in header], frame=frame, rows=None,
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
