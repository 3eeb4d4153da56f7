"""Person ids carried over from last month (``vaxreport.linkage.carry``): labelled cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vaxreport.linkage.carry import WHY, carry_ids, empty_changes
from vaxreport.linkage.persons import content_ids, person_ids

#: name -> (last month: code -> id, this month: clusters as lists of codes,
#:          expected id per code this month, expected changes (old, new, why, smallest code))
CASES = {
    "same clusters keep their ids": (
        {"10": 1, "11": 1, "12": 2}, [["10", "11"], ["12"]], {"10": 1, "11": 1, "12": 2}, []),
    "a new record joins a person": (
        {"10": 1}, [["10", "99"]], {"10": 1, "99": 1}, []),
    "the smallest code is gone, the person keeps the id": (
        {"10": 1, "11": 1}, [["11"]], {"11": 1}, []),
    "two persons merged: the smallest code's id wins": (
        {"10": 1, "11": 2}, [["10", "11"]], {"10": 1, "11": 1}, [(2, 1, "merged", "11")]),
    "the merge is decided by code order, not by id": (
        {"9": 5, "10": 1}, [["9", "10"]], {"9": 5, "10": 5}, [(1, 5, "merged", "10")]),
    "a person split: the part with the smallest code keeps the id": (
        {"10": 1, "11": 1, "12": 1}, [["10"], ["11", "12"]], {"10": 1}, [(1, "content:11", "split", "11")]),
    "a record moved to another person": (
        {"10": 1, "11": 1, "20": 2}, [["10"], ["11", "20"]], {"10": 1, "11": 2, "20": 2}, [(1, 2, "moved", "11")]),
    "a person gone from the export": (
        {"10": 1, "11": 2}, [["10"]], {"10": 1}, [(2, None, "gone", "11")]),
    "a new person": (
        {"10": 1}, [["10"], ["30"]], {"10": 1}, [(None, "content:30", "new", "30")]),
}


def _run(previous: dict[str, int], clusters: list[list[str]], *, reverse: bool = False):
    codes = [c for cl in clusters for c in cl]
    labels = [i for i, cl in enumerate(clusters) for _ in cl]
    persons = pd.DataFrame({"person_ref": codes})
    if reverse:
        persons, labels = persons.iloc[::-1].reset_index(drop=True), labels[::-1]
    ids = person_ids(persons, pd.Series(labels))
    prev = pd.DataFrame({"person_ref": list(previous), "person_id": list(previous.values())})
    return persons, carry_ids(persons["person_ref"], ids, prev)


def _resolve(value: object) -> object:
    if isinstance(value, str) and value.startswith("content:"):
        return int(content_ids([value.split(":")[1]])[0])
    return value


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("reverse", [False, True])
def test_carry_case(case: str, reverse: bool) -> None:
    previous, clusters, expected_ids, expected_changes = CASES[case]
    persons, carried = _run(previous, clusters, reverse=reverse)
    got = dict(zip(persons["person_ref"], carried.ids))
    assert {k: got[k] for k in expected_ids} == expected_ids
    rows = [(None if pd.isna(r.old_id) else int(r.old_id), None if pd.isna(r.new_id) else int(r.new_id),
             r.why, r.person_ref) for r in carried.changes.itertuples()]
    assert rows == [tuple(_resolve(v) for v in row) for row in expected_changes]


def test_ids_are_distinct_per_cluster_and_never_reuse_an_old_id() -> None:
    """A new cluster whose content id is an id of last month (here: the hash of its own code,
    which named another person then) takes the next free hash instead."""
    h = int(content_ids(["11"])[0])
    previous = {"10": h, "12": 7}  # last month "10" carried the id the code "11" hashes to
    persons, carried = _run(previous, [["10"], ["11"], ["12"]])
    got = dict(zip(persons["person_ref"], carried.ids))
    assert got["10"] == h and got["12"] == 7
    assert got["11"] not in (h, 7)
    assert carried.changes["why"].tolist() == ["new"]


def test_row_order_and_previous_rows_do_not_matter() -> None:
    rng = np.random.default_rng(3)
    codes = [str(100 + i) for i in range(60)]
    old = {c: int(rng.integers(0, 12)) for c in codes[:50]}
    labels = rng.integers(0, 15, len(codes))
    persons = pd.DataFrame({"person_ref": codes})
    prev = pd.DataFrame({"person_ref": list(old), "person_id": list(old.values())})
    a = carry_ids(persons["person_ref"], person_ids(persons, pd.Series(labels)), prev)
    perm = rng.permutation(len(codes))
    pb = persons.iloc[perm].reset_index(drop=True)
    b = carry_ids(pb["person_ref"], person_ids(pb, pd.Series(labels[perm])),
                  pd.concat([prev, prev]).sample(frac=1, random_state=1))
    assert dict(zip(persons["person_ref"], a.ids)) == dict(zip(pb["person_ref"], b.ids))
    pd.testing.assert_frame_equal(a.changes, b.changes)
    assert set(a.changes["why"]) <= set(WHY)
    # every person of last month is either kept (its id still used) or listed as merged or gone
    kept = set(a.ids) & set(old.values())
    listed = set(a.changes.loc[a.changes["why"].isin(["merged", "gone"]), "old_id"].astype(int))
    assert kept | listed == set(old.values()) and not kept & listed


def test_empty_changes_has_the_columns() -> None:
    assert list(empty_changes().columns) == ["old_id", "new_id", "why", "person_refs", "person_ref"]
