"""The Dask engine: stage 1's partition-wise calls on a ``distributed`` cluster — a
``LocalCluster`` started for the run (``workers`` processes of one thread each) or an existing
scheduler (``engine.scheduler``). Same verbs as ``vaxreport.engine.Embedded``; handles are futures.

Why futures and Parquet partitions: each task's inputs are files or other tasks, so when a worker
dies Dask re-runs what it held on another worker (``distributed.scheduler.allowed-failures``
times) instead of losing data scattered from this process. Dask is imported here only: an
embedded run never imports it.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from vaxreport.engine import EngineSpec
from vaxreport.exceptions import RunError

__all__ = ["DaskEngine", "open_engine", "scratch_dir"]


def scratch_dir(spec: EngineSpec, run_dir: Path) -> Path:
    """The run's scratch folder: ``spec.scratch``, else ``<run folder>.scratch`` beside it."""
    return spec.scratch if spec.scratch is not None else run_dir.parent / f"{run_dir.name}.scratch"


class DaskEngine:
    """Stage 1's calls on a Dask cluster; ``close`` stops a cluster it started and removes the
    scratch folder (partitions, spilled data)."""

    def __init__(self, spec: EngineSpec, scratch: Path) -> None:
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise RunError("engine 'dask' needs the Dask packages: pip install 'vaxreport[dask]'") from exc
        self.spec, self.scratch = spec, scratch
        shutil.rmtree(scratch, ignore_errors=True)  # what a failed run left
        scratch.mkdir(parents=True)
        dask.config.set({"temporary-directory": str(scratch / "dask")})
        self.cluster: Any = None
        if spec.scheduler:
            self.client = Client(spec.scheduler)
        else:
            self.cluster = LocalCluster(n_workers=spec.workers, threads_per_worker=1, processes=True,
                                        memory_limit=spec.memory_limit or "auto", dashboard_address=None,
                                        local_directory=str(scratch / "dask"), silence_logs=40)
            self.client = Client(self.cluster)

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any], **kwargs: Any) -> list[Any]:
        return list(self.client.map(fn, *[list(it) for it in iterables], pure=False, **kwargs))

    def gather(self, handles: Sequence[Any], *, label: str = "") -> list[Any]:
        """The values of ``handles``, with a progress bar named ``label`` (one tick per finished
        partition, on stderr); a task whose workers kept dying (Dask retried it
        ``distributed.scheduler.allowed-failures`` times) stops the run with one message."""
        from distributed import KilledWorker, as_completed
        from tqdm.auto import tqdm

        try:
            if label and len(handles) > 1:
                with tqdm(total=len(handles), desc=label, unit="partition", file=sys.stderr) as bar:
                    for _ in as_completed(list(handles)):
                        bar.update()
            return list(self.client.gather(list(handles)))
        except KilledWorker as exc:
            raise RunError(f"a Dask worker died each time it ran {exc.task!r} (out of memory? the workers' "
                           f"memory limit is {self.spec.memory_limit or 'Dask’s share of the machine'}): stage 1 "
                           "stopped; give the workers more memory or use more partitions, and run again "
                           "(the run starts clean)") from exc

    def describe(self) -> dict[str, Any]:
        import dask
        import distributed

        workers = self.client.scheduler_info().get("workers", {})
        return {"executor": "dask", "scheduler": self.spec.scheduler or "LocalCluster",
                "workers": len(workers), "threads": sum(int(w.get("nthreads", 0)) for w in workers.values()),
                "memory_limit": self.spec.memory_limit, "dask": dask.__version__,
                "distributed": distributed.__version__}

    def counters(self) -> dict[str, int]:
        """Bytes the workers have sent each other (``shuffle_bytes``: a reconcile bucket gathering
        its pieces, a task reading another worker's result) and written to disk when short of
        memory (``spilled_bytes``), summed over the live workers since they started."""
        try:
            per_worker = self.client.run(_worker_counters)
        except Exception:  # a worker being replaced: the counters are a record, not a result
            return {}
        return {key: sum(c[key] for c in per_worker.values()) for key in ("shuffle_bytes", "spilled_bytes")}

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()
        if self.cluster is not None:
            with contextlib.suppress(Exception):
                self.cluster.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


def _worker_counters(dask_worker: Any) -> dict[str, int]:
    metrics = getattr(dask_worker.data, "cumulative_metrics", {})
    return {"shuffle_bytes": int(dask_worker.transfer_outgoing_bytes_total),
            "spilled_bytes": int(metrics.get(("disk-write", "bytes"), 0))}


def open_engine(spec: EngineSpec, run_dir: Path) -> Any:
    """The engine ``spec`` names, for the run in ``run_dir``."""
    if spec.executor == "dask":
        return DaskEngine(spec, scratch_dir(spec, run_dir))
    from vaxreport.engine import Embedded

    return Embedded(spec)
