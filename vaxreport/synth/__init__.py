"""A synthetic province: persons, their doses, the platform's typing errors, exported as the
platform would (CSV/XLSX, Vietnamese headers, legacy encodings), with the ground truth beside it.

Stages, one module each: ``population`` (the true persons) < ``doses`` (their true vaccination
histories) < ``errors`` (the platform's typing errors) < ``records`` (person records, dose rows,
entry and signing) < ``export`` (the files) < ``province`` (``generate``, the orchestration);
``seed`` holds the seed report's totals and ``arrays`` the small vectorised helpers.
"""

from vaxreport.synth.errors import ERROR_KINDS, ErrorRates
from vaxreport.synth.export import SynthSummary
from vaxreport.synth.province import generate
from vaxreport.synth.seed import SEED_TOTALS, scaled_totals

__all__ = ["ERROR_KINDS", "SEED_TOTALS", "ErrorRates", "SynthSummary", "generate", "scaled_totals"]
