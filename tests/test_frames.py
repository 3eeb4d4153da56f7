"""frames.positions agrees with pandas' index lookup (first occurrence, -1 when absent)."""

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from vaxreport.frames import positions

values = st.one_of(st.none(), st.text(alphabet="ab0Đđ ", max_size=3))


@given(st.lists(values, max_size=30), st.lists(values, max_size=30), st.sampled_from([0.0, 0.25, 10.0]))
def test_positions_match_first_occurrence(keys, wanted, small_share):
    # small_share 10: always the few-wanted scan of the keys; 0: always the hash of every key
    got = positions(pd.Series(keys, dtype="string"), pd.Series(wanted, dtype="string"), small_share=small_share)
    first = {}
    for i, k in enumerate(keys):
        if k is not None:
            first.setdefault(k, i)
    assert got.tolist() == [first.get(w, -1) if w is not None else -1 for w in wanted]
    assert got.dtype == np.int64


def test_positions_on_numbers_compare_as_text():
    assert positions(pd.Series(["019", "19"]), pd.Series([19])).tolist() == [1]
