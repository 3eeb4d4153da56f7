"""Tests of ``vaxreport.linkage.cluster`` (``cluster_persons``, the whole linkage): labelled pairs
(same person despite errors; different people in one household), invariants under hypothesis,
missing columns, the guard against incompatible IDs, connected components."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from linkage_cases import BASE, DIFFERENT_PEOPLE, SAME_PERSON, background, persons_strategy, same, variant

from vaxreport.linkage import FIELDS, cluster_persons
from vaxreport.linkage.cluster import canonical_order, connected_components, link_persons


@pytest.mark.parametrize("case", SAME_PERSON)
def test_same_person_despite_errors(case: str) -> None:
    from vaxreport.linkage import explain_pair

    assert same(BASE, SAME_PERSON[case]), explain_pair(BASE, SAME_PERSON[case])


@pytest.mark.parametrize("case", DIFFERENT_PEOPLE)
def test_different_people_stay_apart(case: str) -> None:
    from vaxreport.linkage import explain_pair

    assert not same(BASE, DIFFERENT_PEOPLE[case]), explain_pair(BASE, DIFFERENT_PEOPLE[case])


def test_datetime_birth_dates_and_custom_index() -> None:
    df = pd.DataFrame([BASE, variant(full_name="Nguyen Van Hung", id_number=None),
                       DIFFERENT_PEOPLE["child in the household"]], index=["x", "y", "z"])
    df["birth_date"] = pd.to_datetime(df["birth_date"], format="%d/%m/%Y")
    labels = cluster_persons(df)
    assert list(labels.index) == ["x", "y", "z"]
    assert labels.tolist() == [0, 0, 2]


@pytest.mark.parametrize("drop", [
    [], ["id_number"], ["phone", "address"], ["birth_date"], ["full_name"],
    ["gender", "commune_code", "address", "phone", "id_number"],
    list(FIELDS),
])
def test_missing_columns(drop: list[str]) -> None:
    df = pd.concat([background(30), pd.DataFrame([BASE, BASE])], ignore_index=True)
    df = df.drop(columns=drop)
    labels = cluster_persons(df)
    assert len(labels) == len(df) and labels.index.equals(df.index)
    if len(drop) < 3 and "full_name" not in drop:
        assert labels.iloc[-1] == labels.iloc[-2]


def test_all_missing_values_and_empty_table() -> None:
    df = pd.DataFrame({c: [None, None, np.nan] for c in FIELDS})
    assert cluster_persons(df).tolist() == [0, 1, 2]
    empty = pd.DataFrame(columns=list(FIELDS))
    assert cluster_persons(empty).empty


def test_not_a_dataframe() -> None:
    with pytest.raises(TypeError, match="must be a DataFrame"):
        cluster_persons([BASE])  # type: ignore[arg-type]


def test_input_not_mutated() -> None:
    from vaxreport.linkage import survivors

    df = pd.concat([background(20), pd.DataFrame([BASE, SAME_PERSON["typo in given name, "
                                                                   "same ID"]])])
    before = df.copy()
    cluster_persons(df)
    survivors(df, cluster_persons(df))
    pd.testing.assert_frame_equal(df, before)


def test_chain_between_two_valid_ids_is_split() -> None:
    a = variant(id_number="019085001234")
    b = variant(id_number=None, phone=None, full_name="Nguyen Van Hung")
    c = variant(id_number="019085987654", phone=None, address=None)
    labels = cluster_persons(pd.concat([background(), pd.DataFrame([a, b, c])],
                                       ignore_index=True))
    assert labels.iloc[-3] != labels.iloc[-1]


def test_twins_sharing_an_address_stay_apart() -> None:
    """Household evidence from a shared address (different phones): twins are two people, one
    person registered twice at that address is one."""
    home = {"commune_code": "05443", "address": "Số 12, tổ 3, phường Tân Lập",
            "birth_date": "05/07/2012", "id_number": None}
    twin_a = {**home, "full_name": "Nguyễn Văn Dũng", "phone": "0912345001", "gender": "M"}
    twin_b = {**home, "full_name": "Nguyễn Văn Tuấn", "phone": "0386420917", "gender": "M"}
    again = {**twin_a, "full_name": "Nguyen Van Dung", "phone": "0977153268"}
    df = pd.concat([background(), pd.DataFrame([twin_a, twin_b, again])], ignore_index=True)
    labels = cluster_persons(df)
    assert labels.iloc[-3] != labels.iloc[-2]
    assert labels.iloc[-3] == labels.iloc[-1]


def test_legacy_encoded_name_matches_unicode() -> None:
    from vaxreport.text import encode_legacy

    tcvn3 = variant(full_name=encode_legacy("Nguyễn Văn Hùng", "tcvn3"), phone="0387654321")
    vni = variant(full_name=encode_legacy("Nguyễn Văn Hùng", "vni"), id_number=None)
    assert same(BASE, tcvn3) and same(BASE, vni)


def _partition(labels: pd.Series) -> set[frozenset]:
    return {frozenset(g.index) for _, g in labels.groupby(labels)}


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(persons_strategy, st.randoms(use_true_random=False))
def test_partition_invariants(rows: list[dict], rnd) -> None:
    df = pd.DataFrame(rows, index=[f"r{k}" for k in range(len(rows))])
    labels = cluster_persons(df)
    # aligned, deterministic labels: the smallest row position of each cluster
    assert labels.index.equals(df.index)
    assert labels.nunique() <= len(df)
    pos = pd.Series(np.arange(len(df)), index=df.index)
    assert (pos.groupby(labels).min() == pos.groupby(labels).min().index).all()
    # a permutation of the rows gives the same partition
    order = list(df.index)
    rnd.shuffle(order)
    assert _partition(cluster_persons(df.loc[order])) == _partition(labels)


def test_connected_components_label_is_smallest_row() -> None:
    labels = connected_components(7, np.array([6, 2, 4, 5]), np.array([5, 4, 3, 1]))
    assert labels.tolist() == [0, 1, 2, 2, 2, 1, 1]
    assert connected_components(3, np.empty(0, np.int64), np.empty(0, np.int64)).tolist() == [0, 1, 2]


def test_link_persons_links_are_the_clusters() -> None:
    df = pd.concat([background(), pd.DataFrame([BASE, SAME_PERSON["no diacritics, new phone"]])],
                   ignore_index=True)
    res = link_persons(df, None)
    assert (res.weight >= res.threshold).all()
    assert (res.labels[res.a] == res.labels[res.b]).all()
    assert res.labels.tolist() == cluster_persons(df).tolist()


def _links(res, index: pd.Index) -> set[frozenset]:
    return {frozenset((index[x], index[y])) for x, y in zip(res.a.tolist(), res.b.tolist())}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_model_and_the_links_do_not_depend_on_row_order(seed: int) -> None:
    """Bit for bit: the EM sums, the threshold and every accepted link are those of one
    canonical order (a float sum in another order differs in its last bits, which decides a
    pair lying on the threshold at scale)."""
    df = pd.concat([background(400, seed=seed), pd.DataFrame([BASE, *SAME_PERSON.values()])], ignore_index=True)
    df.index = [f"r{k}" for k in range(len(df))]
    df["person_ref"] = [f"{1000 + k}" for k in range(len(df))]
    shuffled = df.sample(frac=1.0, random_state=seed)
    one, other = link_persons(df, None), link_persons(shuffled, None)
    assert other.threshold == one.threshold
    assert other.model.m == one.model.m and other.model.hh_u == one.model.hh_u
    assert _links(other, shuffled.index) == _links(one, df.index)
    lab = pd.Series(one.labels, index=df.index)
    assert _partition(pd.Series(other.labels, index=shuffled.index)) == _partition(lab)
    # without person codes the records are ordered by their content
    df2, sh2 = df.drop(columns="person_ref"), shuffled.drop(columns="person_ref")
    assert link_persons(sh2, None).threshold == link_persons(df2, None).threshold


def test_canonical_order_sorts_by_person_code_then_content() -> None:
    df = pd.DataFrame({"person_ref": ["20", "3", "20", None], "full_name": ["B", "A", "A", "C"]})
    order = canonical_order(df)
    assert df["person_ref"].iloc[order].tolist()[:3] == ["3", "20", "20"]
    assert pd.isna(df["person_ref"].iloc[order[3]])
    back = df.iloc[::-1]
    assert back.iloc[canonical_order(back)].equals(df.iloc[order])
