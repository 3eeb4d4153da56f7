"""Last month's worklist lines followed up (``vaxreport.reporting.followup``): labelled cases."""

from __future__ import annotations

import pandas as pd

from vaxreport.reporting.followup import follow_up, followup_paragraph, summarise

#: name -> (last month's line, this month's lines, this month's person of each code, fixed?)
CASES = {
    "still listed": (
        ("unsigned", "r1", "a", 1), [("unsigned", "r1", "a", 1)], {"a": 1}, False),
    "no longer listed": (
        ("unsigned", "r1", "a", 1), [], {"a": 1}, True),
    "the record left the export (merged or deleted on the platform)": (
        ("duplicate_person", None, "b", 2), [], {"a": 1}, True),
    "a person-level problem of one record, another record of the person still listed": (
        ("bad_id", None, "b", 1), [("bad_id", None, "c", 1)], {"b": 1, "c": 1}, True),
    "the person was merged into another: same record, same problem, the person's new id": (
        ("bad_id", None, "b", 2), [("bad_id", None, "b", 1)], {"b": 1}, False),
    "the dose moved to another record of the same person": (
        ("short_interval", "r7", "b", 1), [("short_interval", "r7", "a", 1)], {"a": 1, "b": 1}, False),
    "the same record listed for another problem": (
        ("dose_sequence", "r1", "a", 1), [("unsigned", "r1", "a", 1)], {"a": 1}, True),
    "the dose now belongs to another person (split)": (
        ("unsigned", "r1", "a", 1), [("unsigned", "r1", "a", 5)], {"a": 5}, False),
}
_COLS = ["kind", "record_id", "person_ref", "person_id"]


def _frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=_COLS).astype({"record_id": "string", "person_id": "Int64"})


def test_cases() -> None:
    for name, (last, now, person_of, fixed) in CASES.items():
        previous = _frame([last]).assign(site_code="S1", site_name="TYT A", district_code="164")
        checked = follow_up(previous, _frame(now), pd.Series(person_of))
        assert checked["fixed"].tolist() == [fixed], name


def test_counts_and_sentence_come_from_the_same_lines() -> None:
    previous = _frame([("unsigned", f"r{i}", "a", 1) for i in range(7)] + [("bad_id", None, "b", 2)]).assign(
        site_code=["S1"] * 4 + ["S2"] * 4, site_name="TYT", district_code=["164"] * 4 + ["165"] * 4)
    now = _frame([("unsigned", "r0", "a", 1), ("bad_id", None, "b", 2)])
    summary = summarise(follow_up(previous, now, pd.Series({"a": 1, "b": 2})), "2022-05")
    assert summary[["listed", "fixed", "open"]].sum().tolist() == [8, 6, 2]
    assert summary["district_code"].tolist() == ["164", "165", "165"]
    text = followup_paragraph(summary).text
    assert "(2022-05) có 8 bản ghi cần sửa" in text and "6 bản ghi đã được sửa (75,00%)" in text
    assert "2 bản ghi chưa sửa, gồm: sai, thiếu số CCCD/CMND: 1; mũi tiêm chưa ký số: 1." in text
    assert followup_paragraph(summarise(follow_up(previous.iloc[:0], now, pd.Series(dtype="int64")), "")) is None
