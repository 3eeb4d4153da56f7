"""Stage 1 of the monthly run as library calls: load → clean → dedup → reconcile → verify → facts.

The cleanse notebook calls these one per step; the report notebooks read the *facts* back with
``load_facts``. Row conservation is asserted here for every run:
``raw rows == cleansed + merged duplicates + quarantined``.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from vaxreport import frames, refdata
from vaxreport.exceptions import ConservationError

PERSON_FIELDS = ("full_name", "birth_date", "gender", "id_number", "phone", "commune_code", "address")
AGE_BINS = [-1, 4, 11, 17, 200]
AGE_LABELS = ["<5", "5-11", "12-17", "18+"]


def age_group(birth_date: pd.Series, on: date) -> pd.Series:
    """Age group ("<5", "5-11", "12-17", "18+") at ``on``; NA where the birth date is unknown.

    >>> age_group(pd.Series(pd.to_datetime(["2015-06-01", "2004-05-31", None])), date(2022, 5, 31)).tolist()
    ['5-11', '18+', nan]
    """
    ts = pd.Timestamp(on)
    bd = pd.to_datetime(birth_date)
    years = ts.year - bd.dt.year - ((bd.dt.month > ts.month) | ((bd.dt.month == ts.month) & (bd.dt.day > ts.day)))
    return pd.cut(years, AGE_BINS, labels=AGE_LABELS).astype(object)


def person_records(doses: pd.DataFrame) -> pd.DataFrame:
    """One row per platform person record (``person_ref``) with the person fields, for dedup."""
    cols = ["person_ref", *[c for c in PERSON_FIELDS if c in doses.columns]]
    extra = [c for c in ("id_valid",) if c in doses.columns]
    return doses[cols + extra].drop_duplicates("person_ref").set_index("person_ref", drop=False)


def commune_district_map(province_code: str) -> pd.Series:
    units = refdata.admin_units(province_code)
    return units.drop_duplicates("commune_code").set_index("commune_code").district_code


def clean_params(p: Any) -> Any:
    """``clean.CleanParams`` from run params (report date, campaign start, thresholds)."""
    from vaxreport.clean import CleanParams

    return CleanParams(as_of=p.report_date, campaign_start=p.campaign_start, province_code=p.province_code,
                       name_match_threshold=float(p.thresholds.name_match_score),
                       vaccine_match_threshold=float(p.thresholds.vaccine_match_score),
                       max_age=p.thresholds.max_age)


def with_person_id(doses: pd.DataFrame, persons: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """Attach the dedup cluster of each dose's ``person_ref`` as ``person_id``.

    >>> persons = pd.DataFrame({"person_ref": ["a", "b", None]})
    >>> with_person_id(pd.DataFrame({"person_ref": ["b", None, "a", "b"]}), persons,
    ...                pd.Series([7, 7, 9])).person_id.tolist()
    [7, 9, 7, 7]
    """
    refs = doses["person_ref"]
    pos = frames.positions(persons["person_ref"], refs)
    missing_ref = refs.isna().to_numpy()
    if missing_ref.any():  # rows without a person_ref are the persons table's one such record
        na_at = np.flatnonzero(persons["person_ref"].isna().to_numpy())
        pos[missing_ref] = na_at[0] if len(na_at) else -1
    if (pos < 0).any():
        raise KeyError(f"{int((pos < 0).sum())} dose rows have a person_ref missing from the person records")
    return doses.assign(person_id=labels.to_numpy().astype(np.int64)[pos])


def site_districts(tallies: pd.DataFrame, doses: pd.DataFrame) -> pd.Series:
    """District of each vaccination site: from the site tallies, else the most common on its doses."""
    from_tallies = tallies.drop_duplicates("site_code").set_index("site_code")["district_code"]
    from_doses = (doses.dropna(subset=["district_code"]).groupby("site_code")["district_code"]
                  .agg(lambda s: s.mode().iloc[0]))
    return from_tallies.combine_first(from_doses)


def build_dose_facts(raw: pd.DataFrame, cleaned: Any, reconciled: Any, site_district: pd.Series) -> pd.DataFrame:
    """One row per raw platform row, no personal data: where it was given, its state, signing.

    ``state`` is ``kept`` (a unique dose), ``merged`` (a duplicate entry of a kept dose) or
    ``quarantined``; ``len(result) == len(raw)``.
    """
    cols = ["record_id", "site_code", "site_name", "commune_code", "sign_status", "entered_at", "signed_at",
            "dose_date", "vaccine", "vaccine_code", "person_id"]
    kept = reconciled.data
    typed = pd.concat([kept[cols + ["dose_seq"]].assign(state="kept"),
                       reconciled.merged[cols].assign(state="merged")], ignore_index=True)
    q = cleaned.quarantine
    quarantined = pd.DataFrame({
        "record_id": q["record_id"].astype(str), "site_code": q["site_code"].astype(str),
        "site_name": q["site_name"] if "site_name" in q else pd.NA, "commune_code": q["commune_code"],
        "sign_status": q["sign_status"], "state": "quarantined"})
    facts = pd.concat([typed, quarantined], ignore_index=True)
    district = facts["site_code"].map(site_district)
    unknown_site = district.isna().to_numpy()
    if unknown_site.any():  # a site missing from the tallies: the district the platform recorded
        raw_district = pd.Series(raw["district_code"].to_numpy(), index=raw["record_id"].astype(str).to_numpy())
        district[unknown_site] = facts.loc[unknown_site, "record_id"].map(raw_district).to_numpy()
    facts["district_code"] = district
    for col in ("entered_at", "signed_at", "dose_date"):
        facts[col] = pd.to_datetime(facts[col])
    facts["dose_seq"] = facts["dose_seq"].astype("Int64")
    facts["person_id"] = facts["person_id"].astype("Int64")
    return facts


def build_person_facts(survivors: pd.DataFrame, reconciled: Any, verification: pd.DataFrame,
                       commune_district: pd.Series, as_of: date) -> pd.DataFrame:
    """One row per person after dedup: residence, age group, doses, ID validity, verification."""
    from vaxreport.doses import person_doses_summary

    used = ("person_id", "dose_seq", "dose_date", "vaccine", "vaccine_code", "suspect_duplicate", "birth_date",
            "commune_code", "district_code")
    # the columns it reads only: its row filter then copies 9 columns, not the whole line list
    summary = person_doses_summary(reconciled.data[[c for c in used if c in reconciled.data.columns]])
    s = survivors
    out = pd.DataFrame({"person_id": s.index.to_numpy()})
    out["commune_code"] = s["commune_code"].to_numpy() if "commune_code" in s else pd.NA
    out["district_code"] = out["commune_code"].map(commune_district)
    out["age_group"] = age_group(s["birth_date"], as_of).to_numpy()
    out["n_refs"] = s["n_records"].to_numpy()
    out["id_valid"] = s["id_valid"].fillna(False).astype(bool).to_numpy() if "id_valid" in s else False
    summ = summary.reindex(out["person_id"])
    out["doses"] = summ["doses"].fillna(0).astype("int64").to_numpy()
    out["primary_complete"] = summ["primary_complete"].fillna(False).astype(bool).to_numpy()
    out["boosters"] = summ["boosters"].fillna(0).astype("int64").to_numpy()
    status = verification.set_index("person_id")["status"]
    out["verify_status"] = out["person_id"].map(status).fillna("unchecked")
    return out


def registry_facts(registry: pd.DataFrame, commune_district: pd.Series) -> pd.DataFrame:
    """The police extract without personal data: commune, district, result."""
    commune = registry["commune_code"].astype("string").str.strip()
    commune = commune.where(~commune.str.fullmatch(r"\d{1,5}").fillna(False), commune.str.zfill(5))
    return pd.DataFrame({"commune_code": commune, "district_code": commune.map(commune_district),
                         "result": registry["result"]})


def check_conservation(counts: dict[str, int]) -> None:
    """Raise ``ConservationError`` unless raw = cleansed + merged duplicates + quarantined."""
    if counts["raw"] != counts["cleansed"] + counts["merged_duplicates"] + counts["quarantined"]:
        raise ConservationError(f"row conservation failed: {counts}")


def example_params(scale: float = 0.001, seed: int = 7) -> Path:
    """A tiny synthetic province for notebooks opened without parameters (and for nbval).

    Generated once into the system temp folder and reused.
    """
    from vaxreport import synth

    folder = Path(tempfile.gettempdir()) / f"vaxreport-example-{_code_digest()}-{scale}-{seed}"
    params = folder / "params.yaml"
    if not params.exists():
        tmp = Path(tempfile.mkdtemp(prefix="vaxreport-example-"))
        synth.generate(tmp, scale=scale, seed=seed)
        try:
            tmp.rename(folder)
        except OSError:  # another process won the race
            pass
    return params


def _code_digest() -> str:
    """Short hash of the package's code and data: a cached example never outlives a code change."""
    import hashlib

    root = Path(__file__).parent
    h = hashlib.sha256()
    for path in sorted([*root.rglob("*.py"), *root.glob("data/*.csv")]):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]




def slim_inputs(inputs: Any) -> Any:
    """The inputs without the raw dose columns stage 1 no longer needs once doses are cleansed
    (only ``record_id, site_code, district_code`` are used later). The argument is not modified."""
    from dataclasses import replace

    return replace(inputs, doses=inputs.doses[["record_id", "site_code", "district_code"]].copy())


def without_data(cleaned: Any) -> Any:
    """The clean result without its row data (superseded by the reconciled doses); audit,
    quarantine, flags and log are kept. The argument is not modified."""
    from dataclasses import replace

    return replace(cleaned, data=cleaned.data.iloc[:0])


def person_id_valid(persons: pd.DataFrame, labels: pd.Series) -> pd.Series:
    """Per cluster: does any of its records carry a valid ID (``id_valid`` from cleansing)?"""
    valid = persons["id_valid"].fillna(False).astype(bool) if "id_valid" in persons else pd.Series(False, persons.index)
    return valid.groupby(labels.to_numpy()).any()


def feedback_facts(feedback: pd.DataFrame) -> pd.DataFrame:
    """Feedback tickets without personal data: district, site, status, dates."""
    cols = [c for c in ("ticket_id", "district_code", "site_code", "status", "received_at", "resolved_at", "issue_type")
            if c in feedback.columns]
    return feedback[cols].reset_index(drop=True)


def _district_of_records(record_ids: pd.Series, dose_facts: pd.DataFrame) -> pd.Series:
    pos = frames.positions(dose_facts["record_id"], record_ids)
    district = dose_facts["district_code"].to_numpy(object)
    return pd.Series(np.where(pos >= 0, district[pos], None), index=record_ids.index, dtype="string")


def findings_facts(findings: pd.DataFrame, dose_facts: pd.DataFrame) -> pd.DataFrame:
    """Findings with the district of the dose's site (the unit that must fix it), no details."""
    return findings[["record_id", "code", "label_vi"]].assign(
        district_code=_district_of_records(findings["record_id"], dose_facts)).reset_index(drop=True)


def quarantine_facts(quarantine: pd.DataFrame, dose_facts: pd.DataFrame) -> pd.DataFrame:
    """Quarantined rows: reason and district only."""
    return pd.DataFrame({"record_id": quarantine["record_id"].astype(str),
                         "reason": quarantine["reason"].astype(str),
                         "district_code": _district_of_records(quarantine["record_id"], dose_facts)})


def build_facts(inputs: Any, cleaned: Any, persons: pd.DataFrame, labels: pd.Series, survivors: pd.DataFrame,
                reconciled: Any, verification: pd.DataFrame, p: Any) -> dict[str, pd.DataFrame]:
    """All non-personal tables the report notebooks compute indicators from (see ``metrics.Facts``).

    Raises:
        ConservationError: raw rows != cleansed + merged duplicates + quarantined.
    """
    check_conservation({"raw": len(inputs.doses), "cleansed": len(reconciled.data),
                        "merged_duplicates": len(reconciled.merged), "quarantined": len(cleaned.quarantine)})
    communes = commune_district_map(p.province_code)
    sites = site_districts(inputs.site_tallies, inputs.doses)
    dose_facts = build_dose_facts(inputs.doses, cleaned, reconciled, sites)
    surv = survivors.assign(id_valid=person_id_valid(persons, labels).reindex(survivors.index).to_numpy())
    person_facts = build_person_facts(surv, reconciled, verification, communes, p.period_end or p.report_date)
    units = refdata.admin_units(p.province_code)
    return {
        "doses": dose_facts,
        "persons": person_facts,
        "tallies": inputs.site_tallies.assign(week_start=pd.to_datetime(inputs.site_tallies["week_start"],
                                                                        dayfirst=True, errors="coerce")),
        "feedback": feedback_facts(inputs.feedback),
        "registry": registry_facts(inputs.registry, communes),
        "population": inputs.population.assign(
            commune_code=inputs.population["commune_code"].astype(str).str.zfill(5)),
        "findings": findings_facts(reconciled.findings, dose_facts),
        "quarantine": quarantine_facts(cleaned.quarantine, dose_facts),
        "units": units,
    }


def person_merges(persons: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """Every person record merged into another: ``person_ref, person_id, survivor_ref``.

    The survivor record of a cluster is its first row (the cluster label is that row's position).
    """
    lab = labels.to_numpy()
    refs = persons["person_ref"].to_numpy()
    merged = lab != np.arange(len(lab))
    return pd.DataFrame({"person_ref": refs[merged], "person_id": lab[merged], "survivor_ref": refs[lab[merged]]})


def worklists(p: Any, reconciled: Any, verification: pd.DataFrame, merges: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The per-site correction worklists (personal data: IDs and phones masked)."""
    from vaxreport import worklists as wl

    return wl.build_worklists(reconciled.data, reconciled.findings, verification,
                              unsigned_days=p.thresholds.unsigned_days, as_of=p.period_end or p.report_date,
                              person_merges=merges, merged_doses=reconciled.merged)


_Job = tuple[pd.DataFrame, Path, bool]  # (frame, parquet path, personal data)


class PendingWrites:
    """Parquet files being written on a background thread (see :func:`write_reconciled`)."""

    def __init__(self, jobs: list[_Job]) -> None:
        from vaxreport import io

        self.names = {path.stem for _, path, _ in jobs}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vaxreport-write")
        self._futures = [self._pool.submit(io.write_parquet, df, path, private=private)
                         for df, path, private in jobs]

    def wait(self) -> None:
        """Block until every file is written; re-raise the first failure."""
        try:
            for future in self._futures:
                future.result()
        finally:
            self._pool.shutdown(wait=True)


def _reconciled_tables(cleaned: Any, reconciled: Any) -> dict[str, pd.DataFrame]:
    return {"doses": reconciled.data, "merged_doses": reconciled.merged, "quarantine": cleaned.quarantine,
            "audit": cleaned.audit, "findings": reconciled.findings}


def _parquet_jobs(folder: Path, tables: dict[str, pd.DataFrame], *, private: bool) -> list[_Job]:
    """``(frame, folder/<name>.parquet, private)`` per table."""
    return [(df, folder / f"{name}.parquet", private) for name, df in tables.items()]


def write_reconciled(run_dir: Path | str, *, cleaned: Any, reconciled: Any) -> PendingWrites:
    """Start writing the personal tables that are final once doses are reconciled (doses, merged
    doses, findings, audit, quarantine) on a background thread, while the later steps run: Arrow
    encodes and compresses without the GIL, so the writing takes the second core. Hand the result
    to :func:`save_stage_one`, which waits for it."""
    return PendingWrites(_parquet_jobs(Path(run_dir) / "cleansed", _reconciled_tables(cleaned, reconciled),
                                       private=True))


def save_stage_one(run_dir: Path | str, *, cleaned: Any, survivors: pd.DataFrame, reconciled: Any,
                   verification: pd.DataFrame, facts: dict[str, pd.DataFrame],
                   worklists: dict[str, pd.DataFrame] | None = None, p: Any = None,
                   pending: PendingWrites | None = None) -> dict[str, int]:
    """Write stage 1 under ``run_dir/cleansed``: personal tables owner-only, facts for the reports,
    the correction worklists (``worklists.parquet``; the summary workbook and the workbooks of
    sites outside the params' districts under ``cleansed/worklists/``; each district's site
    workbooks are written by its stage-2 notebook, :func:`write_district_worklists`).

    ``pending``: the tables :func:`write_reconciled` is already writing (waited for, not rewritten).
    Returns the row-conservation counts (also written to ``conservation.json``).
    """
    from vaxreport import io
    from vaxreport import worklists as wl

    out = Path(run_dir) / "cleansed"
    private = {**_reconciled_tables(cleaned, reconciled), "persons": survivors.reset_index(),
               "verification": verification}
    started = pending.names if pending is not None else set()
    jobs = _parquet_jobs(out, {k: v for k, v in private.items() if k not in started}, private=True)
    jobs += _parquet_jobs(out / "facts", facts, private=False)
    jobs.sort(key=lambda job: -len(job[0]))  # largest first: the two threads finish together
    # Arrow encodes and compresses without the GIL: two threads use the second core
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda job: io.write_parquet(job[0], job[1], private=job[2]), jobs))
    if pending is not None:
        pending.wait()
    counts = {"raw": len(facts["doses"]), "cleansed": len(reconciled.data),
              "merged_duplicates": len(reconciled.merged), "quarantined": len(cleaned.quarantine)}
    io.write_json(counts, out / "conservation.json")
    if worklists is not None:
        table = wl.to_table(worklists)
        table["district_code"] = table["site_code"].map(_site_district(facts["doses"])).astype("string")
        io.write_parquet(table, out / WORKLISTS_TABLE, private=True)
        io.write_parquet(check_worklist_returns(p, table, facts["doses"]), out / "facts" / RETURNS_TABLE,
                         private=False)
        wl.write_summary_workbook(worklists, out / "worklists", province_name=p.province_name, period=p.period)
        # sites of no district in the params get their workbooks now; the others in stage 2
        orphan = ~table["district_code"].isin(list(p.district_names())).to_numpy(bool)
        if orphan.any():
            wl.write_site_workbooks(wl.from_table(table[orphan]), out / "worklists",
                                    province_name=p.province_name, period=p.period, summary=False)
    return counts


WORKLISTS_TABLE = "worklists.parquet"
#: Last month's returned worklists checked against this run (counts only): ``cleansed/facts/``.
RETURNS_TABLE = "worklist_returns.parquet"


def check_worklist_returns(p: Any, table: pd.DataFrame, dose_facts: pd.DataFrame) -> pd.DataFrame:
    """The rows the sites marked fixed in last month's returned worklists (``worklist_returns/``),
    checked against this run's worklists ``table``, as counts per district, site and kind."""
    from vaxreport import worklist_returns as wr

    sites = dose_facts.drop_duplicates("site_code").set_index("site_code")
    checked = wr.check_returns(wr.read_returns(wr.returns_folder(p)), table)
    return wr.summarise(checked, sites["district_code"], sites["site_name"] if "site_name" in sites else None)


def with_worklist_returns(doc: Any, run_dir: Path | str, district_code: str | None) -> Any:
    """``doc`` with the sentence on last month's returned worklists in section II (the district's
    sites, or all for the province); unchanged when none came back or stage 1 checked none."""
    from vaxreport import worklist_returns as wr

    path = Path(run_dir) / "cleansed" / "facts" / RETURNS_TABLE
    if not path.exists():
        return doc
    summary = pd.read_parquet(path)
    if district_code is not None:
        summary = summary[summary["district_code"].eq(district_code).fillna(False).to_numpy(bool)]
    return wr.add_to_report(doc, summary)


def _site_district(dose_facts: pd.DataFrame) -> pd.Series:
    """District of each site as recorded in the dose facts (first row of the site)."""
    return dose_facts.drop_duplicates("site_code").set_index("site_code")["district_code"]


def write_district_worklists(run_dir: Path | str, p: Any, district_code: str) -> list[Path]:
    """Stage 2: the correction workbooks of one district's sites, under ``cleansed/worklists/``
    (personal data stays in the owner-only stage-1 folder). Returns the files written."""
    from vaxreport import worklists as wl

    folder = Path(run_dir) / "cleansed"
    table = pd.read_parquet(folder / WORKLISTS_TABLE, filters=[("district_code", "==", district_code)])
    if table.empty:
        return []
    return wl.write_site_workbooks(wl.from_table(table), folder / "worklists", province_name=p.province_name,
                                   period=p.period, summary=False)


def load_facts(run_dir: Path | str, district_code: str | None = None) -> Any:
    """The facts written by stage 1, as ``metrics.Facts`` — of one district only when
    ``district_code`` is given (rows filtered while reading, so a district notebook never holds
    the province's 3 million dose rows)."""
    from vaxreport.metrics import Facts

    folder = Path(run_dir) / "cleansed" / "facts"
    tables = {}
    for name in Facts.__dataclass_fields__:
        path = folder / f"{name}.parquet"
        has_district = district_code is not None and "district_code" in pq.read_schema(path).names
        tables[name] = pd.read_parquet(path, filters=[("district_code", "==", district_code)] if has_district else None)
    facts = Facts(**tables)
    return facts if district_code is None else facts.scope(district_code)


def run_stage_one(p: Any, run_dir: Path | str) -> dict[str, int]:
    """Stage 1 in one call (what ``notebooks/cleanse.ipynb`` does step by step)."""
    from vaxreport import clean, dedup, doses, io, verify

    inputs = io.load_inputs(p.inputs)
    cleaned = clean.clean_doses(inputs.doses, params=clean_params(p))
    inputs = slim_inputs(inputs)
    persons = person_records(cleaned.data)
    labels = dedup.cluster_persons(persons, threshold=p.thresholds.dedup_threshold)
    survivors = dedup.survivors(persons, labels)
    reconciled = doses.reconcile(with_person_id(cleaned.data, persons, labels))
    cleaned = without_data(cleaned)
    pending = write_reconciled(run_dir, cleaned=cleaned, reconciled=reconciled)
    verification = verify.verify_persons(survivors.reset_index(), inputs.registry)
    facts = build_facts(inputs, cleaned, persons, labels, survivors, reconciled, verification, p)
    lists = worklists(p, reconciled, verification, person_merges(persons, labels))
    return save_stage_one(run_dir, cleaned=cleaned, survivors=survivors, reconciled=reconciled,
                          verification=verification, facts=facts, worklists=lists, p=p, pending=pending)


def open_run(params_path: str, run_dir: str, *, need_stage_one: bool = False) -> tuple[Any, Path]:
    """Params and run folder for a notebook; empty arguments give the tiny example province.

    With ``need_stage_one`` (report notebooks opened by hand), stage 1 is run for the example
    province if its run folder has no facts yet.
    """
    from vaxreport.params import RunParams

    example = not params_path
    p = RunParams.from_yaml(params_path or example_params())
    folder = Path(run_dir) if run_dir else example_params().parent / "run"
    if need_stage_one and example and not (folder / "cleansed" / "facts" / "units.parquet").exists():
        run_stage_one(p, folder)
    return p, folder


def unit_path(run_dir: Path | str, code: str | None, name: str) -> Path:
    """Output folder of one report, ``districts/<code>-<slug>`` or ``province`` (not created)."""
    from vaxreport.runner import slugify

    return Path(run_dir) / ("province" if code is None else f"districts/{code}-{slugify(name)}")


def unit_dir(run_dir: Path | str, code: str | None, name: str) -> Path:
    """:func:`unit_path`, created if missing (the folder a report notebook writes into)."""
    folder = unit_path(run_dir, code, name)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def report_timestamp(p: Any) -> Any:
    """The fixed PDF timestamp of a run: the report date at 00:00 UTC (byte-identical PDFs)."""
    from datetime import datetime, timezone

    return datetime(p.report_date.year, p.report_date.month, p.report_date.day, tzinfo=timezone.utc)


def district_rollup(run_dir: Path | str, p: Any, facts: Any) -> tuple[pd.DataFrame, list[str]]:
    """The district table of the province report, from each district's ``metrics.json`` (stage 2).

    Returns the table (one row per district whose report succeeded, headline counts and
    percentages as in ``metrics.by_district``) and the names of districts with no report.
    """
    import json

    from vaxreport.metrics import Ratio, headline_row

    rows, missing = [], []
    for code, name in p.district_names().items():
        path = unit_path(run_dir, code, name) / "metrics.json"
        if not path.exists():
            missing.append(name)
            continue
        m = json.loads(path.read_text(encoding="utf-8"))
        rows.append(headline_row(code, name, {k: Ratio(r["num"], r["den"]) for k, r in m["headline"].items()}))
    columns = ["district_code", "district_name"] + [f"{k}_{part}" for k in ("entry", "feedback", "signing",
                                                                          "police_verified")
                                                     for part in ("num", "den", "pct")]
    return pd.DataFrame(rows, columns=columns), missing


def previous_period(period: str) -> str:
    """``"2022-05"`` → ``"2022-04"``; ``"2022-01"`` → ``"2021-12"``.

    >>> previous_period("2022-01")
    '2021-12'
    """
    year, month = (int(x) for x in period.split("-"))
    return f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"


def previous_metrics(run_dir: Path | str, p: Any, code: str | None, name: str) -> dict[str, Any] | None:
    """The same unit's ``metrics.json`` in the previous period's run folder, beside this one
    (``outputs/2022-04`` for ``outputs/2022-05``), if that run completed; else None."""
    import json

    previous = Path(run_dir).resolve().parent / previous_period(p.period)
    if not (previous / "manifest.json").exists():
        return None
    path = unit_path(previous, code, name) / "metrics.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


#: The indicator sheets of the appendix beside each report: sheet name -> ``ReportMetrics`` field.
APPENDIX_FRAMES = {"Chỉ tiêu theo xã, phường": "communes", "Chỉ tiêu theo cơ sở tiêm": "sites"}


def appendix_info(p: Any, run_dir: Path | str | None = None) -> list[tuple[str, str]]:
    """The "Thông tin" lines of ``indicators.xlsx``: period, every input file with its sha256 (as
    the runner recorded it for the manifest; else its size), the params file and its sha256."""
    import json

    from vaxreport.report.format import fmt_date_short
    from vaxreport.runner import INPUTS_JSON, sha256_file

    lines = [("Kỳ báo cáo", f"{p.period} (từ {fmt_date_short(p.period_start)} đến {fmt_date_short(p.period_end)})"),
             ("Ngày báo cáo", fmt_date_short(p.report_date))]
    recorded = Path(run_dir) / INPUTS_JSON if run_dir is not None else None
    if recorded is not None and recorded.is_file():
        hashes = json.loads(recorded.read_text(encoding="utf-8"))["inputs"]
        lines += [("Nguồn dữ liệu", f"{name}, sha256 {digest}") for name, digest in sorted(hashes.items())]
    else:
        folder = Path(p.inputs)
        files = sorted(f for f in folder.iterdir() if f.is_file()) if folder.is_dir() else []
        lines += [("Nguồn dữ liệu", f"{f.name} ({f.stat().st_size:,} byte)".replace(",", ".")) for f in files]
    if p.source is not None and Path(p.source).is_file():
        lines.append(("Tham số", f"{Path(p.source).name}, sha256 {sha256_file(Path(p.source))}"))
    lines.append(("Biên bản chạy", "manifest.json của lần chạy: sha256 của dữ liệu vào, tham số và mọi tệp kết quả"))
    return lines


def write_editable(doc: Any, indicators: Any, out: Path | str, p: Any,
                   run_dir: Path | str | None = None) -> tuple[Path, Path]:
    """Beside ``report.pdf``: ``report.docx`` (the same ``doc``, editable) and ``indicators.xlsx``
    (its tables as typed numbers, plus the per-commune and per-site indicators). Same inputs ⇒
    same bytes (dated from the report date). Returns both paths."""
    from vaxreport.report.docx import write_docx
    from vaxreport.report.xlsx import write_xlsx

    out, ts = Path(out), report_timestamp(p)
    frames = {name: getattr(indicators, field) for name, field in APPENDIX_FRAMES.items()}
    return (write_docx(doc, out / "report.docx", timestamp=ts),
            write_xlsx(doc, out / "indicators.xlsx", timestamp=ts, frames=frames, info=appendix_info(p, run_dir)))
