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

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vaxreport import frames
from vaxreport.cleansing.audit import ROW, CleanResult, StepRun, combine_results, finish_cleaning, start_cleaning
from vaxreport.cleansing.protocol import CleanParams, NameEvidence
from vaxreport.cleansing.steps import STEPS
from vaxreport.cleansing.steps_text import NameEvidencePart, merge_name_evidence, name_evidence_part, standardise_codes
from vaxreport.engine import Engine

__all__ = ["EVIDENCE_STEP", "bucket_of", "clean_head", "clean_partitioned", "clean_partitioned_kept", "clean_tail",
           "cleansed_rows", "head_evidence", "split_rows", "without_rows", "write_partitions"]

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
    frame = doses.assign(**{ROW: np.arange(len(doses), dtype=np.int64)})
    return [part.reset_index(drop=True) for part in frames.split_by(frame, bucket, partitions)]


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
