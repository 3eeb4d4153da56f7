"""The driver's memory per section of stage 1 (issue 13): what each section needs at its peak and
what it leaves held, on a given engine — the figures that say which section stops a large
province first, and what it would need at another size.

Runs ``StageOne`` section by section in this process (the driver; on ``--engine dask`` the
workers are a 2-worker ``LocalCluster`` beside it) and samples this process's resident memory
every 50 ms. Per section: RSS at its start, its peak, RSS at its end, wall and CPU; then the same
per million dose rows and extrapolated linearly to ``--rows`` (22 M = Hà Nội). Prints a table,
and a JSON line with ``--json``.

Usage::

    .venv/bin/vaxreport synth --out /tmp/s1 --scale 1
    .venv/bin/python bench/bench_driver_memory.py /tmp/s1/params.yaml --engine dask --partitions 4
    .venv/bin/python bench/bench_driver_memory.py /tmp/s05/params.yaml /tmp/s1/params.yaml   # embedded, fitted
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil


class Sampler:
    """This process's peak RSS since :meth:`reset`, sampled every ``every`` seconds on a thread."""

    def __init__(self, every: float = 0.05) -> None:
        self._proc, self._every, self.peak = psutil.Process(), every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def rss(self) -> int:
        return int(self._proc.memory_info().rss)

    def reset(self) -> int:
        self.peak = now = self.rss()
        return now

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            self.peak = max(self.peak, self.rss())

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def measure(params: Path, run_dir: Path, engine: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """Per section of stage 1: start, peak and end RSS (bytes), wall and CPU; and the dose rows."""
    from vaxreport.params import RunParams
    from vaxreport.runner.stages import StageOne

    stage = StageOne(RunParams.from_yaml(params), run_dir, engine)
    sampler, rows = Sampler(), []
    try:
        for section in StageOne.SECTIONS:
            start = sampler.reset()
            wall, cpu = time.perf_counter(), time.process_time()
            getattr(stage, section)()
            rows.append({"section": section, "start": start, "peak": max(sampler.peak, sampler.rss()),
                         "end": sampler.rss(), "wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu})
    finally:
        sampler.close()
        stage.close()
    return rows, int(stage.counts["raw"])


def table(rows: list[dict[str, Any]], doses: int) -> str:
    gb = 2**30
    lines = [f"dose rows {doses:,}", "",
             "| section | start, GB | peak, GB | end, GB | peak − start, GB | wall, s | CPU, s |",
             "|---|" + "---:|" * 6]
    for r in rows:
        lines.append(f"| {r['section']} | {r['start'] / gb:.2f} | {r['peak'] / gb:.2f} | {r['end'] / gb:.2f} | "
                     f"{(r['peak'] - r['start']) / gb:.2f} | {r['wall']:.1f} | {r['cpu']:.1f} |")
    return "\n".join(lines)


def fitted(runs: list[tuple[list[dict[str, Any]], int]], target: int) -> str:
    """Each section's peak as ``a + b × rows`` (least squares over the runs), at ``target`` rows."""
    import numpy as np

    gb = 2**30
    sizes = np.array([doses for _, doses in runs], float)
    lines = [f"peak = a + b × dose rows, fitted over {', '.join(f'{int(n):,}' for n in sizes)} rows", "",
             f"| section | a, GB | b, GB per M rows | peak at {target / 1e6:g} M rows, GB |", "|---|---:|---:|---:|"]
    for i, section in enumerate(r["section"] for r in runs[0][0]):
        peaks = np.array([rows[i]["peak"] for rows, _ in runs], float) / gb
        b, a = np.polyfit(sizes / 1e6, peaks, 1)
        lines.append(f"| {section} | {a:.2f} | {b:.3f} | {a + b * target / 1e6:.1f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("params", type=Path, nargs="+", help="one params file per size")
    ap.add_argument("--engine", choices=["embedded", "dask"], default="embedded")
    ap.add_argument("--partitions", type=int, default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-limit", default=None)
    ap.add_argument("--rows", type=int, default=22_000_000, help="dose rows to extrapolate to")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    engine: dict[str, Any] = {"executor": a.engine}
    if a.partitions:
        engine["partitions"] = a.partitions
    if a.engine == "dask":
        engine["workers"] = a.workers
        if a.memory_limit:
            engine["memory_limit"] = a.memory_limit
    if a.child:
        with tempfile.TemporaryDirectory(prefix="driver-memory-") as tmp:
            rows, doses = measure(a.params[0], Path(tmp) / "run", engine)
        print(json.dumps({"engine": engine, "doses": doses, "sections": rows}), flush=True)
        return
    runs = []
    for params in a.params:  # each size in a fresh process: the memory of one run is not the next one's start
        options = ["--engine", a.engine, "--workers", str(a.workers)]
        options += ["--partitions", str(a.partitions)] if a.partitions else []
        options += ["--memory-limit", a.memory_limit] if a.memory_limit else []
        child = subprocess.run([sys.executable, __file__, str(params), "--child", *options],
                               capture_output=True, text=True, check=True)
        measured = json.loads(child.stdout.strip().splitlines()[-1])
        runs.append((measured["sections"], measured["doses"]))
        print(table(*runs[-1]), "", sep="\n", flush=True)
        if a.json:
            print(json.dumps(measured), flush=True)
    if len(runs) > 1:
        print(fitted(runs, a.rows))


if __name__ == "__main__":
    main()
