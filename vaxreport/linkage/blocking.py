"""Blocking: the candidate pairs, from several cheap keys (:data:`BLOCKING_RULES`), never a
cross product.  A block larger than its rule's cap pairs each record with its ``window``
neighbours in name, then birth-date order only.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from vaxreport.linkage.prepare import PreparedFields, dob_int, prepare_fields
from vaxreport.linkage.threads import thread_map

#: Blocking rules: name → (key fields, cap on all-pairs block size, neighbour window beyond it).
BLOCKING_RULES: dict[str, tuple[tuple[str, ...], int, int]] = {
    "id": (("id",), 20, 5),
    "id_tail6": (("id_tail6",), 20, 5),
    "id_head9": (("id_head9",), 20, 5),
    "id_head6_tail3": (("id_head6_tail3",), 20, 5),
    "id_head6_sorted6": (("id_head6_sorted6",), 20, 5),
    "phone": (("phone",), 30, 8),
    "name_year": (("sorted_name", "year"), 30, 6),
    "given_dob_any_order": (("given", "year", "dm_lo", "dm_hi"), 40, 8),
    "surname_initial_dob": (("surname", "given_first", "year", "dm_lo", "dm_hi"), 30, 6),
    "surname_final_dob": (("surname", "given_last", "year", "dm_lo", "dm_hi"), 30, 6),
    "name_commune": (("name", "commune"), 30, 6),
    "name_day_month": (("name", "month", "day"), 30, 6),
    "dob_commune": (("year", "month", "day", "commune"), 30, 6),
    "dob_address_number": (("year", "dm_lo", "dm_hi", "address_number"), 30, 6),
}


def combine_keys(prep: PreparedFields, names: tuple[str, ...]) -> np.ndarray:
    """One dense int64 key per row from several fields; -1 if any part is missing.

    Args:
        prep: the prepared table (:func:`~vaxreport.linkage.prepare.prepare_fields`).
        names: code arrays of ``prep.codes`` or the date parts ``year, month, day, dm_lo,
            dm_hi`` (day and month in either order).

    Returns:
        Per row a key (0, 1, … in order of first appearance), equal where all parts are.

    Examples:
        >>> p = prepare_fields(pd.DataFrame({"full_name": ["Lê An", "Le An", None],
        ...                                  "birth_date": ["1990-01-02", "02/01/1990", "1990"]}))
        >>> combine_keys(p, ("name", "year", "month", "day")).tolist()
        [0, 0, -1]
    """
    derived = {
        "year": np.where(prep.y > 0, prep.y, -1),
        "month": np.where(prep.m > 0, prep.m, -1),
        "day": np.where(prep.d > 0, prep.d, -1),
        "dm_lo": np.where(prep.m > 0, np.minimum(prep.m, prep.d), -1),
        "dm_hi": np.where(prep.m > 0, np.maximum(prep.m, prep.d), -1),
    }
    key = np.zeros(prep.n, np.int64)
    bad = np.zeros(prep.n, bool)
    for name in names:
        part = derived[name] if name in derived else prep.codes[name]
        part = part.astype(np.int64)
        bad |= part < 0
        key = key * (int(part.max(initial=0)) + 2) + (part + 1)
        if key.max(initial=0) > 2**40:
            key = pd.factorize(key)[0].astype(np.int64)
    key = np.where(bad, -1, key)
    dense = pd.factorize(key)[0].astype(np.int64)
    return np.where(bad, -1, dense)


def block_pairs(key: np.ndarray, rank: np.ndarray, cap: int,
                window: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of rows sharing a key: all pairs in blocks of ≤ cap rows, else each row with its
    ``window`` next rows in ``rank`` order (a permutation of the rows: name, then birth date).

    Args:
        key: per row a non-negative block key, -1 for none (:func:`combine_keys`).
        rank: per row its position in the neighbour order (:func:`name_date_rank`).
        cap: largest block paired all against all.
        window: neighbours each row of a larger block is paired with.

    Returns:
        Row positions ``a, b`` of the pairs (int64), ``a`` before ``b`` in ``rank`` order.

    Examples:
        >>> a, b = block_pairs(np.array([0, 0, 0, -1, 1]), np.arange(5), cap=2, window=1)
        >>> list(zip(a.tolist(), b.tolist()))
        [(0, 1), (1, 2)]
    """
    rows = np.flatnonzero(key >= 0)
    if rows.size < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    order = rows[np.argsort(key[rows] * np.int64(rank.size) + rank[rows])]
    k = key[order]
    cut = np.flatnonzero(k[1:] != k[:-1]) + 1
    starts = np.concatenate(([0], cut))
    ends = np.concatenate((cut, [k.size]))
    sizes = ends - starts
    gid = np.repeat(np.arange(starts.size), sizes)
    pos = np.arange(k.size)
    gend = ends[gid]
    gsize = sizes[gid]
    small = (gsize >= 2) & (gsize <= cap)
    p = pos[small]
    cnt = gend[small] - p - 1
    left = np.repeat(p, cnt)
    offs = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    lefts, rights = [left], [left + 1 + offs]
    big = gsize > cap
    pb, geb = pos[big], gend[big]
    for w in range(1, window + 1):
        ok = pb + w < geb
        lefts.append(pb[ok])
        rights.append(pb[ok] + w)
    a = order[np.concatenate(lefts)]
    b = order[np.concatenate(rights)]
    return a.astype(np.int64), b.astype(np.int64)


def name_date_rank(prep: PreparedFields) -> np.ndarray:
    """Per row its position in folded-name, then birth-date order (ties by row): the order in
    which a block over its cap pairs neighbours.

    Examples:
        >>> p = prepare_fields(pd.DataFrame({"full_name": ["Trần An", "Lê An", "Lê An"],
        ...                                  "birth_date": ["1990", "2001-05-06", "1980-01-01"]}))
        >>> name_date_rank(p).tolist()
        [2, 1, 0]
    """
    n = prep.n
    tiebreak = prep.codes["name"].astype(np.int64) * 100_000_000 + dob_int(prep.y, prep.m,
                                                                            prep.d) % 100_000_000
    rank = np.empty(n, np.int64)
    rank[np.argsort(tiebreak, kind="stable")] = np.arange(n)
    return rank


def block_candidates(prep: PreparedFields, rules: Mapping[str, tuple[tuple[str, ...], int, int]], *,
                     unique: bool = True, workers: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs (a < b) of a prepared table from blocking rules.

    With ``unique=False`` a pair found by several rules repeats (harmless for clustering, and
    cheaper than sorting tens of millions of codes).  The rules run on ``workers`` threads;
    the pairs come in rule order whatever their number.

    Args:
        prep: the prepared table (:func:`~vaxreport.linkage.prepare.prepare_fields`).
        rules: name → (key fields, cap, window), like :data:`BLOCKING_RULES`.
        unique: sort the pairs and drop repeats.
        workers: threads (:func:`~vaxreport.linkage.threads.thread_map`).

    Returns:
        Row positions ``a, b`` (int64) with ``a < b``.

    Examples:
        >>> p = prepare_fields(pd.DataFrame({"full_name": ["Lê An", "Le An", "Trần Bình"],
        ...                                  "birth_date": ["1990", "1990", None],
        ...                                  "phone": ["0912345678", None, "0912345678"]}))
        >>> [x.tolist() for x in block_candidates(p, BLOCKING_RULES)]
        [[0, 0], [1, 2]]
    """
    n = prep.n
    rank = name_date_rank(prep)

    def rule_pairs(rule: tuple[tuple[str, ...], int, int]) -> tuple[np.ndarray, np.ndarray]:
        names, cap, window = rule
        a, b = block_pairs(combine_keys(prep, names), rank, cap, window)
        return np.minimum(a, b), np.maximum(a, b)

    chunks = thread_map(rule_pairs, rules.values(), workers)
    if not chunks:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    lo = np.concatenate([c[0] for c in chunks])
    hi = np.concatenate([c[1] for c in chunks])
    if not unique:
        return lo, hi
    code = sorted_unique(lo * n + hi)
    return code // max(n, 1), code % max(n, 1)


def sorted_unique(x: np.ndarray) -> np.ndarray:
    """Sorted distinct values (sort-based; faster than hashing for int64 pair codes).

    >>> sorted_unique(np.array([7, 3, 7, 1])).tolist()
    [1, 3, 7]
    """
    x = np.sort(x)
    return x[np.concatenate(([True], x[1:] != x[:-1]))] if x.size else x


def candidate_pairs(persons: pd.DataFrame) -> pd.DataFrame:
    """Candidate pairs of row positions from :data:`BLOCKING_RULES` (never a cross product).

    Args:
        persons: person table (any of the columns of
            :func:`~vaxreport.linkage.cluster.cluster_persons`).

    Returns:
        DataFrame ``a, b`` of row positions with ``a < b``, sorted, without repeats.

    Examples:
        >>> df = pd.DataFrame({"full_name": ["Lê An", "Le An", "Trần Bình"],
        ...                    "birth_date": ["1990-01-02"] * 3})
        >>> candidate_pairs(df).values.tolist()
        [[0, 1]]
    """
    prep = prepare_fields(persons)
    a, b = block_candidates(prep, BLOCKING_RULES)
    return pd.DataFrame({"a": a, "b": b})

