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
import pyarrow as pa
import pyarrow.compute as pc

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
    if prev["person_ref"].is_unique:  # the usual case: no sort needed
        return prev.set_index("person_ref")["person_id"]
    return prev.groupby("person_ref", sort=False)["person_id"].min()


def _isin(values: np.ndarray, among: np.ndarray) -> np.ndarray:
    """``np.isin`` through a hash table (numpy's is slow on 63-bit hashes: 13 s at a million ids)."""
    return pd.Index(pd.unique(among)).get_indexer(values) >= 0 if len(among) else np.zeros(len(values), bool)


def _first_per(values: np.ndarray) -> np.ndarray:
    """Mask of the first occurrence of each value (in array order)."""
    return ~pd.Series(values).duplicated().to_numpy()


def _free_ids(keys: np.ndarray, candidates: np.ndarray, used: np.ndarray) -> np.ndarray:
    """``candidates`` where not in ``used``; else the hash of ``key#1``, ``key#2`` … (the first
    value neither used nor a candidate), in the order given (the clusters' code order)."""
    out = candidates.copy()
    clash = np.flatnonzero(_isin(candidates, used))
    taken = set(used.tolist()) | set(candidates.tolist()) if clash.size else set()
    for i in clash:
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
    text = pa.array(refs.astype("string").fillna("").to_numpy(object), pa.large_string())
    codes = text.to_numpy(zero_copy_only=False)
    old_of = _previous_ids(previous)
    at = pc.index_in(text, value_set=pa.array(old_of.index.to_numpy(object), pa.large_string()))
    at = at.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    ocode, old_ids = pd.factorize(old_of.to_numpy(np.int64))  # last month's ids as 0 … O-1
    old_ids = np.asarray(old_ids, dtype=np.int64)
    at = np.where(at >= 0, ocode[np.maximum(at, 0)], -1)  # per record, its old id's position; -1: new code
    ccode, cluster_ids = pd.factorize(np.asarray(ids, dtype=np.int64))  # clusters as 0 … C-1
    n_cl = len(cluster_ids)
    order = code_order(pd.Series(codes))
    present = order[at[order] >= 0]  # records with an old id, in code order
    p_old, p_cl = at[present], ccode[present]  # old ids as positions into ``old_of``
    anchor = present[_first_per(p_old)]  # per old id, its smallest code still here
    a_old, a_cl = at[anchor], ccode[anchor]
    win = _first_per(a_cl)  # per cluster, the old id with the smallest anchor
    new_of = np.full(n_cl, -1, np.int64)
    new_of[a_cl[win]] = old_ids[a_old[win]]
    key_row = np.empty(n_cl, np.int64)  # per cluster, its smallest code (in code order)
    key_row[ccode[order[::-1]]] = order[::-1]
    rank = np.empty(len(codes), np.int64)
    rank[order] = np.arange(len(codes))
    fresh = np.flatnonzero(new_of < 0)
    fresh = fresh[np.argsort(rank[key_row[fresh]], kind="stable")]  # in code order
    used = np.concatenate([old_ids, new_of[new_of >= 0]])
    new_of[fresh] = _free_ids(codes[key_row[fresh]], np.asarray(cluster_ids)[fresh], used)
    anchored = np.full(len(old_ids), -1, np.int64)
    anchored[a_old] = a_cl
    changes = [_pair_changes(p_old, p_cl, codes[present], old_ids, new_of, anchored)]
    gone = np.flatnonzero(anchored < 0)  # no code of the old id is left
    if gone.size:
        changes.append(_gone(old_of, old_ids[gone]))
    seen = np.zeros(n_cl, bool)
    seen[p_cl] = True
    new_cl = np.flatnonzero(~seen)
    if new_cl.size:
        size = np.bincount(ccode, minlength=n_cl)
        changes.append(pd.DataFrame({"old_id": pd.NA, "new_id": new_of[new_cl], "why": "new",
                                     "person_refs": size[new_cl], "person_ref": codes[key_row[new_cl]]}))
    return Carried(ids=pd.Series(new_of[ccode], index=refs.index, name="person_id"), changes=_tidy(changes))


def _pair_changes(p_old: np.ndarray, p_cl: np.ndarray, p_code: np.ndarray, old_ids: np.ndarray,
                  new_of: np.ndarray, anchored: np.ndarray) -> pd.DataFrame:
    """merged / split / moved: one row per (old id, new cluster) pair that is not a kept id.
    ``p_*``: the records with an old id, in code order (old ids and clusters as positions)."""
    pair = pd.factorize(p_old * (len(new_of) + 1) + p_cl)[0]
    first = _first_per(pair)
    size = np.bincount(pair)
    o, c = p_old[first], p_cl[first]
    oid, nid = old_ids[o], new_of[c]
    at_anchor = anchored[o] == c
    claimed = _isin(nid, old_ids)  # the cluster kept an id of last month
    why = np.where(at_anchor, np.where(nid == oid, "", "merged"), np.where(claimed, "moved", "split"))
    keep = why != ""
    return pd.DataFrame({"old_id": oid[keep], "new_id": nid[keep], "why": why[keep],
                         "person_refs": size[pair[first]][keep], "person_ref": p_code[first][keep]})


def _gone(old_of: pd.Series, gone_ids: np.ndarray) -> pd.DataFrame:
    """One ``gone`` row per old id none of whose codes is in this month's export."""
    was = old_of[_isin(old_of.to_numpy(np.int64), gone_ids)].reset_index()
    was = was.iloc[code_order(was["person_ref"])]
    g = was.groupby("person_id", sort=False)["person_ref"].agg(["size", "first"])
    return pd.DataFrame({"old_id": g.index.to_numpy(), "new_id": pd.NA, "why": "gone",
                         "person_refs": g["size"].to_numpy(), "person_ref": g["first"].to_numpy()})


def _tidy(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The change rows as :func:`empty_changes`' columns and types, in a canonical order."""
    table = pd.concat([empty_changes(), *[p.loc[:, list(CHANGE_COLUMNS)] for p in parts]], ignore_index=True)
    table = table.astype({"old_id": "Int64", "new_id": "Int64", "why": "string", "person_refs": "int64",
                          "person_ref": "string"})
    rank = table["why"].map({w: i for i, w in enumerate(WHY)}).astype("int64")
    table = table.assign(_rank=rank).sort_values(["_rank", "old_id", "new_id", "person_ref"], kind="stable",
                                                 na_position="first")
    return table.drop(columns="_rank").reset_index(drop=True)
