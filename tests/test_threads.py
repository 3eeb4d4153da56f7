"""Tests of ``vaxreport.linkage.threads`` as the linkage uses them: labels, candidate pairs and
scores do not depend on the number of threads or of score blocks; one CPU runs serially."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from linkage_cases import workers_table

from vaxreport.linkage import BLOCKING_RULES, cluster_persons, threads
from vaxreport.linkage import score as score_module
from vaxreport.linkage.blocking import block_candidates
from vaxreport.linkage.model import estimate_u
from vaxreport.linkage.prepare import prepare_fields
from vaxreport.linkage.score import score_candidates


def test_labels_do_not_depend_on_workers_or_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    df = workers_table()
    serial = cluster_persons(df, workers=1)
    assert serial.nunique() < len(df) - 50  # many merges, so the comparison means something
    prep = prepare_fields(df)
    model = estimate_u(prep)
    a, b = block_candidates(prep, BLOCKING_RULES, unique=False)
    one = score_candidates(prep, model, a, b, threshold=10.0)
    pools = []

    class Pool(threads.ThreadPoolExecutor):
        def __init__(self, *args: object, **kwargs: object) -> None:
            pools.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(threads, "ThreadPoolExecutor", Pool)
    monkeypatch.setattr(score_module, "SCORE_BLOCK_PAIRS", 7)  # many blocks, a short last one
    assert a.size % 7 and a.size > 70
    a2, b2 = block_candidates(prep, BLOCKING_RULES, unique=False, workers=2)
    np.testing.assert_array_equal(a2, a)
    np.testing.assert_array_equal(b2, b)
    many = score_candidates(prep, model, a, b, threshold=10.0, workers=2)
    for x, y in zip((one[0], one[1], one[4]), (many[0], many[1], many[4])):
        np.testing.assert_array_equal(x, y)
    for levels_or_weights in (2, 3):
        assert list(one[levels_or_weights]) == list(many[levels_or_weights])
        for k, v in one[levels_or_weights].items():
            np.testing.assert_array_equal(v, many[levels_or_weights][k])
    pools.clear()
    pd.testing.assert_series_equal(cluster_persons(df, workers=2), serial)
    assert pools  # the threads did run


def test_one_cpu_runs_serially(monkeypatch: pytest.MonkeyPatch) -> None:
    df = workers_table()
    expected = cluster_persons(df, workers=1)

    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("no thread pool on a 1-CPU machine")

    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {0}, raising=False)
    monkeypatch.setattr(threads, "ThreadPoolExecutor", no_pool)
    monkeypatch.setattr(score_module, "SCORE_BLOCK_PAIRS", 7)
    assert threads.worker_count(None) == 1
    pd.testing.assert_series_equal(cluster_persons(df), expected)
