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

import unicodedata
from collections.abc import Callable

import numpy as np
import pandas as pd

from vaxreport.text.legacy import (  # noqa: F401 (re-exported)
    _CHUNK_CACHE,
    _DECODERS,
    _LEGACY_CACHE,
    _TCVN3_CODES,
    _TCVN3_DEC,
    _TCVN3_TONED_CHARS,
    _TCVN3_UPPER,
    _VNI_DEC,
    HABIT_MAJORITY,
    HABITS,
    _accept,
    _looks_clean,
    decode_words,
    detect_legacy,
    encode_legacy,
    habits_from_evidence,
    legacy_candidates,
    legacy_readings,
    site_habits,
    to_unicode,
    typing_evidence,
)
from vaxreport.text.syllables import (  # noqa: F401 (re-exported)
    _JOIN,
    _SPLIT,
    _SYLLABLES,
    _TOKEN_RE,
    _WORD_CACHE,
    INVENTORY,
    VIETNAMESE_LETTERS,
    _analyse_word,
    is_vietnamese_syllable,
    normalize_tones,
)

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
