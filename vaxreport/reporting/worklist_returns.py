"""Worklists that come back: the rows a site marked fixed last month, checked against this month.

Each site workbook (:func:`vaxreport.reporting.workbooks.write_site_workbooks`) ends with two columns the
site fills in, ``Đã sửa (x)`` and ``Ghi chú``. Next month the analyst drops the returned
workbooks into ``worklist_returns/`` (the params key ``worklist_returns``, default the inputs'
subfolder of that name). Stage 1 reads them (:func:`read_returns`, personal data: stage 1 only),
and checks every row marked done against the worklists built from the new export
(:func:`check_returns`): a problem no longer listed for that record is *fixed*, one still listed
is *not fixed*. Only counts leave stage 1 (:func:`summarise`: district, site, kind, marked,
fixed, not fixed), and :func:`add_to_report` states them in section II of the report.

Examples:
    >>> returned = pd.DataFrame({"site_code": ["S1", "S1"], "kind": ["unsigned", "bad_id"],
    ...     "record_id": ["r2", None], "person_ref": ["a", "c"], "done": [True, True]})
    >>> current = pd.DataFrame({"kind": ["bad_id"], "record_id": [None], "person_ref": ["c"],
    ...     "site_code": ["S1"]})
    >>> check_returns(returned, current)[["kind", "fixed"]].values.tolist()
    [['unsigned', True], ['bad_id', False]]
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from vaxreport.reporting.report.format import fmt_int, fmt_pct
from vaxreport.reporting.report.render import Paragraph, ReportDoc
from vaxreport.reporting.workbooks import DONE_HEADER, NOTE_HEADER
from vaxreport.reporting.worklists import COLUMNS, KINDS

if TYPE_CHECKING:
    from vaxreport.params import RunParams

__all__ = ["FOLDER", "SUMMARY_COLUMNS", "add_to_report", "check_returns", "fixed_clause", "largest",
           "read_returns", "returns_folder", "returns_paragraph", "summarise"]

#: Default folder name, inside the period's inputs folder.
FOLDER = "worklist_returns"
#: What a site may write in ``Đã sửa (x)`` to mark a row done (compared lower-case, stripped).
DONE_MARKS = frozenset({"x", "đã sửa", "da sua", "v", "✓", "✔", "1", "true", "có", "co", "ok"})
SUMMARY_COLUMNS = ["district_code", "site_code", "site_name", "kind", "marked", "fixed", "not_fixed"]
_KIND_OF_TITLE = {title: kind for kind, title in KINDS.items()}
_HEAD = {COLUMNS[c][0]: c for c in ("record_id", "person_ref", "code")} | {DONE_HEADER: "done", NOTE_HEADER: "note"}
_ROW_COLUMNS = ["site_code", "kind", "record_id", "person_ref", "code", "done", "note"]


def returns_folder(p: RunParams) -> Path | None:
    """The folder of returned worklists for run params ``p``, or None when there is none."""
    folder = p.worklist_returns if p.worklist_returns else Path(p.inputs) / FOLDER
    return folder if Path(folder).is_dir() else None


def _sheet_rows(raw: pd.DataFrame, site: str, kind: str) -> pd.DataFrame:
    """The data rows under the header row (found by its first cell, "Ưu tiên") of one sheet."""
    first = raw.iloc[:, 0].astype("string").str.strip()
    at = np.flatnonzero(first.eq(COLUMNS["priority"][0]).fillna(False).to_numpy(bool))
    if not len(at):
        return pd.DataFrame(columns=_ROW_COLUMNS)
    # the site as the header block names it ("… — cơ sở: 0576101 Trạm Y tế …"): a renamed file still counts
    named = first.iloc[:at[0]].str.extract(r"cơ sở: (\S+)", expand=False).dropna()
    site = str(named.iloc[0]) if len(named) else site
    header = raw.iloc[at[0]].astype("string").str.strip().tolist()
    body = raw.iloc[at[0] + 1:].set_axis(header, axis=1)
    body = body.loc[:, [h for h in header if h in _HEAD]].rename(columns=_HEAD)
    body = body.reindex(columns=["record_id", "person_ref", "code", "done", "note"])
    body = body.dropna(how="all", subset=["record_id", "person_ref"])
    done = body["done"].astype("string").str.strip().str.lower().isin(DONE_MARKS).fillna(False)
    return body.assign(site_code=site, kind=kind, done=done.to_numpy(bool)).loc[:, _ROW_COLUMNS]


def read_returns(folder: Path | str | None) -> pd.DataFrame:
    """Every data row of the returned site workbooks in ``folder`` (None or empty: no rows).

    Columns: ``site_code`` (as the sheet's header block names it, else the file name), ``kind``,
    ``record_id``, ``person_ref``, ``code``, ``done`` (bool: the row is marked in ``Đã sửa (x)``),
    ``note``. Sheets that are not worklist kinds and the summary workbook are skipped. Holds
    personal keys: stage 1 only.
    """
    frames = [pd.DataFrame(columns=_ROW_COLUMNS)]
    if folder is not None:
        for path in sorted(Path(folder).glob("*.xlsx")):
            if path.name.startswith(("~$", ".", "_")):  # lock files, _tong_hop.xlsx
                continue
            sheets = pd.read_excel(path, sheet_name=None, header=None, dtype=object)
            frames += [_sheet_rows(raw, path.stem, _KIND_OF_TITLE[title])
                       for title, raw in sheets.items() if title in _KIND_OF_TITLE]
    out = pd.concat(frames, ignore_index=True)
    return out.astype({c: "string" for c in _ROW_COLUMNS if c != "done"}).astype({"done": bool})


def _keys(df: pd.DataFrame) -> pd.Series:
    return (df["kind"].astype("string").fillna("") + "\x1f" + df["record_id"].astype("string").fillna("")
            + "\x1f" + df["person_ref"].astype("string").fillna(""))


def check_returns(returned: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """The rows marked done, each with ``fixed``: its problem (kind, record) is no longer in
    ``current`` (this month's worklists, :func:`vaxreport.reporting.worklists.to_table`). A record gone
    from the export (merged, deleted) counts as fixed. Does not mutate its inputs."""
    marked = returned[returned["done"].to_numpy(bool)]
    still = _keys(marked).isin(set(_keys(current)))
    return marked.assign(fixed=~still.to_numpy(bool)).reset_index(drop=True)


def summarise(checked: pd.DataFrame, site_district: pd.Series, site_names: pd.Series | None = None) -> pd.DataFrame:
    """Counts per district, site and kind (no personal data): ``marked, fixed, not_fixed``."""
    if checked.empty:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c in ("marked", "fixed", "not_fixed") else "string")
                             for c in SUMMARY_COLUMNS})
    t = checked.assign(fixed=checked["fixed"].astype("int64"))
    g = t.groupby(["site_code", "kind"], sort=True)["fixed"].agg(marked="size", fixed="sum").reset_index()
    g["not_fixed"] = g["marked"] - g["fixed"]
    g["district_code"] = g["site_code"].map(site_district).astype("string")
    names = site_names if site_names is not None else pd.Series(dtype="string")
    g["site_name"] = g["site_code"].map(names).astype("string")
    return g.loc[:, SUMMARY_COLUMNS].astype({"site_code": "string", "kind": "string"})


def fixed_clause(fixed: int, listed: int) -> str:
    """"đối chiếu với dữ liệu kỳ này: F bản ghi đã được sửa (P%)" (P from the two counts).

    >>> fixed_clause(3, 4)
    'đối chiếu với dữ liệu kỳ này: 3 bản ghi đã được sửa (75,00%)'
    """
    return f"đối chiếu với dữ liệu kỳ này: {fmt_int(fixed)} bản ghi đã được sửa ({fmt_pct(fixed, listed)})"


def largest(counts: pd.DataFrame, by: str, column: str) -> pd.Series:
    """``column`` summed per ``by``, the positive sums only, largest first (ties in ``by`` order)."""
    total = counts.groupby(by, sort=True)[column].sum()
    return total[total > 0].sort_values(ascending=False, kind="stable")


def returns_paragraph(summary: pd.DataFrame) -> Paragraph | None:
    """Section II's sentence on last month's returned worklists, or None when none came back.

    >>> s = pd.DataFrame({"site_code": ["S1", "S2"], "site_name": ["TYT A", None], "kind": ["bad_id"] * 2,
    ...                   "marked": [3, 1], "fixed": [2, 1], "not_fixed": [1, 0]})
    >>> print(returns_paragraph(s).text.replace(", ", ",\\n"))
    Theo danh sách điều chỉnh kỳ trước,
    các cơ sở tiêm chủng báo cáo đã sửa 4 bản ghi; đối chiếu với dữ liệu kỳ này: 3 bản ghi đã được sửa (75,00%),
    1 bản ghi vẫn còn lỗi,
    tập trung tại: TYT A (1).
    """
    if summary.empty or int(summary["marked"].sum()) == 0:
        return None
    marked, fixed, not_fixed = (int(summary[c].sum()) for c in ("marked", "fixed", "not_fixed"))
    text = (f"Theo danh sách điều chỉnh kỳ trước, các cơ sở tiêm chủng báo cáo đã sửa {fmt_int(marked)} bản ghi; "
            + fixed_clause(fixed, marked))
    if not_fixed:
        by_site = summary.assign(label=summary["site_name"].fillna(summary["site_code"]))
        top = largest(by_site, "label", "not_fixed").head(3)
        where = "; ".join(f"{name} ({fmt_int(int(n))})" for name, n in top.items())
        text += f", {fmt_int(not_fixed)} bản ghi vẫn còn lỗi, tập trung tại: {where}"
    return Paragraph(text + ".")


def add_to_report(doc: ReportDoc, summary: pd.DataFrame) -> ReportDoc:
    """``doc`` with :func:`returns_paragraph` at the end of section II (the second section);
    unchanged when no worklist came back. Does not mutate ``doc``."""
    return doc.with_block(1, returns_paragraph(summary))
