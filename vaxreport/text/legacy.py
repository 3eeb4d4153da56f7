"""Legacy TCVN3 and VNI-Windows text: the byte tables, encoding and decoding, detection by
content, and a site's typing habit decided in bulk."""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Callable
from importlib import resources
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd

from vaxreport.text.syllables import (  # noqa: F401 (re-exported)
    _NON_LATIN1_RE,
    _SPLIT,
    _TOKEN_RE,
    _WORD_CACHE_MAX,
    ENCODINGS,
    VIETNAMESE_LETTERS,
    Encoding,
    _fix_tones,
    _nfc,
    _word_clean,
    _word_ok,
)


# --------------------------------------------------------------------------------------------
# Legacy tables (vaxreport/data/legacy_vietnamese.csv: letter, codepoint, tcvn3, vni as hex bytes)
# --------------------------------------------------------------------------------------------
def _load_tables() -> tuple[dict[str, str], dict[str, str]]:
    tcvn3: dict[str, str] = {}
    vni: dict[str, str] = {}
    path = resources.files("vaxreport") / "data" / "legacy_vietnamese.csv"
    for row in csv.DictReader(path.read_text(encoding="utf-8").splitlines()):
        letter = row["letter"]
        if row["tcvn3"]:
            tcvn3[letter] = "".join(chr(int(b, 16)) for b in row["tcvn3"].split())
        vni[letter] = "".join(chr(int(b, 16)) for b in row["vni"].split())
    return tcvn3, vni


_TCVN3_CODES, _VNI_CODES = _load_tables()

# TCVN3 has codes for the 67 lower-case letters and for Ă Â Ê Ô Ơ Ư Đ only: a capital with a
# tone was set in a ".VnTimeH" capitals font over the lower-case code.
_TCVN3_ENC: dict[int, str] = {ord(k): v for k, v in _TCVN3_CODES.items()}
for _letter in _SPLIT:
    if _letter.isupper() and _letter not in _TCVN3_CODES and not _letter.isascii():
        _TCVN3_ENC[ord(_letter)] = _TCVN3_CODES[_letter.lower()]
_TCVN3_DEC: dict[int, str] = {ord(v): k for k, v in _TCVN3_CODES.items()}
_TCVN3_UPPER = frozenset(v for k, v in _TCVN3_CODES.items() if k.isupper())
_TCVN3_LOWER = frozenset(_TCVN3_CODES[k.lower()] for k, v in _TCVN3_CODES.items() if k.isupper())
_TCVN3_TONED = frozenset(_TCVN3_DEC) - {ord(c) for c in _TCVN3_UPPER | _TCVN3_LOWER}
_TCVN3_TONED_CHARS = frozenset(chr(c) for c in _TCVN3_TONED)
_TCVN3_SYMBOL_RE = re.compile("[" + re.escape("".join(chr(c) for c in _TCVN3_DEC if not chr(c).isalpha())) + "]")
_TCVN3_ANY_RE = re.compile("[" + re.escape("".join(chr(c) for c in _TCVN3_DEC)) + "]")

_VNI_ENC: dict[int, str] = {ord(k): v for k, v in _VNI_CODES.items()}
_VNI_DEC: dict[str, str] = {}
for _letter, _code in _VNI_CODES.items():
    _VNI_DEC[_code] = _letter
    if len(_code) == 2:  # the mark's case does not matter; the base letter's decides
        _VNI_DEC.setdefault(_code[0] + _code[1].swapcase(), _letter)
# Decode-only aliases seen in real VNI documents (viparse's corpus): i/y with a tone mark
# instead of the dedicated ì í ỵ glyphs.
for _alias, _letter in (("iø", "ì"), ("iù", "í"), ("yï", "ỵ")):
    for _variant in (_alias, _alias.upper(), _alias[0].upper() + _alias[1], _alias[0] + _alias[1].upper()):
        _VNI_DEC.setdefault(_variant, _letter.upper() if _variant[0].isupper() else _letter)
_VNI_RE = re.compile("|".join(re.escape(k) for k in sorted(_VNI_DEC, key=len, reverse=True)))


def encode_legacy(s: str, encoding: Encoding) -> str:
    """What ``s`` looks like when typed in a legacy font and read back as cp1252 text.

    The exact inverse of :func:`to_unicode` for Vietnamese text; used to inject realistic
    mojibake into synthetic data. TCVN3 has no codes for capitals with a tone, which legacy
    documents set in a ``.VnTimeH`` capitals font over the lower-case codes: so does this.
    Characters outside the Vietnamese alphabet pass through.

    Args:
        s: Unicode text (any normalisation form).
        encoding: ``"tcvn3"`` or ``"vni"``.

    Returns:
        The legacy rendering.

    Raises:
        ValueError: For an unknown encoding.

    Examples:
        >>> encode_legacy("Cộng hòa xã hội", "tcvn3")
        'Céng hßa x· héi'
        >>> encode_legacy("Nguyễn Văn Đức", "vni")
        'Nguyeãn Vaên Ñöùc'
        >>> encode_legacy("NGUYỄN VĂN", "tcvn3")
        'NGUYÔN V¡N'
    """
    if encoding == "tcvn3":
        table = _TCVN3_ENC
    elif encoding == "vni":
        table = _VNI_ENC
    else:
        raise ValueError(f"encoding must be one of: {list(ENCODINGS)}, got {encoding!r}")
    if s.isascii():
        return s
    return _nfc(s).translate(table)


def _case_signals(tok: str) -> tuple[int, int, bool]:
    """(upper-case signals, lower-case signals, starts with a caseless toned code) of a token."""
    upper = lower = 0
    for ch in tok:
        if ch in _TCVN3_TONED_CHARS:
            continue
        if ch in _TCVN3_UPPER or ch.isupper():
            upper += 1
        elif ch in _TCVN3_LOWER or ch.islower():
            lower += 1
    return upper, lower, tok[0] in _TCVN3_TONED_CHARS


class _Chunk(NamedTuple):
    """What legacy detection needs to know about one space-separated chunk (cached)."""

    invalid: int  # words with a non-ASCII letter that are not clean Vietnamese as they stand
    foreign: int  # ASCII words that are no Vietnamese syllable ("Ayun", "Dupont")
    symbols: int  # TCVN3 symbol codes (¸ µ ¨ …), never found in VNI text
    pairs: int  # VNI letter + mark pairs
    vni: str  # the chunk decoded as VNI
    vni_ok: bool  # every word of ``vni`` is valid
    vni_repaired: int  # words VNI changes from not clean to valid
    tcvn3: str  # the chunk decoded as TCVN3, lower-case codes still lower case
    tcvn3_ok: bool
    tcvn3_repaired: int
    case: tuple[tuple[int, int, int, int, bool, bool], ...]  # TCVN3 case signals per word:
    # (start, end, upper, lower, starts with a caseless toned code, starts upper)


_LEGACY_CACHE: dict[str, _Chunk] = {}


def _vni_sub(m: re.Match[str]) -> str:
    return _VNI_DEC[m.group()]


_LETTERS_RE = re.compile("[" + "".join(sorted(VIETNAMESE_LETTERS)) + "fjwzFJWZ']+")


def _foreign_word(raw: str, decoded: str, symbol_re: re.Pattern[str]) -> bool:
    """A word whose legacy decoding is no Vietnamese syllable but must be decoded all the same:
    it holds a TCVN3 symbol code that no Unicode name has ("Kr«ng": TCVN3 for the Ê-đê/M'nông
    word Krông), at least two plain letters, and decodes to letters only ("½" stays)."""
    return (bool(symbol_re.search(raw)) and sum(c.isascii() and c.isalpha() for c in raw) >= 2
            and _LETTERS_RE.fullmatch(decoded) is not None)


def _legacy_chunk(chunk: str) -> _Chunk:
    """Cached analysis of ``chunk`` under both legacy encodings."""
    rec = _LEGACY_CACHE.get(chunk)
    if rec is not None:
        return rec
    invalid = vni_rep = tcvn3_rep = foreign = 0
    vni_ok = tcvn3_ok = True
    vni_parts: list[str] = []
    case: list[tuple[int, int, int, int, bool, bool]] = []
    last = 0
    for m in _TOKEN_RE.finditer(chunk):
        tok = m.group()
        clean = _word_clean(tok)
        vni_parts.append(chunk[last : m.start()])
        last = m.end()
        if _NON_LATIN1_RE.search(tok):  # Unicode letters: a Unicode word, not legacy
            invalid += not clean
            vni_parts.append(tok)
            vni_ok = vni_ok and _word_ok(tok)
            tcvn3_ok = tcvn3_ok and _word_ok(tok)
            continue
        if tok.isascii():  # no legacy code: the same in every reading ("Ayun", "Y")
            foreign += not clean
            vni_parts.append(tok)
            upper, lower, toned = _case_signals(tok)
            case.append((m.start(), m.end(), upper, lower, toned, tok[0].isupper()))
            continue
        invalid += not clean
        vni = _VNI_RE.sub(_vni_sub, tok)
        vni_parts.append(vni)
        vni_ok = vni_ok and _word_ok(vni)
        vni_rep += vni != tok and not clean
        tcvn3 = tok.translate(_TCVN3_DEC)
        tcvn3_ok = tcvn3_ok and (_word_ok(tcvn3) or _foreign_word(tok, tcvn3, _TCVN3_SYMBOL_RE))
        tcvn3_rep += tcvn3 != tok and not clean
        upper, lower, toned = _case_signals(tok)
        first_upper = not toned and (tok[0] in _TCVN3_UPPER or tok[0].isupper())
        case.append((m.start(), m.end(), upper, lower, toned, first_upper))
    vni_parts.append(chunk[last:])
    rec = _Chunk(
        invalid=invalid,
        foreign=foreign,
        symbols=len(_TCVN3_SYMBOL_RE.findall(chunk)),
        pairs=sum(len(p) == 2 for p in _VNI_RE.findall(chunk)),
        vni="".join(vni_parts),
        vni_ok=vni_ok,
        vni_repaired=vni_rep,
        tcvn3=_tcvn3_translate(chunk, case),
        tcvn3_ok=tcvn3_ok,
        tcvn3_repaired=tcvn3_rep,
        case=tuple(case),
    )
    if len(_LEGACY_CACHE) >= _WORD_CACHE_MAX:
        _LEGACY_CACHE.clear()
    _LEGACY_CACHE[chunk] = rec
    return rec


def _tcvn3_translate(chunk: str, case: list[tuple[int, int, int, int, bool, bool]]) -> str:
    """Translate the Latin-1-only words of ``chunk`` (one character for one character)."""
    if _NON_LATIN1_RE.search(chunk) is None:
        return chunk.translate(_TCVN3_DEC)
    out = list(chunk)
    for start, end, *_ in case:
        out[start:end] = chunk[start:end].translate(_TCVN3_DEC)
    return "".join(out)


def _tcvn3_join(recs: list[_Chunk]) -> str:
    """The TCVN3 decoding of a value, restoring capitals set in a ``.VnTimeH`` font.

    TCVN3 has codes for the capitals Ă Â Ê Ô Ơ Ư Đ only, so case shows in the other letters:
    a word with no lower-case letter and two capitals, or any word of a value with no lower-case
    letter and two capitals, is upper case; in a title-case value, a word that starts with a
    toned code is capitalised ("Lª ¸nh" is "Lê Ánh").
    """
    stats = [c for rec in recs for c in rec.case]
    total_lower = sum(c[3] for c in stats)
    # Upper case only where a word shows two capitals: "B¸ Kú" is the title-case "Bá Kỳ".
    value_upper = any(c[2] >= 2 for c in stats) and total_lower == 0
    value_title = (
        total_lower > 0 and any(c[5] for c in stats) and all(c[5] or c[4] for c in stats)
    )
    parts = []
    for rec in recs:
        dec = rec.tcvn3
        for start, end, upper, lower, toned, _ in rec.case:
            if lower == 0 and (upper >= 2 or value_upper):
                dec = dec[:start] + dec[start:end].upper() + dec[end:]
            elif toned and value_title:
                dec = dec[:start] + dec[start].upper() + dec[start + 1 :]
        parts.append(dec)
    return " ".join(parts)


def _decode_tcvn3(s: str) -> str:
    """TCVN3 → Unicode (see :func:`_tcvn3_join`); words with non-Latin-1 letters are kept."""
    return _tcvn3_join([_legacy_chunk(c) for c in s.split(" ")])


def _decode_vni(s: str) -> str:
    """VNI → Unicode; words with non-Latin-1 letters are kept."""
    return " ".join(_legacy_chunk(c).vni for c in s.split(" "))


_DECODERS: dict[str, Callable[[str], str]] = {"tcvn3": _decode_tcvn3, "vni": _decode_vni}


def _accept(old: list[str], after: str) -> int:
    """How many words of ``old`` (the tokens before) that are not clean the conversion to
    ``after`` repairs; 0 if it is not a repair (a word of the result is not valid)."""
    new = _TOKEN_RE.findall(after)
    if len(old) != len(new):
        return 0
    repaired = 0
    for o, n in zip(old, new, strict=True):
        if not _word_ok(n):
            return 0
        if o != n and not _word_clean(o):
            repaired += 1
    return repaired


_CHUNK_CACHE: dict[str, str | None] = {}
_MISSING = "\x00<not cached>"  # compared by identity: no chunk is this object


def _clean_chunk(chunk: str) -> str | None:
    """Cached: ``chunk`` with tones normalised if all its words are clean, else None."""
    if len(_CHUNK_CACHE) >= _WORD_CACHE_MAX:
        _CHUNK_CACHE.clear()
    out = _CHUNK_CACHE[chunk] = _fix_tones(chunk) if _looks_clean(chunk) else None
    return out


def _looks_clean(s: str) -> bool:
    """Whether every word of ``s`` is valid Vietnamese (or an initial or acronym)."""
    return all(_word_clean(tok) for tok in _TOKEN_RE.findall(s))


def _detect(s: str) -> tuple[Encoding | None, str]:
    """(encoding, decoded text) for an NFC string; (None, s) when it is not legacy text.

    A decoding is a repair when every word of the result is valid Vietnamese and it changes at
    least one word that was not. Repairs are ranked by words repaired, then by evidence that
    only one encoding leaves (TCVN3's symbol codes such as ¸ µ ¨, which no VNI text has; VNI's
    letter + mark pairs). A value that both repair with no such evidence ("bö": VNI bư, TCVN3
    bử; "TRÒNH": VNI TRỊNH, TCVN3 TRỀNH) goes to VNI: its one-byte codes are the frequent
    letters ơ ư đ ị, where TCVN3 reads the rarer ụ ử ủ ề.
    """
    recs = [_legacy_chunk(c) for c in s.split(" ")]
    invalid = sum(r.invalid for r in recs)
    if not invalid:
        return None, s
    best: tuple[tuple[int, int], Encoding | None, str] = ((0, 0), None, s)
    symbols = sum(r.symbols for r in recs)
    # A foreign ASCII word ("Ayun", "Dupont") is left as it is; it blocks a VNI reading
    # ("Loïc Dupont"), and a TCVN3 one unless TCVN3's symbol codes, which no Western name
    # holds, show the value is legacy ("Y Th©n Ayun").
    foreign = sum(r.foreign for r in recs)
    if not symbols and not foreign and all(r.vni_ok for r in recs):  # a symbol code is never VNI
        repaired = sum(r.vni_repaired for r in recs)
        if repaired:
            pairs = sum(r.pairs for r in recs)
            dec = " ".join(r.vni for r in recs)
            if repaired == invalid and pairs:
                return "vni", dec  # TCVN3 could only tie, with less evidence
            best = ((repaired, pairs), "vni", dec)
    if all(r.tcvn3_ok for r in recs) and (symbols or not foreign):
        repaired = sum(r.tcvn3_repaired for r in recs)
        dec = ""
        if not repaired:  # only the restored capitals may repair ("QUý" is QUÝ)
            dec = _tcvn3_join(recs)
            repaired = _accept(_TOKEN_RE.findall(s), dec)
        if repaired and (repaired, symbols) > best[0]:
            best = ((repaired, symbols), "tcvn3", dec or _tcvn3_join(recs))
    return best[1], best[2]


def detect_legacy(s: str) -> Encoding | None:
    """The legacy encoding :func:`to_unicode` would repair in ``s``, or None.

    Args:
        s: One value.

    Returns:
        ``"tcvn3"``, ``"vni"`` or None (clean Unicode, ASCII, or not confidently legacy).

    Examples:
        >>> [detect_legacy(x) for x in ("NguyÔn V¨n An", "Nguyeãn Vaên An", "Nguyễn Văn An", "Müller")]
        ['tcvn3', 'vni', None, None]
    """
    if s.isascii():
        return None
    return _detect(_nfc(s))[0]


def legacy_readings(s: str) -> dict[Encoding, str]:
    """The legacy decodings of a value that also reads as valid Unicode Vietnamese.

    Some legacy strings are made only of letters that are themselves Vietnamese: "Hoà Thò An"
    is valid Unicode (hoà, thò, an) and is also "Hồ Thị An" typed in a VNI font. One value
    cannot tell them apart, so :func:`to_unicode` keeps the Unicode reading; this lists the
    other readings for a caller that has evidence beyond the value (e.g. how often each word
    occurs in the rest of the column). Only values a legacy font can produce (every character
    in cp1252) qualify.

    Args:
        s: One value.

    Returns:
        ``{encoding: decoded text}`` for each legacy decoding whose every word is valid
        Vietnamese and that differs from ``to_unicode(s)``; empty when there is none.

    Examples:
        >>> legacy_readings("Hoà Thò An")  # TCVN3 would read "Hòa Thũ An": no such syllable
        {'vni': 'Hồ Thị An'}
        >>> legacy_readings("Lê Mai Anh"), legacy_readings("Nguyễn Văn An")
        ({'tcvn3': 'Lờ Mai Anh'}, {})
    """
    if s.isascii():
        return {}
    s = _nfc(" ".join(s.split()))
    try:
        s.encode("cp1252")
    except UnicodeEncodeError:
        return {}
    if _detect(s)[0] is not None:
        return {}
    unicode = _fix_tones(s)
    out: dict[Encoding, str] = {}
    for enc in ENCODINGS:
        dec = _fix_tones(_nfc(_DECODERS[enc](s)))
        if dec != unicode and _looks_clean(dec):
            out[enc] = dec
    return out


def to_unicode(s: str, *, encoding: Encoding | None = None) -> str:
    """Repair one value to NFC Vietnamese with the "new" tone placement.

    Handles TCVN3 and VNI mojibake (detected per value, see :func:`detect_legacy`), decomposed
    or partly decomposed Unicode, and old-style tone placement (see :func:`normalize_tones`).
    Clean text comes back unchanged apart from tone placement; ASCII always unchanged.

    Args:
        s: One value.
        encoding: Force a legacy decoding when it is known from elsewhere (e.g. the cell's font
            was ``.VnTime``); the default detects it from the content.

    Returns:
        The repaired text.

    Examples:
        >>> to_unicode("Xin chaøo caùc baïn")
        'Xin chào các bạn'
        >>> to_unicode("NGUYEÃN THÒ HOAØ")
        'NGUYỄN THỊ HÒA'
        >>> to_unicode("CéNG HOµ X· HéI")
        'CỘNG HÒA XÃ HỘI'
        >>> to_unicode("Nguye\u0302\u0303n Thuy\u0309"), to_unicode("Müller")
        ('Nguyễn Thủy', 'Müller')
    """
    if s.isascii():
        return s
    if encoding is not None:
        if encoding not in _DECODERS:
            raise ValueError(f"encoding must be one of: {list(ENCODINGS)}, got {encoding!r}")
        return _fix_tones(_nfc(_DECODERS[encoding](_nfc(s))))
    if not unicodedata.is_normalized("NFC", s):
        s = _nfc(s)
    # Fast path: every space-separated chunk is clean Vietnamese (cached per chunk).
    fixed: list[str] = []
    for chunk in s.split(" "):
        out = _CHUNK_CACHE.get(chunk, _MISSING)
        if out is _MISSING:
            out = _clean_chunk(chunk)
        if out is None:
            return _fix_tones(_detect(_nfc(s))[1])
        fixed.append(out)
    return " ".join(fixed)


# --------------------------------------------------------------------------------------------
# A site's typing habit: legacy text decided in bulk
# --------------------------------------------------------------------------------------------
Habit = Literal["tcvn3", "vni", "unicode"]
HABITS: tuple[Habit, ...] = ("tcvn3", "vni", "unicode")
HABIT_MAJORITY = 0.5
"""A site's habit is the kind of more than this share of its values with evidence."""


def typing_evidence(s: str) -> Habit | None:
    """What one value proves about how it was typed: ``"tcvn3"``/``"vni"`` when
    :func:`detect_legacy` repairs it, ``"unicode"`` when it holds a letter no legacy font read as
    cp1252 produces (ễ ị ơ ư ă đ …), else None (ASCII, or legacy and Unicode alike: "Anh Tó").

    Examples:
        >>> [typing_evidence(x) for x in ("NguyÔn V¨n An", "Nguyeãn Vaên", "Nguyễn Văn", "Anh Tó")]
        ['tcvn3', 'vni', 'unicode', None]
    """
    if s.isascii():
        return None
    s = _nfc(s)
    try:
        s.encode("cp1252")
    except UnicodeEncodeError:
        return "unicode"
    return _detect(s)[0]


def decode_words(s: str, encoding: Encoding) -> str:
    """Decode ``s`` as ``encoding`` word by word, for a value known to be typed in that font.

    A word is decoded when its decoding is a Vietnamese syllable (or holds TCVN3 symbol codes,
    see :func:`_foreign_word`); other words — ASCII, minority-language or already Unicode —
    stay as they are. TCVN3 capitals are restored as in :func:`to_unicode` (title case kept).

    Args:
        s: One value.
        encoding: ``"tcvn3"`` or ``"vni"``.

    Returns:
        The NFC text with the "new" tone placement.

    Examples:
        >>> decode_words("Anh Tó", "tcvn3"), decode_words("Y Th©n Ayun", "tcvn3")
        ('Anh Tú', 'Y Thân Ayun')
        >>> decode_words("Hoà Thò An", "vni"), decode_words("Nguyễn Hoà", "vni")
        ('Hồ Thị An', 'Nguyễn Hồ')
    """
    if encoding not in _DECODERS:
        raise ValueError(f"encoding must be one of: {list(ENCODINGS)}, got {encoding!r}")
    if s.isascii():
        return s
    s = _nfc(" ".join(s.split()))
    dec = _nfc(_DECODERS[encoding](s)).split(" ")
    out = []
    for raw, new in zip(s.split(" "), dec, strict=True):
        if raw == new or _NON_LATIN1_RE.search(raw):
            out.append(raw)
            continue
        toks_raw, toks_new = _TOKEN_RE.findall(raw), _TOKEN_RE.findall(new)
        ok = len(toks_raw) == len(toks_new) and all(
            _word_ok(n) or (encoding == "tcvn3" and _foreign_word(r, n, _TCVN3_SYMBOL_RE))
            for r, n in zip(toks_raw, toks_new))
        out.append(new if ok else raw)
    return _fix_tones(" ".join(out))


def legacy_candidates(s: str) -> list[str]:
    """The readings of a short categorical value that may be legacy text, likeliest first:
    :func:`to_unicode`, then each forced :func:`decode_words`, without repeats. For fields with a
    closed vocabulary (gender, dose number) the caller keeps the first reading it recognises.

    Examples:
        >>> legacy_candidates("Mòi 2"), legacy_candidates("N÷")
        (['Mòi 2', 'Mũi 2'], ['Nữ'])
    """
    out = [to_unicode(s)]
    if s.isascii():
        return out
    for enc in ENCODINGS:
        dec = decode_words(s, enc)
        if dec not in out and dec != s:
            out.append(dec)
    return out


def site_habits(values: pd.Series, sites: pd.Series, *, majority: float = HABIT_MAJORITY) -> pd.Series:
    """Each site's typing habit, from the evidence of its distinct values (:func:`typing_evidence`).

    A site types in TCVN3 (resp. VNI) when more than ``majority`` of its values with evidence
    are evidently TCVN3 (resp. VNI), in Unicode when more than ``majority`` are evidently
    Unicode; otherwise it has no habit (NA). Works on the distinct (site, value) pairs.

    Args:
        values: the column (names), strings or NA.
        sites: the site of each row (same index), strings or NA.
        majority: the share of the site's evidence one habit must exceed.

    Returns:
        A Series indexed by site, ``"tcvn3"``, ``"vni"``, ``"unicode"`` or NA.

    Examples:
        >>> v = pd.Series(["NguyÔn V¨n An", "Lª ThÞ Hoa", "Anh Tó", "Nguyễn Thị Hà", "Anh Tó"])
        >>> site_habits(v, pd.Series(["A", "A", "A", "B", "B"])).to_dict()
        {'A': 'tcvn3', 'B': 'unicode'}
    """
    pairs = pd.DataFrame({"site": sites.to_numpy(dtype=object), "value": values.to_numpy(dtype=object)})
    pairs = pairs.dropna().drop_duplicates()
    uniq = pd.unique(pairs["value"])
    ev = dict(zip(uniq, (typing_evidence(v) if isinstance(v, str) else None for v in uniq)))
    return habits_from_evidence(pairs["value"].map(ev), pairs["site"], majority=majority)


def habits_from_evidence(evidence: pd.Series, sites: pd.Series, *, majority: float = HABIT_MAJORITY) -> pd.Series:
    """:func:`site_habits` from the evidence of each distinct (site, value) pair, given.

    Examples:
        >>> habits_from_evidence(pd.Series(["vni", None, "unicode", "vni"]),
        ...                      pd.Series(["A", "A", "B", "B"])).to_dict()
        {'A': 'vni', 'B': nan}
    """
    site_codes, site_u = pd.factorize(sites.to_numpy(dtype=object))  # NA sites: -1
    kinds = np.array(HABITS, dtype=object)
    ev_codes = np.asarray(pd.Categorical(evidence.to_numpy(dtype=object), categories=kinds).codes)
    ok = (site_codes >= 0) & (ev_codes >= 0)
    counts = np.bincount(site_codes[ok] * len(kinds) + ev_codes[ok],
                         minlength=len(site_u) * len(kinds)).reshape(-1, len(kinds))
    has = counts.max(axis=1, initial=0) > majority * counts.sum(axis=1)  # no evidence: no habit
    habit = np.full(len(site_u), np.nan, dtype=object)
    habit[has] = kinds[counts.argmax(axis=1)[has]]
    return pd.Series(habit, index=pd.Index(site_u, dtype=object), name="habit")
