"""Benchmark a run covering two provinces (``params provinces:``) on the synthetic two-province
export (``vaxreport.synth.provinces``): stage 1's wall, CPU and peak memory, and the linkage
scored against the truth — pairs of person codes within one province and across the two (the
persons vaccinated in both), doses of those persons in their true order, doses entered in both
provinces merged.

Usage: ``.venv/bin/python bench/bench_provinces.py [--scale 0.1] [--provinces 19 06] [--seed 2022]
[--work bench/_work/provinces]``
"""

from __future__ import annotations

import argparse
import resource
import shutil
import time
from pathlib import Path

import pandas as pd

from vaxreport.params import RunParams
from vaxreport.runner.stages import StageOne
from vaxreport.synth.provinces import generate_provinces, link_scores


def measure(data: Path, run: Path) -> dict[str, float]:
    """Stage 1 over the export in ``data`` into ``run``: seconds (wall, CPU) and the process's peak RSS."""
    cpu0, wall0 = time.process_time(), time.perf_counter()
    StageOne(RunParams.from_yaml(data / "params.yaml"), run).run()
    return {"stage1_wall_s": time.perf_counter() - wall0, "stage1_cpu_s": time.process_time() - cpu0,
            "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}


def quality(data: Path, run: Path) -> tuple[pd.DataFrame, dict[str, float]]:
    """(link scores within and across provinces, the movers' dose order and merged home copies)."""
    cols = ["person_ref", "person_id", "province_code"]
    found = pd.concat([pd.read_parquet(run / "cleansed" / f"{t}.parquet", columns=cols)
                       for t in ("doses", "merged_doses")]).astype({"person_ref": str, "province_code": str})
    truth_refs = pd.read_parquet(data / "truth" / "persons_truth.parquet")
    scores = link_scores(found.drop_duplicates("person_ref"), truth_refs)
    truth = pd.read_parquet(data / "truth" / "doses_truth.parquet")
    movers = pd.read_parquet(data / "truth" / "cross_province.parquet")
    kept = pd.read_parquet(run / "cleansed" / "doses.parquet", columns=["record_id", "dose_seq"])
    kept = kept.astype({"record_id": str})
    theirs = truth[truth["person_id"].isin(movers["person_id"]) & truth["dup_of"].isna()].merge(kept, on="record_id")
    copies = truth[truth["errors"].str.startswith("dose_duplicate;cross_province")]
    merged = set(pd.read_parquet(run / "cleansed" / "merged_doses.parquet")["record_id"].astype(str))
    in_order = float((theirs["dose_seq"] == theirs["true_dose_number"]).mean())
    copies_merged = float((copies["record_id"].isin(merged) | copies["dup_of"].isin(merged)).mean())
    return scores, {"movers": len(movers), "mover_doses_in_true_order": in_order, "home_copies": len(copies),
                    "home_copies_merged": copies_merged}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--provinces", nargs="+", default=["19", "06"])
    ap.add_argument("--seed", type=int, default=2022)
    ap.add_argument("--work", type=Path, default=Path("bench/_work/provinces"))
    a = ap.parse_args()
    data, run = a.work / "data", a.work / "run"
    shutil.rmtree(a.work, ignore_errors=True)
    t0 = time.perf_counter()
    totals = generate_provinces(data, tuple(a.provinces), scale=a.scale, seed=a.seed)
    print(f"synthesised {' + '.join(a.provinces)} at scale {a.scale:g} in {time.perf_counter() - t0:.1f} s: "
          + ", ".join(f"{k} {v:,}" for k, v in totals.items()))
    cost = measure(data, run)
    scores, doses = quality(data, run)
    print("\n| measure | value |\n|---|---:|")
    for k, v in {**cost, **doses}.items():
        print(f"| {k} | {v:,.3f} |" if isinstance(v, float) else f"| {k} | {v:,} |")
    print("\n| pairs of person codes | true | found | both | precision | recall |\n|---|---:|---:|---:|---:|---:|")
    for name, r in scores.iterrows():
        print(f"| {name} province | {int(r.true_pairs):,} | {int(r.found_pairs):,} | {int(r.both):,} | "
              f"{r.precision:.4f} | {r.recall:.4f} |")


if __name__ == "__main__":
    main()
