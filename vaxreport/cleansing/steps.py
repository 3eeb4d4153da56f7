"""The cleansing steps, in the order they run (``STEPS``): pure verbs, one per field family.

Each step is a pure ``DataFrame -> DataFrame`` function of the step protocol (``protocol``): it
never mutates its input, writes the columns it owns and reports repairs, flags and quarantine
reasons in helper columns that ``audit.run_steps`` turns into the audit. The small verbs (dates,
vaccines and dose numbers, gender, phones) are here; the large families have their own modules:
``steps_text`` (names, addresses, codes), ``steps_ids`` (CCCD/CMND), ``steps_admin`` (admin units).

``STEPS`` is the whole cleansing, read top to bottom: codes are trimmed first (record IDs are
audited by them), rows without a usable dose date or vaccine leave early, and the ID check runs
after the birth date and gender it compares the CCCD digits with.

Examples:
    >>> [s.name for s in STEPS][:3]
    ['standardise_codes', 'parse_dose_dates', 'standardise_vaccines']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vaxreport.cleansing import dates, parse, phones
from vaxreport.cleansing.columns import na_str, put_str
from vaxreport.cleansing.protocol import FLAG, QUARANTINE, RULE, CleanParams, Step, drop_flags, flag_column, flags_join
from vaxreport.cleansing.steps_admin import map_retired_communes, match_admin_units
from vaxreport.cleansing.steps_ids import ID_FLAGS, standardise_ids
from vaxreport.cleansing.steps_text import standardise_codes, standardise_text
from vaxreport.schemas import require_columns

__all__ = ["DATE_FLAGS", "ID_FLAGS", "STEPS", "flag_dates", "map_retired_communes", "match_admin_units",
           "parse_dose_dates",
           "parse_dose_numbers", "parse_other_dates", "standardise_codes", "standardise_gender",
           "standardise_ids", "standardise_phones", "standardise_text", "standardise_vaccines"]

# Flag codes, in the order they are listed in ``date_flags``.
DATE_FLAGS = ("birth_date_missing", "birth_date_unparseable", "birth_date_impossible",
              "birth_date_future", "birth_date_implausible", "dose_date_future",
              "dose_before_campaign", "dose_before_birth", "entered_at_unparseable",
              "signed_at_unparseable")


# ----------------------------------------------------------------------------- dates
def parse_dose_dates(df: pd.DataFrame, params: CleanParams) -> pd.DataFrame:
    """Parse ``dose_date``; quarantine rows without a usable one.

    Reasons: ``no_dose_date`` (empty), ``unparseable_dose_date``, ``impossible_dose_date``
    (31/02/2022, year outside 1900-2100). Does not mutate the input.

    Examples:
        >>> df = pd.DataFrame({"dose_date": ["15/03/2022", "03/15/2022", "31/02/2022", ""]})
        >>> out = parse_dose_dates(df, CleanParams())
        >>> out["__quarantine__"].tolist()
        [nan, nan, 'impossible_dose_date', 'no_dose_date']
        >>> out["__rule__dose_date"].tolist()
        [nan, 'date_swap_day_month', nan, nan]
    """
    require_columns(df, ["dose_date"], "doses")
    r = dates.parse_dates(df["dose_date"], kind="dose", as_of=params.report_date)
    reason = r["status"].map({"empty": "no_dose_date", "unparseable": "unparseable_dose_date",
                              "impossible": "impossible_dose_date"}).astype("str")
    return df.assign(dose_date=r["value"], **{RULE + "dose_date": r["rule"], QUARANTINE: reason})


def parse_other_dates(df: pd.DataFrame, params: CleanParams) -> pd.DataFrame:
    """Parse ``birth_date``, ``entered_at`` and ``signed_at``; unusable values → NA + flag.

    Flags (in ``date_flags``): ``birth_date_unparseable``, ``birth_date_impossible``,
    ``entered_at_unparseable``, ``signed_at_unparseable``; birth dates are dates, the two
    timestamps keep their time of day. Does not mutate the input.

    Examples:
        >>> df = pd.DataFrame({"birth_date": ["01/01/1980", "31/02/1990", "abc"]})
        >>> out = parse_other_dates(df, CleanParams())
        >>> out["date_flags"].tolist()
        ['', 'birth_date_impossible', 'birth_date_unparseable']
    """
    require_columns(df, ["birth_date"], "doses")
    new: dict[str, pd.Series] = {}
    flags: list[tuple[str, pd.Series]] = []
    for col, kind, date_only in (("birth_date", "birth", True), ("entered_at", "dose", False),
                                 ("signed_at", "dose", False)):
        if col not in df:
            continue
        r = dates.parse_dates(df[col], kind=kind, as_of=params.report_date, date_only=date_only)
        new[col] = r["value"]
        bad = r["status"].isin(["unparseable", "impossible"])
        bad_rows = bad.to_numpy(bool)
        new[RULE + col] = (put_str(r["rule"], bad_rows, "date_" + r["status"][bad_rows])
                           if bad_rows.any() else r["rule"])
        if col == "birth_date":
            flags += [("birth_date_unparseable", r["status"].eq("unparseable")),
                      ("birth_date_impossible", r["status"].eq("impossible"))]
        else:
            flags.append((f"{col}_unparseable", bad))
    new["date_flags"] = flags_join(flags, DATE_FLAGS, df.index, df.get("date_flags"))
    return df.assign(**new)


def flag_dates(df: pd.DataFrame, params: CleanParams) -> pd.DataFrame:
    """Flag doses after the report date, before the campaign or before birth, and odd birth dates.

    Adds to ``date_flags``: ``dose_date_future``, ``dose_before_campaign``,
    ``dose_before_birth``, ``birth_date_missing``, ``birth_date_future``,
    ``birth_date_implausible`` (older than ``max_age`` at the dose). Values are not changed.
    Does not mutate the input.

    Examples:
        >>> import datetime as dt
        >>> df = pd.DataFrame({"dose_date": pd.to_datetime(["2021-01-05", "2023-01-01"]),
        ...                    "birth_date": pd.to_datetime(["2021-02-01", "1990-01-01"])})
        >>> flag_dates(df, CleanParams(as_of=dt.date(2022, 5, 31)))["date_flags"].tolist()
        ['dose_before_campaign;dose_before_birth', 'dose_date_future']
    """
    require_columns(df, ["dose_date", "birth_date"], "doses")
    dose, birth = df["dose_date"], df["birth_date"]
    as_of = pd.Timestamp(params.report_date)
    too_old = (dose.dt.year - birth.dt.year) > params.max_age
    parts = [
        ("dose_date_future", dose > as_of),
        ("dose_before_campaign", dose < pd.Timestamp(params.campaign_start)),
        ("dose_before_birth", dose < birth),
        ("birth_date_missing", birth.isna()),
        ("birth_date_future", birth > as_of),
        ("birth_date_implausible", too_old),
    ]
    existing = df["date_flags"] if "date_flags" in df else None
    if existing is not None:  # birth_date_missing follows the current value, not history
        existing = drop_flags(existing, {"birth_date_missing"})
    return df.assign(date_flags=flags_join(parts, DATE_FLAGS, df.index, existing))


# ----------------------------------------------------------------------------- vaccines, doses
def standardise_vaccines(df: pd.DataFrame, params: CleanParams) -> pd.DataFrame:
    """Map free-text vaccine names to the canonical product and ``vaccine_code``.

    Unmatched or empty → quarantine ``unknown_vaccine`` / ``no_vaccine``. Does not mutate the
    input.

    Examples:
        >>> out = standardise_vaccines(pd.DataFrame({"vaccine": ["Comirnaty", "Sinovac"]}), CleanParams())
        >>> out[["vaccine", "vaccine_code", "__quarantine__"]].values.tolist()
        [['Pfizer', 'PFIZER', nan], [nan, nan, 'unknown_vaccine']]
    """
    require_columns(df, ["vaccine"], "doses")
    r = parse.parse_vaccines(df["vaccine"], threshold=params.vaccine_match_threshold)
    reason = r["rule"].map({"vaccine_unknown": "unknown_vaccine",
                            "vaccine_missing": "no_vaccine"}).astype("str")
    prev = df[QUARANTINE] if QUARANTINE in df else na_str(df.index)
    return df.assign(vaccine=r["value"], vaccine_code=r["code"],
                     **{RULE + "vaccine": r["rule"].mask(reason.notna()),
                        QUARANTINE: prev.fillna(reason)})


def parse_dose_numbers(df: pd.DataFrame, params: CleanParams) -> pd.DataFrame:
    """``dose_number`` as Int64 from "Mũi 1", "2.0", "Mũi nhắc lại lần 1" (→ 3)…

    A booster or additional dose written without its number ("Mũi nhắc lại", "Mũi bổ sung") is
    placed in the sequence of its ``person_ref``: its position among the record's dose dates
    (dates closer than ``min_dose_gap_days`` count once: a dose entered twice), at least 3 (rules
    ``dose_number_booster_seq``, ``dose_number_additional_seq``).
    Unreadable values become NA (rule ``dose_number_unknown``, flag in ``flags``): the dose is
    still usable and ``doses.reconcile`` infers its number from the sequence. Needs
    ``dose_date`` parsed. Does not mutate the input.

    Examples:
        >>> df = pd.DataFrame({"person_ref": ["a", "a", "a", "a", "b"],
        ...                    "dose_number": ["Mũi 1", "2", "nhắc lại", "Mũi nhắc lại", "nhắc lại"],
        ...                    "dose_date": pd.to_datetime(["2021-06-01", "2021-09-01", "2022-01-01",
        ...                                                 "2022-05-01", "2022-01-01"])})
        >>> parse_dose_numbers(df, CleanParams())["dose_number"].tolist()
        [1, 2, 3, 4, 3]
    """
    require_columns(df, ["dose_number"], "doses")
    r = parse.parse_dose_numbers(df["dose_number"])
    value, rule = r["value"], r["rule"]
    seq = rule.isin(["dose_number_booster_seq", "dose_number_additional_seq"]).to_numpy(bool)
    if seq.any() and "person_ref" in df and "dose_date" in df:
        refs = df["person_ref"]
        persons = refs[seq].dropna().unique()
        mine = refs.isin(persons).to_numpy(bool) & df["dose_date"].notna().to_numpy(bool)
        pairs = pd.DataFrame({"p": refs[mine], "d": df["dose_date"][mine]}).drop_duplicates()
        pairs = pairs.sort_values(["p", "d"], kind="stable")
        # Dates closer than the shortest dose interval are one dose entered twice.
        first = pairs["p"].ne(pairs["p"].shift()).to_numpy(bool)
        gap = pairs["d"].diff().dt.days.to_numpy(dtype="float64", na_value=np.nan)
        new_slot = first | (gap >= params.min_dose_gap_days)
        slot = np.cumsum(new_slot)
        start = np.maximum.accumulate(np.where(first, slot, 0))
        pairs["pos"] = slot - start + 1
        pos = pd.MultiIndex.from_frame(df.loc[seq, ["person_ref", "dose_date"]])
        look = pairs.set_index(["p", "d"])["pos"]
        found = look.reindex(pos).to_numpy(dtype="float64", na_value=np.nan)
        number = np.where(np.isnan(found), 3, np.maximum(found, 3)).astype("int64")
        value = value.copy()
        value[seq] = number
    return df.assign(dose_number=value, **{RULE + "dose_number": rule,
                                           FLAG + "dose_number": flag_column(
                                               rule.eq("dose_number_unknown"),
                                               "dose_number_unknown")})


def standardise_gender(df: pd.DataFrame, params: CleanParams) -> pd.DataFrame:
    """``gender`` as "M"/"F"/NA from Nam/Nữ/nu/1/2/M/F/male/female…; unknown → NA + flag.

    Examples:
        >>> standardise_gender(pd.DataFrame({"gender": ["Nữ", "nam giới", "?"]}), CleanParams())[
        ...     "gender"].tolist()
        ['F', 'M', nan]
    """
    require_columns(df, ["gender"], "doses")
    r = parse.parse_gender(df["gender"])
    return df.assign(gender=r["value"], **{RULE + "gender": r["rule"],
                                           FLAG + "gender": flag_column(r["rule"].eq("gender_unknown"),
                                                                  "gender_unknown")})



# ----------------------------------------------------------------------------- phones
def standardise_phones(df: pd.DataFrame, params: CleanParams) -> pd.DataFrame:
    """``phone`` as a valid 10-digit mobile ``0xxxxxxxxx`` or NA (invalid → NA, audited, flagged).

    Examples:
        >>> out = standardise_phones(pd.DataFrame({"phone": ["+84912345678", "0168 612 3456", "12"]}),
        ...                          CleanParams())
        >>> out[["phone", "phone_valid"]].values.tolist()
        [['0912345678', True], ['0386123456', True], [nan, False]]
    """
    require_columns(df, ["phone"], "doses")
    r = phones.parse_phones(df["phone"])
    return df.assign(phone=r["value"], phone_valid=r["valid"],
                     **{RULE + "phone": r["rule"],
                        FLAG + "phone": flag_column(r["invalid"], "phone_invalid")})


# ----------------------------------------------------------------------------- the order
STEPS: list[Step] = [
    Step("standardise_codes", standardise_codes,
         ("record_id", "person_ref", "site_code", "lot", "insurance_no", "province_code",
          "district_code", "commune_code")),
    Step("parse_dose_dates", parse_dose_dates, ("dose_date",)),
    Step("standardise_vaccines", standardise_vaccines, ("vaccine",)),
    Step("standardise_text", standardise_text, ("full_name", "address", "site_name")),
    Step("parse_other_dates", parse_other_dates, ("birth_date", "entered_at", "signed_at")),
    Step("flag_dates", flag_dates, ()),
    Step("standardise_gender", standardise_gender, ("gender",)),
    Step("parse_dose_numbers", parse_dose_numbers, ("dose_number",)),
    Step("standardise_ids", standardise_ids, ("id_number",)),
    Step("standardise_phones", standardise_phones, ("phone",)),
    Step("map_retired_communes", map_retired_communes, ("commune_code",)),
    Step("match_admin_units", match_admin_units, ("province_code", "district_code", "commune_code")),
]
