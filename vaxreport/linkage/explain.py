"""What the linkage decided, for a reader: why two records are (not) one person, the survivor
record of each cluster, and the list of every merge.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from vaxreport.linkage.cluster import link_persons
from vaxreport.linkage.model import (
    MERGE_ODDS_BITS,
    Model,
    default_threshold,
    estimate_u,
    household_regime,
    possible_twins,
    siblings,
)
from vaxreport.linkage.persons import DOSES, survivor_rows
from vaxreport.linkage.prepare import FIELDS, ID_KINDS, PreparedFields, digits, prepare_fields
from vaxreport.linkage.priors import HOUSEHOLD_U, ID_FLOOR_MAX_RECORDS, LEVELS
from vaxreport.linkage.score import identifier_floor, score_candidates
from vaxreport.text import fold_series


@dataclass(frozen=True)
class PairExplanation:
    """Why two records are (not) the same person.

    Attributes:
        table: one row per comparison: ``comparison, value_a, value_b, level, weight``.
        total: sum of the weights (bits).
        threshold: the decision threshold used (bits).
        is_match: ``total >= threshold`` or the exact-identifier floor holds.
        floor: the records share a rare valid identifier and one more field, and the household
            guard does not explain it (:func:`~vaxreport.linkage.score.identifier_floor`).
    """

    table: pd.DataFrame
    total: float
    threshold: float
    is_match: bool
    floor: bool = False

    def __str__(self) -> str:
        verdict = "MATCH" if self.is_match else "no match"
        if self.floor:
            verdict += " (exact-identifier floor)"
        return (f"{self.table.to_string(index=False)}\n"
                f"total {self.total:.2f} bits vs threshold {self.threshold:.2f}: {verdict}")


def explain_pair(a: Mapping[str, Any] | pd.Series, b: Mapping[str, Any] | pd.Series, *,
                 persons: pd.DataFrame | None = None,
                 threshold: float | None = None) -> PairExplanation:
    """Explain the match decision between two records, comparison by comparison.

    Args:
        a: first record (dict or Series with any of the person columns).
        b: second record.
        persons: the table the records come from; its value frequencies set the u
            probabilities (term-frequency weights) and the threshold is the one
            :func:`~vaxreport.linkage.cluster.cluster_persons` uses on it (this runs the clustering once).
            Without it, the two records alone are used (priors dominate).
        threshold: override of the decision threshold (bits).

    Returns:
        :class:`PairExplanation` with the per-comparison table, total and decision.

    Examples:
        >>> e = explain_pair({"full_name": "Lê Thị Hoa", "birth_date": "1990-03-12"},
        ...                  {"full_name": "Le Thi Hoa", "birth_date": "12/03/1990"})
        >>> e.table.set_index("comparison").loc["birth_date", "level"]
        'exact'
        >>> e.is_match
        True
    """
    ra, rb = dict(a), dict(b)
    cols = [c for c in (*FIELDS, DOSES) if c in ra or c in rb]
    pair = pd.DataFrame([{c: ra.get(c) for c in cols}, {c: rb.get(c) for c in cols}],
                        dtype=object)
    if persons is not None:
        base = pd.concat([persons.reset_index(drop=True), pair], ignore_index=True)
        ia, ib = len(persons), len(persons) + 1
    else:
        base, ia, ib = pair, 0, 1
    if "birth_date" in base and base["birth_date"].map(
            lambda v: isinstance(v, (pd.Timestamp, np.datetime64))).any():
        base = base.assign(birth_date=base["birth_date"].map(
            lambda v: v.strftime("%Y-%m-%d") if isinstance(v, pd.Timestamp) else v))
    prep = prepare_fields(base)
    model = estimate_u(prep)
    thr = default_threshold(2) + MERGE_ODDS_BITS
    if persons is not None:  # the same model and decision as cluster_persons(persons)
        res = link_persons(persons, threshold)
        model = Model(u=model.u, m=res.model.m, hh_u=res.model.hh_u)
        thr = res.threshold
    if threshold is not None:
        thr = float(threshold)
    ai, bi = np.array([ia]), np.array([ib])
    _, _, lv, w, total = score_candidates(prep, model, ai, bi)
    show = {"given": "full_name", "surname_middle": "full_name", "birth_date": "birth_date",
            "id_number": "id_number", "gender": "gender", "phone": "phone", "doses": DOSES}
    kind = int(household_regime(prep, ai, bi)[0])
    regime = kind > 0
    rows = []
    for comp, col in show.items():
        level = LEVELS[comp][int(lv[comp][0])]
        if comp == "id_number":
            level += _id_kinds(prep, ia, ib)
        if regime and comp in HOUSEHOLD_U:
            level += " (household)"
        if comp == "given" and siblings(lv, np.array([kind]))[0]:
            level += " (siblings: birth date and place shared, household u)"
        if comp == "doses" and possible_twins(lv, np.array([kind]))[0]:
            level += " (possible twins: no weight for a match)"
        rows.append({"comparison": comp, "value_a": ra.get(col), "value_b": rb.get(col),
                     "level": level, "weight": float(w[comp][0])})
    commune, address = int(lv["commune"][0]), int(lv["address"][0])
    loc = "implied by household phone" if kind == 1 else (
        f"commune {LEVELS['commune'][commune]}, address {LEVELS['address'][address]}"
        + (" within the commune" if commune == 1 and address >= 2 else ""))
    rows.append({"comparison": "locality",
                 "value_a": f"{ra.get('commune_code')} / {ra.get('address')}",
                 "value_b": f"{rb.get('commune_code')} / {rb.get('address')}",
                 "level": loc, "weight": float(w["locality"][0])})
    tab = pd.DataFrame(rows)
    tot = float(total[0])
    c = prep.codes["id"]
    rare = c[ia] >= 0 and int((c == c[ia]).sum()) <= ID_FLOOR_MAX_RECORDS
    floor = bool(rare and identifier_floor(lv, household_regime(prep, ai, bi))[0])
    return PairExplanation(table=tab, total=tot, threshold=thr, is_match=tot >= thr or floor,
                           floor=floor)


def _id_kinds(prep: PreparedFields, ia: int, ib: int) -> str:
    """" (cccd)", " (passport / other)" …: the kinds of the two records' identity numbers."""
    c = prep.codes["id"]
    kinds = [ID_KINDS[int(prep.nums["id_shape"][c[r]]) // 32] for r in (ia, ib) if c[r] >= 0]
    return f" ({' / '.join(dict.fromkeys(kinds))})" if kinds else ""


def _group_size(label: np.ndarray, code: np.ndarray) -> np.ndarray:
    """Per row, the number of rows with the same (label, code) (non-negative ints)."""
    inv = pd.factorize(label.astype(np.int64) * (int(code.max(initial=0)) + 1) + code)[0]
    return np.bincount(inv)[inv]


def _survivor_rows(col: str, label: np.ndarray, values: pd.Series) -> np.ndarray:
    """Per label (sorted), the position in ``values`` (no NA) of the best value of one column.

    Ranks are computed on the distinct values: value codes sort like the values, so the
    tie-break on the value itself is a tie-break on its code."""
    code, uniq = pd.factorize(values, sort=True)
    count = _group_size(label, code)
    if col == "full_name":
        txt = pd.Series(uniq, dtype="str")
        folded = fold_series(pd.Series(txt, dtype="str")).fillna("")
        accented = (folded != txt.str.lower()).to_numpy(np.int64)[code]
        fcount = _group_size(label, pd.factorize(folded)[0][code])
        length = txt.str.len().to_numpy(np.int64)[code]
        rank: list[np.ndarray] = [accented, fcount, count, length]
    elif col in ("id_number", "phone"):
        n = digits(pd.Series(uniq, dtype="str")).str.len()
        good = (n == (12 if col == "id_number" else 10)).to_numpy(np.int64)[code]
        fair = n.isin([9, 10, 11, 12]).to_numpy(np.int64)[code]
        rank = [good, fair, count]
    else:
        rank = [count]
    order = np.lexsort([code, *[-r for r in reversed(rank)], label])
    first = np.concatenate(([True], label[order][1:] != label[order][:-1]))
    return order[first]


def survivors(persons: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """One survivor record per cluster: the best value of each field.

    Best = valid values first (12-digit CCCD before 9-digit CMND, 10-digit mobiles), then the most
    frequent in the cluster; names prefer accented spellings, then the most frequent folded form,
    then the longest.  Ties break on the value itself, so the result is deterministic.  Values
    are stripped and an empty string counts as missing.  Most clusters are one record: those
    are taken as they are, the ranking runs on the multi-record clusters only.

    Args:
        persons: the person table given to :func:`~vaxreport.linkage.cluster.cluster_persons`.
        labels: its cluster labels (aligned to ``persons.index``).

    Returns:
        DataFrame indexed by cluster label (``person_id``) with the person columns present in
        ``persons`` plus ``n_records``.  Does not mutate the input.

    Examples:
        >>> df = pd.DataFrame({"full_name": ["Nguyen Van An", "Nguyễn Văn An", " Lê Hoa "],
        ...                    "id_number": [None, "019090000123", None]})
        >>> s = survivors(df, pd.Series([0, 0, 2]))
        >>> s.loc[0, "full_name"], s.loc[0, "id_number"], int(s.loc[0, "n_records"])
        ('Nguyễn Văn An', '019090000123', 2)
        >>> s.loc[2, "full_name"], int(s.loc[2, "n_records"])
        ('Lê Hoa', 1)
    """
    codes, uniq = pd.factorize(np.asarray(labels), sort=True, use_na_sentinel=False)
    sizes = np.bincount(codes, minlength=len(uniq))
    multi = sizes[codes] > 1
    out = pd.DataFrame(index=pd.Index(uniq, name="person_id"))
    for col in [c for c in persons.columns if c in FIELDS]:
        v = persons[col]
        is_dt = pd.api.types.is_datetime64_any_dtype(v.dtype)
        key = v if is_dt else v.astype("string").str.strip().replace("", pd.NA)
        present = key.notna().to_numpy()
        if not present.any():
            out[col] = pd.Series(pd.NA, index=out.index, dtype=v.dtype if is_dt else object)
            continue
        # the row whose value each cluster keeps (-1: none); single records keep their own
        src = np.full(len(uniq), -1, np.int64)
        one = np.flatnonzero(present & ~multi)
        src[codes[one]] = one
        many = np.flatnonzero(present & multi)
        if many.size:
            pick = _survivor_rows(col, codes[many], key.iloc[many])
            src[codes[many[pick]]] = many[pick]
        col_values = pd.Series(key.array.take(src, allow_fill=True), index=out.index)
        out[col] = col_values if is_dt else col_values.astype("str")
    out["n_records"] = sizes.astype(int)
    return out


def merge_audit(persons: pd.DataFrame, labels: pd.Series | None = None, *,
                threshold: float | None = None) -> pd.DataFrame:
    """Every merge: each record of a multi-record cluster, its survivor and its best link score.

    Args:
        persons: person table.
        labels: its labels from :func:`~vaxreport.linkage.cluster.cluster_persons` (recomputed with the link scores
            when omitted; the scores are always recomputed).
        threshold: decision threshold (bits), as for :func:`~vaxreport.linkage.cluster.cluster_persons`.

    Returns:
        DataFrame ``record, survivor, score`` — ``record`` the input index label of a record
        that was merged into cluster ``survivor`` (the cluster label), ``score`` the weight
        (bits) of the strongest accepted link from that record to another record of its
        cluster.  The survivor's own row is not listed: the record with the smallest
        ``person_ref`` (:func:`~vaxreport.linkage.persons.survivor_rows`; the first row of
        the cluster when ``persons`` has no ``person_ref``).

    Examples:
        >>> df = pd.DataFrame({"full_name": ["Lê Văn Tám", "Le Van Tam", "Phạm Hà"],
        ...                    "birth_date": ["1990-01-02", "1990-01-02", "1970-05-05"]})
        >>> merge_audit(df)[["record", "survivor"]].values.tolist()
        [[1, 0]]
    """
    res = link_persons(persons, threshold)
    lab = res.labels if labels is None else np.asarray(
        pd.Series(labels).reindex(persons.index) if isinstance(labels, pd.Series)
        else labels)
    lab_pos = pd.Series(lab).astype(np.int64).to_numpy()
    same = lab_pos[res.a] == lab_pos[res.b]
    ea, eb, ew = res.a[same], res.b[same], res.weight[same]
    best = pd.DataFrame({"row": np.concatenate([ea, eb]), "score": np.concatenate([ew, ew])}
                        ).groupby("row")["score"].max()
    merged = np.flatnonzero(survivor_rows(persons, lab_pos) != np.arange(len(persons)))
    return pd.DataFrame({
        "record": persons.index.to_numpy()[merged],
        "survivor": lab_pos[merged],
        "score": best.reindex(merged).to_numpy(),
    }).reset_index(drop=True)
