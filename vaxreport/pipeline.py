"""Stage 1 of the monthly run as library calls: load → clean → dedup → reconcile → verify → facts.

The cleanse notebook calls these one per step; the report notebooks read the *facts* back with
``load_facts``. Row conservation is asserted here for every run:
``raw rows == cleansed + merged duplicates + quarantined``.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vaxreport import refdata
from vaxreport.exceptions import ConservationError

PERSON_FIELDS = ("full_name", "birth_date", "gender", "id_number", "phone", "commune_code", "address")
AGE_BINS = [-1, 4, 11, 17, 200]
AGE_LABELS = ["<5", "5-11", "12-17", "18+"]


@dataclass
class StageOne:
    """Everything stage 1 produces, in memory. ``timings`` holds seconds per step."""

    raw_rows: int
    clean: Any
    persons: pd.DataFrame
    labels: pd.Series
    survivors: pd.DataFrame
    merges: pd.DataFrame
    reconciled: Any
    verification: pd.DataFrame
    dose_facts: pd.DataFrame
    person_facts: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)

    def conservation(self) -> dict[str, int]:
        return {"raw": self.raw_rows, "cleansed": len(self.reconciled.data),
                "merged_duplicates": len(self.reconciled.merged),
                "quarantined": len(self.clean.quarantine)}


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


def build_dose_facts(raw: pd.DataFrame, clean_result: Any, reconciled: Any, site_district: pd.Series,
                     person_of_ref: pd.Series) -> pd.DataFrame:
    """One row per raw platform row, no personal data: where it was given, its state, signing."""
    kept = reconciled.data
    merged = reconciled.merged
    typed = pd.concat([kept.assign(state="kept"), merged.assign(state="merged")], ignore_index=True)
    cols = ["record_id", "state", "site_code", "site_name", "commune_code", "sign_status", "entered_at",
            "signed_at", "dose_date", "vaccine", "person_ref"]
    typed = typed[[c for c in cols if c in typed.columns]]
    q = clean_result.quarantine
    qf = pd.DataFrame({"record_id": q.record_id.astype(str), "state": "quarantined",
                       "site_code": q.site_code.astype(str),
                       "site_name": q.get("site_name", pd.Series(pd.NA, index=q.index)),
                       "commune_code": q.commune_code, "sign_status": q.sign_status,
                       "entered_at": pd.NaT, "signed_at": pd.NaT, "dose_date": pd.NaT, "vaccine": pd.NA,
                       "person_ref": q.person_ref})
    facts = pd.concat([typed, qf], ignore_index=True)
    facts["dose_seq"] = facts.record_id.map(kept.set_index("record_id").dose_seq) if "dose_seq" in kept else pd.NA
    raw_district = raw.set_index("record_id").district_code
    facts["district_code"] = facts.site_code.map(site_district).fillna(facts.record_id.map(raw_district))
    facts["person_id"] = facts.person_ref.map(person_of_ref)
    for col in ("entered_at", "signed_at", "dose_date"):
        facts[col] = pd.to_datetime(facts[col])
    return facts.drop(columns=["person_ref"]).sort_values("record_id", kind="stable").reset_index(drop=True)


def check_conservation(counts: dict[str, int]) -> None:
    """Raise ``ConservationError`` unless raw = cleansed + merged duplicates + quarantined."""
    if counts["raw"] != counts["cleansed"] + counts["merged_duplicates"] + counts["quarantined"]:
        raise ConservationError(f"row conservation failed: {counts}")


def example_params(scale: float = 0.001, seed: int = 7) -> Path:
    """A tiny synthetic province for notebooks opened without parameters (and for nbval).

    Generated once into the system temp folder and reused.
    """
    from vaxreport import __version__, synth

    folder = Path(tempfile.gettempdir()) / f"vaxreport-example-{__version__}-{scale}-{seed}"
    params = folder / "params.yaml"
    if not params.exists():
        tmp = Path(tempfile.mkdtemp(prefix="vaxreport-example-"))
        synth.generate(tmp, scale=scale, seed=seed)
        try:
            tmp.rename(folder)
        except OSError:  # another process won the race
            pass
    return params


def timed(timings: dict[str, float], name: str):
    """Context manager adding the seconds spent in a block to ``timings[name]``."""

    class _Timer:
        def __enter__(self) -> None:
            self.t0 = time.perf_counter()

        def __exit__(self, *exc: object) -> None:
            timings[name] = round(timings.get(name, 0.0) + time.perf_counter() - self.t0, 3)

    return _Timer()


__all__ = ["StageOne", "age_group", "person_records", "build_dose_facts", "check_conservation",
           "example_params", "commune_district_map", "np"]
