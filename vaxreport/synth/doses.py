"""True vaccination histories: who was vaccinated, with what, when — and the dose target met exactly.

3. true dose histories: first dose from an age-group calendar (adults from 3/2021, 12–17 from
   11/2021, 5–11 from 4/2022), the period's vaccine mix, primary intervals, mũi 3 and mũi 4;
   persons are cut where the cumulative dose count reaches the target exactly
   (:func:`simulate_population`); :func:`true_doses` lays the histories out flat, picks the doses
   never entered on the platform and the site of each dose.

Vaccines are indices into ``VAX`` (the ``vaccines.csv`` codes); dates are days since epoch.

Examples:
    >>> VAX[PFIZER], lot_table().to_pylist()[:1]
    ('PFIZER', ['A1000'])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from vaxreport import refdata
from vaxreport.synth.arrays import DAYS_PER_YEAR, join, zero_pad
from vaxreport.synth.population import age_years, district_sites, households
from vaxreport.synth.seed import CAMPAIGN_START, PERIOD_END

# product order used in the arrays below (vaccines.csv codes)
VAX = ("AZ", "VEROCELL", "PFIZER", "MODERNA", "SPUTNIK", "HAYATVAX", "ABDALA", "JANSSEN")
AZ, VERO, PFIZER, MODERNA, SPUTNIK, HAYAT, ABDALA, JANSSEN = range(len(VAX))

#: adult first-dose vaccine mix by month of the first dose (2021-03 … 2022-05), VAX order.
_ADULT_MIX: dict[str, list[float]] = {
    "2021-03": [0.98, 0, 0, 0, 0.02, 0, 0, 0], "2021-04": [0.98, 0, 0, 0, 0.02, 0, 0, 0],
    "2021-05": [0.96, 0, 0, 0, 0.04, 0, 0, 0], "2021-06": [0.85, 0.1, 0, 0, 0.05, 0, 0, 0],
    "2021-07": [0.45, 0.25, 0.05, 0.2, 0.05, 0, 0, 0],
    "2021-08": [0.35, 0.4, 0.1, 0.1, 0.03, 0.02, 0, 0],
    "2021-09": [0.3, 0.44, 0.12, 0.06, 0.02, 0.02, 0.03, 0.01],
    "2021-10": [0.35, 0.35, 0.18, 0.06, 0, 0.02, 0.04, 0],
    "2021-11": [0.4, 0.3, 0.2, 0.07, 0, 0, 0.03, 0], "2021-12": [0.4, 0.3, 0.2, 0.07, 0, 0, 0.03, 0],
    "2022-01": [0.35, 0.15, 0.35, 0.15, 0, 0, 0, 0], "2022-02": [0.35, 0.15, 0.35, 0.15, 0, 0, 0, 0],
    "2022-03": [0.35, 0.15, 0.35, 0.15, 0, 0, 0, 0], "2022-04": [0.35, 0.15, 0.35, 0.15, 0, 0, 0, 0],
    "2022-05": [0.35, 0.15, 0.35, 0.15, 0, 0, 0, 0],
}
#: first-dose calendar weights per month and age group (adults peak Aug–Oct 2021).
_FIRST_DOSE_MONTHS: dict[str, dict[str, float]] = {
    "adult": {"2021-03": 0.3, "2021-04": 0.5, "2021-05": 1.0, "2021-06": 2.0, "2021-07": 5.0,
              "2021-08": 13.0, "2021-09": 19.0, "2021-10": 16.0, "2021-11": 8.0, "2021-12": 3.0,
              "2022-01": 1.0, "2022-02": 0.6, "2022-03": 0.5, "2022-04": 0.4, "2022-05": 0.3},
    "teen": {"2021-11": 45.0, "2021-12": 35.0, "2022-01": 9.0, "2022-02": 4.0, "2022-03": 3.0,
             "2022-04": 2.0, "2022-05": 2.0},
    "kid": {"2022-04": 30.0, "2022-05": 70.0},
}
_GROUP_START = {"adult": "2021-03-08", "teen": "2021-11-08", "kid": "2022-04-20"}
#: primary-series interval (min, max days) per vaccine; AZ shortened from 9/2021.
_INTERVAL = {AZ: (56, 84), VERO: (21, 35), PFIZER: (21, 35), MODERNA: (28, 42),
             SPUTNIK: (21, 28), HAYAT: (21, 28), ABDALA: (14, 18), JANSSEN: (0, 0)}
_PRIMARY_DOSES = {AZ: 2, VERO: 2, PFIZER: 2, MODERNA: 2, SPUTNIK: 2, HAYAT: 2, ABDALA: 3,
                  JANSSEN: 1}


def _month_days(month: str) -> tuple[int, int]:
    start = np.datetime64(month + "-01", "D")
    end = (np.datetime64(month, "M") + 1).astype("datetime64[D]")
    return int(start.astype(np.int64)), int(end.astype(np.int64))


def _first_doses(group: np.ndarray, birth: np.ndarray, female: np.ndarray,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """First dose date (days) and vaccine (VAX index) per vaccinated person."""
    n = group.shape[0]
    date = np.zeros(n, np.int64)
    vax = np.zeros(n, np.int64)
    min_age_days = {"adult": 18, "teen": 12, "kid": 5}
    for gi, g in enumerate(("adult", "teen", "kid")):
        m = np.flatnonzero(group == gi)
        months = list(_FIRST_DOSE_MONTHS[g])
        bounds = np.array([_month_days(mo) for mo in months])
        # daily density: monthly weights spread over their days, interpolated between
        # mid-months so that the weekly curve has no steps at month ends
        per_day = np.array(list(_FIRST_DOSE_MONTHS[g].values())) / (bounds[:, 1] - bounds[:, 0])
        days = np.arange(max(bounds[0, 0], int(np.datetime64(_GROUP_START[g]).astype(np.int64))),
                         min(bounds[-1, 1], int(PERIOD_END.astype(np.int64)) + 1))
        density = np.interp(days, bounds.mean(1), per_day)
        d = days[rng.choice(days.size, m.size, p=density / density.sum())]
        mi = np.searchsorted(bounds[:, 0], d, side="right") - 1
        # not before the age of eligibility
        eligible = birth[m] + int(np.ceil(min_age_days[g] * DAYS_PER_YEAR))
        date[m] = np.maximum(d, eligible + rng.integers(0, 20, m.size))
        if g == "adult":
            mix = np.array([_ADULT_MIX[months[k]] for k in range(len(months))])
            cdf = np.cumsum(mix / mix.sum(1, keepdims=True), axis=1)[mi]
            vax[m] = (rng.random(m.size)[:, None] > cdf).sum(1)
        elif g == "teen":
            vax[m] = np.where(rng.random(m.size) < 0.92, PFIZER, MODERNA)
        else:
            six = date[m] - birth[m] >= int(6 * DAYS_PER_YEAR)
            vax[m] = np.where(six & (rng.random(m.size) < 0.15), MODERNA, PFIZER)
    return date, np.minimum(vax, len(VAX) - 1)


def _dose_histories(P: dict[str, np.ndarray], vaccinated: np.ndarray,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Dose dates (N, 5) in days (-1 = none) and vaccines (N, 5) for the persons ``vaccinated``."""
    birth = P["birth"][vaccinated]
    age = P["age"][vaccinated]
    group = np.where(age >= 18, 0, np.where(age >= 12, 1, 2))
    n = birth.shape[0]
    dates = np.full((n, 5), -1, np.int64)
    vax = np.full((n, 5), -1, np.int64)
    d1, v1 = _first_doses(group, birth, P["female"][vaccinated], rng)
    end = int(PERIOD_END.astype(np.int64))
    d1 = np.where(d1 <= end, d1, -1)  # became eligible too late
    dates[:, 0], vax[:, 0] = d1, np.where(d1 >= 0, v1, -1)
    # primary series
    lo = np.array([_INTERVAL[v][0] for v in range(len(VAX))])[v1]
    hi = np.array([_INTERVAL[v][1] for v in range(len(VAX))])[v1]
    az_short = (v1 == AZ) & (d1 >= np.datetime64("2021-09-01").astype(np.int64))
    lo = np.where(az_short, 35, lo)
    hi = np.where(az_short, 70, hi)
    kid_pf = group == 2
    lo = np.where(kid_pf, 28, lo)
    hi = np.where(kid_pf, 56, hi)
    n_primary = np.array([_PRIMARY_DOSES[v] for v in range(len(VAX))])[v1]
    completes = rng.random(n) < np.where(group == 2, 0.92, 0.975)
    v2 = v1.copy()
    u = rng.random(n)
    v2 = np.where((v1 == AZ) & (u < 0.1), PFIZER, np.where((v1 == AZ) & (u < 0.15), MODERNA, v2))
    v2 = np.where((v1 == MODERNA) & (u < 0.1), PFIZER, v2)
    v2 = np.where((v1 == PFIZER) & (group == 0) & (u < 0.05), MODERNA, v2)
    prev = d1
    for k in range(1, 3):
        need = (n_primary > k) & completes
        d = prev + lo + (rng.random(n) * (hi - lo + 1)).astype(np.int64) + rng.geometric(0.3, n) - 1
        ok = need & (prev >= 0) & (d <= end)
        dates[:, k] = np.where(ok, d, -1)
        vax[:, k] = np.where(ok, np.where(k == 1, v2, v1), -1)
        prev = np.where(ok, d, np.where(need, -1, prev))
    primary_end = np.where(completes & (n_primary > 1), prev, -1)  # -1 if not complete
    primary_end = np.where((n_primary == 1) | (d1 < 0), d1, primary_end)
    last = np.where(n_primary == 3, 2, np.where(n_primary == 2, 1, 0))
    # mũi 3 (booster): ≥6 months, from 3/2022 ≥3 months; campaign from mid-December 2021
    rule_change = np.datetime64("2022-03-01").astype(np.int64)
    eligible = np.minimum(primary_end + 180, np.maximum(primary_end + 90, rule_change))
    eligible = np.maximum(eligible, np.datetime64("2021-12-13").astype(np.int64))
    b1 = eligible + rng.gamma(1.5, 30.0, n).astype(np.int64)
    takes = (group == 0) & (primary_end >= 0) & (rng.random(n) < 0.86)
    ok1 = takes & (b1 <= end)
    base = np.select([v1 == PFIZER, v1 == MODERNA], [0, 1], 2)
    booster_mix = np.array([[0.05, 0.0, 0.75, 0.2], [0.05, 0.0, 0.3, 0.65], [0.42, 0.0, 0.36, 0.22]])
    cdf = np.cumsum(booster_mix, axis=1)[base]
    bv = np.array([AZ, VERO, PFIZER, MODERNA])[np.minimum((rng.random(n)[:, None] > cdf).sum(1), 3)]
    slot = last + 1
    rows = np.arange(n)
    dates[rows[ok1], slot[ok1]] = b1[ok1]
    vax[rows[ok1], slot[ok1]] = bv[ok1]
    # mũi 4: ≥50 years (and some health workers), ≥4 months after mũi 3, from mid-April 2022
    b2 = np.maximum(b1 + 120, np.datetime64("2022-04-18").astype(np.int64)) \
        + rng.exponential(12.0, n).astype(np.int64)
    takes2 = ok1 & (rng.random(n) < np.where(age >= 50, 0.45, 0.05)) & (b2 <= end)
    dates[rows[takes2], slot[takes2] + 1] = b2[takes2]
    vax[rows[takes2], slot[takes2] + 1] = np.where(rng.random(int(takes2.sum())) < 0.5, PFIZER, MODERNA)
    return dates, vax


def simulate_population(need: int, com: dict[str, np.ndarray], rng_hh: np.random.Generator,
                         rng_dose: np.random.Generator
                         ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """Households and dose histories, cut where the cumulative dose count reaches ``need``.

    Returns the persons ``P`` (all members of the kept households), the indices of the
    vaccinated persons, and their dose dates and vaccines (N, 5), -1 where no dose.
    """
    n_hh = max(8, int(need / 6.0 * 1.15) + 10)
    while True:
        P = households(n_hh, com, rng_hh)
        P["age"] = age_years(P["birth"], PERIOD_END)
        p_vax = np.select([P["age"] >= 18, P["age"] >= 12, P["age"] >= 5], [0.975, 0.96, 0.6], 0.0)
        vaccinated = np.flatnonzero(rng_hh.random(P["hh"].shape[0]) < p_vax)
        dates, vax = _dose_histories(P, vaccinated, rng_dose)
        count = (dates >= 0).sum(1)
        csum = np.cumsum(count)
        if csum.size and csum[-1] >= need:
            break
        n_hh = int(n_hh * 1.5) + 10
    cut = int(np.searchsorted(csum, need))  # person index (in vaccinated) reaching the target
    keep_doses = count.copy()
    keep_doses[cut] = need - (csum[cut - 1] if cut > 0 else 0)
    keep_doses[cut + 1:] = 0
    last_hh = int(P["hh"][vaccinated[cut]])
    in_pop = P["hh"] <= last_hh
    for k in ("hh", "role", "female", "birth", "twin_of_prev", "age"):
        P[k] = P[k][in_pop]
    P["n_hh"] = np.array(last_hh + 1)
    P["hh_commune"] = P["hh_commune"][: last_hh + 1]
    vmask = keep_doses[: cut + 1] > 0
    vaccinated = vaccinated[: cut + 1][vmask]
    dates = dates[: cut + 1][vmask]
    vax = vax[: cut + 1][vmask]
    keep_doses = keep_doses[: cut + 1][vmask]
    drop = np.cumsum(dates >= 0, axis=1) > keep_doses[:, None]
    dates[drop] = -1
    vax[drop] = -1
    assert int((dates >= 0).sum()) == need
    return P, vaccinated, dates, vax


@dataclass
class TrueDoses:
    """Every true dose of the vaccinated persons, flat: person by person, in the order given.

    Attributes:
        V: person index (into the population) of each vaccinated person ``v``.
        dose_v: ``v`` of each dose.
        dose_pos: 0-based position of each dose in its person's history.
        dose_date: date of each dose (days since epoch).
        dose_vax: vaccine of each dose (index into ``VAX``).
        missing_rows: the doses never entered on the platform (one per chosen person, never the last).
        is_missing: mask of ``missing_rows``.
        after_gap: the doses that follow a dose never entered.
        site: site index of each dose (doses never entered too: they count in the site tallies).
    """

    V: np.ndarray
    dose_v: np.ndarray
    dose_pos: np.ndarray
    dose_date: np.ndarray
    dose_vax: np.ndarray
    missing_rows: np.ndarray
    is_missing: np.ndarray
    after_gap: np.ndarray
    site: np.ndarray


def true_doses(vaccinated: np.ndarray, dates: np.ndarray, vax: np.ndarray, n_missing: int,
               commune: np.ndarray, com: dict[str, np.ndarray], sites: dict[str, np.ndarray],
               rng_dose: np.random.Generator, rng_row: np.random.Generator) -> TrueDoses:
    """The dose histories (N, 5) of :func:`simulate_population` laid out flat, with the doses
    never entered (drawn from ``rng_dose``) and the site of each dose (drawn from ``rng_row``).

    Sites: the person's commune health station (74 %), the district's TTYT or hospital (20 %), a
    province hospital (3 %), or any commune's station.
    """
    V = vaccinated  # person index of each vaccinated person (0..n_v-1 = "v")
    n_v = V.shape[0]
    pos = np.arange(5)[None, :].repeat(n_v, 0)
    has = dates >= 0
    dose_v = np.repeat(np.arange(n_v), has.sum(1))
    dose_pos = pos[has]  # 0-based true position
    dose_date = dates[has]
    dose_vax = vax[has]
    n_true_all = dose_v.shape[0]
    n_doses_v = has.sum(1)

    # missing doses: one per chosen person, never the last dose
    multi = np.flatnonzero(n_doses_v >= 2)
    miss_v = rng_dose.choice(multi, size=min(n_missing, multi.size), replace=False)
    miss_pos = (rng_dose.random(miss_v.size) * (n_doses_v[miss_v] - 1)).astype(np.int64)
    start_v = np.concatenate([[0], np.cumsum(n_doses_v)[:-1]])
    missing_rows = start_v[miss_v] + miss_pos
    is_missing = np.zeros(n_true_all, bool)
    is_missing[missing_rows] = True
    after_gap = np.zeros(n_true_all, bool)
    after_gap[missing_rows + 1] = True

    # sites of all true doses (missing ones too: they count in the tallies)
    v_commune = commune[V]
    tyt_site = np.arange(len(com["code"]))  # TYT site index = commune index
    v_dist_site0 = district_sites(com, sites)[v_commune]
    prov_sites = np.flatnonzero(sites["kind"] == 2)
    u = rng_row.random(n_true_all)
    dv = dose_v
    site = np.select(
        [u < 0.74, u < 0.94, u < 0.97],
        [tyt_site[v_commune[dv]], v_dist_site0[dv] + rng_row.integers(0, 2, n_true_all),
         prov_sites[rng_row.integers(0, prov_sites.size, n_true_all)]],
        rng_row.integers(0, len(com["code"]), n_true_all))
    return TrueDoses(V=V, dose_v=dose_v, dose_pos=dose_pos, dose_date=dose_date, dose_vax=dose_vax,
                     missing_rows=missing_rows, is_missing=is_missing, after_gap=after_gap, site=site)


# --------------------------------------------------------------------------------------------
# Vaccine names and lots as written on the platform
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class VaccineNames:
    """The strings a dose's vaccine is written with (``vaccines.csv``).

    Row ``v`` of the table is product ``VAX[v]``, and row ``len(VAX)`` the children's Pfizer
    (written "Pfizer nhi" / "Pfizer trẻ em" on child rows only). String ``v * width + j`` of
    ``table`` is row ``v``'s product name (j = 0) or its alias j (1 ≤ j ≤ ``n_alias[v]``).

    Attributes:
        canon: product name of each vaccine (``VAX`` order).
        table: the strings, ``width`` per row.
        n_alias: number of aliases of each row.
        width: strings per row (1 + the most aliases of any row).
    """

    canon: pa.Array
    table: pa.Array
    n_alias: np.ndarray
    width: int


def vaccine_names() -> VaccineNames:
    """The product names and their aliases from ``vaccines.csv`` (see :class:`VaccineNames`)."""
    vx = refdata.vaccines().set_index("vaccine_code")
    canon_names = [str(vx.loc[c, "canonical_name"]) for c in VAX]
    canon = pa.array(canon_names)
    # children's Pfizer is written "Pfizer nhi" / "Pfizer trẻ em" on child rows only
    kid_words = ("nhi", "trẻ em")
    alias_lists = [[a for a in str(vx.loc[c, "aliases"]).split("|")
                    if a != vx.loc[c, "canonical_name"] and not a.endswith(kid_words)] for c in VAX]
    kid_alias = [a for a in str(vx.loc["PFIZER", "aliases"]).split("|") if a.endswith(kid_words)]
    alias_lists.append(kid_alias)  # pseudo-product row len(VAX): Pfizer for children
    max_alias = max(len(a) for a in alias_lists)
    # vaccine string table: row v * (max_alias + 1) + j, j = 0 the product name, j ≥ 1 aliases
    names_v = canon_names + [canon_names[PFIZER]]
    vac_table = pa.array([s for v in range(len(VAX) + 1)
                          for s in ([names_v[v]] + alias_lists[v] + [names_v[v]] * max_alias)
                          [: max_alias + 1]])
    n_alias = np.array([len(a) for a in alias_lists])
    return VaccineNames(canon=canon, table=vac_table, n_alias=n_alias, width=max_alias + 1)


def child_pfizer(vax: np.ndarray, dose_date: np.ndarray, birth: np.ndarray) -> np.ndarray:
    """Pfizer doses given before the 12th birthday (written with the children's names).

    >>> child_pfizer(np.array([PFIZER, PFIZER, AZ]), np.array([5000, 5000, 0]), np.array([0, 4000, 0])).tolist()
    [False, True, False]
    """
    return (vax == PFIZER) & (dose_date - birth < int(12 * DAYS_PER_YEAR))


def lot_codes(vax: np.ndarray, date: np.ndarray) -> np.ndarray:
    """Lot of each dose, an index into :func:`lot_table`: a vaccine's lot changes every 3 weeks."""
    return vax * 1000 + (1000 + (date - int(CAMPAIGN_START.astype(np.int64))) // 21 * 37 % 900
                         + vax * 13) % 1000


def lot_table() -> pa.Array:
    """Lot numbers, 1000 per vaccine (``VAX`` order): the product's prefix and four digits."""
    lot_pre = np.array(["A", "NG", "FK", "AS", "I", "HV", "AB", "JS"])
    return join(pa.array(np.repeat(lot_pre, 1000)), zero_pad(np.tile(np.arange(1000, 2000), len(VAX)), 4))
