"""Vietnamese text: NFC, one tone-placement convention, TCVN3/VNI repair, match keys, name casing.

Platform exports mix four spellings of the same name: clean NFC Unicode, decomposed (NFD or
Windows-1258-style partly decomposed) Unicode, and text typed in the legacy TCVN3 (ABC, ``.VnTime``
fonts) or VNI-Windows fonts, which reaches us as "mojibake": each legacy byte shows up as the
cp1252 character with the same value ("NguyÔn V¨n An", "Nguyeãn Vaên An"). :func:`to_unicode`
repairs all of them to NFC with the "new" tone placement (hòa, thủy, khỏe).

Legacy text is detected per value, by content: a value is converted only when the conversion turns
a value that is not valid Vietnamese into one that is, so clean Vietnamese, ASCII and Western names
("Müller", "José") pass unchanged. "Valid" means every word is a real syllable: one of
:data:`INVENTORY` (``data/vietnamese_syllables.csv``, from a Vietnamese word list), not merely a
spelling the rules allow ("chý", "méng" are mojibake). ASCII words that are no syllable (minority
names: "Ayun") are kept as they are and, where TCVN3 symbol codes prove the value legacy, do not
stop the rest of it being decoded. Some legacy strings are valid Unicode too ("Anh Tó" is TCVN3 for
"Anh Tú"): one value cannot tell, a site can — :func:`site_habits` finds which font each site types
with, and :func:`decode_words` decodes a value of a legacy site word by word
(``clean.standardise_text`` does both). The byte tables live in ``vaxreport/data/legacy_vietnamese.csv``
(one row per Vietnamese letter, the bytes in hex) and are cross-checked against viparse's tables in
``tests/test_text.py``.

Every function here works on one string; the ``*_series`` versions map over the unique values of a
column only, so they stay cheap on millions of rows where names repeat.

Examples:
    >>> to_unicode("Céng hoµ x· héi chñ nghÜa ViÖt Nam")
    'Cộng hòa xã hội chủ nghĩa Việt Nam'
    >>> to_unicode("Nguyeãn Vaên Nam")
    'Nguyễn Văn Nam'
    >>> fold("Nguyễn  Văn-Đức")
    'nguyen van duc'
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Callable
from importlib import resources
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd

__all__ = [
    "clean_whitespace",
    "decode_words",
    "detect_legacy",
    "encode_legacy",
    "fold",
    "fold_series",
    "habits_from_evidence",
    "is_vietnamese_syllable",
    "legacy_candidates",
    "legacy_readings",
    "normalize_tones",
    "site_habits",
    "title_case_name",
    "title_case_name_series",
    "to_unicode",
    "to_unicode_series",
    "typing_evidence",
]

Encoding = Literal["tcvn3", "vni"]
ENCODINGS: tuple[Encoding, ...] = ("tcvn3", "vni")

# --------------------------------------------------------------------------------------------
# Letters: every Vietnamese vowel letter as (toneless letter, tone), tones numbered
# 0 none, 1 sắc (acute), 2 huyền (grave), 3 hỏi (hook), 4 ngã (tilde), 5 nặng (dot below).
# --------------------------------------------------------------------------------------------
_TONE_MARKS = ("", "\u0301", "\u0300", "\u0309", "\u0303", "\u0323")
_BASE_VOWELS = "aăâeêioôơuưy"
_QUALITY_VOWELS = frozenset("ăâêôơư")
_VOWELS = frozenset(_BASE_VOWELS)

_SPLIT: dict[str, tuple[str, int]] = {}  # letter (either case) -> (toneless letter, tone)
_JOIN: dict[tuple[str, int], str] = {}  # (toneless letter, tone) -> letter, same case
for _base in _BASE_VOWELS + _BASE_VOWELS.upper():
    for _tone, _mark in enumerate(_TONE_MARKS):
        _ch = unicodedata.normalize("NFC", _base + _mark)
        _SPLIT[_ch] = (_base, _tone)
        _JOIN[(_base, _tone)] = _ch

VIETNAMESE_LETTERS: frozenset[str] = frozenset(
    set(_SPLIT) | set("đĐ") | set("bcdghklmnpqrstvxBCDGHKLMNPQRSTVX")
)
"""The Vietnamese alphabet in NFC: 67 lower-case and 67 upper-case letters with diacritics
(including đ/Đ), the plain vowels and the consonants (plus ``p``, used in loan words)."""

# --------------------------------------------------------------------------------------------
# Syllables: onset + rhyme, with the spelling rules (c/k/q, g/gh, ng/ngh, gi, qu). The table maps
# each valid toneless lower-case syllable to the index of the letter that carries the tone in
# the "new" convention.
# --------------------------------------------------------------------------------------------
_PLAIN_RHYMES = """
a ai ao au ay ac ach am an ang anh ap at  ăc ăm ăn ăng ăp ăt  âc âm ân âng âp ât âu ây
e eo ec em en eng ep et  ê êu êch êm ên ênh êp êt  i ia iu ich im in inh ip it
o oi oc om on ong op ot ooc oong  ô ôi ôc ôm ôn ông ôp ôt  ơ ơi ơm ơn ơp ơt
u ua ui uc um un ung up ut  uôc uôi uôm uôn uông uôt  ư ưa ưi ưu ưc ưm ưn ưng ưt
ươc ươi ươm ươn ương ươp ươt ươu  y
""".split()
_IE_RHYMES = "iêc iêm iên iêng iêp iêt iêu".split()  # after an onset
_YE_RHYMES = "yêm yên yêng yêt yêu".split()  # without an onset
_MEDIAL_RHYMES = """
oa oai oay oac oach oam oan oang oanh oap oat  oăc oăm oăn oăng oăt  oe oeo oen oet
uân uâng uât uây  uê uêch uênh  uy uya uych uyn uynh uyp uyt uyu uyên uyêt  uơ
""".split()
_QU_RHYMES = [r for r in _PLAIN_RHYMES if r[0] in "aăe"] + [
    r[1:] for r in _MEDIAL_RHYMES if r[0] == "u"
] + ["ôc", "i", "it"]
_FRONT = frozenset("eêi")  # letters after which c→k, g→gh, ng→ngh
_ONSETS = "b ch d đ h kh l m n nh p ph r s t th tr v x".split()
_STOP_CODAS = ("c", "ch", "p", "t")


def _tone_positions(onset: str, rhyme: str) -> tuple[int, frozenset[int]]:
    """Where the tone goes in ``onset + rhyme``: the project's convention, and every position
    accepted as a spelling of the same syllable (the other convention, hoá/thuý, and the
    common misspellings qủa, gìa, hòang)."""
    n = 0
    while n < len(rhyme) and rhyme[n] in _VOWELS:
        n += 1
    nucleus, coda = rhyme[:n], rhyme[n:]
    quality = [i for i, ch in enumerate(nucleus) if ch in _QUALITY_VOWELS]
    if quality:
        pos = quality[-1]
    elif coda:
        pos = n - 1
    elif n <= 2:
        pos = 0  # hòa, khỏe, thủy (the project's convention), mùa, kìa, tai
    else:
        pos = 1  # ngoài, khuỷu, ngoẹo
    accepted = {len(onset) + pos}
    if nucleus in ("oa", "oe", "uy"):
        accepted |= {len(onset), len(onset) + 1}
    if onset in ("qu", "gi"):
        accepted.add(1)
    return len(onset) + pos, frozenset(accepted)


def _build_syllables() -> dict[str, tuple[int, frozenset[int], bool]]:
    table: dict[str, tuple[int, frozenset[int], bool]] = {}

    def add(onset: str, rhymes: list[str]) -> None:
        for rhyme in rhymes:
            syl = onset + rhyme
            # The first parse wins ("gia" is gi + a, not g + ia).
            table.setdefault(syl, (*_tone_positions(onset, rhyme), rhyme.endswith(_STOP_CODAS)))

    rhymes = _PLAIN_RHYMES + _MEDIAL_RHYMES
    add("qu", _QU_RHYMES)
    add("gi", [r for r in _PLAIN_RHYMES if r[0] not in "iy"])
    add("", rhymes + _YE_RHYMES)
    front = [r for r in rhymes + _IE_RHYMES if r[0] in _FRONT]
    back = [r for r in rhymes if r[0] not in _FRONT]
    add("k", front + [r for r in _PLAIN_RHYMES if r[0] == "y"])
    add("c", [r for r in _PLAIN_RHYMES if r[0] not in _FRONT and r[0] != "y"])
    add("gh", front)
    add("g", back + [r for r in _PLAIN_RHYMES + _IE_RHYMES if r[0] == "i"])
    add("ngh", front)
    add("ng", back)
    for onset in _ONSETS:
        add(onset, rhymes + _IE_RHYMES)
    return table


_SYLLABLES = _build_syllables()
_FOLD_BASE = str.maketrans("ăâêôơưđ", "aaeooud")
_PATTERN_ASCII = frozenset(s.translate(_FOLD_BASE) for s in _SYLLABLES)


def _load_inventory() -> frozenset[str]:
    """The real syllable inventory (``data/vietnamese_syllables.csv``, see PROVENANCE.md)."""
    path = resources.files("vaxreport") / "data" / "vietnamese_syllables.csv"
    lines = path.read_text(encoding="utf-8").split()
    return frozenset(lines[1:] if lines[:1] == ["syllable"] else lines)  # header: "syllable"


INVENTORY: frozenset[str] = _load_inventory()
"""Every Vietnamese syllable attested in the word list (lower case, NFC, "new" tone placement):
a word must be one of these to count as Vietnamese. The spelling rules above only place tones."""


def _fold_syllable(syl: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", syl) if not unicodedata.combining(c)).translate(_FOLD_BASE)


_ASCII_SYLLABLES = frozenset(_fold_syllable(s) for s in INVENTORY)


def _analyse_word(word: str, inventory: bool = True) -> str | None:
    """``word`` with the tone on the "new"-style letter, or None if it is not one syllable
    (with ``inventory``, one of :data:`INVENTORY`; without, any syllable the spelling rules allow)."""
    lower = word.lower()
    if lower.isascii():
        return word if lower in (_ASCII_SYLLABLES if inventory else _PATTERN_ASCII) else None
    bases: list[str] = []
    tone, tone_at = 0, -1
    for i, ch in enumerate(lower):
        split = _SPLIT.get(ch)
        if split is None:
            bases.append(ch)
            continue
        bases.append(split[0])
        if split[1]:
            if tone:
                return None  # two tone marks
            tone, tone_at = split[1], i
    info = _SYLLABLES.get("".join(bases))
    if info is None:
        return None
    target, accepted, stop = info
    if stop and tone not in (1, 5):
        return None  # a stop coda takes only sắc or nặng (ASCII words, stripped, handled above)
    if tone and tone_at not in accepted:
        return None  # a tone on a glide ("aù", "quyù") is VNI, not Vietnamese
    if not tone or tone_at == target:
        out = word
    else:
        chars = list(word)
        old, new = chars[tone_at], chars[target]
        chars[tone_at] = _JOIN[(_SPLIT[old][0], 0)]
        chars[target] = _JOIN[(_SPLIT[new][0], tone)]
        out = "".join(chars)
    if inventory and out.lower() not in INVENTORY:
        return None  # "chý", "méng", "sôn": spelled like Vietnamese, but no such syllable
    return out


_WORD_CACHE: dict[str, str | None] = {}
_WORD_CACHE_MAX = 500_000


def _word(word: str) -> str | None:
    """Cached :func:`_analyse_word`."""
    try:
        return _WORD_CACHE[word]
    except KeyError:
        if len(_WORD_CACHE) >= _WORD_CACHE_MAX:
            _WORD_CACHE.clear()
        out = _WORD_CACHE[word] = _analyse_word(word)
        return out


def _word_ok(word: str) -> bool:
    """A syllable, or an ASCII abbreviation no legacy font produces ("A", "Bv", "TTYT")."""
    return _word(word) is not None or (
        word.isascii() and (len(word) <= 3 or (len(word) <= 6 and word.isupper()))
    )


def _word_clean(word: str) -> bool:
    """:func:`_word_ok` in lower, title or upper case: "QUý" is TCVN3 capitals for QUÝ."""
    return _word_ok(word) and (word.islower() or word.isupper() or word.istitle())


def is_vietnamese_syllable(word: str) -> bool:
    """Whether ``word`` (NFC, any case, either tone placement) is one Vietnamese syllable.

    Diacritic-free spellings count ("Nguyen"), since names are often typed without marks.

    Args:
        word: One word, no spaces.

    Returns:
        True if it parses as onset + rhyme under Vietnamese spelling rules.

    Examples:
        >>> [is_vietnamese_syllable(w) for w in ("Nguyễn", "hoà", "Nguyen", "NguyÔn", "Müller")]
        [True, True, True, False, False]
    """
    return _word(word) is not None


# --------------------------------------------------------------------------------------------
# Tokens: letters, combining marks and the Latin-1 symbols that legacy fonts use as letters.
# --------------------------------------------------------------------------------------------
_TOKEN_RE = re.compile(
    "[A-Za-z\u00a1-\u00ae\u00b5-\u00b9\u00bb-\u00be\u00c0-\u024f\u0300-\u036f\u1e00-\u1eff]+"
)
_NON_LATIN1_RE = re.compile("[^\u0000-\u00ff]")
_COMBINING_RE = re.compile("[\u0300-\u036f]+")
_QUALITY_MARKS = "\u0302\u0306\u031b"


def _reorder_marks(m: re.Match[str]) -> str:
    marks = m.group()
    return "".join(sorted(marks, key=lambda c: c not in _QUALITY_MARKS))


def _nfc(s: str) -> str:
    """NFC, also composing Vietnamese letters whose tone mark was typed before the vowel mark."""
    if unicodedata.is_normalized("NFC", s) and _COMBINING_RE.search(s) is None:
        return s
    t = unicodedata.normalize("NFC", s)
    if _COMBINING_RE.search(t):
        t = unicodedata.normalize("NFC", _COMBINING_RE.sub(_reorder_marks, unicodedata.normalize("NFD", t)))
    return t


def _fix_tones(s: str) -> str:
    """Tone normalisation of an NFC string (only tokens that are valid syllables change)."""
    changed = False
    for tok in _TOKEN_RE.findall(s):
        fixed = _word(tok)
        if fixed is not None and fixed != tok:
            changed = True
            break
    if not changed:
        return s
    return _TOKEN_RE.sub(lambda m: _word(m.group()) or m.group(), s)


def normalize_tones(s: str) -> str:
    """NFC with the tone mark on the letter the "new" convention puts it on.

    The project's convention (docs/CONTRACTS.md: hoà → hòa, thuỷ → thủy), which typing tools
    call the "old" style (kiểu cũ) and is the one of most official documents. The rule: a vowel
    with a quality mark (ă â ê ô ơ ư; the second one in ươ) takes the tone; otherwise a syllable
    with a final consonant has it on the last vowel (hoàng, toán, quýt); an open syllable has it
    on the first of two vowels (hòa, khỏe, thủy, mùa, kìa) and the middle of three (ngoài,
    khuỷu). ``qu`` and ``gi`` before a vowel are consonants (quý, quả, già). Words that are not
    Vietnamese syllables are kept.

    Args:
        s: Any string.

    Returns:
        The NFC string with tone marks moved where needed.

    Examples:
        >>> normalize_tones("Hoà Thuỷ Khoẻ Quý")
        'Hòa Thủy Khỏe Quý'
        >>> normalize_tones("Ủy ban; gìa")
        'Ủy ban; già'
    """
    if s.isascii():
        return s
    return _fix_tones(_nfc(s))


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
    pairs = pd.DataFrame({"site": sites.to_numpy(dtype=object), "evidence": evidence.to_numpy(dtype=object)})
    counts = pairs.dropna().groupby(["site", "evidence"]).size().unstack(fill_value=0)
    order = pd.unique(pairs["site"].dropna())
    if counts.empty:
        return pd.Series(np.nan, index=order, dtype=object, name="habit")
    share = counts.div(counts.sum(axis=1), axis=0)
    habit = share.idxmax(axis=1).where(share.max(axis=1) > majority)
    return habit.reindex(order).astype(object).rename("habit")


# --------------------------------------------------------------------------------------------
# Whitespace, folding and casing
# --------------------------------------------------------------------------------------------
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)


def clean_whitespace(s: str) -> str:
    """Collapse runs of any whitespace (tabs, newlines, no-break spaces) to one space; strip;
    drop zero-width characters. The soft hyphen (TCVN3's ư) is kept.

    Args:
        s: Any string.

    Returns:
        The cleaned string.

    Examples:
        >>> clean_whitespace("  Nguyễn\\u00a0 Văn\\tAn\\u200b ")
        'Nguyễn Văn An'
    """
    if not s.isascii():
        s = s.translate(_ZERO_WIDTH)
    return " ".join(s.split())


def _build_fold_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for cp in list(range(0x20, 0x250)) + list(range(0x1E00, 0x1F00)) + list(range(0x2000, 0x2070)):
        ch = chr(cp)
        cat = unicodedata.category(ch)
        if cat[0] in "PSZC":
            table[cp] = " "
        elif cat[0] == "L":
            base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
            low = base.lower()
            if low != ch:
                table[cp] = low
    for cp in range(0x300, 0x370):
        table[cp] = ""
    table[ord("đ")] = table[ord("Đ")] = "d"
    return table


_FOLD = _build_fold_table()


def fold(s: str) -> str:
    """Match key: lower case, diacritics removed, đ→d, punctuation to spaces, single spaces.

    Accepts NFC or NFD input (legacy text must go through :func:`to_unicode` first).

    Args:
        s: Any string.

    Returns:
        The folded key.

    Examples:
        >>> fold("  NGUYỄN Thị  Hoà-Bình ")
        'nguyen thi hoa binh'
        >>> fold("Đặng Văn O'Neil")
        'dang van o neil'
    """
    return " ".join(s.translate(_FOLD).lower().split())


def title_case_name(s: str) -> str:
    """A person's name in title case after :func:`to_unicode` and :func:`clean_whitespace`.

    Args:
        s: A name in any case, encoding or spacing.

    Returns:
        The name with each word capitalised.

    Examples:
        >>> title_case_name("nguyễn  văn AN")
        'Nguyễn Văn An'
        >>> title_case_name("NGUYEÃN THÒ HOAØ"), title_case_name("h'mông")
        ('Nguyễn Thị Hòa', "H'Mông")
    """
    return clean_whitespace(to_unicode(s)).title()


# --------------------------------------------------------------------------------------------
# Series versions: map over unique values only
# --------------------------------------------------------------------------------------------
def _map_unique(s: pd.Series, func: Callable[[str], str]) -> pd.Series:
    """Apply ``func`` to each distinct string of ``s``; NA and non-strings pass through."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    mapped = [func(v) if isinstance(v, str) else v for v in uniques.tolist()]
    if isinstance(s.dtype, pd.StringDtype):
        values = pd.array(mapped, dtype=s.dtype).take(codes, allow_fill=True)
        return pd.Series(values, index=s.index, name=s.name, copy=False)
    values = np.array(mapped + [None], dtype=object)[codes]  # code -1 picks the None
    missing = codes < 0
    if missing.any():
        values[missing] = s.to_numpy(dtype=object)[missing]  # keep the original NA object
    return pd.Series(values, index=s.index, name=s.name, dtype=object)


def to_unicode_series(s: pd.Series) -> pd.Series:
    """:func:`to_unicode` over a column, computed once per distinct value.

    Args:
        s: A column of strings (NA allowed).

    Returns:
        A new Series, same index, name and dtype; NA stays NA; the input is not mutated.

    Examples:
        >>> to_unicode_series(pd.Series(["NguyÔn V¨n An", None, "Hoà"], index=[5, 6, 7])).tolist()
        ['Nguyễn Văn An', nan, 'Hòa']
    """
    return _map_unique(s, to_unicode)


def fold_series(s: pd.Series) -> pd.Series:
    """:func:`fold` over a column, computed once per distinct value.

    Args:
        s: A column of strings (NA allowed).

    Returns:
        A new Series, same index, name and dtype; NA stays NA.

    Examples:
        >>> fold_series(pd.Series(["Lê Thị Hòa", "LÊ THỊ HÒA"])).tolist()
        ['le thi hoa', 'le thi hoa']
    """
    return _map_unique(s, fold)


def title_case_name_series(s: pd.Series) -> pd.Series:
    """:func:`title_case_name` over a column, computed once per distinct value.

    Args:
        s: A column of names (NA allowed).

    Returns:
        A new Series, same index, name and dtype; NA stays NA.

    Examples:
        >>> title_case_name_series(pd.Series(["trần  thị b", "NguyÔn V¨n An"])).tolist()
        ['Trần Thị B', 'Nguyễn Văn An']
    """
    return _map_unique(s, title_case_name)
