"""Two months of a synthetic province: are the id changes of the second month real? (issue 15)

Synthesises a province and its next month (or reuses ``--out``), runs stage 1 of month 1 into
``<out>/runs/<period>`` (or reuses it: only its cleansed doses are read), then, in process,
cleanses month 2 and links its person records twice — *afresh* (every record re-linked by
this month's model, as before last month's decisions were replayed) and *carried* (the run's
linkage: :mod:`vaxreport.linkage.replay`) — and for each prints:

- the linkage's CPU and wall time;
- ``id_changes`` per kind and how many are real (:func:`~vaxreport.linkage.replay.change_causes`:
  the old or new person holds a record new or changed this month) or not (*unexplained*), and
  the same against the synthetic truth (the person holds a code ``truth/changes.parquet`` lists as
  corrected or registered again, or belongs to a true person who does);
- pairwise precision, recall and F1 of the month-2 persons against ``truth/persons_truth.parquet``.

    .venv/bin/python bench/bench_months.py --scale 1 --out /tmp/months
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_dedup import pairwise  # noqa: E402

from vaxreport.linkage.carry import carry_ids  # noqa: E402
from vaxreport.linkage.cluster import Linkage, link_persons  # noqa: E402
from vaxreport.linkage.persons import person_ids, person_records  # noqa: E402
from vaxreport.linkage.replay import Prior, change_causes, changed_codes, record_digests  # noqa: E402
from vaxreport.params import RunParams  # noqa: E402
from vaxreport.runner.previous import previous_records  # noqa: E402
from vaxreport.runner.stages import StageOne  # noqa: E402
from vaxreport.synth.months import next_month  # noqa: E402
from vaxreport.synth.province import generate  # noqa: E402


def _stage_one(folder: Path, run: Path, *, link: bool) -> StageOne:
    s = StageOne(RunParams.from_yaml(folder / "params.yaml"), run)
    s.load()
    s.cleanse()
    if link:
        for section in StageOne.SECTIONS[2:]:
            getattr(s, section)()
    return s


def _truth_touched(data: Path, changes: pd.DataFrame, previous: pd.DataFrame, current: pd.DataFrame) -> np.ndarray:
    """Per ``id_changes`` row: does the old or new person hold a code the synthetic month changed
    (corrected record, new duplicate record), or a code of a true person one of those belongs to?"""
    truth = pd.read_parquet(data / "truth" / "changes.parquet")
    touched = truth.loc[truth["change"].isin(["corrected_record", "new_duplicate_person"]), "person_ref"]
    true_of = pd.read_parquet(data / "truth" / "persons_truth.parquet").set_index("person_ref")["person_id"]
    codes = true_of.index[true_of.isin(set(true_of.reindex(touched.unique())))]
    return change_causes(changes, previous, current, pd.Index(codes)).ne("").to_numpy()


def _report(name: str, res: Linkage, seconds: tuple[float, float], persons: pd.DataFrame, prev: pd.DataFrame,
            changed: pd.Index, data: Path, truth: np.ndarray) -> None:
    ids = person_ids(persons, pd.Series(res.labels, index=persons.index))
    carried = carry_ids(persons["person_ref"], ids, prev)
    now = pd.DataFrame({"person_ref": persons["person_ref"].to_numpy(), "person_id": carried.ids.to_numpy()})
    changes = carried.changes
    real = change_causes(changes, prev, now, changed).ne("").to_numpy()
    by_truth = _truth_touched(data, changes, prev, now)
    kept = int((prev.set_index("person_ref")["person_id"].reindex(now["person_ref"]).to_numpy()
                == now["person_id"].to_numpy()).sum())
    q = pairwise(truth, res.labels)
    print(f"\n## {name}: linkage {seconds[0]:.1f} s wall, {seconds[1]:.1f} s CPU; {res.carried.line()}")
    print(f"persons {len(np.unique(res.labels)):,}; codes keeping last month's id {kept:,} of {len(prev):,}; "
          f"P {q['precision']:.5f} R {q['recall']:.5f} F1 {q['f1']:.5f} (pairs: true {q['true_pairs']:,}, "
          f"predicted {q['predicted_pairs']:,}, right {q['tp']:,})")
    print("| why | rows | real (new or changed record) | unexplained | real by the synthetic truth |")
    print("|---|---:|---:|---:|---:|")
    for why, rows in changes.groupby("why", sort=False).groups.items():
        at = changes.index.get_indexer(rows)
        print(f"| {why} | {len(at):,} | {int(real[at].sum()):,} | {int((~real[at]).sum()):,} | "
              f"{int(by_truth[at].sum()):,} |")
    print(f"| all | {len(changes):,} | {int(real.sum()):,} | {int((~real).sum()):,} | {int(by_truth.sum()):,} |")
    if (~real).any():
        print("unexplained:", changes[~real].head(20).to_dict("records"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=2022)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    one = args.out
    if not (one / "params.yaml").exists():
        generate(one, scale=args.scale, seed=args.seed)
    period = RunParams.from_yaml(one / "params.yaml").period
    two = next(iter(sorted(p.parent for p in one.glob("*/params.yaml"))), None)
    if two is None:
        two = one / "next"
        next_month(one, two)
    may = args.out / "runs" / period
    if not (may / "cleansed" / "doses.parquet").exists():
        t0 = time.perf_counter()
        _stage_one(one, may, link=True)
        print(f"month 1 stage 1: {time.perf_counter() - t0:.1f} s")
    w, c = time.perf_counter(), time.process_time()
    prev = previous_records(may)
    print(f"month 1: previous_records {time.perf_counter() - w:.1f} s wall, {time.process_time() - c:.1f} s CPU")
    true1 = pd.read_parquet(one / "truth" / "persons_truth.parquet").set_index("person_ref")["person_id"]
    q = pairwise(true1.reindex(prev["person_ref"]).to_numpy(), prev["person_id"].to_numpy())
    print(f"month 1 persons (the run's): P {q['precision']:.5f} R {q['recall']:.5f} F1 {q['f1']:.5f}")
    s = _stage_one(two, args.out / "runs" / "month2", link=False)
    persons = person_records(s.cleaned.data)
    w, c = time.perf_counter(), time.process_time()
    digests = record_digests(persons).reindex(persons["person_ref"].astype("string").fillna("").to_numpy())
    prior = Prior.of(persons["person_ref"], digests.to_numpy(), prev)
    print(f"month 2: record_digests + Prior.of {time.perf_counter() - w:.1f} s wall, "
          f"{time.process_time() - c:.1f} s CPU")
    changed = changed_codes(persons["person_ref"], prior, prev)
    print(f"month 2: {len(persons):,} person records, {prior.unchanged():,} unchanged, {len(changed):,} new, changed "
          f"or gone codes")
    true_of = pd.read_parquet(two / "truth" / "persons_truth.parquet").set_index("person_ref")["person_id"]
    truth = true_of.reindex(persons["person_ref"]).to_numpy()
    threshold = s.p.thresholds.dedup_threshold
    for name, use in (("afresh", None), ("carried", prior)):
        w, c = time.perf_counter(), time.process_time()
        res = link_persons(persons, threshold, prior=use)
        _report(name, res, (time.perf_counter() - w, time.process_time() - c), persons, prev, changed, two, truth)


if __name__ == "__main__":
    main()
