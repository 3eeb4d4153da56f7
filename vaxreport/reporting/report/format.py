"""Vietnamese number, percentage and date formatting for everything a person reads.

One rounding rule for the whole project: a percentage is computed from the raw integer counts
and rounded half-up to 2 decimals (``pct``); it is printed with a decimal comma and a dot as the
thousands separator (``"94,24%"``, ``"2.756.537"``). A ratio with a zero denominator has no
percentage: ``pct`` returns ``None`` and ``fmt_pct`` prints an em dash ``"—"`` (short enough for a
table cell; the sentence helper says ``"không áp dụng"`` instead).

Dates follow NĐ 30/2020/NĐ-CP: a day below 10 and the months 1 and 2 take a leading zero
(``"ngày 05 tháng 02 năm 2022"``, ``"01/6/2022"``).
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from vaxreport.percent import as_count as _as_int
from vaxreport.percent import pct

__all__ = [
    "NOT_APPLICABLE",
    "fmt_date_long",
    "fmt_date_short",
    "fmt_day_month",
    "fmt_decimal",
    "fmt_int",
    "fmt_int_change",
    "fmt_pct",
    "fmt_pp_change",
    "fmt_pct_value",
    "fmt_place_date",
    "fmt_ratio",
    "fmt_ratio_sentence",
    "parse_pct",
    "pct",
]

#: What ``fmt_pct`` prints when the denominator is zero.
NOT_APPLICABLE = "—"
_NA_WORDS = "không áp dụng"


def fmt_int(n: int) -> str:
    """Format an integer with a dot as the thousands separator.

    Args:
        n: an integer (numpy integers are accepted).

    Returns:
        The Vietnamese-style digits, with a leading ``-`` for negatives.

    Examples:
        >>> fmt_int(2756537)
        '2.756.537'
        >>> fmt_int(0), fmt_int(999), fmt_int(-1000)
        ('0', '999', '-1.000')
    """
    return f"{_as_int(n, 'n'):,}".replace(",", ".")


def fmt_decimal(value: Decimal | float | int, places: int = 2) -> str:
    """Format a number with ``places`` decimals (half-up), decimal comma and thousands dots.

    Args:
        value: the number; floats are converted through ``str`` (shortest repr) first.
        places: decimals to print.

    Returns:
        e.g. ``"1.234,50"``.

    Examples:
        >>> fmt_decimal(Decimal("94.24"))
        '94,24'
        >>> fmt_decimal(1234.5), fmt_decimal(Decimal("2.675"), 2), fmt_decimal(7, 0)
        ('1.234,50', '2,68', '7')
    """
    d = value if isinstance(value, Decimal) else Decimal(str(value))
    q = d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    sign = "-" if q < 0 else ""
    whole, _, frac = f"{abs(q):f}".partition(".")
    out = fmt_int(int(whole))
    return f"{sign}{out},{frac}" if frac else f"{sign}{out}"


def fmt_pct_value(value: Decimal | float | None, places: int = 2) -> str:
    """Format an already computed percentage (``94.24`` → ``"94,24%"``); ``None`` → ``"—"``.

    Prefer ``fmt_pct(num, den)`` when the raw counts are at hand.

    Examples:
        >>> fmt_pct_value(Decimal("100.00")), fmt_pct_value(None), fmt_pct_value(12.5, 1)
        ('100,00%', '—', '12,5%')
    """
    if value is None:
        return NOT_APPLICABLE
    return f"{fmt_decimal(value, places)}%"


def fmt_pct(num: int, den: int) -> str:
    """Percentage of two counts, Vietnamese style: ``"94,24%"``; ``"—"`` when ``den`` is 0.

    Examples:
        >>> fmt_pct(2756537, 2924867)
        '94,24%'
        >>> fmt_pct(2628, 2628), fmt_pct(0, 0)
        ('100,00%', '—')
    """
    return fmt_pct_value(pct(num, den))


def parse_pct(text: str) -> Decimal | None:
    """Inverse of ``fmt_pct``: ``"1.234,50%"`` → ``Decimal("1234.50")``; ``"—"`` → ``None``.

    Examples:
        >>> parse_pct("94,24%"), parse_pct("—")
        (Decimal('94.24'), None)
    """
    if text == NOT_APPLICABLE:
        return None
    return Decimal(text.removesuffix("%").replace(".", "").replace(",", "."))


def fmt_ratio(num: int, den: int) -> str:
    """``"2.756.537/2.924.867"``.

    Examples:
        >>> fmt_ratio(2628, 2628)
        '2.628/2.628'
    """
    return f"{fmt_int(num)}/{fmt_int(den)}"


def fmt_ratio_sentence(num: int, den: int, unit: str = "", verb: str = "đạt") -> str:
    """The report's phrase for an indicator: ``"2.756.537/2.924.867 mũi tiêm đạt 94,24%"``.

    Args:
        num: numerator count.
        den: denominator count.
        unit: what is counted (``"mũi tiêm"``, ``"phản ánh"``), placed after the ratio.
        verb: the word before the percentage.

    Returns:
        The phrase; with a zero denominator the percentage is replaced by ``"(không áp dụng)"``.

    Examples:
        >>> fmt_ratio_sentence(2756537, 2924867, "mũi tiêm")
        '2.756.537/2.924.867 mũi tiêm đạt 94,24%'
        >>> fmt_ratio_sentence(2628, 2628, "phản ánh", verb=", đạt")
        '2.628/2.628 phản ánh, đạt 100,00%'
        >>> fmt_ratio_sentence(0, 0, "phản ánh")
        '0/0 phản ánh (không áp dụng)'
    """
    head = fmt_ratio(num, den) + (f" {unit}" if unit else "")
    p = pct(num, den)
    if p is None:
        return f"{head} ({_NA_WORDS})"
    sep = "" if verb.startswith(",") else " "
    return f"{head}{sep}{verb} {fmt_pct_value(p)}"


def fmt_pp_change(new: Decimal | None, old: Decimal | None) -> str:
    """Change between two printed percentages, in words: ``"tăng 1,23 điểm phần trăm"``.

    Works on the rounded values (as returned by ``pct``) so the text agrees with the numbers a
    reader sees next to it.

    Args:
        new: this period's percentage.
        old: the previous period's percentage.

    Returns:
        ``"tăng X điểm phần trăm"``, ``"giảm X điểm phần trăm"``, ``"không đổi"``, or
        ``"không áp dụng"`` if either value is missing.

    Examples:
        >>> fmt_pp_change(Decimal("94.24"), Decimal("93.01"))
        'tăng 1,23 điểm phần trăm'
        >>> fmt_pp_change(Decimal("90.00"), Decimal("90.58")), fmt_pp_change(Decimal("5"), Decimal("5"))
        ('giảm 0,58 điểm phần trăm', 'không đổi')
        >>> fmt_pp_change(None, Decimal("1"))
        'không áp dụng'
    """
    if new is None or old is None:
        return _NA_WORDS
    diff = Decimal(new) - Decimal(old)
    if diff == 0:
        return "không đổi"
    return f"{'tăng' if diff > 0 else 'giảm'} {fmt_decimal(abs(diff))} điểm phần trăm"


def fmt_int_change(new: int, old: int, unit: str = "") -> str:
    """Change between two counts in words: ``"tăng 1.234 mũi tiêm"``, ``"giảm 5"``, ``"không đổi"``.

    Examples:
        >>> fmt_int_change(2756537, 2755303, "mũi tiêm"), fmt_int_change(5, 10), fmt_int_change(3, 3)
        ('tăng 1.234 mũi tiêm', 'giảm 5', 'không đổi')
    """
    diff = _as_int(new, "new") - _as_int(old, "old")
    if diff == 0:
        return "không đổi"
    word = "tăng" if diff > 0 else "giảm"
    return f"{word} {fmt_int(abs(diff))}" + (f" {unit}" if unit else "")


def _day_month(d: date) -> tuple[str, str]:
    day = f"{d.day:02d}"
    month = f"{d.month:02d}" if d.month <= 2 else str(d.month)
    return day, month


def fmt_date_long(d: date) -> str:
    """Date in words as NĐ 30 writes it: ``"ngày 01 tháng 6 năm 2022"``.

    Examples:
        >>> fmt_date_long(date(2022, 6, 1))
        'ngày 01 tháng 6 năm 2022'
        >>> fmt_date_long(date(2022, 2, 5)), fmt_date_long(date(2022, 12, 31))
        ('ngày 05 tháng 02 năm 2022', 'ngày 31 tháng 12 năm 2022')
    """
    day, month = _day_month(d)
    return f"ngày {day} tháng {month} năm {d.year}"


def fmt_date_short(d: date) -> str:
    """Short date with the same zero rule: ``"31/5/2022"``, ``"01/6/2022"``, ``"05/02/2022"``.

    Examples:
        >>> fmt_date_short(date(2022, 5, 31)), fmt_date_short(date(2022, 6, 1))
        ('31/5/2022', '01/6/2022')
        >>> fmt_date_short(date(2022, 2, 5))
        '05/02/2022'
    """
    day, month = _day_month(d)
    return f"{day}/{month}/{d.year}"


def fmt_day_month(d: date) -> str:
    """Day and month with the same zero rule, no year (chart ticks): ``"30/5"``, ``"07/02"``.

    Examples:
        >>> fmt_day_month(date(2022, 5, 30)), fmt_day_month(date(2022, 2, 7)), fmt_day_month(date(2021, 10, 18))
        ('30/5', '07/02', '18/10')
    """
    day, month = _day_month(d)
    return f"{day}/{month}"


def fmt_place_date(place: str, d: date) -> str:
    """The header's place-and-date line: ``"Thái Nguyên, ngày 01 tháng 6 năm 2022"``.

    Examples:
        >>> fmt_place_date("Thái Nguyên", date(2022, 6, 1))
        'Thái Nguyên, ngày 01 tháng 6 năm 2022'
    """
    return f"{place}, {fmt_date_long(d)}"
