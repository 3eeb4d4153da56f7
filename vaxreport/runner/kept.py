"""The reconciled (kept) dose rows of a stage-1 run, wherever they are: one frame in this process
(:class:`KeptInProcess`, the default run) or buckets of whole persons where they were reconciled
(:class:`KeptInBuckets`: Dask workers, or this process's partitions). Stage 1 asks them only for
what it needs — the columns of the facts, each person's dose summary, the worklists, the Parquet
file — so in a partitioned run the personal columns of a province's line list never come
together on the driver. Both give the same tables and the same bytes.

Examples:
    >>> from vaxreport.engine import Embedded, EngineSpec
    >>> from vaxreport.linkage import doses, partitioned
    >>> one = doses._example_doses()
    >>> rows = pd.concat([one, one.assign(person_id="P2", record_id=one["record_id"] + "b")], ignore_index=True)
    >>> whole = KeptInProcess(doses.reconcile(rows))
    >>> split = KeptInBuckets(partitioned.reconcile_buckets(partitioned.split_by_person(rows, 3),
    ...                                                     Embedded(EngineSpec())))
    >>> len(whole), len(split), split.columns(["record_id"]).equals(whole.columns(["record_id"]))
    (6, 6, True)
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol

import pandas as pd
import pyarrow as pa

from vaxreport.io.write import ROW_GROUP_ROWS, write_parquet, write_parquet_groups
from vaxreport.linkage.doses import SUMMARY_COLUMNS, ReconcileResult, person_doses_summary
from vaxreport.linkage.partitioned import KeptBuckets
from vaxreport.reporting import worklists as wl

__all__ = ["KeptDoses", "KeptInBuckets", "KeptInProcess"]

class KeptDoses(Protocol):
    """What stage 1 asks of the reconciled doses after reconciliation."""

    @property
    def merged(self) -> pd.DataFrame: ...

    @property
    def findings(self) -> pd.DataFrame: ...

    def __len__(self) -> int: ...

    def columns(self, names: Sequence[str]) -> pd.DataFrame:
        """``names`` of the kept rows in line-list order (index: the rows' labels)."""
        ...

    def person_summary(self) -> pd.DataFrame:
        """``person_doses_summary`` of the kept rows: one row per person (any order)."""
        ...

    def worklists(self, verification: pd.DataFrame, person_merges: pd.DataFrame, *, unsigned_days: int,
                  as_of: date) -> dict[str, pd.DataFrame]:
        """``reporting.worklists.build_worklists`` of the kept rows, findings and merged rows."""
        ...

    def write_parquet(self, path: Path, *, private: bool = False) -> Path:
        """The kept rows as ``io.write_parquet`` writes the whole frame."""
        ...

    def gathered(self) -> ReconcileResult:
        """The whole ``ReconcileResult`` in this process."""
        ...


def _summary(res: ReconcileResult) -> pd.DataFrame:
    return person_doses_summary(res.data[[c for c in SUMMARY_COLUMNS if c in res.data.columns]])


def _worklists(res: ReconcileResult, verification: pd.DataFrame, person_merges: pd.DataFrame, *,
               unsigned_days: int, as_of: date) -> dict[str, pd.DataFrame]:
    return wl.build_worklists(res.data, res.findings, verification, unsigned_days=unsigned_days, as_of=as_of,
                              person_merges=person_merges, merged_doses=res.merged)


@dataclass
class KeptInProcess:
    """The reconciled doses as one ``ReconcileResult`` in this process."""

    result: ReconcileResult

    @property
    def merged(self) -> pd.DataFrame:
        return self.result.merged

    @property
    def findings(self) -> pd.DataFrame:
        return self.result.findings

    def __len__(self) -> int:
        return len(self.result.data)

    def columns(self, names: Sequence[str]) -> pd.DataFrame:
        return self.result.data[list(names)]

    def person_summary(self) -> pd.DataFrame:
        return _summary(self.result)

    def worklists(self, verification: pd.DataFrame, person_merges: pd.DataFrame, *, unsigned_days: int,
                  as_of: date) -> dict[str, pd.DataFrame]:
        return _worklists(self.result, verification, person_merges, unsigned_days=unsigned_days, as_of=as_of)

    def write_parquet(self, path: Path, *, private: bool = False) -> Path:
        return write_parquet(self.result.data, path, private=private)

    def gathered(self) -> ReconcileResult:
        return self.result


@dataclass
class KeptInBuckets:
    """The reconciled doses in buckets of whole persons (``linkage.partitioned.KeptBuckets``):
    each question is answered per bucket where it lies, and only the answers come here."""

    parts: KeptBuckets

    @property
    def merged(self) -> pd.DataFrame:
        return self.parts.merged

    @property
    def findings(self) -> pd.DataFrame:
        return self.parts.findings

    def __len__(self) -> int:
        return len(self.parts)

    def columns(self, names: Sequence[str]) -> pd.DataFrame:
        return self.parts.columns(names)

    def person_summary(self) -> pd.DataFrame:
        return pd.concat(self.parts.map(_summary, label="person summary"))

    def worklists(self, verification: pd.DataFrame, person_merges: pd.DataFrame, *, unsigned_days: int,
                  as_of: date) -> dict[str, pd.DataFrame]:
        """Each bucket's worklists from its own persons' verification and merges (a person's
        records, doses and merged rows are all in one bucket), combined as one call would."""
        lists = self.parts.map(_worklists, self.parts.split(verification), self.parts.split(person_merges),
                               unsigned_days=unsigned_days, as_of=as_of, label="worklists")
        return wl.combine_worklists(lists)

    def write_parquet(self, path: Path, *, private: bool = False) -> Path:
        """Row group by row group, each gathered from the buckets holding its rows: the bytes
        ``io.write_parquet`` gives of the whole frame."""
        groups = self.parts.row_groups(ROW_GROUP_ROWS)
        first = next(groups)
        schema = pa.Schema.from_pandas(first.iloc[:0], preserve_index=None)  # every bucket's dtypes are the run's
        return write_parquet_groups(schema, itertools.chain([first], groups), path, private=private)

    def gathered(self) -> ReconcileResult:
        return self.parts.gathered()
