"""The date parser: every date format seen in the platform's exports, parsed a whole column at a time.

``parse_dates`` first reads the common zero-padded formats (dd/mm/yyyy, ISO) straight from the
bytes of the column (``_fast_dates``); the rest go, one unique value each, through the general
parser ``_parse_date_uniques``, whose stages try in turn the written patterns (dd/mm/yyyy and
kin, ISO order, Vietnamese words), English month names ("15-Mar-22") and pure numbers (a bare
year, ddmmyyyy, epoch seconds and milliseconds, Excel serials). Day and month are swapped only
when the written order is impossible.

Examples:
    >>> parse_dates(pd.Series(["15/03/2022", "03/15/2022", "31/02/2022"]))["value"].tolist()
    [Timestamp('2022-03-15 00:00:00'), Timestamp('2022-03-15 00:00:00'), NaT]
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from vaxreport.cleansing.columns import const_str, fixed_width_bytes, na_str, on_uniques, put_str, to_text

__all__ = ["EXCEL_EPOCH", "LOCAL_UTC_OFFSET", "MAX_YEAR", "MIN_YEAR", "parse_dates"]

LOCAL_UTC_OFFSET = pd.Timedelta(hours=7)  # Asia/Ho_Chi_Minh, no DST
MIN_YEAR, MAX_YEAR = 1900, 2100
EXCEL_EPOCH = np.datetime64("1899-12-30", "D")


# ----------------------------------------------------------------------------- general parser
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


@dataclass
class _DateParse:
    """Results of ``_parse_date_uniques`` being filled in, stage by stage, for ``n`` values.

    ``todo`` marks the values no stage has decided yet; a stage that recognises a value's
    shape decides it (``accept`` it, or mark it impossible) and clears its ``todo``.
    """

    arr: pa.Array
    kind: str
    as_of_year: int
    date_only: bool
    value: np.ndarray
    rule: np.ndarray
    status: np.ndarray
    todo: np.ndarray

    @classmethod
    def start(cls, u: pd.Series, *, kind: str, as_of_year: int, date_only: bool) -> _DateParse:
        n = len(u)
        text = to_text(u).str.strip()
        arr = pa.array(text.to_numpy(dtype=object, na_value=None), type=pa.string())
        status = np.full(n, "unparseable", dtype=object)
        status[np.asarray(pc.equal(arr, "").fill_null(True), dtype=bool)] = "empty"
        return cls(arr=arr, kind=kind, as_of_year=as_of_year, date_only=date_only,
                   value=np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]"),
                   rule=np.full(n, None, dtype=object), status=status,
                   todo=status == "unparseable")

    def accept(self, idx: np.ndarray, vals: np.ndarray, rules: np.ndarray | str | None) -> None:
        self.value[idx] = vals
        self.rule[idx] = rules
        self.status[idx] = "ok"

    def extract(self, pattern: str) -> tuple[np.ndarray, pa.StructArray | None]:
        """(positions, regex groups) of the undecided values matching ``pattern``."""
        idx = np.flatnonzero(self.todo)
        if not len(idx):
            return idx, None
        st = pc.extract_regex(self.arr.take(pa.array(idx)), pattern)
        matched = np.asarray(st.is_valid(), dtype=bool)
        return idx[matched], st.filter(pa.array(matched))

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({
            "value": pd.Series(self.value, dtype="datetime64[ns]"),
            "rule": pd.Series(self.rule, dtype="str"),
            "status": pd.Series(self.status, dtype="str"),
        })


def _two_digit_years(y: np.ndarray, two: np.ndarray, kind: str, as_of_year: int) -> np.ndarray:
    """Years written with two digits: a birth year pivots on the report year, a dose year is 20yy."""
    if kind == "birth":
        return np.where(two, np.where(2000 + y <= as_of_year, 2000 + y, 1900 + y), y)
    return np.where(two, 2000 + y, y)


def _written_patterns(p: _DateParse) -> None:
    """Stage 1: dd/mm/yyyy, yyyy-mm-dd (with a time, a time zone) and Vietnamese words."""
    sample = p.arr.slice(0, 2000)
    hits = [-(pc.sum(pc.match_substring_regex(sample, pat)).as_py() or 0) for _, _, pat in _DATE_PATTERNS]
    patterns = [_DATE_PATTERNS[i] for i in np.argsort(hits, kind="stable")]
    for family, order, pattern in patterns:
        if not p.todo.any():
            break
        idx, st = p.extract(pattern)
        if st is None or not len(idx):
            continue
        y = _int_field(st, "y")
        a, b = _int_field(st, "a"), _int_field(st, "b")
        d, m = (a, b) if order == "dm" else (b, a)
        two = np.asarray(pc.equal(pc.utf8_length(st.field("y")), 2).fill_null(False), dtype=bool)
        if two.any():
            y = _two_digit_years(y, two, p.kind, p.as_of_year)
        ok = _valid_ymd(y, m, d)
        swap = ~ok & _valid_ymd(y, d, m)
        dd, mm = np.where(swap, m, d), np.where(swap, d, m)
        good = ok | swap
        hh, mi, ss = _int_field(st, "H"), _int_field(st, "M"), _int_field(st, "S")
        time_ok = (hh < 24) & (mi < 60) & (ss < 61)
        good &= time_ok
        vals = _build(np.where(good, y, 2000), np.where(good, mm, 1), np.where(good, dd, 1))
        has_tz, off = _tz_offset(st)
        if not p.date_only or has_tz.any():
            vals = vals + (hh * 3600 + mi * 60 + ss).astype("timedelta64[s]")
            shift = np.where(has_tz, LOCAL_UTC_OFFSET.value // 60_000_000_000 - off, 0)
            vals = vals + shift.astype("timedelta64[m]")
            if p.date_only:
                vals = vals.astype("datetime64[D]").astype("datetime64[ns]")
        r = np.full(len(idx), None, dtype=object)
        r[two] = "date_two_digit_year"
        r[swap] = "date_swap_day_month"
        if family == "words":
            r[:] = np.where(swap, "date_swap_day_month", "date_words")
        p.accept(idx[good], vals[good], r[good])
        p.status[idx[~good]] = "impossible"
        p.todo[idx] = False


def _month_names(p: _DateParse) -> None:
    """Stage 2: English month names (Excel "15-Mar-22")."""
    idx, st = p.extract(_MONTH_RE)
    if st is None or not len(idx):
        return
    mon = np.array([_MONTH_NAMES.get(str(t).lower()[:3], 0) for t in
                    st.field("mon").to_pylist()], dtype="int64")
    ytxt = st.field("y").to_pylist()
    y = _int_field(st, "y")
    two = np.array([len(t) == 2 for t in ytxt], dtype=bool)
    y = _two_digit_years(y, two, p.kind, p.as_of_year)
    d = _int_field(st, "a")
    good = (mon > 0) & _valid_ymd(y, mon, d)
    vals = _build(np.where(good, y, 2000), np.where(good, mon, 1), np.where(good, d, 1))
    p.accept(idx[good], vals[good], "date_month_name")
    p.status[idx[~good & (mon > 0)]] = "impossible"
    p.todo[idx[mon > 0]] = False


def _numbers(p: _DateParse) -> None:
    """Stage 3: pure numbers: year only, compact ddmmyyyy / yyyymmdd, Excel serial, epoch s / ms."""
    if not p.todo.any():
        return
    idx, st = p.extract(_NUMBER_RE)
    assert st is not None
    kind, as_of_year = p.kind, p.as_of_year
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
    p.accept(idx[ok], _build(whole[ok], np.ones(ok.sum(), "int64"), np.ones(ok.sum(), "int64")),
             "date_year_only")
    done |= year_only
    # ddmmyyyy or yyyymmdd, when exactly one reading exists.
    compact = ~done & (n_digits == 8) & frac_zero & (whole > 0)
    d1, m1, y1 = whole // 1_000_000, whole // 10_000 % 100, whole % 10_000
    y2, m2, d2 = whole // 10_000, whole // 100 % 100, whole % 100
    v1, v2 = compact & _valid_ymd(y1, m1, d1), compact & _valid_ymd(y2, m2, d2)
    one = v1 ^ v2
    yy, mm, dd = np.where(v1, y1, y2), np.where(v1, m1, m2), np.where(v1, d1, d2)
    p.accept(idx[one], _build(yy[one], mm[one], dd[one]), "date_compact")
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
    p.status[idx[use & ~in_range]] = "impossible"
    if p.date_only:
        ts = ts.astype("datetime64[D]").astype("datetime64[ns]")
    rules = np.where(serial, "date_excel_serial", np.where(secs, "date_epoch_s", "date_epoch_ms"))
    p.accept(idx[in_range], ts[in_range], rules[in_range].astype(object))


def _parse_date_uniques(u: pd.Series, *, kind: str, as_of_year: int, date_only: bool) -> pd.DataFrame:
    """Parse unique non-NA date strings; see ``parse_dates``. The stages run in order, each on
    the values the earlier ones left undecided."""
    p = _DateParse.start(u, kind=kind, as_of_year=as_of_year, date_only=date_only)
    _written_patterns(p)
    _month_names(p)
    _numbers(p)
    return p.frame()


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
        return pd.DataFrame({"value": v, "rule": na_str(values.index),
                             "status": pd.Series(np.where(v.isna(), "empty", "ok"),
                                                 index=values.index, dtype="str")})
    if values.dtype == object:
        values = values.map(_object_to_text, na_action="ignore")
    text = to_text(values)
    sample = text.iloc[:20_000]
    if len(text) > 50_000 and sample.nunique() < len(sample) // 4:
        # Few distinct values (dose and birth dates): parse each once.
        out = on_uniques(text, lambda u: _parse_dates_text(u, kind=kind, as_of_year=as_of_year,
                                                             date_only=date_only))
        out["status"] = out["status"].fillna("empty")
        return out
    return _parse_dates_text(text, kind=kind, as_of_year=as_of_year, date_only=date_only)


def _parse_dates_text(text: pd.Series, *, kind: str, as_of_year: int,
                      date_only: bool) -> pd.DataFrame:
    """``parse_dates`` on a text column: fixed formats at C speed, the rest per unique value."""
    fast, ok = _fast_dates(text, date_only=date_only)
    if ok.all():
        return pd.DataFrame({"value": fast, "rule": na_str(text.index),
                             "status": const_str("ok", text.index)})
    rest = np.flatnonzero(~ok.to_numpy(bool))
    out = on_uniques(text.iloc[rest], lambda u: _parse_date_uniques(
        u, kind=kind, as_of_year=as_of_year, date_only=date_only))
    out["status"] = out["status"].fillna("empty")
    if len(rest) == len(text):
        return out.set_axis(text.index)
    value = fast.to_numpy(copy=True)
    value[rest] = out["value"].to_numpy()
    mask = ~ok.to_numpy(bool)
    return pd.DataFrame({
        "value": pd.Series(value, index=text.index),
        "rule": put_str(na_str(text.index), mask, out["rule"]),
        "status": put_str(const_str("ok", text.index), mask, out["status"])})


# ----------------------------------------------------------------------------- fast path
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
        good, vals = _parse_template(fixed_width_bytes(sub, len(template)), template)
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

