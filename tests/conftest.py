"""Shared fixtures. ``demo_run``: one tiny end-to-end demo per test session, reused by every
test that needs a whole run (PDFs, HTML, parquet, manifest)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vaxreport import runner

DEMO_SCALE = 0.002


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> runner.RunResult:
    """``vaxreport demo --scale 0.002`` into a temp folder (synthetic data in ``<out>/data``)."""
    out = tmp_path_factory.mktemp("demo")
    jobs = min(2, os.cpu_count() or 1)
    result = runner.demo(out, scale=DEMO_SCALE, seed=11, jobs=jobs, force=True, progress=False)
    assert result.ok, result.describe()
    return result


@pytest.fixture(scope="session")
def demo_data(demo_run: runner.RunResult) -> Path:
    """The synthetic province folder of ``demo_run`` (inputs/, truth/, params.yaml)."""
    return demo_run.out.parent / "data"
