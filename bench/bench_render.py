"""Median time to render the sample report (seed content + 3 charts) to PDF, over 10 runs.

Run: ``.venv/bin/python bench/bench_render.py [--out sample.pdf]`` (target: ≤ 1 s per report);
``--out`` also writes the full sample PDF so you can look at it.
"""

from __future__ import annotations

import argparse
import statistics
import time

from vaxreport.figures import _demo_figures
from vaxreport.report.render import render_pdf, write_pdf
from vaxreport.report.sample import SAMPLE_TIMESTAMP, sample_report


def _median(fn: object, runs: int = 10) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    """Print median timings for figures, text-only and full reports."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="also write the full sample report to this PDF path")
    args = ap.parse_args()
    render_pdf(sample_report(), timestamp=SAMPLE_TIMESTAMP)  # warm-up: font and template load
    figs = _demo_figures()
    text_only = sample_report()
    full = sample_report(figs, extra_rows=40)
    t_figs = _median(_demo_figures)
    t_text = _median(lambda: render_pdf(text_only, timestamp=SAMPLE_TIMESTAMP))
    t_full = _median(lambda: render_pdf(full, timestamp=SAMPLE_TIMESTAMP))
    pdf = render_pdf(full, timestamp=SAMPLE_TIMESTAMP)
    print(f"3 charts (build + PNG 200 dpi):        median {t_figs * 1000:7.1f} ms")
    print(f"render_pdf, text + 1 table:           median {t_text * 1000:7.1f} ms")
    print(f"render_pdf, 3 charts + 44-row table:  median {t_full * 1000:7.1f} ms "
          f"({len(pdf) / 1024:.0f} KiB)")
    if args.out:
        print(f"wrote {write_pdf(full, args.out, timestamp=SAMPLE_TIMESTAMP)}")


if __name__ == "__main__":
    main()
