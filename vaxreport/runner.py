"""The monthly job as a DAG of papermill notebooks: cleanse → districts (parallel) → province.

The only module that calls papermill. A run folder looks like::

    <out>/cleansed/...                       stage 1 (cleanse.ipynb)
    <out>/districts/<code>-<slug>/report.*   stage 2 (district_report.ipynb, one per district)
    <out>/province/report.*                  stage 3 (province_report.ipynb)
    <out>/manifest.json                      written last: a run without it is not complete

Examples:
    >>> slugify("TP Thái Nguyên")
    'tp-thai-nguyen'
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import json
import multiprocessing
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

from vaxreport.exceptions import RunError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = PROJECT_ROOT / "notebooks"
KERNEL = "python3"
LOCK_NAME = ".vaxreport-run.lock"
MANIFEST = "manifest.json"
#: Present while a run is in progress or after it was interrupted; removed after the manifest.
INCOMPLETE_NAME = "RUN-INCOMPLETE.txt"
#: Environment variable carrying the run's token to its worker and kernel processes, so that a
#: later run can wait for the orphans of a killed run before clearing the folder.
TOKEN_ENV = "VAXREPORT_RUN_TOKEN"
ORPHAN_WAIT_SECONDS = 30.0
#: What every report notebook writes beside its executed notebook (``RunResult.describe`` lists them).
REPORT_FILES = ("report.pdf", "report.docx", "indicators.xlsx")
TRACKED_PACKAGES = ("vaxreport", "pandas", "numpy", "pyarrow", "rapidfuzz", "papermill", "nbconvert",
                    "matplotlib", "typst", "phonenumbers", "openpyxl", "python-docx")


def slugify(text: str) -> str:
    """ASCII folder-safe slug of a unit name (no path separators can survive).

    >>> slugify("Đồng Hỷ / ../x")
    'dong-hy-x'
    """
    s = unicodedata.normalize("NFD", text).replace("đ", "d").replace("Đ", "D")
    s = "".join(ch for ch in s if unicodedata.category(ch) != "Mn").lower()
    return re.sub(r"[^a-z0-9]+", "-", s).strip("-") or "unit"


@dataclass
class NotebookRun:
    """Outcome of one executed notebook."""

    stage: str
    name: str
    output: str
    ok: bool = False
    seconds: float = 0.0
    error: str | None = None
    failed_cell: int | None = None
    outputs: dict[str, str] = field(default_factory=dict)  # relative path -> sha256

    def line(self) -> str:
        state = "ok" if self.ok else f"FAILED at cell In [{self.failed_cell}]: {self.error}"
        return f"{self.stage:<9} {self.name:<28} {self.seconds:6.1f} s  {state}"


@dataclass
class RunResult:
    """What a run did; ``describe()`` is the summary the CLI prints."""

    out: Path
    notebooks: list[NotebookRun]
    seconds: float
    resumed_note: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.notebooks) and all(nb.ok for nb in self.notebooks)

    def pdfs(self) -> list[Path]:
        return self.reports("report.pdf")

    def reports(self, name: str) -> list[Path]:
        """``name`` (one of :data:`REPORT_FILES`) of every district, then of the province."""
        return sorted(self.out.glob(f"districts/*/{name}")) + sorted(self.out.glob(f"province/{name}"))

    def describe(self) -> str:
        lines = [nb.line() for nb in self.notebooks]
        if self.resumed_note:
            lines.insert(0, self.resumed_note)
        failed = [nb for nb in self.notebooks if not nb.ok]
        lines.append(f"{len(self.notebooks) - len(failed)}/{len(self.notebooks)} notebooks succeeded "
                     f"in {self.seconds:.1f} s; run folder {self.out}")
        for name, what in zip(REPORT_FILES, ("PDF reports", "DOCX drafts (editable)", "XLSX appendices")):
            paths = self.reports(name)
            if paths:
                lines.append(f"{len(paths)} {what}:")
                lines += [f"  {p}" for p in paths]
        for nb in failed:
            lines.append(f"FAILED: {nb.output} (cell In [{nb.failed_cell}]): {nb.error}")
        return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# run folder: lock, interrupted runs, manifest


@contextlib.contextmanager
def _run_lock(out: Path, force: bool) -> Iterator[str]:
    """Claim ``out`` for this run; refuse a folder in use or already complete unless ``force``.

    An interrupted run (stale lock or no manifest) is cleared and the returned note says so; the
    processes a killed run left behind (workers, kernels) are waited for first, so that none of
    them writes into the new run. Yields the note ("" for a fresh folder).
    """
    out.mkdir(parents=True, exist_ok=True)
    lock = out / LOCK_NAME
    note = ""
    if lock.exists():
        pid, token = _read_lock(lock)
        if pid and _pid_alive(pid) and pid != os.getpid():
            raise RunError(f"{out} is in use by another vaxreport run (pid {pid}); "
                           "choose another --out or wait for it to finish")
        _wait_for_orphans(out, token)
        note = f"note: {out} holds an interrupted run (pid {pid}); starting clean"
        lock.unlink(missing_ok=True)  # two new runs may both find the stale lock: O_EXCL decides
    elif (out / MANIFEST).exists() and not _manifest_ok(out / MANIFEST):
        note = f"note: {out} holds a run that failed (see its {MANIFEST}); starting clean"
    elif (out / MANIFEST).exists() and not force:
        raise RunError(f"{out} already holds a complete run; pass --force to replace it "
                       "or choose another --out")
    elif any(p.name != LOCK_NAME for p in out.iterdir()) and not (out / MANIFEST).exists():
        note = f"note: {out} holds an incomplete run (no manifest); starting clean"
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        raise RunError(f"{out} was claimed by another vaxreport run just now; choose another --out")
    token = f"{os.getpid()}-{time.time_ns()}"
    with os.fdopen(fd, "w") as fh:
        fh.write(f"{os.getpid()}\n{token}\n")
    previous = os.environ.get(TOKEN_ENV)
    os.environ[TOKEN_ENV] = token  # inherited by worker processes and their kernels
    interrupted = False
    try:
        for child in out.iterdir():
            if child.name == LOCK_NAME:
                continue
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        (out / INCOMPLETE_NAME).write_text(
            "This run has not finished (or was interrupted): its outputs are incomplete.\n"
            f"A complete run has {MANIFEST}; run vaxreport again to redo it.\n", encoding="utf-8")
        yield note
    except BaseException:
        # Ctrl-C or a crash: keep the lock (its pid is about to be dead) so that the next run
        # waits for this run's last processes and says it found an interrupted run.
        interrupted = True
        raise
    finally:
        if previous is None:
            os.environ.pop(TOKEN_ENV, None)
        else:
            os.environ[TOKEN_ENV] = previous
        if not interrupted:
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()


def _manifest_ok(path: Path) -> bool:
    """Whether a manifest records a successful run (unreadable counts as successful: keep it)."""
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("ok", True) is not False
    except (OSError, ValueError, AttributeError):
        return True


def _read_lock(lock: Path) -> tuple[int, str]:
    """(pid, token) from a lock file; 0 and "" where unreadable (older locks hold the pid only)."""
    try:
        lines = lock.read_text().split()
    except OSError:
        return 0, ""
    try:
        pid = int(lines[0]) if lines else 0
    except ValueError:
        pid = 0
    return pid, (lines[1] if len(lines) > 1 else "")


def _token_processes(token: str) -> list[int]:
    """Live processes (Linux ``/proc``) whose environment carries this run token."""
    if not token or not Path("/proc").is_dir():
        return []
    needle = f"{TOKEN_ENV}={token}".encode()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as fh:
                env = fh.read()
        except OSError:  # gone, or another user's process
            continue
        if needle in env.split(b"\0"):
            found.append(int(entry.name))
    return found


def _wait_for_orphans(out: Path, token: str, timeout: float = ORPHAN_WAIT_SECONDS) -> None:
    """Wait until no process of the interrupted run is left (they exit when their parent dies)."""
    deadline = time.monotonic() + timeout
    while pids := _token_processes(token):
        if time.monotonic() > deadline:
            raise RunError(f"{out}: processes of an interrupted run are still running (pids {pids}); "
                           "stop them or choose another --out")
        time.sleep(0.2)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _git_commit() -> str | None:
    try:
        res = subprocess.run(["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if res.returncode != 0:
        return None
    dirty = subprocess.run(["git", "-C", str(PROJECT_ROOT), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, timeout=10, check=False).stdout.strip()
    return res.stdout.strip() + ("-dirty" if dirty else "")


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in TRACKED_PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[pkg] = metadata.version(pkg)
    return out


def input_hashes(p: Any) -> dict[str, str]:
    """sha256 of every input file of run params ``p``: the exports, and the returned worklists
    (``worklist_returns/<name>``) when there are any."""
    from vaxreport.worklist_returns import FOLDER, returns_folder

    out = {str(path.relative_to(p.inputs)): sha256_file(path) for path in sorted(p.inputs.iterdir()) if path.is_file()}
    returned = returns_folder(p)
    if returned is not None:
        out |= {f"{FOLDER}/{path.name}": sha256_file(path) for path in sorted(returned.glob("*.xlsx"))}
    return out


#: The inputs' sha256 (as in the manifest), written before stage 1 for the report appendices.
INPUTS_JSON = "cleansed/inputs.json"


def _write_inputs(out: Path, inputs: dict[str, str]) -> Path:
    from vaxreport import io

    return io.write_json({"inputs": inputs}, out / INPUTS_JSON)


def _write_manifest(out: Path, *, params_path: Path, params: dict[str, Any], inputs: dict[str, str],
                    notebooks: list[NotebookRun], started: datetime, seconds: float) -> Path:
    from vaxreport import io

    manifest = {
        "vaxreport_manifest": 1,
        "started_utc": started.isoformat(timespec="seconds"),
        "seconds": round(seconds, 2),
        "ok": all(nb.ok for nb in notebooks),
        "git_commit": _git_commit(),
        "versions": _versions(),
        "params_file": str(params_path),
        "params_sha256": sha256_file(params_path),
        "params": params,
        "inputs": inputs,
        "notebooks": [asdict(nb) for nb in notebooks],
    }
    path = out / MANIFEST
    io.write_json(manifest, path)
    return path


# ----------------------------------------------------------------------------------------------
# notebooks


def _check_parameters(notebook: Path, parameters: dict[str, Any]) -> None:
    import papermill

    declared = set(papermill.inspect_notebook(str(notebook)))
    unknown = sorted(set(parameters) - declared)
    if unknown:
        raise RunError(f"{notebook.name} has no parameters {unknown}; it declares {sorted(declared)}")


def execute(stage: str, name: str, notebook: Path, output: Path, parameters: dict[str, Any],
            *, run_dir: Path) -> NotebookRun:
    """Execute one notebook with papermill, save it and an HTML copy without code.

    Never raises for a failing notebook: the failure (cell and error) is in the result. The
    notebook is executed into a hidden ``.<name>.partial.ipynb`` file and renamed when it ends, so an
    interrupted run leaves no executed notebook that looks finished. A failed report notebook's
    ``report.pdf`` and ``metrics.json`` are removed (nothing that looks like a finished report).
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.stem}.partial{output.suffix}")
    result = NotebookRun(stage=stage, name=name, output=str(output.relative_to(run_dir)))
    private = stage == "cleanse"  # its folder holds personal data; so may a traceback
    t0 = time.perf_counter()
    try:
        _check_parameters(notebook, parameters)
        with _stderr_to(output.with_name(f"{output.stem}.kernel.log"), private=private):
            papermill.execute_notebook(str(notebook), str(partial), parameters=parameters, kernel_name=KERNEL,
                                       progress_bar=False, cwd=str(output.parent), log_output=False)
        result.ok = True
    except PapermillExecutionError as exc:
        result.failed_cell = exc.exec_count
        result.error = f"{exc.ename}: {exc.evalue}"[:500]
    except Exception as exc:  # kernel died, bad notebook, unknown parameter: isolate it too
        result.error = f"{type(exc).__name__}: {exc}"[:500]
    if partial.exists():
        with contextlib.suppress(Exception):
            _finish_notebook(partial, output, private=private)
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    if not result.ok and stage in ("district", "province"):
        for leftover in REPORT_FILES + ("metrics.json",):
            with contextlib.suppress(FileNotFoundError):
                (output.parent / leftover).unlink()
    result.seconds = round(time.perf_counter() - t0, 2)
    for path in sorted(output.parent.rglob("*")):
        if path.is_file() and path.suffix in {".pdf", ".docx", ".json", ".parquet", ".xlsx"}:
            result.outputs[str(path.relative_to(run_dir))] = sha256_file(path)
    return result


@contextlib.contextmanager
def _stderr_to(log: Path, *, private: bool) -> Iterator[None]:
    """Send this process's file descriptor 2, which the kernel inherits, to ``log``.

    The kernel's own diagnostics (transport warnings, shutdown noise) then stay in the run folder
    instead of cutting through the progress lines; the notebook's outputs are unaffected.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    fd = os.open(log, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600 if private else 0o644)
    try:
        os.dup2(fd, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(fd)


def _finish_notebook(partial: Path, output: Path, *, private: bool) -> None:
    """Move an executed notebook to its final name (papermill's record of it too) + HTML copy."""
    import nbformat

    nb = nbformat.read(partial, as_version=4)
    with contextlib.suppress(Exception):
        nb.metadata["papermill"]["output_path"] = output.name
    _write_text_atomic(output, nbformat.writes(nb) + "\n", private=private)
    _export_html(output, nb=nb, private=private)


def _write_text_atomic(path: Path, text: str, *, private: bool = False) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600 if private else 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, 0o600 if private else 0o644)
    os.replace(tmp, path)


def _export_html(executed: Path, *, nb: Any = None, private: bool = False) -> Path:
    import nbformat
    from nbconvert import HTMLExporter

    if nb is None:
        nb = nbformat.read(executed, as_version=4)
    body, _ = HTMLExporter(exclude_input=True, exclude_input_prompt=True,
                           exclude_output_prompt=True).from_notebook_node(nb)
    html = executed.with_suffix(".html")
    _write_text_atomic(html, body, private=private)
    return html


def _execute_star(args: tuple) -> NotebookRun:
    return execute(*args[:5], run_dir=args[5])


# ----------------------------------------------------------------------------------------------
# the DAG


def run(params_path: Path, *, out: Path | None = None, districts: list[str] | None = None, jobs: int = 2,
        force: bool = False, progress: bool = True, notebooks: Path | None = None) -> RunResult:
    """Run the monthly job: cleanse, then each district in parallel, then the province roll-up.

    One failing district does not stop the others; the province roll-up uses the districts that
    succeeded and says which did not. ``manifest.json`` is written last; until then the folder
    holds ``RUN-INCOMPLETE.txt``. ``notebooks`` is the folder of the three stage notebooks
    (default: the project's ``notebooks/``; tests pass a copy).
    """
    from vaxreport.params import RunParams
    from vaxreport.pipeline import unit_dir

    params_path = Path(params_path).resolve()
    p = RunParams.from_yaml(params_path)
    out = Path(out) if out is not None else PROJECT_ROOT / "outputs" / p.period
    out = out.resolve()
    chosen = p.district_codes()
    if districts:
        unknown = sorted(set(districts) - set(chosen))
        if unknown:
            raise RunError(f"unknown district codes {unknown}; known: {chosen}")
        chosen = [d for d in chosen if d in set(districts)]
    nb_dir = Path(notebooks) if notebooks is not None else NOTEBOOKS
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    with _run_lock(out, force) as note:
        if note and progress:
            print(note, file=sys.stderr)
        inputs = input_hashes(p)
        runs: list[NotebookRun] = []
        common = {"params_path": str(params_path), "run_dir": str(out)}
        (out / "cleansed").mkdir(mode=0o700)  # personal data: owner only
        _write_inputs(out, inputs)
        cleanse = execute("cleanse", "province-wide", nb_dir / "cleanse.ipynb",
                          out / "cleansed" / "cleanse.ipynb", common, run_dir=out)
        runs.append(cleanse)
        _tick(progress, cleanse)
        if cleanse.ok:
            names = p.district_names()
            tasks = [("district", f"{code} {names[code]}", nb_dir / "district_report.ipynb",
                      unit_dir(out, code, names[code]) / "report.ipynb",
                      {**common, "district_code": code}, out) for code in chosen]
            runs += _run_parallel(tasks, jobs, progress)
            province = execute("province", p.province_name, nb_dir / "province_report.ipynb",
                               unit_dir(out, None, p.province_name) / "report.ipynb", common, run_dir=out)
            runs.append(province)
            _tick(progress, province)
        seconds = time.perf_counter() - t0
        _write_manifest(out, params_path=params_path, params=p.to_dict(), inputs=inputs, notebooks=runs,
                        started=started, seconds=seconds)
        (out / INCOMPLETE_NAME).unlink()
    return RunResult(out=out, notebooks=runs, seconds=seconds, resumed_note=note)


def _tick(progress: bool, nb: NotebookRun) -> None:
    if progress:
        print(nb.line(), file=sys.stderr, flush=True)


def _run_parallel(tasks: list[tuple], jobs: int, progress: bool) -> list[NotebookRun]:
    if not tasks:
        return []
    if jobs <= 1 or len(tasks) == 1:
        results = []
        for t in tasks:
            results.append(_execute_star(t))
            _tick(progress, results[-1])
        return results
    from tqdm.auto import tqdm

    ctx = multiprocessing.get_context("spawn")
    results_by_name: dict[str, NotebookRun] = {}
    pool = cf.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init,
                                  initargs=(os.getpid(),))
    try:
        futures = {pool.submit(_execute_star, t): t for t in tasks}
        bar = tqdm(total=len(tasks), desc="districts", unit="nb", disable=not progress, file=sys.stderr)
        for fut in cf.as_completed(futures):
            task = futures[fut]
            try:
                nb = fut.result()
            except Exception as exc:  # a worker process died
                nb = NotebookRun(stage=task[0], name=task[1], output=str(task[3].relative_to(task[5])),
                                 error=f"{type(exc).__name__}: {exc}")
            results_by_name[nb.name] = nb
            bar.update(1)
            if not nb.ok:
                bar.write(nb.line())
        bar.close()
    except BaseException:  # Ctrl-C: do not start the districts still queued
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return [results_by_name[t[1]] for t in tasks]


def _worker_init(parent_pid: int) -> None:
    """In a district worker: exit as soon as the run process is gone (killed, crashed).

    Its kernel follows (ipykernel exits when its parent changes), so a killed run leaves no
    process writing into the run folder.
    """
    import threading

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent_pid:
                os._exit(70)

    threading.Thread(target=watch, name="vaxreport-parent-watch", daemon=True).start()


def demo(out: Path, *, scale: float = 1.0, seed: int = 2022, jobs: int = 2, force: bool = False,
         progress: bool = True) -> RunResult:
    """Synthesise the embedded province into ``out/data`` and run the monthly job into ``out/run``."""
    from vaxreport import synth

    out = Path(out)
    data = out / "data"
    if data.exists():
        shutil.rmtree(data)
    t0 = time.perf_counter()
    summary = synth.generate(data, scale=scale, seed=seed)
    if progress:
        print(f"synthesised scale {scale} in {time.perf_counter() - t0:.1f} s into {data}",
              file=sys.stderr)
        print(summary.describe(), file=sys.stderr)
    return run(data / "params.yaml", out=out / "run", jobs=jobs, force=force, progress=progress)
