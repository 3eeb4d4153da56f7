"""``vaxreport run --engine dask`` and ``--partitions 16`` on the demo province: the same bytes as
the default run (every table, PDF, DOCX, XLSX and metrics.json), the engine in the manifest, no
scratch left."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import vaxreport_cmd

from vaxreport import layout

pytest.importorskip("distributed")

OUTPUTS = ("*.parquet", "*.pdf", "*.docx", "*.xlsx", "metrics.json", "conservation.json")


def _digests(run: Path) -> dict[str, str]:
    files = sorted({f for pattern in OUTPUTS for f in run.rglob(pattern)})
    return {str(f.relative_to(run)): hashlib.sha256(f.read_bytes()).hexdigest() for f in files}


@pytest.mark.parametrize(("engine", "partitions"), [("dask", 3), ("embedded", 16)])
def test_partitioned_run_gives_the_embedded_bytes(demo_run, demo_data, tmp_path, engine, partitions):
    """Dask with 3 partitions, and the in-process engine with 16: the bytes of the default run."""
    out = tmp_path / "2022-05"
    proc = subprocess.run(vaxreport_cmd("run", str(demo_data / "params.yaml"), "--out", str(out), "--engine", engine,
                                        "--workers", "2", "--partitions", str(partitions), "--jobs", "2"),
                          capture_output=True, text=True, timeout=1200, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    embedded, partitioned = _digests(demo_run.out), _digests(out)
    assert len(embedded) > 50
    assert partitioned == embedded
    manifest = json.loads((out / layout.MANIFEST).read_text(encoding="utf-8"))
    assert manifest["engine"]["engine"]["executor"] == engine
    assert manifest["engine"]["phases"]["cleanse"]["partitions"] == partitions
    assert manifest["engine"]["phases"]["reconcile"]["partitions"] == partitions
    phases = manifest["engine"]["phases"]
    assert {"cleanse", "person_records", "link", "reconcile"} <= set(phases)
    if engine == "dask":  # the reconcile buckets gather their pieces from both workers' partitions
        assert all(isinstance(ph["shuffle_bytes"], int) and ph["spilled_bytes"] >= 0 for ph in phases.values())
        assert phases["reconcile"]["shuffle_bytes"] > 0
    else:
        assert not any("shuffle_bytes" in ph for ph in phases.values())
    assert manifest["params"]["engine"]["executor"] == "embedded"  # the params' own; the CLI won
    assert not (tmp_path / "2022-05.scratch").exists()
    embedded_manifest = json.loads((demo_run.out / layout.MANIFEST).read_text(encoding="utf-8"))
    assert embedded_manifest["engine"]["engine"] == {"executor": "embedded"}
