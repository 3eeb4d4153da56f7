"""Time the report notebooks' render cell, part by part, at full scale (target: one PDF ≤ 1 s).

Each run is a fresh process, as papermill gives each notebook a fresh kernel: it imports what the
notebook imports, loads the facts (not timed: an earlier cell), then runs the render cell of
``notebooks/province_report.ipynb`` or ``district_report.ipynb`` once — ``build_report``,
``write_pdf`` and ``metrics.json`` — with every part timed (CPU and wall, exclusive of the
parts nested in it), then runs it once more (warm). The parent prints the medians over the runs
and checks that every run wrote the same PDF bytes.

Run (from the repo root; defaults: the scale-1 run under ``bench/_work``)::

    .venv/bin/python bench/bench_render.py [--run DIR --params YAML] [--units province,164]
                                           [--runs 5] [--out DIR]
    .venv/bin/python bench/bench_render.py --sample   # the seed sample report, no run needed
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RUN = ROOT / "bench" / "_work" / "scale-1" / "run-j2"
DEFAULT_PARAMS = ROOT / "bench" / "_work" / "scale-1" / "data" / "params.yaml"

#: Display order of the parts (the keys the child reports).
PARTS = [
    ("metrics", "metrics (indicators on the facts)"),
    ("narrative", "narrative (sentences, tables; rest of build_report)"),
    ("fig_draw", "figures: build (matplotlib)"),
    ("fig_save", "figures: savefig"),
    ("glyphs", "glyph check (font coverage)"),
    ("typst", "typst compile"),
    ("write_pdf", "payload + write PDF (rest of write_pdf)"),
    ("metrics_json", "metrics.json (compute + write)"),
    ("other", "rest of the cell"),
]


class PartTimer:
    """Exclusive CPU/wall time per part: time spent in a nested timed call goes to that part."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = {}
        self.wall: dict[str, float] = {}
        self._stack: list[list[float]] = []  # per open part: [nested cpu, nested wall]
        self._absorb = 0  # > 0 inside a part that keeps its nested calls (metrics.json)

    def wrap(self, owner: Any, name: str, part: str, *, absorb: bool = False) -> None:
        fn = getattr(owner, name, None)
        if fn is None:
            return

        def timed(*args: Any, **kwargs: Any) -> Any:
            if self._absorb:
                return fn(*args, **kwargs)
            self._stack.append([0.0, 0.0])
            self._absorb += absorb
            c0, w0 = time.process_time(), time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                dc, dw = time.process_time() - c0, time.perf_counter() - w0
                self._absorb -= absorb
                nested_c, nested_w = self._stack.pop()
                self.cpu[part] = self.cpu.get(part, 0.0) + dc - nested_c
                self.wall[part] = self.wall.get(part, 0.0) + dw - nested_w
                if self._stack:
                    self._stack[-1][0] += dc
                    self._stack[-1][1] += dw

        setattr(owner, name, timed)


def _child(args: argparse.Namespace) -> None:
    """One fresh process: load the facts, run the render cell twice, print JSON on stdout."""
    from io import BytesIO

    import typst
    from pypdf import PdfReader

    from vaxreport import io
    from vaxreport.facts import load_facts
    from vaxreport.params import RunParams
    from vaxreport.reporting import figures, metrics, narrative, report
    from vaxreport.reporting.report import render
    from vaxreport.runner.stages import district_rollup, previous_metrics, report_timestamp

    p = RunParams.from_yaml(args.params)
    code = None if args.unit == "province" else args.unit
    unit = narrative.province_unit(p) if code is None else narrative.district_unit(p, code)
    facts = load_facts(args.run, code)
    rollup, missing = district_rollup(args.run, p) if code is None else (None, None)
    out = Path(args.out)
    # "precomputed": an earlier cell computed the indicators (and displayed them), the render cell
    # passes them on; "inline": the render cell computes them (the notebooks as committed).
    indicators = (metrics.report_metrics(facts, p.period_start, p.period_end) if args.mode == "precomputed"
                  else None)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    timer = PartTimer()
    for name in ("headline", "by_site", "by_commune", "data_quality", "coverage", "weekly_trend", "laggards",
                 "compare", "report_metrics"):
        timer.wrap(metrics, name, "metrics")
    timer.wrap(metrics, "metrics_json", "metrics_json", absorb=True)
    timer.wrap(io, "write_json", "metrics_json")
    timer.wrap(narrative, "build_report", "narrative")
    for name in ("bar_indicator_by_unit", "weekly_trend", "coverage_by_age"):
        timer.wrap(figures, name, "fig_draw")
    for name in ("figure_png", "figure_svg"):
        timer.wrap(figures, name, "fig_save")
    timer.wrap(render, "_check_glyphs", "glyphs")
    timer.wrap(typst, "compile_with_warnings", "typst")
    timer.wrap(report, "write_pdf", "write_pdf")

    def cell() -> bytes:  # the notebooks' render cell, writing to ``out``
        previous = previous_metrics(args.run, p, code, unit.name)
        extra = {} if indicators is None else {"indicators": indicators}
        doc = narrative.build_report(facts, unit, p, district_rollup=rollup, missing_districts=missing,
                                     previous=previous, **extra)
        pdf = report.write_pdf(doc, out / "report.pdf", timestamp=report_timestamp(p))
        io.write_json(metrics.metrics_json(facts, unit_code=code, unit_name=unit.name, period=p.period, **extra),
                      out / "metrics.json")
        return pdf.read_bytes()

    result: dict[str, Any] = {"unit": unit.name, "dose_rows": len(facts.doses), "mode": args.mode}
    for label in ("cold", "warm"):
        timer.cpu.clear()
        timer.wall.clear()
        c0, w0 = time.process_time(), time.perf_counter()
        pdf = cell()
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        timer.cpu["other"] = cpu - sum(timer.cpu.values())
        timer.wall["other"] = wall - sum(timer.wall.values())
        result[label] = {"cpu": cpu, "wall": wall, "parts_cpu": dict(timer.cpu), "parts_wall": dict(timer.wall)}
    result["pdf_sha256"] = hashlib.sha256(pdf).hexdigest()
    result["pdf_kib"] = len(pdf) / 1024
    result["pages"] = len(PdfReader(BytesIO(pdf)).pages)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result["peak_rss_mb"] = rss / 1024
    result["cell_rss_growth_mb"] = (rss - rss_before) / 1024
    print(json.dumps(result))


def _load() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def _full_scale(args: argparse.Namespace) -> None:
    out_root = Path(args.out or tempfile.mkdtemp(prefix="bench-render-"))
    pdfs: dict[str, set[str]] = {}
    for unit in args.units.split(","):
        for mode in args.modes.split(","):
            runs = []
            for i in range(args.runs):
                out = out_root / f"{unit}-{mode}-{i}"
                out.mkdir(parents=True, exist_ok=True)
                cmd = [sys.executable, __file__, "--child", "--unit", unit, "--mode", mode, "--run", str(args.run),
                       "--params", str(args.params), "--out", str(out)]
                load = _load()
                proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
                if proc.returncode:
                    sys.exit(f"child failed for {unit} ({mode}):\n{proc.stderr}")
                runs.append(json.loads(proc.stdout.strip().splitlines()[-1]) | {"load": load})
            _print_unit(runs)
            pdfs.setdefault(unit, set()).update(r["pdf_sha256"] for r in runs)
    print("\nsame PDF bytes in every run and mode: "
          + ", ".join(f"{unit} {'yes' if len(h) == 1 else 'NO'}" for unit, h in pdfs.items()))
    print(f"PDFs and metrics.json under {out_root}")


def _med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _print_unit(runs: list[dict[str, Any]]) -> None:
    r0 = runs[0]
    same = len({r["pdf_sha256"] for r in runs}) == 1
    loads = [r["load"] for r in runs]
    print(f"\n{r0['unit']} ({r0['dose_rows']:,} dose rows), indicators {r0['mode']}: render cell, median of "
          f"{len(runs)} fresh processes "
          f"(load {min(loads):.1f}–{max(loads):.1f} on {len(runs)} runs)")
    print(f"  {'part':52s} {'cold CPU':>9s} {'cold wall':>10s} {'warm CPU':>9s} {'warm wall':>10s}   (ms)")
    for key, label in PARTS:
        vals = [_med([r[k][f"parts_{m}"].get(key, 0.0) * 1000 for r in runs])
                for k in ("cold", "warm") for m in ("cpu", "wall")]
        print(f"  {label:52s} {vals[0]:9.0f} {vals[1]:10.0f} {vals[2]:9.0f} {vals[3]:10.0f}")
    tot = [_med([r[k][m] * 1000 for r in runs]) for k in ("cold", "warm") for m in ("cpu", "wall")]
    print(f"  {'whole render cell':52s} {tot[0]:9.0f} {tot[1]:10.0f} {tot[2]:9.0f} {tot[3]:10.0f}"
          f"   target ≤ 1000 ms: {'met' if tot[0] <= 1000 else 'MISSED'} (cold CPU)")
    print(f"  PDF {r0['pdf_kib']:.0f} KiB, {r0['pages']} pages; byte-identical across runs: {same}; "
          f"peak RSS {_med([r['peak_rss_mb'] for r in runs]):.0f} MB "
          f"(facts loaded; the cell adds {_med([r['cell_rss_growth_mb'] for r in runs]):.0f} MB)")


def _sample(args: argparse.Namespace) -> None:
    """Median times of the seed sample report (no run folder needed), as before."""
    from vaxreport.reporting.figures import _demo_figures
    from vaxreport.reporting.report.render import render_pdf, write_pdf
    from vaxreport.reporting.report.sample import SAMPLE_TIMESTAMP, sample_report

    def median_ms(fn: Callable[[], object], runs: int = 10) -> float:
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return statistics.median(times) * 1000

    render_pdf(sample_report(), timestamp=SAMPLE_TIMESTAMP)  # warm-up: font and template load
    text_only = sample_report()
    full = sample_report(_demo_figures(), extra_rows=40)
    print(f"3 charts (build + save):              median {median_ms(_demo_figures):7.1f} ms")
    print(f"render_pdf, text + 1 table:           median "
          f"{median_ms(lambda: render_pdf(text_only, timestamp=SAMPLE_TIMESTAMP)):7.1f} ms")
    pdf = render_pdf(full, timestamp=SAMPLE_TIMESTAMP)
    print(f"render_pdf, 3 charts + 44-row table:  median "
          f"{median_ms(lambda: render_pdf(full, timestamp=SAMPLE_TIMESTAMP)):7.1f} ms ({len(pdf) / 1024:.0f} KiB)")
    if args.out:
        print(f"wrote {write_pdf(full, Path(args.out), timestamp=SAMPLE_TIMESTAMP)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, default=DEFAULT_RUN, help="run folder with cleansed/facts and districts/")
    ap.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="the run's params YAML")
    ap.add_argument("--units", default="province,164", help="'province' and/or district codes, comma-separated")
    ap.add_argument("--runs", type=int, default=5, help="fresh processes per unit and mode")
    ap.add_argument("--modes", default="inline,precomputed",
                    help="inline: the render cell computes the indicators (notebooks as committed); "
                         "precomputed: an earlier cell did (metrics.report_metrics)")
    ap.add_argument("--out", help="folder for the PDFs (default: a temp folder); with --sample: the PDF path")
    ap.add_argument("--sample", action="store_true", help="time the seed sample report instead")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--unit", help=argparse.SUPPRESS)
    ap.add_argument("--mode", default="inline", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args)
    elif args.sample:
        _sample(args)
    else:
        _full_scale(args)


if __name__ == "__main__":
    main()
