"""Clustering: pairs at or above the threshold joined transitively (connected components), then
the guard that rebuilds a cluster holding incompatible IDs or birth dates from its strongest
links only; :func:`cluster_persons` runs the whole linkage.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from vaxreport.linkage.blocking import BLOCKING_RULES
from vaxreport.linkage.compare import compare_pairs
from vaxreport.linkage.decisions import DecisionOutcome, apply_decisions, check_decisions, decision_rows
from vaxreport.linkage.graph import connected_components
from vaxreport.linkage.model import (
    EM_MARGIN_BITS,
    MERGE_ODDS_BITS,
    Model,
    default_threshold,
    estimate_u,
    fit_em,
    pair_weights,
    total_weight,
)
from vaxreport.linkage.persons import code_order
from vaxreport.linkage.prepare import FIELDS, PreparedFields, dob_int, prepare_fields
from vaxreport.linkage.priors import DUPLICATE_RATE_RANGE
from vaxreport.linkage.replay import CARRIED_BITS, CarryOutcome, Prior, carried_links
from vaxreport.linkage.score import floor_pairs, score_blocked
from vaxreport.linkage.threads import worker_count

#: Two IDs of one length differing in more digits than this cannot be typos of one ID (a chain
#: of two typos — a transposition then a substitution — differs in three).
ID_MAX_DIGITS_APART = 3
#: Same for birth dates (yyyymmdd digits), after undoing a day/month swap.
DOB_MAX_DIGITS_APART = 2


def _hamming(x: str, y: str) -> int:
    return sum(1 for p, q in zip(x, y) if p != q)


def _compatible_ids(x: str, y: str) -> bool:
    """Could two IDs be (chains of) typos of one ID?  CMND vs CCCD: always."""
    if not x or not y or len(x) != len(y):
        return True
    return _hamming(x, y) <= ID_MAX_DIGITS_APART


def _compatible_dobs(x: int, y: int) -> bool:
    """Could two yyyymmdd birth dates be typos / day-month swaps of one date?"""
    if x == 0 or y == 0 or x == y:
        return True
    sx, sy = str(x), str(y)
    swapped = sx[:4] + sx[6:8] + sx[4:6]
    return min(_hamming(sx, sy), _hamming(swapped, sy)) <= DOB_MAX_DIGITS_APART


def _hamming_int(x: np.ndarray, y: np.ndarray, width: int) -> np.ndarray:
    out = np.zeros(x.size, np.int64)
    for k in range(width):
        out += (x // 10**k) % 10 != (y // 10**k) % 10
    return out


def _clashes(labels: np.ndarray, tagged: np.ndarray, max_apart: int, *, swap: bool) -> set[int]:
    """Labels of clusters holding two values (``value·128 + shape``, -1 if none) of one shape
    that differ in more than ``max_apart`` digits (also after a day/month swap if ``swap``)."""
    sel = np.flatnonzero(tagged >= 0)
    df = pd.DataFrame({"label": labels[sel], "v": tagged[sel]}).drop_duplicates()
    many = df["label"].duplicated(keep=False)
    df = df[many]
    if df.empty:
        return set()
    pairs = df.merge(df, on="label")
    pairs = pairs[pairs["v_x"] < pairs["v_y"]]
    vx, vy = pairs["v_x"].to_numpy(), pairs["v_y"].to_numpy()
    same_len = vx % 128 == vy % 128
    x, y, width = vx // 128, vy // 128, 15
    dist = _hamming_int(x, y, width)
    if swap:  # yyyymmdd with day and month exchanged
        xs = (x // 10000) * 10000 + (x % 100) * 100 + (x // 100) % 100
        dist = np.minimum(dist, _hamming_int(xs, y, width))
    bad = same_len & (dist > max_apart)
    return set(pairs["label"].to_numpy()[bad].tolist())


def _split_incompatible(prep: PreparedFields, labels: np.ndarray, a: np.ndarray, b: np.ndarray,
                        w: np.ndarray, persons: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """Split clusters holding incompatible IDs or birth dates on their weakest links
    (``rows``: the row of ``persons`` each row of ``prep`` was prepared from).

    Links are replayed strongest first (ties broken by the records' content hashes, so the
    result does not depend on row order) and a link is skipped when it would put incompatible
    values in one cluster."""
    ids = np.where((prep.codes["id"] >= 0) & prep.nums["id_row_ok"], prep.codes["id"], -1)
    dob = dob_int(prep.y, prep.m, prep.d)
    id_num = np.append(prep.nums["id_num"], -1)[ids]
    id_shape = np.append(prep.nums["id_shape"], 0)[ids]
    suspect = _clashes(labels, np.where(id_num >= 0, id_num * 128 + id_shape, -1),
                       ID_MAX_DIGITS_APART, swap=False)
    suspect |= _clashes(labels, np.where(dob > 0, dob * 128 + 8, -1), DOB_MAX_DIGITS_APART,
                        swap=True)
    if not suspect:
        return labels
    frame = pd.DataFrame({"label": labels})
    id_str = prep.strings["id"]
    members = frame[frame["label"].isin(suspect)].groupby("label").groups
    edge_lab = labels[a]
    in_suspect = np.isin(edge_lab, np.fromiter(suspect, np.int64))
    ea, eb, ew = a[in_suspect], b[in_suspect], w[in_suspect]
    involved = np.unique(np.concatenate([ea, eb]))
    present = [col for col in FIELDS if col in persons.columns]
    content = np.zeros(prep.n, np.uint64)
    if present and involved.size:
        content[involved] = pd.util.hash_pandas_object(
            persons.iloc[rows[involved]][present].astype(str), index=False).to_numpy()
    ca, cb = content[ea], content[eb]
    order = np.lexsort((np.maximum(ca, cb), np.minimum(ca, cb), -np.round(ew, 9)))
    ea, eb = ea[order], eb[order]
    new = labels.copy()
    by_label: dict[int, list[tuple[int, int]]] = {}
    for x, y in zip(ea.tolist(), eb.tolist()):
        by_label.setdefault(int(labels[x]), []).append((x, y))
    for lab, rows in members.items():
        rows_l = [int(r) for r in rows]
        id_vals = {r: (id_str[ids[r]] if ids[r] >= 0 else "") for r in rows_l}
        dob_vals = {r: int(dob[r]) for r in rows_l}
        roots = _replay(rows_l, by_label.get(int(lab), []), id_vals, dob_vals)
        for r in rows_l:
            new[r] = roots[r]
    return new


def _is_cccd(x: str) -> bool:
    return len(x) == 12 and x.isdigit()


def _replay(rows: list[int], links: list[tuple[int, int]], id_vals: dict[int, str],
            dob_vals: dict[int, int]) -> dict[int, int]:
    """Kruskal with cannot-links on one cluster: ``links`` (strongest first) joined unless the
    join would put two incompatible IDs or birth dates in one component.  Two values a direct
    link joins are compatible by that link's own evidence (its weight has already counted their
    disagreement): the guard stops chains, not pairs that are strong on their own — except two
    CCCDs that both fit the birth year (province, century, sex and year are in the number, and
    one is issued per life): they are two people whatever else agrees.

    Returns each row's root (the smallest row of its component).
    """
    parent = {r: r for r in rows}
    comp_ids = {r: {id_vals[r]} - {""} for r in rows}
    comp_dobs = {r: {dob_vals[r]} - {0} for r in rows}
    vouched: set[frozenset[str | int]] = {
        frozenset((id_vals[x], id_vals[y])) for x, y in links
        if not (_is_cccd(id_vals[x]) and _is_cccd(id_vals[y]))}
    vouched |= {frozenset((dob_vals[x], dob_vals[y])) for x, y in links}

    def find(r: int) -> int:
        while parent[r] != r:
            parent[r] = parent[parent[r]]
            r = parent[r]
        return r

    def fits(p: str | int, q: str | int, compatible: bool) -> bool:
        return compatible or frozenset((p, q)) in vouched

    for x, y in links:
        rx, ry = find(x), find(y)
        if rx == ry:
            continue
        ok = all(fits(p, q, _compatible_ids(p, q)) for p in comp_ids[rx] for q in comp_ids[ry])
        ok = ok and all(fits(p, q, _compatible_dobs(p, q))
                        for p in comp_dobs[rx] for q in comp_dobs[ry])
        if not ok:
            continue
        lo, hi = min(rx, ry), max(rx, ry)
        parent[hi] = lo
        comp_ids[lo] |= comp_ids.pop(hi)
        comp_dobs[lo] |= comp_dobs.pop(hi)
    return {r: find(r) for r in rows}


@dataclass(frozen=True)
class Linkage:
    """The outcome of :func:`link_persons`.

    Attributes:
        labels: cluster label per row (the smallest row position of its cluster).
        a: first rows of the accepted links (pairs at or above the threshold).
        b: their second rows.
        weight: their match weights (bits).
        threshold: the decision threshold used (bits).
        model: the fitted model (u, m, household u).
        near: the scored pairs near the threshold, accepted or not (:class:`NearPairs`): where
            a clerical review is worth its time (:mod:`.review`).
        review: what the review decisions did (:class:`~.decisions.DecisionOutcome`).
        carried: what last month's carried decisions did (:class:`~.replay.CarryOutcome`; zeros
            without a previous run). The carried must-links are among the links, weight
            :data:`~.replay.CARRIED_BITS`.
    """

    labels: np.ndarray
    a: np.ndarray
    b: np.ndarray
    weight: np.ndarray
    threshold: float
    model: Model
    near: NearPairs = field(default_factory=lambda: NearPairs.empty())
    review: DecisionOutcome = field(default_factory=DecisionOutcome)
    carried: CarryOutcome = field(default_factory=CarryOutcome)


@dataclass(frozen=True)
class NearPairs:
    """Candidate pairs scored within :data:`~.model.EM_MARGIN_BITS` of the lowest default
    threshold (before EM; weights after it): rows ``a < b``, ``weight`` (bits) and the level
    codes per field (``levels[field][k]`` indexes :data:`~.priors.LEVELS`)."""

    a: np.ndarray
    b: np.ndarray
    weight: np.ndarray
    levels: dict[str, np.ndarray]

    @classmethod
    def empty(cls) -> NearPairs:
        none = np.empty(0, np.int64)
        return cls(a=none, b=none, weight=np.empty(0, np.float64), levels={})


def link_persons(persons: pd.DataFrame, threshold: float | None, workers: int | None = None, *,
                 decisions: pd.DataFrame | None = None, prior: Prior | None = None) -> Linkage:
    """The whole linkage of a person table: prepare, block, score (progressive filter a few
    bits below the lowest default threshold), fit EM on the pairs near it, decide, replay last
    month's decisions on the unchanged records (``prior``), cluster, guard, then apply the review
    decisions.  The records are read in :func:`canonical_order`,
    so nothing depends on the order they come in.  :func:`cluster_persons` returns its labels;
    ``explain`` uses its links and model.

    Args:
        persons: person table (see :func:`cluster_persons`), at least one row.
        threshold: decision threshold (bits); None for the default of the table.
        workers: threads (:func:`~vaxreport.linkage.threads.worker_count`).
        decisions: clerical review decisions (see :func:`cluster_persons`).
        prior: last month's persons of the unchanged records, aligned to ``persons``' rows
            (:class:`~.replay.Prior`; :mod:`.replay`); None links every record afresh.

    Returns:
        :class:`Linkage`: labels per row position, accepted links, threshold and model.

    Examples:
        >>> df = pd.DataFrame({"full_name": ["Lê Văn Tám", "Le Van Tam", "Phạm Hà"],
        ...                    "birth_date": ["1990-01-02", "1990-01-02", "1970-05-05"]})
        >>> res = link_persons(df, None)
        >>> res.labels.tolist(), res.a.tolist(), res.b.tolist()
        ([0, 0, 2], [0], [1])
    """
    if decisions is not None:
        decisions = check_decisions(decisions)
    perm = canonical_order(persons)
    res = _link_canonical(persons, perm, threshold, worker_count(workers), decisions,
                          None if prior is None else prior.take(perm))
    return _in_input_order(res, perm)


def canonical_order(persons: pd.DataFrame) -> np.ndarray:
    """The order the linkage reads the records in, whatever order they come in: by the 64-bit hash
    of the person code when the codes are distinct and their hashes too (the usual case: ≈ 0.3 s
    per million records), else by code (:func:`~vaxreport.linkage.persons.code_order`), then
    by content (a hash of the person fields; records equal in every field are interchangeable).
    Every tie-break downstream (first appearance of a value, block neighbours, the household
    sample, float sums) then sees the same sequence, so the clusters do not depend on row order
    or partitioning.

    Examples:
        >>> df = pd.DataFrame({"person_ref": ["b", "a", "c"], "full_name": ["X", "Y", "Z"]})
        >>> back = df.iloc[::-1]
        >>> df.iloc[canonical_order(df)].person_ref.tolist() == back.iloc[canonical_order(back)].person_ref.tolist()
        True
        >>> canonical_order(pd.DataFrame({"person_ref": ["b", "a", "b"], "full_name": ["X", "Y", "W"]})).tolist()
        [1, 0, 2]
    """
    n = len(persons)
    ref_rank = np.zeros(n, np.int64)
    refs = persons["person_ref"] if "person_ref" in persons.columns else None
    if refs is not None:
        if not refs.isna().any():  # the usual case: distinct codes, ordered by their 64-bit hash
            hashed = pd.util.hash_array(refs.astype(str).to_numpy(object), categorize=False)
            order = np.argsort(hashed, kind="stable")
            if not (hashed[order][1:] == hashed[order][:-1]).any():
                return order
        ref_rank = code_rank(refs)  # a missing, repeated or colliding code: code order, then content
    present = [col for col in FIELDS if col in persons.columns]
    content = (pd.util.hash_pandas_object(persons[present], index=False).to_numpy()
               if present else np.zeros(n, np.uint64))
    return np.lexsort((content, ref_rank))


def code_rank(codes: pd.Series) -> np.ndarray:
    """Dense rank of each person code in :func:`~vaxreport.linkage.persons.code_order` (equal
    codes share a rank; missing last).

    >>> code_rank(pd.Series(["b", "a", "b", None])).tolist()
    [1, 0, 1, 2]
    """
    order = code_order(codes)
    value = pd.factorize(codes, use_na_sentinel=True)[0][order]  # missing codes: -1, all last
    same = np.concatenate(([False], value[1:] == value[:-1]))
    rank = np.empty(len(codes), np.int64)
    rank[order] = np.cumsum(~same) - 1
    return rank


def _in_input_order(res: Linkage, perm: np.ndarray) -> Linkage:
    """A linkage run on ``persons.iloc[perm]`` told in the input's row positions: rows mapped
    back, each cluster labelled by its smallest input position."""
    n = perm.size
    smallest = np.full(n, n, np.int64)
    np.minimum.at(smallest, res.labels, perm)
    labels = np.empty(n, np.int64)
    labels[perm] = smallest[res.labels]
    a, b = perm[res.a], perm[res.b]
    na, nb = perm[res.near.a], perm[res.near.b]
    near = replace(res.near, a=np.minimum(na, nb), b=np.maximum(na, nb))
    return replace(res, labels=labels, a=np.minimum(a, b), b=np.maximum(a, b), near=near)


def _link_canonical(persons: pd.DataFrame, rows: np.ndarray, threshold: float | None, nw: int,
                    decisions: pd.DataFrame | None, prior: Prior | None = None) -> Linkage:
    """:func:`link_persons` on the records read in :func:`canonical_order` (``rows``), positions
    in that order; the table is not copied (its fields are prepared one column at a time)."""
    prep = prepare_fields(persons, rows=rows)
    model = estimate_u(prep)
    lo, hi = DUPLICATE_RATE_RANGE
    floor = default_threshold(prep.n, hi) if threshold is None else float(threshold)
    # candidates made and scored a chunk at a time; the pairs near the threshold, each once
    a, b, lv, total = score_blocked(prep, model, BLOCKING_RULES, floor - EM_MARGIN_BITS, workers=nw)
    close = total >= floor - EM_MARGIN_BITS
    a, b, lv = a[close], b[close], {k: v[close] for k, v in lv.items()}
    first = np.unique(a * prep.n + b, return_index=True)[1]
    a, b, lv = a[first], b[first], {k: v[first] for k, v in lv.items()}
    model, rate = fit_em(prep, model, a, b, lv)
    thr = default_threshold(prep.n, rate) + MERGE_ODDS_BITS if threshold is None else float(
        threshold)
    total = total_weight(pair_weights(prep, model, a, b, lv), a.size)
    keep = total >= thr
    ka, kb, kw = a[keep], b[keep], total[keep]
    fa, fb = floor_pairs(prep)  # the exact-identifier floor: never left apart by the scorer
    if fa.size:
        fw = total_weight(pair_weights(prep, model, fa, fb, compare_pairs(prep, fa, fb)), fa.size)
        ka, kb, kw = np.concatenate([ka, fa]), np.concatenate([kb, fb]), np.concatenate([kw, fw])
    carried, sa, sb = CarryOutcome(), np.empty(0, np.int64), np.empty(0, np.int64)
    if prior is not None:  # last month's decisions on the unchanged records (.replay)
        stand, sa, sb, carried = carried_links(prior, ka, kb)
        ka, kb = np.concatenate([ka[stand], sa]), np.concatenate([kb[stand], sb])
        kw = np.concatenate([kw[stand], np.full(sa.size, CARRIED_BITS)])
    labels = connected_components(prep.n, ka, kb)
    labels = _split_incompatible(prep, labels, ka, kb, kw, persons, rows)
    if carried.kept_whole:  # and the guard does not split a person of last month kept whole
        labels = connected_components(prep.n, np.concatenate([np.arange(prep.n), sa]), np.concatenate([labels, sb]))
    links = Linkage(labels=labels, a=ka, b=kb, weight=kw, threshold=thr, model=model,
                    near=NearPairs(a=a, b=b, weight=total, levels=lv), carried=carried)
    return links if decisions is None or not len(decisions) else _with_decisions(links, persons, rows, decisions)


def _with_decisions(links: Linkage, persons: pd.DataFrame, rows: np.ndarray, decisions: pd.DataFrame) -> Linkage:
    """The clusters with the review decisions applied (:func:`~.decisions.apply_decisions`);
    the decisions' rows taken in canonical order (``rows``), so the cuts do not depend on the file's."""
    refs = persons["person_ref"].iloc[rows] if "person_ref" in persons.columns else pd.Series([], dtype="string")
    da, db, same, unknown = decision_rows(decisions, refs)
    order = np.lexsort((same, np.maximum(da, db), np.minimum(da, db)))
    labels, kept, joined, split = apply_decisions(links.labels, links.a, links.b, links.weight,
                                                  (da[order], db[order], same[order]))
    review = DecisionOutcome(decisions=len(decisions), applied=int(da.size), joined=joined, split=split,
                             unknown=unknown)
    return replace(links, labels=labels, a=links.a[kept], b=links.b[kept], weight=links.weight[kept], review=review)


def cluster_persons(persons: pd.DataFrame, *, threshold: float | None = None,
                    workers: int | None = None, decisions: pd.DataFrame | None = None) -> pd.Series:
    """Cluster person records that describe the same person.

    Args:
        persons: one row per platform person record with any of ``full_name, birth_date,
            gender, id_number, phone, commune_code, address`` (any may be missing or NA;
            ``birth_date`` datetime64 or strings; names with or without diacritics).
        threshold: match weight in bits above which a pair is merged; default
            :func:`~vaxreport.linkage.model.default_threshold` of the table size and of its duplicate rate, estimated
            from the records merged at a 10 % prior (posterior match probability ½).
        workers: threads for candidate generation and scoring; default the usable CPUs, at
            most :data:`~vaxreport.linkage.threads.MAX_WORKERS`; 1 runs serially.  The labels
            do not depend on it.
        decisions: clerical review decisions, ``person_a, person_b, decision`` (person codes of
            the ``person_ref`` column; ``same`` or ``different``): ``same`` joins the two
            clusters, ``different`` separates the two records at their weakest links
            (:mod:`~vaxreport.linkage.decisions`); lines naming a code the table does not hold
            are skipped (:attr:`Linkage.review` lists them).

    Returns:
        Series of int64 cluster labels aligned to ``persons.index`` (name ``person_id``): the
        smallest row position (0-based) in the cluster (a position: stage 1 renames the
        clusters by content with :func:`~vaxreport.linkage.persons.person_ids`).  Does not
        mutate the input.

    Raises:
        TypeError: ``persons`` is not a DataFrame.
        ParamsError: ``decisions`` is malformed or contradicts itself
            (:func:`~vaxreport.linkage.decisions.check_decisions`).

    Examples:
        >>> df = pd.DataFrame({"full_name": ["Trần Thị Mai", "Tran Thi Mai", "Trần Văn Nam"],
        ...                    "birth_date": ["1985-07-04", "07/04/1985", "2010-01-01"],
        ...                    "phone": ["0987654321", None, "0987654321"]},
        ...                   index=[10, 11, 12])
        >>> cluster_persons(df).to_dict()
        {10: 0, 11: 0, 12: 2}
    """
    if not isinstance(persons, pd.DataFrame):
        raise TypeError(f"persons must be a DataFrame, got {type(persons).__name__}")
    if len(persons) == 0:
        return pd.Series([], index=persons.index, dtype=np.int64, name="person_id")
    res = link_persons(persons, threshold, workers, decisions=decisions)
    return pd.Series(res.labels.astype(np.int64), index=persons.index, name="person_id")

