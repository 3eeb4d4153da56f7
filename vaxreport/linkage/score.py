"""Scoring: levels, weights and total match weight of candidate pairs, with the progressive
filter that drops a pair as soon as it can no longer reach the threshold.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from vaxreport.linkage.blocking import BLOCKING_RULES, block_candidates, block_pairs, name_date_rank, rule_chunks
from vaxreport.linkage.compare import (
    ADDRESS_DIFFERENT,
    ADDRESS_SIMILAR,
    COMMUNE_DIFFERENT,
    COMPARISONS,
    compare_pairs,
    comparison_levels,
    end_word_dropped,
    given_lengths,
    name_ends,
    real_given_names,
    resolve_address,
    resolve_given,
    resolve_surname_middle,
)
from vaxreport.linkage.model import (
    Model,
    comparison_weight,
    estimate_u,
    household_regime,
    max_weight,
    pair_weights,
    total_weight,
)
from vaxreport.linkage.prepare import PreparedFields, prepare_fields
from vaxreport.linkage.priors import ID_FLOOR_MAX_RECORDS, LEVELS, U_FLOOR
from vaxreport.linkage.threads import thread_map

#: Pairs the progressive filter (:func:`score_candidates`) handles at a time.  A block's
#: temporaries (≈ 4 MB per int64 array) are reused from the heap; one pass over 12 M pairs would
#: map and fault in ~100 MB afresh for every temporary, which costs as much system time as the
#: comparisons themselves.
SCORE_BLOCK_PAIRS = 1 << 19


def _field_mask(prep: PreparedFields) -> np.ndarray:
    """Per row, bit k set when the row has the field(s) of ``COMPARISONS[k]``."""
    c = prep.codes
    has = {"phone": c["phone"] >= 0,
           "locality": (c["commune"] >= 0) | (c["address"] >= 0),
           "birth_date": prep.y > 0,
           "id_number": (c["id"] >= 0) & prep.nums["id_row_ok"],
           "given": c["given"] >= 0,
           "surname_middle": c["surname_middle"] >= 0,
           "gender": prep.gender > 0,
           "doses": prep.nums["dose_day"][:, 0] > 0}
    mask = np.zeros(prep.n, np.uint8)
    for k, comp in enumerate(COMPARISONS):
        mask |= has[comp].astype(np.uint8) << k
    return mask


#: Scored pairs: ``a, b`` (row positions), levels and weights per comparison, total weight.
Scored = tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray]


def score_candidates(prep: PreparedFields, model: Model, a: np.ndarray, b: np.ndarray,
                     threshold: float | None = None, *, workers: int = 1) -> Scored:
    """Levels, weights and total match weight of candidate pairs (a[k], b[k]).

    With a ``threshold``, comparisons run one at a time (:data:`COMPARISONS` order) and a pair
    is dropped as soon as its weight so far plus the largest weight the remaining comparisons
    could add falls below the threshold; pending name comparisons count as typos until
    rapidfuzz resolves them on the survivors.  The bound is exact: the pairs kept and their
    totals are those of the full computation.  Each pair is judged on its own, so the pairs
    are filtered in blocks of :data:`SCORE_BLOCK_PAIRS` on ``workers`` threads and the blocks'
    survivors joined in input order: the same result as one pass, whatever ``workers``.

    Args:
        prep: the prepared table (:func:`~vaxreport.linkage.prepare.prepare_fields`).
        model: u and m (:func:`~vaxreport.linkage.model.estimate_u`, ``fit_em``).
        a: row positions of the first records.
        b: row positions of the second records.
        threshold: keep only the pairs whose total reaches it (bits); None keeps all.
        workers: threads (:func:`~vaxreport.linkage.threads.thread_map`).

    Returns:
        :data:`Scored`: the pairs kept, in input order, with their levels, weights and totals.

    Examples:
        >>> from vaxreport.linkage.model import estimate_u
        >>> p = prepare_fields(pd.DataFrame({"full_name": ["Lê Văn Tám", "Le Van Tam", "Phạm Hà"],
        ...                                  "birth_date": ["1990-01-02", "1990-01-02", "1970-05-05"]}))
        >>> a, b, lv, w, total = score_candidates(p, estimate_u(p), np.array([0, 0]), np.array([1, 2]),
        ...                                       threshold=10.0)
        >>> a.tolist(), b.tolist(), bool(total[0] >= 10.0), LEVELS["given"][lv["given"][0]]
        ([0], [1], True, 'exact')
    """
    if threshold is None:
        lv = compare_pairs(prep, a, b)
        w = pair_weights(prep, model, a, b, lv)
        return a, b, lv, w, total_weight(w, a.size)
    top, row_mask = _filter_setup(prep, model)
    step = SCORE_BLOCK_PAIRS

    def block(start: int) -> Scored:
        return _filter_block(prep, model, a[start:start + step], b[start:start + step],
                             threshold, top, row_mask)

    parts = thread_map(block, range(0, max(a.size, 1), step), workers)
    if len(parts) == 1:
        return parts[0]
    return (np.concatenate([q[0] for q in parts]), np.concatenate([q[1] for q in parts]),
            _join([q[2] for q in parts]), _join([q[3] for q in parts]),
            np.concatenate([q[4] for q in parts]))


def _join(dicts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Per key the arrays of ``dicts`` end to end."""
    return {k: np.concatenate([d[k] for d in dicts]) for k in dicts[0]}


def _filter_setup(prep: PreparedFields, model: Model) -> tuple[np.ndarray, np.ndarray]:
    """What the progressive filter (:func:`_filter_block`) reads besides the pairs: each
    comparison's largest weight and :func:`_field_mask` (the bound of the comparisons still to
    run, per pair: a field missing on either side can add nothing); the name comparisons'
    caches on ``prep`` are filled now, not by the threads that share it."""
    none = np.empty(0, np.int64)
    given_lengths(prep), real_given_names(prep), name_ends(prep)
    end_word_dropped(prep, none, none)
    return np.array([max_weight(prep, model, comp) for comp in COMPARISONS]), _field_mask(prep)


#: Scored candidate pairs without the per-comparison weights: ``a, b``, levels, total weight.
Kept = tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], np.ndarray]


def score_blocked(prep: PreparedFields, model: Model, rules: Mapping[str, tuple[tuple[str, ...], int, int]],
                  threshold: float, *, workers: int = 1) -> Kept:
    """The candidate pairs of the blocking ``rules`` that reach ``threshold``
    (:func:`score_candidates`), with their levels and totals — the candidates made and
    filtered a chunk at a time (:func:`~vaxreport.linkage.blocking.rule_chunks`), never all
    held at once.  The rules run on ``workers`` threads.

    A pair several rules find repeats, once per rule; the pairs come rule by rule, block by
    block (not :func:`~vaxreport.linkage.blocking.block_candidates`' order).  Each pair is
    judged on its own, so the pairs kept, their levels and totals are those of
    :func:`score_candidates` on all the candidates at once.

    Examples:
        >>> from vaxreport.linkage.model import estimate_u
        >>> p = prepare_fields(pd.DataFrame({"full_name": ["Lê Văn Tám", "Le Van Tam", "Phạm Hà"],
        ...                                  "birth_date": ["1990-01-02", "1990-01-02", "1970-05-05"]}))
        >>> a, b, lv, total = score_blocked(p, estimate_u(p), BLOCKING_RULES, threshold=10.0)
        >>> sorted(set(zip(a.tolist(), b.tolist())))
        [(0, 1)]
    """
    top, row_mask = _filter_setup(prep, model)
    rank = name_date_rank(prep)
    step = SCORE_BLOCK_PAIRS

    def rule_kept(rule: tuple[tuple[str, ...], int, int]) -> list[Kept]:
        kept = []
        for a, b in rule_chunks(prep, rule, rank):
            for start in range(0, a.size, step):
                ka, kb, lv, _, total = _filter_block(prep, model, a[start:start + step], b[start:start + step],
                                                     threshold, top, row_mask)
                kept.append((ka, kb, lv, total))
        return kept

    parts = [q for rule in thread_map(rule_kept, rules.values(), workers) for q in rule]
    if not parts:
        none = np.empty(0, np.int64)
        ka, kb, lv, _, total = _filter_block(prep, model, none, none, threshold, top, row_mask)
        parts = [(ka, kb, lv, total)]
    return (np.concatenate([q[0] for q in parts]), np.concatenate([q[1] for q in parts]),
            _join([q[2] for q in parts]), np.concatenate([q[3] for q in parts]))


def _filter_block(prep: PreparedFields, model: Model, a: np.ndarray, b: np.ndarray, threshold: float,
                  top: np.ndarray, row_mask: np.ndarray) -> Scored:
    """The progressive filter of :func:`score_candidates` on one block of pairs (``top``: each
    comparison's largest weight; ``row_mask``: :func:`_field_mask`)."""
    bits = np.arange(2 ** len(COMPARISONS))[:, None] >> np.arange(len(COMPARISONS)) & 1
    mask = row_mask[a] & row_mask[b]
    acc = np.zeros(a.size, np.float64)
    lv: dict[str, np.ndarray] = {}
    hh = household_regime(prep, a, b)
    m, u = model.m["address"], model.u["address"]
    similar_weighs_more = m["similar"] / u["similar"] >= m["different"] / u["different"]
    mc, uc = model.m["address_in_commune"], model.u["address_in_commune"]
    similar_weighs_more_inside = mc["similar"] / uc["similar"] >= mc["different"] / uc["different"]
    for step, comp in enumerate(COMPARISONS):
        new = comparison_levels(prep, comp, a, b)
        best = dict(new)
        if comp == "locality":  # similar until resolved, where it would weigh more
            pending = (best["address"] == ADDRESS_DIFFERENT) & (best["commune"] < COMMUNE_DIFFERENT)
            pending &= np.where(best["commune"] == 1, similar_weighs_more_inside,
                                similar_weighs_more)
            best["address"] = np.where(pending, ADDRESS_SIMILAR, best["address"]).astype(np.int8)
        elif comp in ("given", "surname_middle"):  # resolved now, where it can matter
            after = (bits[:, step + 1:] * top[step + 1:]).sum(axis=1)[mask]
            hope = acc + _upgrade_bound(model, comp) + after >= threshold - 1e-9
            resolve = resolve_given if comp == "given" else resolve_surname_middle
            resolve(prep, a, b, best, hope)
        acc += comparison_weight(prep, model, comp, a, {**lv, **best}, hh)
        remaining = (bits[:, step + 1:] * top[step + 1:]).sum(axis=1)[mask]
        lv.update(new)
        keep = np.flatnonzero(acc + remaining >= threshold - 1e-9)
        if keep.size < a.size:
            a, b, acc, hh, mask = a[keep], b[keep], acc[keep], hh[keep], mask[keep]
            lv = {k: v[keep] for k, v in lv.items()}
    resolve_address(prep, a, b, lv)
    w = pair_weights(prep, model, a, b, lv)
    total = total_weight(w, a.size)
    # a pending address resolved "similar" can weigh less than the "different" it was bounded
    # by (within one commune): the final totals decide
    keep = np.flatnonzero(total >= threshold - 1e-9)
    if keep.size < a.size:
        a, b, total = a[keep], b[keep], total[keep]
        lv = {k: v[keep] for k, v in lv.items()}
        w = {k: v[keep] for k, v in w.items()}
    return a, b, lv, w, total


def _upgrade_bound(model: Model, comp: str) -> float:
    """The largest weight the level a name comparison's refinement can give ("typo" of a given
    name, "partial" surname) may have, in either regime (bits)."""
    level = "typo" if comp == "given" else "partial"
    m = model.m[comp][level]
    return float(max(np.log2(m / max(model.u[comp][level], U_FLOOR)),
                     np.log2(m / max(model.hh_u[comp][level], U_FLOOR))))


def _level(comp: str, *names: str) -> list[int]:
    return [LEVELS[comp].index(n) for n in names]


def identifier_floor(lv: dict[str, np.ndarray], hh: np.ndarray) -> np.ndarray:
    """The exact-identifier floor: per pair, True when the records agree exactly on a valid
    identifier (any kind; the caller keeps only rare ones) *and* on one more field — the birth
    date (exact, day/month swapped or one digit), the name (given name exact or a typo, surname
    and middle not "different") or the address — and the household guard does not explain the
    shared identifier: two real, different given names, or, for records sharing a household's
    phone or address (``hh``, :func:`~vaxreport.linkage.model.household_regime`), given names that
    differ or birth years that differ (a relative's ID typed on the record).  Such a pair is
    never left apart by the scorer.

    Examples:
        >>> lv = {"id_number": np.array([1, 1, 1]), "birth_date": np.array([1, 5, 1]),
        ...       "given": np.array([3, 1, 5]), "surname_middle": np.array([1, 1, 1]),
        ...       "address": np.array([0, 1, 1])}
        >>> identifier_floor(lv, np.array([0, 2, 2])).tolist()
        [True, False, False]
    """
    given, dob = lv["given"], lv["birth_date"]
    name = np.isin(given, _level("given", "exact", "accent_differs", "typo")) & ~np.isin(
        lv["surname_middle"], _level("surname_middle", "different"))
    more = np.isin(dob, _level("birth_date", "exact", "day_month_swapped", "one_digit"))
    more |= name | (lv["address"] == 1)
    explained = given == LEVELS["given"].index("another_name")
    explained |= (hh > 0) & ((given == LEVELS["given"].index("different"))
                             | (dob == LEVELS["birth_date"].index("different")))
    return (lv["id_number"] == 1) & more & ~explained


def floor_pairs(prep: PreparedFields) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of records sharing a valid identifier held by at most
    :data:`~vaxreport.linkage.priors.ID_FLOOR_MAX_RECORDS` records that pass
    :func:`identifier_floor` (row positions, ``a < b``)."""
    c = prep.codes["id"]
    ok = (c >= 0) & prep.nums["id_row_ok"]
    if not ok.any():
        return np.empty(0, np.int64), np.empty(0, np.int64)
    cnt = np.bincount(c[ok], minlength=len(prep.strings["id"]))
    key = np.where(ok, c, -1)
    key = np.where(ok & (cnt[np.maximum(c, 0)] <= ID_FLOOR_MAX_RECORDS), key, -1).astype(np.int64)
    a, b = block_pairs(key, np.arange(prep.n, dtype=np.int64), ID_FLOOR_MAX_RECORDS, 0)
    a, b = np.minimum(a, b), np.maximum(a, b)
    lv = compare_pairs(prep, a, b)
    keep = identifier_floor(lv, household_regime(prep, a, b))
    return a[keep], b[keep]


def score_pairs(persons: pd.DataFrame) -> pd.DataFrame:
    """Candidate pairs with each comparison's level and weight and the total match weight.

    Args:
        persons: person table (see :func:`~vaxreport.linkage.cluster.cluster_persons`).

    Returns:
        DataFrame ``a, b`` (row positions), ``<field>_level`` (level names), ``<comparison>_w``
        and ``weight`` (bits), one row per candidate pair.

    Examples:
        >>> df = pd.DataFrame({"full_name": ["Lê Văn Tám", "Le Van Tam"],
        ...                    "birth_date": ["1990-01-02", "02/01/1990"]})
        >>> s = score_pairs(df)
        >>> s.loc[0, ["given_level", "birth_date_level"]].tolist()
        ['exact', 'exact']
    """
    prep = prepare_fields(persons)
    model = estimate_u(prep)
    a, b = block_candidates(prep, BLOCKING_RULES)
    a, b, lv, w, total = score_candidates(prep, model, a, b)
    out = pd.DataFrame({"a": a, "b": b})
    for k, v in lv.items():
        out[f"{k}_level"] = np.asarray(LEVELS[k], dtype=object)[v]
    for k, v in w.items():
        out[f"{k}_w"] = v
    out["weight"] = total
    return out

