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

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from queue import Full, Queue
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

__all__ = ["CSV_SUFFIXES", "STREAM_BLOCK_BYTES", "count_lines", "read_delimited", "stream_delimited"]

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
#: Bytes of text per batch of :func:`stream_delimited` (about 45 k dose rows).
STREAM_BLOCK_BYTES = 16 << 20


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


@dataclass(frozen=True)
class _Layout:
    """How a delimited file is laid out, as sniffed on its first megabyte."""

    headers: list[str]  # the header cells as written (unstripped)
    header_line: int  # spreadsheet row number of the header row (rows above it are skipped)
    encoding: str
    delimiter: str
    header_only: bool  # nothing but blank lines below the header: a valid empty table

    @property
    def names(self) -> list[str]:
        return [f"c{i}" for i in range(len(self.headers))]

    def raw(self, frame: pd.DataFrame) -> RawTable:
        """``frame`` (columns ``c0..``) as the ``RawTable`` of this file."""
        return RawTable(headers=[h.strip() for h in self.headers], frame=frame, rows=None,
                        first_row=self.header_line + 1, encoding=self.encoding, delimiter=self.delimiter,
                        header_row=self.header_line)

    def options(self, *, threads: bool, block_size: int, on_invalid: Callable[[Any], str] | None
                ) -> tuple[pacsv.ReadOptions, pacsv.ParseOptions, pacsv.ConvertOptions]:
        """pyarrow's options for this file: every column as text, empty = missing, quoted newlines."""
        names = self.names
        return (pacsv.ReadOptions(encoding="utf8" if self.encoding in ("utf-8", "utf-8-sig") else self.encoding,
                                  column_names=names, skip_rows=self.header_line, use_threads=threads,
                                  block_size=block_size),
                pacsv.ParseOptions(delimiter=self.delimiter, newlines_in_values=True, invalid_row_handler=on_invalid),
                pacsv.ConvertOptions(column_types={n: pa.large_string() for n in names}, null_values=[""],
                                     strings_can_be_null=True, quoted_strings_can_be_null=True))


def _layout(path: Path, schema: TableSchema, head: bytes, encoding: str) -> _Layout:
    sample = decode_sample(head, encoding, path)
    if not sample.strip():
        raise InputDataError("the file is empty (no header row)", path=str(path))
    delimiter = sniff_delimiter(sample)
    header, header_line = find_header(sample, delimiter, schema, path)
    # header only (pyarrow cannot skip a last line without a newline)
    header_only = len(head) < SAMPLE_BYTES and not "".join(sample.splitlines()[header_line:]).strip()
    return _Layout(header, header_line, encoding, delimiter, header_only)


def _read_as(path: Path, schema: TableSchema, head: bytes, encoding: str) -> RawTable:
    layout = _layout(path, schema, head, encoding)
    if layout.header_only:
        return layout.raw(pd.DataFrame({n: pd.Series([], dtype="str") for n in layout.names}))
    invalid: list[tuple[int | None, int, int, str]] = []

    def on_invalid(row: Any) -> str:
        invalid.append((row.number, row.expected_columns, row.actual_columns, row.text))
        return "skip"

    def read(threads: bool) -> pa.Table:
        read_opts, parse_opts, convert_opts = layout.options(threads=threads, block_size=16 << 20,
                                                             on_invalid=on_invalid)
        return pacsv.read_csv(path, read_options=read_opts, parse_options=parse_opts,
                              convert_options=convert_opts)

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
            f"has {actual} fields, the header has {expected} (delimiter {layout.delimiter!r}){more}: "
            f"{text!r}; a truncated file, an unterminated quote or a stray delimiter",
            path=str(path), row=number)
    return layout.raw(_unwrap_excel_text(table).to_pandas())


def stream_delimited(path: Path, schema: TableSchema, *, block_size: int = STREAM_BLOCK_BYTES
                     ) -> tuple[RawTable, Iterator[RawTable]] | None:
    """The file batch by batch: the header (a ``RawTable`` with no rows) and an iterator of
    ``RawTable`` batches of about ``block_size`` bytes, each read with exactly the options of
    :func:`read_delimited` (sniffed encoding, delimiter and header row, quoted newlines, every
    column text, ``="..."`` unwrapped), in file order.

    Returns None where only the whole-file read can say what the file holds: an empty or
    header-only file. Whatever the iterator raises (a row with the wrong number of fields,
    invalid UTF-8 after the sniffed megabyte) is no message for the user: read the file whole
    with :func:`read_delimited` for today's message and row number. A batch's ``first_row`` is
    not its spreadsheet row (blank lines are not counted): use its rows for values only.

    >>> import tempfile
    >>> from vaxreport import schemas
    >>> p = Path(tempfile.mkdtemp()) / "population.csv"
    >>> _ = p.write_text('Mã xã;Nhóm tuổi;Dân số\\n05443;18+;1.234\\n05446;18+;="077"\\n', encoding='utf-8')
    >>> header, batches = stream_delimited(p, schemas.POPULATION)
    >>> header.headers, [b.frame.c2.tolist() for b in batches]
    (['Mã xã', 'Nhóm tuổi', 'Dân số'], [['1.234', '077']])
    """
    with path.open("rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    if not head.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        return None
    layout = _layout(path, schema, head, sniff_encoding(head, path))
    if layout.header_only:
        return None
    read_opts, parse_opts, convert_opts = layout.options(threads=True, block_size=block_size, on_invalid=None)

    def tables() -> Iterator[pa.Table]:
        with pacsv.open_csv(path, read_options=read_opts, parse_options=parse_opts,
                            convert_options=convert_opts) as reader:
            for batch in reader:
                if batch.num_rows:
                    yield _unwrap_excel_text(pa.Table.from_batches([batch]))

    batches = (layout.raw(table.to_pandas()) for table in _read_ahead(tables()))
    return layout.raw(pd.DataFrame({n: pd.Series([], dtype="str") for n in layout.names})), batches


def _read_ahead(items: Iterator[pa.Table], depth: int = 2) -> Iterator[pa.Table]:
    """``items`` produced on a thread of their own, up to ``depth`` ahead of the consumer: pyarrow
    parses the next block (without the GIL) while this one is conformed. The producer's exception
    is raised here; the thread stops when the consumer does.

    >>> list(_read_ahead(iter(range(5))))
    [0, 1, 2, 3, 4]
    """
    queue: Queue[tuple[str, Any]] = Queue(maxsize=depth)
    stop = threading.Event()

    def put(kind: str, value: Any) -> bool:
        """Queue one message unless the consumer has stopped; whether it was queued."""
        while not stop.is_set():
            try:
                queue.put((kind, value), timeout=0.1)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put("item", item):
                    return  # leaving the loop closes the reader
            put("end", None)
        except BaseException as exc:  # handed to the consumer
            put("error", exc)

    thread = threading.Thread(target=produce, daemon=True, name="vaxreport-csv-read-ahead")
    thread.start()
    try:
        while True:
            kind, value = queue.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()


def count_lines(path: Path) -> int:
    """Line feeds in the file, plus one: at least its data rows in any encoding (title rows,
    blank lines and quoted newlines only add to it). Reads the file once, 16 MiB at a time.

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_bytes(b'a,b\\n1,"x\\ny"\\n2,z')
    >>> count_lines(p)
    4
    """
    lines = 1
    with path.open("rb") as fh:
        while block := fh.read(16 << 20):
            lines += block.count(b"\n")
    return lines


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
