"""Worker threads of the person linkage: how many, and an order-keeping map over them.

The work split (blocking rules, blocks of pairs) is numpy and pandas on large arrays, which run
without the GIL; threads share the tables, so memory barely grows.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

#: Threads :func:`~vaxreport.linkage.cluster.cluster_persons` uses by default: the CPUs this
#: process may run on, at most this many.
MAX_WORKERS = 2

_T = TypeVar("_T")
_R = TypeVar("_R")


def worker_count(workers: int | None) -> int:
    """Threads to use: ``workers``, or by default the usable CPUs up to :data:`MAX_WORKERS`.

    >>> worker_count(1), worker_count(0), worker_count(None) <= MAX_WORKERS
    (1, 1, True)
    """
    if workers is None:
        try:
            cpus = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            cpus = os.cpu_count() or 1
        workers = min(cpus, MAX_WORKERS)
    return max(int(workers), 1)


def thread_map(func: Callable[[_T], _R], items: Iterable[_T], workers: int) -> list[_R]:
    """``[func(x) for x in items]``, on up to ``workers`` threads; results in input order.

    >>> thread_map(lambda x: x * x, range(5), 2)
    [0, 1, 4, 9, 16]
    """
    todo = list(items)
    if workers <= 1 or len(todo) <= 1:
        return [func(x) for x in todo]
    with ThreadPoolExecutor(max_workers=min(workers, len(todo)),
                            thread_name_prefix="linkage") as pool:
        return list(pool.map(func, todo))
