"""Last month's linkage decisions replayed for the person records that did not change.

The linkage model is re-estimated every month (EM's m and the duplicate rate, the term-frequency
u, the threshold): on the same records a borderline pair can cross the threshold either way from
one month to the next, and a person would be merged or split although nothing about them changed.
Stage 1 therefore keeps last month's outcome where last month's evidence is still the evidence.

**Unchanged records.** A person record (person code) is *unchanged* when last month's run held it
with the same linkage-relevant content: :func:`record_digests` gives each code an order-free 64-bit
digest of the distinct person fields (:data:`~vaxreport.linkage.prepare.FIELDS`, as cleansed) of
its rows. Last month's are recomputed from last month's cleansed doses (kept and merged rows), so
a run needs nothing its previous run did not already write; this month's are taken on the person
table, the one row per code that the linkage reads. So a record is unchanged when last month it
had one content and the linkage now reads that content; a record that had several contents last
month (rows typed differently: which one the linkage read is not known) counts as changed, and so
does a code with no digest last month (new, or all its rows quarantined).

**The carried decisions** (:class:`Prior`, :func:`carried_links`), applied by
:func:`~vaxreport.linkage.cluster.link_persons` between the model's decision and the guard:

1. *cannot-link*: a link the model accepts between two unchanged records that were two persons
   last month is dropped. They are still joined through a new or changed record that links both
   (a real new duplicate, a corrected record), never directly.
2. *must-link*: a person of last month whose records are all unchanged (*intact*) is kept whole:
   its records are linked by a star through its first record, weight :data:`CARRIED_BITS`, before
   the guard (which then replays them first) and again after it. A person with a new or changed
   record is linked afresh (its unchanged records keep the cannot-links).

New and changed records are linked with this month's evidence only. Precedence: an analyst's
review decision (:mod:`.decisions`) beats a carried one — it is applied last, ``same`` joins
whatever the cannot-links, and ``different`` cuts the carried links too (their capacity is large
but finite, so a cut goes through fresh links where it can) — and a carried decision beats the
model.

**Real changes.** Between two months a change of ``person_id`` (``cleansed/id_changes.parquet``,
:mod:`.carry`) is *real* when the old person (last month's codes of ``old_id``) or the new one
(this month's codes of ``new_id``) holds a record new or changed this month or gone from the
export (:func:`changed_codes`), or a code a review decision names: :func:`change_causes`. With
the carried decisions every change is real (measured at scale 1 by ``bench/bench_months.py``).

Examples:
    >>> prev = pd.DataFrame({"person_ref": ["a", "b", "c"], "person_id": [1, 1, 2], "digest": [10, 11, 12]})
    >>> prior = Prior.of(pd.Series(["a", "b", "c", "d"]), np.array([10, 11, 99, 13], np.uint64), prev)
    >>> prior.cluster.tolist(), prior.intact.tolist()  # c changed, d is new
    ([1, 1, -1, -1], [True, True, False, False])
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from vaxreport.linkage.prepare import FIELDS

#: Weight (bits) of a carried must-link: above any model link, so that the guard replays it first
#: and a review decision's cut goes through fresh links where it can; finite, so that it can cut.
CARRIED_BITS = 1000.0
#: ``change_causes`` values: the old or new person holds a new or changed record / a decided code.
CAUSES = ("changed_record", "decision")
#: Rows digested at a time (:func:`record_digests`): the joined text of a chunk is ≈ 40 MB.
DIGEST_CHUNK_ROWS = 262_144
#: What a missing value reads as in a record's content (no cleansed text holds it).
_MISSING = "\x00"
#: Between a record's code and fields in its content.
_SEPARATOR = "\x1f"


def _arrow_text(values: pd.Series) -> pa.Array:
    """The values as Arrow text, the same whatever the column's dtype (text of any backing,
    categorical, datetime of any unit: ``yyyy-mm-dd``); missing: :data:`_MISSING`."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        arr = pa.array(values.to_numpy().astype("datetime64[D]"), pa.date32())
    elif isinstance(values.dtype, (pd.StringDtype, pd.CategoricalDtype)):
        arr = pa.array(values.array, from_pandas=True)  # Arrow-backed text: no copy; categories: dictionary
    else:
        arr = pa.array(values.to_numpy(object), from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return pc.fill_null(pc.cast(arr, pa.large_string()), _MISSING)


def _encode(arr: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Dense codes of Arrow values in order of first appearance, and the distinct values."""
    enc = pc.dictionary_encode(arr)
    return enc.indices.to_numpy(zero_copy_only=False).astype(np.int64), enc.dictionary


def _refs(rows: pd.DataFrame) -> pa.Array:
    """The rows' person codes as Arrow text (``""`` for a missing one)."""
    ref = _arrow_text(rows["person_ref"])
    return pc.if_else(pc.equal(ref, _MISSING), "", ref)


def _chunk_pairs(rows: pd.DataFrame, fields: tuple[str, ...]) -> pa.Table:
    """The distinct (person code, content) pairs of some rows: ``ref`` (the code), ``hash`` (of
    the pair's text) and, when the rows have ``person_id``, ``id`` (the smallest of the pair's rows)."""
    parts = [_refs(rows), *(_arrow_text(rows[c]) for c in fields if c in rows.columns)]
    pair, pairs = _encode(pc.binary_join_element_wise(*parts, pa.scalar(_SEPARATOR, pa.large_string())))
    out = {"ref": pc.list_element(pc.split_pattern(pairs, _SEPARATOR, max_splits=1), 0),
           "hash": pd.util.hash_array(pairs.to_numpy(zero_copy_only=False), categorize=False)}
    if "person_id" in rows.columns:
        ids = np.full(len(pairs), np.iinfo(np.int64).max, np.int64)
        np.minimum.at(ids, pair, rows["person_id"].to_numpy(np.int64))
        out["id"] = ids
    return pa.table(out)


def _per_record(chunks: Iterable[pd.DataFrame], fields: tuple[str, ...]) -> pd.DataFrame:
    """``person_ref, digest`` (and ``person_id`` when the rows have it) per code of the rows given
    in chunks, in order of first appearance; a pair met in several chunks counts once."""
    table = pa.concat_tables([_chunk_pairs(rows, fields) for rows in chunks])
    code, refs = _encode(table["ref"].combine_chunks())
    hashed = table["hash"].to_numpy()
    first = ~pd.DataFrame({"c": code, "h": hashed}).duplicated().to_numpy()
    digest = np.zeros(len(refs), np.uint64)
    np.add.at(digest, code[first], hashed[first])  # a sum (modulo 2**64): order-free
    out = pd.DataFrame({"person_ref": pd.array(refs.to_numpy(zero_copy_only=False), dtype="string")})
    if "id" in table.column_names:
        ids = np.full(len(refs), np.iinfo(np.int64).max, np.int64)
        np.minimum.at(ids, code, table["id"].to_numpy())
        out["person_id"] = ids
    return out.assign(digest=digest)


def _chunks(rows: pd.DataFrame) -> Iterator[pd.DataFrame]:
    for start in range(0, max(len(rows), 1), DIGEST_CHUNK_ROWS):
        yield rows.iloc[start:start + DIGEST_CHUNK_ROWS]


def record_digests(rows: pd.DataFrame, fields: tuple[str, ...] = FIELDS) -> pd.Series:
    """Per person code, a 64-bit digest of the distinct contents (``fields``) of its rows.

    Independent of row order and of how often a content repeats; a field the table lacks is left
    out (so compare digests of tables with the same columns). A row's content is its code and
    fields as text joined by a separator; the distinct ones (Arrow's dictionary encoding, by
    chunks of :data:`DIGEST_CHUNK_ROWS` rows) are hashed once each (SipHash as
    :func:`pandas.util.hash_array`), and a record's digest is the sum (modulo 2**64) of the
    hashes of its distinct contents.

    Args:
        rows: dose rows or person records, ``person_ref`` and any of ``fields``.
        fields: the linkage-relevant columns.

    Returns:
        uint64 Series indexed by ``person_ref`` (each code once, a missing code as ``""``).

    Examples:
        >>> rows = pd.DataFrame({"person_ref": ["a", "b", "a"], "full_name": ["An", "Bình", "An"]})
        >>> d = record_digests(rows)
        >>> d.index.tolist(), bool(d["a"] == record_digests(rows.iloc[[2, 1]])["a"])
        (['a', 'b'], True)
        >>> bool(d["a"] == record_digests(rows.assign(full_name=["An", "Bình", "Ân"]))["a"])
        False
    """
    out = _per_record(_chunks(rows.drop(columns="person_id", errors="ignore")), fields)
    return pd.Series(out["digest"].to_numpy(), index=pd.Index(out["person_ref"].to_numpy(object), name="person_ref"),
                     name="digest")


def record_table(chunks: Iterable[pd.DataFrame], fields: tuple[str, ...] = FIELDS) -> pd.DataFrame:
    """``person_ref, person_id, digest`` per person code of a run's dose rows (given in chunks:
    the whole line list need not be in memory): its id (the smallest if it had several) and its
    :func:`record_digests`.

    >>> rows = pd.DataFrame({"person_ref": ["b", "a", "b"], "person_id": [7, 5, 6], "full_name": ["X", "Y", "X"]})
    >>> record_table([rows.iloc[:2], rows.iloc[2:]])[["person_ref", "person_id"]].values.tolist()
    [['b', 6], ['a', 5]]
    >>> bool((record_table([rows])["digest"] == record_digests(rows).to_numpy()).all())
    True
    """
    return _per_record(chunks, fields)[["person_ref", "person_id", "digest"]]


@dataclass(frozen=True)
class Prior:
    """Last month's persons, for the records that did not change, aligned to a person table.

    Attributes:
        cluster: last month's ``person_id`` of each unchanged record; -1 for a new or changed one.
        intact: the record's person of last month has every record still here and unchanged.
    """

    cluster: np.ndarray
    intact: np.ndarray

    @classmethod
    def of(cls, refs: pd.Series, digests: np.ndarray, previous: pd.DataFrame) -> Prior:
        """The prior of a person table.

        Args:
            refs: this month's person code of each record.
            digests: their :func:`record_digests`, aligned to ``refs``.
            previous: last month's ``person_ref, person_id, digest`` (one row per code).
        """
        prev = previous.drop_duplicates("person_ref")
        prev = prev.set_index(prev["person_ref"].astype("string").to_numpy())
        where = prev.index.get_indexer(refs.astype("string").fillna("").to_numpy())
        found = where >= 0
        same = found & (prev["digest"].to_numpy(np.uint64)[np.maximum(where, 0)] == np.asarray(digests, np.uint64))
        ids = prev["person_id"].to_numpy(np.int64)
        cluster = np.where(same, ids[np.maximum(where, 0)], -1)
        kept = np.zeros(len(prev), bool)
        kept[where[same]] = True  # last month's codes here and unchanged
        broken = pd.unique(ids[~kept])
        intact = same & ~pd.Series(cluster).isin(broken).to_numpy()
        return cls(cluster=cluster.astype(np.int64), intact=intact)

    def take(self, positions: np.ndarray) -> Prior:
        """The prior of the records at ``positions`` (a reordering of the person table)."""
        return Prior(cluster=self.cluster[positions], intact=self.intact[positions])

    def unchanged(self) -> int:
        """How many records are unchanged."""
        return int(np.count_nonzero(self.cluster >= 0))


@dataclass(frozen=True)
class CarryOutcome:
    """What the carried decisions did in one linkage.

    Attributes:
        records: person records linked.
        unchanged: of them, unchanged since last month.
        dropped: model links dropped (two unchanged records of two persons of last month).
        kept_whole: persons of last month kept whole (intact, two records or more).
    """

    records: int = 0
    unchanged: int = 0
    dropped: int = 0
    kept_whole: int = 0

    def line(self) -> str:
        """One line for the run log.

        >>> CarryOutcome(10, 8, 1, 2).line()
        'last month carried: 8 of 10 records unchanged, 2 persons kept whole, 1 link between two dropped'
        """
        return (f"last month carried: {self.unchanged:,} of {self.records:,} records unchanged, "
                f"{self.kept_whole:,} persons kept whole, {self.dropped:,} link between two dropped")


def carried_links(prior: Prior, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                       CarryOutcome]:
    """The carried decisions over a linkage's accepted links (see the module docstring).

    Args:
        prior: aligned to the rows the links index.
        a: first rows of the accepted links.
        b: their second rows.

    Returns:
        ``(keep, star_a, star_b, outcome)``: a mask of the links that stand (the cannot-links
        dropped), the must-links of the intact persons (a star from each one's first row), and
        the counts.

    Examples:
        >>> prior = Prior(cluster=np.array([7, 7, 8, -1, 7]), intact=np.array([True, True, True, False, True]))
        >>> keep, sa, sb, out = carried_links(prior, np.array([0, 1, 2]), np.array([2, 3, 4]))
        >>> keep.tolist(), sa.tolist(), sb.tolist(), out.dropped, out.kept_whole
        ([False, True, False], [0, 0], [1, 4], 2, 1)
    """
    ca, cb = prior.cluster[a], prior.cluster[b]
    keep = ~((ca >= 0) & (cb >= 0) & (ca != cb))
    rows = np.flatnonzero(prior.intact)
    group = pd.factorize(prior.cluster[rows])[0]
    first = ~pd.Series(group).duplicated().to_numpy()
    head = np.full(group.max() + 1 if group.size else 0, -1, np.int64)
    head[group[first]] = rows[first]
    star_b = rows[~first]
    star_a = head[group[~first]]
    outcome = CarryOutcome(records=prior.cluster.size, unchanged=prior.unchanged(),
                           dropped=int(np.count_nonzero(~keep)), kept_whole=int(np.unique(star_a).size))
    return keep, star_a, star_b, outcome


def _persons_holding(table: pd.DataFrame, codes: pd.Index) -> list[int]:
    """The ``person_id`` of the persons of ``table`` (``person_ref, person_id``) holding any of ``codes``."""
    return pd.unique(table.loc[table["person_ref"].astype("string").isin(codes), "person_id"]).tolist()


def change_causes(changes: pd.DataFrame, previous: pd.DataFrame, current: pd.DataFrame, changed: pd.Index,
                  decided: pd.Index | None = None) -> pd.Series:
    """Why each row of ``id_changes`` happened: a real change or not (see the module docstring).

    Args:
        changes: ``id_changes`` (``old_id, new_id``; :mod:`.carry`).
        previous: last month's ``person_ref, person_id``.
        current: this month's ``person_ref, person_id``.
        changed: the codes of the new, changed and vanished records.
        decided: the codes the review decisions name.

    Returns:
        Per row, ``"changed_record"`` when the old or the new person holds a ``changed`` code,
        else ``"decision"`` when it holds a ``decided`` one, else ``""`` (a change nothing
        explains), aligned to ``changes``.

    Examples:
        >>> prev = pd.DataFrame({"person_ref": ["a", "b", "c"], "person_id": [1, 2, 3]})
        >>> now = pd.DataFrame({"person_ref": ["a", "b", "c"], "person_id": [1, 1, 1]})
        >>> changes = pd.DataFrame({"old_id": [2, 3], "new_id": [1, 1]})
        >>> change_causes(changes, prev, now, pd.Index([])).tolist()
        ['', '']
        >>> change_causes(changes.iloc[:1], prev, now.iloc[:2], pd.Index(["b"])).tolist()
        ['changed_record']
        >>> change_causes(changes.iloc[1:], prev.iloc[[0, 2]], now.iloc[[0, 2]], pd.Index([]), pd.Index(["c"])).tolist()
        ['decision']
    """
    out = pd.Series("", index=changes.index, name="cause", dtype=object)
    old, new = changes["old_id"].astype("Int64"), changes["new_id"].astype("Int64")
    for cause, codes in (("decision", decided), ("changed_record", changed)):  # the latter wins
        if codes is None or not len(codes):
            continue
        codes = pd.Index(codes, dtype="string")
        hit = (old.isin(_persons_holding(previous, codes)).fillna(False)
               | new.isin(_persons_holding(current, codes)).fillna(False)).to_numpy(bool)
        out[hit] = cause
    return out


def changed_codes(refs: pd.Series, prior: Prior, previous: pd.DataFrame) -> pd.Index:
    """The codes of this month's new or changed records and of last month's records not here.

    >>> prev = pd.DataFrame({"person_ref": ["a", "b", "z"], "person_id": [1, 1, 2], "digest": [10, 11, 12]})
    >>> refs = pd.Series(["a", "b", "c"])
    >>> changed_codes(refs, Prior.of(refs, np.array([10, 99, 13], np.uint64), prev), prev).tolist()
    ['b', 'c', 'z']
    """
    now = pd.Index(refs.astype("string"))
    gone = pd.Index(previous["person_ref"].astype("string")).difference(now)
    return now[prior.cluster < 0].append(gone).unique()
