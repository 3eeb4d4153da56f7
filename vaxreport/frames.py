"""Whole-column helpers shared by the pipeline steps (no Python loops over rows)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def positions(keys: pd.Series, wanted: pd.Series) -> np.ndarray:
    """Position in ``keys`` of each value of ``wanted`` (-1 where absent; the first if repeated).

    Arrow's hash lookup, as strings: no uniqueness check on ``keys`` and no object copy of a
    3-million-row index, unlike ``pd.Index(keys).get_indexer(wanted)``.

    >>> positions(pd.Series(["a", None, "b", "c"]), pd.Series(["c", "x", None, "a", 2])).tolist()
    [3, -1, -1, 0, -1]
    """
    def strings(s: pd.Series) -> pa.Array:
        arr = pa.array(s.astype("string[pyarrow]").array)
        arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
        return arr.cast(pa.large_string())

    pos = pc.index_in(strings(wanted), value_set=strings(keys), skip_nulls=True)
    pos = pos.to_numpy(zero_copy_only=False)
    return np.where(np.isnan(pos), -1, np.nan_to_num(pos)).astype(np.int64)
