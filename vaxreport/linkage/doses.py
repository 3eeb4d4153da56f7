"""Dose-level reconciliation after person dedup (the MIROW "vaccination level" phase).

Per person (``person_id``, the dedup cluster label):

1. **Collapse duplicate entries of one dose.** Rows of one person on the same ``dose_date`` with
   the same ``vaccine`` are one dose; so are rows on the same date entered by two different sites.
   The survivor is the best row (signed over unsigned, earliest ``entered_at``, then smallest
   ``record_id``); the others go to ``merged`` with ``merged_into`` and ``reason``.
2. **Renumber** the remaining doses by date (``dose_seq``, 1-based). A dose whose date is
   unusable (``date_flags`` future / before the campaign / before birth) is placed by its
   entered number. Checks run on the *effective* sequence, which skips suspected duplicates
   (``suspect_duplicate``), so one double entry does not make every later dose look wrong.
3. **Flag findings** on the surviving rows: ``dose_number_mismatch``, ``missing_dose``,
   ``near_duplicate_dose`` (same entered number a few days apart: a finding, not a merge),
   ``same_day_two_vaccines``, ``short_interval`` (primary series: ``vaccines.csv``
   ``min_interval_days`` of the previous dose's product; boosters: ``booster_rules.csv`` by dose
   date and age), ``ineligible_age``, ``mixing_not_allowed`` and ``incomplete_primary``.

Finding codes, Vietnamese labels, priorities and worklist kinds live in the editable
``vaxreport/data/findings.csv`` (:func:`finding_codes`).

All work is vectorised over integer-coded numpy arrays sorted once (no per-person Python loops).

Examples:
    >>> doses = _example_doses()
    >>> res = reconcile(doses)
    >>> len(res.data), len(res.merged)
    (3, 1)
    >>> res.merged[["record_id", "merged_into", "reason"]].values.tolist()
    [['r2', 'r1', 'duplicate_same_vaccine']]
    >>> sorted(res.findings.code)
    ['dose_number_mismatch', 'short_interval']
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from vaxreport import refdata
from vaxreport.exceptions import ConservationError
from vaxreport.schemas import require_columns

REQUIRED_COLUMNS: tuple[str, ...] = ("record_id", "person_id", "birth_date", "vaccine",
                                     "dose_number", "dose_date", "site_code", "sign_status")
FINDING_COLUMNS: tuple[str, ...] = ("record_id", "person_id", "code", "label_vi", "detail")
MERGE_COLUMNS: tuple[str, ...] = ("merged_into", "reason")

_NAT = np.iinfo(np.int64).max  # sorts after every real date


def _default_mixing() -> frozenset[tuple[str, str]]:
    pairs = {("AZ", "PFIZER"), ("AZ", "MODERNA"), ("MODERNA", "PFIZER"), ("PFIZER", "MODERNA")}
    return frozenset(pairs)


@dataclass(frozen=True, eq=False)
class DoseRules:
    """Schedule rules used by :func:`reconcile` (defaults from the shipped reference tables).

    Attributes:
        vaccines: ``refdata.vaccines()``: ``vaccine_code, canonical_name, primary_doses,
            min_interval_days, min_age``.
        boosters: ``refdata.booster_rules()``: ``valid_from, valid_to, dose_number (3|4),
            age_min, age_max, min_days_after_previous``. Booster *k* after a primary series of
            any length is checked against rule ``dose_number = k + 2``.
        near_duplicate_days: two consecutive doses with the same entered ``dose_number`` at most
            this many days apart are flagged ``near_duplicate_dose``.
        same_dose_days: two entries of one person with the same product and entered
            ``dose_number`` at most this many days apart are one dose entered twice and merged
            (``duplicate_near_date``): no schedule has doses a day apart, and a date shifted by
            one day is a common entry error (dates kept as epoch milliseconds at 07:00 local
            time shift when converted in another time zone). 0 turns this off.
        grace_days: a dose this many days earlier than the minimum interval is still accepted.
        child_age_max: oldest age (years at the dose) of the child schedule.
        child_vaccines: the only products allowed at ``age <= child_age_max`` (each still
            subject to its own ``min_age``); a child's primary series must not mix products.
        mixing_allowed: ``(previous, next)`` product-code pairs allowed to differ in the primary
            series (adults).
        bad_date_flags: ``date_flags`` codes (from cleansing) that make a dose date unusable:
            such a dose is placed in the sequence by its entered number and skipped by the
            interval, age and duplicate checks.
    """

    vaccines: pd.DataFrame = field(default_factory=refdata.vaccines)
    boosters: pd.DataFrame = field(default_factory=refdata.booster_rules)
    near_duplicate_days: int = 7
    same_dose_days: int = 1
    grace_days: int = 0
    child_age_max: int = 11
    child_vaccines: frozenset[str] = frozenset({"PFIZER", "MODERNA"})
    mixing_allowed: frozenset[tuple[str, str]] = field(default_factory=_default_mixing)
    bad_date_flags: frozenset[str] = frozenset({"dose_date_future", "dose_before_campaign",
                                                "dose_before_birth"})


@dataclass(frozen=True)
class ReconcileResult:
    """Output of :func:`reconcile`.

    Attributes:
        data: the unique doses, in input order: input columns + ``dose_seq`` (Int64, 1..n per
            person by date) + ``suspect_duplicate`` (bool: a near-duplicate or a second
            product on the same day, kept but not counted by the checks or the summary).
        findings: one row per problem: ``record_id, person_id, code, label_vi, detail``
            (``person_id`` keeps the input's dtype, e.g. dedup's int64 cluster labels).
        merged: the collapsed duplicate rows (input columns + ``merged_into, reason``).
    """

    data: pd.DataFrame
    findings: pd.DataFrame
    merged: pd.DataFrame


def finding_codes() -> pd.DataFrame:
    """The finding vocabulary from ``vaxreport/data/findings.csv``, indexed by ``code``.

    Columns: ``label_vi, priority (int, 1 = most urgent), worklist (kind or ""),
    suggestion_vi``.

    Examples:
        >>> finding_codes().loc["short_interval", "label_vi"]
        'Khoảng cách giữa hai mũi ngắn hơn quy định'
    """
    df = refdata.table("findings")
    df["priority"] = df["priority"].astype(int)
    return df.set_index("code")


def _days(s: pd.Series) -> np.ndarray:
    """Datetime Series -> int64 days since epoch, NaT -> _NAT."""
    d = pd.to_datetime(s, errors="coerce")
    out = d.to_numpy(dtype="datetime64[D]").astype(np.int64)
    out[d.isna().to_numpy()] = _NAT
    return out


def _seconds(s: pd.Series) -> np.ndarray:
    """Datetime Series -> int64 seconds since epoch, NaT -> _NAT."""
    d = pd.to_datetime(s, errors="coerce")
    out = d.to_numpy(dtype="datetime64[s]").astype(np.int64)
    out[d.isna().to_numpy()] = _NAT
    return out


def _codes(s: pd.Series) -> np.ndarray:
    """Integer codes of a column; NA gets its own code (NA == NA for grouping)."""
    codes, _ = pd.factorize(s, use_na_sentinel=False)
    return codes.astype(np.int64)


def _group_start(new_group: np.ndarray) -> np.ndarray:
    """For rows in group order, the index of the first row of each row's group."""
    idx = np.arange(len(new_group))
    return np.maximum.accumulate(np.where(new_group, idx, 0)) if len(idx) else idx


def _offset(a: np.ndarray) -> tuple[np.ndarray, int]:
    """Shift an int array to start at 0; return it with its value range (max - min + 1)."""
    nat = a == _NAT
    if nat.any():  # missing dates sort last
        a = np.where(nat, (a[~nat].max() + 1) if (~nat).any() else 0, a)
    lo, hi = int(a.min()), int(a.max())
    if hi - lo >= 2**62:  # cannot pack (e.g. a _NAT sentinel next to small values): rank it
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


def _sort_with_record_tiebreak(keys: list[np.ndarray], record_id: pd.Series, *,
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
    >>> _sort_with_record_tiebreak([np.array([0, 0, 1, 0]), np.array([1, 1, 0, 1])], rid)
    array([2, 1, 0, 3])
    >>> _sort_with_record_tiebreak([np.array([0, 0, 1, 0]), np.array([1, 1, 0, 1])], rid, major=1)
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
            sub = _sort_with_record_tiebreak([a[rows] for a in keys], record_id,
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


def _civil(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Days since 1970-01-01 -> (year, month * 100 + day), pure integer arithmetic.

    H. Hinnant's ``civil_from_days``; much faster than datetime64 unit conversions.

    >>> _civil(np.array([0, 19144]))
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


def _civil_key(days: np.ndarray) -> np.ndarray:
    """``year * 10000 + month * 100 + day`` of int days since epoch (any value, _NAT too).

    Dates repeat (a few hundred dose days, tens of thousands of birth days), so the calendar
    arithmetic runs once per day of the covered range rather than once per row.
    """
    if not len(days):
        return days.copy()
    lo, hi = int(days.min()), int(days.max())
    if hi - lo < min(len(days), 1 << 22):
        year, md = _civil(np.arange(lo, hi + 1, dtype=np.int64))
        return (year * 10000 + md)[days - lo]
    year, md = _civil(days)
    return year * 10000 + md


def _age_years(birth_days: np.ndarray, at_days: np.ndarray) -> np.ndarray:
    """Completed years between two int day arrays; -1 where either is missing.

    >>> _age_years(np.array([0, 0, _NAT]), np.array([365, 364, 365]))
    array([ 1,  0, -1])
    """
    ok = (birth_days != _NAT) & (at_days != _NAT)
    born = _civil_key(np.where(ok, birth_days, 0))
    at = _civil_key(np.where(ok, at_days, 0))
    return np.where(ok, (at - born) // 10000, -1)


def _person_codes(df: pd.DataFrame) -> tuple[np.ndarray, pd.Series]:
    """Integer person codes and the person_id values (``"ref:<person_ref>"`` where missing)."""
    pid_s = df["person_id"]
    codes, _ = pd.factorize(pid_s)
    codes = codes.astype(np.int64)
    na = codes < 0
    if na.any():
        ref = df["person_ref"] if "person_ref" in df else df["record_id"]
        rcodes, _ = pd.factorize(ref[na])
        codes[na] = codes.max(initial=-1) + 1 + rcodes
        pid_s = pid_s.astype("string").mask(na, "ref:" + ref.astype("string"))
    return codes, pid_s


#: merge reasons by code (0 = kept)
_REASONS = ("", "duplicate_same_vaccine", "duplicate_other_site", "duplicate_near_date")


def _dedup_doses(pid: np.ndarray, day: np.ndarray, vac: np.ndarray, site: np.ndarray,
                 unsigned: np.ndarray, entered: np.ndarray, record_id: pd.Series,
                 number: np.ndarray | None = None,
                 same_dose_days: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Survivor position of every row, the merge reason code per row and the sort order.

    Returns ``(survivor, reason, order)``: ``survivor[i] == i`` for kept rows; ``reason``
    indexes :data:`_REASONS`; ``order`` sorts the rows by person and date (a hint for the
    sequence sort). With ``number`` (entered dose number, NaN if none) and ``same_dose_days``,
    survivors of one person with the same product and number at most that many days apart are
    merged too (stage 3).
    """
    n = len(pid)
    has_day = day != _NAT
    # Stage 1: same person, date and vaccine. Order puts the best row first in each group.
    o1 = _sort_with_record_tiebreak([entered, unsigned, vac, day, pid], record_id, major=2)
    same_pd = np.zeros(n, bool)  # same person and date as the previous row in o1
    if n:
        p1, d1 = pid[o1], day[o1]
        same_pd[1:] = (p1[1:] == p1[:-1]) & (d1[1:] == d1[:-1]) & has_day[o1][1:]
        del p1, d1
    v1 = vac[o1]
    same1 = same_pd.copy()
    same1[1:] &= v1[1:] == v1[:-1]
    surv1 = np.arange(n)
    surv1[o1] = o1[_group_start(~same1)]
    reason = (surv1 != np.arange(n)).astype(np.int8)

    # Stage 2: among stage-1 survivors, same person and date: rows entered by a site other than
    # the best row's site are the same dose entered twice. Only (person, date) groups holding
    # two or more stage-1 survivors can have such rows.
    second = same_pd & ~same1  # a stage-1 survivor after another one of its (person, date)
    if not second.any():
        survivor = surv1
    else:
        survivor = _merge_other_sites(o1, same_pd, same1, second, pid, day, has_day, site,
                                      unsigned, entered, record_id, surv1, reason)
    if number is not None and same_dose_days > 0:
        survivor = _merge_near_dates(o1, survivor, pid, day, vac, number, unsigned, entered,
                                     record_id, same_dose_days, reason)
    return survivor, reason, o1


def _merge_other_sites(o1: np.ndarray, same_pd: np.ndarray, same1: np.ndarray,
                       second: np.ndarray, pid: np.ndarray, day: np.ndarray,
                       has_day: np.ndarray, site: np.ndarray, unsigned: np.ndarray,
                       entered: np.ndarray, record_id: pd.Series, surv1: np.ndarray,
                       reason: np.ndarray) -> np.ndarray:
    """Stage 2 of :func:`_dedup_doses` (sets ``reason`` 2 in place); returns the survivors."""
    n = len(pid)
    grp = np.cumsum(~same_pd) - 1  # (person, date) group of each position in o1
    multi = np.zeros(int(grp[-1]) + 1, bool)
    multi[grp[second]] = True
    keep1 = np.sort(o1[multi[grp] & ~same1])
    o2 = _sort_with_record_tiebreak([entered[keep1], unsigned[keep1], day[keep1], pid[keep1]],
                                    record_id, row_of=keep1)
    k = keep1[o2]
    same2 = np.zeros(len(k), bool)
    pk, dk = pid[k], day[k]
    same2[1:] = (pk[1:] == pk[:-1]) & (dk[1:] == dk[:-1]) & has_day[k][1:]
    best = k[_group_start(~same2)]
    other_site = (best != k) & (site[best] != site[k])
    surv2 = np.arange(n)
    surv2[k[other_site]] = best[other_site]
    reason[k[other_site]] = 2
    return surv2[surv1]


def _merge_near_dates(o1: np.ndarray, survivor: np.ndarray, pid: np.ndarray, day: np.ndarray,
                      vac: np.ndarray, number: np.ndarray, unsigned: np.ndarray,
                      entered: np.ndarray, record_id: pd.Series, days: int,
                      reason: np.ndarray) -> np.ndarray:
    """Stage 3 of :func:`_dedup_doses` (sets ``reason`` 3 in place); returns the survivors.

    Survivors of one person with the same product and entered number whose dates are at most
    ``days`` apart (chained) are one dose; the best row (signed, earliest entered, smallest
    record_id) stays.
    """
    n = len(pid)
    kept = survivor[o1] == o1
    k = o1[kept]  # survivors by person and date
    if len(k) < 2:
        return survivor
    pk, dk = pid[k], day[k]
    close = np.zeros(len(k), bool)  # within `days` of the previous survivor of the person
    gap = dk[1:] - dk[:-1]
    close[1:] = (pk[1:] == pk[:-1]) & (gap > 0) & (gap <= days) & (dk[1:] != _NAT)
    if not close.any():
        return survivor
    persons = np.zeros(int(pid.max()) + 1, bool)
    persons[pk[close]] = True
    rows = np.sort(k[persons[pk]])  # a few persons' doses
    rows = rows[~np.isnan(number[rows])]
    del pk, dk, gap, close
    no = number[rows].astype(np.int64)
    o = _sort_with_record_tiebreak([day[rows], no, vac[rows], pid[rows]], record_id,
                                   row_of=rows)
    r = rows[o]
    same = np.zeros(len(r), bool)
    same[1:] = ((pid[r][1:] == pid[r][:-1]) & (vac[r][1:] == vac[r][:-1])
                & (number[r][1:] == number[r][:-1]) & (day[r][1:] - day[r][:-1] <= days)
                & (day[r][1:] != _NAT))
    group = np.cumsum(~same) - 1
    size = np.bincount(group)
    multi = size[group] > 1
    if not multi.any():
        return survivor
    m, g = r[multi], group[multi]
    ob = _sort_with_record_tiebreak([entered[m], unsigned[m], g], record_id, row_of=m)
    m, g = m[ob], g[ob]
    first = np.ones(len(m), bool)
    first[1:] = g[1:] != g[:-1]
    best = m[_group_start(first)]
    lose = best != m
    surv3 = np.arange(n)
    surv3[m[lose]] = best[lose]
    reason[m[lose]] = 3
    return surv3[survivor]


def reconcile(doses: pd.DataFrame, *, rules: DoseRules | None = None) -> ReconcileResult:
    """Collapse duplicate doses, renumber each person's doses by date and flag rule breaches.

    Does not mutate the input. Rows with a missing ``person_id`` are treated as their own
    person ``"ref:<person_ref>"``; rows with no ``dose_date`` are never merged and, like rows
    with an unusable date, are placed by their entered number (last without one).

    Args:
        doses: cleansed doses (``schemas.CLEAN_DOSES``) plus ``person_id``.
        rules: schedule rules; default :class:`DoseRules` from the shipped tables.

    Returns:
        ReconcileResult(data, findings, merged), with
        ``len(doses) == len(data) + len(merged)``.

    Raises:
        SchemaViolation: a required column is missing.
        ConservationError: rows were lost or duplicated (a bug, never expected).

    Examples:
        >>> res = reconcile(_example_doses())
        >>> res.data.record_id.tolist(), res.data.dose_seq.tolist()
        (['r1', 'r3', 'r4'], [1, 2, 3])
        >>> [(f.record_id, f.code) for f in res.findings.itertuples()]
        [('r3', 'dose_number_mismatch'), ('r3', 'short_interval')]
    """
    require_columns(doses, REQUIRED_COLUMNS, "doses")
    rules = rules or DoseRules()
    n = len(doses)
    pid, pid_values = _person_codes(doses)
    day = _days(doses["dose_date"])
    entered = _seconds(doses["entered_at"]) if "entered_at" in doses else np.zeros(n, np.int64)
    unsigned = (doses["sign_status"].astype("string").fillna("") != "signed").to_numpy(
        np.int64)
    record_id = doses["record_id"]
    vac = _Products.of(doses, rules.vaccines)

    number = doses["dose_number"].astype("Float64").to_numpy(float, na_value=np.nan)
    survivor, reason, order = _dedup_doses(pid, day, vac.text_idx, _codes(doses["site_code"]),
                                           unsigned, entered, record_id, number,
                                           rules.same_dose_days)
    is_kept = survivor == np.arange(n)
    drop = np.flatnonzero(~is_kept)
    merged = doses.iloc[drop].assign(
        merged_into=record_id.iloc[survivor[drop]].astype("string").to_numpy(),
        reason=pd.array(np.asarray(_REASONS, dtype=object)[reason[drop]], dtype="string"),
    )

    kept = np.flatnonzero(is_kept)
    at = np.cumsum(is_kept) - 1  # position of a kept row among the kept rows
    hint = at[order[is_kept[order]]]  # the dedup sort, restricted to kept rows
    del survivor, reason, order, at
    seq, suspect, findings = _sequence_and_flag(doses, kept, pid[kept], pid_values, day[kept],
                                                entered[kept], number[kept], vac.subset(kept),
                                                rules, hint)
    del pid, day, entered, unsigned, number, hint
    # the one copy of the big frame, made once the working arrays are released
    data = doses.iloc[kept].assign(dose_seq=pd.array(seq, dtype="Int64"),
                                   suspect_duplicate=suspect)

    if n != len(data) + len(merged) or not data.index.intersection(merged.index).empty:
        raise ConservationError(
            f"dose reconciliation: {n} rows in, {len(data)} kept + {len(merged)} merged")
    return ReconcileResult(data=data, findings=findings, merged=merged)


@dataclass(frozen=True)
class _Products:
    """Integer-coded products of each row.

    ``text_idx`` codes the ``vaccine`` text (NA has its own code), ``texts`` its values;
    ``idx`` indexes the rows of the vaccine table (-1 unknown), ``codes`` the table's
    ``vaccine_code`` values followed by "" for unknown.
    """

    text_idx: np.ndarray
    texts: np.ndarray
    idx: np.ndarray
    codes: np.ndarray
    table: pd.DataFrame

    @classmethod
    def of(cls, doses: pd.DataFrame, vaccines: pd.DataFrame) -> _Products:
        table = vaccines.reset_index(drop=True)
        pos_of_code = pd.Series(np.arange(len(table)), index=table["vaccine_code"].to_numpy())
        pos_of_name = pd.Series(np.arange(len(table)), index=table["canonical_name"].to_numpy())
        t_idx, t_uniq = pd.factorize(doses["vaccine"], use_na_sentinel=False)
        texts = np.asarray(pd.Index(t_uniq).astype(object).fillna("?"), dtype=object)
        by_text = pos_of_name.reindex(texts).fillna(-1).to_numpy(np.int64)[t_idx]
        if "vaccine_code" in doses:
            c_idx, c_uniq = pd.factorize(doses["vaccine_code"])
            by_code = np.append(pos_of_code.reindex(np.asarray(c_uniq, dtype=object)).fillna(-1)
                                .to_numpy(np.int64), -1)[c_idx]
            idx = np.where(by_code >= 0, by_code, by_text)
        else:
            idx = by_text
        codes = np.append(table["vaccine_code"].to_numpy(object), "")
        return cls(t_idx.astype(np.int64), texts, idx.astype(np.int64), codes, table)

    def subset(self, rows: np.ndarray) -> _Products:
        return _Products(self.text_idx[rows], self.texts, self.idx[rows], self.codes, self.table)

    def column(self, name: str) -> np.ndarray:
        """Per-row float value of a table column (NaN where the product is unknown)."""
        return np.append(self.table[name].to_numpy(float), np.nan)[self.idx]


def _placement(pid: np.ndarray, day: np.ndarray, usable: np.ndarray,
               number: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort day and sub-key of each row; rows with an unusable date are placed by number.

    A row whose date cannot be trusted (missing, future, before the campaign or birth) is put
    right after the person's usable dose with the closest lower-or-equal entered number, or
    before the first usable dose when none is lower; without a number it goes last.
    """
    sort_day = np.where(usable, day, _NAT)
    sub = np.zeros(len(day), np.int64)
    u = np.flatnonzero(~usable & ~np.isnan(number))
    if not len(u):
        return sort_day, sub
    of_u = np.zeros(int(pid.max()) + 1, bool)  # persons holding such a row (pid codes >= 0)
    of_u[pid[u]] = True
    near = of_u[pid] & usable  # only their usable doses can place them
    s = np.flatnonzero(near & ~np.isnan(number))
    if not len(s):
        return sort_day, sub
    left = pd.DataFrame({"pid": pid[u], "no": number[u], "i": u}).sort_values("no")
    right = pd.DataFrame({"pid": pid[s], "no": number[s], "d": day[s]}).sort_values(["no", "d"])
    j = pd.merge_asof(left, right, on="no", by="pid", direction="backward")
    has = j["d"].notna().to_numpy()
    rows = j["i"].to_numpy()
    sort_day[rows[has]] = j["d"].to_numpy()[has].astype(np.int64)
    sub[rows[has]] = 1
    first = pd.Series(day[near]).groupby(pid[near]).min()
    d0 = pd.Series(j["pid"].to_numpy()[~has]).map(first).to_numpy(float)
    ok = ~np.isnan(d0)
    sort_day[rows[~has][ok]] = d0[ok].astype(np.int64)
    sub[rows[~has][ok]] = -1
    return sort_day, sub


def _bad_dates(flags: pd.Series, bad: frozenset[str]) -> np.ndarray:
    """True where the ``;``-joined ``date_flags`` hold one of ``bad`` (matched per distinct
    value)."""
    codes, uniq = pd.factorize(flags.astype("string").fillna(""))
    pattern = "|".join(rf"(?:^|;){re.escape(f)}(?:;|$)" for f in sorted(bad))
    hit = pd.Series(uniq, dtype="string").str.contains(pattern, regex=True).to_numpy(bool)
    return np.append(hit, False)[codes]


#: rows per block of the per-person checks (whole persons per block): the working arrays of a
#: block stay in the CPU cache and the memory they take is bounded whatever the input size.
_BLOCK_ROWS = 1 << 18


def _sequence_and_flag(doses: pd.DataFrame, kept: np.ndarray, pid: np.ndarray,
                       pid_values: pd.Series, day: np.ndarray, entered: np.ndarray,
                       entered_no: np.ndarray, vac: _Products, rules: DoseRules,
                       hint: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """``dose_seq`` and ``suspect_duplicate`` per kept row (in ``kept`` order), and findings.

    ``kept`` holds the positions of the kept rows in ``doses``; ``pid, day, entered,
    entered_no`` (entered dose number) and ``vac`` are already restricted to them (``pid_values`` is not).
    Checks run on the *effective* sequence,
    which skips suspected duplicates (near-duplicates and same-day doses), so one double entry
    does not make every later dose look wrong.
    """
    m = len(kept)
    usable = day != _NAT
    if "date_flags" in doses and rules.bad_date_flags:
        usable &= ~_bad_dates(doses["date_flags"], rules.bad_date_flags)[kept]
    sort_day, sub = _placement(pid, day, usable, entered_no)
    order = _sort_with_record_tiebreak([entered, sub, sort_day, pid], doses["record_id"],
                                       major=3, hint=hint, row_of=kept)
    del sort_day, sub
    birth = _days(doses["birth_date"])
    seq_out = np.empty(m, np.int64)
    skip_out = np.zeros(m, bool)
    flagged: dict[str, list[np.ndarray]] = {}
    details: dict[str, list[pd.Series]] = {}
    # blocks of whole persons: cut at the first new person at or after each multiple of the size
    p = pid[order]
    starts = np.flatnonzero(np.r_[True, p[1:] != p[:-1]]) if m else np.zeros(0, np.int64)
    cuts = np.unique(np.r_[starts[np.minimum(np.searchsorted(
        starts, np.arange(0, m, _BLOCK_ROWS)), len(starts) - 1)], m]) if m else np.zeros(1, int)
    del p, starts
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        o = order[lo:hi]
        seq, skip, found = _flag_block(o, pid[o], day[o], usable[o], entered_no[o],
                                       birth[kept[o]], vac, rules)
        seq_out[o] = seq
        skip_out[o] = skip
        for code, (rows, det) in found.items():
            flagged.setdefault(code, []).append(rows + lo)
            details.setdefault(code, []).append(det)
    codes = list(flagged)
    found_rows = [(c, np.concatenate(flagged[c])) for c in codes]
    found_details = [pd.concat(details[c], ignore_index=True) for c in codes]
    return seq_out, skip_out, _label(doses, kept, pid_values, order, found_rows, found_details)


def _flag_block(o: np.ndarray, p: np.ndarray, d: np.ndarray, usable: np.ndarray,
                entered_no: np.ndarray, birth: np.ndarray, vac: _Products,
                rules: DoseRules) -> tuple[np.ndarray, np.ndarray,
                                           dict[str, tuple[np.ndarray, pd.Series]]]:
    """Sequence, suspects and findings of whole persons, rows in sorted order (person, date).

    ``o`` holds the kept-row positions of the block's rows; the other arrays are the rows'
    values in that order. Returns ``dose_seq``, ``suspect_duplicate`` and per finding code the
    flagged positions (in the block) with their details.
    """
    m = len(o)
    new_person = np.ones(m, bool)
    new_person[1:] = p[1:] != p[:-1]
    start = _group_start(new_person)
    seq = np.arange(m) - start + 1
    run_id = np.cumsum(new_person) - 1
    has_prev = ~new_person
    idx = np.arange(m)
    prev = np.maximum(idx - 1, 0)

    vac_idx = vac.idx[o]
    sorted_vac = vac.subset(o)
    primary_n = sorted_vac.column("primary_doses")
    min_interval = sorted_vac.column("min_interval_days")
    min_age = sorted_vac.column("min_age")
    person_primary = primary_n[start]  # the first product decides the series length

    # --- suspected duplicates: same entered number a few days apart, or same day -------------
    dated_imm = has_prev & usable & usable[prev]
    interval_imm = np.where(dated_imm, d - np.where(dated_imm, d[prev], 0), -1)
    same_day = dated_imm & (interval_imm == 0)
    near_dup = (dated_imm & (interval_imm >= 1) & (interval_imm <= rules.near_duplicate_days)
                & (entered_no == entered_no[prev]))
    skip = near_dup | same_day
    real = ~skip
    csum = np.cumsum(real)
    eff_seq = csum - (csum[start] - real[start]).astype(np.int64)
    count = np.bincount(run_id, weights=real).astype(np.int64)[run_id]
    last_real = np.maximum.accumulate(np.where(real, idx, -1))
    prev_real = np.where(has_prev, last_real[prev], 0)

    dated = has_prev & usable & usable[prev_real]
    interval = np.where(dated, d - np.where(dated, d[prev_real], 0), -1)
    age = np.where(usable, _age_years(birth, d), -1)

    # --- numbering: missing doses and mismatches ---------------------------------------------
    gap = np.where(real, entered_no - eff_seq, np.nan)
    max_entered = np.fmax.reduceat(np.nan_to_num(entered_no, nan=0), np.flatnonzero(
        new_person))[run_id]
    gap_person = max_entered > count
    pos_gap = np.where(gap_person & ~np.isnan(gap), np.clip(np.nan_to_num(gap), 0, None), 0)
    shift = _group_cummax(pos_gap, run_id)
    prev_shift = np.where(has_prev, shift[prev], 0)
    missing = gap_person & ~np.isnan(gap) & (gap > prev_shift)
    mismatch = ~np.isnan(gap) & (gap != shift) & ~missing

    # --- intervals ----------------------------------------------------------------------------
    in_primary = eff_seq <= np.nan_to_num(person_primary, nan=np.inf)
    prev_min = np.where(has_prev, min_interval[prev_real], np.nan)
    booster_req = _booster_required(np.where(usable, d, _NAT), age, eff_seq - person_primary,
                                    rules.boosters)
    required = np.where(in_primary, prev_min, booster_req)
    short = real & dated & ~np.isnan(required) & (interval + rules.grace_days < required)

    # --- age and product ------------------------------------------------------------------
    known_age = age >= 0
    child = known_age & (age <= rules.child_age_max)
    child_ok = np.isin(vac.codes, list(rules.child_vaccines))[vac_idx]
    ineligible = known_age & ((age < np.nan_to_num(min_age, nan=-1)) | (child & ~child_ok))

    # --- mixing in the primary series ---------------------------------------------------------
    k = len(vac.codes)
    pair_ok = np.zeros((k, k), bool)
    pos = {c: i for i, c in enumerate(vac.codes[:-1])}
    for a, b in rules.mixing_allowed:  # a handful of product pairs, not rows
        if a in pos and b in pos:
            pair_ok[pos[a], pos[b]] = True
    prev_idx = np.where(has_prev, vac_idx[prev_real], -1)
    changed = real & has_prev & (prev_idx != vac_idx) & (prev_idx >= 0) & (vac_idx >= 0)
    # after a detected gap the entered number may say booster where the date order says primary
    # (dose 1 never entered): mixing is only a finding when both agree on the primary series
    in_series = eff_seq + shift <= np.nan_to_num(person_primary, nan=np.inf)
    mixing = in_primary & in_series & changed & (child | ~pair_ok[prev_idx, vac_idx])

    # --- incomplete primary series (on each person's last dose) ---------------------------
    last = np.ones(m, bool)
    last[:-1] = new_person[1:]
    incomplete = last & ~np.isnan(person_primary) & (count < person_primary)

    # --- details, built only for the flagged rows ------------------------------------------
    def num(a: np.ndarray, rows: np.ndarray) -> pd.Series:
        return pd.Series(a[rows], dtype="Float64").astype("Int64").astype("string")

    def txt(rows: np.ndarray) -> pd.Series:  # product names, looked up for flagged rows only
        return pd.Series(vac.texts[vac.text_idx[o[rows]]], dtype="string")

    def detail(code: str, r: np.ndarray) -> pd.Series:
        pr = prev[r] if code in ("near_duplicate_dose", "same_day_two_vaccines") else prev_real[r]
        if code == "missing_dose":
            return "Nhập mũi " + num(entered_no, r) + " nhưng trước đó chỉ có " + num(
                eff_seq - 1, r) + " mũi"
        if code == "dose_number_mismatch":
            return "Nhập mũi " + num(entered_no, r) + ", theo thứ tự ngày tiêm là mũi " + num(
                eff_seq, r)
        if code == "near_duplicate_dose":
            return "Mũi " + num(entered_no, r) + " nhập hai lần cách nhau " + num(
                interval_imm, r) + " ngày"
        if code == "same_day_two_vaccines":
            return "Cùng ngày: " + txt(pr) + " và " + txt(r)
        if code == "short_interval":
            return ("Mũi " + num(eff_seq, r) + " cách mũi trước " + num(interval, r)
                    + " ngày, tối thiểu " + num(required, r) + " ngày")
        if code == "ineligible_age":
            return num(age, r) + " tuổi khi tiêm " + txt(r)
        if code == "mixing_not_allowed":
            return "Liều cơ bản: " + txt(pr) + " → " + txt(r)
        return ("Đã tiêm " + num(count, r) + "/" + num(person_primary, r) + " mũi cơ bản ("
                + txt(start[r]) + ")")

    flags = {"missing_dose": missing, "dose_number_mismatch": mismatch,
             "near_duplicate_dose": near_dup, "same_day_two_vaccines": same_day,
             "short_interval": short, "ineligible_age": ineligible,
             "mixing_not_allowed": mixing, "incomplete_primary": incomplete}
    found = {}
    for code, mask in flags.items():  # eight codes, not rows
        r = np.flatnonzero(mask)
        found[code] = (r, detail(code, r))
    return seq, skip, found


def _group_cummax(a: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Running maximum of ``a`` (>= 0, finite) within runs of ``group`` (sorted, 0-based, each
    run contiguous).

    >>> _group_cummax(np.array([1., 0., 2., 0., 1.]), np.array([0, 0, 0, 1, 1]))
    array([1., 1., 2., 0., 1.])
    """
    if not len(a):
        return a.astype(float)
    width = float(a.max()) + 1
    if width * (float(group[-1]) + 1) >= 2.0**52:  # beyond exact float integers
        return pd.Series(a).groupby(group).cummax().to_numpy(float)
    lifted = a + group * width  # later runs sit above earlier ones
    return np.maximum.accumulate(lifted) - group * width


def _booster_required(day: np.ndarray, age: np.ndarray, booster_k: np.ndarray,
                      boosters: pd.DataFrame) -> np.ndarray:
    """Minimum days after the previous dose for booster rows (NaN where no rule applies).

    Booster *k* (1-based, after the primary series) is checked against rule ``k + 2``.
    """
    out = np.full(len(day), np.nan)
    rows = np.flatnonzero((booster_k >= 1) & (day != _NAT) & (age >= 0))
    if not len(rows) or boosters.empty:
        return out
    cand = pd.DataFrame({"row": rows, "day": day[rows], "age": age[rows],
                         "dose_number": (booster_k[rows] + 2).astype(np.int64)})
    r = pd.DataFrame({
        "lo": boosters["valid_from"].to_numpy(dtype="datetime64[D]").astype(np.int64),
        "hi": boosters["valid_to"].to_numpy(dtype="datetime64[D]").astype(np.int64),
        "dose_number": boosters["dose_number"].astype(np.int64).to_numpy(),
        "age_min": boosters["age_min"].astype(np.int64).to_numpy(),
        "age_max": boosters["age_max"].astype(np.int64).to_numpy(),
        "req": boosters["min_days_after_previous"].astype(float).to_numpy()})
    j = cand.merge(r, on="dose_number")
    j = j[(j["day"] >= j["lo"]) & (j["day"] <= j["hi"])
          & (j["age"] >= j["age_min"]) & (j["age"] <= j["age_max"])]
    # overlapping rules: the most recent one in force wins
    j = j.sort_values(["row", "lo"]).drop_duplicates("row", keep="last")
    out[j["row"].to_numpy()] = j["req"].to_numpy(float)
    return out


def _label(doses: pd.DataFrame, kept: np.ndarray, pid_values: pd.Series, order: np.ndarray,
           flagged: list[tuple[str, np.ndarray]], details: list[pd.Series]) -> pd.DataFrame:
    """Assemble findings with Vietnamese labels, ordered by person, dose sequence, priority.

    ``flagged`` holds ``(code, positions in sorted order)``; ``order`` maps sorted positions
    to kept rows, ``kept`` kept rows to rows of ``doses`` (and of ``pid_values``).
    """
    codes = finding_codes()
    names = [c for c, _ in flagged]
    pos = np.concatenate([r for _, r in flagged]) if flagged else np.zeros(0, np.int64)
    code_idx = np.repeat(np.arange(len(names)), [len(r) for _, r in flagged]).astype(np.int64)
    prio = codes["priority"].reindex(names).to_numpy(float)[code_idx]
    o = np.lexsort((prio, pos))
    rows = kept[order[pos[o]]]
    label = codes["label_vi"].reindex(names).to_numpy(object)
    detail = (pd.concat(details, ignore_index=True) if details
              else pd.Series([], dtype="string")).iloc[o]
    return pd.DataFrame({
        "record_id": doses["record_id"].iloc[rows].astype("string").to_numpy(),
        "person_id": pid_values.iloc[rows].to_numpy(),  # dtype of the input's person_id
        "code": pd.array(np.asarray(names, dtype=object)[code_idx[o]], dtype="string"),
        "label_vi": pd.array(label[code_idx[o]], dtype="string"),
        "detail": detail.astype("string").to_numpy(),
    }, columns=list(FINDING_COLUMNS))


def person_doses_summary(data: pd.DataFrame, *,
                         vaccines: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per person: dose counts and dates, for coverage indicators.

    Args:
        data: ``ReconcileResult.data`` (needs ``person_id, dose_seq, dose_date`` and
            ``vaccine_code`` or ``vaccine``; ``birth_date, commune_code, district_code`` are
            carried when present, taken from the person's first dose). Rows flagged
            ``suspect_duplicate`` are not counted as doses.
        vaccines: vaccine table (default ``refdata.vaccines()``).

    Returns:
        DataFrame indexed by ``person_id`` with ``doses, primary_required, primary_complete,
        boosters, first_vaccine, first_dose_date, last_dose_date`` (+ carried columns).

    Examples:
        >>> summ = person_doses_summary(reconcile(_example_doses()).data)
        >>> int(summ.loc["P1", "doses"]), bool(summ.loc["P1", "primary_complete"])
        (3, True)
        >>> int(summ.loc["P1", "boosters"])
        1
    """
    require_columns(data, ("person_id", "dose_seq", "dose_date"), "doses data")
    vaccines = refdata.vaccines() if vaccines is None else vaccines
    if "suspect_duplicate" in data:  # a double entry is not a dose given
        data = data[~data["suspect_duplicate"].astype("boolean").fillna(False).to_numpy(bool)]
    pid, persons = pd.factorize(data["person_id"])
    seq = data["dose_seq"].astype("Float64").to_numpy(float, na_value=np.inf)
    order = np.lexsort((seq, pid))
    p = pid[order]
    if len(p):
        starts = np.flatnonzero(np.r_[True, p[1:] != p[:-1]])
    else:
        starts = np.zeros(0, np.int64)
    first = order[starts]
    counts = np.diff(np.r_[starts, len(p)])
    day = data["dose_date"].to_numpy(dtype="datetime64[ns]").view(np.int64)[order]
    nat = np.iinfo(np.int64).min  # NaT's integer value
    lo = np.minimum.reduceat(np.where(day == nat, np.iinfo(np.int64).max, day), starts) \
        if len(p) else day
    hi = np.maximum.reduceat(day, starts) if len(p) else day
    prod = _Products.of(data.iloc[first], vaccines)
    req = prod.column("primary_doses")
    out = pd.DataFrame({
        "doses": counts.astype(np.int64),
        "primary_required": pd.array(req, dtype="Float64").astype("Int64"),
        "primary_complete": counts >= np.nan_to_num(req, nan=np.inf),
        "boosters": np.clip(counts - np.nan_to_num(req, nan=np.inf), 0, None).astype(np.int64),
        "first_vaccine": pd.array(prod.codes[prod.idx], dtype="string").fillna(pd.NA),
        "first_dose_date": np.where(lo == np.iinfo(np.int64).max, nat, lo).view(
            "datetime64[ns]"),
        "last_dose_date": hi.view("datetime64[ns]"),
    }, index=pd.Index(persons, name="person_id"))
    out["first_vaccine"] = out["first_vaccine"].replace("", pd.NA)
    for col in ("birth_date", "commune_code", "district_code"):
        if col in data:
            out[col] = data[col].iloc[first].to_numpy()
    return out


def _example_doses() -> pd.DataFrame:
    """Four rows of one person: r2 duplicates r1; r3 is 10 days after r1; r4 a booster."""
    return pd.DataFrame({
        "record_id": ["r1", "r2", "r3", "r4"],
        "person_ref": ["a", "b", "a", "a"],
        "person_id": ["P1"] * 4,
        "birth_date": pd.to_datetime(["1980-01-01"] * 4),
        "vaccine": ["Pfizer"] * 4,
        "vaccine_code": ["PFIZER"] * 4,
        "dose_number": pd.array([1, 1, 1, 3], dtype="Int64"),
        "dose_date": pd.to_datetime(["2021-09-01", "2021-09-01", "2021-09-11", "2022-03-01"]),
        "site_code": ["S1", "S1", "S1", "S2"],
        "sign_status": ["signed", "unsigned", "signed", "signed"],
        "entered_at": pd.to_datetime(["2021-09-01", "2021-09-02", "2021-09-11", "2022-03-01"]),
    })
