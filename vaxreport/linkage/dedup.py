"""Person-level entity resolution: blocking, rapidfuzz comparisons, Fellegi–Sunter scoring,
guarded transitive clustering, survivor records and explanations.

The pipeline of :func:`cluster_persons`:

1. **Prepare** each field once on its unique values: names folded (NFD, marks stripped, đ→d,
   lower case, single spaces) and split Vietnamese style into surname (first token), middle and
   given name (last token); birth dates parsed to (year, month, day) from datetime64 or strings;
   IDs and phones reduced to digits (``+84``/``84`` and the 2018 11→10-digit migration undone).
2. **Block**: candidate pairs come from several cheap keys (:data:`BLOCKING_RULES`): ID and ID
   pigeonhole keys (any one typo or adjacent transposition leaves one key intact), phone,
   token-sorted name + birth year, given name + birth date with day/month order ignored, surname +
   birth date, name + commune, name + day/month, birth date + commune.  A block with more than
   ``cap`` records (a phone shared by a whole site, "Nguyễn Văn An" born 1990) only pairs each
   record with its ``window`` neighbours in name/date order: never a cross product.
3. **Compare** each field to an agreement level (:data:`LEVELS`) with vectorised numpy on integer
   codes and :func:`rapidfuzz.process.cpdist` on the *unique* pairs of name strings.
4. **Score**: the match weight is the sum of per-field log2(m/u) (Fellegi–Sunter).  ``u`` comes
   from the data itself: exact-agreement levels use the smoothed frequency of the shared value
   (term-frequency adjustment: "Nguyễn" or "An" weigh little, a rare given name a lot; a full
   name by its own frequency, not the product of its parts'; gender by the share of men among
   bearers of the given name), other levels the probability that two random records agree at
   that level, computed exactly from the value frequencies.  ``m`` start from reasoned priors
   (:data:`M_PRIORS`) and are estimated from the table by EM (:func:`_em`).  Two records
   sharing a household-sized phone or address are scored in a *household regime*
   (:data:`HOUSEHOLD_U`, also estimated by EM on household pairs): surname, birth date and given
   name then use u conditional on two different members of one household, so parents, children
   and twins sharing a phone or an address are not merged on that evidence.  Address implies
   commune: the stronger agreement counts once, and two communes' difference counts alone.
5. **Decide and cluster**: pairs with weight ≥ ``threshold`` (default: the prior log-odds of a
   random pair being a match, :func:`default_threshold`, with the duplicate rate EM estimates,
   plus :data:`MERGE_ODDS_BITS`) are joined transitively.  A cluster that
   ends up holding two incompatible IDs or birth dates (not typos of each other) is rebuilt from
   its strongest links only, never joining incompatible records (Kruskal with cannot-links).

Labels are the smallest row position (0-based) of each cluster, aligned to the input index.

Examples:
    >>> df = pd.DataFrame({
    ...     "full_name": ["Nguyễn Văn An", "Nguyen Van An", "Nguyễn Thị Bình", "Nguyễn Văn An"],
    ...     "birth_date": ["12/03/1990", "03/12/1990", "01/01/1960", "12/03/1990"],
    ...     "id_number": ["019090000123", None, None, "019090000213"],
    ...     "phone": ["0912345678", "0912345678", "0912345678", None],
    ... })
    >>> cluster_persons(df).tolist()
    [0, 0, 2, 0]
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import OSA

from vaxreport.text import fold, fold_series, is_vietnamese_syllable, to_unicode_series

__all__ = [
    "BLOCKING_RULES",
    "LEVELS",
    "M_PRIORS",
    "PairExplanation",
    "candidate_pairs",
    "cluster_persons",
    "default_threshold",
    "explain_pair",
    "fold_name",
    "merge_audit",
    "score_pairs",
    "survivors",
]

FIELDS = ("full_name", "birth_date", "gender", "id_number", "phone", "commune_code", "address")

# --------------------------------------------------------------------------------------------
# Model constants (documented priors; change them here, they are not buried in the code)
# --------------------------------------------------------------------------------------------

#: Agreement levels of each comparison; level 0 is always "missing / not comparable" (weight 0).
LEVELS: dict[str, tuple[str, ...]] = {
    "given": ("missing", "exact", "accent_differs", "typo", "different", "another_name"),
    "surname_middle": ("missing", "exact", "partial", "different"),
    "birth_date": ("missing", "exact", "day_month_swapped", "one_digit", "same_year", "different"),
    "id_number": ("missing", "exact", "one_edit", "different"),
    "gender": ("missing", "same", "different"),
    "phone": ("missing", "exact", "one_digit", "different"),
    "commune": ("missing", "same", "different"),
    "address": ("missing", "same", "different"),
}

#: m = P(level | same person), reasoned priors.  Data-entry error rates on the platform are a few
#: per cent per field (DOMAIN.md §1: names typed without diacritics — folded away here —, typos,
#: swapped day/month, wrong gender); people change phone and commune between registrations more
#: often than their name or birth date; the same person may show a 9-digit CMND on one record and
#: a 12-digit CCCD on another (then the IDs are "not comparable", not "different").
M_PRIORS: dict[str, dict[str, float]] = {
    "given": {"exact": 0.93, "accent_differs": 0.01, "typo": 0.055, "different": 0.004,
              "another_name": 0.001},
    "surname_middle": {"exact": 0.88, "partial": 0.10, "different": 0.02},
    "birth_date": {"exact": 0.88, "day_month_swapped": 0.04, "one_digit": 0.05,
                   "same_year": 0.015, "different": 0.015},
    "id_number": {"exact": 0.93, "one_edit": 0.05, "different": 0.02},
    "gender": {"same": 0.97, "different": 0.03},
    "phone": {"exact": 0.70, "one_digit": 0.03, "different": 0.27},
    "commune": {"same": 0.80, "different": 0.20},
    "address": {"same": 0.55, "different": 0.45},
}

#: Households share a phone (DESIGN.md: phone agreement alone is weak evidence; children carry
#: the head's surname).  Two records sharing a phone used by at most
#: :data:`HOUSEHOLD_MAX_RECORDS` records are scored in the *household regime*: the phone
#: agreement itself is strong evidence (term-frequency u), but the other comparisons then use u
#: conditional on being two different members of one household — surnames are mostly shared,
#: twins share a birth date, siblings never share a given name — and commune/address agreement
#: adds nothing (implied).  This is what keeps parents, children and twins apart.
HOUSEHOLD_U: dict[str, dict[str, float]] = {
    "given": {"exact": 0.01, "accent_differs": 0.01, "typo": 0.05, "different": 0.03,
              "another_name": 0.90},
    "surname_middle": {"exact": 0.5, "partial": 0.2, "different": 0.3},
    "birth_date": {"exact": 0.02, "day_month_swapped": 0.002, "one_digit": 0.005,
                   "same_year": 0.1, "different": 0.87},
    # a relative's ID typed on the record (DOMAIN.md, error kind 2) happens within households
    "id_number": {"exact": 0.005, "one_edit": 0.001, "different": 0.99},
}
#: A phone shared by more records than this is a site's or a village head's, not a household's.
HOUSEHOLD_MAX_RECORDS = 8

#: Pseudo-count (records) shrinking value frequencies to the field's prior frequency: it makes
#: term-frequency weights sane on small tables (a name seen twice among three rows is not common).
TF_PSEUDO_RECORDS = 2000.0
#: Prior frequency of a value when the table is too small to tell.
TF_PRIOR: dict[str, float] = {"given": 0.01, "surname_middle": 0.02, "birth_date": 1 / 25_000,
                              "id_number": 1e-7, "phone": 1e-6, "address": 1e-4}
#: Pseudo-count (records) shrinking a given name's male share to the table's.
GENDER_PSEUDO_RECORDS = 20.0
#: Chance agreement of the non-exact levels in a large province (u of two random records), the
#: values small tables are shrunk towards (same weight as :data:`TF_PSEUDO_RECORDS`).
U_PRIORS: dict[str, dict[str, float]] = {
    "given": {"typo": 0.03, "different": 0.10, "another_name": 0.85},
    "surname_middle": {"partial": 0.05, "different": 0.9},
    "birth_date": {"day_month_swapped": 2e-5, "one_digit": 4e-4, "same_year": 0.015,
                   "different": 0.97},
    "gender": {"same": 0.5, "different": 0.5},
    "commune": {"same": 0.01, "different": 0.99},
    "address": {"same": 0.002, "different": 0.998},
}
#: Two given names one edit apart are both "real" (so the pair is not a typo) when both are valid
#: Vietnamese syllables and, in tables of at least REAL_NAME_MIN_TABLE rows, each is borne by at
#: least this share of the records (a typo's product is rare: "Tuấ", "Hy" for "Huy").
REAL_NAME_MIN_SHARE = 5e-5
REAL_NAME_MIN_TABLE = 20_000
#: Share of records that duplicate another: sets the default threshold (prior odds).  It is
#: estimated from the table (records merged at the 10 % prior), then clipped to this range.
DUPLICATE_RATE_RANGE = (0.01, 0.30)
#: Floor of any u, so that no single agreement is worth more than ~25 bits.
U_FLOOR = 1e-8

#: Blocking rules: name → (key fields, cap on all-pairs block size, neighbour window beyond it).
BLOCKING_RULES: dict[str, tuple[tuple[str, ...], int, int]] = {
    "id": (("id",), 20, 5),
    "id_tail6": (("id_tail6",), 20, 5),
    "id_head9": (("id_head9",), 20, 5),
    "id_head6_tail3": (("id_head6_tail3",), 20, 5),
    "id_head6_sorted6": (("id_head6_sorted6",), 20, 5),
    "phone": (("phone",), 30, 8),
    "name_year": (("sorted_name", "year"), 30, 6),
    "given_dob_any_order": (("given", "year", "dm_lo", "dm_hi"), 40, 8),
    "surname_initial_dob": (("surname", "given_first", "year", "dm_lo", "dm_hi"), 30, 6),
    "surname_final_dob": (("surname", "given_last", "year", "dm_lo", "dm_hi"), 30, 6),
    "name_commune": (("name", "commune"), 30, 6),
    "name_day_month": (("name", "month", "day"), 30, 6),
    "dob_commune": (("year", "month", "day", "commune"), 30, 6),
}


# --------------------------------------------------------------------------------------------
# Field preparation (on unique values)
# --------------------------------------------------------------------------------------------

def fold_name(name: object) -> str:
    """Fold a name to its match key with :func:`vaxreport.text.fold` (marks stripped, đ→d,
    lower case, punctuation to spaces, single spaces); NA and non-strings fold to ``""``.

    Examples:
        >>> fold_name("  Nguyễn   Thị  ĐÀO ")
        'nguyen thi dao'
        >>> fold_name(None)
        ''
    """
    return fold(name) if isinstance(name, str) else ""


def _fold_unique(values: pd.Series) -> pd.Series:
    """:func:`fold_name` over a column of strings (``""`` for NA)."""
    return fold_series(pd.Series(values, dtype="str")).fillna("")


#: Names that may be TCVN3/VNI mojibake: a character no NFC Vietnamese name uses, or an ASCII
#: vowel followed by a Latin-1 letter ("Nguyeãn"); only these go through the (slower) repair.
_MAYBE_LEGACY = (r"[^\x00-\x7f\u00c0-\u00c3\u00c8-\u00ca\u00cc\u00cd\u00d2-\u00d5\u00d9\u00da"
                 r"\u00dd\u00e0-\u00e3\u00e8-\u00ea\u00ec\u00ed\u00f2-\u00f5\u00f9\u00fa\u00fd"
                 r"\u0102\u0103\u0110\u0111\u0128\u0129\u0168\u0169\u01a0\u01a1\u01af\u01b0"
                 r"\u1ea0-\u1ef9]|[aeiouyAEIOUY][\u00c0-\u00ff]")


def _repair_legacy(names: pd.Series) -> pd.Series:
    """Legacy-font names (TCVN3, VNI) repaired to Unicode with ``text.to_unicode``.

    >>> _repair_legacy(pd.Series(["NguyÔn V¨n An", "Lê Thị Hoa"])).tolist()
    ['Nguyễn Văn An', 'Lê Thị Hoa']
    """
    maybe = names.str.contains(_MAYBE_LEGACY, regex=True).fillna(False).to_numpy(bool)
    if not maybe.any():
        return names
    out = names.copy()
    out[maybe] = to_unicode_series(names[maybe]).to_numpy()
    return out


def _factor(col: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Row codes (-1 for NA) and the unique values as a string Series (work on these)."""
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    u = pd.Series(np.asarray(uniques, dtype=object)).astype(str)
    return codes.astype(np.int64), pd.Series(u, dtype="str")


def _recode(row_codes: np.ndarray, derived: pd.Series | np.ndarray, *, sort: bool = False
            ) -> tuple[np.ndarray, np.ndarray]:
    """Codes per row of a value derived per unique (``derived[k]`` for unique ``k``).

    Empty strings and NA become -1.  Returns the row codes (int32) and the derived uniques.
    """
    d = pd.Series(derived, copy=False)
    if d.dtype == object or pd.api.types.is_string_dtype(d.dtype):
        d = d.where(d != "")
    dc, du = pd.factorize(d, sort=sort, use_na_sentinel=True)
    dc = np.append(dc, -1).astype(np.int32)
    return dc[row_codes], np.asarray(du, dtype=object)


def _column(persons: pd.DataFrame, name: str) -> pd.Series:
    if name in persons.columns:
        return persons[name].reset_index(drop=True)
    return pd.Series([pd.NA] * len(persons), dtype="object")


def _parse_dates(col: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) int arrays from datetime64 or strings; 0 where unknown.

    Accepts ``dd/mm/yyyy`` (also ``-``/``.``), ISO ``yyyy-mm-dd[ time]``, ``yyyymmdd``, a bare
    year.  Day and month are kept as written (1–31) so that swapped day/month stays comparable.
    """
    n = len(col)
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        dt = pd.DatetimeIndex(col)
        ok = ~dt.isna()
        y = np.where(ok, dt.year.fillna(0), 0).astype(np.int32)
        m = np.where(ok, dt.month.fillna(0), 0).astype(np.int32)
        d = np.where(ok, dt.day.fillna(0), 0).astype(np.int32)
        return y, m, d
    codes, u = _factor(col)
    u = u.str.strip()
    out = pd.DataFrame({"y": 0, "m": 0, "d": 0}, index=u.index)
    patterns = [
        (r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?:\D.*)?$", None),
        (r"^(?P<d>\d{1,2})[-/.](?P<m>\d{1,2})[-/.](?P<y>\d{4})(?:\D.*)?$", None),
        (r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$", None),
        (r"^(?P<y>\d{4})$", None),
    ]
    todo = pd.Series(True, index=u.index)
    for pat, _ in patterns:
        ext = u[todo].str.extract(pat)
        hit = ext.notna().any(axis=1)
        for part in ("y", "m", "d"):
            if part in ext:
                vals = pd.to_numeric(ext.loc[hit, part], errors="coerce").fillna(0).astype(int)
                out.loc[vals.index, part] = vals
        todo.loc[hit[hit].index] = False
    yy, mm, dd = (out[c].to_numpy(np.int32) for c in ("y", "m", "d"))
    bad = (yy < 1850) | (yy > 2100)
    mm = np.where(bad | (mm < 1) | (mm > 31), 0, mm)
    dd = np.where(bad | (dd < 1) | (dd > 31), 0, dd)
    yy = np.where(bad, 0, yy)
    # a date needs both day and month; a lone month/day is dropped
    part = (mm == 0) | (dd == 0)
    mm, dd = np.where(part, 0, mm), np.where(part, 0, dd)
    y, m, d = (np.append(v, 0).astype(np.int32)[codes] for v in (yy, mm, dd))
    assert len(y) == n
    return y, m, d


_GENDER = {"m": 1, "male": 1, "nam": 1, "1": 1, "f": 2, "female": 2, "nu": 2, "2": 2}


def _parse_gender(col: pd.Series) -> np.ndarray:
    codes, u = _factor(col)
    folded = _fold_unique(u.str.replace(r"\.0$", "", regex=True))
    mapped = np.array([_GENDER.get(v, 0) for v in folded] + [0], dtype=np.int8)
    return mapped[codes]


def _digits(u: pd.Series) -> pd.Series:
    s = pd.Series(u, dtype="str").str.replace(r"\.0$", "", regex=True)
    return s.str.replace(r"\D", "", regex=True).fillna("")


def _clean_ids(u: pd.Series) -> pd.Series:
    """Digits only (a lost leading zero restored: 11→12, 8→9 digits); kept if 9 (CMND) or
    12 (CCCD) digits and not one repeated digit."""
    d = _digits(u)
    d = d.where(~d.str.len().isin([8, 11]), "0" + d)
    ok = d.str.len().isin([9, 12]) & ~d.str.fullmatch(r"0+|1+|2+|3+|4+|5+|6+|7+|8+|9+")
    return d.where(ok, "")


_PHONE_MIGRATION = {"0162": "032", "0163": "033", "0164": "034", "0165": "035", "0166": "036",
                    "0167": "037", "0168": "038", "0169": "039", "0120": "070", "0121": "079",
                    "0122": "077", "0126": "076", "0128": "078", "0123": "083", "0124": "084",
                    "0125": "085", "0127": "081", "0129": "082", "0186": "056", "0188": "058",
                    "0199": "059"}


def _clean_phones(u: pd.Series) -> pd.Series:
    """Digits only, +84/84 → 0, old 11-digit mobiles migrated, junk (repeated digit) dropped."""
    d = _digits(u)
    d = d.where(~(d.str.startswith("84") & d.str.len().isin([11, 12])), "0" + d.str[2:])
    d = d.where(~((d.str.len() == 9) & ~d.str.startswith("0")), "0" + d)
    old = d.str.len().eq(11) & d.str[:4].isin(list(_PHONE_MIGRATION))
    d = d.where(~old, d.str[:4].map(_PHONE_MIGRATION).fillna("") + d.str[4:])
    ok = d.str.len().between(9, 11) & ~d.str[1:].str.fullmatch(r"0+|1+|2+|3+|4+|5+|6+|7+|8+|9+")
    return d.where(ok, "")


@dataclass(frozen=True)
class _Prep:
    """Integer-coded fields of a person table (row positions 0..n-1)."""

    n: int
    codes: dict[str, np.ndarray]
    strings: dict[str, np.ndarray]
    y: np.ndarray
    m: np.ndarray
    d: np.ndarray
    gender: np.ndarray
    freq: dict[str, np.ndarray[Any, Any]] = field(default_factory=dict)
    nums: dict[str, np.ndarray] = field(default_factory=dict)


def _prepare(persons: pd.DataFrame) -> _Prep:
    n = len(persons)
    codes: dict[str, np.ndarray] = {}
    strings: dict[str, np.ndarray] = {}

    # names: fold the unique raw strings, then split the unique folded keys
    rc, ru = _factor(_column(persons, "full_name"))
    ru = _repair_legacy(ru)
    folded_u = _fold_unique(ru)
    codes["name"], strings["name"] = _recode(rc, folded_u, sort=True)
    nu = pd.Series(strings["name"], dtype="str")
    toks = nu.str.split(" ")
    ntok = toks.list.len() if hasattr(toks, "list") else toks.str.len()
    given_u = nu.str.replace(r"^.* ", "", regex=True)
    surname_u = nu.str.replace(r" .*$", "", regex=True).where(ntok > 1, "")
    rest_u = nu.str.replace(r" ?[^ ]*$", "", regex=True)
    middle_u = rest_u.str.replace(r"^[^ ]* ?", "", regex=True)
    sorted_u = pd.Series([" ".join(sorted(v.split(" "))) for v in nu], dtype="str")
    name_c = codes["name"].astype(np.int64)
    for key, vals in (("given", given_u), ("surname", surname_u), ("middle", middle_u),
                      ("surname_middle", rest_u), ("sorted_name", sorted_u)):
        codes[key], strings[key] = _recode(name_c, vals)
    gu = pd.Series(strings["given"], dtype="str")
    given_c = codes["given"].astype(np.int64)
    codes["given_first"], _ = _recode(given_c, gu.str[0])
    codes["given_last"], _ = _recode(given_c, gu.str[-1])
    # accent-aware given name: last token of the NFC lower-case raw name, if it has marks
    acc_given = ru.str.normalize("NFC").str.lower().str.strip().str.replace(
        r"^.*\s", "", regex=True)
    fold_given = folded_u.str.replace(r"^.* ", "", regex=True)
    codes["given_accent"], strings["given_accent"] = _recode(
        rc, acc_given.where(acc_given != fold_given, ""))

    # dates and gender
    y, m, d = _parse_dates(_column(persons, "birth_date"))
    gender = _parse_gender(_column(persons, "gender"))

    # ids, phones, communes, addresses (cleaned on unique values)
    nums: dict[str, np.ndarray] = {}
    for key, col, clean in (("id", "id_number", _clean_ids), ("phone", "phone", _clean_phones)):
        c, u = _factor(_column(persons, col))
        codes[key], strings[key] = _recode(c, clean(u))
        su = pd.Series(strings[key], dtype="str")
        nums[f"{key}_len"] = su.str.len().to_numpy(np.int64)
        nums[f"{key}_num"] = su.where(su != "", "-1").astype("int64").to_numpy(np.int64)
    c, u = _factor(_column(persons, "commune_code"))
    codes["commune"], strings["commune"] = _recode(c, u.str.strip())
    c, u = _factor(_column(persons, "address"))
    codes["address"], strings["address"] = _recode(c, _fold_unique(u))

    nums["dob"] = np.where(y > 0, y.astype(np.int64) * 10000 + m * 100 + d, 0)
    nums["id_row_ok"] = _id_fits_birth_year(codes["id"], nums["id_num"], nums["id_len"], y)
    prep = _Prep(n=n, codes=codes, strings=strings, y=y, m=m, d=d, gender=gender, nums=nums)
    _add_id_keys(prep)
    _add_frequencies(prep)
    return prep


def _id_fits_birth_year(code: np.ndarray, num: np.ndarray, length: np.ndarray,
                        year: np.ndarray) -> np.ndarray:
    """Per row: False where a 12-digit CCCD contradicts the record's birth year (digits 5–6 =
    year mod 100, digit 4 = century): a relative's ID or a typo, not this person's ID.

    >>> _id_fits_birth_year(np.array([0, 0, -1]), np.array([19085001234]), np.array([12]),
    ...                     np.array([1985, 2005, 1985]))
    array([ True, False,  True])
    """
    has = code >= 0
    take = np.where(has, code, 0)
    n12 = np.where(has & (np.append(length, 0)[take] == 12), np.append(num, -1)[take], -1)
    yy = (n12 // 10**6) % 100
    century = (n12 // 10**8) % 10 // 2 + 19
    check = (n12 >= 0) & (year > 0)
    return ~check | ((yy == year % 100) & (century == year // 100))


def _add_id_keys(prep: _Prep) -> None:
    """Pigeonhole keys on IDs: any single substitution or adjacent transposition (but one
    across the middle) leaves one of them intact; computed on the unique IDs."""
    num = prep.nums["id_num"]
    ln = prep.nums["id_len"]
    c = prep.codes["id"].astype(np.int64)
    e6 = 10 ** 6
    tail = num % e6
    digits = np.stack([(tail // 10 ** k) % 10 for k in range(6)], axis=1)
    digits.sort(axis=1)
    sorted_tail = (digits * (10 ** np.arange(6))[::-1]).sum(axis=1) if num.size else tail
    keys = {
        "id_tail6": tail,
        "id_head9": num // 1000,
        "id_head6_tail3": (num // e6) * 1000 + num % 1000,
        "id_head6_sorted6": (num // e6) * e6 + sorted_tail,
    }
    for k, v in keys.items():
        tagged = np.where(num >= 0, v * 16 + ln, -1)
        kc, _ = pd.factorize(tagged, use_na_sentinel=True)
        kc = np.where(tagged >= 0, kc, -1)
        prep.codes[k] = np.append(kc, -1).astype(np.int32)[c]


def _smoothed_freq(counts: np.ndarray, n: int, prior: float) -> np.ndarray:
    return (counts + TF_PSEUDO_RECORDS * prior) / (n + TF_PSEUDO_RECORDS)


def _add_frequencies(prep: _Prep) -> None:
    n = max(prep.n, 1)
    for key in ("given", "surname_middle", "id", "phone", "address"):
        c = prep.codes[key]
        cnt = np.bincount(c[c >= 0], minlength=len(prep.strings[key])).astype(np.float64)
        prior = TF_PRIOR["id_number" if key == "id" else key]
        prep.freq[key] = _smoothed_freq(cnt, n, prior)
        if key in ("phone", "address"):
            prep.nums[f"{key}_count"] = np.append(cnt, 0).astype(np.int64)
    _add_name_dependence(prep)
    dob = _dob_int(prep.y, prep.m, prep.d)
    vals, dob_counts = np.unique(dob[dob > 0], return_counts=True)
    prep.freq["dob_values"] = vals
    prep.freq["dob"] = _smoothed_freq(dob_counts.astype(np.float64), n, TF_PRIOR["birth_date"])


def _add_name_dependence(prep: _Prep) -> None:
    """Per full name (token-sorted): log2 of the product of its parts' frequencies over its own
    (leave-one-out, shrunk towards the product), and per given name its smoothed male share.

    Given name and middle name go together (gender, fashion): "Nguyễn Thị" + "Lan" is more
    common than the product of the two frequencies says, so agreeing on it is weaker evidence.
    """
    n = max(prep.n, 1)
    c = prep.codes
    rows = np.flatnonzero((c["sorted_name"] >= 0) & (c["given"] >= 0) & (c["surname_middle"] >= 0))
    first = np.full(len(prep.strings["sorted_name"]), -1, np.int64)
    first[c["sorted_name"][rows][::-1]] = rows[::-1]
    has = first >= 0
    ind = np.ones(first.size)
    r = first[has]
    ind[has] = prep.freq["given"][c["given"][r]] * prep.freq["surname_middle"][c["surname_middle"][r]]
    cnt = np.bincount(c["sorted_name"][rows], minlength=first.size).astype(np.float64)
    joint = (np.maximum(cnt - 1, 0) + TF_PSEUDO_RECORDS * ind) / (n + TF_PSEUDO_RECORDS)
    prep.freq["name_dependence"] = np.where(has, np.log2(ind / joint), 0.0)
    g = c["given"]
    known = (g >= 0) & (prep.gender > 0)
    males = np.bincount(g[known], weights=(prep.gender[known] == 1).astype(float),
                        minlength=len(prep.strings["given"]))
    total = np.bincount(g[known], minlength=len(prep.strings["given"])).astype(float)
    overall = males.sum() / total.sum() if total.sum() else 0.5
    prep.freq["given_male"] = (males + GENDER_PSEUDO_RECORDS * overall) / (
        total + GENDER_PSEUDO_RECORDS)


def _dob_int(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    full = (y > 0) & (m > 0) & (d > 0)
    return np.where(full, y.astype(np.int64) * 10000 + m * 100 + d, 0)


# --------------------------------------------------------------------------------------------
# Worker threads
# --------------------------------------------------------------------------------------------

#: Threads :func:`cluster_persons` uses by default: the CPUs this process may run on, at most
#: this many.  The work split (blocking rules, blocks of pairs) is numpy and pandas on large
#: arrays, which run without the GIL; threads share the tables, so memory barely grows.
MAX_WORKERS = 2
#: Pairs the progressive filter (:func:`_score`) handles at a time.  A block's temporaries
#: (≈ 4 MB per int64 array) are reused from the heap; one pass over 12 M pairs would map and
#: fault in ~100 MB afresh for every temporary, which costs as much system time as the
#: comparisons themselves.
SCORE_BLOCK_PAIRS = 1 << 19

_T = TypeVar("_T")
_R = TypeVar("_R")


def _workers(workers: int | None) -> int:
    """Threads to use: ``workers``, or by default the usable CPUs up to :data:`MAX_WORKERS`.

    >>> _workers(1), _workers(0), _workers(None) <= MAX_WORKERS
    (1, 1, True)
    """
    if workers is None:
        try:
            cpus = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            cpus = os.cpu_count() or 1
        workers = min(cpus, MAX_WORKERS)
    return max(int(workers), 1)


def _map(func: Callable[[_T], _R], items: Iterable[_T], workers: int) -> list[_R]:
    """``[func(x) for x in items]``, on up to ``workers`` threads; results in input order.

    >>> _map(lambda x: x * x, range(5), 2)
    [0, 1, 4, 9, 16]
    """
    todo = list(items)
    if workers <= 1 or len(todo) <= 1:
        return [func(x) for x in todo]
    with ThreadPoolExecutor(max_workers=min(workers, len(todo)),
                            thread_name_prefix="dedup") as pool:
        return list(pool.map(func, todo))


# --------------------------------------------------------------------------------------------
# Blocking
# --------------------------------------------------------------------------------------------

def _combine(prep: _Prep, names: tuple[str, ...]) -> np.ndarray:
    """One int64 key per row from several code arrays; -1 if any part is missing."""
    derived = {
        "year": np.where(prep.y > 0, prep.y, -1),
        "month": np.where(prep.m > 0, prep.m, -1),
        "day": np.where(prep.d > 0, prep.d, -1),
        "dm_lo": np.where(prep.m > 0, np.minimum(prep.m, prep.d), -1),
        "dm_hi": np.where(prep.m > 0, np.maximum(prep.m, prep.d), -1),
    }
    key = np.zeros(prep.n, np.int64)
    bad = np.zeros(prep.n, bool)
    for name in names:
        part = derived[name] if name in derived else prep.codes[name]
        part = part.astype(np.int64)
        bad |= part < 0
        key = key * (int(part.max(initial=0)) + 2) + (part + 1)
        if key.max(initial=0) > 2**40:
            key = pd.factorize(key)[0].astype(np.int64)
    key = np.where(bad, -1, key)
    dense = pd.factorize(key)[0].astype(np.int64)
    return np.where(bad, -1, dense)


def _block_pairs(key: np.ndarray, rank: np.ndarray, cap: int,
                 window: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of rows sharing a key: all pairs in blocks of ≤ cap rows, else each row with its
    ``window`` next rows in ``rank`` order (a permutation of the rows: name, then birth date)."""
    rows = np.flatnonzero(key >= 0)
    if rows.size < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    order = rows[np.argsort(key[rows] * np.int64(rank.size) + rank[rows])]
    k = key[order]
    cut = np.flatnonzero(k[1:] != k[:-1]) + 1
    starts = np.concatenate(([0], cut))
    ends = np.concatenate((cut, [k.size]))
    sizes = ends - starts
    gid = np.repeat(np.arange(starts.size), sizes)
    pos = np.arange(k.size)
    gend = ends[gid]
    gsize = sizes[gid]
    small = (gsize >= 2) & (gsize <= cap)
    p = pos[small]
    cnt = gend[small] - p - 1
    left = np.repeat(p, cnt)
    offs = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    lefts, rights = [left], [left + 1 + offs]
    big = gsize > cap
    pb, geb = pos[big], gend[big]
    for w in range(1, window + 1):
        ok = pb + w < geb
        lefts.append(pb[ok])
        rights.append(pb[ok] + w)
    a = order[np.concatenate(lefts)]
    b = order[np.concatenate(rights)]
    return a.astype(np.int64), b.astype(np.int64)


def _candidate_pairs(prep: _Prep, rules: Mapping[str, tuple[tuple[str, ...], int, int]], *,
                     unique: bool = True, workers: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs (a < b); with ``unique=False`` a pair found by several rules repeats
    (harmless for clustering, and cheaper than sorting tens of millions of codes).  The rules
    run on ``workers`` threads; the pairs come in rule order whatever their number."""
    n = prep.n
    tiebreak = prep.codes["name"].astype(np.int64) * 100_000_000 + _dob_int(prep.y, prep.m,
                                                                            prep.d) % 100_000_000
    rank = np.empty(n, np.int64)
    rank[np.argsort(tiebreak, kind="stable")] = np.arange(n)

    def rule_pairs(rule: tuple[tuple[str, ...], int, int]) -> tuple[np.ndarray, np.ndarray]:
        names, cap, window = rule
        a, b = _block_pairs(_combine(prep, names), rank, cap, window)
        return np.minimum(a, b), np.maximum(a, b)

    chunks = _map(rule_pairs, rules.values(), workers)
    if not chunks:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    lo = np.concatenate([c[0] for c in chunks])
    hi = np.concatenate([c[1] for c in chunks])
    if not unique:
        return lo, hi
    code = _sorted_unique(lo * n + hi)
    return code // max(n, 1), code % max(n, 1)


def _sorted_unique(x: np.ndarray) -> np.ndarray:
    """Sorted distinct values (sort-based; faster than hashing for int64 pair codes)."""
    x = np.sort(x)
    return x[np.concatenate(([True], x[1:] != x[:-1]))] if x.size else x


def candidate_pairs(persons: pd.DataFrame) -> pd.DataFrame:
    """Candidate pairs of row positions from :data:`BLOCKING_RULES` (never a cross product).

    Args:
        persons: person table (any of the columns of :func:`cluster_persons`).

    Returns:
        DataFrame ``a, b`` of row positions with ``a < b``, sorted, without repeats.

    Examples:
        >>> df = pd.DataFrame({"full_name": ["Lê An", "Le An", "Trần Bình"],
        ...                    "birth_date": ["1990-01-02"] * 3})
        >>> candidate_pairs(df).values.tolist()
        [[0, 1]]
    """
    prep = _prepare(persons)
    a, b = _candidate_pairs(prep, BLOCKING_RULES)
    return pd.DataFrame({"a": a, "b": b})


# --------------------------------------------------------------------------------------------
# Comparisons
# --------------------------------------------------------------------------------------------

def _unique_pair_apply(ca: np.ndarray, cb: np.ndarray, uniq: np.ndarray, func: Any
                       ) -> np.ndarray:
    """Apply ``func(strings_a, strings_b) -> array`` once per unique (code a, code b) pair."""
    if ca.size == 0:
        return np.empty(0, np.float64)
    width = max(len(uniq), 1)
    lo, hi = np.minimum(ca, cb).astype(np.int64), np.maximum(ca, cb).astype(np.int64)
    inv, key = pd.factorize(lo * width + hi)
    sa = uniq[key // width]
    sb = uniq[key % width]
    return np.asarray(func(sa, sb))[inv]


def _lev(sa: np.ndarray, sb: np.ndarray) -> np.ndarray:
    return process.cpdist(list(sa), list(sb), scorer=OSA.distance, workers=-1)


def _one_edit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """True where two non-negative integers (digit strings of equal length) differ by exactly
    one substituted digit or one adjacent transposition; vectorised integer arithmetic.

    ``|x - y|`` is then ``k·10^p`` (k ≤ 9) or ``9·j·10^p``; the digits above are checked equal.

    >>> _one_edit(np.array([19090000123, 19090000123, 1, 19900101]),
    ...           np.array([19090000213, 19090000124, 1, 20000101]))
    array([ True,  True, False, False])
    """
    x = np.asarray(x, np.int64)
    y = np.asarray(y, np.int64)
    diff = np.abs(x - y)
    e = np.searchsorted(_POW10, diff, side="right") - 1
    P = _POW10[np.clip(e, 0, 15)]
    out = np.zeros(x.size, bool)

    def check(idx: np.ndarray, p: np.ndarray, transposed: bool) -> None:
        xs, ys = x[idx], y[idx]
        if transposed:  # digits at p and 10p crossed, everything above equal
            ok = xs // (p * 100) == ys // (p * 100)
            ok &= (xs // p) % 10 == (ys // (p * 10)) % 10
            ok &= (xs // (p * 10)) % 10 == (ys // p) % 10
        else:  # only the digit at p differs
            ok = xs // (p * 10) == ys // (p * 10)
        out[idx[ok]] = True

    valid = (diff > 0) & (e <= 15)
    sub = np.flatnonzero(valid & (diff % P == 0))
    check(sub, P[sub], False)
    nine = sub[diff[sub] // P[sub] == 9]
    check(nine, P[nine], True)
    p2 = np.maximum(P // 10, 1)
    tr = np.flatnonzero(valid & (e >= 1) & (diff % p2 == 0))
    tr = tr[(diff[tr] // p2[tr]) % 9 == 0]
    check(tr, p2[tr], True)
    return out


_POW10 = 10 ** np.arange(19, dtype=np.int64)


def _swapped_order(prep: _Prep, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Same name tokens in another order ("An Nguyễn Văn" vs "Nguyễn Văn An")."""
    c = prep.codes
    sa = c["sorted_name"][a]
    return (sa == c["sorted_name"][b]) & (sa >= 0) & (c["name"][a] != c["name"][b])


def _lv_given(prep: _Prep, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    c = prep.codes
    ga, gb = c["given"][a], c["given"][b]
    given = np.zeros(a.size, np.int8)
    has = (ga >= 0) & (gb >= 0)
    eq = has & (ga == gb)
    given[has] = 4
    given[eq] = 1
    acc = np.flatnonzero(eq)
    aa, ab = c["given_accent"][a[acc]], c["given_accent"][b[acc]]
    given[acc[(aa >= 0) & (ab >= 0) & (aa != ab)]] = 2
    pend = np.flatnonzero(has & ~eq)
    given[pend[_swapped_order(prep, a[pend], b[pend])]] = 1
    return given


def _lv_surname_middle(prep: _Prep, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    c = prep.codes
    ra, rb = c["surname_middle"][a], c["surname_middle"][b]
    rest = np.zeros(a.size, np.int8)
    has = (ra >= 0) & (rb >= 0)
    rest[has] = 3
    rest[has & (ra == rb)] = 1
    pend = np.flatnonzero(rest == 3)
    rest[pend[_swapped_order(prep, a[pend], b[pend])]] = 1
    return rest


def _lv_birth_date(prep: _Prep, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Levels from yyyymmdd integers (``prep.nums["dob"]``; a bare year is yyyy0000)."""
    ia, ib = prep.nums["dob"][a], prep.nums["dob"][b]
    ya, yb = ia // 10000, ib // 10000
    dob = np.zeros(a.size, np.int8)
    both_year = (ya > 0) & (yb > 0)
    dob[both_year] = np.where(ya[both_year] == yb[both_year], 4, 5)
    full = np.flatnonzero((ia % 10000 > 0) & (ib % 10000 > 0) & both_year)
    xa, xb = ia[full], ib[full]
    same = xa == xb
    md_a, md_b = xa % 10000, xb % 10000
    same_year = ya[full] == yb[full]
    swap = ~same & same_year & ((md_a % 100) * 100 + md_a // 100 == md_b)
    # one typo'd digit: in day/month (same year) or in the year (same day and month)
    maybe = np.flatnonzero(~same & ~swap & (same_year | (md_a == md_b)))
    one = np.zeros(full.size, bool)
    one[maybe] = _one_edit(xa[maybe], xb[maybe])
    lvl = dob[full]
    lvl[one] = 3
    lvl[swap] = 2
    lvl[same] = 1
    dob[full] = lvl
    return dob


def _lv_same(x: np.ndarray, y: np.ndarray, missing: int = -1) -> np.ndarray:
    """0 if either is missing, 1 equal, 2 different."""
    out = np.zeros(x.size, np.int8)
    has = (x != missing) & (y != missing)
    out[has] = np.where(x[has] == y[has], 1, 2)
    return out


def _lv_locality(prep: _Prep, a: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    c = prep.codes
    return {"commune": _lv_same(c["commune"][a], c["commune"][b]),
            "address": _lv_same(c["address"][a], c["address"][b])}


def _levels(prep: _Prep, comp: str, a: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    """Levels of one comparison (names without rapidfuzz: pending pairs stay "different")."""
    if comp == "given":
        return {"given": _lv_given(prep, a, b)}
    if comp == "surname_middle":
        return {"surname_middle": _lv_surname_middle(prep, a, b)}
    if comp == "birth_date":
        return {"birth_date": _lv_birth_date(prep, a, b)}
    if comp == "id_number":
        lvl = _digit_levels(prep, "id", a, b)
        ok = prep.nums["id_row_ok"]
        return {"id_number": np.where(ok[a] & ok[b], lvl, 0).astype(np.int8)}
    if comp == "gender":
        return {"gender": _lv_same(prep.gender[a], prep.gender[b], missing=0)}
    if comp == "phone":
        return {"phone": _digit_levels(prep, "phone", a, b)}
    return _lv_locality(prep, a, b)


#: Comparisons, in the order the progressive filter evaluates them (most decisive first).
COMPARISONS = ("phone", "locality", "birth_date", "id_number", "given", "surname_middle",
               "gender")


def _compare(prep: _Prep, a: np.ndarray, b: np.ndarray, *, fuzzy: bool = True
             ) -> dict[str, np.ndarray]:
    """Agreement level (int8, see :data:`LEVELS`) of every field for pairs (a[k], b[k])."""
    lv: dict[str, np.ndarray] = {}
    for comp in COMPARISONS:
        lv.update(_levels(prep, comp, a, b))
    if fuzzy:
        _resolve_names(prep, a, b, lv)
    return lv


def _digit_levels(prep: _Prep, key: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """0 missing / not comparable, 1 exact, 2 one digit or transposition, 3 different."""
    ca, cb = prep.codes[key][a], prep.codes[key][b]
    lens, nums = prep.nums[f"{key}_len"], prep.nums[f"{key}_num"]
    out = np.zeros(a.size, np.int8)
    has = np.flatnonzero((ca >= 0) & (cb >= 0))
    ca, cb = ca[has], cb[has]
    lvl = np.where(lens[ca] == lens[cb], 3, 0).astype(np.int8)
    lvl[ca == cb] = 1
    pend = np.flatnonzero(lvl == 3)
    lvl[pend[_one_edit(nums[ca[pend]], nums[cb[pend]])]] = 2
    out[has] = lvl
    return out


def _resolve_names(prep: _Prep, a: np.ndarray, b: np.ndarray,
                   lv: dict[str, np.ndarray]) -> None:
    """Refine "different" name levels to typo/partial with rapidfuzz (unique pairs only)."""
    _resolve_given(prep, a, b, lv)
    _resolve_surname_middle(prep, a, b, lv)


def _resolve_given(prep: _Prep, a: np.ndarray, b: np.ndarray,
                   lv: dict[str, np.ndarray]) -> None:
    """Refine "different" given names to "typo" with rapidfuzz (unique pairs only)."""
    c = prep.codes
    ne = np.flatnonzero(lv["given"] == 4)
    if ne.size:
        ga, gb = c["given"][a[ne]], c["given"][b[ne]]
        dist = _unique_pair_apply(ga, gb, prep.strings["given"], _lev)
        glen = _given_len(prep)
        short = np.minimum(glen[ga], glen[gb])
        typo = (dist <= 1) | ((dist <= 2) & (short >= 6))
        # "Hùng"/"Dũng", "An"/"Anh": one edit apart but two real names — siblings, not a typo.
        real = _real_given(prep)
        both = real[ga] & real[gb]
        typo &= ~both
        lv["given"][ne[typo]] = 3
        lv["given"][ne[~typo & both]] = 5


def _given_len(prep: _Prep) -> np.ndarray:
    """Per given name, its length in characters (cached on ``prep``)."""
    glen = prep.nums.get("given_len")
    if glen is None:
        glen = pd.Series(prep.strings["given"], dtype="str").str.len().to_numpy(np.int64)
        prep.nums["given_len"] = glen
    return glen


def _real_given(prep: _Prep) -> np.ndarray:
    """Per given name: real = a valid Vietnamese syllable that, in a large table, is also a
    common given name (a typo's product is rare: "Tuấ", "Hy" for "Huy")."""
    real = prep.nums.get("given_real")
    if real is None:
        c = prep.codes["given"]
        real = np.array([is_vietnamese_syllable(v) for v in prep.strings["given"]], bool)
        if prep.n >= REAL_NAME_MIN_TABLE:
            cnt = np.bincount(c[c >= 0], minlength=real.size)
            real &= cnt >= REAL_NAME_MIN_SHARE * prep.n
        prep.nums["given_real"] = real
    return real


def _resolve_surname_middle(prep: _Prep, a: np.ndarray, b: np.ndarray,
                            lv: dict[str, np.ndarray]) -> None:
    """Refine "different" surname + middle names to "partial" (unique pairs only)."""
    c = prep.codes
    ne = np.flatnonzero(lv["surname_middle"] == 3)
    if ne.size:
        ra, rb = c["surname_middle"][a[ne]], c["surname_middle"][b[ne]]
        sa, sb = c["surname"][a[ne]], c["surname"][b[ne]]
        mida, midb = c["middle"][a[ne]], c["middle"][b[ne]]
        partial = (sa == sb) & (sa >= 0) & ((mida < 0) | (midb < 0))
        dist = _unique_pair_apply(ra, rb, prep.strings["surname_middle"], _lev)
        partial |= dist <= 2
        lv["surname_middle"][ne[partial]] = 2


# --------------------------------------------------------------------------------------------
# u probabilities (from the data) and weights
# --------------------------------------------------------------------------------------------

def _sum_sq(counts: np.ndarray) -> float:
    tot = counts.sum()
    if tot <= 1:
        return 0.0
    p = counts / tot
    return float((p * p).sum())


def _u_fuzzy(uniq: np.ndarray, counts: np.ndarray, pred: Any, top: int = 1500) -> float:
    """P(two random non-equal values satisfy ``pred``), over the ``top`` most frequent values."""
    if len(uniq) < 2 or counts.sum() == 0:
        return 0.0
    order = np.argsort(-counts, kind="stable")[:top]
    vals = [str(v) for v in uniq[order]]
    p = counts[order] / counts.sum()
    mat = process.cdist(vals, vals, scorer=OSA.distance, workers=-1)
    hit = pred(mat, np.array([len(v) for v in vals]))
    np.fill_diagonal(hit, False)
    return float(p @ hit @ p)


@dataclass(frozen=True)
class _Model:
    """u probabilities of the non-term-frequency levels, per comparison; m probabilities and
    the household-conditional u (priors, then estimated from the table by :func:`_em`)."""

    u: dict[str, dict[str, float]]
    m: dict[str, dict[str, float]] = field(
        default_factory=lambda: {k: dict(v) for k, v in M_PRIORS.items()})
    hh_u: dict[str, dict[str, float]] = field(
        default_factory=lambda: {k: dict(v) for k, v in HOUSEHOLD_U.items()})


def _estimate_u(prep: _Prep) -> _Model:
    c = prep.codes
    u: dict[str, dict[str, float]] = {}

    def counts(key: str) -> np.ndarray:
        x = c[key]
        return np.bincount(x[x >= 0], minlength=len(prep.strings[key])).astype(np.float64)

    gc = counts("given")
    g_typo = _u_fuzzy(prep.strings["given"], gc,
                      lambda d, ln: (d <= 1) | ((d <= 2) & (np.minimum.outer(ln, ln) >= 6)))
    u["given"] = {"accent_differs": 0.3 * max(_sum_sq(gc), 1e-3), "typo": max(g_typo, 1e-3)}
    real = _real_given(prep)
    r = float(gc[real].sum() / max(gc.sum(), 1.0))
    u["given"]["another_name"] = max(r * r - _sum_sq(gc) - g_typo, 0.05)
    u["given"]["different"] = max(1 - _sum_sq(gc) - g_typo - u["given"]["another_name"], 0.01)
    rc = counts("surname_middle")
    r_part = _u_fuzzy(prep.strings["surname_middle"], rc, lambda d, ln: d <= 2)
    u["surname_middle"] = {"partial": max(r_part, 1e-3),
                           "different": max(1 - _sum_sq(rc) - r_part, 0.3)}
    # birth dates: exact from the value distribution, the others by enumerating neighbours
    dob = prep.freq["dob_values"]
    if dob.size:
        dcnt = np.unique(_dob_int(prep.y, prep.m, prep.d)[_dob_int(prep.y, prep.m, prep.d) > 0],
                         return_counts=True)[1].astype(np.float64)
        pd_ = dcnt / dcnt.sum()
        lookup = pd.Series(pd_, index=dob)
        y, md = dob // 10000, dob % 10000
        m, d = md // 100, md % 100
        swapped = y * 10000 + d * 100 + m
        u_swap = float((pd_ * lookup.reindex(swapped).fillna(0).to_numpy() * (m != d)).sum())
        u_one = 0.0
        for k in range(8):
            p = 10 ** k
            digit = (dob // p) % 10
            for new in range(10):
                nb = dob + (new - digit) * p
                keep = nb != dob
                q = lookup.reindex(nb[keep]).fillna(0).to_numpy()
                u_one += float((pd_[keep] * q).sum())
        ycnt = np.bincount(y.astype(np.int64), weights=pd_)
        u_year = max(float((ycnt ** 2).sum()) - _sum_sq(dcnt) - u_swap, 1e-4)
    else:
        u_swap, u_one, u_year = 1e-5, 1e-4, 0.02
    u["birth_date"] = {"day_month_swapped": max(u_swap, 1e-6), "one_digit": max(u_one, 1e-5),
                       "same_year": u_year, "different": 0.97}
    u["id_number"] = {"one_edit": 1e-6, "different": 1.0}
    g = prep.gender[prep.gender > 0]
    share_m = float((g == 1).mean()) if g.size else 0.5
    same_g = max(share_m ** 2 + (1 - share_m) ** 2, 0.5)
    u["gender"] = {"same": same_g, "different": 1 - same_g}
    cc = counts("commune")
    u["commune"] = {"same": max(_sum_sq(cc), 1e-4), "different": max(1 - _sum_sq(cc), 0.5)}
    u["phone"] = {"one_digit": 1e-4, "different": 0.99}
    ac = counts("address")
    u["address"] = {"same": max(_sum_sq(ac), 1e-4), "different": max(1 - _sum_sq(ac), 0.5)}
    # shrink towards the priors: a table of a few rows says little about chance agreement
    share = prep.n / (prep.n + TF_PSEUDO_RECORDS)
    for comp, levels in U_PRIORS.items():
        for lvl, prior in levels.items():
            u[comp][lvl] = share * u[comp][lvl] + (1 - share) * prior
    return _Model(u=u)


def _w(m: float, u: float | np.ndarray) -> Any:
    return np.log2(m / np.maximum(u, U_FLOOR))


def _table(model: _Model, comp: str, names: tuple[str, ...]) -> np.ndarray:
    tab = np.zeros(len(names) + 1, np.float64)
    for k, lvl in enumerate(names, start=1):
        if lvl in model.u[comp]:
            tab[k] = _w(model.m[comp][lvl], model.u[comp][lvl])
    return tab


def _household(prep: _Prep, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Household regime of pairs: 1 same phone used by few records, 2 (only) same address
    used by few records, 0 neither."""
    out = np.zeros(a.size, np.int8)
    for key, tag in (("address", 2), ("phone", 1)):
        ca, cb = prep.codes[key][a], prep.codes[key][b]
        same = (ca == cb) & (ca >= 0)
        same &= prep.nums[f"{key}_count"][ca] <= HOUSEHOLD_MAX_RECORDS
        out[same] = tag
    return out


def _hh_table(model: _Model, comp: str) -> np.ndarray:
    names = LEVELS[comp][1:]
    return np.array([0.0] + [float(_w(model.m[comp][k], model.hh_u[comp][k])) for k in names])


def _weight(prep: _Prep, model: _Model, comp: str, a: np.ndarray,
            lv: dict[str, np.ndarray], hh: np.ndarray) -> np.ndarray:
    """Weights (bits) of one comparison; exact levels term-frequency adjusted; pairs in the
    household regime (``hh``) use household-conditional u."""
    M = model.m
    if comp == "phone":
        level = lv["phone"]
        w = _table(model, "phone", LEVELS["phone"][1:])[level]
        ex = np.flatnonzero(level == 1)
        w[ex] = _w(M["phone"]["exact"], prep.freq["phone"][prep.codes["phone"][a[ex]]])
        return w
    if comp == "locality":  # address implies commune: the stronger agreement counts once
        wc = _table(model, "commune", ("same", "different"))[lv["commune"]]
        wa = _table(model, "address", ("same", "different"))[lv["address"]]
        pos = np.maximum(np.maximum(wc, wa), 0.0)
        # and two communes imply two addresses: the commune's difference counts alone
        neg = np.where(lv["commune"] == 2, np.minimum(wc, 0.0), np.minimum(wa, 0.0))
        out = np.where(pos > 0, pos, neg)
        ex = np.flatnonzero(lv["address"] == 1)  # a shared address: term-frequency u
        out[ex] = np.maximum(_w(M["address"]["same"],
                                prep.freq["address"][prep.codes["address"][a[ex]]]), wc[ex])
        return np.where(hh == 1, 0.0, out)
    if comp == "gender":
        w = _table(model, "gender", ("same", "different"))[lv["gender"]]
        named = np.flatnonzero(((lv["given"] == 1) | (lv["given"] == 2)) & (lv["gender"] > 0))
        if named.size:  # the same given name mostly implies the same gender
            share = prep.freq["given_male"][prep.codes["given"][a[named]]]
            same = share ** 2 + (1 - share) ** 2
            w[named] = np.where(lv["gender"][named] == 1, _w(M["gender"]["same"], same),
                                _w(M["gender"]["different"], 1 - same))
        return w
    level = lv[comp]
    w = _table(model, comp, LEVELS[comp][1:])[level]
    ex = np.flatnonzero(level == 1)
    if ex.size:
        rows = a[ex]
        if comp == "birth_date":
            vals = prep.nums["dob"][rows]
            u = prep.freq["dob"][np.searchsorted(prep.freq["dob_values"], vals)]
        else:
            key = {"id_number": "id"}.get(comp, comp)
            u = prep.freq[key][prep.codes[key][rows]]
        w[ex] = _w(M[comp]["exact"], u)
    if comp == "given":
        acc = np.flatnonzero(level == 2)
        if acc.size:
            w[acc] = _w(M["given"]["accent_differs"],
                        0.3 * prep.freq["given"][prep.codes["given"][a[acc]]])
    if comp == "surname_middle":  # the full name's own frequency, not a product of its parts
        full = np.flatnonzero((level == 1) & (lv["given"] == 1) & (hh == 0))
        if full.size:
            w[full] += prep.freq["name_dependence"][prep.codes["sorted_name"][a[full]]]
    if comp in HOUSEHOLD_U and hh.any():
        h = np.flatnonzero(hh)
        wh = _hh_table(model, comp)[level[h]]
        if comp == "given":  # a rare given name is rarer still within one household
            wh = np.where(level[h] == 1, np.maximum(wh, w[h]), wh)
        w[h] = wh
    return w


def _max_weight(prep: _Prep, model: _Model, comp: str) -> float:
    """Largest weight a comparison can contribute (for the progressive filter's bound)."""
    M = model.m
    if comp == "locality":
        fa = prep.freq["address"]
        return float(max(_table(model, "commune", ("same",))[1],
                         _table(model, "address", ("same",))[1], 0.0,
                         _w(M["address"]["same"], fa.min()) if fa.size else 0.0))
    if comp == "gender":
        share = prep.freq["given_male"]
        same = share ** 2 + (1 - share) ** 2
        return float(max(_table(model, "gender", ("same", "different")).max(), 0.0,
                          *(_w(M["gender"]["same"], same.min()),
                            _w(M["gender"]["different"], (1 - same).min())) if share.size
                          else (0.0,)))
    best = float(max(_table(model, comp, LEVELS[comp][1:]).max(), 0.0))
    if comp == "surname_middle" and prep.freq["name_dependence"].size:
        best += max(float(prep.freq["name_dependence"].max()), 0.0)
    if comp in HOUSEHOLD_U:
        best = max(best, float(_hh_table(model, comp).max()))
    key = {"id_number": "id", "birth_date": "dob"}.get(comp, comp)
    f = prep.freq.get(key)
    if f is not None and f.size:
        best = max(best, float(_w(M[comp]["exact"], f.min())))
    return best


def _weights(prep: _Prep, model: _Model, a: np.ndarray, b: np.ndarray,
             lv: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-comparison weights (bits) for each pair."""
    hh = _household(prep, a, b)
    return {comp: _weight(prep, model, comp, a, lv, hh) for comp in COMPARISONS}


def default_threshold(n_records: int, duplicate_rate: float = 0.10) -> float:
    """Default decision threshold in bits: the prior log2-odds against a random pair matching.

    With ``n`` records of which a share ``duplicate_rate`` duplicate another, a random pair is
    a match with probability ≈ ``rate·n / (n(n-1)/2)``; a pair is merged when its evidence
    outweighs those odds (posterior probability ≥ ½).  ``n`` counts the
    :data:`TF_PSEUDO_RECORDS` that the term-frequency u are shrunk with, so that small tables
    (whose u are mostly priors) are judged by the same standard.

    Args:
        n_records: number of rows in the person table.
        duplicate_rate: share of records that duplicate another (:func:`cluster_persons`
            estimates it from the table, between :data:`DUPLICATE_RATE_RANGE`).

    Returns:
        Threshold in bits.

    Examples:
        >>> round(default_threshold(1_300_000), 1)
        22.6
        >>> round(default_threshold(3), 1)
        13.3
    """
    n = max(n_records, 0) + TF_PSEUDO_RECORDS
    return math.log2((n - 1) / 2 / duplicate_rate)


# --------------------------------------------------------------------------------------------
# Scoring public API
# --------------------------------------------------------------------------------------------

def _total(w: dict[str, np.ndarray], size: int) -> np.ndarray:
    total = np.zeros(size, np.float64)
    for v in w.values():
        total += v
    return total


def _field_mask(prep: _Prep) -> np.ndarray:
    """Per row, bit k set when the row has the field(s) of ``COMPARISONS[k]``."""
    c = prep.codes
    has = {"phone": c["phone"] >= 0,
           "locality": (c["commune"] >= 0) | (c["address"] >= 0),
           "birth_date": prep.y > 0,
           "id_number": (c["id"] >= 0) & prep.nums["id_row_ok"],
           "given": c["given"] >= 0,
           "surname_middle": c["surname_middle"] >= 0,
           "gender": prep.gender > 0}
    mask = np.zeros(prep.n, np.uint8)
    for k, comp in enumerate(COMPARISONS):
        mask |= has[comp].astype(np.uint8) << k
    return mask


_Scored = tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray]


def _score(prep: _Prep, model: _Model, a: np.ndarray, b: np.ndarray,
           threshold: float | None = None, *, workers: int = 1) -> _Scored:
    """Levels, weights and total of pairs.

    With a ``threshold``, comparisons run one at a time (:data:`COMPARISONS` order) and a pair
    is dropped as soon as its weight so far plus the largest weight the remaining comparisons
    could add falls below the threshold; pending name comparisons count as typos until
    rapidfuzz resolves them on the survivors.  The bound is exact: the pairs kept and their
    totals are those of the full computation.  Each pair is judged on its own, so the pairs
    are filtered in blocks of :data:`SCORE_BLOCK_PAIRS` on ``workers`` threads and the blocks'
    survivors joined in input order: the same result as one pass, whatever ``workers``.
    """
    if threshold is None:
        lv = _compare(prep, a, b)
        w = _weights(prep, model, a, b, lv)
        return a, b, lv, w, _total(w, a.size)
    # the bound of the comparisons still to run, per pair: a field missing on either side
    # (bit k of ``mask`` clear) can add nothing
    top = np.array([_max_weight(prep, model, comp) for comp in COMPARISONS])
    row_mask = _field_mask(prep)
    _given_len(prep), _real_given(prep)  # cached now, not by the threads sharing ``prep``
    step = SCORE_BLOCK_PAIRS

    def block(start: int) -> _Scored:
        return _filter_block(prep, model, a[start:start + step], b[start:start + step],
                             threshold, top, row_mask)

    parts = _map(block, range(0, max(a.size, 1), step), workers)
    if len(parts) == 1:
        return parts[0]

    def join(dicts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        return {k: np.concatenate([d[k] for d in dicts]) for k in dicts[0]}

    return (np.concatenate([q[0] for q in parts]), np.concatenate([q[1] for q in parts]),
            join([q[2] for q in parts]), join([q[3] for q in parts]),
            np.concatenate([q[4] for q in parts]))


def _filter_block(prep: _Prep, model: _Model, a: np.ndarray, b: np.ndarray, threshold: float,
                  top: np.ndarray, row_mask: np.ndarray) -> _Scored:
    """The progressive filter of :func:`_score` on one block of pairs (``top``: each
    comparison's largest weight; ``row_mask``: :func:`_field_mask`)."""
    bits = np.arange(2 ** len(COMPARISONS))[:, None] >> np.arange(len(COMPARISONS)) & 1
    mask = row_mask[a] & row_mask[b]
    acc = np.zeros(a.size, np.float64)
    lv: dict[str, np.ndarray] = {}
    hh = _household(prep, a, b)
    for step, comp in enumerate(COMPARISONS):
        new = _levels(prep, comp, a, b)
        best = dict(new)
        if comp == "given":  # resolved now: most pairs left differ in the given name
            _resolve_given(prep, a, b, best)
        elif comp == "surname_middle":
            _resolve_surname_middle(prep, a, b, best)
        acc += _weight(prep, model, comp, a, {**lv, **best}, hh)
        remaining = (bits[:, step + 1:] * top[step + 1:]).sum(axis=1)[mask]
        lv.update(new)
        keep = np.flatnonzero(acc + remaining >= threshold - 1e-9)
        if keep.size < a.size:
            a, b, acc, hh, mask = a[keep], b[keep], acc[keep], hh[keep], mask[keep]
            lv = {k: v[keep] for k, v in lv.items()}
    w = _weights(prep, model, a, b, lv)
    return a, b, lv, w, _total(w, a.size)


def score_pairs(persons: pd.DataFrame) -> pd.DataFrame:
    """Candidate pairs with each comparison's level and weight and the total match weight.

    Args:
        persons: person table (see :func:`cluster_persons`).

    Returns:
        DataFrame ``a, b`` (row positions), ``<field>_level`` (level names), ``<comparison>_w``
        and ``weight`` (bits), one row per candidate pair.

    Examples:
        >>> df = pd.DataFrame({"full_name": ["Lê Văn Tám", "Le Van Tam"],
        ...                    "birth_date": ["1990-01-02", "02/01/1990"]})
        >>> s = score_pairs(df)
        >>> s.loc[0, ["given_level", "birth_date_level"]].tolist()
        ['exact', 'exact']
    """
    prep = _prepare(persons)
    model = _estimate_u(prep)
    a, b = _candidate_pairs(prep, BLOCKING_RULES)
    a, b, lv, w, total = _score(prep, model, a, b)
    out = pd.DataFrame({"a": a, "b": b})
    for k, v in lv.items():
        out[f"{k}_level"] = np.asarray(LEVELS[k], dtype=object)[v]
    for k, v in w.items():
        out[f"{k}_w"] = v
    out["weight"] = total
    return out


# --------------------------------------------------------------------------------------------
# Clustering
# --------------------------------------------------------------------------------------------

def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected components (label = smallest row of the component), vectorised hook+compress."""
    parent = np.arange(n, dtype=np.int64)
    if a.size == 0:
        return parent
    a = a.astype(np.int64)
    b = b.astype(np.int64)
    while True:
        pa, pb = parent[a], parent[b]
        diff = pa != pb
        if not diff.any():
            break
        lo = np.minimum(pa[diff], pb[diff])
        hi = np.maximum(pa[diff], pb[diff])
        np.minimum.at(parent, hi, lo)
        while True:
            nxt = parent[parent]
            if np.array_equal(nxt, parent):
                break
            parent = nxt
    return parent


#: Two IDs of one length differing in more digits than this cannot be typos of one ID (a chain
#: of two typos — a transposition then a substitution — differs in three).
ID_MAX_DIGITS_APART = 3
#: Same for birth dates (yyyymmdd digits), after undoing a day/month swap.
DOB_MAX_DIGITS_APART = 2


def _hamming(x: str, y: str) -> int:
    return sum(1 for p, q in zip(x, y) if p != q)


def _compatible_ids(x: str, y: str) -> bool:
    """Could two IDs be (chains of) typos of one ID?  CMND vs CCCD: always."""
    if not x or not y or len(x) != len(y):
        return True
    return _hamming(x, y) <= ID_MAX_DIGITS_APART


def _compatible_dobs(x: int, y: int) -> bool:
    """Could two yyyymmdd birth dates be typos / day-month swaps of one date?"""
    if x == 0 or y == 0 or x == y:
        return True
    sx, sy = str(x), str(y)
    swapped = sx[:4] + sx[6:8] + sx[4:6]
    return min(_hamming(sx, sy), _hamming(swapped, sy)) <= DOB_MAX_DIGITS_APART


def _hamming_int(x: np.ndarray, y: np.ndarray, width: int) -> np.ndarray:
    out = np.zeros(x.size, np.int64)
    for k in range(width):
        out += (x // 10**k) % 10 != (y // 10**k) % 10
    return out


def _clashes(labels: np.ndarray, tagged: np.ndarray, max_apart: int, *, swap: bool) -> set[int]:
    """Labels of clusters holding two values (``value·16 + length``, -1 if none) of one length
    that differ in more than ``max_apart`` digits (also after a day/month swap if ``swap``)."""
    sel = np.flatnonzero(tagged >= 0)
    df = pd.DataFrame({"label": labels[sel], "v": tagged[sel]}).drop_duplicates()
    many = df["label"].duplicated(keep=False)
    df = df[many]
    if df.empty:
        return set()
    pairs = df.merge(df, on="label")
    pairs = pairs[pairs["v_x"] < pairs["v_y"]]
    vx, vy = pairs["v_x"].to_numpy(), pairs["v_y"].to_numpy()
    same_len = vx % 16 == vy % 16
    x, y, width = vx // 16, vy // 16, 12
    dist = _hamming_int(x, y, width)
    if swap:  # yyyymmdd with day and month exchanged
        xs = (x // 10000) * 10000 + (x % 100) * 100 + (x // 100) % 100
        dist = np.minimum(dist, _hamming_int(xs, y, width))
    bad = same_len & (dist > max_apart)
    return set(pairs["label"].to_numpy()[bad].tolist())


def _guard(prep: _Prep, labels: np.ndarray, a: np.ndarray, b: np.ndarray,
           w: np.ndarray, persons: pd.DataFrame) -> np.ndarray:
    """Split clusters holding incompatible IDs or birth dates on their weakest links.

    Links are replayed strongest first (ties broken by the records' content hashes, so the
    result does not depend on row order) and a link is skipped when it would put incompatible
    values in one cluster."""
    ids = np.where((prep.codes["id"] >= 0) & prep.nums["id_row_ok"], prep.codes["id"], -1)
    dob = _dob_int(prep.y, prep.m, prep.d)
    id_num = np.append(prep.nums["id_num"], -1)[ids]
    id_len = np.append(prep.nums["id_len"], 0)[ids]
    suspect = _clashes(labels, id_num * 16 + id_len, ID_MAX_DIGITS_APART, swap=False)
    suspect |= _clashes(labels, np.where(dob > 0, dob * 16 + 8, -1), DOB_MAX_DIGITS_APART,
                        swap=True)
    if not suspect:
        return labels
    frame = pd.DataFrame({"label": labels})
    id_str = prep.strings["id"]
    members = frame[frame["label"].isin(suspect)].groupby("label").groups
    edge_lab = labels[a]
    in_suspect = np.isin(edge_lab, np.fromiter(suspect, np.int64))
    ea, eb, ew = a[in_suspect], b[in_suspect], w[in_suspect]
    involved = np.unique(np.concatenate([ea, eb]))
    present = [col for col in FIELDS if col in persons.columns]
    content = np.zeros(prep.n, np.uint64)
    if present and involved.size:
        content[involved] = pd.util.hash_pandas_object(
            persons.iloc[involved][present].astype(str), index=False).to_numpy()
    ca, cb = content[ea], content[eb]
    order = np.lexsort((np.maximum(ca, cb), np.minimum(ca, cb), -np.round(ew, 9)))
    ea, eb = ea[order], eb[order]
    new = labels.copy()
    by_label: dict[int, list[tuple[int, int]]] = {}
    for x, y in zip(ea.tolist(), eb.tolist()):
        by_label.setdefault(int(labels[x]), []).append((x, y))
    for lab, rows in members.items():
        rows_l = [int(r) for r in rows]
        id_vals = {r: (id_str[ids[r]] if ids[r] >= 0 else "") for r in rows_l}
        dob_vals = {r: int(dob[r]) for r in rows_l}
        # does the cluster actually hold an incompatible pair?
        parent = {r: r for r in rows_l}
        comp_ids = {r: {id_vals[r]} - {""} for r in rows_l}
        comp_dobs = {r: {dob_vals[r]} - {0} for r in rows_l}

        def find(r: int) -> int:
            while parent[r] != r:
                parent[r] = parent[parent[r]]
                r = parent[r]
            return r

        for x, y in by_label.get(int(lab), []):
            rx, ry = find(x), find(y)
            if rx == ry:
                continue
            ok = all(_compatible_ids(p, q) for p in comp_ids[rx] for q in comp_ids[ry])
            ok = ok and all(_compatible_dobs(p, q) for p in comp_dobs[rx] for q in comp_dobs[ry])
            if not ok:
                continue
            lo, hi = min(rx, ry), max(rx, ry)
            parent[hi] = lo
            comp_ids[lo] |= comp_ids.pop(hi)
            comp_dobs[lo] |= comp_dobs.pop(hi)
        for r in rows_l:
            new[r] = find(r)
    return new


@dataclass(frozen=True)
class _Result:
    labels: np.ndarray
    a: np.ndarray
    b: np.ndarray
    weight: np.ndarray
    threshold: float
    model: _Model


#: A pair is merged when its match is this many bits more likely than not (1 bit: posterior
#: ≥ 2/3): merging two people mixes their dose histories, which costs more than a missed
#: duplicate, which the worklists still show as a probable duplicate.
MERGE_ODDS_BITS = 1.0
#: EM (:func:`_em`): rounds, weight of the priors (in pairs), how far below the lowest default
#: threshold the pairs it learns from reach (bits), and how many household pairs it samples.
EM_ROUNDS = 4
EM_PRIOR_PAIRS = 200.0
EM_MARGIN_BITS = 4.0
EM_HOUSEHOLD_PAIRS = 200_000
#: m that EM does not learn: twins agree on everything but the given name, so EM would take
#: them for one person whose name changed; how often a person's given name changes between
#: registrations (other than by a typo) is domain knowledge, kept at its prior.
EM_FIXED_M: dict[str, tuple[str, ...]] = {"given": ("different", "another_name")}


def _posterior(total: np.ndarray, threshold: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp2(np.clip(threshold - total, -60.0, 60.0)))


def _household_pairs(prep: _Prep, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``limit`` pairs (evenly spread) of records sharing a household-sized phone or
    address: two members of one household, or one person twice."""
    chunks = []
    rank = np.arange(prep.n, dtype=np.int64)
    for key in ("phone", "address"):
        c = prep.codes[key]
        small = (c >= 0) & (prep.nums[f"{key}_count"][c] <= HOUSEHOLD_MAX_RECORDS)
        chunks.append(_block_pairs(np.where(small, c, -1).astype(np.int64), rank,
                                   HOUSEHOLD_MAX_RECORDS, 0))
    a = np.concatenate([x[0] for x in chunks])
    b = np.concatenate([x[1] for x in chunks])
    code = _sorted_unique(np.minimum(a, b) * prep.n + np.maximum(a, b))
    if code.size > limit:
        code = code[np.linspace(0, code.size - 1, limit).astype(np.int64)]
    return code // prep.n, code % prep.n


def _em(prep: _Prep, model: _Model, a: np.ndarray, b: np.ndarray,
        lv: dict[str, np.ndarray]) -> tuple[_Model, float]:
    """m probabilities, household-conditional u and the duplicate rate, estimated by EM.

    The pairs ``a, b`` (levels ``lv``) are the candidates that could reach the threshold; each
    round weighs them with the current model, takes each pair's posterior match probability
    (prior odds from the duplicate rate) and re-estimates every m as the posterior-weighted
    share of its level (the priors count as :data:`EM_PRIOR_PAIRS` pairs).  u stays what the
    value frequencies say, except within households: there u is the share of each level among
    household pairs that are not matches (a sample of all such pairs, not only candidates).
    """
    n = max(prep.n, 1)
    lo, hi = DUPLICATE_RATE_RANGE
    ha, hb = _household_pairs(prep, EM_HOUSEHOLD_PAIRS)
    hlv = _compare(prep, ha, hb)
    rate = 0.10
    for _ in range(EM_ROUNDS):
        thr = default_threshold(prep.n, rate)
        post = _posterior(_total(_weights(prep, model, a, b, lv), a.size), thr)
        rate = min(max(float(post.sum()) / n, lo), hi)
        m: dict[str, dict[str, float]] = {}
        for comp, prior in M_PRIORS.items():
            cnt = np.bincount(lv[comp], weights=post, minlength=len(LEVELS[comp]))
            raw = {k: cnt[i] + EM_PRIOR_PAIRS * prior[k]
                   for i, k in enumerate(LEVELS[comp]) if k in prior}
            fixed = {k: prior[k] for k in EM_FIXED_M.get(comp, ())}
            free = {k: v for k, v in raw.items() if k not in fixed}
            scale = (1.0 - sum(fixed.values())) / sum(free.values())
            m[comp] = {k: fixed.get(k, raw[k] * scale) for k in raw}
        hh_u = {k: dict(v) for k, v in HOUSEHOLD_U.items()}
        if ha.size:
            hpost = _posterior(_total(_weights(prep, model, ha, hb, hlv), ha.size), thr)
            for comp, prior in HOUSEHOLD_U.items():
                cnt = np.bincount(hlv[comp], weights=1.0 - hpost, minlength=len(LEVELS[comp]))
                raw = {k: cnt[i] + EM_PRIOR_PAIRS * prior[k]
                       for i, k in enumerate(LEVELS[comp]) if k in prior}
                tot = sum(raw.values())
                hh_u[comp] = {k: v / tot for k, v in raw.items()}
        model = _Model(u=model.u, m=m, hh_u=hh_u)
    return model, rate


def _run(persons: pd.DataFrame, threshold: float | None, workers: int | None = None
         ) -> _Result:
    nw = _workers(workers)
    prep = _prepare(persons)
    model = _estimate_u(prep)
    a, b = _candidate_pairs(prep, BLOCKING_RULES, unique=False, workers=nw)
    lo, hi = DUPLICATE_RATE_RANGE
    floor = default_threshold(prep.n, hi) if threshold is None else float(threshold)
    a, b, lv, _, total = _score(prep, model, a, b, threshold=floor - EM_MARGIN_BITS, workers=nw)
    near = total >= floor - EM_MARGIN_BITS
    a, b, lv = a[near], b[near], {k: v[near] for k, v in lv.items()}
    first = np.unique(a * prep.n + b, return_index=True)[1]
    a, b, lv = a[first], b[first], {k: v[first] for k, v in lv.items()}
    model, rate = _em(prep, model, a, b, lv)
    thr = default_threshold(prep.n, rate) + MERGE_ODDS_BITS if threshold is None else float(
        threshold)
    total = _total(_weights(prep, model, a, b, lv), a.size)
    keep = total >= thr
    ka, kb, kw = a[keep], b[keep], total[keep]
    labels = _components(prep.n, ka, kb)
    labels = _guard(prep, labels, ka, kb, kw, persons)
    return _Result(labels=labels, a=ka, b=kb, weight=kw, threshold=thr, model=model)


def cluster_persons(persons: pd.DataFrame, *, threshold: float | None = None,
                    workers: int | None = None) -> pd.Series:
    """Cluster person records that describe the same person.

    Args:
        persons: one row per platform person record with any of ``full_name, birth_date,
            gender, id_number, phone, commune_code, address`` (any may be missing or NA;
            ``birth_date`` datetime64 or strings; names with or without diacritics).
        threshold: match weight in bits above which a pair is merged; default
            :func:`default_threshold` of the table size and of its duplicate rate, estimated
            from the records merged at a 10 % prior (posterior match probability ½).
        workers: threads for candidate generation and scoring; default the usable CPUs, at
            most :data:`MAX_WORKERS`; 1 runs serially.  The labels do not depend on it.

    Returns:
        Series of int64 cluster labels aligned to ``persons.index`` (name ``person_id``): the
        smallest row position (0-based) in the cluster.  Does not mutate the input.

    Examples:
        >>> df = pd.DataFrame({"full_name": ["Trần Thị Mai", "Tran Thi Mai", "Trần Văn Nam"],
        ...                    "birth_date": ["1985-07-04", "07/04/1985", "2010-01-01"],
        ...                    "phone": ["0987654321", None, "0987654321"]},
        ...                   index=[10, 11, 12])
        >>> cluster_persons(df).to_dict()
        {10: 0, 11: 0, 12: 2}
    """
    if not isinstance(persons, pd.DataFrame):
        raise TypeError(f"persons must be a DataFrame, got {type(persons).__name__}")
    if len(persons) == 0:
        return pd.Series([], index=persons.index, dtype=np.int64, name="person_id")
    res = _run(persons, threshold, workers)
    return pd.Series(res.labels.astype(np.int64), index=persons.index, name="person_id")


# --------------------------------------------------------------------------------------------
# Explanations, survivors, audit
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PairExplanation:
    """Why two records are (not) the same person.

    Attributes:
        table: one row per comparison: ``comparison, value_a, value_b, level, weight``.
        total: sum of the weights (bits).
        threshold: the decision threshold used (bits).
        is_match: ``total >= threshold``.
    """

    table: pd.DataFrame
    total: float
    threshold: float
    is_match: bool

    def __str__(self) -> str:
        verdict = "MATCH" if self.is_match else "no match"
        return (f"{self.table.to_string(index=False)}\n"
                f"total {self.total:.2f} bits vs threshold {self.threshold:.2f}: {verdict}")


def explain_pair(a: Mapping[str, Any] | pd.Series, b: Mapping[str, Any] | pd.Series, *,
                 persons: pd.DataFrame | None = None,
                 threshold: float | None = None) -> PairExplanation:
    """Explain the match decision between two records, comparison by comparison.

    Args:
        a: first record (dict or Series with any of the person columns).
        b: second record.
        persons: the table the records come from; its value frequencies set the u
            probabilities (term-frequency weights) and the threshold is the one
            :func:`cluster_persons` uses on it (this runs the clustering once).
            Without it, the two records alone are used (priors dominate).
        threshold: override of the decision threshold (bits).

    Returns:
        :class:`PairExplanation` with the per-comparison table, total and decision.

    Examples:
        >>> e = explain_pair({"full_name": "Lê Thị Hoa", "birth_date": "1990-03-12"},
        ...                  {"full_name": "Le Thi Hoa", "birth_date": "12/03/1990"})
        >>> e.table.set_index("comparison").loc["birth_date", "level"]
        'exact'
        >>> e.is_match
        True
    """
    ra, rb = dict(a), dict(b)
    cols = [c for c in FIELDS if c in ra or c in rb]
    pair = pd.DataFrame([{c: ra.get(c) for c in cols}, {c: rb.get(c) for c in cols}],
                        dtype=object)
    if persons is not None:
        base = pd.concat([persons.reset_index(drop=True), pair], ignore_index=True)
        ia, ib = len(persons), len(persons) + 1
    else:
        base, ia, ib = pair, 0, 1
    if "birth_date" in base and base["birth_date"].map(
            lambda v: isinstance(v, (pd.Timestamp, np.datetime64))).any():
        base = base.assign(birth_date=base["birth_date"].map(
            lambda v: v.strftime("%Y-%m-%d") if isinstance(v, pd.Timestamp) else v))
    prep = _prepare(base)
    model = _estimate_u(prep)
    thr = default_threshold(2) + MERGE_ODDS_BITS
    if persons is not None:  # the same model and decision as cluster_persons(persons)
        res = _run(persons, threshold)
        model = _Model(u=model.u, m=res.model.m, hh_u=res.model.hh_u)
        thr = res.threshold
    if threshold is not None:
        thr = float(threshold)
    ai, bi = np.array([ia]), np.array([ib])
    _, _, lv, w, total = _score(prep, model, ai, bi)
    show = {"given": "full_name", "surname_middle": "full_name", "birth_date": "birth_date",
            "id_number": "id_number", "gender": "gender", "phone": "phone"}
    kind = int(_household(prep, ai, bi)[0])
    regime = kind > 0
    rows = []
    for comp, col in show.items():
        level = LEVELS[comp][int(lv[comp][0])]
        if regime and comp in HOUSEHOLD_U:
            level += " (household)"
        rows.append({"comparison": comp, "value_a": ra.get(col), "value_b": rb.get(col),
                     "level": level, "weight": float(w[comp][0])})
    loc = "implied by household phone" if kind == 1 else (
        f"commune {LEVELS['commune'][int(lv['commune'][0])]}, "
        f"address {LEVELS['address'][int(lv['address'][0])]}")
    rows.append({"comparison": "locality",
                 "value_a": f"{ra.get('commune_code')} / {ra.get('address')}",
                 "value_b": f"{rb.get('commune_code')} / {rb.get('address')}",
                 "level": loc, "weight": float(w["locality"][0])})
    tab = pd.DataFrame(rows)
    tot = float(total[0])
    return PairExplanation(table=tab, total=tot, threshold=thr, is_match=tot >= thr)


def _group_size(label: np.ndarray, code: np.ndarray) -> np.ndarray:
    """Per row, the number of rows with the same (label, code) (non-negative ints)."""
    inv = pd.factorize(label.astype(np.int64) * (int(code.max(initial=0)) + 1) + code)[0]
    return np.bincount(inv)[inv]


def _survivor_rows(col: str, label: np.ndarray, values: pd.Series) -> np.ndarray:
    """Per label (sorted), the position in ``values`` (no NA) of the best value of one column.

    Ranks are computed on the distinct values: value codes sort like the values, so the
    tie-break on the value itself is a tie-break on its code."""
    code, uniq = pd.factorize(values, sort=True)
    count = _group_size(label, code)
    if col == "full_name":
        txt = pd.Series(uniq, dtype="str")
        folded = _fold_unique(txt)
        accented = (folded != txt.str.lower()).to_numpy(np.int64)[code]
        fcount = _group_size(label, pd.factorize(folded)[0][code])
        length = txt.str.len().to_numpy(np.int64)[code]
        rank: list[np.ndarray] = [accented, fcount, count, length]
    elif col in ("id_number", "phone"):
        n = _digits(pd.Series(uniq, dtype="str")).str.len()
        good = (n == (12 if col == "id_number" else 10)).to_numpy(np.int64)[code]
        fair = n.isin([9, 10, 11, 12]).to_numpy(np.int64)[code]
        rank = [good, fair, count]
    else:
        rank = [count]
    order = np.lexsort([code, *[-r for r in reversed(rank)], label])
    first = np.concatenate(([True], label[order][1:] != label[order][:-1]))
    return order[first]


def survivors(persons: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """One survivor record per cluster: the best value of each field.

    Best = valid values first (12-digit CCCD before 9-digit CMND, 10-digit mobiles), then the most
    frequent in the cluster; names prefer accented spellings, then the most frequent folded form,
    then the longest.  Ties break on the value itself, so the result is deterministic.  Values
    are stripped and an empty string counts as missing.  Most clusters are one record: those
    are taken as they are, the ranking runs on the multi-record clusters only.

    Args:
        persons: the person table given to :func:`cluster_persons`.
        labels: its cluster labels (aligned to ``persons.index``).

    Returns:
        DataFrame indexed by cluster label (``person_id``) with the person columns present in
        ``persons`` plus ``n_records``.  Does not mutate the input.

    Examples:
        >>> df = pd.DataFrame({"full_name": ["Nguyen Van An", "Nguyễn Văn An", " Lê Hoa "],
        ...                    "id_number": [None, "019090000123", None]})
        >>> s = survivors(df, pd.Series([0, 0, 2]))
        >>> s.loc[0, "full_name"], s.loc[0, "id_number"], int(s.loc[0, "n_records"])
        ('Nguyễn Văn An', '019090000123', 2)
        >>> s.loc[2, "full_name"], int(s.loc[2, "n_records"])
        ('Lê Hoa', 1)
    """
    codes, uniq = pd.factorize(np.asarray(labels), sort=True, use_na_sentinel=False)
    sizes = np.bincount(codes, minlength=len(uniq))
    multi = sizes[codes] > 1
    out = pd.DataFrame(index=pd.Index(uniq, name="person_id"))
    for col in [c for c in persons.columns if c in FIELDS]:
        v = persons[col]
        is_dt = pd.api.types.is_datetime64_any_dtype(v.dtype)
        key = v if is_dt else v.astype("string").str.strip().replace("", pd.NA)
        present = key.notna().to_numpy()
        if not present.any():
            out[col] = pd.Series(pd.NA, index=out.index, dtype=v.dtype if is_dt else object)
            continue
        # the row whose value each cluster keeps (-1: none); single records keep their own
        src = np.full(len(uniq), -1, np.int64)
        one = np.flatnonzero(present & ~multi)
        src[codes[one]] = one
        many = np.flatnonzero(present & multi)
        if many.size:
            pick = _survivor_rows(col, codes[many], key.iloc[many])
            src[codes[many[pick]]] = many[pick]
        col_values = pd.Series(key.array.take(src, allow_fill=True), index=out.index)
        out[col] = col_values if is_dt else col_values.astype("str")
    out["n_records"] = sizes.astype(int)
    return out


def merge_audit(persons: pd.DataFrame, labels: pd.Series | None = None, *,
                threshold: float | None = None) -> pd.DataFrame:
    """Every merge: each record of a multi-record cluster, its survivor and its best link score.

    Args:
        persons: person table.
        labels: its labels from :func:`cluster_persons` (recomputed with the link scores
            when omitted; the scores are always recomputed).
        threshold: decision threshold (bits), as for :func:`cluster_persons`.

    Returns:
        DataFrame ``record, survivor, score`` — ``record`` the input index label of a record
        that was merged into cluster ``survivor`` (the cluster label), ``score`` the weight
        (bits) of the strongest accepted link from that record to another record of its
        cluster.  The survivor's own row is not listed.

    Examples:
        >>> df = pd.DataFrame({"full_name": ["Lê Văn Tám", "Le Van Tam", "Phạm Hà"],
        ...                    "birth_date": ["1990-01-02", "1990-01-02", "1970-05-05"]})
        >>> merge_audit(df)[["record", "survivor"]].values.tolist()
        [[1, 0]]
    """
    res = _run(persons, threshold)
    lab = res.labels if labels is None else np.asarray(
        pd.Series(labels).reindex(persons.index) if isinstance(labels, pd.Series)
        else labels)
    lab_pos = pd.Series(lab).astype(np.int64).to_numpy()
    same = lab_pos[res.a] == lab_pos[res.b]
    ea, eb, ew = res.a[same], res.b[same], res.weight[same]
    best = pd.DataFrame({"row": np.concatenate([ea, eb]), "score": np.concatenate([ew, ew])}
                        ).groupby("row")["score"].max()
    rows = np.arange(len(persons))
    counts = pd.Series(lab_pos).value_counts()
    merged = rows[(pd.Series(lab_pos).map(counts).to_numpy() > 1)]
    first = pd.Series(rows).groupby(lab_pos).transform("min").to_numpy()
    merged = merged[merged != first[merged]]
    return pd.DataFrame({
        "record": persons.index.to_numpy()[merged],
        "survivor": lab_pos[merged],
        "score": best.reindex(merged).to_numpy(),
    }).reset_index(drop=True)
