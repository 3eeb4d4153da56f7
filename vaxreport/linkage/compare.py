"""Comparisons: the agreement level (:data:`~vaxreport.linkage.priors.LEVELS`) of each field
for pairs of records, vectorised on integer codes; names refined with rapidfuzz on the unique
pairs of strings only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from vaxreport.linkage.prepare import PreparedFields
from vaxreport.linkage.priors import (
    ADDRESS_SIMILAR_MIN,
    DOSE_MIN_GAP_DAYS,
    LEVELS,
    REAL_NAME_MIN_SHARE,
    REAL_NAME_MIN_TABLE,
)
from vaxreport.text import is_vietnamese_syllable


def _unique_pair_apply(ca: np.ndarray, cb: np.ndarray, uniq: np.ndarray,
                       func: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    """Apply ``func(strings_a, strings_b) -> array`` once per unique (code a, code b) pair."""
    if ca.size == 0:
        return np.empty(0, np.float64)
    width = max(len(uniq), 1)
    lo, hi = np.minimum(ca, cb).astype(np.int64), np.maximum(ca, cb).astype(np.int64)
    inv, key = pd.factorize(lo * width + hi)
    sa = uniq[key // width]
    sb = uniq[key % width]
    return np.asarray(func(sa, sb))[inv]


def _lev(sa: np.ndarray, sb: np.ndarray) -> np.ndarray:
    return process.cpdist(list(sa), list(sb), scorer=OSA.distance, workers=-1)


def one_edit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """True where two non-negative integers (digit strings of equal length) differ by exactly
    one substituted digit or one adjacent transposition; vectorised integer arithmetic.

    ``|x - y|`` is then ``k·10^p`` (k ≤ 9) or ``9·j·10^p``; the digits above are checked equal.

    >>> one_edit(np.array([19090000123, 19090000123, 1, 19900101]),
    ...          np.array([19090000213, 19090000124, 1, 20000101]))
    array([ True,  True, False, False])
    """
    x = np.asarray(x, np.int64)
    y = np.asarray(y, np.int64)
    diff = np.abs(x - y)
    e = np.searchsorted(_POW10, diff, side="right") - 1
    P = _POW10[np.clip(e, 0, 15)]
    out = np.zeros(x.size, bool)

    def check(idx: np.ndarray, p: np.ndarray, transposed: bool) -> None:
        xs, ys = x[idx], y[idx]
        if transposed:  # digits at p and 10p crossed, everything above equal
            ok = xs // (p * 100) == ys // (p * 100)
            ok &= (xs // p) % 10 == (ys // (p * 10)) % 10
            ok &= (xs // (p * 10)) % 10 == (ys // p) % 10
        else:  # only the digit at p differs
            ok = xs // (p * 10) == ys // (p * 10)
        out[idx[ok]] = True

    valid = (diff > 0) & (e <= 15)
    sub = np.flatnonzero(valid & (diff % P == 0))
    check(sub, P[sub], False)
    nine = sub[diff[sub] // P[sub] == 9]
    check(nine, P[nine], True)
    p2 = np.maximum(P // 10, 1)
    tr = np.flatnonzero(valid & (e >= 1) & (diff % p2 == 0))
    tr = tr[(diff[tr] // p2[tr]) % 9 == 0]
    check(tr, p2[tr], True)
    return out


_POW10 = 10 ** np.arange(19, dtype=np.int64)


def _swapped_order(prep: PreparedFields, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Same name tokens in another order ("An Nguyễn Văn" vs "Nguyễn Văn An")."""
    c = prep.codes
    sa = c["sorted_name"][a]
    return (sa == c["sorted_name"][b]) & (sa >= 0) & (c["name"][a] != c["name"][b])


def _lv_given(prep: PreparedFields, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    c = prep.codes
    ga, gb = c["given"][a], c["given"][b]
    given = np.zeros(a.size, np.int8)
    has = (ga >= 0) & (gb >= 0)
    eq = has & (ga == gb)
    given[has] = 4
    given[eq] = 1
    acc = np.flatnonzero(eq)
    aa, ab = c["given_accent"][a[acc]], c["given_accent"][b[acc]]
    given[acc[(aa >= 0) & (ab >= 0) & (aa != ab)]] = 2
    pend = np.flatnonzero(has & ~eq)
    given[pend[_swapped_order(prep, a[pend], b[pend])]] = 1
    return given


def _lv_surname_middle(prep: PreparedFields, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    c = prep.codes
    ra, rb = c["surname_middle"][a], c["surname_middle"][b]
    rest = np.zeros(a.size, np.int8)
    has = (ra >= 0) & (rb >= 0)
    rest[has] = 3
    rest[has & (ra == rb)] = 1
    pend = np.flatnonzero(rest == 3)
    rest[pend[_swapped_order(prep, a[pend], b[pend])]] = 1
    return rest


def _lv_birth_date(prep: PreparedFields, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Levels from yyyymmdd integers (``prep.nums["dob"]``; a bare year is yyyy0000)."""
    ia, ib = prep.nums["dob"][a], prep.nums["dob"][b]
    ya, yb = ia // 10000, ib // 10000
    dob = np.zeros(a.size, np.int8)
    both_year = (ya > 0) & (yb > 0)
    dob[both_year] = np.where(ya[both_year] == yb[both_year], 4, 5)
    full = np.flatnonzero((ia % 10000 > 0) & (ib % 10000 > 0) & both_year)
    xa, xb = ia[full], ib[full]
    same = xa == xb
    md_a, md_b = xa % 10000, xb % 10000
    same_year = ya[full] == yb[full]
    swap = ~same & same_year & ((md_a % 100) * 100 + md_a // 100 == md_b)
    # one typo'd digit: in day/month (same year) or in the year (same day and month)
    maybe = np.flatnonzero(~same & ~swap & (same_year | (md_a == md_b)))
    one = np.zeros(full.size, bool)
    one[maybe] = one_edit(xa[maybe], xb[maybe])
    lvl = dob[full]
    lvl[one] = 3
    lvl[swap] = 2
    lvl[same] = 1
    dob[full] = lvl
    return dob


def _lv_same(x: np.ndarray, y: np.ndarray, missing: int = -1, different: int = 2) -> np.ndarray:
    """0 if either is missing, 1 equal, ``different`` (2) otherwise."""
    out = np.zeros(x.size, np.int8)
    has = (x != missing) & (y != missing)
    out[has] = np.where(x[has] == y[has], 1, different)
    return out


def _lv_locality(prep: PreparedFields, a: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    c = prep.codes
    commune = _lv_same(c["commune"][a], c["commune"][b])
    da, db = c["district"][a], c["district"][b]
    commune[(commune == COMMUNE_DIFFERENT) & (da == db) & (da >= 0)] = COMMUNE_SAME_DISTRICT
    return {"commune": commune,
            "address": _lv_same(c["address"][a], c["address"][b], different=ADDRESS_DIFFERENT)}


#: Level codes of communes: two communes (another district, or one district) are the levels
#: from :data:`COMMUNE_DIFFERENT` up.
COMMUNE_DIFFERENT = LEVELS["commune"].index("different")
COMMUNE_SAME_DISTRICT = LEVELS["commune"].index("same_district")


#: Level codes of addresses (:data:`~vaxreport.linkage.priors.LEVELS`).
ADDRESS_SIMILAR = LEVELS["address"].index("similar")
ADDRESS_DIFFERENT = LEVELS["address"].index("different")


def _token_set(sa: np.ndarray, sb: np.ndarray) -> np.ndarray:
    return process.cpdist(list(sa), list(sb), scorer=fuzz.token_set_ratio, workers=-1)


def resolve_address(prep: PreparedFields, a: np.ndarray, b: np.ndarray,
                    lv: dict[str, np.ndarray]) -> None:
    """Refine "different" addresses (``lv["address"]``, in place) to "similar" when their
    token-set similarity reaches :data:`~vaxreport.linkage.priors.ADDRESS_SIMILAR_MIN`, unless
    the communes differ (``lv["commune"]``); unique pairs of strings only."""
    # a similar address adds nothing to two different communes (the commune's difference
    # counts alone, :func:`~vaxreport.linkage.model.comparison_weight`): not compared there
    ne = np.flatnonzero((lv["address"] == ADDRESS_DIFFERENT) & (lv["commune"] < COMMUNE_DIFFERENT))
    if ne.size:
        c = prep.codes["address"]
        sim = _unique_pair_apply(c[a[ne]], c[b[ne]], prep.strings["address"], _token_set)
        lv["address"][ne[sim >= ADDRESS_SIMILAR_MIN]] = ADDRESS_SIMILAR


def comparison_levels(prep: PreparedFields, comp: str, a: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    """Levels of one comparison of :data:`COMPARISONS` for pairs (a[k], b[k]), without
    rapidfuzz: names that differ stay "different" until :func:`resolve_given` /
    :func:`resolve_surname_middle` refine them.

    Returns:
        Field → int8 level codes (indices into :data:`~vaxreport.linkage.priors.LEVELS`);
        ``locality`` gives ``commune`` and ``address``.

    Examples:
        >>> from vaxreport.linkage.prepare import prepare_fields
        >>> p = prepare_fields(pd.DataFrame({"birth_date": ["12/03/1990", "03/12/1990"]}))
        >>> comparison_levels(p, "birth_date", np.array([0]), np.array([1]))["birth_date"].tolist()
        [2]
    """
    if comp == "given":
        return {"given": _lv_given(prep, a, b)}
    if comp == "surname_middle":
        return {"surname_middle": _lv_surname_middle(prep, a, b)}
    if comp == "birth_date":
        return {"birth_date": _lv_birth_date(prep, a, b)}
    if comp == "id_number":
        lvl = _digit_levels(prep, "id", a, b)
        ok = prep.nums["id_row_ok"]
        return {"id_number": np.where(ok[a] & ok[b], lvl, 0).astype(np.int8)}
    if comp == "gender":
        return {"gender": _lv_same(prep.gender[a], prep.gender[b], missing=0)}
    if comp == "phone":
        return {"phone": _digit_levels(prep, "phone", a, b)}
    if comp == "doses":
        return {"doses": dose_levels(prep, a, b)}
    return _lv_locality(prep, a, b)


#: Comparisons, in the order the progressive filter evaluates them (most decisive first).
COMPARISONS = ("phone", "locality", "birth_date", "id_number", "given", "surname_middle",
               "gender", "doses")

#: Level codes of the dose comparison (:data:`~vaxreport.linkage.priors.LEVELS`).
_DOSE_LEVEL = {k: np.int8(i) for i, k in enumerate(LEVELS["doses"])}


def dose_levels(prep: PreparedFields, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Level of the two records' dose histories (``prep.nums["dose_day"]``, ``"dose_no"``,
    :func:`~vaxreport.linkage.prepare.dose_slots`) for pairs (a[k], b[k]), in this order:

    - ``same_date``: a dose on one day on both records (one dose entered twice);
    - ``too_close``: two doses on two days less than
      :data:`~vaxreport.linkage.priors.DOSE_MIN_GAP_DAYS` apart (two people vaccinated in one
      campaign — or a dose date typed wrong);
    - ``sequential``: every dose of one record before every dose of the other, the later
      record's dose numbers above the earlier's (a person who moved: the second record takes
      the later doses); ``renumbered``: the same, numbered from 1 again (or a number repeated);
    - ``interleaved``: the doses alternate in time (two people, mostly);
    - ``missing``: a record without a dated dose.

    Examples:
        >>> from vaxreport.linkage.prepare import prepare_fields
        >>> p = prepare_fields(pd.DataFrame({"doses": [
        ...     "2021-08-01#1 2021-09-01#2", "2022-01-10#3", "2022-01-10#1", "2021-08-05#1 2021-09-03#2",
        ...     "2021-08-16#1 2021-09-20#2", "2021-09-01#2", None]}))
        >>> lv = dose_levels(p, np.zeros(6, np.int64), np.arange(1, 7))
        >>> [LEVELS["doses"][k] for k in lv]
        ['sequential', 'renumbered', 'too_close', 'interleaved', 'same_date', 'missing']
    """
    day, no = prep.nums["dose_day"], prep.nums["dose_no"]
    out = np.zeros(a.size, np.int8)
    if not day.size or not (day[:, 0] > 0).any():
        return out
    used = int(np.flatnonzero((day > 0).any(axis=0)).max()) + 1  # slots some record fills
    has = np.flatnonzero((day[a, 0] > 0) & (day[b, 0] > 0))
    ra, rb = a[has], b[has]
    ya, yb = day[ra, :used].T, day[rb, :used].T  # one gather each; slot-major
    # empty slots far apart (-2^20 on one side, +2^20 on the other): never shared or close
    da = np.where(ya > 0, ya, np.int32(-(1 << 20)))
    db = np.where(yb > 0, yb, np.int32(1 << 20))
    shared = np.zeros(has.size, bool)
    near = np.zeros(has.size, bool)
    for x in da:
        for y in db:
            gap = np.abs(x - y)
            shared |= gap == 0
            near |= gap < DOSE_MIN_GAP_DAYS
    close = near & ~shared
    last_a, last_b = ya.max(axis=0), yb.max(axis=0)  # empty slots are 0
    a_first = last_a < db[0]
    b_first = last_b < da[0]
    # numbers continue: the earlier record's largest known number below the later's smallest
    na, nb = no[ra, :used].astype(np.int32), no[rb, :used].astype(np.int32)
    big = np.int32(1 << 20)
    top_a, top_b = na.max(axis=1), nb.max(axis=1)
    low_a, low_b = np.where(na > 0, na, big).min(axis=1), np.where(nb > 0, nb, big).min(axis=1)
    on = np.where(a_first, top_a < low_b, top_b < low_a)
    lvl = np.full(has.size, _DOSE_LEVEL["interleaved"], np.int8)
    seq = a_first | b_first
    lvl[seq] = np.where(on[seq], _DOSE_LEVEL["sequential"], _DOSE_LEVEL["renumbered"])
    lvl[close] = _DOSE_LEVEL["too_close"]
    lvl[shared] = _DOSE_LEVEL["same_date"]
    out[has] = lvl
    return out


def compare_pairs(prep: PreparedFields, a: np.ndarray, b: np.ndarray, *, fuzzy: bool = True
                  ) -> dict[str, np.ndarray]:
    """Agreement level of every field for pairs of rows (a[k], b[k]).

    Args:
        prep: the prepared table (:func:`~vaxreport.linkage.prepare.prepare_fields`).
        a: row positions of the first records.
        b: row positions of the second records.
        fuzzy: refine differing names with rapidfuzz (typo, partial, another name).

    Returns:
        Field → int8 level codes, indices into :data:`~vaxreport.linkage.priors.LEVELS`.

    Examples:
        >>> from vaxreport.linkage.prepare import prepare_fields
        >>> from vaxreport.linkage.priors import LEVELS
        >>> p = prepare_fields(pd.DataFrame({"full_name": ["Lê Văn Hùng", "Le Van Hug"]}))
        >>> lv = compare_pairs(p, np.array([0]), np.array([1]))
        >>> LEVELS["given"][lv["given"][0]], LEVELS["surname_middle"][lv["surname_middle"][0]]
        ('typo', 'exact')
    """
    lv: dict[str, np.ndarray] = {}
    for comp in COMPARISONS:
        lv.update(comparison_levels(prep, comp, a, b))
    if fuzzy:
        _resolve_names(prep, a, b, lv)
    return lv


def _digit_levels(prep: PreparedFields, key: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """0 missing / not comparable (another kind or length), 1 exact, 2 one digit or
    transposition, 3 different."""
    ca, cb = prep.codes[key][a], prep.codes[key][b]
    lens, nums = prep.nums.get(f"{key}_shape", prep.nums[f"{key}_len"]), prep.nums[f"{key}_num"]
    out = np.zeros(a.size, np.int8)
    has = np.flatnonzero((ca >= 0) & (cb >= 0))
    ca, cb = ca[has], cb[has]
    lvl = np.where(lens[ca] == lens[cb], 3, 0).astype(np.int8)
    lvl[ca == cb] = 1
    pend = np.flatnonzero(lvl == 3)
    xa, xb = nums[ca[pend]], nums[cb[pend]]  # -1: letters and digits, compared exactly only
    lvl[pend[one_edit(xa, xb) & (xa >= 0) & (xb >= 0)]] = 2
    out[has] = lvl
    return out


def _resolve_names(prep: PreparedFields, a: np.ndarray, b: np.ndarray,
                   lv: dict[str, np.ndarray]) -> None:
    """Refine "different" name levels to typo/partial and addresses to similar with rapidfuzz
    (unique pairs only)."""
    resolve_given(prep, a, b, lv)
    resolve_surname_middle(prep, a, b, lv)
    resolve_address(prep, a, b, lv)


def resolve_given(prep: PreparedFields, a: np.ndarray, b: np.ndarray,
                  lv: dict[str, np.ndarray], only: np.ndarray | None = None) -> None:
    """Refine "different" given names (``lv["given"]``, in place) to "typo" with rapidfuzz, or
    to "another_name" when both are real given names (:func:`real_given_names`); unique pairs
    of strings only.  The word-level checks (dropped, split or moved words) run only on the
    pairs ``only`` marks (default all): the progressive filter leaves out the pairs that even
    a typo could not carry to the threshold."""
    c = prep.codes
    ex = np.flatnonzero(lv["given"] == 1)
    if ex.size:  # "John Smith" / "Thomas Smith": the shared last word is a family name
        lv["given"][ex[family_name_last(prep, a[ex], b[ex])]] = 4
    ne = np.flatnonzero(lv["given"] == 4)
    if ne.size:
        ga, gb = c["given"][a[ne]], c["given"][b[ne]]
        dist = _unique_pair_apply(ga, gb, prep.strings["given"], _lev)
        glen = given_lengths(prep)
        short = np.minimum(glen[ga], glen[gb])
        typo = (dist <= 1) | ((dist <= 2) & (short >= 6))
        # "Hùng"/"Dũng", "An"/"Anh": one edit apart but two real names — siblings, not a typo.
        real = real_given_names(prep)
        both = real[ga] & real[gb]
        typo &= ~both
        # a dropped, split or moved word ("john smith" / "john", "black well" / "blackwell");
        # the first or last word dropped even between two real given names ("thach thi sa
        # ruol" / "thach thi sa": a two-word given name cut short, not a sibling)
        hope = np.ones(ne.size, bool) if only is None else only[ne]
        rest = np.flatnonzero(~typo & ~both & hope)
        typo[rest[names_overlap(prep, a[ne[rest]], b[ne[rest]])]] = True
        rest = np.flatnonzero(~typo & hope)
        typo[rest[end_word_dropped(prep, a[ne[rest]], b[ne[rest]])]] = True
        lv["given"][ne[typo]] = 3
        lv["given"][ne[~typo & both]] = 5


def _overlap(sa: np.ndarray, sb: np.ndarray) -> np.ndarray:
    out = np.zeros(len(sa), bool)
    for k, (x, y) in enumerate(zip(sa, sb)):
        tx, ty = x.split(" "), y.split(" ")
        sx, sy = set(tx), set(ty)
        if min(len(x), len(y)) >= 3 and (sx <= sy or sy <= sx):
            out[k] = True
        elif x.replace(" ", "") == y.replace(" ", ""):
            out[k] = True
        else:  # the same words in another order, one with a typo
            ox, oy = " ".join(sorted(tx)), " ".join(sorted(ty))
            out[k] = OSA.distance(ox, oy) <= (2 if min(len(ox), len(oy)) >= 12 else 1)
    return out


def family_name_last(prep: PreparedFields, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per pair: the names end with the same word, which is not a real Vietnamese given name,
    and what precedes it differs by more than two edits — "John Smith" / "Thomas Smith",
    "Y Bhin Niê" / "Y Ngông Niê": a family or clan name written last, and two personal names.
    The given-name comparison then says "different" and the surname comparison "partial".

    >>> from vaxreport.linkage.prepare import prepare_fields
    >>> p = prepare_fields(pd.DataFrame({"full_name": ["John Smith", "Thomas Smith",
    ...                                                "Nguyễn Văn An", "Trần Văn An"]}))
    >>> family_name_last(p, np.array([0, 2]), np.array([1, 3])).tolist()
    [True, False]
    """
    c = prep.codes
    ga, gb = c["given"][a], c["given"][b]
    sa, sb = c["surname_middle"][a], c["surname_middle"][b]
    out = (ga == gb) & (ga >= 0) & (sa >= 0) & (sb >= 0) & (sa != sb)
    out &= ~real_given_names(prep)[np.maximum(ga, 0)]
    idx = np.flatnonzero(out)
    if idx.size:
        dist = _unique_pair_apply(sa[idx], sb[idx], prep.strings["surname_middle"], _lev)
        out[idx] = dist > 2
    return out


def end_word_dropped(prep: PreparedFields, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per pair: one folded full name is the other without its last word (integer codes only:
    each name's code with its last word removed is looked up among the names).  A name without
    its first word keeps its given name, which then agrees already.

    >>> from vaxreport.linkage.prepare import prepare_fields
    >>> p = prepare_fields(pd.DataFrame({"full_name": ["Thạch Thị Sa Rươl", "Thach Thi Sa",
    ...                                                "Thạch Thị Sa Phiên"]}))
    >>> end_word_dropped(p, np.array([0, 0]), np.array([1, 2])).tolist()
    [True, False]
    """
    if "name_head" not in prep.nums:
        names = pd.Series(prep.strings["name"], dtype="str")
        cut = names.str.replace(r" ?[^ ]*$", "", regex=True)
        head = pd.Index(names).get_indexer(cut)
        prep.nums["name_head"] = np.where(cut != names, head, -1).astype(np.int64)
    c = prep.codes["name"]
    ca, cb = c[a].astype(np.int64), c[b].astype(np.int64)
    head = np.append(prep.nums["name_head"], -1)
    return ((head[ca] == cb) & (cb >= 0)) | ((head[cb] == ca) & (ca >= 0))


def name_ends(prep: PreparedFields) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per folded full name: codes of its first and last words (one code space), its number
    of words and of letters (cached on ``prep``)."""
    if "name_first" not in prep.nums:
        names = pd.Series(prep.strings["name"], dtype="str")
        firsts = names.str.replace(r" .*$", "", regex=True)
        lasts = names.str.replace(r"^.* ", "", regex=True)
        codes, _ = pd.factorize(pd.concat([firsts, lasts], ignore_index=True))
        prep.nums["name_first"] = codes[: len(names)].astype(np.int64)
        prep.nums["name_last"] = codes[len(names):].astype(np.int64)
        prep.nums["name_words"] = (names.str.count(" ") + 1).to_numpy(np.int64)
        prep.nums["name_letters"] = names.str.replace(" ", "").str.len().to_numpy(np.int64)
    n = prep.nums
    return n["name_first"], n["name_last"], n["name_words"], n["name_letters"]


def names_overlap(prep: PreparedFields, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per pair: one folded full name is the other with words dropped, both are the same
    letters split into words differently ("black well" / "blackwell"), or the same words in
    another order with a typo ("stephenson elizbeth" / "elizabeth stephenson"); unique pairs
    only.

    >>> from vaxreport.linkage.prepare import prepare_fields
    >>> p = prepare_fields(pd.DataFrame({"full_name": ["John Smith", "john", "Amber Black Well",
    ...                                                "amber blackwell", "Mary Smith",
    ...                                                "Smith Jonh"]}))
    >>> names_overlap(p, np.array([0, 2, 0, 0]), np.array([1, 3, 4, 5])).tolist()
    [True, True, False, True]
    """
    c = prep.codes["name"]
    ok = (c[a] >= 0) & (c[b] >= 0)
    # a cheap necessary condition on integer codes (the pairs here differ in the last word):
    # a word moved to the other end (dropped words, another order), or the same first word and
    # letters split into another number of words — most pairs left (same surname, another
    # given name) fail it and never reach the string loop
    first, last, ntok, letters = name_ends(prep)
    ca, cb = np.maximum(c[a], 0), np.maximum(c[b], 0)
    cross = (first[ca] == last[cb]) | (last[ca] == first[cb])
    ok &= cross | ((ntok[ca] != ntok[cb]) & (first[ca] == first[cb]) & (letters[ca] == letters[cb]))
    out = np.zeros(a.size, bool)
    if ok.any():
        out[ok] = _unique_pair_apply(c[a[ok]], c[b[ok]], prep.strings["name"], _overlap)
    return out


def given_lengths(prep: PreparedFields) -> np.ndarray:
    """Per given name, its length in characters (cached on ``prep``)."""
    glen = prep.nums.get("given_len")
    if glen is None:
        glen = pd.Series(prep.strings["given"], dtype="str").str.len().to_numpy(np.int64)
        prep.nums["given_len"] = glen
    return glen


def real_given_names(prep: PreparedFields) -> np.ndarray:
    """Per given name: real = a valid Vietnamese syllable that, in a large table, is also a
    common given name (a typo's product is rare: "Tuấ", "Hy" for "Huy")."""
    real = prep.nums.get("given_real")
    if real is None:
        c = prep.codes["given"]
        real = np.array([is_vietnamese_syllable(v) for v in prep.strings["given"]], bool)
        if prep.n >= REAL_NAME_MIN_TABLE:
            cnt = np.bincount(c[c >= 0], minlength=real.size)
            real &= cnt >= REAL_NAME_MIN_SHARE * prep.n
        prep.nums["given_real"] = real
    return real


def resolve_surname_middle(prep: PreparedFields, a: np.ndarray, b: np.ndarray,
                           lv: dict[str, np.ndarray], only: np.ndarray | None = None) -> None:
    """Refine "different" surname + middle names (``lv["surname_middle"]``, in place) to
    "partial" (same surname, a middle name missing, at most two edits, a dropped, split or
    moved word, a family name written last); unique pairs only, and only the pairs ``only``
    marks (default all; see :func:`resolve_given`)."""
    c = prep.codes
    ne = np.flatnonzero((lv["surname_middle"] == 3) & (True if only is None else only))
    if ne.size:
        ra, rb = c["surname_middle"][a[ne]], c["surname_middle"][b[ne]]
        sa, sb = c["surname"][a[ne]], c["surname"][b[ne]]
        mida, midb = c["middle"][a[ne]], c["middle"][b[ne]]
        partial = (sa == sb) & (sa >= 0) & ((mida < 0) | (midb < 0))
        dist = _unique_pair_apply(ra, rb, prep.strings["surname_middle"], _lev)
        partial |= dist <= 2
        partial |= names_overlap(prep, a[ne], b[ne])
        partial |= family_name_last(prep, a[ne], b[ne])  # the shared family name
        lv["surname_middle"][ne[partial]] = 2

