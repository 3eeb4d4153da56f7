"""Row-order invariance of stage 1's person ids at any scale (issue 15, item 2).

Synthesises a province (or reuses ``--out``), writes a copy whose ``doses.csv`` has its rows
reversed (header kept, values untouched), runs stage 1 up to the linkage on both, and compares
every person code's ``person_id``. Prints the counts and the clusters that differ.

    .venv/bin/python bench/row_order.py --scale 1 --out /tmp/row-order
"""

from __future__ import annotations

import argparse
import csv
import shutil
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from vaxreport.params import RunParams
from vaxreport.runner.stages import StageOne
from vaxreport.synth.province import generate


def reversed_copy(src: Path, dst: Path) -> Path:
    """``src`` (a synthetic province) copied to ``dst`` with the rows of ``doses.csv`` reversed."""
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("run", "truth"))
    path = dst / "inputs" / "doses.csv"
    with open(path, encoding="utf-8-sig", newline="") as fh:
        names = next(csv.reader(fh))
    table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        column_types={n: pa.string() for n in names}, strings_can_be_null=False))
    table = table.take(pa.array(range(table.num_rows - 1, -1, -1)))
    with open(path, "wb") as fh:
        fh.write(b"\xef\xbb\xbf")
        pacsv.write_csv(table, fh)
    return dst


def person_ids(folder: Path) -> pd.Series:
    """Stage 1 up to the linkage; ``person_id`` by ``person_ref``."""
    t0, c0 = time.perf_counter(), time.process_time()
    s = StageOne(RunParams.from_yaml(folder / "params.yaml"), folder / "run")
    s.load()
    s.cleanse()
    summary = s.link()
    print(f"{folder.name}: {summary} ({time.perf_counter() - t0:.1f} s wall, {time.process_time() - c0:.1f} s CPU)")
    return pd.Series(s.labels.to_numpy(), index=s.persons["person_ref"].to_numpy())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    base = args.out / "original"
    if not (base / "params.yaml").exists():
        generate(base, scale=args.scale, seed=args.seed)
    a = person_ids(base)
    b = person_ids(reversed_copy(base, args.out / "reversed")).reindex(a.index)
    changed = a.index[(a != b).to_numpy()]
    print(f"person records {len(a):,}; persons {a.nunique():,} / {b.nunique():,}; "
          f"person_id unchanged for {len(a) - len(changed):,}, changed for {len(changed):,}")
    if len(changed):
        for name, ids in (("original", a), ("reversed", b)):
            groups = ids[ids.isin(ids[changed])].groupby(ids[ids.isin(ids[changed])]).groups
            print(f"  {name} clusters:", sorted(sorted(g) for g in groups.values())[:20])


if __name__ == "__main__":
    main()
