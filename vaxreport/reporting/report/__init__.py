"""Official PDF reports (NĐ 30/2020 layout, typst) and Vietnamese number/date formatting.

The public API: the document dataclasses, ``render_pdf``/``write_pdf`` and the formatters.
"""

from __future__ import annotations

from vaxreport.reporting.report.format import (
    fmt_date_long,
    fmt_date_short,
    fmt_decimal,
    fmt_int,
    fmt_int_change,
    fmt_pct,
    fmt_pct_value,
    fmt_place_date,
    fmt_pp_change,
    fmt_ratio,
    fmt_ratio_sentence,
    pct,
)
from vaxreport.reporting.report.render import (
    Figure,
    Paragraph,
    ReportDoc,
    Section,
    Signatory,
    Table,
    render_pdf,
    write_pdf,
)

__all__ = [
    "Figure",
    "Paragraph",
    "ReportDoc",
    "Section",
    "Signatory",
    "Table",
    "fmt_date_long",
    "fmt_date_short",
    "fmt_decimal",
    "fmt_int",
    "fmt_int_change",
    "fmt_pct",
    "fmt_pp_change",
    "fmt_pct_value",
    "fmt_place_date",
    "fmt_ratio",
    "fmt_ratio_sentence",
    "pct",
    "render_pdf",
    "write_pdf",
]
