"""Reference tables shipped as package data (editable CSVs in ``vaxreport/data/``).

Each loader returns a fresh DataFrame of strings (codes keep their leading zeros).

Examples:
    >>> cccd_provinces().loc[lambda d: d.cccd_code == "019", "province_name"].item()
    'Thái Nguyên'
    >>> vaccines().set_index("vaccine_code").loc["PFIZER", "eu_product"]
    'EU/1/20/1528'
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import pandas as pd

DATA = resources.files("vaxreport") / "data"


@lru_cache(maxsize=None)
def _read(name: str) -> pd.DataFrame:
    with (DATA / name).open("rb") as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False, encoding="utf-8")


def table(name: str) -> pd.DataFrame:
    """A copy of the shipped table ``vaxreport/data/<name>.csv``."""
    return _read(f"{name}.csv").copy()


def cccd_provinces() -> pd.DataFrame:
    """CCCD province-of-birth codes (TT 07/2016 Annex I): ``cccd_code, province_name``."""
    return table("cccd_provinces")


def vaccines() -> pd.DataFrame:
    """Vaccine products: canonical name, EU DCC codes, primary schedule, aliases (``|``-joined)."""
    df = table("vaccines")
    for col in ("primary_doses", "min_interval_days", "min_age"):
        df[col] = df[col].astype(int)
    df["passport_eligible"] = df["passport_eligible"].eq("true")
    return df


def booster_rules() -> pd.DataFrame:
    """Minimum days between a booster and the previous dose, by date of rule and age range."""
    df = table("booster_rules")
    for col in ("dose_number", "age_min", "age_max", "min_days_after_previous"):
        df[col] = df[col].astype(int)
    for col in ("valid_from", "valid_to"):
        df[col] = pd.to_datetime(df[col])
    return df


def phone_migration() -> pd.DataFrame:
    """The 2018 11→10-digit mobile prefix migration: ``old_prefix, new_prefix, carrier``."""
    return table("phone_migration")
