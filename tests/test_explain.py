"""Tests of ``vaxreport.linkage.explain``: pair explanations agree with the decision, survivor
records (best value per field, idempotent, equal to a plain per-cluster reference), the merge
audit."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from linkage_cases import BASE, DIFFERENT_PEOPLE, SAME_PERSON, background, mixed_table, persons_strategy, variant

from vaxreport.linkage import (
    FIELDS,
    MERGE_ODDS_BITS,
    cluster_persons,
    default_threshold,
    explain_pair,
    merge_audit,
    survivors,
)
from vaxreport.text import fold


def test_explain_pair_matches_decision() -> None:
    b = SAME_PERSON["swapped day/month, no ID"]
    e = explain_pair(BASE, b)
    assert e.table["weight"].sum() == pytest.approx(e.total)
    levels = e.table.set_index("comparison")["level"]
    assert levels["birth_date"].startswith("day_month_swapped")
    assert e.is_match == (e.total >= e.threshold)
    assert "bits" in str(e)
    ref = background()
    e2 = explain_pair(pd.Series(BASE), pd.Series(DIFFERENT_PEOPLE["twin brother"]), persons=ref)
    assert not e2.is_match


def test_explain_pair_uses_the_tables_model() -> None:
    df = pd.concat([background(), pd.DataFrame([BASE, SAME_PERSON["no diacritics, new phone"]])],
                   ignore_index=True)
    labels = cluster_persons(df)
    e = explain_pair(df.iloc[-2], df.iloc[-1], persons=df.iloc[:-2])
    assert e.is_match == bool(labels.iloc[-1] == labels.iloc[-2])
    assert e.threshold == pytest.approx(default_threshold(len(df) - 2, 0.01) + MERGE_ODDS_BITS, abs=3)


def test_two_real_given_names_are_another_name() -> None:
    twin = DIFFERENT_PEOPLE["twin brother"]
    e = explain_pair(BASE, twin, persons=background())
    given = e.table.set_index("comparison").loc["given"]
    assert given["level"].startswith("another_name") and given["weight"] < -5
    typo = explain_pair(BASE, SAME_PERSON["typo in given name, same ID"], persons=background())
    assert typo.table.set_index("comparison").loc["given", "level"].startswith("typo")


def test_survivors_pick_best_values() -> None:
    df = pd.DataFrame([variant(full_name="Nguyen Van Hung", id_number="19085001234"),
                       variant(phone=None), variant(id_number="019085001234")])
    s = survivors(df, pd.Series([0, 0, 0]))
    assert s.loc[0, "full_name"] == "Nguyễn Văn Hùng"
    assert s.loc[0, "id_number"] == "019085001234"
    assert s.loc[0, "phone"] == "0912345678"
    assert int(s.loc[0, "n_records"]) == 3


def test_merge_audit_lists_every_merged_record() -> None:
    df = pd.concat([background(), pd.DataFrame([BASE, SAME_PERSON["no diacritics, new phone"],
                                                SAME_PERSON["typo in given name, same ID"]])],
                   ignore_index=True)
    labels = cluster_persons(df)
    audit = merge_audit(df, labels)
    assert len(audit) == len(df) - labels.nunique()
    assert set(audit["record"]) >= {len(df) - 2, len(df) - 1}
    assert (audit["score"] > 0).all()


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(persons_strategy)
def test_survivors_idempotent(rows: list[dict]) -> None:
    df = pd.DataFrame(rows)
    labels = cluster_persons(df)
    surv = survivors(df, labels)
    assert len(surv) == labels.nunique() and int(surv["n_records"].sum()) == len(df)
    table = surv.drop(columns="n_records").reset_index(drop=True)
    again = survivors(table, pd.Series(np.arange(len(table))))
    pd.testing.assert_frame_equal(again.drop(columns="n_records").reset_index(drop=True),
                                  table, check_dtype=False)


def _reference_survivors(persons: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """The survivor rule stated cluster by cluster in plain Python (what ``survivors`` computed
    on every cluster before single records got their fast path)."""
    groups: dict = {}
    for pos, lab in enumerate(np.asarray(labels).tolist()):
        groups.setdefault(lab, []).append(pos)
    cols = [c for c in persons.columns if c in FIELDS]
    table: dict[str, list] = {c: [] for c in cols}
    for lab in sorted(groups):
        for col in cols:
            is_dt = pd.api.types.is_datetime64_any_dtype(persons[col].dtype)
            vals = [persons[col].iloc[p] for p in groups[lab]]
            vals = [v if is_dt else str(v).strip() for v in vals if not pd.isna(v)]
            vals = [v for v in vals if is_dt or v != ""]
            count = Counter(vals)
            if col == "full_name":
                folded = Counter(fold(v) for v in vals)
                def rank(v):
                    f = fold(v)
                    return (-(f != v.lower()), -folded[f], -count[v], -len(v), v)
            elif col in ("id_number", "phone"):
                def rank(v):
                    n = len(re.sub(r"\D", "", re.sub(r"\.0$", "", v)))
                    good = n == (12 if col == "id_number" else 10)
                    return (-good, -(9 <= n <= 12), -count[v], v)
            else:
                def rank(v):
                    return (-count[v], v)
            table[col].append(min(vals, key=rank) if vals else None)
    out = pd.DataFrame(table, index=pd.Index(sorted(groups), name="person_id"))
    for col in cols:
        if pd.api.types.is_datetime64_any_dtype(persons[col].dtype):
            out[col] = out[col].astype(persons[col].dtype)
        elif out[col].isna().all():
            out[col] = pd.Series(pd.NA, index=out.index, dtype=object)
    out["n_records"] = [len(groups[k]) for k in out.index]
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_survivors_equal_per_cluster_reference(seed: int) -> None:
    df, labels = mixed_table(seed)
    got = survivors(df, labels)
    assert (got["n_records"] == 1).sum() > 40 and (got["n_records"] > 1).sum() > 20
    pd.testing.assert_frame_equal(got, _reference_survivors(df, labels), check_exact=True)
    # a string birth-date column goes the same way
    df2 = df.assign(birth_date=df["birth_date"].dt.strftime("%d/%m/%Y"))
    pd.testing.assert_frame_equal(survivors(df2, labels),
                                  _reference_survivors(df2, labels), check_exact=True)
