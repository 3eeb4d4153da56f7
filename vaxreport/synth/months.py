"""The next month of a synthetic province: the platform's cumulative exports one period later.

The platform exports cumulative line lists: next month's ``doses.csv`` holds every row of this
month's (the same persons, their earlier doses, the same record ids and person codes) and, on top
(:func:`next_month`, one ``MonthRates`` draw each, in this order):

1. **corrected records** — some person records with typing errors fixed on the platform (name,
   birth date, gender and ID set to the person's true values on every row of the record),
   second records of duplicate persons more often (a site checked the person): what lets a
   linkage that kept two records of one person apart join them now;
2. **corrected doses** — some dose rows with a wrong date or dose number fixed;
3. **signatures** — some unsigned doses of verified records signed during the month;
4. **new doses** — persons whose last dose is three months old take the next one during the
   month (Pfizer or Moderna), on their latest record, at the site of their last dose;
5. **new duplicate records** — some of those new doses are entered at another site under a new
   person code (the person registered again: name typed without diacritics, ID left out …);
6. **new duplicate doses** — a few new doses entered twice.

The site tallies gain the month's doses (plus a few never entered); feedback, the registry
extract and the population are carried over. ``truth/`` is updated (the errors fixed are removed
from ``errors``; new rows and records added) and ``truth/changes.parquet`` lists every change:
``change`` (one of :data:`CHANGES`), ``person_ref``, ``record_id`` (dose-level changes),
``person_id`` (the true person) and ``detail`` (the fields corrected). ``params.yaml`` is the
month's (period, period end, report date). What a run of the month should then find: the
persons whose records were corrected or registered again are the only ones whose clusters may
change (merged or split), and every fixed row drops off the worklists.

Examples:
    >>> following_period("2022-05"), following_period("2022-12")
    ('2022-06', '2023-01')
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import yaml

from vaxreport.synth.arrays import as_str, fmt_date, fmt_timestamp
from vaxreport.synth.doses import MODERNA, PFIZER, lot_codes, lot_table, vaccine_names
from vaxreport.synth.export import DOSE_HEADERS, VERIFY_VI, _write_csv, _write_parquet

#: the kinds of change of ``truth/changes.parquet``
CHANGES = ("corrected_record", "corrected_dose", "signed", "new_dose", "new_duplicate_person",
           "new_duplicate_dose")
#: the person-record errors a correction fixes (the record then shows the person's true values)
RECORD_FIXES = ("name_typo", "name_no_diacritics", "name_incomplete", "name_tcvn3", "name_vni",
                "gender_wrong", "birth_date_swapped", "id_missing", "id_malformed", "id_digit_error",
                "id_of_relative", "id_other_document")
#: the dose-row errors a correction fixes
DOSE_FIXES = ("dose_date_swapped", "dose_date_impossible", "dose_date_future", "dose_date_before_birth",
              "dose_number_wrong")
_H = DOSE_HEADERS
_SIGNED, _UNSIGNED = "Đã ký", "Chưa ký"


@dataclass(frozen=True)
class MonthRates:
    """How much changes in a month (probabilities per record, row or person).

    Examples:
        >>> MonthRates().new_dose
        0.08
    """

    record_fix: float = 0.2  # records with a fixable error corrected
    dup_record_fix: float = 0.35  # second records of duplicate persons corrected
    dose_fix: float = 0.3  # dose rows with a wrong date or number corrected
    sign: float = 0.6  # unsigned doses of verified records signed
    new_dose: float = 0.08  # persons due a dose (last one ≥ 90 days ago, < 4 doses) who take it
    new_duplicate_person: float = 0.04  # new doses entered under a new person code
    new_duplicate_dose: float = 0.02  # new doses entered twice

    def __post_init__(self) -> None:
        bad = {f.name: getattr(self, f.name) for f in fields(self) if not 0.0 <= getattr(self, f.name) <= 1.0}
        if bad:
            raise ValueError(f"month rates must lie in [0, 1], got {bad}")


def following_period(period: str) -> str:
    """The month after ``period`` ("YYYY-MM")."""
    year, month = (int(x) for x in period.split("-"))
    return f"{year + 1}-01" if month == 12 else f"{year}-{month + 1:02d}"


def _days(d: dt.date) -> int:
    return (d - dt.date(1970, 1, 1)).days


@dataclass
class _Month:
    """The previous month's exports and truth, and the month being written."""

    raw: pa.Table  # doses.csv, every column text
    truth: pd.DataFrame  # doses_truth, the columns needed
    persons: pd.DataFrame  # persons_truth
    start: int  # first day of the new month (days since epoch)
    end: int  # last day
    rng: np.random.Generator


def _read(prev: Path, start: int, end: int, seed: int) -> _Month:
    header = pacsv.read_csv(prev / "inputs" / "doses.csv", read_options=pacsv.ReadOptions(block_size=1 << 26),
                            convert_options=pacsv.ConvertOptions(column_types={h: pa.string() for h in _H.values()},
                                                                 strings_can_be_null=True))
    truth = pq.read_table(prev / "truth" / "doses_truth.parquet").to_pandas()
    persons = pq.read_table(prev / "truth" / "persons_truth.parquet").to_pandas()
    return _Month(raw=header, truth=truth, persons=persons, start=start, end=end,
                  rng=np.random.default_rng(np.random.SeedSequence([seed, start])))


def _has_any(errors: pd.Series, kinds: tuple[str, ...]) -> np.ndarray:
    """Rows whose ``;``-joined error kinds include one of ``kinds`` (decided once per distinct value)."""
    codes, uniq = pd.factorize(errors.fillna(""))
    hit = np.array([any(k in kinds for k in str(u).split(";")) for u in uniq], dtype=bool)
    return hit[codes] if len(uniq) else np.zeros(len(errors), bool)


def _without(errors: pd.Series, kinds: tuple[str, ...], mask: np.ndarray) -> pd.Series:
    """``errors`` with ``kinds`` removed on the rows of ``mask`` (once per distinct value)."""
    codes, uniq = pd.factorize(errors.fillna(""))
    kept = np.array([";".join(k for k in str(u).split(";") if k not in kinds) for u in uniq], dtype=object)
    return pd.Series(np.where(mask, kept[codes] if len(uniq) else "", errors.to_numpy(object)),
                     index=errors.index, dtype=errors.dtype)


def _set(raw: pa.Table, column: str, mask: np.ndarray, values: pa.Array | pa.ChunkedArray) -> pa.Table:
    """``raw`` with ``column`` replaced by ``values`` on the rows of ``mask`` (values: one per row
    of ``mask`` that is True)."""
    name = _H[column]
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    col = pc.replace_with_mask(raw[name].combine_chunks(), pa.array(mask), values.cast(pa.string()))
    return raw.set_column(raw.schema.get_field_index(name), name, col)


def _correct_records(m: _Month, rates: MonthRates, changes: list[pd.DataFrame]) -> None:
    """1. Some records with a fixable error show their person's true name, birth date, gender
    and ID from now on (second records of duplicate persons more often)."""
    p = m.persons
    fixable = _has_any(p["errors"], RECORD_FIXES)
    second = _has_any(p["errors"], ("duplicate_person",))
    u = m.rng.random(len(p))
    chosen = fixable & (u < np.where(second, rates.dup_record_fix, rates.record_fix))
    refs = p.loc[chosen, "person_ref"]
    t = m.truth
    rows = t["person_ref"].isin(set(refs)).to_numpy(bool)
    if not rows.any():
        return
    first = t[rows].drop_duplicates("person_ref").set_index("person_ref")
    birth = first["true_birth_date"].to_numpy("datetime64[D]").astype(np.int64)
    values = {
        "full_name": pa.array(first["true_full_name"].to_numpy(object), pa.string(), from_pandas=True),
        "birth_date": fmt_date(birth, np.zeros(birth.size, np.int64)),
        "gender": pa.array(np.where(first["true_gender"].eq("F"), "Nữ", "Nam")),
        "id_number": pa.array(first["true_id_number"].to_numpy(object), pa.string(), from_pandas=True),
        "verify_status": pa.array(np.where(first["true_id_number"].notna(), VERIFY_VI["verified"],
                                           VERIFY_VI["no_id"])),
    }
    ref_col = m.raw[_H["person_ref"]].combine_chunks()
    at = pc.index_in(ref_col, value_set=pa.array(first.index.to_numpy(object), pa.string(), from_pandas=True))
    hit = pc.is_valid(at).to_numpy(zero_copy_only=False)
    where = at.drop_null() if hasattr(at, "drop_null") else pc.drop_null(at)
    for column, vals in values.items():
        m.raw = _set(m.raw, column, hit, vals.take(where))
    detail = p.set_index("person_ref").loc[first.index, "errors"].to_numpy(object)
    changes.append(pd.DataFrame({"change": "corrected_record", "person_ref": first.index.to_numpy(object),
                                 "record_id": None, "person_id": first["person_id"].to_numpy(object),
                                 "detail": detail}))
    m.truth["errors"] = _without(t["errors"], RECORD_FIXES, rows)
    m.persons["errors"] = _without(p["errors"], RECORD_FIXES, chosen)


def _correct_doses(m: _Month, rates: MonthRates, changes: list[pd.DataFrame]) -> None:
    """2. Some dose rows with a wrong date or dose number show the true one from now on."""
    t = m.truth
    chosen = _has_any(t["errors"], DOSE_FIXES) & (m.rng.random(len(t)) < rates.dose_fix)
    if not chosen.any():
        return
    c = t[chosen]
    date = c["true_dose_date"].to_numpy("datetime64[D]").astype(np.int64)
    m.raw = _set(m.raw, "dose_date", chosen, fmt_date(date, np.zeros(date.size, np.int64)))
    m.raw = _set(m.raw, "dose_number", chosen, as_str(c["true_dose_number"].to_numpy(np.int64)))
    changes.append(pd.DataFrame({"change": "corrected_dose", "person_ref": c["person_ref"].to_numpy(object),
                                 "record_id": c["record_id"].to_numpy(object),
                                 "person_id": c["person_id"].to_numpy(object),
                                 "detail": c["errors"].to_numpy(object)}))
    m.truth["errors"] = _without(t["errors"], DOSE_FIXES, chosen)


def _sign(m: _Month, rates: MonthRates, changes: list[pd.DataFrame]) -> None:
    """3. Some unsigned doses of verified records are signed during the month."""
    status = m.raw[_H["sign_status"]].to_numpy(zero_copy_only=False)
    verified = m.raw[_H["verify_status"]].to_numpy(zero_copy_only=False) == VERIFY_VI["verified"]
    chosen = (status == _UNSIGNED) & verified & (m.rng.random(status.size) < rates.sign)
    n = int(chosen.sum())
    if not n:
        return
    at = (m.start + m.rng.integers(0, m.end - m.start + 1, n)) * 86_400 + m.rng.integers(7 * 3600, 21 * 3600, n)
    m.raw = _set(m.raw, "sign_status", chosen, pa.array(np.full(n, _SIGNED)))
    m.raw = _set(m.raw, "signed_at", chosen, fmt_timestamp(at))
    t = m.truth[chosen]
    changes.append(pd.DataFrame({"change": "signed", "person_ref": t["person_ref"].to_numpy(object),
                                 "record_id": t["record_id"].to_numpy(object),
                                 "person_id": t["person_id"].to_numpy(object), "detail": ""}))


def _due(m: _Month) -> pd.DataFrame:
    """Per true person (first platform row order), the last row entered for their latest dose,
    among the persons due a dose (last dose ≥ 90 days before the month, fewer than 4 doses)."""
    t = m.truth
    own = t[t["dup_of"].isna().to_numpy(bool)]
    last = own.sort_values(["person_id", "true_dose_number", "record_id"], kind="stable") \
        .drop_duplicates("person_id", keep="last")
    day = last["true_dose_date"].to_numpy("datetime64[D]").astype(np.int64)
    due = (day <= m.start - 90) & (last["true_dose_number"].to_numpy() < 4)
    return last[due]


def _new_rows(m: _Month, rates: MonthRates, changes: list[pd.DataFrame]) -> tuple[pa.Table, pd.DataFrame]:
    """4–6. The month's new dose rows (raw and truth): new doses, some under a new person code,
    a few entered twice; in order of entry."""
    due = _due(m)
    takes = due[m.rng.random(len(due)) < rates.new_dose]
    n = len(takes)
    src = pa.array(m.truth.index.get_indexer(takes.index))
    raw = m.raw.take(src)
    truth = takes.copy()
    day = m.start + m.rng.integers(0, m.end - m.start + 1, n)
    vax = np.where(m.rng.random(n) < 0.6, PFIZER, MODERNA)
    number = truth["true_dose_number"].to_numpy(np.int64) + 1
    entered = np.minimum(day + np.where(m.rng.random(n) < 0.8, 0, m.rng.integers(1, 4, n)), m.end) * 86_400 \
        + m.rng.integers(7 * 3600, 21 * 3600, n)
    verified = raw[_H["verify_status"]].to_numpy(zero_copy_only=False) == VERIFY_VI["verified"]
    signed = verified & (m.rng.random(n) < 0.7) & (day <= m.end - 3)
    signed_at = np.minimum(entered + m.rng.integers(3600, 5 * 86_400, n), m.end * 86_400 + 86_399)
    names = vaccine_names().canon
    for column, values in {
        "vaccine": names.take(pa.array(vax)), "lot": lot_table().take(pa.array(lot_codes(vax, day))),
        "dose_number": as_str(number), "dose_date": fmt_date(day, np.zeros(n, np.int64)),
        "entered_at": fmt_timestamp(entered), "sign_status": pa.array(np.where(signed, _SIGNED, _UNSIGNED)),
        "signed_at": pc.if_else(pa.array(signed), fmt_timestamp(signed_at), pa.nulls(n, pa.string())),
    }.items():
        raw = _set(raw, column, np.ones(n, bool), values)
    truth = truth.assign(true_vaccine=names.take(pa.array(vax)).to_numpy(zero_copy_only=False),
                         true_dose_number=number, true_dose_date=pd.to_datetime(day, unit="D"), errors="")
    raw, truth = _new_duplicate_persons(m, raw, truth, rates, changes)
    twice = np.flatnonzero(m.rng.random(n) < rates.new_duplicate_dose)
    raw = pa.concat_tables([raw, raw.take(pa.array(twice))])
    later = entered[twice] + m.rng.integers(3600, 3 * 86_400, twice.size)
    entered = np.concatenate([entered, np.minimum(later, m.end * 86_400 + 86_399)])
    raw = _set(raw, "entered_at", np.ones(raw.num_rows, bool), fmt_timestamp(entered))
    truth = pd.concat([truth, truth.iloc[twice].assign(errors="dose_duplicate")], ignore_index=True)
    order = np.lexsort((np.arange(entered.size), entered))
    first_id = 1_000_000_000 + m.raw.num_rows
    ids = as_str(first_id + np.argsort(order))  # record id = rank in order of entry
    raw = _set(raw, "record_id", np.ones(raw.num_rows, bool), ids)
    ids_np = ids.to_numpy(zero_copy_only=False)
    dup_of = np.full(raw.num_rows, None, object)
    dup_of[n:] = ids_np[twice]
    truth = truth.assign(record_id=ids_np, dup_of=dup_of)
    for change, part in (("new_dose", slice(0, n)), ("new_duplicate_dose", slice(n, None))):
        changes.append(pd.DataFrame({"change": change, "person_ref": truth["person_ref"].to_numpy(object)[part],
                                     "record_id": ids_np[part], "person_id": truth["person_id"].to_numpy(object)[part],
                                     "detail": ""}))
    return raw.take(pa.array(order)), truth.iloc[order].reset_index(drop=True)


def _new_duplicate_persons(m: _Month, raw: pa.Table, truth: pd.DataFrame, rates: MonthRates,
                           changes: list[pd.DataFrame]) -> tuple[pa.Table, pd.DataFrame]:
    """5. Some new doses entered at another site under a new person code (the person registered
    again): the name typed without diacritics (half), the ID left out (a third)."""
    from vaxreport.synth.errors import _ascii_fold

    n = raw.num_rows
    again = m.rng.random(n) < rates.new_duplicate_person
    k = int(again.sum())
    if not k:
        return raw, truth
    taken = m.persons["person_ref"].astype(np.int64).max() + 1
    codes = as_str(taken + np.arange(k))
    raw = _set(raw, "person_ref", again, codes)
    names = raw[_H["full_name"]].to_numpy(zero_copy_only=False)[again]
    fold = m.rng.random(k) < 0.5
    raw = _set(raw, "full_name", again, pa.array([_ascii_fold(s) if f else s for s, f in zip(names, fold)]))
    no_id = m.rng.random(k) < 1 / 3
    ids = pc.if_else(pa.array(no_id), pa.nulls(k, pa.string()), raw[_H["id_number"]].filter(pa.array(again)))
    raw = _set(raw, "id_number", again, ids)
    sites = np.unique(m.raw[_H["site_code"]].to_numpy(zero_copy_only=False))
    site_names = pd.Series(m.raw[_H["site_name"]].to_numpy(zero_copy_only=False),
                           index=m.raw[_H["site_code"]].to_numpy(zero_copy_only=False))
    site_names = site_names[~site_names.index.duplicated()]
    new_site = sites[m.rng.integers(0, sites.size, k)]
    raw = _set(raw, "site_code", again, pa.array(new_site))
    new_name = site_names.reindex(new_site).to_numpy(object)
    raw = _set(raw, "site_name", again, pa.array(new_name, pa.string(), from_pandas=True))
    status = np.where(no_id, VERIFY_VI["no_id"], VERIFY_VI["unchecked"])
    raw = _set(raw, "verify_status", again, pa.array(status))
    raw = _set(raw, "sign_status", again, pa.array(np.full(k, _UNSIGNED)))
    raw = _set(raw, "signed_at", again, pa.nulls(k, pa.string()))
    kinds = np.where(fold, "duplicate_person;name_no_diacritics", "duplicate_person")
    kinds = np.where(no_id, np.char.add(kinds, ";id_missing"), kinds)
    code_np = codes.to_numpy(zero_copy_only=False)
    truth = truth.copy()
    truth.loc[again, "person_ref"] = code_np
    truth.loc[again, "errors"] = kinds
    m.persons = pd.concat([m.persons, pd.DataFrame({"person_ref": code_np, "person_id":
                                                    truth.loc[again, "person_id"].to_numpy(object),
                                                    "errors": kinds})], ignore_index=True)
    changes.append(pd.DataFrame({"change": "new_duplicate_person", "person_ref": code_np, "record_id": None,
                                 "person_id": truth.loc[again, "person_id"].to_numpy(object), "detail": kinds}))
    return raw, truth


def _tallies(prev: Path, out: Path, new: pa.Table, m: _Month) -> None:
    """The site tallies with the month's new doses (duplicates left out) plus a few never entered."""
    tallies = pd.read_csv(prev / "inputs" / "site_tallies.csv", dtype=str, encoding="utf-8")
    head = list(tallies.columns)
    site = new[_H["site_code"]].to_numpy(zero_copy_only=False)
    day = pd.to_datetime(pd.Series(new[_H["dose_date"]].to_numpy(zero_copy_only=False)), format="%d/%m/%Y")
    monday = (day - pd.to_timedelta(day.dt.day_of_week, unit="D")).dt.strftime("%d/%m/%Y")
    district = pd.Series(tallies[head[1]].to_numpy(), index=tallies[head[0]]).groupby(level=0).first()
    extra = 1 + (m.rng.random(len(site)) < 0.03)  # a few doses given but never entered
    add = pd.DataFrame({head[0]: site, head[1]: district.reindex(site).to_numpy(), head[2]: monday.to_numpy(),
                        head[3]: extra})
    both = pd.concat([tallies.astype({head[3]: np.int64}), add], ignore_index=True)
    summed = both.groupby(head[:3], sort=False)[head[3]].sum().reset_index()
    _write_csv(pa.Table.from_pandas(summed, preserve_index=False), out / "inputs" / "site_tallies.csv")


def _params(prev: Path, out: Path, period: str, end: dt.date) -> None:
    """The month's ``params.yaml``: the previous one with the period, its end, the report date
    and the cleansing deadline moved on."""
    data = yaml.safe_load((prev / "params.yaml").read_text(encoding="utf-8"))
    report = end + dt.timedelta(days=1)
    deadline = dt.date.fromordinal(report.toordinal())  # another object: no YAML anchor
    data.update(period=period, period_end=end, report_date=report, doc_number="…/BC-SYT",
                deadlines={**(data.get("deadlines") or {}), "cleansing": deadline})
    (out / "params.yaml").write_text(
        f"# Synthetic Thái Nguyên, {period} (vaxreport synth --months): run with `vaxreport run params.yaml`.\n"
        + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100), encoding="utf-8")


def next_month(prev: Path | str, out: Path | str, *, rates: MonthRates | None = None) -> dict[str, int]:
    """Write the month after the synthetic province in ``prev`` (a ``generate`` or ``next_month``
    folder) into ``out``: inputs, params, truth (see the module docstring). The same ``prev``
    gives the same bytes. Returns the count of each change (:data:`CHANGES`) and the rows.

    Examples:
        >>> import tempfile
        >>> from vaxreport.synth import generate
        >>> first = Path(tempfile.mkdtemp())
        >>> _ = generate(first, scale=0.0005, seed=1)
        >>> counts = next_month(first, first / "2022-06")
        >>> counts["dose_rows"] > 1378, counts["new_dose"] > 0
        (True, True)
    """
    prev, out = Path(prev), Path(out)
    rates = rates or MonthRates()
    params = yaml.safe_load((prev / "params.yaml").read_text(encoding="utf-8"))
    summary = json.loads((prev / "truth" / "summary.json").read_text(encoding="utf-8"))
    period = following_period(str(params["period"]))
    year, month = (int(x) for x in period.split("-"))
    first_day, end = dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])
    m = _read(prev, _days(first_day), _days(end), int(summary["seed"]))
    changes: list[pd.DataFrame] = []
    _correct_records(m, rates, changes)
    _correct_doses(m, rates, changes)
    _sign(m, rates, changes)
    new_raw, new_truth = _new_rows(m, rates, changes)
    raw = pa.concat_tables([m.raw, new_raw])
    truth = pd.concat([m.truth, new_truth], ignore_index=True)
    _write_csv(raw, out / "inputs" / "doses.csv", bom=True)
    for name in ("feedback", "registry", "population"):
        (out / "inputs").mkdir(parents=True, exist_ok=True)
        (out / "inputs" / f"{name}.csv").write_bytes((prev / "inputs" / f"{name}.csv").read_bytes())
    _tallies(prev, out, new_raw.filter(pa.array(new_truth["dup_of"].isna().to_numpy(bool))), m)
    _params(prev, out, period, end)
    _write_parquet(pa.Table.from_pandas(truth, preserve_index=False), out / "truth" / "doses_truth.parquet")
    _write_parquet(pa.Table.from_pandas(m.persons.sort_values("person_ref"),
                                        preserve_index=False), out / "truth" / "persons_truth.parquet")
    table = pd.concat(changes, ignore_index=True).astype({"record_id": "string", "detail": "string"})
    _write_parquet(pa.Table.from_pandas(table, preserve_index=False), out / "truth" / "changes.parquet")
    counts = {c: int(table["change"].eq(c).sum()) for c in CHANGES} | {"dose_rows": raw.num_rows}
    (out / "truth" / "summary.json").write_text(json.dumps(
        {**summary, "period": period, "previous_period": str(params["period"]), "changes": counts,
         "month_rates": asdict(rates)},
        ensure_ascii=False, indent=2), encoding="utf-8")
    return counts
