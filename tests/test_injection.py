"""Issue 7, safety: strings from params (and admin names) reach notebooks, typst and HTML as
data, never as code, and cannot write outside the run folder.

Uses the session's ``hostile_run`` (``conftest.py``): the real notebooks run on the demo inputs
with a params file whose title, agency, recipients, proposals and a district's name, agency and
document number hold quotes, newlines, Python/typst/markdown/HTML markup and path separators.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from conftest import FAILING_DISTRICT, HOSTILE, HOSTILE_DISTRICT
from pypdf import PdfReader


def _squash(s: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFC", s))


def _pdf(path: Path) -> str:
    return _squash("".join(page.extract_text() or "" for page in PdfReader(path).pages))


def _district_dir(run: Path) -> Path:
    (folder,) = (run / "districts").glob(f"{HOSTILE_DISTRICT}-*")
    return folder


def test_hostile_strings_never_write_outside_the_run_folder(hostile_run):
    root, run = hostile_run["root"], hostile_run["run"]
    assert sorted(p.name for p in root.iterdir()) == ["notebooks", "params.yaml", "run"]
    assert not any("PWNED" in p.name for p in root.parents[1].rglob("*")), "a path escaped via a name"
    assert not (Path.cwd() / "PWNED").exists()
    folder = _district_dir(run)
    assert folder.parent == run / "districts"
    assert folder.name == f"{HOSTILE_DISTRICT}-huyen-dinh-hoa-pwned-x"  # slugged: no separators left
    for path in run.rglob("*"):
        assert path.resolve().is_relative_to(run.resolve()), path


def test_hostile_district_report_prints_the_strings_literally(hostile_run):
    pdf = _district_dir(hostile_run["run"]) / "report.pdf"
    text = _pdf(pdf)
    agency = _squash(HOSTILE["district_agency"])
    assert agency.upper() in text  # printed in capitals, markup and quotes intact
    assert _squash(f"Số: {HOSTILE['district_doc_number']}") in text
    assert _squash(HOSTILE["district_name"][:1].lower() + HOSTILE["district_name"][1:]) in text
    for line in HOSTILE["recipients"][:3]:
        assert _squash(line) in text, line


def test_hostile_province_report_prints_the_strings_literally(hostile_run):
    text = _pdf(hostile_run["run"] / "province" / "report.pdf")
    assert _squash(HOSTILE["title"]) in text
    assert _squash(HOSTILE["agency"]).upper() in text
    for s in HOSTILE["proposals"]:
        assert _squash(s) in text, s
    for line in HOSTILE["recipients"]:
        assert _squash(line) in text, line


def test_html_reports_escape_the_strings(hostile_run):
    html = (_district_dir(hostile_run["run"]) / "report.html").read_text(encoding="utf-8")
    assert "touch PWNED" in html  # the agency line the notebook prints, as text
    assert "<script>alert(1)</script>" not in html
    for path in hostile_run["run"].rglob("*.html"):
        assert "<script>alert(1)</script>" not in path.read_text(encoding="utf-8"), path


def test_notebook_parameters_are_passed_as_data(hostile_run):
    """Papermill injects ``params_path``/``run_dir`` only; the strings live in the YAML file."""
    import nbformat

    nb = nbformat.read(_district_dir(hostile_run["run"]) / "report.ipynb", as_version=4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    names = re.findall(r"^(\w+) = ", injected.source, flags=re.M)
    assert names == ["params_path", "run_dir", "district_code"]
    assert f'district_code = "{HOSTILE_DISTRICT}"' in injected.source


def test_failing_district_does_not_hide_the_hostile_one(hostile_run):
    ok = {nb.name.split()[0]: nb.ok for nb in hostile_run["result"].notebooks if nb.stage == "district"}
    assert ok == {HOSTILE_DISTRICT: True, FAILING_DISTRICT: False}  # roll-up: test_reliability
