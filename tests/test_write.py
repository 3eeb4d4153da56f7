"""Tests of vaxreport.io.write: byte-reproducible, atomic writers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from vaxreport import io


def test_write_parquet_is_byte_reproducible_and_private(tmp_path: Path) -> None:
    df = pd.DataFrame({"id": ["019", None], "n": pd.array([1, None], dtype="Int64"),
                       "d": pd.to_datetime(["2022-05-01", None])})
    a = io.write_parquet(df, tmp_path / "a.parquet", private=True)
    b = io.write_parquet(df, tmp_path / "sub" / "b.parquet")
    assert a.read_bytes() == b.read_bytes()
    assert a.stat().st_mode & 0o777 == 0o600
    assert b.stat().st_mode & 0o777 == 0o644
    pd.testing.assert_frame_equal(pd.read_parquet(a), df)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_write_json_sorted_utf8_atomic(tmp_path: Path) -> None:
    import datetime as dt

    import numpy as np
    p = io.write_json({"z": np.int64(3), "a": [dt.date(2022, 6, 1), "Sở Y tế"]}, tmp_path / "m.json")
    assert p.read_text(encoding="utf-8") == (
        '{\n  "a": [\n    "2022-06-01",\n    "Sở Y tế"\n  ],\n  "z": 3\n}\n')


def test_parquet_bytes_do_not_depend_on_how_the_columns_are_chunked(tmp_path):
    """A frame concatenated from partitions holds its columns in other chunks than one built at
    once; the Parquet writer's pages follow the chunks (here: the dictionary falls back to plain
    at another row), so ``write_parquet`` writes each column as one chunk."""
    import pyarrow as pa

    rng = np.random.default_rng(0)
    values = [f"name {x} xyz" for x in rng.integers(0, 10**5, 300_000)]
    cuts = [0, 34_337, 85_141, 95_892, 213_689, 275_802, 300_000]  # where pages differ
    one = pa.chunked_array([pa.array(values, pa.large_string())])
    many = pa.chunked_array([pa.array(values[a:b], pa.large_string()) for a, b in zip(cuts[:-1], cuts[1:])])
    frames = [pd.DataFrame({"x": pd.Series(pd.arrays.ArrowStringArray(col))}) for col in (one, many)]
    assert frames[1]["x"].array._pa_array.num_chunks == 6
    a, b = (io.write_parquet(f, tmp_path / f"{i}.parquet").read_bytes() for i, f in enumerate(frames))
    assert a == b
