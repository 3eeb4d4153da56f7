"""Runner mechanics on tiny notebooks: failure isolation, HTML export, run-folder locking."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from vaxreport import layout, runner
from vaxreport.exceptions import RunError
from vaxreport.runner import rundir


def _notebook(path: Path, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('district_code: str = ""  # district code')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *[nbformat.v4.new_code_cell(c) for c in cells]]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


@pytest.mark.notebooks
def test_failing_notebook_is_reported_with_its_cell(tmp_path):
    nb = _notebook(tmp_path / "bad.ipynb", "x = 1", "raise ValueError('boom in ' + district_code)")
    out = tmp_path / "run" / "d" / "report.ipynb"
    res = runner.execute("district", "164", nb, out, {"district_code": "164"}, run_dir=tmp_path / "run")
    assert not res.ok
    assert res.failed_cell == 4  # In [4] of the executed copy: papermill injects a parameters cell
    assert res.error == "ValueError: boom in 164"
    assert out.exists() and out.with_suffix(".html").exists()


@pytest.mark.notebooks
def test_successful_notebook_html_has_no_code(tmp_path):
    nb = _notebook(tmp_path / "ok.ipynb", "secret_source_line = 41 + 1\nprint('visible output', secret_source_line)")
    out = tmp_path / "run" / "report.ipynb"
    res = runner.execute("province", "p", nb, out, {}, run_dir=tmp_path / "run")
    assert res.ok, res.error
    html = out.with_suffix(".html").read_text(encoding="utf-8")
    assert "visible output 42" in html
    assert "secret_source_line = 41" not in html


@pytest.mark.notebooks
def test_kernel_diagnostics_go_to_a_log_beside_the_notebook(tmp_path, capfd):
    nb = _notebook(tmp_path / "ok.ipynb", "print('fine')")
    out = tmp_path / "run" / "report.ipynb"
    res = runner.execute("province", "p", nb, out, {}, run_dir=tmp_path / "run")
    assert res.ok, res.error
    log = out.with_name("report.kernel.log")
    assert "[IPKernelApp]" in log.read_text(encoding="utf-8")  # its start-up warning, at least
    assert "IPKernelApp" not in capfd.readouterr().err
    os.write(2, b"stderr restored\n")
    assert "stderr restored" in capfd.readouterr().err


@pytest.mark.notebooks
def test_unknown_parameter_is_an_error(tmp_path):
    nb = _notebook(tmp_path / "ok.ipynb", "pass")
    res = runner.execute("district", "x", nb, tmp_path / "run" / "r.ipynb", {"nonsense": 1},
                         run_dir=tmp_path / "run")
    assert not res.ok and "nonsense" in res.error


def test_run_lock_refuses_busy_and_complete_folders(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / rundir.LOCK_NAME).write_text(str(os.getppid()))  # a live process holds it
    with pytest.raises(RunError, match="in use by another vaxreport run"):
        with rundir.run_lock(out, force=False):
            pass
    (out / rundir.LOCK_NAME).unlink()
    (out / layout.MANIFEST).write_text("{}")
    with pytest.raises(RunError, match="already holds a complete run"):
        with rundir.run_lock(out, force=False):
            pass
    with rundir.run_lock(out, force=True) as note:
        assert not (out / layout.MANIFEST).exists()  # cleared before the new run writes anything
        assert note == ""
    assert not (out / rundir.LOCK_NAME).exists()


def test_interrupted_run_is_detected_and_cleared(tmp_path):
    out = tmp_path / "run"
    (out / "cleansed").mkdir(parents=True)
    (out / "cleansed" / "doses.parquet").write_bytes(b"partial")
    (out / rundir.LOCK_NAME).write_text("999999999")  # dead pid
    with rundir.run_lock(out, force=False) as note:
        assert "interrupted" in note
        assert not (out / "cleansed").exists()
