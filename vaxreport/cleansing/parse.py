"""Column parsers for the cleansing engine: dates, ID numbers, phones, gender, dose numbers, vaccines.

Each parser takes a Series of raw values and returns a DataFrame aligned to its index with the
parsed ``value``, the ``rule`` that changed the value (NA when the value was only re-typed, e.g. a
plain ``15/03/2022`` becoming a datetime) and, where relevant, a ``status`` or ``flag``. Parsers
work on the unique values of the column (``_on_uniques``) with whole-array operations, so a
column of 3 M rows with 40 k distinct birth dates costs 40 k parses. Row-level checks that need
several columns (CCCD digits against birth date and gender) live in ``vaxreport.cleansing.clean``.

Examples:
    >>> parse_dates(pd.Series(["15/03/2022", "03/15/2022", "31/02/2022"]))["value"].tolist()
    [Timestamp('2022-03-15 00:00:00'), Timestamp('2022-03-15 00:00:00'), NaT]
    >>> parse_phones(pd.Series(["+84 912 345 678", "01686123456"]))["value"].tolist()
    ['0912345678', '0386123456']
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import pandas as pd
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import fuzz, process

from vaxreport import refdata
from vaxreport.schemas import header_key

NA = pd.NA
LOCAL_UTC_OFFSET = pd.Timedelta(hours=7)  # Asia/Ho_Chi_Minh, no DST
MIN_YEAR, MAX_YEAR = 1900, 2100
EXCEL_EPOCH = np.datetime64("1899-12-30", "D")


# ----------------------------------------------------------------------------- helpers
def _on_uniques(values: pd.Series, func: Callable[[pd.Series], pd.DataFrame]) -> pd.DataFrame:
    """Apply ``func`` to the unique non-NA values of ``values`` and map the result back.

    ``func`` receives a Series of unique values (RangeIndex) and returns a DataFrame with one
    row per unique value. Rows whose input is NA get the result of ``func`` on an empty input
    filled with NA (callers handle NA themselves via the returned frame's dtypes).
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    res = func(pd.Series(uniques, dtype=values.dtype if values.dtype != object else object))
    res = res.reset_index(drop=True)
    if (codes < 0).any():
        # Append one NA row for the sentinel, typed like each column.
        na_row = res.iloc[:0].reindex([len(res)])
        res = pd.concat([res, na_row]) if len(res) else na_row
        codes = np.where(codes < 0, len(res) - 1, codes)
    out = res.take(codes)
    out.index = values.index
    return out


def _to_text(values: pd.Series) -> pd.Series:
    """Values as pandas strings (NA kept); numbers lose a ``.0`` only through their parsers."""
    if isinstance(values.dtype, pd.StringDtype):
        return values
    return values.astype("str")


def _blank_to_na(s: pd.Series) -> pd.Series:
    s = s.str.strip()
    return s.mask(s.eq(""))


def _rule_series(index: pd.Index) -> pd.Series:
    """An all-NA string column (built in Arrow: no per-row work)."""
    return pd.Series(pd.array(pa.nulls(len(index), pa.large_string()), dtype="str"), index=index,
                     copy=False)


# ----------------------------------------------------------------------------- dates
_TIME = r"(?:[ T,]+(?P<H>\d{1,2})[:hH](?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,]\d+)?)?\s*(?P<tz>Z|[+\-]\d{2}:?\d{2})?)?"
_DATE_PATTERNS: tuple[tuple[str, str, str], ...] = (
    # (family, order of the a/b fields, regex)
    ("dmy", "dm", r"^(?P<a>\d{1,2})[/.\-](?P<b>\d{1,2})[/.\-](?P<y>\d{4}|\d{2})" + _TIME + "$"),
    ("ymd", "md", r"^(?P<y>\d{4})[/.\-](?P<a>\d{1,2})[/.\-](?P<b>\d{1,2})" + _TIME + "$"),
    ("words", "dm", r"(?i)^(?:ngày|ngay)?\s*(?P<a>\d{1,2})\s+(?:tháng|thang)\s+(?P<b>\d{1,2})"
                    r"(?:\s+(?:năm|nam)|\s*,)?\s+(?P<y>\d{4})$"),
)
_MONTH_NAMES = {m.lower(): i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}
_MONTH_RE = (r"^(?P<a>\d{1,2})[\s\-/]+(?P<mon>[A-Za-z]{3,9})\.?[\s\-/,]+(?P<y>\d{4}|\d{2})$")
_NUMBER_RE = r"^(?P<int>-?\d+)(?:\.(?P<frac>\d+))?$"


def _days_in_month(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    ym = (year.astype("int64") - 1970) * 12 + (month.astype("int64") - 1)
    start = ym.astype("datetime64[M]").astype("datetime64[D]")
    end = (ym + 1).astype("datetime64[M]").astype("datetime64[D]")
    return (end - start).astype("int64")


def _valid_ymd(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    ok = (y >= MIN_YEAR) & (y <= MAX_YEAR) & (m >= 1) & (m <= 12) & (d >= 1)
    dim = _days_in_month(np.where(ok, y, 2000), np.where(ok, m, 1))
    return ok & (d <= dim)


def _build(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    ym = (y.astype("int64") - 1970) * 12 + (m.astype("int64") - 1)
    days = ym.astype("datetime64[M]").astype("datetime64[D]") + (d.astype("int64") - 1)
    return days.astype("datetime64[ns]")


def _int_field(struct: pa.StructArray, name: str, default: int = 0) -> np.ndarray:
    if name not in struct.type.names:
        return np.full(len(struct), default, dtype="int64")
    col = struct.field(name)
    col = pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col)
    return np.asarray(pc.cast(col, pa.int64()).fill_null(default), dtype="int64")


def _tz_offset(struct: pa.StructArray) -> tuple[np.ndarray, np.ndarray]:
    """(has_tz, offset in minutes east of UTC) of an optional ``tz`` group."""
    n = len(struct)
    if "tz" not in struct.type.names:
        return np.zeros(n, bool), np.zeros(n, "int64")
    codes, uniques = pd.factorize(pd.Series(struct.field("tz").fill_null(""), dtype="str"))
    u_off = np.zeros(len(uniques), "int64")
    for i, t in enumerate(uniques):
        t = t.replace(":", "")
        if t and t != "Z":
            u_off[i] = (-1 if t[0] == "-" else 1) * (int(t[1:3]) * 60 + int(t[3:5]))
    has = np.asarray([t != "" for t in uniques], dtype=bool)[codes] if n else np.zeros(0, bool)
    return has, u_off[codes] if n else np.zeros(0, "int64")


def _parse_date_uniques(u: pd.Series, *, kind: str, as_of_year: int, date_only: bool) -> pd.DataFrame:
    """Parse unique non-NA date strings; see ``parse_dates``."""
    n = len(u)
    text = _to_text(u).str.strip()
    arr = pa.array(text.to_numpy(dtype=object, na_value=None), type=pa.string())
    value = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    rule = np.full(n, None, dtype=object)
    status = np.full(n, "unparseable", dtype=object)
    status[np.asarray(pc.equal(arr, "").fill_null(True), dtype=bool)] = "empty"
    todo = status == "unparseable"

    def accept(idx: np.ndarray, vals: np.ndarray, rules: np.ndarray | str | None) -> None:
        value[idx] = vals
        rule[idx] = rules
        status[idx] = "ok"

    sample = arr.slice(0, 2000)
    hits = [-(pc.sum(pc.match_substring_regex(sample, p)).as_py() or 0) for _, _, p in _DATE_PATTERNS]
    patterns = [_DATE_PATTERNS[i] for i in np.argsort(hits, kind="stable")]
    for family, order, pattern in patterns:
        idx = np.flatnonzero(todo)
        if not len(idx):
            break
        st = pc.extract_regex(arr.take(pa.array(idx)), pattern)
        matched = np.asarray(st.is_valid(), dtype=bool)
        if not matched.any():
            continue
        idx, st = idx[matched], st.filter(pa.array(matched))
        y = _int_field(st, "y")
        a, b = _int_field(st, "a"), _int_field(st, "b")
        d, m = (a, b) if order == "dm" else (b, a)
        two = np.asarray(pc.equal(pc.utf8_length(st.field("y")), 2).fill_null(False), dtype=bool)
        if two.any():
            if kind == "birth":
                y = np.where(two, np.where(2000 + y <= as_of_year, 2000 + y, 1900 + y), y)
            else:
                y = np.where(two, 2000 + y, y)
        ok = _valid_ymd(y, m, d)
        swap = ~ok & _valid_ymd(y, d, m)
        dd, mm = np.where(swap, m, d), np.where(swap, d, m)
        good = ok | swap
        hh, mi, ss = _int_field(st, "H"), _int_field(st, "M"), _int_field(st, "S")
        time_ok = (hh < 24) & (mi < 60) & (ss < 61)
        good &= time_ok
        vals = _build(np.where(good, y, 2000), np.where(good, mm, 1), np.where(good, dd, 1))
        has_tz, off = _tz_offset(st)
        if not date_only or has_tz.any():
            vals = vals + (hh * 3600 + mi * 60 + ss).astype("timedelta64[s]")
            shift = np.where(has_tz, LOCAL_UTC_OFFSET.value // 60_000_000_000 - off, 0)
            vals = vals + shift.astype("timedelta64[m]")
            if date_only:
                vals = vals.astype("datetime64[D]").astype("datetime64[ns]")
        r = np.full(len(idx), None, dtype=object)
        r[two] = "date_two_digit_year"
        r[swap] = "date_swap_day_month"
        if family == "words":
            r[:] = np.where(swap, "date_swap_day_month", "date_words")
        accept(idx[good], vals[good], r[good])
        status[idx[~good]] = "impossible"
        todo[idx] = False

    # English month names (Excel "15-Mar-22").
    idx = np.flatnonzero(todo)
    if len(idx):
        st = pc.extract_regex(arr.take(pa.array(idx)), _MONTH_RE)
        matched = np.asarray(st.is_valid(), dtype=bool)
        if matched.any():
            idx, st = idx[matched], st.filter(pa.array(matched))
            mon = np.array([_MONTH_NAMES.get(str(t).lower()[:3], 0) for t in
                            st.field("mon").to_pylist()], dtype="int64")
            ytxt = st.field("y").to_pylist()
            y = _int_field(st, "y")
            two = np.array([len(t) == 2 for t in ytxt], dtype=bool)
            if kind == "birth":
                y = np.where(two, np.where(2000 + y <= as_of_year, 2000 + y, 1900 + y), y)
            else:
                y = np.where(two, 2000 + y, y)
            d = _int_field(st, "a")
            good = (mon > 0) & _valid_ymd(y, mon, d)
            vals = _build(np.where(good, y, 2000), np.where(good, mon, 1), np.where(good, d, 1))
            accept(idx[good], vals[good], "date_month_name")
            status[idx[~good & (mon > 0)]] = "impossible"
            todo[idx[mon > 0]] = False

    # Pure numbers: year only, compact ddmmyyyy / yyyymmdd, Excel serial, epoch s / ms.
    idx = np.flatnonzero(todo)
    if len(idx):
        st = pc.extract_regex(arr.take(pa.array(idx)), _NUMBER_RE)
        matched = np.asarray(st.is_valid(), dtype=bool)
        idx, st = idx[matched], st.filter(pa.array(matched))
        n_digits = np.asarray(pc.utf8_length(pc.utf8_ltrim(st.field("int"), "-")), dtype="int64")
        too_long = n_digits > 15  # beyond int64 milliseconds of any plausible date
        whole = np.asarray(pc.cast(pc.if_else(pa.array(too_long), "0", st.field("int")),
                                   pa.int64()), dtype="int64")
        frac_txt = st.field("frac").fill_null("")
        frac_zero = np.asarray(pc.match_substring_regex(frac_txt, "^0*$"), dtype=bool)
        fraction = np.asarray(pc.cast(pc.binary_join_element_wise("0.", pc.if_else(
            pc.equal(frac_txt, ""), "0", frac_txt), ""), pa.float64()), dtype="float64")
        done = too_long.copy()
        # A bare year: 1 January for a birth date (the platform's convention), unusable for a dose.
        year_only = ~done & (n_digits == 4) & frac_zero & (whole >= MIN_YEAR) & (whole <= MAX_YEAR)
        ok = year_only & (kind == "birth") & (whole <= as_of_year)
        accept(idx[ok], _build(whole[ok], np.ones(ok.sum(), "int64"), np.ones(ok.sum(), "int64")),
               "date_year_only")
        done |= year_only
        # ddmmyyyy or yyyymmdd, when exactly one reading exists.
        compact = ~done & (n_digits == 8) & frac_zero & (whole > 0)
        d1, m1, y1 = whole // 1_000_000, whole // 10_000 % 100, whole % 10_000
        y2, m2, d2 = whole // 10_000, whole // 100 % 100, whole % 100
        v1, v2 = compact & _valid_ymd(y1, m1, d1), compact & _valid_ymd(y2, m2, d2)
        one = v1 ^ v2
        yy, mm, dd = np.where(v1, y1, y2), np.where(v1, m1, m2), np.where(v1, d1, d2)
        accept(idx[one], _build(yy[one], mm[one], dd[one]), "date_compact")
        done |= one | (v1 & v2)
        # Epoch milliseconds, the platform API's format (birthdays near 1970 have few digits, or
        # a minus sign); epoch seconds only for dose-side values in this century.
        epoch = ~done & (n_digits >= 8) & frac_zero
        secs = epoch & (kind == "dose") & (n_digits <= 10) & (whole >= 946_684_800)
        ms = np.where(secs, whole * 1000, whole)
        ts = ms.astype("datetime64[ms]").astype("datetime64[ns]") + np.timedelta64(7, "h")
        # Excel serial day numbers (the fraction is the time of day).
        serial = ~done & ~epoch & (n_digits >= 3) & (n_digits <= 5) & (whole >= 61)
        days = whole + np.where(whole < 0, -fraction, fraction)
        ts_serial = (EXCEL_EPOCH.astype("datetime64[ns]")
                     + (np.round(np.where(serial, days, 0) * 86400)).astype("timedelta64[s]"))
        ts = np.where(serial, ts_serial, ts)
        use = epoch | serial
        year = ts.astype("datetime64[Y]").astype("int64") + 1970
        in_range = use & (year >= MIN_YEAR) & (year <= MAX_YEAR)
        status[idx[use & ~in_range]] = "impossible"
        if date_only:
            ts = ts.astype("datetime64[D]").astype("datetime64[ns]")
        rules = np.where(serial, "date_excel_serial", np.where(secs, "date_epoch_s", "date_epoch_ms"))
        accept(idx[in_range], ts[in_range], rules[in_range].astype(object))

    return pd.DataFrame({
        "value": pd.Series(value, dtype="datetime64[ns]"),
        "rule": pd.Series(rule, dtype="str"),
        "status": pd.Series(status, dtype="str"),
    })


def parse_dates(values: pd.Series, *, kind: str = "dose", as_of: dt.date | None = None,
                date_only: bool = True) -> pd.DataFrame:
    """Parse a column of dates written in any of the formats seen in platform exports.

    Accepts dd/mm/yyyy, d/m/yy, dd-mm-yyyy, dd.mm.yyyy, yyyy-mm-dd (with or without a time or a
    time zone, converted to Vietnam local time), "ngày 5 tháng 3 năm 2022" (any letter case:
    "Ngày 5 tháng 3 năm 2022" at the start of a cell), "15-Mar-22",
    ddmmyyyy, Excel serials, epoch seconds and milliseconds (the platform API), a bare year
    for birth dates (→ 1 January, rule ``date_year_only``), and values already typed as
    datetimes. Day and month are swapped only when the dd/mm reading is impossible and the other
    one is possible. Does not mutate the input.

    Args:
        values: raw column.
        kind: ``"birth"`` (two-digit years pivot on ``as_of``) or ``"dose"`` (20yy).
        as_of: report date, used for the two-digit-year pivot (default: today).
        date_only: drop the time of day (birth and dose dates).

    Returns:
        DataFrame aligned to ``values`` with ``value`` (datetime64[ns], NaT when not usable),
        ``rule`` (the repair applied, NA for a plain re-typing) and ``status`` in
        {ok, empty, unparseable, impossible}.

    Examples:
        >>> r = parse_dates(pd.Series(["5/3/22", "44635", "2022-03-14T17:00:00Z", "x", None]))
        >>> r["value"].dt.strftime("%Y-%m-%d").tolist()
        ['2022-03-05', '2022-03-15', '2022-03-15', nan, nan]
        >>> r["rule"].tolist()
        ['date_two_digit_year', 'date_excel_serial', nan, nan, nan]
        >>> r["status"].tolist()
        ['ok', 'ok', 'ok', 'unparseable', 'empty']
    """
    as_of_year = (as_of or dt.date.today()).year
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        v = values
        if getattr(v.dt, "tz", None) is not None:
            v = v.dt.tz_convert("Asia/Ho_Chi_Minh").dt.tz_localize(None)
        v = v.astype("datetime64[ns]")
        if date_only:
            v = v.dt.normalize()
        return pd.DataFrame({"value": v, "rule": _rule_series(values.index),
                             "status": pd.Series(np.where(v.isna(), "empty", "ok"),
                                                 index=values.index, dtype="str")})
    if values.dtype == object:
        values = values.map(_object_to_text, na_action="ignore")
    text = _to_text(values)
    sample = text.iloc[:20_000]
    if len(text) > 50_000 and sample.nunique() < len(sample) // 4:
        # Few distinct values (dose and birth dates): parse each once.
        out = _on_uniques(text, lambda u: _parse_dates_text(u, kind=kind, as_of_year=as_of_year,
                                                             date_only=date_only))
        out["status"] = out["status"].fillna("empty")
        return out
    return _parse_dates_text(text, kind=kind, as_of_year=as_of_year, date_only=date_only)


def _parse_dates_text(text: pd.Series, *, kind: str, as_of_year: int,
                      date_only: bool) -> pd.DataFrame:
    """``parse_dates`` on a text column: fixed formats at C speed, the rest per unique value."""
    fast, ok = _fast_dates(text, date_only=date_only)
    if ok.all():
        return pd.DataFrame({"value": fast, "rule": _rule_series(text.index),
                             "status": _constant_str("ok", text.index)})
    rest = np.flatnonzero(~ok.to_numpy(bool))
    out = _on_uniques(text.iloc[rest], lambda u: _parse_date_uniques(
        u, kind=kind, as_of_year=as_of_year, date_only=date_only))
    out["status"] = out["status"].fillna("empty")
    if len(rest) == len(text):
        return out.set_axis(text.index)
    value = fast.to_numpy(copy=True)
    value[rest] = out["value"].to_numpy()
    mask = ~ok.to_numpy(bool)
    return pd.DataFrame({
        "value": pd.Series(value, index=text.index),
        "rule": _put_str(_rule_series(text.index), mask, out["rule"]),
        "status": _put_str(_constant_str("ok", text.index), mask, out["status"])})


def _constant_str(value: str, index: pd.Index) -> pd.Series:
    """A string column holding ``value`` on every row (built in Arrow)."""
    arr = pa.array([value], type=pa.large_string()).take(pa.array(np.zeros(len(index), np.int32)))
    return pd.Series(pd.array(arr, dtype="str"), index=index, copy=False)


def _arrow(s: pd.Series) -> pa.Array:
    """A text column as one Arrow string array (no copy for pandas' Arrow-backed strings)."""
    a = getattr(s.array, "_pa_array", None)
    if a is None:
        return pa.array(_to_text(s).to_numpy(dtype=object, na_value=None), type=pa.large_string())
    return a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a


def _put_str(s: pd.Series, mask: np.ndarray, values: pd.Series) -> pd.Series:
    """A copy of string column ``s`` with the rows of ``mask`` replaced by ``values`` (in order)."""
    arr = _arrow(s)
    fill = _arrow(values).cast(arr.type)
    pos = np.cumsum(mask) - 1
    merged = pc.if_else(pa.array(mask), fill.take(pa.array(np.where(mask, pos, 0))), arr)
    return pd.Series(pd.array(merged, dtype=s.dtype), index=s.index, name=s.name, copy=False)


# Zero-padded fixed-width formats, parsed from the bytes of the column: each is a template where
# "d" "m" "Y" "H" "M" "S" are digits of the day, month, year, hour, minute, second and any other
# character must be there as written.
_FAST_FORMATS = (
    "dd/mm/YYYY",
    "YYYY-mm-dd",
    "YYYY-mm-dd HH:MM:SS",
    "YYYY-mm-ddTHH:MM:SS",
    "dd/mm/YYYY HH:MM:SS",
    "dd/mm/YYYY HH:MM",
    "YYYY-mm-dd HH:MM",
)


def _slice_int(arr: pa.Array, start: int, stop: int) -> pa.Array:
    part = pc.utf8_slice_codeunits(arr, start, stop)
    part = pc.if_else(pc.utf8_is_digit(part), part, pa.scalar("-1", pa.string()))
    return pc.cast(part, pa.int64())


def _fixed_width_bytes(arr: pa.Array, width: int) -> np.ndarray:
    """The values of ``arr`` (all ``width`` bytes long, no nulls) as an (n, width) uint8 matrix."""
    arr = arr.cast(pa.large_string()) if arr.type != pa.large_string() else arr
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64, count=len(arr) + 1,
                            offset=arr.offset * 8)
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8) if len(arr) else np.zeros(0, np.uint8)
    return data[offsets[0]:offsets[-1]].reshape(len(arr), width)


_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int32)


def _days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of valid proleptic Gregorian dates (integer arithmetic)."""
    y = y - (m <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + np.where(m > 2, -3, 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _parse_template(b: np.ndarray, template: str) -> tuple[np.ndarray, np.ndarray]:
    """(ok, datetime64[s]) of byte rows ``b`` against a ``_FAST_FORMATS`` template."""
    digit_pos = [i for i, ch in enumerate(template) if ch in "dmYHMS"]
    digits = b[:, digit_pos] - np.uint8(48)  # wraps: a non-digit becomes > 9
    ok = (digits <= 9).all(axis=1)
    for i, ch in enumerate(template):
        if ch not in "dmYHMS":
            ok &= b[:, i] == ord(ch)
    fields: dict[str, np.ndarray] = {}  # garbage on rejected rows, never used there
    for j, i in enumerate(digit_pos):
        ch, digit = template[i], digits[:, j].astype(np.int32)
        fields[ch] = fields[ch] * 10 + digit if ch in fields else digit
    zero = np.zeros(len(b), dtype=np.int32)
    y, m, d = fields["Y"], fields["m"], fields["d"]
    hh, mi, ss = fields.get("H", zero), fields.get("M", zero), fields.get("S", zero)
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    month_ok = (m >= 1) & (m <= 12)
    dim = _MONTH_DAYS[np.where(month_ok, m, 0)] + (leap & (m == 2))
    ok &= (y >= MIN_YEAR) & (y <= MAX_YEAR) & month_ok & (d >= 1) & (d <= dim)
    ok &= (hh < 24) & (mi < 60) & (ss < 60)
    days = _days_from_civil(np.where(ok, y, 2000), np.where(ok, m, 1),
                            np.where(ok, d, 1)).astype(np.int64)
    secs = days * 86400 + (hh * 3600 + mi * 60 + ss)
    return ok, np.where(ok, secs, 0).astype("datetime64[s]")


def _fast_dates(text: pd.Series, *, date_only: bool) -> tuple[pd.Series, pd.Series]:
    """Parse the common zero-padded formats of a whole column at C speed.

    Returns (values, ok): ``ok`` marks the rows parsed here; the others go to the general
    parser (unpadded, two-digit years, serials, swapped day/month, impossible dates…).
    """
    n = len(text)
    arr = pa.array(text.to_numpy(dtype=object, na_value=None), type=pa.string()) \
        if text.dtype == object else pa.array(text)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    arr = pc.cast(arr, pa.large_string()) if arr.type != pa.large_string() else arr
    value = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    ok = np.zeros(n, dtype=bool)
    length = np.asarray(pc.binary_length(arr).fill_null(-1), dtype=np.int64)
    for template in _FAST_FORMATS:
        cand = np.flatnonzero(~ok & (length == len(template)))
        if not len(cand):
            continue
        sub = arr if len(cand) == n else arr.take(pa.array(cand))
        good, vals = _parse_template(_fixed_width_bytes(sub, len(template)), template)
        if not good.any():
            continue
        value[cand[good]] = vals[good]
        ok[cand[good]] = True
    v = pd.Series(value, index=text.index, dtype="datetime64[ns]")
    if date_only:
        v = v.dt.normalize()
    return v, pd.Series(ok, index=text.index)


def _object_to_text(v: object) -> object:
    if isinstance(v, (dt.datetime, dt.date, pd.Timestamp)):
        return pd.Timestamp(v).isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


# ----------------------------------------------------------------------------- ID numbers
@lru_cache(maxsize=1)
def _cccd_codes() -> frozenset[str]:
    return frozenset(refdata.cccd_provinces()["cccd_code"])


def _parse_id_uniques(u: pd.Series) -> pd.DataFrame:
    s = _to_text(u).str.strip()
    n = len(s)
    value = s.copy()
    rule = _rule_series(s.index)
    flag = _rule_series(s.index)

    # Excel scientific notation: "1.9E+11" has lost digits; "1.90900001234E+11" has not.
    maybe_sci = s.str.contains("[eE]", regex=True).fillna(False)
    is_sci = pd.Series(False, index=s.index)
    if maybe_sci.any():
        sci = s[maybe_sci].str.extract(r"^(?P<m>[0-9]+)(?:[.,](?P<f>[0-9]*))?[eE]\+?(?P<e>[0-9]+)$")
        sci = sci.reindex(s.index)
        is_sci = sci["m"].notna()
        mant = (sci["m"].fillna("") + sci["f"].fillna("")).str.lstrip("0")
        exp = pd.to_numeric(sci["e"], errors="coerce").fillna(0).astype(int)
        lead = sci["m"].fillna("").str.lstrip("0").str.len()
        width = exp + lead  # digits of the integer the notation stands for
        exact = is_sci & mant.str.len().eq(width) & lead.eq(1)
        value = value.mask(exact, mant)
        rule = rule.mask(exact, "id_excel_scientific")
        lost = is_sci & ~exact
        value = value.mask(lost, NA)
        rule = rule.mask(lost, "id_excel_lost_digits")
        flag = flag.mask(lost, "id_excel_lost_digits")

    # Excel float rendering "19090000123.0".
    flt = value.str.fullmatch(r"[0-9]+\.0+") & rule.isna()
    value = value.mask(flt, value.str.replace(r"\.0+$", "", regex=True))
    rule = rule.mask(flt, "id_excel_float")

    # Labels and separators: "CCCD: 019 090 000 123", "019.090.000.123", "019-090-000-123".
    label = value.str.fullmatch(r"(?i) *(?:s[ốo] *)?(?:cccd|cmnd|cmt|c[ăa]n *c[ưu][ớo]c|cc)"
                                r"[^0-9]*[0-9][0-9 .\-]*")
    stripped = value.str.replace(r"^[^0-9]*", "", regex=True).where(label, value)
    sep = (stripped.str.fullmatch("[0-9][0-9 .\\-\u00a0]*[0-9]")
           & stripped.str.contains("[ .\\-\u00a0]"))
    stripped = stripped.mask(sep, stripped.str.replace("[ .\\-\u00a0]", "", regex=True))
    changed = stripped.ne(value).fillna(False) & rule.isna()
    rule = rule.mask(changed & label, "id_strip_label").mask(changed & ~label, "id_strip_separators")
    value = stripped

    value = value.mask(value.eq(""), NA)
    # Letter O typed for the digit 0 in an otherwise numeric CCCD/CMND ("O19054491468").
    oh = value.str.fullmatch(r"[0-9Oo]{9}|[0-9Oo]{12}").fillna(False) & value.str.contains("[Oo]")
    value = value.mask(oh, value.str.replace("[Oo]", "0", regex=True))
    rule = rule.mask(oh, "id_letter_o")
    digits = value.str.fullmatch(r"[0-9]+").fillna(False)
    bad = value.notna() & ~digits
    value = value.mask(bad, NA)
    rule = rule.mask(bad, "id_not_digits")
    flag = flag.mask(bad, "id_not_digits")

    # Leading zeros Excel dropped: a 10- or 11-digit value whose zero-padded prefix is a CCCD
    # province code (019…, 006…), or an 8-digit value (a 9-digit CMND starting with 0).
    length = value.str.len()
    z12 = value.str.zfill(12)
    cccd = digits & length.isin([10, 11]) & z12.str[:3].isin(_cccd_codes())
    cmnd = digits & length.eq(8)
    padded = z12.where(cccd, value.str.zfill(9).where(cmnd))
    return pd.DataFrame({"value": value, "rule": rule, "flag": flag,
                         "padded": padded.astype("str"),
                         "restorable": padded.notna().fillna(False).astype(bool)},
                        index=range(n))


def parse_ids(values: pd.Series) -> pd.DataFrame:
    """Normalise CCCD/CMND numbers: strip labels and separators, undo Excel damage.

    Recovers only digits that are certain: ``19090000123.0`` (Excel float) and
    ``1.90900001234E+11`` (all 12 digits shown) are restored; ``1.9E+11`` has lost digits and
    becomes NA with flag ``id_excel_lost_digits``. Text that is not a number becomes NA with flag
    ``id_not_digits``. A 10- or 11-digit value whose zero-padded prefix ``0xx`` is a CCCD
    province code, or an 8-digit value (9-digit CMND), has lost leading zeros to Excel: it is
    marked ``restorable`` with its ``padded`` form, and the caller restores it after checking
    the CCCD digits against the birth date. Does not mutate the input.

    Returns:
        DataFrame aligned to ``values``: ``value`` (digit string or NA), ``rule``, ``flag``,
        ``padded`` (the zero-padded candidate or NA) and ``restorable`` (bool).

    Examples:
        >>> r = parse_ids(pd.Series(["019 090 000 123", "1.9E+11", "19090000123.0", "không có"]))
        >>> r["value"].tolist()
        ['019090000123', nan, '19090000123', nan]
        >>> r["rule"].tolist()
        ['id_strip_separators', 'id_excel_lost_digits', 'id_excel_float', 'id_not_digits']
        >>> r["restorable"].tolist()
        [False, False, True, False]
    """
    out = _parse_noncanonical(_to_text(values), "^(?:[0-9]{9}|[0-9]{12})$", _parse_id_uniques,
                              keep=("value",), false=("restorable",))
    out["restorable"] = out["restorable"].fillna(False).astype(bool)
    return out


def _parse_noncanonical(text: pd.Series, canonical: str,
                        func: Callable[[pd.Series], pd.DataFrame], *, keep: tuple[str, ...],
                        false: tuple[str, ...] = (), true: tuple[str, ...] = ()) -> pd.DataFrame:
    """``_on_uniques(text, func)`` computed only for the values not matching ``canonical``.

    Most values of a column are already in canonical form (a 12-digit CCCD, a valid 10-digit
    mobile); one regex pass finds them and ``func`` parses the rest. A canonical value's result
    must be known without parsing it: the value itself in the ``keep`` columns, False in the
    ``false`` columns, True in the ``true`` columns, NA in the others. Same result as
    ``_on_uniques(text, func)``.
    """
    hit = np.asarray(pc.match_substring_regex(_arrow(text), canonical).fill_null(False), bool)
    if not hit.any():
        return _on_uniques(text, func)
    rest = ~hit
    sub = _on_uniques(text[rest], func) if rest.any() else func(pd.Series([], dtype="str"))
    out = {}
    for col in sub.columns:
        if col in false or col in true:
            a = np.full(len(text), col in true, dtype=bool)
            a[rest] = sub[col].fillna(False).to_numpy(bool)  # NA input: False, as before
            out[col] = pd.Series(a, index=text.index)
        else:
            base = text if col in keep else _rule_series(text.index)
            out[col] = _put_str(base, rest, sub[col]) if rest.any() else base.copy()
    return pd.DataFrame(out, index=text.index)


# ----------------------------------------------------------------------------- phones
@lru_cache(maxsize=1)
def _vn_mobile_pattern() -> str:
    """libphonenumber's pattern for Vietnamese mobile national numbers (9 digits after the 0)."""
    md = phonenumbers.PhoneMetadata.metadata_for_region("VN")
    assert md is not None and md.mobile is not None and md.mobile.national_number_pattern
    return md.mobile.national_number_pattern.replace("\\d", "[0-9]")  # RE2-safe on any data


@lru_cache(maxsize=1)
def phone_migrations() -> dict[str, str]:
    """The 2018 11→10-digit mobile migration, old prefix → new (``refdata.phone_migration``,
    read once); used here and by the linkage's phone keys.

    >>> phone_migrations()["0168"]
    '038'
    """
    t = refdata.phone_migration()
    return dict(zip(t["old_prefix"], t["new_prefix"], strict=True))


def _parse_phone_uniques(u: pd.Series) -> pd.DataFrame:
    raw = _to_text(u)
    s = raw.str.strip()
    rule = _rule_series(s.index)
    # Several numbers in one cell: keep the first.
    many = s.str.contains(r"[0-9]{6,}.*[/,;|].*[0-9]{6,}|[0-9]{9,} *- *[0-9]{9,}",
                          regex=True).fillna(False)
    if many.any():
        first = s[many].str.extract(r"^[^0-9+]*(\+?[0-9 .\-()]+?) *(?:[/,;|]|  *- |$)", expand=False)
        s = s.mask(many, first.reindex(s.index))
    s = s.str.replace(r"^(\+?[0-9]+)\.0+$", r"\1", regex=True)  # Excel float (not "0912.345.000")
    plus = s.str.match(r"^ *\+").fillna(False)
    d = s.str.replace(r"[^0-9]", "", regex=True)
    kind = pd.Series(NA, index=s.index, dtype="str")
    # Country code: +84 / 0084 / 84 followed by a 9-digit (new) or 10-digit (old 01xx) number.
    cc = (plus & d.str.match(r"^84")) | d.str.match(r"^0084") | (
        d.str.fullmatch(r"84[0-9]{9}|841[0-9]{9}"))
    cc = cc.fillna(False)
    d = d.mask(cc, "0" + d.str.replace(r"^(?:00)?84", "", regex=True).str.lstrip("0"))
    kind = kind.mask(cc, "phone_country_code")
    # Lost leading zero (Excel number): 9 digits of a mobile, or 10 digits of an old 1xx number.
    lz = ~cc & d.str.fullmatch(r"[35789][0-9]{8}|1[2-9][0-9]{8}").fillna(False)
    d = d.mask(lz, "0" + d)
    kind = kind.mask(lz, "phone_restore_leading_zero")
    # 11-digit numbers of the 2018 migration.
    old = d.str.fullmatch(r"01[0-9]{9}").fillna(False)
    new_prefix = d.str[:4].map(phone_migrations())
    mig = old & new_prefix.notna()
    d = d.mask(mig, new_prefix + d.str[4:])
    kind = kind.mask(mig, "phone_migrate_11_to_10")
    valid = d.str.fullmatch("0(?:" + _vn_mobile_pattern() + ")").fillna(False)
    value = d.where(valid)
    fmt = valid & kind.isna() & value.ne(raw).fillna(True)
    kind = kind.mask(fmt, "phone_format")
    kind = kind.mask(many & valid, "phone_first_of_many")
    invalid = ~valid & s.notna() & s.ne("")
    rule = kind.where(valid, NA).mask(invalid, "phone_invalid")
    return pd.DataFrame({"value": value.astype("str"), "rule": rule, "valid": valid.astype(bool),
                         "invalid": invalid.fillna(False).astype(bool)})


def parse_phones(values: pd.Series) -> pd.DataFrame:
    """Vietnamese mobile numbers in national 10-digit form ``0xxxxxxxxx``.

    Handles ``+84``/``84``/``0084`` prefixes, separators, Excel floats and lost leading zeros,
    several numbers in one cell (keeps the first) and the 2018 11→10-digit migration
    (``refdata.phone_migration``). Validity uses libphonenumber's Vietnamese mobile pattern
    (the ``phonenumbers`` metadata), applied to whole columns. Invalid values become NA with rule
    ``phone_invalid``. Does not mutate the input.

    Returns:
        DataFrame aligned to ``values``: ``value``, ``rule``, ``valid`` (bool), ``invalid``
        (bool: a non-empty value that could not be used).

    Examples:
        >>> r = parse_phones(pd.Series(["0084 912-345-678", "912345678", "12345", None]))
        >>> r["value"].tolist()
        ['0912345678', '0912345678', nan, nan]
        >>> r["rule"].tolist()
        ['phone_country_code', 'phone_restore_leading_zero', 'phone_invalid', nan]
    """
    out = _parse_noncanonical(_to_text(values), "^0(?:" + _vn_mobile_pattern() + ")$",
                              _parse_phone_uniques, keep=("value",), true=("valid",),
                              false=("invalid",))
    for col in ("valid", "invalid"):
        out[col] = out[col].fillna(False).astype(bool)
    return out


# ----------------------------------------------------------------------------- gender
_GENDER = {
    "M": ["nam", "nam gioi", "male", "m", "1", "trai", "con trai", "man", "boy", "gioi tinh nam"],
    "F": ["nu", "nu gioi", "female", "f", "2", "gai", "con gai", "woman", "girl", "gioi tinh nu",
          "nũ", "nư"],
}
_GENDER_KEYS = {header_key(k): code for code, ks in _GENDER.items() for k in ks}
_GENDER_SILENT = {"Nam": "M", "Nữ": "F", "M": "M", "F": "F", "1": "M", "2": "F"}


def parse_gender(values: pd.Series) -> pd.DataFrame:
    """Gender as ``"M"``/``"F"`` from Vietnamese, English and genderId (1 male, 2 female) forms.

    The plain forms ``Nam``, ``Nữ``, ``M``, ``F``, ``1``, ``2`` are re-typed silently; other
    spellings get rule ``gender_normalise``; unknown values become NA with ``gender_unknown``.
    Does not mutate the input.

    Examples:
        >>> parse_gender(pd.Series(["Nam", "nu", "Nữ giới", "2.0", "khác"]))["value"].tolist()
        ['M', 'F', 'F', 'F', nan]
    """
    def one(u: pd.Series) -> pd.DataFrame:
        s = _to_text(u).str.strip()
        key = s.map(lambda x: header_key(re.sub(r"\.0+$", "", x)), na_action="ignore")
        value = key.map(_GENDER_KEYS).astype("str")
        silent = s.isin(list(_GENDER_SILENT))
        rule = pd.Series(np.where(value.isna(), "gender_unknown",
                                  np.where(silent, np.array(None), "gender_normalise")), dtype="str")
        rule = rule.mask(s.fillna("").eq(""), NA)
        return pd.DataFrame({"value": value, "rule": rule})
    return _on_uniques(_to_text(values), one)


# ----------------------------------------------------------------------------- dose numbers
_WORD_NUM = {"mot": 1, "nhat": 1, "hai": 2, "ba": 3, "bon": 4, "tu": 4, "nam": 5}


def _dose_number_one(text: str) -> tuple[int | None, str | None]:
    raw = text.strip()
    if re.fullmatch(r"\d+", raw):
        return int(raw), None
    if re.fullmatch(r"Mũi \d+", raw):
        return int(raw[4:]), None
    k = header_key(raw)
    m = re.fullmatch(r"(\d+)\.0*", k)
    if m:
        return int(m.group(1)), "dose_number_text"
    booster = re.search(r"nhac lai|tang cuong|booster", k)
    if booster:
        m = re.search(r"(?:lan|thu|so)\s*(\d+)", k)
        if m:
            return 2 + int(m.group(1)), "dose_number_booster"
        m = re.search(r"(?:lan|thu)\s*(mot|nhat|hai|ba)\b", k)
        if m:
            return 2 + _WORD_NUM[m.group(1)], "dose_number_booster"
        m = re.search(r"\bmui\s*(\d+)", k)
        if m:
            return int(m.group(1)), "dose_number_text"
        return 3, "dose_number_booster_seq"
    if re.search(r"bo sung|additional", k):
        return 3, "dose_number_additional_seq"
    m = re.fullmatch(r"(?:mui|lan|dose|m|so)?\s*(?:tiem\s*)?(?:thu|so|:|#)?\s*(\d+)\s*(?:\(.*\))?", k)
    if m:
        return int(m.group(1)), "dose_number_text"
    m = re.fullmatch(r"(?:mui|lan)\s*(?:thu\s*)?(mot|nhat|hai|ba|bon|tu)", k)
    if m:
        return _WORD_NUM[m.group(1)], "dose_number_text"
    return None, "dose_number_unknown"


def parse_dose_numbers(values: pd.Series) -> pd.DataFrame:
    """Dose number (1-based, Int64) from "Mũi 1", "mũi 2", "2.0", "Mũi nhắc lại lần 1" (→ 3)…

    Booster *k* ("Mũi nhắc lại lần 2") is dose 2 + *k*. A booster ("nhắc lại", "tăng cường")
    or an additional dose ("mũi bổ sung") without a number is dose 3 here, with a rule ending in
    ``_seq``: the caller may place it in the person's sequence (``clean.parse_dose_numbers``).
    Does not mutate the input.

    Examples:
        >>> r = parse_dose_numbers(pd.Series(["Mũi 1", "mũi 2", "Mũi nhắc lại lần 1", "2.0", "?"]))
        >>> r["value"].tolist()
        [1, 2, 3, 2, <NA>]
        >>> r["rule"].tolist()
        [nan, 'dose_number_text', 'dose_number_booster', 'dose_number_text', 'dose_number_unknown']
        >>> parse_dose_numbers(pd.Series(["Mũi nhắc lại", "Mũi bổ sung"]))["rule"].tolist()
        ['dose_number_booster_seq', 'dose_number_additional_seq']
    """
    if pd.api.types.is_integer_dtype(values.dtype):
        return pd.DataFrame({"value": values.astype("Int64"), "rule": _rule_series(values.index)})

    def one(u: pd.Series) -> pd.DataFrame:
        pairs = [_dose_number_one(x) for x in _to_text(u).tolist()]
        vals = pd.array([p[0] for p in pairs], dtype="Int64")
        vals = pd.array(np.where(pd.isna(vals) | (vals < 1) | (vals > 9), None, vals), dtype="Int64")
        rules = [p[1] if v is not pd.NA else "dose_number_unknown" for p, v in zip(pairs, vals, strict=True)]
        empty = _to_text(u).str.strip().eq("").to_numpy()
        rules = [None if e else r for r, e in zip(rules, empty, strict=True)]
        return pd.DataFrame({"value": vals, "rule": pd.array(rules, dtype="str")})

    if values.dtype.kind == "f":
        values = values.astype("Int64").astype("str")
    return _on_uniques(_to_text(values), one)


# ----------------------------------------------------------------------------- vaccines
_VACCINE_NOISE = r"\b(?:vac ?xin|vaccine|vaccin|vx|covid ?-? ?19|covid|sars-cov-2|phong|lieu|mui)\b"


def _squash(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key)


@lru_cache(maxsize=1)
def _vaccine_keys() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(folded exact key → code, squashed key → code, code → canonical name)."""
    t = refdata.vaccines()
    exact: dict[str, str] = {}
    for code, name, aliases in zip(t["vaccine_code"], t["canonical_name"], t["aliases"], strict=True):
        for a in [name, code, *aliases.split("|")]:
            exact.setdefault(header_key(a), code)
    squashed: dict[str, str] = {}
    for k, code in exact.items():
        squashed.setdefault(_squash(k), code)
    names = dict(zip(t["vaccine_code"], t["canonical_name"], strict=True))
    return exact, squashed, names


def _match_vaccine(text: str, threshold: float) -> tuple[str | None, str | None]:
    exact, squashed, names = _vaccine_keys()
    if text in names.values():
        return next(c for c, n in names.items() if n == text), None
    k = header_key(text)
    if not k:
        return None, "vaccine_missing"
    if k in exact:
        return exact[k], "vaccine_alias"
    core = re.sub(_VACCINE_NOISE, " ", k)
    core = re.sub(r"\((?:lo|lot|so lo)[^)]*\)|\b(?:lo|lot)\s*[:#]?\s*\w+", " ", core)
    sq = _squash(core)
    if not sq:
        return None, "vaccine_unknown"
    if sq in squashed:
        return squashed[sq], "vaccine_alias"
    # A known alias inside a longer text, when all such aliases agree on one product.
    hits = {code for key, code in squashed.items() if len(key) >= 5 and key in sq}
    if len(hits) == 1:
        return hits.pop(), "vaccine_contains"
    # A truncated product name ("Vero", "Spikev"), when it starts only one product's aliases.
    if len(sq) >= 4:
        hits = {code for key, code in squashed.items() if key.startswith(sq)}
        if len(hits) == 1:
            return hits.pop(), "vaccine_contains"
    if len(sq) >= 4:
        best = process.extractOne(sq, list(squashed), scorer=fuzz.ratio, score_cutoff=threshold)
        if best is not None:
            return squashed[best[0]], "vaccine_fuzzy"
    return None, "vaccine_unknown"


def parse_vaccines(values: pd.Series, *, threshold: float = 85.0) -> pd.DataFrame:
    """Canonical vaccine name and code from free text, brand names and misspellings.

    Matching works on folded text (``header_key``): exact canonical name (silent), then exact
    alias from ``vaccines.csv`` (``vaccine_alias``), then an alias contained in a longer text
    when only one product matches (``vaccine_contains``), then rapidfuzz ``ratio`` ≥
    ``threshold`` on the squashed aliases (``vaccine_fuzzy``). Unmatched → NA, rule
    ``vaccine_unknown`` (``vaccine_missing`` when empty). Does not mutate the input.

    Examples:
        >>> r = parse_vaccines(pd.Series(["Pfizer", "astra zeneca", "Vắc xin Sinopharm", "Moderma", "Sinovac"]))
        >>> r["value"].tolist()
        ['Pfizer', 'AstraZeneca', 'Vero Cell', 'Moderna', nan]
        >>> r["rule"].tolist()
        [nan, 'vaccine_alias', 'vaccine_alias', 'vaccine_fuzzy', 'vaccine_unknown']
    """
    _, _, names = _vaccine_keys()

    def one(u: pd.Series) -> pd.DataFrame:
        pairs = [_match_vaccine(x, threshold) for x in _to_text(u).tolist()]
        codes = pd.array([p[0] for p in pairs], dtype="str")
        return pd.DataFrame({"value": pd.Series(codes).map(names).astype("str"),
                             "code": codes,
                             "rule": pd.array([p[1] for p in pairs], dtype="str")})

    out = _on_uniques(_to_text(values), one)
    out["rule"] = out["rule"].where(values.notna(), "vaccine_missing")
    return out
