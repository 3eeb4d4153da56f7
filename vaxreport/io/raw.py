"""One input file as read, before it is conformed to its schema: what the CSV and XLSX readers
(``delimited``, ``xlsx``) return and ``conform`` maps to canonical columns.

Examples:
    >>> import pandas as pd
    >>> raw = RawTable(headers=["Mã xã"], frame=pd.DataFrame({"c0": ["05443"]}, dtype="str"),
    ...                rows=None, first_row=2, encoding="utf-8", delimiter=",")
    >>> raw.row_of(0)
    2
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["RawTable"]


@dataclass
class RawTable:
    """A file's header and data cells as read, with how it was read.

    Attributes:
        headers: the header cells as written (stripped), one per column.
        frame: the data, columns ``c0..cN-1`` by position, all ``str`` dtype (NaN = empty).
        rows: spreadsheet row number of each data row; None = index + ``first_row``.
        first_row: spreadsheet row number of the first data row.
        encoding: text encoding used (``"utf-8"``, ``"utf-8-sig"``, ``"utf-16"``, ``"cp1258"``,
            ``"cp1252"``...), or ``"xlsx"``.
        delimiter: the CSV delimiter, or ``""`` for XLSX.
        sheet: XLSX sheet name, else ``""``.
        header_row: spreadsheet row number of the header row.
        notes: warnings raised while reading (an XLSX footer not loaded).
    """

    headers: list[str]
    frame: pd.DataFrame
    rows: np.ndarray | None
    first_row: int
    encoding: str
    delimiter: str
    sheet: str = ""
    header_row: int = 1
    notes: list[str] = field(default_factory=list)

    def row_of(self, i: int) -> int:
        """Spreadsheet row number of data row ``i`` (0-based position in ``frame``)."""
        return int(self.rows[i]) if self.rows is not None else self.first_row + i
