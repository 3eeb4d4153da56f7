"""Seeded synthetic Thái Nguyên province with ground truth (the embedded default data).

``generate(out, scale=1.0, seed=2022)`` writes the five raw inputs the way the platform and the
sites export them (Vietnamese headers, Vietnamese status values, mixed date formats, UTF-8 with
BOM for the dose line list), a run-params YAML and the ground truth (``docs/CONTRACTS.md``,
"Synthetic province"). At ``scale=1`` the province totals equal Báo cáo 2102/BC-SYT (31/5/2022):
2,924,867 doses administered, 2,756,537 dose rows on the platform (duplicates included),
2,496,793 of them signed, 2,628 feedback tickets all handled, 200,763 persons checked by police.

How it is built (all vectorised with numpy / pyarrow compute):

1. households (head, spouse, up to three children, an elder) sharing surname line, phone and
   address, placed in communes weighted by the 2019 district populations;
2. persons: names from ``data/names_*.csv``, CCCD/CMND consistent with birth year and sex,
   phones with current mobile prefixes (checked with ``phonenumbers``), BHYT numbers;
3. true dose histories: first dose from an age-group calendar (adults from 3/2021, 12–17 from
   11/2021, 5–11 from 4/2022), the period's vaccine mix, primary intervals, mũi 3 and mũi 4;
   persons are cut where the cumulative dose count reaches the target exactly;
4. platform records: a second ``person_ref`` for persons registered again at another site,
   injected errors (``ERROR_KINDS``, rates in ``ErrorRates``), duplicate dose rows; the
   verification status follows the record's errors (Excel-mangled IDs are export artifacts and
   still verify); the seed's signed count is filled verified records first, and doses entered
   in the last 3 days are unsigned; rows are exported in order of entry;
5. site tallies (platform doses + doses never entered), feedback tickets, the police registry
   extract and the commune population denominators.

Examples:
    >>> sorted(ERROR_KINDS)[:3]
    ['birth_date_swapped', 'commune_moved', 'dose_date_before_birth']
    >>> scaled_totals(0.001)["dose_rows"]
    2757
"""

from __future__ import annotations

import datetime as dt
import json
import time
import unicodedata
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import yaml

from vaxreport import refdata
from vaxreport.text import encode_legacy

# --------------------------------------------------------------------------------------------
# Constants: the seed report, the period, the province
# --------------------------------------------------------------------------------------------

SEED_TOTALS: dict[str, int] = {
    "doses_administered": 2_924_867,  # sum of site_tallies.doses_administered
    "dose_rows": 2_756_537,  # rows of doses.csv, injected duplicates included
    "signed": 2_496_793,  # rows with sign_status signed
    "feedback": 2_628,  # tickets, all handled (approved or rejected)
    "registry": 200_763,  # persons checked by police (rows of registry.csv)
}
PROVINCE_CODE = "19"
PROVINCE_NAME = "Thái Nguyên"
PERIOD_END = np.datetime64("2022-05-31", "D")
CAMPAIGN_START = np.datetime64("2021-03-08", "D")
REPORT_DATE = "2022-06-01"

#: 2019 census population of the pre-2025 districts (DOMAIN.md §8); communes share it.
DISTRICT_POPULATION: dict[str, int] = {
    "164": 340_403, "165": 69_382, "167": 89_288, "168": 102_292, "169": 92_421,
    "170": 68_080, "171": 171_703, "172": 196_378, "173": 156_804,
}

#: Closed vocabulary of injected error kinds (``doses_truth.errors``, ``persons_truth.errors``).
ERROR_KINDS: dict[str, str] = {
    # person record (one person_ref; shows on every dose row of that record)
    "duplicate_person": "second person_ref for a person already registered (other site)",
    "name_typo": "one letter deleted, doubled, swapped, or one tone mark changed/dropped",
    "name_no_diacritics": "name typed without Vietnamese diacritics",
    "name_nfd": "name stored decomposed (NFD)",
    "name_tcvn3": "name in TCVN3 (ABC) mojibake, as typed in a .VnTime font",
    "name_vni": "name in VNI-Windows mojibake, as typed in a VNI font",
    "name_case_spacing": "name in upper/lower case or with extra spaces",
    "name_incomplete": "middle name missing",
    "gender_wrong": "gender flipped",
    "birth_date_swapped": "day and month of birth swapped (both ≤ 12)",
    "commune_moved": "registered in another commune than the person's own",
    "id_missing": "person has an ID but the record has none",
    "id_malformed": "ID with a digit dropped/added or a letter O for 0",
    "id_digit_error": "one digit of the ID wrong (century/sex, year or serial)",
    "id_of_relative": "a child registered with a household adult's ID",
    "id_other_document": "the old 9-digit CMND instead of the person's CCCD",
    "id_excel_scientific": "ID mangled by Excel into scientific notation (1.90851E+10)",
    "id_leading_zero_lost": "ID lost its leading zero (Excel number)",
    "phone_missing": "person has a phone but the record has none",
    "phone_other": "another phone than on the person's first record",
    "phone_old_11_digit": "pre-2018 11-digit mobile number (prefix migration reversed)",
    "phone_country_code": "phone written with +84 / 84 prefix",
    "phone_malformed": "phone with a digit dropped",
    # dose row
    "dose_duplicate": "the same dose entered again (dup_of names the original row)",
    "dose_missing": "the previous dose of this person was never entered (gap before this row)",
    "dose_number_wrong": "dose number (mũi) entered wrong",
    "doses_out_of_order": "dose numbers of two consecutive doses swapped",
    "dose_date_swapped": "day and month of the dose date swapped (both ≤ 12)",
    "dose_date_impossible": "dose date that does not exist (31/02, 31/04, …)",
    "dose_date_future": "dose date after the end of the period",
    "dose_date_before_birth": "dose date before the person's birth (year typed as birth year - 1)",
    "vaccine_alias": "vaccine written as an alias/variant instead of the product name",
}


@dataclass(frozen=True)
class ErrorRates:
    """Rates of injected errors (probabilities per person record or per dose row).

    Person-record rates apply to every ``person_ref``; ``duplicate_person`` is the share of
    persons with ≥ 2 doses who were registered again. The second record of a duplicate person
    draws its own perturbations from the ``dup_*`` rates. Row rates apply per dose row;
    ``dose_duplicate`` is the share of exported rows that are duplicates and ``dose_missing`` the
    number of never-entered doses as a share of the platform's unique doses.

    Examples:
        >>> ErrorRates().duplicate_person
        0.03
        >>> ErrorRates(name_typo=0.0).name_typo
        0.0
    """

    duplicate_person: float = 0.03
    name_typo: float = 0.012
    name_no_diacritics: float = 0.01
    name_nfd: float = 0.005
    name_tcvn3: float = 0.004
    name_vni: float = 0.003
    name_case_spacing: float = 0.01
    name_incomplete: float = 0.004
    gender_wrong: float = 0.004
    birth_date_swapped: float = 0.006
    id_missing: float = 0.01
    id_malformed: float = 0.006
    id_digit_error: float = 0.01
    id_of_relative: float = 0.02  # of children with a household adult holding an ID
    id_excel_scientific: float = 0.004
    id_leading_zero_lost: float = 0.008
    phone_missing: float = 0.01
    phone_old_11_digit: float = 0.02
    phone_country_code: float = 0.02
    phone_malformed: float = 0.004
    dose_duplicate: float = 0.02
    dose_missing: float = 0.004
    dose_number_wrong: float = 0.006
    doses_out_of_order: float = 0.003
    dose_date_swapped: float = 0.004
    dose_date_impossible: float = 0.0008
    dose_date_future: float = 0.0008
    dose_date_before_birth: float = 0.0005
    vaccine_alias: float = 0.05
    # perturbations of the second record of a duplicate person
    dup_name_variant: float = 0.45
    dup_id_missing: float = 0.25
    dup_id_other_document: float = 0.08
    dup_phone_other: float = 0.3
    dup_phone_missing: float = 0.05
    dup_birth_date_swapped: float = 0.1
    dup_commune_moved: float = 0.35
    dup_gender_wrong: float = 0.02

    def __post_init__(self) -> None:
        bad = {f.name: getattr(self, f.name) for f in fields(self)
               if not 0.0 <= float(getattr(self, f.name)) <= 1.0}
        if bad:
            raise ValueError(f"error rates must lie in [0, 1], got {bad}")


@dataclass
class SynthSummary:
    """What ``generate`` wrote: totals, error counts, timings.

    Examples:
        >>> s = SynthSummary(out=Path("x"), scale=1.0, seed=1, totals={"dose_rows": 5})
        >>> "dose_rows" in s.describe()
        True
    """

    out: Path
    scale: float
    seed: int
    totals: dict[str, int] = field(default_factory=dict)
    error_rows: dict[str, int] = field(default_factory=dict)
    error_refs: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def describe(self) -> str:
        """Totals as a short human-readable block."""
        lines = [f"synthetic Thái Nguyên, scale {self.scale:g}, seed {self.seed} -> {self.out}"]
        for key, value in self.totals.items():
            lines.append(f"  {key:<24} {value:>12,}")
        if self.error_rows:
            worst = sorted(self.error_rows.items(), key=lambda kv: -kv[1])
            lines.append("  error rows: " + ", ".join(f"{k} {v:,}" for k, v in worst))
        lines.append(f"  written in {self.seconds:.1f} s")
        return "\n".join(lines)


def scaled_totals(scale: float) -> dict[str, int]:
    """The seed report's totals at ``scale`` (half-up rounding).

    Examples:
        >>> scaled_totals(1.0)["signed"]
        2496793
        >>> scaled_totals(0.002)["feedback"]
        5
    """
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale!r}")
    return {k: int(np.floor(v * scale + 0.5)) for k, v in SEED_TOTALS.items()}


# --------------------------------------------------------------------------------------------
# Small vectorised helpers
# --------------------------------------------------------------------------------------------

def _p(w: np.ndarray | list[float]) -> np.ndarray:
    a = np.asarray(w, dtype=float)
    return a / a.sum()


def _s(values: np.ndarray | pa.Array) -> pa.Array:
    """Integers as strings."""
    arr = values if isinstance(values, pa.Array) else pa.array(values)
    return pc.cast(arr, pa.string())


def _pad(values: np.ndarray, width: int) -> pa.Array:
    return pc.utf8_lpad(_s(values), width=width, padding="0")


def _join(*parts: pa.Array | str, sep: str = "") -> pa.Array:
    return pc.binary_join_element_wise(*parts, sep)


def _ymd_exact(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d64 = days.astype("datetime64[D]")
    y = d64.astype("datetime64[Y]")
    m = d64.astype("datetime64[M]")
    return (y.astype(np.int64) + 1970, (m - y.astype("datetime64[M]")).astype(np.int64) + 1,
            (d64 - m.astype("datetime64[D]")).astype(np.int64) + 1)


def _ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month, day of dates given as days since 1970-01-01 (lookup over the date range).

    >>> [int(x[0]) for x in _ymd(np.array([19143]))]
    [2022, 5, 31]
    """
    days = np.asarray(days, dtype=np.int64)
    if days.size < 4096:
        return _ymd_exact(days)
    lo = int(days.min())
    span = int(days.max()) - lo + 1
    if span > days.size:
        return _ymd_exact(days)
    y, m, d = _ymd_exact(np.arange(lo, lo + span))
    k = days - lo
    return y[k], m[k], d[k]


def _seconds(days: np.ndarray) -> np.ndarray:
    """Days since epoch as ``datetime64[s]`` (pandas reads them as datetimes)."""
    return days.astype("datetime64[D]").astype("datetime64[s]")


def _days(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    months = (np.asarray(y) - 1970) * 12 + np.asarray(m) - 1
    return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) + np.asarray(d) - 1


def _pick(mask: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask: each True of ``mask`` kept with probability ``rate``."""
    return mask & (rng.random(mask.shape[0]) < rate)


def _unique_numbers(prefix: np.ndarray, digits: int, rng: np.random.Generator) -> np.ndarray:
    """``prefix * 10**digits + random`` without repeats (redraws the collisions)."""
    base = prefix.astype(np.int64) * 10 ** digits
    out = base + rng.integers(0, 10 ** digits, prefix.shape[0])
    for _ in range(100):
        srt = np.sort(out)
        dupvals = np.unique(srt[1:][srt[1:] == srt[:-1]])
        if dupvals.size == 0:
            break
        pos = np.flatnonzero(np.isin(out, dupvals))
        _, first = np.unique(out[pos], return_index=True)
        redo = np.delete(pos, first)
        out[redo] = base[redo] + rng.integers(0, 10 ** digits, redo.size)
    return out


def _fmt_date_exact(days: np.ndarray, style: int) -> pa.Array:
    y, m, d = _ymd_exact(days)
    ys, mm, dd = _s(y), _pad(m, 2), _pad(d, 2)
    if style == 1:
        return _join(_s(d), _s(m), ys, sep="/")
    if style == 2:
        return _join(ys, mm, dd, sep="-")
    if style == 3:
        return _join(dd, mm, ys, sep="-")
    if style == 4:
        return _s(days + 25569)
    if style == 5:
        return _s(days * 86_400_000)
    return _join(dd, mm, ys, sep="/")


def _fmt_date(days: np.ndarray, style: np.ndarray) -> pa.Array:
    """Dates (days since epoch) as strings; style 0 dd/mm/yyyy, 1 d/m/yyyy, 2 yyyy-mm-dd,
    3 dd-mm-yyyy, 4 Excel serial, 5 epoch milliseconds (the platform API).

    Formats each (date, style) of the range once, then takes.

    >>> _fmt_date(np.array([19143, 19143, 19143]), np.array([0, 2, 4])).to_pylist()
    ['31/05/2022', '2022-05-31', '44712']
    """
    days = np.asarray(days, dtype=np.int64)
    style = np.asarray(style, dtype=np.int64)
    if days.size == 0:
        return pa.array([], pa.string())
    lo = int(days.min())
    span = int(days.max()) - lo + 1
    styles = np.unique(style)
    rng_days = np.arange(lo, lo + span)
    table = pa.concat_arrays([_fmt_date_exact(rng_days, int(st)) for st in styles])
    k = np.searchsorted(styles, style) * span + (days - lo)
    return table.take(pa.array(k))


_CLOCK: list[pa.Array] = []


def _fmt_timestamp(seconds: np.ndarray) -> pa.Array:
    """Seconds since epoch as ``dd/mm/yyyy HH:MM:SS``.

    >>> _fmt_timestamp(np.array([19143 * 86400 + 3661])).to_pylist()
    ['31/05/2022 01:01:01']
    """
    if not _CLOCK:
        sod = np.arange(86_400)
        _CLOCK.append(_join(_pad(sod // 3600, 2), _pad(sod // 60 % 60, 2), _pad(sod % 60, 2), sep=":"))
    seconds = np.asarray(seconds, dtype=np.int64)
    date = _fmt_date(seconds // 86_400, np.zeros(seconds.size, np.int64))
    return _join(date, _CLOCK[0].take(pa.array(seconds % 86_400)), sep=" ")


def _ascii_fold(s: str) -> str:
    s = unicodedata.normalize("NFD", s).replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in s if unicodedata.category(c) != "Mn")


_TONES = ("\u0300", "\u0301", "\u0303", "\u0309", "\u0323")


def _name_typo(name: str, r: np.random.Generator) -> str:
    """One realistic slip: letter deleted/doubled/swapped, a tone mark changed or dropped."""
    words = name.split(" ")
    w = int(r.integers(1, len(words))) if len(words) > 1 else 0
    word = unicodedata.normalize("NFD", words[w])
    kind = int(r.integers(0, 5))
    tones = [i for i, c in enumerate(word) if c in _TONES]
    if kind in (0, 1) and tones:
        i = tones[0]
        if kind == 0:  # drop the tone mark
            word = word[:i] + word[i + 1:]
        else:  # another tone
            word = word[:i] + _TONES[(_TONES.index(word[i]) + 1 + int(r.integers(0, 4))) % 5] + word[i + 1:]
    else:
        base = [i for i, c in enumerate(word) if unicodedata.category(c) != "Mn"]
        if len(base) >= 3 and kind == 2:  # swap two letters inside the word
            i = base[int(r.integers(1, len(base) - 1))]
            j = next(k for k in base if k > i)
            word = word[:i] + word[j] + word[i + 1:j] + word[i] + word[j + 1:]
        elif len(base) >= 3 and kind == 3:  # delete a letter (not the first)
            i = base[int(r.integers(1, len(base)))]
            end = i + 1
            while end < len(word) and unicodedata.category(word[end]) == "Mn":
                end += 1
            word = word[:i] + word[end:]
        else:  # double a letter
            i = base[int(r.integers(0, len(base)))]
            word = word[:i + 1] + word[i] + word[i + 1:]
    words[w] = unicodedata.normalize("NFC", word)
    out = " ".join(words)
    return out if out != name else name + name[-1]


def _name_case(name: str, r: np.random.Generator) -> str:
    k = int(r.integers(0, 4))
    if k == 0:
        return name.upper()
    if k == 1:
        return name.lower()
    if k == 2:
        return "  ".join(name.split(" "))
    return " " + name + " "


def _name_incomplete(name: str) -> str:
    parts = name.split(" ")
    return f"{parts[0]} {parts[-1]}" if len(parts) > 2 else name


_NAME_VARIANTS = {
    "name_typo": lambda s, r: _name_typo(s, r),
    "name_no_diacritics": lambda s, r: _ascii_fold(s),
    "name_nfd": lambda s, r: unicodedata.normalize("NFD", s),
    "name_tcvn3": lambda s, r: encode_legacy(s, "tcvn3"),
    "name_vni": lambda s, r: encode_legacy(s, "vni"),
    "name_case_spacing": _name_case,
    "name_incomplete": lambda s, r: _name_incomplete(s),
}


def _apply_strings(values: pa.Array, idx: np.ndarray, kinds: list[str],
                   rng: np.random.Generator) -> tuple[pa.Array, np.ndarray]:
    """Replace ``values[idx[i]]`` by ``_NAME_VARIANTS[kinds[i]](value)`` (Python on few rows).

    Returns the new values and the mask of the values that actually changed (an ASCII name
    has no diacritics to lose). ``idx`` must be increasing.
    """
    mask = np.zeros(len(values), bool)
    if idx.size == 0:
        return values, mask
    old = values.take(pa.array(idx)).to_pylist()
    new = [_NAME_VARIANTS[k](s, rng) for s, k in zip(old, kinds)]
    changed = np.array([a != b for a, b in zip(old, new)])
    mask[idx[changed]] = True
    replacements = pa.array([v for v, c in zip(new, changed) if c], pa.string())
    return pc.replace_with_mask(values, pa.array(mask), replacements), mask


# --------------------------------------------------------------------------------------------
# Reference tables
# --------------------------------------------------------------------------------------------

#: mobile prefixes (with the leading 0) and market weights; all checked with ``phonenumbers``.
PHONE_PREFIXES: dict[str, float] = {
    **{p: 0.055 for p in ("032", "033", "034", "035", "036", "037", "038", "039")},
    "086": 0.03, "096": 0.045, "097": 0.045, "098": 0.045,  # Viettel
    **{p: 0.022 for p in ("081", "082", "083", "084", "085", "088")},
    "091": 0.035, "094": 0.03,  # VinaPhone
    "070": 0.02, "076": 0.015, "077": 0.015, "078": 0.015, "079": 0.015, "090": 0.05,
    "093": 0.04,  # MobiFone
    "056": 0.008, "058": 0.008, "092": 0.012, "059": 0.007, "087": 0.006,
}

#: CCCD province-of-birth codes of people living in Thái Nguyên (019 most, neighbours next).
CCCD_ORIGIN: dict[str, float] = {
    "019": 0.86, "006": 0.02, "008": 0.012, "024": 0.015, "020": 0.008, "001": 0.02,
    "002": 0.004, "004": 0.005, "025": 0.006, "026": 0.005, "027": 0.005, "030": 0.004,
    "033": 0.003, "034": 0.004, "036": 0.004, "038": 0.004, "040": 0.004, "022": 0.003,
    "031": 0.003, "079": 0.002, "010": 0.002, "015": 0.002, "017": 0.002, "037": 0.002,
}

HAMLETS = ("Đồng Tâm", "Làng Mới", "Trung Tâm", "Đồng Bẩm", "Na Mao", "Bản Ngoại", "Cây Thị",
           "Đồng Xe", "Khe Mo", "Làng Chũ", "Nà Lẹng", "Tân Lập", "Hợp Thành", "Đèo Khế", "Cầu Trà",
           "Phú Thịnh", "Văn Lang", "Bờ Đậu", "Đá Mài", "Suối Cát", "Gốc Gạo", "Khuôn Lân",
           "Làng Phan", "Đồng Chằm", "Ba Đình", "Thác Lở", "Xuân Hòa", "An Thịnh", "Hòa Bình")

ISSUE_TYPES = ("Sai thông tin cá nhân", "Thiếu thông tin mũi tiêm", "Sai thông tin mũi tiêm",
               "Sai loại vắc xin", "Sai ngày tiêm", "Trùng đối tượng", "Chưa ký hộ chiếu vắc xin")
REJECT_REASONS = (
    "Ảnh chụp giấy chứng nhận không có ngày tiêm", "Ảnh chụp không rõ, không đọc được",
    "Ảnh chụp không có thông tin mũi tiêm", "Ảnh chụp không có tên vắc xin",
    "Họ tên không khớp với giấy chứng nhận", "Ngày sinh không khớp với giấy chứng nhận",
    "Mũi tiêm không khớp với giấy chứng nhận", "Ngày tiêm không khớp với giấy chứng nhận",
    "Loại vắc xin không khớp với giấy chứng nhận", "Họ tên không có dấu",
    "Ảnh không phải giấy chứng nhận tiêm chủng", "Phản ánh trùng lặp",
    "Thông tin đã đúng trên hệ thống")

DOSE_HEADERS: dict[str, str] = {
    "record_id": "Mã bản ghi", "person_ref": "Mã đối tượng", "full_name": "Họ và tên",
    "birth_date": "Ngày sinh", "gender": "Giới tính", "id_number": "Số CMND/CCCD",
    "phone": "Số điện thoại", "insurance_no": "Số thẻ BHYT", "province_code": "Mã tỉnh",
    "district_code": "Mã huyện", "commune_code": "Mã xã", "address": "Địa chỉ",
    "vaccine": "Tên vắc xin", "lot": "Số lô", "dose_number": "Mũi tiêm", "dose_date": "Ngày tiêm",
    "site_code": "Mã cơ sở tiêm", "site_name": "Tên cơ sở tiêm", "entered_at": "Ngày nhập",
    "sign_status": "Trạng thái ký", "signed_at": "Ngày ký", "verify_status": "Trạng thái xác thực",
}
VERIFY_VI = {"verified": "Xác thực đúng", "mismatch": "Xác thực sai",
             "not_found": "Số định danh không có trong hệ thống",
             "no_id": "Không có/sai định dạng CCCD", "unchecked": "Chưa xác thực"}
_VERIFY_CODES = tuple(VERIFY_VI)

# product order used in the arrays below (vaccines.csv codes)
VAX = ("AZ", "VEROCELL", "PFIZER", "MODERNA", "SPUTNIK", "HAYATVAX", "ABDALA", "JANSSEN")
_AZ, _VERO, _PFIZER, _MODERNA, _SPUTNIK, _HAYAT, _ABDALA, _JANSSEN = range(len(VAX))

#: adult first-dose vaccine mix by month of the first dose (2021-03 … 2022-05), VAX order.
_ADULT_MIX: dict[str, list[float]] = {
    "2021-03": [0.98, 0, 0, 0, 0.02, 0, 0, 0], "2021-04": [0.98, 0, 0, 0, 0.02, 0, 0, 0],
    "2021-05": [0.96, 0, 0, 0, 0.04, 0, 0, 0], "2021-06": [0.85, 0.1, 0, 0, 0.05, 0, 0, 0],
    "2021-07": [0.45, 0.25, 0.05, 0.2, 0.05, 0, 0, 0],
    "2021-08": [0.35, 0.4, 0.1, 0.1, 0.03, 0.02, 0, 0],
    "2021-09": [0.3, 0.44, 0.12, 0.06, 0.02, 0.02, 0.03, 0.01],
    "2021-10": [0.35, 0.35, 0.18, 0.06, 0, 0.02, 0.04, 0],
    "2021-11": [0.4, 0.3, 0.2, 0.07, 0, 0, 0.03, 0], "2021-12": [0.4, 0.3, 0.2, 0.07, 0, 0, 0.03, 0],
    "2022-01": [0.35, 0.15, 0.35, 0.15, 0, 0, 0, 0], "2022-02": [0.35, 0.15, 0.35, 0.15, 0, 0, 0, 0],
    "2022-03": [0.35, 0.15, 0.35, 0.15, 0, 0, 0, 0], "2022-04": [0.35, 0.15, 0.35, 0.15, 0, 0, 0, 0],
    "2022-05": [0.35, 0.15, 0.35, 0.15, 0, 0, 0, 0],
}
#: first-dose calendar weights per month and age group (adults peak Aug–Oct 2021).
_FIRST_DOSE_MONTHS: dict[str, dict[str, float]] = {
    "adult": {"2021-03": 0.3, "2021-04": 0.5, "2021-05": 1.0, "2021-06": 2.0, "2021-07": 5.0,
              "2021-08": 13.0, "2021-09": 19.0, "2021-10": 16.0, "2021-11": 8.0, "2021-12": 3.0,
              "2022-01": 1.0, "2022-02": 0.6, "2022-03": 0.5, "2022-04": 0.4, "2022-05": 0.3},
    "teen": {"2021-11": 45.0, "2021-12": 35.0, "2022-01": 9.0, "2022-02": 4.0, "2022-03": 3.0,
             "2022-04": 2.0, "2022-05": 2.0},
    "kid": {"2022-04": 30.0, "2022-05": 70.0},
}
_GROUP_START = {"adult": "2021-03-08", "teen": "2021-11-08", "kid": "2022-04-20"}
#: primary-series interval (min, max days) per vaccine; AZ shortened from 9/2021.
_INTERVAL = {_AZ: (56, 84), _VERO: (21, 35), _PFIZER: (21, 35), _MODERNA: (28, 42),
             _SPUTNIK: (21, 28), _HAYAT: (21, 28), _ABDALA: (14, 18), _JANSSEN: (0, 0)}
_PRIMARY_DOSES = {_AZ: 2, _VERO: 2, _PFIZER: 2, _MODERNA: 2, _SPUTNIK: 2, _HAYAT: 2, _ABDALA: 3,
                  _JANSSEN: 1}


def _names_table(kind: str) -> "pa.Table":
    return pa.Table.from_pandas(refdata.table(f"names_{kind}"), preserve_index=False)


def _communes(rng: np.random.Generator) -> dict[str, np.ndarray]:
    units = refdata.admin_units(PROVINCE_CODE, on=PERIOD_END.astype("datetime64[D]").item())
    typ = units["commune_type"].to_numpy()
    factor = np.where(typ == "Phường", 1.7, np.where(typ == "Thị trấn", 1.4, 1.0))
    factor = factor * rng.lognormal(0.0, 0.3, len(units))
    dist = units["district_code"].to_numpy()
    share = np.zeros(len(units))
    for d, pop in DISTRICT_POPULATION.items():
        m = dist == d
        share[m] = pop * factor[m] / factor[m].sum()
    return {
        "code": units["commune_code"].to_numpy().astype(str),
        "name": units["commune_name"].to_numpy().astype(str),
        "type": typ.astype(str),
        "district": dist.astype(str),
        "district_name": units["district_name"].to_numpy().astype(str),
        "district_short": units["district_short"].to_numpy().astype(str),
        "weight": share / share.sum(),
    }


def _sites(com: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Vaccination sites: one Trạm Y tế per commune, the TTYT and a hospital per district,
    and province-level hospitals in TP Thái Nguyên. Codes are digit strings."""
    codes = [f"{c}01" for c in com["code"]]
    names = [f"Trạm Y tế {n}" for n in com["name"]]
    dists = list(com["district"])
    kinds = [0] * len(codes)
    seen: dict[str, str] = {}
    for d, dn in zip(com["district"], com["district_name"]):
        seen.setdefault(d, dn)
    for d, dn in seen.items():
        codes += [f"{d}0001", f"{d}0002"]
        names += [f"Trung tâm Y tế {dn.replace('Huyện', 'huyện').replace('Thành phố', 'thành phố')}",
                  f"Bệnh viện đa khoa {dn.replace('Huyện ', '').replace('Thành phố ', 'thành phố ')}"]
        dists += [d, d]
        kinds += [1, 1]
    for i, n in enumerate(("Bệnh viện Trung ương Thái Nguyên", "Bệnh viện A Thái Nguyên",
                           "Trung tâm Kiểm soát bệnh tật tỉnh Thái Nguyên",
                           "Bệnh viện Quốc tế Thái Nguyên")):
        codes.append(f"190000{i + 1}")
        names.append(n)
        dists.append("164")
        kinds.append(2)
    return {"code": np.array(codes), "name": np.array(names), "district": np.array(dists),
            "kind": np.array(kinds)}


def _check_phone_prefixes() -> None:
    import phonenumbers

    for prefix in PHONE_PREFIXES:
        num = phonenumbers.parse(prefix + "4567890", "VN")
        if not phonenumbers.is_valid_number(num):
            raise ValueError(f"phone prefix {prefix} is not a valid Vietnamese mobile prefix")


# --------------------------------------------------------------------------------------------
# 1–2. Households and persons
# --------------------------------------------------------------------------------------------

_HEAD_AGE_BANDS = np.array([20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80])
_HEAD_AGE_W = _p([3, 7, 11, 12, 12, 11, 10, 9, 8, 7, 5, 3, 2])
_DAYS_PER_YEAR = 365.2425


def _households(n: int, com: dict[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Persons of ``n`` households as flat arrays (role 0 head, 1 spouse, 2–4 children, 5 elder)."""
    head_age = _HEAD_AGE_BANDS[rng.choice(13, n, p=_HEAD_AGE_W)] + rng.random(n) * 5
    head_f = rng.random(n) < 0.22
    age = np.full((n, 6), np.nan)
    sex_f = np.zeros((n, 6), bool)
    age[:, 0] = head_age
    sex_f[:, 0] = head_f
    has_spouse = rng.random(n) < np.where(head_age > 70, 0.55, 0.82)
    age[:, 1] = np.where(has_spouse, np.maximum(18, head_age + np.where(head_f, 3, -3)
                                                + rng.normal(0, 3, n)), np.nan)
    sex_f[:, 1] = ~head_f
    mother_age = np.where(head_f | ~has_spouse, head_age, age[:, 1])
    n_children = rng.choice(4, n, p=[0.14, 0.28, 0.4, 0.18])
    gap = 19 + rng.random(n) * 13
    for k in range(3):
        a = mother_age - gap
        keep = (k < n_children) & (a >= 0) & ((a < 18) | ((a < 30) & (rng.random(n) < 0.45)))
        age[:, 2 + k] = np.where(keep, a, np.nan)
        sex_f[:, 2 + k] = rng.random(n) < 0.48
        gap = gap + 1.5 + rng.exponential(3.0, n)
    twin = (rng.random(n) < 0.012) & ~np.isnan(age[:, 2]) & ~np.isnan(age[:, 3])
    age[:, 3] = np.where(twin, age[:, 2], age[:, 3])
    has_elder = (rng.random(n) < 0.22) & (head_age < 62)
    elder_age = head_age + 22 + rng.random(n) * 12
    age[:, 5] = np.where(has_elder & (elder_age < 97), elder_age, np.nan)
    sex_f[:, 5] = rng.random(n) < 0.62

    valid = ~np.isnan(age)
    hh = np.repeat(np.arange(n), 6).reshape(n, 6)[valid]
    role = np.tile(np.arange(6), n).reshape(n, 6)[valid]
    birth = (PERIOD_END.astype(np.int64) - np.floor(age[valid] * _DAYS_PER_YEAR)).astype(np.int64)
    commune = rng.choice(len(com["code"]), n, p=com["weight"])
    return {"hh": hh, "role": role, "female": sex_f[valid], "birth": birth,
            "twin_of_prev": (twin[hh] & (role == 3)), "hh_commune": commune, "n_hh": np.array(n)}


def _age_years(birth: np.ndarray, on: np.ndarray | np.datetime64) -> np.ndarray:
    """Completed years of age on a date (days since epoch)."""
    by, bm, bd = _ymd(birth)
    oy, om, od = _ymd(np.asarray(on, dtype="datetime64[D]").astype(np.int64) + np.zeros_like(birth))
    return oy - by - ((om < bm) | ((om == bm) & (od < bd)))


def _person_names(P: dict[str, np.ndarray], rng: np.random.Generator) -> pa.Array:
    sur = refdata.table("names_surnames")
    mid = refdata.table("names_middle")
    giv = refdata.table("names_given")
    n = P["hh"].shape[0]
    n_hh = int(P["n_hh"])
    sur_w = _p(sur["weight"].astype(float))
    hh_sur = rng.choice(len(sur), (n_hh, 3), p=sur_w)  # head line, spouse line, elder line
    own = rng.choice(len(sur), n, p=sur_w)
    role, hh, female = P["role"], P["hh"], P["female"]
    head_female = np.zeros(n_hh, bool)
    head_female[hh[role == 0]] = female[role == 0]
    spouse_present = np.zeros(n_hh, bool)
    spouse_present[hh[role == 1]] = True
    father_line = np.where(head_female[hh] & spouse_present[hh], hh_sur[hh, 1], hh_sur[hh, 0])
    surname = np.select([role == 0, role == 1, (role >= 2) & (role <= 4)],
                        [hh_sur[hh, 0], hh_sur[hh, 1], father_line],
                        np.where(rng.random(n) < 0.5, hh_sur[hh, 0], own))
    born_before_1990 = P["birth"] < np.datetime64("1990-01-01").astype(np.int64)
    middle = np.zeros(n, np.int64)
    given = np.zeros(n, np.int64)
    for sex, fem in (("M", False), ("F", True)):
        msub = np.flatnonzero(mid["sex"].to_numpy() == sex)
        gsub = np.flatnonzero(giv["sex"].to_numpy() == sex)
        for col, era in (("weight_born_before_1990", True), ("weight_born_1990_on", False)):
            m = (female == fem) & (born_before_1990 == era)
            middle[m] = msub[rng.choice(len(msub), int(m.sum()), p=_p(mid[col].to_numpy(float)[msub]))]
        m = female == fem
        given[m] = gsub[rng.choice(len(gsub), int(m.sum()), p=_p(giv["weight"].to_numpy(float)[gsub]))]
    # twins share the middle name; a few sons carry the father's full name (hard negatives)
    twin = np.flatnonzero(P["twin_of_prev"])
    middle[twin] = middle[twin - 1]
    same = np.flatnonzero((role == 2) & ~female & (rng.random(n) < 0.001))
    head_idx = np.zeros(n_hh, np.int64)
    head_idx[hh[role == 0]] = np.flatnonzero(role == 0)
    fathers = head_idx[hh[same]]
    ok = ~female[fathers]
    middle[same[ok]] = middle[fathers[ok]]
    given[same[ok]] = given[fathers[ok]]
    s = pa.array(sur["surname"].tolist()).take(pa.array(surname))
    m_ = pa.array(mid["middle"].tolist()).take(pa.array(middle))
    g = pa.array(giv["given"].tolist()).take(pa.array(given))
    return _join(s, m_, g, sep=" ")


def _person_ids(P: dict[str, np.ndarray],
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True IDs: (kind 0 none/1 CCCD/2 CMND, number as int64, spare CMNDs).

    CCCD = PPP G YY NNNNNN; CMND = 09x + 6 digits. The spare CMNDs (unique, unused) are old
    documents of CCCD holders, shown on some second records (``id_other_document``).
    """
    n = P["hh"].shape[0]
    age = P["age"]
    by = _ymd(P["birth"])[0]
    p_none = np.select([age < 12, age < 14, age < 18], [0.4, 0.25, 0.1], 0.012)
    p_cmnd = np.select([by < 1960, by < 1980, age >= 18], [0.18, 0.08, 0.03], 0.0)
    u = rng.random(n)
    kind = np.where(u < p_none, 0, np.where(u < p_none + (1 - p_none) * p_cmnd, 2, 1))
    origins = np.array([int(k) for k in CCCD_ORIGIN])
    origin = origins[rng.choice(len(CCCD_ORIGIN), n, p=_p(list(CCCD_ORIGIN.values())))]
    century = (by - 1900) // 100
    g = century * 2 + P["female"].astype(np.int64)
    number = np.full(n, -1, np.int64)
    c = kind == 1
    number[c] = _unique_numbers(((origin * 10 + g) * 100 + by % 100)[c], 6, rng)
    k = int((kind == 2).sum())
    spare = n // 50 + 10
    cmnd = _unique_numbers(90 + rng.choice(3, k + spare, p=[0.5, 0.3, 0.2]), 6, rng)
    number[kind == 2] = cmnd[:k]
    return kind, number, cmnd[k:]


def _id_strings(kind: np.ndarray, number: np.ndarray) -> pa.Array:
    s12, s9 = _pad(number, 12), _pad(number, 9)
    out = pc.if_else(pa.array(kind == 2), s9, s12)
    return pc.if_else(pa.array(kind == 0), pa.nulls(len(kind), pa.string()), out)


def _phones(P: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Phone per person as int64 (9 digits after the 0), -1 if none; children share a parent's."""
    n = P["hh"].shape[0]
    role, age, hh = P["role"], P["age"], P["hh"]
    p_own = np.select([role == 0, role == 1, role == 5, age >= 18, age >= 14],
                      [0.97, 0.92, 0.55, 0.95, 0.45], 0.0)
    own = rng.random(n) < p_own
    prefixes = np.array([int(p) for p in PHONE_PREFIXES])
    pre = prefixes[rng.choice(len(prefixes), n, p=_p(list(PHONE_PREFIXES.values())))]
    number = _unique_numbers(pre, 7, rng)
    n_hh = int(P["n_hh"])
    contact = np.full(n_hh, -1, np.int64)
    for r in (1, 0):  # head's phone wins, else the spouse's
        m = (role == r) & own
        contact[hh[m]] = number[m]
    return np.where(own, number, contact[hh])


def _phone_strings(number: np.ndarray) -> pa.Array:
    out = _pad(np.maximum(number, 0), 10)
    return pc.if_else(pa.array(number < 0), pa.nulls(len(number), pa.string()), out)


def _insurance(P: dict[str, np.ndarray], rng: np.random.Generator) -> pa.Array:
    n = P["hh"].shape[0]
    age = P["age"]
    codes = np.array(["GD", "DN", "HT", "CN", "HN", "XN", "CB"])
    adult = codes[rng.choice(len(codes), n, p=[0.45, 0.25, 0.08, 0.05, 0.1, 0.02, 0.05])]
    code = np.where(age < 6, "TE", np.where(age < 18, "HS", adult))
    code = np.where((age >= 60) & (rng.random(n) < 0.4), "HT", code)
    level = rng.integers(1, 6, n)
    serial = rng.integers(0, 10 ** 10, n)
    s = _join(pa.array(code), _s(level), "19", _pad(serial, 10))
    return pc.if_else(pa.array(rng.random(n) < 0.72), s, pa.nulls(n, pa.string()))


def _addresses(communes: np.ndarray, com: dict[str, np.ndarray], rng: np.random.Generator) -> pa.Array:
    n = communes.shape[0]
    urban = np.isin(com["type"][communes], ["Phường", "Thị trấn"])
    tail = _join(pa.array(com["name"]).take(pa.array(communes)),
                 pa.array(com["district_name"]).take(pa.array(communes)), PROVINCE_NAME, sep=", ")
    house = _join(_s(rng.integers(1, 300, n)), ", tổ", sep="")
    street = _join("Số", house, _s(rng.integers(1, 45, n)), sep=" ")
    hamlet_name = pa.array(np.array(HAMLETS)).take(pa.array(rng.integers(0, len(HAMLETS), n)))
    hamlet = _join("Xóm", hamlet_name, sep=" ")
    first = pc.if_else(pa.array(urban), street, hamlet)
    return _join(first, tail, sep=", ")


# --------------------------------------------------------------------------------------------
# 3. True dose histories
# --------------------------------------------------------------------------------------------

def _month_days(month: str) -> tuple[int, int]:
    start = np.datetime64(month + "-01", "D")
    end = (np.datetime64(month, "M") + 1).astype("datetime64[D]")
    return int(start.astype(np.int64)), int(end.astype(np.int64))


def _first_doses(group: np.ndarray, birth: np.ndarray, female: np.ndarray,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """First dose date (days) and vaccine (VAX index) per vaccinated person."""
    n = group.shape[0]
    date = np.zeros(n, np.int64)
    vax = np.zeros(n, np.int64)
    min_age_days = {"adult": 18, "teen": 12, "kid": 5}
    for gi, g in enumerate(("adult", "teen", "kid")):
        m = np.flatnonzero(group == gi)
        months = list(_FIRST_DOSE_MONTHS[g])
        bounds = np.array([_month_days(mo) for mo in months])
        # daily density: monthly weights spread over their days, interpolated between
        # mid-months so that the weekly curve has no steps at month ends
        per_day = np.array(list(_FIRST_DOSE_MONTHS[g].values())) / (bounds[:, 1] - bounds[:, 0])
        days = np.arange(max(bounds[0, 0], int(np.datetime64(_GROUP_START[g]).astype(np.int64))),
                         min(bounds[-1, 1], int(PERIOD_END.astype(np.int64)) + 1))
        density = np.interp(days, bounds.mean(1), per_day)
        d = days[rng.choice(days.size, m.size, p=density / density.sum())]
        mi = np.searchsorted(bounds[:, 0], d, side="right") - 1
        # not before the age of eligibility
        eligible = birth[m] + int(np.ceil(min_age_days[g] * _DAYS_PER_YEAR))
        date[m] = np.maximum(d, eligible + rng.integers(0, 20, m.size))
        if g == "adult":
            mix = np.array([_ADULT_MIX[months[k]] for k in range(len(months))])
            cdf = np.cumsum(mix / mix.sum(1, keepdims=True), axis=1)[mi]
            vax[m] = (rng.random(m.size)[:, None] > cdf).sum(1)
        elif g == "teen":
            vax[m] = np.where(rng.random(m.size) < 0.92, _PFIZER, _MODERNA)
        else:
            six = date[m] - birth[m] >= int(6 * _DAYS_PER_YEAR)
            vax[m] = np.where(six & (rng.random(m.size) < 0.15), _MODERNA, _PFIZER)
    return date, np.minimum(vax, len(VAX) - 1)


def _dose_histories(P: dict[str, np.ndarray], vaccinated: np.ndarray,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Dose dates (N, 5) in days (-1 = none) and vaccines (N, 5) for the persons ``vaccinated``."""
    birth = P["birth"][vaccinated]
    age = P["age"][vaccinated]
    group = np.where(age >= 18, 0, np.where(age >= 12, 1, 2))
    n = birth.shape[0]
    dates = np.full((n, 5), -1, np.int64)
    vax = np.full((n, 5), -1, np.int64)
    d1, v1 = _first_doses(group, birth, P["female"][vaccinated], rng)
    end = int(PERIOD_END.astype(np.int64))
    d1 = np.where(d1 <= end, d1, -1)  # became eligible too late
    dates[:, 0], vax[:, 0] = d1, np.where(d1 >= 0, v1, -1)
    # primary series
    lo = np.array([_INTERVAL[v][0] for v in range(len(VAX))])[v1]
    hi = np.array([_INTERVAL[v][1] for v in range(len(VAX))])[v1]
    az_short = (v1 == _AZ) & (d1 >= np.datetime64("2021-09-01").astype(np.int64))
    lo = np.where(az_short, 35, lo)
    hi = np.where(az_short, 70, hi)
    kid_pf = group == 2
    lo = np.where(kid_pf, 28, lo)
    hi = np.where(kid_pf, 56, hi)
    n_primary = np.array([_PRIMARY_DOSES[v] for v in range(len(VAX))])[v1]
    completes = rng.random(n) < np.where(group == 2, 0.92, 0.975)
    v2 = v1.copy()
    u = rng.random(n)
    v2 = np.where((v1 == _AZ) & (u < 0.1), _PFIZER, np.where((v1 == _AZ) & (u < 0.15), _MODERNA, v2))
    v2 = np.where((v1 == _MODERNA) & (u < 0.1), _PFIZER, v2)
    v2 = np.where((v1 == _PFIZER) & (group == 0) & (u < 0.05), _MODERNA, v2)
    prev = d1
    for k in range(1, 3):
        need = (n_primary > k) & completes
        d = prev + lo + (rng.random(n) * (hi - lo + 1)).astype(np.int64) + rng.geometric(0.3, n) - 1
        ok = need & (prev >= 0) & (d <= end)
        dates[:, k] = np.where(ok, d, -1)
        vax[:, k] = np.where(ok, np.where(k == 1, v2, v1), -1)
        prev = np.where(ok, d, np.where(need, -1, prev))
    primary_end = np.where(completes & (n_primary > 1), prev, -1)  # -1 if not complete
    primary_end = np.where((n_primary == 1) | (d1 < 0), d1, primary_end)
    last = np.where(n_primary == 3, 2, np.where(n_primary == 2, 1, 0))
    # mũi 3 (booster): ≥6 months, from 3/2022 ≥3 months; campaign from mid-December 2021
    rule_change = np.datetime64("2022-03-01").astype(np.int64)
    eligible = np.minimum(primary_end + 180, np.maximum(primary_end + 90, rule_change))
    eligible = np.maximum(eligible, np.datetime64("2021-12-13").astype(np.int64))
    b1 = eligible + rng.gamma(1.5, 30.0, n).astype(np.int64)
    takes = (group == 0) & (primary_end >= 0) & (rng.random(n) < 0.86)
    ok1 = takes & (b1 <= end)
    base = np.select([v1 == _PFIZER, v1 == _MODERNA], [0, 1], 2)
    booster_mix = np.array([[0.05, 0.0, 0.75, 0.2], [0.05, 0.0, 0.3, 0.65], [0.42, 0.0, 0.36, 0.22]])
    cdf = np.cumsum(booster_mix, axis=1)[base]
    bv = np.array([_AZ, _VERO, _PFIZER, _MODERNA])[np.minimum((rng.random(n)[:, None] > cdf).sum(1), 3)]
    slot = last + 1
    rows = np.arange(n)
    dates[rows[ok1], slot[ok1]] = b1[ok1]
    vax[rows[ok1], slot[ok1]] = bv[ok1]
    # mũi 4: ≥50 years (and some health workers), ≥4 months after mũi 3, from mid-April 2022
    b2 = np.maximum(b1 + 120, np.datetime64("2022-04-18").astype(np.int64)) \
        + rng.exponential(12.0, n).astype(np.int64)
    takes2 = ok1 & (rng.random(n) < np.where(age >= 50, 0.45, 0.05)) & (b2 <= end)
    dates[rows[takes2], slot[takes2] + 1] = b2[takes2]
    vax[rows[takes2], slot[takes2] + 1] = np.where(rng.random(int(takes2.sum())) < 0.5, _PFIZER, _MODERNA)
    return dates, vax


def _simulate_population(need: int, com: dict[str, np.ndarray], rng_hh: np.random.Generator,
                         rng_dose: np.random.Generator
                         ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """Households and dose histories, cut where the cumulative dose count reaches ``need``.

    Returns the persons ``P`` (all members of the kept households), the indices of the
    vaccinated persons, and their dose dates and vaccines (N, 5), -1 where no dose.
    """
    n_hh = max(8, int(need / 6.0 * 1.15) + 10)
    while True:
        P = _households(n_hh, com, rng_hh)
        P["age"] = _age_years(P["birth"], PERIOD_END)
        p_vax = np.select([P["age"] >= 18, P["age"] >= 12, P["age"] >= 5], [0.975, 0.96, 0.6], 0.0)
        vaccinated = np.flatnonzero(rng_hh.random(P["hh"].shape[0]) < p_vax)
        dates, vax = _dose_histories(P, vaccinated, rng_dose)
        count = (dates >= 0).sum(1)
        csum = np.cumsum(count)
        if csum.size and csum[-1] >= need:
            break
        n_hh = int(n_hh * 1.5) + 10
    cut = int(np.searchsorted(csum, need))  # person index (in vaccinated) reaching the target
    keep_doses = count.copy()
    keep_doses[cut] = need - (csum[cut - 1] if cut > 0 else 0)
    keep_doses[cut + 1:] = 0
    last_hh = int(P["hh"][vaccinated[cut]])
    in_pop = P["hh"] <= last_hh
    for k in ("hh", "role", "female", "birth", "twin_of_prev", "age"):
        P[k] = P[k][in_pop]
    P["n_hh"] = np.array(last_hh + 1)
    P["hh_commune"] = P["hh_commune"][: last_hh + 1]
    vmask = keep_doses[: cut + 1] > 0
    vaccinated = vaccinated[: cut + 1][vmask]
    dates = dates[: cut + 1][vmask]
    vax = vax[: cut + 1][vmask]
    keep_doses = keep_doses[: cut + 1][vmask]
    drop = np.cumsum(dates >= 0, axis=1) > keep_doses[:, None]
    dates[drop] = -1
    vax[drop] = -1
    return P, vaccinated, dates, vax


NAME_KINDS = ("name_typo", "name_no_diacritics", "name_nfd", "name_case_spacing", "name_incomplete",
              "name_tcvn3", "name_vni")


def _name_errors(names: pa.Array, rp: np.ndarray, second: np.ndarray, rates: ErrorRates,
                 e: np.random.Generator, r_str: np.random.Generator
                 ) -> tuple[pa.Array, dict[str, np.ndarray]]:
    """Names as recorded (one variant at most per record) and the mask of each name kind."""
    n_ref = rp.size
    name_rates = np.array([getattr(rates, k) for k in NAME_KINDS])
    uu = e.random(n_ref)
    cdf = np.cumsum(name_rates)
    pick_name = np.where(uu < cdf[-1], np.searchsorted(cdf, uu, side="right"), -1)
    dup_var = _pick(second, rates.dup_name_variant, e)
    dup_choice = e.choice(len(NAME_KINDS), n_ref, p=_p([0.3, 0.27, 0.08, 0.12, 0.09, 0.08, 0.06]))
    pick_name = np.where(dup_var, dup_choice, np.where(second, -1, pick_name))
    ref_name = names.take(pa.array(rp))
    idx = np.flatnonzero(pick_name >= 0)
    kinds = [NAME_KINDS[i] for i in pick_name[idx]]
    ref_name, changed = _apply_strings(ref_name, idx, kinds, r_str)
    return ref_name, {k: (pick_name == i) & changed for i, k in enumerate(NAME_KINDS)}


def _id_errors(P: dict[str, np.ndarray], rp: np.ndarray, id_kind: np.ndarray, id_num: np.ndarray,
               spare_cmnd: np.ndarray, b: np.ndarray, rates: ErrorRates,
               e: np.random.Generator) -> tuple[pa.Array, dict[str, np.ndarray]]:
    """IDs as recorded (one error at most per record; second records draw their own) and masks."""
    n_ref = rp.size
    age_r = P["age"][rp]
    kind_r, num_r = id_kind[rp], id_num[rp]
    has_id = kind_r > 0
    id_rates = ["id_missing", "id_malformed", "id_digit_error", "id_excel_scientific", "id_leading_zero_lost"]
    cdf = np.cumsum([getattr(rates, k) for k in id_rates])
    uu = e.random(n_ref)
    id_pick = np.where(has_id & ~b & (uu < cdf[-1]), np.searchsorted(cdf, uu, side="right"), -1)
    dmiss = _pick(b & has_id, rates.dup_id_missing, e)
    id_pick = np.where(dmiss, 0, id_pick)
    other_doc = _pick(b & (kind_r == 1) & ~dmiss & (age_r >= 18), rates.dup_id_other_document, e)
    # children registered with a household adult's ID
    hh_adult_id = np.full(int(P["n_hh"]), -1, np.int64)
    hh_adult_kind = np.zeros(int(P["n_hh"]), np.int64)
    for role in (1, 0):
        m = (P["role"] == role) & (id_kind > 0)
        hh_adult_id[P["hh"][m]] = id_num[m]
        hh_adult_kind[P["hh"][m]] = id_kind[m]
    hh_r = P["hh"][rp]
    relative = (age_r < 18) & (hh_adult_id[hh_r] >= 0) & (id_pick < 0) & ~other_doc
    relative = _pick(relative, rates.id_of_relative, e)
    raw_kind = kind_r.copy()
    raw_num = num_r.copy()
    raw_kind[relative] = hh_adult_kind[hh_r[relative]]
    raw_num[relative] = hh_adult_id[hh_r[relative]]
    raw_kind[other_doc] = 2
    raw_num[other_doc] = spare_cmnd[np.arange(int(other_doc.sum())) % spare_cmnd.size]
    # digit error: century/sex digit, year digits, or a serial digit
    pos_choice = e.integers(0, 3, n_ref)
    digit_pos = np.select([pos_choice == 0, pos_choice == 1], [3, 4 + e.integers(0, 2, n_ref)],
                          6 + e.integers(0, 6, n_ref))
    width = np.where(raw_kind == 2, 9, 12)
    digit_pos = np.where(raw_kind == 2, 2 + e.integers(0, 7, n_ref), digit_pos)
    place = 10 ** (width - 1 - digit_pos)
    old_digit = (raw_num // place) % 10
    new_digit = (old_digit + e.integers(1, 10, n_ref)) % 10
    dig = id_pick == 2
    raw_num = np.where(dig, raw_num + (new_digit - old_digit) * place, raw_num)
    id_str = _id_strings(np.where(id_pick == 0, 0, raw_kind), raw_num)
    # malformed: drop or add a digit, or an O for a 0
    mal = np.flatnonzero(id_pick == 1)
    if mal.size:
        vals = id_str.take(pa.array(mal)).to_pylist()
        mk = e.integers(0, 3, mal.size)
        mp = e.integers(1, 8, mal.size)
        new = [v[:p] + v[p + 1:] if k == 0 else v[:p] + v[p] + v[p:] if k == 1 else v.replace("0", "O", 1)
               if "0" in v else v[:-1] for v, k, p in zip(vals, mk, mp)]
        mask = np.zeros(n_ref, bool)
        mask[mal] = True
        id_str = pc.replace_with_mask(id_str, pa.array(mask), pa.array(new))
    sci = id_pick == 3
    lz = id_pick == 4
    if sci.any():
        mant = raw_num[sci] / 10.0 ** np.floor(np.log10(np.maximum(raw_num[sci], 1)))
        expo = np.floor(np.log10(np.maximum(raw_num[sci], 1))).astype(np.int64)
        txt = [f"{m_:.5f}".rstrip("0").rstrip(".") + f"E+{x_:02d}" for m_, x_ in zip(mant, expo)]
        id_str = pc.replace_with_mask(id_str, pa.array(sci), pa.array(txt))
    id_str = pc.if_else(pa.array(lz), _s(raw_num), id_str)
    return id_str, {"id_missing": id_pick == 0, "id_malformed": id_pick == 1, "id_digit_error": dig,
                    "id_excel_scientific": sci, "id_leading_zero_lost": lz, "id_of_relative": relative,
                    "id_other_document": other_doc}


def _phone_errors(phone: np.ndarray, rp: np.ndarray, b: np.ndarray, rates: ErrorRates,
                  e: np.random.Generator) -> tuple[pa.Array, dict[str, np.ndarray]]:
    """Phones as recorded (one error at most per record; second records draw their own) and masks."""
    n_ref = rp.size
    ph = phone[rp].copy()
    has_ph = ph >= 0
    ph_kinds = ["phone_missing", "phone_old_11_digit", "phone_country_code", "phone_malformed"]
    cdf = np.cumsum([getattr(rates, k) for k in ph_kinds])
    uu = e.random(n_ref)
    ph_pick = np.where(has_ph & ~b & (uu < cdf[-1]), np.searchsorted(cdf, uu, side="right"), -1)
    other_ph = _pick(b & has_ph, rates.dup_phone_other, e)
    dmiss_ph = _pick(b & has_ph & ~other_ph, rates.dup_phone_missing, e)
    ph_pick = np.where(dmiss_ph, 0, ph_pick)
    prefixes = np.array([int(p) for p in PHONE_PREFIXES])
    fresh = prefixes[e.choice(len(prefixes), n_ref, p=_p(list(PHONE_PREFIXES.values())))] * 10 ** 7 \
        + e.integers(0, 10 ** 7, n_ref)
    ph = np.where(other_ph, fresh, ph)
    mig = refdata.phone_migration()
    new_to_old = {int(n): o for n, o in zip(mig["new_prefix"], mig["old_prefix"])}
    pre3 = ph // 10 ** 7
    migratable = np.isin(pre3, list(new_to_old))
    ph_pick = np.where((ph_pick == 1) & ~migratable, -1, ph_pick)
    ph_str = _phone_strings(np.where(ph_pick == 0, -1, ph))
    old = ph_pick == 1
    if old.any():
        old_pre = np.array([new_to_old.get(int(p), "") for p in pre3[old]])
        old_txt = _join(pa.array(old_pre), _pad(ph[old] % 10 ** 7, 7))
        ph_str = pc.replace_with_mask(ph_str, pa.array(old), old_txt)
    cc = ph_pick == 2
    if cc.any():
        style = e.integers(0, 3, int(cc.sum()))
        pre = pa.array(np.array(["+84", "84", "+84 "])[style])
        ph_str = pc.replace_with_mask(ph_str, pa.array(cc), _join(pre, _s(ph[cc])))
    mf = ph_pick == 3
    if mf.any():
        ph_str = pc.replace_with_mask(ph_str, pa.array(mf), pc.utf8_slice_codeunits(_pad(ph[mf], 10), 0, 9))
    return ph_str, {"phone_missing": ph_pick == 0, "phone_old_11_digit": old, "phone_country_code": cc,
                    "phone_malformed": mf, "phone_other": other_ph}


# --------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------

#: low-cardinality truth columns worth dictionary encoding (the others are mostly unique)
_TRUTH_DICT = ["true_gender", "true_vaccine", "true_commune_code", "true_dose_number", "errors"]
_CSV_OPTIONS = pacsv.WriteOptions(include_header=True, quoting_style="needed")


def _write_csv(table: pa.Table, path: Path, *, bom: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        if bom:
            fh.write(b"\xef\xbb\xbf")
        pacsv.write_csv(table, fh, _CSV_OPTIONS)


def _write_parquet(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd", compression_level=1)


_END_S = (int(PERIOD_END.astype(np.int64)) + 1) * 86_400 - 1  # last second of the period


def _write_site_tallies(out: Path, dose_date: np.ndarray, site: np.ndarray,
                        sites: dict[str, np.ndarray], total: int, rng: np.random.Generator) -> int:
    """Weekly doses per site: the true doses (entered or not) plus the doses never entered,
    spread over the site-weeks in proportion, so that the sum is exactly ``total``."""
    start = int(CAMPAIGN_START.astype(np.int64))
    week0 = dose_date - (dose_date + 3) % 7  # Monday (1970-01-01 was a Thursday)
    n_weeks = int((PERIOD_END.astype(np.int64) - start) // 7) + 2
    cell = site * n_weeks + (week0 - start) // 7
    counts = np.bincount(cell, minlength=len(sites["code"]) * n_weeks)
    gap = total - int(counts.sum())
    extra = rng.multinomial(gap, counts / counts.sum()) if gap > 0 else np.zeros_like(counts)
    tally = counts + extra
    nz = np.flatnonzero(tally)
    t_site, t_week = nz // n_weeks, nz % n_weeks
    tallies = pa.table({
        "Mã cơ sở tiêm": pa.array(sites["code"]).take(pa.array(t_site)),
        "Mã huyện": pa.array(sites["district"]).take(pa.array(t_site)),
        "Tuần bắt đầu": _fmt_date(start + 7 * t_week, np.zeros(nz.size, np.int64)),
        "Số mũi đã tiêm": pa.array(tally[nz]),
    })
    _write_csv(tallies, out / "inputs" / "site_tallies.csv")
    return int(tally.sum())


def _write_feedback(out: Path, n_fb: int, rp: np.ndarray, ref_commune: np.ndarray,
                    ref_site: np.ndarray, has_err: np.ndarray, person: dict[str, Any],
                    com: dict[str, np.ndarray], sites: dict[str, np.ndarray],
                    r: np.random.Generator) -> int:
    """Citizen feedback tickets (9458/BYT-CNTT), mostly about records with errors, all handled."""
    n_ref = rp.size
    w = np.where(has_err, 6.0, 1.0)
    fb_ref = r.choice(n_ref, size=n_fb, replace=n_fb > n_ref, p=w / w.sum())
    fb_days = np.arange(int(np.datetime64("2021-11-08").astype(np.int64)),
                        int(PERIOD_END.astype(np.int64)) - 1)
    fb_w = np.where(fb_days >= np.datetime64("2022-04-01").astype(np.int64), 6.0, 1.0)
    recv = fb_days[r.choice(fb_days.size, n_fb, p=fb_w / fb_w.sum())] * 86_400 \
        + r.integers(6 * 3600, 22 * 3600, n_fb)
    resolved = np.minimum(recv + r.integers(1800, 47 * 3600, n_fb)
                          + np.where(r.random(n_fb) < 0.05, r.integers(48 * 3600, 120 * 3600, n_fb), 0),
                          _END_S)
    approved = r.random(n_fb) < 0.84
    fb_rp = pa.array(rp[fb_ref])
    feedback = pa.table({
        "Mã phản ánh": _join("PA", _pad(np.arange(1, n_fb + 1), 6)),
        "Thời gian phản ánh": _fmt_timestamp(recv),
        "Mã huyện": pa.array(com["district"]).take(pa.array(ref_commune[fb_ref])),
        "Mã cơ sở tiêm": pa.array(sites["code"]).take(pa.array(ref_site[fb_ref])),
        "Họ và tên": person["name"].take(fb_rp),
        "Ngày sinh": _fmt_date(person["birth"][rp[fb_ref]], np.zeros(n_fb, np.int64)),
        "Số CMND/CCCD": person["id"].take(fb_rp),
        "Số điện thoại": person["phone"].take(fb_rp),
        "Loại phản ánh": pa.array(np.array(ISSUE_TYPES)).take(
            pa.array(r.integers(0, len(ISSUE_TYPES), n_fb))),
        "Trạng thái xử lý": pc.if_else(pa.array(approved), "Đã duyệt", "Từ chối"),
        "Ngày xử lý": _fmt_timestamp(resolved),
        "Lý do từ chối": pc.if_else(pa.array(approved), pa.nulls(n_fb, pa.string()),
                                    pa.array(np.array(REJECT_REASONS)).take(
                                        pa.array(r.integers(0, len(REJECT_REASONS), n_fb)))),
    })
    _write_csv(feedback, out / "inputs" / "feedback.csv")
    return n_fb


def _write_registry(out: Path, n_reg: int, rp: np.ndarray, has_id: np.ndarray, verify: np.ndarray,
                    has_err: np.ndarray, digit_error: np.ndarray, sent_id: pa.Array,
                    person: dict[str, Any], com: dict[str, np.ndarray], r: np.random.Generator) -> int:
    """What the police returned for the records sent for checking (problem records first):
    the CSDLQG identity ("Đã điều chỉnh" where the record differed), or "Không tìm thấy"."""
    checkable = np.flatnonzero(has_id)
    prio = np.where((verify[checkable] != 0) | has_err[checkable], 0.0, 1.0) + r.random(checkable.size)
    chosen = checkable[np.argsort(prio, kind="stable")[: n_reg]]
    if chosen.size < n_reg:  # tiny scales: check records more than once
        chosen = np.concatenate([chosen, r.choice(checkable, n_reg - chosen.size)])
    chosen = np.sort(chosen)
    c_rp = rp[chosen]
    problem = (verify[chosen] != 0) | has_err[chosen]
    nf = digit_error[chosen] & (r.random(chosen.size) < 0.3) | (r.random(chosen.size) < 0.004)
    result = np.where(nf, "Không tìm thấy", np.where(problem, "Đã điều chỉnh", "Khớp"))
    reg_id = pc.if_else(pa.array(nf), pc.fill_null(sent_id.take(pa.array(chosen)), ""),
                        person["id"].take(pa.array(c_rp)))
    first_check = int(np.datetime64("2022-03-24").astype(np.int64))
    checked = (first_check + r.integers(0, _END_S // 86_400 - first_check + 1, chosen.size)) * 86_400 \
        + r.integers(7 * 3600, 18 * 3600, chosen.size)
    registry = pa.table({
        "Số định danh": reg_id,
        "Họ và tên": person["name"].take(pa.array(c_rp)),
        "Ngày sinh": _fmt_date(person["birth"][c_rp], np.zeros(chosen.size, np.int64)),
        "Giới tính": pc.if_else(pa.array(person["female"][c_rp]), "Nữ", "Nam"),
        "Mã xã": pa.array(com["code"]).take(pa.array(person["commune"][c_rp])),
        "Ngày xác minh": _fmt_timestamp(checked),
        "Kết quả xác minh": pa.array(result),
    })
    _write_csv(registry, out / "inputs" / "registry.csv")
    return int(chosen.size)


def _write_population(out: Path, age: np.ndarray, commune: np.ndarray, com: dict[str, np.ndarray],
                      r: np.random.Generator) -> int:
    """Commune denominators by age group: the simulated residents, give or take the census error."""
    grp = np.select([age >= 18, age >= 12, age >= 5], [2, 1, 0], -1)
    m = grp >= 0
    pop = np.bincount(commune[m] * 3 + grp[m], minlength=len(com["code"]) * 3).astype(float)
    pop = np.floor(pop * r.uniform(0.97, 1.06, pop.size) + 0.5).astype(np.int64)
    population = pa.table({
        "Mã xã": pa.array(np.repeat(com["code"], 3)),
        "Nhóm tuổi": pa.array(np.tile(np.array(["5-11", "12-17", "18+"]), len(com["code"]))),
        "Dân số": pa.array(pop),
    })
    _write_csv(population, out / "inputs" / "population.csv")
    return int(pop.sum())


def _params_yaml() -> dict[str, object]:
    """Run parameters of the synthetic province (the layout of ``params/2022-05.yaml``)."""
    return {
        "province_code": PROVINCE_CODE,
        "province_name": PROVINCE_NAME,
        "period": "2022-05",
        "period_start": dt.date(2021, 3, 8),
        "period_end": dt.date(2022, 5, 31),
        "report_date": dt.date(2022, 6, 1),
        "campaign_start": dt.date(2021, 3, 8),
        "inputs": "inputs",
        "agency_parent": "UBND TỈNH THÁI NGUYÊN",
        "agency": "SỞ Y TẾ",
        "doc_number": "2102/BC-SYT",
        "place": PROVINCE_NAME,
        "doc_type": "BÁO CÁO",
        "title": ("Kết quả thực hiện Đề án 06 trong triển khai “làm sạch” dữ liệu tiêm chủng "
                  "COVID-19 và triển khai ký xác nhận “Hộ chiếu vắc xin”"),
        "signatory": {"authority": "KT. GIÁM ĐỐC", "title": "PHÓ GIÁM ĐỐC", "name": "Nguyễn Văn Hùng"},
        "recipients": ["Bộ Y tế (b/c)", "UBND tỉnh (b/c)", "Công an tỉnh (Tổ công tác Đề án 06 tỉnh)",
                       "Sở Thông tin và Truyền thông", "Trung tâm Kiểm soát bệnh tật tỉnh",
                       "TTYT các huyện, thành phố", "Lưu: VT, NVY"],
        "targets": {"data_entry": 100, "feedback_handled": 100, "passport_signing": 95,
                    "id_verified": 95},
        "deadlines": {"cleansing": dt.date(2022, 6, 1)},
        "thresholds": {"dedup_threshold": None, "unsigned_days": 14, "name_match_score": 90,
                       "vaccine_match_score": 85, "worklist_top_n": 20, "lowest_n": 10},
    }


# --------------------------------------------------------------------------------------------
# generate
# --------------------------------------------------------------------------------------------

def generate(out: Path, *, scale: float = 1.0, seed: int = 2022,
             rates: ErrorRates | None = None) -> SynthSummary:
    """Write the synthetic province into ``out`` (inputs/, params.yaml, truth/).

    Args:
        out: folder to write into (created; existing files are overwritten).
        scale: 1 = the seed report's totals; other scales multiply them (rounded half-up).
        seed: random seed; the same seed and scale give byte-identical files.
        rates: error rates (``ErrorRates()`` if None).

    Returns:
        A ``SynthSummary`` with the totals written.

    Raises:
        ValueError: If ``scale`` is not positive.

    Examples:
        >>> import tempfile
        >>> s = generate(Path(tempfile.mkdtemp()), scale=0.0005, seed=1)
        >>> s.totals["dose_rows"], s.totals["signed"], s.totals["registry"]
        (1378, 1248, 100)
    """
    t0 = time.perf_counter()
    rates = rates or ErrorRates()
    target = scaled_totals(scale)
    out = Path(out)
    _check_phone_prefixes()
    root = np.random.SeedSequence(seed)
    streams = [np.random.default_rng(s) for s in root.spawn(12)]
    (rng_geo, rng_hh, rng_names, rng_ids, rng_dose, rng_ref, rng_err, rng_row, rng_sign, rng_out,
     rng_side, rng_str) = streams

    n_rows = target["dose_rows"]
    n_dup = int(np.floor(rates.dose_duplicate * n_rows + 0.5))
    d_true = n_rows - n_dup
    n_missing = int(np.floor(rates.dose_missing * d_true + 0.5))
    n_signed = target["signed"]
    if target["doses_administered"] < d_true + n_missing:
        raise ValueError("doses administered below the platform's unique doses: lower dose_missing")

    com = _communes(rng_geo)
    sites = _sites(com)

    # ---- households, persons and dose histories; cut exactly at the dose target --------------
    need = d_true + n_missing
    P, vaccinated, dates, vax = _simulate_population(need, com, rng_hh, rng_dose)

    n_pers_all = P["hh"].shape[0]
    names = _person_names(P, rng_names)
    id_kind, id_num, spare_cmnd = _person_ids(P, rng_ids)
    phone = _phones(P, rng_ids)
    insurance = _insurance(P, rng_ids)
    commune = P["hh_commune"][P["hh"]]
    hh_address = _addresses(P["hh_commune"], com, rng_geo)

    # ---- vaccinated persons and their true doses, flat --------------------------------------
    V = vaccinated  # person index of each vaccinated person (0..n_v-1 = "v")
    n_v = V.shape[0]
    pos = np.arange(5)[None, :].repeat(n_v, 0)
    has = dates >= 0
    dose_v = np.repeat(np.arange(n_v), has.sum(1))
    dose_pos = pos[has]  # 0-based true position
    dose_date = dates[has]
    dose_vax = vax[has]
    n_true_all = dose_v.shape[0]
    assert n_true_all == need
    n_doses_v = has.sum(1)

    # missing doses: one per chosen person, never the last dose
    multi = np.flatnonzero(n_doses_v >= 2)
    miss_v = rng_dose.choice(multi, size=min(n_missing, multi.size), replace=False)
    miss_pos = (rng_dose.random(miss_v.size) * (n_doses_v[miss_v] - 1)).astype(np.int64)
    start_v = np.concatenate([[0], np.cumsum(n_doses_v)[:-1]])
    missing_rows = start_v[miss_v] + miss_pos
    is_missing = np.zeros(n_true_all, bool)
    is_missing[missing_rows] = True
    after_gap = np.zeros(n_true_all, bool)
    after_gap[missing_rows + 1] = True

    # sites of all true doses (missing ones too: they count in the tallies)
    v_commune = commune[V]
    tyt_site = np.arange(len(com["code"]))  # TYT site index = commune index
    dist_codes = np.unique(sites["district"][sites["kind"] == 1])
    dist_site0 = {d: int(np.flatnonzero((sites["kind"] == 1) & (sites["district"] == d))[0])
                  for d in dist_codes}
    v_dist_site0 = np.array([dist_site0[d] for d in com["district"]])[v_commune]
    prov_sites = np.flatnonzero(sites["kind"] == 2)
    u = rng_row.random(n_true_all)
    dv = dose_v
    site = np.select(
        [u < 0.74, u < 0.94, u < 0.97],
        [tyt_site[v_commune[dv]], v_dist_site0[dv] + rng_row.integers(0, 2, n_true_all),
         prov_sites[rng_row.integers(0, prov_sites.size, n_true_all)]],
        rng_row.integers(0, len(com["code"]), n_true_all))

    # ---- person records: duplicates (second person_ref) ------------------------------------
    plat = ~is_missing
    n_plat_v = np.bincount(dose_v[plat], minlength=n_v)
    dup_v = np.flatnonzero((n_plat_v >= 2) & (rng_ref.random(n_v) < rates.duplicate_person))
    split_at = 1 + (rng_ref.random(dup_v.size) * (n_plat_v[dup_v] - 1)).astype(np.int64)
    n_ref = n_v + dup_v.size
    ref_v = np.concatenate([np.arange(n_v), dup_v])
    ref_is_b = np.zeros(n_ref, bool)
    ref_is_b[n_v:] = True
    # platform rank of each true dose within its person (missing excluded)
    plat_rank = np.cumsum(plat) - 1
    start_plat = np.concatenate([[0], np.cumsum(n_plat_v)[:-1]])
    rank_in_person = np.where(plat, plat_rank - start_plat[dose_v], -1)
    b_of_v = np.full(n_v, -1, np.int64)
    b_of_v[dup_v] = n_v + np.arange(dup_v.size)
    split_of_v = np.full(n_v, 1 << 30, np.int64)
    split_of_v[dup_v] = split_at
    dose_ref = np.where(rank_in_person >= split_of_v[dose_v], b_of_v[dose_v], dose_v)

    # record-level true values
    rp = V[ref_v]  # person index of each ref
    ref_commune = commune[rp].copy()
    ref_address = hh_address.take(pa.array(P["hh"][rp]))
    err_ref: dict[str, np.ndarray] = {k: np.zeros(n_ref, bool) for k in ERROR_KINDS}
    err_ref["duplicate_person"] = ref_is_b.copy()

    # second records: perturbations
    r = rng_ref
    b = ref_is_b
    moved = _pick(b, rates.dup_commune_moved, r)
    same_dist = r.random(n_ref) < 0.6
    new_c = r.choice(len(com["code"]), n_ref, p=com["weight"])
    dist_of_c = com["district"]
    # same district: pick another commune of the same district
    by_dist = {d: np.flatnonzero(dist_of_c == d) for d in np.unique(dist_of_c)}
    for d, members in by_dist.items():
        m = moved & same_dist & (dist_of_c[ref_commune] == d)
        new_c[m] = members[r.integers(0, members.size, int(m.sum()))]
    moved &= new_c != ref_commune
    ref_commune = np.where(moved, new_c, ref_commune)
    err_ref["commune_moved"] = moved
    if moved.any():
        ref_address = pc.replace_with_mask(ref_address, pa.array(moved),
                                           _addresses(ref_commune[moved], com, r))
    # second records are entered at another site
    b_site = np.where(r.random(n_ref) < 0.6, tyt_site[ref_commune],
                      np.array([dist_site0[d] for d in com["district"]])[ref_commune]
                      + r.integers(0, 2, n_ref))
    row_is_b = ref_is_b[dose_ref]
    site = np.where(row_is_b, b_site[dose_ref], site)

    # ---- record-level errors -----------------------------------------------------------------
    e = rng_err
    age_r = P["age"][rp]
    # names: one variant at most per record
    ref_name, name_masks = _name_errors(names, rp, b, rates, e, np.random.default_rng(root.spawn(1)[0]))
    err_ref.update(name_masks)

    # gender
    gw = _pick(~b, rates.gender_wrong, e) | _pick(b, rates.dup_gender_wrong, e)
    female_r = P["female"][rp]
    err_ref["gender_wrong"] = gw
    ref_gender = pc.if_else(pa.array(female_r ^ gw), "Nữ", "Nam")

    # birth date: day/month swap (only when it gives another valid date)
    birth_r = P["birth"][rp]
    by, bm, bd = _ymd(birth_r)
    swappable = (bd <= 12) & (bd != bm)
    bswap = swappable & (_pick(~b, rates.birth_date_swapped, e) | _pick(b, rates.dup_birth_date_swapped, e))
    err_ref["birth_date_swapped"] = bswap
    ref_birth = np.where(bswap, _days(by, bd, bm), birth_r)

    # IDs
    has_id = id_kind[rp] > 0
    id_str, id_masks = _id_errors(P, rp, id_kind, id_num, spare_cmnd, b, rates, e)
    err_ref.update(id_masks)

    # phones
    ph_str, phone_masks = _phone_errors(phone, rp, b, rates, e)
    err_ref.update(phone_masks)

    # verification status per record (what the platform's check against CSDLQG returned)
    # the platform's check folds case, spacing and Unicode form: those slips still verify
    name_err = np.zeros(n_ref, bool)
    for kind in set(NAME_KINDS) - {"name_case_spacing", "name_nfd"}:
        name_err |= err_ref[kind]
    relative, dig = err_ref["id_of_relative"], err_ref["id_digit_error"]
    # Excel-mangled IDs are export artifacts: the platform's own record still verifies
    no_id_raw = (~has_id & ~relative) | err_ref["id_missing"] | err_ref["id_malformed"]
    mismatch = name_err | bswap | gw | relative | err_ref["id_other_document"]
    vu = e.random(n_ref)
    verify = np.select(
        [no_id_raw, dig & (vu < 0.6), dig | mismatch, vu < 0.008, vu < 0.012],
        [3, 2, 1, 4, 1], 0)  # index into _VERIFY_CODES

    # ---- dose rows on the platform ----------------------------------------------------------
    prow = np.flatnonzero(plat)  # true dose index of each platform row
    n_plat = prow.size
    assert n_plat == d_true
    row_ref = dose_ref[prow]
    row_v = dose_v[prow]
    row_date = dose_date[prow].copy()
    row_vax = dose_vax[prow]
    row_pos = dose_pos[prow]
    row_site = site[prow]
    err_row: dict[str, np.ndarray] = {}
    err_row["dose_missing"] = after_gap[prow]
    # dose number as entered: true position; second records sometimes renumber from 1
    rank_in_ref = rank_in_person[prow] - np.where(ref_is_b[row_ref], split_of_v[row_v], 0)
    renumber = ref_is_b & (rng_row.random(n_ref) < 0.4)
    entered_no = np.where(renumber[row_ref], rank_in_ref + 1, row_pos + 1)
    wrong = _pick(np.ones(n_plat, bool), rates.dose_number_wrong, rng_row)
    entered_no = np.where(wrong, np.where(entered_no > 1, entered_no - 1, entered_no + 1), entered_no)
    # out of order: swap the numbers of two consecutive rows of one record
    nxt_same = np.zeros(n_plat, bool)
    nxt_same[:-1] = row_ref[1:] == row_ref[:-1]
    ooo = np.flatnonzero(_pick(nxt_same & ~wrong, rates.doses_out_of_order, rng_row))
    ooo = ooo[np.concatenate([[True], np.diff(ooo) > 1])] if ooo.size else ooo
    a_, b_ = entered_no[ooo].copy(), entered_no[ooo + 1].copy()
    entered_no[ooo], entered_no[ooo + 1] = b_, a_
    err_row["doses_out_of_order"] = np.zeros(n_plat, bool)
    err_row["doses_out_of_order"][ooo] = True
    err_row["doses_out_of_order"][ooo + 1] = True
    err_row["dose_number_wrong"] = (wrong | (renumber[row_ref] & (rank_in_ref + 1 != row_pos + 1))) \
        & ~err_row["doses_out_of_order"]

    # ---- duplicate dose rows ----------------------------------------------------------------
    src = np.sort(rng_row.choice(n_plat, size=n_dup, replace=False))
    dup_ref = row_ref[src].copy()
    # some duplicates go to the person's second record, or are entered by another site
    has_b = b_of_v[row_v[src]] >= 0
    to_b = has_b & (rng_row.random(n_dup) < 0.5)
    dup_ref = np.where(to_b, b_of_v[row_v[src]], dup_ref)
    other_site = rng_row.random(n_dup) < 0.35
    dup_site = np.where(to_b, b_site[dup_ref],
                        np.where(other_site, v_dist_site0[row_v[src]], row_site[src]))
    dup_date = row_date[src] + np.where(rng_row.random(n_dup) < 0.15, rng_row.choice([-1, 1], n_dup), 0)
    dup_date = np.minimum(dup_date, int(PERIOD_END.astype(np.int64)))

    # all rows: platform rows then duplicates
    N = n_plat + n_dup
    all_ref = np.concatenate([row_ref, dup_ref])
    all_v = np.concatenate([row_v, row_v[src]])
    all_true_date = np.concatenate([row_date, row_date[src]])
    all_date = np.concatenate([row_date, dup_date])
    all_vax = np.concatenate([row_vax, row_vax[src]])
    all_pos = np.concatenate([row_pos, row_pos[src]])
    all_site = np.concatenate([row_site, dup_site])
    all_no = np.concatenate([entered_no, entered_no[src]])
    dup_of_idx = np.concatenate([np.full(n_plat, -1), src])
    for k in list(err_row):
        err_row[k] = np.concatenate([err_row[k], np.zeros(n_dup, bool)])
    err_row["dose_duplicate"] = dup_of_idx >= 0

    # dose-date errors (one at most per row)
    ry, rm, rd = _ymd(all_date)
    dd_kinds = ["dose_date_swapped", "dose_date_impossible", "dose_date_future", "dose_date_before_birth"]
    cdf = np.cumsum([getattr(rates, k) for k in dd_kinds])
    uu = rng_row.random(N)
    dd_pick = np.where(uu < cdf[-1], np.searchsorted(cdf, uu, side="right"), -1)
    dd_pick = np.where((dd_pick == 0) & ~((rd <= 12) & (rd != rm)), -1, dd_pick)
    shown_date = all_date.copy()
    shown_date = np.where(dd_pick == 0, _days(ry, rd, rm), shown_date)
    fut = all_date + 365
    fut = np.where(fut <= int(PERIOD_END.astype(np.int64)), fut + 365, fut)
    shown_date = np.where(dd_pick == 2, fut, shown_date)
    bb_y = _ymd(P["birth"][V[all_v]])[0] - 1
    bb = _days(bb_y, rm, np.minimum(rd, 28))
    shown_date = np.where(dd_pick == 3, bb, shown_date)
    for i, k in enumerate(dd_kinds):
        err_row[k] = dd_pick == i

    # vaccine names: product name, or (vaccine_alias) one of its variants from vaccines.csv
    vx = refdata.vaccines().set_index("vaccine_code")
    canon_names = [str(vx.loc[c, "canonical_name"]) for c in VAX]
    canon = pa.array(canon_names)
    # children's Pfizer is written "Pfizer nhi" / "Pfizer trẻ em" on child rows only
    kid_words = ("nhi", "trẻ em")
    alias_lists = [[a for a in str(vx.loc[c, "aliases"]).split("|")
                    if a != vx.loc[c, "canonical_name"] and not a.endswith(kid_words)] for c in VAX]
    kid_alias = [a for a in str(vx.loc["PFIZER", "aliases"]).split("|") if a.endswith(kid_words)]
    alias_lists.append(kid_alias)  # pseudo-product row len(VAX): Pfizer for children
    max_alias = max(len(a) for a in alias_lists)
    # vaccine string table: row v * (max_alias + 1) + j, j = 0 the product name, j ≥ 1 aliases
    names_v = canon_names + [canon_names[_PFIZER]]
    vac_table = pa.array([s for v in range(len(VAX) + 1)
                          for s in ([names_v[v]] + alias_lists[v] + [names_v[v]] * max_alias)
                          [: max_alias + 1]])
    n_alias = np.array([len(a) for a in alias_lists])
    kid_row = (all_vax == _PFIZER) & (all_true_date - P["birth"][V[all_v]] < int(12 * _DAYS_PER_YEAR))
    vrow = np.where(kid_row, len(VAX), all_vax)
    alias = _pick(np.ones(N, bool), rates.vaccine_alias * np.where(kid_row, 5.0, 1.0), rng_row) \
        & (n_alias[vrow] > 0)
    alias_j = np.where(alias, 1 + (rng_row.random(N) * n_alias[vrow]).astype(np.int64), 0)
    vac_code = vrow * (max_alias + 1) + alias_j
    err_row["vaccine_alias"] = alias
    lot_code = all_vax * 1000 + (1000 + (all_date - int(CAMPAIGN_START.astype(np.int64))) // 21 * 37 % 900
                                 + all_vax * 13) % 1000
    lot_pre = np.array(["A", "NG", "FK", "AS", "I", "HV", "AB", "JS"])
    lot_table = _join(pa.array(np.repeat(lot_pre, 1000)), _pad(np.tile(np.arange(1000, 2000), len(VAX)), 4))

    # entry, signing ---------------------------------------------------------------------------
    end_s = (int(PERIOD_END.astype(np.int64)) + 1) * 86_400 - 1
    ul = rng_out.random(N)
    lag_days = np.select([ul < 0.7, ul < 0.9, ul < 0.98],
                         [0, rng_out.integers(1, 8, N), rng_out.integers(8, 61, N)],
                         rng_out.integers(60, 300, N))
    lag_days = np.where(err_row["dose_duplicate"], rng_out.integers(1, 90, N), lag_days)
    entered = (all_true_date + lag_days) * 86_400 + 7 * 3600 + rng_out.integers(0, 14 * 3600, N)
    late = entered > end_s
    entered = np.where(late, end_s - rng_out.integers(0, 10 * 86_400, N), entered)
    entered = np.maximum(entered, all_true_date * 86_400 + 7 * 3600)
    # export order: by time of entry; record_id = rank in that order
    order = np.lexsort((rng_out.random(N), entered))
    rank = np.empty(N, np.int64)
    rank[order] = np.arange(N)

    row_verify = verify[all_ref]
    # signing needs a verified record (the rest fill up to the seed's count: records verified
    # by hand); doses entered in the last 3 days are not signed yet
    score = rng_sign.random(N) + 4.0 * (row_verify == 0) - 0.6 * err_row["dose_duplicate"] \
        - 0.8 * (entered > end_s - 14 * 86_400) - 8.0 * (entered > end_s - 3 * 86_400)
    signed = np.zeros(N, bool)
    if n_signed > 0:
        signed[np.argpartition(-score, n_signed - 1)[:n_signed]] = True
    sign_start = np.datetime64("2022-01-10").astype(np.int64) * 86_400
    lo_day = np.maximum(entered + 3600, sign_start) // 86_400
    sign_day = lo_day + (rng_sign.random(N) * (end_s // 86_400 - lo_day + 1)).astype(np.int64)
    signed_at = np.maximum(sign_day * 86_400 + rng_sign.integers(7 * 3600, 21 * 3600, N), entered + 600)
    signed_at = np.minimum(signed_at, end_s)

    # free the working arrays of the stages above before the write (lower peak memory)
    del (row_ref, row_v, row_date, row_vax, row_pos, row_site, entered_no, dup_date, dup_site,
         ul, lag_days, late, score, lo_day, sign_day, uu, dd_pick, fut, bb, bb_y, rd, kid_row,
         vrow, alias_j, u, dv, plat_rank, rank_in_person, dose_v, dose_pos, dose_vax, is_missing)

    # raw date strings: format style per row; impossible dates written as text
    style_b = rng_str.choice(6, N, p=[0.87, 0.04, 0.04, 0.02, 0.02, 0.01])
    # epoch milliseconds (API style) only for births from 1975 on: no negative or short values
    style_b = np.where((style_b == 5) & (ref_birth[all_ref] < 1826), 0, style_b)
    style_d = rng_str.choice(4, N, p=[0.9, 0.04, 0.04, 0.02])
    imp = err_row["dose_date_impossible"]
    imp_m = np.where(np.isin(rm, [4, 6, 9, 11]), rm, 2)
    imp_d = np.where(imp_m == 2, 30 + rng_str.integers(0, 2, N), 31)
    dn_style = rng_str.random(N)
    dose_no_kind = np.where(dn_style < 0.75, 0, np.where((all_no >= 3) & (dn_style > 0.98), 2, 1))
    ref_person_ref = _s(10_000_000 + rng_out.permutation(n_ref))
    person_id = _join("P", _pad(np.arange(n_pers_all), 7))
    row_errs_code = _error_codes(err_row, err_ref, all_ref, N)
    dup_rank = np.where(dup_of_idx >= 0, rank[np.maximum(dup_of_idx, 0)], -1)
    true_id_all = _id_strings(id_kind, id_num)
    true_phone_all = _phone_strings(phone)
    verify_vi = pa.array([VERIFY_VI[c] for c in _VERIFY_CODES])
    site_codes, site_names = pa.array(sites["code"]), pa.array(sites["name"])
    com_codes, com_dist = pa.array(com["code"]), pa.array(com["district"])

    def dose_chunk(ix: np.ndarray) -> tuple[pa.Table, pa.Table]:
        """Raw export and truth columns for rows ``ix`` (in export order)."""
        n = ix.size
        ref = pa.array(all_ref[ix])
        pers = pa.array(V[all_v[ix]])
        rc = ref_commune[all_ref[ix]]
        dose_txt = _fmt_date(shown_date[ix], style_d[ix])
        im = imp[ix]
        if im.any():
            txt = _join(_s(imp_d[ix][im]), _pad(imp_m[ix][im], 2), _s(ry[ix][im]), sep="/")
            dose_txt = pc.replace_with_mask(dose_txt, pa.array(im), txt)
        no = all_no[ix]
        no_txt = _s(no)
        kind = dose_no_kind[ix]
        no_txt = pc.if_else(pa.array(kind == 1), _join("Mũi", no_txt, sep=" "), no_txt)
        no_txt = pc.if_else(pa.array(kind == 2), "Mũi nhắc lại", no_txt)
        sg = signed[ix]
        raw = {
            "record_id": _s(1_000_000_000 + rank[ix]),
            "person_ref": ref_person_ref.take(ref),
            "full_name": ref_name.take(ref),
            "birth_date": _fmt_date(ref_birth[all_ref[ix]], style_b[ix]),
            "gender": ref_gender.take(ref),
            "id_number": id_str.take(ref),
            "phone": ph_str.take(ref),
            "insurance_no": insurance.take(pa.array(rp[all_ref[ix]])),
            "province_code": pa.array(np.full(n, PROVINCE_CODE)),
            "district_code": com_dist.take(pa.array(rc)),
            "commune_code": com_codes.take(pa.array(rc)),
            "address": ref_address.take(ref),
            "vaccine": vac_table.take(pa.array(vac_code[ix])),
            "lot": lot_table.take(pa.array(lot_code[ix])),
            "dose_number": no_txt,
            "dose_date": dose_txt,
            "site_code": site_codes.take(pa.array(all_site[ix])),
            "site_name": site_names.take(pa.array(all_site[ix])),
            "entered_at": _fmt_timestamp(entered[ix]),
            "sign_status": pc.if_else(pa.array(sg), "Đã ký", "Chưa ký"),
            "signed_at": pc.if_else(pa.array(sg), _fmt_timestamp(signed_at[ix]), pa.nulls(n, pa.string())),
            "verify_status": verify_vi.take(pa.array(row_verify[ix])),
        }
        dup = dup_rank[ix]
        truth = {
            "record_id": raw["record_id"],
            "person_ref": raw["person_ref"],
            "person_id": person_id.take(pers),
            "dup_of": pc.if_else(pa.array(dup >= 0), _s(1_000_000_000 + dup), pa.nulls(n, pa.string())),
            "true_full_name": names.take(pers),
            "true_birth_date": pa.array(_seconds(P["birth"][V[all_v[ix]]])),
            "true_gender": pc.if_else(pa.array(P["female"][V[all_v[ix]]]), "F", "M"),
            "true_id_number": true_id_all.take(pers),
            "true_phone": true_phone_all.take(pers),
            "true_vaccine": canon.take(pa.array(all_vax[ix])),
            "true_dose_number": pa.array(all_pos[ix] + 1),
            "true_dose_date": pa.array(_seconds(all_true_date[ix])),
            "true_commune_code": com_codes.take(pa.array(commune[V[all_v[ix]]])),
            "errors": _error_text(row_errs_code[ix]),
        }
        return (pa.table({DOSE_HEADERS[k]: v for k, v in raw.items()}), pa.table(truth))

    doses_path = out / "inputs" / "doses.csv"
    truth_path = out / "truth" / "doses_truth.parquet"
    doses_path.parent.mkdir(parents=True, exist_ok=True)
    truth_path.parent.mkdir(parents=True, exist_ok=True)
    # chunks are built on two threads (pyarrow and numpy release the GIL) and written in order
    chunk = 250_000
    _fmt_timestamp(np.zeros(1, np.int64))  # build the clock table before the threads start
    with open(doses_path, "wb") as fh, ThreadPoolExecutor(max_workers=2) as pool:
        fh.write(b"\xef\xbb\xbf")
        writers: list[pacsv.CSVWriter | pq.ParquetWriter] = []
        pending: deque[Future[tuple[pa.Table, pa.Table]]] = deque()

        def write(tables: tuple[pa.Table, pa.Table]) -> None:
            raw_t, truth_t = tables
            if not writers:
                writers.append(pacsv.CSVWriter(fh, raw_t.schema, write_options=_CSV_OPTIONS))
                writers.append(pq.ParquetWriter(truth_path, truth_t.schema, compression="zstd",
                                                compression_level=1, use_dictionary=_TRUTH_DICT))
            writers[0].write_table(raw_t)
            writers[1].write_table(truth_t)

        for start in range(0, N, chunk):
            pending.append(pool.submit(dose_chunk, order[start:start + chunk]))
            if len(pending) > 2:
                write(pending.popleft().result())
        while pending:
            write(pending.popleft().result())
        for w in writers:
            w.close()

    # persons_truth: one row per record; "dose_missing" on records with a dose never entered
    miss_ref_flag = np.zeros(n_ref, bool)
    miss_ref_flag[dose_ref[missing_rows + 1]] = True
    ref_code = _error_codes({"dose_missing": miss_ref_flag}, err_ref, np.arange(n_ref), n_ref)
    persons_truth = pa.table({"person_ref": ref_person_ref,
                              "person_id": person_id.take(pa.array(rp)),
                              "errors": _error_text(ref_code)})
    _write_parquet(persons_truth.sort_by("person_ref"), out / "truth" / "persons_truth.parquet")

    # ---- site tallies, feedback, police registry, population ---------------------------------
    has_err = np.zeros(n_ref, bool)
    for mask_ in err_ref.values():
        has_err |= mask_
    tally_total = _write_site_tallies(out, dose_date, site, sites, target["doses_administered"], rng_side)
    true_ids = _id_strings(id_kind, id_num)
    true_phones = _phone_strings(phone)
    person_ids = {"name": names, "id": true_ids, "phone": true_phones, "birth": P["birth"],
                  "female": P["female"], "commune": commune}
    n_fb = _write_feedback(out, target["feedback"], rp, ref_commune, b_site, has_err, person_ids,
                           com, sites, rng_side)
    n_reg = _write_registry(out, target["registry"], rp, has_id, verify, has_err, dig, id_str,
                            person_ids, com, rng_side)
    pop_total = _write_population(out, P["age"], commune, com, rng_side)

    # ---- params and summary ---------------------------------------------------------------
    (out / "params.yaml").write_text(
        "# Synthetic Thái Nguyên (vaxreport synth): run with `vaxreport run params.yaml`.\n"
        + yaml.safe_dump(_params_yaml(), allow_unicode=True, sort_keys=False, width=100), encoding="utf-8")
    error_rows = {k: int(v.sum()) for k, v in err_row.items()}
    for k, v in err_ref.items():
        error_rows[k] = error_rows.get(k, 0) + int(v[all_ref].sum())
    error_refs = {k: int(v.sum()) for k, v in err_ref.items()}
    error_refs["dose_missing"] = int(miss_ref_flag.sum())
    totals = {
        "dose_rows": N, "dose_rows_unique": n_plat, "duplicate_dose_rows": n_dup,
        "signed": int(signed.sum()), "doses_administered": tally_total,
        "doses_never_entered": tally_total - n_plat, "feedback": n_fb,
        "feedback_handled": n_fb, "registry": n_reg, "persons_vaccinated": n_v,
        "person_refs": n_ref, "duplicate_person_refs": int(b.sum()), "population": pop_total,
        "sites": int(np.unique(all_site).size), "communes": len(com["code"]),
    }
    summary = SynthSummary(out=out, scale=scale, seed=seed, totals=totals,
                           error_rows=dict(sorted(error_rows.items())),
                           error_refs=dict(sorted(error_refs.items())))
    (out / "truth" / "summary.json").write_text(json.dumps({
        "scale": scale, "seed": seed, "totals": totals, "error_rows": summary.error_rows,
        "error_refs": summary.error_refs, "rates": asdict(rates), "error_kinds": ERROR_KINDS,
    }, ensure_ascii=False, indent=2), encoding="utf-8")
    summary.seconds = time.perf_counter() - t0
    return summary


def _error_codes(err_row: dict[str, np.ndarray], err_ref: dict[str, np.ndarray],
                 row_ref: np.ndarray, n: int) -> np.ndarray:
    """Bit mask of error kinds per row (bit i = ``list(ERROR_KINDS)[i]``)."""
    code = np.zeros(n, np.int64)
    for bit, kind in enumerate(ERROR_KINDS):
        mask = np.zeros(n, bool)
        if kind in err_ref:
            mask |= err_ref[kind][row_ref]
        if kind in err_row:
            mask |= err_row[kind]
        code |= mask.astype(np.int64) << bit
    return code


def _error_text(code: np.ndarray) -> pa.Array:
    """``;``-joined error kinds (vocabulary order) of bit masks, "" if none."""
    uniq, inv = np.unique(code, return_inverse=True)
    kinds = list(ERROR_KINDS)
    text = [";".join(k for b, k in enumerate(kinds) if (int(u) >> b) & 1) for u in uniq]
    return pa.array(text, pa.string()).take(pa.array(inv.ravel()))
