"""Field cleansing of the platform's dose line list: the runner that audits the pure steps.

``clean_doses(raw)`` runs ``STEPS`` (``steps``) in order through ``run_steps``. Each step is a pure
``DataFrame -> DataFrame`` function that never mutates its input and knows nothing about
auditing. It may write, besides the columns it owns (the names are ``protocol.RULE``, ``FLAG``,
``QUARANTINE``):

- ``__rule__<col>``: the name of the repair applied to ``col`` on that row (NA = the value was
  only re-typed, e.g. ``"15/03/2022"`` becoming a datetime, which is not a change);
- ``__flag__<col>``: a flag code for a problem found in ``col`` that is not a change;
- ``__quarantine__``: a reason why the row cannot be used at all.

The runner turns these into the audit (one row per changed value: ``record_id, column, old, new,
rule, step``), the quarantine (raw rows plus ``reason``) and the long ``flags`` table, and logs
rows in/out per step. Row conservation holds: ``len(raw) == len(data) + len(quarantine)``.
Running ``clean_doses`` again on its own ``data`` changes nothing.

Examples:
    >>> import datetime as dt
    >>> raw = pd.DataFrame({
    ...     "record_id": ["r1", "r2", "r3"], "person_ref": ["p1", "p1", "p2"],
    ...     "full_name": ["nguyÔn v¨n an", "Nguyễn Văn An", "Lê Thị Bình"],
    ...     "birth_date": ["01/02/1980", "1/2/80", "31/02/1990"], "gender": ["Nam", "nam", "Nữ"],
    ...     "id_number": ["019080000123", "19080000123", "1.9E+11"],
    ...     "phone": ["0912345678", "+84 912 345 678", "01686123456"],
    ...     "district_code": ["164"] * 3, "commune_code": ["05443"] * 3,
    ...     "vaccine": ["AstraZeneca", "Astra Zeneca", "Sinovac"], "dose_number": ["Mũi 1", "2", "1"],
    ...     "dose_date": ["15/06/2021", "44470", "01/10/2021"], "site_code": ["S1"] * 3,
    ...     "sign_status": ["signed"] * 3})
    >>> res = clean_doses(raw, params=CleanParams(as_of=dt.date(2022, 5, 31)))
    >>> res.data[["full_name", "id_number", "phone", "vaccine", "dose_date"]].astype(str).values.tolist()
    [['Nguyễn Văn An', '019080000123', '0912345678', 'AstraZeneca', '2021-06-15'], \
['Nguyễn Văn An', '019080000123', '0912345678', 'AstraZeneca', '2021-10-01']]
    >>> res.quarantine[["record_id", "reason"]].values.tolist()
    [['r3', 'unknown_vaccine']]
    >>> sorted(res.audit["rule"].unique().tolist())
    ['date_excel_serial', 'date_two_digit_year', 'gender_normalise', 'id_restore_leading_zero', \
'phone_country_code', 'text_legacy_tcvn3', 'vaccine_alias']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from time import perf_counter

import numpy as np
import pandas as pd

from vaxreport import frames as frames_
from vaxreport.cleansing.columns import na_str, to_text
from vaxreport.cleansing.protocol import FLAG, QUARANTINE, RULE, CleanParams, Step
from vaxreport.cleansing.steps import STEPS
from vaxreport.cleansing.steps_text import forget_names
from vaxreport.schemas import AUDIT_COLUMNS, CLEAN_DOSES, DOSES, QUARANTINE_REASON, require_columns

__all__ = ["FLAG_COLUMNS", "LOG_COLUMNS", "ROW", "STEPS", "CleanParams", "CleanResult", "Step", "StepRun",
           "clean_doses", "combine_results", "finish_cleaning", "run_steps", "start_cleaning"]

FLAG_COLUMNS = ("record_id", "column", "flag")
#: The global row number a partitioned run gives every raw dose row (``combine_results``).
ROW = "_row"
LOG_COLUMNS = ("step", "rows_in", "rows_out", "changes", "seconds")


@dataclass
class CleanResult:
    """Output of ``clean_doses``.

    Attributes:
        data: cleansed rows, columns ``schemas.CLEAN_DOSES``.
        audit: one row per changed value, columns ``schemas.AUDIT_COLUMNS``.
        quarantine: raw rows that cannot be used, plus ``reason``.
        flags: one row per problem found that is not a change: ``record_id, column, flag``.
        log: per step ``step, rows_in, rows_out, changes, seconds``.
    """

    data: pd.DataFrame
    audit: pd.DataFrame
    quarantine: pd.DataFrame
    flags: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FLAG_COLUMNS))
    log: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=LOG_COLUMNS))


def clean_doses(raw: pd.DataFrame, *, params: CleanParams | None = None,
                steps: Sequence[Step] | None = None) -> CleanResult:
    """Cleanse the platform's dose line list (``schemas.DOSES`` columns, raw strings).

    Runs ``STEPS`` through ``run_steps``, then types and orders the columns as
    ``schemas.CLEAN_DOSES``. Also accepts its own output (typed columns): a second run changes
    nothing. Does not mutate ``raw``.

    Args:
        raw: dose rows with at least the required columns of ``schemas.DOSES``; optional
            columns that are absent are added as NA.
        params: cleansing parameters (default ``CleanParams()``).
        steps: steps to run (default ``STEPS``).

    Returns:
        ``CleanResult(data, audit, quarantine, flags, log)``.

    Raises:
        SchemaViolation: a required column is missing (all missing ones are named).
    """
    params = params or CleanParams()
    run = start_cleaning(raw)
    try:
        run.advance(STEPS if steps is None else steps, params)
    finally:
        forget_names()
    return finish_cleaning(run, raw.columns)


def start_cleaning(raw: pd.DataFrame) -> StepRun:
    """A :class:`StepRun` of ``raw`` (required columns checked, absent optional ones added as NA)."""
    require_columns(raw, DOSES.required, "doses")
    df = raw.copy(deep=False)
    for col in DOSES.optional:
        if col not in df.columns:
            df[col] = na_str(df.index)
    return replace(StepRun.start(df), raw_columns=tuple(raw.columns))


def finish_cleaning(run: StepRun, raw_columns: Sequence[str], *, partitioned: bool = False) -> CleanResult:
    """The ``CleanResult`` of a finished run: ``data`` typed and ordered as ``schemas.CLEAN_DOSES``,
    the quarantine as the raw columns plus ``reason``. ``partitioned`` (the rows are one partition
    of a run, each with its global row number :data:`ROW`) keeps ``ROW`` on the data and the
    order keys on the audit and flags, for :func:`combine_results`."""
    res = run.result(keep_order_keys=partitioned)
    data = res.data
    for col in CLEAN_DOSES:
        if col not in data.columns:
            data[col] = na_str(data.index)
    res.data = data[[*CLEAN_DOSES, ROW]] if partitioned else data[list(CLEAN_DOSES)]
    res.quarantine = res.quarantine[[*raw_columns, QUARANTINE_REASON]]
    return res


def combine_results(parts: Sequence[CleanResult]) -> CleanResult:
    """One ``CleanResult`` from the partitions' (``finish_cleaning(..., partitioned=True)``), in
    the order one run over all rows gives: data and quarantine by global row number, audit and
    flags by step, column and row; the log summed per step. The partition order does not matter.
    The partitions' frames are emptied column by column as the result is built (a province's
    rows are large: one copy at a time).
    """
    log = pd.concat([p.log for p in parts], ignore_index=True)
    log = log.groupby("step", sort=False, as_index=False).agg(
        rows_in=("rows_in", "sum"), rows_out=("rows_out", "sum"), changes=("changes", "sum"),
        seconds=("seconds", "sum"))
    order = ["_step", "_col", "row"]
    return CleanResult(data=_ordered([p.data for p in parts], [ROW]),
                       audit=_ordered([p.audit for p in parts], order),
                       quarantine=_ordered([p.quarantine for p in parts], [ROW]),
                       flags=_ordered([p.flags for p in parts], order), log=log)


def _ordered(frames: list[pd.DataFrame], keys: list[str]) -> pd.DataFrame:
    """``frames`` stacked and sorted by ``keys`` (which are dropped), one column at a time."""
    stacked = [np.concatenate([f[k].to_numpy(np.int64) for f in frames]) for k in keys]
    rows = np.lexsort(stacked[::-1]) if stacked[0].size else np.zeros(0, np.int64)
    return frames_.stack_taken(frames, rows, [c for c in frames[0].columns if c not in keys])


def run_steps(df: pd.DataFrame, steps: Sequence[Step], params: CleanParams) -> CleanResult:
    """Run ``steps`` in order, recording the audit, the quarantine, the flags and a log.

    Each step's declared columns are compared before/after (vectorised); a change is audited
    with the step's ``__rule__<col>`` when it gives one (rows where it gives none were only
    re-typed and are not audited), else with the step name. Rows a step marks with
    ``__quarantine__`` leave the frame; the quarantine holds the *input* rows (as given to
    ``run_steps``) plus ``reason``, and their audit rows are dropped. Does not mutate ``df``.

    Returns:
        ``CleanResult`` whose ``data`` keeps only the columns of the last step's output without
        the ``__`` helper columns.

    Examples:
        >>> from vaxreport.cleansing.steps import standardise_gender
        >>> df = pd.DataFrame({"record_id": ["a", "b"], "gender": ["nu", "?"]})
        >>> res = run_steps(df, [Step("standardise_gender", standardise_gender, ("gender",))],
        ...                 CleanParams())
        >>> res.audit[["record_id", "old", "new", "rule"]].values.tolist()
        [['a', 'nu', 'F', 'gender_normalise'], ['b', '?', nan, 'gender_unknown']]
        >>> res.flags.values.tolist()
        [['b', 'gender', 'gender_unknown']]
    """
    run = StepRun.start(df)
    run.advance(steps, params)
    return run.result()


@dataclass
class StepRun:
    """``run_steps`` that can pause between steps: what a partitioned run needs to gather the
    column-level evidence of all partitions (``steps_text.TextEvidence``) before the step that
    uses it. ``src`` is the input; ``cur`` the rows still in, as the last step left them.

    Audit and flag rows carry ``row`` (the input position), ``_step`` (the position of the step in
    the run) and ``_col`` (of the column in the step), the order they are made in, so that the
    rows of several partitions can be put back in that order (:func:`combine_results`).
    """

    src: pd.DataFrame
    cur: pd.DataFrame
    audits: list[pd.DataFrame] = field(default_factory=list)
    flags: list[pd.DataFrame] = field(default_factory=list)
    quarantined: list[pd.DataFrame] = field(default_factory=list)
    log: list[tuple[str, int, int, int, float]] = field(default_factory=list)
    raw_columns: tuple[str, ...] = ()  # the columns given, before ``start_cleaning`` added any

    @classmethod
    def start(cls, df: pd.DataFrame) -> StepRun:
        src = df.reset_index(drop=True)
        return cls(src=src, cur=src)

    def advance(self, steps: Sequence[Step], params: CleanParams) -> StepRun:
        """Run ``steps`` on the rows still in; returns ``self``."""
        for step in steps:
            t0 = perf_counter()
            position = len(self.log)
            out = step.func(self.cur, params)
            changes = [a.assign(_step=position) for a in _changes(step, self.cur, out)]
            self.audits += changes
            self.flags += [f.assign(_step=position) for f in _flag_rows(out)]
            rows_in = len(out)
            q = out[QUARANTINE] if QUARANTINE in out.columns else None
            cur = out.drop(columns=[c for c in out.columns if c.startswith("__")])  # before any row copy
            del out
            if q is not None:
                qmask = q.notna().to_numpy(bool)
                if qmask.any():
                    self.quarantined.append(self.src.loc[cur.index[qmask]].assign(
                        **{QUARANTINE_REASON: q[qmask].astype("str")}))
                    cur = cur.loc[~qmask]
            self.cur = cur
            self.log.append((step.name, rows_in, len(cur), sum(len(a) for a in changes), perf_counter() - t0))
        return self

    def result(self, *, keep_order_keys: bool = False) -> CleanResult:
        """The ``CleanResult`` so far; with ``keep_order_keys`` the audit and flags keep their
        ``row``, ``_step`` and ``_col`` columns (for :func:`combine_results`)."""
        res = _result(self.src, self.cur, self.audits, self.flags, self.quarantined, self.log,
                      keep_order_keys=keep_order_keys)
        if keep_order_keys and ROW in self.src:  # input positions -> the run's row numbers
            rows = self.src[ROW].to_numpy(np.int64)
            res.audit["row"] = rows[res.audit["row"].to_numpy(np.int64)]
            res.flags["row"] = rows[res.flags["row"].to_numpy(np.int64)]
        return res


def _changes(step: Step, cur: pd.DataFrame, out: pd.DataFrame) -> list[pd.DataFrame]:
    """Audit rows (with their ``row``) of the values ``step`` changed, one frame per column.

    A change is audited with the step's ``__rule__<col>`` when it gives one (rows where it gives
    none were only re-typed), else with the step name.
    """
    audits = []
    for position, col in enumerate(step.columns):
        if col not in out.columns:
            continue
        before = cur[col] if col in cur.columns else pd.Series(pd.NA, index=cur.index,
                                                                dtype="str")
        after = out[col]
        if RULE + col in out.columns:
            rule = out[RULE + col]
            cand = rule.notna()
            idx = cand[cand].index
            mask = _differs(before.loc[idx], after.loc[idx])
            idx = idx[mask.to_numpy(bool)]
            rules = rule.loc[idx]
        else:
            idx = cur.index[_differs(before, after).to_numpy(bool)]
            rules = pd.Series(step.name, index=idx, dtype="str")
        if len(idx):
            audits.append(pd.DataFrame({
                "row": idx, "record_id": to_text(out.loc[idx, "record_id"]) if "record_id" in out
                else pd.Series(pd.NA, index=idx, dtype="str"),
                "column": col, "old": _render(before.loc[idx]), "new": _render(after.loc[idx]),
                "rule": rules.astype("str"), "step": step.name, "_col": position}))
    return audits


def _flag_rows(out: pd.DataFrame) -> list[pd.DataFrame]:
    """Flag rows (with their ``row``) of a step's ``__flag__<col>`` columns, one frame per column."""
    flags = []
    for position, c in enumerate([c for c in out.columns if c.startswith(FLAG)]):
        f = out[c]
        f = f[f.notna()]
        if len(f):
            flags.append(pd.DataFrame({"row": f.index, "record_id": to_text(out.loc[f.index, "record_id"])
                                       if "record_id" in out else pd.NA,
                                       "column": c[len(FLAG):], "flag": f.astype("str"), "_col": position}))
    return flags


def _result(src: pd.DataFrame, cur: pd.DataFrame, audits: list[pd.DataFrame], flags: list[pd.DataFrame],
            quarantined: list[pd.DataFrame], log: list[tuple[str, int, int, int, float]], *,
            keep_order_keys: bool = False) -> CleanResult:
    """The ``CleanResult`` of a run: audit and flag rows kept only for the rows kept."""
    kept = cur.index
    keys = ["row", "_step", "_col"]
    audit = (pd.concat(audits, ignore_index=True) if audits
             else pd.DataFrame(columns=[*keys, *AUDIT_COLUMNS]))
    audit = audit[audit["row"].isin(kept)].reset_index(drop=True)
    audit = audit.astype({c: "str" for c in AUDIT_COLUMNS})
    flag_df = (pd.concat(flags, ignore_index=True) if flags
               else pd.DataFrame(columns=[*keys, *FLAG_COLUMNS]))
    flag_df = flag_df[flag_df["row"].isin(kept)].reset_index(drop=True)
    flag_df = flag_df.astype({c: "str" for c in FLAG_COLUMNS})
    if keep_order_keys:
        audit, flag_df = audit.astype({k: "int64" for k in keys}), flag_df.astype({k: "int64" for k in keys})
    else:
        audit, flag_df = audit.drop(columns=keys), flag_df.drop(columns=keys)
    quarantine = (pd.concat(quarantined) if quarantined
                  else src.iloc[:0].assign(**{QUARANTINE_REASON: pd.Series(dtype="str")}))
    return CleanResult(data=cur.reset_index(drop=True), audit=audit,
                       quarantine=quarantine.sort_index().reset_index(drop=True),
                       flags=flag_df, log=pd.DataFrame(log, columns=list(LOG_COLUMNS)))


def _render(s: pd.Series) -> pd.Series:
    """Values as text for the audit: ISO dates (with time only when there is one)."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        has_time = (s != s.dt.normalize()).fillna(False)
        out = s.dt.strftime("%Y-%m-%d").astype("str")
        return out.mask(has_time, s.dt.strftime("%Y-%m-%d %H:%M:%S").astype("str"))
    if isinstance(s.dtype, pd.StringDtype):
        return s
    if s.dtype == object:
        return s.map(lambda v: v if isinstance(v, str) else str(v), na_action="ignore").astype("str")
    return s.astype("str")


def _differs(a: pd.Series, b: pd.Series) -> pd.Series:
    ra, rb = _render(a), _render(b)
    ra, rb = ra.mask(ra.eq("")), rb.mask(rb.eq(""))  # blank and NA are the same "no value"
    same = (ra == rb).fillna(False) | (ra.isna() & rb.isna())
    return ~same
