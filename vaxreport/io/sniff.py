"""What a text export looks like before it is parsed: its encoding, its delimiter and its header row.

- Encodings: UTF-8 with or without BOM, UTF-16 LE/BE with BOM (or without BOM when the NUL
  pattern is plain), Windows-1258. A file that is not UTF-8 is read as cp1258 unless its bytes look
  like TCVN3/VNI legacy-font text, which is read as cp1252 so that ``text.to_unicode`` can repair it.
  Decomposed or mojibake text is *not* repaired here: that is the cleanser's job. A UTF-8 file with
  a few corrupt bytes is an error naming the row (mojibake everywhere would be worse).
- Delimiters: ``,`` ``;`` tab ``|`` (``DELIMITERS``), the one that splits the first lines into
  most fields consistently.
- Headers: canonical names or the Vietnamese aliases of ``schemas`` (any case, with or without
  diacritics), also with template decorations (``Họ và tên (*)``, ``Số CMND/`` newline ``CCCD``).
  The header is the record among the first ``HEADER_SCAN_ROWS`` with most recognised names, so
  title rows above it are skipped (the XLSX reader scores its rows the same way).

Examples:
    >>> sniff_encoding("Mã xã;Dân số\\n".encode(), Path("population.csv"))
    'utf-8'
    >>> sniff_delimiter("Mã xã;Dân số\\n05443;1.234\\n")
    ';'
    >>> find_header("DÂN SỐ\\n\\nMã xã;Nhóm tuổi;Dân số\\n", ";", schemas.POPULATION, Path("p.csv"))
    (['Mã xã', 'Nhóm tuổi', 'Dân số'], 3)
"""

from __future__ import annotations

import codecs
import csv
import io as _stdio
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from vaxreport import schemas
from vaxreport.exceptions import InputDataError
from vaxreport.schemas import TableSchema

__all__ = [
    "DELIMITERS", "HEADER_SCAN_ROWS", "SAMPLE_BYTES", "count_invalid_utf8", "count_utf8_sequences",
    "decode_sample", "find_header", "first_bad_utf8", "header_score", "legacy_encoding",
    "recognise_header", "sniff_delimiter", "sniff_encoding",
]

DELIMITERS = (",", ";", "\t", "|")
SAMPLE_BYTES = 1 << 20  # bytes read to sniff encoding, delimiter and header
HEADER_SCAN_ROWS = 30  # rows searched for the header row

# --------------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------------

_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
# TCVN3 puts its commonest letters (ă â ê ô ơ ư đ, à ả ã á ạ) on bytes that Windows-1258 uses only
# for symbols (§¨©ª«¬® µ¶·¸¹); VNI writes a base vowel followed by a mark byte (aø aù aû aï).
_TCVN3_SIGNS = re.compile(rb"[\xa7-\xae\xb5-\xb9]")
_VNI_SIGNS = re.compile(rb"[aeiouyAEIOUY][\xf8\xf9\xfb\xef\xd8\xd9\xdb\xcf]")
_NON_ASCII = re.compile(rb"[\x80-\xff]")


def sniff_encoding(head: bytes, path: Path) -> str:
    """Encoding of a text file from its first bytes (see the module docstring for the rules).

    Args:
        head: the file's first bytes (``SAMPLE_BYTES`` of them, or the whole file).
        path: the file, named in errors.

    Returns:
        ``"utf-8-sig"``, ``"utf-16"`` (with BOM), ``"utf-16-le"``/``"utf-16-be"`` (without),
        ``"utf-8"``, ``"cp1258"`` or ``"cp1252"`` (legacy-font text).

    Raises:
        InputDataError: the bytes are UTF-8 but for a few invalid ones (named by row).

    Examples:
        >>> sniff_encoding(b"\\xef\\xbb\\xbfa,b\\n", Path("x.csv")), sniff_encoding(b"Ho\\xe0,1\\n", Path("x.csv"))
        ('utf-8-sig', 'cp1258')
    """
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    probe = head[:4096]
    if len(probe) >= 4:
        even_nul = probe[0::2].count(0) / len(probe[0::2])
        odd_nul = probe[1::2].count(0) / len(probe[1::2])
        if odd_nul > 0.3 and even_nul < 0.05:
            return "utf-16-le"
        if even_nul > 0.3 and odd_nul < 0.05:
            return "utf-16-be"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError as exc:
        good = count_utf8_sequences(head)
        if good >= 3 and good > 10 * count_invalid_utf8(head):
            # A UTF-8 file with a few corrupt bytes: mojibake everywhere would be worse.
            row = head[: exc.start].count(b"\n") + 1
            raise InputDataError(
                f"invalid UTF-8 byte 0x{head[exc.start]:02x} in an otherwise UTF-8 file; "
                "re-export the file as UTF-8", path=str(path), row=row) from exc
    return legacy_encoding(head)


def count_utf8_sequences(data: bytes) -> int:
    """Valid UTF-8 multi-byte sequences in ``data``: the evidence that a file is UTF-8.

    >>> count_utf8_sequences("Hòa Bình".encode()), count_utf8_sequences(b"Ho\\xe0")
    (2, 0)
    """
    return len(_UTF8_MULTIBYTE.findall(data))


def count_invalid_utf8(data: bytes) -> int:
    """Invalid UTF-8 sequences in ``data`` (each decodes to one U+FFFD).

    >>> count_invalid_utf8(b"Ho\\xe0 B\\xecnh"), count_invalid_utf8("Hòa".encode())
    (2, 0)
    """
    return data.decode("utf-8", errors="replace").count("\ufffd")


def legacy_encoding(data: bytes) -> str:
    """cp1258 (Windows Vietnamese) unless the bytes look like TCVN3/VNI legacy-font text.

    >>> legacy_encoding(b"Ho\\xe0 Bi\\xccnh, \\xd0\\xf4\\xccng Hy\\xd2")  # Hoà Bình, Đồng Hỷ
    'cp1258'
    >>> legacy_encoding("Céng hoµ x· héi chñ nghÜa ViÖt Nam, Th¸i Nguyªn, §ång Hû".encode("cp1252"))
    'cp1252'
    """
    non_ascii = len(_NON_ASCII.findall(data))
    legacy = max(len(_TCVN3_SIGNS.findall(data)), len(_VNI_SIGNS.findall(data)))
    return "cp1252" if legacy >= 3 and legacy >= 0.15 * non_ascii else "cp1258"


def decode_sample(head: bytes, encoding: str, path: Path) -> str:
    """``head`` decoded as ``encoding`` (an incomplete last character left out), without a BOM.

    Raises:
        InputDataError: a byte ``encoding`` cannot decode (named by row and value).

    Examples:
        >>> decode_sample("\\ufeffMã xã".encode("utf-8"), "utf-8", Path("x.csv"))
        'Mã xã'
    """
    dec = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        text = dec.decode(head, final=False)
    except UnicodeDecodeError as exc:
        row = head[: exc.start].count(b"\n") + 1
        raise InputDataError(
            f"cannot decode byte 0x{head[exc.start]:02x} as {encoding}; "
            "save the file as UTF-8 CSV or XLSX", path=str(path), row=row) from exc
    return text.lstrip("\ufeff")


def first_bad_utf8(path: Path) -> tuple[int, int] | None:
    """(physical line, byte) of the first invalid UTF-8 sequence in a file, else None.

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "x.csv"; _ = p.write_bytes(b"a\\nb\\n\\xe0\\n")
    >>> first_bad_utf8(p)
    (3, 224)
    """
    dec = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with path.open("rb") as fh:
        while chunk := fh.read(8 << 20):
            try:
                dec.decode(chunk)
            except UnicodeDecodeError as exc:
                return line + chunk[: exc.start].count(b"\n"), chunk[exc.start]
            line += chunk.count(b"\n")
    return None


# --------------------------------------------------------------------------------------------
# Delimiter
# --------------------------------------------------------------------------------------------


def sniff_delimiter(sample: str) -> str:
    """The delimiter among ``DELIMITERS`` that splits the header into most fields consistently.

    >>> sniff_delimiter("a;b;c\\n1;2,5;3\\n")
    ';'
    >>> sniff_delimiter("a|b\\n1|2\\n")
    '|'
    """
    lines = [ln for ln in sample.splitlines()[:50] if ln.strip()]
    if not lines:
        return ","
    best, best_score = ",", (0, 0)
    for d in DELIMITERS:
        try:
            rows = list(csv.reader(lines[:20], delimiter=d))
        except csv.Error:
            continue
        n = len(rows[0])
        if n < 2:
            continue
        consistent = sum(len(r) == n for r in rows[1:])
        score = (consistent, n)
        if score > best_score:
            best, best_score = d, score
    return best


# --------------------------------------------------------------------------------------------
# Header row
# --------------------------------------------------------------------------------------------

_REQUIRED_MARK = re.compile(r"\s*(?:\(\*\)|\*+|:)\s*$")
_SPACED_PUNCT = re.compile(r"\s*([/()-])\s*")


def recognise_header(header: str, schema: TableSchema) -> str | None:
    r"""``schemas.canonical_header``, also accepting template decorations.

    Required-field marks (``Họ và tên (*)``, ``Ngày tiêm*``), a trailing colon and line breaks
    or spaces around ``/`` (``Số CMND/`` newline ``CCCD``) are ignored.

    >>> recognise_header("Số CMND/\nCCCD (*)", schemas.DOSES), recognise_header("Ghi chú", schemas.DOSES)
    ('id_number', None)
    """
    canon = schemas.canonical_header(header, schema)
    if canon is None:
        bare = _SPACED_PUNCT.sub(r"\1", _REQUIRED_MARK.sub("", " ".join(header.split())))
        canon = schemas.canonical_header(bare, schema)
    return canon


def header_score(cells: Iterable[Any], schema: TableSchema) -> int:
    """How many of ``cells`` are headers of ``schema`` (non-text cells count for nothing).

    >>> header_score(["Mã xã", "Dân số", 2022, None, "Ghi chú"], schemas.POPULATION)
    2
    """
    return sum(1 for c in cells if isinstance(c, str) and recognise_header(c, schema))


def find_header(sample: str, delimiter: str, schema: TableSchema,
                path: Path) -> tuple[list[str], int]:
    """(header fields, physical line number of the header) among the first records.

    The header is the record with most recognised column names (title rows above it are
    skipped); when none is recognised, the first non-empty record.

    Raises:
        InputDataError: no non-empty record, or the records cannot be split.
    """
    reader = csv.reader(_stdio.StringIO(sample), delimiter=delimiter)
    best: tuple[int, list[str], int] | None = None
    first: tuple[list[str], int] | None = None
    try:
        for _ in range(HEADER_SCAN_ROWS):
            rec = next(reader, None)
            if rec is None:
                break
            if not any(f.strip() for f in rec):
                continue
            if first is None:
                first = (rec, reader.line_num)
            score = header_score(rec, schema)
            if score and (best is None or score > best[0]):
                best = (score, rec, reader.line_num)
    except csv.Error as exc:
        raise InputDataError(f"cannot read the header row: {exc}", path=str(path),
                             row=reader.line_num) from exc
    if best is not None:
        return best[1], best[2]
    if first is None:
        raise InputDataError("the file is empty (no header row)", path=str(path))
    return first
