"""Array helpers of the dose reconciliation (``vaxreport.linkage.dose_arrays``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from vaxreport.linkage import dose_arrays as da


def test_epoch_days_and_ages_with_missing_dates():
    days = da.epoch_days(pd.Series(pd.to_datetime(["2000-02-29", None, "2021-02-28"])))
    assert days[1] == da.NAT
    assert da.age_years(days[[0, 0, 1]], days[[2, 0, 2]]).tolist() == [20, 0, -1]
    assert da.civil_key(days[[0]]).tolist() == [20000229]


def test_group_helpers():
    assert da.group_start(np.array([True, False, False, True, False])).tolist() == [0, 0, 0, 3, 3]
    assert da.int_codes(pd.Series(["a", None, "a", None])).tolist() == [0, 1, 0, 1]


@st.composite
def sort_keys(draw: st.DrawFn) -> tuple[list[np.ndarray], pd.Series, np.ndarray]:
    n = draw(st.integers(0, 40))
    small = st.lists(st.integers(0, 3), min_size=n, max_size=n)
    keys = [np.array(draw(small), dtype=np.int64) for _ in range(draw(st.integers(1, 4)))]
    # a missing date sorts after every real one
    keys[-1] = np.where(np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), bool),
                        da.NAT, keys[-1]) if n else keys[-1]
    rid = pd.Series(draw(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=n, max_size=n)),
                    dtype="string")
    hint = np.array(draw(st.permutations(list(range(n)))), dtype=np.int64)
    return keys, rid, hint


@settings(max_examples=60, deadline=None)
@given(sort_keys(), st.integers(1, 4))
def test_sort_by_packed_major_keys_and_hint_equals_full_lexsort(case, major: int):
    keys, rid, hint = case
    plain = da.sort_with_record_tiebreak(keys, rid)
    fast = da.sort_with_record_tiebreak(keys, rid, major=major, hint=hint)
    assert fast.tolist() == plain.tolist()
