"""Partition invariance of the partition-wise cleansing (``cleansing.phases``): 1, 3 and 16
partitions give the same tables — values, dtypes and order — as one ``clean_doses`` call."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from vaxreport import io, schemas
from vaxreport.cleansing import audit, phases
from vaxreport.cleansing.protocol import CleanParams
from vaxreport.engine import Embedded, EngineSpec
from vaxreport.params import RunParams
from vaxreport.runner.stages import SLIM_COLUMNS, StageOne, clean_params, slim_inputs
from vaxreport.synth.province import generate


@pytest.fixture(scope="module")
def province_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("phases")
    generate(out, scale=0.003, seed=13)
    return out


@pytest.fixture(scope="module")
def province(province_folder: Path) -> tuple[pd.DataFrame, CleanParams]:
    p = RunParams.from_yaml(province_folder / "params.yaml")
    return io.load_inputs(p.inputs).doses, clean_params(p)


def _same_files(streamed: list[Path], written: list[Path]) -> None:
    """The same partition files: names, Arrow types and frames read back."""
    assert [p.name for p in streamed] == [p.name for p in written]
    for a, b in zip(streamed, written, strict=True):
        assert pq.read_schema(a).remove_metadata() == pq.read_schema(b).remove_metadata()
        pd.testing.assert_frame_equal(pd.read_parquet(a), pd.read_parquet(b), check_exact=True)


@pytest.mark.parametrize(("partitions", "row_group", "buffer_rows"), [(3, 65_536, 500_000), (16, 50, 400)])
def test_streamed_buckets_are_the_split_partitions(province_folder, province, tmp_path: Path, partitions, row_group,
                                                   buffer_rows):
    """The export streamed in small batches (row groups and flushes of every size) into a
    ``BucketWriter``: the files ``split_rows`` + ``write_partitions`` make of the whole table, and
    the kept columns of every row."""
    doses, params = province
    written = phases.write_partitions(phases.split_rows(doses, partitions, province_code=params.province_code),
                                      tmp_path / "whole")
    sinks: list[phases.BucketWriter] = []

    def open_sink(_path: Path, _rows: int | None) -> phases.BucketWriter:
        sinks.append(phases.BucketWriter(tmp_path / "streamed", partitions, province_code=params.province_code,
                                         keep=SLIM_COLUMNS, row_group=row_group, buffer_rows=buffer_rows))
        return sinks[-1]

    path = io.find_input(province_folder / "inputs", "doses")
    kept, _, _ = io.stream_table(path, schemas.DOSES, open_sink, block_size=1 << 16)
    assert len(sinks) == 1 and sinks[0].rows == len(doses) > 3 * (row_group if row_group < 100 else 0)
    _same_files(sinks[0].paths, written)
    assert sorted(p.name for p in (tmp_path / "streamed").iterdir()) == [p.name for p in written]
    pd.testing.assert_frame_equal(kept, doses[list(SLIM_COLUMNS)], check_exact=True)


def test_bucket_writer_drops_columns_and_discards(province, tmp_path: Path):
    """Columns dropped at the end leave every file (what the whole table without them gives);
    ``discard`` forgets the rows taken; empty buckets leave no file."""
    doses, params = province
    writer = phases.BucketWriter(tmp_path / "w", 64, province_code=params.province_code, row_group=100)
    writer.write(doses.iloc[:50])
    writer.discard()
    assert writer.rows == 0 and not list((tmp_path / "w").iterdir())
    few = doses.iloc[:100]
    for lo in range(0, len(few), 7):
        writer.write(few.iloc[lo:lo + 7].assign(note="x"))
    writer.finish(["note"])
    written = phases.write_partitions(phases.split_rows(few, 64, province_code=params.province_code), tmp_path / "ref")
    assert len(written) < 64  # 100 rows: some buckets are empty, and left out
    _same_files(writer.paths, written)


def _same(a: audit.CleanResult, b: audit.CleanResult) -> None:
    for f in fields(audit.CleanResult):
        if f.name == "log":
            continue
        pd.testing.assert_frame_equal(getattr(a, f.name), getattr(b, f.name), check_exact=True, obj=f.name)
    counts = ["step", "rows_in", "rows_out", "changes"]
    pd.testing.assert_frame_equal(a.log[counts], b.log[counts], obj="log")


@pytest.mark.parametrize("partitions", [1, 3, 16])
def test_partitions_give_the_one_run_tables(province, partitions):
    doses, params = province
    whole = audit.clean_doses(doses, params=params)
    parts = phases.split_rows(doses, partitions, province_code=params.province_code)
    assert sum(len(p) for p in parts) == len(doses)
    _same(phases.clean_partitioned(parts, params, Embedded(EngineSpec())), whole)


def test_partitions_read_back_from_parquet(province, tmp_path: Path):
    doses, params = province
    parts = phases.split_rows(doses, 3, province_code=params.province_code)
    paths = phases.write_partitions(parts, tmp_path)
    _same(phases.clean_partitioned(paths, params, Embedded(EngineSpec())),
          audit.clean_doses(doses, params=params))


def test_rows_of_one_person_share_a_partition(province):
    doses, params = province
    bucket = pd.Series(phases.bucket_of(doses, 16, province_code=params.province_code))
    refs = doses["person_ref"].str.strip().to_numpy()
    assert bucket.groupby(refs).nunique().max() == 1
    assert bucket.nunique() == 16


def test_name_evidence_is_the_runs_not_the_partitions(province):
    """A name valid both as Unicode and as VNI is decided by the whole column: the partition
    holding it alone would keep it as typed."""
    doses, params = province
    lone = doses.iloc[:1].assign(full_name="Hoà Thò An", person_ref="lone-person", site_code="LONE")
    many = pd.concat([doses, lone], ignore_index=True)
    whole = audit.clean_doses(many, params=params)
    parts = phases.split_rows(many, 16, province_code=params.province_code)
    holder = next(p for p in parts if p["person_ref"].eq("lone-person").any())
    assert holder["full_name"].eq("Hoà Thò An").sum() == 1  # no other name of its partition says so
    split = phases.clean_partitioned(parts, params, Embedded(EngineSpec()))
    name = split.data.loc[split.data["person_ref"].eq("lone-person"), "full_name"].tolist()
    assert name == whole.data.loc[whole.data["person_ref"].eq("lone-person"), "full_name"].tolist()
    assert name == ["Hồ Thị An"]
    alone = audit.clean_doses(lone, params=params)
    assert alone.data["full_name"].tolist() == ["Hòa Thò An"]  # read as Unicode (tone mark moved)


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """The tiny province's cleansed doses with their ``person_id``, as stage 1 reconciles them."""
    from vaxreport.linkage.persons import with_person_id
    from vaxreport.runner.stages import StageOne

    out = tmp_path_factory.mktemp("linked")
    generate(out, scale=0.003, seed=13)
    stage = StageOne(RunParams.from_yaml(out / "params.yaml"), out / "run")
    stage.load()
    stage.cleanse()
    stage.link()
    return with_person_id(stage.cleaned.data, stage.persons, stage.labels)


def _same_reconciled(a, b) -> None:
    for name in ("data", "findings", "merged"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True, obj=name)


@pytest.mark.parametrize("partitions", [1, 3, 16])
def test_reconcile_over_person_buckets_gives_the_one_call_tables(linked, partitions):
    from vaxreport.linkage import doses, partitioned

    whole = doses.reconcile(linked)
    assert len(whole.findings) and len(whole.merged)
    parts = partitioned.split_by_person(linked, partitions)
    assert len(parts) == partitions
    assert sum(len(p) for p in parts) == len(linked)
    _same_reconciled(partitioned.reconcile_partitioned(parts, Embedded(EngineSpec())), whole)


def test_reconcile_buckets_read_back_from_parquet(linked, tmp_path: Path):
    """What Dask workers read: categorical columns and index labels survive the round trip."""
    from vaxreport.linkage import doses, partitioned

    paths = phases.write_partitions(partitioned.split_by_person(linked, 3), tmp_path, index=True)
    _same_reconciled(partitioned.reconcile_partitioned(paths, Embedded(EngineSpec())), doses.reconcile(linked))


def _stage_through_reconcile(folder: Path, partitions: int):
    from vaxreport.runner.stages import StageOne

    stage = StageOne(RunParams.from_yaml(folder / "params.yaml"), folder / f"run-{partitions}",
                     {"partitions": partitions})
    for section in ("load", "cleanse", "link"):
        getattr(stage, section)()
    persons = stage.persons
    stage.reconcile()
    assert stage.persons.empty  # dropped once reconciled
    stage.persons = persons
    return stage


@pytest.fixture(scope="module")
def tiny_province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("kept")
    # a seed whose few thousand records hold pairs near the threshold (a review queue to compare);
    # with the dose histories as evidence, seed 13's tiny province has none
    generate(out, scale=0.003, seed=14)
    return out


@pytest.mark.parametrize("partitions", [3, 16])
def test_rows_kept_in_partitions_link_and_reconcile_as_one_run(tiny_province, partitions):
    """The cleansed rows never come together (``clean_partitioned_kept``): the person records,
    the linkage, the review queue and the reconciled tables are still those of one partition."""
    one, split = _stage_through_reconcile(tiny_province, 1), _stage_through_reconcile(tiny_province, partitions)
    assert split.cleaned.data.empty and list(split.cleaned.data.columns) == list(one.cleaned.data.columns)
    for name in ("audit", "quarantine", "flags"):
        pd.testing.assert_frame_equal(getattr(split.cleaned, name), getattr(one.cleaned, name), check_exact=True)
    pd.testing.assert_frame_equal(split.persons, one.persons, check_exact=True)
    pd.testing.assert_series_equal(split.labels, one.labels, check_exact=True)
    pd.testing.assert_frame_equal(split.review_queue, one.review_queue, check_exact=True)
    assert len(one.review_queue) and len(one.kept.merged) and len(one.kept.findings)
    assert one.labels.nunique() < len(one.labels)  # some records were linked
    _same_reconciled(split.kept.gathered(), one.kept.gathered())


def test_a_person_code_in_two_partitions_is_refused():
    from vaxreport.linkage import partitioned

    part = pd.DataFrame({"person_ref": ["a"], "full_name": ["X"]}, index=[0])
    with pytest.raises(RuntimeError, match="two partitions"):
        partitioned.stack_persons([partitioned.person_part(part), partitioned.person_part(part.set_axis([1]))])


def _partitioned_load(folder: Path, run: Path, engine: dict) -> tuple[StageOne, io.Inputs]:
    stage = StageOne(RunParams.from_yaml(folder / "params.yaml"), run, engine)
    stage.load()
    return stage, io.load_inputs(stage.p.inputs)


def test_partitioned_load_streams_the_buckets_and_keeps_the_inputs(province_folder, tmp_path: Path):
    """A partitioned stage 1 loads the inputs it loads whole, but for the raw dose columns it
    no longer needs, and the dose rows are in their buckets; cleansed, the buckets are gone."""
    stage, whole = _partitioned_load(province_folder, tmp_path / "run", {"partitions": 3})
    assert stage.inputs.sources == whole.sources and stage.inputs.warnings == whole.warnings
    pd.testing.assert_frame_equal(stage.inputs.doses, slim_inputs(whole).doses, check_exact=True)
    for name in ("site_tallies", "feedback", "registry", "population"):
        pd.testing.assert_frame_equal(stage.inputs.table(name), whole.table(name), check_exact=True)
    assert stage._buckets is not None
    _same_files(stage._buckets.paths, phases.write_partitions(
        phases.split_rows(whole.doses, 3, province_code=clean_params(stage.p).province_code), tmp_path / "ref"))
    stage.cleanse()
    assert not (tmp_path / "run.scratch").exists()


def test_a_line_count_that_gives_another_partition_count_streams_again(province_folder, tmp_path, monkeypatch):
    """Without ``engine.partitions`` the count comes from the export's lines; when its rows give
    another count, the export is streamed again into that many buckets."""
    from vaxreport.runner import stages

    monkeypatch.setattr(stages.StageOne, "open_engine", lambda self: Embedded(self.spec))
    monkeypatch.setattr(io, "count_lines", lambda path: 10_000_000)  # 14 partitions of 750 k rows
    stage, whole = _partitioned_load(province_folder, tmp_path / "run", {"executor": "dask", "workers": 2})
    assert stage._buckets is not None and stage._buckets.partitions == 2 == stage.spec.partition_count(len(whole.doses))
    _same_files(stage._buckets.paths, phases.write_partitions(
        phases.split_rows(whole.doses, 2, province_code=clean_params(stage.p).province_code), tmp_path / "ref"))
    pd.testing.assert_frame_equal(stage.inputs.doses, slim_inputs(whole).doses, check_exact=True)
