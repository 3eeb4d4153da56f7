"""A synthetic province: persons, their doses, the platform's typing errors, exported as the
platform would (CSV/XLSX, Vietnamese headers, legacy encodings), with the ground truth beside it."""

from vaxreport.synth.generate import ERROR_KINDS, SEED_TOTALS, ErrorRates, SynthSummary, generate, scaled_totals

__all__ = ["ERROR_KINDS", "SEED_TOTALS", "ErrorRates", "SynthSummary", "generate", "scaled_totals"]
