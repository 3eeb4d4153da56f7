"""Stage 1 alone, in this process: wall, CPU and resident memory per section of ``StageOne``.

Runs ``vaxreport.runner.stages.StageOne(p, run_dir)`` section by section on a ``vaxreport synth``
folder (``params.yaml`` + ``inputs/``) and prints one JSON line: per section the wall and CPU
seconds and the resident set after it, plus the process's peak resident set (``ru_maxrss``, and
psutil sampled every 0.1 s for the peak within each section) and the whole-stage wall and CPU.
Stage 1 is what the embedded executor runs in one process; its peak is the run's peak.

Usage::

    .venv/bin/vaxreport synth --scale 1 --out /tmp/s1
    .venv/bin/python bench/bench_stage1.py /tmp/s1 [--runs 2] [--keep-run DIR]

With ``--runs N`` each run is a fresh child process (peak memory is per process) and the medians
are printed after the samples. Never a timed unit test.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

GB = 1024**3


class _Sampler:
    """Highest resident set of this process since the last :meth:`reset`, sampled in a thread."""

    def __init__(self, every: float = 0.1) -> None:
        self._proc = psutil.Process()
        self._every = every
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self._every):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def reset(self) -> int:
        peak, self.peak = max(self.peak, self._proc.memory_info().rss), self._proc.memory_info().rss
        return peak

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def once(data: Path, run_dir: Path) -> dict[str, Any]:
    """One stage-1 run in this process; the figures as a dict."""
    from vaxreport.params import RunParams
    from vaxreport.runner.stages import StageOne

    p = RunParams.from_yaml(str(data / "params.yaml"))
    stage = StageOne(p, run_dir)
    sampler = _Sampler()
    sections: dict[str, dict[str, float]] = {}
    w0, c0 = time.perf_counter(), time.process_time()
    for name in StageOne.SECTIONS:
        t, c = time.perf_counter(), time.process_time()
        getattr(stage, name)()
        gc.collect()
        sections[name] = {"s": round(time.perf_counter() - t, 2), "cpu_s": round(time.process_time() - c, 2),
                          "rss_after_gb": round(psutil.Process().memory_info().rss / GB, 3),
                          "peak_gb": round(sampler.reset() / GB, 3)}
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    sampler.stop()
    return {"rows": stage.counts["raw"], "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
            "peak_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GB, 3),
            "sections": sections}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, help="a `vaxreport synth` folder")
    ap.add_argument("--runs", type=int, default=1, help="runs, each in a fresh child process")
    ap.add_argument("--keep-run", type=Path, default=None, help="run folder to keep (default: a temp dir)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(once(args.data, args.keep_run or Path(tmp))))
        return 0
    samples = []
    for _ in range(args.runs):
        cmd = [sys.executable, __file__, str(args.data), "--child"]
        cmd += ["--keep-run", str(args.keep_run)] if args.keep_run else []
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        samples.append(json.loads(out.strip().splitlines()[-1]))
        print(json.dumps(samples[-1]), flush=True)
    if len(samples) > 1:
        med = {k: statistics.median(s[k] for s in samples) for k in ("wall_s", "cpu_s", "peak_gb")}
        med["sections"] = {name: {k: statistics.median(s["sections"][name][k] for s in samples)
                                  for k in samples[0]["sections"][name]} for name in samples[0]["sections"]}
        print(json.dumps({"median_of": len(samples), **med}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
