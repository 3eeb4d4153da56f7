"""Cleansing step for admin units: province, district and commune codes checked against the reference list.

Follows the step protocol (``protocol``): repairs are recorded in ``__rule__<col>``, unmatched
values are kept and flagged in ``__flag__<col>``.

Examples:
    >>> out = match_admin_units(pd.DataFrame({"district_code": ["164"], "commune_code": ["5443"]}),
    ...                         CleanParams())
    >>> out[["commune_code", "__rule__commune_code"]].values.tolist()
    [['05443', 'admin_pad_code']]
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from vaxreport import refdata, unit_history
from vaxreport.cleansing.columns import take_str, to_text
from vaxreport.cleansing.protocol import FLAG, RULE, CleanParams
from vaxreport.schemas import header_key, require_columns

__all__ = ["match_admin_units"]

# ----------------------------------------------------------------------------- admin units
_UNIT_PREFIX = (r"^(?:thanh pho|thi xa|thi tran|tinh|huyen|quan|phuong|xa|tp|tx|tt|q|h|p|x)"
                r"(?:\.\s*|\s+)")


def _unit_key(name: str) -> str:
    """Folded unit name without its type word: "Phường Hoàng Văn Thụ" → "hoang van thu"."""
    k = header_key(name)
    k = re.sub(r"[^a-z0-9 .]", " ", k)
    k = " ".join(k.split())
    return re.sub(_UNIT_PREFIX, "", k).replace(".", " ").strip()


@lru_cache(maxsize=8)
def _unit_tables(province_codes: tuple[str, ...], on: dt.date | None = None) -> dict[str, pd.DataFrame]:
    units = refdata.admin_units_of(province_codes, on=on)
    prov = refdata.admin_units(None, on=on)[["province_code", "province_name"]].drop_duplicates()
    dist = units[["district_code", "district_name", "province_code"]].drop_duplicates()
    comm = units[["commune_code", "commune_name", "district_code"]]
    out = {}
    for level, t in (("province", prov), ("district", dist), ("commune", comm)):
        t = t.set_axis(["code", "name", "parent"] if t.shape[1] == 3 else ["code", "name"], axis=1)
        if "parent" not in t:
            t = t.assign(parent="")
        out[level] = t.assign(key=t["name"].map(_unit_key), full=t["name"].map(header_key))
    return out


def _match_unit(value: str, parent: str | None, table: pd.DataFrame, width: int,
                threshold: float) -> tuple[str, str | None, str | None]:
    """(code or original value, rule, flag) for one unique (value, parent) pair."""
    codes = set(table["code"])
    if value.isdigit():
        if value in codes:
            return value, None, None
        padded = value.zfill(width)
        if len(value) < width and padded in codes:
            return padded, "admin_pad_code", None
        return value, None, "unknown_code"
    cand = table
    if parent is not None and parent in set(table["parent"]):
        cand = table[table["parent"] == parent]
    key, full = _unit_key(value), header_key(value)
    if not key:
        return value, None, "unknown_name"
    for col in ("full", "key"):
        hit = cand[cand[col] == (full if col == "full" else key)]
        if len(hit["code"].unique()) == 1:
            return hit["code"].iloc[0], "admin_name_exact", None
        if len(hit) > 1:
            return value, None, "ambiguous_name"
    scores = process.extract(key, cand["key"].tolist(), scorer=fuzz.ratio, limit=2)
    if scores and scores[0][1] >= threshold:
        if len(scores) > 1 and scores[1][1] >= scores[0][1] - 2:
            return value, None, "ambiguous_name"
        return cand["code"].iloc[scores[0][2]], "admin_name_fuzzy", None
    return value, None, "unknown_name"


@lru_cache(maxsize=1)
def _former_parents() -> frozenset[tuple[str, str]]:
    """Every (commune code, district code) pair some GSO list of the dated table holds."""
    h = refdata.admin_unit_history()
    return frozenset(zip(h["commune_code"], h["district_code"]))


def map_retired_communes(df: pd.DataFrame, params: CleanParams) -> pd.DataFrame:
    """Map commune codes retired since (merged, renamed) to the code in force on ``units_on``.

    Rule ``admin_commune_successor``; flags ``commune_retired_ambiguous`` (no single successor
    in the GSO lists: kept as typed) and ``commune_not_valid_on_dose_date``. See
    ``unit_history.retired_commune_codes``. Does not mutate the input.

    Examples:
        >>> df = pd.DataFrame({"commune_code": ["11353", "05443"],
        ...                    "dose_date": pd.to_datetime(["2021-09-01", "2021-09-01"])})
        >>> map_retired_communes(df, CleanParams(units_on=dt.date(2022, 5, 31))).commune_code.tolist()
        ['11344', '05443']
    """
    require_columns(df, ["commune_code"], "doses")
    dates = df["dose_date"] if "dose_date" in df and pd.api.types.is_datetime64_any_dtype(df["dose_date"]) else None
    if not unit_history.has_retired_codes(to_text(df["commune_code"]), on=params.units_on):
        return df
    r = unit_history.retired_commune_codes(to_text(df["commune_code"]), dates, on=params.units_on)
    return df.assign(commune_code=to_text(r["value"]), **{RULE + "commune_code": to_text(r["rule"]),
                                                       FLAG + "commune_code": to_text(r["flag"])})


def match_admin_units(df: pd.DataFrame, params: CleanParams) -> pd.DataFrame:
    """Validate province/district/commune codes against ``refdata.admin_units``.

    Digit codes are kept when they exist, left-padded with zeros only when the padded code
    exists (``admin_pad_code``); names ("Phường Hoàng Văn Thụ", "xa phuc ha") are matched on
    folded names without the unit type, within the row's district when known, exactly
    (``admin_name_exact``) or with rapidfuzz ``ratio`` ≥ ``name_match_threshold``
    (``admin_name_fuzzy``). No match or a tie → the value is kept and flagged
    (``unknown_code``, ``unknown_name``, ``ambiguous_name``); a commune outside the row's
    district is flagged ``not_in_district``. Does not mutate the input.

    Examples:
        >>> df = pd.DataFrame({"district_code": ["164", "164", "164", "999"],
        ...                    "commune_code": ["5443", "Phường Hoàng Văn Thụ", "p. quang trung", "05443"]})
        >>> out = match_admin_units(df, CleanParams())
        >>> out[["district_code", "commune_code"]].values.tolist()
        [['164', '05443'], ['164', '05440'], ['164', '05446'], ['999', '05443']]
        >>> out["__flag__district_code"].tolist()
        [nan, nan, nan, 'unknown_code']
    """
    require_columns(df, ["district_code", "commune_code"], "doses")
    tables = _unit_tables(params.province_codes, params.units_on)
    new: dict[str, pd.Series] = {}
    parent: pd.Series | None = None
    for col, level, width in (("province_code", "province", 2), ("district_code", "district", 3),
                              ("commune_code", "commune", 5)):
        if col not in df:
            continue
        vals = to_text(df[col])
        if level == "district" and parent is None:
            parent = pd.Series(params.province_code, index=df.index, dtype="str")
        cv, uv = pd.factorize(vals)
        if parent is not None:
            cp, up = pd.factorize(parent)
        else:
            cp, up = np.zeros(len(vals), dtype="int64"), pd.Index([None])
        key = (cv.astype("int64") + 1) * (len(up) + 1) + (cp.astype("int64") + 1)
        codes, ukeys = pd.factorize(key)
        res: list[tuple[str | None, str | None, str | None]] = []
        ref_parent = dict(zip(tables["commune"]["code"], tables["commune"]["parent"]))
        districts = set(tables["district"]["code"])
        for k in ukeys:
            i, j = divmod(int(k), len(up) + 1)
            if i == 0:
                res.append((None, None, None))
                continue
            p = up[j - 1] if j > 0 else None
            p = p if isinstance(p, str) else None
            value, rule, flag = _match_unit(uv[i - 1], p, tables[level], width,
                                            params.name_match_threshold)
            if (level == "commune" and flag is None and p is not None and p in districts
                    and ref_parent.get(value, p) != p and (value, p) not in _former_parents()):
                flag = "not_in_district"
            res.append((value, rule, flag))
        value, rule, flag = (take_str([r[n] for r in res], codes, df.index) for n in range(3))
        new[col] = value
        new[RULE + col] = rule
        new[FLAG + col] = flag
        parent = value
    return df.assign(**new)
