"""The cleansing as partition-wise phases, for a run whose dose rows do not fit one process.

The dose rows are bucketed by a stable hash of (province, normalised person reference) — one
person's rows stay together whichever site or district typed them — and every row keeps its
global row number (``audit.ROW``). Each partition is cleansed by the same steps as
``audit.clean_doses``, in two halves around the one column-level decision:

1. :func:`clean_head` runs the steps before ``standardise_text`` and :func:`head_evidence`
   gives the partition's share of the name evidence (``steps_text.name_evidence_part``);
2. the shares are merged once (``steps_text.merge_name_evidence``) and :func:`clean_tail`
   runs the remaining steps with the whole run's evidence;
3. :func:`combine_results` puts the partitions' results back in the order of one run.

So a row is cleansed the same way whatever partition holds it, and 1, 3 or 16 partitions give
the same tables (``tests/test_phases.py``). An ``Engine`` (``vaxreport.engine``) decides where
each call runs: in this process or on Dask workers.

Examples:
    >>> from vaxreport.engine import Embedded, EngineSpec
    >>> from vaxreport.schemas import DOSES
    >>> raw = pd.DataFrame({c: [""] * 3 for c in DOSES.required}).assign(
    ...     record_id=["r1", "r2", "r3"], person_ref=["p1", "p2", "p3"],
    ...     full_name=["nguyÔn v¨n an", "Lê Thị Bình", "Trần Văn Cường"],
    ...     dose_date=["15/06/2021", "01/10/2021", ""], vaccine=["AstraZeneca"] * 3)
    >>> parts = split_rows(raw, 2, province_code="19")
    >>> res = clean_partitioned(parts, CleanParams(), Embedded(EngineSpec()))
    >>> res.data["full_name"].tolist(), res.quarantine["reason"].tolist()
    (['Nguyễn Văn An', 'Lê Thị Bình'], ['no_dose_date'])
"""

from __future__ import annotations

import contextlib
import shutil
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from vaxreport import frames
from vaxreport.cleansing.audit import ROW, CleanResult, StepRun, combine_results, finish_cleaning, start_cleaning
from vaxreport.cleansing.protocol import CleanParams, NameEvidence
from vaxreport.cleansing.steps import STEPS
from vaxreport.cleansing.steps_text import NameEvidencePart, merge_name_evidence, name_evidence_part, standardise_codes
from vaxreport.engine import Engine

__all__ = ["EVIDENCE_STEP", "BucketWriter", "bucket_of", "clean_head", "clean_partitioned", "clean_partitioned_kept",
           "clean_tail", "cleansed_rows", "head_evidence", "split_rows", "without_rows", "write_partitions"]

#: The first step that needs the whole run's evidence: the partitions pause before it.
EVIDENCE_STEP = "standardise_text"
_SPLIT = [s.name for s in STEPS].index(EVIDENCE_STEP)


def bucket_of(doses: pd.DataFrame, partitions: int, *, province_code: str) -> np.ndarray:
    """The partition (0 … ``partitions`` − 1) of each dose row: a stable hash (SipHash, fixed
    key: the same in every process and on every machine) of the province and the person
    reference as cleansing normalises it (``standardise_codes``).

    >>> bucket_of(pd.DataFrame({"person_ref": ["P1", " P1 ", "P3", "P4"]}), 4, province_code="19").tolist()
    [1, 1, 2, 3]
    """
    refs = standardise_codes(doses[["person_ref"]], CleanParams())["person_ref"]
    keys = (province_code + "|" + refs.astype("str").fillna("")).to_numpy(dtype=object)
    return (pd.util.hash_array(keys, categorize=True) % np.uint64(partitions)).astype(np.int64)


def split_rows(doses: pd.DataFrame, partitions: int, *, province_code: str) -> list[pd.DataFrame]:
    """The dose rows in ``partitions`` buckets (:func:`bucket_of`; empty buckets left out), each
    row with its global row number ``ROW``, in row order within a bucket."""
    bucket = bucket_of(doses, partitions, province_code=province_code)
    return [part.reset_index(drop=True) for part in frames.split_by(_numbered(doses, 0), bucket, partitions)]


def _numbered(doses: pd.DataFrame, first: int) -> pd.DataFrame:
    """``doses`` with their global row numbers ``ROW`` from ``first``."""
    return doses.assign(**{ROW: np.arange(first, first + len(doses), dtype=np.int64)})


class BucketWriter:
    """The dose rows, batch by batch as the export is read (``io.stream_table``), into one Parquet
    file per bucket: at :meth:`finish`, :attr:`paths` hold what :func:`split_rows` and
    :func:`write_partitions` make of all the rows at once (the same columns, dtypes, values and
    row order; empty buckets left out), while this process holds at most ``buffer_rows`` rows
    (plus the ``keep`` columns of every row, what the driver needs later). A ``TableSink``.

    Rows are buffered per bucket and written as Parquet row groups of ``row_group`` rows, on a
    thread of their own (Arrow encodes and compresses without the GIL) while the next batch is read.

    >>> import tempfile
    >>> w = BucketWriter(Path(tempfile.mkdtemp()), 2, province_code="19", keep=["record_id"])
    >>> for refs in (["p1", "p2"], ["p1", "p3"]):
    ...     w.write(pd.DataFrame({"record_id": ["r"] * 2, "person_ref": refs}))
    >>> w.finish([]).shape, [pd.read_parquet(p)[ROW].tolist() for p in w.paths]
    ((4, 1), [[0, 1, 2], [3]])
    """

    def __init__(self, folder: Path, partitions: int, *, province_code: str, keep: Sequence[str] = (),
                 row_group: int = 65_536, buffer_rows: int = 500_000) -> None:
        self.folder, self.partitions, self.province_code = folder, partitions, province_code
        self.keep, self.row_group, self.buffer_rows = list(keep), row_group, buffer_rows
        self.paths: list[Path] = []
        self.discard()

    def discard(self) -> None:
        """Forget every row taken and remove the folder's files."""
        if hasattr(self, "_pool"):
            with contextlib.suppress(Exception):
                self._close()
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.rows = 0
        self._writers: dict[int, pq.ParquetWriter] = {}
        # Parquet is encoded and written on one thread (in order), while the next batch is parsed
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vaxreport-buckets")
        self._pending: deque[Future[None]] = deque()
        self._buffers: list[list[pa.Table]] = [[] for _ in range(self.partitions)]
        self._buffered = np.zeros(self.partitions, dtype=np.int64)
        self._kept: list[pd.DataFrame] = []

    def write(self, batch: pd.DataFrame) -> None:
        """Take the next rows of the export (conformed; any index)."""
        bucket = bucket_of(batch, self.partitions, province_code=self.province_code)
        table = pa.Table.from_pandas(_numbered(batch.reset_index(drop=True), self.rows), preserve_index=False)
        self.rows += len(batch)
        self._kept.append(batch[self.keep].reset_index(drop=True))
        order = np.argsort(bucket, kind="stable")
        bounds = np.searchsorted(bucket[order], np.arange(self.partitions + 1))
        for b, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
            if hi > lo:
                self._buffers[b].append(table.take(order[lo:hi]))
                self._buffered[b] += hi - lo
                if self._buffered[b] >= self.row_group:
                    self._flush(b)
        if self._buffered.sum() > self.buffer_rows:
            for full in np.flatnonzero(self._buffered):
                self._flush(int(full))

    def _flush(self, b: int) -> None:
        table = pa.concat_tables(self._buffers[b])
        self._buffers[b], self._buffered[b] = [], 0
        while len(self._pending) > 1:  # at most two row groups waiting for the disk
            self._pending.popleft().result()
        self._pending.append(self._pool.submit(self._append, b, table))

    def _append(self, b: int, table: pa.Table) -> None:
        if b not in self._writers:
            self._writers[b] = pq.ParquetWriter(self.folder / f"bucket-{b:05d}.parquet", table.schema)
        self._writers[b].write_table(table, row_group_size=self.row_group)

    def _close(self) -> None:
        """Wait for the writes (raising the first failure), close the files, stop the thread."""
        try:
            while self._pending:
                self._pending.popleft().result()
        finally:
            self._pool.shutdown(wait=True)
            for writer in self._writers.values():
                writer.close()

    def finish(self, dropped: Sequence[str]) -> pd.DataFrame:
        """Write what is buffered and close the files, without the ``dropped`` columns; sets
        :attr:`paths` (``part-NNNNN.parquet``, the non-empty buckets in order). Returns the
        ``keep`` columns of every row, in row order."""
        for full in np.flatnonzero(self._buffered):
            self._flush(int(full))
        self._close()
        self.paths = []
        for bucket in sorted(self._writers):
            path = self.folder / f"part-{len(self.paths):05d}.parquet"
            (self.folder / f"bucket-{bucket:05d}.parquet").rename(path)
            if dropped:  # rare: an unnamed column found empty in the whole file; one bucket at a time
                pd.read_parquet(path).drop(columns=list(dropped)).to_parquet(path, index=False)
            self.paths.append(path)
        self._writers = {}
        kept, self._kept = self._kept, []
        if not kept:
            return pd.DataFrame({c: pd.Series([], dtype="str") for c in self.keep})
        return pd.concat(kept, ignore_index=True)


def write_partitions(parts: Sequence[pd.DataFrame], folder: Path, *, index: bool = False) -> list[Path]:
    """Each partition as ``folder/part-NNNNN.parquet`` (what Dask workers read: a task that
    can be re-run after a worker is lost), with its index labels if ``index``. Returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, part in enumerate(parts):
        path = folder / f"part-{i:05d}.parquet"
        part.to_parquet(path, index=index)
        paths.append(path)
    return paths


def clean_head(part: pd.DataFrame | Path, params: CleanParams) -> StepRun:
    """The steps before :data:`EVIDENCE_STEP` on one partition (a frame, or a Parquet file of
    :func:`write_partitions`)."""
    raw = pd.read_parquet(part) if isinstance(part, Path) else part
    return start_cleaning(raw).advance(STEPS[:_SPLIT], params)


def head_evidence(run: StepRun) -> NameEvidencePart:
    """The partition's share of the name evidence, as :data:`EVIDENCE_STEP` will see its rows."""
    return name_evidence_part(run.cur)


def clean_tail(run: StepRun, params: CleanParams, evidence: NameEvidence) -> CleanResult:
    """The remaining steps on one partition, with the whole run's name ``evidence``; the result
    keeps its order keys for :func:`combine_results`."""
    run.advance(STEPS[_SPLIT:], replace(params, name_evidence=evidence))
    return finish_cleaning(run, run.raw_columns, partitioned=True)


def clean_partitioned(parts: Sequence[pd.DataFrame | Path], params: CleanParams, engine: Engine) -> CleanResult:
    """``audit.clean_doses`` over partitions of the rows, on ``engine``: the same result (values,
    dtypes, order) as one call on all rows, without the ``ROW`` column."""
    return combine_results(engine.gather(_cleaned_parts(parts, params, engine), label="cleanse: repair"))


def clean_partitioned_kept(parts: Sequence[pd.DataFrame | Path], params: CleanParams,
                           engine: Engine) -> tuple[CleanResult, list[Any]]:
    """:func:`clean_partitioned` whose cleansed rows stay where they were cleansed (on the Dask
    workers): returns the result without its rows (audit, quarantine, flags, log as one call
    gives them; ``data`` empty but typed) and a handle per partition to its cleansed rows, each
    labelled with its position in the rows of one call (:func:`cleansed_rows`)."""
    results = _cleaned_parts(parts, params, engine)
    summaries = engine.gather(engine.map(without_rows, results), label="cleanse: repair")
    quarantined = np.sort(np.concatenate([s.quarantine[ROW].to_numpy(np.int64) for s in summaries]))
    return combine_results(summaries), engine.map(cleansed_rows, results, quarantined=quarantined)


def _cleaned_parts(parts: Sequence[pd.DataFrame | Path], params: CleanParams, engine: Engine) -> list[Any]:
    runs = engine.map(clean_head, parts, params=params)
    evidence = merge_name_evidence(engine.gather(engine.map(head_evidence, runs), label="cleanse: evidence"))
    return engine.map(clean_tail, runs, params=params, evidence=evidence)


def without_rows(res: CleanResult) -> CleanResult:
    """A partition's result without its cleansed rows (kept typed, with no rows)."""
    return replace(res, data=res.data.iloc[:0])


def cleansed_rows(res: CleanResult, quarantined: np.ndarray) -> pd.DataFrame:
    """A partition's cleansed rows labelled by their position among the cleansed rows of the whole
    run — their global row number less the quarantined rows before them (``quarantined``: the
    global row numbers of every quarantined row, sorted) — without the ``ROW`` column.

    >>> res = CleanResult(data=pd.DataFrame({"x": ["a", "b"], ROW: [1, 4]}), audit=pd.DataFrame(),
    ...                   quarantine=pd.DataFrame())
    >>> cleansed_rows(res, np.array([0, 2, 3])).index.tolist()
    [0, 1]
    """
    rows = res.data[ROW].to_numpy(np.int64)
    return res.data.drop(columns=ROW).set_axis(pd.Index(rows - np.searchsorted(quarantined, rows)))
