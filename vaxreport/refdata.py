"""Reference tables shipped as package data (editable CSVs in ``vaxreport/data/``).

Each loader returns a fresh DataFrame of strings (codes keep their leading zeros).

Examples:
    >>> cccd_provinces().loc[lambda d: d.cccd_code == "019", "province_name"].item()
    'Thái Nguyên'
    >>> vaccines().set_index("vaccine_code").loc["PFIZER", "eu_product"]
    'EU/1/20/1528'
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from functools import cache
from importlib import resources

import pandas as pd

DATA = resources.files("vaxreport") / "data"


@cache
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


#: Units returned when no date is given: those in force at the end of 2022, the year of the seed
#: report (runs pass their period end instead).
DEFAULT_UNITS_DATE = date(2022, 12, 31)
ADMIN_COLUMNS = ["province_code", "province_name", "district_code", "district_name", "district_type",
                 "district_short", "commune_code", "commune_name", "commune_type"]


def admin_unit_history(province_code: str | None = None) -> pd.DataFrame:
    """Every dated row of ``admin_units.csv``: the nine unit columns plus ``valid_from`` and
    ``valid_to`` (ISO dates, both inclusive), one row per commune and unchanged run of GSO lists.

    Args:
        province_code: 2-digit GSO province code to keep, or ``None`` for all.

    Returns:
        A fresh DataFrame of strings, sorted by codes and ``valid_from``.

    Examples:
        >>> h = admin_unit_history("31")
        >>> h.loc[h.commune_name == "Phường Cầu Đất", ["commune_code", "valid_from", "valid_to"]].values.tolist()
        [['11344', '2022-04-10', '2024-04-30'], ['11353', '2021-02-01', '2022-04-09']]
    """
    df = table("admin_units")
    if province_code is None:
        return df
    if province_code not in set(df["province_code"]):
        raise ValueError(f"province_code must be a 2-digit GSO code in admin_units.csv, got {province_code!r}")
    return df.loc[df["province_code"] == province_code].reset_index(drop=True)


def admin_units_coverage() -> tuple[date, date]:
    """First and last day ``admin_units(on=...)`` can answer for (the GSO lists used)."""
    df = _read("admin_units.csv")
    return date.fromisoformat(df["valid_from"].min()), date.fromisoformat(df["valid_to"].max())


def admin_units(province_code: str | None = "19", *, on: date | None = None) -> pd.DataFrame:
    """Pre-2025 administrative units in force on a day, one row per commune (GSO codes as strings).

    Columns: ``province_code, province_name, district_code, district_name, district_type,
    district_short, commune_code, commune_name, commune_type``. Built from the dated GSO lists by
    ``scripts/build_admin_units.py``; see ``data/PROVENANCE.md``.

    Args:
        province_code: 2-digit GSO province code to keep ("19" Thái Nguyên); ``None`` for all 63.
        on: the day whose units are wanted (a run passes its period end); default
            ``DEFAULT_UNITS_DATE`` (31/12/2022).

    Returns:
        A fresh DataFrame sorted by codes, with a default RangeIndex.

    Raises:
        ValueError: If ``province_code`` is not a code in the table, or ``on`` lies outside the
            dates the table covers (``admin_units_coverage()``).

    Examples:
        >>> tn = admin_units()
        >>> len(tn), tn.district_code.nunique()
        (178, 9)
        >>> tn.loc[tn.commune_code == "05854", ["district_short", "commune_name"]].values.tolist()
        [['TP Phổ Yên', 'Phường Bãi Bông']]
        >>> q1 = admin_units("19", on=date(2022, 3, 31)).set_index("commune_code")
        >>> q1.loc["05854", ["district_short", "commune_name"]].tolist()  # before 10/04/2022
        ['TX Phổ Yên', 'Phường Bãi Bông']
        >>> admin_units(None).province_code.nunique()
        63
    """
    on = DEFAULT_UNITS_DATE if on is None else on
    if isinstance(on, datetime):
        on = on.date()
    first, last = admin_units_coverage()
    if not first <= on <= last:
        raise ValueError(f"admin_units covers {first} to {last} (the GSO lists used), got on={on}")
    df = admin_unit_history(province_code)
    day = on.isoformat()
    keep = (df["valid_from"] <= day) & (df["valid_to"] >= day)
    return df.loc[keep, ADMIN_COLUMNS].reset_index(drop=True)


def admin_units_of(province_codes: Sequence[str], *, on: date | None = None) -> pd.DataFrame:
    """:func:`admin_units` of several provinces (a run that covers more than one), in the order
    given: GSO district and commune codes are national, so the rows never clash.

    Examples:
        >>> two = admin_units_of(["19", "06"])
        >>> two.province_code.unique().tolist(), len(two) == len(admin_units("19")) + len(admin_units("06"))
        (['19', '06'], True)
    """
    units = [admin_units(code, on=on) for code in dict.fromkeys(province_codes)]
    return units[0] if len(units) == 1 else pd.concat(units, ignore_index=True)


def commune_successors() -> pd.DataFrame:
    """Commune codes retired between two GSO lists and the code that took over.

    Columns: ``old_code, old_name, old_district, retired_on, new_code, new_name, basis``;
    ``new_code`` is empty where the lists do not say which unit took over (``basis`` starts
    with "ambiguous"). Built with ``admin_units.csv`` by ``scripts/build_admin_units.py``.

    Examples:
        >>> s = commune_successors().set_index("old_code")
        >>> s.loc["11353", ["new_code", "retired_on"]].tolist()
        ['11344', '2022-04-10']
    """
    return table("commune_successors")


def districts(province_code: str | None = "19", *, on: date | None = None) -> pd.DataFrame:
    """District-level units of a province (or all), with their number of communes.

    Args:
        province_code: 2-digit GSO province code, or ``None`` for every province.
        on: the day whose units are wanted (see :func:`admin_units`).

    Returns:
        ``province_code, province_name, district_code, district_name, district_type,
        district_short, n_communes``, one row per district, sorted by code.

    Examples:
        >>> d = districts()
        >>> d[["district_code", "district_short", "n_communes"]].head(3).values.tolist()
        [['164', 'TP Thái Nguyên', 32], ['165', 'TP Sông Công', 10], ['167', 'Định Hóa', 23]]
    """
    keys = ["province_code", "province_name", "district_code", "district_name", "district_type", "district_short"]
    units = admin_units(province_code, on=on)
    return units.groupby(keys, sort=True).size().rename("n_communes").reset_index()
