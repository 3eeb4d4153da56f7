"""Vietnamese letters, tones and syllables: the spelling rules, the real syllable inventory
(``data/vietnamese_syllables.csv``) and one tone-placement convention."""

from __future__ import annotations

import re
import unicodedata
from importlib import resources
from typing import Literal

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
