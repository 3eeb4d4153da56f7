"""Writing run outputs: atomically (temporary file + rename), byte-reproducibly, with owner-only
modes for personal data; and the sha256 of a file, for manifests and input provenance."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from vaxreport import frames


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x"; _ = p.write_bytes(b"")
    >>> sha256_file(p)[:12]
    'e3b0c44298fc'
    """
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def write_bytes(data: bytes, path: str | os.PathLike[str], *, private: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    return atomic_write(Path(path), lambda fh: fh.write(data), private=private)


def write_text(text: str, path: str | os.PathLike[str], *, private: bool = False) -> Path:
    """Write ``text`` as UTF-8 to ``path`` atomically (see :func:`atomic_write`)."""
    return write_bytes(text.encode("utf-8"), path, private=private)




def atomic_write(path: str | os.PathLike[str], data_writer: Callable[[BinaryIO], object], *,
                 private: bool = False) -> Path:
    """Write a file through ``data_writer(fh)`` into a temporary file beside ``path``, then rename:
    a reader never sees half a file. Mode 0o600 when ``private`` (personal data), else 0o644;
    parent folders are created.

    >>> import tempfile, pathlib
    >>> p = atomic_write(pathlib.Path(tempfile.mkdtemp()) / "a" / "x.txt", lambda fh: fh.write(b"ok"))
    >>> p.read_bytes(), oct(p.stat().st_mode & 0o777)
    (b'ok', '0o644')
    """
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
    return path


def write_parquet(df: pd.DataFrame, path: str | os.PathLike[str], *, private: bool = False,
                  plain_text: bool = False) -> Path:
    """Write ``df`` as a byte-reproducible parquet file, atomically.

    zstd level 1 (as small as level 3 on our tables, a quarter faster), no row-group statistics
    beyond pyarrow's defaults, pandas dtype metadata kept
    (it holds no timestamps), index stored only if it is not a RangeIndex.

    Args:
        df: the frame to write.
        path: destination; parent folders are created.
        private: file mode 0o600 (personal data) instead of 0o644.
        plain_text: categorical columns written as the text they stand for (``frames.plain``),
            converted a row group at a time: the file of the plain frame, without a plain copy
            of the whole (a province's dose facts hold their text as categoricals).

    Examples:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.parquet"
        >>> df = pd.DataFrame({"id": ["019"], "n": pd.array([1], dtype="Int64")})
        >>> a = write_parquet(df, p).read_bytes(); b = write_parquet(df, p).read_bytes()
        >>> a == b, pd.read_parquet(p).equals(df)
        (True, True)
    """
    schema = pa.Schema.from_pandas(df, preserve_index=None)  # the whole frame's types and pandas metadata
    if plain_text:
        schema = _with_index_of(pa.Schema.from_pandas(frames.plain(df.iloc[:0]), preserve_index=None), schema)
    # one row group converted at a time: never an Arrow copy of the whole frame (a province's line list)
    groups = (df.iloc[start:start + ROW_GROUP_ROWS] for start in range(0, max(len(df), 1), ROW_GROUP_ROWS))
    return write_parquet_groups(schema, map(frames.plain, groups) if plain_text else groups, path, private=private)


def _with_index_of(schema: pa.Schema, whole: pa.Schema) -> pa.Schema:
    """``schema`` with the index as ``whole``'s pandas metadata records it (a RangeIndex is
    recorded with its start, stop and step: an empty frame's is not the whole frame's)."""
    meta = json.loads(schema.metadata[b"pandas"])
    meta["index_columns"] = json.loads(whole.metadata[b"pandas"])["index_columns"]
    return schema.with_metadata({**schema.metadata, b"pandas": json.dumps(meta).encode()})


def write_parquet_groups(schema: pa.Schema, groups: Iterable[pd.DataFrame], path: str | os.PathLike[str], *,
                         private: bool = False) -> Path:
    """Write frames as the row groups of one Parquet file, converted one at a time with
    ``schema`` (``pa.Schema.from_pandas`` of the whole, pandas metadata included): when every
    group but the last has :data:`ROW_GROUP_ROWS` rows, the bytes :func:`write_parquet` writes
    of their concatenation — for a table whose rows are never all in one process.

    >>> import tempfile, pathlib
    >>> df = pd.DataFrame({"n": range(5)})
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> a = write_parquet(df, d / "a.parquet").read_bytes()
    >>> b = write_parquet_groups(pa.Schema.from_pandas(df), [df], d / "b.parquet").read_bytes()
    >>> a == b
    True
    """
    path = Path(path)

    def write(fh: BinaryIO) -> None:
        with pq.ParquetWriter(fh, schema, compression="zstd", compression_level=1) as writer:
            for group in groups:
                rows = pa.Table.from_pandas(group, schema=schema, preserve_index=None)
                writer.write_table(_contiguous(rows.replace_schema_metadata(schema.metadata)),
                                   row_group_size=ROW_GROUP_ROWS)

    atomic_write(path, write, private=private)
    return path


#: Rows per Parquet row group (pyarrow's default); each is made contiguous on its own, so a
#: multi-chunk column is copied one row group at a time, not whole.
ROW_GROUP_ROWS = 1024 * 1024


def _contiguous(table: pa.Table) -> pa.Table:
    """``table`` with each column in one chunk. The Parquet writer's pages and dictionary
    fallbacks follow the chunks, so the same values held in other chunks (a frame concatenated
    from partitions) would give other bytes. Single-chunk columns are not copied."""
    if all(col.num_chunks <= 1 for col in table.columns):
        return table
    return pa.Table.from_arrays([col.combine_chunks() if col.num_chunks > 1 else col for col in table.columns],
                                schema=table.schema)


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


def write_json(obj: Any, path: str | os.PathLike[str], *, private: bool = False) -> Path:
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
    atomic_write(Path(path), lambda fh: fh.write(data), private=private)
    return Path(path)
