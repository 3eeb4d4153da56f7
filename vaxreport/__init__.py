"""vaxreport: cleanse Viet Nam's COVID-19 vaccination exports and render Đề án 06 progress reports.

The house, by stage (arrows point down only)::

    cli, explore                      the commands and the analyst's ad hoc helpers
    runner/     dag, rundir, stages   the monthly job: papermill DAG, run folder, stage calls
    reporting/  metrics, narrative, figures, worklists, report/   stages 2-3
    facts                             the stage 1 → 2 contract
    linkage/    prepare, blocking, compare, model, score,         stage 1, second half
                cluster, explain, persons, doses, dose_checks, verify
    cleansing/  parse, dates, ids, phones, steps, audit, validate stage 1, first half
    io/, layout, params, schemas, refdata, text, percent, frames, exceptions

The public API below is imported on first use, so ``import vaxreport`` stays cheap (no pandas,
matplotlib or typst until they are needed).

Examples:
    >>> import vaxreport
    >>> vaxreport.schemas.DOSES.name
    'doses'
    >>> vaxreport.pct(2756537, 2924867)
    Decimal('94.24')
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name -> the module that defines it (a module itself when the two are equal)
_API: dict[str, str] = {
    # modules, for ``vaxreport.<module>.<name>``
    **{m: f"vaxreport.{m}" for m in ("cli", "exceptions", "explore", "facts", "io", "layout", "params", "refdata",
                                     "schemas", "synth", "text", "cleansing", "linkage", "reporting", "runner")},
    # the monthly job
    "run": "vaxreport.runner", "demo": "vaxreport.runner", "run_stage_one": "vaxreport.runner",
    "StageOne": "vaxreport.runner", "RunParams": "vaxreport.params",
    # stage 1
    "load_inputs": "vaxreport.io", "validate_folder": "vaxreport.cleansing.validate",
    "clean_doses": "vaxreport.cleansing.audit",
    "cluster_persons": "vaxreport.linkage", "explain_pair": "vaxreport.linkage",
    "reconcile": "vaxreport.linkage.doses", "verify_persons": "vaxreport.linkage.verify",
    # stage 1 → 2 and the reports
    "Facts": "vaxreport.facts", "load_facts": "vaxreport.facts", "report_metrics": "vaxreport.reporting.metrics",
    "build_report": "vaxreport.reporting.narrative", "write_pdf": "vaxreport.reporting.report",
    "pct": "vaxreport.percent",
}
__all__ = ["__version__", *sorted(_API)]

if TYPE_CHECKING:
    from vaxreport import (
        cleansing,
        cli,
        exceptions,
        explore,
        facts,
        io,
        layout,
        linkage,
        params,
        refdata,
        reporting,
        runner,
        schemas,
        synth,
        text,
    )
    from vaxreport.cleansing.audit import clean_doses
    from vaxreport.cleansing.validate import validate_folder
    from vaxreport.facts import Facts, load_facts
    from vaxreport.io import load_inputs
    from vaxreport.linkage import cluster_persons, explain_pair
    from vaxreport.linkage.doses import reconcile
    from vaxreport.linkage.verify import verify_persons
    from vaxreport.params import RunParams
    from vaxreport.percent import pct
    from vaxreport.reporting.metrics import report_metrics
    from vaxreport.reporting.narrative import build_report
    from vaxreport.reporting.report import write_pdf
    from vaxreport.runner import StageOne, demo, run, run_stage_one


def __getattr__(name: str) -> Any:
    where = _API.get(name)
    if where is None:
        raise AttributeError(f"module 'vaxreport' has no attribute {name!r}")
    module = importlib.import_module(where)
    value = module if where == f"vaxreport.{name}" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
