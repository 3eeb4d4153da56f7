"""The linkage's driver memory against the number of person records (issue 13, Hà Nội size).

Stage 1 links the person records on the driver in every engine
(``vaxreport.linkage.review.link_and_queue``). For person-record tables of several sizes this
prints the driver's resident set before linkage (the interpreter and the records themselves),
its peak during ``link_and_queue`` (sampled every 50 ms by a thread), wall and CPU, candidate
pairs per blocking rule and bytes per record; then fits how the linkage's own memory (peak less
before) grows with the records, and extrapolates to ``--target`` records (8.9 M: Hà Nội, scale 8).

The person records come from stage 1 itself: ``vaxreport synth --scale S`` (seed as
``run_bench.py``), then ``StageOne(p, run_dir)`` ``.load()``, ``.cleanse()`` and
``person_records`` with each record's doses at stake, written once to
``<work>/persons-S.parquet``. Each size is then linked in a fresh process (peak memory is per
process). ``--steps`` also times each step of the linkage (canonical order, preparation, u,
blocking, scoring, EM, floor, components, guard, queue): resident set before and after, and the
peak within it, from the same samples; the step holding the overall peak is marked.

Usage::

    .venv/bin/python bench/bench_link_memory.py --scales 0.25,0.5,1 --steps
    .venv/bin/python bench/bench_link_memory.py --scales 0.05           # a quick look
    PYTHONPATH=/path/to/other/checkout .venv/bin/python bench/bench_link_memory.py --json before.json
    .venv/bin/python bench/bench_link_memory.py --report before.json   # the tables again

Never a timed unit test.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

MB = 1024**2
GB = 1024**3
#: Sampling period of the resident set (s).
EVERY = 0.05
#: Hà Nội's person records (≈ 22 M dose rows, scale 8: 1.1 M records per 2.76 M rows).
TARGET_RECORDS = 8_900_000

#: Steps of the linkage timed with ``--steps``: (module, function name) as the caller looks it up.
STEPS = (
    ("vaxreport.linkage.review", "link_persons"),
    ("vaxreport.linkage.review", "review_queue"),
    ("vaxreport.linkage.cluster", "canonical_order"),
    ("vaxreport.linkage.cluster", "_link_canonical"),
    ("vaxreport.linkage.cluster", "prepare_fields"),
    ("vaxreport.linkage.cluster", "estimate_u"),
    ("vaxreport.linkage.cluster", "block_candidates"),  # before the candidates were chunked
    ("vaxreport.linkage.cluster", "score_candidates"),
    ("vaxreport.linkage.cluster", "score_blocked"),  # since
    ("vaxreport.linkage.cluster", "fit_em"),
    ("vaxreport.linkage.cluster", "floor_pairs"),
    ("vaxreport.linkage.cluster", "connected_components"),
    ("vaxreport.linkage.cluster", "_split_incompatible"),
    ("vaxreport.linkage.cluster", "_in_input_order"),
)


class Samples:
    """The resident set of this process every :data:`EVERY` seconds, in a thread."""

    def __init__(self) -> None:
        self._proc = psutil.Process()
        self.t: list[float] = []
        self.rss: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def now(self) -> int:
        rss = self._proc.memory_info().rss
        self.t.append(time.perf_counter())
        self.rss.append(rss)
        return rss

    def _loop(self) -> None:
        while not self._stop.wait(EVERY):
            self.now()

    def __enter__(self) -> Samples:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def peak(self, t0: float, t1: float) -> tuple[int, float]:
        """Highest sample within ``[t0, t1]`` and its time."""
        best = (0, t0)
        for t, r in zip(self.t, self.rss):
            if t0 <= t <= t1 and r > best[0]:
                best = (r, t)
        return best


@contextmanager
def instrumented(samples: Samples, log: list[dict[str, Any]]) -> Iterator[None]:
    """Wrap the :data:`STEPS` functions where their callers look them up: each call appends
    ``{step, depth, t0, t1, before, after}`` to ``log`` (the wrapped functions are restored;
    a step the code does not have is left out)."""
    import importlib

    depth = [0]
    saved: list[tuple[ModuleType, str, Any]] = []

    def wrap(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            entry = {"step": name, "depth": depth[0], "before": samples.now(), "t0": time.perf_counter()}
            depth[0] += 1
            try:
                return fn(*args, **kwargs)
            finally:
                depth[0] -= 1
                entry["t1"] = time.perf_counter()
                entry["after"] = samples.now()
                log.append(entry)
        return timed

    for mod_name, name in STEPS:
        mod = importlib.import_module(mod_name)
        fn = getattr(mod, name, None)
        if fn is None:
            continue
        saved.append((mod, name, fn))
        setattr(mod, name, wrap(name, fn))
    try:
        yield
    finally:
        for mod, name, fn in saved:
            setattr(mod, name, fn)


# ---------------------------------------------------------------------------------- children


def child_persons(data: str, out: str) -> dict[str, Any]:
    """Stage 1 up to the person records on a synth folder; the records (with ``_doses``, the
    dose rows of each record) written to ``out``."""
    import tempfile

    from vaxreport.linkage.persons import person_records
    from vaxreport.linkage.review import doses_per_record
    from vaxreport.params import RunParams
    from vaxreport.runner.stages import StageOne

    p = RunParams.from_yaml(str(Path(data) / "params.yaml"))
    with tempfile.TemporaryDirectory() as run_dir:
        stage = StageOne(p, Path(run_dir))
        stage.load()
        stage.cleanse()
        persons = person_records(stage.cleaned.data)
        at_stake = doses_per_record(stage.cleaned.data, persons)
        rows = len(stage.cleaned.data)
        stage.close()
    persons.assign(_doses=at_stake).to_parquet(out)
    return {"records": len(persons), "dose_rows": rows}


def child_link(path: str, params: str, steps: bool) -> dict[str, Any]:
    """Link the records of ``path`` as stage 1 does (``link_and_queue``, no previous month, no
    decisions) and measure it; then count the candidate pairs of each blocking rule."""
    import pandas as pd

    from vaxreport.linkage import review
    from vaxreport.params import RunParams

    proc = psutil.Process()
    gc.collect()
    base = proc.memory_info().rss
    persons = pd.read_parquet(path)
    at_stake = persons.pop("_doses").to_numpy()
    p = RunParams.from_yaml(params)
    gc.collect()
    log: list[dict[str, Any]] = []
    with Samples() as samples:
        before = samples.now()
        w0, c0 = time.perf_counter(), time.process_time()
        if steps:
            with instrumented(samples, log):
                res, queue = review.link_and_queue(p, persons, at_stake)
        else:
            res, queue = review.link_and_queue(p, persons, at_stake)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        w1 = time.perf_counter()
        after = samples.now()
    peak, peak_t = samples.peak(w0 - 1.0, w1 + 1.0)
    out: dict[str, Any] = {
        "records": len(persons), "base_mb": base / MB, "before_mb": before / MB, "peak_mb": peak / MB,
        "after_mb": after / MB, "wall_s": wall, "cpu_s": cpu, "near_pairs": int(res.near.a.size),
        "links": int(res.a.size), "queue": len(queue), "persons": int(len(set(res.labels.tolist()))),
    }
    if log:
        out["steps"] = [{"step": e["step"], "depth": e["depth"], "wall_s": e["t1"] - e["t0"],
                         "before_mb": e["before"] / MB, "after_mb": e["after"] / MB,
                         "peak_mb": max(samples.peak(e["t0"], e["t1"])[0], e["before"], e["after"]) / MB,
                         "holds_peak": e["t0"] <= peak_t <= e["t1"]}
                        for e in sorted(log, key=lambda e: e["t0"])]
    del res, queue
    out["rules"] = rule_pairs(persons)
    return out


def rule_pairs(persons: Any) -> dict[str, dict[str, Any]]:
    """Per blocking rule its candidate pairs (repeats across rules counted in each), its keys
    and how many blocks hold 1, 2, … records (for :func:`projected_pairs`)."""
    import numpy as np

    from vaxreport.linkage import blocking
    from vaxreport.linkage.prepare import prepare_fields

    prep = prepare_fields(persons)
    rank = blocking.name_date_rank(prep)
    out = {}
    for name, (fields, cap, window) in blocking.BLOCKING_RULES.items():
        key = blocking.combine_keys(prep, fields)
        sizes = np.bincount(key[key >= 0])
        out[name] = {"pairs": int(blocking.block_pairs(key, rank, cap, window)[0].size),
                     "keys": int((sizes > 0).sum()), "blocks": np.bincount(sizes)[1:].tolist()}
    return out


def projected_pairs(results: list[dict[str, Any]], target: int) -> dict[str, float]:
    """Per rule, its candidate pairs at ``target`` records, by a model: the rule's distinct keys
    grow as ``n^κ`` (κ fitted over the sizes measured, within [0, 1]); the blocks of the largest
    size measured become ``(target / n)^κ`` times as many, each ``(target / n)^(1 − κ)`` times
    as large, and are paired as ``block_pairs`` pairs them (all pairs up to the cap, ``window``
    neighbours beyond)."""
    import numpy as np

    from vaxreport.linkage.blocking import BLOCKING_RULES

    n = [float(r["records"]) for r in results]
    last = results[-1]
    out = {}
    for name, (_, cap, window) in BLOCKING_RULES.items():
        _, kappa = fit(n, [float(r["rules"][name]["keys"]) for r in results])
        kappa = min(max(kappa, 0.0), 1.0)
        count = np.asarray(last["rules"][name]["blocks"], np.float64) * (target / n[-1]) ** kappa
        s = np.arange(1, count.size + 1) * (target / n[-1]) ** (1.0 - kappa)
        windowed = sum(np.maximum(s - w, 0.0) for w in range(1, window + 1))
        out[name] = float((count * np.where(s <= cap, s * (s - 1) / 2, windowed)).sum())
    return out


def prepare(scale: float, work: Path) -> Path:
    """The person records of a province synthesised at ``scale`` (made once, then reused)."""
    from run_bench import SEED, VAXREPORT

    data = work / f"synth-{scale:g}"
    out = work / f"persons-{scale:g}.parquet"
    if out.exists():
        return out
    if not (data / "params.yaml").exists():
        subprocess.run([VAXREPORT, "synth", "--out", str(data), "--scale", str(scale), "--seed", str(SEED)],
                       check=True, stdout=subprocess.DEVNULL)
    run_child("persons", str(data), str(out))
    return out


def run_child(*args: str) -> dict[str, Any]:
    """One of this file's children in a fresh interpreter; its JSON line."""
    res = subprocess.run([sys.executable, str(Path(__file__)), "--child", *args], check=True,
                         capture_output=True, text=True)
    return dict(json.loads(res.stdout.strip().splitlines()[-1]))


def fit(n: list[float], y: list[float]) -> tuple[float, float]:
    """Least-squares ``y = c · n^k`` on logs: ``(c, k)``."""
    lx, ly = [math.log(v) for v in n], [math.log(max(v, 1e-9)) for v in y]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    k = sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / max(sum((a - mx) ** 2 for a in lx), 1e-12)
    return math.exp(my - k * mx), k


def fit_affine(n: list[float], y: list[float]) -> tuple[float, float]:
    """Least-squares ``y = α + β · n``: ``(α, β)``."""
    mx, my = sum(n) / len(n), sum(y) / len(y)
    beta = sum((a - mx) * (b - my) for a, b in zip(n, y)) / max(sum((a - mx) ** 2 for a in n), 1e-12)
    return my - beta * mx, beta


def report(results: list[dict[str, Any]], target: int) -> None:
    """The tables and the extrapolation, as Markdown."""
    print("| records | before, MB | peak, MB | linkage (peak − before), MB | bytes/record (linkage) "
          "| records' table, MB | wall, s | CPU, s | candidate pairs | pairs/record | near pairs |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        cand = sum(x["pairs"] for x in r["rules"].values())
        own = r["peak_mb"] - r["before_mb"]
        print(f"| {r['records']:,} | {r['before_mb']:,.0f} | {r['peak_mb']:,.0f} | {own:,.0f} "
              f"| {own * MB / r['records']:,.0f} | {r['before_mb'] - r['base_mb']:,.0f} | {r['wall_s']:.1f} "
              f"| {r['cpu_s']:.1f} | {cand:,} | {cand / r['records']:.2f} | {r['near_pairs']:,} |")
    print()
    names = list(results[0]["rules"])
    projected = projected_pairs(results, target) if len(results) > 1 else {}
    print("Candidate pairs per blocking rule (before the union), and the model's projection:\n")
    print("| rule | " + " | ".join(f"{r['records']:,}" for r in results)
          + f" | pairs/record (largest) | projected at {target:,} | pairs/record there |")
    print("|---|" + "---:|" * (len(results) + 3))
    for name in names:
        at = projected.get(name, float("nan"))
        print(f"| {name} | " + " | ".join(f"{r['rules'][name]['pairs']:,}" for r in results)
              + f" | {results[-1]['rules'][name]['pairs'] / results[-1]['records']:.2f} | {at:,.0f} "
              f"| {at / target:.2f} |")
    if projected:
        print("| **all rules** | " + " | ".join(f"{sum(x['pairs'] for x in r['rules'].values()):,}" for r in results)
              + f" | | {sum(projected.values()):,.0f} | {sum(projected.values()) / target:.2f} |")
    for r in results:
        if "steps" in r:
            print(f"\nSteps at {r['records']:,} records (RSS, MB; * holds the peak):\n")
            print("| step | wall, s | before | peak within | after | peak − before |")
            print("|---|---:|---:|---:|---:|---:|")
            for s in r["steps"]:
                mark = " *" if s["holds_peak"] else ""
                print(f"| {'  ' * s['depth']}{s['step']}{mark} | {s['wall_s']:.1f} | {s['before_mb']:,.0f} "
                      f"| {s['peak_mb']:,.0f} | {s['after_mb']:,.0f} | {s['peak_mb'] - s['before_mb']:,.0f} |")
    if len(results) < 2:
        return
    n = [float(r["records"]) for r in results]
    print(f"\nExtrapolated to {target:,} records: power law y = c·n^k, and affine y = α + β·n "
          "(per record β), both fitted over the sizes above:\n")
    print("| measure | at the largest size | k | at target (power) | β per record | at target (affine) |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, ys in (("linkage (peak − before), MB", [r["peak_mb"] - r["before_mb"] for r in results]),
                      ("records' table, MB", [r["before_mb"] - r["base_mb"] for r in results]),
                      ("peak, MB", [r["peak_mb"] for r in results]),
                      ("candidate pairs", [float(sum(x["pairs"] for x in r["rules"].values())) for r in results]),
                      ("near pairs", [float(r["near_pairs"]) for r in results]),
                      ("wall, s", [r["wall_s"] for r in results])):
        c, k = fit(n, ys)
        alpha, beta = fit_affine(n, ys)
        unit = " B" if label.endswith("MB") else ""
        per = beta * (MB if unit else 1)
        print(f"| {label} | {ys[-1]:,.0f} | {k:.2f} | {c * target ** k:,.0f} | {per:,.{0 if unit else 3}f}{unit} "
              f"| {alpha + beta * target:,.0f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scales", default="0.25,0.5,1", help="synthetic scales (1 = 2.76 M dose rows)")
    ap.add_argument("--work", type=Path, default=HERE / "_work" / "linkmem")
    ap.add_argument("--steps", action="store_true", help="also time each step of the linkage")
    ap.add_argument("--target", type=int, default=TARGET_RECORDS)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--report", type=Path, help="only print the tables of figures written by --json")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, *rest = args.child
        data = child_persons(*rest) if kind == "persons" else child_link(*rest[:2], steps=rest[2:] == ["steps"])
        print(json.dumps(data))
        return
    if args.report:
        report(json.loads(args.report.read_text()), args.target)
        return
    args.work.mkdir(parents=True, exist_ok=True)
    results = []
    for scale in [float(s) for s in args.scales.split(",")]:
        path = prepare(scale, args.work)
        params = str(args.work / f"synth-{scale:g}" / "params.yaml")
        results.append({"scale": scale, **run_child("link", str(path), params, *(["steps"] if args.steps else []))})
        print(f"scale {scale:g}: {results[-1]['records']:,} records, peak {results[-1]['peak_mb']:,.0f} MB",
              file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    report(results, args.target)


if __name__ == "__main__":
    main()
