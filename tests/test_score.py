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
from vaxreport.linkage.score import score_candidates


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
