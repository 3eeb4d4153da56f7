"""The clerical review decisions file (params key ``review_decisions:``): a small CSV an analyst
keeps from month to month — read as text, and rewritten whole when a decision is added.

Columns ``person_a, person_b, decision`` and optionally ``reviewer, decided_on, note``
(:mod:`vaxreport.linkage.decisions` checks the values). The encoding (UTF-8 with or without BOM,
UTF-16, cp1258 as Excel may save it) and the delimiter (``,`` ``;`` tab …) are sniffed like the
exports'; the file is written back as UTF-8 with BOM and commas, which Excel opens as it is.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from vaxreport.exceptions import InputDataError, ParamsError
from vaxreport.io.sniff import SAMPLE_BYTES, decode_sample, sniff_delimiter, sniff_encoding
from vaxreport.io.write import write_bytes

#: The columns of a new decisions file, in order.
COLUMNS = ("person_a", "person_b", "decision", "reviewer", "decided_on", "note")


def read_decisions(path: Path | str) -> pd.DataFrame:
    """The decision lines of ``path``, every cell as text (``""`` for an empty cell).

    Args:
        path: the CSV file.

    Returns:
        One row per line after the header; an empty (or header-only) file gives no rows.

    Raises:
        ParamsError: the file is missing or cannot be read as CSV (naming the file).

    Examples:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "d.csv"
        >>> _ = p.write_text("person_a;person_b;decision\\n10;11;same\\n", encoding="utf-8")
        >>> read_decisions(p).values.tolist()
        [['10', '11', 'same']]
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ParamsError(f"review_decisions: cannot read {path}: {exc.strerror or exc}") from exc
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        return pd.DataFrame({c: pd.Series([], dtype="string") for c in COLUMNS[:3]})
    try:
        encoding = sniff_encoding(data[:SAMPLE_BYTES], path)
        sample = decode_sample(data[:SAMPLE_BYTES], encoding, path)
        text = data.decode(encoding)
        return pd.read_csv(io.StringIO(text), sep=sniff_delimiter(sample), dtype="string",
                           keep_default_na=False, skip_blank_lines=True)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError, InputDataError) as exc:
        raise ParamsError(f"review_decisions: {path} is not a readable CSV file: {exc}") from exc


def write_decisions(decisions: pd.DataFrame, path: Path | str) -> Path:
    """Write decision lines to ``path`` atomically (UTF-8 with BOM, commas), owner-only: the file
    names platform person codes.

    Args:
        decisions: the lines, with at least :data:`COLUMNS`' first three columns.
        path: the CSV file (replaced whole).

    Returns:
        ``path``.
    """
    cols = list(dict.fromkeys([*COLUMNS, *decisions.columns]))
    out = decisions.reindex(columns=cols).astype("string").fillna("")
    buf = io.StringIO()
    out.to_csv(buf, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    return write_bytes(b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8"), path, private=True)
