"""Last month's run: where it is, and what this run takes from it.

A run follows up the previous period's: it carries its person ids over
(:func:`carry_over`, :mod:`vaxreport.linkage.carry`), compares its worklists with this month's
(:func:`follow_up_worklists`) and its metrics (``stages.previous_metrics``). The previous run is
the params' ``previous_run:`` folder, else the previous period's folder beside this run's
(``outputs/2022-04`` for ``outputs/2022-05``) — in both cases only a *completed* run (its
``manifest.json`` written). Reads personal tables of last month (owner-only files): stage 1 only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from vaxreport import layout
from vaxreport.exceptions import RunError
from vaxreport.params import RunParams, previous_period

if TYPE_CHECKING:
    from vaxreport.linkage.carry import Carried


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


def previous_person_ids(run: Path) -> pd.DataFrame:
    """``person_ref, person_id`` of every person code in the run's cleansed doses (the kept and
    the merged duplicate rows: a record whose doses were all duplicates still has its id)."""
    folder = layout.cleansed_dir(run)
    frames = [pd.read_parquet(path, columns=["person_ref", "person_id"])
              for path in (folder / "doses.parquet", folder / "merged_doses.parquet") if path.is_file()]
    if not frames:
        raise RunError(f"previous run {run} has no cleansed doses")
    table = pd.concat(frames, ignore_index=True)
    return table.drop_duplicates(["person_ref", "person_id"]).reset_index(drop=True)


def carry_over(p: RunParams, run_dir: Path | str, refs: pd.Series, ids: pd.Series) -> tuple[Carried, Path | None]:
    """This run's ids carried over from last month's run (:func:`previous_run`), and that run;
    with no previous run the ids stay as they are and no change is listed."""
    from vaxreport.linkage.carry import Carried, carry_ids, empty_changes

    run = previous_run(p, run_dir)
    if run is None:
        return Carried(ids=ids.rename("person_id"), changes=empty_changes()), None
    return carry_ids(refs, ids, previous_person_ids(run)), run


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
