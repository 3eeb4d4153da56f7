"""Cleansing steps for free text and codes: names, addresses and site names repaired; identifiers trimmed.

``standardise_text`` repairs legacy-font mojibake (TCVN3, VNI), decomposed Unicode, tone placement
and whitespace, title-cases names and resolves names that read as valid Vietnamese both as
Unicode and as legacy text from the rest of the column. ``standardise_codes`` trims record,
person, site, lot, insurance and admin-unit codes. Both follow the step protocol (``protocol``).

Examples:
    >>> out = standardise_text(pd.DataFrame({"full_name": ["nguyÔn v¨n an"]}), CleanParams())
    >>> out[["full_name", "__rule__full_name"]].values.tolist()
    [['Nguyễn Văn An', 'text_legacy_tcvn3']]
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from vaxreport import text
from vaxreport.cleansing.columns import arrow, na_str, put_str, take_str, to_text
from vaxreport.cleansing.protocol import RULE, CleanParams, NameEvidence
from vaxreport.schemas import require_columns

__all__ = ["NameEvidencePart", "forget_names", "merge_name_evidence", "name_evidence_part", "standardise_codes",
           "standardise_text"]

_WS = "[ \t\n\r\x0b\x0c\u00a0\u2007\u202f\u200b\ufeff\u3000]+"  # real characters, RE2-safe


_WS_ODD = "^ | $|  |[\t\n\r\x0b\x0c\u00a0\u2007\u202f\u200b\ufeff\u3000]"


def _squeeze_ws(s: pd.Series) -> pd.Series:
    """Trim, collapse runs of whitespace (incl. NBSP, tabs) to one space; blank → NA."""
    out = to_text(s)
    odd = out.str.contains(_WS_ODD, regex=True).fillna(False).to_numpy(bool)
    blank = out.eq("").to_numpy(bool)
    if not odd.any() and not blank.any():
        return out  # the same array: unchanged columns share memory with the input
    if odd.any():
        fixed = out[odd].str.replace(_WS, " ", regex=True).str.strip(" ")
        out = out.copy()
        out[odd] = fixed
    return out.mask(out.eq(""))



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


def _legacy_name_evidence(u: pd.Series, pairs: list[tuple[str | None, str | None]], min_ratio: float,
                          counts: tuple[dict[str, int], dict[str, int], dict[str, int]]
                          ) -> list[tuple[str | None, str | None]]:
    """Resolve names that read as valid Vietnamese both as Unicode and as legacy text.

    "Hoà Thò An" is valid Unicode and also "Hồ Thị An" typed in a VNI font; one value cannot
    tell (``text.legacy_readings``), the rest of the column can. The evidence (``counts``,
    :func:`merge_name_evidence`) is how often each word occurs, at its place in the name (family,
    middle, given), in the column's names that are certainly Unicode (holding a letter no legacy
    font produces, such as ị ơ ư ă đ, or ASCII). A legacy reading replaces the Unicode one when
    the product over its words of ``(count of the word + 1)`` is at least ``min_ratio`` times
    that of the Unicode reading: "Thị" (in most women's names) against "Thò" (in none), "Vũ"
    against "Vò". Names with rare words on both sides keep their Unicode reading.
    """
    proven = _proven_unicode(u)
    cands = [i for i, (value, rule) in enumerate(pairs)
             if value is not None and not proven[i] and (rule is None or not rule.startswith("text_legacy"))]
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
    """(repaired value, rule) for each distinct raw value of a text column (names through
    :func:`_fix_name`, remembered)."""
    if name:
        return [_fix_name(x) if isinstance(x, str) else (None, None) for x in u.tolist()]
    return [_fix_text(x, False) if isinstance(x, str) else (None, None) for x in u.tolist()]


@lru_cache(maxsize=1 << 20)
def _fix_name(s0: str) -> tuple[str | None, str | None]:
    """``_fix_text`` of a name, remembered: a partitioned run reads each partition's names twice
    (its evidence, then the repair) and most names recur in every partition. Bounded (about a
    million names); :func:`forget_names` empties it once a cleansing is done."""
    return _fix_text(s0, True)


def forget_names() -> None:
    """Empty the memory of :func:`_fix_name` (``audit.clean_doses`` does, when it is done)."""
    _fix_name.cache_clear()


def _proven_unicode(u: pd.Series) -> np.ndarray:
    """Which distinct raw names are certainly Unicode: ASCII, or holding a letter no legacy font
    produces."""
    arr = pa.array(u.to_numpy(dtype=object, na_value=None), type=pa.string())
    return np.asarray(pc.or_(pc.string_is_ascii(arr), pc.match_substring_regex(arr, _NOT_CP1252))
                      .fill_null(False), bool)


def _typing_evidence(u: pd.Series, plain: list[tuple[str | None, str | None]]) -> np.ndarray:
    """Per distinct raw name, its evidence of a typing habit (``text.typing_evidence``, from the
    repairs already made): 1 + the index in ``text.HABITS`` (repaired as TCVN3 or VNI, or
    holding a letter no legacy font produces), 0 = none."""
    kinds = text.HABITS
    arr = pa.array(u.to_numpy(dtype=object, na_value=None), type=pa.string())
    unicode = np.asarray(pc.and_(pc.invert(pc.string_is_ascii(arr)), pc.match_substring_regex(arr, _NOT_CP1252))
                         .fill_null(False), bool)
    evidence = np.array([kinds.index(r[12:]) + 1 if isinstance(r, str) and r.startswith("text_legacy_") else 0
                         for _, r in plain], dtype=np.int64)
    evidence[unicode] = kinds.index("unicode") + 1
    return evidence


def _name_evidence_frames(u: pd.Series, codes: np.ndarray, plain: list[tuple[str | None, str | None]],
                          sites: pd.Series | None) -> NameEvidencePart:
    """The evidence of one frame's names: its distinct certainly-Unicode names (raw, repaired)
    and its distinct (site, name) pairs with their typing evidence (the name as a 64-bit hash)."""
    proven = np.flatnonzero(_proven_unicode(u) & u.notna().to_numpy(bool))
    names = pd.DataFrame({"raw": u.to_numpy(object)[proven],
                          "repaired": pd.Series([plain[i][0] for i in proven.tolist()], dtype=object)})
    names = names[names["repaired"].notna()]
    if sites is None:
        return NameEvidencePart(names, pd.DataFrame({"site": pd.Series(dtype=object),
                                                     "name": pd.Series(dtype=np.uint64),
                                                     "kind": pd.Series(dtype=np.int64)}))
    site_codes, site_u = pd.factorize(sites)
    evidence = _typing_evidence(u, plain)
    ok = (site_codes >= 0) & (codes >= 0)
    key = pd.unique(site_codes[ok].astype(np.int64) * (len(u) + 1) + codes[ok])
    s_idx, n_idx = np.divmod(key, len(u) + 1)
    keep = evidence[n_idx] > 0
    s_idx, n_idx = s_idx[keep], n_idx[keep]
    hashes = pd.util.hash_array(u.fillna("").to_numpy(object), categorize=False)
    pairs = pd.DataFrame({"site": np.asarray(site_u, dtype=object)[s_idx], "name": hashes[n_idx],
                          "kind": evidence[n_idx]})
    return NameEvidencePart(names, pairs)


@dataclass(frozen=True)
class NameEvidencePart:
    """One partition's share of the :class:`~vaxreport.cleansing.protocol.NameEvidence`: its
    distinct certainly-Unicode names (``raw, repaired``) and distinct (site, name hash) pairs with
    their typing evidence (``site, name, kind``). Parts are merged by union
    (:func:`merge_name_evidence`): the evidence counts distinct names, not rows."""

    names: pd.DataFrame
    site_names: pd.DataFrame


def name_evidence_part(df: pd.DataFrame) -> NameEvidencePart:
    """The name evidence of ``df`` as ``standardise_text`` would see it (same rows, same step).

    Examples:
        >>> part = name_evidence_part(pd.DataFrame({"full_name": ["Lê Thị Hoa", "Hoà Thò An"],
        ...                                         "site_code": ["S1", "S1"]}))
        >>> part.names["repaired"].tolist(), part.site_names["kind"].tolist()
        (['Lê Thị Hoa'], [3])
    """
    raw = to_text(df["full_name"])
    codes, uniques = pd.factorize(raw)
    u = pd.Series(uniques.to_numpy(dtype=object), dtype=object)
    sites = to_text(df["site_code"]) if "site_code" in df else None
    return _name_evidence_frames(u, codes, _text_pairs(u, name=True), sites)


def merge_name_evidence(parts: list[NameEvidencePart]) -> NameEvidence:
    """The run's :class:`~vaxreport.cleansing.protocol.NameEvidence` from every partition's
    part: word counts over the distinct certainly-Unicode names, each site's habit over its
    distinct names (``text.habits_from_evidence``). The order of ``parts`` does not matter.

    Examples:
        >>> ev = merge_name_evidence([name_evidence_part(pd.DataFrame({"full_name": ["Lê Thị Hoa"]})),
        ...                           name_evidence_part(pd.DataFrame({"full_name": ["Lê Thị Hoa", "Lê Văn Bình"]}))])
        >>> ev.word_counts[0]
        {'lê': 2}
    """
    names = pd.concat([p.names for p in parts], ignore_index=True).drop_duplicates("raw")
    counts: tuple[dict[str, int], dict[str, int], dict[str, int]] = ({}, {}, {})
    for value in names["repaired"].tolist():
        words = value.lower().split()
        for pos, w in zip(_name_positions(words), words, strict=True):
            counts[pos][w] = counts[pos].get(w, 0) + 1
    pairs = pd.concat([p.site_names for p in parts], ignore_index=True).drop_duplicates(["site", "name"])
    kinds = np.array([None, *text.HABITS], dtype=object)
    by_site = text.habits_from_evidence(pd.Series(kinds[pairs["kind"].to_numpy(np.int64)], dtype=object),
                                        pd.Series(pairs["site"].to_numpy(object), dtype=object))
    habits = {str(site): str(h) for site, h in by_site.items() if h in ("tcvn3", "vni")}
    return NameEvidence(word_counts=counts, site_habits=dict(sorted(habits.items())))


def _site_habit_pairs(u: pd.Series, codes: np.ndarray, pairs: list[tuple[str | None, str | None]],
                      sites: pd.Series, habits: dict[str, str]
                      ) -> tuple[np.ndarray, list[tuple[str | None, str | None]]]:
    """Names decided by their site's typing habit (``habits``: site → ``tcvn3``/``vni``), per row.

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
    legacy_kinds: tuple[Literal["tcvn3", "vni"], ...] = ("tcvn3", "vni")
    habit = np.array([legacy_kinds.index(h) + 1 if (h := habits.get(str(s))) in legacy_kinds else 0
                      for s in site_u.tolist()], dtype=np.int64)
    row_h = np.append(habit, 0)[site_codes]  # code -1 (no site) picks the trailing 0
    out_pairs = list(pairs)
    out_codes = codes.copy()
    raw = u.tolist()
    for k, kind in enumerate(legacy_kinds, start=1):  # a Unicode site keeps ``pairs``
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
    require_columns(df, ["full_name"], "doses")
    new: dict[str, pd.Series] = {}
    for col, name in (("full_name", True), ("address", False), ("site_name", False)):
        if col not in df:
            continue
        raw = to_text(df[col])
        codes, uniques = pd.factorize(raw)
        u = pd.Series(uniques.to_numpy(dtype=object), dtype=object)
        plain = pairs = _text_pairs(u, name=name)
        if name:
            sites = to_text(df["site_code"]) if "site_code" in df else None
            evidence = params.name_evidence or merge_name_evidence([_name_evidence_frames(u, codes, plain, sites)])
            pairs = _legacy_name_evidence(u, plain, params.legacy_name_evidence, evidence.word_counts)
            if sites is not None:  # per row: extra codes for site-specific readings
                codes, pairs = _site_habit_pairs(u, codes, pairs, sites, evidence.site_habits)
        values = [p[0] for p in pairs]
        # Keep the input array when nothing changed (saves memory on 3 M rows).
        new[col] = raw if values == u.tolist() else take_str(values, codes, df.index)
        new[RULE + col] = take_str([p[1] for p in pairs], codes, df.index)
        if col == "full_name":
            new["name_key"] = take_str([None if v is None else text.fold(v) for v in values],
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
        raw = to_text(df[col])
        # One pass over the column finds the few values to repair; only those are touched.
        arr = arrow(raw)
        hit_re = _WS_ODD + ("|" + pattern if pattern else "")
        hit = np.asarray(pc.or_(pc.match_substring_regex(arr, hit_re), pc.equal(arr, ""))
                         .fill_null(False), bool)
        if not hit.any():
            new[col] = raw
            new[RULE + col] = na_str(df.index)
            continue
        sub = raw[hit]
        odd = sub.str.contains(_WS_ODD, regex=True).fillna(False).to_numpy(bool)
        fixed = _squeeze_ws(sub)
        rule = np.where(odd, "code_whitespace", np.array(None)).astype(object)
        if pattern:
            fix_hit = fixed.str.contains(pattern, regex=True).fillna(False).to_numpy(bool)
            if fix_hit.any():
                part = fixed[fix_hit]
                part = (part.str.replace(r"\.0+$", "", regex=True) if col.endswith("_code")
                        else part.str.replace(" ", "", regex=False).str.upper())
                fixed = fixed.copy()
                fixed[fix_hit] = part
                rule[fix_hit] = rule_name
        new[col] = put_str(raw, hit, fixed)
        new[RULE + col] = put_str(na_str(df.index), hit,
                                         pd.Series(rule, index=sub.index, dtype="str"))
    return df.assign(**new)
