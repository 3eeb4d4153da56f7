"""The stage 1 → 2 contract: :class:`Facts`, the non-personal tables every indicator is computed
from, built once by stage 1 (:func:`build_facts`), saved under ``<run>/cleansed/facts/`` and read
back by each report notebook (:func:`load_facts`, one district's rows only).

Tables (columns in ``docs/CONTRACTS.md``): ``doses`` (one row per raw platform row: kept, merged or
quarantined), ``persons`` (one row per person after linkage), ``tallies``, ``feedback``,
``registry``, ``population``, ``findings``, ``quarantine``, ``units``. No names, IDs or phones.

Row conservation is asserted when the facts are built:
``raw rows == cleansed + merged duplicates + quarantined``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow.parquet as pq

from vaxreport import frames, layout, refdata
from vaxreport.exceptions import ConservationError

if TYPE_CHECKING:
    from vaxreport.cleansing.audit import CleanResult
    from vaxreport.io import Inputs
    from vaxreport.linkage.doses import ReconcileResult
    from vaxreport.params import RunParams

AGE_BINS = [-1, 4, 11, 17, 200]
AGE_LABELS = ["<5", "5-11", "12-17", "18+"]


@dataclass(frozen=True)
class Facts:
    """The stage-1 tables the indicators are computed from (aggregatable, no personal data)."""

    doses: pd.DataFrame
    persons: pd.DataFrame
    tallies: pd.DataFrame
    feedback: pd.DataFrame
    registry: pd.DataFrame
    population: pd.DataFrame
    findings: pd.DataFrame
    quarantine: pd.DataFrame
    units: pd.DataFrame

    @classmethod
    def names(cls) -> list[str]:
        """The table names, in contract order."""
        return [f.name for f in fields(cls)]

    def tables(self) -> dict[str, pd.DataFrame]:
        """``{name: table}`` in contract order."""
        return {name: getattr(self, name) for name in self.names()}

    def scope(self, district_code: str | None) -> Facts:
        """The same facts restricted to one district (None: the whole province)."""
        if district_code is None:
            return self
        d = district_code
        communes = set(self.units.loc[self.units.district_code == d, "commune_code"])
        return Facts(
            doses=self.doses[self.doses.district_code == d],
            persons=self.persons[self.persons.district_code == d],
            tallies=self.tallies[self.tallies.district_code == d],
            feedback=self.feedback[self.feedback.district_code == d],
            registry=self.registry[self.registry.district_code == d],
            population=self.population[self.population.commune_code.isin(communes)],
            findings=self.findings[self.findings.district_code == d],
            quarantine=self.quarantine[self.quarantine.district_code == d],
            units=self.units[self.units.district_code == d],
        )


    def within(self, district_codes: Collection[str]) -> Facts:
        """The same facts restricted to several districts (one province's, in a run covering
        several provinces): rows of other or unknown districts are left out.

        >>> empty = pd.DataFrame({"district_code": pd.Series(["164", "058", None], dtype="string"),
        ...                       "commune_code": ["05443", "01840", "x"]})
        >>> f = Facts(*[empty] * 9).within({"164"})
        >>> len(f.doses), f.population.commune_code.tolist()
        (1, ['05443'])
        """
        keep = set(district_codes)
        communes = set(self.units.loc[self.units.district_code.isin(keep), "commune_code"])
        tables = {name: table[table["district_code"].isin(keep).fillna(False).to_numpy(bool)]
                  for name, table in self.tables().items() if name != "population"}
        return Facts(**tables, population=self.population[self.population.commune_code.isin(communes)])


def load_facts(run_dir: Path | str, district_code: str | None = None) -> Facts:
    """The facts written by stage 1 — of one district only when ``district_code`` is given (rows
    filtered while reading, so a district notebook never holds the province's 3 million dose rows)."""
    folder = layout.facts_dir(run_dir)
    tables = {}
    for name in Facts.names():
        path = folder / f"{name}.parquet"
        has_district = district_code is not None and "district_code" in pq.read_schema(path).names
        tables[name] = pd.read_parquet(path, filters=[("district_code", "==", district_code)] if has_district else None)
    facts = Facts(**tables)
    return facts if district_code is None else facts.scope(district_code)


def age_group(birth_date: pd.Series, on: date) -> pd.Series:
    """Age group ("<5", "5-11", "12-17", "18+") at ``on``; NA where the birth date is unknown.

    >>> age_group(pd.Series(pd.to_datetime(["2015-06-01", "2004-05-31", None])), date(2022, 5, 31)).tolist()
    ['5-11', '18+', nan]
    """
    ts = pd.Timestamp(on)
    bd = pd.to_datetime(birth_date)
    years = ts.year - bd.dt.year - ((bd.dt.month > ts.month) | ((bd.dt.month == ts.month) & (bd.dt.day > ts.day)))
    return pd.cut(years, AGE_BINS, labels=AGE_LABELS).astype(object)


def commune_district_map(province_codes: str | Sequence[str], on: date | None = None) -> pd.Series:
    """District code of each commune code of the province(s) (units in force ``on``)."""
    codes = [province_codes] if isinstance(province_codes, str) else province_codes
    units = refdata.admin_units_of(codes, on=on)
    return units.drop_duplicates("commune_code").set_index("commune_code").district_code


def site_districts(tallies: pd.DataFrame, doses: pd.DataFrame) -> pd.Series:
    """District of each vaccination site: from the site tallies, else the most common on its doses."""
    from_tallies = tallies.drop_duplicates("site_code").set_index("site_code")["district_code"]
    from_doses = (doses.dropna(subset=["district_code"]).groupby("site_code")["district_code"]
                  .agg(lambda s: s.mode().iloc[0]))
    return from_tallies.combine_first(from_doses)


#: The dose facts' text columns held as categoricals in memory (few distinct values; written
#: as plain text).
CATEGORICAL_DOSE_FACTS = ("site_code", "site_name", "commune_code", "sign_status", "vaccine", "vaccine_code", "state",
                          "district_code")

#: The reconciled doses' columns in the dose facts (and ``dose_seq``, of the kept rows only).
DOSE_COLUMNS = ["record_id", "site_code", "site_name", "commune_code", "sign_status", "entered_at", "signed_at",
                "dose_date", "vaccine", "vaccine_code", "person_id"]


def build_dose_facts(raw: pd.DataFrame, cleaned: CleanResult, reconciled: ReconcileResult,
                     site_district: pd.Series) -> pd.DataFrame:
    """One row per raw platform row, no personal data: where it was given, its state, signing.

    ``state`` is ``kept`` (a unique dose), ``merged`` (a duplicate entry of a kept dose) or
    ``quarantined``; ``len(result) == len(raw)``. Rows: the kept, then the merged, then the
    quarantined. Built one column at a time, a province's table never copied whole; the text
    columns but ``record_id`` are held as categoricals (:data:`CATEGORICAL_DOSE_FACTS`,
    ``frames.categorize``: ``frames.plain`` gives the plain text the facts are written as).
    """
    q = cleaned.quarantine
    quarantined = pd.DataFrame({
        "record_id": q["record_id"].astype(str), "site_code": q["site_code"].astype(str),
        "site_name": q["site_name"] if "site_name" in q else pd.NA, "commune_code": q["commune_code"],
        "sign_status": q["sign_status"], "state": "quarantined"})
    parts = [(reconciled.data, [*DOSE_COLUMNS, "dose_seq"], "kept"), (reconciled.merged, DOSE_COLUMNS, "merged"),
             (quarantined, list(quarantined.columns), "")]
    columns: dict[str, pd.Series] = {}
    for col in [*DOSE_COLUMNS, "dose_seq", "state"]:
        # single-column frames: the dtypes whole-frame concatenation gives (a column missing
        # from a part is all-missing there, in the column's dtype where it can hold one)
        pieces = [frames.plain(_column_of(frame, col, have, state)) for frame, have, state in parts]
        columns[col] = _held(pd.concat(pieces, ignore_index=True)[col])
        del pieces
    facts = pd.DataFrame(columns, copy=False)
    del columns
    district = _mapped(facts["site_code"], site_district)
    unknown_site = district.isna().to_numpy()
    if unknown_site.any():  # a site missing from the tallies: the district the platform recorded
        raw_district = pd.Series(raw["district_code"].to_numpy(), index=raw["record_id"].astype(str).to_numpy())
        district[unknown_site] = facts.loc[unknown_site, "record_id"].map(raw_district).to_numpy()
    facts["district_code"] = _held(district)
    for col in ("entered_at", "signed_at", "dose_date"):
        facts[col] = pd.to_datetime(facts[col])
    facts["dose_seq"] = facts["dose_seq"].astype("Int64")
    facts["person_id"] = facts["person_id"].astype("Int64")
    return facts


def _held(column: pd.Series) -> pd.Series:
    """A dose-facts column as held in memory: categorical if it is text and one of
    :data:`CATEGORICAL_DOSE_FACTS` (≈ 1 byte a row instead of its text; a column of Python
    objects — a part without the column — is kept as it is)."""
    if column.name in CATEGORICAL_DOSE_FACTS and isinstance(column.dtype, pd.StringDtype):
        return frames.categorize(column.to_frame(), [str(column.name)])[column.name]
    return column


def _column_of(frame: pd.DataFrame, col: str, have: list[str], state: str) -> pd.DataFrame:
    """``col`` of one part of the dose facts as a one-column frame (no column where the part has
    none; ``state`` is the part's own)."""
    if col in have:
        return frame[[col]]
    return frame[[]].assign(state=state) if col == "state" and state else frame[[]]


def _mapped(values: pd.Series, mapping: pd.Series) -> pd.Series:
    """``values.map(mapping)``, looked up once per distinct value.

    >>> _mapped(pd.Series(["a", "b", None, "a"]), pd.Series({"a": "1"})).tolist()
    ['1', nan, nan, '1']
    """
    codes, uniques = pd.factorize(values)
    looked_up = pd.Series(uniques).map(mapping)
    return pd.Series(looked_up.array.take(codes, allow_fill=True), index=values.index)


def build_person_facts(survivors: pd.DataFrame, summary: pd.DataFrame, verification: pd.DataFrame,
                       commune_district: pd.Series, as_of: date) -> pd.DataFrame:
    """One row per person after dedup: residence, age group, doses, ID validity, verification.

    ``summary``: ``linkage.doses.person_doses_summary`` of the reconciled doses (any row order).
    """
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
    """Raise ``ConservationError`` unless raw = cleansed + merged duplicates + quarantined.

    >>> check_conservation({"raw": 5, "cleansed": 3, "merged_duplicates": 1, "quarantined": 1})
    """
    if counts["raw"] != counts["cleansed"] + counts["merged_duplicates"] + counts["quarantined"]:
        raise ConservationError(f"row conservation failed: {counts}")


def feedback_facts(feedback: pd.DataFrame) -> pd.DataFrame:
    """Feedback tickets without personal data: district, site, status, dates."""
    cols = [c for c in ("ticket_id", "district_code", "site_code", "status", "received_at", "resolved_at", "issue_type")
            if c in feedback.columns]
    return feedback[cols].reset_index(drop=True)


def _district_of_records(record_ids: pd.Series, dose_facts: pd.DataFrame) -> pd.Series:
    pos = frames.positions(dose_facts["record_id"], record_ids)
    district = dose_facts["district_code"].array.take(pos, allow_fill=True)  # the records' only
    return pd.Series(district, index=record_ids.index).astype("string")


def findings_facts(findings: pd.DataFrame, dose_facts: pd.DataFrame) -> pd.DataFrame:
    """Findings with the district of the dose's site (the unit that must fix it), no details."""
    return findings[["record_id", "code", "label_vi"]].assign(
        district_code=_district_of_records(findings["record_id"], dose_facts)).reset_index(drop=True)


def quarantine_facts(quarantine: pd.DataFrame, dose_facts: pd.DataFrame) -> pd.DataFrame:
    """Quarantined rows: reason and district only."""
    return pd.DataFrame({"record_id": quarantine["record_id"].astype(str),
                         "reason": quarantine["reason"].astype(str),
                         "district_code": _district_of_records(quarantine["record_id"], dose_facts)})


def build_facts(inputs: Inputs, cleaned: CleanResult, survivors: pd.DataFrame, reconciled: ReconcileResult,
                verification: pd.DataFrame, p: RunParams, *, summary: pd.DataFrame | None = None) -> Facts:
    """All non-personal tables the report notebooks compute indicators from.

    ``survivors``: one row per person (index ``person_id``) with ``id_valid`` per cluster.
    ``summary``: each person's ``person_doses_summary``, computed from ``reconciled.data`` when
    not given (then ``reconciled.data`` needs only the columns the two read).

    Raises:
        ConservationError: raw rows != cleansed + merged duplicates + quarantined.
    """
    check_conservation({"raw": len(inputs.doses), "cleansed": len(reconciled.data),
                        "merged_duplicates": len(reconciled.merged), "quarantined": len(cleaned.quarantine)})
    on = p.period_end or p.report_date
    communes = commune_district_map(p.province_codes(), on)
    sites = site_districts(inputs.site_tallies, inputs.doses)
    dose_facts = build_dose_facts(inputs.doses, cleaned, reconciled, sites)
    if summary is None:
        from vaxreport.linkage.doses import SUMMARY_COLUMNS, person_doses_summary

        summary = person_doses_summary(reconciled.data[[c for c in SUMMARY_COLUMNS if c in reconciled.data.columns]])
    person_facts = build_person_facts(survivors, summary, verification, communes, on)
    return Facts(
        doses=dose_facts,
        persons=person_facts,
        tallies=inputs.site_tallies.assign(week_start=pd.to_datetime(inputs.site_tallies["week_start"],
                                                                     dayfirst=True, errors="coerce")),
        feedback=feedback_facts(inputs.feedback),
        registry=registry_facts(inputs.registry, communes),
        population=inputs.population.assign(commune_code=inputs.population["commune_code"].astype(str).str.zfill(5)),
        findings=findings_facts(reconciled.findings, dose_facts),
        quarantine=quarantine_facts(cleaned.quarantine, dose_facts),
        units=refdata.admin_units_of(p.province_codes(), on=on),
    )
