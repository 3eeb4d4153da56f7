"""Identity verification of persons against what the police returned (xác thực, Đề án 06).

For each person (a dedup survivor record):

- **verified**: the ID is in the registry extract (result ``match`` or ``corrected``) and the
  folded name (fuzzy, ``fuzz.ratio >= name_score``), birth date and gender agree;
- **mismatch**: the ID is found but some fields disagree (``mismatch_fields``, e.g.
  ``"full_name;birth_date"``); the registry values are returned for the correction;
- **not_found**: a well-formed ID that the registry does not hold (or holds as ``not_found``);
- **no_id**: no valid ID.

For ``not_found`` and ``no_id`` persons the registry is searched by folded name + birth date;
candidates are scored (same commune 2, same gender 1) and the registry ID is suggested
(``suggested_id``) only when exactly one ID has the best score. A person who holds a valid ID
gets a suggestion only from a candidate in the same commune or whose ID is one typo or
transposition away from theirs: common names share birth dates across a province, and the
namesake in another commune is someone else (on the synthetic province 1,648 of 1,717 such
suggestions were wrong).

Everything is a vectorised join; names are folded and compared once per distinct pair.

Examples:
    >>> v = verify_persons(_example_persons(), _example_registry())
    >>> v[["person_id", "status", "mismatch_fields", "suggested_id"]].values.tolist()
    [['P1', 'verified', '', <NA>], ['P2', 'mismatch', 'birth_date', <NA>], ['P3', 'no_id', '', '019190000042']]
    >>> status_counts(v).to_dict()
    {'verified': 1, 'mismatch': 1, 'not_found': 0, 'no_id': 1, 'unchecked': 0}
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process
from rapidfuzz.distance import DamerauLevenshtein

from vaxreport import text
from vaxreport.cleansing.parse import parse_dates, parse_gender, parse_ids
from vaxreport.schemas import require_columns


class Status(enum.IntEnum):
    """Verification status codes, one small int per person in the vectorised steps; the code
    is the position of the status name in :data:`STATUSES`.

    ``UNCHECKED``: a valid ID the extract does not hold and no registry person matches by name
    and birth date — the police have not (yet) checked this person, which is not "not found".

    Examples:
        >>> STATUSES[Status.UNCHECKED]
        'unchecked'
    """

    VERIFIED = 0
    MISMATCH = 1
    NOT_FOUND = 2
    NO_ID = 3
    UNCHECKED = 4


#: the status names, by code (``verified, mismatch, not_found, no_id, unchecked``)
STATUSES: tuple[str, ...] = tuple(s.name.lower() for s in Status)
FOUND_RESULTS: frozenset[str] = frozenset({"match", "corrected"})
PERSON_COLUMNS: tuple[str, ...] = ("person_id", "full_name", "birth_date", "gender", "id_number")
REGISTRY_COLUMNS: tuple[str, ...] = ("id_number", "full_name", "birth_date", "gender", "result")
OUTPUT_COLUMNS: tuple[str, ...] = ("person_id", "status", "mismatch_fields", "suggested_id",
                                   "registry_result", "name_score", "registry_full_name",
                                   "registry_birth_date", "registry_gender")
_ID_PATTERN = r"^(?:\d{9}|\d{12})$"


def _dates(s: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s):
        days = s.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
        return pd.Series(days.astype("datetime64[ns]"), index=s.index, name=s.name)
    return parse_dates(s, kind="birth")["value"].astype("datetime64[ns]")


def _gender(s: pd.Series) -> pd.Series:
    """:func:`~vaxreport.cleansing.parse.parse_gender`'s value as a string column. A column
    already in its ``M``/``F`` form (cleansed persons) is taken as it is: the same result,
    without parsing a million values again (0.11 s instead of 0.36 s for 1.2 M persons)."""
    codes = s.astype("string")
    if codes.dropna().isin(["M", "F"]).all():
        return codes
    return parse_gender(s)["value"].astype("string")


def _ids(s: pd.Series) -> pd.Series:
    """Digit strings; an 11-digit number that lost its leading zero gets it back."""
    text = s.astype("string").str.strip()
    clean = text.str.fullmatch(r"\d{9}|\d{12}").fillna(False).to_numpy(bool)
    if clean.all():
        return text
    parsed = parse_ids(text[~clean])
    value = parsed["value"].astype("string")
    value = value.mask(parsed["restorable"], "0" + value)
    return text.where(clean, value.reindex(text.index))


def normalise_registry(registry: pd.DataFrame) -> pd.DataFrame:
    """Typed registry extract, one row per ID (found rows first, then the latest check).

    Returns ``id_number, full_name, name_key, birth_date, gender, commune_code, checked_at,
    result``. Does not mutate the input.

    Examples:
        >>> normalise_registry(_example_registry())[["id_number", "name_key"]].values.tolist()[0]
        ['019080000001', 'nguyen van an']
    """
    require_columns(registry, REGISTRY_COLUMNS, "registry")
    n = len(registry)
    na = pd.Series(pd.NA, index=registry.index, dtype="string")
    reg = pd.DataFrame({
        "id_number": _ids(registry["id_number"]),
        "full_name": registry["full_name"].astype("string").str.strip(),
        "name_key": text.fold_series(registry["full_name"].astype("string")),
        "birth_date": _dates(registry["birth_date"]),
        "gender": _gender(registry["gender"]),
        "commune_code": registry["commune_code"].astype("string").str.strip()
        if "commune_code" in registry else na,
        "checked_at": _dates(registry["checked_at"]) if "checked_at" in registry
        else pd.Series(pd.NaT, index=registry.index, dtype="datetime64[ns]"),
        "result": registry["result"].astype("string").str.strip().str.lower(),
    })
    found = reg["result"].isin(list(FOUND_RESULTS)).to_numpy()
    checked = reg["checked_at"].to_numpy(dtype="datetime64[ns]")
    newest_first = np.where(np.isnat(checked), np.iinfo(np.int64).max,
                            -checked.view(np.int64))  # undated checks count as oldest
    order = np.lexsort((np.arange(n), newest_first, ~found))
    reg = reg.iloc[order]
    reg = reg[reg["id_number"].notna()].drop_duplicates("id_number", keep="first")
    return reg.reset_index(drop=True)


def _name_scores(a: pd.Series, b: pd.Series) -> np.ndarray:
    """``fuzz.ratio`` of aligned folded names (100 if equal, 0 if one is missing), computed
    once per distinct differing pair."""
    codes, uniq = pd.factorize(pd.concat([a, b], ignore_index=True).astype("string"))
    return _code_scores(codes[:len(a)].astype(np.int64), codes[len(a):].astype(np.int64), uniq)


def _code_scores(ca: np.ndarray, cb: np.ndarray, uniq: np.ndarray | pd.Index) -> np.ndarray:
    """:func:`_name_scores` of names given as codes into ``uniq`` (-1 = missing)."""
    both = (ca >= 0) & (cb >= 0)
    out = np.where(both & (ca == cb), 100.0, 0.0)
    todo = both & (ca != cb)
    if todo.any():
        pair = ca[todo] * (len(uniq) + 1) + cb[todo]
        upair, inv = np.unique(pair, return_inverse=True)
        names = np.asarray(uniq, dtype=object)
        scores = process.cpdist(names[upair // (len(uniq) + 1)].tolist(),
                                names[upair % (len(uniq) + 1)].tolist(),
                                scorer=fuzz.ratio, workers=-1)
        out[todo] = np.asarray(scores, float)[inv.ravel()]
    return out


def compare_fields(left: pd.DataFrame, right: pd.DataFrame, *,
                   name_score: float = 90) -> pd.DataFrame:
    """Which of name, birth date and gender disagree between two aligned frames.

    Both frames need ``name_key, birth_date, gender`` (same index). A missing value on one side
    only is a disagreement. Returns bool columns ``full_name, birth_date, gender`` (True =
    disagree) and ``name_score``.

    Examples:
        >>> l = pd.DataFrame({"name_key": ["le thi hoa"], "gender": ["F"],
        ...                   "birth_date": pd.to_datetime(["1990-02-01"])})
        >>> r = l.assign(name_key=["le thi hoaa"], birth_date=pd.to_datetime(["1990-01-02"]))
        >>> compare_fields(l, r).values.tolist()
        [[False, True, False, 95.24]]
    """
    score = _name_scores(left["name_key"], right["name_key"])

    def differ(x: pd.Series, y: pd.Series) -> np.ndarray:
        same = x.eq(y).fillna(False).to_numpy(bool)
        both_na = (x.isna() & y.isna()).to_numpy()
        return ~(same | both_na)

    return pd.DataFrame({
        "full_name": score < name_score,
        "birth_date": differ(left["birth_date"].astype("datetime64[ns]"),
                             right["birth_date"].astype("datetime64[ns]")),
        "gender": differ(left["gender"].astype("string"), right["gender"].astype("string")),
        "name_score": np.round(score, 2),
    }, index=left.index)


def _suggest(need: pd.DataFrame, cand: pd.DataFrame) -> pd.Series:
    """Registry ID per ``need`` row when one candidate (same name code + birth day) is best.

    Both frames carry integer ``key`` (name code and birth day), ``commune_code`` and
    ``gender``; ``cand`` also ``id_number``. Returns a string Series indexed like ``need``.
    """
    left = need.loc[need["key"] >= 0, ["key", "commune_code", "gender"]].assign(
        row=lambda d: np.arange(len(d)), at=lambda d: d.index)
    right = cand.loc[cand["key"] >= 0, ["key", "id_number", "commune_code", "gender"]]
    j = left.merge(right, on="key", suffixes=("", "_reg"))
    out = pd.Series(pd.NA, index=need.index, dtype="string")
    if j.empty:
        return out
    score = (2 * j["commune_code"].eq(j["commune_code_reg"]).fillna(False).to_numpy(int)
             + j["gender"].eq(j["gender_reg"]).fillna(False).to_numpy(int))
    j = j.assign(score=score)
    top = j[j["score"].to_numpy() == j.groupby("row")["score"].transform("max").to_numpy()]
    n_ids = top.groupby("row")["id_number"].nunique()
    best = top.drop_duplicates("row").set_index("row")
    best = best[n_ids.reindex(best.index).to_numpy() == 1]
    out.loc[best["at"].to_numpy()] = best["id_number"].astype("string").to_numpy()
    return out


def _plausible(suggested: pd.api.extensions.ExtensionArray, ids: pd.Series,
               communes: pd.Series, reg: pd.DataFrame, has_id: np.ndarray) -> np.ndarray:
    """Whether each suggestion may stand: always for a person without a valid ID; for one with
    a valid ID only if the registry person lives in the same commune or the two IDs are at most
    one edit (typo or transposition) apart."""
    ok = ~has_id
    todo = np.flatnonzero(has_id & ~pd.isna(np.asarray(suggested, dtype=object)))
    if not len(todo):
        return ok
    sug = pd.Series(suggested[todo]).astype(str).tolist()
    at = pd.Index(reg["id_number"].astype("string")).get_indexer(sug)
    reg_commune = reg["commune_code"].astype("string").to_numpy(object, na_value=None)[at]
    own = communes.astype("string").to_numpy(object, na_value=None)[todo]
    same = np.array([a is not None and a == b for a, b in zip(own, reg_commune)], bool)
    near = np.asarray(process.cpdist(ids.astype("string").fillna("").to_numpy(object)[todo].tolist(),
                                     sug, scorer=DamerauLevenshtein.distance), float) <= 1
    ok[todo] = same | near
    return ok


def _name_birth_keys(names: pd.Series, births: pd.Series) -> np.ndarray:
    """One int64 per row for (folded name, birth day); -1 where either is missing."""
    code, _ = pd.factorize(names)
    return _code_birth_keys(code, births)


def _code_birth_keys(code: np.ndarray, births: pd.Series) -> np.ndarray:
    """:func:`_name_birth_keys` of names given as codes (-1 = missing)."""
    day = births.to_numpy(dtype="datetime64[D]")
    ok = (code >= 0) & ~np.isnat(day)
    d = np.where(ok, day.astype(np.int64), 0)
    d = d - d[ok].min() if ok.any() else d
    return np.where(ok, code.astype(np.int64) * (int(d.max(initial=0)) + 1) + d, -1)


def verify_persons(persons: pd.DataFrame, registry: pd.DataFrame, *,
                   name_score: float = 90) -> pd.DataFrame:
    """Verification status of each person against the registry extract.

    Does not mutate its inputs. An ``id_valid`` column in ``persons`` (from cleansing) decides
    which IDs count as valid; without it a 9- or 12-digit number is valid.

    Args:
        persons: one row per person (not checked): ``person_id, full_name, birth_date, gender,
            id_number``
            (+ ``commune_code``, ``id_valid`` optional).
        registry: the police extract (``id_number, full_name, birth_date, gender, result`` +
            ``commune_code, checked_at``), raw strings accepted.
        name_score: minimum ``rapidfuzz.fuzz.ratio`` (0–100) of the folded names.

    Returns:
        One row per person, in input order: ``person_id, status, mismatch_fields`` ("" or
        ``;``-joined field names), ``suggested_id`` (registry ID or NA), ``registry_result``
        (result of the registry row for the person's ID, NA if none), ``name_score`` and the
        registry's ``registry_full_name, registry_birth_date, registry_gender`` (where found).

    Raises:
        SchemaViolation: a required column is missing.

    Examples:
        >>> verify_persons(_example_persons(), _example_registry()).status.tolist()
        ['verified', 'mismatch', 'no_id']
    """
    require_columns(persons, PERSON_COLUMNS, "persons")
    reg = normalise_registry(registry)
    p = _person_keys(persons)
    by_id = _match_by_id(reg, p.ids)
    # folded names of both sides as one set of codes (for the scores and the search keys)
    names = _NameCodes.of(p.keys["name_key"], reg["name_key"])
    score, bad = _compare_found(p.keys, reg, by_id, names, name_score)
    status = np.where(by_id.found, np.where(bad.any(axis=1), Status.MISMATCH, Status.VERIFIED),
                      np.where(p.valid, Status.NOT_FOUND, Status.NO_ID))
    suggested = _search_by_name_and_birth(p, reg, by_id.found, names)
    never_checked = p.valid & (by_id.hit < 0) & suggested.isna().to_numpy()
    status = np.where(never_checked, Status.UNCHECKED, status)
    return pd.DataFrame({
        "person_id": persons["person_id"].to_numpy(),
        "status": pd.array(list(STATUSES), dtype="string").take(status),
        "mismatch_fields": _mismatch_fields(bad),
        "suggested_id": suggested.array,
        "registry_result": by_id.result.array,
        "name_score": np.round(score, 2),
        **_registry_values(reg, by_id),
    }, columns=list(OUTPUT_COLUMNS))


@dataclass(frozen=True)
class _Persons:
    """The persons' match keys: trimmed ``ids``, ``valid`` ID mask, ``commune`` and ``keys``
    (``name_key, birth_date, gender, commune_code``, positional index)."""

    ids: pd.Series
    valid: np.ndarray
    commune: pd.Series
    keys: pd.DataFrame


def _person_keys(persons: pd.DataFrame) -> _Persons:
    """Step 1: IDs (valid by ``id_valid`` or by shape), folded names, birth days, genders."""
    ids = persons["id_number"].astype("string").str.strip()
    # the registry holds citizens' CCCD/CMND: a passport (valid, kept by the cleansing) is not
    # looked up there
    citizen = ids.str.fullmatch(r"\d{9}|\d{12}").fillna(False).to_numpy(bool)
    if "id_valid" in persons:
        valid = persons["id_valid"].astype("boolean").fillna(False).to_numpy(bool) & citizen
    else:
        valid = citizen
    commune = (persons["commune_code"].astype("string") if "commune_code" in persons
               else pd.Series(pd.NA, index=persons.index, dtype="string"))
    keys = pd.DataFrame({
        "name_key": text.fold_series(persons["full_name"].astype("string")).array,
        "birth_date": _dates(persons["birth_date"]).to_numpy(),
        "gender": _gender(persons["gender"]).array,
        "commune_code": commune.array,
    })
    return _Persons(ids=ids, valid=valid, commune=commune, keys=keys)


@dataclass(frozen=True)
class _IdMatch:
    """Step 2, the ID join: ``hit`` registry row of each person's ID (-1: none), ``result`` of
    that row (NA: none), ``found`` where the result is one of :data:`FOUND_RESULTS`."""

    hit: np.ndarray
    result: pd.Series
    found: np.ndarray

    @property
    def at(self) -> np.ndarray:
        """Registry row of each found person."""
        return self.hit[self.found]


def _match_by_id(reg: pd.DataFrame, ids: pd.Series) -> _IdMatch:
    """Registry row per person ID: the registry holds one row per ID, so a positional lookup is
    exact."""
    codes, _ = pd.factorize(pd.concat([reg["id_number"].astype("string"), ids],
                                      ignore_index=True))
    pos_of_code = np.full(codes.max(initial=-1) + 2, -1, np.int64)
    pos_of_code[codes[:len(reg)]] = np.arange(len(reg))  # IDs are unique in reg
    pos_of_code[-1] = -1  # NA code -1
    hit = pos_of_code[codes[len(reg):]]
    reg_result = reg["result"].to_numpy(object)
    result = pd.Series(pd.array(np.where(hit >= 0, reg_result[np.maximum(hit, 0)] if len(reg)
                                         else None, None), dtype="string"))
    return _IdMatch(hit=hit, result=result, found=result.isin(list(FOUND_RESULTS)).to_numpy(bool))


@dataclass(frozen=True)
class _NameCodes:
    """Folded names of the persons (``person``) and of the registry (``registry``) as codes into
    one set of distinct names (``names``; -1: missing)."""

    person: np.ndarray
    registry: np.ndarray
    names: pd.Index

    @classmethod
    def of(cls, person_keys: pd.Series, registry_keys: pd.Series) -> _NameCodes:
        codes, names = pd.factorize(pd.concat([person_keys, registry_keys],
                                              ignore_index=True).astype("string"))
        codes = codes.astype(np.int64)
        n = len(person_keys)
        return cls(person=codes[:n], registry=codes[n:], names=names)


def _compare_found(p: pd.DataFrame, reg: pd.DataFrame, by_id: _IdMatch, names: _NameCodes,
                   name_score: float) -> tuple[np.ndarray, np.ndarray]:
    """Step 3, for the persons whose ID was found: the name score (NaN elsewhere) and which of
    name, birth date and gender disagree (``(n, 3)`` bool, all False elsewhere)."""
    n, found, at = len(p), by_id.found, by_id.at
    score = np.full(n, np.nan)
    score[found] = _code_scores(names.person[found], names.registry[at], names.names)
    p_birth = p["birth_date"].to_numpy(dtype="datetime64[ns]")
    r_birth = reg["birth_date"].to_numpy(dtype="datetime64[ns]")
    p_gender = p["gender"].to_numpy(object, na_value=None)
    r_gender = reg["gender"].astype("string").to_numpy(object, na_value=None)
    bad = np.zeros((n, 3), bool)
    bad[found, 0] = score[found] < name_score
    pb, rb = p_birth[found], r_birth[at]
    bad[found, 1] = ~((pb == rb) | (np.isnat(pb) & np.isnat(rb)))
    pg, rg = p_gender[found], r_gender[at]
    pg_na = pd.isna(pg)
    rg_na = pd.isna(rg)
    bad[found, 2] = ~(((pg == rg) & ~pg_na & ~rg_na) | (pg_na & rg_na))
    return score, bad


def _mismatch_fields(bad: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """``;``-joined names of the disagreeing fields: the eight combinations, picked by a 3-bit
    code per person."""
    fields = ["full_name", "birth_date", "gender"]
    combos = [";".join(f for i, f in enumerate(fields) if c >> i & 1) for c in range(8)]
    return pd.array(combos, dtype="string").take(bad @ np.array([1, 2, 4]))


def _search_by_name_and_birth(p: _Persons, reg: pd.DataFrame, found: np.ndarray,
                              names: _NameCodes) -> pd.Series:
    """Step 4: a suggested registry ID for persons whose ID did not lead to a found row, by
    folded name + birth date among the found registry rows (:func:`_suggest`, then
    :func:`_plausible`); NA where none."""
    n = len(p.keys)
    keys = _code_birth_keys(np.concatenate([names.person, names.registry]),
                            pd.concat([p.keys["birth_date"], reg["birth_date"]], ignore_index=True))
    reg_found = reg["result"].isin(list(FOUND_RESULTS)).to_numpy(bool)
    cand_keys = keys[n:][reg_found]
    # only persons whose name and birth day some found registry row shares can get a suggestion
    named = np.zeros(len(names.names) + 1, bool)  # a found registry row has this folded name
    named[names.registry[reg_found]] = True  # (code -1 lands on the spare last slot)
    p_name = names.person
    searched = ~found & named[p_name] & (p_name >= 0)
    searched[searched] = np.isin(keys[:n][searched], cand_keys[cand_keys >= 0])
    pick = np.full(n, -1, np.int64)  # position among the searched persons' suggestions
    found_ids = pd.array([], dtype="string")
    if searched.any():
        need = p.keys.assign(key=keys[:n]).loc[searched]
        cand = reg.assign(key=keys[n:]).loc[reg_found]
        found_ids = pd.array(_suggest(need, cand), dtype="string")
        found_ids[~_plausible(found_ids, p.ids[searched], p.commune[searched], reg,
                              p.valid[searched])] = pd.NA
        pick[searched] = np.arange(int(searched.sum()))
    return pd.Series(found_ids.take(pick, allow_fill=True))


def _registry_values(reg: pd.DataFrame,
                     by_id: _IdMatch) -> dict[str, pd.api.extensions.ExtensionArray | np.ndarray]:
    """Step 5: the registry's name, birth date and gender of each found person (NA elsewhere)."""
    n = len(by_id.hit)
    reg_pos = np.where(by_id.found, by_id.hit, -1)

    def where_found(col: str) -> pd.api.extensions.ExtensionArray:
        return reg[col].astype("string").array.take(reg_pos, allow_fill=True)

    birth = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    birth[by_id.found] = reg["birth_date"].to_numpy(dtype="datetime64[ns]")[by_id.at]
    return {"registry_full_name": where_found("full_name"), "registry_birth_date": birth,
            "registry_gender": where_found("gender")}


def status_counts(verification: pd.DataFrame) -> pd.Series:
    """Persons per status (every status, zeros included), for the police indicator.

    Examples:
        >>> status_counts(pd.DataFrame({"status": ["verified", "no_id", "verified"]})).tolist()
        [2, 0, 0, 1, 0]
    """
    counts = verification["status"].value_counts().reindex(list(STATUSES), fill_value=0)
    return counts.astype("int64").rename("persons")


def _example_persons() -> pd.DataFrame:
    return pd.DataFrame({
        "person_id": ["P1", "P2", "P3"],
        "full_name": ["Nguyễn Văn An", "Lê Thị Hoa", "Trần Bình"],
        "birth_date": pd.to_datetime(["1980-01-01", "1990-02-01", "1991-05-05"]),
        "gender": ["M", "F", "M"],
        "id_number": ["019080000001", "019190000002", None],
        "commune_code": ["05443", "05443", "05443"],
    })


def _example_registry() -> pd.DataFrame:
    return pd.DataFrame({
        "id_number": ["019080000001", "19190000002", "019190000042"],
        "full_name": ["NGUYỄN VĂN AN", "Lê Thị Hoa", "Trần Bình"],
        "birth_date": ["01/01/1980", "02/01/1990", "05/05/1991"],
        "gender": ["Nam", "Nữ", "Nam"],
        "commune_code": ["05443", "05443", "05443"],
        "checked_at": ["15/05/2022"] * 3,
        "result": ["match", "corrected", "match"],
    })
