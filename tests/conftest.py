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

from vaxreport import layout, runner
from vaxreport.runner import rundir

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
    manifest = root / "run" / layout.MANIFEST
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

    shutil.copytree(runner.notebooks_dir(), folder)
    path = folder / "district_report.ipynb"
    nb = nbformat.read(path, as_version=4)
    setup = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "open_run" in c.source)
    nb.cells.insert(setup + 1, nbformat.v4.new_code_cell(
        f"if district_code == {FAILING_DISTRICT!r}:\n"
        f"    raise RuntimeError('injected failure for district ' + district_code)"))
    nbformat.write(nb, path)
    return folder


def _hostile_params(folder: Path, demo_data: Path) -> Path:
    import yaml

    params = yaml.safe_load((demo_data / "params.yaml").read_text(encoding="utf-8"))
    params.update(inputs=str(demo_data / "inputs"), title=HOSTILE["title"], agency=HOSTILE["agency"],
                  recipients=HOSTILE["recipients"], proposals=HOSTILE["proposals"],
                  districts=[{"code": HOSTILE_DISTRICT, "name": HOSTILE["district_name"],
                              "agency": HOSTILE["district_agency"],
                              "doc_number": HOSTILE["district_doc_number"],
                              "recipients": HOSTILE["recipients"]}])
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump(params, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


#: ``vaxreport ARGS`` with the stage notebooks taken from ``argv[1]`` (a test's copy).
_RUN_WITH_NOTEBOOKS = ("import pathlib, sys\nfrom vaxreport import cli\nfrom vaxreport.runner import dag\n"
                       "dag.NOTEBOOKS = pathlib.Path(sys.argv[1])\nsys.exit(cli.main(sys.argv[2:]))")


def _wait_for(cond, what: str, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the run ended (exit {proc.returncode}) before {what}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="session")
def run_battery(demo_run: runner.RunResult, demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The fault and injection runs of issue 7, overlapped to save time (all ``vaxreport run``
    subprocesses on the demo inputs):

    - H: hostile params (``HOSTILE``), districts 167 and 168, the district notebook of a copy of
      ``notebooks/`` raising for 168; runs from start to end, concurrently with A and B.
    - A: districts 167 and 168 into ``x``; SIGKILLed as soon as a district notebook runs. While
      A holds ``x``, a second run into ``x`` is tried (``busy``).
    - B: ``--districts 167`` into A's folder after the kill.
    """
    import signal

    root = tmp_path_factory.mktemp("battery")
    hostile = root / "hostile"
    hostile.mkdir()
    h_params = _hostile_params(hostile, demo_data)
    notebooks = _failing_notebooks(hostile / "notebooks")
    params, x = demo_data / "params.yaml", root / "x"

    def start(name: str, cmd: list[str], cwd: Path | None = None) -> subprocess.Popen:
        return subprocess.Popen(cmd, cwd=cwd, start_new_session=True, stdout=open(root / f"{name}.out", "w"),
                                stderr=open(root / f"{name}.err", "w"))

    h = start("h", [sys.executable, "-c", _RUN_WITH_NOTEBOOKS, str(notebooks), "run", str(h_params), "--out",
                    str(hostile / "run"), "--jobs", "2", "--districts", HOSTILE_DISTRICT, FAILING_DISTRICT],
              cwd=hostile)
    a = start("a", vaxreport_cmd("run", str(params), "--out", str(x), "--districts", "167", "168", "--jobs", "2"))
    try:
        _wait_for(lambda: (x / rundir.LOCK_NAME).exists(), "run A's lock", 300, a)
        busy = subprocess.run(vaxreport_cmd("run", str(params), "--out", str(x)), capture_output=True,
                              text=True, timeout=300)
        _wait_for(lambda: any((x / "districts").glob("*/.report.partial.ipynb")), "a district notebook", 900, a)
        pid, token = rundir._read_lock(x / rundir.LOCK_NAME)
        assert pid == a.pid
        os.kill(a.pid, signal.SIGKILL)  # the run dies at once; its workers and kernels are orphaned
    finally:
        if a.poll() is None:
            a.kill()
        a.wait(timeout=60)
    killed = {"files": _files(x), "token": token}
    t0 = time.monotonic()
    while rundir._token_processes(token) and time.monotonic() - t0 < 30:
        time.sleep(0.2)
    killed["orphans"] = rundir._token_processes(token)
    b = start("b", vaxreport_cmd("run", str(params), "--out", str(x), "--districts", "167", "--jobs", "1"))
    codes = {"b": b.wait(timeout=1200), "h": h.wait(timeout=1200)}
    logs = {n: {"stdout": (root / f"{n}.out").read_text(encoding="utf-8"),
                "stderr": (root / f"{n}.err").read_text(encoding="utf-8")} for n in "abh"}
    manifest = hostile / "run" / layout.MANIFEST
    assert manifest.exists(), logs["h"]
    h_notebooks = [runner.NotebookRun(**nb) for nb in json.loads(manifest.read_text("utf-8"))["notebooks"]]
    return {
        "basetemp": tmp_path_factory.getbasetemp(),
        "hostile": {"root": hostile, "run": hostile / "run", "params": h_params, "exit": codes["h"],
                    **logs["h"], "result": runner.RunResult(out=hostile / "run", notebooks=h_notebooks,
                                                            seconds=0.0)},
        "faults": {"a_pid": a.pid, "busy": busy, "killed": killed, "codes": codes, "x": x,
                   "logs": {n: v["stdout"] + v["stderr"] for n, v in logs.items()}, "demo": demo_run.out},
    }


@pytest.fixture(scope="session")
def hostile_run(run_battery: dict) -> dict:
    """Run H of ``run_battery``: ``{"root", "run", "params", "exit", "stdout", "stderr", "result"}``."""
    return run_battery["hostile"]


@pytest.fixture(scope="session")
def fault_runs(run_battery: dict) -> dict:
    """Runs A (killed) and B (rerun) of ``run_battery``, plus the busy-folder attempt."""
    return run_battery["faults"]


#: Fixtures that run the monthly job (papermill notebooks, subprocesses): their tests carry the
#: ``notebooks`` marker, so ``-m "not notebooks"`` (``make test-fast``) is the unit suite alone.
NOTEBOOK_FIXTURES = frozenset({"demo_run", "demo_data", "demo_logs", "run_battery", "hostile_run", "fault_runs",
                               "wheel_venv"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if NOTEBOOK_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.notebooks)
