"""Why ``cluster_persons`` misses the pairs it misses: blocking pair completeness per rule, and the
comparison levels and weights of the false negatives and false positives (issue 14).

For one test bed of ``bench_dedup.py`` (same ``--source``/``--scale``/``--drop``/``--names``
options) it prints:

* per blocking rule, the share of the true pairs it proposes (pair completeness), and of all
  rules together; the candidate pairs each rule adds;
* the true pairs left apart: how many were never candidates, how many were candidates scored
  below the threshold (with the distribution of their levels and of their weight's distance to
  the threshold), and how many were joined directly but cut by the guard;
* the false positives' levels;
* an optimistic bound for any scorer of these levels (:func:`signature_oracle`).

Usage::

    .venv/bin/python bench/dedup_misses.py --source synth --scale 0.3 --drop phone,gender,id_number:0.5
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_dedup  # noqa: E402

from vaxreport.linkage.blocking import (  # noqa: E402
    BLOCKING_RULES,
    block_candidates,
    block_pairs,
    combine_keys,
    name_date_rank,
)
from vaxreport.linkage.cluster import canonical_order, link_persons  # noqa: E402
from vaxreport.linkage.compare import compare_pairs  # noqa: E402
from vaxreport.linkage.model import pair_weights, total_weight  # noqa: E402
from vaxreport.linkage.prepare import prepare_fields  # noqa: E402
from vaxreport.linkage.priors import LEVELS  # noqa: E402


def true_pairs(person_id: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All pairs of rows (a < b) holding the same true person."""
    codes = pd.factorize(person_id)[0].astype(np.int64)
    a, b = block_pairs(codes, np.arange(codes.size, dtype=np.int64), 10**9, 0)
    return np.minimum(a, b), np.maximum(a, b)


def completeness(prep: object, ta: np.ndarray, tb: np.ndarray, n: int) -> pd.DataFrame:
    """Per blocking rule: true pairs it proposes (share), candidate pairs it makes."""
    rank = name_date_rank(prep)  # type: ignore[arg-type]
    truth = ta * n + tb
    found_any = np.zeros(truth.size, bool)
    rows = []
    for name, (fields, cap, window) in BLOCKING_RULES.items():
        a, b = block_pairs(combine_keys(prep, fields), rank, cap, window)  # type: ignore[arg-type]
        code = np.unique(np.minimum(a, b) * n + np.maximum(a, b))
        hit = np.isin(truth, code)
        rows.append({"rule": name, "pairs": code.size, "true found": int(hit.sum()),
                     "completeness": hit.mean() if truth.size else 1.0})
        found_any |= hit
    rows.append({"rule": "ALL", "pairs": -1, "true found": int(found_any.sum()),
                 "completeness": found_any.mean() if truth.size else 1.0})
    return pd.DataFrame(rows), found_any


def signature_oracle(prep: object, a: np.ndarray, b: np.ndarray, match: np.ndarray,
                     true_pairs: int, min_precision: float) -> dict[str, float]:
    """An upper bound for any scorer of these comparison levels: candidate pairs grouped by their
    levels and the frequency of the first record's full name (log2 bins), each group merged or not
    *knowing the truth* (purest groups first); the best pairwise F1, and the best recall at
    ``min_precision``.  Optimistic: it decides with the answer, on direct pairs only."""
    lv = compare_pairs(prep, a, b)  # type: ignore[arg-type]
    codes = prep.codes["sorted_name"]  # type: ignore[attr-defined]
    cnt = np.bincount(codes[codes >= 0])
    freq = np.where(codes[a] >= 0, cnt[np.maximum(codes[a], 0)], 1)
    df = pd.DataFrame({k: v for k, v in lv.items()})
    df["name_bin"] = np.minimum(np.log2(np.maximum(freq, 1)).astype(int), 10)
    df["m"] = match
    g = df.groupby(list(df.columns[:-1]))["m"].agg(["sum", "count"]).reset_index()
    g = g.assign(purity=g["sum"] / g["count"]).sort_values("purity", ascending=False)
    tp, fp = g["sum"].cumsum(), (g["count"] - g["sum"]).cumsum()
    prec, rec = tp / (tp + fp), tp / max(true_pairs, 1)
    f1 = 2 * prec * rec / (prec + rec)
    ok = rec[prec >= min_precision]
    return {"f1": float(f1.max()), "recall_at_precision": float(ok.max()) if ok.size else 0.0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", default="synth")
    ap.add_argument("--scale", type=float, default=0.3)
    ap.add_argument("--dir", type=Path, default=Path("outputs/synth"))
    ap.add_argument("--work", type=Path, default=Path(__file__).resolve().parent / "_work")
    ap.add_argument("--drop", default="")
    ap.add_argument("--names", default="")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--show", type=int, default=8, help="example pairs printed per group")
    ap.add_argument("--min-precision", type=float, default=0.996,
                    help="the oracle's best recall at this precision")
    args = ap.parse_args()
    data = bench_dedup._variant(bench_dedup._load(args), args).reset_index(drop=True)
    persons = data[[c for c in ("person_ref", *bench_dedup.LINKED) if c in data.columns]]
    perm = canonical_order(persons)
    data, persons = data.iloc[perm].reset_index(drop=True), persons.iloc[perm].reset_index(drop=True)
    n = len(persons)
    res = link_persons(persons, None)
    labels = res.labels
    truth = data["person_id"].to_numpy()
    q = bench_dedup.pairwise(truth, labels)
    print(f"records {n:,}; P {q['precision']:.4f} R {q['recall']:.4f} F1 {q['f1']:.4f}; "
          f"threshold {res.threshold:.2f}")
    prep = prepare_fields(persons)
    ta, tb = true_pairs(truth)
    table, candidate = completeness(prep, ta, tb, n)
    print(table.to_string(index=False))
    missed = labels[ta] != labels[tb]
    direct = np.isin(ta * n + tb, res.a.astype(np.int64) * n + res.b)
    print(f"true pairs {ta.size:,}: left apart {int(missed.sum()):,} — never candidates "
          f"{int((missed & ~candidate).sum()):,}, candidates below the threshold "
          f"{int((missed & candidate & ~direct).sum()):,}, linked but cut by the guard "
          f"{int((missed & direct).sum()):,}")
    ca, cb = block_candidates(prep, BLOCKING_RULES)
    orc = signature_oracle(prep, ca, cb, truth[ca] == truth[cb], ta.size, args.min_precision)
    print(f"per-signature oracle (levels + name-frequency bin, decided with the truth): best F1 "
          f"{orc['f1']:.4f}; best R at P >= {args.min_precision}: {orc['recall_at_precision']:.4f}")
    ma, mb = ta[missed & candidate & ~direct], tb[missed & candidate & ~direct]
    lv = compare_pairs(prep, ma, mb)
    w = pair_weights(prep, res.model, ma, mb, lv)
    tot = total_weight(w, ma.size)
    gap = res.threshold - tot
    print("gap to the threshold (bits) of the candidates below it:",
          np.percentile(gap, [10, 25, 50, 75, 90]).round(1).tolist() if gap.size else [])
    for comp, levels in LEVELS.items():
        if comp in lv:
            cnt = pd.Series(np.asarray(levels)[lv[comp]]).value_counts()
            mean_w = {}
            key = comp if comp in w else "locality"
            for name in cnt.index:
                sel = np.asarray(levels)[lv[comp]] == name
                mean_w[name] = round(float(w[key][sel].mean()), 1)
            print(f"  {comp:15s}", ", ".join(f"{k} {v} ({mean_w[k]:+})" for k, v in cnt.items()))
    cols = list(bench_dedup.LINKED)
    for k in np.argsort(gap)[: args.show]:
        print(f"--- FN gap {gap[k]:.1f}:",
              {c: round(float(w[c][k]), 1) for c in w})
        print(persons.iloc[[ma[k], mb[k]]][[c for c in cols if c in persons]].to_string())
    # false positives: pairs in one cluster, two persons, directly linked
    fp = truth[res.a] != truth[res.b]
    fa, fb = res.a[fp], res.b[fp]
    lvf = compare_pairs(prep, fa, fb)
    print(f"direct links between two persons: {fa.size:,}")
    for comp, levels in LEVELS.items():
        if comp in lvf:
            cnt = pd.Series(np.asarray(levels)[lvf[comp]]).value_counts()
            print(f"  {comp:15s}", ", ".join(f"{k} {v}" for k, v in cnt.items()))
    for k in range(min(args.show, fa.size)):
        print(f"--- FP weight {res.weight[fp][k]:.1f}")
        print(persons.iloc[[fa[k], fb[k]]][[c for c in cols if c in persons]].to_string())


if __name__ == "__main__":
    main()
