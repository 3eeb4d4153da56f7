"""Correction worklists: the records each vaccination site must fix on the platform.

:func:`build_worklists` turns findings (dose reconciliation), identity verification, person
merges (dedup) and signing status into one table per kind of problem — one row per platform
record, with masked ID and phone, birth year only, what is wrong and the suggested correction,
in Vietnamese, sorted by priority (``vaxreport/data/findings.csv``): one builder per kind of
:data:`KINDS`, assembled by :func:`build_worklists`. :mod:`vaxreport.reporting.workbooks` writes
them as one XLSX per site plus a province summary. :func:`mask_id` and :func:`mask_phone` are the
masks of every personal ID and phone shown outside the cleansed tables (worklists, exploration).

Examples:
    >>> mask_id(pd.Series(["019084000923", None])).tolist()
    ['0190******23', <NA>]
    >>> mask_phone(pd.Series(["0912345667"])).tolist()
    ['09******67']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date

import numpy as np
import pandas as pd

from vaxreport.exceptions import SchemaViolation
from vaxreport.frames import positions
from vaxreport.linkage.dose_checks import finding_codes

#: kind -> sheet title (at most 31 characters, no ``[]:*?/\``), in display order.
KINDS: dict[str, str] = {
    "bad_id": "Sai-thiếu CCCD",
    "id_mismatch": "Lệch CSDLQG",
    "duplicate_person": "Trùng đối tượng",
    "dose_sequence": "Thiếu-sai thứ tự mũi",
    "short_interval": "Khoảng cách ngắn",
    "vaccine_rule": "Sai vắc xin-độ tuổi",
    "duplicate_dose": "Mũi nhập trùng",
    "unsigned": "Chưa ký số",
}

#: worklist columns -> (Vietnamese header, column width).
COLUMNS: dict[str, tuple[str, int]] = {
    "priority": ("Ưu tiên", 8),
    "site_code": ("Mã cơ sở", 11),
    "site_name": ("Cơ sở tiêm", 28),
    "record_id": ("Mã bản ghi", 16),
    "person_ref": ("Mã đối tượng", 16),
    "full_name": ("Họ và tên", 26),
    "birth_year": ("Năm sinh", 9),
    "id_masked": ("Số CCCD/CMND", 15),
    "phone_masked": ("Số điện thoại", 13),
    "vaccine": ("Vắc xin", 13),
    "dose_number": ("Mũi số", 7),
    "dose_date": ("Ngày tiêm", 11),
    "code": ("Mã lỗi", 20),
    "problem": ("Nội dung sai", 60),
    "suggestion": ("Đề nghị điều chỉnh", 60),
}

#: columns every worklist row carries besides :data:`COLUMNS` (kept in ``worklists.parquet``, not
#: shown in the site workbooks): ``person_id``, the stable id of the person (a line can be followed
#: from month to month, :mod:`vaxreport.reporting.followup`).
KEY_COLUMNS: tuple[str, ...] = ("person_id",)
_ALL_COLUMNS = [*COLUMNS, *KEY_COLUMNS]

_FIELD_VI = {"full_name": "họ tên", "birth_date": "ngày sinh", "gender": "giới tính"}
_GENDER_VI = {"M": "Nam", "F": "Nữ"}
_DOSE_COLUMNS = ("record_id", "person_ref", "person_id", "full_name", "birth_date",
                 "id_number", "site_code", "dose_date", "sign_status")
_USED_COLUMNS = frozenset(_DOSE_COLUMNS) | {"site_name", "phone", "vaccine", "dose_number", "id_valid",
                                            "id_flags"}


def _mask(s: pd.Series, keep_head: int, keep_tail: int) -> pd.Series:
    """Keep the first/last characters, star the rest; computed once per distinct value."""
    codes, uniq = pd.factorize(s.astype("string").str.strip())
    u = pd.Series(np.asarray(uniq, dtype=object), dtype="string")
    n = u.str.len().fillna(0).to_numpy(np.int64)
    stars = np.array(["*" * k for k in range(int(n.max(initial=0)) + 1)], dtype=object)
    hidden = np.clip(n - keep_head - keep_tail, 0, None)
    masked = (u.str[:keep_head] + stars[hidden] + u.str[-keep_tail:]).to_numpy(object)
    masked = np.where(n <= keep_head + keep_tail, stars[n], masked)
    masked = np.where(n == 0, None, masked)
    values = np.append(masked, np.array([None], dtype=object))[codes]  # code -1 (NA) -> None
    return pd.Series(pd.array(values, dtype="string"), index=s.index, name=s.name)


def mask_id(s: pd.Series) -> pd.Series:
    """Mask an ID: first 4 and last 2 characters kept ("0190******23"); short values all stars.

    Does not mutate the input; NA stays NA.

    Examples:
        >>> mask_id(pd.Series(["019084000923", "123456789", "12345", None])).tolist()
        ['0190******23', '1234***89', '*****', <NA>]
    """
    return _mask(s, 4, 2)


def mask_id_except_diff(s: pd.Series, suggested: pd.Series) -> pd.Series:
    """Mask an ID except the characters that differ from ``suggested`` (the registry's ID), so a
    site sees which digits to change; where there is no suggestion of the same length, as
    :func:`mask_id`. Vectorised over fixed-width code points; does not mutate the inputs.

    Examples:
        >>> mask_id_except_diff(pd.Series(["019084000923", "019084000923", "12345", None]),
        ...                     pd.Series(["019084000932", None, "019084000932", "019084000932"])).tolist()
        ['**********23', '0190******23', '*****', <NA>]
    """
    own, sug = s.astype("string").str.strip(), suggested.astype("string").str.strip()
    out = mask_id(s)
    same_len = (own.notna() & sug.notna() & own.str.len().eq(sug.str.len())).fillna(False).to_numpy(bool)
    if not same_len.any():
        return out
    width = int(own[same_len].str.len().max())
    a = np.array(own[same_len].tolist(), dtype=f"U{width}")
    b = np.array(sug[same_len].tolist(), dtype=f"U{width}")
    ca, cb = a.view(np.uint32).reshape(-1, width), b.view(np.uint32).reshape(-1, width)
    shown = np.where((ca == cb) & (ca != 0), np.uint32(ord("*")), ca)  # 0: padding, stays padding
    values = np.ascontiguousarray(shown).view(f"U{width}").ravel()
    out[same_len] = pd.array(values.astype(object), dtype="string")
    return out


def mask_phone(s: pd.Series) -> pd.Series:
    """Mask a phone number: first 2 and last 2 digits kept ("09******67").

    Does not mutate the input; NA stays NA.

    Examples:
        >>> mask_phone(pd.Series(["0912345667", "0208", None])).tolist()
        ['09******67', '****', <NA>]
    """
    return _mask(s, 2, 2)


def _ids(s: pd.Series) -> pd.Series:
    """``person_id`` as ``Int64``; refuses floats (a 63-bit id held as a float has lost digits)."""
    if pd.api.types.is_float_dtype(s.dtype) and s.notna().any():
        raise TypeError("person_id held as floats: 63-bit ids would lose their last digits")
    return pd.Series(pd.array(s.astype("Int64") if len(s) else [], dtype="Int64"), index=s.index)


def _fmt_date(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, errors="coerce").dt.strftime("%d/%m/%Y").astype("string")


def _record_info(rows: pd.DataFrame) -> pd.DataFrame:
    """The human-facing columns of dose rows (masked, birth year only)."""
    def col(name: str) -> pd.Series:
        if name in rows:
            return rows[name]
        return pd.Series(pd.NA, index=rows.index, dtype="string")

    birth = pd.to_datetime(col("birth_date"), errors="coerce")
    return pd.DataFrame({
        "site_code": col("site_code").astype("string"),
        "site_name": col("site_name").astype("string"),
        "record_id": col("record_id").astype("string"),
        "person_ref": col("person_ref").astype("string"),
        "full_name": col("full_name").astype("string"),
        "birth_year": pd.array(birth.dt.year, dtype="Int64"),
        "id_masked": mask_id(col("id_number")),
        "phone_masked": mask_phone(col("phone")),
        "vaccine": col("vaccine").astype("string"),
        "dose_number": pd.array(col("dose_number"), dtype="Int64"),
        "dose_date": _fmt_date(col("dose_date")),
        "person_id": _ids(col("person_id")),
    }, index=rows.index)


def _table(info: pd.DataFrame, code: pd.Series | str, problem: pd.Series,
           suggestion: pd.Series, codes: pd.DataFrame, *,
           person_level: bool = False) -> pd.DataFrame:
    if person_level:  # the fix is on the person record, not on one dose
        info = info.assign(record_id=pd.NA, vaccine=pd.NA, dose_number=pd.NA, dose_date=pd.NA)
    code_s = (pd.Series(code, index=info.index, dtype="string") if isinstance(code, str)
              else code.astype("string"))
    out = info.assign(code=code_s.to_numpy(), problem=problem.astype("string").to_numpy(),
                      suggestion=suggestion.astype("string").to_numpy())
    out.insert(0, "priority", code_s.map(codes["priority"]).astype("Int64").to_numpy())
    return out.loc[:, _ALL_COLUMNS]


_INTEGER_COLUMNS = ("priority", "birth_year", "dose_number", "person_id")


def _typed(t: pd.DataFrame) -> pd.DataFrame:
    """The worklist column types: integers as ``Int64`` (numeric cells), the rest strings."""
    return t.reindex(columns=_ALL_COLUMNS).astype(
        {c: "Int64" if c in _INTEGER_COLUMNS else "string" for c in _ALL_COLUMNS})


def _finalise(t: pd.DataFrame) -> pd.DataFrame:
    """One row per record (problems of one record joined), sorted by priority then site."""
    if t.empty:
        return _typed(t.reset_index(drop=True))
    key = t["record_id"].fillna("") + "\x1f" + t["person_ref"].fillna("")
    dup = key.duplicated(keep=False).to_numpy()
    if dup.any():  # rare: several problems of one kind on one record
        d = t[dup].assign(_key=key[dup]).sort_values(["_key", "priority", "code"])
        agg = d.groupby("_key", sort=False).agg(
            {**{c: "first" for c in _ALL_COLUMNS if c not in ("problem", "suggestion", "code")},
             "code": ";".join, "problem": "; ".join, "suggestion": "; ".join})
        t = pd.concat([t[~dup], agg.loc[:, _ALL_COLUMNS]], ignore_index=True)
    t = t.sort_values(["priority", "site_code", "person_ref", "record_id", "code"],
                      na_position="last", kind="stable")
    return _typed(t.reset_index(drop=True))


#: the columns of every person record the identity and merge tables look at (the other columns
#: are taken only for the records listed)
_REF_KEYS = ("person_ref", "person_id", "id_number", "id_valid", "id_flags", "site_code", "site_name")


def _first_rows_per_ref(doses: pd.DataFrame) -> np.ndarray:
    """Positions of the first dose row (input order) of each platform person record."""
    return np.flatnonzero(~doses["person_ref"].duplicated().to_numpy())


def _valid_id(rows: pd.DataFrame) -> pd.Series:
    ids = rows["id_number"].astype("string")
    if "id_valid" in rows:
        return rows["id_valid"].astype("boolean").fillna(False) & ids.notna()
    return ids.str.fullmatch(r"\d{9}|\d{12}").fillna(False).astype(bool)


def _person_status(refs: pd.DataFrame, verification: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """The verification of each person (indexed by ``person_id``) and the status of each record."""
    v = verification.drop_duplicates("person_id").set_index("person_id").reindex(
        columns=["status", "mismatch_fields", "suggested_id", "registry_full_name",
                 "registry_birth_date", "registry_gender"])
    return v, refs["person_id"].map(v["status"]).astype("string")


def _bad_id_table(refs: pd.DataFrame, v: pd.DataFrame, status: pd.Series, codes: pd.DataFrame,
                  rows: Callable[[np.ndarray], pd.DataFrame]) -> pd.DataFrame:
    """``bad_id``: records without an ID, with a malformed one or one the registry does not hold
    (with the registry ID found by name + birth date, in full, when there is one; the record's
    own ID then masked except the digits that differ, :func:`mask_id_except_diff`).

    ``refs``: :data:`_REF_KEYS` of every person record; ``v``, ``status``: :func:`_person_status`;
    ``rows(mask)``: the full rows of the records ``mask`` selects (same index as ``refs[mask]``).
    """
    suggested = refs["person_id"].map(v["suggested_id"]).astype("string")
    valid = _valid_id(refs).to_numpy(bool)
    has_id = refs["id_number"].notna().to_numpy(bool)

    code = np.where(~has_id, "no_id", np.where(~valid, "bad_id", np.where(
        status.eq("not_found").fillna(False), "id_not_found", "")))
    sel = code != ""
    r = rows(sel)
    c = pd.Series(code[sel], index=r.index, dtype="string")
    flags = r["id_flags"].astype("string").fillna("") if "id_flags" in r else pd.Series(
        "", index=r.index, dtype="string")
    problem = c.map(codes["label_vi"]).astype("string")
    problem = problem.where(flags.eq(""), problem + " (" + flags.str.replace(";", ", ") + ")")
    sug = suggested[sel]
    base = c.map(codes["suggestion_vi"]).astype("string")
    # the registry's ID in full (the site enters it); the record's own ID masked except the
    # digits that differ from it
    suggestion = base.where(sug.isna(), "Số định danh theo CSDLQG: " + sug + " (đối chiếu với Công an xã)")
    info = _record_info(r)
    info["id_masked"] = mask_id_except_diff(r["id_number"], sug.set_axis(r.index))
    return _table(info, c, problem, suggestion, codes, person_level=True)


def _id_mismatch_table(v: pd.DataFrame, status: pd.Series, codes: pd.DataFrame,
                       rows: Callable[[np.ndarray], pd.DataFrame]) -> pd.DataFrame:
    """``id_mismatch``: records whose name, birth date or gender differ from the registry (with
    the registry's values as the correction)."""
    mm = rows(status.eq("mismatch").fillna(False).to_numpy(bool))
    vm = v.reindex(mm["person_id"])
    fields = vm["mismatch_fields"].astype("string").fillna("").to_numpy(object).astype(str)
    reg_values = {
        "full_name": vm["registry_full_name"].astype("string"),
        "birth_date": _fmt_date(vm["registry_birth_date"]),
        "gender": vm["registry_gender"].map(_GENDER_VI).astype("string"),
    }
    labels = {"full_name": "Họ tên: ", "birth_date": "Ngày sinh: ", "gender": "Giới tính: "}
    what = np.full(len(mm), "", dtype=object)
    fix = np.full(len(mm), "", dtype=object)
    for f, vi in _FIELD_VI.items():
        hit = np.char.find(fields, f) >= 0
        what = np.where(hit, what + vi + ", ", what)
        value = reg_values[f].fillna("?").to_numpy(object).astype(str)
        fix = np.where(hit, fix + labels[f] + value + "; ", fix)
    problem = pd.Series(codes.loc["id_mismatch", "label_vi"] + ": " + what.astype(str),
                        index=mm.index, dtype="string").str.rstrip(", ")
    suggestion = pd.Series("Sửa theo CSDLQG — " + fix.astype(str), index=mm.index,
                           dtype="string").str.rstrip("; ")
    return _table(_record_info(mm), "id_mismatch", problem, suggestion, codes, person_level=True)


def _duplicate_person_table(refs: pd.DataFrame, merges: pd.DataFrame, codes: pd.DataFrame,
                            rows: Callable[[np.ndarray], pd.DataFrame]) -> pd.DataFrame:
    """``duplicate_person``: person records merged into another one (to merge on the platform)."""
    m = merges.rename(columns={"record": "person_ref", "survivor": "person_id"})
    if not {"person_ref", "person_id"} <= set(m.columns):
        raise SchemaViolation("person_merges lacks columns person_ref, person_id")
    if "survivor_ref" not in m:  # dedup.merge_audit shape: the survivor is the unlisted ref
        unlisted = refs.loc[~refs["person_ref"].isin(m["person_ref"]), ["person_id",
                                                                          "person_ref"]]
        first = unlisted.drop_duplicates("person_id").set_index("person_id")["person_ref"]
        m = m.assign(survivor_ref=m["person_id"].map(first))
    m = m[m["person_ref"].astype("string") != m["survivor_ref"].astype("string")]
    by_ref = refs.set_index("person_ref")
    listed = rows(refs["person_ref"].isin(m["person_ref"]).to_numpy(bool)).set_index("person_ref")
    merged = listed.reindex(m["person_ref"]).reset_index()
    merged["person_ref"] = m["person_ref"].to_numpy()
    # the merges' own ids: a record with no kept dose is missing from ``listed``, and the reindex
    # then holds the ids as floats (63-bit ids lose their last digits)
    merged["person_id"] = pd.array(m["person_id"].to_numpy(), dtype="Int64")
    merged.index = m.index
    surv_site = m["survivor_ref"].map(by_ref["site_name"] if "site_name" in by_ref
                                      else by_ref["site_code"]).astype("string")
    score = (pd.to_numeric(m["score"], errors="coerce").round(1).astype("string")
             if "score" in m else pd.Series(pd.NA, index=m.index, dtype="string"))
    problem = (codes.loc["duplicate_person", "label_vi"] + ": trùng với mã "
               + m["survivor_ref"].astype("string").fillna("?")
               + (" (điểm " + score + ")").fillna(""))
    suggestion = ("Gộp hồ sơ về mã đối tượng " + m["survivor_ref"].astype("string").fillna("?")
                  + (" (" + surv_site + ")").fillna(""))
    return _table(_record_info(merged), "duplicate_person", problem, suggestion, codes,
                  person_level=True)


def _dose_finding_tables(doses_data: pd.DataFrame, findings: pd.DataFrame,
                         codes: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """``dose_sequence``, ``short_interval``, ``vaccine_rule``: dose findings, each to the
    ``worklist`` kind of its code in ``findings.csv`` (codes of no kind are not listed)."""
    kind_of = codes["worklist"]
    f = findings[findings["code"].map(kind_of).fillna("").isin(list(KINDS)).to_numpy(bool)]
    if not len(f):
        return {}
    pos = positions(doses_data["record_id"], f["record_id"])
    f = f[pos >= 0]
    rows = doses_data.iloc[pos[pos >= 0]].set_axis(f.index)
    problem = f["label_vi"].astype("string") + ": " + f["detail"].astype("string")
    sugg = f["code"].map(codes["suggestion_vi"]).astype("string")
    t = _table(_record_info(rows), f["code"], problem, sugg, codes)
    kinds = f["code"].map(kind_of).to_numpy(object)
    return {k: t[kinds == k] for k in pd.unique(kinds)}


def _duplicate_dose_table(merged_doses: pd.DataFrame, codes: pd.DataFrame) -> pd.DataFrame:
    """``duplicate_dose``: duplicate dose rows collapsed by reconciliation (to delete)."""
    md = merged_doses
    c = md["reason"].astype("string")
    problem = c.map(codes["label_vi"]).astype("string") + ": trùng với bản ghi " + md[
        "merged_into"].astype("string")
    return _table(_record_info(md), c, problem, c.map(codes["suggestion_vi"]), codes)


def _unsigned_table(doses_data: pd.DataFrame, verification: pd.DataFrame, codes: pd.DataFrame, *,
                    unsigned_days: int, as_of: date) -> pd.DataFrame | None:
    """``unsigned``: doses given more than ``unsigned_days`` before ``as_of`` and still unsigned
    (persons not verified: verify with the registry before signing); None when there are none."""
    dose_day = pd.to_datetime(doses_data["dose_date"], errors="coerce")
    age = (pd.Timestamp(as_of) - dose_day).dt.days
    unsigned = doses_data["sign_status"].astype("string").ne("signed").fillna(True)
    late = (unsigned & age.gt(unsigned_days).fillna(False)).to_numpy(bool)
    u = doses_data[late]
    if not len(u):
        return None
    st = u["person_id"].map(verification.drop_duplicates("person_id").set_index(
        "person_id")["status"]).astype("string")
    problem = (codes.loc["unsigned_dose", "label_vi"] + ": đã "
               + age[late].astype("Int64").astype("string") + " ngày")
    suggestion = pd.Series(np.where(
        st.eq("verified").fillna(False), codes.loc["unsigned_dose", "suggestion_vi"],
        "Xác thực thông tin với CSDLQG trước khi ký số"), index=u.index, dtype="string")
    return _table(_record_info(u), "unsigned_dose", problem, suggestion, codes)


def build_worklists(doses_data: pd.DataFrame, findings: pd.DataFrame,
                    verification: pd.DataFrame, *, unsigned_days: int, as_of: date,
                    person_merges: pd.DataFrame | None = None,
                    merged_doses: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """One table per kind of problem (:data:`KINDS`), rows = platform records to fix.

    Does not mutate its inputs. Kinds:

    - ``bad_id``: person records without an ID, with a malformed one, or whose ID the registry
      does not hold (suggesting the registry ID found by name + birth date);
    - ``id_mismatch``: name/birth date/gender differ from the registry (with its values);
    - ``duplicate_person``: records merged into another person record (``person_merges``:
      ``person_ref, person_id, survivor_ref, score``, or dedup's ``record, survivor, score``);
    - ``dose_sequence``, ``short_interval``, ``vaccine_rule``: dose findings by the
      ``worklist`` column of ``findings.csv``;
    - ``duplicate_dose``: duplicate dose rows collapsed by reconciliation (``merged_doses``);
    - ``unsigned``: unsigned doses given more than ``unsigned_days`` before ``as_of``.

    Args:
        doses_data: ``ReconcileResult.data`` (needs ``record_id, person_ref, person_id,
            full_name, birth_date, id_number, site_code, dose_date, sign_status``; uses
            ``site_name, phone, vaccine, dose_number, id_valid, id_flags`` when present).
        findings: ``ReconcileResult.findings``.
        verification: :func:`vaxreport.linkage.verify.verify_persons` output.
        unsigned_days: age in days after which an unsigned dose is listed.
        as_of: reference date (end of the reporting period).
        person_merges: optional merged person records.
        merged_doses: optional ``ReconcileResult.merged``.

    Returns:
        ``{kind: DataFrame}`` for every kind of :data:`KINDS` (possibly empty), columns
        :data:`COLUMNS`, sorted by priority, site, person record.

    Raises:
        SchemaViolation: a required column is missing.

    Examples:
        >>> wl = build_worklists(*_example_inputs(), unsigned_days=30, as_of=date(2022, 5, 31))
        >>> {k: len(v) for k, v in wl.items() if len(v)}
        {'bad_id': 1, 'short_interval': 1, 'unsigned': 1}
        >>> wl["bad_id"][["person_ref", "id_masked", "problem"]].values.tolist()
        [['b', <NA>, 'Không có số CCCD/CMND']]
    """
    missing = [c for c in _DOSE_COLUMNS if c not in doses_data.columns]
    if missing:
        raise SchemaViolation(f"doses data lacks required columns: {missing}")
    codes = finding_codes()
    doses_data = doses_data[[c for c in doses_data.columns if c in _USED_COLUMNS]]  # no copy
    first = _first_rows_per_ref(doses_data)
    refs = doses_data[[c for c in _REF_KEYS if c in doses_data]].iloc[first]

    def rows(mask: np.ndarray) -> pd.DataFrame:
        return doses_data.iloc[first[mask]]

    out: dict[str, list[pd.DataFrame]] = {k: [] for k in KINDS}
    v, status = _person_status(refs, verification)
    out["bad_id"].append(_bad_id_table(refs, v, status, codes, rows))
    out["id_mismatch"].append(_id_mismatch_table(v, status, codes, rows))
    if person_merges is not None and len(person_merges):
        out["duplicate_person"].append(_duplicate_person_table(refs, person_merges, codes, rows))
    for kind, table in _dose_finding_tables(doses_data, findings, codes).items():
        out[kind].append(table)
    if merged_doses is not None and len(merged_doses):
        out["duplicate_dose"].append(_duplicate_dose_table(merged_doses, codes))
    unsigned = _unsigned_table(doses_data, verification, codes, unsigned_days=unsigned_days,
                               as_of=as_of)
    if unsigned is not None:
        out["unsigned"].append(unsigned)

    empty = _table(_record_info(doses_data.iloc[:0]), pd.Series([], dtype="string"),
                   pd.Series([], dtype="string"), pd.Series([], dtype="string"), codes)
    return {k: _finalise(pd.concat([empty, *parts], ignore_index=True) if parts else empty)
            for k, parts in out.items()}


def combine_worklists(parts: Sequence[Mapping[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """The worklists of several groups of whole persons (each from :func:`build_worklists` of
    its persons' rows) as one call over all the rows gives them: a record is in one group only,
    and each kind is sorted on keys that tell its rows apart.

    >>> one = build_worklists(*_example_inputs(), unsigned_days=30, as_of=date(2022, 5, 31))
    >>> all(table.equals(one[kind]) for kind, table in combine_worklists([one]).items())
    True
    """
    return {kind: _finalise(pd.concat([p[kind] for p in parts], ignore_index=True)) for kind in KINDS}


def to_table(worklists: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """All worklists as one table with a ``kind`` column (to store them between run stages).

    >>> wl = build_worklists(*_example_inputs(), unsigned_days=30, as_of=date(2022, 5, 31))
    >>> back = from_table(to_table(wl))
    >>> all(back[k].equals(wl[k]) for k in KINDS)
    True
    """
    return pd.concat([t.assign(kind=k) for k, t in worklists.items()], ignore_index=True)


def from_table(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Inverse of :func:`to_table`: ``{kind: DataFrame}`` for every kind of :data:`KINDS`."""
    kind = table["kind"].astype("string").to_numpy(object)
    cols = [c for c in _ALL_COLUMNS if c in table.columns]  # a table of an older run: no person_id
    return {k: _typed(table.loc[kind == k, cols].reset_index(drop=True)) for k in KINDS}


def _example_inputs() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    doses = pd.DataFrame({
        "record_id": ["r1", "r2", "r3"],
        "person_ref": ["a", "a", "b"],
        "person_id": [1, 1, 2],
        "full_name": ["Nguyễn Văn An", "Nguyễn Văn An", "Lê Thị Hoa"],
        "birth_date": pd.to_datetime(["1980-01-01", "1980-01-01", "1990-02-01"]),
        "id_number": ["019080000001", "019080000001", None],
        "phone": ["0912345678", "0912345678", None],
        "site_code": ["S1", "S1", "S2"],
        "site_name": ["TYT Phường A", "TYT Phường A", "TYT Xã B"],
        "vaccine": ["Pfizer", "Pfizer", "Pfizer"],
        "dose_number": pd.array([1, 2, 1], dtype="Int64"),
        "dose_date": pd.to_datetime(["2021-09-01", "2021-09-10", "2022-05-20"]),
        "sign_status": ["signed", "unsigned", "unsigned"],
    })
    findings = pd.DataFrame({"record_id": ["r2"], "person_id": [1], "code": ["short_interval"],
                             "label_vi": ["Khoảng cách giữa hai mũi ngắn hơn quy định"],
                             "detail": ["Mũi 2 cách mũi trước 9 ngày, tối thiểu 21 ngày"]})
    verification = pd.DataFrame({"person_id": [1, 2], "status": ["verified", "no_id"],
                                 "mismatch_fields": ["", ""],
                                 "suggested_id": pd.array([pd.NA, pd.NA], dtype="string")})
    return doses, findings, verification
