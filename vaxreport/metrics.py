"""Indicator definitions and their computation at province, district, commune and site level.

Everything here works on the non-personal *facts* tables written by stage 1 (see
``vaxreport.pipeline``): ``doses`` (one row per raw platform row), ``persons`` (one row per person
after dedup), ``tallies``, ``feedback``, ``registry``, ``population``, ``findings``, ``quarantine``.
Percentages come from raw integer counts, rounded half-up to 2 decimals, once, in ``Ratio``.

Examples:
    >>> r = Ratio(2756537, 2924867)
    >>> str(r.pct), r.text()
    ('94.24', '2.756.537/2.924.867 (94,24%)')
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from vaxreport.report.format import fmt_int, fmt_pct, pct
from vaxreport.schemas import AGE_GROUPS


@dataclass(frozen=True)
class Ratio:
    """A numerator and a denominator; the percentage is derived, never stored separately."""

    num: int
    den: int

    @property
    def pct(self) -> Decimal | None:
        return pct(self.num, self.den)

    def text(self) -> str:
        """``"2.756.537/2.924.867 (94,24%)"`` — counts first, so the figure reproduces."""
        return f"{fmt_int(self.num)}/{fmt_int(self.den)} ({fmt_pct(self.num, self.den)})"

    def to_dict(self) -> dict[str, Any]:
        return {"num": int(self.num), "den": int(self.den),
                "pct": None if self.pct is None else str(self.pct)}


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


HEADLINE_LABELS = {
    "entry": "Dữ liệu tiêm chủng được cập nhật trên hệ thống (mũi tiêm)",
    "feedback": "Phản ánh thông tin tiêm chủng đã được xử lý",
    "signing": "Mũi tiêm đã ký xác nhận \u201cHộ chiếu vắc xin\u201d",
    "police_verified": "Đối tượng được Công an xác minh thông tin",
}


def headline(f: Facts) -> dict[str, Ratio]:
    """The four indicators of the seed report.

    - ``entry``: doses on the platform (rows as exported) ÷ doses administered (site tallies);
    - ``feedback``: tickets handled (approved or rejected) ÷ tickets received;
    - ``signing``: doses signed ÷ doses on the platform;
    - ``police_verified``: persons checked by the police ÷ persons vaccinated (after dedup).
    """
    on_platform = len(f.doses)
    return {
        "entry": Ratio(on_platform, int(f.tallies.doses_administered.sum())),
        "feedback": Ratio(int(f.feedback.status.isin(["approved", "rejected"]).sum()), len(f.feedback)),
        "signing": Ratio(int((f.doses.sign_status == "signed").sum()), on_platform),
        "police_verified": Ratio(len(f.registry), len(f.persons)),
    }


def _ratio_columns(df: pd.DataFrame, num: str, den: str, out: str) -> pd.DataFrame:
    values = [pct(int(n), int(d)) for n, d in zip(df[num], df[den], strict=True)]
    return df.assign(**{out: [float(v) if v is not None else np.nan for v in values]})


def by_site(f: Facts) -> pd.DataFrame:
    """Per vaccination site: administered, on platform, signed, and the two rates."""
    administered = f.tallies.groupby("site_code").doses_administered.sum().rename("administered")
    doses = f.doses.assign(signed=f.doses.sign_status.eq("signed"))
    platform = doses.groupby("site_code").agg(on_platform=("record_id", "size"), signed=("signed", "sum"),
                                              district_code=("district_code", "first"))
    out = platform.join(administered, how="outer").fillna({"on_platform": 0, "signed": 0, "administered": 0})
    out = out.astype({"on_platform": "int64", "signed": "int64", "administered": "int64"})
    out = _ratio_columns(out, "on_platform", "administered", "entry_pct")
    out = _ratio_columns(out, "signed", "on_platform", "signing_pct")
    names = f.doses.groupby("site_code").site_name.first() if "site_name" in f.doses else None
    if names is not None:
        out = out.join(names)
    return out.reset_index().sort_values("site_code", kind="stable").reset_index(drop=True)


def by_commune(f: Facts) -> pd.DataFrame:
    """Per commune of residence: persons, doses, signing, persons verified by police, coverage 18+."""
    units = f.units[["district_code", "commune_code", "commune_name"]].drop_duplicates("commune_code")
    doses = f.doses[f.doses.state != "quarantined"].assign(signed=lambda d: d.sign_status.eq("signed"))
    d = doses.groupby("commune_code").agg(doses=("record_id", "size"), signed=("signed", "sum"))
    p = f.persons.groupby("commune_code").agg(persons=("person_id", "size"),
                                              primary_complete=("primary_complete", "sum"))
    reg = f.registry.groupby("commune_code").size().rename("police_verified")
    pop = f.population.groupby("commune_code").population.sum()
    out = (units.set_index("commune_code").join([d, p, reg, pop]).fillna(0)
           .astype({c: "int64" for c in ("doses", "signed", "persons", "primary_complete", "police_verified",
                                         "population")}))
    out = _ratio_columns(out, "signed", "doses", "signing_pct")
    out = _ratio_columns(out, "primary_complete", "population", "primary_coverage_pct")
    return out.reset_index().sort_values("commune_code", kind="stable").reset_index(drop=True)


def headline_row(code: str, name: str, h: dict[str, Ratio]) -> dict[str, Any]:
    """One row of a per-district table: ``<indicator>_num, _den, _pct`` for each headline ratio."""
    row: dict[str, Any] = {"district_code": code, "district_name": name}
    for key, r in h.items():
        row[f"{key}_num"], row[f"{key}_den"] = r.num, r.den
        row[f"{key}_pct"] = float(r.pct) if r.pct is not None else np.nan
    return row


def by_district(f: Facts) -> pd.DataFrame:
    """Per district: the four headline indicators as counts and percentages."""
    units = f.units.drop_duplicates("district_code")[["district_code", "district_name"]]
    return pd.DataFrame([headline_row(code, name, headline(f.scope(code)))
                         for code, name in units.itertuples(index=False)])


def coverage(f: Facts) -> pd.DataFrame:
    """Coverage by age group against the population: ≥1 dose, primary series complete, ≥1 booster."""
    pop = f.population.groupby("age_group").population.sum()
    p = f.persons.groupby("age_group").agg(at_least_one=("person_id", "size"),
                                           primary_complete=("primary_complete", "sum"),
                                           booster=("boosters", lambda s: int((s > 0).sum())))
    out = pd.DataFrame({"population": pop.reindex(list(AGE_GROUPS), fill_value=0)}).join(p).fillna(0).astype("int64")
    total = out.sum().to_frame().T.set_axis(["Tổng"])
    out = pd.concat([out, total])
    for col in ("at_least_one", "primary_complete", "booster"):
        out = _ratio_columns(out, col, "population", f"{col}_pct")
    return out.rename_axis("age_group").reset_index()


def data_quality(f: Facts) -> dict[str, Any]:
    """Data-quality indicators: valid IDs, duplicates merged, dose problems by kind, quarantine."""
    persons = f.persons
    merged_refs = int((persons.n_refs - 1).clip(lower=0).sum()) if "n_refs" in persons else 0
    return {
        "valid_id": Ratio(int(persons.id_valid.sum()), len(persons)),
        "person_records_merged": merged_refs,
        "persons_with_duplicates": int((persons.get("n_refs", pd.Series(dtype=int)) > 1).sum()),
        "dose_rows_merged": int((f.doses.state == "merged").sum()),
        "quarantined_rows": int((f.doses.state == "quarantined").sum()),
        "quarantine_reasons": f.quarantine.reason.value_counts().sort_index().to_dict(),
        "findings": f.findings.groupby(["code", "label_vi"]).size().rename("n").reset_index()
        .sort_values(["n", "code"], ascending=[False, True]).reset_index(drop=True),
        "verify_status": persons.verify_status.value_counts().sort_index().to_dict(),
    }


def weekly_trend(f: Facts, start: date, end: date) -> pd.DataFrame:
    """Per ISO week (Monday) in ``[start, end]``: doses administered, entered and signed that week."""
    lo, hi = pd.Timestamp(start), pd.Timestamp(end) + pd.Timedelta(days=1)

    def weekly(ts: pd.Series) -> pd.Series:
        ts = ts[(ts >= lo) & (ts < hi)]
        return (ts.dt.normalize() - pd.to_timedelta(ts.dt.day_of_week, unit="D")).value_counts()

    weeks = pd.date_range(lo - pd.Timedelta(days=lo.weekday()), hi, freq="7D")
    tallies = f.tallies.assign(week=pd.to_datetime(f.tallies.week_start))
    administered = tallies[(tallies.week >= weeks[0]) & (tallies.week < hi)].groupby("week").doses_administered.sum()
    out = pd.DataFrame(index=pd.DatetimeIndex(weeks, name="week_start"))
    out["administered"] = administered
    out["entered"] = weekly(f.doses.entered_at)
    out["signed"] = weekly(f.doses.signed_at)
    return out.fillna(0).astype("int64").reset_index()


def laggards(table: pd.DataFrame, value: str, *, n: int = 5, min_den: int = 50, den: str | None = None) -> pd.DataFrame:
    """The ``n`` units furthest behind on ``value`` (lowest first), ignoring tiny denominators."""
    t = table if den is None else table[table[den] >= min_den]
    return t.dropna(subset=[value]).sort_values([value, t.columns[0]], kind="stable").head(n)


def compare(current: dict[str, Ratio], previous: dict[str, Any] | None) -> pd.DataFrame:
    """Change of each headline indicator since a previous run's ``metrics.json`` (if any)."""
    rows = []
    for key, r in current.items():
        prev = (previous or {}).get("headline", {}).get(key)
        prev_pct = Decimal(prev["pct"]) if prev and prev.get("pct") is not None else None
        rows.append({"indicator": key, "num": r.num, "den": r.den, "pct": r.pct,
                     "prev_num": prev["num"] if prev else None, "prev_pct": prev_pct,
                     "change_pp": (r.pct - prev_pct) if (r.pct is not None and prev_pct is not None) else None})
    return pd.DataFrame(rows)


def metrics_json(f: Facts, *, unit_code: str | None, unit_name: str, period: str | None = None) -> dict[str, Any]:
    """Everything a roll-up or the next month's comparison needs, as plain JSON-able values."""
    dq = data_quality(f)
    return {
        "period": period,
        "unit_code": unit_code,
        "unit_name": unit_name,
        "headline": {k: r.to_dict() for k, r in headline(f).items()},
        "persons": len(f.persons),
        "valid_id": dq["valid_id"].to_dict(),
        "person_records_merged": dq["person_records_merged"],
        "dose_rows_merged": dq["dose_rows_merged"],
        "quarantined_rows": dq["quarantined_rows"],
        "findings": {str(r.code): int(r.n) for r in dq["findings"].itertuples()},
        "verify_status": {str(k): int(v) for k, v in dq["verify_status"].items()},
    }
