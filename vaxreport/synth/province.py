"""Seeded synthetic Thái Nguyên province with ground truth (the embedded default data).

``generate(out, scale=1.0, seed=2022)`` writes the five raw inputs the way the platform and the
sites export them (Vietnamese headers, Vietnamese status values, mixed date formats, UTF-8 with
BOM for the dose line list), a run-params YAML and the ground truth (``docs/CONTRACTS.md``,
"Synthetic province"). At ``scale=1`` the province totals equal Báo cáo 2102/BC-SYT (31/5/2022):
2,924,867 doses administered, 2,756,537 dose rows on the platform (duplicates included),
2,496,793 of them signed, 2,628 feedback tickets all handled, 200,763 persons checked by police.

How it is built (all vectorised with numpy / pyarrow compute), one module per stage:

1. households and 2. persons — :mod:`vaxreport.synth.population`;
3. true dose histories, cut where the cumulative dose count reaches the target exactly —
   :mod:`vaxreport.synth.doses`;
4. platform records, their injected errors (``ERROR_KINDS``, rates in ``ErrorRates``), dose
   rows, entry and signing — :mod:`vaxreport.synth.records`, :mod:`vaxreport.synth.errors`;
5. the exports: dose line list, site tallies, feedback tickets, police registry extract,
   commune population denominators, params and truth — :mod:`vaxreport.synth.export`.

Every stage draws from its own random streams, spawned once from ``seed`` (:func:`_streams`):
the same seed and scale give byte-identical files.

Examples:
    >>> len(_streams(2022)), int(_streams(1).geo.integers(10**6)) == int(_streams(1).geo.integers(10**6))
    (13, True)
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from vaxreport.synth import doses, errors, export, population, records
from vaxreport.synth.errors import ErrorRates
from vaxreport.synth.export import SynthSummary
from vaxreport.synth.seed import SynthProvince, scaled_totals


class _Streams(NamedTuple):
    """The independent random streams of the stages (the order they are spawned in is fixed)."""

    geo: np.random.Generator  # communes, household addresses
    hh: np.random.Generator  # households, who is vaccinated
    names: np.random.Generator  # true names
    ids: np.random.Generator  # IDs, phones, insurance numbers
    dose: np.random.Generator  # dose histories, doses never entered
    ref: np.random.Generator  # second records and their perturbations
    err: np.random.Generator  # record errors, verification
    row: np.random.Generator  # sites of doses, dose-row errors, duplicates, vaccine names
    sign: np.random.Generator  # signing
    out: np.random.Generator  # time of entry, person_refs
    side: np.random.Generator  # site tallies, feedback, registry, population
    strings: np.random.Generator  # formats of the raw strings
    name_str: np.random.Generator  # the name slips' own draws


def _streams(seed: int) -> _Streams:
    """The stages' random streams of ``seed``: twelve spawned at once, then one more."""
    root = np.random.SeedSequence(seed)
    streams = [np.random.default_rng(s) for s in root.spawn(12)]
    streams.append(np.random.default_rng(root.spawn(1)[0]))  # spawned after the twelve: the name slips'
    return _Streams(*streams)


def _row_counts(target: dict[str, int], rates: ErrorRates) -> tuple[int, int]:
    """Duplicate dose rows and doses never entered at the target totals."""
    n_rows = target["dose_rows"]
    n_dup = int(np.floor(rates.dose_duplicate * n_rows + 0.5))
    d_true = n_rows - n_dup
    n_missing = int(np.floor(rates.dose_missing * d_true + 0.5))
    if target["doses_administered"] < d_true + n_missing:
        raise ValueError("doses administered below the platform's unique doses: lower dose_missing")
    return n_dup, n_missing


def generate(out: Path, *, scale: float = 1.0, seed: int = 2022,
             rates: ErrorRates | None = None, chunk: int = export.DOSE_CHUNK,
             province: SynthProvince | None = None) -> SynthSummary:
    """Write the synthetic province into ``out`` (inputs/, params.yaml, truth/).

    Args:
        out: folder to write into (created; existing files are overwritten).
        scale: 1 = the seed report's totals; other scales multiply them (rounded half-up).
        seed: random seed; the same seed and scale give byte-identical files.
        rates: error rates (``ErrorRates()`` if None).
        chunk: rows per chunk of the dose line list as it is written (and per row group of
            ``doses_truth.parquet``): ``doses.csv`` has the same bytes whatever the chunk.
        province: which province (default Thái Nguyên; ``SynthProvince.of(code)`` for another,
            with the same totals at the same scale).

    Returns:
        A ``SynthSummary`` with the totals written.

    Raises:
        ValueError: If ``scale`` is not positive.

    Examples:
        >>> import tempfile
        >>> s = generate(Path(tempfile.mkdtemp()), scale=0.0005, seed=1)
        >>> s.totals["dose_rows"], s.totals["signed"], s.totals["registry"]
        (1378, 1248, 100)
    """
    t0 = time.perf_counter()
    rates = rates or ErrorRates()
    province = province or SynthProvince()
    target = scaled_totals(scale)
    out = Path(out)
    population.check_phone_prefixes()
    rng = _streams(seed)
    n_dup, n_missing = _row_counts(target, rates)

    # 1–3. the true population and its doses, cut exactly at the dose target
    com = population.communes(rng.geo, province)
    sites = population.vaccination_sites(com, province)
    need = target["dose_rows"] - n_dup + n_missing
    P, vaccinated, dates, vax = doses.simulate_population(need, com, rng.hh, rng.dose)
    pop = population.identities(P, com, rng.names, rng.ids, rng.geo, province)
    true = doses.true_doses(vaccinated, dates, vax, n_missing, pop.commune, com, sites, rng.dose, rng.row)
    del P, vaccinated, dates, vax  # the flat TrueDoses replace the (N, 5) histories

    # 4. the platform's records as typed, the dose rows entered on them, entry and signing
    recs = records.person_records(true, pop, com, sites, rates, rng.ref)
    fields, typed = errors.record_errors(pop, recs.rp, recs.is_b, rates, rng.err, rng.name_str)
    recs.err.update(typed)
    verify = records.verify_status(recs.err, fields.has_id, rng.err)
    vaccines = doses.vaccine_names()
    rows = records.dose_rows(true, recs, pop, com, sites, vaccines, n_dup, rates, rng.row)
    assert rows.n_plat == target["dose_rows"] - n_dup
    # what the rest needs of the true doses: the site tallies' counts; the rest is freed
    tally_counts = export.site_week_counts(true.dose_date, recs.dose_site, sites)
    V = true.V
    del true
    recs = records.without_dose_arrays(recs)
    rows = records.compact_rows(rows)
    entry = records.compact_entry(records.entry_and_signing(rows, verify, target["signed"], rng.out, rng.sign))
    rows = records.compact_rows(rows, true_date=True)

    # 5. the exports and the truth
    ref_person_ref, person_id = export.write_doses(out, V, pop, recs, fields, rows, entry, vaccines, com,
                                                   sites, rng.out, rng.strings, chunk=chunk, province=province)
    export.write_persons_truth(out, recs, ref_person_ref, person_id)
    side = export.write_side_files(out, target, tally_counts, pop, recs, fields, verify, com, sites, rng.side,
                                   province.code_prefix)
    export.write_params(out, province)
    summary = _summary(out, scale, seed, rows, entry, recs, side, n_vaccinated=V.size,
                       n_communes=len(com["code"]))
    summary.province = province.name
    export.write_summary(summary, rates)
    summary.seconds = time.perf_counter() - t0
    return summary


def _summary(out: Path, scale: float, seed: int, rows: records.DoseRows, entry: records.Entry,
             recs: records.PersonRecords, side: dict[str, int], *, n_vaccinated: int,
             n_communes: int) -> SynthSummary:
    """Totals and error counts of what was written (``side``: the side files' totals)."""
    n_rows, n_plat = rows.ref.size, rows.n_plat
    tally_total, n_fb = side["doses_administered"], side["feedback"]
    totals = {
        "dose_rows": n_rows, "dose_rows_unique": n_plat, "duplicate_dose_rows": n_rows - n_plat,
        "signed": int(entry.signed.sum()), "doses_administered": tally_total,
        "doses_never_entered": tally_total - n_plat, "feedback": n_fb,
        "feedback_handled": n_fb, "registry": side["registry"], "persons_vaccinated": n_vaccinated,
        "person_refs": recs.rp.size, "duplicate_person_refs": int(recs.is_b.sum()),
        "population": side["population"], "sites": int(np.unique(rows.site).size), "communes": n_communes,
    }
    error_rows = {k: int(v.sum()) for k, v in rows.err.items()}
    for k, v in recs.err.items():
        error_rows[k] = error_rows.get(k, 0) + int(v[rows.ref].sum())
    error_refs = {k: int(v.sum()) for k, v in recs.err.items()}
    error_refs["dose_missing"] = int(recs.has_gap.sum())
    return SynthSummary(out=out, scale=scale, seed=seed, totals=totals,
                        error_rows=dict(sorted(error_rows.items())),
                        error_refs=dict(sorted(error_refs.items())))
