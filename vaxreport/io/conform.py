"""Loading the platform's exports as canonical tables: finding each table's file in a period folder,
reading it (``read_raw``: CSV through ``delimited``, XLSX through ``xlsx``) and conforming it to its
schema. The only place that reads input files; nothing here ever writes to one.

- Headers: canonical names or the Vietnamese aliases of ``schemas`` (any case, with or without
  diacritics, template decorations allowed: ``sniff.recognise_header``). Columns come back in
  schema order, then unknown extra columns under their original header. Unknown extras are kept
  and reported with ``warnings.warn(InputWarning)``; ``load_inputs`` collects these into
  ``Inputs.warnings``.
- Values stay raw strings (pandas ``str`` dtype; an empty cell is missing, NaN): IDs and phones keep
  their leading zeros and dates are not parsed (the cleanser parses and quarantines them). Two
  exceptions: the closed vocabularies ``schema.vocab`` are mapped to canonical codes, and
  ``schema.integer`` columns are parsed to ``int64`` (non-negative; thousands separators in groups
  of three, e.g. ``1.234``, are accepted).
- Rows are numbered as a spreadsheet shows them (see ``delimited`` and ``xlsx``).
- Every failure a user can act on raises ``InputDataError`` / ``SchemaViolation`` naming the file,
  and where known the row and column.

Examples:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "population.csv").write_text("Mã xã;Nhóm tuổi;Dân số\\n05443;18+;1.234\\n")
    >>> load_table(d / "population.csv", schemas.POPULATION).to_dict("records")
    [{'commune_code': '05443', 'age_group': '18+', 'population': 1234}]
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
import pyarrow as pa

from vaxreport import schemas, text
from vaxreport.exceptions import InputDataError, SchemaViolation
from vaxreport.io.delimited import CSV_SUFFIXES, STREAM_BLOCK_BYTES, read_delimited, stream_delimited
from vaxreport.io.raw import RawTable
from vaxreport.io.sniff import recognise_header
from vaxreport.io.write import sha256_file
from vaxreport.io.xlsx import XLSX_SUFFIXES, read_xlsx
from vaxreport.schemas import TableSchema

__all__ = [
    "FILE_ALIASES", "MAX_LISTED", "InputWarning", "Inputs", "LoadedTables", "OpenSink", "SourceFile", "TableSink",
    "find_input", "load_all", "load_inputs", "load_table", "read_raw", "stream_table",
]

MAX_LISTED = 5  # offending rows/values quoted in one message

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


# --------------------------------------------------------------------------------------------
# Reading a file, whatever its type
# --------------------------------------------------------------------------------------------


def read_raw(path: Path | str, schema: TableSchema) -> RawTable:
    """Read one input file as it is, before conforming: its header and cells, and how it was read.

    An XLSX is recognised by its suffix or its zip signature (an XLSX saved as ``.csv``); any
    other file is read as delimited text. ``load_table`` is this plus ``schema``'s columns.

    Args:
        path: the CSV/XLSX file.
        schema: the table's contract (finds the header row and, in a workbook, the sheet).

    Returns:
        The ``RawTable``: raw headers, positional ``str`` columns, encoding, delimiter, sheet,
        header row.

    Raises:
        InputDataError: the file is missing, a legacy ``.xls``, an unreadable workbook, or empty
            or undecodable text.

    Examples:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "population.csv"
        >>> _ = p.write_text("DÂN SỐ||\\ncommune_code|age_group|population\\n05443|18+|10\\n")
        >>> raw = read_raw(p, schemas.POPULATION)
        >>> raw.encoding, raw.delimiter, raw.header_row, raw.first_row
        ('utf-8', '|', 2, 3)
    """
    path = Path(path)
    if not path.is_file():
        raise InputDataError("file not found", path=str(path))
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise InputDataError("legacy .xls workbooks are not supported; save as .xlsx or CSV",
                             path=str(path))
    with path.open("rb") as fh:
        magic = fh.read(4)
    if suffix in XLSX_SUFFIXES or magic == b"PK\x03\x04":  # also an XLSX saved as .csv
        try:
            return read_xlsx(path, schema)
        except InputDataError:
            raise
        except Exception as exc:  # openpyxl/zip/XML errors of a damaged workbook
            raise InputDataError(f"cannot read the workbook ({type(exc).__name__}: {exc})",
                                 path=str(path)) from exc
    return read_delimited(path, schema)


# --------------------------------------------------------------------------------------------
# Mapping raw columns to the schema
# --------------------------------------------------------------------------------------------


def _col_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _unnamed(raw: RawTable) -> list[str]:
    """The positional columns whose header cell is empty."""
    return [f"c{j}" for j, h in enumerate(raw.headers) if h == ""]


def _map_headers(raw: RawTable, schema: TableSchema, path: Path, filled: Collection[str] | None = None
                 ) -> tuple[dict[str, str], list[str]]:
    """Raw positional column -> output column name, and the warnings for unknown extras.

    A column with an empty header is kept (as ``unnamed_<letter>``) when it holds a value:
    ``filled`` names the positional columns that do (None = look in ``raw.frame``)."""
    if filled is None:
        filled = [pos for pos in _unnamed(raw) if pos in raw.frame and raw.frame[pos].notna().any()]
    filled = set(filled)
    seen: dict[str, int] = {}
    mapping: dict[str, str] = {}
    extras: list[str] = []
    dupes: list[str] = []
    for j, h in enumerate(raw.headers):
        pos = f"c{j}"
        if h == "":
            if pos in filled:
                h = f"unnamed_{_col_letter(j)}"
            else:
                continue  # an empty trailing/filler column
        canon = recognise_header(h, schema)
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


def _parse_integers(s: pd.Series, raw: RawTable, path: Path, header: str) -> pd.Series:
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


def _map_vocab(s: pd.Series, vocab: Mapping[str, str], raw: RawTable, path: Path, header: str,
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
        more = f" ({int(bad.sum())} rows, values {shown_all[:MAX_LISTED]})" if bad.sum() > 1 else ""
        raise SchemaViolation(
            f"unknown value {shown} for {column}{more}; allowed: {allowed} "
            f"(as exported, any case and diacritics: {accepted})",
            path=str(path), row=raw.row_of(i), column=header)
    table = pa.array(mapped, type=pa.string())
    return pd.Series(table.take(pa.array(codes)).to_pandas(), index=s.index, dtype="str")


def _conform(raw: RawTable, schema: TableSchema, path: Path) -> tuple[pd.DataFrame, list[str]]:
    mapping, warns = _map_headers(raw, schema, path)
    return _conform_with(raw, schema, path, mapping), warns


def _conform_with(raw: RawTable, schema: TableSchema, path: Path, mapping: Mapping[str, str]) -> pd.DataFrame:
    """``raw``'s cells under the columns ``mapping`` gives them (``_map_headers``): the schema's
    columns in order (missing optional ones as NA), vocabularies mapped, integers parsed, then the
    extra columns. What the whole-file read and each streamed batch go through."""
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
    return pd.DataFrame(out, index=pd.RangeIndex(n))


# --------------------------------------------------------------------------------------------
# Loading a table, a folder
# --------------------------------------------------------------------------------------------


def _load(path: Path, schema: TableSchema) -> tuple[pd.DataFrame, RawTable, list[str]]:
    path = Path(path)
    try:
        raw = read_raw(path, schema)
    except OSError as exc:
        raise InputDataError(f"cannot read the file ({exc.strerror or exc})",
                             path=str(path)) from exc
    df, warns = _conform(raw, schema, path)
    return df, raw, raw.notes + warns


class TableSink(Protocol):
    """Where :func:`stream_table` puts a table's conformed rows, batch by batch, instead of
    holding them (``cleansing.phases.BucketWriter``: Parquet buckets of the dose rows)."""

    def write(self, batch: pd.DataFrame) -> None:
        """Take the next conformed rows (file order; RangeIndex from 0 in each batch)."""

    def discard(self) -> None:
        """Forget every batch taken: the table is read again, whole."""

    def finish(self, dropped: Sequence[str]) -> pd.DataFrame:
        """The last batch was taken; ``dropped``: columns of the batches the table has not
        (an empty-header column found empty in every batch). Returns what ``Inputs`` keeps of
        the table."""


#: ``open_sink(path, rows)``: the sink for the table in ``path``; ``rows`` is its row count when
#: the file was read whole (an XLSX, or after a failed stream), None while streaming.
OpenSink = Callable[[Path, int | None], TableSink]


def stream_table(path: Path | str, schema: TableSchema, open_sink: OpenSink, *,
                 block_size: int = STREAM_BLOCK_BYTES) -> tuple[pd.DataFrame, RawTable, list[str]]:
    """Load one input table into a sink, never holding all its rows: a delimited file is read
    batch by batch (``delimited.stream_delimited``: the whole-file read's options) and each batch
    conformed by the whole-file code (``_conform_with``) under one header decision. An XLSX is
    read whole and given to the sink as one batch (openpyxl reads ~15 k rows a second: a large
    export is a CSV).

    Anything failing while streaming (a malformed row, invalid UTF-8 after the first megabyte, an
    unknown status value, a full disk…) is not reported from the stream: the sink discards what it
    took and the file is read whole (:func:`load_table`'s path), which raises today's error (file,
    row, column) or, where the stream alone failed, gives the sink the whole table.

    Returns:
        What the sink keeps (``TableSink.finish``), the file's ``RawTable`` without rows (headers,
        encoding, delimiter, header row) and its warnings, as ``load_all`` records them.

    Examples:
        >>> import tempfile, pathlib
        >>> class Rows(list):
        ...     def write(self, batch): self.append(len(batch))
        ...     def discard(self): self.clear()
        ...     def finish(self, dropped): return pd.DataFrame({"batches": self})
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "population.csv"
        >>> _ = p.write_text("commune_code,age_group,population\\n" + "05443,18+,10\\n" * 50_000)
        >>> kept, raw, warns = stream_table(p, schemas.POPULATION, lambda path, rows: Rows(), block_size=1 << 18)
        >>> kept.batches.sum(), len(kept) > 1, raw.delimiter
        (np.int64(50000), True, ',')
    """
    path = Path(path)
    sink = open_sink(path, None)
    try:
        streamed = _stream(path, schema, sink, block_size)
        if streamed is not None:
            return streamed
    except Exception:  # reported by the whole-file read below, as today
        pass
    sink.discard()
    df, raw, warns = _load(path, schema)
    sink = open_sink(path, len(df))
    sink.write(df)
    return sink.finish([]), replace(raw, frame=raw.frame.iloc[:0]), warns


def _stream(path: Path, schema: TableSchema, sink: TableSink, block_size: int
            ) -> tuple[pd.DataFrame, RawTable, list[str]] | None:
    if path.suffix.lower() not in CSV_SUFFIXES:
        return None
    with path.open("rb") as fh:
        if fh.read(4) == b"PK\x03\x04":  # an XLSX saved as .csv
            return None
    opened = stream_delimited(path, schema, block_size=block_size)
    if opened is None:  # empty or header only
        return None
    header, batches = opened
    unnamed = _unnamed(header)
    mapping, _ = _map_headers(header, schema, path, filled=unnamed)  # every unnamed column, until seen empty
    filled: set[str] = set()
    for raw in batches:
        filled |= {pos for pos in unnamed if pos not in filled and raw.frame[pos].notna().any()}
        sink.write(_conform_with(raw, schema, path, mapping))
    final, warns = _map_headers(header, schema, path, filled=filled)
    return sink.finish([name for pos, name in mapping.items() if pos not in final]), header, warns


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
        and p.suffix.lower() in CSV_SUFFIXES + XLSX_SUFFIXES
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


@dataclass
class LoadedTables:
    """What ``load_all`` got from a folder: every table that loaded and every error, collected.

    Attributes:
        frames: canonical table per name, for the tables that loaded.
        sources: their ``SourceFile``.
        raws: their ``RawTable`` (raw headers and row numbers, for messages about their cells).
        warnings: warnings of the tables that loaded.
        errors: one error per table that did not load.
    """

    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    sources: dict[str, SourceFile] = field(default_factory=dict)
    raws: dict[str, RawTable] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    errors: list[InputDataError] = field(default_factory=list)


def load_all(folder: Path, sinks: Mapping[str, OpenSink] | None = None) -> LoadedTables:
    """Try every table of ``schemas.TABLES`` in ``folder``, collecting errors instead of raising:
    what ``load_inputs`` and ``validate_folder`` share. A table named in ``sinks`` is streamed
    into its sink (:func:`stream_table`): its frame is what the sink keeps, its ``RawTable``
    has no rows.

    Examples:
        >>> import tempfile, pathlib
        >>> loaded = load_all(pathlib.Path(tempfile.mkdtemp()))
        >>> loaded.frames, len(loaded.errors)
        ({}, 5)
    """
    out = LoadedTables()
    if not folder.is_dir():
        out.errors.append(InputDataError("input folder not found", path=str(folder)))
        return out
    with ThreadPoolExecutor(max_workers=2) as pool:
        for name, schema in schemas.TABLES.items():
            try:
                path = find_input(folder, name)
                digest = pool.submit(sha256_file, path)  # hashing overlaps parsing
                if sinks and name in sinks:
                    df, raw, w = stream_table(path, schema, sinks[name])
                else:
                    df, raw, w = _load(path, schema)
                out.sources[name] = SourceFile(path=path, sha256=digest.result(), rows=len(df),
                                               encoding=raw.encoding, delimiter=raw.delimiter,
                                               sheet=raw.sheet, header_row=raw.header_row)
                out.frames[name], out.raws[name] = df, raw
                out.warnings += w
            except InputDataError as exc:
                out.errors.append(exc)
    return out


def load_inputs(folder: Path | str, *, sinks: Mapping[str, OpenSink] | None = None) -> Inputs:
    """Load the five input tables of a period folder (never modifying the files).

    Args:
        folder: folder holding ``doses``, ``site_tallies``, ``feedback``, ``registry`` and
            ``population`` as CSV or XLSX (see ``find_input``).
        sinks: tables streamed into a sink instead of held (:func:`stream_table`): the table
            in ``Inputs`` is what the sink keeps; sources and warnings are the same.

    Returns:
        ``Inputs`` with canonical-column DataFrames (see ``load_table``), each file's
        ``SourceFile`` (sha256, rows, encoding, delimiter) and the warnings (unknown extra
        columns, XLSX footers not loaded).

    Raises:
        InputDataError: the one error if a single table failed (``SchemaViolation`` kept);
            otherwise one error listing every table that failed, one ``- ...`` line each.
    """
    folder = Path(folder)
    loaded = load_all(folder, sinks)
    if len(loaded.errors) == 1:
        raise loaded.errors[0]
    if loaded.errors:
        raise InputDataError(f"{len(loaded.errors)} input problems in {folder}:\n"
                             + "\n".join(f"- {e}" for e in loaded.errors)) from loaded.errors[0]
    return Inputs(**loaded.frames, sources=loaded.sources, warnings=loaded.warnings)
