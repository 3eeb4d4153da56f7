"""Running the monthly job: the papermill DAG (:mod:`~vaxreport.runner.dag`), the run folder's
lock and manifest (:mod:`~vaxreport.runner.rundir`) and the stages the notebooks call
(:mod:`~vaxreport.runner.stages`)."""

from vaxreport.runner.dag import NotebookRun, RunResult, demo, execute, notebooks_dir, run
from vaxreport.runner.stages import StageOne, open_run, render_report, run_stage_one

__all__ = ["NotebookRun", "RunResult", "StageOne", "demo", "execute", "notebooks_dir", "open_run",
           "render_report", "run", "run_stage_one"]
