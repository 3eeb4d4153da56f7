"""Blocking: the candidate pairs, from several cheap keys (:data:`BLOCKING_RULES`), never a
cross product.  A block larger than its rule's cap pairs each record with its ``window``
neighbours in name, then birth-date order only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

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
    derived: dict[str, Callable[[], np.ndarray]] = {  # made only for the rules that read them
        "year": lambda: np.where(prep.y > 0, prep.y, -1),
        "month": lambda: np.where(prep.m > 0, prep.m, -1),
        "day": lambda: np.where(prep.d > 0, prep.d, -1),
        "dm_lo": lambda: np.where(prep.m > 0, np.minimum(prep.m, prep.d), -1),
        "dm_hi": lambda: np.where(prep.m > 0, np.maximum(prep.m, prep.d), -1),
    }
    key = np.zeros(prep.n, np.int64)
    bad = np.zeros(prep.n, bool)
    for name in names:  # in place: a rule's key is made beside a few arrays of n, not a dozen
        part = derived[name]() if name in derived else prep.codes[name]
        part = part.astype(np.int64)
        bad |= part < 0
        key *= int(part.max(initial=0)) + 2
        part += 1
        key += part
        del part
        if key.max(initial=0) > 2**40:
            key = pd.factorize(key)[0].astype(np.int64, copy=False)
    key[bad] = -1
    dense = pd.factorize(key)[0].astype(np.int64, copy=False)
    del key
    dense[bad] = -1
    return dense


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
    order, starts, sizes = sorted_blocks(key, rank)
    return blocks_pairs(order, starts, sizes, cap, window)


def sorted_blocks(key: np.ndarray, rank: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows of each block (key) of two rows or more, in key then ``rank`` order: the rows
    (``order``) and each block's start in them and size, blocks in key order.

    >>> order, starts, sizes = sorted_blocks(np.array([1, 0, 1, -1, 2, 1]), np.arange(6))
    >>> order.tolist(), starts.tolist(), sizes.tolist()
    ([0, 2, 5], [0], [3])
    """
    rows = np.flatnonzero(key >= 0)
    sort_key = key[rows]
    sort_key *= np.int64(rank.size)
    sort_key += rank[rows]
    order = rows[np.argsort(sort_key)]
    del rows, sort_key
    k = key[order]
    starts = np.flatnonzero(np.concatenate(([True], k[1:] != k[:-1])))
    del k
    sizes = np.diff(np.append(starts, order.size))
    many = sizes >= 2
    starts, sizes = starts[many], sizes[many]
    keep = np.zeros(order.size, bool)  # the rows of the blocks kept, renumbered from 0
    keep[np.repeat(starts, sizes) + _within(sizes)] = True
    return order[keep], np.cumsum(sizes) - sizes, sizes


def _within(sizes: np.ndarray) -> np.ndarray:
    """0, 1, …, size − 1 for each size in turn.

    >>> _within(np.array([2, 3])).tolist()
    [0, 1, 0, 1, 2]
    """
    return np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)


def block_pair_counts(sizes: np.ndarray, cap: int, window: int) -> np.ndarray:
    """Pairs :func:`blocks_pairs` makes of each block of ``sizes`` rows.

    >>> block_pair_counts(np.array([2, 3, 5]), cap=3, window=2).tolist()
    [1, 3, 7]
    """
    s = sizes.astype(np.int64)
    windowed = sum(np.maximum(s - w, 0) for w in range(1, window + 1))
    return np.where(s <= cap, s * (s - 1) // 2, windowed)


def blocks_pairs(order: np.ndarray, starts: np.ndarray, sizes: np.ndarray, cap: int,
                 window: int) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of :func:`block_pairs` in some of the blocks of :func:`sorted_blocks`
    (``starts`` and ``sizes`` of consecutive blocks of ``order``): every pair of a block of
    ≤ cap rows, then each row of a larger block with its ``window`` next rows (by distance).

    >>> blocks_pairs(np.array([7, 8, 9, 4, 5]), np.array([0, 3]), np.array([3, 2]), cap=2,
    ...              window=1)[1].tolist()
    [5, 8, 9]
    """
    small = sizes <= cap
    st, sz = starts[small], sizes[small]
    p = np.repeat(st, sz) + _within(sz)  # the positions of the small blocks' rows
    cnt = np.repeat(st + sz, sz) - p - 1  # rows after each in its block
    left = np.repeat(p, cnt)
    lefts, rights = [left], [left + 1 + _within(cnt)]
    del p, cnt
    st, sz = starts[~small], sizes[~small]
    pb = np.repeat(st, sz) + _within(sz)
    geb = np.repeat(st + sz, sz)
    for w in range(1, window + 1):
        ok = pb + w < geb
        lefts.append(pb[ok])
        rights.append(pb[ok] + w)
    del pb, geb
    a = order[np.concatenate(lefts)]
    del lefts
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


#: Candidate pairs :func:`candidate_chunks` makes at a time (≈ 64 MB of int64 row pairs).
CHUNK_PAIRS = 1 << 22


def rule_chunks(prep: PreparedFields, rule: tuple[tuple[str, ...], int, int], rank: np.ndarray,
                max_pairs: int | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The candidate pairs of one blocking rule (the pairs of :func:`block_pairs`, ``a < b``), a
    run of whole blocks at a time — about ``max_pairs`` pairs (more only for one larger block):
    a rule's pairs are never all held at once.  The pairs come in another order than
    :func:`block_pairs` gives them (block by block).

    Args:
        prep: the prepared table (:func:`~vaxreport.linkage.prepare.prepare_fields`).
        rule: (key fields, cap, window), a value of :data:`BLOCKING_RULES`.
        rank: :func:`name_date_rank` of ``prep``.
        max_pairs: pairs per chunk; default :data:`CHUNK_PAIRS`.

    Examples:
        >>> p = prepare_fields(pd.DataFrame({"full_name": ["Lê An", "Le An", "Lê Ân", "Trần Bình"],
        ...                                  "birth_date": ["1990"] * 4}))
        >>> [(a.tolist(), b.tolist()) for a, b in rule_chunks(p, BLOCKING_RULES["name_year"],
        ...                                                    name_date_rank(p), max_pairs=2)]
        [([0, 0, 1], [1, 2, 2])]
    """
    names, cap, window = rule
    order, starts, sizes = sorted_blocks(combine_keys(prep, names), rank)
    pairs = block_pair_counts(sizes, cap, window)
    first = np.cumsum(pairs) - pairs  # the rule's pairs before each block
    cuts = np.flatnonzero(np.diff(first // max(max_pairs or CHUNK_PAIRS, 1))) + 1
    for lo, hi in zip(np.concatenate(([0], cuts)).tolist(), np.append(cuts, sizes.size).tolist()):
        if lo < hi:
            a, b = blocks_pairs(order, starts[lo:hi], sizes[lo:hi], cap, window)
            yield np.minimum(a, b), np.maximum(a, b)


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

