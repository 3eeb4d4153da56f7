"""Indicator definitions and their computation at province, district, commune and site level.

Everything here works on the non-personal *facts* tables written by stage 1 (see
``vaxreport.facts``): ``doses`` (one row per raw platform row), ``persons`` (one row per person
after dedup), ``tallies``, ``feedback``, ``registry``, ``population``, ``findings``, ``quarantine``.
Percentages come from raw integer counts, rounded half-up to 2 decimals, once, in ``Ratio``.

Examples:
    >>> r = Ratio(2756537, 2924867)
    >>> str(r.pct), r.to_dict()
    ('94.24', {'num': 2756537, 'den': 2924867, 'pct': '94.24'})
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from vaxreport.facts import Facts
from vaxreport.percent import pct
from vaxreport.schemas import AGE_GROUPS


@dataclass(frozen=True)
class Ratio:
    """A numerator and a denominator; the percentage is derived, never stored separately."""

    num: int
    den: int

    @property
    def pct(self) -> Decimal | None:
        return pct(self.num, self.den)

    def to_dict(self) -> dict[str, Any]:
        return {"num": int(self.num), "den": int(self.den),
                "pct": None if self.pct is None else str(self.pct)}


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


def _group_codes(keys: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer group codes of ``keys`` (-1 where missing, dropped as ``groupby`` drops them) and
    the distinct keys in order of first appearance: one hash pass, reused by every count below
    (a ``groupby`` per aggregate would hash the 3 million dose rows' strings each time)."""
    codes, uniques = pd.factorize(keys)
    return np.asarray(codes), pd.Index(uniques, name=keys.name)


def _flag(values: pd.Series, equals: str, *, missing: bool = False) -> np.ndarray:
    """``values == equals`` as a plain bool array; a missing value counts as ``missing``."""
    return values.eq(equals).to_numpy(dtype=bool, na_value=missing)


#: Rows per block in the counting loops: temporaries stay small (≈2 MB) and are reused, instead of
#: fresh 20 MB arrays per step, whose page faults cost more than the counting in a new kernel.
_BLOCK = 1 << 18


def _count(codes: np.ndarray, n: int, mask: np.ndarray | None = None) -> np.ndarray:
    """Rows per group (only the rows where ``mask`` holds); code -1 (missing key) is not counted.

    >>> codes = np.array([0, 1, -1, 1])
    >>> _count(codes, 2).tolist(), _count(codes, 2, np.array([True, False, True, True])).tolist()
    ([1, 2], [1, 1])
    """
    out = np.zeros(n, dtype="int64")
    for start in range(0, len(codes), _BLOCK):
        block = codes[start:start + _BLOCK]
        keep = block >= 0 if mask is None else (block >= 0) & mask[start:start + _BLOCK]
        out += np.bincount(block[keep], minlength=n)
    return out


def _first_valid(values: pd.Series, codes: np.ndarray, index: pd.Index) -> pd.Series:
    """The first non-missing value of each group, like ``groupby().first()`` (NaN if none).

    >>> codes, keys = _group_codes(pd.Series(["b", "a", "b"], name="k"))
    >>> _first_valid(pd.Series([None, "x", "y"], name="v"), codes, keys).to_dict()
    {'b': 'y', 'a': 'x'}
    """
    valid = values.notna().to_numpy()
    keys = codes if valid.all() else np.where(valid, codes, -1)
    first = np.flatnonzero(~pd.Series(keys, copy=False).duplicated().to_numpy() & (keys >= 0))
    return values.iloc[first].set_axis(index[keys[first]]).reindex(index)


def _ratio_columns(df: pd.DataFrame, num: str, den: str, out: str) -> pd.DataFrame:
    values = [pct(int(n), int(d)) for n, d in zip(df[num], df[den], strict=True)]
    return df.assign(**{out: [float(v) if v is not None else np.nan for v in values]})


def by_site(f: Facts) -> pd.DataFrame:
    """Per vaccination site: administered, on platform, signed, and the two rates."""
    administered = f.tallies.groupby("site_code").doses_administered.sum().rename("administered")
    codes, sites = _group_codes(f.doses.site_code)
    n = len(sites)
    platform = pd.DataFrame({"on_platform": _count(codes, n),
                             "signed": _count(codes, n, _flag(f.doses.sign_status, "signed")),
                             "district_code": _first_valid(f.doses.district_code, codes, sites)}, index=sites)
    out = platform.join(administered, how="outer").fillna({"on_platform": 0, "signed": 0, "administered": 0})
    out = out.astype({"on_platform": "int64", "signed": "int64", "administered": "int64"})
    out = _ratio_columns(out, "on_platform", "administered", "entry_pct")
    out = _ratio_columns(out, "signed", "on_platform", "signing_pct")
    if "site_name" in f.doses:
        out = out.join(_first_valid(f.doses.site_name, codes, sites))
    return out.reset_index().sort_values("site_code", kind="stable").reset_index(drop=True)


def by_commune(f: Facts) -> pd.DataFrame:
    """Per commune of residence: persons, doses, signing, persons verified by police, coverage 18+."""
    units = f.units[["district_code", "commune_code", "commune_name"]].drop_duplicates("commune_code")
    codes, keys = _group_codes(f.doses.commune_code)
    kept = ~_flag(f.doses.state, "quarantined")
    d = pd.DataFrame({"doses": _count(codes, len(keys), kept),
                      "signed": _count(codes, len(keys), kept & _flag(f.doses.sign_status, "signed"))}, index=keys)
    codes, keys = _group_codes(f.persons.commune_code)
    primary = f.persons.primary_complete.to_numpy(dtype=bool, na_value=False)
    p = pd.DataFrame({"persons": _count(codes, len(keys)), "primary_complete": _count(codes, len(keys), primary)},
                     index=keys)
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


#: Coverage rows of vaccinated persons outside the population's age groups (no denominator): persons
#: under 5 at the period end, and persons with no usable birth date. Shown only when not empty.
AGE_UNDER_5 = "<5"
AGE_UNKNOWN = "unknown"


def coverage(f: Facts) -> pd.DataFrame:
    """Coverage by age group against the population: ≥1 dose, primary series complete, ≥1 booster.

    One row per age group of ``schemas.AGE_GROUPS``; then ``"<5"`` (persons under 5 at the period
    end) and ``"unknown"`` (no usable birth date) when they hold anyone: vaccinated persons with no
    population to divide by (``population`` 0, percentages NaN); then ``"Tổng"``, the sum of the
    rows above, so its persons equal every person of the report (``len(f.persons)``).

    Examples:
        >>> f = Facts(*[pd.DataFrame()] * 9)
        >>> persons = pd.DataFrame({"age_group": ["18+", "18+", "<5", None],
        ...                         "primary_complete": [True, False, False, True], "boosters": [1, 0, 0, 0]})
        >>> pop = pd.DataFrame({"age_group": ["18+"], "population": [4]})
        >>> t = coverage(Facts(**{**f.__dict__, "persons": persons, "population": pop}))
        >>> t.age_group.tolist(), t.population.tolist(), t.at_least_one.tolist()
        (['5-11', '12-17', '18+', '<5', 'unknown', 'Tổng'], [0, 0, 4, 0, 0, 4], [0, 0, 2, 1, 1, 4])
        >>> t.at_least_one_pct.tolist()[2:], t.primary_complete.tolist()[2:]
        ([50.0, nan, nan, 100.0], [1, 0, 1, 2])
    """
    pop = f.population.groupby("age_group").population.sum() if len(f.population) else pd.Series(dtype="int64")
    codes, keys = _group_codes(f.persons.age_group)
    codes = np.where(codes < 0, len(keys), codes)  # no birth date: one more group
    n = len(keys) + 1
    labels = [k if k in (*AGE_GROUPS, AGE_UNDER_5) else AGE_UNKNOWN for k in keys] + [AGE_UNKNOWN]
    primary = f.persons.primary_complete.to_numpy(dtype=bool, na_value=False)
    booster = f.persons.boosters.gt(0).to_numpy(dtype=bool, na_value=False)
    p = (pd.DataFrame({"at_least_one": _count(codes, n), "primary_complete": _count(codes, n, primary),
                       "booster": _count(codes, n, booster)}, index=labels).groupby(level=0).sum())
    extra = [g for g in (AGE_UNDER_5, AGE_UNKNOWN) if g in p.index and p.at_least_one[g] > 0]
    rows = pd.Index([*AGE_GROUPS, *extra])
    out = pd.DataFrame({"population": pop.reindex(rows, fill_value=0)}).join(p).fillna(0).astype("int64")
    out.loc[extra, "population"] = 0  # no population of these ages is given: no coverage rate
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
    """Per ISO week (Monday) in ``[start, end]``: doses administered, entered and signed that week,
    and ``days``, the days of the week inside the period (below 7 for a first or last week that the
    period cuts: its counts are not comparable with a whole week's)."""
    lo, hi = pd.Timestamp(start), pd.Timestamp(end) + pd.Timedelta(days=1)
    weeks = pd.date_range(lo - pd.Timedelta(days=lo.weekday()), hi, freq="7D")

    def weekly(ts: pd.Series) -> np.ndarray | pd.Series:
        values = ts.to_numpy()
        if values.dtype.kind != "M":  # tz-aware or object timestamps: the general (slower) way
            ts = ts[(ts >= lo) & (ts < hi)]
            return (ts.dt.normalize() - pd.to_timedelta(ts.dt.day_of_week, unit="D")).value_counts()
        unit, _ = np.datetime_data(values.dtype)  # integer ticks, in blocks: no per-row datetime objects
        lo_t, hi_t, monday = (t.to_datetime64().astype(f"datetime64[{unit}]").astype("int64")
                              for t in (lo, hi, weeks[0]))
        week_ticks = np.timedelta64(7, "D").astype(f"timedelta64[{unit}]").astype("int64")
        ticks = values.view("int64")  # NaT is the smallest int64: before ``lo_t``
        out = np.zeros(len(weeks), dtype="int64")
        for start in range(0, len(ticks), _BLOCK):
            block = ticks[start:start + _BLOCK]
            block = block[(block >= lo_t) & (block < hi_t)]
            out += np.bincount((block - monday) // week_ticks, minlength=len(weeks))[:len(weeks)]
        return out

    tallies = f.tallies.assign(week=pd.to_datetime(f.tallies.week_start))
    administered = tallies[(tallies.week >= weeks[0]) & (tallies.week < hi)].groupby("week").doses_administered.sum()
    out = pd.DataFrame(index=pd.DatetimeIndex(weeks, name="week_start"))
    out["administered"] = administered
    out["entered"] = weekly(f.doses.entered_at)
    out["signed"] = weekly(f.doses.signed_at)
    ends = weeks + pd.Timedelta(days=7)
    out["days"] = (ends.where(ends < hi, hi) - weeks.where(weeks > lo, lo)).days
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


@dataclass(frozen=True)
class ReportMetrics:
    """Every indicator one report prints, computed once by ``report_metrics`` and shared by a
    notebook's display cells, ``narrative.build_report`` and ``metrics_json``."""

    headline: dict[str, Ratio]
    sites: pd.DataFrame
    communes: pd.DataFrame
    quality: dict[str, Any]
    coverage: pd.DataFrame
    trend: pd.DataFrame


def report_metrics(f: Facts, start: date, end: date) -> ReportMetrics:
    """All the indicators of one report on ``f`` for the period ``[start, end]``."""
    return ReportMetrics(headline=headline(f), sites=by_site(f), communes=by_commune(f), quality=data_quality(f),
                         coverage=coverage(f), trend=weekly_trend(f, start, end))


def metrics_json(f: Facts, *, unit_code: str | None, unit_name: str, period: str | None = None,
                 indicators: ReportMetrics | None = None) -> dict[str, Any]:
    """Everything a roll-up or the next month's comparison needs, as plain JSON-able values.

    ``indicators``: the same facts' ``report_metrics``, if already computed (not computed again).
    """
    dq = data_quality(f) if indicators is None else indicators.quality
    h = headline(f) if indicators is None else indicators.headline
    return {
        "period": period,
        "unit_code": unit_code,
        "unit_name": unit_name,
        "headline": {k: r.to_dict() for k, r in h.items()},
        "persons": len(f.persons),
        "valid_id": dq["valid_id"].to_dict(),
        "person_records_merged": dq["person_records_merged"],
        "dose_rows_merged": dq["dose_rows_merged"],
        "quarantined_rows": dq["quarantined_rows"],
        "findings": {str(r.code): int(r.n) for r in dq["findings"].itertuples()},
        "verify_status": {str(k): int(v) for k, v in dq["verify_status"].items()},
    }
