"""One exception hierarchy for vaxreport: every user-facing failure is a ``VaxReportError``."""

from __future__ import annotations


class VaxReportError(Exception):
    """Raised for any expected failure a user can act on (bad input, bad params, failed render)."""


class ParamsError(VaxReportError):
    """Raised when a params YAML is unreadable or fails validation (all problems listed at once)."""


class InputDataError(VaxReportError):
    """Raised when an input file cannot be read or does not meet its contract.

    The message names the file and, where known, the row (1-based, as a spreadsheet shows it)
    and the column.
    """

    def __init__(self, message: str, *, path: str | None = None, row: int | None = None,
                 column: str | None = None) -> None:
        self.path, self.row, self.column = path, row, column
        where = []
        if path is not None:
            where.append(f"file {path}")
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class SchemaViolation(InputDataError):
    """Raised when a table lacks required columns or has values of the wrong type."""


class ConservationError(VaxReportError):
    """Raised when raw rows != cleansed + merged duplicates + quarantined rows."""


class ReportRenderError(VaxReportError):
    """Raised when a PDF cannot be rendered (typst error, missing font or glyph)."""


class RunError(VaxReportError):
    """Raised when a run cannot start (output folder in use, missing inputs) or a stage fails."""
