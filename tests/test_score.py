"""Tests of ``vaxreport.linkage.score``: named levels, and the progressive filter keeps exactly
the pairs (and totals) of the full computation that reach the threshold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from linkage_cases import BASE, SAME_PERSON, workers_table

from vaxreport.linkage import BLOCKING_RULES, score_pairs
from vaxreport.linkage.blocking import block_candidates
from vaxreport.linkage.model import estimate_u
from vaxreport.linkage.prepare import prepare_fields
from vaxreport.linkage.score import score_blocked, score_candidates


def test_score_pairs_levels_are_named() -> None:
    df = pd.DataFrame([BASE, SAME_PERSON["no diacritics, new phone"]])
    s = score_pairs(df)
    assert s.loc[0, "given_level"] == "exact" and s.loc[0, "phone_level"] == "different"
    assert s.loc[0, "weight"] == pytest.approx(s.filter(like="_w").sum(axis=1)[0])


def test_progressive_filter_is_exact() -> None:
    prep = prepare_fields(workers_table())
    model = estimate_u(prep)
    a, b = block_candidates(prep, BLOCKING_RULES)
    fa, fb, _, fw, ftotal = score_candidates(prep, model, a, b)
    ka, kb, _, kw, ktotal = score_candidates(prep, model, a, b, threshold=10.0)
    keep = ftotal >= 10.0 - 1e-9
    assert 0 < keep.sum() < len(fa)
    np.testing.assert_array_equal(ka, fa[keep])
    np.testing.assert_array_equal(kb, fb[keep])
    np.testing.assert_allclose(ktotal, ftotal[keep])
    for comp, w in kw.items():
        np.testing.assert_allclose(w, fw[comp][keep])


def test_score_blocked_keeps_what_scoring_all_candidates_keeps(monkeypatch: pytest.MonkeyPatch) -> None:
    from vaxreport.linkage import blocking

    monkeypatch.setattr(blocking, "CHUNK_PAIRS", 50)  # many chunks per rule
    prep = prepare_fields(workers_table())
    model = estimate_u(prep)
    a, b = block_candidates(prep, BLOCKING_RULES, unique=False)
    ka, kb, klv, _, ktotal = score_candidates(prep, model, a, b, threshold=5.0)
    for workers in (1, 2):
        sa, sb, slv, stotal = score_blocked(prep, model, BLOCKING_RULES, 5.0, workers=workers)
        want = pd.DataFrame({"a": ka, "b": kb, "total": ktotal, **klv}).drop_duplicates()
        got = pd.DataFrame({"a": sa, "b": sb, "total": stotal, **slv}).drop_duplicates()
        assert 0 < len(got) < len(a)
        key = ["a", "b"]
        pd.testing.assert_frame_equal(got.sort_values(key).reset_index(drop=True),
                                      want.sort_values(key).reset_index(drop=True))
