"""Clerical review decisions: what an analyst decided about two platform person records, replayed
by every run.

A decision names two person codes (``person_ref``, "Mã đối tượng") and says ``same`` (one
person: their clusters are joined, whatever the evidence) or ``different`` (two people: a
cannot-link).  A ``different`` pair that the model put in one cluster is separated at the
*weakest link between them*: the minimum cut of the cluster's links, each link's capacity its
match weight (a ``same`` decision's link cannot be cut).  The model's other links stay, so the
rest of the cluster goes with whichever of the two it is more strongly tied to.

Decisions contradict each other when a chain of ``same`` decisions joins a ``different`` pair:
no partition honours all of them, and which one is wrong is for the analyst to say (a
:class:`~vaxreport.exceptions.ParamsError` lists the chain).  A chain that runs through the
model's own links is not a contradiction: those links are evidence, and the cut removes them.

Decisions naming a code the run does not hold (a record deleted on the platform, a typo in the
file) are not applied and are listed (:attr:`DecisionOutcome.unknown`); they are not an error.

The functions are pure; the decisions CSV is read by :func:`vaxreport.io.read_decisions`.

Examples:
    >>> d = check_decisions(pd.DataFrame({"person_a": ["10", "12"], "person_b": ["11", "13"],
    ...                                   "decision": ["Same", "different"]}))
    >>> d[["person_a", "person_b", "decision"]].values.tolist()
    [['10', '11', 'same'], ['12', '13', 'different']]
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import pandas as pd

from vaxreport.exceptions import ParamsError
from vaxreport.linkage.graph import connected_components, min_cut

#: The two decisions a reviewer can record.
DECISIONS = ("same", "different")
#: Columns a decisions file must have, and the optional ones kept with them.
REQUIRED_COLUMNS = ("person_a", "person_b", "decision")
OPTIONAL_COLUMNS = ("reviewer", "decided_on", "note")
#: A ``same`` decision's link: stronger than any evidence, never cut.
SAME_CAPACITY = float("inf")


@dataclass(frozen=True)
class DecisionOutcome:
    """What the decisions did in one run.

    Attributes:
        decisions: decision lines read.
        applied: lines whose two codes are both in the run (the others are not applied).
        joined: ``same`` decisions that joined two clusters the model kept apart.
        split: ``different`` decisions that separated two records the model had merged.
        unknown: the person codes of the file that the run does not hold, in code order.
    """

    decisions: int = 0
    applied: int = 0
    joined: int = 0
    split: int = 0
    unknown: tuple[str, ...] = ()

    def line(self) -> str:
        """One line for the run log.

        >>> DecisionOutcome(3, 2, 1, 1, ("99",)).line()
        'review decisions: 2 of 3 applied (1 joined, 1 split); 1 unknown person code(s): 99'
        """
        out = (f"review decisions: {self.applied} of {self.decisions} applied "
               f"({self.joined} joined, {self.split} split)")
        if self.unknown:
            out += f"; {len(self.unknown)} unknown person code(s): {', '.join(self.unknown)}"
        return out


def empty_decisions() -> pd.DataFrame:
    """A decisions table without lines (the columns of :func:`check_decisions`' result)."""
    return pd.DataFrame({c: pd.Series([], dtype="string") for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)})


def check_decisions(raw: pd.DataFrame, *, source: str = "review_decisions") -> pd.DataFrame:
    """Validate decision lines; every problem of the file is reported at once.

    Args:
        raw: the lines as read (any text columns; the required ones are
            :data:`REQUIRED_COLUMNS`, and :data:`OPTIONAL_COLUMNS` are kept).
        source: how the file is named in messages.

    Returns:
        The lines with codes stripped, decisions lower case, in file order (columns
        :data:`REQUIRED_COLUMNS` + :data:`OPTIONAL_COLUMNS`, string dtype).  Does not mutate
        the input.

    Raises:
        ParamsError: a missing column, an empty code, a decision other than ``same`` or
            ``different``, a code paired with itself, or contradictory decisions (the chain of
            ``same`` decisions joining a ``different`` pair).

    Examples:
        >>> check_decisions(pd.DataFrame({"person_a": ["1", "2", "1"], "person_b": ["2", "3", "3"],
        ...                               "decision": ["same", "same", "different"]}))
        Traceback (most recent call last):
        ...
        vaxreport.exceptions.ParamsError: review_decisions: 1 problem(s):
        - line 4: 1 and 3 are decided different, but a chain of same decisions joins them: 1 = 2 (line 2) = 3 (line 3)
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    if missing:
        raise ParamsError(f"{source}: missing column(s) {missing}; a decisions file has columns "
                          f"{list(REQUIRED_COLUMNS)} and optionally {list(OPTIONAL_COLUMNS)}")
    out = pd.DataFrame({c: (raw[c] if c in raw.columns else pd.Series(pd.NA, index=raw.index))
                        .astype("string").str.strip() for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)})
    out["decision"] = out["decision"].str.lower()
    out = out.reset_index(drop=True)
    problems = []
    for k, row in enumerate(out.itertuples(index=False)):
        where = f"line {k + 2}"  # line 1 is the header
        a, b, decision = row.person_a, row.person_b, row.decision
        if pd.isna(a) or a == "" or pd.isna(b) or b == "":
            problems.append(f"{where}: person_a and person_b are both needed")
        elif a == b:
            problems.append(f"{where}: {a} is paired with itself")
        if pd.isna(decision) or decision not in DECISIONS:
            problems.append(f"{where}: decision must be one of {list(DECISIONS)}, got {row.decision!r}")
    if not problems:
        problems = [f"line {k + 2}: {msg}" for k, msg in contradictions(out)]
    if problems:
        lines = "\n".join(f"- {p}" for p in problems)
        raise ParamsError(f"{source}: {len(problems)} problem(s):\n{lines}")
    return out


def contradictions(decisions: pd.DataFrame) -> list[tuple[int, str]]:
    """``different`` lines whose two codes a chain of ``same`` lines joins, with the chain.

    Args:
        decisions: lines with ``person_a, person_b, decision`` (codes and decisions clean).

    Returns:
        ``(line index, message)`` per contradicted ``different`` line, in file order.

    Examples:
        >>> d = pd.DataFrame({"person_a": ["a", "b", "c"], "person_b": ["b", "c", "a"],
        ...                   "decision": ["same", "same", "different"]})
        >>> contradictions(d)
        [(2, 'c and a are decided different, but a chain of same decisions joins them: c = b (line 3) = a (line 2)')]
    """
    graph: dict[str, list[tuple[str, int]]] = {}
    same = decisions["decision"].eq("same").to_numpy(bool)
    for k in np.flatnonzero(same).tolist():
        a, b = str(decisions["person_a"].iat[k]), str(decisions["person_b"].iat[k])
        graph.setdefault(a, []).append((b, k))
        graph.setdefault(b, []).append((a, k))
    out = []
    for k in np.flatnonzero(~same).tolist():
        a, b = str(decisions["person_a"].iat[k]), str(decisions["person_b"].iat[k])
        chain = _same_chain(graph, a, b)
        if chain is not None:
            steps = " = ".join([a, *[f"{code} (line {line + 2})" for code, line in chain]])
            out.append((k, f"{a} and {b} are decided different, but a chain of same decisions joins them: {steps}"))
    return out


def _same_chain(graph: dict[str, list[tuple[str, int]]], start: str, goal: str) -> list[tuple[str, int]] | None:
    """The shortest chain ``[(code, line), …]`` of ``same`` lines from ``start`` to ``goal``."""
    if start not in graph:
        return None
    came: dict[str, tuple[str, int] | None] = {start: None}
    todo = deque([start])
    while todo:
        x = todo.popleft()
        if x == goal:
            chain = []
            while (step := came[x]) is not None:
                chain.append((x, step[1]))
                x = step[0]
            return chain[::-1]
        for y, line in graph.get(x, ()):
            if y not in came:
                came[y] = (x, line)
                todo.append(y)
    return None


def decision_rows(decisions: pd.DataFrame, refs: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                    tuple[str, ...]]:
    """The decisions in row positions of a person table.

    Args:
        decisions: checked lines (:func:`check_decisions`).
        refs: the table's person codes (``person_ref``), one per row.

    Returns:
        ``(a, b, same, unknown)``: row positions of the lines whose two codes the table holds,
        whether each says ``same``, and the codes it does not hold (code order, each once).

    Examples:
        >>> d = pd.DataFrame({"person_a": ["x", "y"], "person_b": ["z", "q"], "decision": ["same", "different"]})
        >>> a, b, same, unknown = decision_rows(d, pd.Series(["z", "y", "x"]))
        >>> a.tolist(), b.tolist(), same.tolist(), unknown
        ([2], [0], [True], ('q',))
    """
    where = pd.Series(np.arange(len(refs)), index=pd.Index(refs.astype("string")))
    where = where[~where.index.duplicated()]
    pa = where.reindex(decisions["person_a"].astype("string")).to_numpy()
    pb = where.reindex(decisions["person_b"].astype("string")).to_numpy()
    known = ~(np.isnan(pa) | np.isnan(pb))
    codes = pd.concat([decisions["person_a"][np.isnan(pa)], decisions["person_b"][np.isnan(pb)]])
    unknown = tuple(sorted(set(codes.astype(str)), key=lambda c: (len(c), c)))
    same = decisions["decision"].eq("same").to_numpy(bool)
    return pa[known].astype(np.int64), pb[known].astype(np.int64), same[known], unknown


def apply_decisions(labels: np.ndarray, a: np.ndarray, b: np.ndarray, weight: np.ndarray,
                    decided: tuple[np.ndarray, np.ndarray, np.ndarray]
                    ) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Clusters with the decisions applied: ``same`` pairs joined, ``different`` pairs cut apart.

    Args:
        labels: cluster label per row (the smallest row of its cluster).
        a: first rows of the model's accepted links (``weight`` ≥ threshold).
        b: their second rows.
        weight: their match weights (bits): the capacities of the cut.
        decided: ``(a, b, same)`` from :func:`decision_rows`, in a canonical order.

    Returns:
        ``(labels, kept, joined, split)``: the new labels (smallest row of each cluster), a
        mask of the links that still hold (the cut ones dropped), how many ``same`` decisions
        joined two clusters and how many ``different`` ones separated two records.

    Examples:
        >>> labels = np.array([0, 0, 0, 3])
        >>> a, b, w = np.array([0, 1]), np.array([1, 2]), np.array([30.0, 20.0])
        >>> new, kept, joined, split = apply_decisions(labels, a, b, w, (np.array([0, 2]), np.array([2, 3]),
        ...                                            np.array([False, True])))
        >>> new.tolist(), kept.tolist(), joined, split
        ([0, 0, 2, 2], [True, False], 1, 1)
    """
    da, db, same = decided
    n = labels.size
    joined = int(np.count_nonzero(labels[da[same]] != labels[db[same]]))
    split_before = labels[da[~same]] == labels[db[~same]]
    inside = labels[a] == labels[b]  # the links the guard kept
    kept = inside.copy()
    ea = np.concatenate([a[inside], da[same]])
    eb = np.concatenate([b[inside], db[same]])
    cap = np.concatenate([np.maximum(weight[inside], 1e-9), np.full(int(same.sum()), SAME_CAPACITY)])
    link_of = np.concatenate([np.flatnonzero(inside), np.full(int(same.sum()), -1)])
    alive = np.ones(ea.size, bool)
    comp = connected_components(n, ea, eb)
    for s, t in zip(da[~same].tolist(), db[~same].tolist()):
        if comp[s] != comp[t]:
            continue
        members = np.flatnonzero(comp == comp[s])
        local = np.flatnonzero(alive & (comp[ea] == comp[s]))
        cut = min_cut(members, ea[local], eb[local], cap[local], s, t)
        alive[local[cut]] = False
        rest = local[alive[local]]  # the component's own links: only its labels change
        sub = connected_components(members.size, np.searchsorted(members, ea[rest]),
                                   np.searchsorted(members, eb[rest]))
        comp[members] = members[sub]
    kept[link_of[~alive & (link_of >= 0)]] = False
    split = int(np.count_nonzero(split_before & (comp[da[~same]] != comp[db[~same]])))
    return comp, kept, joined, split
