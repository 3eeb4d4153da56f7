"""Last month's worklists followed up: how many of their lines were fixed by this month.

Every worklist line names a problem (``kind``), the person it is about (``person_id``, stable from
month to month: :mod:`vaxreport.linkage.carry`) and the record to fix (the dose's ``record_id``,
or the person record's ``person_ref`` for person-level problems). A line of last month is
*fixed* when this month's worklists hold no line with the same (kind, person, record): the person
being this month's person of the line's person code (a code gone from the export — the record
merged or deleted on the platform — counts as fixed). :func:`follow_up` checks every line (stage
1, personal keys), :func:`summarise` keeps counts only (district, site, kind: listed, fixed,
open; ``cleansed/facts/worklist_followup.parquet``), and :func:`followup_paragraph` states them
at the end of section II of each report. Unlike :mod:`vaxreport.reporting.worklist_returns` (what the sites
say they fixed), this counts every line, whether a workbook came back or not.

Examples:
    >>> last = pd.DataFrame({"kind": ["unsigned", "bad_id", "bad_id"], "record_id": ["r1", None, None],
    ...     "person_ref": ["a", "b", "z"], "person_id": [1, 2, 9], "site_code": "S1", "site_name": "TYT A",
    ...     "district_code": "164"})
    >>> now = pd.DataFrame({"kind": ["bad_id"], "record_id": [None], "person_ref": ["b"], "person_id": [2]})
    >>> follow_up(last, now, pd.Series([1, 2], index=["a", "b"]))["fixed"].tolist()
    [True, False, True]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from vaxreport.reporting.report.format import fmt_int
from vaxreport.reporting.report.render import Paragraph
from vaxreport.reporting.worklist_returns import fixed_clause, largest

SUMMARY_COLUMNS = ["previous_period", "district_code", "site_code", "site_name", "kind", "listed", "fixed", "open"]
_COUNTS = ("listed", "fixed", "open")
#: each worklist kind in a sentence (section II)
KIND_WORDS = {
    "bad_id": "sai, thiếu số CCCD/CMND", "id_mismatch": "thông tin lệch với CSDLQG",
    "duplicate_person": "trùng đối tượng", "dose_sequence": "thiếu hoặc sai thứ tự mũi tiêm",
    "short_interval": "khoảng cách giữa các mũi ngắn", "vaccine_rule": "vắc xin không phù hợp độ tuổi",
    "duplicate_dose": "mũi tiêm nhập trùng", "unsigned": "mũi tiêm chưa ký số",
}


def _text(values: pd.Series) -> pa.Array:
    """A column as Arrow text, missing as ""."""
    text = values.astype("string") if not pd.api.types.is_string_dtype(values.dtype) else values
    return pc.fill_null(pa.array(text.to_numpy(object), pa.large_string(), from_pandas=True), "")


def _keys(kind: pd.Series, person: pd.Series, record: pd.Series, ref: pd.Series) -> pa.Array:
    """(kind, person, record) as one Arrow string: the record is the dose's id, else the person code."""
    rec = pc.if_else(pc.equal(_text(record), ""), _text(ref), _text(record))
    return pc.binary_join_element_wise(_text(kind), _text(person), rec, pa.scalar("\x1f", pa.large_string()))


def follow_up(previous: pd.DataFrame, current: pd.DataFrame, person_of: pd.Series) -> pd.DataFrame:
    """Last month's worklist lines, each with ``fixed`` (see the module docstring).

    Args:
        previous: last month's ``worklists.parquet`` (``kind, record_id, person_ref`` …).
        current: this month's worklist lines (``kind, record_id, person_ref, person_id``).
        person_of: this month's ``person_id`` of each person code (index ``person_ref``).

    Returns:
        ``previous`` with ``person_id_now`` (Int64; missing when the code is gone) and ``fixed``
        (bool). Does not mutate its inputs.
    """
    person_of = person_of[~person_of.index.duplicated()]
    at = pc.index_in(_text(previous["person_ref"]), value_set=_text(pd.Series(person_of.index)))
    ids = person_of.to_numpy(np.int64)
    found = pc.is_valid(at).to_numpy(zero_copy_only=False)
    now_id = pd.array(np.where(found, ids[at.fill_null(0).to_numpy(zero_copy_only=False)] if len(ids) else 0, 0),
                      dtype="Int64")
    now_id[~found] = pd.NA
    still = _keys(current["kind"], current["person_id"], current["record_id"], current["person_ref"])
    key = _keys(previous["kind"], pd.Series(now_id, index=previous.index), previous["record_id"],
                previous["person_ref"])
    fixed = ~pc.is_in(key, value_set=still).to_numpy(zero_copy_only=False) | ~found
    return previous.assign(person_id_now=now_id, fixed=np.asarray(fixed, bool))


def summarise(checked: pd.DataFrame, previous_period: str) -> pd.DataFrame:
    """Counts per district, site and kind (no personal data): ``listed, fixed, open``.

    >>> summarise(pd.DataFrame({"district_code": ["164"] * 2, "site_code": ["S1"] * 2, "site_name": ["A"] * 2,
    ...     "kind": ["unsigned"] * 2, "fixed": [True, False]}), "2022-05")[["listed", "fixed", "open"]].values.tolist()
    [[2, 1, 1]]
    """
    if checked.empty:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c in _COUNTS else "string") for c in SUMMARY_COLUMNS})
    t = checked.assign(fixed=checked["fixed"].astype("int64"),
                       **{c: checked[c].astype("string").fillna("") for c in ("district_code", "site_code",
                                                                              "site_name", "kind")})
    g = t.groupby(["district_code", "site_code", "site_name", "kind"], sort=True)["fixed"].agg(
        listed="size", fixed="sum").reset_index()
    g["open"] = g["listed"] - g["fixed"]
    g["previous_period"] = previous_period
    g = g.replace({"district_code": {"": pd.NA}, "site_name": {"": pd.NA}})
    return g.loc[:, SUMMARY_COLUMNS].astype({c: "string" for c in SUMMARY_COLUMNS if c not in _COUNTS})


def followup_paragraph(summary: pd.DataFrame) -> Paragraph | None:
    """Section II's sentence on last month's worklist lines, or None when there were none.

    >>> s = pd.DataFrame({"previous_period": ["2022-05"] * 3, "kind": ["unsigned", "bad_id", "unsigned"],
    ...                   "listed": [1200, 34, 1], "fixed": [1000, 4, 1], "open": [200, 30, 0]})
    >>> import textwrap
    >>> print(textwrap.fill(followup_paragraph(s).text, 90))
    Danh sách điều chỉnh kỳ trước (2022-05) có 1.235 bản ghi cần sửa; đối chiếu với dữ liệu kỳ
    này: 1.005 bản ghi đã được sửa (81,38%), 230 bản ghi chưa sửa, gồm: mũi tiêm chưa ký số:
    200; sai, thiếu số CCCD/CMND: 30.
    """
    if summary.empty or int(summary["listed"].sum()) == 0:
        return None
    listed, fixed, still = (int(summary[c].sum()) for c in _COUNTS)
    period = str(summary["previous_period"].iloc[0])
    text = f"Danh sách điều chỉnh kỳ trước ({period}) có {fmt_int(listed)} bản ghi cần sửa; "
    text += fixed_clause(fixed, listed)
    if still:
        by_kind = largest(summary, "kind", "open")
        items = "; ".join(f"{KIND_WORDS.get(str(k), str(k))}: {fmt_int(int(n))}" for k, n in by_kind.items())
        text += f", {fmt_int(still)} bản ghi chưa sửa, gồm: {items}"
    return Paragraph(text + ".")
