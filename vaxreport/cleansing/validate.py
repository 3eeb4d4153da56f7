"""Checking a folder of inputs before a run: what would stop it, and which rows the cleanser would quarantine.

``validate_folder`` loads every table with the readers of ``vaxreport.io`` (all of them, so
that every blocking problem is reported at once) and parses the date columns with the
cleanser's own date parser (``dates.parse_dates``), so that validation and the run agree on
what a valid date is. It lives in ``cleansing`` for that reason: ``io`` reads, the cleanser
judges.

Examples:
    >>> import tempfile, pathlib
    >>> report = validate_folder(pathlib.Path(tempfile.mkdtemp()))
    >>> report.ok, len(report.problems)  # each of the five tables is missing
    (False, 5)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from vaxreport import schemas
from vaxreport.cleansing.dates import parse_dates
from vaxreport.io.conform import MAX_LISTED as _MAX_LISTED
from vaxreport.io.conform import load_all as _load_all
from vaxreport.io.sniff import recognise_header as _canonical
from vaxreport.schemas import TableSchema

if TYPE_CHECKING:
    from vaxreport.io.raw import RawTable as _Raw

__all__ = ["DATE_FORMATS", "ValidationReport", "validate_folder"]

DATE_FORMATS = ("dd/mm/yyyy", "d/m/yy", "dd-mm-yyyy", "dd.mm.yyyy", "yyyy-mm-dd[ time]",
                "Excel serial", "epoch s/ms")  # what ``parse_dates`` accepts, in short
_BIRTH_COLUMNS = frozenset({"birth_date"})


@dataclass(frozen=True)
class ValidationReport:
    """Outcome of ``validate_folder``.

    Attributes:
        folder: the folder checked.
        problems: blocking problems (a file missing or unreadable, a required column missing, an
            unknown status value...): ``load_inputs`` would fail. ``ok`` is False when any.
        row_issues: row-level findings that do not stop a run (a date that does not parse in a
            date column): the cleanser quarantines those rows.
        warnings: non-blocking notices (unknown extra columns kept).
        rows: data rows per table that loaded.
    """

    folder: Path
    problems: list[str]
    row_issues: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when ``load_inputs`` on this folder would succeed."""
        return not self.problems

    def describe(self) -> str:
        """Every problem, issue and warning, or a one-line summary of rows per table."""
        counts = ", ".join(f"{name} {n:,}".replace(",", ".") for name, n in self.rows.items())
        lines: list[str] = []
        if self.problems:
            lines.append(f"{self.folder}: {len(self.problems)} problem(s); the run cannot start:")
            lines += [f"- {p}" for p in self.problems]
        else:
            lines.append(f"{self.folder}: OK ({counts} rows)")
        if self.row_issues:
            lines.append(f"{len(self.row_issues)} row issue(s); the run quarantines these rows:")
            lines += [f"- {p}" for p in self.row_issues]
        if self.warnings:
            lines.append(f"{len(self.warnings)} warning(s):")
            lines += [f"- {w}" for w in self.warnings]
        return "\n".join(lines)


def _date_issues(df: pd.DataFrame, raw: _Raw, schema: TableSchema, path: Path,
                 as_of: dt.date | None) -> list[str]:
    """One line per date column holding values the cleanser cannot parse (it quarantines them)."""
    issues = []
    headers = {_canonical(h, schema): h for h in raw.headers if h}
    for col in schema.dates:
        if col not in df or df[col].isna().all():
            continue
        kind = "birth" if col in _BIRTH_COLUMNS else "dose"
        codes, uniques = pd.factorize(df[col], use_na_sentinel=True)  # parse each value once
        status = parse_dates(pd.Series(uniques, dtype="str"), kind=kind, as_of=as_of,
                             date_only=False)["status"]
        bad_unique = np.append(status.isin(["unparseable", "impossible"]).to_numpy(), False)
        bad = np.flatnonzero(bad_unique[codes])  # code -1 (empty) picks the appended False
        if not len(bad):
            continue
        shown = ", ".join(f"row {raw.row_of(int(i))} {df[col].iloc[int(i)]!r}"
                          for i in bad[:_MAX_LISTED])
        more = f" and {len(bad) - _MAX_LISTED} more" if len(bad) > _MAX_LISTED else ""
        issues.append(f"file {path}, column {headers.get(col, col)!r}: {len(bad)} value(s) are "
                      f"not a valid date: {shown}{more} (accepted: {', '.join(DATE_FORMATS)})")
    return issues


def validate_folder(folder: Path | str, *, as_of: dt.date | None = None) -> ValidationReport:
    """Check a folder of inputs and report everything wrong at once.

    Blocking problems are what makes ``load_inputs`` fail (every table is tried). For the tables
    that load, date columns are parsed with the cleanser's ``dates.parse_dates`` (``as_of``:
    report date for two-digit birth years, default today): a value it cannot parse or an
    impossible date (31/02/2022) is a *row issue* naming file, column, first rows and values, since
    the run quarantines those rows rather than stop.

    Examples:
        >>> import tempfile, pathlib
        >>> validate_folder(pathlib.Path(tempfile.mkdtemp())).ok
        False
    """
    folder = Path(folder)
    loaded = _load_all(folder)
    issues: list[str] = []
    for name, df in loaded.frames.items():
        issues += _date_issues(df, loaded.raws[name], schemas.TABLES[name],
                               loaded.sources[name].path, as_of)
    return ValidationReport(folder=folder, problems=[str(e) for e in loaded.errors],
                            row_issues=issues, warnings=loaded.warnings,
                            rows={name: len(df) for name, df in loaded.frames.items()})
