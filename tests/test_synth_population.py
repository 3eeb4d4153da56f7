"""Unit tests of the synthetic population and its true doses (``vaxreport.synth.population``,
``vaxreport.synth.doses``) on a few hundred households."""

from __future__ import annotations

import numpy as np
import pytest

from vaxreport.synth import doses, population
from vaxreport.synth.arrays import ymd

NEED = 1_500  # true doses wanted
Simulated = tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray], doses.TrueDoses]


@pytest.fixture(scope="module")
def simulated() -> Simulated:
    """Persons, communes, sites and true doses of a tiny province (1,500 doses, 20 never entered)."""
    rng = [np.random.default_rng(s) for s in range(5)]
    com = population.communes(rng[0])
    sites = population.vaccination_sites(com)
    P, vaccinated, dates, vax = doses.simulate_population(NEED, com, rng[1], rng[2])
    true = doses.true_doses(vaccinated, dates, vax, 20, P["hh_commune"][P["hh"]], com, sites, rng[2], rng[3])
    return P, com, sites, true


def test_population_cut_at_the_dose_target(simulated: Simulated) -> None:
    P, com, sites, true = simulated
    assert true.dose_v.size == NEED
    # the households are kept whole up to the one of the person reaching the target
    assert P["hh"].max() + 1 == int(P["n_hh"]) == P["hh_commune"].size
    assert (P["role"][np.searchsorted(P["hh"], np.arange(int(P["n_hh"])))] == 0).all()


def test_true_doses_in_order_and_missing_never_last(simulated: Simulated) -> None:
    P, com, sites, true = simulated
    same = true.dose_v[1:] == true.dose_v[:-1]
    assert (true.dose_date[1:][same] >= true.dose_date[:-1][same]).all()
    assert (true.dose_pos[1:][same] == true.dose_pos[:-1][same] + 1).all()
    assert true.missing_rows.size == 20 and true.is_missing.sum() == 20
    # the dose after a missing one belongs to the same person
    assert (true.dose_v[true.missing_rows + 1] == true.dose_v[true.missing_rows]).all()
    assert np.array_equal(np.flatnonzero(true.after_gap), np.sort(true.missing_rows + 1))
    assert true.site.max() < len(sites["code"])


def test_cccd_encodes_birth_year_and_sex(simulated: Simulated) -> None:
    P, com, sites, true = simulated
    kind, number, spare = population.person_ids(P, np.random.default_rng(9))
    cccd = kind == 1
    by = ymd(P["birth"])[0]
    g = number[cccd] // 10 ** 8 % 10  # century/sex digit: 0/1 = 1900s M/F, 2/3 = 2000s M/F
    assert np.array_equal(g, (by[cccd] - 1900) // 100 * 2 + P["female"][cccd])
    assert np.array_equal(number[cccd] // 10 ** 6 % 100, by[cccd] % 100)
    assert np.unique(number[kind > 0]).size == int((kind > 0).sum())
    assert not np.isin(spare, number).any()


def test_district_sites_are_the_district_health_centres(simulated: Simulated) -> None:
    P, com, sites, true = simulated
    first = population.district_sites(com, sites)
    assert (sites["kind"][first] == 1).all()
    assert np.array_equal(sites["district"][first], com["district"])
    assert all(n.startswith("Trung tâm Y tế") for n in sites["name"][first])
