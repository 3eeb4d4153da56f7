"""Ad hoc look-ups for ``notebooks/explore.ipynb``: find a person, show a merge, slice indicators,
review the pairs the linkage was unsure of (:mod:`vaxreport.review_desk`).

Personal data is shown masked (IDs, phones) and with the birth year only.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd

from vaxreport import linkage, text
from vaxreport.facts import Facts
from vaxreport.params import RunParams
from vaxreport.reporting.worklists import mask_id, mask_phone
from vaxreport.review_desk import ReviewDesk, decisions_file

CLEANSED_TABLES = ("doses", "persons", "verification", "findings", "quarantine", "audit", "merged_doses")


def load_cleansed(run_dir: Path | str) -> dict[str, pd.DataFrame]:
    """The personal tables stage 1 wrote under ``run_dir/cleansed`` (owner-readable only)."""
    folder = Path(run_dir) / "cleansed"
    return {name: pd.read_parquet(folder / f"{name}.parquet") for name in CLEANSED_TABLES
            if (folder / f"{name}.parquet").exists()}


def find_person(cleansed: dict[str, pd.DataFrame], query: str) -> pd.DataFrame:
    """Persons whose folded name contains the folded ``query``, masked, with their dose count."""
    persons = cleansed["persons"]
    key = text.fold_series(persons["full_name"].astype("string"))
    hits = persons[key.str.contains(text.fold(query), regex=False).fillna(False)]
    doses = cleansed["doses"].groupby("person_id").size().rename("doses")
    return pd.DataFrame({
        "person_id": hits["person_id"], "full_name": hits["full_name"],
        "birth_year": pd.to_datetime(hits["birth_date"], errors="coerce").dt.year.astype("Int64"),
        "id_number": mask_id(hits["id_number"]), "phone": mask_phone(hits["phone"]),
        "commune_code": hits.get("commune_code"), "records": hits.get("n_records"),
    }).join(doses, on="person_id").reset_index(drop=True)


def merged_pair(cleansed: dict[str, pd.DataFrame]) -> tuple[pd.Series, pd.Series]:
    """Two platform person records that stage 1 merged into one person (the first such person).

    Unmasked (personal data): the input of ``linkage.explain_pair``; show :func:`explain_merge`.
    """
    doses = cleansed["doses"]
    refs = doses.drop_duplicates("person_ref")
    multi = refs.groupby("person_id").person_ref.transform("size") > 1
    pair = refs[multi].sort_values(["person_id", "person_ref"]).head(2)
    if len(pair) < 2:
        raise LookupError("no person in this run was merged from two or more records")
    cols = ["full_name", "birth_date", "gender", "id_number", "phone", "commune_code", "address"]
    return pair.iloc[0][cols], pair.iloc[1][cols]


def explain_merge(cleansed: dict[str, pd.DataFrame]) -> linkage.PairExplanation:
    """``linkage.explain_pair`` on :func:`merged_pair`, its ID and phone values masked for display.

    The levels (``exact``, ``one_transposition``…) still say how the hidden digits compare.
    """
    e = linkage.explain_pair(*merged_pair(cleansed))
    table = e.table.copy()
    for comparison, mask in (("id_number", mask_id), ("phone", mask_phone)):
        rows = table["comparison"].eq(comparison).to_numpy(bool)
        for col in ("value_a", "value_b"):
            values = table.loc[rows, col].map(lambda v: None if pd.isna(v) else str(v))
            table.loc[rows, col] = mask(values.astype("string")).astype(object).to_numpy()
    return replace(e, table=table)


def slice_doses(facts: Facts, by: list[str]) -> pd.DataFrame:
    """Platform dose rows counted by any columns of the dose facts, with the signed share."""
    d = facts.doses.assign(signed=facts.doses.sign_status.eq("signed"))
    out = d.groupby(by, dropna=False).agg(doses=("record_id", "size"), signed=("signed", "sum")).reset_index()
    return out.assign(signed_pct=(100 * out.signed / out.doses).round(2))


def review_desk(p: RunParams, run_dir: Path | str) -> ReviewDesk:
    """The clerical review desk of a run (:class:`vaxreport.review_desk.ReviewDesk`): its review
    queue, reviewed into the params' ``review_decisions`` file (or ``review_decisions.csv`` beside
    the params file)."""
    return ReviewDesk.open(run_dir, decisions_file(p.source, p.review_decisions, run_dir))
