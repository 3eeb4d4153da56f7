"""The platform's records: person records, the dose rows entered on them, entry and signing.

4. platform records: a second ``person_ref`` for persons registered again at another site
   (:func:`person_records`), injected errors (:mod:`vaxreport.synth.errors`), duplicate dose
   rows (:func:`dose_rows`); the verification status follows the record's errors (Excel-mangled
   IDs are export artifacts and still verify, :func:`verify_status`); the seed's signed count is
   filled verified records first, and doses entered in the last 3 days are unsigned
   (:func:`entry_and_signing`); rows are exported in order of entry.

Records are numbered 0..n_ref-1: first the records of the vaccinated persons ``v`` (record ``v``),
then the second records. Verification statuses are indices into ``VERIFY_STATUSES``.

Examples:
    >>> VERIFY_STATUSES[0]
    'verified'
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vaxreport.synth import errors
from vaxreport.synth.arrays import pick
from vaxreport.synth.doses import TrueDoses, VaccineNames, child_pfizer, lot_codes
from vaxreport.synth.errors import ERROR_KINDS, NAME_KINDS, ErrorRates
from vaxreport.synth.population import Population, addresses, district_sites
from vaxreport.synth.seed import END_SECOND, PERIOD_END

#: what the platform's check against CSDLQG returned (the order of ``verify_status``'s codes).
VERIFY_STATUSES = ("verified", "mismatch", "not_found", "no_id", "unchecked")

# --------------------------------------------------------------------------------------------
# Person records
# --------------------------------------------------------------------------------------------


@dataclass
class PersonRecords:
    """The platform's person records (one per ``person_ref``) and the record of each true dose.

    Attributes:
        rp: person index (into the population) of each record.
        is_b: the second records of duplicate persons.
        commune: commune index each record is registered in.
        address: address on each record.
        b_site: site each second record was entered at.
        err: mask of each error kind per record (every kind of ``ERROR_KINDS``; the record
            stages fill theirs).
        has_gap: records with a dose never entered.
        dose_ref: record of each true dose (a second record takes a person's later doses).
        rank_in_person: platform rank of each true dose within its person, -1 if never entered.
        split_of_v: per vaccinated person, the rank from which the doses are on the second record.
        b_of_v: per vaccinated person, its second record (-1 if none).
        dose_site: site of each true dose (the second record's site for its doses).
    """

    rp: np.ndarray
    is_b: np.ndarray
    commune: np.ndarray
    address: pa.Array
    b_site: np.ndarray
    err: dict[str, np.ndarray]
    has_gap: np.ndarray
    dose_ref: np.ndarray
    rank_in_person: np.ndarray
    split_of_v: np.ndarray
    b_of_v: np.ndarray
    dose_site: np.ndarray


def person_records(doses: TrueDoses, pop: Population, com: dict[str, np.ndarray],
                   sites: dict[str, np.ndarray], rates: ErrorRates, rng: np.random.Generator) -> PersonRecords:
    """One record per vaccinated person, and a second record for some persons registered again
    (another commune, another site), which takes their later doses. Draws from ``rng``."""
    V, dose_v = doses.V, doses.dose_v
    n_v = V.shape[0]
    # ---- person records: duplicates (second person_ref) ------------------------------------
    plat = ~doses.is_missing
    n_plat_v = np.bincount(dose_v[plat], minlength=n_v)
    dup_v = np.flatnonzero((n_plat_v >= 2) & (rng.random(n_v) < rates.duplicate_person))
    split_at = 1 + (rng.random(dup_v.size) * (n_plat_v[dup_v] - 1)).astype(np.int64)
    n_ref = n_v + dup_v.size
    ref_v = np.concatenate([np.arange(n_v), dup_v])
    ref_is_b = np.zeros(n_ref, bool)
    ref_is_b[n_v:] = True
    # platform rank of each true dose within its person (missing excluded)
    plat_rank = np.cumsum(plat) - 1
    start_plat = np.concatenate([[0], np.cumsum(n_plat_v)[:-1]])
    rank_in_person = np.where(plat, plat_rank - start_plat[dose_v], -1)
    b_of_v = np.full(n_v, -1, np.int64)
    b_of_v[dup_v] = n_v + np.arange(dup_v.size)
    split_of_v = np.full(n_v, 1 << 30, np.int64)
    split_of_v[dup_v] = split_at
    dose_ref = np.where(rank_in_person >= split_of_v[dose_v], b_of_v[dose_v], dose_v)

    # record-level true values
    rp = V[ref_v]  # person index of each ref
    err_ref: dict[str, np.ndarray] = {k: np.zeros(n_ref, bool) for k in ERROR_KINDS}
    err_ref["duplicate_person"] = ref_is_b.copy()
    ref_commune, ref_address, moved, b_site = _second_records(rp, ref_is_b, pop, com, sites, rates, rng)
    err_ref["commune_moved"] = moved
    # second records are entered at another site
    row_is_b = ref_is_b[dose_ref]
    site = np.where(row_is_b, b_site[dose_ref], doses.site)
    has_gap = np.zeros(n_ref, bool)
    has_gap[dose_ref[doses.missing_rows + 1]] = True
    return PersonRecords(rp=rp, is_b=ref_is_b, commune=ref_commune, address=ref_address, b_site=b_site,
                         err=err_ref, has_gap=has_gap, dose_ref=dose_ref, rank_in_person=rank_in_person,
                         split_of_v=split_of_v, b_of_v=b_of_v, dose_site=site)


def _second_records(rp: np.ndarray, b: np.ndarray, pop: Population, com: dict[str, np.ndarray],
                    sites: dict[str, np.ndarray], rates: ErrorRates, r: np.random.Generator
                    ) -> tuple[np.ndarray, pa.Array, np.ndarray, np.ndarray]:
    """Commune and address of each record (some second records registered in another commune,
    mostly of the same district), the mask of those moved, and the site each second record was
    entered at."""
    n_ref = rp.size
    ref_commune = pop.commune[rp].copy()
    ref_address = pop.hh_address.take(pa.array(pop.P["hh"][rp]))
    moved = pick(b, rates.dup_commune_moved, r)
    same_dist = r.random(n_ref) < 0.6
    new_c = r.choice(len(com["code"]), n_ref, p=com["weight"])
    dist_of_c = com["district"]
    # same district: pick another commune of the same district
    by_dist = {d: np.flatnonzero(dist_of_c == d) for d in np.unique(dist_of_c)}
    for d, members in by_dist.items():
        m = moved & same_dist & (dist_of_c[ref_commune] == d)
        new_c[m] = members[r.integers(0, members.size, int(m.sum()))]
    moved &= new_c != ref_commune
    ref_commune = np.where(moved, new_c, ref_commune)
    if moved.any():
        ref_address = pc.replace_with_mask(ref_address, pa.array(moved),
                                           addresses(ref_commune[moved], com, r))
    tyt_site = np.arange(len(com["code"]))  # TYT site index = commune index
    b_site = np.where(r.random(n_ref) < 0.6, tyt_site[ref_commune],
                      district_sites(com, sites)[ref_commune] + r.integers(0, 2, n_ref))
    return ref_commune, ref_address, moved, b_site


def verify_status(err: dict[str, np.ndarray], has_id: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Verification status of each record (an index into ``VERIFY_STATUSES``): what the
    platform's check against CSDLQG returned, following the record's errors.

    The check folds case, spacing and Unicode form: those name slips still verify; so do
    Excel-mangled IDs (export artifacts: the platform's own record is right).

    >>> err = {k: np.array([False, False]) for k in ERROR_KINDS}
    >>> verify_status(err, np.array([True, False]), np.random.default_rng(0)).tolist()
    [0, 3]
    """
    n_ref = has_id.size
    err_ref = err
    name_err = np.zeros(n_ref, bool)
    for kind in set(NAME_KINDS) - {"name_case_spacing", "name_nfd"}:
        name_err |= err_ref[kind]
    relative, dig = err_ref["id_of_relative"], err_ref["id_digit_error"]
    # Excel-mangled IDs are export artifacts: the platform's own record still verifies
    no_id_raw = (~has_id & ~relative) | err_ref["id_missing"] | err_ref["id_malformed"]
    mismatch = name_err | err_ref["birth_date_swapped"] | err_ref["gender_wrong"] | relative \
        | err_ref["id_other_document"]
    vu = rng.random(n_ref)
    return np.select(
        [no_id_raw, dig & (vu < 0.6), dig | mismatch, vu < 0.008, vu < 0.012],
        [3, 2, 1, 4, 1], 0)  # index into VERIFY_STATUSES


# --------------------------------------------------------------------------------------------
# Dose rows
# --------------------------------------------------------------------------------------------

@dataclass
class DoseRows:
    """The dose rows of the export, before their order of entry: the platform's rows (true doses
    entered, in person order), then the duplicate rows.

    Attributes:
        n_plat: number of platform rows (the rest are duplicates).
        ref: record of each row.
        v: vaccinated person of each row.
        true_date: true date of the dose.
        date: date entered before date errors (a duplicate may be a day off).
        shown_date: date as shown (after date errors).
        vax: true vaccine (index into ``VAX``).
        pos: true 0-based position of the dose in its person's history.
        site: site that entered the row.
        number: dose number (mũi) as entered.
        dup_of: for a duplicate, the row it duplicates (-1 for platform rows).
        vac_code: the vaccine's string (index into ``VaccineNames.table``).
        lot_code: the lot (index into ``lot_table()``).
        err: mask of each row error kind.
    """

    n_plat: int
    ref: np.ndarray
    v: np.ndarray
    true_date: np.ndarray
    date: np.ndarray
    shown_date: np.ndarray
    vax: np.ndarray
    pos: np.ndarray
    site: np.ndarray
    number: np.ndarray
    dup_of: np.ndarray
    vac_code: np.ndarray
    lot_code: np.ndarray
    err: dict[str, np.ndarray]


def dose_rows(doses: TrueDoses, recs: PersonRecords, pop: Population, com: dict[str, np.ndarray],
              sites: dict[str, np.ndarray], vaccines: VaccineNames, n_dup: int, rates: ErrorRates,
              rng: np.random.Generator) -> DoseRows:
    """The dose rows entered: the true doses entered on the platform with their dose numbers,
    ``n_dup`` duplicate rows, then the dose-date errors and the vaccine names of all rows.

    Draws from ``rng`` in this order: dose numbers, duplicates, dates, vaccine names.
    """
    prow = np.flatnonzero(~doses.is_missing)  # true dose index of each platform row
    n_plat = prow.size
    row_ref = recs.dose_ref[prow]
    row_v = doses.dose_v[prow]
    row_date = doses.dose_date[prow].copy()
    row_pos = doses.dose_pos[prow]
    row_site = recs.dose_site[prow]
    err_row: dict[str, np.ndarray] = {}
    err_row["dose_missing"] = doses.after_gap[prow]
    rank_in_ref = recs.rank_in_person[prow] - np.where(recs.is_b[row_ref], recs.split_of_v[row_v], 0)
    entered_no, number_masks = errors.dose_numbers(row_ref, row_pos, rank_in_ref, recs.is_b, rates, rng)
    err_row.update(number_masks)

    src, dup_ref, dup_site, dup_date = _duplicates(row_ref, row_v, row_date, row_site, n_dup, doses, recs,
                                                   pop, com, sites, rng)
    # all rows: platform rows then duplicates
    all_v = np.concatenate([row_v, row_v[src]])
    all_true_date = np.concatenate([row_date, row_date[src]])
    all_date = np.concatenate([row_date, dup_date])
    all_vax = np.concatenate([doses.dose_vax[prow], doses.dose_vax[prow][src]])
    dup_of_idx = np.concatenate([np.full(n_plat, -1), src])
    for k in list(err_row):
        err_row[k] = np.concatenate([err_row[k], np.zeros(n_dup, bool)])
    err_row["dose_duplicate"] = dup_of_idx >= 0

    # dose-date errors (one at most per row); vaccine names: product name, or an alias
    birth = pop.P["birth"][doses.V[all_v]]
    shown_date, date_masks = errors.dose_date_errors(all_date, birth, rates, rng)
    err_row.update(date_masks)
    kid_row = child_pfizer(all_vax, all_true_date, birth)
    vac_code, err_row["vaccine_alias"] = errors.vaccine_aliases(all_vax, kid_row, vaccines, rates, rng)
    return DoseRows(
        n_plat=n_plat, ref=np.concatenate([row_ref, dup_ref]), v=all_v, true_date=all_true_date,
        date=all_date, shown_date=shown_date, vax=all_vax,
        pos=np.concatenate([row_pos, row_pos[src]]), site=np.concatenate([row_site, dup_site]),
        number=np.concatenate([entered_no, entered_no[src]]), dup_of=dup_of_idx, vac_code=vac_code,
        lot_code=lot_codes(all_vax, all_date), err=err_row)


def _duplicates(row_ref: np.ndarray, row_v: np.ndarray, row_date: np.ndarray, row_site: np.ndarray,
                n_dup: int, doses: TrueDoses, recs: PersonRecords, pop: Population,
                com: dict[str, np.ndarray], sites: dict[str, np.ndarray], rng: np.random.Generator
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``n_dup`` platform rows entered again: the rows duplicated (sorted), and the record, site
    and date of each duplicate. Some go to the person's second record, or are entered by another
    site; a few are a day off."""
    n_plat = row_ref.size
    src = np.sort(rng.choice(n_plat, size=n_dup, replace=False))
    dup_ref = row_ref[src].copy()
    # some duplicates go to the person's second record, or are entered by another site
    b_of_v = recs.b_of_v
    has_b = b_of_v[row_v[src]] >= 0
    to_b = has_b & (rng.random(n_dup) < 0.5)
    dup_ref = np.where(to_b, b_of_v[row_v[src]], dup_ref)
    other_site = rng.random(n_dup) < 0.35
    v_dist_site0 = district_sites(com, sites)[pop.commune[doses.V]]
    dup_site = np.where(to_b, recs.b_site[dup_ref],
                        np.where(other_site, v_dist_site0[row_v[src]], row_site[src]))
    dup_date = row_date[src] + np.where(rng.random(n_dup) < 0.15, rng.choice([-1, 1], n_dup), 0)
    dup_date = np.minimum(dup_date, int(PERIOD_END.astype(np.int64)))
    return src, dup_ref, dup_site, dup_date


# --------------------------------------------------------------------------------------------
# Entry and signing
# --------------------------------------------------------------------------------------------

@dataclass
class Entry:
    """When each row was entered and whether it is signed.

    Attributes:
        entered: time of entry (seconds since epoch).
        order: the rows in export order (by time of entry).
        rank: position of each row in export order (its ``record_id`` is 1,000,000,000 + rank).
        verify: verification status of each row's record (index into ``VERIFY_STATUSES``).
        signed: whether the row is signed.
        signed_at: time of signing (seconds since epoch; meaningful where signed).
    """

    entered: np.ndarray
    order: np.ndarray
    rank: np.ndarray
    verify: np.ndarray
    signed: np.ndarray
    signed_at: np.ndarray


def entry_and_signing(rows: DoseRows, verify: np.ndarray, n_signed: int, rng_out: np.random.Generator,
                      rng_sign: np.random.Generator) -> Entry:
    """Time of entry of each row (mostly the day of the dose, some late, duplicates later;
    drawn from ``rng_out``) and the ``n_signed`` rows signed (drawn from ``rng_sign``).

    Signing needs a verified record (the rest fill up to the seed's count: records verified by
    hand); doses entered in the last 3 days are not signed yet.
    """
    N = rows.ref.size
    all_true_date = rows.true_date
    dup = rows.err["dose_duplicate"]
    end_s = END_SECOND
    ul = rng_out.random(N)
    lag_days = np.select([ul < 0.7, ul < 0.9, ul < 0.98],
                         [0, rng_out.integers(1, 8, N), rng_out.integers(8, 61, N)],
                         rng_out.integers(60, 300, N))
    lag_days = np.where(dup, rng_out.integers(1, 90, N), lag_days)
    entered = (all_true_date + lag_days) * 86_400 + 7 * 3600 + rng_out.integers(0, 14 * 3600, N)
    late = entered > end_s
    entered = np.where(late, end_s - rng_out.integers(0, 10 * 86_400, N), entered)
    entered = np.maximum(entered, all_true_date * 86_400 + 7 * 3600)
    # export order: by time of entry; record_id = rank in that order
    order = np.lexsort((rng_out.random(N), entered))
    rank = np.empty(N, np.int64)
    rank[order] = np.arange(N)

    row_verify = verify[rows.ref]
    # signing needs a verified record (the rest fill up to the seed's count: records verified
    # by hand); doses entered in the last 3 days are not signed yet
    score = rng_sign.random(N) + 4.0 * (row_verify == 0) - 0.6 * dup \
        - 0.8 * (entered > end_s - 14 * 86_400) - 8.0 * (entered > end_s - 3 * 86_400)
    signed = np.zeros(N, bool)
    if n_signed > 0:
        signed[np.argpartition(-score, n_signed - 1)[:n_signed]] = True
    sign_start = np.datetime64("2022-01-10").astype(np.int64) * 86_400
    lo_day = np.maximum(entered + 3600, sign_start) // 86_400
    sign_day = lo_day + (rng_sign.random(N) * (end_s // 86_400 - lo_day + 1)).astype(np.int64)
    signed_at = np.maximum(sign_day * 86_400 + rng_sign.integers(7 * 3600, 21 * 3600, N), entered + 600)
    signed_at = np.minimum(signed_at, end_s)
    return Entry(entered=entered, order=order, rank=rank, verify=row_verify, signed=signed, signed_at=signed_at)


# --------------------------------------------------------------------------------------------
# Memory: what the exports keep of the rows
# --------------------------------------------------------------------------------------------

def without_dose_arrays(recs: PersonRecords) -> PersonRecords:
    """``recs`` without its per-true-dose arrays (``dose_ref``, ``rank_in_person``,
    ``dose_site``): the exports need the records only, and these arrays are a true dose long.

    >>> r = PersonRecords(*([np.zeros(2, np.int64)] * 5), {}, *([np.zeros(3, np.int64)] * 6))
    >>> without_dose_arrays(r).dose_ref.size, without_dose_arrays(r).rp.size
    (0, 2)
    """
    empty = np.zeros(0, np.int64)
    return replace(recs, dose_ref=empty, rank_in_person=empty, dose_site=empty)


def _small(a: np.ndarray, hi: int) -> np.ndarray:
    """``a`` in the smallest signed integer dtype holding ``-1 … hi`` (values unchanged)."""
    for dt in (np.int8, np.int16, np.int32):
        if hi <= np.iinfo(dt).max:
            return a.astype(dt)
    return a.astype(np.int64)


def compact_rows(rows: DoseRows, *, true_date: bool = False) -> DoseRows:
    """The dose rows with their codes, indices and dates in the smallest integer dtypes that hold
    them (a row's 96 bytes become ≈ 30): the values are unchanged; the exports cast back where
    a dtype would show in a file. ``date`` and ``dup_of`` stay as they are (read once, before the
    export's chunks); ``true_date`` only with ``true_date=True`` (the times of entry are computed
    from it in seconds, :func:`entry_and_signing`).

    >>> rows = DoseRows(1, *([np.array([0, 1])] * 12), err={})
    >>> r1 = compact_rows(rows)
    >>> r1.vax.dtype.name, r1.true_date.dtype.name, r1.ref.tolist()
    ('int8', 'int64', [0, 1])
    >>> compact_rows(r1, true_date=True).true_date.dtype.name
    'int8'
    """
    n = rows.ref.size
    idx = max(n, int(rows.ref.max(initial=0)) + 1, int(rows.v.max(initial=0)) + 1)
    day = max(int(np.abs(rows.shown_date).max(initial=0)), int(np.abs(rows.true_date).max(initial=0)))
    small = {"ref": idx, "v": idx, "shown_date": day, "vax": 127, "pos": 127,
             "number": int(np.abs(rows.number).max(initial=0)), "site": int(rows.site.max(initial=0)),
             "vac_code": int(rows.vac_code.max(initial=0)), "lot_code": int(rows.lot_code.max(initial=0))}
    if true_date:
        small["true_date"] = day
    changes: dict[str, Any] = {k: _small(getattr(rows, k), hi) for k, hi in small.items()}
    return replace(rows, **changes)


def compact_entry(entry: Entry) -> Entry:
    """``entry`` with the export order, the ranks and the statuses in small dtypes (times of entry
    and signing stay ``int64`` seconds).

    >>> compact_entry(Entry(*([np.array([0, 1])] * 6))).rank.dtype.name
    'int8'
    """
    n = entry.order.size
    return replace(entry, order=_small(entry.order, n), rank=_small(entry.rank, n),
                   verify=entry.verify.astype(np.int8))
