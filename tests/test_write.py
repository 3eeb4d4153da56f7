"""Tests of vaxreport.io.write: byte-reproducible, atomic writers."""

from __future__ import annotations

from pathlib import Path

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
