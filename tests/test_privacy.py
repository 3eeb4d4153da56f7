"""Issue 7, privacy: no ID number, phone number or birth date of the synthetic inputs appears in
any report, notebook, HTML, JSON or log of the session's demo run; files with personal data are
readable by their owner only.

The search is set-based: every ID/phone (with the variants an export or a formatter may give:
leading zero dropped, ``84`` prefix, thousands dots) and every birth date of the inputs and the
ground truth goes into a set; every 9–12-digit run and every date in the outputs is extracted
by regex and looked up.
"""

from __future__ import annotations

import datetime as dt
import re
import stat
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader

from vaxreport import io

DIGITS = re.compile(r"(?<![\d.])(?:\d{9,12}|\d{1,3}(?:[. ]\d{3}){2,3})(?![\d])")
DMY = re.compile(r"(?<!\d)(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?!\d)")
YMD = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
#: Dates on or after this are campaign dates (doses, weeks, report dates), not birth dates of
#: the people in the inputs that a report could leak (the youngest vaccinated are 5).
BIRTH_CUTOFF = dt.date(2018, 1, 1)


def _digits(values: pd.Series) -> set[str]:
    out: set[str] = set()
    for v in values.dropna().astype(str):
        d = re.sub(r"\D", "", v)
        if len(d) < 9:
            continue
        out |= {d, d.lstrip("0")}
        if d.startswith("0"):
            out.add("84" + d[1:])
        if d.startswith("84"):
            out.add("0" + d[2:])
    return {d for d in out if len(d) >= 9}


def _dates(values: pd.Series) -> set[dt.date]:
    parsed = pd.to_datetime(values.astype("string").str.strip(), format="mixed", dayfirst=True,
                            errors="coerce")
    return {d.date() for d in parsed.dropna() if d.date() < BIRTH_CUTOFF}


@pytest.fixture(scope="module")
def secrets(demo_data: Path) -> tuple[set[str], set[dt.date]]:
    truth = pd.read_parquet(demo_data / "truth" / "doses_truth.parquet")
    inputs = io.load_inputs(demo_data / "inputs")
    numbers = _digits(truth.true_id_number) | _digits(truth.true_phone)
    births = {d.date() for d in pd.to_datetime(truth.true_birth_date).dropna()}
    for df in (inputs.doses, inputs.feedback, inputs.registry):
        for col in ("id_number", "phone", "insurance_no"):
            if col in df:
                numbers |= _digits(df[col])
        if "birth_date" in df:
            births |= _dates(df["birth_date"])
    assert len(numbers) > 1000 and len(births) > 1000  # the sets really hold the inputs' data
    return numbers, {b for b in births if b < BIRTH_CUTOFF}


def _leaks(text: str, numbers: set[str], births: set[dt.date]) -> list[str]:
    found = []
    for m in DIGITS.finditer(text):
        if re.sub(r"\D", "", m.group()) in numbers:
            found.append(m.group())
    for rx, order in ((DMY, (2, 1, 0)), (YMD, (0, 1, 2))):
        for m in rx.finditer(text):
            y, mo, d = (int(m.group(i + 1)) for i in order)
            try:
                if dt.date(y, mo, d) in births:
                    found.append(m.group())
            except ValueError:
                pass
    return found


def _pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)


def _docx_text(path: Path) -> str:
    """Every paragraph (body, table cells, headers and footers) and the core properties."""
    import docx

    d = docx.Document(path)
    parts = [p.text for p in d.element.body.iter(docx.oxml.ns.qn("w:p"))
             for p in [docx.text.paragraph.Paragraph(p, d)]]
    for s in d.sections:
        parts += [p.text for part in (s.header, s.footer, s.first_page_header, s.first_page_footer)
                  for p in part.paragraphs]
    cp = d.core_properties
    return "\n".join([*parts, cp.title or "", cp.author or "", cp.comments or ""])


def _xlsx_text(path: Path) -> str:
    """Every cell of every sheet (numbers as written: an ID stored as a number is caught too)."""
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True)
    return "\n".join(str(v) for ws in wb for row in ws.iter_rows(values_only=True) for v in row if v is not None)


_READERS = {".pdf": _pdf_text, ".docx": _docx_text, ".xlsx": _xlsx_text}


def _text_outputs(run: Path) -> list[Path]:
    """Every human-facing or log-like file of a run: reports (PDF, DOCX, XLSX appendix), notebooks,
    HTML, JSON. The worklists under the owner-only ``cleansed/`` are personal data by design."""
    return sorted(p for p in run.rglob("*") if p.is_file() and (
        p.suffix in {".pdf", ".html", ".ipynb", ".json"}
        or (p.suffix in {".docx", ".xlsx"} and "cleansed" not in p.relative_to(run).parts)))


def test_no_id_phone_or_birth_date_in_any_report_notebook_json_or_log(demo_run, demo_logs, secrets):
    numbers, births = secrets
    files = _text_outputs(demo_run.out)
    kinds = {p.suffix for p in files}
    assert kinds == {".pdf", ".docx", ".xlsx", ".html", ".ipynb", ".json"}, kinds
    assert [len([p for p in files if p.suffix == k]) for k in (".pdf", ".docx", ".xlsx")] == [10, 10, 10]
    leaks = {}
    for path in files:
        read = _READERS.get(path.suffix)
        text = read(path) if read else path.read_text(encoding="utf-8")
        if found := _leaks(text, numbers, births):
            leaks[str(path.relative_to(demo_run.out))] = found[:5]
    for name, log in demo_logs.items():
        if found := _leaks(log, numbers, births):
            leaks[name] = found[:5]
    assert leaks == {}


def test_the_scan_would_catch_a_leak(secrets):
    numbers, births = secrets
    some_id = next(n for n in sorted(numbers) if len(n) == 12)
    some_birth = min(births)
    text = f"x {some_id} y {some_birth.day}/{some_birth.month}/{some_birth.year} z {some_id[:3]}.{some_id[3:6]}"
    assert _leaks(text, numbers, births)[:2] == [some_id, f"{some_birth.day}/{some_birth.month}/{some_birth.year}"]


def test_report_facts_hold_no_personal_columns(demo_run, secrets):
    numbers, births = secrets
    personal = {"full_name", "birth_date", "id_number", "phone", "insurance_no", "address", "name_key",
                "person_ref"}
    for path in sorted((demo_run.out / "cleansed" / "facts").glob("*.parquet")):
        df = pd.read_parquet(path)
        assert not personal & set(df.columns), (path.name, personal & set(df.columns))
        for col in df.columns:
            if df[col].dtype == object or str(df[col].dtype).startswith(("str", "string")):
                assert not set(df[col].dropna().astype(str)) & numbers, (path.name, col)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_with_personal_data_are_owner_only(demo_run):
    cleansed = demo_run.out / "cleansed"
    assert _mode(cleansed) == 0o700
    private = sorted(cleansed.glob("*.parquet")) + sorted(cleansed.rglob("*.xlsx"))
    names = {p.name for p in private}
    assert {"doses.parquet", "persons.parquet", "quarantine.parquet", "audit.parquet", "findings.parquet",
            "merged_doses.parquet", "verification.parquet"} <= names
    assert {p.name: oct(_mode(p)) for p in private if _mode(p) != 0o600} == {}
    for nb in (cleansed / "cleanse.ipynb", cleansed / "cleanse.html"):
        assert _mode(nb) == 0o600, nb
    worklists = cleansed / "worklists"
    if worklists.exists():
        assert _mode(worklists) & 0o077 == 0 or all(_mode(p) == 0o600 for p in worklists.iterdir())


def test_reports_are_readable_and_nothing_is_world_writable(demo_run):
    for path in demo_run.out.rglob("*"):
        assert _mode(path) & 0o002 == 0, path
    for pdf in demo_run.pdfs():
        assert _mode(pdf) == 0o644
