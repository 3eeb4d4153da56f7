"""Person records and dose rows: the bridge between the cleansed line list and the clusters
found by :func:`vaxreport.linkage.cluster_persons`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from vaxreport import frames

PERSON_FIELDS = ("full_name", "birth_date", "gender", "id_number", "phone", "commune_code", "address")


def person_records(doses: pd.DataFrame) -> pd.DataFrame:
    """One row per platform person record (``person_ref``) with the person fields, for dedup.

    >>> person_records(pd.DataFrame({"person_ref": ["a", "a", "b"], "full_name": ["X", "X", "Y"]})).full_name.tolist()
    ['X', 'Y']
    """
    cols = ["person_ref", *[c for c in PERSON_FIELDS if c in doses.columns]]
    extra = [c for c in ("id_valid",) if c in doses.columns]
    return doses[cols + extra].drop_duplicates("person_ref").set_index("person_ref", drop=False)


def with_person_id(doses: pd.DataFrame, persons: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """Attach the dedup cluster of each dose's ``person_ref`` as ``person_id``.

    >>> persons = pd.DataFrame({"person_ref": ["a", "b", None]})
    >>> with_person_id(pd.DataFrame({"person_ref": ["b", None, "a", "b"]}), persons,
    ...                pd.Series([7, 7, 9])).person_id.tolist()
    [7, 9, 7, 7]
    """
    refs = doses["person_ref"]
    pos = frames.positions(persons["person_ref"], refs)
    missing_ref = refs.isna().to_numpy()
    if missing_ref.any():  # rows without a person_ref are the persons table's one such record
        na_at = np.flatnonzero(persons["person_ref"].isna().to_numpy())
        pos[missing_ref] = na_at[0] if len(na_at) else -1
    if (pos < 0).any():
        raise KeyError(f"{int((pos < 0).sum())} dose rows have a person_ref missing from the person records")
    return doses.assign(person_id=labels.to_numpy().astype(np.int64)[pos])


def person_id_valid(persons: pd.DataFrame, labels: pd.Series) -> pd.Series:
    """Per cluster: does any of its records carry a valid ID (``id_valid`` from cleansing)?

    >>> person_id_valid(pd.DataFrame({"id_valid": [False, True, None]}), pd.Series([0, 0, 2])).tolist()
    [True, False]
    """
    valid = persons["id_valid"].fillna(False).astype(bool) if "id_valid" in persons else pd.Series(False, persons.index)
    return valid.groupby(labels.to_numpy()).any()


def person_merges(persons: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """Every person record merged into another: ``person_ref, person_id, survivor_ref``.

    The survivor record of a cluster is its first row (the cluster label is that row's position).

    >>> person_merges(pd.DataFrame({"person_ref": ["a", "b", "c"]}), pd.Series([0, 0, 2])).survivor_ref.tolist()
    ['a']
    """
    lab = labels.to_numpy()
    refs = persons["person_ref"].to_numpy()
    merged = lab != np.arange(len(lab))
    return pd.DataFrame({"person_ref": refs[merged], "person_id": lab[merged], "survivor_ref": refs[lab[merged]]})
