"""The step protocol: what a cleansing step is given and what it may write besides its own columns.

A step is a pure ``(df, CleanParams) -> df`` function (``Step`` names it and the columns it owns).
To report what it did it may add helper columns, which ``audit.run_steps`` reads and removes:
``RULE + col`` (the repair applied to ``col`` on that row), ``FLAG + col`` (a problem found in
``col`` that is not a change; ``flag_column`` builds one) and ``QUARANTINE`` (why the row cannot
be used). Flags that stay in the data are ``;``-joined codes in one column (``date_flags``,
``id_flags``), built with ``flags_join`` and ``drop_flags``. See ``audit`` for the whole contract.

Examples:
    >>> flags_join([("b", pd.Series([True, False])), ("a", pd.Series([True, True]))], ["a", "b"],
    ...            pd.RangeIndex(2)).tolist()
    ['a;b', 'a']
    >>> flag_column(pd.Series([False, True]), "gender_unknown").tolist()
    [nan, 'gender_unknown']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from vaxreport.cleansing.columns import take_str, to_text

__all__ = ["FLAG", "QUARANTINE", "RULE", "CleanParams", "NameEvidence", "Step", "drop_flags", "flag_column",
           "flags_join"]

RULE = "__rule__"
FLAG = "__flag__"
QUARANTINE = "__quarantine__"


@dataclass(frozen=True)
class NameEvidence:
    """What the whole name column says about names that read validly both as Unicode and as
    legacy text (``steps_text``): how often each word occurs at each place of a name (family,
    middle, given) among the distinct names that are certainly Unicode, and the typing habit
    (``"tcvn3"`` or ``"vni"``) of each site that has a legacy one. Gathered from every partition
    of a run before its names are repaired (``steps_text.name_evidence_part``,
    ``merge_name_evidence``), so that a name is read the same way whichever partition holds it.
    """

    word_counts: tuple[dict[str, int], dict[str, int], dict[str, int]]
    site_habits: dict[str, str]


@dataclass(frozen=True)
class CleanParams:
    """Parameters of the field cleansing.

    Attributes:
        as_of: report date; dose and birth dates after it are flagged (default: today).
        campaign_start: first day of the national campaign; earlier doses are flagged.
        province_code: GSO code of the province whose admin units are checked.
        provinces: every province of a run that covers several (``RunParams.provinces``):
            the units of all of them are accepted; empty = ``province_code`` alone.
        name_match_threshold: rapidfuzz score (0-100) to accept an admin-unit name match.
        vaccine_match_threshold: rapidfuzz ratio (0-100) to accept a misspelt vaccine name.
        max_age: birth dates implying an older person are flagged ``birth_date_implausible``.
        min_dose_gap_days: two dose dates of one record closer than this are one dose (the
            shortest primary interval is 14 days, Abdala); used to place unnumbered boosters.
        legacy_name_evidence: how many times likelier (from the column's word frequencies)
            the legacy reading of a name that is valid both ways must be ("Hoà Thò An": VNI
            "Hồ Thị An") to be preferred to its Unicode reading.
        units_on: the day whose administrative units codes are checked against (a run passes
            its period end); default that of ``refdata.admin_units`` (31/12/2022).
        name_evidence: the name column's evidence gathered over a whole run (a partitioned run
            passes it); None = from the rows being cleansed.
    """

    as_of: dt.date | None = None
    campaign_start: dt.date = dt.date(2021, 3, 8)
    province_code: str = "19"
    provinces: tuple[str, ...] = ()
    name_match_threshold: float = 90.0
    vaccine_match_threshold: float = 85.0
    max_age: int = 120
    min_dose_gap_days: int = 14
    legacy_name_evidence: float = 100.0
    units_on: dt.date | None = None
    name_evidence: NameEvidence | None = None

    @property
    def report_date(self) -> dt.date:
        return self.as_of or dt.date.today()

    @property
    def province_codes(self) -> tuple[str, ...]:
        """The provinces whose admin units are checked: ``provinces``, else ``province_code``.

        >>> CleanParams().province_codes, CleanParams(provinces=("19", "01")).province_codes
        (('19',), ('19', '01'))
        """
        return self.provinces or (self.province_code,)


@dataclass(frozen=True)
class Step:
    """A named cleansing step: ``func(df, params) -> df`` may write ``columns`` (audited)."""

    name: str
    func: Callable[[pd.DataFrame, CleanParams], pd.DataFrame]
    columns: tuple[str, ...]


def flags_join(parts: Sequence[tuple[str, pd.Series]], order: Sequence[str], index: pd.Index,
               existing: pd.Series | None = None) -> pd.Series:
    """``;``-joined flag codes from ``(code, boolean mask)`` pairs, union ``existing`` flags.

    Codes come out in ``order``. Rows are combined as bit patterns and only the unique
    combinations are turned into text.
    """
    n = len(index)
    key = np.zeros(n, dtype="int64")
    codes_list = [code for code, _ in parts]
    for bit, (_, mask) in enumerate(parts):
        key |= mask.reindex(index).fillna(False).to_numpy(dtype=bool).astype("int64") << bit
    ex_uniques: list[str] = []
    if existing is not None:
        ex_codes, ex_u = pd.factorize(to_text(existing).reindex(index).fillna(""))
        key |= ex_codes.astype("int64") << len(parts)
        ex_uniques = list(ex_u)
    codes, uniques = pd.factorize(key)
    rank = {f: i for i, f in enumerate(order)}
    joined = []
    for u in uniques:
        fl = {codes_list[b] for b in range(len(parts)) if u >> b & 1}
        if ex_uniques:
            fl |= {f for f in ex_uniques[u >> len(parts)].split(";") if f}
        joined.append(";".join(sorted(fl, key=lambda f: (rank.get(f, len(rank)), f))))
    return pd.Series(np.asarray(joined, dtype=object)[codes] if n else [], index=index, dtype="str")


def drop_flags(flags: pd.Series, drop: set[str]) -> pd.Series:
    """Remove the given codes from ``;``-joined flag strings (on unique values).

    Examples:
        >>> drop_flags(pd.Series(["a;b", "b", ""]), {"b"}).tolist()
        ['a', '', '']
    """
    codes, uniques = pd.factorize(to_text(flags).fillna(""))
    kept = [";".join(f for f in u.split(";") if f and f not in drop) for u in uniques]
    return pd.Series(np.asarray(kept, dtype=object)[codes] if len(codes) else [],
                     index=flags.index, dtype="str")


def flag_column(mask: pd.Series, code: str) -> pd.Series:
    """A flag-code column: ``code`` where ``mask``, else NA."""
    hit = mask.fillna(False).to_numpy(bool)
    return take_str([code], np.where(hit, 0, -1), mask.index)

