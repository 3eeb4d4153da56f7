"""The stages as library calls, so that each exists once and the notebooks stay thin.

Stage 1 (``notebooks/cleanse.ipynb``) is :class:`StageOne`: one method per section of the
notebook, in :data:`StageOne.SECTIONS` order; :func:`run_stage_one` runs them all. Stages 2 and 3
(the district and province report notebooks) share :func:`render_report` (``report.pdf``,
``report.docx``, ``indicators.xlsx``, ``metrics.json``). Notebooks opened by hand without
parameters get the tiny example province (:func:`open_run`).
"""

from __future__ import annotations

import ctypes
import functools
import json
import shutil
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, ParamSpec, TypeVar

import pandas as pd
import pyarrow as pa

from vaxreport import frames, layout
from vaxreport.engine import Engine, EngineSpec
from vaxreport.facts import DOSE_COLUMNS, Facts, build_facts, check_conservation
from vaxreport.io.write import sha256_file, write_json, write_parquet
from vaxreport.params import RunParams
from vaxreport.runner.previous import carry_over, follow_up_worklists, last_month, period_of, previous_run

if TYPE_CHECKING:
    from vaxreport.cleansing.audit import CleanResult
    from vaxreport.cleansing.phases import BucketWriter
    from vaxreport.cleansing.protocol import CleanParams
    from vaxreport.io import Inputs
    from vaxreport.linkage.decisions import DecisionOutcome
    from vaxreport.linkage.partitioned import PersonParts
    from vaxreport.reporting.metrics import ReportMetrics
    from vaxreport.reporting.report.render import ReportDoc
    from vaxreport.runner.kept import KeptDoses

_Job = tuple["pd.DataFrame | KeptDoses | PlainText", Path, bool]  # (table, parquet path, personal data)

#: Text columns of the cleansed doses with few distinct values (units, sites, products, statuses):
#: held as categoricals from linkage on (:func:`vaxreport.frames.categorize`) — at scale 1 about
#: 0.7 GB of the line list's 1.3 GB were these strings. The facts and worklists get plain text.
LOW_CARDINALITY = ("gender", "province_code", "district_code", "commune_code", "site_code", "site_name",
                   "vaccine", "vaccine_code", "lot", "sign_status", "verify_status", "id_flags", "date_flags")


def clean_params(p: RunParams) -> CleanParams:
    """``CleanParams`` from run params (report date, campaign start, thresholds)."""
    from vaxreport.cleansing.protocol import CleanParams

    return CleanParams(as_of=p.report_date, campaign_start=p.campaign_start, province_code=p.province_code,
                       provinces=p.provinces,
                       name_match_threshold=float(p.thresholds.name_match_score),
                       vaccine_match_threshold=float(p.thresholds.vaccine_match_score),
                       max_age=p.thresholds.max_age, units_on=p.period_end or p.report_date)


#: The raw dose columns stage 1 uses after cleansing (the facts: a site's district, a row's record).
SLIM_COLUMNS = ("record_id", "site_code", "district_code")


def slim_inputs(inputs: Inputs) -> Inputs:
    """The inputs without the raw dose columns stage 1 no longer needs once doses are cleansed
    (only :data:`SLIM_COLUMNS` are used later). The argument is not modified."""
    return replace(inputs, doses=inputs.doses[list(SLIM_COLUMNS)].copy())


def without_data(cleaned: CleanResult) -> CleanResult:
    """The clean result without its row data (superseded by the reconciled doses); audit,
    quarantine, flags and log are kept. The argument is not modified."""
    return replace(cleaned, data=cleaned.data.iloc[:0])


def release_freed_memory() -> None:
    """Give back to the system what the last section freed: Arrow's pool keeps the memory it
    freed, and the C heap keeps the small blocks of a section's Python objects (Dask's workers
    trim theirs for the same reason). At scale 1 the driver's resident memory after linkage
    drops by 0.5 GB and after the facts by 1 GB, room the workers of a partitioned run can use.
    Does nothing where the C library has no ``malloc_trim``."""
    pa.default_memory_pool().release_unused()
    with suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _section(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """A section of :class:`StageOne`: what the sections before it freed is given back first."""
    @functools.wraps(method)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        release_freed_memory()
        return method(*args, **kwargs)
    return run


@dataclass
class PlainText:
    """A table whose categorical columns are written as the plain text they stand for
    (``frames.plain``), one row group at a time: the bytes ``write_parquet`` writes of the
    plain table, without a plain copy of it (the dose facts hold their text as categoricals)."""

    table: pd.DataFrame

    def __len__(self) -> int:
        return len(self.table)

    def write_parquet(self, path: Path, *, private: bool = False) -> Path:
        return write_parquet(self.table, path, private=private, plain_text=True)


class PendingWrites:
    """Parquet files being written on a background thread (see :meth:`StageOne.reconcile`)."""

    def __init__(self, jobs: list[_Job]) -> None:
        self.names = {path.stem for _, path, _ in jobs}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vaxreport-write")
        self._futures = [self._pool.submit(_write_job, job) for job in jobs]

    def wait(self) -> None:
        """Block until every file is written; re-raise the first failure."""
        try:
            for future in self._futures:
                future.result()
        finally:
            self._pool.shutdown(wait=True)


def _write_job(job: _Job) -> Path:
    table, path, private = job
    if isinstance(table, pd.DataFrame):
        return write_parquet(table, path, private=private)
    return table.write_parquet(path, private=private)  # rows that may be held elsewhere (``runner.kept``)


def _parquet_jobs(folder: Path, tables: Mapping[str, pd.DataFrame | KeptDoses | PlainText], *,
                  private: bool) -> list[_Job]:
    """``(frame, folder/<name>.parquet, private)`` per table."""
    return [(df, folder / f"{name}.parquet", private) for name, df in tables.items()]


def _write_all(jobs: list[_Job]) -> None:
    jobs = sorted(jobs, key=lambda job: -len(job[0]))  # largest first: the two threads finish together
    # Arrow encodes and compresses without the GIL: two threads use the second core
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(_write_job, jobs))


@dataclass
class StageOne:
    """Stage 1 of the monthly run: load → cleanse → link → reconcile → verify → facts →
    worklists → save, one method per section of ``cleanse.ipynb``.

    Each method reads what the earlier ones left on the object and returns something worth
    displaying. Superseded data is dropped as soon as it is (the raw dose columns after
    cleansing, the cleansed rows after reconciliation): a province's line list is large.
    """

    p: RunParams
    run_dir: Path
    engine: dict[str, Any] | str | None = None  # overrides of ``p.engine`` (``vaxreport run --engine``)
    spec: EngineSpec = field(init=False)
    inputs: Inputs = field(init=False)
    cleaned: CleanResult = field(init=False)
    persons: pd.DataFrame = field(init=False)
    labels: pd.Series = field(init=False)
    #: what the sections after reconciliation need of the person records (dropped then; ``labels``
    #: is indexed by ``person_ref``): the merged records, and per person whether a record has a valid ID
    merges: pd.DataFrame = field(init=False)
    id_valid: pd.Series = field(init=False)
    id_changes: pd.DataFrame = field(init=False)
    survivors: pd.DataFrame = field(init=False)
    #: the reconciled doses, in this process or where their buckets were reconciled
    kept: KeptDoses = field(init=False)
    verification: pd.DataFrame = field(init=False)
    facts: Facts = field(init=False)
    worklists: dict[str, pd.DataFrame] = field(init=False)
    counts: dict[str, int] = field(init=False)
    review: DecisionOutcome = field(init=False)
    review_queue: pd.DataFrame = field(init=False)
    _pending: PendingWrites | None = field(init=False, default=None)
    _engine: Engine | None = field(init=False, default=None)
    #: partitioned runs: a handle per partition to its cleansed rows, where they were cleansed
    #: (``cleansed.data`` stays empty), and the person records' partitions; until reconciled
    _rows: list[Any] | None = field(init=False, default=None)
    _person_parts: PersonParts | None = field(init=False, default=None)
    #: partitioned runs: the raw dose rows' Parquet buckets, from load to cleanse
    _buckets: BucketWriter | None = field(init=False, default=None)
    _phases: dict[str, dict[str, Any]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        overrides = json.loads(self.engine) if isinstance(self.engine, str) and self.engine else self.engine
        self.spec = self.p.engine.with_overrides(**(overrides or {}))

    SECTIONS: ClassVar[tuple[str, ...]] = ("load", "cleanse", "link", "reconcile", "verify", "build_facts",
                                           "build_worklists", "save")

    @_section
    def load(self) -> dict[str, tuple[int, str | None, str]]:
        """Read the five input tables; returns ``{table: (rows, encoding, sha256 prefix)}``. A
        partitioned run streams the dose rows into their buckets instead (:meth:`_load_buckets`)."""
        from vaxreport import io

        self.inputs = self._load_buckets() if self._partitioned() else io.load_inputs(self.p.inputs)
        return {name: (src.rows, src.encoding, src.sha256[:12]) for name, src in self.inputs.sources.items()}

    def _partitioned(self) -> bool:
        """Whether the cleansing runs over partitions: on Dask, or embedded with more than one."""
        return self.spec.executor != "embedded" or self.spec.partition_count(0) > 1

    def _load_buckets(self) -> Inputs:
        """The inputs, the dose export streamed batch by batch into Parquet buckets in the scratch
        folder (``io.stream_table`` → ``phases.BucketWriter``): this process keeps only
        ``record_id, site_code, district_code`` of the raw rows (:func:`slim_inputs`). Without
        ``engine.partitions`` the count comes from the export's lines (at least its rows); when
        the rows read give another count the export is streamed again (rare: near a multiple of
        ``ROWS_PER_PARTITION``)."""
        from vaxreport import io, schemas
        from vaxreport.cleansing import phases
        from vaxreport.runner.dask_engine import scratch_dir

        self.open_engine()  # the Dask engine empties the scratch folder as it starts: before the buckets
        folder = scratch_dir(self.spec, self.run_dir) / "doses"
        province = clean_params(self.p).province_code

        def open_sink(path: Path, rows: int | None) -> phases.BucketWriter:
            if rows is None and self.spec.partitions is None:
                rows = io.count_lines(path)
            self._buckets = phases.BucketWriter(folder, self.spec.partition_count(rows or 0), province_code=province,
                                                keep=SLIM_COLUMNS)
            return self._buckets

        try:
            inputs = io.load_inputs(self.p.inputs, sinks={"doses": open_sink})
            exact = len(inputs.doses)
            if self._buckets is not None and self._buckets.partitions != self.spec.partition_count(exact):
                kept, _, _ = io.stream_table(inputs.sources["doses"].path, schemas.DOSES,
                                             lambda path, _: open_sink(path, exact))
                inputs = replace(inputs, doses=kept)
        except BaseException:
            self._drop_buckets(folder)
            raise
        return inputs

    def _drop_buckets(self, folder: Path) -> None:
        """Remove the embedded engine's bucket files, and the scratch folder if nothing else is
        in it (the Dask engine removes its scratch folder when it closes: its workers may read a
        bucket again)."""
        self._buckets = None
        if self.spec.executor == "embedded":
            shutil.rmtree(folder, ignore_errors=True)
            with suppress(OSError):
                folder.parent.rmdir()

    @_section
    def cleanse(self) -> pd.DataFrame:
        """Parse and repair every field; returns the per-step log."""
        from vaxreport.cleansing import audit

        params = clean_params(self.p)
        partitions = self.spec.partition_count(len(self.inputs.doses))
        with self._phase("cleanse", partitions=partitions):
            if self.spec.executor == "embedded" and partitions == 1:
                self.cleaned = audit.clean_doses(self.inputs.doses, params=params)
            else:
                self.cleaned, self._rows = self._clean_partitioned(params, partitions)
        self.inputs = slim_inputs(self.inputs)  # the raw dose columns are no longer needed
        return self.cleaned.log

    def _clean_partitioned(self, params: CleanParams, partitions: int) -> tuple[CleanResult, list[Any]]:
        """The cleansing over ``partitions`` buckets of the rows (``cleansing.phases``) on the
        run's engine, each read from its Parquet file in the scratch folder (written by
        :meth:`load`, or here from ``inputs.doses``). The raw dose rows never come to this
        process, and the cleansed rows stay on the workers until they are reconciled."""
        from vaxreport.cleansing import phases
        from vaxreport.runner.dask_engine import scratch_dir

        engine = self.open_engine()
        buckets = self._buckets
        if buckets is None or buckets.partitions != partitions:  # the inputs did not come from load()
            buckets = phases.BucketWriter(scratch_dir(self.spec, self.run_dir) / "doses", partitions,
                                          province_code=params.province_code)
            buckets.write(self.inputs.doses)
            buckets.finish([])
        self.inputs = slim_inputs(self.inputs)
        try:
            return phases.clean_partitioned_kept(buckets.paths, params, engine)
        finally:
            self._drop_buckets(buckets.folder)  # the embedded engine has read them

    def _cleansed_rows(self) -> int:
        """Cleansed dose rows of the run (raw less quarantined)."""
        return len(self.inputs.doses) - len(self.cleaned.quarantine)

    def open_engine(self) -> Engine:
        """The run's engine (started on first use; :meth:`close` stops it)."""
        if self._engine is None:
            from vaxreport.runner.dask_engine import open_engine

            self._engine = open_engine(self.spec, self.run_dir)
        return self._engine

    def close(self) -> None:
        """Stop the engine (a Dask cluster started for the run) and remove the scratch folder."""
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    @contextmanager
    def _phase(self, name: str, **facts: Any) -> Iterator[None]:
        """Time one phase (wall and this process's CPU) for ``cleansed/engine.json``."""
        wall, cpu = time.perf_counter(), time.process_time()
        before = self._engine.counters() if self._engine is not None else {}
        yield
        self._phases[name] = {**facts, "wall_s": round(time.perf_counter() - wall, 3),
                              "driver_cpu_s": round(time.process_time() - cpu, 3)}
        after = self._engine.counters() if self._engine is not None else {}
        # a replaced worker starts from zero: its share before the loss is not counted
        self._phases[name] |= {key: max(0, n - before.get(key, 0)) for key, n in after.items()}

    def engine_record(self) -> dict[str, Any]:
        """What ``cleansed/engine.json`` and the manifest record of where stage 1 ran."""
        described = self._engine.describe() if self._engine is not None else {"executor": self.spec.executor}
        return {"spec": self.spec.to_dict(), "engine": described, "phases": self._phases}

    @_section
    def link(self) -> str:
        """Find the same person across records (province-wide), replaying last month's decisions
        on the records that did not change (:mod:`vaxreport.linkage.replay`), and name each person
        by their smallest person code (a stable ``person_id``), or by last month's id when the
        person keeps one of last month's codes (:mod:`vaxreport.linkage.carry`); returns a
        one-line summary."""
        from vaxreport import linkage
        from vaxreport.linkage import partitioned
        from vaxreport.linkage.persons import person_id_valid, person_ids, person_merges, person_records
        from vaxreport.linkage.review import doses_per_record, link_and_queue

        if self._rows is None:
            self.persons = person_records(self.cleaned.data)
            at_stake = doses_per_record(self.cleaned.data, self.persons)
        else:  # the records come from the partitions holding the rows
            engine = self.open_engine()
            with self._phase("person_records", partitions=len(self._rows)):
                self._person_parts = partitioned.stack_persons(
                    engine.gather(engine.map(partitioned.person_part, self._rows), label="link: person records"))
            self.persons, at_stake = self._person_parts.persons, self._person_parts.doses_at_stake
        with self._phase("link", records=len(self.persons)):
            last = last_month(self.p, self.run_dir, self.persons)
            res, self.review_queue = link_and_queue(self.p, self.persons, at_stake,
                                                    prior=None if last is None else last.prior)
        carried = carry_over(last, self.persons["person_ref"],
                             person_ids(self.persons, pd.Series(res.labels, index=self.persons.index)))
        self.labels, self.id_changes = carried.ids, carried.changes
        self.survivors = linkage.survivors(self.persons, self.labels)
        self.merges = person_merges(self.persons, self.labels)
        self.id_valid = person_id_valid(self.persons, self.labels)
        self.review = res.review
        # the person records are taken: from here on the low-cardinality text is held as codes
        self.cleaned = replace(self.cleaned, data=frames.categorize(self.cleaned.data, LOW_CARDINALITY))
        since = "" if last is None else f"; ids since {period_of(last.run)}: " + ", ".join(
            f"{why} {n:,}" for why, n in carried.counts().items()) + f"; {res.carried.line()}"
        review = "" if self.p.review_decisions is None else f"; {self.review.line()}"
        return f"{len(self.persons):,} person records → {len(self.survivors):,} persons{since}{review}"

    @_section
    def reconcile(self) -> pd.DataFrame:
        """Collapse duplicate doses, order each person's doses, find sequence problems; the
        personal tables final from here on start writing in the background. Returns the
        findings by kind."""
        from vaxreport.linkage import doses, partitioned
        from vaxreport.linkage.persons import with_person_id
        from vaxreport.runner.kept import KeptInBuckets, KeptInProcess

        if self._rows is None:
            data = with_person_id(self.cleaned.data, self.persons, self.labels)
            self.cleaned = without_data(self.cleaned)  # superseded by the reconciled doses
            with self._phase("reconcile", partitions=1):
                self.kept = KeptInProcess(doses.reconcile(data))
            del data
        else:  # the reconciled rows stay where their buckets were reconciled
            assert self._person_parts is not None, "link() comes before reconcile()"
            partitions = self.spec.partition_count(self._cleansed_rows())
            with self._phase("reconcile", partitions=partitions):
                self.kept = KeptInBuckets(partitioned.reconcile_kept(
                    self._rows, self._person_parts, self.labels, self.open_engine(), partitions=partitions,
                    categorical=LOW_CARDINALITY))
            self._rows = self._person_parts = None
        self.persons = self.persons.iloc[:0]  # a province's person records: what is still needed is kept (link)
        tables = self._reconciled_tables()
        self._pending = PendingWrites(_parquet_jobs(layout.cleansed_dir(self.run_dir), tables, private=True))
        return self.kept.findings.groupby(["code", "label_vi"]).size().rename("n").reset_index()

    @_section
    def verify(self) -> pd.Series:
        """Check each person against the police's registry extract; returns counts by status."""
        from vaxreport.linkage import verify

        self.verification = verify.verify_persons(self.survivors.reset_index(), self.inputs.registry)
        return verify.status_counts(self.verification)

    @_section
    def build_facts(self) -> dict[str, int]:
        """The non-personal tables of the reports; returns their row counts."""
        from vaxreport.linkage.doses import ReconcileResult

        valid = self.id_valid.reindex(self.survivors.index).to_numpy()
        with self._phase("facts"):
            kept = ReconcileResult(data=self.kept.columns([*DOSE_COLUMNS, "dose_seq"]), findings=self.kept.findings,
                                   merged=self.kept.merged)
            self.facts = build_facts(self.inputs, self.cleaned, self.survivors.assign(id_valid=valid), kept,
                                     self.verification, self.p, summary=self.kept.person_summary())
        return {name: len(table) for name, table in self.facts.tables().items()}

    @_section
    def build_worklists(self) -> dict[str, int]:
        """The per-site correction worklists (personal data); returns lines per kind."""
        with self._phase("worklists"):
            self.worklists = self.kept.worklists(self.verification, self.merges,
                                                 unsigned_days=self.p.thresholds.unsigned_days,
                                                 as_of=self.p.period_end or self.p.report_date)
        self.worklists = {kind: frames.plain(table) for kind, table in self.worklists.items()}
        return {kind: len(table) for kind, table in self.worklists.items()}

    @_section
    def save(self) -> dict[str, int]:
        """Write stage 1 under ``<run>/cleansed``: personal tables owner-only, the facts for the
        reports, the worklists table and the summary workbook (each district's site workbooks
        are written by its stage-2 notebook, :func:`write_district_worklists`; sites of no
        district in the params get theirs now), and last month's returned worklists checked
        against this run's (:func:`check_worklist_returns`, counts only). Returns the
        row-conservation counts, also in ``conservation.json``."""
        from vaxreport.reporting import workbooks
        from vaxreport.reporting import worklists as wl

        out = layout.cleansed_dir(self.run_dir)
        private = {**self._reconciled_tables(), "persons": self.survivors.reset_index(),
                   "verification": self.verification, "id_changes": self.id_changes,
                   "review_queue": self.review_queue}
        write_json(asdict(self.review) | {"unknown": len(self.review.unknown),  # counts only: no person codes
                                          "configured": self.p.review_decisions is not None},
                   layout.review_summary(self.run_dir))
        started = self._pending.names if self._pending is not None else set()
        jobs = _parquet_jobs(out, {k: v for k, v in private.items() if k not in started}, private=True)
        facts = {name: PlainText(table) for name, table in self.facts.tables().items()}
        _write_all(jobs + _parquet_jobs(layout.facts_dir(self.run_dir), facts, private=False))
        if self._pending is not None:
            self._pending.wait()
        self.counts = {"raw": len(self.facts.doses), "cleansed": len(self.kept),
                       "merged_duplicates": len(self.kept.merged), "quarantined": len(self.cleaned.quarantine)}
        check_conservation(self.counts)
        write_json(self.counts, out / layout.CONSERVATION)
        write_json(self.engine_record(), layout.engine_json(self.run_dir))
        self.close()
        table = wl.to_table(self.worklists)
        table["district_code"] = table["site_code"].map(_site_district(self.facts.doses)).astype("string")
        write_parquet(table, layout.worklists_table(self.run_dir), private=True)
        write_parquet(check_worklist_returns(self.p, table, self.facts.doses), layout.returns_table(self.run_dir),
                      private=False)
        write_parquet(follow_up_worklists(self.p, self.run_dir, table, self.labels),
                      layout.followup_table(self.run_dir),
                      private=False)
        workbooks.write_summary_workbook(self.worklists, layout.worklists_dir(self.run_dir),
                                         province_name=", ".join(self.p.province_names()), period=self.p.period)
        orphan = ~table["district_code"].isin(list(self.p.district_names())).to_numpy(bool)
        if orphan.any():
            workbooks.write_site_workbooks(wl.from_table(table[orphan]), layout.worklists_dir(self.run_dir),
                                           province_name=self.p.province_name, period=self.p.period,
                                           summary=False)
        return self.counts

    def run(self) -> dict[str, int]:
        """Every section in order; returns the row-conservation counts."""
        try:
            for section in self.SECTIONS:
                getattr(self, section)()
        finally:
            self.close()
        return self.counts

    def _reconciled_tables(self) -> dict[str, pd.DataFrame | KeptDoses]:
        return {"doses": self.kept, "merged_doses": self.kept.merged,
                "quarantine": self.cleaned.quarantine, "audit": self.cleaned.audit,
                "findings": self.kept.findings}


def run_stage_one(p: RunParams, run_dir: Path | str) -> dict[str, int]:
    """Stage 1 in one call (what ``notebooks/cleanse.ipynb`` does section by section)."""
    return StageOne(p, Path(run_dir)).run()


def check_worklist_returns(p: RunParams, table: pd.DataFrame, dose_facts: pd.DataFrame) -> pd.DataFrame:
    """The rows the sites marked fixed in last month's returned worklists (``worklist_returns/``),
    checked against this run's worklists ``table``, as counts per district, site and kind."""
    from vaxreport.reporting import worklist_returns as wr

    sites = frames.plain(dose_facts.drop_duplicates("site_code")).set_index("site_code")
    checked = wr.check_returns(wr.read_returns(wr.returns_folder(p)), table)
    return wr.summarise(checked, sites["district_code"], sites["site_name"] if "site_name" in sites else None)


def with_worklist_returns(doc: ReportDoc, run_dir: Path | str, district_code: str | Collection[str] | None
                          ) -> ReportDoc:
    """``doc`` with the sentence on last month's returned worklists in section II (the district's
    sites — or those of several districts: one province's in a run covering several — or all for
    the province); unchanged when none came back or stage 1 checked none."""
    from vaxreport.reporting import worklist_returns as wr

    summary = _district_counts(layout.returns_table(run_dir), district_code)
    return doc if summary is None else wr.add_to_report(doc, summary)


def with_worklist_followup(doc: ReportDoc, run_dir: Path | str, district_code: str | Collection[str] | None
                           ) -> ReportDoc:
    """``doc`` with the sentence on last month's worklist lines fixed by now in section II (the
    district's lines, or several districts', or all for the province); unchanged when there were none."""
    from vaxreport.reporting import followup

    summary = _district_counts(layout.followup_table(run_dir), district_code)
    return doc if summary is None else doc.with_block(1, followup.followup_paragraph(summary))


def _district_counts(path: Path, district_code: str | Collection[str] | None) -> pd.DataFrame | None:
    """A stage-1 counts table (``district_code`` column): the district's rows (or several
    districts'), or all for the province; None when stage 1 wrote none."""
    if not path.exists():
        return None
    summary = pd.read_parquet(path)
    if district_code is not None:
        codes = [district_code] if isinstance(district_code, str) else list(district_code)
        summary = summary[summary["district_code"].isin(codes).fillna(False).to_numpy(bool)]
    return summary


def with_review_decisions(doc: ReportDoc, run_dir: Path | str) -> ReportDoc:
    """``doc`` with the sentence on the clerical review decisions stage 1 replayed (and on unknown
    person codes) after the cleansing results; unchanged when the params name no decisions file."""
    from vaxreport.reporting.narrative import add_review_paragraph

    path = layout.review_summary(run_dir)
    return add_review_paragraph(doc, json.loads(path.read_text(encoding="utf-8"))) if path.exists() else doc


def _site_district(dose_facts: pd.DataFrame) -> pd.Series:
    """District of each site as recorded in the dose facts (first row of the site)."""
    return frames.plain(dose_facts.drop_duplicates("site_code")).set_index("site_code")["district_code"]


def write_district_worklists(run_dir: Path | str, p: RunParams, district_code: str) -> list[Path]:
    """Stage 2: the correction workbooks of one district's sites, under ``cleansed/worklists/``
    (personal data stays in the owner-only stage-1 folder). Returns the files written."""
    from vaxreport.reporting import workbooks
    from vaxreport.reporting import worklists as wl

    table = pd.read_parquet(layout.worklists_table(run_dir), filters=[("district_code", "==", district_code)])
    if table.empty:
        return []
    return workbooks.write_site_workbooks(wl.from_table(table), layout.worklists_dir(run_dir),
                                          province_name=p.province_name_of(district_code), period=p.period,
                                          summary=False)


def open_run(params_path: str, run_dir: str, *, need_stage_one: bool = False) -> tuple[RunParams, Path]:
    """Params and run folder for a notebook; empty arguments give the tiny example province.

    With ``need_stage_one`` (report notebooks opened by hand), stage 1 is run for the example
    province if its run folder has no facts yet.
    """
    example = not params_path
    if example:
        from vaxreport.synth.example import example_params

        params_path = str(example_params())
    p = RunParams.from_yaml(params_path)
    folder = Path(run_dir) if run_dir else Path(params_path).parent / "run"
    if need_stage_one and example and not (layout.facts_dir(folder) / "units.parquet").exists():
        run_stage_one(p, folder)
    return p, folder


def report_timestamp(p: RunParams) -> datetime:
    """The fixed PDF timestamp of a run: the report date at 00:00 UTC (byte-identical PDFs)."""
    return datetime(p.report_date.year, p.report_date.month, p.report_date.day, tzinfo=UTC)


def render_report(doc: ReportDoc, facts: Facts, indicators: ReportMetrics, p: RunParams, *,
                  unit_code: str | None, unit_name: str, out: Path, run_dir: Path | str | None = None) -> Path:
    """Stages 2 and 3: write ``report.pdf``, its editable twins ``report.docx`` and
    ``indicators.xlsx`` (:func:`write_editable`) and ``metrics.json`` into the unit's folder
    ``out``; returns the PDF's path. With ``run_dir``, the sites' fixes of last month's worklists
    are stated first (:func:`with_worklist_returns`) and the appendix lists the recorded inputs."""
    from vaxreport.reporting import metrics
    from vaxreport.reporting.report import write_pdf

    if run_dir is not None:
        doc = with_review_decisions(doc, run_dir)
        # a province report of a run covering several provinces: its own districts' lines
        scope: str | list[str] | None = p.district_codes() if unit_code is None and p.provinces else unit_code
        doc = with_worklist_returns(with_worklist_followup(doc, run_dir, scope), run_dir, scope)
    pdf = write_pdf(doc, out / "report.pdf", timestamp=report_timestamp(p))
    write_editable(doc, indicators, out, p, run_dir)
    summary = metrics.metrics_json(facts, unit_code=unit_code, unit_name=unit_name, period=p.period,
                                   indicators=indicators)
    write_json(summary, out / "metrics.json")
    return pdf


#: The indicator sheets of the appendix beside each report: sheet name -> ``ReportMetrics`` field.
APPENDIX_FRAMES = {"Chỉ tiêu theo xã, phường": "communes", "Chỉ tiêu theo cơ sở tiêm": "sites"}


def appendix_info(p: RunParams, run_dir: Path | str | None = None) -> list[tuple[str, str]]:
    """The "Thông tin" lines of ``indicators.xlsx``: period, every input file with its sha256 (as
    the runner recorded it for the manifest, :func:`vaxreport.layout.inputs_json`; else its
    size), the params file and its sha256."""
    from vaxreport.reporting.report.format import fmt_date_short

    start, end = p.period_start, p.period_end
    assert start is not None and end is not None, "RunParams.from_dict sets the period bounds"
    lines = [("Kỳ báo cáo", f"{p.period} (từ {fmt_date_short(start)} đến {fmt_date_short(end)})"),
             ("Ngày báo cáo", fmt_date_short(p.report_date))]
    recorded = layout.inputs_json(run_dir) if run_dir is not None else None
    if recorded is not None and recorded.is_file():
        hashes = json.loads(recorded.read_text(encoding="utf-8"))["inputs"]
        lines += [("Nguồn dữ liệu", f"{name}, sha256 {digest}") for name, digest in sorted(hashes.items())]
    else:
        folder = Path(p.inputs)
        files = sorted(f for f in folder.iterdir() if f.is_file()) if folder.is_dir() else []
        lines += [("Nguồn dữ liệu", f"{f.name} ({f.stat().st_size:,} byte)".replace(",", ".")) for f in files]
    if p.source is not None and Path(p.source).is_file():
        lines.append(("Tham số", f"{Path(p.source).name}, sha256 {sha256_file(Path(p.source))}"))
    lines.append(("Biên bản chạy", "manifest.json của lần chạy: sha256 của dữ liệu vào, tham số và mọi tệp kết quả"))
    return lines


def write_editable(doc: ReportDoc, indicators: ReportMetrics, out: Path | str, p: RunParams,
                   run_dir: Path | str | None = None) -> tuple[Path, Path]:
    """Beside ``report.pdf``: ``report.docx`` (the same ``doc``, editable) and ``indicators.xlsx``
    (its tables as typed numbers, plus the per-commune and per-site indicators). Same inputs ⇒
    same bytes (dated from the report date). Returns both paths."""
    from vaxreport.reporting.report.docx import write_docx
    from vaxreport.reporting.report.xlsx import write_xlsx

    out, ts = Path(out), report_timestamp(p)
    frames = {name: getattr(indicators, attr) for name, attr in APPENDIX_FRAMES.items()}
    return (write_docx(doc, out / "report.docx", timestamp=ts),
            write_xlsx(doc, out / "indicators.xlsx", timestamp=ts, frames=frames, info=appendix_info(p, run_dir)))


def district_rollup(run_dir: Path | str, p: RunParams) -> tuple[pd.DataFrame, list[str]]:
    """The district table of the province report, from each district's ``metrics.json`` (stage 2).

    Returns the table (one row per district whose report succeeded, headline counts and
    percentages as in ``metrics.by_district``) and the names of districts with no report.
    """
    from vaxreport.reporting.metrics import Ratio, headline_row

    rows, missing = [], []
    for code, name in p.district_names().items():
        path = layout.unit_path(run_dir, code, name) / "metrics.json"
        if not path.exists():
            missing.append(name)
            continue
        m = json.loads(path.read_text(encoding="utf-8"))
        rows.append(headline_row(code, name, {k: Ratio(r["num"], r["den"]) for k, r in m["headline"].items()}))
    columns = ["district_code", "district_name"] + [f"{k}_{part}" for k in ("entry", "feedback", "signing",
                                                                          "police_verified")
                                                     for part in ("num", "den", "pct")]
    return pd.DataFrame(rows, columns=columns), missing


def open_province(p: RunParams, run_dir: Path | str, province_code: str = "") -> tuple[RunParams, Facts, Path]:
    """Stage 3: the province report's params, facts and output folder. A one-province run: the
    params, all facts, ``province/``. A run covering several provinces: ``province_code``'s own
    params (:meth:`RunParams.for_province`; default the issuing province), the facts of its
    districts, ``provinces/<code>-<slug>/``."""
    from vaxreport.facts import load_facts

    if not p.provinces:
        return p, load_facts(run_dir), layout.unit_dir(run_dir, None, p.province_name)
    own = p.for_province(province_code or p.province_code)
    folder = layout.province_path(run_dir, own.province_code, own.province_name)
    folder.mkdir(parents=True, exist_ok=True)
    return own, load_facts(run_dir).within(own.district_codes()), folder


def previous_metrics(run_dir: Path | str, p: RunParams, code: str | None, name: str, *,
                     folder: Path | None = None) -> dict[str, Any] | None:
    """The same unit's ``metrics.json`` in last month's run (``previous_run:``, else the previous
    period's folder beside this one: ``outputs/2022-04`` for ``outputs/2022-05``), if that run
    completed; else None. ``folder``: the unit's folder in this run (a province report's in a
    run covering several provinces), the same relative path is read in last month's."""
    previous = previous_run(p, run_dir)
    if previous is None:
        return None
    unit = layout.unit_path(previous, code, name) if folder is None else previous / folder.relative_to(run_dir)
    path = unit / "metrics.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
