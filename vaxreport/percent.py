"""Percentages from integer counts, exactly: one rounding rule (half-up, 2 decimals) for every
figure a report prints, so that each printed percentage reproduces from its printed counts."""

from __future__ import annotations

from decimal import Decimal
from numbers import Integral


def as_count(value: int, name: str) -> int:
    """Return ``value`` as a plain int; reject floats, bools and other types (programmer misuse)."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer count, got {value!r}")
    return int(value)


def pct(num: int, den: int) -> Decimal | None:
    """Percentage ``100 * num / den`` rounded half-up to 2 decimals, exactly, from integer counts.

    Computed in integer arithmetic, so there is no float or double-rounding error.

    Args:
        num: numerator count (may be negative, e.g. a change).
        den: denominator count, ``>= 0``.

    Returns:
        The percentage as a ``Decimal`` with 2 places, or ``None`` when ``den`` is 0.

    Raises:
        ValueError: if ``den`` is negative.

    Examples:
        >>> pct(2756537, 2924867)
        Decimal('94.24')
        >>> pct(2496793, 2756537)
        Decimal('90.58')
        >>> pct(1, 8), pct(0, 5), pct(3, 0)
        (Decimal('12.50'), Decimal('0.00'), None)
    """
    num, den = as_count(num, "num"), as_count(den, "den")
    if den < 0:
        raise ValueError(f"den must be >= 0, got {den}")
    if den == 0:
        return None
    q, r = divmod(abs(num) * 10_000, den)
    if 2 * r >= den:
        q += 1
    return Decimal(-q if num < 0 else q).scaleb(-2)
