"""Person ids carried over from last month's run, and the list of what changed.

This month's clusters are named by their content (:func:`vaxreport.linkage.persons.person_ids`:
the hash of the cluster's smallest person code). Given last month's ``person_ref → person_id``,
:func:`carry_ids` gives a person last month's id whenever their cluster keeps one of its person
codes, so that an id can be followed from month to month even when the smallest code changed.

**The rule.** For each old id *X*, its *anchor* is the smallest of its person codes (in
:func:`~vaxreport.linkage.persons.code_order`: shortest first, then by text) that is still in this
month's export. The cluster holding the anchor *claims* X. A cluster that claims one old id keeps
it; a cluster that claims several (a *merge*) keeps the one with the smallest anchor, and the
others are retired; a cluster that claims none takes its content id — unless that value is an id of
last month or is kept by another cluster, when it takes the hash of ``code#1``, ``code#2`` … (code:
its smallest person code; the first free value). So every cluster that holds a code of a person of
last month keeps that person's id unless the person was merged (the id with the smallest anchor
wins) or split (the part holding the anchor keeps it). The result depends only on which codes each
cluster holds — never on row order or partitioning.

**The changes** (``id_changes``, one row per old id → new id pair that is not "kept"):

- ``merged``: X's anchor is in a cluster that kept another old id (``new_id``);
- ``split``: some codes of X are in a cluster without X's anchor, which got a new id;
- ``moved``: some codes of X are in a cluster without X's anchor, which kept another old id;
- ``gone``: none of X's codes is in this month's export (``new_id`` missing);
- ``new``: a cluster with no code of last month (``old_id`` missing).

``person_refs`` counts the codes of the row (codes of X in the new cluster; for ``gone`` X's codes
last month; for ``new`` the cluster's codes) and ``person_ref`` is the smallest of them.

Examples:
    >>> prev = pd.DataFrame({"person_ref": ["a", "b", "c"], "person_id": [1, 1, 3]})
    >>> now = carry_ids(pd.Series(["a", "b", "c", "d"]), pd.Series([10, 20, 10, 40]), prev)
    >>> now.ids.tolist()  # a and c merged: 1 (anchor "a") wins; b split off; d is new
    [1, 20, 1, 40]
    >>> now.changes[["old_id", "new_id", "why", "person_ref"]].values.tolist()
    [[3, 1, 'merged', 'c'], [1, 20, 'split', 'b'], [<NA>, 40, 'new', 'd']]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from vaxreport.linkage.persons import ID_BITS, _hash_ids, code_order

#: ``why`` values of ``id_changes``, in the order rows are listed.
WHY = ("merged", "split", "moved", "gone", "new")
CHANGE_COLUMNS = ("old_id", "new_id", "why", "person_refs", "person_ref")


@dataclass(frozen=True)
class Carried:
    """This month's ids after carry-over, and what changed.

    Attributes:
        ids: int64 ``person_id`` per person record, aligned to the codes given.
        changes: ``old_id, new_id`` (Int64), ``why`` (:data:`WHY`), ``person_refs`` (int64),
            ``person_ref`` (string), sorted by ``why`` then ``old_id``, ``new_id``.
    """

    ids: pd.Series
    changes: pd.DataFrame

    def counts(self) -> dict[str, int]:
        """Rows of ``changes`` per ``why`` (every kind, zeros included)."""
        return {w: int(self.changes["why"].eq(w).sum()) for w in WHY}


def empty_changes() -> pd.DataFrame:
    """An ``id_changes`` table without rows (the first run, no previous month)."""
    return pd.DataFrame({"old_id": pd.array([], "Int64"), "new_id": pd.array([], "Int64"),
                         "why": pd.array([], "string"), "person_refs": np.zeros(0, np.int64),
                         "person_ref": pd.array([], "string")})


def _previous_ids(previous: pd.DataFrame) -> pd.Series:
    """Last month's id per person code (one each: the smallest if a code had several)."""
    prev = previous.loc[previous["person_id"].notna(), ["person_ref", "person_id"]]
    prev = prev.assign(person_ref=prev["person_ref"].astype("string").fillna(""),
                       person_id=prev["person_id"].astype(np.int64))
    prev = prev.sort_values(["person_ref", "person_id"], kind="stable").drop_duplicates("person_ref")
    return prev.set_index("person_ref")["person_id"]


def _first_per(values: np.ndarray) -> np.ndarray:
    """Mask of the first occurrence of each value (in array order)."""
    return ~pd.Series(values).duplicated().to_numpy()


def _free_ids(keys: np.ndarray, candidates: np.ndarray, used: set[int]) -> np.ndarray:
    """``candidates`` where not in ``used``; else the hash of ``key#1``, ``key#2`` … (the first
    value neither used nor a candidate), in order."""
    out = candidates.copy()
    taken = used | set(candidates.tolist())
    for i in np.flatnonzero(pd.Series(candidates).isin(used).to_numpy()):
        k = 1
        while (alt := int(_hash_ids(np.array([f"{keys[i]}#{k}"], dtype=object), ID_BITS)[0])) in taken:
            k += 1
        out[i] = alt
        taken.add(alt)
    return out


def carry_ids(refs: pd.Series, ids: pd.Series | np.ndarray, previous: pd.DataFrame) -> Carried:
    """Last month's ``person_id`` carried over to this month's clusters (see the module docstring).

    Args:
        refs: the person code of each person record (``person_ref``; missing counts as ``""``).
        ids: this month's content id of each record's cluster (``person_ids``), aligned to ``refs``.
        previous: last month's ``person_ref, person_id`` (one row per code, or per dose row).

    Returns:
        :class:`Carried`: the ids aligned to ``refs.index``, and the changes. Does not mutate its
        inputs.
    """
    codes = refs.astype("string").fillna("").to_numpy(object)
    cluster = np.asarray(ids, dtype=np.int64)
    old_of = _previous_ids(previous)
    at = old_of.index.get_indexer(pd.Index(codes, dtype=object))  # -1: a code new this month
    old = old_of.to_numpy(np.int64)[np.maximum(at, 0)]
    order = code_order(pd.Series(codes))
    present = order[at[order] >= 0]  # records with an old id, in code order
    p_old = old[present]
    p_cluster = cluster[present]
    anchor = present[_first_per(p_old)]  # per old id, its smallest code still here
    a_old, a_cluster = old[anchor], cluster[anchor]
    win = _first_per(a_cluster)  # per cluster, the old id with the smallest anchor
    winner = pd.Series(a_old[win], index=a_cluster[win])
    uniq, first_row = np.unique(cluster[order], return_index=True)
    key_code = pd.Series(codes[order[first_row]], index=uniq)  # per cluster, its smallest code
    fresh = np.setdiff1d(uniq, winner.index.to_numpy())
    taken = set(old_of.tolist()) | set(winner.tolist())
    new_of = pd.concat([winner, pd.Series(_free_ids(key_code.reindex(fresh).to_numpy(object), fresh, taken),
                                          index=fresh)])
    new_ids = new_of.reindex(cluster).to_numpy(np.int64)
    pairs = pd.DataFrame({"old_id": p_old, "cluster": p_cluster, "code": codes[present]})
    pairs = pairs.groupby(["old_id", "cluster"], sort=False).agg(person_refs=("code", "size"),
                                                                  person_ref=("code", "first")).reset_index()
    anchored = pd.Series(a_cluster, index=a_old)
    pairs["new_id"] = new_of.reindex(pairs["cluster"]).to_numpy(np.int64)
    at_anchor = pairs["cluster"].to_numpy() == anchored.reindex(pairs["old_id"]).to_numpy()
    claimed = pairs["cluster"].isin(winner.index).to_numpy()
    why = np.where(at_anchor, np.where(pairs["new_id"].to_numpy() == pairs["old_id"].to_numpy(), "", "merged"),
                   np.where(claimed, "moved", "split"))
    changes = [pairs.assign(why=why)[why != ""]]
    gone = np.setdiff1d(old_of.unique(), a_old)
    if gone.size:
        was = old_of[old_of.isin(gone)].reset_index()
        was = was.iloc[code_order(was["person_ref"])]
        g = was.groupby("person_id", sort=False)["person_ref"].agg(["size", "first"])
        changes.append(pd.DataFrame({"old_id": g.index.to_numpy(), "new_id": pd.NA, "why": "gone",
                                     "person_refs": g["size"].to_numpy(), "person_ref": g["first"].to_numpy()}))
    seen = np.unique(p_cluster)
    new_cl = np.setdiff1d(uniq, seen)
    if new_cl.size:
        size = pd.Series(cluster).value_counts()
        changes.append(pd.DataFrame({"old_id": pd.NA, "new_id": new_of.reindex(new_cl).to_numpy(), "why": "new",
                                     "person_refs": size.reindex(new_cl).to_numpy(),
                                     "person_ref": key_code.reindex(new_cl).to_numpy(object)}))
    return Carried(ids=pd.Series(new_ids, index=refs.index, name="person_id"), changes=_tidy(changes))


def _tidy(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The change rows as :func:`empty_changes`' columns and types, in a canonical order."""
    table = pd.concat([empty_changes(), *[p.loc[:, list(CHANGE_COLUMNS)] for p in parts]], ignore_index=True)
    table = table.astype({"old_id": "Int64", "new_id": "Int64", "why": "string", "person_refs": "int64",
                          "person_ref": "string"})
    rank = table["why"].map({w: i for i, w in enumerate(WHY)}).astype("int64")
    table = table.assign(_rank=rank).sort_values(["_rank", "old_id", "new_id", "person_ref"], kind="stable",
                                                 na_position="first")
    return table.drop(columns="_rank").reset_index(drop=True)
