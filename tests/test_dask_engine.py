"""The Dask engine on a 2-worker ``LocalCluster``: the same tables as the embedded run, a worker
killed mid-run is recovered from (Dask re-runs what it held), and a task that kills every worker it
runs on stops the run with one message. The whole-run byte comparison is in ``test_pipeline``."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pandas as pd
import pytest

distributed = pytest.importorskip("distributed")

from vaxreport import io  # noqa: E402
from vaxreport.cleansing import audit, phases  # noqa: E402
from vaxreport.engine import EngineSpec  # noqa: E402
from vaxreport.exceptions import RunError  # noqa: E402
from vaxreport.params import RunParams  # noqa: E402
from vaxreport.runner.dask_engine import DaskEngine, scratch_dir  # noqa: E402
from vaxreport.runner.stages import clean_params  # noqa: E402
from vaxreport.synth.province import generate  # noqa: E402


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("dask")
    generate(out, scale=0.002, seed=17)
    p = RunParams.from_yaml(out / "params.yaml")
    doses, params = io.load_inputs(p.inputs).doses, clean_params(p)
    return doses, params, audit.clean_doses(doses, params=params), out


@pytest.fixture(scope="module")
def engine(province):
    eng = DaskEngine(EngineSpec("dask", workers=2, memory_limit="2GB"), province[3] / "run.scratch")
    yield eng
    eng.close()
    assert not (province[3] / "run.scratch").exists()  # the scratch folder goes with the engine


def _same(a: audit.CleanResult, b: audit.CleanResult) -> None:
    for name in ("data", "audit", "quarantine", "flags"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True, obj=name)


def test_dask_gives_the_embedded_tables(province, engine, capsys):
    doses, params, whole, out = province
    paths = phases.write_partitions(phases.split_rows(doses, 3, province_code=params.province_code),
                                    engine.scratch / "doses")
    _same(phases.clean_partitioned(paths, params, engine), whole)
    assert engine.describe()["workers"] == 2
    progress = capsys.readouterr().err
    assert "cleanse: evidence" in progress and "cleanse: repair" in progress and "3/3" in progress


def test_a_worker_killed_mid_run_is_recovered_from(province, engine):
    doses, params, whole, out = province
    paths = phases.write_partitions(phases.split_rows(doses, 4, province_code=params.province_code),
                                    engine.scratch / "killed")
    runs = engine.map(phases.clean_head, paths, params=params)
    distributed.wait(runs)
    holders = {w for ws in engine.client.who_has(runs).values() for w in ws}
    victim = sorted(holders)[0]
    pid = engine.client.run(os.getpid, workers=[victim])[victim]
    os.kill(pid, signal.SIGKILL)  # the nanny starts a new worker; what the dead one held is recomputed
    evidence = phases.merge_name_evidence(engine.gather(engine.map(phases.head_evidence, runs)))
    results = engine.gather(engine.map(phases.clean_tail, runs, params=params, evidence=evidence))
    _same(audit.combine_results(results), whole)


def _kill_my_worker(_: object) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_task_that_kills_every_worker_stops_with_one_message(province, engine):
    with pytest.raises(RunError, match="a Dask worker died each time it ran"):
        engine.gather(engine.map(_kill_my_worker, [1]))


def test_scratch_is_beside_the_run_folder(tmp_path: Path):
    assert scratch_dir(EngineSpec("dask"), tmp_path / "2022-05") == tmp_path / "2022-05.scratch"
    assert scratch_dir(EngineSpec("dask", scratch=tmp_path / "big"), tmp_path / "x") == tmp_path / "big"
