"""Smoke test of the benchmark harness (bench/run_bench.py) at a tiny scale, peers disabled.

Checks the mechanics only (child processes measured, figures stored, one table written);
never asserts a timing.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import nbformat
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "run_bench.py"


@pytest.fixture(scope="module")
def rb():
    spec = importlib.util.spec_from_file_location("run_bench", BENCH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["run_bench"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_measure_child_process(rb):
    res = rb.measure([sys.executable, "-c", "import json; print(json.dumps({'ok': 1}))"])
    assert res["rc"] == 0 and not res["timed_out"]
    assert rb.last_json(res["stdout"]) == {"ok": 1}
    assert res["wall"] > 0 and res["peak_gb"] > 0 and res["cpu"] >= 0


def test_table_median_range_and_targets(rb, tmp_path):
    store = rb.Store(tmp_path / "r.json")
    for v, load in ((3.0, 1.0), (1.0, 2.5), (2.0, 1.5)):
        store.add("whole", "scale 1: stage 1", v, unit="s", load=load, at="19:00", target="≤ 1.5")
    store.add("dedup", "x: records/s", 60_000, unit="rec/s", load=None, target="≥ 50,000")
    store.save()
    md = rb.table(rb.Store(tmp_path / "r.json"))
    line = next(l for l in md.splitlines() if "stage 1" in l)
    assert "| 2.00 | 1.00–3.00 | 3 | s | ≤ 1.5 ✗ (+33%) | 1.0–2.5 | 19:00 |" in line
    assert "≥ 50,000 ✓" in md


def test_notebook_steps_from_papermill_metadata(rb, tmp_path):
    nb = nbformat.v4.new_notebook()
    srcs = [("p, run = open_run(a, b)", 0.5), ("stage.load()", 2.0),
            ("stage.cleanse()", 3.0), ("stage.cleaned.audit.groupby('rule')", 0.25),
            ("stage.link()", 4.0), ("display(1)", 0.1)]
    for src, dur in srcs:
        cell = nbformat.v4.new_code_cell(src)
        cell.metadata["papermill"] = {"duration": dur}
        nb.cells.append(cell)
    path = tmp_path / "executed.ipynb"
    nbformat.write(nb, path)
    steps = rb.notebook_steps(path)
    assert steps["load"] == 2.0 and steps["cleanse"] == 3.25 and steps["dedup"] == 4.0
    assert steps["other"] == pytest.approx(0.1) and steps["cells total"] == pytest.approx(9.85)


@pytest.mark.notebooks  # runs the bench's child processes
def test_quick_dedup_section_writes_one_table(rb, tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text("old\n" + rb.ANALYSIS_MARK + "\n## Analysis\nkept text\n", encoding="utf-8")
    from vaxreport.synth.example import example_params

    synth = example_params().parent  # the tiny example province, generated once and shared
    rc = rb.main(["--quick", "--only", "dedup", "--no-peers", "--dedup-scales", "0.001", "--dedup-data", str(synth),
                  "--work", str(tmp_path / "work"), "--results", str(results), "--fresh"])
    assert rc == 0
    md = results.read_text(encoding="utf-8")
    assert md.count("| section | measure |") == 1
    assert "kept text" in md and "old\n" not in md
    f1 = next(l for l in md.splitlines() if "vaxreport: pairwise f1" in l)
    assert 0.5 < float(f1.split("|")[3]) <= 1.0
    assert "CPUs" in md and "pandas" in md
    stored = json.loads((tmp_path / "work" / "results-quick.json").read_text(encoding="utf-8"))
    assert any(k.startswith("dedup|") for k in stored)
