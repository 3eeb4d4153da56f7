"""Shared fixtures. ``demo_run``: one tiny end-to-end demo per test session, reused by every
test that needs a whole run (PDFs, HTML, parquet, manifest).

The demo runs as ``vaxreport demo`` in a subprocess, like a user's terminal, so that what it
prints is captured too (``demo_logs``; the privacy tests scan it). Treat its folders as
read-only: copy before changing anything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vaxreport import runner

DEMO_SCALE = 0.002
DEMO_SEED = 11


def vaxreport_cmd(*args: str) -> list[str]:
    """The command line of ``vaxreport ARGS`` run by the interpreter running the tests."""
    return [sys.executable, "-m", "vaxreport.cli", *args]


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> runner.RunResult:
    """``vaxreport demo --scale 0.002`` into a temp folder (synthetic data in ``<out>/data``).

    Returns the ``RunResult`` rebuilt from the run's manifest; ``<out>/stdout.txt`` and
    ``<out>/stderr.txt`` hold what the command printed.
    """
    root = tmp_path_factory.mktemp("demo")
    jobs = min(2, os.cpu_count() or 1)
    t0 = time.perf_counter()
    proc = subprocess.run(
        vaxreport_cmd("demo", "--scale", str(DEMO_SCALE), "--seed", str(DEMO_SEED), "--jobs", str(jobs),
                      "--out", str(root), "--force"),
        capture_output=True, text=True, timeout=1200, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    seconds = time.perf_counter() - t0
    (root / "stdout.txt").write_text(proc.stdout, encoding="utf-8")
    (root / "stderr.txt").write_text(proc.stderr, encoding="utf-8")
    manifest = root / "run" / runner.MANIFEST
    assert proc.returncode == 0 and manifest.exists(), (
        f"demo failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    notebooks = [runner.NotebookRun(**nb) for nb in json.loads(manifest.read_text("utf-8"))["notebooks"]]
    result = runner.RunResult(out=(root / "run").resolve(), notebooks=notebooks, seconds=seconds)
    assert result.ok, result.describe()
    return result


@pytest.fixture(scope="session")
def demo_data(demo_run: runner.RunResult) -> Path:
    """The synthetic province folder of ``demo_run`` (inputs/, truth/, params.yaml)."""
    return demo_run.out.parent / "data"


@pytest.fixture(scope="session")
def demo_logs(demo_run: runner.RunResult) -> dict[str, str]:
    """What ``vaxreport demo`` printed: ``{"stdout": ..., "stderr": ...}``."""
    root = demo_run.out.parent
    return {name: (root / f"{name}.txt").read_text(encoding="utf-8") for name in ("stdout", "stderr")}


# ------------------------------------------------------------------------------------------------
# A second, small run with hostile params and a district notebook that fails (issue 7).

#: Strings that would break out of Python, typst or markdown source, HTML, or a file path if any
#: of them were spliced into code instead of passed as data.
HOSTILE = {
    "title": 'Kết quả "làm sạch" \'x\' #set page(fill: red) #panic("t") *đậm* _nghiêng_ $x^2$ `mã` '
             '[link](http://x) <script>alert(1)</script> ]) } {{ x }} \\" ../../etc/passwd',
    "agency": 'SỞ Y TẾ "; import os; os.system(\'touch PWNED\') #\n# Tiêu đề\n- gạch đầu dòng',
    "recipients": ["Bộ Y tế\'); __import__(\'os\').system(\'touch PWNED\') #", "#import \"/etc/passwd\"",
                   "../../../PWNED-recipient", "Lưu: VT, NVY"],
    "proposals": ['#panic("boom") đề xuất một', 'Dòng 1\nDòng 2 \\ \\\\ ` $ % & ~ ^ | @',
                  "- không phải gạch đầu dòng <b>đậm</b>"],
    "district_name": 'Huyện "Định" Hóa/../../PWNED\\x',
    "district_agency": 'TRUNG TÂM Y TẾ #[*x*] ")\n__import__(\'os\').system(\'touch PWNED\')\n("',
    "district_doc_number": "15/BC-TTYT/../../PWNED",
}
FAILING_DISTRICT = "168"
HOSTILE_DISTRICT = "167"


def _failing_notebooks(folder: Path) -> Path:
    """A copy of ``notebooks/`` whose district notebook raises for ``FAILING_DISTRICT``."""
    import shutil

    import nbformat

    shutil.copytree(runner.NOTEBOOKS, folder)
    path = folder / "district_report.ipynb"
    nb = nbformat.read(path, as_version=4)
    setup = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "open_run" in c.source)
    nb.cells.insert(setup + 1, nbformat.v4.new_code_cell(
        f"if district_code == {FAILING_DISTRICT!r}:\n"
        f"    raise RuntimeError('injected failure for district ' + district_code)"))
    nbformat.write(nb, path)
    return folder


@pytest.fixture(scope="session")
def hostile_run(demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """``vaxreport run`` (in process, ``cli.main``) on the demo inputs with hostile params text,
    districts 167 (hostile name and agency) and 168 (its notebook raises), then the province.

    Returns ``{"root", "run", "params", "exit", "stdout", "stderr", "result"}``.
    """
    import contextlib
    import io as _io

    import yaml

    from vaxreport import cli

    root = tmp_path_factory.mktemp("hostile")
    params = yaml.safe_load((demo_data / "params.yaml").read_text(encoding="utf-8"))
    params.update(inputs=str(demo_data / "inputs"), title=HOSTILE["title"], agency=HOSTILE["agency"],
                  recipients=HOSTILE["recipients"], proposals=HOSTILE["proposals"],
                  districts=[{"code": HOSTILE_DISTRICT, "name": HOSTILE["district_name"],
                              "agency": HOSTILE["district_agency"],
                              "doc_number": HOSTILE["district_doc_number"],
                              "recipients": HOSTILE["recipients"]}])
    params_path = root / "params.yaml"
    params_path.write_text(yaml.safe_dump(params, allow_unicode=True, sort_keys=False), encoding="utf-8")
    notebooks = _failing_notebooks(root / "notebooks")
    out, err = _io.StringIO(), _io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        mp.setattr(runner, "NOTEBOOKS", notebooks)
        mp.chdir(root)
        code = cli.main(["run", str(params_path), "--out", str(root / "run"), "--jobs", "2",
                         "--districts", HOSTILE_DISTRICT, FAILING_DISTRICT])
    manifest = root / "run" / runner.MANIFEST
    assert manifest.exists(), out.getvalue() + err.getvalue()
    notebooks_run = [runner.NotebookRun(**nb) for nb in json.loads(manifest.read_text("utf-8"))["notebooks"]]
    return {"root": root, "run": root / "run", "params": params_path, "exit": code,
            "stdout": out.getvalue(), "stderr": err.getvalue(),
            "result": runner.RunResult(out=root / "run", notebooks=notebooks_run, seconds=0.0)}
