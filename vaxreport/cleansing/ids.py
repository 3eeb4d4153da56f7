"""The ID-number parser: CCCD (12 digits), CMND (9 digits) and passports (``C1234567``) as exported,
labels, separators and Excel damage.

Only digits that are certain are recovered. The row-level checks that need other columns (the
CCCD's century, sex and year digits against birth date and gender) are the step
``steps_ids.standardise_ids``.

Examples:
    >>> parse_ids(pd.Series(["CCCD: 019 090 000 123", "1.9E+11"]))["value"].tolist()
    ['019090000123', nan]
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from vaxreport import refdata
from vaxreport.cleansing.columns import na_str, on_noncanonical, to_text

__all__ = ["cccd_province_codes", "parse_ids"]

NA = pd.NA
#: A passport number as kept: one or two capital letters and 6-8 digits (Vietnamese passports:
#: one letter and 7 digits, "C1234567"; many foreign ones alike).
PASSPORT = r"[A-Z]{1,2}[0-9]{6,8}"
#: An optional label before a passport number ("Hộ chiếu: ", "HC ", "Passport No. ").
PASSPORT_LABEL = (r"(?i)^ *(?:(?:s[ốo] *)?(?:h[ộo] *chi[ếe]u|passport(?: *no\.?)?|hc|pp)"
                  r"[^A-Za-z0-9]*)?")


@lru_cache(maxsize=1)
def cccd_province_codes() -> frozenset[str]:
    """The three-digit province codes a CCCD starts with (``refdata.cccd_provinces``), read once.

    Examples:
        >>> "019" in cccd_province_codes()
        True
    """
    return frozenset(refdata.cccd_provinces()["cccd_code"])


def _parse_id_uniques(u: pd.Series) -> pd.DataFrame:
    s = to_text(u).str.strip()
    n = len(s)
    value = s.copy()
    rule = na_str(s.index)
    flag = na_str(s.index)

    # Excel scientific notation: "1.9E+11" has lost digits; "1.90900001234E+11" has not.
    maybe_sci = s.str.contains("[eE]", regex=True).fillna(False)
    is_sci = pd.Series(False, index=s.index)
    if maybe_sci.any():
        sci = s[maybe_sci].str.extract(r"^(?P<m>[0-9]+)(?:[.,](?P<f>[0-9]*))?[eE]\+?(?P<e>[0-9]+)$")
        sci = sci.reindex(s.index)
        is_sci = sci["m"].notna()
        mant = (sci["m"].fillna("") + sci["f"].fillna("")).str.lstrip("0")
        exp = pd.to_numeric(sci["e"], errors="coerce").fillna(0).astype(int)
        lead = sci["m"].fillna("").str.lstrip("0").str.len()
        width = exp + lead  # digits of the integer the notation stands for
        exact = is_sci & mant.str.len().eq(width) & lead.eq(1)
        value = value.mask(exact, mant)
        rule = rule.mask(exact, "id_excel_scientific")
        lost = is_sci & ~exact
        value = value.mask(lost, NA)
        rule = rule.mask(lost, "id_excel_lost_digits")
        flag = flag.mask(lost, "id_excel_lost_digits")

    # Excel float rendering "19090000123.0".
    flt = value.str.fullmatch(r"[0-9]+\.0+") & rule.isna()
    value = value.mask(flt, value.str.replace(r"\.0+$", "", regex=True))
    rule = rule.mask(flt, "id_excel_float")

    # Labels and separators: "CCCD: 019 090 000 123", "019.090.000.123", "019-090-000-123".
    label = value.str.fullmatch(r"(?i) *(?:s[ốo] *)?(?:cccd|cmnd|cmt|c[ăa]n *c[ưu][ớo]c|cc)"
                                r"[^0-9]*[0-9][0-9 .\-]*")
    stripped = value.str.replace(r"^[^0-9]*", "", regex=True).where(label, value)
    sep = (stripped.str.fullmatch("[0-9][0-9 .\\-\u00a0]*[0-9]")
           & stripped.str.contains("[ .\\-\u00a0]"))
    stripped = stripped.mask(sep, stripped.str.replace("[ .\\-\u00a0]", "", regex=True))
    changed = stripped.ne(value).fillna(False) & rule.isna()
    rule = rule.mask(changed & label, "id_strip_label").mask(changed & ~label, "id_strip_separators")
    value = stripped

    value = value.mask(value.eq(""), NA)
    # A passport (Vietnamese: one letter and 7 digits, "C1234567"; foreign: one or two letters
    # and 6-8 digits), with or without a label, spaces or lower case: kept with its letters.
    pp = value.str.extract(PASSPORT_LABEL + r"(?P<p>[A-Za-z]{1,2}[ .\-]?[0-9][0-9 .\-]{4,9}[0-9])$")["p"]
    pp = pp.str.replace(r"[ .\-]", "", regex=True).str.upper()
    pp = pp.where(pp.str.fullmatch(PASSPORT).fillna(False))
    is_pp = pp.notna() & value.notna()
    rule = rule.mask(is_pp & pp.ne(value).fillna(False) & rule.isna(), "id_passport")
    value = value.mask(is_pp, pp)
    # Letter O typed for the digit 0 in an otherwise numeric CCCD/CMND ("O19054491468").
    oh = value.str.fullmatch(r"[0-9Oo]{9}|[0-9Oo]{12}").fillna(False) & value.str.contains("[Oo]")
    value = value.mask(oh, value.str.replace("[Oo]", "0", regex=True))
    rule = rule.mask(oh, "id_letter_o")
    digits = value.str.fullmatch(r"[0-9]+").fillna(False)
    bad = value.notna() & ~digits & ~value.str.fullmatch(PASSPORT).fillna(False)
    value = value.mask(bad, NA)
    rule = rule.mask(bad, "id_not_digits")
    flag = flag.mask(bad, "id_not_digits")

    # Leading zeros Excel dropped: a 10- or 11-digit value whose zero-padded prefix is a CCCD
    # province code (019…, 006…), or an 8-digit value (a 9-digit CMND starting with 0).
    length = value.str.len()
    z12 = value.str.zfill(12)
    cccd = digits & length.isin([10, 11]) & z12.str[:3].isin(cccd_province_codes())
    cmnd = digits & length.eq(8)
    padded = z12.where(cccd, value.str.zfill(9).where(cmnd))
    return pd.DataFrame({"value": value, "rule": rule, "flag": flag,
                         "padded": padded.astype("str"),
                         "restorable": padded.notna().fillna(False).astype(bool)},
                        index=range(n))


def parse_ids(values: pd.Series) -> pd.DataFrame:
    """Normalise CCCD/CMND numbers: strip labels and separators, undo Excel damage.

    Recovers only digits that are certain: ``19090000123.0`` (Excel float) and
    ``1.90900001234E+11`` (all 12 digits shown) are restored; ``1.9E+11`` has lost digits and
    becomes NA with flag ``id_excel_lost_digits``. Text that is not a number becomes NA with flag
    ``id_not_digits``. A 10- or 11-digit value whose zero-padded prefix ``0xx`` is a CCCD
    province code, or an 8-digit value (9-digit CMND), has lost leading zeros to Excel: it is
    marked ``restorable`` with its ``padded`` form, and the caller restores it after checking
    the CCCD digits against the birth date. Does not mutate the input.

    Returns:
        DataFrame aligned to ``values``: ``value`` (digit string or NA), ``rule``, ``flag``,
        ``padded`` (the zero-padded candidate or NA) and ``restorable`` (bool).

    Examples:
        >>> r = parse_ids(pd.Series(["019 090 000 123", "1.9E+11", "19090000123.0", "không có"]))
        >>> r["value"].tolist()
        ['019090000123', nan, '19090000123', nan]
        >>> r["rule"].tolist()
        ['id_strip_separators', 'id_excel_lost_digits', 'id_excel_float', 'id_not_digits']
        >>> r["restorable"].tolist()
        [False, False, True, False]
    """
    out = on_noncanonical(to_text(values), f"^(?:[0-9]{{9}}|[0-9]{{12}}|{PASSPORT})$", _parse_id_uniques,
                              keep=("value",), false=("restorable",))
    out["restorable"] = out["restorable"].fillna(False).astype(bool)
    return out

