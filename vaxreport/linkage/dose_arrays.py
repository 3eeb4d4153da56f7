"""Integer-coded numpy arrays of dose rows: day numbers, group runs, sorting, ages.

The reconciliation (:mod:`vaxreport.linkage.doses`) and the per-person checks
(:mod:`vaxreport.linkage.dose_checks`) work on whole columns coded as int64 and sorted once; these
are their shared helpers. Dates are int64 days (or seconds) since the epoch with :data:`NAT` for a
missing value, so that a missing date sorts after every real one.

Examples:
    >>> epoch_days(pd.Series(pd.to_datetime(["1970-01-02", None]))).tolist() == [1, NAT]
    True
    >>> age_years(np.array([0]), np.array([366])).tolist()
    [1]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NAT = np.iinfo(np.int64).max  # sorts after every real date


def epoch_days(s: pd.Series) -> np.ndarray:
    """Datetime Series -> int64 days since epoch, NaT -> NAT."""
    d = pd.to_datetime(s, errors="coerce")
    out = d.to_numpy(dtype="datetime64[D]").astype(np.int64)
    out[d.isna().to_numpy()] = NAT
    return out


def epoch_seconds(s: pd.Series) -> np.ndarray:
    """Datetime Series -> int64 seconds since epoch, NaT -> NAT."""
    d = pd.to_datetime(s, errors="coerce")
    out = d.to_numpy(dtype="datetime64[s]").astype(np.int64)
    out[d.isna().to_numpy()] = NAT
    return out


def int_codes(s: pd.Series) -> np.ndarray:
    """Integer codes of a column; NA gets its own code (NA == NA for grouping)."""
    codes, _ = pd.factorize(s, use_na_sentinel=False)
    return codes.astype(np.int64)


def group_start(new_group: np.ndarray) -> np.ndarray:
    """For rows in group order, the index of the first row of each row's group."""
    idx = np.arange(len(new_group))
    return np.maximum.accumulate(np.where(new_group, idx, 0)) if len(idx) else idx


def _offset(a: np.ndarray) -> tuple[np.ndarray, int]:
    """Shift an int array to start at 0; return it with its value range (max - min + 1)."""
    nat = a == NAT
    if nat.any():  # missing dates sort last
        a = np.where(nat, (a[~nat].max() + 1) if (~nat).any() else 0, a)
    lo, hi = int(a.min()), int(a.max())
    if hi - lo >= 2**62:  # cannot pack (e.g. a NAT sentinel next to small values): rank it
        u, inv = np.unique(a, return_inverse=True)
        return inv.astype(np.int64), len(u)
    return a - lo, hi - lo + 1


def _pack(keys: list[np.ndarray]) -> list[np.ndarray]:
    """Pack lexsort keys (last = primary) into as few int64 keys as their value ranges allow."""
    packed: list[np.ndarray] = []
    cur: np.ndarray | None = None
    width = 1
    for k in keys:
        r, size = _offset(k) if k.size else (k.astype(np.int64), 1)
        if cur is not None and width * max(size, 1) < 2**62:
            cur = cur + r * width
            width *= max(size, 1)
        else:
            if cur is not None:
                packed.append(cur)
            cur, width = r, max(size, 1)
    if cur is not None:
        packed.append(cur)
    return packed


def sort_with_record_tiebreak(keys: list[np.ndarray], record_id: pd.Series, *,
                               major: int | None = None, hint: np.ndarray | None = None,
                               row_of: np.ndarray | None = None) -> np.ndarray:
    """``np.lexsort(keys)`` (last key primary) with ties broken by ``record_id`` (string order).

    Full ties (equal ``record_id`` too) keep the input order. Only rows whose keys tie are
    ranked by record_id (ranking all ids costs seconds at scale).

    Args:
        keys: sort keys, last = primary.
        record_id: record ids of the rows (``record_id.iloc[row_of[i]]`` for row ``i`` when
            ``row_of`` is given, so that a subset need not copy the string column).
        major: sort by the last ``major`` keys packed into one int64 first, then order only the
            runs that tie on them by the remaining keys (one sort of all rows, small sorts of
            the few ties).
        hint: an order that is already close to the result (it must list every row once);
            speeds up the sort and never changes its result.
        row_of: positions of the rows in ``record_id``.

    >>> rid = pd.Series(["b", "a", "c", "d"])
    >>> sort_with_record_tiebreak([np.array([0, 0, 1, 0]), np.array([1, 1, 0, 1])], rid)
    array([2, 1, 0, 3])
    >>> sort_with_record_tiebreak([np.array([0, 0, 1, 0]), np.array([1, 1, 0, 1])], rid, major=1)
    array([2, 1, 0, 3])
    """
    n = len(keys[0]) if keys else 0
    if major is not None and 0 < major < len(keys) and n > 1:
        packed = _pack(keys[len(keys) - major:])
        if len(packed) == 1:
            k = packed[0]
            if hint is None:
                order = np.argsort(k, kind="stable")
            else:  # a stable sort of nearly sorted data is close to linear
                order = hint[np.argsort(k[hint], kind="stable")]
            ks = k[order]
            eq = ks[1:] == ks[:-1]
            if not eq.any():
                return order
            tie = np.zeros(n, bool)
            tie[1:] |= eq
            tie[:-1] |= eq
            rows = np.sort(order[tie])  # input order, so that full ties stay stable
            sub = sort_with_record_tiebreak([a[rows] for a in keys], record_id,
                                             row_of=rows if row_of is None else row_of[rows])
            order[tie] = rows[sub]  # tie runs are contiguous and sorted by the packed key
            return order
    keys = _pack(keys)
    order = np.lexsort(keys) if len(keys) > 1 else np.argsort(keys[0], kind="stable")
    if n < 2:
        return order
    eq = np.ones(n - 1, bool)
    for k in keys:
        ks = k[order]
        eq &= ks[1:] == ks[:-1]
    if not eq.any():
        return order
    tie = np.zeros(n, bool)
    tie[1:] |= eq
    tie[:-1] |= eq
    rows = order[tie]
    rank = np.zeros(n, np.int64)
    at = rows if row_of is None else row_of[rows]
    rank[rows], _ = pd.factorize(record_id.iloc[at].astype("string"), sort=True)
    return np.lexsort([rank, *keys])


def civil(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Days since 1970-01-01 -> (year, month * 100 + day), pure integer arithmetic.

    H. Hinnant's ``civil_from_days``; much faster than datetime64 unit conversions.

    >>> civil(np.array([0, 19144]))
    (array([1970, 2022]), array([101, 601]))
    """
    z = days + 719468
    era = np.floor_divide(z, 146097)
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    return yoe + era * 400 + (month <= 2), month * 100 + day


def civil_key(days: np.ndarray) -> np.ndarray:
    """``year * 10000 + month * 100 + day`` of int days since epoch (any value, NAT too).

    Dates repeat (a few hundred dose days, tens of thousands of birth days), so the calendar
    arithmetic runs once per day of the covered range rather than once per row.
    """
    if not len(days):
        return days.copy()
    lo, hi = int(days.min()), int(days.max())
    if hi - lo < min(len(days), 1 << 22):
        year, md = civil(np.arange(lo, hi + 1, dtype=np.int64))
        return (year * 10000 + md)[days - lo]
    year, md = civil(days)
    return year * 10000 + md


def age_years(birth_days: np.ndarray, at_days: np.ndarray) -> np.ndarray:
    """Completed years between two int day arrays; -1 where either is missing.

    >>> age_years(np.array([0, 0, NAT]), np.array([365, 364, 365]))
    array([ 1,  0, -1])
    """
    ok = (birth_days != NAT) & (at_days != NAT)
    born = civil_key(np.where(ok, birth_days, 0))
    at = civil_key(np.where(ok, at_days, 0))
    return np.where(ok, (at - born) // 10000, -1)


def group_cummax(a: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Running maximum of ``a`` (>= 0, finite) within runs of ``group`` (sorted, 0-based, each
    run contiguous).

    >>> group_cummax(np.array([1., 0., 2., 0., 1.]), np.array([0, 0, 0, 1, 1]))
    array([1., 1., 2., 0., 1.])
    """
    if not len(a):
        return a.astype(float)
    width = float(a.max()) + 1
    if width * (float(group[-1]) + 1) >= 2.0**52:  # beyond exact float integers
        return pd.Series(a).groupby(group).cummax().to_numpy(float)
    lifted = a + group * width  # later runs sit above earlier ones
    return np.maximum.accumulate(lifted) - group * width

