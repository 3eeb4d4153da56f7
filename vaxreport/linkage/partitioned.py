"""Dose reconciliation over partitions of persons: after linkage every dose carries its
``person_id``, and all of one person's doses are reconciled together, so the doses are re-bucketed
by a hash of ``person_id`` (:func:`split_by_person`) and each bucket is reconciled on its own
(:func:`reconcile_part`, on an ``Engine``: in this process or on Dask workers). The buckets'
results are put back in the order one ``doses.reconcile`` call gives
(:func:`reconcile_partitioned`): kept and merged rows by their row in the line list, findings by
the person's first row (then as each bucket ordered them). So the result does not depend on the
number of buckets (``tests/test_phases.py``).

Examples:
    >>> from vaxreport.engine import Embedded, EngineSpec
    >>> from vaxreport.linkage.doses import _example_doses, reconcile
    >>> one = _example_doses()
    >>> doses = pd.concat([one, one.assign(person_id="P2", record_id=one["record_id"] + "b")], ignore_index=True)
    >>> split = reconcile_partitioned(split_by_person(doses, 3), Embedded(EngineSpec()))
    >>> whole = reconcile(doses)
    >>> split.data.equals(whole.data), split.findings.equals(whole.findings), split.merged.equals(whole.merged)
    (True, True, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from vaxreport import frames
from vaxreport.engine import Engine
from vaxreport.linkage.doses import DoseRules, ReconcileResult, reconcile

__all__ = ["reconcile_part", "reconcile_partitioned", "split_by_person"]


def split_by_person(doses: pd.DataFrame, partitions: int) -> list[pd.DataFrame]:
    """The dose rows in ``partitions`` buckets by a stable hash of ``person_id`` (empty buckets
    left out), each keeping its rows' index labels, in row order.

    >>> [p.index.tolist() for p in split_by_person(pd.DataFrame({"person_id": [1, 2, 1, 3]}), 2)]
    [[1, 3], [0, 2]]
    """
    hashes = pd.util.hash_pandas_object(doses["person_id"], index=False).to_numpy()
    return frames.split_by(doses, (hashes % np.uint64(partitions)).astype(np.int64), partitions)


def reconcile_part(part: pd.DataFrame | Path, rules: DoseRules | None = None) -> tuple[ReconcileResult, pd.Series]:
    """``doses.reconcile`` of one bucket (a frame, or a Parquet file written with its index),
    and the first row (index label) of each person in it."""
    doses = pd.read_parquet(part) if isinstance(part, Path) else part
    first = pd.Series(doses.index.to_numpy(np.int64), index=doses["person_id"].to_numpy())
    first = first.groupby(level=0, sort=False).min()
    return reconcile(doses, rules=rules), first


def reconcile_partitioned(parts: Sequence[pd.DataFrame | Path], engine: Engine, *,
                          rules: DoseRules | None = None) -> ReconcileResult:
    """``doses.reconcile`` over buckets of whole persons (:func:`split_by_person`) on ``engine``,
    in the order one call over all rows gives (the rows' index labels must be unique)."""
    done = engine.gather(engine.map(reconcile_part, parts, rules=rules), label="reconcile")
    results, firsts = [r for r, _ in done], pd.concat([f for _, f in done])
    del done
    data = _stack_by_index([r.data for r in results])
    merged = _stack_by_index([r.merged for r in results])
    findings = pd.concat([r.findings for r in results], ignore_index=True)
    key = firsts.reindex(findings["person_id"].to_numpy()).to_numpy(np.int64)
    findings = findings.iloc[np.argsort(key, kind="stable")].reset_index(drop=True)
    return ReconcileResult(data=data, findings=findings, merged=merged)


def _stack_by_index(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """``parts`` stacked in the order of their index labels, one column at a time."""
    labels = np.concatenate([f.index.to_numpy(np.int64) for f in parts])
    order = np.argsort(labels, kind="stable")
    return frames.stack_taken(parts, order, list(parts[0].columns)).set_axis(pd.Index(labels[order]))
