"""Graphs of records and links: connected components (the clusters of the accepted links) and
the minimum cut that separates two records at their weakest links (a ``different`` review
decision, :mod:`.decisions`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

import numpy as np


def connected_components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected components of ``n`` rows linked by pairs (a[k], b[k]); vectorised
    hook-and-compress.  Label = the smallest row of the component.

    >>> connected_components(5, np.array([3, 1]), np.array([4, 3])).tolist()
    [0, 1, 2, 1, 1]
    """
    parent = np.arange(n, dtype=np.int64)
    if a.size == 0:
        return parent
    a = a.astype(np.int64)
    b = b.astype(np.int64)
    while True:
        pa, pb = parent[a], parent[b]
        diff = pa != pb
        if not diff.any():
            break
        lo = np.minimum(pa[diff], pb[diff])
        hi = np.maximum(pa[diff], pb[diff])
        np.minimum.at(parent, hi, lo)
        while True:
            nxt = parent[parent]
            if np.array_equal(nxt, parent):
                break
            parent = nxt
    return parent


def min_cut(nodes: Iterable[int], a: np.ndarray, b: np.ndarray, capacity: np.ndarray, s: int, t: int) -> np.ndarray:
    """Indices of the links of a minimum ``s``–``t`` cut of an undirected graph (Edmonds–Karp:
    shortest augmenting paths, then the links leaving the source side of the residual graph).

    Args:
        nodes: the graph's nodes (row positions).
        a: first node of each link.
        b: second node of each link.
        capacity: each link's capacity (``inf``: never cut).
        s: source node.
        t: sink node.

    Returns:
        Positions (into ``a``/``b``) of the links cut, ascending.

    Raises:
        ValueError: ``s`` and ``t`` are joined by links of infinite capacity only.

    Examples:
        >>> min_cut([0, 1, 2, 3], np.array([0, 1, 2, 0]), np.array([1, 2, 3, 2]),
        ...         np.array([5.0, 1.0, 7.0, 2.0]), 0, 3).tolist()
        [1, 3]
    """
    flow = np.zeros(a.size, np.float64)  # per link, signed: positive from a[k] to b[k]
    adj: dict[int, list[tuple[int, int]]] = {int(v): [] for v in nodes}
    for k, (x, y) in enumerate(zip(a.tolist(), b.tolist())):
        adj[x].append((y, k))
        adj[y].append((x, k))

    def residual(x: int, k: int) -> float:
        return float(capacity[k] - flow[k]) if x == a[k] else float(capacity[k] + flow[k])

    def search() -> dict[int, tuple[int, int] | None]:
        came: dict[int, tuple[int, int] | None] = {s: None}
        todo = deque([s])
        while todo and t not in came:
            x = todo.popleft()
            for y, k in adj[x]:
                if y not in came and residual(x, k) > 1e-12:
                    came[y] = (x, k)
                    todo.append(y)
        return came

    while t in (came := search()):
        path, y = [], t
        while (step := came[y]) is not None:
            path.append(step)
            y = step[0]
        push = min(residual(x, k) for x, k in path)
        if push == float("inf"):
            raise ValueError(f"{s} and {t} are joined by links that cannot be cut")
        for x, k in path:
            flow[k] += push if x == a[k] else -push
    side = np.array([x in came for x in a.tolist()], bool) != np.array([y in came for y in b.tolist()], bool)
    return np.flatnonzero(side).astype(np.int64)
