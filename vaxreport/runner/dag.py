"""The monthly job as a DAG of papermill notebooks: cleanse → districts (parallel) → province.

The only module that calls papermill. The notebooks ship inside the package
(``vaxreport/notebooks``, the project's ``notebooks/`` folder) and are found through
``importlib.resources``, so an installed wheel runs the job from any folder. Folder layout:
:mod:`vaxreport.layout`; lock and manifest: :mod:`vaxreport.runner.rundir`.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import json
import multiprocessing
import os
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vaxreport import layout
from vaxreport.exceptions import RunError
from vaxreport.io.write import sha256_file, write_json, write_text
from vaxreport.runner.rundir import INCOMPLETE_NAME, NotebookRun, run_lock, write_manifest

if TYPE_CHECKING:
    from nbformat import NotebookNode

    from vaxreport.params import RunParams

KERNEL = "python3"
#: The folder of the stage notebooks; None: the ones shipped with the package (tests point it
#: at a copy).
NOTEBOOKS: Path | None = None
#: What every report notebook writes beside its executed notebook (``RunResult.describe`` lists them).
REPORT_FILES = ("report.pdf", "report.docx", "indicators.xlsx")


def notebooks_dir() -> Path:
    """The folder holding ``cleanse.ipynb``, ``district_report.ipynb``, ``province_report.ipynb``
    and ``explore.ipynb``: :data:`NOTEBOOKS` if set, else the package's own copy."""
    if NOTEBOOKS is not None:
        return Path(NOTEBOOKS)
    shipped = resources.files("vaxreport") / "notebooks"
    if shipped.is_dir() and (shipped / "cleanse.ipynb").is_file():
        return Path(str(shipped))
    # a checkout whose symlink vaxreport/notebooks -> ../notebooks was not kept (e.g. Windows)
    return Path(__file__).resolve().parents[2] / "notebooks"


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
        return (sorted(self.out.glob(f"districts/*/{name}")) + sorted(self.out.glob(f"province/{name}"))
                + sorted(self.out.glob(f"provinces/*/{name}")))

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
    :data:`REPORT_FILES` and ``metrics.json`` are removed (nothing that looks like a finished report).
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
    write_text(nbformat.writes(nb) + "\n", output, private=private)
    _export_html(output, nb=nb, private=private)


def _export_html(executed: Path, *, nb: NotebookNode | None = None, private: bool = False) -> Path:
    import nbformat
    from nbconvert import HTMLExporter

    if nb is None:
        nb = nbformat.read(executed, as_version=4)
    body, _ = HTMLExporter(exclude_input=True, exclude_input_prompt=True,
                           exclude_output_prompt=True).from_notebook_node(nb)
    html = executed.with_suffix(".html")
    write_text(body, html, private=private)
    return html


def _execute_star(args: tuple) -> NotebookRun:
    return execute(*args[:5], run_dir=args[5])


# ----------------------------------------------------------------------------------------------
# the DAG


def input_hashes(p: RunParams) -> dict[str, str]:
    """sha256 of every input file of run params ``p``: the exports, the returned worklists
    (``worklist_returns/<name>``) when there are any, and the clerical review decisions file
    (``review_decisions``) when the params name one."""
    from vaxreport.reporting.worklist_returns import FOLDER, returns_folder

    out = {str(path.relative_to(p.inputs)): sha256_file(path) for path in sorted(p.inputs.iterdir()) if path.is_file()}
    returned = returns_folder(p)
    if returned is not None:
        out |= {f"{FOLDER}/{path.name}": sha256_file(path) for path in sorted(returned.glob("*.xlsx"))}
    if p.review_decisions is not None and p.review_decisions.is_file():
        out["review_decisions"] = sha256_file(p.review_decisions)
    return out


def write_inputs(out: Path, inputs: dict[str, str]) -> Path:
    """``cleansed/inputs.json`` (:func:`vaxreport.layout.inputs_json`): the inputs' sha256 as in the
    manifest, written before stage 1 for the report appendices (no re-hashing per notebook)."""
    return write_json({"inputs": inputs}, layout.inputs_json(out))


def run(params_path: Path, *, out: Path | None = None, districts: list[str] | None = None, jobs: int = 2,
        force: bool = False, progress: bool = True, notebooks: Path | None = None,
        engine: dict[str, Any] | None = None) -> RunResult:
    """Run the monthly job: cleanse, then each district in parallel, then the province roll-up.

    One failing district does not stop the others; the province roll-up uses the districts that
    succeeded and says which did not. ``manifest.json`` is written last; until then the folder
    holds ``RUN-INCOMPLETE.txt``. ``notebooks`` is the folder of the three stage notebooks
    (default: the project's ``notebooks/``; tests pass a copy). ``engine`` overrides the params'
    ``engine:`` for stage 1 (``vaxreport.engine.EngineSpec`` fields; the command line's flags).
    When stage 1 fails there is no ``manifest.json``: ``RUN-INCOMPLETE.txt`` says why, and the
    next run into the folder starts clean.
    """
    from vaxreport.params import RunParams
    from vaxreport.runner.previous import previous_run

    params_path = Path(params_path).resolve()
    p = RunParams.from_yaml(params_path)
    try:
        p.engine.with_overrides(**(engine or {}))
    except (TypeError, ValueError) as exc:
        raise RunError(str(exc)) from exc
    out = Path(out) if out is not None else Path("outputs") / p.period
    out = out.resolve()
    chosen = p.district_codes()
    if districts:
        unknown = sorted(set(districts) - set(chosen))
        if unknown:
            raise RunError(f"unknown district codes {unknown}; known: {chosen}")
        chosen = [d for d in chosen if d in set(districts)]
    previous_run(p, out)  # a previous_run: that is no completed run (or is this one) fails before anything
    nb_dir = Path(notebooks) if notebooks is not None else notebooks_dir()
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    with run_lock(out, force) as note:
        if note and progress:
            print(note, file=sys.stderr)
        inputs = input_hashes(p)
        runs: list[NotebookRun] = []
        common = {"params_path": str(params_path), "run_dir": str(out)}
        (out / "cleansed").mkdir(mode=0o700)  # personal data: owner only
        write_inputs(out, inputs)
        cleanse = execute("cleanse", "province-wide", nb_dir / "cleanse.ipynb",
                          out / "cleansed" / "cleanse.ipynb", {**common, "engine": json.dumps(engine or {})},
                          run_dir=out)
        runs.append(cleanse)
        _tick(progress, cleanse)
        if cleanse.ok:
            names = p.district_names()
            tasks = [("district", f"{code} {names[code]}", nb_dir / "district_report.ipynb",
                      layout.unit_dir(out, code, names[code]) / "report.ipynb",
                      {**common, "district_code": code}, out) for code in chosen]
            runs += _run_parallel(tasks, jobs, progress)
            for code in p.province_codes():  # one report per province of a run covering several
                own = p.for_province(code)
                folder, args = ((layout.province_path(out, code, own.province_name), {**common, "province_code": code})
                                if p.provinces else (layout.unit_path(out, None, p.province_name), common))
                province = execute("province", own.province_name, nb_dir / "province_report.ipynb",
                                   folder / "report.ipynb", args, run_dir=out)
                runs.append(province)
                _tick(progress, province)
        seconds = time.perf_counter() - t0
        if not cleanse.ok:  # nothing to report on: the folder stays visibly incomplete, no manifest
            mark_failed(out, cleanse)
            return RunResult(out=out, notebooks=runs, seconds=seconds, resumed_note=note)
        write_manifest(out, params_path=params_path, params=p.to_dict(), inputs=inputs, notebooks=runs,
                        started=started, seconds=seconds, engine=_engine_record(out))
        (out / INCOMPLETE_NAME).unlink()
    return RunResult(out=out, notebooks=runs, seconds=seconds, resumed_note=note)


def mark_failed(out: Path, stage_one: NotebookRun) -> Path:
    """``RUN-INCOMPLETE.txt`` of a run whose stage 1 failed: its failure line and where to look.

    >>> import tempfile
    >>> nb = NotebookRun("cleanse", "province-wide", "cleansed/cleanse.ipynb", error="MemoryError: x", failed_cell=4)
    >>> text = mark_failed(Path(tempfile.mkdtemp()), nb).read_text(encoding="utf-8")
    >>> "FAILED at cell In [4]: MemoryError: x" in text
    True
    """
    path = out / INCOMPLETE_NAME
    path.write_text("This run failed in stage 1 (cleansing); it has no reports and no manifest.json.\n"
                    f"{stage_one.line()}\nThe executed notebook above shows the error; run vaxreport again "
                    "after fixing it: the next run into this folder starts clean.\n", encoding="utf-8")
    return path


def _engine_record(out: Path) -> dict[str, Any] | None:
    """What stage 1 recorded of where it ran (``cleansed/engine.json``), if it got that far."""
    path = layout.engine_json(out)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


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
