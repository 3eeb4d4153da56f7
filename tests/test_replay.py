"""Last month's linkage decisions replayed on the unchanged records (``vaxreport.linkage.replay``).

Model drift is constructed with the threshold: a borderline pair (≈ 17 bits) is merged at 15
bits and left apart at 20, so a month linked at 15 and the next at 20 (or the reverse) would
split (or merge) a person although none of their records changed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vaxreport.linkage.carry import carry_ids
from vaxreport.linkage.cluster import link_persons
from vaxreport.linkage.persons import person_ids
from vaxreport.linkage.replay import (
    CARRIED_BITS,
    Prior,
    carried_links,
    change_causes,
    changed_codes,
    record_digests,
)

LOW, HIGH = 15.0, 20.0  # thresholds on either side of the borderline pair "3"–"4"


def _persons() -> pd.DataFrame:
    """"1"/"2" one person (strong), "3"/"4" borderline (swapped day and month, no diacritics),
    "5" and "6" two others."""
    return pd.DataFrame({
        "person_ref": ["1", "2", "3", "4", "5", "6"],
        "full_name": ["Nguyễn Văn An", "Nguyen Van An", "Trần Thị Bình", "Tran Thi Binh", "Lê Văn Cường",
                      "Phạm Thị Dung"],
        "birth_date": ["1990-03-12", "1990-03-12", "1985-07-04", "1985-04-07", "1970-01-01", "1960-02-02"],
        "gender": ["M", "M", "F", "F", "M", "F"],
        "commune_code": ["05443", "05443", "05444", "05445", "05446", "05447"],
        "phone": [None, None, None, None, "0912345678", None],
    })


def _month(persons: pd.DataFrame, threshold: float, prior: Prior | None = None,
           decisions: pd.DataFrame | None = None) -> pd.DataFrame:
    """``person_ref, person_id, digest`` of a month linked at ``threshold``."""
    res = link_persons(persons, threshold, decisions=decisions, prior=prior)
    ids = person_ids(persons, pd.Series(res.labels, index=persons.index))
    digests = record_digests(persons).reindex(persons["person_ref"]).to_numpy()
    return pd.DataFrame({"person_ref": persons["person_ref"].to_numpy(), "person_id": ids.to_numpy(),
                         "digest": digests})


def _prior(persons: pd.DataFrame, last: pd.DataFrame) -> Prior:
    return Prior.of(persons["person_ref"], record_digests(persons).reindex(persons["person_ref"]).to_numpy(), last)


def _groups(month: pd.DataFrame) -> list[list[str]]:
    return sorted(sorted(g) for g in month.groupby("person_id")["person_ref"].agg(list))


def test_digest_ignores_row_order_and_repeats_and_sees_every_field_and_dtype() -> None:
    rows = _persons().assign(birth_date=lambda d: pd.to_datetime(d["birth_date"]))
    d = record_digests(rows)
    twice = pd.concat([rows, rows.iloc[::-1]], ignore_index=True)
    assert record_digests(twice).reindex(d.index).tolist() == d.tolist()
    # datetime unit and categorical text do not matter, the values do
    other = rows.assign(birth_date=rows["birth_date"].astype("datetime64[s]"), gender=rows["gender"].astype("category"))
    assert record_digests(other).tolist() == d.tolist()
    for col in ("full_name", "birth_date", "gender", "commune_code", "phone"):
        changed = rows.copy()
        changed.loc[2, col] = changed.loc[0, col] if col != "phone" else "0900000000"
        assert (record_digests(changed) != d).tolist() == [False, False, True, False, False, False], col
    # a record with a second content (a row with a typo) is another content
    extra = pd.concat([rows, rows.iloc[[0]].assign(full_name="Nguyễn Văn Ân")], ignore_index=True)
    assert (record_digests(extra) != d).tolist() == [True] + [False] * 5


def test_digests_do_not_depend_on_the_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows are digested a chunk at a time: a content met in two chunks counts once."""
    from vaxreport.linkage import replay

    rows = pd.concat([_persons()] * 3 + [_persons().assign(full_name="X")], ignore_index=True)
    whole = record_digests(rows)
    monkeypatch.setattr(replay, "DIGEST_CHUNK_ROWS", 4)
    assert record_digests(rows).equals(whole)
    table = replay.record_table([rows.assign(person_id=7).iloc[:5], rows.assign(person_id=np.arange(24)).iloc[5:]])
    assert table["digest"].tolist() == whole.tolist()
    assert table["person_id"].tolist() == [6, 7, 7, 7, 7, 5]  # "1": rows 0 (7), 6, 12, 18; "6": rows 5, 11 …


def test_prior_tells_unchanged_changed_new_and_intact_records() -> None:
    last = pd.DataFrame({"person_ref": ["a", "b", "c", "d", "e"], "person_id": [1, 1, 2, 2, 3],
                         "digest": np.array([10, 11, 12, 13, 14], np.uint64)})
    refs = pd.Series(["e", "a", "b", "c", "d", "f"])
    prior = Prior.of(refs, np.array([14, 10, 11, 99, 13, 15], np.uint64), last)
    assert prior.cluster.tolist() == [3, 1, 1, -1, 2, -1]  # c changed, f new
    assert prior.intact.tolist() == [True, True, True, False, False, False]  # person 2 holds c
    gone = Prior.of(refs.iloc[1:], np.array([10, 11, 12, 13, 15], np.uint64), last)  # e is no longer there
    assert gone.intact.tolist() == [True, True, True, True, False]
    assert changed_codes(refs, prior, last).tolist() == ["c", "f"]
    assert changed_codes(refs.iloc[1:], gone, last).tolist() == ["f", "e"]


def test_carried_links_drop_links_across_last_months_persons_and_keep_intact_ones_whole() -> None:
    prior = Prior(cluster=np.array([5, 5, 5, 6, -1, 6]), intact=np.array([True, True, True, False, False, False]))
    keep, sa, sb, out = carried_links(prior, np.array([0, 2, 3, 1]), np.array([3, 4, 5, 2]))
    assert keep.tolist() == [False, True, True, True]  # 0–3: two persons of last month
    assert (sa.tolist(), sb.tolist()) == ([0, 0], [1, 2])
    assert (out.records, out.unchanged, out.dropped, out.kept_whole) == (6, 5, 1, 1)


@pytest.mark.parametrize(("first", "then"), [(LOW, HIGH), (HIGH, LOW)])
def test_unchanged_borderline_person_keeps_last_months_outcome_when_the_model_drifts(first: float,
                                                                                     then: float) -> None:
    persons = _persons()
    may = _month(persons, first)
    together = first == LOW
    assert (["3", "4"] in _groups(may)) is together
    assert (["3", "4"] in _groups(_month(persons, then))) is not together  # afresh, the pair flips
    june = _month(persons, then, _prior(persons, may))
    assert _groups(june) == _groups(may)
    carried = carry_ids(persons["person_ref"], june["person_id"], may)
    assert carried.ids.tolist() == may["person_id"].tolist() and carried.changes.empty


def test_new_duplicate_is_merged_and_corrected_record_splits_and_both_are_real_changes() -> None:
    persons = _persons()
    may = _month(persons, LOW)
    june_persons = pd.concat([persons, pd.DataFrame({  # "7": person "5" registered again
        "person_ref": ["7"], "full_name": ["Le Van Cuong"], "birth_date": ["1970-01-01"], "gender": ["M"],
        "commune_code": ["05446"], "phone": ["0912345678"]})], ignore_index=True)
    # "2" corrected on the platform: it was another person's record typed under An's name
    june_persons.loc[1, ["full_name", "birth_date", "commune_code"]] = ["Hoàng Văn Em", "2001-11-30", "05448"]
    june = _month(june_persons, HIGH, _prior(june_persons, may))
    assert _groups(june) == [["1"], ["2"], ["3", "4"], ["5", "7"], ["6"]]  # 3–4 kept despite the drift
    carried = carry_ids(june_persons["person_ref"], june["person_id"], may)
    assert carried.changes["why"].tolist() == ["split"]
    changed = changed_codes(june_persons["person_ref"], _prior(june_persons, may), may)
    assert changed.tolist() == ["2", "7"]
    now = pd.DataFrame({"person_ref": june_persons["person_ref"], "person_id": carried.ids})
    assert change_causes(carried.changes, may, now, changed).tolist() == ["changed_record"]
    assert change_causes(carried.changes, may, now, pd.Index([])).tolist() == [""]


def test_review_decisions_beat_carried_ones() -> None:
    persons = _persons()
    may = _month(persons, LOW)  # 3–4 together, 5 and 6 apart
    decisions = pd.DataFrame({"person_a": ["3", "5"], "person_b": ["4", "6"], "decision": ["different", "same"]})
    res = link_persons(persons, LOW, decisions=decisions, prior=_prior(persons, may))
    groups = sorted(sorted(persons["person_ref"][res.labels == lab].tolist()) for lab in np.unique(res.labels))
    assert groups == [["1", "2"], ["3"], ["4"], ["5", "6"]]
    assert (res.review.split, res.review.joined) == (1, 1)


def test_a_different_decision_cuts_fresh_links_before_carried_ones() -> None:
    """"8" (new) links to both "1" and "2" (last month's person, kept whole); a ``different``
    decision between "8" and "1" cuts 8's fresh links, not the carried one."""
    persons = _persons()
    may = _month(persons, LOW)
    june_persons = pd.concat([persons, persons.iloc[[0]].assign(person_ref="8")], ignore_index=True)
    decisions = pd.DataFrame({"person_a": ["8"], "person_b": ["1"], "decision": ["different"]})
    res = link_persons(june_persons, LOW, decisions=decisions, prior=_prior(june_persons, may))
    assert res.labels[0] == res.labels[1] != res.labels[6]
    assert CARRIED_BITS in res.weight.tolist()
    afresh = link_persons(june_persons, LOW, decisions=decisions)
    assert afresh.labels[0] != afresh.labels[6]
