"""Tests of ``vaxreport.linkage.persons``' stable ids: ``person_id`` is a function of which person
codes a cluster holds — not of row order, of the labels ``cluster_persons`` happened to give, or
of the partition — and two codes with one hash still get distinct ids, the same whatever the order.

The whole stage 1 on reordered inputs is in ``test_pipeline.py``.
"""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaxreport.linkage.persons import (
    DOSES,
    ID_BITS,
    _hash_ids,
    code_order,
    content_ids,
    dose_histories,
    person_ids,
    person_merges,
    person_records,
    survivor_rows,
)

codes = st.text(alphabet="0123456789AĐđ# ", min_size=1, max_size=6)


# ----------------------------------------------------------------------------- the hash is pinned
def test_content_ids_are_pinned_values() -> None:
    # ids must match last month's: a change in the hash (pandas.util.hash_array: SipHash-2-4 with
    # key "0123456789123456", then the splitmix64 finaliser; top 63 bits) would renumber everyone
    assert content_ids(["10000000", "10000001", "Mã 1", ""]).tolist() == [
        5311875331182581992, 3192423807785965865, 3607294842950733912, 880122920902532387]


@settings(max_examples=60, deadline=None)
@given(st.lists(codes, min_size=1, max_size=30, unique=True), st.randoms(use_true_random=False))
def test_content_ids_are_a_function_of_the_set_of_keys(keys: list[str], rnd: random.Random) -> None:
    ids = content_ids(keys)
    assert ids.dtype == np.int64 and (ids >= 0).all() and len(set(ids.tolist())) == len(keys)
    shuffled = rnd.sample(keys, len(keys))
    assert dict(zip(shuffled, content_ids(shuffled).tolist(), strict=True)) == dict(
        zip(keys, ids.tolist(), strict=True))


# ----------------------------------------------------------------------------- collisions
@settings(max_examples=200, deadline=None)
@given(st.lists(codes, min_size=2, max_size=7, unique=True), st.randoms(use_true_random=False))
def test_colliding_keys_get_distinct_ids_whatever_their_order(keys: list[str], rnd: random.Random) -> None:
    bits = 3  # 8 ids for up to 7 keys: collisions on most draws
    ids = content_ids(keys, bits=bits)
    assert len(set(ids.tolist())) == len(keys) and ((0 <= ids) & (ids < 2**bits)).all()
    shuffled = rnd.sample(keys, len(keys))
    assert dict(zip(shuffled, content_ids(shuffled, bits=bits).tolist(), strict=True)) == dict(
        zip(keys, ids.tolist(), strict=True))
    primary = _hash_ids(np.array(keys, dtype=object), bits)
    first_holder = {}
    for i in code_order(pd.Series(keys)):  # the smallest code holding a hash keeps it
        first_holder.setdefault(int(primary[i]), i)
    for h, i in first_holder.items():
        assert ids[i] == h


def test_a_collision_is_resolved_by_the_next_free_hash_of_the_code() -> None:
    bits = 4
    pool = [str(10_000_000 + i) for i in range(40)]
    h = _hash_ids(np.array(pool, dtype=object), bits)
    a, b = next((x, y) for i, x in enumerate(pool) for j, y in enumerate(pool) if i < j and h[i] == h[j])
    ids = content_ids([b, a], bits=bits)
    assert ids[1] == h[pool.index(a)]  # the smaller code keeps its hash
    k = 1
    while (alt := int(_hash_ids(np.array([f"{b}#{k}"], dtype=object), bits)[0])) == ids[1]:
        k += 1
    assert ids[0] == alt  # the other takes the hash of "code#1" (#2 … while taken)


def test_content_ids_refuse_repeated_or_missing_keys_and_a_full_id_space() -> None:
    with pytest.raises(ValueError, match="distinct, non-missing"):
        content_ids(["a", "a"])
    with pytest.raises(ValueError, match="distinct, non-missing"):
        content_ids(pd.Series(["a", None]))
    with pytest.raises(ValueError, match="do not fit in 2-bit ids"):
        content_ids(["a", "b", "c", "d"], bits=2)
    assert ID_BITS == 63 and content_ids([]).size == 0


# ----------------------------------------------------------------------------- code order
def test_codes_order_shortest_first_then_by_text_missing_last() -> None:
    refs = pd.Series(["10", "9", None, "09", "A1", "100"], dtype="str")
    ordered = [refs[i] for i in code_order(refs)]
    assert ordered[:-1] == ["9", "09", "10", "A1", "100"] and pd.isna(ordered[-1])


# ----------------------------------------------------------------------------- person ids
def _records(refs: list[str | None], clusters: list[int]) -> tuple[pd.DataFrame, pd.Series]:
    return pd.DataFrame({"person_ref": pd.array(refs, dtype="str")}), pd.Series(clusters)


def test_person_id_is_the_content_id_of_the_clusters_smallest_code() -> None:
    persons, labels = _records(["12", "9", "30", "7", None], [0, 0, 2, 2, 4])
    ids = person_ids(persons, labels)
    key = dict(zip(["9", "7", ""], content_ids(["9", "7", ""]).tolist(), strict=True))
    assert ids.tolist() == [key["9"]] * 2 + [key["7"]] * 2 + [key[""]]  # no code: ""
    assert ids.name == "person_id" and ids.dtype == np.int64 and ids.index.equals(persons.index)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 6), min_size=1, max_size=25), st.randoms(use_true_random=False))
def test_person_ids_do_not_depend_on_row_order_or_label_values(clusters: list[int], rnd: random.Random) -> None:
    refs = [str(100 + 7 * i) for i in range(len(clusters))]
    persons, labels = _records(refs, clusters)
    by_ref = dict(zip(refs, person_ids(persons, labels).tolist(), strict=True))
    perm = rnd.sample(range(len(refs)), len(refs))
    relabel = {c: rnd.randrange(10**6) * 10 + c for c in set(clusters)}  # any other label values
    moved = person_ids(persons.iloc[perm], pd.Series([relabel[clusters[i]] for i in perm]))
    assert dict(zip(persons["person_ref"].iloc[perm], moved.tolist(), strict=True)) == by_ref
    same = [by_ref[refs[i]] == by_ref[refs[j]] for i in range(len(refs)) for j in range(len(refs))]
    assert same == [clusters[i] == clusters[j] for i in range(len(refs)) for j in range(len(refs))]


def test_person_ids_need_a_label_on_every_record() -> None:
    persons, _ = _records(["1", "2"], [0, 0])
    with pytest.raises(ValueError, match="missing labels"):
        person_ids(persons, pd.Series([0, None]))


# ----------------------------------------------------------------------------- survivors and merges
def test_the_survivor_is_the_smallest_code_whatever_the_row_order() -> None:
    persons, labels = _records(["12", "9", "30", "7"], [0, 0, 2, 2])
    assert survivor_rows(persons, labels).tolist() == [1, 1, 3, 3]
    merges = person_merges(persons, labels)
    assert merges[["person_ref", "survivor_ref"]].values.tolist() == [["12", "9"], ["30", "7"]]
    back = person_merges(persons.iloc[::-1].reset_index(drop=True), labels.iloc[::-1].reset_index(drop=True))
    pd.testing.assert_frame_equal(back, merges)
    assert survivor_rows(pd.DataFrame({"x": [1, 2, 3]}), pd.Series([5, 6, 5])).tolist() == [0, 1, 0]


# ----------------------------------------------------------------------------- dose histories
def test_person_records_carry_each_records_dose_history() -> None:
    """Doses in date order whatever the row order, the number as entered (0 unknown), undated
    rows left out, a record without a dated dose empty; aligned to the records."""
    doses = pd.DataFrame({
        "person_ref": ["b", "a", "b", "c", "a", "b"],
        "full_name": ["Y", "X", "Y", "Z", "X", "Y"],
        "dose_number": [3.0, 2.0, None, 1.0, 1.0, 1.0],
        "dose_date": pd.to_datetime(["2022-01-10", "2021-09-01", "2021-10-01", None, "2021-08-01",
                                     "2021-07-01"]),
    })
    rec = person_records(doses)
    assert rec["person_ref"].tolist() == ["b", "a", "c"]
    assert rec[DOSES].tolist() == ["2021-07-01#1 2021-10-01#0 2022-01-10#3",
                                   "2021-08-01#1 2021-09-01#2", ""]
    shuffled = doses.sample(frac=1.0, random_state=3)
    again = dose_histories(shuffled)
    assert dict(zip(pd.unique(shuffled["person_ref"]), again)) == dict(zip(rec["person_ref"], rec[DOSES]))
    assert DOSES not in person_records(doses.drop(columns="dose_date")).columns
