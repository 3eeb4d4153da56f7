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

import operator
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vaxreport import frames
from vaxreport.engine import Engine
from vaxreport.linkage.doses import DoseRules, ReconcileResult, reconcile
from vaxreport.linkage.persons import person_records
from vaxreport.linkage.review import doses_per_record

__all__ = ["KeptBuckets", "PersonParts", "person_part", "reconcile_buckets", "reconcile_kept", "reconcile_part",
           "reconcile_partitioned", "split_by_person", "stack_persons", "with_ids_split"]


def person_bucket(person_id: pd.Series, partitions: int) -> np.ndarray:
    """The bucket (0 … ``partitions`` − 1) of each dose by a stable hash of its ``person_id``."""
    hashes = pd.util.hash_pandas_object(person_id, index=False).to_numpy()
    return (hashes % np.uint64(partitions)).astype(np.int64)


def split_by_person(doses: pd.DataFrame, partitions: int, *, keep_empty: bool = False) -> list[pd.DataFrame]:
    """The dose rows in ``partitions`` buckets by a stable hash of ``person_id`` (empty buckets
    left out unless ``keep_empty``), each keeping its rows' index labels, in row order.

    >>> [p.index.tolist() for p in split_by_person(pd.DataFrame({"person_id": [1, 2, 1, 3]}), 2)]
    [[1, 3], [0, 2]]
    """
    return frames.split_by(doses, person_bucket(doses["person_id"], partitions), partitions, keep_empty=keep_empty)


@dataclass
class PersonParts:
    """The person records of a run whose cleansed rows stay in partitions (:func:`stack_persons`).

    Attributes:
        persons: one row per person record, as ``persons.person_records`` of all the rows gives.
        doses_at_stake: dose rows of each record, aligned to ``persons``.
        part: the partition holding each record's rows, aligned to ``persons``.
        local: each record's position among its partition's records (:func:`person_part` order).
    """

    persons: pd.DataFrame
    doses_at_stake: np.ndarray
    part: np.ndarray
    local: np.ndarray

    def ids_by_part(self, labels: pd.Series, parts: int) -> list[np.ndarray]:
        """``labels`` (aligned to ``persons``) split per partition in :func:`person_part` order."""
        ids = labels.to_numpy().astype(np.int64)
        out = []
        for i in range(parts):
            mine = self.part == i
            local = np.empty(int(mine.sum()), np.int64)
            local[self.local[mine]] = ids[mine]
            out.append(local)
        return out


def person_part(doses: pd.DataFrame) -> pd.DataFrame:
    """The person records of one partition of cleansed doses (``persons.person_records``; all of
    a person code's rows are in one partition), with the position of each record's first dose
    row (``_first``, the rows' index labels) and its dose rows (``_doses``)."""
    persons = person_records(doses)
    first = doses.index.to_numpy(np.int64)[~doses["person_ref"].duplicated().to_numpy()]
    return persons.assign(_first=first, _doses=doses_per_record(doses, persons))


def stack_persons(parts: list[pd.DataFrame]) -> PersonParts:
    """The partitions' :func:`person_part` as the records of all rows, in order of first row.
    The argument's frames are emptied. Raises ``RuntimeError`` if a person code is in two
    partitions (the rows were not bucketed by person code)."""
    sizes = [len(p) for p in parts]
    part = np.repeat(np.arange(len(parts)), sizes)
    local = np.concatenate([np.arange(n, dtype=np.int64) for n in sizes]) if parts else np.zeros(0, np.int64)
    order = np.argsort(np.concatenate([p["_first"].to_numpy(np.int64) for p in parts]), kind="stable")
    stacked = frames.stack_taken(parts, order, [c for c in parts[0].columns if c != "_first"])
    at_stake = stacked.pop("_doses").to_numpy(np.int64)
    persons = stacked.set_index("person_ref", drop=False)
    if persons.index.duplicated().any():
        raise RuntimeError("a person code's rows are in two partitions: the rows were not bucketed by person code")
    return PersonParts(persons=persons, doses_at_stake=at_stake, part=part[order], local=local[order])


def with_ids_split(doses: pd.DataFrame, ids: np.ndarray, dtypes: dict[str, pd.CategoricalDtype],
                   partitions: int) -> list[pd.DataFrame]:
    """One partition of cleansed doses with ``person_id`` (``ids``: the id of each of the
    partition's person records in :func:`person_part` order), its low-cardinality columns coded
    as the whole run's (``dtypes``, ``frames.category_dtypes``), cut into the ``partitions``
    buckets of :func:`split_by_person` (empty ones kept: bucket ``j`` is item ``j``).

    >>> doses = pd.DataFrame({"person_ref": ["a", "b", "a"], "site": ["S", "S", "T"]})
    >>> parts = with_ids_split(doses, np.array([7, 9]), {}, 2)
    >>> [p["person_id"].tolist() for p in parts]
    [[7, 7], [9]]
    """
    record, _ = pd.factorize(doses["person_ref"], use_na_sentinel=False)  # person_records' order
    data = frames.categorize(doses.assign(person_id=ids[record]), dtypes, dtypes)
    return split_by_person(data, partitions, keep_empty=True)


def _bucket_rows(pieces: list[pd.DataFrame]) -> pd.DataFrame:
    """One bucket from its pieces (one per partition), in the order of the rows' index labels."""
    doses = pd.concat([p for p in pieces if len(p)] or pieces[:1])
    return doses.iloc[np.argsort(doses.index.to_numpy(np.int64), kind="stable")]


def reconcile_part(part: pd.DataFrame | Path | list[pd.DataFrame],
                   rules: DoseRules | None = None) -> tuple[ReconcileResult, pd.Series]:
    """``doses.reconcile`` of one bucket (a frame, a Parquet file written with its index, or the
    bucket's pieces from every partition), and the first row (index label) of each person in it."""
    doses = pd.read_parquet(part) if isinstance(part, Path) else _bucket_rows(part) if isinstance(part, list) else part
    first = pd.Series(doses.index.to_numpy(np.int64), index=doses["person_id"].to_numpy())
    first = first.groupby(level=0, sort=False).min()
    return reconcile(doses, rules=rules), first


def reconcile_partitioned(parts: Sequence[pd.DataFrame | Path], engine: Engine, *,
                          rules: DoseRules | None = None) -> ReconcileResult:
    """``doses.reconcile`` over buckets of whole persons (:func:`split_by_person`) on ``engine``,
    in the order one call over all rows gives (the rows' index labels must be unique)."""
    return reconcile_buckets(parts, engine, rules=rules).gathered()


@dataclass
class KeptBuckets:
    """Reconciled doses that stay where each bucket of whole persons was reconciled (Dask
    workers, or this process): the kept rows never come together unless asked
    (:meth:`gathered`); the merged rows and findings, a few percent of the rows, are here.

    Attributes:
        engine: where the buckets are.
        results: per bucket, a handle to its ``ReconcileResult``.
        buckets: the :func:`person_bucket` number of each (empty buckets have none).
        partitions: the number of :func:`person_bucket` buckets.
        labels: per bucket, its kept rows' index labels (ascending: the line-list order).
        merged, findings: as one ``doses.reconcile`` of all rows gives them.
    """

    engine: Engine
    results: list[Any]
    buckets: np.ndarray
    partitions: int
    labels: list[np.ndarray]
    merged: pd.DataFrame
    findings: pd.DataFrame

    def __len__(self) -> int:
        return sum(len(lab) for lab in self.labels)

    def map(self, fn: Callable[..., Any], *per_bucket: Sequence[Any], label: str = "", **kwargs: Any) -> list[Any]:
        """``fn(result, *items, **kwargs)`` on each bucket where it is; the results, gathered."""
        return self.engine.gather(self.engine.map(fn, self.results, *per_bucket, **kwargs), label=label)

    def columns(self, names: Sequence[str]) -> pd.DataFrame:
        """``names`` of the kept rows, in line-list order, indexed by row label (what
        ``gathered().data[names]`` gives, without the other columns ever coming here)."""
        return _stack_by_index(self.map(_kept_columns, names=list(names), label="kept columns"))

    def split(self, frame: pd.DataFrame, person_id: str = "person_id") -> list[pd.DataFrame]:
        """``frame``'s rows cut by the bucket of their ``person_id``, one piece per bucket of
        :attr:`results` (rows in order)."""
        ids = pd.Series(frame[person_id].to_numpy(np.int64))
        pieces = frames.split_by(frame, person_bucket(ids, self.partitions), self.partitions, keep_empty=True)
        return [pieces[j] for j in self.buckets]

    def row_groups(self, rows: int) -> Iterator[pd.DataFrame]:
        """The kept rows in line-list order, ``rows`` at a time (the last group shorter; one
        empty frame when there are none), each gathered from the buckets that hold them."""
        ordered = np.sort(np.concatenate(self.labels)) if self.labels else np.zeros(0, np.int64)
        if not len(ordered):
            yield self._pieces([0], 1, 0)[0]
            return
        for start in range(0, len(ordered), rows):
            lo, hi = int(ordered[start]), int(ordered[min(start + rows, len(ordered)) - 1])
            held = [i for i, lab in enumerate(self.labels)
                    if np.searchsorted(lab, lo) < np.searchsorted(lab, hi, "right")]
            pieces = self._pieces(held, lo, hi)
            group = pd.concat(pieces) if len(pieces) > 1 else pieces[0]
            del pieces
            yield group.iloc[np.argsort(group.index.to_numpy(np.int64), kind="stable")]

    def _pieces(self, held: list[int], lo: int, hi: int) -> list[pd.DataFrame]:
        handles = [self.results[i] for i in held]
        return self.engine.gather(self.engine.map(_kept_between, handles, lo=lo, hi=hi), label="kept rows")

    def gathered(self) -> ReconcileResult:
        """The whole ``ReconcileResult`` here (a province's line list: for tests and small runs)."""
        data = _stack_by_index(self.map(_kept_columns, names=None, label="kept rows"))
        return ReconcileResult(data=data, findings=self.findings, merged=self.merged)


def _kept_columns(res: ReconcileResult, names: list[str] | None) -> pd.DataFrame:
    # a frame of its own (no data copied): the stacking here takes its columns away
    return res.data.copy(deep=False) if names is None else res.data[names]


def _kept_between(res: ReconcileResult, lo: int, hi: int) -> pd.DataFrame:
    """The kept rows whose label is in ``lo`` … ``hi`` (the rows are in label order)."""
    labels = res.data.index.to_numpy(np.int64)
    return res.data.iloc[np.searchsorted(labels, lo):np.searchsorted(labels, hi, "right")]


def _outline(done: tuple[ReconcileResult, pd.Series]) -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame, pd.Series]:
    res, first = done
    return res.data.index.to_numpy(np.int64), res.merged.copy(deep=False), res.findings, first


def reconcile_buckets(parts: Sequence[Any], engine: Engine, *, buckets: np.ndarray | None = None,
                      partitions: int | None = None, rules: DoseRules | None = None) -> KeptBuckets:
    """``doses.reconcile`` of each bucket of whole persons (frames, Parquet files or lists of
    pieces; bucket numbers ``buckets`` of ``partitions``, by default ``0 … len(parts) − 1``)
    where it lies on ``engine``; the kept rows stay there (:class:`KeptBuckets`)."""
    done = engine.map(reconcile_part, parts, rules=rules)
    outlines = engine.gather(engine.map(_outline, done), label="reconcile")
    results = engine.map(operator.getitem, done, [0] * len(done))
    del done
    labels = [lab for lab, _, _, _ in outlines]
    merged = _stack_by_index([m for _, m, _, _ in outlines])
    findings = pd.concat([f for _, _, f, _ in outlines], ignore_index=True)
    firsts = pd.concat([first for _, _, _, first in outlines])
    del outlines
    key = firsts.reindex(findings["person_id"].to_numpy()).to_numpy(np.int64)
    findings = findings.iloc[np.argsort(key, kind="stable")].reset_index(drop=True)
    numbers = np.arange(len(parts)) if buckets is None else np.asarray(buckets, np.int64)
    return KeptBuckets(engine=engine, results=results, buckets=numbers,
                       partitions=len(parts) if partitions is None else partitions, labels=labels,
                       merged=merged, findings=findings)


def reconcile_kept(rows: Sequence[Any], persons: PersonParts, labels: pd.Series, engine: Engine, *,
                   partitions: int, categorical: Sequence[str] = (), rules: DoseRules | None = None) -> KeptBuckets:
    """``doses.reconcile`` of cleansed rows that stayed in partitions on ``engine``
    (``cleansing.phases.clean_partitioned_kept``) once linkage gave each person record its
    ``labels``: each partition attaches ``person_id`` and cuts its rows into ``partitions``
    buckets by person (:func:`with_ids_split`), each bucket gathers its pieces from every
    partition and is reconciled where it lands, and stays there (:class:`KeptBuckets`): the
    tables of :func:`reconcile_partitioned` of the whole rows with ``categorical`` columns coded
    by ``frames.categorize``."""
    dtypes = frames.category_dtypes(engine.gather(engine.map(frames.distinct_values, rows, columns=list(categorical)),
                                                  label="reconcile: categories"))
    ids = persons.ids_by_part(labels, len(rows))
    split = engine.map(with_ids_split, rows, ids, dtypes=dtypes, partitions=partitions)
    sizes = np.array(engine.gather(engine.map(_piece_sizes, split)), dtype=np.int64).reshape(len(rows), partitions)
    held = np.flatnonzero(sizes.sum(axis=0))
    buckets = [engine.map(operator.getitem, split, [j] * len(rows)) for j in held]
    return reconcile_buckets(buckets, engine, buckets=held, partitions=partitions, rules=rules)


def _piece_sizes(pieces: list[pd.DataFrame]) -> list[int]:
    return [len(p) for p in pieces]


def _stack_by_index(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """``parts`` stacked in the order of their index labels, one column at a time."""
    labels = np.concatenate([f.index.to_numpy(np.int64) for f in parts])
    order = np.argsort(labels, kind="stable")
    return frames.stack_taken(parts, order, list(parts[0].columns)).set_axis(pd.Index(labels[order]))
