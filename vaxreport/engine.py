"""Where stage 1's partition-wise work runs: in this process (*embedded*, the default) or on a
Dask ``distributed`` cluster (``vaxreport.runner.dask_engine``).

Stage 1 is one algorithm over partitions of the dose rows (``vaxreport.cleansing.phases``); an
engine only decides where each partition's function call runs. Both engines have the same three
verbs — ``map`` (call a function on every partition, giving handles), ``gather`` (handles →
values) and ``close`` — so the stage code is written once. The embedded engine's handles are the
values themselves and it never imports Dask.

Examples:
    >>> spec = EngineSpec.parse("dask")
    >>> spec.executor, spec.workers
    ('dask', 2)
    >>> engine = Embedded(EngineSpec())
    >>> engine.gather(engine.map(lambda a, b: a + b, [1, 2], [10, 20]))
    [11, 22]
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Protocol

__all__ = ["EXECUTORS", "ROWS_PER_PARTITION", "Embedded", "Engine", "EngineSpec"]

EXECUTORS = ("embedded", "dask")
#: Dose rows per partition the Dask engine aims at: small partitions repeat the per-unique-value
#: work (a name is parsed once per partition it occurs in), large ones need more worker memory.
ROWS_PER_PARTITION = 750_000
_MEMORY = re.compile(r"^\s*\d+(\.\d+)?\s*([KMGT]i?B|B)?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class EngineSpec:
    """How stage 1 is executed (params ``engine:``; ``vaxreport run --engine …`` overrides).

    Attributes:
        executor: ``embedded`` (in this process, the default) or ``dask``.
        partitions: number of dose-row partitions; None = 1 embedded, else about one per
            :data:`ROWS_PER_PARTITION` rows and at least one per worker.
        workers: Dask workers of the ``LocalCluster`` started for the run (one thread each).
        memory_limit: memory per Dask worker (``"8GB"``); None = Dask's share of the machine.
        scheduler: address of an existing Dask scheduler (``tcp://host:8786``); then no local
            cluster is started and ``workers``/``memory_limit`` are the cluster's business.
        scratch: folder for partitions and Dask's spill; None = ``<run folder>.scratch`` beside
            the run folder (not the system temporary folder: it may be small). Removed at the end.
    """

    executor: str = "embedded"
    partitions: int | None = None
    workers: int = 2
    memory_limit: str | None = None
    scheduler: str | None = None
    scratch: Path | None = None

    def __post_init__(self) -> None:
        if self.executor not in EXECUTORS:
            raise ValueError(f"engine: executor must be one of {list(EXECUTORS)}, got {self.executor!r}")
        if self.partitions is not None and self.partitions < 1:
            raise ValueError(f"engine: partitions must be at least 1, got {self.partitions}")
        if self.workers < 1:
            raise ValueError(f"engine: workers must be at least 1, got {self.workers}")
        if self.memory_limit is not None and not _MEMORY.match(self.memory_limit):
            raise ValueError(f"engine: memory_limit must look like '8GB' or '512MiB', got {self.memory_limit!r}")

    @classmethod
    def parse(cls, value: str | Mapping[str, Any] | None, *, base_dir: Path | None = None) -> EngineSpec:
        """From params: a name (``dask``) or a mapping of the attributes; ``scratch`` relative to
        ``base_dir``. Raises ``ValueError`` naming the bad key.

        >>> EngineSpec.parse({"executor": "dask", "workers": 4, "partitions": 8}).partitions
        8
        """
        if value is None:
            return cls()
        if isinstance(value, str):
            return cls(executor=value)
        if not isinstance(value, Mapping):
            raise ValueError(f"engine: expected a name ({' or '.join(EXECUTORS)}) or a mapping, got {value!r}")
        known = {"executor", "partitions", "workers", "memory_limit", "scheduler", "scratch"}
        unknown = sorted(set(map(str, value)) - known)
        if unknown:
            raise ValueError(f"engine: unknown key(s) {unknown}; known: {sorted(known)}")
        kw = dict(value)
        for key in ("partitions", "workers"):
            if kw.get(key) is not None:
                if isinstance(kw[key], bool) or not isinstance(kw[key], int):
                    raise ValueError(f"engine.{key}: expected a whole number, got {kw[key]!r}")
        for key in ("executor", "memory_limit", "scheduler"):
            if kw.get(key) is not None:
                kw[key] = str(kw[key])
        if kw.get("scratch") is not None:
            folder = Path(str(kw["scratch"])).expanduser()
            kw["scratch"] = folder if folder.is_absolute() or base_dir is None else base_dir / folder
        return cls(**kw)

    def with_overrides(self, **changes: Any) -> EngineSpec:
        """A copy with the given (non-None) fields replaced: the command line wins over params.

        >>> EngineSpec(workers=4).with_overrides(executor="dask", workers=None).workers
        4
        """
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def partition_count(self, rows: int) -> int:
        """Partitions for ``rows`` dose rows.

        >>> EngineSpec().partition_count(3_000_000), EngineSpec("dask").partition_count(3_000_000)
        (1, 4)
        """
        if self.partitions is not None:
            return self.partitions
        if self.executor == "embedded":
            return 1
        return max(self.workers, math.ceil(rows / ROWS_PER_PARTITION))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, for the manifest."""
        out = asdict(self)
        out["scratch"] = None if self.scratch is None else str(self.scratch)
        return out


class Engine(Protocol):
    """What stage 1 needs of an executor (see the module docstring)."""

    spec: EngineSpec

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any], **kwargs: Any) -> list[Any]: ...

    def gather(self, handles: Sequence[Any], *, label: str = "") -> list[Any]: ...

    def describe(self) -> dict[str, Any]: ...

    def counters(self) -> dict[str, int]: ...

    def close(self) -> None: ...


class Embedded:
    """The in-process engine: each call runs here, in partition order; handles are values."""

    def __init__(self, spec: EngineSpec) -> None:
        self.spec = spec

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any], **kwargs: Any) -> list[Any]:
        return [fn(*args, **kwargs) for args in zip(*iterables, strict=True)]

    def gather(self, handles: Sequence[Any], *, label: str = "") -> list[Any]:
        return list(handles)

    def describe(self) -> dict[str, Any]:
        return {"executor": "embedded"}

    def counters(self) -> dict[str, int]:
        """Nothing moves between processes: no counters."""
        return {}

    def close(self) -> None:
        return None
