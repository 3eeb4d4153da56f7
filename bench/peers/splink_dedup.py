"""Splink 5 (DuckDB backend) on the bench's person records; runs inside ``bench/_venvs/splink``.

    python splink_dedup.py persons.parquet labels.parquet

Reads the person records written by ``run_bench.py`` (``person_ref`` and the fields; the
``true_person_id`` column is never read), writes ``person_ref, cluster`` and prints one JSON line:
``seconds`` (load into DuckDB + training + predict + clustering), ``pairs`` (comparisons the
blocking rules generate, counted after the timed part), ``matches``.

Configuration (written to be reasonable, not tuned on the truth):

* blocking for prediction: ID; phone; folded name + birth year; birth date + commune;
* comparisons: folded given name and folded surname + middle name (Jaro-Winkler 0.95 / 0.85,
  term-frequency adjusted; on the whole folded name, household members sharing "nguyen van"
  score ≥ 0.9 and Splink's precision fell to 0.69 at scale 0.1), birth date
  (Levenshtein on yyyy-mm-dd: exact / 1 / 2 edits — a swapped day/month is 2 edits), gender,
  commune, phone, ID (exact / 1 edit / 2 edits);
* training: λ from deterministic rules (same ID; same name + birth date + commune) at recall 0.7,
  u by random sampling (1e7 pairs, seeded), m by EM blocked on folded name + birth date and on
  ID + birth year (blocks with few household pairs); match at probability ≥ 0.5 (clusters at the same threshold).
"""

from __future__ import annotations

import json
import logging
import sys
import time

import duckdb
import pandas as pd
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink.blocking_analysis import count_comparisons_from_blocking_rules

COLUMNS = ["person_ref", "name_folded", "dob", "birth_year", "gender", "commune_code", "phone", "id_number"]
BLOCKING = [block_on("id_number"), block_on("phone"), block_on("name_folded", "birth_year"),
            block_on("dob", "commune_code")]


def settings() -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="person_ref",
        blocking_rules_to_generate_predictions=BLOCKING,
        comparisons=[
            # the full folded name shares "nguyen van" with half the province: compare the given
            # name and the surname + middle name separately (household members differ in the given name)
            cl.JaroWinklerAtThresholds("given_folded", [0.95, 0.85]).configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("family_folded", [0.95, 0.85]).configure(term_frequency_adjustments=True),
            # Levenshtein on the ISO string (exact / 1 / 2 edits / else): DateOfBirthComparison's
            # "more than 10 years apart" and "all other" levels are never observed in EM sessions
            # and, left at their defaults, let parents merge with their children.
            cl.LevenshteinAtThresholds("dob", [1, 2]),
            cl.ExactMatch("gender"),
            cl.ExactMatch("commune_code"),
            cl.ExactMatch("phone"),
            cl.LevenshteinAtThresholds("id_number", [1, 2]),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


def main(src: str, out: str) -> None:
    logging.getLogger("splink").setLevel(logging.WARNING)
    df = pd.read_parquet(src, columns=COLUMNS)
    for c in COLUMNS:
        df[c] = df[c].astype(object).where(df[c].notna(), None)
    parts = df["name_folded"].fillna("").str.rsplit(" ", n=1)
    df["given_folded"] = parts.str[-1].where(df["name_folded"].notna(), None)
    df["family_folded"] = parts.str[0].where(parts.str.len() > 1, None)
    t0 = time.perf_counter()
    c0 = time.process_time()
    con = duckdb.connect()
    db = DuckDBAPI(con)
    sdf = db.register(df, dataset_display_name="persons")
    linker = Linker(sdf, settings(), log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("id_number"), block_on("name_folded", "dob", "commune_code")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e7, seed=1)
    # EM sessions on blocks that hold few household pairs: blocked on ID alone or on name + birth
    # year, EM converged to "same household" (m of dob agreement 0.47, precision 0.58)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("name_folded", "dob"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("id_number", "birth_year"))
    pred = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, threshold_match_probability=0.5)
    res = clusters.as_pandas_dataframe()
    matches = int(con.sql(f"select count(*) from {pred.physical_name}").fetchall()[0][0])
    secs = time.perf_counter() - t0
    cpu = time.process_time() - c0
    pd.DataFrame({"person_ref": res["person_ref"].astype(str), "cluster": res["cluster_id"].astype(str)}
                 ).to_parquet(out, index=False)
    pairs = None
    try:
        counts = count_comparisons_from_blocking_rules(sdf, blocking_rules=BLOCKING, link_type="dedupe_only",
                                                       unique_id_column_name="person_ref",
                                                       record_sample_proportion=1.0)
        last = counts[-1]
        pairs = int(last["cumulative_comparison_count"] if isinstance(last, dict) else last.cumulative_comparison_count)
    except Exception as exc:  # noqa: BLE001 - the count is informative only
        print(f"could not count comparisons: {exc}", file=sys.stderr)
    print(json.dumps({"seconds": secs, "cpu_seconds": cpu, "pairs": pairs, "matches": matches,
                      "note": "EM + u sampling 1e7, p ≥ 0.5"}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
