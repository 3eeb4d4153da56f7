"""Section ``scale`` of ``make bench`` (issue 13): the monthly job on each engine, side by side.

For each ``--scale-scales`` value the province is synthesised once, then ``vaxreport run`` runs
on every engine of ``--scale-engines`` (``embedded``; ``dask`` = a 2-worker ``LocalCluster``,
``--workers 2``, ``--memory-limit`` from ``--scale-memory``) on the same inputs. Per run: wall,
CPU (user + system of the whole process tree: kernels, Dask workers), peak resident memory of
the process tree and of its largest process, stage 1, each engine phase (cleanse, person
records, link, reconcile) as ``cleansed/engine.json`` recorded it — wall, the driver's CPU and,
on Dask, the bytes the workers sent each other and spilled to disk — and whether every output (tables, PDFs, DOCX, XLSX,
metrics.json) has the embedded run's sha256. Ratios to the embedded run of the same invocation
are given beside wall times (machines differ; ratios of one sitting much less).

    .venv/bin/python bench/run_bench.py --only scale --scale-scales 1 --runs 1
    .venv/bin/python bench/bench_scale.py --scales 0.05 --engines embedded,dask   # alone
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

OUTPUTS = ("*.parquet", "*.pdf", "*.docx", "*.xlsx", "metrics.json", "conservation.json")


def digests(run: Path) -> dict[str, str]:
    """sha256 of every output of a run folder, by relative path."""
    files = sorted({f for pattern in OUTPUTS for f in run.rglob(pattern)})
    return {str(f.relative_to(run)): hashlib.sha256(f.read_bytes()).hexdigest() for f in files}


def engine_args(engine: str, memory: str | None, partitions: int | None) -> list[str]:
    """The ``vaxreport run`` flags of one engine."""
    if engine == "embedded":
        return ["--engine", "embedded"] + (["--partitions", str(partitions)] if partitions else [])
    args = ["--engine", "dask", "--workers", "2"]
    if memory:
        args += ["--memory-limit", memory]
    return args + (["--partitions", str(partitions)] if partitions else [])


def scale_runs(scale: float, work: Path, engines: list[str], *, memory: str | None, partitions: int | None,
               jobs: int, timeout: float | None, seed: int) -> list[dict[str, Any]]:
    """Synthesise ``scale`` once, run it on each engine; one result per engine."""
    from run_bench import VAXREPORT, _why, manifest_figures, measure

    folder = work / f"engines-{scale:g}"
    data = folder / "data"
    if not (data / "params.yaml").exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        syn = measure([VAXREPORT, "synth", "--out", str(data), "--scale", str(scale), "--seed", str(seed)],
                      timeout=timeout, log=folder / "synth.log")
        if syn["rc"] != 0:
            return [{"scale": scale, "engine": e, "ok": False, "error": "synth " + _why(syn)} for e in engines]
    out: list[dict[str, Any]] = []
    reference: dict[str, str] | None = None
    for engine in engines:
        run = folder / f"run-{engine}"
        r = measure([VAXREPORT, "run", str(data / "params.yaml"), "--out", str(run), "--jobs", str(jobs), "--force",
                     *engine_args(engine, memory, partitions)], timeout=timeout, log=folder / f"run-{engine}.log")
        res: dict[str, Any] = {"scale": scale, "engine": engine, "run": r, **manifest_figures(run)}
        res["ok"] = r["rc"] == 0 and res.get("manifest_ok", False)
        if not res["ok"]:
            res["error"] = f"run ({engine}) " + _why(r)
            out.append(res)
            continue
        record = json.loads((run / "cleansed" / "engine.json").read_text(encoding="utf-8"))
        res["phases"], res["engine_record"] = record.get("phases", {}), record.get("engine", {})
        mine = digests(run)
        if reference is None:
            reference = mine
        res["outputs"] = len(mine)
        res["identical"] = mine == reference
        res["scratch_left"] = (folder / f"run-{engine}.scratch").exists()
        out.append(res)
    return out


def record(store: Any, results: list[dict[str, Any]]) -> None:
    """Lines of section ``scale``: per engine, and ratios to the first engine of the same scale."""
    sec = "scale"
    base = next((r for r in results if r["ok"]), None)
    for res in results:
        tag = f"scale {res['scale']:g} · {res['engine']}"
        r = res.get("run")
        if not res["ok"] or r is None:
            store.add(sec, f"{tag}: failed runs", None, unit="", load=(r or {}).get("load"), note=res.get("error", ""))
            continue
        load, at = r["load"], r["at"]
        rows = (res.get("conservation") or {}).get("raw")
        if rows:
            store.add(sec, f"{tag}: raw dose rows", rows, unit="rows", load=None)
        desc = res.get("engine_record", {})
        note = (f"{desc.get('workers')} workers, {res['phases'].get('cleanse', {}).get('partitions')} partitions"
                if desc.get("executor") == "dask" else "")
        store.add(sec, f"{tag}: whole run wall", r["wall"], unit="s", load=load, at=at, note=note)
        store.add(sec, f"{tag}: whole run CPU (process tree)", r["cpu"], unit="s", load=load, at=at)
        store.add(sec, f"{tag}: peak RSS (process tree)", r["peak_gb"], unit="GB", load=load, at=at)
        store.add(sec, f"{tag}: peak RSS (largest process)", r["peak_single_gb"], unit="GB", load=load, at=at)
        if res.get("stage1") is not None:
            store.add(sec, f"{tag}: stage 1 (cleanse notebook)", res["stage1"], unit="s", load=load, at=at)
        for name, phase in res.get("phases", {}).items():
            store.add(sec, f"{tag}: {name} phase wall", phase["wall_s"], unit="s", load=load, at=at,
                      note=f"driver CPU {phase['driver_cpu_s']:.1f} s; cleansed/engine.json")
            for counter in ("shuffle_bytes", "spilled_bytes"):
                if counter in phase:
                    store.add(sec, f"{tag}: {name} phase {counter.replace('_', ' ')}", phase[counter] / 2**20,
                              unit="MiB", load=None, note="summed over the Dask workers")
        store.add(sec, f"{tag}: outputs with the {base['engine'] if base else '?'} run's sha256",
                  float(res["identical"]) * res["outputs"], unit=f"of {res['outputs']}", load=None)
        if base is not None and res is not base:
            store.add(sec, f"{tag}: wall ÷ {base['engine']} wall (same sitting)", r["wall"] / base["run"]["wall"],
                      unit="×", load=load, at=at, target="≤ 1.3" if res["engine"] == "dask" else "")


def main(argv: list[str] | None = None) -> int:
    from run_bench import Store

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[0.05])
    ap.add_argument("--engines", default="embedded,dask")
    ap.add_argument("--memory", default=None, help="memory limit per Dask worker, e.g. 9GB")
    ap.add_argument("--partitions", type=int, default=None)
    ap.add_argument("--work", type=Path, default=HERE / "_work")
    ap.add_argument("--store", type=Path, default=None)
    a = ap.parse_args(argv)
    store = Store(a.store or a.work / "results-scale.json", [])
    for scale in a.scales:
        results = scale_runs(scale, a.work, a.engines.split(","), memory=a.memory, partitions=a.partitions,
                             jobs=2, timeout=3600, seed=2022)
        record(store, results)
        for res in results:
            print(json.dumps({k: v for k, v in res.items() if k in ("scale", "engine", "ok", "identical", "outputs",
                                                                     "error", "phases")}))
    store.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
