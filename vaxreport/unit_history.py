"""Commune codes over time: map a code retired since the dose date forward to its successor.

GSO codes are never reused, but units merge, split and get new codes: Hải Phòng's Phường Cầu Đất
was 11353 until the list of 10/04/2022 and is 11344 since. A record entered with the code valid
on its dose date is right for that day; the report counts it under the unit in force at the
period's end. ``refdata.commune_successors()`` (built with the dated table by
``scripts/build_admin_units.py``) says which code took over; where the GSO lists do not say
(four phường of Huế dissolved in 2021 into several neighbours), the code is kept and flagged.

Works on the unique (code, dose date) pairs of a column, never row by row.

Examples:
    >>> import datetime as dt
    >>> out = retired_commune_codes(pd.Series(["11353", "05443", "19744", None]),
    ...                             pd.Series(pd.to_datetime(["2021-09-01"] * 4)),
    ...                             on=dt.date(2022, 5, 31))
    >>> out.fillna("-").values.tolist()
    [['11344', 'admin_commune_successor', '-'], ['05443', '-', '-'], \
['19744', '-', 'commune_retired_ambiguous'], ['-', '-', '-']]
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import numpy as np
import pandas as pd

from vaxreport import refdata

RULE_SUCCESSOR = "admin_commune_successor"
FLAG_AMBIGUOUS = "commune_retired_ambiguous"
FLAG_NOT_VALID_ON_DOSE = "commune_not_valid_on_dose_date"


@lru_cache(maxsize=8)
def _tables(on: dt.date | None) -> tuple[frozenset[str], dict[str, str], pd.DataFrame]:
    """(codes in force on ``on``, retired code → successor or "", intervals of retired codes)."""
    in_force = frozenset(refdata.admin_units(None, on=on)["commune_code"])
    succ = refdata.commune_successors()
    # Chained successors may themselves have been retired again after ``on``: only codes that
    # are not in force on ``on`` are mapped, and only to a code in force then.
    mapping = {o: (n if n in in_force else "") for o, n in zip(succ["old_code"], succ["new_code"])
               if o not in in_force}
    hist = refdata.admin_unit_history()
    hist = hist.loc[hist["commune_code"].isin(list(mapping)), ["commune_code", "valid_from", "valid_to"]]
    return in_force, mapping, hist


def has_retired_codes(codes: pd.Series, *, on: dt.date | None = None) -> bool:
    """Whether any code of ``codes`` is retired on ``on`` (a quick check on distinct values).

    Examples:
        >>> has_retired_codes(pd.Series(["05443", "11353"]), on=dt.date(2022, 5, 31))
        True
    """
    _, mapping, _ = _tables(on)
    uniq = pd.unique(codes.dropna())
    return any((v.zfill(5) if v.isdigit() else v) in mapping for v in uniq if isinstance(v, str))


def retired_commune_codes(codes: pd.Series, dose_dates: pd.Series | None = None, *,
                          on: dt.date | None = None) -> pd.DataFrame:
    """For each row: the code in force on ``on``, the rule applied, and a flag.

    A code listed in ``refdata.commune_successors()`` and not in force on ``on`` becomes its
    successor (rule ``admin_commune_successor``); when the GSO lists do not name one, the code
    is kept and flagged ``commune_retired_ambiguous``. A mapped code that was not valid on the
    row's dose date either (typed years after it was retired) is also flagged
    ``commune_not_valid_on_dose_date``. Other codes, names and NA pass through (rule and flag
    None). Does not mutate the input.

    Args:
        codes: commune codes as strings (5 digits; shorter digit strings are looked up padded).
        dose_dates: the rows' dose dates (datetime64), or None to skip the dose-date check.
        on: the day whose units are in force (a run's period end); default that of
            ``refdata.admin_units``.

    Returns:
        A DataFrame on ``codes.index`` with object columns ``value``, ``rule``, ``flag``.

    Examples:
        >>> retired_commune_codes(pd.Series(["5764", "05851"]), on=dt.date(2023, 6, 30)).value.tolist()
        ['05851', '05851']
    """
    in_force, mapping, hist = _tables(on)
    # Only the distinct codes are looked at; rows follow through their factor codes.
    fcodes, uniq = pd.factorize(codes)
    padded = [v.zfill(5) if isinstance(v, str) and v.isdigit() and len(v) < 5 else v for v in uniq]
    u_new = [mapping.get(p) if isinstance(p, str) else None for p in padded]  # None: not retired
    if not any(n is not None for n in u_new):
        return pd.DataFrame({"value": codes.astype(object).where(codes.notna(), None),
                             "rule": None, "flag": None}, index=codes.index)
    value = codes.astype(object).where(codes.notna(), None).to_numpy(dtype=object).copy()
    rule = np.full(len(codes), None, dtype=object)
    flag = np.full(len(codes), None, dtype=object)
    u_retired = np.array([n is not None for n in u_new] + [False])
    hit = u_retired[fcodes]  # code -1 (NA) picks the trailing False
    rows = np.flatnonzero(hit)
    old = np.array(padded, dtype=object)[fcodes[rows]]
    new = np.array([u_new[c] for c in fcodes[rows]], dtype=object)
    mapped = new != ""
    value[rows[mapped]] = new[mapped]
    rule[rows[mapped]] = RULE_SUCCESSOR
    flag[rows[~mapped]] = FLAG_AMBIGUOUS
    if dose_dates is not None:
        when = pd.to_datetime(dose_dates, errors="coerce").to_numpy()[rows]
        pairs = pd.DataFrame({"code": old, "day": when}).drop_duplicates()
        pairs = pairs[pairs["day"].notna()]
        ok = pairs.merge(hist, left_on="code", right_on="commune_code")
        day = ok["day"].dt.strftime("%Y-%m-%d")
        ok = ok[(ok["valid_from"] <= day) & (day <= ok["valid_to"])][["code", "day"]].drop_duplicates()
        bad = pairs.merge(ok, how="left", indicator=True)
        bad = bad[bad["_merge"] == "left_only"]
        bad_keys = set(zip(bad["code"], bad["day"]))
        not_valid = np.array([(c, d) in bad_keys for c, d in zip(old, when)], dtype=bool)
        flag[rows[not_valid & mapped]] = FLAG_NOT_VALID_ON_DOSE
    return pd.DataFrame({"value": value, "rule": rule, "flag": flag}, index=codes.index)
