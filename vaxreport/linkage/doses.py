"""Dose-level reconciliation after person dedup (the MIROW "vaccination level" phase).

Per person (``person_id``, the dedup cluster label):

1. **Collapse duplicate entries of one dose.** Rows of one person on the same ``dose_date`` with
   the same ``vaccine`` are one dose; so are rows on the same date entered by two different sites.
   The survivor is the best row (signed over unsigned, earliest ``entered_at``, then smallest
   ``record_id``); the others go to ``merged`` with ``merged_into`` and ``reason``.
2. **Renumber** the remaining doses by date (``dose_seq``, 1-based). A dose whose date is
   unusable (``date_flags`` future / before the campaign / before birth) is placed by its
   entered number.
3. **Flag findings** on the surviving rows: the per-person checks of
   :mod:`vaxreport.linkage.dose_checks` (suspected duplicates, numbering, intervals, age and
   product rules; the schedule rules :class:`DoseRules` and the finding vocabulary live there).
   Checks run on the *effective* sequence, which skips suspected duplicates
   (``suspect_duplicate``), so one double entry does not make every later dose look wrong.

All work is vectorised over integer-coded numpy arrays sorted once (no per-person Python loops;
the shared array helpers are in :mod:`vaxreport.linkage.dose_arrays`).

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
from dataclasses import dataclass

import numpy as np
import pandas as pd

from vaxreport import refdata
from vaxreport.exceptions import ConservationError
from vaxreport.linkage.dose_arrays import (
    NAT,
    epoch_days,
    epoch_seconds,
    group_start,
    int_codes,
    sort_with_record_tiebreak,
)
from vaxreport.linkage.dose_checks import BLOCK_ROWS, DoseRules, Products, check_persons
from vaxreport.schemas import require_columns

__all__ = ["MERGE_COLUMNS", "REQUIRED_COLUMNS", "SUMMARY_COLUMNS", "DoseRules", "ReconcileResult",
           "person_doses_summary", "reconcile"]

REQUIRED_COLUMNS: tuple[str, ...] = ("record_id", "person_id", "birth_date", "vaccine",
                                     "dose_number", "dose_date", "site_code", "sign_status")
MERGE_COLUMNS: tuple[str, ...] = ("merged_into", "reason")


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
    has_day = day != NAT
    # Stage 1: same person, date and vaccine. Order puts the best row first in each group.
    o1 = sort_with_record_tiebreak([entered, unsigned, vac, day, pid], record_id, major=2)
    same_pd = np.zeros(n, bool)  # same person and date as the previous row in o1
    if n:
        p1, d1 = pid[o1], day[o1]
        same_pd[1:] = (p1[1:] == p1[:-1]) & (d1[1:] == d1[:-1]) & has_day[o1][1:]
        del p1, d1
    v1 = vac[o1]
    same1 = same_pd.copy()
    same1[1:] &= v1[1:] == v1[:-1]
    surv1 = np.arange(n)
    surv1[o1] = o1[group_start(~same1)]
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
    o2 = sort_with_record_tiebreak([entered[keep1], unsigned[keep1], day[keep1], pid[keep1]],
                                    record_id, row_of=keep1)
    k = keep1[o2]
    same2 = np.zeros(len(k), bool)
    pk, dk = pid[k], day[k]
    same2[1:] = (pk[1:] == pk[:-1]) & (dk[1:] == dk[:-1]) & has_day[k][1:]
    best = k[group_start(~same2)]
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
    close[1:] = (pk[1:] == pk[:-1]) & (gap > 0) & (gap <= days) & (dk[1:] != NAT)
    if not close.any():
        return survivor
    persons = np.zeros(int(pid.max()) + 1, bool)
    persons[pk[close]] = True
    rows = np.sort(k[persons[pk]])  # a few persons' doses
    rows = rows[~np.isnan(number[rows])]
    del pk, dk, gap, close
    no = number[rows].astype(np.int64)
    o = sort_with_record_tiebreak([day[rows], no, vac[rows], pid[rows]], record_id,
                                   row_of=rows)
    r = rows[o]
    same = np.zeros(len(r), bool)
    same[1:] = ((pid[r][1:] == pid[r][:-1]) & (vac[r][1:] == vac[r][:-1])
                & (number[r][1:] == number[r][:-1]) & (day[r][1:] - day[r][:-1] <= days)
                & (day[r][1:] != NAT))
    group = np.cumsum(~same) - 1
    size = np.bincount(group)
    multi = size[group] > 1
    if not multi.any():
        return survivor
    m, g = r[multi], group[multi]
    ob = sort_with_record_tiebreak([entered[m], unsigned[m], g], record_id, row_of=m)
    m, g = m[ob], g[ob]
    first = np.ones(len(m), bool)
    first[1:] = g[1:] != g[:-1]
    best = m[group_start(first)]
    lose = best != m
    surv3 = np.arange(n)
    surv3[m[lose]] = best[lose]
    reason[m[lose]] = 3
    return surv3[survivor]


def reconcile(doses: pd.DataFrame, *, rules: DoseRules | None = None,
              block_rows: int = BLOCK_ROWS) -> ReconcileResult:
    """Collapse duplicate doses, renumber each person's doses by date and flag rule breaches.

    Does not mutate the input. Rows with a missing ``person_id`` are treated as their own
    person ``"ref:<person_ref>"``; rows with no ``dose_date`` are never merged and, like rows
    with an unusable date, are placed by their entered number (last without one).

    Args:
        doses: cleansed doses (``schemas.CLEAN_DOSES``) plus ``person_id``.
        rules: schedule rules; default :class:`DoseRules` from the shipped tables.
        block_rows: rows per block of the per-person checks (whole persons per block: bounded
            memory whatever the input size); the result does not depend on it.

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
    day = epoch_days(doses["dose_date"])
    entered = epoch_seconds(doses["entered_at"]) if "entered_at" in doses else np.zeros(n, np.int64)
    unsigned = (doses["sign_status"].astype("string").fillna("") != "signed").to_numpy(
        np.int64)
    record_id = doses["record_id"]
    vac = Products.of(doses, rules.vaccines)

    number = doses["dose_number"].astype("Float64").to_numpy(float, na_value=np.nan)
    survivor, reason, order = _dedup_doses(pid, day, vac.text_idx, int_codes(doses["site_code"]),
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
                                                rules, hint, block_rows=block_rows)
    del pid, day, entered, unsigned, number, hint
    # the one copy of the big frame, made once the working arrays are released
    data = doses.iloc[kept].assign(dose_seq=pd.array(seq, dtype="Int64"),
                                   suspect_duplicate=suspect)

    if n != len(data) + len(merged) or not data.index.intersection(merged.index).empty:
        raise ConservationError(
            f"dose reconciliation: {n} rows in, {len(data)} kept + {len(merged)} merged")
    return ReconcileResult(data=data, findings=findings, merged=merged)


def _placement(pid: np.ndarray, day: np.ndarray, usable: np.ndarray,
               number: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort day and sub-key of each row; rows with an unusable date are placed by number.

    A row whose date cannot be trusted (missing, future, before the campaign or birth) is put
    right after the person's usable dose with the closest lower-or-equal entered number, or
    before the first usable dose when none is lower; without a number it goes last.
    """
    sort_day = np.where(usable, day, NAT)
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


def _sequence_and_flag(doses: pd.DataFrame, kept: np.ndarray, pid: np.ndarray,
                       pid_values: pd.Series, day: np.ndarray, entered: np.ndarray,
                       entered_no: np.ndarray, vac: Products, rules: DoseRules,
                       hint: np.ndarray | None = None, *,
                       block_rows: int = BLOCK_ROWS) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """``dose_seq`` and ``suspect_duplicate`` per kept row (in ``kept`` order), and findings.

    ``kept`` holds the positions of the kept rows in ``doses``; ``pid, day, entered,
    entered_no`` (entered dose number) and ``vac`` are already restricted to them (``pid_values`` is not).
    The rows are ordered by person and date (unusable dates placed by :func:`_placement`), then
    checked by :func:`vaxreport.linkage.dose_checks.check_persons`.
    """
    usable = day != NAT
    if "date_flags" in doses and rules.bad_date_flags:
        usable &= ~_bad_dates(doses["date_flags"], rules.bad_date_flags)[kept]
    sort_day, sub = _placement(pid, day, usable, entered_no)
    order = sort_with_record_tiebreak([entered, sub, sort_day, pid], doses["record_id"],
                                      major=3, hint=hint, row_of=kept)
    del sort_day, sub
    return check_persons(doses, kept, order, pid, pid_values, day, usable, entered_no, vac,
                         rules, block_rows=block_rows)


#: The columns :func:`person_doses_summary` reads (those present): selecting them first, its row
#: filter copies these, not the whole line list.
SUMMARY_COLUMNS = ("person_id", "dose_seq", "dose_date", "vaccine", "vaccine_code", "suspect_duplicate", "birth_date",
                   "commune_code", "district_code")


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
    prod = Products.of(data.iloc[first], vaccines)
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
