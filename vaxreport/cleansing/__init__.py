"""Stage 1, first half: every field of the dose line list parsed and repaired, one audit row per change.

Modules, from the bottom up:

- ``columns``: Arrow-backed string-column helpers the parsers and steps share;
- ``parse`` (gender, dose numbers, vaccines), ``dates``, ``ids``, ``phones``: column parsers,
  ``Series -> DataFrame(value, rule, ...)``;
- ``protocol``: what a step is given (``CleanParams``) and may write (``RULE``, ``FLAG``,
  ``QUARANTINE`` helper columns);
- ``steps`` (``STEPS``, the order), ``steps_text``, ``steps_ids``, ``steps_admin``: the pure
  cleansing verbs, ``(df, params) -> df``;
- ``audit``: ``clean_doses`` and ``run_steps``, which turn the helper columns into the audit,
  the quarantine and the flags;
- ``validate``: ``validate_folder``, a folder of inputs checked with the readers of ``io`` and
  the cleanser's date parser.
"""

from vaxreport.cleansing.audit import CleanResult, clean_doses, run_steps
from vaxreport.cleansing.parse import (
    parse_dates,
    parse_dose_numbers,
    parse_gender,
    parse_ids,
    parse_phones,
    parse_vaccines,
    phone_migration,
)
from vaxreport.cleansing.protocol import CleanParams, Step
from vaxreport.cleansing.steps import STEPS
from vaxreport.cleansing.validate import DATE_FORMATS, ValidationReport, validate_folder

__all__ = ["DATE_FORMATS", "STEPS", "CleanParams", "CleanResult", "Step", "ValidationReport", "clean_doses",
           "parse_dates", "parse_dose_numbers", "parse_gender", "parse_ids", "parse_phones", "parse_vaccines",
           "phone_migration", "run_steps", "validate_folder"]
