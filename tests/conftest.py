"""Shared fixtures. ``demo_run``: one tiny end-to-end demo per test session, reused by every
test that needs a whole run (PDFs, HTML, parquet, manifest).

The demo runs as ``vaxreport demo`` in a subprocess, like a user's terminal, so that what it
prints is captured too (``demo_logs``; the privacy tests scan it). Treat its folders as
read-only: copy before changing anything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vaxreport import runner

DEMO_SCALE = 0.002
DEMO_SEED = 11


def vaxreport_cmd(*args: str) -> list[str]:
    """The command line of ``vaxreport ARGS`` run by the interpreter running the tests."""
    return [sys.executable, "-m", "vaxreport.cli", *args]


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> runner.RunResult:
    """``vaxreport demo --scale 0.002`` into a temp folder (synthetic data in ``<out>/data``).

    Returns the ``RunResult`` rebuilt from the run's manifest; ``<out>/stdout.txt`` and
    ``<out>/stderr.txt`` hold what the command printed.
    """
    root = tmp_path_factory.mktemp("demo")
    jobs = min(2, os.cpu_count() or 1)
    t0 = time.perf_counter()
    proc = subprocess.run(
        vaxreport_cmd("demo", "--scale", str(DEMO_SCALE), "--seed", str(DEMO_SEED), "--jobs", str(jobs),
                      "--out", str(root), "--force"),
        capture_output=True, text=True, timeout=1200, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    seconds = time.perf_counter() - t0
    (root / "stdout.txt").write_text(proc.stdout, encoding="utf-8")
    (root / "stderr.txt").write_text(proc.stderr, encoding="utf-8")
    manifest = root / "run" / runner.MANIFEST
    assert proc.returncode == 0 and manifest.exists(), (
        f"demo failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    notebooks = [runner.NotebookRun(**nb) for nb in json.loads(manifest.read_text("utf-8"))["notebooks"]]
    result = runner.RunResult(out=(root / "run").resolve(), notebooks=notebooks, seconds=seconds)
    assert result.ok, result.describe()
    return result


@pytest.fixture(scope="session")
def demo_data(demo_run: runner.RunResult) -> Path:
    """The synthetic province folder of ``demo_run`` (inputs/, truth/, params.yaml)."""
    return demo_run.out.parent / "data"


@pytest.fixture(scope="session")
def demo_logs(demo_run: runner.RunResult) -> dict[str, str]:
    """What ``vaxreport demo`` printed: ``{"stdout": ..., "stderr": ...}``."""
    root = demo_run.out.parent
    return {name: (root / f"{name}.txt").read_text(encoding="utf-8") for name in ("stdout", "stderr")}
