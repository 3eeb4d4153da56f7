"""Tests of ``vaxreport.linkage.blocking``: candidate pairs are never a cross product, a block
over its cap pairs neighbours only, the union of the rules is sorted and without repeats."""

from __future__ import annotations

import numpy as np
import pandas as pd
from linkage_cases import BASE, SAME_PERSON, background

from vaxreport.linkage import BLOCKING_RULES, candidate_pairs
from vaxreport.linkage.blocking import block_candidates, block_pairs, combine_keys, name_date_rank
from vaxreport.linkage.prepare import prepare_fields


def test_huge_block_is_not_a_cross_product() -> None:
    n = 600
    df = pd.DataFrame({"full_name": ["Nguyễn Văn An"] * n,
                       "birth_date": [f"{1 + k % 28:02d}/{1 + k % 12:02d}/1990" for k in range(n)],
                       "phone": ["0900000001"] * n})
    pairs = candidate_pairs(df)
    assert len(pairs) < n * (n - 1) / 2 / 5
    assert (pairs["a"] < pairs["b"]).all()


def test_block_over_its_cap_pairs_window_neighbours() -> None:
    key = np.array([0] * 6 + [1] * 3 + [-1])
    a, b = block_pairs(key, np.arange(10), cap=3, window=2)
    got = sorted(zip(a.tolist(), b.tolist()))
    big = [(i, j) for i in range(6) for j in range(i + 1, min(i + 3, 6))]
    small = [(6, 7), (6, 8), (7, 8)]
    assert got == sorted(big + small)


def test_union_of_rules_is_sorted_without_repeats() -> None:
    df = pd.concat([background(), pd.DataFrame([BASE, *SAME_PERSON.values()])], ignore_index=True)
    prep = prepare_fields(df)
    lo, hi = block_candidates(prep, BLOCKING_RULES, unique=False)
    a, b = block_candidates(prep, BLOCKING_RULES)
    code = a * prep.n + b
    assert (np.diff(code) > 0).all() and (a < b).all()
    assert set(code.tolist()) == set((lo * prep.n + hi).tolist())
    rank = name_date_rank(prep)
    per_rule = set()
    for fields, cap, window in BLOCKING_RULES.values():
        x, y = block_pairs(combine_keys(prep, fields), rank, cap, window)
        per_rule |= set((np.minimum(x, y) * prep.n + np.maximum(x, y)).tolist())
    assert per_rule == set(code.tolist())
    pd.testing.assert_frame_equal(candidate_pairs(df), pd.DataFrame({"a": a, "b": b}))
    # the labelled same-person records all meet the base record in some block
    base = len(background())
    assert {base} | {base + 1 + k for k in range(len(SAME_PERSON))} <= set(a.tolist()) | set(b.tolist())
