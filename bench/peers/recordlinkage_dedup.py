"""The ``recordlinkage`` toolkit on the bench's person records; runs in ``bench/_venvs/recordlinkage``.

    python recordlinkage_dedup.py persons.parquet labels.parquet [sum|ecm]

Reads the person records written by ``run_bench.py`` (never the ``true_person_id`` column),
writes ``person_ref, cluster`` (connected components of the matched pairs) and prints one JSON
line: ``seconds`` (index + compare + classify + components), ``pairs`` (candidate pairs).

Configuration (reasonable, not tuned on the truth):

* index: union of ``Block`` on ID; phone; folded name + birth year; birth date + commune;
* compare: folded given name and folded surname + middle name (Jaro-Winkler ≥ 0.85), birth date,
  gender, commune, phone, ID (exact); a missing value never agrees;
* classify: ``sum`` (default) — a weighted sum (ID 2, birth date 1.5, given name 1.5, phone 1,
  surname + middle 0.5, gender 0.5, commune 0.5) ≥ 4.25; ``ecm`` — the unsupervised ECM
  classifier on the binary vectors (at scale 0.1 it matched household members sharing phone,
  commune and surname: precision 0.08, F1 0.14 — so the bench uses ``sum``).
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import pandas as pd
import recordlinkage as rl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

COLUMNS = ["person_ref", "name_folded", "dob", "birth_year", "gender", "commune_code", "phone", "id_number"]
WEIGHTS = {"id": 2.0, "dob": 1.5, "given": 1.5, "phone": 1.0, "family": 0.5, "gender": 0.5, "commune": 0.5}
SUM_THRESHOLD = 4.25


def main(src: str, out: str, classifier: str = "sum") -> None:
    df = pd.read_parquet(src, columns=COLUMNS)
    for c in COLUMNS:
        df[c] = df[c].astype(object).where(df[c].notna(), np.nan)
    t0 = time.perf_counter()
    c0 = time.process_time()
    parts = df["name_folded"].fillna("").str.rsplit(" ", n=1)
    df["given"] = parts.str[-1].where(df["name_folded"].notna(), np.nan)
    df["family"] = parts.str[0].where(parts.str.len() > 1, np.nan)
    df = df.reset_index(drop=True)

    indexer = rl.Index()
    indexer.block("id_number")
    indexer.block("phone")
    indexer.block(["name_folded", "birth_year"])
    indexer.block(["dob", "commune_code"])
    pairs = indexer.index(df)
    pairs = pairs[pairs.get_level_values(0) != pairs.get_level_values(1)].unique()

    comp = rl.Compare()
    comp.string("given", "given", method="jarowinkler", threshold=0.85, label="given")
    comp.string("family", "family", method="jarowinkler", threshold=0.85, label="family")
    comp.exact("dob", "dob", label="dob")
    comp.exact("gender", "gender", label="gender")
    comp.exact("commune_code", "commune_code", label="commune")
    comp.exact("phone", "phone", label="phone")
    comp.exact("id_number", "id_number", label="id")
    features = comp.compute(pairs, df)

    if classifier == "ecm":
        model = rl.ECMClassifier(binarize=0.5)
        matches = model.fit_predict(features)
    else:
        total = sum(features[k] * w for k, w in WEIGHTS.items())
        matches = features.index[total >= SUM_THRESHOLD]
    a = matches.get_level_values(0).to_numpy(np.int64)
    b = matches.get_level_values(1).to_numpy(np.int64)
    n = len(df)
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    secs = time.perf_counter() - t0
    cpu = time.process_time() - c0
    pd.DataFrame({"person_ref": df["person_ref"].astype(str), "cluster": labels.astype(str)}).to_parquet(
        out, index=False)
    note = "ECM classifier" if classifier == "ecm" else f"weighted sum ≥ {SUM_THRESHOLD}"
    print(json.dumps({"seconds": secs, "cpu_seconds": cpu, "pairs": int(len(pairs)), "matches": int(len(a)),
                      "note": note}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
