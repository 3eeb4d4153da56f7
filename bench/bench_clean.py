"""Benchmark and score ``audit.clean_doses`` against the synthetic ground truth.

    .venv/bin/python bench/bench_clean.py --scale 0.1            # synthesise, clean, score
    .venv/bin/python bench/bench_clean.py --folder /tmp/syn1     # a folder written by `vaxreport synth`

Prints the time and peak memory of ``clean_doses`` alone, then per column and per rule:

- precision: of the values a rule changed, the share whose new value equals the truth;
- recall: of the rows whose raw value differs from the truth *and that a cleanser could fix*
  (the truth's error kinds listed in ``FIXABLE``), the share whose cleansed value equals the truth.

Only rows whose truth is well-defined for the column are scored (e.g. duplicate-person records
and the other error kinds that change the *true* value of a record are left out where they
would make "the truth" ambiguous; see ``FIXABLE`` and ``UNFIXABLE``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rss import PeakRSS  # noqa: E402

from vaxreport import io, synth  # noqa: E402
from vaxreport.cleansing.audit import CleanParams, clean_doses  # noqa: E402

# column -> (truth column, error kinds a cleanser can repair, error kinds it must not "repair")
FIXABLE: dict[str, tuple[str, set[str], set[str]]] = {
    "full_name": ("true_full_name", {"name_nfd", "name_case_spacing", "name_tcvn3", "name_vni",
                                     "name_legacy"},
                  # the second record of a duplicate person may carry a name variant
                  {"name_typo", "name_no_diacritics", "name_incomplete", "duplicate_person"}),
    "birth_date": ("true_birth_date", {"birth_date_format"}, {"birth_date_swapped"}),
    "gender": ("true_gender", {"gender_format"}, {"gender_wrong"}),
    # synth's Excel scientific notation keeps 6 significant digits: lost, never guessed
    "id_number": ("true_id_number", {"id_leading_zero_lost", "id_format"},
                  {"id_missing", "id_malformed", "id_digit_error", "id_of_relative",
                   "id_other_document", "id_excel_scientific"}),
    "phone": ("true_phone", {"phone_old_11_digit", "phone_country_code", "phone_format"},
              {"phone_missing", "phone_other", "phone_malformed"}),
    "vaccine": ("true_vaccine", {"vaccine_alias"}, set()),
    "dose_number": ("true_dose_number", {"dose_number_format"},
                    {"dose_number_wrong", "doses_out_of_order", "dose_missing", "dose_duplicate"}),
    "dose_date": ("true_dose_date", {"dose_date_format"},
                  {"dose_date_swapped", "dose_date_future", "dose_date_before_birth",
                   "dose_date_impossible", "dose_duplicate"}),
    "commune_code": ("true_commune_code", set(), {"commune_moved"}),
}


def _norm(s: pd.Series) -> pd.Series:
    """Comparable text: dates as ISO, numbers as text, NA kept."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return s.dt.strftime("%Y-%m-%d").astype("str")
    return s.astype("str")


_GENDER_PLAIN = {"Nam": "M", "Nữ": "F", "M": "M", "F": "F", "1": "M", "2": "F"}


def _plain(col: str, raw: pd.Series) -> pd.Series:
    """The raw value read *without* any repair (the silent spellings only), as truth text."""
    s = raw.astype("str")
    if col in ("birth_date", "dose_date"):
        a = pd.to_datetime(s, format="%d/%m/%Y", errors="coerce")
        b = pd.to_datetime(s, format="%Y-%m-%d", errors="coerce")
        return _norm(a.fillna(b))
    if col == "gender":
        return s.map(_GENDER_PLAIN).astype("str")
    if col == "dose_number":
        return s.str.replace(r"^Mũi ([0-9]+)$", r"\1", regex=True)
    return s.mask(s.eq(""))


# Rules whose job is to reject a value (new value NA): right when the raw value was wrong.
REJECTING = {"id_not_digits", "id_excel_lost_digits", "phone_invalid", "date_impossible",
             "date_unparseable", "gender_unknown", "dose_number_unknown"}
# Rules scored on every row they touched, whatever else was injected there.
SCORE_ALL = REJECTING | {"id_letter_o"}


def score(raw: pd.DataFrame, data: pd.DataFrame, audit: pd.DataFrame, quarantine: pd.DataFrame,
          truth: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-rule precision table, per-column recall table)."""
    truth = truth.set_index("record_id")
    kinds = truth["errors"].fillna("").str.split(";")
    rules = []
    for (col, rule), grp in audit.groupby(["column", "rule"], sort=True):
        if col not in FIXABLE:
            rules.append((col, rule, len(grp), 0, None, ""))
            continue
        tcol, _, unfixable = FIXABLE[col]
        ids = grp["record_id"].to_numpy()
        t = _norm(truth[tcol]).reindex(ids).to_numpy()
        k = kinds.reindex(ids)
        # Changes on rows whose true value was itself corrupted beyond repair are not scored.
        ok_rows = ~k.map(lambda ks: bool(unfixable.intersection(ks))).to_numpy(bool)
        if rule in SCORE_ALL:
            ok_rows[:] = True
        if rule in REJECTING:
            plain = _plain(col, raw.set_index("record_id")[col].reindex(ids)).to_numpy()
            right = ~((plain == t) | (pd.isna(plain) & pd.isna(t)))
            what = "raw was wrong"
        else:
            new = grp["new"].to_numpy()
            right = (t == new) | (pd.isna(t) & pd.isna(new))
            what = "new = truth"
        n_scored = int(ok_rows.sum())
        rules.append((col, rule, len(grp), n_scored,
                      float(right[ok_rows].mean()) if n_scored else None, what))
    prec = pd.DataFrame(rules, columns=["column", "rule", "changes", "scored", "precision",
                                        "criterion"])

    recs = []
    d = data.set_index("record_id")
    r = raw.set_index("record_id")
    in_q = truth.index.isin(quarantine["record_id"])
    for col, (tcol, fixable, unfixable) in FIXABLE.items():
        t = _norm(truth[tcol])
        ks = kinds.reindex(t.index)
        has_unfixable = ks.map(lambda k: bool(unfixable.intersection(k))).to_numpy(bool)
        plain = _plain(col, r[col].reindex(t.index))
        corrupted = ~((plain == t).fillna(False) | (plain.isna() & t.isna())).to_numpy(bool)
        cleaned = _norm(d[col]).reindex(t.index)
        fixed = ((cleaned == t).fillna(False) | (cleaned.isna() & t.isna())).to_numpy(bool)
        tgt = corrupted & ~has_unfixable & ~in_q
        keep = ~corrupted & ~has_unfixable & ~in_q
        recs.append((col, int(tgt.sum()), float(fixed[tgt].mean()) if tgt.any() else None,
                     int((~fixed[keep]).sum()), int((corrupted & has_unfixable).sum())))
    rec = pd.DataFrame(recs, columns=["column", "repairable_corrupted", "recall",
                                      "clean_values_broken", "unrepairable_corrupted"])
    return prec, rec


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=2022)
    ap.add_argument("--folder", type=Path, default=None, help="existing synth folder")
    ap.add_argument("--no-score", action="store_true")
    args = ap.parse_args(argv)

    tmp = None
    folder = args.folder
    if folder is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench_clean_")
        folder = Path(tmp.name)
        t0 = time.perf_counter()
        synth.generate(folder, scale=args.scale, seed=args.seed)
        print(f"synth scale {args.scale}: {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    raw = io.load_inputs(folder / "inputs").doses
    print(f"load {len(raw):,} dose rows: {time.perf_counter() - t0:.1f} s")

    params = CleanParams(as_of=dt.date(2022, 5, 31))
    with PeakRSS() as mem:
        base = mem.peak
        t0, c0 = time.perf_counter(), time.process_time()
        res = clean_doses(raw, params=params)
        secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    load = psutil.getloadavg()[0]
    print(f"clean_doses: {secs:.1f} s wall, {cpu:.1f} s CPU (load average {load:.1f} on "
          f"{psutil.cpu_count()} cores), peak RSS {mem.peak / 2**30:.2f} GiB "
          f"(+{(mem.peak - base) / 2**30:.2f} GiB over the loaded input), "
          f"ru_maxrss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")
    print(f"rows: raw {len(raw):,} = data {len(res.data):,} + quarantine {len(res.quarantine):,}"
          f"; audit {len(res.audit):,}; flags {len(res.flags):,}")
    print(res.log.to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    print(res.quarantine["reason"].value_counts().to_string())

    if not args.no_score:
        truth = pd.read_parquet(folder / "truth" / "doses_truth.parquet")
        prec, rec = score(raw, res.data, res.audit, res.quarantine, truth)
        with pd.option_context("display.width", 200, "display.max_rows", 200):
            print("\nprecision per rule (changes whose new value equals the truth)")
            print(prec.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
            print("\nrecall per column (raw differs from truth by fixable errors only)")
            print(rec.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
        truth_q = truth.set_index("record_id")["errors"].reindex(res.quarantine["record_id"])
        print("\nquarantined rows by injected error kind")
        print(truth_q.fillna("").str.split(";").explode().value_counts().to_string())
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
