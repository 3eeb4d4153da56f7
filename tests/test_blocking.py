"""Tests of ``vaxreport.linkage.blocking``: candidate pairs are never a cross product, a block
over its cap pairs neighbours only, the union of the rules is sorted and without repeats."""

from __future__ import annotations

import numpy as np
import pandas as pd
from linkage_cases import BASE, SAME_PERSON, background

from vaxreport.linkage import BLOCKING_RULES, candidate_pairs
from vaxreport.linkage.blocking import (
    block_candidates,
    block_pair_counts,
    block_pairs,
    blocks_pairs,
    combine_keys,
    name_date_rank,
    rule_chunks,
    sorted_blocks,
)
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


def _keys(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Block keys with blocks of 1 to 40 rows and missing keys, and a shuffled neighbour rank."""
    rng = np.random.default_rng(seed)
    key = rng.integers(-1, 60, 900) * (rng.random(900) < 0.5) + rng.integers(0, 3, 900) * 100
    key = np.where(rng.random(900) < 0.1, -1, key)
    return key, rng.permutation(900)


def test_blocks_pairs_of_all_blocks_are_block_pairs_in_order() -> None:
    for seed in range(3):
        key, rank = _keys(seed)
        for cap, window in ((20, 5), (3, 2), (1, 0)):
            order, starts, sizes = sorted_blocks(key, rank)
            a, b = blocks_pairs(order, starts, sizes, cap, window)
            ra, rb = block_pairs(key, rank, cap, window)
            np.testing.assert_array_equal(a, ra)
            np.testing.assert_array_equal(b, rb)
            assert int(block_pair_counts(sizes, cap, window).sum()) == a.size


def test_rule_chunks_give_the_rule_pairs_a_few_blocks_at_a_time() -> None:
    df = pd.concat([background(300, seed=5), pd.DataFrame([BASE, *SAME_PERSON.values()])], ignore_index=True)
    df["full_name"] = df["full_name"].where(df.index % 3 > 0, "Nguyễn Văn An")  # one block over its cap
    prep = prepare_fields(df)
    rank = name_date_rank(prep)
    for name, rule in BLOCKING_RULES.items():
        a, b = block_pairs(combine_keys(prep, rule[0]), rank, rule[1], rule[2])
        want = sorted(zip(np.minimum(a, b).tolist(), np.maximum(a, b).tolist()))
        chunks = list(rule_chunks(prep, rule, rank, max_pairs=7))
        got = sorted(p for ca, cb in chunks for p in zip(ca.tolist(), cb.tolist()))
        assert got == want, name
        assert all((ca < cb).all() for ca, cb in chunks)
        if len(want) > 40:  # cut into chunks of whole blocks: each a few times max_pairs at most
            assert len(chunks) > 1, name
