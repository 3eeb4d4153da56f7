"""The clerical review queue: the pairs of person records whose match weight lies near the
decision threshold — where the model is least sure — in the order a reviewer's time is best
spent, each with the evidence of :func:`~vaxreport.linkage.explain_pair` as levels.

A pair's *stake* is what a decision on it would change: the doses of the two persons it would
join (two dose histories merged, doses renumbered), or the doses of the person it would split.
The queue is ordered by doses at stake, then records at stake, then closeness to the threshold;
pairs the decisions file already decides are left out (their decision is applied instead).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from vaxreport.linkage.cluster import Linkage, link_persons
from vaxreport.linkage.decisions import check_decisions
from vaxreport.linkage.priors import LEVELS
from vaxreport.linkage.replay import Prior
from vaxreport.params import RunParams

#: The columns of the queue before the level columns (``<field>_level``, one per :data:`LEVELS` key).
QUEUE_COLUMNS = ("person_a", "person_b", "weight", "threshold", "together", "records_at_stake",
                 "doses_at_stake")


def doses_per_record(doses: pd.DataFrame, persons: pd.DataFrame) -> np.ndarray:
    """Dose rows of each person record (by ``person_ref``), aligned to ``persons``' rows.

    >>> doses_per_record(pd.DataFrame({"person_ref": ["a", "b", "a"]}),
    ...                  pd.DataFrame({"person_ref": ["b", "a", "c"]})).tolist()
    [1, 2, 0]
    """
    counted = pc.value_counts(pa.array(doses["person_ref"].astype("string[pyarrow]").array))  # Arrow: no Python objects
    at = pc.index_in(pa.array(persons["person_ref"].astype("string[pyarrow]").array),
                     value_set=counted.field("values"))
    return pc.fill_null(counted.field("counts").take(at), 0).to_numpy(zero_copy_only=False).astype(np.int64)


def decided_pairs(decisions: pd.DataFrame | None) -> set[tuple[str, str]]:
    """The unordered code pairs a decisions table decides (each as ``(smaller, larger)`` text).

    >>> sorted(decided_pairs(pd.DataFrame({"person_a": ["2", "1"], "person_b": ["1", "3"],
    ...                                    "decision": ["same", "different"]})))
    [('1', '2'), ('1', '3')]
    """
    if decisions is None or not len(decisions):
        return set()
    a = decisions["person_a"].astype(str).tolist()
    b = decisions["person_b"].astype(str).tolist()
    return {(min(x, y), max(x, y)) for x, y in zip(a, b)}


def review_queue(persons: pd.DataFrame, res: Linkage, *, band: float, doses: np.ndarray | None = None,
                 decisions: pd.DataFrame | None = None) -> pd.DataFrame:
    """Pairs with ``|weight − threshold| ≤ band``, most at stake first.

    Args:
        persons: the person table linked (``person_ref`` column), rows as in ``res``.
        res: its linkage (:func:`~vaxreport.linkage.cluster.link_persons`, decisions applied).
        band: half-width of the band around ``res.threshold`` (bits).
        doses: dose rows per record (:func:`doses_per_record`); None counts one per record.
        decisions: the decisions applied (their pairs are left out).

    Returns:
        One row per pair: :data:`QUEUE_COLUMNS` (``person_a`` the smaller code in code order;
        ``together``: the run made them one person) then ``<field>_level`` per comparison.
        Does not mutate the inputs.

    Examples:
        >>> from vaxreport.linkage.cluster import link_persons
        >>> df = pd.DataFrame({"person_ref": ["1", "2", "3"],
        ...                    "full_name": ["Lê Văn Tám", "Le Van Tam", "Phạm Hà"],
        ...                    "birth_date": ["1990-01-02", "1990-01-02", "1970-05-05"]})
        >>> res = link_persons(df, None)
        >>> q = review_queue(df, res, band=40.0)
        >>> q[["person_a", "person_b", "together", "given_level"]].values.tolist()
        [['1', '2', True, 'exact']]
        >>> len(review_queue(df, res, band=40.0, decisions=pd.DataFrame(
        ...     {"person_a": ["2"], "person_b": ["1"], "decision": ["same"]})))
        0
    """
    near = res.near
    keep = np.flatnonzero(np.abs(near.weight - res.threshold) <= band)
    a, b = near.a[keep], near.b[keep]
    refs = persons["person_ref"].astype("string").to_numpy(object)
    ra, rb = refs[a].astype(str), refs[b].astype(str)
    first = np.array([(len(x), x) <= (len(y), y) for x, y in zip(ra, rb)], bool)
    code_a, code_b = np.where(first, ra, rb), np.where(first, rb, ra)
    decided = decided_pairs(decisions)
    fresh = np.array([(min(x, y), max(x, y)) not in decided for x, y in zip(code_a, code_b)], bool)
    keep, a, b, code_a, code_b = keep[fresh], a[fresh], b[fresh], code_a[fresh], code_b[fresh]
    labels = res.labels
    n = labels.size
    per_record = np.ones(n, np.int64) if doses is None else np.asarray(doses, np.int64)
    cluster_doses = np.bincount(labels, weights=per_record, minlength=n).astype(np.int64)
    cluster_records = np.bincount(labels, minlength=n).astype(np.int64)
    la, lb = labels[a], labels[b]
    together = la == lb
    out = pd.DataFrame({
        "person_a": pd.array(code_a, dtype="string"), "person_b": pd.array(code_b, dtype="string"),
        "weight": near.weight[keep].round(3), "threshold": round(float(res.threshold), 3),
        "together": together,
        "records_at_stake": np.where(together, cluster_records[la], cluster_records[la] + cluster_records[lb]),
        "doses_at_stake": np.where(together, cluster_doses[la], cluster_doses[la] + cluster_doses[lb]),
    })
    for field, codes in near.levels.items():
        out[f"{field}_level"] = pd.array(np.asarray(LEVELS[field], dtype=object)[codes[keep]], dtype="string")
    keys = out.assign(_closeness=np.abs(out["weight"].to_numpy() - res.threshold),
                      _len_a=out["person_a"].str.len(), _len_b=out["person_b"].str.len())
    keys = keys.sort_values(["doses_at_stake", "records_at_stake", "_closeness", "_len_a", "person_a", "_len_b",
                             "person_b"], ascending=[False, False, True, True, True, True, True], kind="stable")
    return out.loc[keys.index].reset_index(drop=True)


class ReviewWarning(UserWarning):
    """Raised (as a warning) when the decisions file names person codes this run does not hold."""


def link_and_queue(p: RunParams, persons: pd.DataFrame, doses_at_stake: np.ndarray, *,
                   prior: Prior | None = None) -> tuple[Linkage, pd.DataFrame]:
    """Stage 1's linkage: the persons linked with last month's decisions on the unchanged records
    (``prior``, :mod:`.replay`) and the params' review decisions replayed, and the review queue of
    what is left to decide.

    Args:
        p: run params (``thresholds.dedup_threshold``, ``thresholds.review_band``, ``review_decisions``).
        persons: one row per person record (``person_ref`` and the person fields).
        doses_at_stake: dose rows of each person record (:func:`doses_per_record`).
        prior: last month's persons of the unchanged records (:class:`~.replay.Prior`), or None.

    Returns:
        The :class:`~vaxreport.linkage.cluster.Linkage` and the queue (:func:`review_queue`).
        Unknown person codes in the decisions are warned about (:class:`ReviewWarning`, the
        kernel's log) and counted in ``Linkage.review``.

    Raises:
        ParamsError: the decisions file is missing, unreadable, malformed or contradictory.
    """
    from vaxreport.io.decisions import read_decisions

    decisions = None if p.review_decisions is None else check_decisions(
        read_decisions(p.review_decisions), source=f"review_decisions ({p.review_decisions})")
    res = link_persons(persons, p.thresholds.dedup_threshold, decisions=decisions, prior=prior)
    if res.review.unknown:
        warnings.warn(res.review.line(), ReviewWarning, stacklevel=2)
    queue = review_queue(persons, res, band=p.thresholds.review_band, doses=doses_at_stake,
                         decisions=decisions)
    return res, queue
