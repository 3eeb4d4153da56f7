"""Small vectorised helpers of the synthesiser: weights, strings of numbers, dates, random picks.

Dates are ``int64`` days since 1970-01-01 (timestamps: seconds); strings are pyarrow arrays, built
once per distinct value where that is cheaper (a date range formatted once, then taken).

Examples:
    >>> fmt_date(np.array([19143]), np.array([0])).to_pylist()
    ['31/05/2022']
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

DAYS_PER_YEAR = 365.2425  # the mean Gregorian year


def probs(w: np.ndarray | list[float]) -> np.ndarray:
    """Weights scaled to sum to 1.

    >>> probs([1, 3]).tolist()
    [0.25, 0.75]
    """
    a = np.asarray(w, dtype=float)
    return a / a.sum()


def as_str(values: np.ndarray | pa.Array) -> pa.Array:
    """Integers as strings.

    >>> as_str(np.array([7, 12])).to_pylist()
    ['7', '12']
    """
    arr = values if isinstance(values, pa.Array) else pa.array(values)
    return pc.cast(arr, pa.string())


def zero_pad(values: np.ndarray | np.integer, width: int) -> pa.Array:
    """Integers as strings left-padded with zeros to ``width``.

    >>> zero_pad(np.array([7]), 3).to_pylist()
    ['007']
    """
    return pc.utf8_lpad(as_str(values), width=width, padding="0")


def join(*parts: pa.Array | str, sep: str = "") -> pa.Array:
    """Element-wise join of string arrays and scalars.

    >>> join(pa.array(["a"]), "b", sep="-").to_pylist()
    ['a-b']
    """
    return pc.binary_join_element_wise(*parts, sep)


def _ymd_exact(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d64 = days.astype("datetime64[D]")
    y = d64.astype("datetime64[Y]")
    m = d64.astype("datetime64[M]")
    return (y.astype(np.int64) + 1970, (m - y.astype("datetime64[M]")).astype(np.int64) + 1,
            (d64 - m.astype("datetime64[D]")).astype(np.int64) + 1)


def ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month, day of dates given as days since 1970-01-01 (lookup over the date range).

    >>> [int(x[0]) for x in ymd(np.array([19143]))]
    [2022, 5, 31]
    """
    days = np.asarray(days, dtype=np.int64)
    if days.size < 4096:
        return _ymd_exact(days)
    lo = int(days.min())
    span = int(days.max()) - lo + 1
    if span > days.size:
        return _ymd_exact(days)
    y, m, d = _ymd_exact(np.arange(lo, lo + span))
    k = days - lo
    return y[k], m[k], d[k]


def as_seconds(days: np.ndarray) -> np.ndarray:
    """Days since epoch as ``datetime64[s]`` (pandas reads them as datetimes).

    >>> str(as_seconds(np.array([19143]))[0])
    '2022-05-31T00:00:00'
    """
    return days.astype("datetime64[D]").astype("datetime64[s]")


def to_days(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since epoch of (year, month, day); days past a month's end run into the next month.

    >>> to_days(np.array([2022]), np.array([5]), np.array([31])).tolist()
    [19143]
    """
    months = (np.asarray(y) - 1970) * 12 + np.asarray(m) - 1
    return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) + np.asarray(d) - 1


def pick(mask: np.ndarray, rate: float | np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask: each True of ``mask`` kept with probability ``rate``.

    >>> pick(np.array([True, False]), 1.0, np.random.default_rng(0)).tolist()
    [True, False]
    """
    return mask & (rng.random(mask.shape[0]) < rate)


def unique_numbers(prefix: np.ndarray, digits: int, rng: np.random.Generator) -> np.ndarray:
    """``prefix * 10**digits + random`` without repeats (redraws the collisions).

    >>> n = unique_numbers(np.full(50, 9), 2, np.random.default_rng(1))
    >>> len(set(n.tolist())), int(n.min()) >= 900
    (50, True)
    """
    base = prefix.astype(np.int64) * 10 ** digits
    out = base + rng.integers(0, 10 ** digits, prefix.shape[0])
    for _ in range(100):
        srt = np.sort(out)
        dupvals = np.unique(srt[1:][srt[1:] == srt[:-1]])
        if dupvals.size == 0:
            break
        pos = np.flatnonzero(np.isin(out, dupvals))
        _, first = np.unique(out[pos], return_index=True)
        redo = np.delete(pos, first)
        out[redo] = base[redo] + rng.integers(0, 10 ** digits, redo.size)
    return out


def _fmt_date_exact(days: np.ndarray, style: int) -> pa.Array:
    y, m, d = _ymd_exact(days)
    ys, mm, dd = as_str(y), zero_pad(m, 2), zero_pad(d, 2)
    if style == 1:
        return join(as_str(d), as_str(m), ys, sep="/")
    if style == 2:
        return join(ys, mm, dd, sep="-")
    if style == 3:
        return join(dd, mm, ys, sep="-")
    if style == 4:
        return as_str(days + 25569)
    if style == 5:
        return as_str(days * 86_400_000)
    return join(dd, mm, ys, sep="/")


def fmt_date(days: np.ndarray, style: np.ndarray) -> pa.Array:
    """Dates (days since epoch) as strings; style 0 dd/mm/yyyy, 1 d/m/yyyy, 2 yyyy-mm-dd,
    3 dd-mm-yyyy, 4 Excel serial, 5 epoch milliseconds (the platform API).

    Formats each (date, style) of the range once, then takes.

    >>> fmt_date(np.array([19143, 19143, 19143]), np.array([0, 2, 4])).to_pylist()
    ['31/05/2022', '2022-05-31', '44712']
    """
    days = np.asarray(days, dtype=np.int64)
    style = np.asarray(style, dtype=np.int64)
    if days.size == 0:
        return pa.array([], pa.string())
    lo = int(days.min())
    span = int(days.max()) - lo + 1
    styles = np.unique(style)
    rng_days = np.arange(lo, lo + span)
    table = pa.concat_arrays([_fmt_date_exact(rng_days, int(st)) for st in styles])
    k = np.searchsorted(styles, style) * span + (days - lo)
    return table.take(pa.array(k))


_CLOCK: list[pa.Array] = []


def fmt_timestamp(seconds: np.ndarray) -> pa.Array:
    """Seconds since epoch as ``dd/mm/yyyy HH:MM:SS``.

    >>> fmt_timestamp(np.array([19143 * 86400 + 3661])).to_pylist()
    ['31/05/2022 01:01:01']
    """
    if not _CLOCK:
        sod = np.arange(86_400)
        _CLOCK.append(join(zero_pad(sod // 3600, 2), zero_pad(sod // 60 % 60, 2), zero_pad(sod % 60, 2), sep=":"))
    seconds = np.asarray(seconds, dtype=np.int64)
    date = fmt_date(seconds // 86_400, np.zeros(seconds.size, np.int64))
    return join(date, _CLOCK[0].take(pa.array(seconds % 86_400)), sep=" ")
