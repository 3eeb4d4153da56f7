"""vaxreport: cleanse Viet Nam's COVID-19 vaccination exports and render Đề án 06 progress reports.

The public façade: ``from vaxreport import clean, dedup, metrics, ...``. Submodules are imported on
first use, so ``import vaxreport`` stays cheap (no matplotlib or typst until a report is made).

Examples:
    >>> import vaxreport
    >>> vaxreport.schemas.DOSES.name
    'doses'
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "clean", "cli", "dedup", "doses", "explore", "figures", "io", "metrics", "narrative",
           "params", "parse", "pipeline", "refdata", "report", "runner", "schemas", "synth", "text", "verify",
           "worklists"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        module = importlib.import_module(f"vaxreport.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'vaxreport' has no attribute {name!r}")
