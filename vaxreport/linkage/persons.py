"""Person records and dose rows: the bridge between the cleansed line list and the clusters
found by :func:`vaxreport.linkage.cluster_persons`, and the stable ``person_id`` of each cluster.

**Stable ids.** ``cluster_persons`` labels a cluster by its first row's position, which changes
whenever the export's rows come in another order. Stage 1 renames every cluster by its content
(:func:`person_ids`): the cluster's *key record* is the record with the smallest platform person
code (``person_ref``, "Mã đối tượng"; shortest first, then by text, so numeric codes compare as
numbers and the key is usually the earliest registration), and ``person_id`` is
:func:`content_ids` of that code — a 63-bit integer hash, non-negative ``int64``. The key record is
also the cluster's *survivor* in :func:`person_merges` (the code the sites are asked to merge the
other records into). So the id depends only on which records a cluster holds, never on row order
or partitioning, and a cluster that keeps its smallest code keeps its id from month to month.
Given last month's run, stage 1 goes further (:mod:`vaxreport.linkage.carry`): a person keeps last
month's id whenever their cluster keeps any of that person's codes (merges and splits listed).

Why a hash and not the code itself: ``person_id`` stays an ``int64`` everywhere (facts, doses,
worklists; 8 bytes and integer joins), and it is not the platform's code printed in the
non-personal facts. It is a pseudonym, not a secret: whoever holds the export can recompute it.

The hash is SipHash-2-4 (key ``"0123456789123456"``) of the code's UTF-8 bytes followed by the
splitmix64 finaliser — ``pandas.util.hash_array``'s definition, C speed (≈ 0.25 s per million
codes); ``tests/test_persons.py`` pins known values so that a change in it cannot pass unnoticed
(ids would no longer match last month's). The top 63 bits are kept. Two codes with one hash (about
one chance in 10⁷ at a million persons, 10⁻³ at a hundred million) are resolved deterministically:
the smaller code keeps the hash, the other takes the hash of ``code#1`` (``#2`` …), the first one
no code of the table holds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from vaxreport import frames

PERSON_FIELDS = ("full_name", "birth_date", "gender", "id_number", "phone", "commune_code", "address")
#: ``person_id`` is a non-negative int64: the top 63 bits of a 64-bit hash.
ID_BITS = 63


def person_records(doses: pd.DataFrame) -> pd.DataFrame:
    """One row per platform person record (``person_ref``) with the person fields, for dedup,
    and the record's dose history (``doses``, :func:`dose_histories`) when the rows have dates.

    >>> person_records(pd.DataFrame({"person_ref": ["a", "a", "b"], "full_name": ["X", "X", "Y"]})).full_name.tolist()
    ['X', 'Y']
    """
    cols = ["person_ref", *[c for c in PERSON_FIELDS if c in doses.columns]]
    extra = [c for c in ("id_valid",) if c in doses.columns]
    out = doses[cols + extra].drop_duplicates("person_ref").set_index("person_ref", drop=False)
    if "dose_date" in doses.columns:
        out[DOSES] = pd.Series(dose_histories(doses).array, index=out.index)
    return out


#: The person-record column holding the record's dose history (:func:`dose_histories`), read by
#: the linkage's dose comparison (:mod:`vaxreport.linkage.compare`).
DOSES = "doses"


def dose_histories(doses: pd.DataFrame) -> pd.Series:
    """Each person record's doses as text, ``yyyy-mm-dd#n`` (date and dose number as entered, 0
    if unknown) separated by spaces in date order, one line per ``person_ref`` in order of first
    appearance (as :func:`person_records`); rows without a dose date are left out ("" if none).
    Built with Arrow on whole columns, held as Arrow strings (≈ 30 bytes a record).

    >>> dose_histories(pd.DataFrame({"person_ref": ["a", "b", "a"], "dose_number": ["2", None, "1"],
    ...     "dose_date": pd.to_datetime(["2021-09-01", None, "2021-08-01"])})).tolist()
    ['2021-08-01#1 2021-09-01#2', '']
    """
    ref, _ = pd.factorize(doses["person_ref"], use_na_sentinel=False)
    day = pd.to_datetime(doses["dose_date"], errors="coerce").to_numpy("datetime64[D]")
    number = (pd.to_numeric(doses["dose_number"], errors="coerce").astype("Float64").to_numpy(float, na_value=0.0)
              if "dose_number" in doses.columns else np.zeros(len(doses)))
    number = np.where((number >= 0) & (number < 100), number, 0).astype(np.int64)
    keep = ~np.isnat(day)
    order = np.flatnonzero(keep)[np.lexsort((number[keep], day[keep], ref[keep]))]
    n_ref = int(ref.max()) + 1 if ref.size else 0
    text = pc.binary_join_element_wise(
        pc.cast(pa.array(day[order]), pa.string()), pa.array(number[order]).cast(pa.string()), "#")
    offsets = np.zeros(n_ref + 1, np.int32)
    np.cumsum(np.bincount(ref[order], minlength=n_ref), out=offsets[1:])
    lists = pa.ListArray.from_arrays(pa.array(offsets), text)
    return pd.Series(pd.arrays.ArrowStringArray(pc.binary_join(lists, " ")))  # no Python objects


def code_order(codes: pd.Series | Sequence[str | None]) -> np.ndarray:
    """Positions of the person codes in code order: shortest first, then by text (Unicode code
    points), missing last; equal codes keep their order.

    >>> code_order(pd.Series(["10", "9", None, "09", "A1"])).tolist()
    [1, 3, 0, 4, 2]
    """
    arr = pa.array(pd.Series(codes, dtype="string[pyarrow]").array).cast(pa.large_string())
    table = pa.table({"length": pc.utf8_length(arr), "code": arr})
    order = pc.sort_indices(table, sort_keys=[("length", "ascending"), ("code", "ascending")])  # nulls last
    return order.to_numpy().astype(np.int64)


def _hash_ids(keys: np.ndarray, bits: int) -> np.ndarray:
    """The top ``bits`` bits of the 64-bit hash of each text key (object array of ``str``)."""
    h = pd.util.hash_array(keys, categorize=False)
    return (h >> np.uint64(64 - bits)).astype(np.int64)


def content_ids(keys: pd.Series | Sequence[str], *, bits: int = ID_BITS) -> np.ndarray:
    """A stable integer id for each of a set of distinct text keys, whatever their order.

    The id of a key is the top ``bits`` bits of its 64-bit hash (see the module docstring); when
    keys share a hash, the first in :func:`code_order` keeps it and each other takes the hash of
    ``key#1``, ``key#2`` … — the first value no key of the set holds. The result is a function of
    the *set* of keys: permuting them permutes the ids.

    Args:
        keys: distinct strings (person codes).
        bits: id width; 63 (the default) gives non-negative int64. Tests use a few bits to
            force collisions; there must be fewer keys than ``2**bits``.

    Returns:
        int64 array of distinct ids, aligned to ``keys``.

    Raises:
        ValueError: repeated or missing keys, or more keys than ids.

    Examples:
        >>> content_ids(["10000000", "10000001"]).tolist()
        [5311875331182581992, 3192423807785965865]
        >>> content_ids(["10000001", "10000000"]).tolist()  # order does not matter
        [3192423807785965865, 5311875331182581992]
    """
    values = pd.Series(keys, dtype=object)
    if values.isna().any():
        raise ValueError("content_ids needs distinct, non-missing keys")
    if len(values) >= 2**bits:
        raise ValueError(f"{len(values)} keys do not fit in {bits}-bit ids")
    text = values.astype(str).to_numpy(object)
    ids = _hash_ids(text, bits)
    clash = np.flatnonzero(pd.Series(ids).duplicated(keep=False).to_numpy())
    if clash.size:  # rare: resolved in code order among the keys that share a hash
        rows = clash[code_order(pd.Series(text[clash]))]
        if pd.Series(text[rows]).duplicated().any():  # equal keys share a hash: found here
            raise ValueError("content_ids needs distinct, non-missing keys")
        taken, kept = set(ids.tolist()), set()
        for i in rows.tolist():
            if int(ids[i]) not in kept:  # the smallest key of a hash keeps it
                kept.add(int(ids[i]))
                continue
            k = 1
            while (alt := int(_hash_ids(np.array([f"{text[i]}#{k}"], dtype=object), bits)[0])) in taken:
                k += 1
            taken.add(alt)
            ids[i] = alt
    return ids


def _key_rows(persons: pd.DataFrame, codes: np.ndarray, n_clusters: int) -> np.ndarray:
    """Per cluster (``codes``: 0 … n_clusters-1 per row), the row of its key record: the smallest
    ``person_ref`` in :func:`code_order` (the first row of the cluster without ``person_ref``).
    Only the records of multi-record clusters (a few per cent) are sorted."""
    size = np.bincount(codes, minlength=n_clusters)
    if len(size) != n_clusters or (size == 0).any():
        raise ValueError("cluster codes must run over 0 … n_clusters-1")
    key = np.empty(n_clusters, np.int64)
    single = size[codes] == 1
    key[codes[single]] = np.flatnonzero(single)
    multi = np.flatnonzero(~single)
    if "person_ref" in persons and multi.size:
        multi = multi[code_order(persons["person_ref"].iloc[multi])]
    first = ~pd.Series(codes[multi]).duplicated().to_numpy()
    key[codes[multi[first]]] = multi[first]
    return key


def _cluster_codes(labels: pd.Series | np.ndarray) -> tuple[np.ndarray, int]:
    codes, uniq = pd.factorize(np.asarray(labels))
    if (codes < 0).any():
        raise ValueError("every person record needs a cluster label (found missing labels)")
    return codes.astype(np.int64), len(uniq)


def person_ids(persons: pd.DataFrame, labels: pd.Series | np.ndarray) -> pd.Series:
    """The stable ``person_id`` of each person record: :func:`content_ids` of the smallest person
    code of its cluster (see the module docstring). Depends only on which records each cluster
    holds, not on row order or on the labels' values.

    Args:
        persons: the person records (``person_ref`` column; a record without one counts as
            the code ``""``).
        labels: cluster labels aligned to ``persons`` (e.g. ``cluster_persons``' row positions).

    Returns:
        int64 Series named ``person_id`` aligned to ``persons.index``. Does not mutate the input.

    Examples:
        >>> persons = pd.DataFrame({"person_ref": ["10000001", "10000000", "10000002"]})
        >>> person_ids(persons, pd.Series([0, 0, 2])).tolist()
        [5311875331182581992, 5311875331182581992, 787489493524085454]
        >>> person_ids(persons.iloc[::-1], pd.Series([0, 1, 1])).tolist()  # reversed, same ids
        [787489493524085454, 5311875331182581992, 5311875331182581992]
    """
    codes, n = _cluster_codes(labels)
    key_row = _key_rows(persons, codes, n)
    keys = persons["person_ref"].astype("string").fillna("").to_numpy(object)[key_row]
    return pd.Series(content_ids(keys)[codes], index=persons.index, name="person_id")


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


def survivor_rows(persons: pd.DataFrame, labels: pd.Series | np.ndarray) -> np.ndarray:
    """Per record, the row position of its cluster's survivor record: the key record, the one
    with the smallest ``person_ref`` in :func:`code_order` (the first row of the cluster when
    ``persons`` has no ``person_ref``). Independent of row order.

    >>> survivor_rows(pd.DataFrame({"person_ref": ["b", "c", "a"]}), pd.Series([4, 5, 4])).tolist()
    [2, 1, 2]
    """
    codes, n = _cluster_codes(labels)
    return _key_rows(persons, codes, n)[codes]


def person_merges(persons: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """Every person record merged into another: ``person_ref, person_id, survivor_ref``, in code
    order of ``person_ref``.

    The survivor record of a cluster is its key record (:func:`survivor_rows`): the smallest
    person code, the one its ``person_id`` is derived from.

    >>> person_merges(pd.DataFrame({"person_ref": ["b", "a", "c"]}), pd.Series([5, 5, 7])).values.tolist()
    [['b', 5, 'a']]
    """
    surv = survivor_rows(persons, labels)
    rows = np.flatnonzero(surv != np.arange(len(surv)))
    rows = rows[code_order(persons["person_ref"].iloc[rows])]
    lab = np.asarray(labels)
    refs = persons["person_ref"].to_numpy()
    return pd.DataFrame({"person_ref": refs[rows], "person_id": lab[rows], "survivor_ref": refs[surv[rows]]})
