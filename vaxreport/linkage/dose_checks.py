"""The per-person checks of dose reconciliation: suspected duplicates, numbering, intervals,
age and product rules, each a named function over one block of whole persons.

:func:`vaxreport.linkage.doses.reconcile` merges duplicate entries and orders each person's
doses; :func:`check_persons` then walks the ordered rows in blocks of whole persons and flags, on
the surviving rows:

- ``near_duplicate_dose`` (same entered number a few days apart: a finding, not a merge) and
  ``same_day_two_vaccines``: *suspected duplicates*, skipped by the checks below (the *effective*
  sequence), so one double entry does not make every later dose look wrong;
- ``missing_dose`` and ``dose_number_mismatch`` (entered number against the effective sequence);
- ``short_interval``: primary series by ``vaccines.csv`` ``min_interval_days`` of the previous
  dose's product, boosters by ``booster_rules.csv`` (dose date and age);
- ``ineligible_age``, ``mixing_not_allowed`` and ``incomplete_primary``.

Finding codes, Vietnamese labels, priorities and worklist kinds live in the editable
``vaxreport/data/findings.csv`` (:func:`finding_codes`). All work is vectorised over
integer-coded numpy arrays (no per-person Python loops).

Examples:
    >>> finding_codes().loc["missing_dose", "worklist"]
    'dose_sequence'
    >>> DoseRules().near_duplicate_days
    7
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from vaxreport import refdata
from vaxreport.linkage.dose_arrays import NAT, age_years, epoch_days, group_cummax, group_start

FINDING_COLUMNS: tuple[str, ...] = ("record_id", "person_id", "code", "label_vi", "detail")

#: rows per block of the per-person checks (whole persons per block): the working arrays of a
#: block stay in the CPU cache and the memory they take is bounded whatever the input size.
BLOCK_ROWS = 1 << 18


def _default_mixing() -> frozenset[tuple[str, str]]:
    pairs = {("AZ", "PFIZER"), ("AZ", "MODERNA"), ("MODERNA", "PFIZER"), ("PFIZER", "MODERNA")}
    return frozenset(pairs)


@dataclass(frozen=True, eq=False)
class DoseRules:
    """Schedule rules used by :func:`reconcile` (defaults from the shipped reference tables).

    Attributes:
        vaccines: ``refdata.vaccines()``: ``vaccine_code, canonical_name, primary_doses,
            min_interval_days, min_age``.
        boosters: ``refdata.booster_rules()``: ``valid_from, valid_to, dose_number (3|4),
            age_min, age_max, min_days_after_previous``. Booster *k* after a primary series of
            any length is checked against rule ``dose_number = k + 2``.
        near_duplicate_days: two consecutive doses with the same entered ``dose_number`` at most
            this many days apart are flagged ``near_duplicate_dose``.
        same_dose_days: two entries of one person with the same product and entered
            ``dose_number`` at most this many days apart are one dose entered twice and merged
            (``duplicate_near_date``): no schedule has doses a day apart, and a date shifted by
            one day is a common entry error (dates kept as epoch milliseconds at 07:00 local
            time shift when converted in another time zone). 0 turns this off.
        grace_days: a dose this many days earlier than the minimum interval is still accepted.
        child_age_max: oldest age (years at the dose) of the child schedule.
        child_vaccines: the only products allowed at ``age <= child_age_max`` (each still
            subject to its own ``min_age``); a child's primary series must not mix products.
        mixing_allowed: ``(previous, next)`` product-code pairs allowed to differ in the primary
            series (adults).
        bad_date_flags: ``date_flags`` codes (from cleansing) that make a dose date unusable:
            such a dose is placed in the sequence by its entered number and skipped by the
            interval, age and duplicate checks.
    """

    vaccines: pd.DataFrame = field(default_factory=refdata.vaccines)
    boosters: pd.DataFrame = field(default_factory=refdata.booster_rules)
    near_duplicate_days: int = 7
    same_dose_days: int = 1
    grace_days: int = 0
    child_age_max: int = 11
    child_vaccines: frozenset[str] = frozenset({"PFIZER", "MODERNA"})
    mixing_allowed: frozenset[tuple[str, str]] = field(default_factory=_default_mixing)
    bad_date_flags: frozenset[str] = frozenset({"dose_date_future", "dose_before_campaign",
                                                "dose_before_birth"})


def finding_codes() -> pd.DataFrame:
    """The finding vocabulary from ``vaxreport/data/findings.csv``, indexed by ``code``.

    Columns: ``label_vi, priority (int, 1 = most urgent), worklist (kind or ""),
    suggestion_vi``.

    Examples:
        >>> finding_codes().loc["short_interval", "label_vi"]
        'Khoảng cách giữa hai mũi ngắn hơn quy định'
    """
    df = refdata.table("findings")
    df["priority"] = df["priority"].astype(int)
    return df.set_index("code")


@dataclass(frozen=True)
class Products:
    """Integer-coded products of each row.

    ``text_idx`` codes the ``vaccine`` text (NA has its own code), ``texts`` its values;
    ``idx`` indexes the rows of the vaccine table (-1 unknown), ``codes`` the table's
    ``vaccine_code`` values followed by "" for unknown.
    """

    text_idx: np.ndarray
    texts: np.ndarray
    idx: np.ndarray
    codes: np.ndarray
    table: pd.DataFrame

    @classmethod
    def of(cls, doses: pd.DataFrame, vaccines: pd.DataFrame) -> Products:
        table = vaccines.reset_index(drop=True)
        pos_of_code = pd.Series(np.arange(len(table)), index=table["vaccine_code"].to_numpy())
        pos_of_name = pd.Series(np.arange(len(table)), index=table["canonical_name"].to_numpy())
        t_idx, t_uniq = pd.factorize(doses["vaccine"], use_na_sentinel=False)
        texts = np.asarray(pd.Index(t_uniq).astype(object).fillna("?"), dtype=object)
        by_text = pos_of_name.reindex(texts).fillna(-1).to_numpy(np.int64)[t_idx]
        if "vaccine_code" in doses:
            c_idx, c_uniq = pd.factorize(doses["vaccine_code"])
            by_code = np.append(pos_of_code.reindex(np.asarray(c_uniq, dtype=object)).fillna(-1)
                                .to_numpy(np.int64), -1)[c_idx]
            idx = np.where(by_code >= 0, by_code, by_text)
        else:
            idx = by_text
        codes = np.append(table["vaccine_code"].to_numpy(object), "")
        return cls(t_idx.astype(np.int64), texts, idx.astype(np.int64), codes, table)

    def subset(self, rows: np.ndarray) -> Products:
        return Products(self.text_idx[rows], self.texts, self.idx[rows], self.codes, self.table)

    def column(self, name: str) -> np.ndarray:
        """Per-row float value of a table column (NaN where the product is unknown)."""
        return np.append(self.table[name].to_numpy(float), np.nan)[self.idx]


@dataclass(frozen=True)
class BlockChecks:
    """What :func:`check_block` finds in one block of whole persons (rows in sorted order).

    Attributes:
        seq: ``dose_seq`` of each row (1-based within its person).
        suspect: ``suspect_duplicate`` of each row (near-duplicate or same-day second product).
        found: per finding code, the flagged positions (in the block) and their details.
    """

    seq: np.ndarray
    suspect: np.ndarray
    found: dict[str, tuple[np.ndarray, pd.Series]]


@dataclass(frozen=True)
class _Rows:
    """A block's rows in (person, date) order, each person a contiguous run of rows."""

    day: np.ndarray  # int days (NAT: missing)
    usable: np.ndarray  # the date can be trusted
    entered_no: np.ndarray  # entered dose number (NaN: none)
    age: np.ndarray  # completed years at the dose (-1: unknown)
    vac: Products  # products of the rows, in block order
    new_person: np.ndarray  # first row of its person
    start: np.ndarray  # position of the first row of the row's person
    run_id: np.ndarray  # 0-based person number within the block
    prev: np.ndarray  # position of the row just before (0 for the first row)
    person_primary: np.ndarray  # primary series length of the person's first product

    @property
    def has_prev(self) -> np.ndarray:
        return ~self.new_person


def _rows(o: np.ndarray, p: np.ndarray, d: np.ndarray, usable: np.ndarray,
          entered_no: np.ndarray, birth: np.ndarray, vac: Products) -> _Rows:
    """Persons as runs of the block's rows, and the per-row values the checks share."""
    m = len(o)
    new_person = np.ones(m, bool)
    new_person[1:] = p[1:] != p[:-1]
    start = group_start(new_person)
    sorted_vac = vac.subset(o)
    return _Rows(day=d, usable=usable, entered_no=entered_no,
                 age=np.where(usable, age_years(birth, d), -1), vac=sorted_vac,
                 new_person=new_person, start=start, run_id=np.cumsum(new_person) - 1,
                 prev=np.maximum(np.arange(m) - 1, 0),
                 person_primary=sorted_vac.column("primary_doses")[start])


@dataclass(frozen=True)
class _Effective:
    """Suspected duplicates and the *effective* sequence, which skips them."""

    interval_imm: np.ndarray  # days after the row just before (-1: unknown)
    near_dup: np.ndarray  # same entered number a few days after the row before
    same_day: np.ndarray  # same day as the row before (a second product)
    skip: np.ndarray  # near_dup | same_day: kept, but not counted
    eff_seq: np.ndarray  # position among the person's real (not skipped) doses
    count: np.ndarray  # real doses of the row's person
    prev_real: np.ndarray  # position of the previous real dose (0 for a first row)
    dated: np.ndarray  # both this row and the previous real dose have usable dates
    interval: np.ndarray  # days after the previous real dose (-1: unknown)

    @property
    def real(self) -> np.ndarray:
        return ~self.skip


def _effective_sequence(rows: _Rows, rules: DoseRules) -> _Effective:
    """Suspected duplicates (same entered number a few days apart, or same day) and the
    sequence and intervals of the remaining doses."""
    d, usable, prev, has_prev = rows.day, rows.usable, rows.prev, rows.has_prev
    dated_imm = has_prev & usable & usable[prev]
    interval_imm = np.where(dated_imm, d - np.where(dated_imm, d[prev], 0), -1)
    same_day = dated_imm & (interval_imm == 0)
    near_dup = (dated_imm & (interval_imm >= 1) & (interval_imm <= rules.near_duplicate_days)
                & (rows.entered_no == rows.entered_no[prev]))
    skip = near_dup | same_day
    real = ~skip
    csum = np.cumsum(real)
    eff_seq = csum - (csum[rows.start] - real[rows.start]).astype(np.int64)
    count = np.bincount(rows.run_id, weights=real).astype(np.int64)[rows.run_id]
    last_real = np.maximum.accumulate(np.where(real, np.arange(len(d)), -1))
    prev_real = np.where(has_prev, last_real[prev], 0)
    dated = has_prev & usable & usable[prev_real]
    interval = np.where(dated, d - np.where(dated, d[prev_real], 0), -1)
    return _Effective(interval_imm=interval_imm, near_dup=near_dup, same_day=same_day,
                      skip=skip, eff_seq=eff_seq, count=count, prev_real=prev_real,
                      dated=dated, interval=interval)


def _numbering(rows: _Rows, eff: _Effective) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``missing_dose`` and ``dose_number_mismatch`` rows, and the running gap (``shift``).

    A person whose highest entered number exceeds their real doses has missing doses: the first
    row after each new gap is ``missing_dose``; a row whose entered number differs from the
    effective sequence by anything but the gap so far is a mismatch.
    """
    entered_no, run_id = rows.entered_no, rows.run_id
    gap = np.where(eff.real, entered_no - eff.eff_seq, np.nan)
    max_entered = np.fmax.reduceat(np.nan_to_num(entered_no, nan=0), np.flatnonzero(
        rows.new_person))[run_id]
    gap_person = max_entered > eff.count
    pos_gap = np.where(gap_person & ~np.isnan(gap), np.clip(np.nan_to_num(gap), 0, None), 0)
    shift = group_cummax(pos_gap, run_id)
    prev_shift = np.where(rows.has_prev, shift[rows.prev], 0)
    missing = gap_person & ~np.isnan(gap) & (gap > prev_shift)
    mismatch = ~np.isnan(gap) & (gap != shift) & ~missing
    return missing, mismatch, shift


def _short_intervals(rows: _Rows, eff: _Effective,
                     rules: DoseRules) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``short_interval`` rows, the required days of each row and whether it is in the primary
    series (primary: the previous product's minimum interval; boosters: the booster rules)."""
    in_primary = eff.eff_seq <= np.nan_to_num(rows.person_primary, nan=np.inf)
    min_interval = rows.vac.column("min_interval_days")
    prev_min = np.where(rows.has_prev, min_interval[eff.prev_real], np.nan)
    booster_req = _booster_required(np.where(rows.usable, rows.day, NAT), rows.age,
                                    eff.eff_seq - rows.person_primary, rules.boosters)
    required = np.where(in_primary, prev_min, booster_req)
    short = (eff.real & eff.dated & ~np.isnan(required)
             & (eff.interval + rules.grace_days < required))
    return short, required, in_primary


def _ineligible_age(rows: _Rows, rules: DoseRules) -> tuple[np.ndarray, np.ndarray]:
    """``ineligible_age`` rows (below the product's minimum age, or a child given a product of
    the adult schedule) and the child rows."""
    age = rows.age
    known_age = age >= 0
    child = known_age & (age <= rules.child_age_max)
    child_ok = np.isin(rows.vac.codes, list(rules.child_vaccines))[rows.vac.idx]
    min_age = rows.vac.column("min_age")
    ineligible = known_age & ((age < np.nan_to_num(min_age, nan=-1)) | (child & ~child_ok))
    return ineligible, child


def _mixing(rows: _Rows, eff: _Effective, shift: np.ndarray, in_primary: np.ndarray,
            child: np.ndarray, rules: DoseRules) -> np.ndarray:
    """``mixing_not_allowed`` rows: a product change in the primary series that the rules do
    not allow (never for a child)."""
    vac_idx, codes = rows.vac.idx, rows.vac.codes
    k = len(codes)
    pair_ok = np.zeros((k, k), bool)
    pos = {c: i for i, c in enumerate(codes[:-1])}
    for a, b in rules.mixing_allowed:  # a handful of product pairs, not rows
        if a in pos and b in pos:
            pair_ok[pos[a], pos[b]] = True
    has_prev = rows.has_prev
    prev_idx = np.where(has_prev, vac_idx[eff.prev_real], -1)
    changed = eff.real & has_prev & (prev_idx != vac_idx) & (prev_idx >= 0) & (vac_idx >= 0)
    # after a detected gap the entered number may say booster where the date order says primary
    # (dose 1 never entered): mixing is only a finding when both agree on the primary series
    in_series = eff.eff_seq + shift <= np.nan_to_num(rows.person_primary, nan=np.inf)
    return in_primary & in_series & changed & (child | ~pair_ok[prev_idx, vac_idx])


def _incomplete_primary(rows: _Rows, eff: _Effective) -> np.ndarray:
    """``incomplete_primary`` on each person's last row: fewer real doses than the series."""
    last = np.ones(len(rows.day), bool)
    last[:-1] = rows.new_person[1:]
    return last & ~np.isnan(rows.person_primary) & (eff.count < rows.person_primary)


def _detail(code: str, r: np.ndarray, rows: _Rows, eff: _Effective,
            required: np.ndarray) -> pd.Series:
    """The Vietnamese detail of finding ``code`` at the flagged positions ``r``."""
    def num(a: np.ndarray) -> pd.Series:
        return pd.Series(a[r], dtype="Float64").astype("Int64").astype("string")

    def txt(at: np.ndarray) -> pd.Series:  # product names, looked up for flagged rows only
        return pd.Series(rows.vac.texts[rows.vac.text_idx[at]], dtype="string")

    pr = rows.prev[r] if code in ("near_duplicate_dose", "same_day_two_vaccines") \
        else eff.prev_real[r]
    if code == "missing_dose":
        return "Nhập mũi " + num(rows.entered_no) + " nhưng trước đó chỉ có " + num(
            eff.eff_seq - 1) + " mũi"
    if code == "dose_number_mismatch":
        return "Nhập mũi " + num(rows.entered_no) + ", theo thứ tự ngày tiêm là mũi " + num(
            eff.eff_seq)
    if code == "near_duplicate_dose":
        return "Mũi " + num(rows.entered_no) + " nhập hai lần cách nhau " + num(
            eff.interval_imm) + " ngày"
    if code == "same_day_two_vaccines":
        return "Cùng ngày: " + txt(pr) + " và " + txt(r)
    if code == "short_interval":
        return ("Mũi " + num(eff.eff_seq) + " cách mũi trước " + num(eff.interval)
                + " ngày, tối thiểu " + num(required) + " ngày")
    if code == "ineligible_age":
        return num(rows.age) + " tuổi khi tiêm " + txt(r)
    if code == "mixing_not_allowed":
        return "Liều cơ bản: " + txt(pr) + " → " + txt(r)
    return ("Đã tiêm " + num(eff.count) + "/" + num(rows.person_primary) + " mũi cơ bản ("
            + txt(rows.start[r]) + ")")


def check_block(o: np.ndarray, p: np.ndarray, d: np.ndarray, usable: np.ndarray,
                entered_no: np.ndarray, birth: np.ndarray, vac: Products,
                rules: DoseRules) -> BlockChecks:
    """Sequence, suspects and findings of whole persons, rows in sorted order (person, date).

    Args:
        o: the kept-row positions of the block's rows (``vac`` is indexed by them).
        p, d, usable, entered_no, birth: the rows' person codes, int days (:data:`NAT`
            missing), usable-date mask, entered dose number (NaN: none) and birth days, in
            that order.
        vac: products of every kept row.
        rules: the schedule rules.

    Returns:
        :class:`BlockChecks`, with the finding codes in the order of the module docstring.

    Examples:
        >>> d = np.array([18871, 18881])  # 2021-09-01 and ten days later, one person
        >>> vac = Products.of(pd.DataFrame({"vaccine": ["Pfizer"] * 2}), refdata.vaccines())
        >>> out = check_block(np.arange(2), np.zeros(2, np.int64), d, np.ones(2, bool),
        ...                   np.array([1.0, 2.0]), np.full(2, 3652), vac, DoseRules())
        >>> out.seq.tolist(), [c for c, (r, _) in out.found.items() if len(r)]
        ([1, 2], ['short_interval'])
        >>> out.found["short_interval"][1].tolist()
        ['Mũi 2 cách mũi trước 10 ngày, tối thiểu 21 ngày']
    """
    rows = _rows(o, p, d, usable, entered_no, birth, vac)
    eff = _effective_sequence(rows, rules)
    missing, mismatch, shift = _numbering(rows, eff)
    short, required, in_primary = _short_intervals(rows, eff, rules)
    ineligible, child = _ineligible_age(rows, rules)
    flags = {"missing_dose": missing, "dose_number_mismatch": mismatch,
             "near_duplicate_dose": eff.near_dup, "same_day_two_vaccines": eff.same_day,
             "short_interval": short, "ineligible_age": ineligible,
             "mixing_not_allowed": _mixing(rows, eff, shift, in_primary, child, rules),
             "incomplete_primary": _incomplete_primary(rows, eff)}
    found = {}
    for code, mask in flags.items():  # eight codes, not rows
        r = np.flatnonzero(mask)
        found[code] = (r, _detail(code, r, rows, eff, required))
    return BlockChecks(seq=np.arange(len(o)) - rows.start + 1, suspect=eff.skip, found=found)


def check_persons(doses: pd.DataFrame, kept: np.ndarray, order: np.ndarray, pid: np.ndarray,
                  pid_values: pd.Series, day: np.ndarray, usable: np.ndarray,
                  entered_no: np.ndarray, vac: Products, rules: DoseRules, *,
                  block_rows: int = BLOCK_ROWS) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Run :func:`check_block` over blocks of whole persons; ``dose_seq``, ``suspect_duplicate``
    per kept row (in ``kept`` order) and the labelled findings.

    Args:
        doses: the input doses (``record_id``, ``birth_date`` are read).
        kept: positions of the kept rows in ``doses``.
        order: the kept rows sorted by person and date (positions into ``kept``).
        pid, day, usable, entered_no, vac: person codes, int days, usable-date mask, entered
            dose number and products of the kept rows (``pid_values``, the person ids of every
            input row, is not restricted).
        rules: the schedule rules.
        block_rows: rows per block (cut at the first new person at or after each multiple); the
            result does not depend on it.

    Returns:
        ``(dose_seq, suspect_duplicate, findings)``; findings with :data:`FINDING_COLUMNS`,
        ordered by person, dose sequence and priority.
    """
    m = len(kept)
    birth = epoch_days(doses["birth_date"])
    seq_out = np.empty(m, np.int64)
    skip_out = np.zeros(m, bool)
    flagged: dict[str, list[np.ndarray]] = {}
    details: dict[str, list[pd.Series]] = {}
    # blocks of whole persons: cut at the first new person at or after each multiple of the size
    p = pid[order]
    starts = np.flatnonzero(np.r_[True, p[1:] != p[:-1]]) if m else np.zeros(0, np.int64)
    cuts = np.unique(np.r_[starts[np.minimum(np.searchsorted(
        starts, np.arange(0, m, block_rows)), len(starts) - 1)], m]) if m else np.zeros(1, int)
    del p, starts
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        o = order[lo:hi]
        block = check_block(o, pid[o], day[o], usable[o], entered_no[o], birth[kept[o]], vac,
                            rules)
        seq_out[o] = block.seq
        skip_out[o] = block.suspect
        for code, (rows, det) in block.found.items():
            flagged.setdefault(code, []).append(rows + lo)
            details.setdefault(code, []).append(det)
    codes = list(flagged)
    found_rows = [(c, np.concatenate(flagged[c])) for c in codes]
    found_details = [pd.concat(details[c], ignore_index=True) for c in codes]
    return seq_out, skip_out, _label_findings(doses, kept, pid_values, order, found_rows,
                                              found_details)


def _booster_required(day: np.ndarray, age: np.ndarray, booster_k: np.ndarray,
                      boosters: pd.DataFrame) -> np.ndarray:
    """Minimum days after the previous dose for booster rows (NaN where no rule applies).

    Booster *k* (1-based, after the primary series) is checked against rule ``k + 2``.
    """
    out = np.full(len(day), np.nan)
    rows = np.flatnonzero((booster_k >= 1) & (day != NAT) & (age >= 0))
    if not len(rows) or boosters.empty:
        return out
    cand = pd.DataFrame({"row": rows, "day": day[rows], "age": age[rows],
                         "dose_number": (booster_k[rows] + 2).astype(np.int64)})
    r = pd.DataFrame({
        "lo": boosters["valid_from"].to_numpy(dtype="datetime64[D]").astype(np.int64),
        "hi": boosters["valid_to"].to_numpy(dtype="datetime64[D]").astype(np.int64),
        "dose_number": boosters["dose_number"].astype(np.int64).to_numpy(),
        "age_min": boosters["age_min"].astype(np.int64).to_numpy(),
        "age_max": boosters["age_max"].astype(np.int64).to_numpy(),
        "req": boosters["min_days_after_previous"].astype(float).to_numpy()})
    j = cand.merge(r, on="dose_number")
    j = j[(j["day"] >= j["lo"]) & (j["day"] <= j["hi"])
          & (j["age"] >= j["age_min"]) & (j["age"] <= j["age_max"])]
    # overlapping rules: the most recent one in force wins
    j = j.sort_values(["row", "lo"]).drop_duplicates("row", keep="last")
    out[j["row"].to_numpy()] = j["req"].to_numpy(float)
    return out


def _label_findings(doses: pd.DataFrame, kept: np.ndarray, pid_values: pd.Series, order: np.ndarray,
                    flagged: list[tuple[str, np.ndarray]], details: list[pd.Series]) -> pd.DataFrame:
    """Assemble findings with Vietnamese labels, ordered by person, dose sequence, priority.

    ``flagged`` holds ``(code, positions in sorted order)``; ``order`` maps sorted positions
    to kept rows, ``kept`` kept rows to rows of ``doses`` (and of ``pid_values``).
    """
    codes = finding_codes()
    names = [c for c, _ in flagged]
    pos = np.concatenate([r for _, r in flagged]) if flagged else np.zeros(0, np.int64)
    code_idx = np.repeat(np.arange(len(names)), [len(r) for _, r in flagged]).astype(np.int64)
    prio = codes["priority"].reindex(names).to_numpy(float)[code_idx]
    o = np.lexsort((prio, pos))
    rows = kept[order[pos[o]]]
    label = codes["label_vi"].reindex(names).to_numpy(object)
    detail = (pd.concat(details, ignore_index=True) if details
              else pd.Series([], dtype="string")).iloc[o]
    return pd.DataFrame({
        "record_id": doses["record_id"].iloc[rows].astype("string").to_numpy(),
        "person_id": pid_values.iloc[rows].to_numpy(),  # dtype of the input's person_id
        "code": pd.array(np.asarray(names, dtype=object)[code_idx[o]], dtype="string"),
        "label_vi": pd.array(label[code_idx[o]], dtype="string"),
        "detail": detail.astype("string").to_numpy(),
    }, columns=list(FINDING_COLUMNS))

