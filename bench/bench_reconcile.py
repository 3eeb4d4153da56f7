"""Benchmark dose reconciliation, identity verification and worklists at full provincial scale.

Two modes:

- default: builds a synthetic frame (default 1.3 M persons, ≈2.9 M dose rows, ≈5 % duplicate
  entries) with numpy only, then times ``doses.reconcile``, ``verify.verify_persons`` and
  ``worklists.build_worklists``;
- ``--data DIR`` (a ``vaxreport synth`` folder with ``inputs/``, ``truth/`` and
  ``params.yaml``): runs the stage-1 steps before reconciliation as the pipeline does (load,
  cleanse, dedup), times ``reconcile`` and ``verify_persons`` (CPU, wall, RSS) and scores them
  against the ground truth: precision/recall of merged duplicate doses and of each finding kind,
  share of correct registry-ID suggestions and the status counts. ``--cache FILE`` keeps the
  pre-reconcile inputs in a pickle so that later runs skip the ≈3 min of earlier steps.

Usage: ``.venv/bin/python bench/bench_reconcile.py [--persons 1300000] [--seed 1]``
       ``.venv/bin/python bench/bench_reconcile.py --data bench/_work/scale-1/data [--cache F]``
"""

from __future__ import annotations

import argparse
import importlib.util
import pickle
import resource
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from vaxreport.linkage import doses as dz

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


#: dose-level errors injected by the synthesiser that can make a reconciliation finding appear on
#: the row itself or on the next dose of the person
DOSE_ERRORS = ("dose_date_swapped", "dose_date_future", "dose_date_before_birth",
               "dose_date_impossible", "dose_missing", "dose_number_wrong", "doses_out_of_order",
               "dose_duplicate")
#: finding kinds scored against injected errors (the rest against the rules applied to the truth)
INJECTED = {"missing_dose": ("dose_missing",),
            "dose_number_mismatch": ("dose_number_wrong", "doses_out_of_order")}
RULE_KINDS = ("short_interval", "mixing_not_allowed", "ineligible_age")


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def _rss_gb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 1e9


def timed(name: str, f):  # type: ignore[no-untyped-def]
    """Run ``f()`` and print CPU seconds, wall seconds, RSS before/after and the peak so far."""
    rss0 = _rss_gb()
    t, c = time.perf_counter(), time.process_time()
    out = f()
    print(f"{name}: cpu {time.process_time() - c:.2f} s  wall {time.perf_counter() - t:.2f} s  "
          f"rss {rss0:.2f} -> {_rss_gb():.2f} GB  peak {_peak_gb():.2f} GB", flush=True)
    return out


def stage_one_inputs(data: Path, cache: Path | None) -> dict:
    """Reconcile and verify inputs as the pipeline builds them (optionally pickled)."""
    if cache is not None and cache.exists():
        with open(cache, "rb") as f:
            return pickle.load(f)
    from vaxreport import io, linkage
    from vaxreport.cleansing import audit
    from vaxreport.linkage.persons import person_records, with_person_id
    from vaxreport.params import RunParams
    from vaxreport.runner.stages import clean_params
    p = RunParams.from_yaml(data / "params.yaml")
    inputs = io.load_inputs(p.inputs)
    cleaned = audit.clean_doses(inputs.doses, params=clean_params(p))
    persons = person_records(cleaned.data)
    labels = linkage.cluster_persons(persons, threshold=p.thresholds.dedup_threshold)
    out = {"doses": with_person_id(cleaned.data, persons, labels),
           "survivors": linkage.survivors(persons, labels).reset_index(),
           "registry": inputs.registry, "persons": persons[["person_ref"]], "labels": labels,
           "name_score": p.thresholds.name_match_score}
    if cache is not None:
        with open(cache, "wb") as f:
            pickle.dump(out, f, protocol=5)
    return out


def _errors(truth: pd.DataFrame) -> pd.Series:
    return truth["errors"].fillna("").astype(str)


def _has_any(errors: pd.Series, kinds: tuple[str, ...]) -> np.ndarray:
    pattern = "|".join(rf"(?:^|;){k}(?:;|$)" for k in kinds)
    return errors.str.contains(pattern, regex=True).to_numpy(bool)


def true_rule_findings(truth: pd.DataFrame) -> pd.DataFrame:
    """``reconcile`` findings on the true dose histories (true person, dates, products, birth
    dates; injected duplicate rows left out): what the rules say about what really happened."""
    from vaxreport import refdata
    t = truth[truth["dup_of"].isna()]
    code_of = refdata.vaccines().set_index("canonical_name")["vaccine_code"]
    true = pd.DataFrame({
        "record_id": t["record_id"].astype(str).to_numpy(),
        "person_id": t["person_id"].astype(str).to_numpy(),
        "person_ref": t["person_ref"].astype(str).to_numpy(),
        "birth_date": t["true_birth_date"].astype("datetime64[ns]").to_numpy(),
        "vaccine": t["true_vaccine"].astype(str).to_numpy(),
        "vaccine_code": t["true_vaccine"].map(code_of).to_numpy(),
        "dose_number": pd.array(t["true_dose_number"].to_numpy(), dtype="Int64"),
        "dose_date": t["true_dose_date"].astype("datetime64[ns]").to_numpy(),
        "site_code": "S", "sign_status": "signed"})
    return dz.reconcile(true).findings


def true_gaps(truth: pd.DataFrame) -> set[str]:
    """Rows after which the true history holds a dose that is not on the platform: the true
    dose number jumps past the person's count of platform doses (the synthesiser marks only
    part of these ``dose_missing``; the rest are doses never entered)."""
    t = truth[truth["dup_of"].isna()].sort_values(["person_id", "true_dose_date"])
    rank = t.groupby("person_id").cumcount() + 1
    behind = t["true_dose_number"].to_numpy() - rank.to_numpy()
    prev = pd.Series(behind, index=t.index).groupby(t["person_id"].to_numpy()).shift(
        fill_value=0).to_numpy()
    return set(t["record_id"].astype(str).to_numpy()[behind > prev])


def score_reconcile(res: dz.ReconcileResult, truth: pd.DataFrame) -> pd.DataFrame:
    """Precision/recall of merged duplicates and of each finding kind against the truth.

    A finding counts as *right* when the truth says so (the injected error on the row for
    numbering kinds; the same finding on the true history for rule kinds). A finding that is
    not right but sits on a row whose own or previous dose carries an injected dose error (or a
    birth-date swap, or on a person with a dose quarantined by cleansing, or on a person whose
    dedup cluster mixes two true persons) is *explained*:
    the data as entered does break the rule, and fixing the injected error removes it. The rest
    are false alarms. Recall is over the rows the truth marks (rows quarantined by cleansing
    left out).
    """
    tr = truth.assign(record_id=truth["record_id"].astype(str)).set_index("record_id")
    err = _errors(tr)
    data = res.data[["record_id", "person_id", "dose_seq"]].assign(
        record_id=res.data["record_id"].astype(str))
    data = data.assign(true_person=tr["person_id"].reindex(data["record_id"]).to_numpy())
    mixed = data.groupby("person_id")["true_person"].nunique() > 1
    data = data.sort_values(["person_id", "dose_seq"])
    prev = data.groupby("person_id")["record_id"].shift()
    dose_err = pd.Series(_has_any(err, DOSE_ERRORS + ("birth_date_swapped",)), index=tr.index)
    own = dose_err.reindex(data["record_id"]).fillna(False).to_numpy(bool)
    before = dose_err.reindex(prev).fillna(False).to_numpy(bool)
    in_data = set(data["record_id"])
    # a person one of whose doses cleansing quarantined (e.g. an impossible date) lacks it here
    gone = ~tr.index.isin(list(in_data | set(res.merged["record_id"].astype(str))))
    lost = data["true_person"].isin(set(tr["person_id"][gone])).to_numpy(bool)
    explained = pd.Series(own | before | lost
                          | data["person_id"].map(mixed).fillna(False).to_numpy(bool),
                          index=data["record_id"].to_numpy())
    rows = []

    # merged duplicates: right when the truth says the row repeats a dose of the same true
    # person on the same true date
    m = res.merged.assign(record_id=res.merged["record_id"].astype(str),
                          merged_into=res.merged["merged_into"].astype(str))
    key = tr["person_id"].astype(str) + "|" + tr["true_dose_date"].astype(str)
    right = (key.reindex(m["record_id"]).to_numpy() == key.reindex(m["merged_into"]).to_numpy())
    is_dup = tr["dup_of"].notna()
    present = set(m["record_id"]) | in_data
    dups = [r for r in tr.index[is_dup.to_numpy()] if r in present]
    suspect = res.data.loc[res.data["suspect_duplicate"].to_numpy(bool), "record_id"].astype(str)
    rows.append({"kind": "duplicate_dose (merged)", "flagged": len(m), "right": int(right.sum()),
                 "explained": 0, "false": int((~right).sum()), "truth": len(dups),
                 "found": int(right.sum())})  # each right merge removes one extra entry
    rows.append({"kind": "duplicate_dose (merged or suspect)",
                 "flagged": len(m) + len(suspect),
                 "right": int(right.sum() + is_dup.reindex(suspect).fillna(False).sum()),
                 "explained": 0,
                 "false": int((~right).sum() + (~is_dup.reindex(suspect).fillna(False)).sum()),
                 "truth": len(dups),
                 "found": int(right.sum() + is_dup.reindex(suspect).fillna(False).sum())})

    f = res.findings.assign(record_id=res.findings["record_id"].astype(str))
    ferr = err.reindex(f["record_id"]).fillna("")
    gaps = true_gaps(truth)
    for kind, kinds in INJECTED.items():
        got = f.loc[f["code"] == kind, "record_id"]
        ok = _has_any(ferr[(f["code"] == kind).to_numpy()], kinds)
        marked = set(tr.index[_has_any(err, kinds)]) & in_data
        if kind == "missing_dose":  # also the doses never entered that the truth holds
            ok = ok | got.isin(gaps).to_numpy(bool)
            marked |= gaps & in_data
        ex = explained.reindex(got[~ok]).fillna(False).to_numpy(bool)
        rows.append({"kind": kind, "flagged": len(got), "right": int(ok.sum()),
                     "explained": int(ex.sum()), "false": int((~ok).sum() - ex.sum()),
                     "truth": len(marked), "found": len(marked & set(got))})
    numbering = set(f.loc[f["code"].isin(list(INJECTED)), "record_id"])
    marked = set(tr.index[_has_any(err, sum(INJECTED.values(), ()))]) & in_data
    rows.append({"kind": "numbering (missing or mismatch)", "flagged": len(numbering),
                 "right": len(numbering & marked), "explained": 0, "false": 0,
                 "truth": len(marked), "found": len(numbering & marked)})

    true_f = true_rule_findings(truth)
    for kind in RULE_KINDS:
        got = f.loc[f["code"] == kind, "record_id"]
        should = set(true_f.loc[true_f["code"] == kind, "record_id"].astype(str)) & in_data
        ok = got.isin(should).to_numpy(bool)
        ex = explained.reindex(got[~ok]).fillna(False).to_numpy(bool)
        rows.append({"kind": kind, "flagged": len(got), "right": int(ok.sum()),
                     "explained": int(ex.sum()), "false": int((~ok).sum() - ex.sum()),
                     "truth": len(should), "found": int(ok.sum())})
    out = pd.DataFrame(rows).set_index("kind")
    out["precision"] = ((out["right"] + out["explained"]) / out["flagged"]).round(4)
    out["strict_precision"] = (out["right"] / out["flagged"]).round(4)
    out["recall"] = (out["found"] / out["truth"]).round(4)
    return out


def score_verify(ver: pd.DataFrame, survivors: pd.DataFrame, persons: pd.DataFrame,
                 labels: pd.Series, doses_truth: pd.DataFrame) -> dict:
    """Share of correct registry-ID suggestions: the suggested ID is the true person's ID."""
    ref_truth = doses_truth.drop_duplicates("person_ref").set_index(
        doses_truth.drop_duplicates("person_ref")["person_ref"].astype(str))
    refs = persons["person_ref"].astype(str).to_numpy()
    true_person = pd.Series(ref_truth["person_id"].reindex(refs).to_numpy(), index=labels.to_numpy())
    true_id = pd.Series(ref_truth["true_id_number"].reindex(refs).to_numpy(),
                        index=labels.to_numpy())
    # a cluster's true ID: the ID of its most common true person
    first = true_person.groupby(level=0).agg(lambda s: s.mode().iloc[0] if s.notna().any() else None)
    id_of_person = pd.Series(true_id.to_numpy(), index=true_person.to_numpy())
    id_of_person = id_of_person[~id_of_person.index.duplicated()]
    want = id_of_person.reindex(first.reindex(ver["person_id"]).to_numpy()).to_numpy()
    sug = ver["suggested_id"].astype("string")
    has = sug.notna().to_numpy()
    right = has & (sug.fillna("").to_numpy(object) == pd.Series(want).fillna("#").to_numpy(object))
    return {"suggested": int(has.sum()), "right": int(right.sum()),
            "share_right": round(float(right.sum() / max(has.sum(), 1)), 4),
            "by_status": ver.loc[has, "status"].value_counts().to_dict()}


def run_truth(data: Path, cache: Path | None) -> None:
    from vaxreport.linkage import verify
    t = time.perf_counter()
    inp = stage_one_inputs(data, cache)
    print(f"pre-reconcile inputs: {len(inp['doses']):,} dose rows in "
          f"{time.perf_counter() - t:.0f} s; peak {_peak_gb():.2f} GB")
    dz.reconcile(inp["doses"].head(1000))  # warm imports and reference tables
    res = timed("reconcile", lambda: dz.reconcile(inp["doses"]))
    print(f"  kept {len(res.data):,}  merged {len(res.merged):,}  findings {len(res.findings):,}")
    print(res.findings["code"].value_counts().to_string())
    ver = timed("verify_persons", lambda: verify.verify_persons(
        inp["survivors"], inp["registry"], name_score=inp["name_score"]))
    print(verify.status_counts(ver).to_string())
    truth = pd.read_parquet(data / "truth" / "doses_truth.parquet")
    with pd.option_context("display.width", 160):
        print(score_reconcile(res, truth).to_string())
    print("suggested IDs:", score_verify(ver, inp["survivors"], inp["persons"], inp["labels"],
                                         truth))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=1_300_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", type=Path, help="synth folder with inputs/, truth/, params.yaml")
    ap.add_argument("--cache", type=Path, help="pickle of the pre-reconcile inputs (--data)")
    a = ap.parse_args()
    if a.data is not None:
        run_truth(a.data, a.cache)
        return
    t = time.perf_counter()
    doses = synth_doses(a.persons, a.seed)
    print(f"synth: {len(doses):,} dose rows in {time.perf_counter() - t:.1f} s")

    t, c = time.perf_counter(), time.process_time()
    res = dz.reconcile(doses)
    print(f"reconcile: {time.perf_counter() - t:.1f} s (cpu {time.process_time() - c:.1f} s)  "
          f"kept {len(res.data):,}  merged "
          f"{len(res.merged):,}  findings {len(res.findings):,}")
    print(res.findings.code.value_counts().to_string())
    t = time.perf_counter()
    summ = dz.person_doses_summary(res.data)
    print(f"person_doses_summary: {time.perf_counter() - t:.1f} s  ({len(summ):,} persons)")

    if importlib.util.find_spec("vaxreport.linkage.verify") is None:
        return
    from vaxreport.linkage import verify
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

    if importlib.util.find_spec("vaxreport.reporting.worklists") is None:
        return
    from vaxreport.reporting import workbooks, worklists
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
        paths = workbooks.write_site_workbooks(wl, d, province_name="Thái Nguyên",
                                               period="2022-05")
        print(f"write_site_workbooks: {time.perf_counter() - t:.1f} s  {len(paths)} files")


if __name__ == "__main__":
    main()
