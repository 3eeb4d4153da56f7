"""The phone parser: Vietnamese mobile numbers in their national 10-digit form, and the 2018 migration table.

Examples:
    >>> parse_phones(pd.Series(["+84 912 345 678", "01686123456"]))["value"].tolist()
    ['0912345678', '0386123456']
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import pandas as pd
import phonenumbers

from vaxreport import refdata
from vaxreport.cleansing.columns import na_str, on_noncanonical, to_text

__all__ = ["parse_phones", "phone_migration", "vn_mobile_pattern"]

NA = pd.NA


@lru_cache(maxsize=1)
def vn_mobile_pattern() -> str:
    """libphonenumber's pattern for Vietnamese mobile national numbers (9 digits after the 0).

    RE2-safe (``[0-9]`` for ``\\d``), for pandas and Arrow regexes alike; read once.

    Examples:
        >>> import re
        >>> bool(re.fullmatch("0(?:" + vn_mobile_pattern() + ")", "0912345678"))
        True
    """
    md = phonenumbers.PhoneMetadata.metadata_for_region("VN")
    assert md is not None and md.mobile is not None and md.mobile.national_number_pattern
    return md.mobile.national_number_pattern.replace("\\d", "[0-9]")  # RE2-safe on any data


@lru_cache(maxsize=1)
def phone_migration() -> Mapping[str, str]:
    """The 2018 11→10-digit mobile migration: old 4-digit prefix → new 3-digit prefix.

    Read once from ``refdata.phone_migration()`` (``vaxreport/data/phone_migration.csv``) and
    cached: the one copy of the table for every module that undoes the migration (the parser
    here, person linkage). Do not modify the mapping returned.

    Examples:
        >>> phone_migration()["0168"]
        '038'
        >>> "01686123456"[:4] in phone_migration()
        True
    """
    t = refdata.phone_migration()
    return dict(zip(t["old_prefix"], t["new_prefix"], strict=True))


def _parse_phone_uniques(u: pd.Series) -> pd.DataFrame:
    raw = to_text(u)
    s = raw.str.strip()
    rule = na_str(s.index)
    # Several numbers in one cell: keep the first.
    many = s.str.contains(r"[0-9]{6,}.*[/,;|].*[0-9]{6,}|[0-9]{9,} *- *[0-9]{9,}",
                          regex=True).fillna(False)
    if many.any():
        first = s[many].str.extract(r"^[^0-9+]*(\+?[0-9 .\-()]+?) *(?:[/,;|]|  *- |$)", expand=False)
        s = s.mask(many, first.reindex(s.index))
    s = s.str.replace(r"^(\+?[0-9]+)\.0+$", r"\1", regex=True)  # Excel float (not "0912.345.000")
    plus = s.str.match(r"^ *\+").fillna(False)
    d = s.str.replace(r"[^0-9]", "", regex=True)
    kind = pd.Series(NA, index=s.index, dtype="str")
    # Country code: +84 / 0084 / 84 followed by a 9-digit (new) or 10-digit (old 01xx) number.
    cc = (plus & d.str.match(r"^84")) | d.str.match(r"^0084") | (
        d.str.fullmatch(r"84[0-9]{9}|841[0-9]{9}"))
    cc = cc.fillna(False)
    d = d.mask(cc, "0" + d.str.replace(r"^(?:00)?84", "", regex=True).str.lstrip("0"))
    kind = kind.mask(cc, "phone_country_code")
    # Lost leading zero (Excel number): 9 digits of a mobile, or 10 digits of an old 1xx number.
    lz = ~cc & d.str.fullmatch(r"[35789][0-9]{8}|1[2-9][0-9]{8}").fillna(False)
    d = d.mask(lz, "0" + d)
    kind = kind.mask(lz, "phone_restore_leading_zero")
    # 11-digit numbers of the 2018 migration.
    old = d.str.fullmatch(r"01[0-9]{9}").fillna(False)
    new_prefix = d.str[:4].map(phone_migration())
    mig = old & new_prefix.notna()
    d = d.mask(mig, new_prefix + d.str[4:])
    kind = kind.mask(mig, "phone_migrate_11_to_10")
    valid = d.str.fullmatch("0(?:" + vn_mobile_pattern() + ")").fillna(False)
    value = d.where(valid)
    fmt = valid & kind.isna() & value.ne(raw).fillna(True)
    kind = kind.mask(fmt, "phone_format")
    kind = kind.mask(many & valid, "phone_first_of_many")
    invalid = ~valid & s.notna() & s.ne("")
    rule = kind.where(valid, NA).mask(invalid, "phone_invalid")
    return pd.DataFrame({"value": value.astype("str"), "rule": rule, "valid": valid.astype(bool),
                         "invalid": invalid.fillna(False).astype(bool)})


def parse_phones(values: pd.Series) -> pd.DataFrame:
    """Vietnamese mobile numbers in national 10-digit form ``0xxxxxxxxx``.

    Handles ``+84``/``84``/``0084`` prefixes, separators, Excel floats and lost leading zeros,
    several numbers in one cell (keeps the first) and the 2018 11→10-digit migration
    (``refdata.phone_migration``). Validity uses libphonenumber's Vietnamese mobile pattern
    (the ``phonenumbers`` metadata), applied to whole columns. Invalid values become NA with rule
    ``phone_invalid``. Does not mutate the input.

    Returns:
        DataFrame aligned to ``values``: ``value``, ``rule``, ``valid`` (bool), ``invalid``
        (bool: a non-empty value that could not be used).

    Examples:
        >>> r = parse_phones(pd.Series(["0084 912-345-678", "912345678", "12345", None]))
        >>> r["value"].tolist()
        ['0912345678', '0912345678', nan, nan]
        >>> r["rule"].tolist()
        ['phone_country_code', 'phone_restore_leading_zero', 'phone_invalid', nan]
    """
    out = on_noncanonical(to_text(values), "^0(?:" + vn_mobile_pattern() + ")$",
                              _parse_phone_uniques, keep=("value",), true=("valid",),
                              false=("invalid",))
    for col in ("valid", "invalid"):
        out[col] = out[col].fillna(False).astype(bool)
    return out

