"""Last month's run: where it is, and what this run takes from it.

A run follows up the previous period's: it replays its linkage decisions on the person records
that did not change (:func:`last_month`, :mod:`vaxreport.linkage.replay`), carries its person ids
over (:func:`carry_over`, :mod:`vaxreport.linkage.carry`), compares its worklists with this month's
(:func:`follow_up_worklists`) and its metrics (``stages.previous_metrics``). The previous run is
the params' ``previous_run:`` folder, else the previous period's folder beside this run's
(``outputs/2022-04`` for ``outputs/2022-05``) — in both cases only a *completed* run (its
``manifest.json`` written). Reads personal tables of last month (owner-only files): stage 1 only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow.parquet as pq

from vaxreport import layout
from vaxreport.exceptions import RunError
from vaxreport.params import RunParams, previous_period

if TYPE_CHECKING:
    from vaxreport.linkage.carry import Carried
    from vaxreport.linkage.replay import Prior


def previous_run(p: RunParams, run_dir: Path | str) -> Path | None:
    """Last month's completed run folder for a run of ``p`` into ``run_dir``, or None.

    Raises:
        RunError: ``previous_run:`` names a folder that holds no completed run, or this run's own.
    """
    here = Path(run_dir).resolve()
    if p.previous_run is not None:
        folder = Path(p.previous_run).resolve()
        if folder == here:
            raise RunError(f"previous_run {folder} is this run's own folder")
        if not (folder / layout.MANIFEST).is_file():
            raise RunError(f"previous_run {folder} holds no completed run (no {layout.MANIFEST})")
        return folder
    folder = here.parent / previous_period(p.period)
    return folder if (folder / layout.MANIFEST).is_file() else None


def _cleansed_rows(run: Path, columns: list[str]) -> pd.DataFrame:
    """``columns`` (those the files have) of the run's cleansed doses, kept and merged rows: a
    record whose doses were all duplicates still has its id."""
    folder = layout.cleansed_dir(run)
    frames = []
    for path in (folder / "doses.parquet", folder / "merged_doses.parquet"):
        if path.is_file():
            names = set(pq.read_schema(path).names)
            frames.append(pd.read_parquet(path, columns=[c for c in columns if c in names]))
    if not frames:
        raise RunError(f"previous run {run} has no cleansed doses")
    return pd.concat(frames, ignore_index=True)


def previous_person_ids(run: Path) -> pd.DataFrame:
    """``person_ref, person_id`` of every person code in the run's cleansed doses (the kept and
    the merged duplicate rows)."""
    table = _cleansed_rows(run, ["person_ref", "person_id"])
    return table.drop_duplicates(["person_ref", "person_id"]).reset_index(drop=True)


def _cleansed_chunks(run: Path, columns: list[str]) -> Iterator[pd.DataFrame]:
    """``columns`` (those the files have) of the run's cleansed doses, kept and merged rows, a
    batch of rows at a time (the whole line list is never in memory)."""
    from vaxreport.linkage.replay import DIGEST_CHUNK_ROWS

    folder = layout.cleansed_dir(run)
    paths = [p for p in (folder / "doses.parquet", folder / "merged_doses.parquet") if p.is_file()]
    if not paths:
        raise RunError(f"previous run {run} has no cleansed doses")
    for path in paths:
        file = pq.ParquetFile(path)
        names = [c for c in columns if c in file.schema_arrow.names]
        for batch in file.iter_batches(batch_size=DIGEST_CHUNK_ROWS, columns=names):
            yield batch.to_pandas()


def previous_records(run: Path) -> pd.DataFrame:
    """``person_ref, person_id, digest``, one row per person code of the run's cleansed doses:
    its id (the smallest if it had several) and the :func:`~vaxreport.linkage.replay.record_digests`
    of its person fields (as cleansed last month)."""
    from vaxreport.linkage.prepare import FIELDS
    from vaxreport.linkage.replay import record_table

    return record_table(_cleansed_chunks(run, ["person_ref", "person_id", *FIELDS]))


@dataclass(frozen=True)
class LastMonth:
    """What a run takes from last month's for its linkage.

    Attributes:
        run: last month's run folder.
        records: its ``person_ref, person_id, digest`` (:func:`previous_records`).
        prior: its persons of this month's unchanged records, aligned to this month's person
            table (:class:`~vaxreport.linkage.replay.Prior`).
    """

    run: Path
    records: pd.DataFrame
    prior: Prior


def last_month(p: RunParams, run_dir: Path | str, persons: pd.DataFrame) -> LastMonth | None:
    """Last month's run (:func:`previous_run`) read for this run's linkage, or None without one.

    Args:
        p: run params.
        run_dir: this run's folder.
        persons: this month's person records as the linkage reads them (``person_ref`` and the
            person fields, one row per code), whose digests tell the unchanged records.
    """
    from vaxreport.linkage.replay import Prior, record_digests

    run = previous_run(p, run_dir)
    if run is None:
        return None
    records = previous_records(run)
    refs = persons["person_ref"]
    digests = record_digests(persons).reindex(refs.astype("string").fillna("").to_numpy()).to_numpy()
    return LastMonth(run=run, records=records, prior=Prior.of(refs, digests, records))


def carry_over(last: LastMonth | None, refs: pd.Series, ids: pd.Series) -> Carried:
    """This run's ids carried over from last month's run (:mod:`vaxreport.linkage.carry`); with
    no previous run the ids stay as they are and no change is listed."""
    from vaxreport.linkage.carry import Carried, carry_ids, empty_changes

    if last is None:
        return Carried(ids=ids.rename("person_id"), changes=empty_changes())
    return carry_ids(refs, ids, last.records)


def follow_up_worklists(p: RunParams, run_dir: Path | str, lines: pd.DataFrame, person_of: pd.Series) -> pd.DataFrame:
    """Last month's worklist lines (its ``cleansed/worklists.parquet``) checked against this
    month's ``lines`` (:mod:`vaxreport.reporting.followup`; ``person_of``: this run's ``person_id``
    of each person code), as counts per district, site and kind; no rows without a previous run."""
    from vaxreport.reporting import followup

    run = previous_run(p, run_dir)
    path = layout.worklists_table(run) if run is not None else None
    if path is None or not path.is_file():
        return followup.summarise(pd.DataFrame(), "")
    previous = pd.read_parquet(path)
    return followup.summarise(followup.follow_up(previous, lines, person_of), period_of(path.parents[1]))


def period_of(run: Path) -> str:
    """The period of a completed run (its manifest's params), else the folder's name."""
    try:
        period = json.loads((run / layout.MANIFEST).read_text(encoding="utf-8"))["params"]["period"]
    except (OSError, ValueError, KeyError, TypeError):
        return run.name
    return str(period)
