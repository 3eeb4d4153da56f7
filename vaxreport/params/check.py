"""Reading and checking a params YAML: a loader that keeps the text of codes, a problem collector,
and typed converters that record a problem instead of raising.

Each converter ``as_*(value, where, problems, ...)`` returns the value converted, or None after
adding one ``"<where>: <message>"`` line to ``problems`` (the message echoes the value and its
type). ``RunParams`` (``params.model``) runs every key through them and raises one ``ParamsError``
listing all the lines.

Examples:
    >>> pr = Problems()
    >>> as_int(14, "thresholds.unsigned_days", pr, 0, 3650), as_code("19", "province_code", pr, 2)
    (14, '19')
    >>> as_int("14", "thresholds.lowest_n", pr, 1), as_date("2022-02-30", "report_date", pr)
    (None, None)
    >>> print("\\n".join(pr.items))
    thresholds.lowest_n: expected a whole number, got '14' (str)
    report_date: expected a date YYYY-MM-DD, got '2022-02-30' (str)
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from vaxreport.exceptions import ParamsError

__all__ = [
    "MISSING", "Problems", "YamlInt", "as_code", "as_date", "as_float", "as_int", "as_mapping",
    "as_text", "as_text_list", "check_keys", "load_yaml", "show", "type_name",
]

# --------------------------------------------------------------------------------------------
# YAML that keeps codes as strings
# --------------------------------------------------------------------------------------------


class YamlInt(int):
    """An int that remembers its YAML text (``017`` stays ``"017"`` when a code is wanted)."""

    text: str

    def __new__(cls, value: int, text: str) -> YamlInt:
        obj = super().__new__(cls, value)
        obj.text = text
        return obj


class _Loader(yaml.SafeLoader):
    """SafeLoader whose integers remember their source text."""


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    value = yaml.SafeLoader.construct_yaml_int(loader, node)
    return YamlInt(value, str(node.value))


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def load_yaml(path: Path) -> Any:
    """Parse a YAML file with the code-preserving loader; syntax errors become ``ParamsError``.

    Examples:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.yaml"
        >>> _ = p.write_text("code: 017\\nn: 14\\n")
        >>> d = load_yaml(p); d["code"].text, d["n"] + 1
        ('017', 15)
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ParamsError(f"params file not found: {path}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ParamsError(f"cannot read params file {path}: {exc}") from exc
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}") from exc


# --------------------------------------------------------------------------------------------
# Typed converters that record problems instead of raising
# --------------------------------------------------------------------------------------------


class Problems:
    """Every problem found so far, one ``"<where>: <message>"`` line each, in the order found."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, msg: str) -> None:
        """Record that the value at ``where`` (``"thresholds.lowest_n"``) is wrong: ``msg``."""
        self.items.append(f"{where}: {msg}")


#: What a reader returns for a key that is absent (or null), as opposed to a wrong value (None).
MISSING = object()


def show(v: Any) -> str:
    """A value as the user wrote it, for messages: a YAML integer keeps its text (``017``).

    >>> show("x"), show(1.5)
    ("'x'", '1.5')
    """
    if isinstance(v, YamlInt):
        return v.text
    return f"{v!r}"


def type_name(v: Any) -> str:
    """The YAML-ish name of a value's type, for messages.

    >>> type_name({}), type_name([]), type_name(1.5)
    ('mapping', 'list', 'float')
    """
    return {dict: "mapping", list: "list", YamlInt: "int"}.get(type(v), type(v).__name__)


def as_text(v: Any, where: str, pr: Problems, *, allow_empty: bool = True) -> str | None:
    """Text, stripped (empty text a problem unless ``allow_empty``)."""
    if isinstance(v, str) and (allow_empty or v.strip()):
        return v.strip()
    if isinstance(v, str):
        pr.add(where, "must not be empty")
    else:
        pr.add(where, f"expected text, got {show(v)} ({type_name(v)})")
    return None


def as_code(v: Any, where: str, pr: Problems, digits: int) -> str | None:
    """A fixed-width digit code: leading zeros restored, surplus leading zeros dropped.

    >>> as_code(1, "province_code", Problems(), 2), as_code("019", "province_code", Problems(), 2)
    ('01', '19')
    """
    if isinstance(v, YamlInt):
        text = v.text
    elif isinstance(v, int) and not isinstance(v, bool) and v >= 0:
        text = str(v)  # codes are fixed-width: leading zeros are restored below
    elif isinstance(v, str):
        text = v.strip()
    else:
        pr.add(where, f'expected a {digits}-digit code such as "{"0" * (digits - 1)}1" (quote it), '
                      f"got {show(v)} ({type_name(v)})")
        return None
    if len(text) > digits and set(text[: len(text) - digits]) == {"0"}:
        text = text[len(text) - digits:]  # "019": the CCCD spelling of GSO province code "19"
    if not re.fullmatch(r"\d+", text) or len(text) > digits:
        pr.add(where, f"expected a {digits}-digit code, got {text!r}")
        return None
    return text.zfill(digits)


def as_int(v: Any, where: str, pr: Problems, lo: int, hi: int | None = None) -> int | None:
    """A whole number in ``[lo, hi]`` (no upper bound when ``hi`` is None); not a bool."""
    if isinstance(v, bool) or not isinstance(v, int):
        pr.add(where, f"expected a whole number, got {show(v)} ({type_name(v)})")
        return None
    if v < lo or (hi is not None and v > hi):
        rng = f">= {lo}" if hi is None else f"between {lo} and {hi}"
        pr.add(where, f"must be {rng}, got {int(v)}")
        return None
    return int(v)


def as_float(v: Any, where: str, pr: Problems, lo: float, hi: float) -> float | None:
    """A number in ``[lo, hi]``, as a float; not a bool."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        pr.add(where, f"expected a number, got {show(v)} ({type_name(v)})")
        return None
    if not lo <= float(v) <= hi:
        pr.add(where, f"must be between {lo:g} and {hi:g}, got {float(v):g}")
        return None
    return float(v)


def as_date(v: Any, where: str, pr: Problems) -> dt.date | None:
    """A date: a YAML date, a date-time (its date) or ISO text ``YYYY-MM-DD``."""
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v.strip())
        except ValueError:
            pass
    pr.add(where, f"expected a date YYYY-MM-DD, got {show(v)} ({type_name(v)})")
    return None


def as_text_list(v: Any, where: str, pr: Problems) -> tuple[str, ...] | None:
    """A list of non-empty text lines, as a tuple (None when any line is wrong)."""
    if not isinstance(v, list):
        pr.add(where, f"expected a list of text lines, got {show(v)} ({type_name(v)})")
        return None
    out = [as_text(x, f"{where}[{i}]", pr, allow_empty=False) for i, x in enumerate(v)]
    return None if any(x is None for x in out) else tuple(x for x in out if x is not None)


def as_mapping(v: Any, where: str, pr: Problems) -> dict[str, Any] | None:
    """A mapping with text keys; null is an empty mapping."""
    if v is None:
        return {}
    if not isinstance(v, dict):
        pr.add(where, f"expected a mapping of keys to values, got {show(v)} ({type_name(v)})")
        return None
    return {str(k): x for k, x in v.items()}


def check_keys(d: Mapping[str, Any], known: set[str], where: str, pr: Problems) -> None:
    """Record each key of ``d`` not in ``known``, with the closest known key as a hint.

    >>> pr = Problems(); check_keys({"colour": 1}, {"color"}, "", pr); pr.items
    ["unknown key 'colour' (did you mean 'color'?)"]
    """
    for key in d:
        if key not in known:
            near = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            pr.items.append(f"unknown key {where + key!r}{hint}")
