"""String columns for the cleanser: Arrow-backed text columns built, read and patched without per-row work.

The parsers (``parse``, ``dates``, ``ids``, ``phones``) and the steps share these seams. A column
of 3 M rows usually holds few distinct values and few values to repair, so the helpers work on
the unique values (``on_uniques``), skip the values already in canonical form
(``on_noncanonical``), and build or patch whole Arrow string arrays (``na_str``, ``const_str``,
``take_str``, ``put_str``) instead of assigning row by row.

Examples:
    >>> s = pd.Series(["a", "b", "c"], dtype="str")
    >>> put_str(s, np.array([False, True, False]), pd.Series(["B"], dtype="str")).tolist()
    ['a', 'B', 'c']
    >>> take_str(["x", "y"], np.array([1, -1, 0]), pd.RangeIndex(3)).tolist()
    ['y', nan, 'x']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["arrow", "const_str", "fixed_width_bytes", "na_str", "on_noncanonical", "on_uniques",
           "put_str", "take_str", "to_text"]


def on_uniques(values: pd.Series, func: Callable[[pd.Series], pd.DataFrame]) -> pd.DataFrame:
    """Apply ``func`` to the unique non-NA values of ``values`` and map the result back.

    ``func`` receives a Series of unique values (RangeIndex) and returns a DataFrame with one
    row per unique value. Rows whose input is NA get the result of ``func`` on an empty input
    filled with NA (callers handle NA themselves via the returned frame's dtypes).

    Examples:
        >>> on_uniques(pd.Series(["a", None, "a"], dtype="str"),
        ...            lambda u: pd.DataFrame({"up": u.str.upper()}))["up"].tolist()
        ['A', nan, 'A']
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    res = func(pd.Series(uniques, dtype=values.dtype if values.dtype != object else object))
    res = res.reset_index(drop=True)
    if (codes < 0).any():
        # Append one NA row for the sentinel, typed like each column.
        na_row = res.iloc[:0].reindex([len(res)])
        res = pd.concat([res, na_row]) if len(res) else na_row
        codes = np.where(codes < 0, len(res) - 1, codes)
    out = res.take(codes)
    out.index = values.index
    return out


def to_text(values: pd.Series) -> pd.Series:
    """Values as pandas strings (NA kept); numbers lose a ``.0`` only through their parsers.

    Examples:
        >>> to_text(pd.Series([1, None])).tolist()
        ['1.0', nan]
    """
    if isinstance(values.dtype, pd.StringDtype):
        return values
    return values.astype("str")


def na_str(index: pd.Index) -> pd.Series:
    """An all-NA string column (built in Arrow: no per-row work).

    Examples:
        >>> na_str(pd.RangeIndex(2)).tolist()
        [nan, nan]
    """
    return pd.Series(pd.array(pa.nulls(len(index), pa.large_string()), dtype="str"), index=index,
                     copy=False)


def const_str(value: str, index: pd.Index) -> pd.Series:
    """A string column holding ``value`` on every row (built in Arrow).

    Examples:
        >>> const_str("ok", pd.RangeIndex(2)).tolist()
        ['ok', 'ok']
    """
    arr = pa.array([value], type=pa.large_string()).take(pa.array(np.zeros(len(index), np.int32)))
    return pd.Series(pd.array(arr, dtype="str"), index=index, copy=False)


def take_str(values: Sequence[str | None], codes: np.ndarray, index: pd.Index) -> pd.Series:
    """String column ``values[codes]`` (``values`` per unique key, ``codes`` per row, -1 = NA)."""
    idx = pa.array(codes, mask=codes < 0) if len(codes) and codes.min() < 0 else pa.array(codes)
    arr = pa.array(list(values), type=pa.large_string()).take(idx)
    return pd.Series(pd.array(arr, dtype="str"), index=index, copy=False)


def arrow(s: pd.Series) -> pa.Array:
    """A text column as one Arrow string array (no copy for pandas' Arrow-backed strings).

    Examples:
        >>> arrow(pd.Series(["a", None], dtype="str")).to_pylist()
        ['a', None]
    """
    a = getattr(s.array, "_pa_array", None)
    if a is None:
        return pa.array(to_text(s).to_numpy(dtype=object, na_value=None), type=pa.large_string())
    return a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a


def put_str(s: pd.Series, mask: np.ndarray, values: pd.Series) -> pd.Series:
    """A copy of string column ``s`` with the rows of ``mask`` replaced by ``values`` (in order)."""
    arr = arrow(s)
    fill = arrow(values).cast(arr.type)
    pos = np.cumsum(mask) - 1
    merged = pc.if_else(pa.array(mask), fill.take(pa.array(np.where(mask, pos, 0))), arr)
    return pd.Series(pd.array(merged, dtype=s.dtype), index=s.index, name=s.name, copy=False)


def fixed_width_bytes(arr: pa.Array, width: int) -> np.ndarray:
    """The values of ``arr`` (all ``width`` bytes long, no nulls) as an (n, width) uint8 matrix.

    Examples:
        >>> fixed_width_bytes(pa.array(["ab", "cd"]), 2).tolist()
        [[97, 98], [99, 100]]
    """
    arr = arr.cast(pa.large_string()) if arr.type != pa.large_string() else arr
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64, count=len(arr) + 1,
                            offset=arr.offset * 8)
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8) if len(arr) else np.zeros(0, np.uint8)
    return data[offsets[0]:offsets[-1]].reshape(len(arr), width)


def on_noncanonical(text: pd.Series, canonical: str,
                    func: Callable[[pd.Series], pd.DataFrame], *, keep: tuple[str, ...],
                    false: tuple[str, ...] = (), true: tuple[str, ...] = ()) -> pd.DataFrame:
    """``on_uniques(text, func)`` computed only for the values not matching ``canonical``.

    Most values of a column are already in canonical form (a 12-digit CCCD, a valid 10-digit
    mobile); one regex pass finds them and ``func`` parses the rest. A canonical value's result
    must be known without parsing it: the value itself in the ``keep`` columns, False in the
    ``false`` columns, True in the ``true`` columns, NA in the others. Same result as
    ``on_uniques(text, func)``.
    """
    hit = np.asarray(pc.match_substring_regex(arrow(text), canonical).fill_null(False), bool)
    if not hit.any():
        return on_uniques(text, func)
    rest = ~hit
    sub = on_uniques(text[rest], func) if rest.any() else func(pd.Series([], dtype="str"))
    out = {}
    for col in sub.columns:
        if col in false or col in true:
            a = np.full(len(text), col in true, dtype=bool)
            a[rest] = sub[col].fillna(False).to_numpy(bool)  # NA input: False, as before
            out[col] = pd.Series(a, index=text.index)
        else:
            base = text if col in keep else na_str(text.index)
            out[col] = put_str(base, rest, sub[col]) if rest.any() else base.copy()
    return pd.DataFrame(out, index=text.index)
