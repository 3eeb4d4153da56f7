"""vaxreport benchmark harness (``make bench``): one table, written to ``bench/RESULTS.md``.

Sections (``--only`` any of them, comma-separated or repeated):

* ``whole``   — the monthly job at ``--scale`` (default 1 ≈ 2.9 M dose rows): ``vaxreport synth``
  then ``vaxreport run --jobs 2`` in child processes; wall time per stage (stage-1 steps from the
  executed cleanse notebook's ``papermill.duration`` cell metadata, per notebook from
  ``manifest.json``), peak resident memory of the whole process tree (kernels and workers
  included, sampled every 0.2 s with psutil), rows per second.
* ``scaling`` — the same at ``--scales`` (default 0.1 0.3 1 3; the largest tried once), plus
  dedup candidate pairs per person record (``vaxreport.linkage.candidate_pairs``).
* ``dedup``   — ``linkage.cluster_persons`` vs Splink 5 (DuckDB) vs the ``recordlinkage`` toolkit
  on the same person records (one row per ``person_ref`` of the cleansed doses) scored against
  ``truth/persons_truth.parquet``: wall, peak memory, candidate pairs, pairwise P/R/F1. The
  peers run in their own virtual environments, created on demand under ``bench/_venvs/``.
* ``render``  — one district report: ``narrative.build_report`` + ``report.render_pdf`` vs the
  executed district notebook through nbconvert (HTML; webpdf only when Chromium is present).
* ``orch``    — kernel start-up, an empty notebook through ``papermill.execute_notebook``, and
  the district stage with ``--jobs 1`` vs ``--jobs 2`` (from the manifests).
* ``scale``   — the monthly job on each engine (``--scale-engines``, default embedded and a
  2-worker Dask ``LocalCluster``) at ``--scale-scales`` (default 1) on the same inputs: wall, CPU,
  peak memory, byte-identical outputs, ratios (``bench_scale.py``).

Every figure is the median and min–max of ``--runs`` runs (default 3) with the 1-minute load
average at the start of each run. Raw samples accumulate in ``bench/_work/results.json`` so that
sections run separately end up in one table. ``--quick`` = 1 run at tiny scales, peers off.

Usage::

    .venv/bin/python bench/run_bench.py                       # everything (long: ~1 h on 2 cores)
    .venv/bin/python bench/run_bench.py --only dedup --dedup-scales 0.1 1
    .venv/bin/python bench/run_bench.py --quick               # smoke run, a minute or two
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

SECTIONS = ("whole", "scaling", "dedup", "render", "orch", "scale")
#: ``--only report``: measure nothing, rewrite RESULTS.md from the stored samples.
PSEUDO = ("report",)
SEED = 2022
PY = sys.executable
VAXREPORT = str(Path(sys.executable).with_name("vaxreport"))
PACKAGES = ("vaxreport", "pandas", "numpy", "pyarrow", "rapidfuzz", "papermill", "nbconvert",
            "jupyter_client", "ipykernel", "matplotlib", "typst", "psutil")
PEER_VENVS: dict[str, list[str]] = {
    # Splink 5 with its DuckDB backend; pandas/pyarrow to read the parquet we feed it.
    "splink": ["splink==5.0.0", "duckdb", "pandas", "pyarrow"],
    # recordlinkage 0.16 pins pandas < 3 (hence its own venv); jellyfish for Jaro-Winkler.
    "recordlinkage": ["recordlinkage==0.16", "pandas<3", "pyarrow", "jellyfish"],
}
TARGETS = {
    "stage1_s": 60.0, "run_s": 120.0, "peak_gb": 6.0, "pdf_s": 1.0, "dedup_rec_per_s": 50_000,
}


# ----------------------------------------------------------------------------------------------
# measuring child processes


def load1() -> float:
    return round(os.getloadavg()[0], 2)


class TreePeak:
    """Peak resident memory of a process and all its descendants (sum), sampled every ``every`` s."""

    def __init__(self, pid: int, every: float = 0.2, limit_gb: float | None = None) -> None:
        import psutil

        self.root = psutil.Process(pid)
        self.every = every
        self.limit = limit_gb * 2**30 if limit_gb else None
        self.over_limit = False
        self.peak = 0
        self.peak_single = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._loop, daemon=True)

    def _sample(self) -> None:
        import psutil

        try:
            procs = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return
        total = 0
        for p in procs:
            with contextlib.suppress(psutil.Error):
                rss = p.memory_info().rss
                total += rss
                self.peak_single = max(self.peak_single, rss)
        self.peak = max(self.peak, total)
        if self.limit and total > self.limit and not self.over_limit:
            self.over_limit = True  # a shared machine: stop before the kernel's OOM killer picks a victim
            _kill_tree(self.root.pid)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.every)

    def __enter__(self) -> TreePeak:
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()


MAX_GB: float | None = None  # --max-gb: stop any child whose process tree grows beyond this


def measure(cmd: list[str], *, timeout: float | None = None, env: dict[str, str] | None = None,
            log: Path | None = None) -> dict[str, Any]:
    """Run ``cmd``; wall and CPU seconds (user + system of the child and the descendants it waited
    for), peak tree RSS (GB), load at start, stdout, return code."""
    import resource

    load = load1()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=out, text=True, cwd=str(ROOT),
                            env={**os.environ, **(env or {})})
    timed_out = False
    with TreePeak(proc.pid, limit_gb=MAX_GB) as peak:
        try:
            stdout, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_tree(proc.pid)
            stdout, _ = proc.communicate()
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if log:
        out.close()
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    return {"wall": wall, "cpu": cpu, "peak_gb": peak.peak / 2**30,
            "peak_single_gb": peak.peak_single / 2**30, "load": load, "rc": proc.returncode,
            "timed_out": timed_out, "over_limit": peak.over_limit, "stdout": stdout or "",
            "at": datetime.now(UTC).strftime("%H:%M")}


def _kill_tree(pid: int) -> None:
    import psutil

    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        for p in [*root.children(recursive=True), root]:
            with contextlib.suppress(psutil.Error):
                p.kill()


def last_json(stdout: str) -> dict[str, Any]:
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError(f"no JSON line in child output: {stdout[-500:]!r}")


def child(name: str, *args: Any, timeout: float | None = None, log: Path | None = None) -> dict[str, Any]:
    """Run one of this file's ``--child`` functions in a fresh interpreter and measure it."""
    res = measure([PY, str(Path(__file__)), "--child", name, *map(str, args)], timeout=timeout, log=log)
    res["data"] = last_json(res["stdout"]) if res["rc"] == 0 else {}
    return res


# ----------------------------------------------------------------------------------------------
# results store and table


class Store:
    """Samples per (section, measure) line, persisted as JSON between invocations."""

    def __init__(self, path: Path, merge: list[Path] | None = None) -> None:
        self.path = path
        self.lines: dict[str, dict[str, Any]] = {}
        self._touched: set[str] = set()
        self._removed: set[str] = set()
        if path.exists():
            self.lines = json.loads(path.read_text(encoding="utf-8"))
        for other in merge or []:  # stores written by invocations run side by side
            self.lines.update(json.loads(Path(other).read_text(encoding="utf-8")))
            self._touched.update(json.loads(Path(other).read_text(encoding="utf-8")))

    def reset(self, section: str, prefixes: list[str] | None = None) -> None:
        """Forget a section's lines (only those whose measure starts with one of ``prefixes``)."""
        keep = {k: v for k, v in self.lines.items()
                if v["section"] != section or (prefixes is not None
                                               and not any(v["measure"].startswith(p) for p in prefixes))}
        self._removed |= set(self.lines) - set(keep)
        self.lines = keep

    def add(self, section: str, measure_: str, value: float | None, *, unit: str, load: float | None,
            at: str | None = None, target: str = "", note: str = "", order: float | None = None) -> None:
        key = f"{section}|{measure_}"
        self._touched.add(key)
        self._removed.discard(key)
        line = self.lines.setdefault(key, {"section": section, "measure": measure_, "unit": unit,
                                           "values": [], "loads": [], "at": [], "target": target,
                                           "note": note, "order": order if order is not None
                                           else len(self.lines)})
        if value is not None:
            line["values"].append(float(value))
        if load is not None:
            line["loads"].append(float(load))
        if at:
            line["at"].append(at)
        if target:
            line["target"] = target
        if note:
            line["note"] = note

    def save(self) -> None:
        """Write back, keeping lines another invocation saved meanwhile (only ours are replaced)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        disk = json.loads(self.path.read_text(encoding="utf-8")) if self.path.exists() else {}
        for k in self._removed:
            disk.pop(k, None)
        disk.update({k: self.lines[k] for k in self._touched if k in self.lines})
        self.lines = disk
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(disk, indent=1, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self.path)


def _fmt(v: float, unit: str) -> str:
    if unit in {"rows", "pairs", "records"} or abs(v) >= 10_000:
        return f"{v:,.0f}"
    if unit in {"P", "R", "F1"}:
        return f"{v:.4f}"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}" if abs(v) < 1 else f"{v:.2f}"


def _status(line: dict[str, Any]) -> str:
    t = line.get("target") or ""
    if not t or not line["values"]:
        return t
    med = statistics.median(line["values"])
    op, _, num = t.partition(" ")
    try:
        goal = float(num.replace(",", ""))
    except ValueError:
        return t
    ok = med <= goal if op == "≤" else med >= goal
    if ok:
        return f"{t} ✓"
    miss = (med / goal - 1) * 100 if op == "≤" else (1 - med / goal) * 100
    return f"{t} ✗ ({miss:+.0f}%)" if op == "≤" else f"{t} ✗ (−{miss:.0f}%)"


def table(store: Store) -> str:
    head = ["section", "measure", "median", "min–max", "n", "unit", "target", "load avg (1 min)", "UTC",
            "note"]
    rows = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * 2 + ["---:"] * 3 + ["---"] * 5) + "|"]
    order = {s: i for i, s in enumerate(SECTIONS)}
    for line in sorted(store.lines.values(), key=lambda l: (order.get(l["section"], 99), l["order"])):
        vals = line["values"]
        if vals:
            med = _fmt(statistics.median(vals), line["unit"])
            rng = f"{_fmt(min(vals), line['unit'])}–{_fmt(max(vals), line['unit'])}" if len(vals) > 1 else ""
        else:
            med, rng = "—", ""
        loads = line["loads"]
        lo, hi = (f"{min(loads):.1f}", f"{max(loads):.1f}") if loads else ("", "")
        load = f"{lo}–{hi}" if lo != hi else lo
        at = line["at"]
        when = f"{at[0]}–{at[-1]}" if len(at) > 1 and at[0] != at[-1] else (at[0] if at else "")
        rows.append("| " + " | ".join([line["section"], line["measure"], med, rng, str(len(vals)), line["unit"],
                                        _status(line), load, when, line.get("note", "")]) + " |")
    return "\n".join(rows)


def environment() -> dict[str, Any]:
    versions = {"python": platform.python_version()}
    for pkg in PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[pkg] = metadata.version(pkg)
    for name in PEER_VENVS:
        py = venv_python(name)
        if py.exists():
            res = subprocess.run([str(py), "-c", "import json,importlib.metadata as m;"
                                  "print(json.dumps({p: m.version(p) for p in " + repr(_peer_dists(name)) + "}))"],
                                 capture_output=True, text=True, check=False)
            if res.returncode == 0:
                versions.update({f"{k} (peer venv)": v for k, v in json.loads(res.stdout).items()})
    try:
        mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem_gb = float("nan")
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=False).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no", "--",
                            "vaxreport", "notebooks"], capture_output=True, text=True, check=False).stdout.strip()
    if dirty:
        commit += " + uncommitted changes in vaxreport/ or notebooks/ (the shared working tree)"
    return {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "cpus": os.cpu_count(),
            "machine": platform.machine(), "mem_gb": round(mem_gb, 1), "load": os.getloadavg(),
            "versions": versions, "commit": commit}


def _peer_dists(name: str) -> list[str]:
    return {"splink": ["splink", "duckdb", "pandas"], "recordlinkage": ["recordlinkage", "pandas", "jellyfish"]}[name]


def write_results(store: Store, path: Path, env: dict[str, Any], argv: list[str], notes: list[str]) -> str:
    v = ", ".join(f"{k} {val}" for k, val in env["versions"].items())
    md = (f"# vaxreport — benchmark results\n\n"
          f"Written by `bench/run_bench.py {' '.join(argv)}` (`make bench`); last update {env['date']}, "
          f"commit {env['commit']}, {env['cpus']} CPUs ({env['machine']}), {env['mem_gb']} GB RAM, "
          f"load average at the end {env['load'][0]:.2f} / {env['load'][1]:.2f} / {env['load'][2]:.2f} "
          f"(1/5/15 min).\n\nVersions: {v}.\n\n"
          "Each line: median and min–max over n runs; *load avg* is the machine's 1-minute load average "
          "at the start of each run (range over runs) — the machine is shared with other engineers' "
          "work, so timings taken under load > 2 on 2 cores are slower than on an idle machine. "
          "Peak memory is the sum of the resident sets of the whole process tree (papermill kernels "
          "and worker processes included), sampled every 0.2 s. Targets: ✓ met, ✗ missed (by how much).\n\n"
          f"{table(store)}\n")
    if notes:
        md += "\n## Notes from this run\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"
    path.write_text(md + _analysis(path), encoding="utf-8")
    return md


ANALYSIS_MARK = "<!-- analysis: kept by run_bench.py -->"


def _analysis(path: Path) -> str:
    """Hand-written analysis kept between runs: everything from ``ANALYSIS_MARK`` on in the old file."""
    if path.exists():
        old = path.read_text(encoding="utf-8")
        if ANALYSIS_MARK in old:
            return "\n" + old[old.index(ANALYSIS_MARK):]
    return ""


# ----------------------------------------------------------------------------------------------
# whole run (and scaling)

STEP_PATTERNS = [  # cleanse notebook: first matching source pattern names the step of a cell
    ("load", "stage.load("), ("cleanse", "stage.cleanse("), ("cleanse", "cleaned.audit"),
    ("cleanse", "cleaned.quarantine"), ("dedup", "stage.link("), ("reconcile", "stage.reconcile("),
    ("verify", "stage.verify("), ("facts", "stage.build_facts("), ("worklists", "stage.build_worklists("),
    ("save", "stage.save("), ("setup", "open_run"),
]
STAGE1_STEPS = ("setup", "load", "cleanse", "dedup", "reconcile", "verify", "facts", "worklists", "save", "other")


def notebook_steps(path: Path, patterns: list[tuple[str, str]] = STEP_PATTERNS) -> dict[str, float]:
    """Seconds per named step of an executed notebook (``papermill.duration`` of its code cells)."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    out: dict[str, float] = {}
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        dur = cell.get("metadata", {}).get("papermill", {}).get("duration")
        if dur is None:
            continue
        src = "".join(cell["source"])
        name = next((n for n, pat in patterns if pat in src), "other")
        out[name] = out.get(name, 0.0) + float(dur)
    out["cells total"] = sum(v for k, v in out.items())
    return out


RENDER_PATTERNS = [("render PDF (build_report + write_pdf)", "build_report("), ("load facts", "load_facts"),
                   ("setup", "open_run")]


def whole_once(scale: float, work: Path, jobs: int, *, timeout: float | None = None,
               keep: bool = True) -> dict[str, Any]:
    """Synthesise ``scale`` and run the monthly job; every figure of one run."""
    folder = work / f"scale-{scale:g}"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    data, run = folder / "data", folder / f"run-j{jobs}"
    syn = measure([VAXREPORT, "synth", "--out", str(data), "--scale", str(scale), "--seed", str(SEED)],
                  timeout=timeout, log=folder / "synth.log")
    res: dict[str, Any] = {"scale": scale, "synth": syn, "ok": syn["rc"] == 0}
    if not res["ok"]:
        res["error"] = "synth " + _why(syn)
        return res
    res["run"] = r = measure([VAXREPORT, "run", str(data / "params.yaml"), "--out", str(run), "--jobs",
                              str(jobs), "--force"], timeout=timeout, log=folder / "run.log")
    res.update(manifest_figures(run))
    res["ok"] = r["rc"] == 0 and res.get("manifest_ok", False)
    if not res["ok"]:
        res["error"] = "run " + _why(r)
    if keep:  # the next run at this scale deletes the folder: keep what the figures came from
        dest = work / "keep" / f"scale-{scale:g}-{datetime.now(UTC):%H%M%S}"
        dest.mkdir(parents=True, exist_ok=True)
        for src in (run / "manifest.json", run / "cleansed" / "cleanse.ipynb", folder / "run.log"):
            if src.exists():
                shutil.copy2(src, dest / src.name)
    return res


def _why(r: dict[str, Any]) -> str:
    if r.get("over_limit"):
        return f"stopped by --max-gb {MAX_GB:g} after {r['wall']:.0f} s (process tree at {r['peak_gb']:.1f} GB)"
    return f"timed out after {r['wall']:.0f} s" if r["timed_out"] else f"failed rc={r['rc']}"


def manifest_figures(run: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    mpath = run / "manifest.json"
    if not mpath.exists():  # a stopped run: what the cleanse notebook got through
        with contextlib.suppress(Exception):
            out["steps"] = notebook_steps(run / "cleansed" / "cleanse.ipynb")
        return out
    m = json.loads(mpath.read_text(encoding="utf-8"))
    out["manifest_ok"] = m["ok"]
    out["manifest_seconds"] = m["seconds"]
    nbs = m["notebooks"]
    out["notebooks"] = {f"{nb['stage']} {nb['name']}": nb["seconds"] for nb in nbs}
    cleanse = [nb for nb in nbs if nb["stage"] == "cleanse"]
    districts = [nb for nb in nbs if nb["stage"] == "district"]
    province = [nb for nb in nbs if nb["stage"] == "province"]
    out["stage1"] = cleanse[0]["seconds"] if cleanse else None
    out["province"] = province[0]["seconds"] if province else None
    out["district_sum"] = sum(nb["seconds"] for nb in districts)
    out["district_max"] = max((nb["seconds"] for nb in districts), default=0.0)
    out["n_districts"] = len(districts)
    # district stage wall = whole run minus stage 1 and the province notebook
    out["district_stage"] = m["seconds"] - (out["stage1"] or 0) - (out["province"] or 0)
    cpath = run / "cleansed" / "cleanse.ipynb"
    if cpath.exists():
        out["steps"] = notebook_steps(cpath)
    cons = run / "cleansed" / "conservation.json"
    if cons.exists():
        out["conservation"] = json.loads(cons.read_text(encoding="utf-8"))
    renders = []
    for nb in districts + province:
        path = run / nb["output"]
        if path.exists():
            s = notebook_steps(path, RENDER_PATTERNS)
            renders.append((nb["stage"], s.get("render PDF (build_report + write_pdf)", float("nan")),
                            nb["seconds"] - s["cells total"]))
    out["district_render"] = [r for st, r, _ in renders if st == "district"]
    out["province_render"] = [r for st, r, _ in renders if st == "province"]
    out["nb_overhead"] = [o for _, _, o in renders]
    return out


def candidate_pairs_figures(run: Path, timeout: float | None = None) -> dict[str, Any]:
    res = child("candidates", run, timeout=timeout)
    return res["data"] if res["rc"] == 0 else {}


def record_whole(store: Store, res: dict[str, Any], jobs: int) -> None:
    """Detailed stage lines of one scale-``s`` run under section ``whole``."""
    sec = "whole"
    syn, run = res["synth"], res.get("run")
    tag = f"scale {res['scale']:g}"
    load, at = syn["load"], syn["at"]
    store.add(sec, f"{tag}: synthesise (vaxreport synth)", syn["wall"], unit="s", load=load, at=at)
    store.add(sec, f"{tag}: synthesise peak RSS", syn["peak_gb"], unit="GB", load=load, at=at)
    if not run:
        return
    load, at = run["load"], run["at"]
    if not res["ok"]:  # a failed run's wall time and memory are not the job's: say so, record nothing else
        store.add(sec, f"{tag}: failed runs", None, unit="", load=load, at=at, note=res.get("error", ""))
        return
    rows = (res.get("conservation") or {}).get("raw")
    if rows:
        store.add(sec, f"{tag}: raw dose rows", rows, unit="rows", load=None)
    steps = res.get("steps", {})
    for name in STAGE1_STEPS:
        if name in steps:
            store.add(sec, f"{tag}: stage 1 · {name}", steps[name], unit="s", load=load, at=at,
                      note="cell time in the executed cleanse notebook")
    if res.get("stage1") is not None:
        store.add(sec, f"{tag}: stage 1 · kernel + HTML export overhead",
                  res["stage1"] - steps.get("cells total", 0.0), unit="s", load=load, at=at)
        store.add(sec, f"{tag}: stage 1 (cleanse notebook, total)", res["stage1"], unit="s", load=load, at=at,
                  target=f"≤ {TARGETS['stage1_s']:g}")
        if rows:
            store.add(sec, f"{tag}: stage 1 rows/s", rows / res["stage1"], unit="rows/s", load=load, at=at)
    for name, secs in sorted(res.get("notebooks", {}).items()):
        if name.startswith("district "):
            store.add(sec, f"{tag}: {name} notebook", secs, unit="s", load=load, at=at)
    if res.get("district_render"):
        dr = res["district_render"]
        store.add(sec, f"{tag}: district PDF render cell (mean of {len(dr)})", sum(dr) / len(dr), unit="s",
                  load=load, at=at, target=f"≤ {TARGETS['pdf_s']:g}",
                  note="build_report + write_pdf + metrics.json, in the notebook")
    if res.get("n_districts"):
        store.add(sec, f"{tag}: district stage wall ({res['n_districts']} notebooks, --jobs {jobs})",
                  res["district_stage"], unit="s", load=load, at=at)
    if res.get("province") is not None:
        store.add(sec, f"{tag}: province notebook", res["province"], unit="s", load=load, at=at)
    if res.get("province_render"):
        store.add(sec, f"{tag}: province PDF render cell", res["province_render"][0], unit="s", load=load,
                  at=at, target=f"≤ {TARGETS['pdf_s']:g}")
    store.add(sec, f"{tag}: whole run (vaxreport run, stages 1–3)", run["wall"], unit="s", load=load, at=at,
              target=f"≤ {TARGETS['run_s']:g}")
    if rows:
        store.add(sec, f"{tag}: whole run rows/s", rows / run["wall"], unit="rows/s", load=load, at=at)
    store.add(sec, f"{tag}: whole run CPU time (user + system, all processes)", run["cpu"], unit="s", load=load,
              at=at, note="less sensitive to the machine's load than wall time")
    store.add(sec, f"{tag}: synthesise + run (vaxreport demo equivalent)", syn["wall"] + run["wall"], unit="s",
              load=load, at=at)
    store.add(sec, f"{tag}: whole run peak RSS (process tree)", run["peak_gb"], unit="GB", load=load, at=at,
              target=f"≤ {TARGETS['peak_gb']:g}")
    store.add(sec, f"{tag}: whole run peak RSS (largest single process)", run["peak_single_gb"], unit="GB",
              load=load, at=at)


def record_scaling(store: Store, res: dict[str, Any], cand: dict[str, Any]) -> None:
    sec = "scaling"
    s = res["scale"]
    tag = f"scale {s:g}"
    order = s * 100
    syn = res["synth"]
    if not res["ok"]:
        store.add(sec, f"{tag}: {res.get('error', 'failed')}", None, unit="", load=syn["load"], at=syn["at"],
                  order=order)
        if syn["rc"] == 0:
            store.add(sec, f"{tag}: synthesise", syn["wall"], unit="s", load=syn["load"], at=syn["at"],
                      order=order + .01)
            store.add(sec, f"{tag}: synthesise peak RSS", syn["peak_gb"], unit="GB", load=syn["load"],
                      at=syn["at"], order=order + .02)
        done = [k for k in STAGE1_STEPS if k in res.get("steps", {})]
        if done:
            store.add(sec, f"{tag}: stage-1 steps completed before it stopped", len(done), unit="steps",
                      load=None, order=order + 0.05, note=", ".join(
                          f"{k} {res['steps'][k]:.0f} s" for k in done))
        if res.get("run"):
            store.add(sec, f"{tag}: run wall until it stopped", res["run"]["wall"], unit="s",
                      load=res["run"]["load"], at=res["run"]["at"], order=order + 0.1)
            store.add(sec, f"{tag}: run peak RSS until it stopped", res["run"]["peak_gb"], unit="GB",
                      load=res["run"]["load"], at=res["run"]["at"], order=order + 0.2)
        return
    run = res["run"]
    rows = (res.get("conservation") or {}).get("raw")
    load, at = run["load"], run["at"]
    if rows:
        store.add(sec, f"{tag}: raw dose rows", rows, unit="rows", load=None, order=order)
    store.add(sec, f"{tag}: synthesise", syn["wall"], unit="s", load=syn["load"], at=syn["at"], order=order + .1)
    store.add(sec, f"{tag}: stage 1", res["stage1"], unit="s", load=load, at=at, order=order + .2)
    if "dedup" in res.get("steps", {}):
        store.add(sec, f"{tag}: stage 1 · dedup", res["steps"]["dedup"], unit="s", load=load, at=at,
                  order=order + .25)
    store.add(sec, f"{tag}: whole run", run["wall"], unit="s", load=load, at=at, order=order + .3)
    store.add(sec, f"{tag}: whole run CPU time", run["cpu"], unit="s", load=load, at=at, order=order + .35)
    if rows:
        store.add(sec, f"{tag}: stage 1 rows/s", rows / res["stage1"], unit="rows/s", load=load, at=at,
                  order=order + .4)
        store.add(sec, f"{tag}: µs per row (whole run)", run["wall"] / rows * 1e6, unit="µs", load=load, at=at,
                  order=order + .45)
    store.add(sec, f"{tag}: peak RSS (process tree)", run["peak_gb"], unit="GB", load=load, at=at,
              order=order + .5)
    if cand:
        store.add(sec, f"{tag}: person records", cand["records"], unit="records", load=None, order=order + .6)
        store.add(sec, f"{tag}: dedup candidate pairs per record", cand["pairs"] / cand["records"], unit="pairs/rec",
                  load=cand.get("load"), order=order + .7, note=f"{cand['pairs']:,} pairs")


# ----------------------------------------------------------------------------------------------
# dedup side by side


def ensure_venv(name: str, notes: list[str]) -> Path | None:
    """The peer's venv python, created (python3 -m venv + pip) on first use."""
    py = venv_python(name)
    if py.exists() and (py.parent.parent / ".bench-ready").exists():
        return py
    venv = py.parent.parent
    print(f"creating {venv} ({' '.join(PEER_VENVS[name])}) ...", file=sys.stderr, flush=True)
    base = shutil.which("python3") or PY
    try:
        subprocess.run([base, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "--quiet", *PEER_VENVS[name]], check=True,
                       timeout=1800)
    except (subprocess.SubprocessError, OSError) as exc:
        notes.append(f"could not create the {name} venv: {exc}")
        return None
    (venv / ".bench-ready").write_text("ok\n")
    return py


def venv_python(name: str) -> Path:
    return HERE / "_venvs" / name / "bin" / "python"


def prepare_persons(scale: float, work: Path, timeout: float | None = None,
                    data: Path | None = None) -> tuple[Path, dict[str, Any]]:
    """Synthesise ``scale`` (if needed; or use ``data``, a synth folder), load + cleanse it, write
    the person records and truth."""
    from vaxreport.synth.example import code_digest as _code_digest

    code = _code_digest()  # a cache made by other code (synth or cleansing) is not reused
    folder = work / f"dedup-{scale:g}"
    persons = folder / "persons.parquet"
    meta_path = folder / "persons.json"
    if persons.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("code") == code:
            return persons, meta
    folder.mkdir(parents=True, exist_ok=True)
    stamp = folder / "data.code"
    if data is None and (not stamp.exists() or stamp.read_text() != code):
        shutil.rmtree(folder / "data", ignore_errors=True)
    data = data or folder / "data"
    if not (data / "truth" / "persons_truth.parquet").exists():
        syn = measure([VAXREPORT, "synth", "--out", str(data), "--scale", str(scale), "--seed", str(SEED)],
                      timeout=timeout, log=folder / "synth.log")
        if syn["rc"] != 0:
            raise RuntimeError(f"synth at scale {scale} failed (see {folder / 'synth.log'})")
        stamp.write_text(code)
    res = child("persons", data, persons, timeout=timeout, log=folder / "persons.log")
    if res["rc"] != 0:
        raise RuntimeError(f"person records at scale {scale} failed (see {folder / 'persons.log'})")
    meta = {**res["data"], "code": code}
    meta_path.write_text(json.dumps(meta))
    return persons, meta


def score(persons: Path, labels: Path) -> dict[str, float]:
    import pandas as pd
    from bench_dedup import pairwise  # the colleague's pairwise P/R/F1

    truth = pd.read_parquet(persons, columns=["person_ref", "true_person_id"])
    lab = pd.read_parquet(labels)
    df = truth.merge(lab, on="person_ref", how="left", validate="1:1")
    # a record a tool did not return is its own cluster
    missing = df["cluster"].isna()
    df["cluster"] = df["cluster"].astype("string").fillna("_solo_" + df["person_ref"].astype(str))
    q = pairwise(df["true_person_id"].to_numpy(), df["cluster"].to_numpy())
    q["unlabelled"] = int(missing.sum())
    return q


def run_dedup(store: Store, scales: list[float], work: Path, peers: list[str], notes: list[str], runs: int,
              timeout: float | None, data: Path | None = None) -> None:
    sec = "dedup"
    pys: dict[str, Path | None] = {"vaxreport": Path(PY)}
    for name in peers:
        pys[name] = ensure_venv(name, notes)
    for scale in scales:
        persons, meta = prepare_persons(scale, work, timeout, data)
        n = meta["records"]
        tag = f"scale {scale:g} ({n:,} records, {meta['true_pairs']:,} true pairs)"
        order = scale * 100
        store.add(sec, f"scale {scale:g}: person records", n, unit="records", load=None, order=order)
        for t_i, tool in enumerate(["vaxreport", *peers]):
            py = pys.get(tool)
            o = order + (t_i + 1) * 0.1
            if py is None:
                store.add(sec, f"{tag} · {tool}: venv unavailable", None, unit="", load=None, order=o)
                continue
            script = (["--child", "dedup_vax"] if tool == "vaxreport"
                      else [str(HERE / "peers" / f"{tool}_dedup.py")])
            for i in range(runs):
                labels = persons.with_name(f"labels-{tool}.parquet")
                with contextlib.suppress(FileNotFoundError):
                    labels.unlink()
                cmd = [str(py), *([str(Path(__file__))] if tool == "vaxreport" else []), *script,
                       str(persons), str(labels)]
                r = measure(cmd, timeout=timeout, log=persons.with_name(f"{tool}.log"))
                if r["rc"] != 0:
                    why = "timed out" if r["timed_out"] else f"failed rc={r['rc']}"
                    store.add(sec, f"{tag} · {tool}: {why} after", r["wall"], unit="s", load=r["load"],
                              at=r["at"], order=o, note=f"see {persons.with_name(tool + '.log').relative_to(ROOT)}")
                    break
                d = last_json(r["stdout"])
                q = score(persons, labels)
                L, at = r["load"], r["at"]
                store.add(sec, f"{tag} · {tool}: link time (in process)", d["seconds"], unit="s", load=L, at=at,
                          order=o, note=d.get("note", ""))
                store.add(sec, f"{tag} · {tool}: records/s", n / d["seconds"], unit="rec/s", load=L, at=at,
                          order=o + .01, target=(f"≥ {TARGETS['dedup_rec_per_s']:,}" if tool == "vaxreport" else ""))
                if d.get("cpu_seconds") is not None:
                    store.add(sec, f"{tag} · {tool}: link CPU time (all threads)", d["cpu_seconds"], unit="s",
                              load=L, at=at, order=o + .015)
                    store.add(sec, f"{tag} · {tool}: records per CPU second", n / d["cpu_seconds"], unit="rec/s",
                              load=L, at=at, order=o + .016, note="load-independent throughput")
                store.add(sec, f"{tag} · {tool}: wall incl. start-up and I/O", r["wall"], unit="s", load=L, at=at,
                          order=o + .02)
                store.add(sec, f"{tag} · {tool}: CPU time of the child (user + system)", r["cpu"], unit="s",
                          load=L, at=at, order=o + .025)
                store.add(sec, f"{tag} · {tool}: peak RSS", r["peak_gb"], unit="GB", load=L, at=at, order=o + .03)
                if d.get("pairs") is not None:
                    store.add(sec, f"{tag} · {tool}: candidate pairs", d["pairs"], unit="pairs", load=None,
                              order=o + .04)
                for k, u in (("precision", "P"), ("recall", "R"), ("f1", "F1")):
                    store.add(sec, f"{tag} · {tool}: pairwise {k}", q[k], unit=u, load=None, order=o + .05)
                store.save()


# ----------------------------------------------------------------------------------------------
# render and orchestration


def run_render(store: Store, run: Path, runs: int) -> None:
    r = child("render", run, runs)
    d = r["data"]
    if not d:
        store.add("render", "render child failed", None, unit="", load=r["load"], at=r["at"])
        return
    L, at = r["load"], r["at"]
    tag = f"district {d['district']} ({d['dose_rows']:,} dose rows)"
    store.add("render", f"{tag}: build_report (metrics + 2 charts)", None, unit="s", load=L, at=at)
    for v in d["build"]:
        store.add("render", f"{tag}: build_report (metrics + 2 charts)", v, unit="s", load=None)
    for v in d["pdf"]:
        store.add("render", f"{tag}: typst render_pdf", v, unit="s", load=L, at=at)
    for v in d["total"]:
        store.add("render", f"{tag}: typst report = build_report + render_pdf", v, unit="s", load=L, at=at,
                  target=f"≤ {TARGETS['pdf_s']:g}")
    store.add("render", f"{tag}: first report in a fresh process (cold)", d["cold"], unit="s", load=L, at=at)
    for v in d["html"]:
        store.add("render", f"{tag}: nbconvert HTML of the executed notebook", v, unit="s", load=L, at=at)
    if d.get("webpdf"):
        for v in d["webpdf"]:
            store.add("render", f"{tag}: nbconvert webpdf", v, unit="s", load=L, at=at)
    else:
        store.add("render", f"{tag}: nbconvert webpdf", None, unit="s", load=L, at=at,
                  note=d.get("webpdf_note", "skipped"))


def run_orch(store: Store, work: Path, runs: int, scale: float, notes: list[str], timeout: float | None,
             whole_j2: list[dict[str, Any]]) -> None:
    sec = "orch"
    r = child("orch", work, runs)
    d = r["data"]
    if d:
        for v in d["kernel"]:
            store.add(sec, "kernel start + shutdown (jupyter_client)", v, unit="s", load=r["load"], at=r["at"])
        for v in d["empty"]:
            store.add(sec, "empty notebook via papermill.execute_notebook", v, unit="s", load=r["load"], at=r["at"])
        for v in d["html"]:
            store.add(sec, "HTML export of that notebook (runner does it per notebook)", v, unit="s",
                      load=r["load"], at=r["at"])
    for jobs in (1, 2):
        samples = whole_j2 if jobs == 2 and whole_j2 else None
        if samples is None:
            samples = []
            for _ in range(runs):
                samples.append(jobs_once(scale, work, jobs, timeout))
        for res in samples:
            if not res.get("ok"):
                store.add(sec, f"scale {scale:g}: --jobs {jobs} run failed", None, unit="", load=None)
                continue
            L, at = res["run"]["load"], res["run"]["at"]
            store.add(sec, f"scale {scale:g}: district stage wall, --jobs {jobs}", res["district_stage"], unit="s",
                      load=L, at=at, note=f"{res['n_districts']} district notebooks")
            store.add(sec, f"scale {scale:g}: district notebooks summed, --jobs {jobs}", res["district_sum"],
                      unit="s", load=L, at=at)
            if res.get("nb_overhead"):
                oh = res["nb_overhead"]
                store.add(sec, f"scale {scale:g}: per-notebook overhead outside cells, --jobs {jobs}",
                          sum(oh) / len(oh), unit="s", load=L, at=at, note="kernel start, HTML export, hashing")
    j1 = [x["district_stage"] for x in store_samples(store, sec, f"scale {scale:g}: district stage wall, --jobs 1")]
    j2 = [x["district_stage"] for x in store_samples(store, sec, f"scale {scale:g}: district stage wall, --jobs 2")]
    if j1 and j2:
        store.add(sec, f"scale {scale:g}: district stage speed-up, 2 workers vs 1", statistics.median(j1) /
                  statistics.median(j2), unit="×", load=None, note="ratio of medians")


def store_samples(store: Store, section: str, measure_: str) -> list[dict[str, float]]:
    line = store.lines.get(f"{section}|{measure_}")
    return [{"district_stage": v} for v in line["values"]] if line else []


def jobs_once(scale: float, work: Path, jobs: int, timeout: float | None) -> dict[str, Any]:
    """Re-run the monthly job on already synthesised data with ``--jobs``."""
    folder = work / f"scale-{scale:g}"
    data = folder / "data"
    if not (data / "params.yaml").exists():
        syn = measure([VAXREPORT, "synth", "--out", str(data), "--scale", str(scale), "--seed", str(SEED)],
                      timeout=timeout, log=folder / "synth.log")
        if syn["rc"] != 0:
            return {"ok": False}
    run = folder / f"run-j{jobs}"
    r = measure([VAXREPORT, "run", str(data / "params.yaml"), "--out", str(run), "--jobs", str(jobs), "--force"],
                timeout=timeout, log=folder / f"run-j{jobs}.log")
    res = {"run": r, **manifest_figures(run)}
    res["ok"] = r["rc"] == 0 and res.get("manifest_ok", False)
    return res


# ----------------------------------------------------------------------------------------------
# child functions (run in fresh interpreters)


def _c_persons(data: str, out: str) -> dict[str, Any]:
    """Load + cleanse a synthetic province; write person records with their true person."""
    import pandas as pd
    from bench_dedup import pairwise

    from vaxreport import io
    from vaxreport.cleansing import audit
    from vaxreport.linkage.persons import person_records
    from vaxreport.params import RunParams
    from vaxreport.runner.stages import clean_params
    from vaxreport.text import fold_series

    data_p = Path(data)
    p = RunParams.from_yaml(data_p / "params.yaml")
    inputs = io.load_inputs(p.inputs)
    cleaned = audit.clean_doses(inputs.doses, params=clean_params(p))
    persons = person_records(cleaned.data).reset_index(drop=True)
    truth = pd.read_parquet(data_p / "truth" / "persons_truth.parquet", columns=["person_ref", "person_id"])
    persons["person_ref"] = persons["person_ref"].astype(str)
    truth["person_ref"] = truth["person_ref"].astype(str)
    persons = persons.merge(truth.rename(columns={"person_id": "true_person_id"}), on="person_ref", how="left",
                            validate="1:1")
    # fields the peers compare (vaxreport gets the same person records the pipeline gives it)
    bd = pd.to_datetime(persons["birth_date"], errors="coerce")
    persons["dob"] = bd.dt.strftime("%Y-%m-%d").astype("string")
    persons["birth_year"] = bd.dt.year.astype("Int64").astype("string")
    persons["name_folded"] = fold_series(persons["full_name"].astype("string")).astype("string")
    persons["true_person_id"] = persons["true_person_id"].astype(str)
    for c in ("id_number", "phone", "commune_code", "gender", "address"):
        if c in persons:
            persons[c] = persons[c].astype("string")
    persons.to_parquet(out, index=False)
    q = pairwise(persons["true_person_id"].to_numpy(), persons["true_person_id"].to_numpy())
    return {"records": len(persons), "true_pairs": q["true_pairs"],
            "true_persons": int(persons["true_person_id"].nunique())}


def _c_dedup_vax(persons_path: str, out: str) -> dict[str, Any]:
    import pandas as pd

    from vaxreport import linkage
    from vaxreport.linkage.persons import PERSON_FIELDS

    df = pd.read_parquet(persons_path)
    persons = df[["person_ref", *[c for c in PERSON_FIELDS if c in df.columns]]]
    t0, c0 = time.perf_counter(), time.process_time()
    labels = linkage.cluster_persons(persons)
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    pairs = len(linkage.candidate_pairs(persons))
    pd.DataFrame({"person_ref": df["person_ref"], "cluster": labels.astype(str).to_numpy()}).to_parquet(out)
    return {"seconds": secs, "cpu_seconds": cpu, "pairs": pairs, "note": "cluster_persons, default threshold"}


def _c_candidates(run: str) -> dict[str, Any]:
    """Candidate pairs per person record, from a run folder's cleansed doses (kept + merged)."""
    import pandas as pd

    from vaxreport import linkage
    from vaxreport.facts import load_facts  # noqa: F401
    from vaxreport.linkage.persons import PERSON_FIELDS, person_records  # noqa: F401
    from vaxreport.runner.stages import report_timestamp  # noqa: F401

    folder = Path(run) / "cleansed"
    doses = pd.concat([pd.read_parquet(folder / "doses.parquet"), pd.read_parquet(folder / "merged_doses.parquet")],
                      ignore_index=True)
    persons = person_records(doses).reset_index(drop=True)
    t0 = time.perf_counter()
    pairs = len(linkage.candidate_pairs(persons))
    return {"records": len(persons), "pairs": pairs, "seconds": time.perf_counter() - t0, "load": load1()}


def _c_rules(persons_path: str) -> dict[str, Any]:
    """Candidate pairs per blocking rule (before the union) — where pairs per record come from.

    Uses the blocking seams of ``vaxreport.linkage`` (prepare, blocking); a bench diagnostic."""
    import numpy as np
    import pandas as pd

    from vaxreport.facts import load_facts  # noqa: F401
    from vaxreport.linkage import blocking
    from vaxreport.linkage.persons import PERSON_FIELDS, person_records  # noqa: F401
    from vaxreport.linkage.prepare import prepare_fields
    from vaxreport.runner.stages import report_timestamp  # noqa: F401

    df = pd.read_parquet(persons_path)
    persons = df[["person_ref", *[c for c in PERSON_FIELDS if c in df.columns]]]
    prep = prepare_fields(persons)
    n = prep.n
    rank = blocking.name_date_rank(prep)
    out: dict[str, Any] = {"records": n, "rules": {}}
    for name, (fields, cap, window) in blocking.BLOCKING_RULES.items():
        key = blocking.combine_keys(prep, fields)
        a, _ = blocking.block_pairs(key, rank, cap, window)
        sizes = np.bincount(key[key >= 0]) if (key >= 0).any() else np.zeros(1, np.int64)
        out["rules"][name] = {"pairs": int(a.size), "cap": cap, "blocks_over_cap": int((sizes > cap).sum()),
                              "largest_block": int(sizes.max())}
    out["union"] = len(blocking.candidate_pairs(persons))
    return out


def _c_render(run: str, runs: str) -> dict[str, Any]:
    """One district report: build_report + render_pdf (typst) vs nbconvert of its executed notebook."""
    import nbformat
    from nbconvert import HTMLExporter

    from vaxreport.facts import load_facts  # noqa: F401
    from vaxreport.linkage.persons import PERSON_FIELDS, person_records  # noqa: F401
    from vaxreport.params import RunParams
    from vaxreport.reporting import narrative, report
    from vaxreport.runner.stages import report_timestamp  # noqa: F401

    n = int(runs)
    run_p = Path(run)
    m = json.loads((run_p / "manifest.json").read_text(encoding="utf-8"))
    p = RunParams.from_yaml(m["params_file"])
    facts = load_facts(run_p)
    counts = facts.doses.groupby("district_code").size()
    code = str(counts.idxmax())  # the largest district
    f = facts.scope(code)
    unit = narrative.district_unit(p, code)
    ts = report_timestamp(p)
    t0 = time.perf_counter()
    report.render_pdf(narrative.build_report(f, unit, p), timestamp=ts)
    cold = time.perf_counter() - t0
    build, pdf, total = [], [], []
    for _ in range(n):
        t0 = time.perf_counter()
        doc = narrative.build_report(f, unit, p)
        t1 = time.perf_counter()
        report.render_pdf(doc, timestamp=ts)
        t2 = time.perf_counter()
        build.append(t1 - t0)
        pdf.append(t2 - t1)
        total.append(t2 - t0)
    executed = run_p / next(nb["output"] for nb in m["notebooks"]
                            if nb["stage"] == "district" and nb["name"].startswith(code))
    html = []
    for _ in range(n):
        t0 = time.perf_counter()
        nb = nbformat.read(executed, as_version=4)
        HTMLExporter(exclude_input=True, exclude_input_prompt=True,
                     exclude_output_prompt=True).from_notebook_node(nb)
        html.append(time.perf_counter() - t0)
    out: dict[str, Any] = {"district": f"{code} {unit.name}", "dose_rows": int(counts.max()), "cold": cold,
                           "build": build, "pdf": pdf, "total": total, "html": html}
    chromium = any(shutil.which(c) for c in ("chromium", "chromium-browser", "google-chrome", "chrome"))
    try:
        import playwright  # noqa: F401

        has_pw = True
    except ImportError:
        has_pw = False
    if not (chromium or has_pw):
        out["webpdf_note"] = "skipped: no Chromium / playwright on this machine"
    else:
        from nbconvert import WebPDFExporter

        wp = []
        try:
            for _ in range(n):
                t0 = time.perf_counter()
                WebPDFExporter(exclude_input=True).from_notebook_node(nbformat.read(executed, as_version=4))
                wp.append(time.perf_counter() - t0)
            out["webpdf"] = wp
        except Exception as exc:  # noqa: BLE001
            out["webpdf_note"] = f"skipped: webpdf failed ({type(exc).__name__}: {str(exc)[:80]})"
    return out


def _c_orch(work: str, runs: str) -> dict[str, Any]:
    """Kernel start-up and an empty parameterised notebook through papermill, in-process."""
    import nbformat
    import papermill
    from jupyter_client.manager import start_new_kernel
    from nbconvert import HTMLExporter

    n = int(runs)
    folder = Path(work) / "orch"
    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("x = 1")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("x + 1")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    src = folder / "empty.ipynb"
    nbformat.write(nb, src)
    kernel, empty, html = [], [], []
    for _ in range(n):
        t0 = time.perf_counter()
        km, kc = start_new_kernel(kernel_name="python3")
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        kernel.append(time.perf_counter() - t0)
    for i in range(n):
        t0 = time.perf_counter()
        papermill.execute_notebook(str(src), str(folder / f"out-{i}.ipynb"), parameters={"x": i},
                                   kernel_name="python3", progress_bar=False, log_output=False)
        empty.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        HTMLExporter(exclude_input=True).from_notebook_node(nbformat.read(folder / f"out-{i}.ipynb", as_version=4))
        html.append(time.perf_counter() - t0)
    return {"kernel": kernel, "empty": empty, "html": html}


CHILDREN: dict[str, Callable[..., dict[str, Any]]] = {
    "persons": _c_persons, "dedup_vax": _c_dedup_vax, "candidates": _c_candidates, "rules": _c_rules,
    "render": _c_render,
    "orch": _c_orch,
}


# ----------------------------------------------------------------------------------------------
# main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=None, help="runs per figure (default 3; --quick 1)")
    ap.add_argument("--quick", action="store_true", help="1 run at tiny scales, peers off: a smoke run")
    ap.add_argument("--only", action="append", default=None,
                    help=f"sections to run (comma-separated or repeated): {', '.join(SECTIONS)}")
    ap.add_argument("--scale", type=float, default=None, help="scale of the whole run (default 1)")
    ap.add_argument("--scales", type=float, nargs="+", default=None,
                    help="scaling curve (default 0.1 0.3 1 3; the largest is tried once)")
    ap.add_argument("--dedup-scales", type=float, nargs="+", default=None, help="default 0.1 1")
    ap.add_argument("--peers", default=None, help="comma-separated peers: splink,recordlinkage (default both)")
    ap.add_argument("--no-peers", action="store_true", help="dedup: vaxreport only")
    ap.add_argument("--dedup-data", type=Path, default=None,
                    help="an existing `vaxreport synth` folder for the (single) dedup scale")
    ap.add_argument("--dedup-runs", type=int, default=None, help="runs per dedup tool (default --runs)")
    ap.add_argument("--jobs", type=int, default=2, help="district workers of the whole run")
    ap.add_argument("--scale-scales", type=float, nargs="+", default=None, help="scale: scales (default 1)")
    ap.add_argument("--scale-engines", default="embedded,dask", help="scale: engines, first = reference")
    ap.add_argument("--scale-memory", default=None, help="scale: memory limit per Dask worker (e.g. 9GB)")
    ap.add_argument("--scale-partitions", type=int, default=None, help="scale: partitions (default: the engine's)")
    ap.add_argument("--orch-scale", type=float, default=None,
                    help="scale of the --jobs 1 vs 2 comparison (default: --scale, reusing the whole runs)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds before a child run is stopped")
    ap.add_argument("--max-gb", type=float, default=None,
                    help="stop a child whose process tree exceeds this many GB (shared machines)")
    ap.add_argument("--work", type=Path, default=HERE / "_work", help="scratch folder (gitignored)")
    ap.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    ap.add_argument("--append", action="store_true", help="whole: add runs to the stored ones instead of replacing")
    ap.add_argument("--fresh", action="store_true", help="forget samples stored by earlier invocations")
    ap.add_argument("--store", type=Path, default=None,
                    help="samples file (default <work>/results.json; another one lets invocations run side by side)")
    ap.add_argument("--merge", type=Path, nargs="*", default=[], help="also take the lines of these samples files")
    ap.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    a.sections = [s.strip() for x in (a.only or [",".join(SECTIONS)]) for s in x.split(",") if s.strip()]
    bad = sorted(set(a.sections) - set(SECTIONS) - set(PSEUDO))
    if bad:
        ap.error(f"unknown sections {bad}; choose from {', '.join(SECTIONS)}")
    q = a.quick
    a.runs = a.runs or (1 if q else 3)
    a.scale = a.scale or (0.01 if q else 1.0)
    a.scale_scales = a.scale_scales or ([0.01] if q else [1.0])
    a.scales = a.scales or ([0.005, 0.01] if q else [0.1, 0.3, 1.0, 3.0])
    a.dedup_scales = a.dedup_scales or ([0.01] if q else [0.1, 1.0])
    a.dedup_runs = a.dedup_runs or a.runs
    a.orch_scale = a.orch_scale or a.scale
    a.peer_list = [] if (a.no_peers or (q and a.peers is None)) else \
        [s.strip() for s in (a.peers or "splink,recordlinkage").split(",") if s.strip()]
    return a


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    a = parse_args(argv)
    if a.child:
        name, *rest = a.child
        print(json.dumps(CHILDREN[name](*rest)), flush=True)
        return 0
    global MAX_GB
    MAX_GB = a.max_gb
    a.work.mkdir(parents=True, exist_ok=True)
    store = Store(a.store or a.work / ("results-quick.json" if a.quick else "results.json"), a.merge)
    if a.fresh:
        store._removed |= set(store.lines)
        store.lines = {}
    notes: list[str] = []
    timeout = a.timeout

    def say(msg: str) -> None:
        print(f"[{datetime.now(UTC):%H:%M:%S} load {load1():.1f}] {msg}", file=sys.stderr, flush=True)

    whole_runs: list[dict[str, Any]] = []
    if "whole" in a.sections:
        if not a.append:
            store.reset("whole", [f"scale {a.scale:g}:"])
        for i in range(a.runs):
            say(f"whole: scale {a.scale:g}, run {i + 1}/{a.runs}")
            res = whole_once(a.scale, a.work, a.jobs, timeout=timeout)
            whole_runs.append(res)
            record_whole(store, res, a.jobs)
            if not res["ok"]:
                notes.append(f"whole run at scale {a.scale:g} (run {i + 1}): {res.get('error')}")
            store.save()
    if "scaling" in a.sections:
        store.reset("scaling", [f"scale {x:g}:" for x in a.scales])
        largest = max(a.scales)
        for s in sorted(a.scales):
            n = 1 if (s == largest and len(a.scales) > 1 and s > 1) else a.runs
            samples = [r for r in whole_runs if r["scale"] == s]
            for i in range(len(samples), n):
                say(f"scaling: scale {s:g}, run {i + 1}/{n}")
                samples.append(whole_once(s, a.work, a.jobs, timeout=timeout))
                whole_runs.append(samples[-1])
            for res in samples:
                cand = {}
                if res["ok"]:
                    cand = candidate_pairs_figures(Path(a.work / f"scale-{s:g}" / f"run-j{a.jobs}"), timeout)
                record_scaling(store, res, cand)
                if not res["ok"]:
                    notes.append(f"scaling: scale {s:g}: {res.get('error')}")
            store.save()
    if "dedup" in a.sections:
        store.reset("dedup", [f"scale {x:g}{c}" for x in a.dedup_scales for c in (":", " ")])
        say(f"dedup: scales {a.dedup_scales}, peers {a.peer_list or 'none'}")
        run_dedup(store, a.dedup_scales, a.work, a.peer_list, notes, a.dedup_runs, timeout, a.dedup_data)
        store.save()
    if "render" in a.sections or "orch" in a.sections:
        run = a.work / f"scale-{a.scale:g}" / f"run-j{a.jobs}"
        if "render" in a.sections and not (run / "manifest.json").exists():
            say(f"render/orch: no run at scale {a.scale:g} yet; running one")
            res = whole_once(a.scale, a.work, a.jobs, timeout=timeout)
            if "whole" in a.sections:
                record_whole(store, res, a.jobs)
        if "render" in a.sections:
            store.reset("render")
            say("render")
            run_render(store, run, a.runs)
            store.save()
        if "orch" in a.sections:
            store.reset("orch", [f"scale {a.orch_scale:g}:", "kernel", "empty", "HTML"])
            say("orch")
            run_orch(store, a.work, a.runs, a.orch_scale, notes, timeout,
                     [r for r in whole_runs if r["scale"] == a.orch_scale and a.jobs == 2])
            store.save()
    if "scale" in a.sections:
        import bench_scale

        store.reset("scale", [f"scale {x:g} ·" for x in a.scale_scales])
        for s in a.scale_scales:
            for i in range(a.runs):
                say(f"scale: scale {s:g}, engines {a.scale_engines}, run {i + 1}/{a.runs}")
                results = bench_scale.scale_runs(s, a.work, a.scale_engines.split(","), memory=a.scale_memory,
                                                 partitions=a.scale_partitions, jobs=a.jobs, timeout=timeout,
                                                 seed=SEED)
                bench_scale.record(store, results)
                notes += [f"scale {s:g} {r['engine']}: {r['error']}" for r in results if not r["ok"]]
            store.save()
    store.save()
    env = environment()
    md = write_results(store, a.results, env, argv, notes)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
