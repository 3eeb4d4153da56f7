"""Cleansing step for ID numbers: CCCD/CMND/passport normalised and the CCCD's digits checked against the person.

A CCCD is ``PPP G YY NNNNNN``: ``PPP`` the province of birth registration (``ids.cccd_province_codes``),
``G`` the century and sex (0/1 a man/woman born 1900-1999, 2/3 2000-2099), ``YY`` the last two
digits of the birth year. ``standardise_ids`` restores leading zeros Excel dropped only when the
digits agree with the birth date, and flags every check that fails (``ID_FLAGS``) without
changing the value. Follows the step protocol (``protocol``).

Examples:
    >>> df = pd.DataFrame({"id_number": ["19080000123"], "birth_date": pd.to_datetime(["1980-01-01"]),
    ...                    "gender": ["M"]})
    >>> standardise_ids(df, CleanParams())[["id_number", "id_valid"]].values.tolist()
    [['019080000123', True]]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from vaxreport.cleansing.columns import arrow, fixed_width_bytes, to_text
from vaxreport.cleansing.ids import PASSPORT, cccd_province_codes, parse_ids
from vaxreport.cleansing.protocol import RULE, CleanParams, drop_flags, flags_join
from vaxreport.schemas import require_columns

__all__ = ["ID_FLAGS", "standardise_ids"]

# Flag codes, in the order they are listed in ``id_flags``.
ID_FLAGS = ("id_missing", "id_not_digits", "id_excel_lost_digits", "id_bad_length",
            "id_placeholder", "cmnd9", "passport", "cccd_bad_province", "cccd_century_mismatch",
            "cccd_sex_mismatch", "cccd_year_mismatch")
# Flags that make an ID unusable (``id_valid`` False).
_ID_INVALID = frozenset(ID_FLAGS) - {"cmnd9", "passport"}


def standardise_ids(df: pd.DataFrame, params: CleanParams) -> pd.DataFrame:
    """Normalise ``id_number`` and check CCCD structure against birth date and gender.

    Strips labels and separators and undoes Excel damage only where the digits are certain
    (``parse.parse_ids``). A 10- or 11-digit value gets its leading zeros back when the padded
    ``0xx`` is a province code and, if the birth date is known, the century and year digits
    agree with it; an 8-digit value becomes a 9-digit CMND (rule ``id_restore_leading_zero``). Checks, each a
    flag in ``id_flags`` and never a fix:
    ``id_missing``, ``id_not_digits``, ``id_excel_lost_digits``, ``id_bad_length``,
    ``id_placeholder``, ``cmnd9`` (9-digit CMND, accepted), ``passport`` (one or two letters
    and 6-8 digits, kept with its letters, accepted), ``cccd_bad_province``,
    ``cccd_century_mismatch``, ``cccd_sex_mismatch``, ``cccd_year_mismatch``. ``id_valid`` is
    True for a 12-digit CCCD passing every check, a 9-digit CMND or a passport. Needs
    ``birth_date`` parsed and ``gender`` standardised. Does not mutate the input.

    Examples:
        >>> df = pd.DataFrame({"id_number": ["019080000123", "19080000123", "019280000123", "090123456",
        ...                                  "Hộ chiếu: c1234567"],
        ...                    "birth_date": pd.to_datetime(["1980-01-01"] * 5), "gender": ["M"] * 5})
        >>> out = standardise_ids(df, CleanParams())
        >>> out[["id_number", "id_flags", "id_valid"]].values.tolist()
        [['019080000123', '', True], ['019080000123', '', True], ['019280000123', \
'cccd_century_mismatch', False], ['090123456', 'cmnd9', True], ['C1234567', 'passport', True]]
    """
    require_columns(df, ["id_number", "birth_date", "gender"], "doses")
    r = parse_ids(df["id_number"])
    birth = df["birth_date"]
    year = birth.dt.year.to_numpy(dtype="float64", na_value=np.nan)
    base = np.floor((year - 1900) / 100) * 2  # century digit of a man; +1 for a woman
    gender = arrow(to_text(df["gender"]))
    sex = np.where(np.asarray(pc.equal(gender, "M").fill_null(False), bool), 0.0,
                   np.where(np.asarray(pc.equal(gender, "F").fill_null(False), bool), 1.0, np.nan))
    value, rule = _restore_leading_zeros(r, df.index, year, base)
    existing = df["id_flags"] if "id_flags" in df else None
    if existing is not None:  # keep only the flags recording information already lost
        existing = drop_flags(existing, set(ID_FLAGS) - {"id_excel_lost_digits", "id_not_digits"})
    parts, right_length = _id_checks(r, value, existing, year, base, sex)
    flags = flags_join(parts, ID_FLAGS, df.index, existing)
    invalid = np.zeros(len(df), dtype=bool)
    for code, mask in parts:
        if code in _ID_INVALID:
            invalid |= mask.fillna(False).to_numpy(bool)
    valid = value.notna() & right_length & ~pd.Series(invalid, index=df.index)
    return df.assign(id_number=value, id_flags=flags, id_valid=valid.astype(bool),
                     **{RULE + "id_number": rule})


def _cccd_fields(v: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(12 digits?, province code, century/sex digit, year digits) of each value, read
    from its bytes; NaN where the value is not 12 digits."""
    arr = arrow(to_text(v))
    rows = np.flatnonzero(np.asarray(
        pc.match_substring_regex(arr, "^[0-9]{12}$").fill_null(False), bool))
    prov, g, y = (np.full(len(v), np.nan) for _ in range(3))
    if len(rows):
        b = fixed_width_bytes(arr.take(pa.array(rows)), 12)

        def num(*cols: int) -> np.ndarray:
            out = np.zeros(len(rows), dtype="float64")
            for c in cols:
                out = out * 10 + (b[:, c] - 48)
            return out

        prov[rows], g[rows], y[rows] = num(0, 1, 2), num(3), num(4, 5)
    ok = np.zeros(len(v), dtype=bool)
    ok[rows] = True
    return ok, prov, g, y


def _restore_leading_zeros(r: pd.DataFrame, index: pd.Index, year: np.ndarray,
                           base: np.ndarray) -> tuple[pd.Series, pd.Series]:
    """(value, rule) of ``parse_ids`` result ``r`` with the leading zeros Excel dropped put back
    where the padded value is certain: a CCCD whose century and year digits agree with the
    birth year (when known), or a CMND."""
    value, rule = r["value"], r["rule"]
    known = ~np.isnan(year)
    padded = r["padded"]
    is_cccd, _, gp, yp = _cccd_fields(padded)
    agree = ~is_cccd | ~known | ((np.floor(gp / 2) * 2 == base) & (yp == year % 100))
    restore_s = pd.Series(r["restorable"].to_numpy(bool) & agree, index=index)
    if restore_s.any():
        value = value.mask(restore_s, padded)
        rule = rule.mask(restore_s, "id_restore_leading_zero")
    return value, rule


def _id_checks(r: pd.DataFrame, value: pd.Series, existing: pd.Series | None, year: np.ndarray,
               base: np.ndarray, sex: np.ndarray) -> tuple[list[tuple[str, pd.Series]], pd.Series]:
    """(every ``ID_FLAGS`` code with the rows it marks, in order; rows of 9 or 12 digits).

    ``existing``: the row's earlier ``id_flags`` still meaningful (digits already lost).
    """
    index = value.index
    known = ~np.isnan(year)
    n = np.asarray(pc.utf8_length(arrow(to_text(value))).fill_null(-1), dtype=np.int64)
    is12, is9 = pd.Series(n == 12, index=index), pd.Series(n == 9, index=index)
    passport = value.str.fullmatch(PASSPORT).fillna(False).astype(bool)
    is12, is9 = is12 & ~passport, is9 & ~passport
    _, prov, g, y = _cccd_fields(value)
    provinces = np.array(sorted(int(c) for c in cccd_province_codes()), dtype="float64")
    placeholder = value.str.fullmatch("|".join(f"{d}+" for d in "0123456789")
                                      + "|0*123456789[0-9]{0,3}|0+[0-9]{0,3}").fillna(False)

    def s_(a: np.ndarray) -> pd.Series:
        return pd.Series(a, index=index)

    lost = existing.ne("").to_numpy(bool) if existing is not None else np.zeros(len(index), dtype=bool)
    parts = [
        ("id_missing", value.isna() & r["flag"].isna() & ~s_(lost)),
        ("id_not_digits", r["flag"].eq("id_not_digits")),
        ("id_excel_lost_digits", r["flag"].eq("id_excel_lost_digits")),
        ("id_bad_length", value.notna() & ~is12 & ~is9 & ~passport),
        ("id_placeholder", placeholder),
        ("cmnd9", is9),
        ("passport", passport),
        ("cccd_bad_province", is12 & ~s_(np.isin(prov, provinces))),
        ("cccd_century_mismatch", s_(known & ~np.isnan(g) & (np.floor(g / 2) * 2 != base))),
        ("cccd_sex_mismatch", s_(~np.isnan(sex) & ~np.isnan(g) & (g % 2 != sex))),
        ("cccd_year_mismatch", s_(known & ~np.isnan(y) & (y != year % 100))),
    ]
    return parts, is12 | is9 | passport
