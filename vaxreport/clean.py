"""Field cleansing of the platform's dose line list: pure steps plus the runner that audits them.

``clean_doses(raw)`` runs ``STEPS`` in order through ``run_steps``. Each step is a pure
``DataFrame -> DataFrame`` function that never mutates its input and knows nothing about
auditing. It may write, besides the columns it owns:

- ``__rule__<col>``: the name of the repair applied to ``col`` on that row (NA = the value was
  only re-typed, e.g. ``"15/03/2022"`` becoming a datetime, which is not a change);
- ``__flag__<col>``: a flag code for a problem found in ``col`` that is not a change;
- ``__quarantine__``: a reason why the row cannot be used at all.

The runner turns these into the audit (one row per changed value: ``record_id, column, old, new,
rule, step``), the quarantine (raw rows plus ``reason``) and the long ``flags`` table, and logs
rows in/out per step. Row conservation holds: ``len(raw) == len(data) + len(quarantine)``.
Running ``clean_doses`` again on its own ``data`` changes nothing.

Examples:
    >>> raw = pd.DataFrame({
    ...     "record_id": ["r1", "r2", "r3"], "person_ref": ["p1", "p1", "p2"],
    ...     "full_name": ["nguyÔn v¨n an", "Nguyễn Văn An", "Lê Thị Bình"],
    ...     "birth_date": ["01/02/1980", "1/2/80", "31/02/1990"], "gender": ["Nam", "nam", "Nữ"],
    ...     "id_number": ["019080000123", "19080000123", "1.9E+11"],
    ...     "phone": ["0912345678", "+84 912 345 678", "01686123456"],
    ...     "district_code": ["164"] * 3, "commune_code": ["05443"] * 3,
    ...     "vaccine": ["AstraZeneca", "Astra Zeneca", "Sinovac"], "dose_number": ["Mũi 1", "2", "1"],
    ...     "dose_date": ["15/06/2021", "44470", "01/10/2021"], "site_code": ["S1"] * 3,
    ...     "sign_status": ["signed"] * 3})
    >>> res = clean_doses(raw, params=CleanParams(as_of=dt.date(2022, 5, 31)))
    >>> res.data[["full_name", "id_number", "phone", "vaccine", "dose_date"]].astype(str).values.tolist()
    [['Nguyễn Văn An', '019080000123', '0912345678', 'AstraZeneca', '2021-06-15'], \
['Nguyễn Văn An', '019080000123', '0912345678', 'AstraZeneca', '2021-10-01']]
    >>> res.quarantine[["record_id", "reason"]].values.tolist()
    [['r3', 'unknown_vaccine']]
    >>> sorted(res.audit["rule"].unique().tolist())
    ['date_excel_serial', 'date_two_digit_year', 'gender_normalise', 'id_restore_leading_zero', \
'phone_country_code', 'text_legacy_tcvn3', 'vaccine_alias']
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from time import perf_counter

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import fuzz, process

from vaxreport import parse, refdata, text, unit_history
from vaxreport.exceptions import SchemaViolation
from vaxreport.schemas import AUDIT_COLUMNS, CLEAN_DOSES, DOSES, QUARANTINE_REASON, header_key

RULE = "__rule__"
FLAG = "__flag__"
QUARANTINE = "__quarantine__"
FLAG_COLUMNS = ("record_id", "column", "flag")
LOG_COLUMNS = ("step", "rows_in", "rows_out", "changes", "seconds")

# Flag codes, in the order they are listed in ``id_flags`` / ``date_flags``.
ID_FLAGS = ("id_missing", "id_not_digits", "id_excel_lost_digits", "id_bad_length",
            "id_placeholder", "cmnd9", "cccd_bad_province", "cccd_century_mismatch",
            "cccd_sex_mismatch", "cccd_year_mismatch")
DATE_FLAGS = ("birth_date_missing", "birth_date_unparseable", "birth_date_impossible",
              "birth_date_future", "birth_date_implausible", "dose_date_future",
              "dose_before_campaign", "dose_before_birth", "entered_at_unparseable",
              "signed_at_unparseable")
# Flags that make an ID unusable (``id_valid`` False).
_ID_INVALID = frozenset(ID_FLAGS) - {"cmnd9"}


@dataclass(frozen=True)
class CleanParams:
    """Parameters of the field cleansing.

    Attributes:
        as_of: report date; dose and birth dates after it are flagged (default: today).
        campaign_start: first day of the national campaign; earlier doses are flagged.
        province_code: GSO code of the province whose admin units are checked.
        name_match_threshold: rapidfuzz score (0-100) to accept an admin-unit name match.
        vaccine_match_threshold: rapidfuzz ratio (0-100) to accept a misspelt vaccine name.
        max_age: birth dates implying an older person are flagged ``birth_date_implausible``.
        min_dose_gap_days: two dose dates of one record closer than this are one dose (the
            shortest primary interval is 14 days, Abdala); used to place unnumbered boosters.
        legacy_name_evidence: how many times likelier (from the column's word frequencies)
            the legacy reading of a name that is valid both ways must be ("Hoà Thò An": VNI
            "Hồ Thị An") to be preferred to its Unicode reading.
        units_on: the day whose administrative units codes are checked against (a run passes
            its period end); default that of ``refdata.admin_units`` (31/12/2022).
    """

    as_of: dt.date | None = None
    campaign_start: dt.date = dt.date(2021, 3, 8)
    province_code: str = "19"
    name_match_threshold: float = 90.0
    vaccine_match_threshold: float = 85.0
    max_age: int = 120
    min_dose_gap_days: int = 14
    legacy_name_evidence: float = 100.0
    units_on: dt.date | None = None

    @property
    def report_date(self) -> dt.date:
        return self.as_of or dt.date.today()


@dataclass(frozen=True)
class Step:
    """A named cleansing step: ``func(df, params) -> df`` may write ``columns`` (audited)."""

    name: str
    func: Callable[[pd.DataFrame, CleanParams], pd.DataFrame]
    columns: tuple[str, ...]


@dataclass
class CleanResult:
    """Output of ``clean_doses``.

    Attributes:
        data: cleansed rows, columns ``schemas.CLEAN_DOSES``.
        audit: one row per changed value, columns ``schemas.AUDIT_COLUMNS``.
        quarantine: raw rows that cannot be used, plus ``reason``.
        flags: one row per problem found that is not a change: ``record_id, column, flag``.
        log: per step ``step, rows_in, rows_out, changes, seconds``.
    """

    data: pd.DataFrame
    audit: pd.DataFrame
    quarantine: pd.DataFrame
    flags: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FLAG_COLUMNS))
    log: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=LOG_COLUMNS))


# ----------------------------------------------------------------------------- small helpers
def _str(s: pd.Series) -> pd.Series:
    return s if isinstance(s.dtype, pd.StringDtype) else s.astype("str")


_WS = "[ \t\n\r\x0b\x0c\u00a0\u2007\u202f\u200b\ufeff\u3000]+"  # real characters, RE2-safe


_WS_ODD = "^ | $|  |[\t\n\r\x0b\x0c\u00a0\u2007\u202f\u200b\ufeff\u3000]"


def _squeeze_ws(s: pd.Series) -> pd.Series:
    """Trim, collapse runs of whitespace (incl. NBSP, tabs) to one space; blank → NA."""
    out = _str(s)
    odd = out.str.contains(_WS_ODD, regex=True).fillna(False).to_numpy(bool)
    blank = out.eq("").to_numpy(bool)
    if not odd.any() and not blank.any():
        return out  # the same array: unchanged columns share memory with the input
    if odd.any():
        fixed = out[odd].str.replace(_WS, " ", regex=True).str.strip(" ")
        out = out.copy()
        out[odd] = fixed
    return out.mask(out.eq(""))


def _take_str(values: Sequence[str | None], codes: np.ndarray, index: pd.Index) -> pd.Series:
    """String column ``values[codes]`` (``values`` per unique key, ``codes`` per row, -1 = NA)."""
    idx = pa.array(codes, mask=codes < 0) if len(codes) and codes.min() < 0 else pa.array(codes)
    arr = pa.array(list(values), type=pa.large_string()).take(idx)
    return pd.Series(pd.array(arr, dtype="str"), index=index, copy=False)


def _flags_join(parts: Sequence[tuple[str, pd.Series]], order: Sequence[str], index: pd.Index,
                existing: pd.Series | None = None) -> pd.Series:
    """``;``-joined flag codes from ``(code, boolean mask)`` pairs, union ``existing`` flags.

    Codes come out in ``order``. Rows are combined as bit patterns and only the unique
    combinations are turned into text.
    """
    n = len(index)
    key = np.zeros(n, dtype="int64")
    codes_list = [code for code, _ in parts]
    for bit, (_, mask) in enumerate(parts):
        key |= mask.reindex(index).fillna(False).to_numpy(dtype=bool).astype("int64") << bit
    ex_uniques: list[str] = []
    if existing is not None:
        ex_codes, ex_u = pd.factorize(_str(existing).reindex(index).fillna(""))
        key |= ex_codes.astype("int64") << len(parts)
        ex_uniques = list(ex_u)
    codes, uniques = pd.factorize(key)
    rank = {f: i for i, f in enumerate(order)}
    joined = []
    for u in uniques:
        fl = {codes_list[b] for b in range(len(parts)) if u >> b & 1}
        if ex_uniques:
            fl |= {f for f in ex_uniques[u >> len(parts)].split(";") if f}
        joined.append(";".join(sorted(fl, key=lambda f: (rank.get(f, len(rank)), f))))
    return pd.Series(np.asarray(joined, dtype=object)[codes] if n else [], index=index, dtype="str")


def _drop_flags(flags: pd.Series, drop: set[str]) -> pd.Series:
    """Remove the given codes from ``;``-joined flag strings (on unique values)."""
    codes, uniques = pd.factorize(_str(flags).fillna(""))
    kept = [";".join(f for f in u.split(";") if f and f not in drop) for u in uniques]
    return pd.Series(np.asarray(kept, dtype=object)[codes] if len(codes) else [],
                     index=flags.index, dtype="str")


def _flag(mask: pd.Series, code: str) -> pd.Series:
    """A flag-code column: ``code`` where ``mask``, else NA."""
    hit = mask.fillna(False).to_numpy(bool)
    return _take_str([code], np.where(hit, 0, -1), mask.index)


def _render(s: pd.Series) -> pd.Series:
    """Values as text for the audit: ISO dates (with time only when there is one)."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        has_time = (s != s.dt.normalize()).fillna(False)
        out = s.dt.strftime("%Y-%m-%d").astype("str")
        return out.mask(has_time, s.dt.strftime("%Y-%m-%d %H:%M:%S").astype("str"))
    if isinstance(s.dtype, pd.StringDtype):
        return s
    if s.dtype == object:
        return s.map(lambda v: v if isinstance(v, str) else str(v), na_action="ignore").astype("str")
    return s.astype("str")


def _differs(a: pd.Series, b: pd.Series) -> pd.Series:
    ra, rb = _render(a), _render(b)
    ra, rb = ra.mask(ra.eq("")), rb.mask(rb.eq(""))  # blank and NA are the same "no value"
    same = (ra == rb).fillna(False) | (ra.isna() & rb.isna())
    return ~same


# ----------------------------------------------------------------------------- text
def _cp1252(s: str) -> bool:
    """Whether ``s`` could be legacy-font text read as cp1252 (every character encodable)."""
    try:
        s.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def _simple_title(s: str) -> str:
    return " ".join(w[:1].upper() + w[1:].lower() for w in s.split(" "))


def _fix_text(s0: str, name: bool) -> tuple[str | None, str | None]:
    """(repaired value, rule) for one distinct raw value; see ``standardise_text``."""
    s1 = " ".join(s0.translate(_ZERO_WIDTH).split())
    if not s1:
        return None, None
    rule = "text_whitespace" if s1 != s0 else None
    s2 = s1
    legacy_ok = True
    if not s1.isascii():
        s2 = text.to_unicode(s1)
        if s2 != s1:
            legacy_ok = _cp1252(s1)
            enc = text.detect_legacy(s1) if legacy_ok else None
            if enc is not None:
                rule = f"text_legacy_{enc}"
            else:
                # A value holding Unicode Vietnamese letters is not legacy text ("Lê Thị Vâ",
                # a typo): NFC and tone placement only.
                s2 = text.normalize_tones(s1)
                if s2 != s1:
                    # Marks NFC cannot compose (a tone typed before the vowel mark) are a
                    # composition repair like NFC itself, not a tone placement.
                    nfc = unicodedata.is_normalized("NFC", s1) and not _COMBINING.search(s1)
                    rule = "text_tone_placement" if nfc else "text_nfc"
    if not name:
        return s2, rule
    # ``text.title_case_name`` without repeating its ``to_unicode``: s2 is already repaired.
    s3 = s2.title() if legacy_ok else _simple_title(s2)
    if s3 != s2 and rule in (None, "text_whitespace"):
        rule = "name_case"
    return s3, rule


_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
_COMBINING = re.compile("[\u0300-\u036f]")
# A character no legacy font read as cp1252 can produce (RE2 class).
_NOT_CP1252 = "[^" + "".join(f"\\x{{{ord(c):x}}}" for c in
                             bytes(range(256)).decode("cp1252", errors="ignore")) + "]"


def _name_positions(words: list[str]) -> list[int]:
    """0 family name, 1 middle names, 2 given name (a one-word name counts as given name)."""
    n = len(words)
    return [2 if i == n - 1 else 0 if i == 0 else 1 for i in range(n)]


def _legacy_name_evidence(u: pd.Series, pairs: list[tuple[str | None, str | None]],
                          min_ratio: float) -> list[tuple[str | None, str | None]]:
    """Resolve names that read as valid Vietnamese both as Unicode and as legacy text.

    "Hoà Thò An" is valid Unicode and also "Hồ Thị An" typed in a VNI font; one value cannot
    tell (``text.legacy_readings``), the rest of the column can. The evidence is how often each
    word occurs, at its place in the name (family, middle, given), in the column's names that
    are certainly Unicode (holding a letter no legacy font produces, such as ị ơ ư ă đ, or
    ASCII). A legacy reading replaces the Unicode one when the product over its words of
    ``(count of the word + 1)`` is at least ``min_ratio`` times that of the Unicode reading:
    "Thị" (in most women's names) against "Thò" (in none), "Vũ" against "Vò". Names with rare
    words on both sides keep their Unicode reading.
    """
    arr = pa.array(u.to_numpy(dtype=object, na_value=None), type=pa.string())
    proven = np.asarray(pc.or_(pc.string_is_ascii(arr), pc.match_substring_regex(arr, _NOT_CP1252))
                        .fill_null(False), bool)
    counts: list[dict[str, int]] = [{}, {}, {}]
    cands = []
    for i, (value, rule) in enumerate(pairs):
        if value is None:
            continue
        if proven[i]:
            words = value.lower().split()
            for pos, w in zip(_name_positions(words), words, strict=True):
                counts[pos][w] = counts[pos].get(w, 0) + 1
        elif rule is None or not rule.startswith("text_legacy"):
            cands.append(i)
    if not cands:
        return pairs

    def score(v: str) -> float:
        words = v.lower().split()
        return sum(np.log1p(counts[pos].get(w, 0))
                   for pos, w in zip(_name_positions(words), words, strict=True))

    out = list(pairs)
    raw = u.tolist()
    threshold = float(np.log(min_ratio))
    for i in cands:
        readings = text.legacy_readings(raw[i])
        if not readings:
            continue
        base = score(pairs[i][0] or "")
        best = max(readings.items(), key=lambda kv: (score(kv[1]), kv[0]))
        if score(best[1]) - base >= threshold:
            out[i] = (text.title_case_name(best[1]), f"text_legacy_{best[0]}")
    return out


def _text_pairs(u: pd.Series, *, name: bool) -> list[tuple[str | None, str | None]]:
    """(repaired value, rule) for each distinct raw value of a text column."""
    return [_fix_text(x, name) if isinstance(x, str) else (None, None) for x in u.tolist()]


def _site_habit_pairs(u: pd.Series, codes: np.ndarray, plain: list[tuple[str | None, str | None]],
                      pairs: list[tuple[str | None, str | None]], sites: pd.Series
                      ) -> tuple[np.ndarray, list[tuple[str | None, str | None]]]:
    """Names decided by their site's typing habit (``text.site_habits``), per row.

    A site types in one font: at a site whose names are mostly evidently TCVN3 (VNI), a name
    that is valid both ways ("Anh Tó", TCVN3 for "Anh Tú") is TCVN3 (VNI) too and is decoded
    word by word (``text.decode_words``). At a site that types Unicode (or has no clear habit)
    ``pairs`` stands: an ambiguous name stays as typed unless the column's word frequencies
    show it is legacy beyond doubt (``_legacy_name_evidence``, ``legacy_name_evidence`` times
    likelier: "Ma Thò Tình" is VNI "Ma Thị Tình" even where it was pasted into a Unicode
    site). The same string can thus differ between two sites: the result is per row —
    ``(codes, pairs)`` extended with the site-specific readings.
    """
    site_codes, site_u = pd.factorize(sites)
    kinds = ("tcvn3", "vni", "unicode")
    # Evidence per distinct name (``text.typing_evidence``, from the repairs already made):
    # repaired as legacy, or holding a letter no legacy font produces. 0 = none.
    arr = pa.array(u.to_numpy(dtype=object, na_value=None), type=pa.string())
    unicode = np.asarray(pc.and_(pc.invert(pc.string_is_ascii(arr)), pc.match_substring_regex(arr, _NOT_CP1252))
                         .fill_null(False), bool)
    evidence = np.array([kinds.index(r[12:]) + 1 if isinstance(r, str) and r.startswith("text_legacy_") else 0
                         for _, r in plain], dtype=np.int64)
    evidence[unicode] = 3
    # Count it over the distinct (site, name) pairs, as integer keys: cheap on millions of rows.
    ok = (site_codes >= 0) & (codes >= 0)
    key = pd.unique(site_codes[ok].astype(np.int64) * (len(u) + 1) + codes[ok])
    s_idx, n_idx = np.divmod(key, len(u) + 1)
    counts = np.bincount(s_idx * 4 + evidence[n_idx], minlength=len(site_u) * 4).reshape(-1, 4)[:, 1:]
    # The rule of ``text.site_habits``: one kind holds more than half of the site's evidence.
    total = counts.sum(axis=1)
    habit = np.where(counts.max(axis=1) > text.HABIT_MAJORITY * total, counts.argmax(axis=1) + 1, 0)
    row_h = np.append(habit, 0)[site_codes]  # code -1 (no site) picks the trailing 0
    out_pairs = list(pairs)
    out_codes = codes.copy()
    raw = u.tolist()
    for k, kind in enumerate(kinds[:2], start=1):  # a Unicode site keeps ``pairs``
        rows = np.flatnonzero((row_h == k) & (codes >= 0))
        if not len(rows):
            continue
        override: dict[int, tuple[str | None, str | None]] = {}
        for c in pd.unique(codes[rows]).tolist():
            value, rule = pairs[c]
            if rule == f"text_legacy_{kind}" or not _cp1252(raw[c]) or raw[c].isascii():
                continue
            dec = text.clean_whitespace(text.decode_words(raw[c], kind)).title()
            if dec != value and dec != raw[c]:
                override[c] = (dec, f"text_legacy_{kind}")
        if not override:
            continue
        slot = {c: len(out_pairs) + i for i, c in enumerate(override)}
        out_pairs.extend(override.values())
        lookup = np.full(len(pairs), -1, dtype=np.int64)
        lookup[list(slot)] = list(slot.values())
        hit = lookup[codes[rows]]
        out_codes[rows[hit >= 0]] = hit[hit >= 0]
    return out_codes, out_pairs


def standardise_text(df: pd.DataFrame, params: CleanParams) -> pd.DataFrame:
    """Repair names, addresses and site names; add ``name_key`` (folded full name).

    Legacy TCVN3/VNI mojibake and decomposed text become NFC with one tone-placement
    convention (``text.to_unicode``), whitespace is collapsed, and names are title-cased.
    Rules: ``text_legacy_tcvn3``, ``text_legacy_vni``, ``text_nfc``, ``text_tone_placement``,
    ``name_case``, ``text_whitespace``. Works on unique values. Does not mutate the input.
    With a ``site_code`` column, a name valid both as Unicode and as legacy text is decided by
    its site's typing habit (``_site_habit_pairs``): "Anh Tó" is "Anh Tú" at a TCVN3 site.

    Examples:
        >>> df = pd.DataFrame({"full_name": ["nguyÔn  v¨n an", "Lê Thị Hoà"], "address": [" x ", None],
        ...                    "site_name": ["TYT", "TYT"]})
        >>> out = standardise_text(df, CleanParams())
        >>> out[["full_name", "name_key", "__rule__full_name"]].values.tolist()
        [['Nguyễn Văn An', 'nguyen van an', 'text_legacy_tcvn3'], ['Lê Thị Hòa', 'le thi hoa', \
'text_tone_placement']]
    """
    _require(df, ["full_name"])
    new: dict[str, pd.Series] = {}
    for col, name in (("full_name", True), ("address", False), ("site_name", False)):
        if col not in df:
            continue
        raw = _str(df[col])
        codes, uniques = pd.factorize(raw)
        u = pd.Series(uniques.to_numpy(dtype=object), dtype=object)
        plain = _text_pairs(u, name=name)
        pairs = _legacy_name_evidence(u, plain, params.legacy_name_evidence) if name else plain
        if name and "site_code" in df:  # per row: extra codes for site-specific readings
            codes, pairs = _site_habit_pairs(u, codes, plain, pairs, _str(df["site_code"]))
        values = [p[0] for p in pairs]
        # Keep the input array when nothing changed (saves memory on 3 M rows).
        new[col] = raw if values == u.tolist() else _take_str(values, codes, df.index)
        new[RULE + col] = _take_str([p[1] for p in pairs], codes, df.index)
        if col == "full_name":
            new["name_key"] = _take_str([None if v is None else text.fold(v) for v in values],
                                        codes, df.index)
    return df.assign(**new)


def standardise_codes(df: pd.DataFrame, params: CleanParams) -> pd.DataFrame:
    """Trim identifiers and codes; drop the ``.0`` Excel adds to numeric codes.

    Applies to record and person references, site codes, lot and insurance numbers (upper
    case, no inner spaces) and admin-unit codes. Rules: ``code_whitespace``,
    ``code_excel_float``, ``code_case_spacing``. Does not mutate the input.

    Examples:
        >>> df = pd.DataFrame({"record_id": [" r1 "], "site_code": ["S1"], "lot": ["ab 123"],
        ...                    "district_code": ["164.0"]})
        >>> out = standardise_codes(df, CleanParams())
        >>> out[["record_id", "site_code", "lot", "district_code"]].values.tolist()
        [['r1', 'S1', 'AB123', '164']]
        >>> out["__rule__district_code"].tolist()
        ['code_excel_float']
    """
    new: dict[str, pd.Series] = {}
    for col in ("record_id", "person_ref", "site_code", "province_code", "district_code",
                "commune_code", "lot", "insurance_no"):
        if col not in df:
            continue
        if col.endswith("_code"):
            pattern, rule_name = r"^[0-9]+\.0+$", "code_excel_float"
        elif col in ("lot", "insurance_no"):
            pattern, rule_name = "[ a-z]", "code_case_spacing"
        else:
            pattern, rule_name = "", ""
        raw = _str(df[col])
        # One pass over the column finds the few values to repair; only those are touched.
        arr = parse._arrow(raw)
        hit_re = _WS_ODD + ("|" + pattern if pattern else "")
        hit = np.asarray(pc.or_(pc.match_substring_regex(arr, hit_re), pc.equal(arr, ""))
                         .fill_null(False), bool)
        if not hit.any():
            new[col] = raw
            new[RULE + col] = parse._rule_series(df.index)
            continue
        sub = raw[hit]
        odd = sub.str.contains(_WS_ODD, regex=True).fillna(False).to_numpy(bool)
        fixed = _squeeze_ws(sub)
        rule = np.where(odd, "code_whitespace", None).astype(object)
        if pattern:
            fix_hit = fixed.str.contains(pattern, regex=True).fillna(False).to_numpy(bool)
            if fix_hit.any():
                part = fixed[fix_hit]
                part = (part.str.replace(r"\.0+$", "", regex=True) if col.endswith("_code")
                        else part.str.replace(" ", "", regex=False).str.upper())
                fixed = fixed.copy()
                fixed[fix_hit] = part
                rule[fix_hit] = rule_name
        new[col] = parse._put_str(raw, hit, fixed)
        new[RULE + col] = parse._put_str(parse._rule_series(df.index), hit,
                                         pd.Series(rule, index=sub.index, dtype="str"))
    return df.assign(**new)


# ----------------------------------------------------------------------------- dates
def parse_dose_dates(df: pd.DataFrame, params: CleanParams) -> pd.DataFrame:
    """Parse ``dose_date``; quarantine rows without a usable one.

    Reasons: ``no_dose_date`` (empty), ``unparseable_dose_date``, ``impossible_dose_date``
    (31/02/2022, year outside 1900-2100). Does not mutate the input.

    Examples:
        >>> df = pd.DataFrame({"dose_date": ["15/03/2022", "03/15/2022", "31/02/2022", ""]})
        >>> out = parse_dose_dates(df, CleanParams())
        >>> out["__quarantine__"].tolist()
        [nan, nan, 'impossible_dose_date', 'no_dose_date']
        >>> out["__rule__dose_date"].tolist()
        [nan, 'date_swap_day_month', nan, nan]
    """
    _require(df, ["dose_date"])
    r = parse.parse_dates(df["dose_date"], kind="dose", as_of=params.report_date)
    reason = r["status"].map({"empty": "no_dose_date", "unparseable": "unparseable_dose_date",
                              "impossible": "impossible_dose_date"}).astype("str")
    return df.assign(dose_date=r["value"], **{RULE + "dose_date": r["rule"], QUARANTINE: reason})


def parse_other_dates(df: pd.DataFrame, params: CleanParams) -> pd.DataFrame:
    """Parse ``birth_date``, ``entered_at`` and ``signed_at``; unusable values → NA + flag.

    Flags (in ``date_flags``): ``birth_date_unparseable``, ``birth_date_impossible``,
    ``entered_at_unparseable``, ``signed_at_unparseable``; birth dates are dates, the two
    timestamps keep their time of day. Does not mutate the input.

    Examples:
        >>> df = pd.DataFrame({"birth_date": ["01/01/1980", "31/02/1990", "abc"]})
        >>> out = parse_other_dates(df, CleanParams())
        >>> out["date_flags"].tolist()
        ['', 'birth_date_impossible', 'birth_date_unparseable']
    """
    _require(df, ["birth_date"])
    new: dict[str, pd.Series] = {}
    flags: list[tuple[str, pd.Series]] = []
    for col, kind, date_only in (("birth_date", "birth", True), ("entered_at", "dose", False),
                                 ("signed_at", "dose", False)):
        if col not in df:
            continue
        r = parse.parse_dates(df[col], kind=kind, as_of=params.report_date, date_only=date_only)
        new[col] = r["value"]
        bad = r["status"].isin(["unparseable", "impossible"])
        bad_rows = bad.to_numpy(bool)
        new[RULE + col] = (parse._put_str(r["rule"], bad_rows, "date_" + r["status"][bad_rows])
                           if bad_rows.any() else r["rule"])
        if col == "birth_date":
            flags += [("birth_date_unparseable", r["status"].eq("unparseable")),
                      ("birth_date_impossible", r["status"].eq("impossible"))]
        else:
            flags.append((f"{col}_unparseable", bad))
    new["date_flags"] = _flags_join(flags, DATE_FLAGS, df.index, df.get("date_flags"))
    return df.assign(**new)


def flag_dates(df: pd.DataFrame, params: CleanParams) -> pd.DataFrame:
    """Flag doses after the report date, before the campaign or before birth, and odd birth dates.

    Adds to ``date_flags``: ``dose_date_future``, ``dose_before_campaign``,
    ``dose_before_birth``, ``birth_date_missing``, ``birth_date_future``,
    ``birth_date_implausible`` (older than ``max_age`` at the dose). Values are not changed.
    Does not mutate the input.

    Examples:
        >>> df = pd.DataFrame({"dose_date": pd.to_datetime(["2021-01-05", "2023-01-01"]),
        ...                    "birth_date": pd.to_datetime(["2021-02-01", "1990-01-01"])})
        >>> flag_dates(df, CleanParams(as_of=dt.date(2022, 5, 31)))["date_flags"].tolist()
        ['dose_before_campaign;dose_before_birth', 'dose_date_future']
    """
    _require(df, ["dose_date", "birth_date"])
    dose, birth = df["dose_date"], df["birth_date"]
    as_of = pd.Timestamp(params.report_date)
    too_old = (dose.dt.year - birth.dt.year) > params.max_age
    parts = [
        ("dose_date_future", dose > as_of),
        ("dose_before_campaign", dose < pd.Timestamp(params.campaign_start)),
        ("dose_before_birth", dose < birth),
        ("birth_date_missing", birth.isna()),
        ("birth_date_future", birth > as_of),
        ("birth_date_implausible", too_old),
    ]
    existing = df["date_flags"] if "date_flags" in df else None
    if existing is not None:  # birth_date_missing follows the current value, not history
        existing = _drop_flags(existing, {"birth_date_missing"})
    return df.assign(date_flags=_flags_join(parts, DATE_FLAGS, df.index, existing))


# ----------------------------------------------------------------------------- vaccines, doses
def standardise_vaccines(df: pd.DataFrame, params: CleanParams) -> pd.DataFrame:
    """Map free-text vaccine names to the canonical product and ``vaccine_code``.

    Unmatched or empty → quarantine ``unknown_vaccine`` / ``no_vaccine``. Does not mutate the
    input.

    Examples:
        >>> out = standardise_vaccines(pd.DataFrame({"vaccine": ["Comirnaty", "Sinovac"]}), CleanParams())
        >>> out[["vaccine", "vaccine_code", "__quarantine__"]].values.tolist()
        [['Pfizer', 'PFIZER', nan], [nan, nan, 'unknown_vaccine']]
    """
    _require(df, ["vaccine"])
    r = parse.parse_vaccines(df["vaccine"], threshold=params.vaccine_match_threshold)
    reason = r["rule"].map({"vaccine_unknown": "unknown_vaccine",
                            "vaccine_missing": "no_vaccine"}).astype("str")
    prev = df[QUARANTINE] if QUARANTINE in df else parse._rule_series(df.index)
    return df.assign(vaccine=r["value"], vaccine_code=r["code"],
                     **{RULE + "vaccine": r["rule"].mask(reason.notna()),
                        QUARANTINE: prev.fillna(reason)})


def parse_dose_numbers(df: pd.DataFrame, params: CleanParams) -> pd.DataFrame:
    """``dose_number`` as Int64 from "Mũi 1", "2.0", "Mũi nhắc lại lần 1" (→ 3)…

    A booster or additional dose written without its number ("Mũi nhắc lại", "Mũi bổ sung") is
    placed in the sequence of its ``person_ref``: its position among the record's dose dates
    (dates closer than ``min_dose_gap_days`` count once: a dose entered twice), at least 3 (rules ``dose_number_booster_seq``, ``dose_number_additional_seq``).
    Unreadable values become NA (rule ``dose_number_unknown``, flag in ``flags``): the dose is
    still usable and ``doses.reconcile`` infers its number from the sequence. Needs
    ``dose_date`` parsed. Does not mutate the input.

    Examples:
        >>> df = pd.DataFrame({"person_ref": ["a", "a", "a", "a", "b"],
        ...                    "dose_number": ["Mũi 1", "2", "nhắc lại", "Mũi nhắc lại", "nhắc lại"],
        ...                    "dose_date": pd.to_datetime(["2021-06-01", "2021-09-01", "2022-01-01",
        ...                                                 "2022-05-01", "2022-01-01"])})
        >>> parse_dose_numbers(df, CleanParams())["dose_number"].tolist()
        [1, 2, 3, 4, 3]
    """
    _require(df, ["dose_number"])
    r = parse.parse_dose_numbers(df["dose_number"])
    value, rule = r["value"], r["rule"]
    seq = rule.isin(["dose_number_booster_seq", "dose_number_additional_seq"]).to_numpy(bool)
    if seq.any() and "person_ref" in df and "dose_date" in df:
        refs = df["person_ref"]
        persons = refs[seq].dropna().unique()
        mine = refs.isin(persons).to_numpy(bool) & df["dose_date"].notna().to_numpy(bool)
        pairs = pd.DataFrame({"p": refs[mine], "d": df["dose_date"][mine]}).drop_duplicates()
        pairs = pairs.sort_values(["p", "d"], kind="stable")
        # Dates closer than the shortest dose interval are one dose entered twice.
        first = pairs["p"].ne(pairs["p"].shift()).to_numpy(bool)
        gap = pairs["d"].diff().dt.days.to_numpy(dtype="float64", na_value=np.nan)
        new_slot = first | (gap >= params.min_dose_gap_days)
        slot = np.cumsum(new_slot)
        start = np.maximum.accumulate(np.where(first, slot, 0))
        pairs["pos"] = slot - start + 1
        pos = pd.MultiIndex.from_frame(df.loc[seq, ["person_ref", "dose_date"]])
        look = pairs.set_index(["p", "d"])["pos"]
        found = look.reindex(pos).to_numpy(dtype="float64", na_value=np.nan)
        number = np.where(np.isnan(found), 3, np.maximum(found, 3)).astype("int64")
        value = value.copy()
        value[seq] = number
    return df.assign(dose_number=value, **{RULE + "dose_number": rule,
                                           FLAG + "dose_number": _flag(
                                               rule.eq("dose_number_unknown"),
                                               "dose_number_unknown")})


def standardise_gender(df: pd.DataFrame, params: CleanParams) -> pd.DataFrame:
    """``gender`` as "M"/"F"/NA from Nam/Nữ/nu/1/2/M/F/male/female…; unknown → NA + flag.

    Examples:
        >>> standardise_gender(pd.DataFrame({"gender": ["Nữ", "nam giới", "?"]}), CleanParams())[
        ...     "gender"].tolist()
        ['F', 'M', nan]
    """
    _require(df, ["gender"])
    r = parse.parse_gender(df["gender"])
    return df.assign(gender=r["value"], **{RULE + "gender": r["rule"],
                                           FLAG + "gender": _flag(r["rule"].eq("gender_unknown"),
                                                                  "gender_unknown")})


# ----------------------------------------------------------------------------- IDs
def standardise_ids(df: pd.DataFrame, params: CleanParams) -> pd.DataFrame:
    """Normalise ``id_number`` and check CCCD structure against birth date and gender.

    Strips labels and separators and undoes Excel damage only where the digits are certain
    (``parse.parse_ids``). A 10- or 11-digit value gets its leading zeros back when the padded
    ``0xx`` is a province code and, if the birth date is known, the century and year digits
    agree with it; an 8-digit value becomes a 9-digit CMND (rule ``id_restore_leading_zero``). Checks, each a flag in ``id_flags`` and never a fix:
    ``id_missing``, ``id_not_digits``, ``id_excel_lost_digits``, ``id_bad_length``,
    ``id_placeholder``, ``cmnd9`` (9-digit CMND, accepted), ``cccd_bad_province``,
    ``cccd_century_mismatch``, ``cccd_sex_mismatch``, ``cccd_year_mismatch``. ``id_valid`` is
    True for a 12-digit CCCD passing every check or a 9-digit CMND. Needs ``birth_date`` parsed
    and ``gender`` standardised. Does not mutate the input.

    Examples:
        >>> df = pd.DataFrame({"id_number": ["019080000123", "19080000123", "019280000123", "090123456"],
        ...                    "birth_date": pd.to_datetime(["1980-01-01"] * 4), "gender": ["M"] * 4})
        >>> out = standardise_ids(df, CleanParams())
        >>> out[["id_number", "id_flags", "id_valid"]].values.tolist()
        [['019080000123', '', True], ['019080000123', '', True], ['019280000123', \
'cccd_century_mismatch', False], ['090123456', 'cmnd9', True]]
    """
    _require(df, ["id_number", "birth_date", "gender"])
    r = parse.parse_ids(df["id_number"])
    value, rule = r["value"], r["rule"]
    birth = df["birth_date"]
    year = birth.dt.year.to_numpy(dtype="float64", na_value=np.nan)
    base = np.floor((year - 1900) / 100) * 2  # century digit of a man; +1 for a woman
    gender = parse._arrow(_str(df["gender"]))
    sex = np.where(np.asarray(pc.equal(gender, "M").fill_null(False), bool), 0.0,
                   np.where(np.asarray(pc.equal(gender, "F").fill_null(False), bool), 1.0, np.nan))
    known = ~np.isnan(year)

    def digit_fields(v: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(12 digits?, province code, century/sex digit, year digits) of each value, read
        from its bytes; NaN where the value is not 12 digits."""
        arr = parse._arrow(_str(v))
        rows = np.flatnonzero(np.asarray(
            pc.match_substring_regex(arr, "^[0-9]{12}$").fill_null(False), bool))
        prov, g, y = (np.full(len(v), np.nan) for _ in range(3))
        if len(rows):
            b = parse._fixed_width_bytes(arr.take(pa.array(rows)), 12)

            def num(*cols: int) -> np.ndarray:
                out = np.zeros(len(rows), dtype="float64")
                for c in cols:
                    out = out * 10 + (b[:, c] - 48)
                return out

            prov[rows], g[rows], y[rows] = num(0, 1, 2), num(3), num(4, 5)
        ok = np.zeros(len(v), dtype=bool)
        ok[rows] = True
        return ok, prov, g, y

    padded = r["padded"]
    is_cccd, _, gp, yp = digit_fields(padded)
    agree = ~is_cccd | ~known | ((np.floor(gp / 2) * 2 == base) & (yp == year % 100))
    restore_s = pd.Series(r["restorable"].to_numpy(bool) & agree, index=df.index)
    if restore_s.any():
        value = value.mask(restore_s, padded)
        rule = rule.mask(restore_s, "id_restore_leading_zero")

    n = np.asarray(pc.utf8_length(parse._arrow(_str(value))).fill_null(-1), dtype=np.int64)
    is12, is9 = pd.Series(n == 12, index=df.index), pd.Series(n == 9, index=df.index)
    _, prov, g, y = digit_fields(value)
    provinces = np.array(sorted(int(c) for c in parse._cccd_codes()), dtype="float64")
    placeholder = value.str.fullmatch("|".join(f"{d}+" for d in "0123456789")
                                      + "|0*123456789[0-9]{0,3}|0+[0-9]{0,3}").fillna(False)

    def s_(a: np.ndarray) -> pd.Series:
        return pd.Series(a, index=df.index)

    existing = df["id_flags"] if "id_flags" in df else None
    if existing is not None:  # keep only the flags recording information already lost
        existing = _drop_flags(existing, set(ID_FLAGS) - {"id_excel_lost_digits", "id_not_digits"})
        lost = existing.ne("").to_numpy(bool)
    else:
        lost = np.zeros(len(df), dtype=bool)
    parts = [
        ("id_missing", value.isna() & r["flag"].isna() & ~s_(lost)),
        ("id_not_digits", r["flag"].eq("id_not_digits")),
        ("id_excel_lost_digits", r["flag"].eq("id_excel_lost_digits")),
        ("id_bad_length", value.notna() & ~is12 & ~is9),
        ("id_placeholder", placeholder),
        ("cmnd9", is9),
        ("cccd_bad_province", is12 & ~s_(np.isin(prov, provinces))),
        ("cccd_century_mismatch", s_(known & ~np.isnan(g) & (np.floor(g / 2) * 2 != base))),
        ("cccd_sex_mismatch", s_(~np.isnan(sex) & ~np.isnan(g) & (g % 2 != sex))),
        ("cccd_year_mismatch", s_(known & ~np.isnan(y) & (y != year % 100))),
    ]
    flags = _flags_join(parts, ID_FLAGS, df.index, existing)
    invalid = np.zeros(len(df), dtype=bool)
    for code, mask in parts:
        if code in _ID_INVALID:
            invalid |= mask.fillna(False).to_numpy(bool)
    valid = value.notna() & (is12 | is9) & ~s_(invalid)
    return df.assign(id_number=value, id_flags=flags, id_valid=valid.astype(bool),
                     **{RULE + "id_number": rule})


# ----------------------------------------------------------------------------- phones
def standardise_phones(df: pd.DataFrame, params: CleanParams) -> pd.DataFrame:
    """``phone`` as a valid 10-digit mobile ``0xxxxxxxxx`` or NA (invalid → NA, audited, flagged).

    Examples:
        >>> out = standardise_phones(pd.DataFrame({"phone": ["+84912345678", "0168 612 3456", "12"]}),
        ...                          CleanParams())
        >>> out[["phone", "phone_valid"]].values.tolist()
        [['0912345678', True], ['0386123456', True], [nan, False]]
    """
    _require(df, ["phone"])
    r = parse.parse_phones(df["phone"])
    return df.assign(phone=r["value"], phone_valid=r["valid"],
                     **{RULE + "phone": r["rule"],
                        FLAG + "phone": _flag(r["invalid"], "phone_invalid")})


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
def _unit_tables(province_code: str, on: dt.date | None = None) -> dict[str, pd.DataFrame]:
    units = refdata.admin_units(province_code, on=on)
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
    _require(df, ["commune_code"])
    dates = df["dose_date"] if "dose_date" in df and pd.api.types.is_datetime64_any_dtype(df["dose_date"]) else None
    if not unit_history.has_retired_codes(_str(df["commune_code"]), on=params.units_on):
        return df
    r = unit_history.retired_commune_codes(_str(df["commune_code"]), dates, on=params.units_on)
    return df.assign(commune_code=_str(r["value"]), **{RULE + "commune_code": _str(r["rule"]),
                                                       FLAG + "commune_code": _str(r["flag"])})


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
    _require(df, ["district_code", "commune_code"])
    tables = _unit_tables(params.province_code, params.units_on)
    new: dict[str, pd.Series] = {}
    parent: pd.Series | None = None
    for col, level, width in (("province_code", "province", 2), ("district_code", "district", 3),
                              ("commune_code", "commune", 5)):
        if col not in df:
            continue
        vals = _str(df[col])
        if level == "district" and parent is None:
            parent = pd.Series(params.province_code, index=df.index, dtype="str")
        cv, uv = pd.factorize(vals)
        if parent is not None:
            cp, up = pd.factorize(parent)
        else:
            cp, up = np.zeros(len(vals), dtype="int64"), pd.Index([None])
        key = (cv.astype("int64") + 1) * (len(up) + 1) + (cp.astype("int64") + 1)
        codes, ukeys = pd.factorize(key)
        res = []
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
        value, rule, flag = (_take_str([r[n] for r in res], codes, df.index) for n in range(3))
        new[col] = value
        new[RULE + col] = rule
        new[FLAG + col] = flag
        parent = value
    return df.assign(**new)


# ----------------------------------------------------------------------------- the runner
STEPS: list[Step] = [
    Step("standardise_codes", standardise_codes,
         ("record_id", "person_ref", "site_code", "lot", "insurance_no", "province_code",
          "district_code", "commune_code")),
    Step("parse_dose_dates", parse_dose_dates, ("dose_date",)),
    Step("standardise_vaccines", standardise_vaccines, ("vaccine",)),
    Step("standardise_text", standardise_text, ("full_name", "address", "site_name")),
    Step("parse_other_dates", parse_other_dates, ("birth_date", "entered_at", "signed_at")),
    Step("flag_dates", flag_dates, ()),
    Step("standardise_gender", standardise_gender, ("gender",)),
    Step("parse_dose_numbers", parse_dose_numbers, ("dose_number",)),
    Step("standardise_ids", standardise_ids, ("id_number",)),
    Step("standardise_phones", standardise_phones, ("phone",)),
    Step("map_retired_communes", map_retired_communes, ("commune_code",)),
    Step("match_admin_units", match_admin_units, ("province_code", "district_code", "commune_code")),
]


def _require(df: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SchemaViolation(f"missing required column(s): {', '.join(missing)}; "
                              f"present: {', '.join(map(str, df.columns))}")


def run_steps(df: pd.DataFrame, steps: Sequence[Step], params: CleanParams) -> CleanResult:
    """Run ``steps`` in order, recording the audit, the quarantine, the flags and a log.

    Each step's declared columns are compared before/after (vectorised); a change is audited
    with the step's ``__rule__<col>`` when it gives one (rows where it gives none were only
    re-typed and are not audited), else with the step name. Rows a step marks with
    ``__quarantine__`` leave the frame; the quarantine holds the *input* rows (as given to
    ``run_steps``) plus ``reason``, and their audit rows are dropped. Does not mutate ``df``.

    Returns:
        ``CleanResult`` whose ``data`` keeps only the columns of the last step's output without
        the ``__`` helper columns.

    Examples:
        >>> df = pd.DataFrame({"record_id": ["a", "b"], "gender": ["nu", "?"]})
        >>> res = run_steps(df, [Step("standardise_gender", standardise_gender, ("gender",))],
        ...                 CleanParams())
        >>> res.audit[["record_id", "old", "new", "rule"]].values.tolist()
        [['a', 'nu', 'F', 'gender_normalise'], ['b', '?', nan, 'gender_unknown']]
        >>> res.flags.values.tolist()
        [['b', 'gender', 'gender_unknown']]
    """
    src = df.reset_index(drop=True)
    cur = src
    audits: list[pd.DataFrame] = []
    flags: list[pd.DataFrame] = []
    quarantined: list[pd.DataFrame] = []
    log: list[tuple[str, int, int, int, float]] = []
    for step in steps:
        t0 = perf_counter()
        out = step.func(cur, params)
        n_changes = 0
        for col in step.columns:
            if col not in out.columns:
                continue
            before = cur[col] if col in cur.columns else pd.Series(pd.NA, index=cur.index,
                                                                    dtype="str")
            after = out[col]
            if RULE + col in out.columns:
                rule = out[RULE + col]
                cand = rule.notna()
                idx = cand[cand].index
                mask = _differs(before.loc[idx], after.loc[idx])
                idx = idx[mask.to_numpy(bool)]
                rules = rule.loc[idx]
            else:
                idx = cur.index[_differs(before, after).to_numpy(bool)]
                rules = pd.Series(step.name, index=idx, dtype="str")
            if len(idx):
                n_changes += len(idx)
                audits.append(pd.DataFrame({
                    "row": idx, "record_id": _str(out.loc[idx, "record_id"]) if "record_id" in out
                    else pd.Series(pd.NA, index=idx, dtype="str"),
                    "column": col, "old": _render(before.loc[idx]), "new": _render(after.loc[idx]),
                    "rule": rules.astype("str"), "step": step.name}))
        for c in [c for c in out.columns if c.startswith(FLAG)]:
            f = out[c]
            f = f[f.notna()]
            if len(f):
                flags.append(pd.DataFrame({"row": f.index, "record_id": _str(out.loc[f.index, "record_id"])
                                           if "record_id" in out else pd.NA,
                                           "column": c[len(FLAG):], "flag": f.astype("str")}))
        rows_in = len(out)
        q = out[QUARANTINE] if QUARANTINE in out.columns else None
        cur = out.drop(columns=[c for c in out.columns if c.startswith("__")])  # before any row copy
        del out
        if q is not None:
            qmask = q.notna().to_numpy(bool)
            if qmask.any():
                quarantined.append(src.loc[cur.index[qmask]].assign(
                    **{QUARANTINE_REASON: q[qmask].astype("str")}))
                cur = cur.loc[~qmask]
        log.append((step.name, rows_in, len(cur), n_changes, perf_counter() - t0))

    kept = cur.index
    audit = (pd.concat(audits, ignore_index=True) if audits
             else pd.DataFrame(columns=["row", *AUDIT_COLUMNS]))
    audit = audit[audit["row"].isin(kept)].drop(columns="row").reset_index(drop=True)
    audit = audit.astype({c: "str" for c in AUDIT_COLUMNS})
    flag_df = (pd.concat(flags, ignore_index=True) if flags
               else pd.DataFrame(columns=["row", *FLAG_COLUMNS]))
    flag_df = flag_df[flag_df["row"].isin(kept)].drop(columns="row").reset_index(drop=True)
    flag_df = flag_df.astype({c: "str" for c in FLAG_COLUMNS})
    quarantine = (pd.concat(quarantined) if quarantined
                  else src.iloc[:0].assign(**{QUARANTINE_REASON: pd.Series(dtype="str")}))
    return CleanResult(data=cur.reset_index(drop=True), audit=audit,
                       quarantine=quarantine.sort_index().reset_index(drop=True),
                       flags=flag_df, log=pd.DataFrame(log, columns=list(LOG_COLUMNS)))


def clean_doses(raw: pd.DataFrame, *, params: CleanParams | None = None,
                steps: Sequence[Step] | None = None) -> CleanResult:
    """Cleanse the platform's dose line list (``schemas.DOSES`` columns, raw strings).

    Runs ``STEPS`` through ``run_steps``, then types and orders the columns as
    ``schemas.CLEAN_DOSES``. Also accepts its own output (typed columns): a second run changes
    nothing. Does not mutate ``raw``.

    Args:
        raw: dose rows with at least the required columns of ``schemas.DOSES``; optional
            columns that are absent are added as NA.
        params: cleansing parameters (default ``CleanParams()``).
        steps: steps to run (default ``STEPS``).

    Returns:
        ``CleanResult(data, audit, quarantine, flags, log)``.

    Raises:
        SchemaViolation: a required column is missing (all missing ones are named).
    """
    params = params or CleanParams()
    _require(raw, DOSES.required)
    df = raw.copy(deep=False)
    for col in DOSES.optional:
        if col not in df.columns:
            df[col] = parse._rule_series(df.index)
    res = run_steps(df, STEPS if steps is None else steps, params)
    data = res.data
    for col in CLEAN_DOSES:
        if col not in data.columns:
            data[col] = parse._rule_series(data.index)
    data = data[list(CLEAN_DOSES)]
    res.data = data
    res.quarantine = res.quarantine[[*raw.columns, QUARANTINE_REASON]]
    return res
