"""Benchmark dose reconciliation, identity verification and worklists at full provincial scale.

Builds a synthetic frame (default 1.3 M persons, ≈2.9 M dose rows, ≈5 % duplicate entries)
with numpy only, then times ``doses.reconcile``, ``verify.verify_persons`` and
``worklists.build_worklists``.

Usage: ``.venv/bin/python bench/bench_reconcile.py [--persons 1300000] [--seed 1]``
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from datetime import date

import numpy as np
import pandas as pd

from vaxreport import doses as dz

PRODUCTS = np.array(["AstraZeneca", "Pfizer", "Moderna", "Vero Cell", "Sputnik V"])
CODES = np.array(["AZ", "PFIZER", "MODERNA", "VEROCELL", "SPUTNIK"])


def synth_doses(persons: int, seed: int) -> pd.DataFrame:
    """≈2.2 doses per person plus ≈5 % duplicate rows (same day) and ≈1 % near-duplicates."""
    rng = np.random.default_rng(seed)
    n_doses = rng.choice([1, 2, 3, 4], size=persons, p=[0.12, 0.45, 0.35, 0.08])
    pid = np.repeat(np.arange(persons), n_doses)
    seq = np.arange(len(pid)) - np.repeat(np.cumsum(n_doses) - n_doses, n_doses) + 1
    first = np.datetime64("2021-06-01") + rng.integers(0, 250, persons).astype("timedelta64[D]")
    gaps = np.where(seq == 1, 0, np.where(seq == 2, 28, 120)) + rng.integers(0, 40, len(pid))
    gaps[seq == 1] = 0
    offs = pd.Series(gaps).groupby(pid).cumsum().to_numpy()
    day = np.repeat(first, n_doses) + offs.astype("timedelta64[D]")
    # one product per person for the primary series; boosters and 5 % of doses switch product
    prod = np.repeat(rng.integers(0, len(PRODUCTS), persons), n_doses)
    switch = (seq > 2) | (rng.random(len(pid)) < 0.05)
    prod = np.where(switch, rng.integers(1, 3, len(pid)), prod)
    birth = np.datetime64("1940-01-01") + rng.integers(0, 365 * 65, persons).astype(
        "timedelta64[D]")
    base = pd.DataFrame({
        "person_id": pd.array(np.char.add("P", pid.astype(str)), dtype="string"),
        "person_ref": pd.array(np.char.add("R", pid.astype(str)), dtype="string"),
        "birth_date": np.repeat(birth, n_doses).astype("datetime64[ns]"),
        "vaccine": PRODUCTS[prod], "vaccine_code": CODES[prod],
        "dose_number": pd.array(seq, dtype="Int64"),
        "dose_date": day.astype("datetime64[ns]"),
        "site_code": np.char.add("S", rng.integers(0, 300, len(pid)).astype(str)),
        "sign_status": np.where(rng.random(len(pid)) < 0.9, "signed", "unsigned"),
        "entered_at": (day + rng.integers(0, 20, len(pid)).astype("timedelta64[D]")).astype(
            "datetime64[ns]"),
    })
    dups = base.sample(frac=0.05, random_state=seed)
    dups = dups.assign(entered_at=dups["entered_at"] + pd.Timedelta(days=1))
    near = base.sample(frac=0.01, random_state=seed + 1)
    near = near.assign(dose_date=near["dose_date"] + pd.Timedelta(days=3))
    df = pd.concat([base, dups, near], ignore_index=True)
    df.insert(0, "record_id", pd.array(np.char.add("D", np.arange(len(df)).astype(str)),
                                      dtype="string"))
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=1_300_000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    t = time.perf_counter()
    doses = synth_doses(a.persons, a.seed)
    print(f"synth: {len(doses):,} dose rows in {time.perf_counter() - t:.1f} s")

    t, c = time.perf_counter(), time.process_time()
    res = dz.reconcile(doses)
    print(f"reconcile: {time.perf_counter() - t:.1f} s (cpu {time.process_time() - c:.1f} s)  kept {len(res.data):,}  merged "
          f"{len(res.merged):,}  findings {len(res.findings):,}")
    print(res.findings.code.value_counts().to_string())
    t = time.perf_counter()
    summ = dz.person_doses_summary(res.data)
    print(f"person_doses_summary: {time.perf_counter() - t:.1f} s  ({len(summ):,} persons)")

    if importlib.util.find_spec("vaxreport.verify") is None:
        return
    from vaxreport import verify
    rng = np.random.default_rng(a.seed)
    persons = (res.data.drop_duplicates("person_id")
               .loc[:, ["person_id", "birth_date"]].reset_index(drop=True))
    n = len(persons)
    ids = np.char.add("0", np.char.zfill((np.arange(n) * 7919 % 10**11).astype(str), 11))
    names = np.char.add("Nguyễn Văn ", rng.integers(0, 50_000, n).astype(str))
    persons = persons.assign(
        full_name=names, gender=np.where(rng.random(n) < 0.5, "M", "F"),
        id_number=pd.array(np.where(rng.random(n) < 0.9, ids, None), dtype="string"),
        commune_code=np.char.add("05", rng.integers(100, 300, n).astype(str)))
    sent = persons.sample(frac=0.6, random_state=1)
    registry = pd.DataFrame({
        "id_number": sent["id_number"].fillna("012345678901").to_numpy(),
        "full_name": sent["full_name"].str.upper().to_numpy(),
        "birth_date": sent["birth_date"].dt.strftime("%d/%m/%Y").to_numpy(),
        "gender": np.where(sent["gender"].eq("M"), "Nam", "Nữ"),
        "commune_code": sent["commune_code"].to_numpy(),
        "checked_at": "15/05/2022", "result": "match"})
    t, c = time.perf_counter(), time.process_time()
    ver = verify.verify_persons(persons, registry)
    print(f"verify_persons: {time.perf_counter() - t:.1f} s (cpu {time.process_time() - c:.1f} s)  "
          f"{verify.status_counts(ver).to_dict()}")

    if importlib.util.find_spec("vaxreport.worklists") is None:
        return
    from vaxreport import worklists
    data = res.data.merge(persons[["person_id", "full_name", "id_number", "gender"]],
                          on="person_id", how="left").assign(
        phone="0912345678", site_name="Trạm Y tế", id_valid=lambda d: d.id_number.notna(),
        id_flags="")
    t = time.perf_counter()
    wl = worklists.build_worklists(data, res.findings, ver, unsigned_days=30,
                                   as_of=date(2022, 5, 31))
    print(f"build_worklists: {time.perf_counter() - t:.1f} s  "
          f"{ {k: len(v) for k, v in wl.items()} }")
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        paths = worklists.write_site_workbooks(wl, d, province_name="Thái Nguyên",
                                               period="2022-05")
        print(f"write_site_workbooks: {time.perf_counter() - t:.1f} s  {len(paths)} files")


if __name__ == "__main__":
    main()
