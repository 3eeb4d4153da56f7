"""The run folder's layout: where every stage reads and writes. Paths only — nothing here
touches disk except :func:`unit_dir`, which creates a report's folder.

A run folder looks like::

    <run>/cleansed/                          stage 1: personal tables (owner-only)
    <run>/cleansed/inputs.json               the inputs' sha256, written before stage 1
    <run>/cleansed/facts/<table>.parquet     stage 1 → 2 contract: aggregatable, no personal data
    <run>/cleansed/worklists/                correction workbooks per site (personal data)
    <run>/cleansed/facts/worklist_returns.parquet  last month's returned worklists, checked (counts)
    <run>/cleansed/facts/worklist_followup.parquet last month's worklist lines, fixed or not (counts)
    <run>/districts/<code>-<slug>/report.*   stage 2, one folder per district (pdf, docx;
                                             indicators.xlsx beside them)
    <run>/province/report.*                  stage 3 (a run covering several provinces:
                                             provinces/<code>-<slug>/report.*, one each)
    <run>/manifest.json                      written last: a run without it is not complete

Examples:
    >>> unit_path("/runs/2022-05", "164", "TP Thái Nguyên").as_posix()
    '/runs/2022-05/districts/164-tp-thai-nguyen'
    >>> facts_dir("/runs/2022-05").as_posix()
    '/runs/2022-05/cleansed/facts'
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

CLEANSED = "cleansed"
FACTS = "facts"
WORKLISTS = "worklists"
WORKLISTS_TABLE = "worklists.parquet"
CONSERVATION = "conservation.json"
INPUTS_JSON = "inputs.json"
#: ``cleansed/engine.json``: where stage 1 ran (engine, workers, partitions, versions, phase times).
ENGINE_JSON = "engine.json"
#: Last month's returned worklists checked against this run (counts only), in ``facts/``.
RETURNS_TABLE = "worklist_returns.parquet"
#: Last month's worklist lines followed up in this run (counts only), in ``facts/``.
FOLLOWUP_TABLE = "worklist_followup.parquet"
#: Pairs for clerical review (personal data), in ``cleansed/``; what the decisions did (counts), in ``facts/``.
REVIEW_QUEUE = "review_queue.parquet"
REVIEW_SUMMARY = "review_decisions.json"
MANIFEST = "manifest.json"


def slugify(text: str) -> str:
    """ASCII folder-safe slug of a unit name (no path separators can survive).

    >>> slugify("Đồng Hỷ / ../x")
    'dong-hy-x'
    """
    s = unicodedata.normalize("NFD", text).replace("đ", "d").replace("Đ", "D")
    s = "".join(ch for ch in s if unicodedata.category(ch) != "Mn").lower()
    return re.sub(r"[^a-z0-9]+", "-", s).strip("-") or "unit"


def cleansed_dir(run_dir: Path | str) -> Path:
    """``<run>/cleansed``: stage 1's personal tables."""
    return Path(run_dir) / CLEANSED


def facts_dir(run_dir: Path | str) -> Path:
    """``<run>/cleansed/facts``: the tables the reports are computed from."""
    return cleansed_dir(run_dir) / FACTS


def worklists_dir(run_dir: Path | str) -> Path:
    """``<run>/cleansed/worklists``: the correction workbooks."""
    return cleansed_dir(run_dir) / WORKLISTS


def worklists_table(run_dir: Path | str) -> Path:
    """``<run>/cleansed/worklists.parquet``: every worklist line, with its district."""
    return cleansed_dir(run_dir) / WORKLISTS_TABLE


def inputs_json(run_dir: Path | str) -> Path:
    """``<run>/cleansed/inputs.json``: the inputs' sha256 (as in the manifest), for the appendices."""
    return cleansed_dir(run_dir) / INPUTS_JSON


def engine_json(run_dir: Path | str) -> Path:
    """``<run>/cleansed/engine.json``: where stage 1 ran (engine, partitions, phase times)."""
    return cleansed_dir(run_dir) / ENGINE_JSON


def review_queue(run_dir: Path | str) -> Path:
    """``<run>/cleansed/review_queue.parquet``: the pairs worth a clerical review (personal data)."""
    return cleansed_dir(run_dir) / REVIEW_QUEUE


def review_summary(run_dir: Path | str) -> Path:
    """``<run>/cleansed/facts/review_decisions.json``: what the review decisions did (counts only)."""
    return facts_dir(run_dir) / REVIEW_SUMMARY


def returns_table(run_dir: Path | str) -> Path:
    """``<run>/cleansed/facts/worklist_returns.parquet``: the returned worklists, checked (counts)."""
    return facts_dir(run_dir) / RETURNS_TABLE


def followup_table(run_dir: Path | str) -> Path:
    """``<run>/cleansed/facts/worklist_followup.parquet``: last month's worklist lines, fixed or
    not (counts)."""
    return facts_dir(run_dir) / FOLLOWUP_TABLE


def unit_path(run_dir: Path | str, code: str | None, name: str) -> Path:
    """Output folder of one report, ``districts/<code>-<slug>`` or ``province`` (not created)."""
    return Path(run_dir) / ("province" if code is None else f"districts/{code}-{slugify(name)}")


def province_path(run_dir: Path | str, code: str | None, name: str) -> Path:
    """Output folder of a province report: ``province`` (``code`` None: a one-province run) or
    ``provinces/<code>-<slug>`` (each province of a run covering several; not created).

    >>> province_path("/r", "06", "Bắc Kạn").as_posix(), province_path("/r", None, "Bắc Kạn").as_posix()
    ('/r/provinces/06-bac-kan', '/r/province')
    """
    return Path(run_dir) / ("province" if code is None else f"provinces/{code}-{slugify(name)}")


def unit_dir(run_dir: Path | str, code: str | None, name: str) -> Path:
    """:func:`unit_path`, created if missing (the folder a report notebook writes into)."""
    folder = unit_path(run_dir, code, name)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
