"""The Fellegi–Sunter model: u probabilities from the data, per-comparison weights (bits) with
term-frequency and household adjustments, the default threshold, and EM for m, the
household-conditional u and the duplicate rate.  The priors are in :mod:`.priors`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import OSA

from vaxreport.linkage.blocking import block_pairs, sorted_unique
from vaxreport.linkage.compare import (
    ADDRESS_SIMILAR,
    COMMUNE_DIFFERENT,
    COMPARISONS,
    compare_pairs,
    comparison_levels,
    dose_levels,
    one_edit,
    real_given_names,
    resolve_address,
)
from vaxreport.linkage.prepare import PreparedFields, dob_int
from vaxreport.linkage.priors import (
    ADDRESS_IN_COMMUNE_M,
    ADDRESS_U_PAIRS,
    DOSE_U_PAIRS,
    DUPLICATE_RATE_RANGE,
    HOUSEHOLD_MAX_RECORDS,
    HOUSEHOLD_U,
    LEVELS,
    M_PRIORS,
    TF_PSEUDO_RECORDS,
    U_FLOOR,
    U_PRIORS,
)

# ------------------------------------------------------------------ u from the data

def _sum_sq(counts: np.ndarray) -> float:
    tot = counts.sum()
    if tot <= 1:
        return 0.0
    p = counts / tot
    return float((p * p).sum())


def _u_fuzzy(uniq: np.ndarray, counts: np.ndarray,
             pred: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray], top: int = 1500) -> float:
    """P(two random non-equal values satisfy ``pred(distances, lengths, value indices)``), over
    the ``top`` most frequent values."""
    if len(uniq) < 2 or counts.sum() == 0:
        return 0.0
    order = np.argsort(-counts, kind="stable")[:top]
    vals = [str(v) for v in uniq[order]]
    p = counts[order] / counts.sum()
    mat = process.cdist(vals, vals, scorer=OSA.distance, workers=-1)
    hit = pred(mat, np.array([len(v) for v in vals]), order)
    np.fill_diagonal(hit, False)
    return float(p @ hit @ p)


def _given_typo_pred(real: np.ndarray) -> Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """The "typo" level of two given names as a predicate on (edit distances, lengths, value
    indices): one edit, or two in names of six letters or more, unless both are real given names.

    >>> pred = _given_typo_pred(np.array([True, True, False]))
    >>> pred(np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]]), np.array([3, 3, 3]), np.arange(3)).tolist()
    [[False, False, True], [False, False, True], [True, True, True]]
    """
    def pred(d: np.ndarray, ln: np.ndarray, idx: np.ndarray) -> np.ndarray:
        close = (d <= 1) | ((d <= 2) & (np.minimum.outer(ln, ln) >= 6))
        both_real = np.logical_and.outer(real[idx], real[idx])
        return close & ~both_real
    return pred


def _u_birth_date(prep: PreparedFields) -> dict[str, float]:
    """u of the non-exact birth-date levels: exact from the value distribution, the others by
    enumerating each date's neighbours (day/month swapped, one digit changed, same year)."""
    dob = prep.freq["dob_values"]
    if dob.size:
        dcnt = np.unique(dob_int(prep.y, prep.m, prep.d)[dob_int(prep.y, prep.m, prep.d) > 0],
                         return_counts=True)[1].astype(np.float64)
        pd_ = dcnt / dcnt.sum()
        lookup = pd.Series(pd_, index=dob)
        y, md = dob // 10000, dob % 10000
        m, d = md // 100, md % 100
        swapped = y * 10000 + d * 100 + m
        u_swap = float((pd_ * lookup.reindex(swapped).fillna(0).to_numpy() * (m != d)).sum())
        u_one = 0.0
        for k in range(8):
            p = 10 ** k
            digit = (dob // p) % 10
            for new in range(10):
                nb = dob + (new - digit) * p
                keep = nb != dob
                q = lookup.reindex(nb[keep]).fillna(0).to_numpy()
                u_one += float((pd_[keep] * q).sum())
        ycnt = np.bincount(y.astype(np.int64), weights=pd_)
        u_year = max(float((ycnt ** 2).sum()) - _sum_sq(dcnt) - u_swap, 1e-4)
    else:
        u_swap, u_one, u_year = 1e-5, 1e-4, 0.02
    return {"day_month_swapped": max(u_swap, 1e-6), "one_digit": max(u_one, 1e-5),
            "same_year": u_year, "different": 0.97}


#: Distinct IDs of one shape sampled to estimate its one-edit u (:func:`_u_id_one_edit`).
ID_U_SAMPLE = 50_000


def _u_id_one_edit(prep: PreparedFields) -> dict[str, float]:
    """Per ID shape (kind and length, :func:`~vaxreport.linkage.prepare.id_shapes`), u of
    "one edit apart": the share of pairs of distinct IDs one substitution or transposition
    apart among pairs whose given names differ (two people, whatever their IDs' structure),
    found with the pigeonhole keys on a sample of the shape's IDs; never below the chance of
    a uniformly drawn number of that length (≈ 10·L neighbours in 10^L values).

    Examples:
        >>> from vaxreport.linkage.prepare import prepare_fields
        >>> p = prepare_fields(pd.DataFrame({"id_number": ["3871937", "3871397", "1234567"],
        ...                                  "full_name": ["An", "Binh", "Chi"]}))
        >>> u = _u_id_one_edit(p)
        >>> sorted(u), u["103"] > 1e-3
        (['103'], True)
    """
    c = prep.codes["id"]
    rows = np.flatnonzero(c >= 0)
    first = rows[np.unique(c[rows], return_index=True)[1]]
    shape = prep.nums["id_shape"][c[first]]
    out: dict[str, float] = {}
    for s in np.unique(shape):
        r = first[shape == s]
        v = prep.nums["id_num"][c[r]]
        if (v < 0).any():  # letters and digits: compared exactly only
            continue
        if r.size > ID_U_SAMPLE:
            r = r[np.linspace(0, r.size - 1, ID_U_SAMPLE).astype(np.int64)]
            v = prep.nums["id_num"][c[r]]
        size = r.size
        lo, hi = [], []
        for key in ("id_tail6", "id_head9", "id_head6_tail3", "id_head6_sorted6"):
            i, j = block_pairs(prep.codes[key][r].astype(np.int64), np.arange(size), 20, 5)
            lo.append(np.minimum(i, j))
            hi.append(np.maximum(i, j))
        code = sorted_unique(np.concatenate(lo) * size + np.concatenate(hi)) if lo else np.empty(0, np.int64)
        i, j = code // max(size, 1), code % max(size, 1)
        g = prep.codes["given"][r]
        differ = (g[i] >= 0) & (g[j] >= 0) & (g[i] != g[j])
        hits = int((one_edit(v[i[differ]], v[j[differ]])).sum())
        known = g[g >= 0]
        share = known.size / max(size, 1)
        p_differ = share * share * (1.0 - _sum_sq(np.bincount(known).astype(np.float64)))
        pairs = size * (size - 1) / 2 * p_differ
        length = int(s) % 32
        uniform = min(10.0 * length / 10.0 ** length, 0.5)
        out[str(int(s))] = max((hits + 0.5) / (pairs + 1.0), uniform)
    return out


def _u_address_similar(prep: PreparedFields) -> float:
    """u of "similar" addresses: the share of random pairs of records with addresses that
    :func:`~vaxreport.linkage.compare.resolve_address` calls similar (token sets close, communes
    not different), in a seeded sample of :data:`~vaxreport.linkage.priors.ADDRESS_U_PAIRS`
    pairs."""
    rows = np.flatnonzero(prep.codes["address"] >= 0)
    if rows.size < 2:
        return 1e-3
    rng = np.random.default_rng(0)
    i = rows[rng.integers(0, rows.size, ADDRESS_U_PAIRS)]
    j = rows[rng.integers(0, rows.size, ADDRESS_U_PAIRS)]
    lv = comparison_levels(prep, "locality", i, j)
    resolve_address(prep, i, j, lv)
    hits = float((lv["address"] == ADDRESS_SIMILAR).sum())
    return max((hits + 0.5) / (ADDRESS_U_PAIRS + 1.0), 1e-5)


def _u_address_in_commune(prep: PreparedFields) -> dict[str, float]:
    """u of the address levels between two records of one commune (both addresses known): the
    shares of same, similar and different addresses in a seeded sample of
    :data:`~vaxreport.linkage.priors.ADDRESS_U_PAIRS` pairs of records drawn within communes
    (each commune as often as it holds records)."""
    c = prep.codes
    out = {"same": 0.05, "similar": 0.05, "different": 0.90}
    i, j = _pairs_within(c["commune"], (c["address"] >= 0) & (c["commune"] >= 0), ADDRESS_U_PAIRS)
    if not i.size:
        return out
    lv = comparison_levels(prep, "locality", i, j)
    resolve_address(prep, i, j, lv)
    n = float(i.size)
    for name in ("same", "similar", "different"):
        hits = float((lv["address"] == LEVELS["address"].index(name)).sum())
        out[name] = max((hits + 0.5) / (n + 1.5), 1e-5)
    return out


def _pairs_within(group: np.ndarray, usable: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded sample of about ``size`` pairs of distinct ``usable`` rows of one ``group``
    (each group as often as it holds rows); empty when no group holds two.

    >>> i, j = _pairs_within(np.array([0, 0, 1, 1]), np.array([True, True, True, False]), 10)
    >>> sorted(set(zip(i.tolist(), j.tolist())))
    [(0, 1), (1, 0)]
    """
    rows = np.flatnonzero(usable)
    if rows.size < 2:
        return rows[:0], rows[:0]
    rows = rows[np.argsort(group[rows], kind="stable")]
    key = group[rows]
    start = np.searchsorted(key, key, side="left")
    n = np.searchsorted(key, key, side="right") - start
    rng = np.random.default_rng(0)
    k = rng.integers(0, rows.size, size)
    k = k[n[k] >= 2]
    other = start[k] + rng.integers(0, np.maximum(n[k] - 1, 1))
    other = np.where(other >= k, other + 1, other)  # another row of the group
    return rows[k], rows[other]


def _u_doses(prep: PreparedFields) -> dict[str, float]:
    """u of the dose levels (:func:`~vaxreport.linkage.compare.dose_levels`): their shares among
    a seeded sample of :data:`~vaxreport.linkage.priors.DOSE_U_PAIRS` pairs of records of one
    birth year with doses on both (who is vaccinated when depends on age), the prior counting
    as a few pairs."""
    prior = U_PRIORS["doses"]
    i, j = _pairs_within(prep.y, (prep.nums["dose_day"][:, 0] > 0) & (prep.y > 0), DOSE_U_PAIRS)
    if not i.size:
        return dict(prior)
    cnt = np.bincount(dose_levels(prep, i, j), minlength=len(LEVELS["doses"]))
    return {k: max((cnt[LEVELS["doses"].index(k)] + 2.0 * p) / (i.size + 2.0), 1e-5)
            for k, p in prior.items()}


@dataclass(frozen=True)
class Model:
    """u probabilities of the non-term-frequency levels, per comparison; m probabilities and
    the household-conditional u (priors, then estimated from the table by :func:`fit_em`)."""

    u: dict[str, dict[str, float]]
    m: dict[str, dict[str, float]] = field(
        default_factory=lambda: {**{k: dict(v) for k, v in M_PRIORS.items()},
                                 "address_in_commune": dict(ADDRESS_IN_COMMUNE_M)})
    hh_u: dict[str, dict[str, float]] = field(
        default_factory=lambda: {k: dict(v) for k, v in HOUSEHOLD_U.items()})


def estimate_u(prep: PreparedFields) -> Model:
    """The u of the non-term-frequency levels, from the table's value frequencies, shrunk
    towards :data:`~vaxreport.linkage.priors.U_PRIORS` on small tables; m at their priors.

    Args:
        prep: the prepared table (:func:`~vaxreport.linkage.prepare.prepare_fields`).

    Returns:
        A :class:`Model` (m and household u at their priors, for :func:`fit_em`).

    Examples:
        >>> from vaxreport.linkage.prepare import prepare_fields
        >>> model = estimate_u(prepare_fields(pd.DataFrame({"gender": ["M", "F", "M", "F"]})))
        >>> round(model.u["gender"]["same"], 3), model.m["gender"]["same"]
        (0.5, 0.97)
    """
    c = prep.codes
    u: dict[str, dict[str, float]] = {}

    def counts(key: str) -> np.ndarray:
        x = c[key]
        return np.bincount(x[x >= 0], minlength=len(prep.strings[key])).astype(np.float64)

    gc = counts("given")
    real = real_given_names(prep)
    # u of each level as the level is defined (:func:`~.compare.resolve_given`): two real given
    # names one edit apart ("Hùng"/"Dũng") are "another_name", never a "typo"
    g_typo = _u_fuzzy(prep.strings["given"], gc, _given_typo_pred(real))
    u["given"] = {"accent_differs": 0.3 * max(_sum_sq(gc), 1e-3), "typo": max(g_typo, 1e-4)}
    p_real = gc[real] / max(gc.sum(), 1.0)
    u["given"]["another_name"] = max(float(p_real.sum() ** 2 - (p_real ** 2).sum()), 0.05)
    u["given"]["different"] = max(1 - _sum_sq(gc) - g_typo - u["given"]["another_name"], 0.01)
    rc = counts("surname_middle")
    r_part = _u_fuzzy(prep.strings["surname_middle"], rc, lambda d, ln, idx: d <= 2)
    u["surname_middle"] = {"partial": max(r_part, 1e-3),
                           "different": max(1 - _sum_sq(rc) - r_part, 0.3)}
    u["birth_date"] = _u_birth_date(prep)
    u["id_number"] = {"one_edit": 1e-6, "different": 1.0}
    u["id_one_edit"] = _u_id_one_edit(prep)  # per ID shape
    g = prep.gender[prep.gender > 0]
    share_m = float((g == 1).mean()) if g.size else 0.5
    same_g = max(share_m ** 2 + (1 - share_m) ** 2, 0.5)
    u["gender"] = {"same": same_g, "different": 1 - same_g}
    cc = counts("commune")
    dc = counts("district")
    u_district = max(_sum_sq(dc) - _sum_sq(cc), 1e-4) if dc.sum() else 0.1
    u["commune"] = {"same": max(_sum_sq(cc), 1e-4), "same_district": u_district,
                    "different": max(1 - _sum_sq(cc) - u_district, 0.5)}
    u["phone"] = {"one_digit": 1e-4, "different": 0.99}
    ac = counts("address")
    u_sim = _u_address_similar(prep)
    u["address"] = {"same": max(_sum_sq(ac), 1e-4), "similar": u_sim,
                    "different": max(1 - _sum_sq(ac) - u_sim, 0.5)}
    u["address_in_commune"] = _u_address_in_commune(prep)
    u["doses"] = _u_doses(prep)
    # shrink towards the priors: a table of a few rows says little about chance agreement
    share = prep.n / (prep.n + TF_PSEUDO_RECORDS)
    for comp, levels in U_PRIORS.items():
        for lvl, prior in levels.items():
            u[comp][lvl] = share * u[comp][lvl] + (1 - share) * prior
    return Model(u=u)


# ------------------------------------------------------------------ weights

def _w(m: float, u: float | np.ndarray) -> Any:
    return np.log2(m / np.maximum(u, U_FLOOR))


def _table(model: Model, comp: str, names: tuple[str, ...]) -> np.ndarray:
    tab = np.zeros(len(names) + 1, np.float64)
    for k, lvl in enumerate(names, start=1):
        if lvl in model.u[comp]:
            tab[k] = _w(model.m[comp][lvl], model.u[comp][lvl])
    return tab


def _in_commune_table(model: Model) -> np.ndarray:
    """Weights (bits) of the address levels given that the commune agrees, indexed by level; an
    address that is not the same never adds to the commune's agreement (at most 0 bits: where
    both m and u of a rare level rest on a handful of pairs, their ratio says nothing)."""
    m, u = model.m["address_in_commune"], model.u["address_in_commune"]
    w = [float(_w(m[k], u[k])) for k in LEVELS["address"][1:]]
    return np.array([0.0] + [x if k == "same" else min(x, 0.0)
                             for k, x in zip(LEVELS["address"][1:], w)])


def household_regime(prep: PreparedFields, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Household regime of pairs: 1 same phone used by few records, 2 (only) same address
    used by few records, 0 neither."""
    out = np.zeros(a.size, np.int8)
    for key, tag in (("address", 2), ("phone", 1)):
        ca, cb = prep.codes[key][a], prep.codes[key][b]
        same = (ca == cb) & (ca >= 0)
        same &= prep.nums[f"{key}_count"][ca] <= HOUSEHOLD_MAX_RECORDS
        out[same] = tag
    return out


def _hh_table(model: Model, comp: str) -> np.ndarray:
    names = LEVELS[comp][1:]
    return np.array([0.0] + [float(_w(model.m[comp][k], model.hh_u[comp][k])) for k in names])


def comparison_weight(prep: PreparedFields, model: Model, comp: str, a: np.ndarray,
                      lv: dict[str, np.ndarray], hh: np.ndarray) -> np.ndarray:
    """Weights (bits) of one comparison of :data:`~vaxreport.linkage.compare.COMPARISONS`
    for the pairs whose first rows are ``a`` and levels ``lv``; exact levels term-frequency
    adjusted; pairs in the household regime (``hh``, :func:`household_regime`) use
    household-conditional u."""
    M = model.m
    if comp == "phone":
        level = lv["phone"]
        w = _table(model, "phone", LEVELS["phone"][1:])[level]
        ex = np.flatnonzero(level == 1)
        w[ex] = _w(M["phone"]["exact"], prep.freq["phone"][prep.codes["phone"][a[ex]]])
        return w
    if comp == "locality":  # address implies commune: the stronger agreement counts once
        wc = _table(model, "commune", LEVELS["commune"][1:])[lv["commune"]]
        wa = _table(model, "address", LEVELS["address"][1:])[lv["address"]]
        pos = np.maximum(np.maximum(wc, wa), 0.0)
        # and two communes imply two addresses: the commune's difference counts alone
        neg = np.where(lv["commune"] >= COMMUNE_DIFFERENT, np.minimum(wc, 0.0), np.minimum(wa, 0.0))
        out = np.where(pos > 0, pos, neg)
        # one commune, two addresses that are not the same: the commune's agreement, then the
        # address's given the commune (chain rule)
        inside = np.flatnonzero((lv["commune"] == 1) & (lv["address"] >= ADDRESS_SIMILAR))
        if inside.size:
            out[inside] = wc[inside] + _in_commune_table(model)[lv["address"][inside]]
        ex = np.flatnonzero(lv["address"] == 1)  # a shared address: term-frequency u
        out[ex] = np.maximum(_w(M["address"]["same"],
                                prep.freq["address"][prep.codes["address"][a[ex]]]), wc[ex])
        return np.where(hh == 1, 0.0, out)
    if comp == "doses":
        return _dose_weight(model, lv, hh)
    if comp == "gender":
        w = _table(model, "gender", ("same", "different"))[lv["gender"]]
        named = np.flatnonzero(((lv["given"] == 1) | (lv["given"] == 2)) & (lv["gender"] > 0))
        if named.size:  # the same given name mostly implies the same gender
            share = prep.freq["given_male"][prep.codes["given"][a[named]]]
            same = share ** 2 + (1 - share) ** 2
            w[named] = np.where(lv["gender"][named] == 1, _w(M["gender"]["same"], same),
                                _w(M["gender"]["different"], 1 - same))
        return w
    level = lv[comp]
    w = _table(model, comp, LEVELS[comp][1:])[level]
    ex = np.flatnonzero(level == 1)
    if ex.size:
        rows = a[ex]
        if comp == "birth_date":
            vals = prep.nums["dob"][rows]
            u = prep.freq["dob"][np.searchsorted(prep.freq["dob_values"], vals)]
        else:
            key = {"id_number": "id"}.get(comp, comp)
            u = prep.freq[key][prep.codes[key][rows]]
        w[ex] = _w(M[comp]["exact"], u)
    if comp == "id_number":
        oe = np.flatnonzero(level == 2)
        if oe.size:  # one edit apart: u of the IDs' own shape
            w[oe] = _w(M["id_number"]["one_edit"], _id_one_edit_u(prep, model, a[oe]))
    if comp == "given":
        acc = np.flatnonzero(level == 2)
        if acc.size:
            w[acc] = _w(M["given"]["accent_differs"],
                        0.3 * prep.freq["given"][prep.codes["given"][a[acc]]])
        w += sibling_correction(prep, model, a, lv, hh)
    if comp == "surname_middle":  # the full name's own frequency, not a product of its parts
        full = np.flatnonzero((level == 1) & (lv["given"] == 1) & (hh == 0))
        if full.size:
            w[full] += prep.freq["name_dependence"][prep.codes["sorted_name"][a[full]]]
    if comp in HOUSEHOLD_U and hh.any():
        h = np.flatnonzero(hh)
        wh = _hh_table(model, comp)[level[h]]
        if comp == "given":  # a rare given name is rarer still within one household
            wh = np.where(level[h] == 1, np.maximum(wh, w[h]), wh)
        w[h] = wh
    return w


def possible_twins(lv: dict[str, np.ndarray], hh: np.ndarray) -> np.ndarray:
    """Per pair: two real, different given names and one birth date, in one place or one
    household (:func:`siblings`, or ``hh`` > 0).

    >>> lv = {"given": np.array([5, 5, 1]), "birth_date": np.array([1, 1, 1]),
    ...       "commune": np.array([2, 2, 1]), "address": np.array([0, 0, 0])}
    >>> possible_twins(lv, np.array([0, 1, 1])).tolist()
    [False, True, False]
    """
    household = (hh > 0) & (lv["given"] == _ANOTHER_NAME) & (lv["birth_date"] == _DOB_EXACT)
    return household | siblings(lv, hh)


def _dose_weight(model: Model, lv: dict[str, np.ndarray], hh: np.ndarray) -> np.ndarray:
    """Weights (bits) of the dose levels: household-conditional u in the household regime (a
    family is vaccinated together), and never for a match between possible twins
    (:func:`possible_twins`: their doses are as alike as one person's)."""
    level = lv["doses"]
    w = np.where(hh > 0, _hh_table(model, "doses")[level],
                 _table(model, "doses", LEVELS["doses"][1:])[level])
    if {"given", "birth_date", "commune", "address"} <= lv.keys():
        w = np.where(possible_twins(lv, hh), np.minimum(w, 0.0), w)
    return w


#: Level codes the sibling correction (:func:`siblings`) reads.
_ANOTHER_NAME = LEVELS["given"].index("another_name")
_DOB_EXACT = LEVELS["birth_date"].index("exact")


def siblings(lv: dict[str, np.ndarray], hh: np.ndarray) -> np.ndarray:
    """Per pair: scored as possible siblings — two different real given names
    ("another_name"), the same birth date and the same place (commune or address), outside the
    household regime (``hh`` 0, which conditions on the family already).

    Among two *different* people with one birth date in one place, two real given names are
    the rule (twins); the birth date's agreement is then not independent of the names'
    disagreement, and its chance agreement is that of two members of one family
    (:data:`~.priors.HOUSEHOLD_U`), not of two random records.

    >>> lv = {"given": np.array([5, 5, 1]), "birth_date": np.array([1, 1, 1]),
    ...       "commune": np.array([1, 2, 1]), "address": np.array([0, 3, 0])}
    >>> siblings(lv, np.zeros(3, np.int8)).tolist()
    [True, False, False]
    """
    place = (lv["commune"] == 1) | (lv["address"] == 1)
    return (lv["given"] == _ANOTHER_NAME) & (lv["birth_date"] == _DOB_EXACT) & place & (hh == 0)


def sibling_correction(prep: PreparedFields, model: Model, a: np.ndarray,
                       lv: dict[str, np.ndarray], hh: np.ndarray) -> np.ndarray:
    """Bits added to the given name's weight of the pairs :func:`siblings` marks: the birth
    date's agreement re-weighed with the household-conditional u instead of its term-frequency
    u (never upwards); 0 elsewhere."""
    out = np.zeros(a.size, np.float64)
    if "birth_date" not in lv or "commune" not in lv:
        return out
    sib = np.flatnonzero(siblings(lv, hh))
    if sib.size:
        rows = a[sib]
        u_tf = prep.freq["dob"][np.searchsorted(prep.freq["dob_values"], prep.nums["dob"][rows])]
        m = model.m["birth_date"]["exact"]
        out[sib] = np.minimum(_w(m, model.hh_u["birth_date"]["exact"]) - _w(m, u_tf), 0.0)
    return out


def _id_one_edit_u(prep: PreparedFields, model: Model, rows: np.ndarray) -> np.ndarray:
    """u of "one edit apart" for the IDs of ``rows`` (by shape; the prior where not estimated)."""
    shape = prep.nums["id_shape"][prep.codes["id"][rows]]
    table = model.u.get("id_one_edit", {})
    default = model.u["id_number"]["one_edit"]
    keys, inv = np.unique(shape, return_inverse=True)
    return np.array([table.get(str(int(k)), default) for k in keys], np.float64)[inv]


def max_weight(prep: PreparedFields, model: Model, comp: str) -> float:
    """Largest weight a comparison can contribute (for the progressive filter's bound)."""
    M = model.m
    if comp == "locality":
        fa = prep.freq["address"]
        wc = _table(model, "commune", ("same",))[1]
        return float(max(wc, wc + _in_commune_table(model)[ADDRESS_SIMILAR:].max(),
                         _table(model, "address", LEVELS["address"][1:]).max(), 0.0,
                         _w(M["address"]["same"], fa.min()) if fa.size else 0.0))
    if comp == "gender":
        share = prep.freq["given_male"]
        same = share ** 2 + (1 - share) ** 2
        return float(max(_table(model, "gender", ("same", "different")).max(), 0.0,
                          *(_w(M["gender"]["same"], same.min()),
                            _w(M["gender"]["different"], (1 - same).min())) if share.size
                          else (0.0,)))
    best = float(max(_table(model, comp, LEVELS[comp][1:]).max(), 0.0))
    if comp == "surname_middle" and prep.freq["name_dependence"].size:
        best += max(float(prep.freq["name_dependence"].max()), 0.0)
    if comp in HOUSEHOLD_U:
        best = max(best, float(_hh_table(model, comp).max()))
    if comp == "id_number" and model.u.get("id_one_edit"):
        best = max(best, float(_w(M[comp]["one_edit"], min(model.u["id_one_edit"].values()))))
    key = {"id_number": "id", "birth_date": "dob"}.get(comp, comp)
    f = prep.freq.get(key)
    if f is not None and f.size:
        best = max(best, float(_w(M[comp]["exact"], f.min())))
    return best


def pair_weights(prep: PreparedFields, model: Model, a: np.ndarray, b: np.ndarray,
                 lv: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-comparison weights (bits) of each pair (a[k], b[k]) with levels ``lv``
    (:func:`~vaxreport.linkage.compare.compare_pairs`)."""
    hh = household_regime(prep, a, b)
    return {comp: comparison_weight(prep, model, comp, a, lv, hh) for comp in COMPARISONS}


def total_weight(w: dict[str, np.ndarray], size: int) -> np.ndarray:
    """The match weight of each of ``size`` pairs: the sum of its comparisons' weights (bits).

    >>> total_weight({"phone": np.array([3.0, -1.0]), "given": np.array([2.5, 0.0])}, 2).tolist()
    [5.5, -1.0]
    """
    total = np.zeros(size, np.float64)
    for v in w.values():
        total += v
    return total


def default_threshold(n_records: int, duplicate_rate: float = 0.10) -> float:
    """Default decision threshold in bits: the prior log2-odds against a random pair matching.

    With ``n`` records of which a share ``duplicate_rate`` duplicate another, a random pair is
    a match with probability ≈ ``rate·n / (n(n-1)/2)``; a pair is merged when its evidence
    outweighs those odds (posterior probability ≥ ½).  ``n`` counts the
    :data:`TF_PSEUDO_RECORDS` that the term-frequency u are shrunk with, so that small tables
    (whose u are mostly priors) are judged by the same standard.

    Args:
        n_records: number of rows in the person table.
        duplicate_rate: share of records that duplicate another
            (:func:`~vaxreport.linkage.cluster.cluster_persons` estimates it from the table,
            within :data:`~vaxreport.linkage.priors.DUPLICATE_RATE_RANGE`).

    Returns:
        Threshold in bits.

    Examples:
        >>> round(default_threshold(1_300_000), 1)
        22.6
        >>> round(default_threshold(3), 1)
        13.3
    """
    n = max(n_records, 0) + TF_PSEUDO_RECORDS
    return math.log2((n - 1) / 2 / duplicate_rate)


#: A pair is merged when its match is this many bits more likely than not (1 bit: posterior
#: ≥ 2/3): merging two people mixes their dose histories, which costs more than a missed
#: duplicate, which the worklists still show as a probable duplicate.
MERGE_ODDS_BITS = 1.0


# ------------------------------------------------------------------ EM

#: EM (:func:`fit_em`): rounds, weight of the priors (in pairs), how far below the lowest default
#: threshold the pairs it learns from reach (bits), and how many household pairs it samples.
EM_ROUNDS = 4
EM_PRIOR_PAIRS = 200.0
EM_MARGIN_BITS = 4.0
EM_HOUSEHOLD_PAIRS = 200_000
#: m that EM does not learn: twins agree on everything but the given name, so EM would take
#: them for one person whose name changed; how often a person's given name changes between
#: registrations (other than by a typo) is domain knowledge, kept at its prior.
EM_FIXED_M: dict[str, tuple[str, ...]] = {"given": ("another_name",)}
#: Household u that EM does not learn either: two members of one household share a birth date
#: only as twins and a given name practically never; pairs EM misses (one person whose
#: records disagree elsewhere) would otherwise teach it that they often do.
EM_FIXED_HH_U: dict[str, tuple[str, ...]] = {"given": ("exact",), "birth_date": ("exact",)}
#: Household u that EM may learn below its prior but never above it: two members of one
#: household share an identity number only when a relative's is typed on the record (the
#: household guard and the floor handle that case); the pairs EM misses (a FEBRL duplicate with
#: the same ID and address but another birth date) would teach it that households share IDs.
EM_CAPPED_HH_U: dict[str, tuple[str, ...]] = {"id_number": ("exact",)}


def _posterior(total: np.ndarray, threshold: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp2(np.clip(threshold - total, -60.0, 60.0)))


def _household_pairs(prep: PreparedFields, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``limit`` pairs (evenly spread) of records sharing a household-sized phone or
    address: two members of one household, or one person twice."""
    chunks = []
    rank = np.arange(prep.n, dtype=np.int64)
    for key in ("phone", "address"):
        c = prep.codes[key]
        small = (c >= 0) & (prep.nums[f"{key}_count"][c] <= HOUSEHOLD_MAX_RECORDS)
        chunks.append(block_pairs(np.where(small, c, -1).astype(np.int64), rank,
                                  HOUSEHOLD_MAX_RECORDS, 0))
    a = np.concatenate([x[0] for x in chunks])
    b = np.concatenate([x[1] for x in chunks])
    code = sorted_unique(np.minimum(a, b) * prep.n + np.maximum(a, b))
    if code.size > limit:
        code = code[np.linspace(0, code.size - 1, limit).astype(np.int64)]
    return code // prep.n, code % prep.n


def _em_address_in_commune(lv: dict[str, np.ndarray], post: np.ndarray) -> dict[str, float]:
    """m of the address levels given that the commune agrees: the posterior-weighted shares among
    the pairs of one commune with both addresses known (the prior counts as
    :data:`EM_PRIOR_PAIRS` pairs)."""
    inside = (lv["commune"] == 1) & (lv["address"] > 0)
    cnt = np.bincount(lv["address"][inside], weights=post[inside], minlength=len(LEVELS["address"]))
    raw = {k: cnt[LEVELS["address"].index(k)] + EM_PRIOR_PAIRS * p
           for k, p in ADDRESS_IN_COMMUNE_M.items()}
    total = sum(raw.values())
    return {k: v / total for k, v in raw.items()}


def fit_em(prep: PreparedFields, model: Model, a: np.ndarray, b: np.ndarray,
           lv: dict[str, np.ndarray]) -> tuple[Model, float]:
    """m probabilities, household-conditional u and the duplicate rate, estimated by EM.

    The pairs ``a, b`` (levels ``lv``) are the candidates that could reach the threshold; each
    round weighs them with the current model, takes each pair's posterior match probability
    (prior odds from the duplicate rate) and re-estimates every m as the posterior-weighted
    share of its level (the priors count as :data:`EM_PRIOR_PAIRS` pairs).  u stays what the
    value frequencies say, except within households: there u is the share of each level among
    household pairs that are not matches (a sample of all such pairs, not only candidates).

    Returns:
        The fitted :class:`Model` (``u`` unchanged) and the duplicate rate, clipped to
        :data:`~vaxreport.linkage.priors.DUPLICATE_RATE_RANGE`.
    """
    n = max(prep.n, 1)
    lo, hi = DUPLICATE_RATE_RANGE
    ha, hb = _household_pairs(prep, EM_HOUSEHOLD_PAIRS)
    hlv = compare_pairs(prep, ha, hb)
    rate = 0.10
    for _ in range(EM_ROUNDS):
        thr = default_threshold(prep.n, rate)
        post = _posterior(total_weight(pair_weights(prep, model, a, b, lv), a.size), thr)
        rate = min(max(float(post.sum()) / n, lo), hi)
        m: dict[str, dict[str, float]] = {}
        for comp, prior in M_PRIORS.items():
            cnt = np.bincount(lv[comp], weights=post, minlength=len(LEVELS[comp]))
            raw = {k: cnt[i] + EM_PRIOR_PAIRS * prior[k]
                   for i, k in enumerate(LEVELS[comp]) if k in prior}
            fixed = {k: prior[k] for k in EM_FIXED_M.get(comp, ())}
            free = {k: v for k, v in raw.items() if k not in fixed}
            scale = (1.0 - sum(fixed.values())) / sum(free.values())
            m[comp] = {k: fixed.get(k, raw[k] * scale) for k in raw}
        m["address_in_commune"] = _em_address_in_commune(lv, post)
        hh_u = {k: dict(v) for k, v in HOUSEHOLD_U.items()}
        if ha.size:
            hpost = _posterior(total_weight(pair_weights(prep, model, ha, hb, hlv), ha.size), thr)
            for comp, prior in HOUSEHOLD_U.items():
                cnt = np.bincount(hlv[comp], weights=1.0 - hpost, minlength=len(LEVELS[comp]))
                raw = {k: cnt[i] + EM_PRIOR_PAIRS * prior[k]
                       for i, k in enumerate(LEVELS[comp]) if k in prior}
                fixed = {k: prior[k] for k in EM_FIXED_HH_U.get(comp, ())}
                total = sum(raw.values())
                fixed |= {k: min(raw[k] / total, prior[k]) for k in EM_CAPPED_HH_U.get(comp, ())}
                scale = (1.0 - sum(fixed.values())) / sum(
                    v for k, v in raw.items() if k not in fixed)
                hh_u[comp] = {k: fixed.get(k, v * scale) for k, v in raw.items()}
        model = Model(u=model.u, m=m, hh_u=hh_u)
    return model, rate

