"""frames.positions agrees with pandas' index lookup (first occurrence, -1 when absent)."""

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from vaxreport.frames import categorize, plain, positions

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


@given(st.lists(values, max_size=30), st.sampled_from(["string", "str", "object"]))
def test_categorize_round_trips_and_orders_like_the_text(texts, dtype):
    df = pd.DataFrame({"t": pd.Series(texts, dtype=dtype), "n": range(len(texts))})
    before = df.copy()
    out = categorize(df, ["t", "absent"])
    assert df.equals(before)  # the argument is not modified
    assert isinstance(out["t"].dtype, pd.CategoricalDtype)
    assert out["t"].cat.categories.tolist() == sorted({t for t in texts if t is not None})
    assert out["n"].equals(df["n"])
    back = plain(out)
    assert back.equals(df) and back.dtypes.equals(df.dtypes)
    if texts:  # grouping by the codes gives the groups of the text, in the same order
        assert out.groupby("t")["n"].sum().index.tolist() == df.groupby("t")["n"].sum().index.tolist()


def test_categorize_leaves_categoricals_and_plain_leaves_text():
    df = pd.DataFrame({"t": pd.Series(["b", "a"], dtype="category"), "u": ["x", "y"]})
    assert categorize(df, ["t"]) is df
    assert plain(df, ["u"]) is df
    assert plain(df)["t"].tolist() == ["b", "a"]
