"""Command line: ``vaxreport demo | run | synth | validate``.

Thin: parse arguments, call the package, turn ``VaxReportError`` (and a file-system error such as
an ``--out`` that is a file) into one clear message and exit 1. Usage errors (a missing argument,
a scale that is not a positive number) exit 2 with argparse's usage message.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from vaxreport.exceptions import VaxReportError


def _cmd_synth(args: argparse.Namespace) -> int:
    from vaxreport import synth
    from vaxreport.synth.months import next_month

    out = Path(args.out)
    if args.provinces:
        from vaxreport.synth.provinces import MoverRates, generate_provinces

        if args.months > 1 or args.next_month:
            raise VaxReportError("--provinces writes one month: leave out --months and --next-month")
        try:
            counts = generate_provinces(out, tuple(args.provinces), scale=args.scale, seed=args.seed,
                                        movers=MoverRates(shared=args.shared))
        except ValueError as exc:
            raise VaxReportError(str(exc)) from exc
        print(f"synthetic provinces {' '.join(args.provinces)}, scale {args.scale:g}, seed {args.seed} -> {out}: "
              + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        return 0
    if args.next_month:
        print(_describe_month(out, next_month(Path(args.next_month), out)))
        return 0
    summary = synth.generate(out, scale=args.scale, seed=args.seed)
    print(summary.describe())
    prev = out
    for _ in range(args.months - 1):
        folder = out / _following(prev)
        print(_describe_month(folder, next_month(prev, folder)))
        prev = folder
    return 0


def _following(folder: Path) -> str:
    """The period after the synthetic month in ``folder`` (its ``params.yaml``)."""
    import yaml

    from vaxreport.synth.months import following_period

    return following_period(str(yaml.safe_load((folder / "params.yaml").read_text(encoding="utf-8"))["period"]))


def _describe_month(folder: Path, counts: dict[str, int]) -> str:
    return f"next month -> {folder}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items())


def _cmd_validate(args: argparse.Namespace) -> int:
    from vaxreport.cleansing.validate import validate_folder

    report = validate_folder(Path(args.folder))
    print(report.describe())
    return 0 if report.ok else 1


def _cmd_run(args: argparse.Namespace) -> int:
    from vaxreport import runner

    engine = {"executor": args.engine, "workers": args.workers, "memory_limit": args.memory_limit,
              "partitions": args.partitions, "scheduler": args.scheduler}
    result = runner.run(Path(args.params), out=Path(args.out) if args.out else None,
                        districts=args.districts, jobs=args.jobs, force=args.force,
                        engine={k: v for k, v in engine.items() if v is not None})
    print(result.describe())
    return 0 if result.ok else 1


def _cmd_demo(args: argparse.Namespace) -> int:
    from vaxreport import runner

    result = runner.demo(Path(args.out), scale=args.scale, seed=args.seed, jobs=args.jobs,
                         force=args.force)
    print(result.describe())
    return 0 if result.ok else 1


def _positive_float(text: str) -> float:
    """``--scale``: a finite number > 0 (argparse reports anything else as a usage error)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number: {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a number greater than 0, got {text!r}")
    return value


def _share(text: str) -> float:
    """``--shared``: a number in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number: {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must lie between 0 and 1, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    """``--jobs``: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vaxreport", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("synth", help="write a synthetic province (inputs, params, ground truth)")
    p.add_argument("--out", required=True, help="folder to write into")
    p.add_argument("--scale", type=_positive_float, default=1.0, help="1 = Thái Nguyên 31/5/2022 totals")
    p.add_argument("--seed", type=int, default=2022)
    p.add_argument("--months", type=_positive_int, default=1,
                   help="months to write: the first into --out, each next one into --out/<period>")
    p.add_argument("--next-month", metavar="FROM_DIR", default=None,
                   help="write the month after the synthetic province in FROM_DIR into --out (no --scale)")
    p.add_argument("--provinces", nargs="+", metavar="CODE", default=None,
                   help="two provinces or more (GSO codes, e.g. 19 06) in one export, with persons "
                        "vaccinated in the first and another (truth/cross_province.parquet)")
    p.add_argument("--shared", type=_share, default=0.03,
                   help="with --provinces: share of the first province's vaccinated persons with doses in another")
    p.set_defaults(func=_cmd_synth)

    p = sub.add_parser("validate", help="load a folder of inputs and say what is wrong")
    p.add_argument("folder")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("run", help="run the monthly job for a params YAML")
    p.add_argument("params", help="params/<period>.yaml")
    p.add_argument("--districts", nargs="*", default=None, help="district codes (default: all)")
    p.add_argument("--jobs", type=_positive_int, default=2, help="district notebooks run in parallel")
    p.add_argument("--out", default=None, help="run folder (default: outputs/<period>)")
    p.add_argument("--force", action="store_true", help="replace an existing run folder")
    g = p.add_argument_group("engine (stage 1; the command line wins over the params' engine:)")
    g.add_argument("--engine", choices=["embedded", "dask"], default=None,
                   help="embedded: in this process (default); dask: on a Dask cluster")
    g.add_argument("--workers", type=_positive_int, default=None, help="Dask LocalCluster workers (default 2)")
    g.add_argument("--memory-limit", default=None, help="memory per Dask worker, e.g. 8GB")
    g.add_argument("--partitions", type=_positive_int, default=None,
                   help="dose-row partitions (default: 1 embedded; about one per 750,000 rows on Dask)")
    g.add_argument("--scheduler", default=None, help="an existing Dask scheduler, e.g. tcp://host:8786")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("demo", help="synthesise the embedded province, then run the monthly job")
    p.add_argument("--scale", type=_positive_float, default=1.0)
    p.add_argument("--seed", type=int, default=2022)
    p.add_argument("--jobs", type=_positive_int, default=2)
    p.add_argument("--out", default="outputs/demo")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=_cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except VaxReportError as exc:
        print(f"vaxreport {args.command}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # the file system refused (an --out that is a file, no permission, disk full)
        where = f": {exc.filename}" if exc.filename else ""
        print(f"vaxreport {args.command}: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
