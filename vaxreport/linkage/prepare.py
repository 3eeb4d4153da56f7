"""Field preparation: each person field parsed, cleaned and coded once, on its unique values,
and the value frequencies the model's term-frequency u come from.

Names are repaired from legacy fonts, folded with :func:`vaxreport.text.fold_series` and split
Vietnamese style into surname (first token), middle and given name (last token); birth dates
parsed to (year, month, day); gender with the cleansing's parser; IDs and phones reduced to
digit keys.  Everything downstream works on the integer codes of :class:`PreparedFields`.

Examples:
    >>> p = prepare_fields(pd.DataFrame({"full_name": ["Nguyễn Văn An", "NGUYEN VAN AN"],
    ...                                  "gender": ["Nam", "M"], "phone": ["+84912345678", None]}))
    >>> p.codes["name"].tolist(), p.strings["given"].tolist(), p.gender.tolist()
    ([0, 0], ['an'], [1, 1])
    >>> p.strings["phone"].tolist()
    ['0912345678']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from vaxreport import refdata
from vaxreport.cleansing.parse import parse_gender, phone_migration
from vaxreport.linkage.priors import GENDER_PSEUDO_RECORDS, TF_PRIOR, TF_PSEUDO_RECORDS
from vaxreport.text import fold_series, to_unicode_series

#: The person columns the linkage reads (any of them may be missing or NA).
FIELDS = ("full_name", "birth_date", "gender", "id_number", "phone", "commune_code", "address")


#: Names that may be TCVN3/VNI mojibake: a character no NFC Vietnamese name uses, or an ASCII
#: vowel followed by a Latin-1 letter ("Nguyeãn"); only these go through the (slower) repair.
_MAYBE_LEGACY = (r"[^\x00-\x7f\u00c0-\u00c3\u00c8-\u00ca\u00cc\u00cd\u00d2-\u00d5\u00d9\u00da"
                 r"\u00dd\u00e0-\u00e3\u00e8-\u00ea\u00ec\u00ed\u00f2-\u00f5\u00f9\u00fa\u00fd"
                 r"\u0102\u0103\u0110\u0111\u0128\u0129\u0168\u0169\u01a0\u01a1\u01af\u01b0"
                 r"\u1ea0-\u1ef9]|[aeiouyAEIOUY][\u00c0-\u00ff]")


def _repair_legacy(names: pd.Series) -> pd.Series:
    """Legacy-font names (TCVN3, VNI) repaired to Unicode with ``text.to_unicode``.

    >>> _repair_legacy(pd.Series(["NguyÔn V¨n An", "Lê Thị Hoa"])).tolist()
    ['Nguyễn Văn An', 'Lê Thị Hoa']
    """
    maybe = names.str.contains(_MAYBE_LEGACY, regex=True).fillna(False).to_numpy(bool)
    if not maybe.any():
        return names
    out = names.copy()
    out[maybe] = to_unicode_series(names[maybe]).to_numpy()
    return out


def _factor(col: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Row codes (-1 for NA) and the unique values as a string Series (work on these)."""
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    u = pd.Series(np.asarray(uniques, dtype=object)).astype(str)
    return codes.astype(np.int64), pd.Series(u, dtype="str")


def _recode(row_codes: np.ndarray, derived: pd.Series | np.ndarray, *, sort: bool = False
            ) -> tuple[np.ndarray, np.ndarray]:
    """Codes per row of a value derived per unique (``derived[k]`` for unique ``k``).

    Empty strings and NA become -1.  Returns the row codes (int32) and the derived uniques.
    """
    d = pd.Series(derived, copy=False)
    if d.dtype == object or pd.api.types.is_string_dtype(d.dtype):
        d = d.where(d != "")
    dc, du = pd.factorize(d, sort=sort, use_na_sentinel=True)
    dc = np.append(dc, -1).astype(np.int32)
    return dc[row_codes], np.asarray(du, dtype=object)


def _column(persons: pd.DataFrame, name: str, rows: np.ndarray | None = None) -> pd.Series:
    """A column of ``persons`` (its rows ``rows`` in that order, if given), numbered from 0."""
    if name in persons.columns:
        col = persons[name] if rows is None else persons[name].take(rows)
        return col.reset_index(drop=True)
    return pd.Series([pd.NA] * (len(persons) if rows is None else len(rows)), dtype="object")


def _parse_dates(col: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) int arrays from datetime64 or strings; 0 where unknown.

    Accepts ``dd/mm/yyyy`` (also ``-``/``.``), ISO ``yyyy-mm-dd[ time]``, ``yyyymmdd``, a bare
    year.  Day and month are kept as written (1–31) so that swapped day/month stays comparable.
    """
    n = len(col)
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        dt = pd.DatetimeIndex(col)
        ok = ~dt.isna()
        y = np.where(ok, dt.year.fillna(0), 0).astype(np.int32)
        m = np.where(ok, dt.month.fillna(0), 0).astype(np.int32)
        d = np.where(ok, dt.day.fillna(0), 0).astype(np.int32)
        return y, m, d
    codes, u = _factor(col)
    u = u.str.strip()
    out = pd.DataFrame({"y": 0, "m": 0, "d": 0}, index=u.index)
    patterns = [
        (r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?:\D.*)?$", None),
        (r"^(?P<d>\d{1,2})[-/.](?P<m>\d{1,2})[-/.](?P<y>\d{4})(?:\D.*)?$", None),
        (r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$", None),
        (r"^(?P<y>\d{4})$", None),
    ]
    todo = pd.Series(True, index=u.index)
    for pat, _ in patterns:
        ext = u[todo].str.extract(pat)
        hit = ext.notna().any(axis=1)
        for part in ("y", "m", "d"):
            if part in ext:
                vals = pd.to_numeric(ext.loc[hit, part], errors="coerce").fillna(0).astype(int)
                out.loc[vals.index, part] = vals
        todo.loc[hit[hit].index] = False
    yy, mm, dd = (out[c].to_numpy(np.int32) for c in ("y", "m", "d"))
    bad = (yy < 1850) | (yy > 2100)
    mm = np.where(bad | (mm < 1) | (mm > 31), 0, mm)
    dd = np.where(bad | (dd < 1) | (dd > 31), 0, dd)
    yy = np.where(bad, 0, yy)
    # a date needs both day and month; a lone month/day is dropped
    part = (mm == 0) | (dd == 0)
    mm, dd = np.where(part, 0, mm), np.where(part, 0, dd)
    y, m, d = (np.append(v, 0).astype(np.int32)[codes] for v in (yy, mm, dd))
    assert len(y) == n
    return y, m, d


#: Gender codes of the prepared table; 0 is unknown.
GENDER_CODES = {"M": 1, "F": 2}


def _gender_codes(col: pd.Series) -> np.ndarray:
    """Per row 1 male, 2 female, 0 unknown, with the cleansing's gender parser
    (:func:`vaxreport.cleansing.parse.parse_gender`) run on the unique values."""
    codes, u = _factor(col)
    parsed = parse_gender(u)["value"].map(GENDER_CODES).fillna(0).to_numpy(np.int8)
    return np.append(parsed, np.int8(0))[codes]


def digits(u: pd.Series) -> pd.Series:
    """The digits of each value (an Excel float's ``.0`` dropped first); ``""`` for NA.

    >>> digits(pd.Series(["0912.345.678", "19085001234.0", None])).tolist()
    ['0912345678', '19085001234', '']
    """
    s = pd.Series(u, dtype="str").str.replace(r"\.0$", "", regex=True)
    return s.str.replace(r"\D", "", regex=True).fillna("")


#: Kinds of identity number (:func:`id_shapes`): each is compared only with its own kind and
#: length, so a CMND and a CCCD of one person are "not comparable", never "different".
ID_KINDS = ("cccd", "cmnd", "passport", "other")


def _clean_ids(u: pd.Series) -> pd.Series:
    """Letters and digits only, upper case; a digit string that lost its leading zero restored
    (11→12, 8→9 digits).  Kept if 5–15 characters with at least 5 digits, not one repeated
    character and not a mobile phone number typed in the ID field; ``""`` otherwise.

    >>> _clean_ids(pd.Series(["019090000123", "19085001234", "c1234567", "0912345678", "7",
    ...                       "3871937", None])).tolist()
    ['019090000123', '019085001234', 'C1234567', '', '', '3871937', '']
    """
    s = pd.Series(u, dtype="str").str.replace(r"\.0$", "", regex=True)
    s = s.str.replace(r"[^0-9A-Za-z]", "", regex=True).fillna("")
    alpha = s.str.contains(r"[A-Za-z]", regex=True).to_numpy(bool)
    if alpha.any():
        s[alpha] = s[alpha].str.upper()
    ln = s.str.len()
    s = s.where(alpha | ~ln.isin([8, 11]), "0" + s)
    ln = s.str.len()
    ok = ln.between(5, 15) & ~s.str.fullmatch(r"0+|1+|2+|3+|4+|5+|6+|7+|8+|9+")
    if alpha.any():
        ok &= ~alpha | (s.str.count(r"\d") >= 5)
    ten = (ln == 10).to_numpy(bool)
    if ten.any():  # a mobile number typed in the ID field
        ok[ten] &= ~s[ten].str.fullmatch(r"0[35789]\d{8}").to_numpy(bool)
    return s.where(ok, "")


def id_shapes(ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Per cleaned ID its shape (kind index in :data:`ID_KINDS` · 32 + length) and a number
    for digit arithmetic (passport letters as base-36 digits above the digits; -1 for other
    mixed letters and digits, compared only exactly).

    >>> shape, num = id_shapes(pd.Series(["019090000123", "123456789", "C1234567", "AB12C45"]))
    >>> shape.tolist(), num.tolist()
    ([12, 41, 72, 103], [19090000123, 123456789, 121234567, -1])
    """
    s = pd.Series(ids, dtype="str").fillna("")
    ln = s.str.len().to_numpy(np.int64)
    digit = s.str.fullmatch(r"\d+").fillna(False).to_numpy(bool)
    passport = s.str.fullmatch(r"[A-Z]{1,2}\d{6,8}").fillna(False).to_numpy(bool)
    kind = np.where(digit & (ln == 12), 0, np.where(digit & (ln == 9), 1, np.where(passport, 2, 3)))
    num = np.full(len(s), -1, np.int64)
    num[digit] = s[digit].astype("int64").to_numpy()
    if passport.any():
        p = s[passport]
        letters = p.str.extract(r"^([A-Z]+)", expand=False)
        rest = p.str.replace(r"^[A-Z]+", "", regex=True)
        lead = letters.map(lambda t: int(t, 36)).to_numpy(np.int64)
        num[passport] = lead * 10 ** rest.str.len().to_numpy(np.int64) + rest.astype("int64").to_numpy()
    return kind * 32 + ln, num


def _clean_phones(u: pd.Series) -> pd.Series:
    """Digits only, +84/84 → 0, old 11-digit mobiles migrated, junk (repeated digit) dropped.

    A match key, not a validated number: any 9–11 digits count (a landline shared by two
    records is evidence too), so this is not :func:`vaxreport.cleansing.parse.parse_phones`
    (which keeps valid mobiles only); in stage 1 the phones are its values already.  The 2018
    11→10-digit migration is the cleansing's table (:func:`~vaxreport.cleansing.phones.phone_migration`).
    """
    migration = phone_migration()
    d = digits(u)
    d = d.where(~(d.str.startswith("84") & d.str.len().isin([11, 12])), "0" + d.str[2:])
    d = d.where(~((d.str.len() == 9) & ~d.str.startswith("0")), "0" + d)
    old = d.str.len().eq(11) & d.str[:4].isin(list(migration))
    d = d.where(~old, d.str[:4].map(migration).fillna("") + d.str[4:])
    ok = d.str.len().between(9, 11) & ~d.str[1:].str.fullmatch(r"0+|1+|2+|3+|4+|5+|6+|7+|8+|9+")
    return d.where(ok, "")


@dataclass(frozen=True)
class PreparedFields:
    """Integer-coded fields of a person table (row positions 0..n-1), from :func:`prepare_fields`.

    Attributes:
        n: number of rows.
        codes: per key an int32 code per row (-1 missing) into ``strings[key]`` where that
            exists: ``name`` (folded full name), ``given``, ``surname``, ``middle``,
            ``surname_middle``, ``sorted_name`` (tokens sorted), ``given_first``/``given_last``
            (letters), ``given_accent`` (the accented given name when it has marks), ``id``,
            ``phone``, ``commune``, ``address``, ``address_number`` (the address's first number)
            and the ID pigeonhole keys (``id_tail6`` …).
        strings: per key the distinct values the codes point to (object arrays of ``str``;
            ``id`` and ``phone``, about one per record, numpy ``StringDType`` arrays).
        y: birth year per row (0 unknown); ``m``, ``d`` month and day as written (1–31).
        gender: 1 male, 2 female, 0 unknown per row.
        freq: smoothed value frequencies (term-frequency u) per distinct value, and
            ``name_dependence``, ``given_male``, ``dob``/``dob_values``.
        nums: numeric helpers: ``id_num``/``id_len``, ``phone_num``/``phone_len`` per distinct
            value, ``dob`` (yyyymmdd) and ``id_row_ok`` per row, ``phone_count``/``address_count``;
            the comparisons cache ``given_len`` and ``given_real`` here.
    """

    n: int
    codes: dict[str, np.ndarray]
    strings: dict[str, np.ndarray]
    y: np.ndarray
    m: np.ndarray
    d: np.ndarray
    gender: np.ndarray
    freq: dict[str, np.ndarray[Any, Any]] = field(default_factory=dict)
    nums: dict[str, np.ndarray] = field(default_factory=dict)


def _add_names(persons: pd.DataFrame, codes: dict[str, np.ndarray], strings: dict[str, np.ndarray],
               rows: np.ndarray | None = None) -> None:
    """Name codes: fold the unique raw strings (legacy fonts repaired first), then split the
    unique folded keys into surname, middle and given name; the accent-aware given name."""
    rc, ru = _factor(_column(persons, "full_name", rows))
    ru = _repair_legacy(ru)
    folded_u = fold_series(pd.Series(ru, dtype="str")).fillna("")
    codes["name"], strings["name"] = _recode(rc, folded_u, sort=True)
    nu = pd.Series(strings["name"], dtype="str")
    toks = nu.str.split(" ")
    ntok = toks.list.len() if hasattr(toks, "list") else toks.str.len()
    given_u = nu.str.replace(r"^.* ", "", regex=True)
    surname_u = nu.str.replace(r" .*$", "", regex=True).where(ntok > 1, "")
    rest_u = nu.str.replace(r" ?[^ ]*$", "", regex=True)
    middle_u = rest_u.str.replace(r"^[^ ]* ?", "", regex=True)
    sorted_u = pd.Series([" ".join(sorted(v.split(" "))) for v in nu], dtype="str")
    name_c = codes["name"].astype(np.int64)
    for key, vals in (("given", given_u), ("surname", surname_u), ("middle", middle_u),
                      ("surname_middle", rest_u), ("sorted_name", sorted_u)):
        codes[key], strings[key] = _recode(name_c, vals)
    gu = pd.Series(strings["given"], dtype="str")
    given_c = codes["given"].astype(np.int64)
    codes["given_first"], _ = _recode(given_c, gu.str[0])
    codes["given_last"], _ = _recode(given_c, gu.str[-1])
    # accent-aware given name: last token of the NFC lower-case raw name, if it has marks
    acc_given = ru.str.normalize("NFC").str.lower().str.strip().str.replace(
        r"^.*\s", "", regex=True)
    fold_given = folded_u.str.replace(r"^.* ", "", regex=True)
    codes["given_accent"], strings["given_accent"] = _recode(
        rc, acc_given.where(acc_given != fold_given, ""))


def prepare_fields(persons: pd.DataFrame, *, rows: np.ndarray | None = None) -> PreparedFields:
    """Parse, clean and code every person field once, on its unique values.

    Args:
        persons: person table with any of :data:`FIELDS` (missing columns count as NA).
        rows: read the table's rows in this order (positions), as ``persons.iloc[rows]`` —
            one column at a time, without a copy of the table; default all, in order.

    Returns:
        :class:`PreparedFields`, rows in input order (or ``rows``' order; positions, not index
        labels), with the ID pigeonhole keys and the value frequencies.  Does not mutate the input.

    Examples:
        >>> p = prepare_fields(pd.DataFrame({"full_name": ["Lê Văn Tám", "LE VAN TAM"],
        ...                                  "birth_date": ["1990-01-02", "02/01/1990"]}))
        >>> p.codes["name"].tolist(), p.strings["surname_middle"].tolist(), p.nums["dob"].tolist()
        ([0, 0], ['le van'], [19900102, 19900102])
    """
    n = len(persons) if rows is None else len(rows)
    codes: dict[str, np.ndarray] = {}
    strings: dict[str, np.ndarray] = {}
    _add_names(persons, codes, strings, rows)

    # dates and gender
    y, m, d = _parse_dates(_column(persons, "birth_date", rows))
    gender = _gender_codes(_column(persons, "gender", rows))

    # ids, phones, communes, addresses (cleaned on unique values)
    nums: dict[str, np.ndarray] = {}
    for key, col, clean in (("id", "id_number", _clean_ids), ("phone", "phone", _clean_phones)):
        c, u = _factor(_column(persons, col, rows))
        codes[key], distinct = _recode(c, clean(u))
        # about one distinct value per record: numpy strings (16 bytes each, inline up to 15
        # characters) rather than Python objects (≈ 60 bytes each)
        strings[key] = distinct.astype(np.dtypes.StringDType())
        del distinct
        su = pd.Series(strings[key], dtype="str")
        nums[f"{key}_len"] = su.str.len().to_numpy(np.int64)
        if key == "id":
            nums["id_shape"], nums["id_num"] = id_shapes(su)
        else:
            nums[f"{key}_num"] = su.where(su != "", "-1").astype("int64").to_numpy(np.int64)
    c, u = _factor(_column(persons, "commune_code", rows))
    codes["commune"], strings["commune"] = _recode(c, commune_successor(u.str.strip()))
    codes["district"], strings["district"] = _recode(codes["commune"].astype(np.int64),
                                                     commune_district(pd.Series(strings["commune"], dtype="str")))
    c, u = _factor(_column(persons, "address", rows))
    codes["address"], strings["address"] = _recode(c, fold_series(pd.Series(u, dtype="str")).fillna(""))
    # the address's first number (house number, or lane/group), a blocking key with the birth date
    found = pc.extract_regex(pa.array(strings["address"], pa.string()), r"(?P<n>[0-9]+)")
    first_number = pc.utf8_ltrim(pc.struct_field(found, "n"), "0").to_pandas()
    codes["address_number"], _ = _recode(codes["address"].astype(np.int64), first_number.fillna(""))

    nums["dose_day"], nums["dose_no"] = dose_slots(_column(persons, "doses", rows))
    nums["dob"] = np.where(y > 0, y.astype(np.int64) * 10000 + m * 100 + d, 0)
    nums["id_row_ok"] = _id_fits_birth_year(codes["id"], nums["id_num"], nums["id_shape"], y)
    prep = PreparedFields(n=n, codes=codes, strings=strings, y=y, m=m, d=d, gender=gender, nums=nums)
    _add_id_keys(prep)
    _add_frequencies(prep)
    return prep


def commune_successor(communes: pd.Series) -> pd.Series:
    """GSO commune codes retired by a merger replaced by the code that took over
    (:func:`vaxreport.refdata.commune_successors`); other values unchanged.

    >>> commune_successor(pd.Series(["11353", "05443", "x"])).tolist()
    ['11344', '05443', 'x']
    """
    s = refdata.commune_successors()
    s = s[s["new_code"].fillna("").astype(str) != ""]
    return communes.replace(dict(zip(s["old_code"].astype(str), s["new_code"].astype(str))))


def commune_district(communes: pd.Series) -> pd.Series:
    """The GSO district code of each GSO commune code (its latest unit in
    :func:`vaxreport.refdata.admin_unit_history`); "" for a value that is not a known commune code.

    >>> commune_district(pd.Series(["05443", "05854", "Xã A", None])).tolist()
    ['164', '172', '', '']
    """
    units = refdata.admin_unit_history(None).sort_values("valid_to")
    last = units.drop_duplicates("commune_code", keep="last")
    lookup = pd.Series(last["district_code"].to_numpy(), index=last["commune_code"].to_numpy())
    return communes.map(lookup).fillna("").astype(str)


#: Doses of a record the dose comparison reads (its first ones by date): a person record rarely
#: holds more.
MAX_DOSES = 6


def dose_slots(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A record's dose history (``yyyy-mm-dd#n`` separated by spaces, as
    :func:`vaxreport.linkage.persons.dose_histories` writes it) as two ``(rows, MAX_DOSES)``
    arrays: the distinct dose days (days since 1970, ascending, 0 after the last) and their dose
    numbers (0 unknown; the smallest number entered on that day).  Parsed with Arrow.

    >>> day, no = dose_slots(pd.Series(["2021-08-01#1 2021-09-01#2", None, "2021-08-01#3"]))
    >>> day[:, :2].tolist(), no[:, :2].tolist()
    ([[18840, 18871], [0, 0], [18840, 0]], [[1, 2], [0, 0], [3, 0]])
    """
    n = len(col)
    day = np.zeros((n, MAX_DOSES), np.int32)
    no = np.zeros((n, MAX_DOSES), np.int16)
    text = pa.array(col, pa.string(), from_pandas=True) if len(col) else pa.array([], pa.string())
    tokens = pc.split_pattern(pc.fill_null(text, ""), " ")
    flat = pc.list_flatten(tokens)
    if not len(flat):
        return day, no
    row = pc.list_parent_indices(tokens).to_numpy()
    parsed = pc.strptime(pc.utf8_slice_codeunits(flat, 0, 10), format="%Y-%m-%d", unit="s",
                         error_is_null=True)
    good = pc.is_valid(parsed).to_numpy(zero_copy_only=False)
    d = pc.fill_null(pc.cast(parsed, pa.int64()), 0).to_numpy() // 86400
    nums = pc.utf8_slice_codeunits(flat, 11, 13)
    nums = pc.if_else(pc.utf8_is_digit(nums), nums, "0")
    k = pc.cast(pc.fill_null(nums, "0"), pa.int64()).to_numpy()
    good &= d > 0  # 0 marks an empty slot
    row, d, k = row[good], d[good], k[good]
    same_row = row[1:] == row[:-1]
    if not ((row[1:] >= row[:-1]).all() and (~same_row | (d[1:] >= d[:-1])).all()):  # as written: sorted
        order = np.lexsort((k, d, row))
        row, d, k = row[order], d[order], k[order]
    first = np.ones(row.size, bool)
    first[1:] = (row[1:] != row[:-1]) | (d[1:] != d[:-1])  # one slot per day
    row, d, k = row[first], d[first], k[first]
    start = np.searchsorted(row, row, side="left")
    slot = np.arange(row.size) - start
    fit = slot < MAX_DOSES
    day[row[fit], slot[fit]] = d[fit]
    no[row[fit], slot[fit]] = k[fit]
    return day, no


def _id_fits_birth_year(code: np.ndarray, num: np.ndarray, shape: np.ndarray,
                        year: np.ndarray) -> np.ndarray:
    """Per row: False where a 12-digit CCCD contradicts the record's birth year (digits 5–6 =
    year mod 100, digit 4 = century): a relative's ID or a typo, not this person's ID.

    >>> _id_fits_birth_year(np.array([0, 0, -1]), np.array([19085001234]), np.array([12]),
    ...                     np.array([1985, 2005, 1985]))
    array([ True, False,  True])
    """
    has = code >= 0
    take = np.where(has, code, 0)
    n12 = np.where(has & (np.append(shape, 0)[take] == 12), np.append(num, -1)[take], -1)
    yy = (n12 // 10**6) % 100
    century = (n12 // 10**8) % 10 // 2 + 19
    check = (n12 >= 0) & (year > 0)
    return ~check | ((yy == year % 100) & (century == year // 100))


def _add_id_keys(prep: PreparedFields) -> None:
    """Pigeonhole keys on IDs (digit arithmetic, tagged by shape): any single substitution or
    adjacent transposition (but one across the middle) leaves one of them intact; computed on
    the unique IDs."""
    num = prep.nums["id_num"]
    ln = prep.nums["id_shape"]
    c = prep.codes["id"].astype(np.int64)
    e6 = 10 ** 6
    tail = num % e6
    digits = np.stack([(tail // 10 ** k) % 10 for k in range(6)], axis=1)
    digits.sort(axis=1)
    sorted_tail = (digits * (10 ** np.arange(6))[::-1]).sum(axis=1) if num.size else tail
    keys = {
        "id_tail6": tail,
        "id_head9": num // 1000,
        "id_head6_tail3": (num // e6) * 1000 + num % 1000,
        "id_head6_sorted6": (num // e6) * e6 + sorted_tail,
    }
    for k, v in keys.items():
        tagged = np.where(num >= 0, v * 128 + ln, -1)
        kc, _ = pd.factorize(tagged, use_na_sentinel=True)
        kc = np.where(tagged >= 0, kc, -1)
        prep.codes[k] = np.append(kc, -1).astype(np.int32)[c]


def _smoothed_freq(counts: np.ndarray, n: int, prior: float) -> np.ndarray:
    return (counts + TF_PSEUDO_RECORDS * prior) / (n + TF_PSEUDO_RECORDS)


def _add_frequencies(prep: PreparedFields) -> None:
    n = max(prep.n, 1)
    for key in ("given", "surname_middle", "id", "phone", "address"):
        c = prep.codes[key]
        cnt = np.bincount(c[c >= 0], minlength=len(prep.strings[key])).astype(np.float64)
        prior = TF_PRIOR["id_number" if key == "id" else key]
        prep.freq[key] = _smoothed_freq(cnt, n, prior)
        if key in ("phone", "address"):
            prep.nums[f"{key}_count"] = np.append(cnt, 0).astype(np.int64)
    _add_name_dependence(prep)
    dob = dob_int(prep.y, prep.m, prep.d)
    vals, dob_counts = np.unique(dob[dob > 0], return_counts=True)
    prep.freq["dob_values"] = vals
    prep.freq["dob"] = _smoothed_freq(dob_counts.astype(np.float64), n, TF_PRIOR["birth_date"])


def _add_name_dependence(prep: PreparedFields) -> None:
    """Per full name (token-sorted): log2 of the product of its parts' frequencies over its own
    (leave-one-out, shrunk towards the product), and per given name its smoothed male share.

    Given name and middle name go together (gender, fashion): "Nguyễn Thị" + "Lan" is more
    common than the product of the two frequencies says, so agreeing on it is weaker evidence.
    """
    n = max(prep.n, 1)
    c = prep.codes
    rows = np.flatnonzero((c["sorted_name"] >= 0) & (c["given"] >= 0) & (c["surname_middle"] >= 0))
    first = np.full(len(prep.strings["sorted_name"]), -1, np.int64)
    first[c["sorted_name"][rows][::-1]] = rows[::-1]
    has = first >= 0
    ind = np.ones(first.size)
    r = first[has]
    ind[has] = prep.freq["given"][c["given"][r]] * prep.freq["surname_middle"][c["surname_middle"][r]]
    cnt = np.bincount(c["sorted_name"][rows], minlength=first.size).astype(np.float64)
    joint = (np.maximum(cnt - 1, 0) + TF_PSEUDO_RECORDS * ind) / (n + TF_PSEUDO_RECORDS)
    prep.freq["name_dependence"] = np.where(has, np.log2(ind / joint), 0.0)
    g = c["given"]
    known = (g >= 0) & (prep.gender > 0)
    males = np.bincount(g[known], weights=(prep.gender[known] == 1).astype(float),
                        minlength=len(prep.strings["given"]))
    total = np.bincount(g[known], minlength=len(prep.strings["given"])).astype(float)
    overall = males.sum() / total.sum() if total.sum() else 0.5
    prep.freq["given_male"] = (males + GENDER_PSEUDO_RECORDS * overall) / (
        total + GENDER_PSEUDO_RECORDS)


def dob_int(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Full birth dates as yyyymmdd integers; 0 where the year, month or day is unknown.

    >>> dob_int(np.array([1990, 1990]), np.array([3, 0]), np.array([12, 0])).tolist()
    [19900312, 0]
    """
    full = (y > 0) & (m > 0) & (d > 0)
    return np.where(full, y.astype(np.int64) * 10000 + m * 100 + d, 0)
