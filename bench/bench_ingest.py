"""The driver's cost of stage 1's load and cleanse in a partitioned run, before and after the
streaming ingest (issue 13): peak resident memory of the driver process (sampled every 50 ms),
its CPU, the wall time and the CPU of its children (the Dask workers), per phase.

*before* runs the package as it was at ``--before`` (default: the commit this branch started
from; exported with ``git archive`` into ``--work``, first on ``sys.path``): the whole export
read on the driver, then ``split_rows`` + ``write_partitions``. *after* runs this tree: the dose
export streamed into the Parquet buckets (``io.stream_table`` → ``phases.BucketWriter``). Each
variant runs in a fresh process, ``--runs`` times alternately, on the same inputs.

    .venv/bin/vaxreport synth --out bench/_work/ingest-1/data --scale 1
    .venv/bin/python bench/bench_ingest.py --data bench/_work/ingest-1/data --engine dask --workers 2 --partitions 4
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from rss import PeakRSS  # noqa: E402

BASE = "5ff7160"  # main when the streaming ingest was started
SRC = "BENCH_INGEST_SRC"  # environment: the folder holding the 'before' package


def _children_cpu() -> float:
    total = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            t = child.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def child(params: Path, run_dir: Path, engine: dict[str, Any]) -> dict[str, Any]:
    """Load and cleanse in this process; the figures of each phase."""
    if os.environ.get(SRC):  # the 'before' package, ahead of this tree (which an editable install names)
        sys.path.insert(0, os.environ[SRC])
    import vaxreport
    from vaxreport.params import RunParams
    from vaxreport.runner.stages import StageOne

    stage = StageOne(RunParams.from_yaml(params), run_dir, engine=engine)
    out: dict[str, Any] = {"package": str(Path(vaxreport.__file__).parent)}
    try:
        for phase in ("load", "cleanse"):
            wall, cpu, kids = time.perf_counter(), time.process_time(), _children_cpu()
            with PeakRSS() as mem:
                getattr(stage, phase)()
            out[phase] = {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu,
                          "workers_cpu_s": _children_cpu() - kids, "peak_gb": mem.peak / 1e9}
        out["rows"] = len(stage.inputs.doses)
        out["slim_mb"] = int(stage.inputs.doses.memory_usage(deep=True).sum()) / 1e6
    finally:
        stage.close()
    return out


def export_before(commit: str, work: Path) -> Path:
    """The package at ``commit``, exported under ``work`` (once)."""
    folder = work / f"src-{commit}"
    if not (folder / "vaxreport" / "__init__.py").exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "vaxreport"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def run_variant(variant: str, a: argparse.Namespace, before_src: Path, i: int) -> dict[str, Any]:
    env = dict(os.environ)
    if variant == "before":
        env[SRC] = str(before_src)
    engine = {"executor": a.engine, "workers": a.workers, "partitions": a.partitions}
    run_dir = a.work / f"run-{variant}-{i}"
    proc = subprocess.run([sys.executable, __file__, "--child", json.dumps(engine), "--data", str(a.data),
                           "--run-dir", str(run_dir)], env=env, capture_output=True, text=True, timeout=a.timeout)
    shutil.rmtree(run_dir, ignore_errors=True)
    if proc.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def table(results: dict[str, list[dict[str, Any]]]) -> str:
    """Markdown: one line per variant and phase, medians (min–max) over the runs."""

    def fig(runs: list[dict[str, Any]], phase: str, key: str, digits: int) -> str:
        vals = [r[phase][key] for r in runs]
        med = statistics.median(vals)
        spread = f" ({min(vals):.{digits}f}–{max(vals):.{digits}f})" if len(vals) > 1 else ""
        return f"{med:.{digits}f}{spread}"

    lines = ["| variant | phase | driver peak RSS, GB | driver CPU, s | wall, s | workers' CPU, s |",
             "|---|---|---:|---:|---:|---:|"]
    for variant, runs in results.items():
        for phase in ("load", "cleanse"):
            lines.append(f"| {variant} | {phase} | {fig(runs, phase, 'peak_gb', 2)} | {fig(runs, phase, 'cpu_s', 1)} | "
                         f"{fig(runs, phase, 'wall_s', 1)} | {fig(runs, phase, 'workers_cpu_s', 1)} |")
    if set(results) == {"before", "after"}:
        b, s = results["before"], results["after"]
        peak = lambda runs: statistics.median(max(r["load"]["peak_gb"], r["cleanse"]["peak_gb"]) for r in runs)  # noqa: E731
        cpu = lambda runs: statistics.median(r["load"]["cpu_s"] + r["cleanse"]["cpu_s"] for r in runs)  # noqa: E731
        lines.append(f"\nload + cleanse, driver: peak {peak(b):.2f} → {peak(s):.2f} GB ({peak(s) / peak(b):.2f}×), "
                     f"CPU {cpu(b):.1f} → {cpu(s):.1f} s ({cpu(s) / cpu(b):.2f}×); rows {b[0]['rows']:,}; "
                     f"slim dose columns kept {s[0]['slim_mb']:.0f} MB (before {b[0]['slim_mb']:.0f} MB)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="a synthesised province (with params.yaml)")
    ap.add_argument("--engine", default="dask")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--variants", default="before,after")
    ap.add_argument("--before", default=BASE, help="commit of the 'before' package")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--work", type=Path, default=HERE / "_work" / "ingest")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--run-dir", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        print(json.dumps(child(a.data / "params.yaml", a.run_dir, json.loads(a.child))))
        return 0
    a.work.mkdir(parents=True, exist_ok=True)
    variants = [v.strip() for v in a.variants.split(",") if v.strip()]
    before_src = export_before(a.before, a.work) if "before" in variants else Path()
    results: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    for i in range(a.runs):
        for variant in variants:
            results[variant].append(run_variant(variant, a, before_src, i))
            print(f"# {variant} run {i + 1}: {json.dumps(results[variant][-1])}", file=sys.stderr)
    print(f"engine {a.engine}, {a.workers} workers, {a.partitions} partitions; {psutil.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f}; before = {a.before}")
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
