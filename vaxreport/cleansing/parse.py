"""Column parsers for the cleansing engine: gender, dose numbers, vaccines here; dates, IDs, phones beside.

Each parser takes a Series of raw values and returns a DataFrame aligned to its index with the
parsed ``value``, the ``rule`` that changed the value (NA when the value was only re-typed, e.g. a
plain ``15/03/2022`` becoming a datetime) and, where relevant, a ``status`` or ``flag``. Parsers
work on the unique values of the column (``columns.on_uniques``) with whole-array operations, so
a column of 3 M rows with 40 k distinct birth dates costs 40 k parses. Row-level checks that need
several columns (CCCD digits against birth date and gender) are steps (``steps_ids``).

The three large field families have their own modules and are re-exported here, so that this
module stays the one door to every column parser: ``dates.parse_dates``, ``ids.parse_ids``,
``phones.parse_phones`` (with ``phones.phone_migration``, the 2018 prefix table read once).
``parse_gender`` is the one gender parser of the package.

Examples:
    >>> parse_dates(pd.Series(["15/03/2022", "03/15/2022", "31/02/2022"]))["value"].tolist()
    [Timestamp('2022-03-15 00:00:00'), Timestamp('2022-03-15 00:00:00'), NaT]
    >>> parse_phones(pd.Series(["+84 912 345 678", "01686123456"]))["value"].tolist()
    ['0912345678', '0386123456']
    >>> parse_gender(pd.Series(["Nữ", "nam"]))["value"].tolist()
    ['F', 'M']
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from vaxreport import refdata
from vaxreport import text as vtext
from vaxreport.cleansing.columns import na_str, on_uniques, to_text
from vaxreport.cleansing.dates import parse_dates
from vaxreport.cleansing.ids import parse_ids
from vaxreport.cleansing.phones import parse_phones, phone_migration
from vaxreport.schemas import header_key

__all__ = ["parse_dates", "parse_dose_numbers", "parse_gender", "parse_ids", "parse_phones", "parse_vaccines",
           "phone_migration"]

NA = pd.NA


# ----------------------------------------------------------------------------- gender
_GENDER = {
    "M": ["nam", "nam gioi", "male", "m", "1", "trai", "con trai", "man", "boy", "gioi tinh nam"],
    "F": ["nu", "nu gioi", "female", "f", "2", "gai", "con gai", "woman", "girl", "gioi tinh nu",
          "nũ", "nư"],
}
_GENDER_KEYS = {header_key(k): code for code, ks in _GENDER.items() for k in ks}
_GENDER_SILENT = {"Nam": "M", "Nữ": "F", "M": "M", "F": "F", "1": "M", "2": "F"}


def _legacy_gender(raw: str) -> str | None:
    """The gender code of the first legacy reading of ``raw`` that is a known form, or None."""
    for cand in vtext.legacy_candidates(raw):
        code = _GENDER_KEYS.get(header_key(cand))
        if code is not None:
            return code
    return None


def parse_gender(values: pd.Series) -> pd.DataFrame:
    """Gender as ``"M"``/``"F"`` from Vietnamese, English and genderId (1 male, 2 female) forms.

    The plain forms ``Nam``, ``Nữ``, ``M``, ``F``, ``1``, ``2`` are re-typed silently; other
    spellings get rule ``gender_normalise``; unknown values become NA with ``gender_unknown``.
    Does not mutate the input.

    Legacy-font text ("N÷", TCVN3; "Nöõ", VNI) is decoded (rule ``gender_legacy_text``).

    Examples:
        >>> parse_gender(pd.Series(["Nam", "nu", "Nữ giới", "2.0", "khác"]))["value"].tolist()
        ['M', 'F', 'F', 'F', nan]
        >>> parse_gender(pd.Series(["N÷", "Nöõ"])).values.tolist()
        [['F', 'gender_legacy_text'], ['F', 'gender_legacy_text']]
    """
    def one(u: pd.Series) -> pd.DataFrame:
        s = to_text(u).str.strip()
        key = s.map(lambda x: header_key(re.sub(r"\.0+$", "", x)), na_action="ignore")
        value = key.map(_GENDER_KEYS).astype("str")
        non_ascii = ~s.fillna("").map(str.isascii).astype(bool).to_numpy()
        legacy = pd.Series(value.isna().to_numpy() & non_ascii, index=s.index)
        if legacy.any():  # "N÷" (TCVN3), "Nöõ" (VNI): Nữ typed in a legacy font
            value = value.mask(legacy, s[legacy].map(_legacy_gender))
        silent = s.isin(list(_GENDER_SILENT))
        spelled = np.where(legacy & value.notna(), "gender_legacy_text", "gender_normalise")
        rule = pd.Series(np.where(value.isna(), "gender_unknown", np.where(silent, np.array(None), spelled)),
                         dtype="str")
        rule = rule.mask(s.fillna("").eq(""), NA)
        return pd.DataFrame({"value": value, "rule": rule})
    return on_uniques(to_text(values), one)


# ----------------------------------------------------------------------------- dose numbers
_WORD_NUM = {"mot": 1, "nhat": 1, "hai": 2, "ba": 3, "bon": 4, "tu": 4, "nam": 5}


def _dose_number_one(text: str, legacy: bool = True) -> tuple[int | None, str | None]:
    raw = text.strip()
    if re.fullmatch(r"\d+", raw):
        return int(raw), None
    if re.fullmatch(r"Mũi \d+", raw):
        return int(raw[4:]), None
    k = header_key(raw)
    m = re.fullmatch(r"(\d+)\.0*", k)
    if m:
        return int(m.group(1)), "dose_number_text"
    booster = re.search(r"nhac lai|tang cuong|booster", k)
    if booster:
        m = re.search(r"(?:lan|thu|so)\s*(\d+)", k)
        if m:
            return 2 + int(m.group(1)), "dose_number_booster"
        m = re.search(r"(?:lan|thu)\s*(mot|nhat|hai|ba)\b", k)
        if m:
            return 2 + _WORD_NUM[m.group(1)], "dose_number_booster"
        m = re.search(r"\bmui\s*(\d+)", k)
        if m:
            return int(m.group(1)), "dose_number_text"
        return 3, "dose_number_booster_seq"
    if re.search(r"bo sung|additional", k):
        return 3, "dose_number_additional_seq"
    m = re.fullmatch(r"(?:mui|lan|dose|m|so)?\s*(?:tiem\s*)?(?:thu|so|:|#)?\s*(\d+)\s*(?:\(.*\))?", k)
    if m:
        return int(m.group(1)), "dose_number_text"
    m = re.fullmatch(r"(?:mui|lan)\s*(?:thu\s*)?(mot|nhat|hai|ba|bon|tu)", k)
    if m:
        return _WORD_NUM[m.group(1)], "dose_number_text"
    if legacy and not raw.isascii():  # "Mòi 2": TCVN3 for "Mũi 2"
        for cand in vtext.legacy_candidates(raw):
            n, _ = _dose_number_one(cand, legacy=False) if cand != raw else (None, None)
            if n is not None:
                return n, "dose_number_legacy_text"
    return None, "dose_number_unknown"


def parse_dose_numbers(values: pd.Series) -> pd.DataFrame:
    """Dose number (1-based, Int64) from "Mũi 1", "mũi 2", "2.0", "Mũi nhắc lại lần 1" (→ 3)…

    Booster *k* ("Mũi nhắc lại lần 2") is dose 2 + *k*. A booster ("nhắc lại", "tăng cường")
    or an additional dose ("mũi bổ sung") without a number is dose 3 here, with a rule ending in
    ``_seq``: the caller may place it in the person's sequence (``steps.parse_dose_numbers``).
    Does not mutate the input.

    Examples:
        >>> r = parse_dose_numbers(pd.Series(["Mũi 1", "mũi 2", "Mũi nhắc lại lần 1", "2.0", "?"]))
        >>> r["value"].tolist()
        [1, 2, 3, 2, <NA>]
        >>> r["rule"].tolist()
        [nan, 'dose_number_text', 'dose_number_booster', 'dose_number_text', 'dose_number_unknown']
        >>> parse_dose_numbers(pd.Series(["Mũi nhắc lại", "Mũi bổ sung"]))["rule"].tolist()
        ['dose_number_booster_seq', 'dose_number_additional_seq']
        >>> parse_dose_numbers(pd.Series(["Mòi 2"])).values.tolist()  # TCVN3 "Mũi 2"
        [[2, 'dose_number_legacy_text']]
    """
    if pd.api.types.is_integer_dtype(values.dtype):
        return pd.DataFrame({"value": values.astype("Int64"), "rule": na_str(values.index)})

    def one(u: pd.Series) -> pd.DataFrame:
        pairs = [_dose_number_one(x) for x in to_text(u).tolist()]
        vals = pd.array([p[0] for p in pairs], dtype="Int64")
        vals = pd.array(np.where(pd.isna(vals) | (vals < 1) | (vals > 9), None, vals), dtype="Int64")
        rules = [p[1] if v is not pd.NA else "dose_number_unknown" for p, v in zip(pairs, vals, strict=True)]
        empty = to_text(u).str.strip().eq("").to_numpy()
        rules = [None if e else r for r, e in zip(rules, empty, strict=True)]
        return pd.DataFrame({"value": vals, "rule": pd.array(rules, dtype="str")})

    if values.dtype.kind == "f":
        values = values.astype("Int64").astype("str")
    return on_uniques(to_text(values), one)


# ----------------------------------------------------------------------------- vaccines
_VACCINE_NOISE = r"\b(?:vac ?xin|vaccine|vaccin|vx|covid ?-? ?19|covid|sars-cov-2|phong|lieu|mui)\b"


def _squash(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key)


@lru_cache(maxsize=1)
def _vaccine_keys() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(folded exact key → code, squashed key → code, code → canonical name)."""
    t = refdata.vaccines()
    exact: dict[str, str] = {}
    for code, name, aliases in zip(t["vaccine_code"], t["canonical_name"], t["aliases"], strict=True):
        for a in [name, code, *aliases.split("|")]:
            exact.setdefault(header_key(a), code)
    squashed: dict[str, str] = {}
    for k, code in exact.items():
        squashed.setdefault(_squash(k), code)
    names = dict(zip(t["vaccine_code"], t["canonical_name"], strict=True))
    return exact, squashed, names


def _match_vaccine(text: str, threshold: float) -> tuple[str | None, str | None]:
    exact, squashed, names = _vaccine_keys()
    if text in names.values():
        return next(c for c, n in names.items() if n == text), None
    k = header_key(text)
    if not k:
        return None, "vaccine_missing"
    if k in exact:
        return exact[k], "vaccine_alias"
    core = re.sub(_VACCINE_NOISE, " ", k)
    core = re.sub(r"\((?:lo|lot|so lo)[^)]*\)|\b(?:lo|lot)\s*[:#]?\s*\w+", " ", core)
    sq = _squash(core)
    if not sq:
        return None, "vaccine_unknown"
    if sq in squashed:
        return squashed[sq], "vaccine_alias"
    # A known alias inside a longer text, when all such aliases agree on one product.
    hits = {code for key, code in squashed.items() if len(key) >= 5 and key in sq}
    if len(hits) == 1:
        return hits.pop(), "vaccine_contains"
    # A truncated product name ("Vero", "Spikev"), when it starts only one product's aliases.
    if len(sq) >= 4:
        hits = {code for key, code in squashed.items() if key.startswith(sq)}
        if len(hits) == 1:
            return hits.pop(), "vaccine_contains"
    if len(sq) >= 4:
        best = process.extractOne(sq, list(squashed), scorer=fuzz.ratio, score_cutoff=threshold)
        if best is not None:
            return squashed[best[0]], "vaccine_fuzzy"
    return None, "vaccine_unknown"


def parse_vaccines(values: pd.Series, *, threshold: float = 85.0) -> pd.DataFrame:
    """Canonical vaccine name and code from free text, brand names and misspellings.

    Matching works on folded text (``header_key``): exact canonical name (silent), then exact
    alias from ``vaccines.csv`` (``vaccine_alias``), then an alias contained in a longer text
    when only one product matches (``vaccine_contains``), then rapidfuzz ``ratio`` ≥
    ``threshold`` on the squashed aliases (``vaccine_fuzzy``). Unmatched → NA, rule
    ``vaccine_unknown`` (``vaccine_missing`` when empty). Does not mutate the input.

    Examples:
        >>> r = parse_vaccines(pd.Series(["Pfizer", "astra zeneca", "Vắc xin Sinopharm", "Moderma", "Sinovac"]))
        >>> r["value"].tolist()
        ['Pfizer', 'AstraZeneca', 'Vero Cell', 'Moderna', nan]
        >>> r["rule"].tolist()
        [nan, 'vaccine_alias', 'vaccine_alias', 'vaccine_fuzzy', 'vaccine_unknown']
    """
    _, _, names = _vaccine_keys()

    def one(u: pd.Series) -> pd.DataFrame:
        pairs = [_match_vaccine(x, threshold) for x in to_text(u).tolist()]
        codes = pd.array([p[0] for p in pairs], dtype="str")
        return pd.DataFrame({"value": pd.Series(codes).map(names).astype("str"),
                             "code": codes,
                             "rule": pd.array([p[1] for p in pairs], dtype="str")})

    out = on_uniques(to_text(values), one)
    out["rule"] = out["rule"].where(values.notna(), "vaccine_missing")
    return out
