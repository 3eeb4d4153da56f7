"""Issue 7: hostile inputs, reruns, interrupted runs, concurrent runs, a failing district.

Part 1 takes every loadable file of the bad-input corpus (``tests/data/bad/``, asserted at load
time in the io tests, ``test_sniff.py`` to ``test_conform.py``) through the cleanser, dedup and
dose reconciliation and checks row conservation and what the cleanser does with it; cases the
corpus lacks are built here.
Part 2 runs the real job: it reuses the session's ``demo_run`` and adds a few cheap runs of
stage 1 + one district (``--districts 167``).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import warnings
from pathlib import Path

import pandas as pd
import pytest
from conftest import vaxreport_cmd

from vaxreport import io, layout, schemas, text
from vaxreport.cleansing import audit
from vaxreport.layout import WORKLISTS_TABLE
from vaxreport.linkage import cluster_persons, doses
from vaxreport.linkage.persons import person_records, with_person_id
from vaxreport.runner import rundir

BAD = Path(__file__).parent / "data" / "bad"
AS_OF = dt.date(2022, 6, 1)
HEADER_VI = ["Mã bản ghi", "Mã đối tượng", "Họ và tên", "Ngày sinh", "Giới tính", "Số CMND/CCCD",
             "Số điện thoại", "Mã huyện", "Mã xã", "Tên vắc xin", "Mũi tiêm", "Ngày tiêm",
             "Mã cơ sở tiêm", "Trạng thái ký"]


def _row(i: int, name: str = "Nguyễn Văn An", **over: str) -> list[str]:
    base = {"Mã bản ghi": f"R{i:03d}", "Mã đối tượng": f"P{i:03d}", "Họ và tên": name,
            "Ngày sinh": f"{1 + i % 28:02d}/{1 + i % 12:02d}/{1960 + i % 40}", "Giới tính": "Nam",
            "Số CMND/CCCD": f"0190{(60 + i % 40):02d}{i:06d}", "Số điện thoại": f"0912{i:06d}",
            "Mã huyện": "164", "Mã xã": "05443", "Tên vắc xin": "Pfizer", "Mũi tiêm": "1",
            "Ngày tiêm": f"{1 + i % 28:02d}/05/2022", "Mã cơ sở tiêm": "S0101", "Trạng thái ký": "Đã ký"}
    base.update(over)
    return [base[h] for h in HEADER_VI]


def _write_csv(path: Path, rows: list[list[str]]) -> Path:
    path.write_text("".join(",".join(r) + "\r\n" for r in [HEADER_VI, *rows]), encoding="utf-8")
    return path


def _load(path: Path) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", io.InputWarning)
        return io.load_table(path, schemas.DOSES)


def _through_stage_one(raw: pd.DataFrame) -> tuple[audit.CleanResult, doses.ReconcileResult]:
    """Clean → dedup → reconcile, as stage 1 does; asserts row conservation."""
    cleaned = audit.clean_doses(raw, params=audit.CleanParams(as_of=AS_OF))
    persons = person_records(cleaned.data)
    labels = cluster_persons(persons)
    rec = doses.reconcile(with_person_id(cleaned.data, persons, labels))
    assert len(raw) == len(rec.data) + len(rec.merged) + len(cleaned.quarantine)
    return cleaned, rec


# ------------------------------------------------------------------------------------------------
# Part 1: bad inputs


# (file, rows, kept, merged, quarantined): every corpus file that loads
LOADABLE = [
    ("header_only.csv", 0, 0, 0, 0),
    ("semicolon.csv", 3, 3, 0, 0),
    ("utf8_bom.csv", 3, 3, 0, 0),
    ("utf16.csv", 3, 3, 0, 0),
    ("utf16be.csv", 3, 3, 0, 0),
    ("cp1258.csv", 3, 3, 0, 0),
    ("tcvn3.csv", 3, 3, 0, 0),
    ("title_rows_merged.xlsx", 3, 3, 0, 0),
    ("csv_title_rows.csv", 3, 3, 0, 0),
    ("extra_columns.csv", 3, 3, 0, 0),
    ("impossible_dates.csv", 3, 2, 0, 1),
    ("excel_ids.csv", 2, 2, 0, 0),
    ("big_field.csv", 1, 1, 0, 0),
]


@pytest.mark.parametrize("name, rows, kept, merged, quarantined", LOADABLE)
def test_corpus_rows_are_conserved_through_clean_dedup_reconcile(name, rows, kept, merged, quarantined):
    raw = _load(BAD / name)
    cleaned, rec = _through_stage_one(raw)
    assert (len(raw), len(rec.data), len(rec.merged), len(cleaned.quarantine)) == (rows, kept, merged,
                                                                                   quarantined)


@pytest.mark.parametrize("name", ["cp1258.csv", "utf8_bom.csv", "utf16.csv", "semicolon.csv",
                                  "title_rows_merged.xlsx"])
def test_encodings_clean_to_the_same_nfc_names(name):
    cleaned = audit.clean_doses(_load(BAD / name), params=audit.CleanParams(as_of=AS_OF))
    assert cleaned.data.full_name.tolist() == ["Nguyễn Văn An", "Lê Thị Hòa", "Đỗ Thủy Tiên"]


def test_tcvn3_file_is_repaired_by_the_cleanser():
    cleaned = audit.clean_doses(_load(BAD / "tcvn3.csv"), params=audit.CleanParams(as_of=AS_OF))
    assert cleaned.data.full_name.tolist() == ["Nguyễn Thị Hồng", "Đỗ Văn Đạt", "Trần Thị Thanh Hà"]
    assert set(cleaned.audit.query("column == 'full_name'").rule) == {"text_legacy_tcvn3"}


def test_mixed_tcvn3_vni_and_unicode_in_one_column(tmp_path):
    names = ["Nguyễn Thị Hồng", "Đỗ Văn Đạt", "Trần Thị Thanh Hà", "Lê Văn Bình"]
    shown = [text.encode_legacy(names[0], "tcvn3"), names[1], text.encode_legacy(names[2], "vni"),
             names[3]]
    assert shown[0] == "NguyÔn ThÞ Hång"  # what a TCVN3-font cell looks like after export
    raw = _load(_write_csv(tmp_path / "doses.csv", [_row(i, n) for i, n in enumerate(shown)]))
    assert raw.full_name.tolist() == shown  # loads as is: repair is the cleanser's job
    cleaned, _ = _through_stage_one(raw)
    assert cleaned.data.full_name.tolist() == names
    audit = cleaned.audit.query("column == 'full_name'").set_index("record_id").rule.to_dict()
    assert audit == {"R000": "text_legacy_tcvn3", "R002": "text_legacy_vni"}


def test_xlsx_title_rows_and_merged_cells_clean(tmp_path):
    cleaned, rec = _through_stage_one(_load(BAD / "title_rows_merged.xlsx"))
    d = cleaned.data
    assert d.site_code.tolist() == ["S0101"] * 3  # the merged cell fills its block
    assert d.birth_date.dt.strftime("%Y-%m-%d").tolist() == ["1980-02-01", "1985-03-04", "2009-12-12"]
    assert d.id_number.tolist()[:2] == ["019080000123", "019185000456"]  # leading zero restored
    assert d.dose_number.tolist()[:2] == [1, 2] and pd.isna(d.dose_number.iloc[2])  # "1.5" unknown


def test_ids_as_scientific_notation_and_lost_leading_zero():
    cleaned, _ = _through_stage_one(_load(BAD / "excel_ids.csv"))
    d = cleaned.data.set_index("record_id")
    assert pd.isna(d.loc["R001", "id_number"]) and not d.loc["R001", "id_valid"]
    assert d.loc["R001", "id_flags"] == "id_excel_lost_digits"  # 1.9E+11: digits gone, never guessed
    assert (d.loc["R002", "id_number"], bool(d.loc["R002", "id_valid"])) == ("019185000456", True)
    assert d.phone.tolist() == ["0912345678", "0987654321"]
    rules = cleaned.audit.set_index(["record_id", "column"]).rule.to_dict()
    assert rules[("R001", "id_number")] == "id_excel_lost_digits"
    assert rules[("R002", "id_number")] == "id_restore_leading_zero"


def test_impossible_dose_date_is_quarantined_with_its_reason():
    cleaned, _ = _through_stage_one(_load(BAD / "impossible_dates.csv"))
    q = cleaned.quarantine
    assert q[["record_id", "dose_date", "reason"]].values.tolist() == [["R001", "31/02/2022",
                                                                         "impossible_dose_date"]]
    r2 = cleaned.data.set_index("record_id").loc["R002"]
    assert pd.isna(r2.birth_date) and "birth_date_unparseable" in r2.date_flags  # kept, flagged


def test_ten_percent_garbage_rows_are_quarantined_with_reasons_nothing_lost(tmp_path):
    good = [_row(i) for i in range(36)]
    garbage = [_row(900, "@@@###", **{"Ngày tiêm": "xx/yy/zzzz", "Ngày sinh": "???"}),
               _row(901, "", **{"Ngày tiêm": "", "Số CMND/CCCD": "abc"}),
               _row(902, "Lê Văn ?", **{"Tên vắc xin": "???", "Số điện thoại": "0"}),
               _row(903, "x", **{"Ngày tiêm": "99/99/9999", "Mã xã": "zzz"})]
    rows = good[:9] + garbage[:1] + good[9:18] + garbage[1:2] + good[18:27] + garbage[2:3] + good[27:] + garbage[3:]
    raw = _load(_write_csv(tmp_path / "doses.csv", rows))
    assert len(raw) == 40
    cleaned, rec = _through_stage_one(raw)
    q = cleaned.quarantine.set_index("record_id")
    assert q.reason.to_dict() == {"R900": "unparseable_dose_date", "R901": "no_dose_date",
                                  "R902": "unknown_vaccine", "R903": "impossible_dose_date"}
    # the quarantine keeps each row exactly as it was loaded
    pd.testing.assert_frame_equal(q.drop(columns="reason"),
                                  raw.set_index("record_id").loc[q.index], check_dtype=False)
    assert len(rec.data) + len(rec.merged) == 36
    assert sorted(set(rec.data.record_id) | set(rec.merged.record_id)) == [f"R{i:03d}" for i in range(36)]


def test_100_kb_field_survives_cleaning():
    cleaned, _ = _through_stage_one(_load(BAD / "big_field.csv"))
    assert cleaned.data.address.str.len().tolist() == [100_000]


def test_unknown_extra_columns_reach_the_quarantine_untouched(tmp_path):
    raw = _load(BAD / "extra_columns.csv")
    raw.loc[1, "dose_date"] = "31/02/2022"
    cleaned, _ = _through_stage_one(raw)
    assert cleaned.quarantine[["record_id", "Người nhập", "reason"]].values.tolist() == [
        ["R002", "cb01", "impossible_dose_date"]]


def test_cli_run_on_a_truncated_export_fails_with_one_clear_message(tmp_path, demo_data):
    """A run whose doses file is cut off stops at stage 1, names file and row, and exits 1."""
    data = tmp_path / "data"
    shutil.copytree(demo_data / "inputs", data / "inputs")
    shutil.copy(demo_data / "params.yaml", data / "params.yaml")
    doses_csv = data / "inputs" / "doses.csv"
    blob = doses_csv.read_bytes()
    doses_csv.write_bytes(blob[: len(blob) // 2])  # cut mid-row
    proc = subprocess.run(vaxreport_cmd("run", str(data / "params.yaml"), "--out", str(tmp_path / "run")),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1
    assert "FAILED: cleansed/cleanse.ipynb (cell In [" in proc.stdout
    assert f"InputDataError: file {doses_csv}, row " in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not (tmp_path / "run" / "districts").exists()
    # nothing to report on: no manifest, the folder says why, and the next run starts clean
    assert not (tmp_path / "run" / layout.MANIFEST).exists()
    incomplete = (tmp_path / "run" / rundir.INCOMPLETE_NAME).read_text(encoding="utf-8")
    assert "failed in stage 1" in incomplete and "FAILED at cell In [" in incomplete
    assert not (tmp_path / "run" / rundir.LOCK_NAME).exists()
    with rundir.run_lock(tmp_path / "run", force=False) as note:
        assert note == f"note: {tmp_path / 'run'} holds an incomplete run (no manifest); starting clean"


# ------------------------------------------------------------------------------------------------
# Part 2: reruns, a killed run, concurrent runs, a busy or complete folder, a failing district


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


# ``fault_runs`` and ``hostile_run`` come from ``conftest.run_battery``: run A is SIGKILLed during
# its district stage, then B reruns into A's folder; H (hostile params, a failing district 168)
# runs into another folder at the same time as both.


def test_second_run_into_a_busy_folder_is_refused(fault_runs):
    busy = fault_runs["busy"]
    assert busy.returncode == 1
    assert busy.stderr.strip().endswith(f"vaxreport run: {fault_runs['x']} is in use by another vaxreport run "
                                        f"(pid {fault_runs['a_pid']}); choose another --out or wait for it "
                                        "to finish")


def test_killed_run_leaves_nothing_that_looks_complete(fault_runs):
    files = fault_runs["killed"]["files"]
    assert layout.MANIFEST not in files
    assert {rundir.INCOMPLETE_NAME, rundir.LOCK_NAME} <= files
    assert "cleansed/conservation.json" in files  # stage 1 had finished
    assert not [f for f in files if f.startswith("districts/") and f.endswith(("/report.ipynb", "/report.pdf",
                                                                                "/metrics.json"))]
    assert not any(f.startswith("province/") for f in files)
    assert [f for f in files if f.endswith(".partial.ipynb")]  # hidden, and cleared by the next run


def test_killed_run_leaves_no_process_behind(fault_runs):
    assert fault_runs["killed"]["orphans"] == [], "workers/kernels of the killed run still alive after 30 s"


def test_rerun_after_a_kill_says_it_starts_clean_and_completes(fault_runs):
    x = fault_runs["x"]
    assert fault_runs["codes"]["b"] == 0, fault_runs["logs"]["b"][-3000:]
    assert (f"note: {x} holds an interrupted run (pid {fault_runs['a_pid']}); starting clean"
            in fault_runs["logs"]["b"])
    files = _files(x)
    assert layout.MANIFEST in files and rundir.INCOMPLETE_NAME not in files and rundir.LOCK_NAME not in files
    assert not [f for f in files if "partial" in f or f.endswith(".tmp")]
    assert not [f for f in files if f.startswith("districts/168-")]  # the killed run's leftovers are gone
    manifest = json.loads((x / layout.MANIFEST).read_text(encoding="utf-8"))
    assert [nb["stage"] for nb in manifest["notebooks"]] == ["cleanse", "district", "province"]


def _reproducible(run: Path) -> dict[str, bytes]:
    """Files that must be byte-identical across reruns: personal and fact parquet, district 167's
    PDF and metrics, the worklist summary and the workbooks of district 167's sites (stage 2)."""
    table = pd.read_parquet(run / "cleansed" / WORKLISTS_TABLE, columns=["site_code", "district_code"])
    sites = sorted(set(table.loc[table["district_code"] == "167", "site_code"]))
    workbooks = [run / "cleansed" / "worklists" / f"{s}.xlsx" for s in sites]
    assert workbooks and all(p.exists() for p in workbooks)
    paths = (list((run / "cleansed").rglob("*.parquet")) + workbooks
             + [run / "cleansed" / "worklists" / "_tong_hop.xlsx"]
             + list((run / "districts").glob("167-*/report.pdf")) + list((run / "districts").glob("167-*/metrics.json"))
             + [run / "cleansed" / "conservation.json"])
    return {str(p.relative_to(run)): p.read_bytes() for p in paths}


def test_reruns_and_concurrent_runs_are_byte_identical(fault_runs, hostile_run):
    demo, x = _reproducible(fault_runs["demo"]), _reproducible(fault_runs["x"])
    assert len(demo) >= 18 and "districts/167-huyen-dinh-hoa/report.pdf" in demo
    assert sorted(x) == sorted(demo)
    assert [k for k in demo if x[k] != demo[k]] == []
    # H ran into another folder at the same time as A and B, with other report texts: its stage 1
    # outputs are still the same bytes (no interference; params text does not touch the data).
    h = _reproducible(hostile_run["run"])
    stage_one = [k for k in demo if k.startswith("cleansed/")]
    assert [k for k in stage_one if h.get(k) != demo[k]] == []


def test_complete_folder_is_refused_without_force(demo_run, demo_data, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(demo_run.out, copy)
    before = {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    proc = subprocess.run(vaxreport_cmd("run", str(demo_data / "params.yaml"), "--out", str(copy)),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert proc.stderr.strip() == (f"vaxreport run: {copy} already holds a complete run; pass --force to "
                                   "replace it or choose another --out")
    assert before == {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()}


def test_failing_district_is_reported_and_the_rest_completes(hostile_run):
    from conftest import FAILING_DISTRICT

    res, run = hostile_run["result"], hostile_run["run"]
    assert hostile_run["exit"] == 1
    by_stage = {(nb.stage, nb.name.split()[0] if nb.stage == "district" else nb.stage): nb for nb in res.notebooks}
    bad = by_stage[("district", FAILING_DISTRICT)]
    assert (bad.ok, bad.failed_cell, bad.error) == (False, 4, "RuntimeError: injected failure for district 168")
    assert by_stage[("district", "167")].ok and by_stage[("province", "province")].ok
    assert by_stage[("cleanse", "cleanse")].ok
    assert (f"FAILED: {bad.output} (cell In [4]): RuntimeError: injected failure for district 168"
            in hostile_run["stdout"])
    assert "Traceback" not in hostile_run["stdout"] + hostile_run["stderr"]
    folder = run / Path(bad.output).parent
    assert sorted(p.name for p in folder.iterdir()) == ["report.html", "report.ipynb", "report.kernel.log"]  # no PDF
    assert "injected failure for district 168" in (folder / "report.html").read_text(encoding="utf-8")
    from pypdf import PdfReader

    text = " ".join((pg.extract_text() or "") for pg in PdfReader(run / "province" / "report.pdf").pages)
    text = " ".join(text.split())
    assert "Chưa tổng hợp được số liệu của:" in text and "Huyện Phú Lương" in text
    manifest = json.loads((run / layout.MANIFEST).read_text(encoding="utf-8"))
    assert manifest["ok"] is False


def test_a_failed_run_is_replaced_without_force_and_says_so(tmp_path):
    out = tmp_path / "run"
    (out / "cleansed").mkdir(parents=True)
    (out / layout.MANIFEST).write_text('{"ok": false}')
    with rundir.run_lock(out, force=False) as note:
        assert note == f"note: {out} holds a run that failed (see its manifest.json); starting clean"
        assert sorted(p.name for p in out.iterdir()) == [rundir.LOCK_NAME, rundir.INCOMPLETE_NAME]
    assert not (out / rundir.LOCK_NAME).exists()


def test_an_interrupted_run_keeps_its_lock_and_the_next_run_says_so(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        with rundir.run_lock(out, force=False):
            (out / "cleansed").mkdir()
            raise KeyboardInterrupt  # Ctrl-C in the middle of stage 1
    assert (out / rundir.LOCK_NAME).exists() and (out / rundir.INCOMPLETE_NAME).exists()
    (out / rundir.LOCK_NAME).write_text("999999999\nold-token\n")  # its pid, now dead
    with rundir.run_lock(out, force=False) as note:
        assert note == f"note: {out} holds an interrupted run (pid 999999999); starting clean"
        assert not (out / "cleansed").exists()
    assert not (out / rundir.LOCK_NAME).exists()
