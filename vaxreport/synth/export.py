"""Writing the synthetic province as the platform and the sites export it, and its truth.

5. ``inputs/doses.csv`` (the platform's line list: Vietnamese headers and status values, mixed
   date formats, legacy-encoded names, UTF-8 with BOM; rows in order of entry), the site tallies
   (platform doses + doses never entered), the feedback tickets, the police registry extract and
   the commune population denominators; ``params.yaml``; ``truth/`` (the true value of every
   field of every row, the injected errors, and a summary).

Examples:
    >>> DOSE_HEADERS["dose_date"], VERIFY_VI["verified"]
    ('Ngày tiêm', 'Xác thực đúng')
"""

from __future__ import annotations

import datetime as dt
import json
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import yaml

from vaxreport.synth.arrays import as_seconds, as_str, fmt_date, fmt_timestamp, join, ymd, zero_pad
from vaxreport.synth.doses import VaccineNames, lot_table
from vaxreport.synth.errors import ERROR_KINDS, ErrorRates, RecordFields, error_codes, error_text
from vaxreport.synth.population import Population, id_strings, phone_strings
from vaxreport.synth.records import VERIFY_STATUSES, DoseRows, Entry, PersonRecords
from vaxreport.synth.seed import CAMPAIGN_START, END_SECOND, PERIOD_END, SynthProvince


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
    province: str = "Thái Nguyên"

    def describe(self) -> str:
        """Totals as a short human-readable block."""
        lines = [f"synthetic {self.province}, scale {self.scale:g}, seed {self.seed} -> {self.out}"]
        for key, value in self.totals.items():
            lines.append(f"  {key:<24} {value:>12,}")
        if self.error_rows:
            worst = sorted(self.error_rows.items(), key=lambda kv: -kv[1])
            lines.append("  error rows: " + ", ".join(f"{k} {v:,}" for k, v in worst))
        lines.append(f"  written in {self.seconds:.1f} s")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Headers and values as the platform writes them
# --------------------------------------------------------------------------------------------

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


#: low-cardinality truth columns worth dictionary encoding (the others are mostly unique)
_TRUTH_DICT = ["true_gender", "true_vaccine", "true_commune_code", "true_dose_number", "errors"]
_CSV_OPTIONS = pacsv.WriteOptions(include_header=True, quoting_style="needed")


def _prefixed(prefix: str, codes: pa.Array) -> pa.Array:
    """``codes`` with ``prefix`` (``SynthProvince.code_prefix``) before each; unchanged if empty.

    >>> _prefixed("06", pa.array(["1", None])).to_pylist(), _prefixed("", pa.array(["1"])).to_pylist()
    (['061', None], ['1'])
    """
    return join(prefix, codes, sep="") if prefix else codes


def _write_csv(table: pa.Table, path: Path, *, bom: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        if bom:
            fh.write(b"\xef\xbb\xbf")
        pacsv.write_csv(table, fh, _CSV_OPTIONS)


def _write_parquet(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd", compression_level=1)


# --------------------------------------------------------------------------------------------
# The dose line list and its truth
# --------------------------------------------------------------------------------------------

@dataclass
class _DoseColumns:
    """What the dose line list and its truth are built from; row arrays in ``DoseRows`` order."""

    V: np.ndarray  # person index of each vaccinated person
    pop: Population
    recs: PersonRecords
    fields: RecordFields
    rows: DoseRows
    entry: Entry
    vaccines: VaccineNames
    com: dict[str, np.ndarray]
    sites: dict[str, np.ndarray]
    style_b: np.ndarray  # format of each row's birth date (see ``fmt_date``)
    style_d: np.ndarray  # format of each row's dose date
    imp_d: np.ndarray  # day and month of an impossible dose date (31/02, 31/04, …)
    imp_m: np.ndarray
    year: np.ndarray  # year of each row's dose date as entered
    dose_no_kind: np.ndarray  # dose number written 0 "2", 1 "Mũi 2", 2 "Mũi nhắc lại"
    ref_person_ref: pa.Array  # person_ref of each record
    person_id: pa.Array  # person_id of each person
    errors: np.ndarray  # error kinds of each row (bit mask, see ``error_codes``)
    dup_rank: np.ndarray  # export rank of the row a duplicate repeats, -1 if none
    true_id: pa.Array  # true ID of each person
    true_phone: pa.Array  # true phone of each person
    lots: pa.Array  # lot numbers (see ``lot_table``)
    province: SynthProvince  # its code, and the prefix of record ids, person codes and true person ids

    @classmethod
    def build(cls, V: np.ndarray, pop: Population, recs: PersonRecords, fields: RecordFields, rows: DoseRows,
              entry: Entry, vaccines: VaccineNames, com: dict[str, np.ndarray], sites: dict[str, np.ndarray],
              rng_out: np.random.Generator, rng_str: np.random.Generator,
              province: SynthProvince | None = None) -> _DoseColumns:
        """Draw the raw strings' formats (``rng_str``) and the person_refs (``rng_out``)."""
        N = rows.ref.size
        all_ref = rows.ref
        # raw date strings: format style per row; impossible dates written as text
        # the per-row codes are stored in the smallest dtype that holds them (memory: one byte or
        # two per row instead of eight); the values, hence the draws and the bytes, are unchanged
        style_b = rng_str.choice(6, N, p=[0.87, 0.04, 0.04, 0.02, 0.02, 0.01]).astype(np.int8)
        # epoch milliseconds (API style) only for births from 1975 on: no negative or short values
        style_b[(style_b == 5) & (fields.birth[all_ref] < 1826)] = 0
        style_d = rng_str.choice(4, N, p=[0.9, 0.04, 0.04, 0.02]).astype(np.int8)
        ry, rm, _ = ymd(rows.date)
        imp_m = np.where(np.isin(rm, [4, 6, 9, 11]), rm, 2).astype(np.int8)
        del rm
        imp_d = np.where(imp_m == 2, 30 + rng_str.integers(0, 2, N), 31).astype(np.int8)
        dn_style = rng_str.random(N)
        dose_no_kind = np.where(dn_style < 0.75, 0, np.where((rows.number >= 3) & (dn_style > 0.98), 2, 1)
                                ).astype(np.int8)
        del dn_style
        province = province or SynthProvince()
        ref_person_ref = _prefixed(province.code_prefix, as_str(10_000_000 + rng_out.permutation(recs.rp.size)))
        person_id = join("P" + province.code_prefix, zero_pad(np.arange(pop.P["hh"].shape[0]), 7), sep="")
        rank_dtype = np.int32 if N < 2**31 else np.int64
        dup_rank = np.where(rows.dup_of >= 0, entry.rank[np.maximum(rows.dup_of, 0)], -1).astype(rank_dtype)
        codes = error_codes(rows.err, recs.err, all_ref, N)
        if len(ERROR_KINDS) <= 32:
            codes = codes.astype(np.uint32)
        return cls(V=V, pop=pop, recs=recs, fields=fields, rows=rows, entry=entry, vaccines=vaccines, com=com,
                   sites=sites, style_b=style_b, style_d=style_d, imp_d=imp_d, imp_m=imp_m,
                   year=ry.astype(np.int16), dose_no_kind=dose_no_kind, ref_person_ref=ref_person_ref,
                   person_id=person_id, errors=codes, dup_rank=dup_rank,
                   true_id=id_strings(pop.id_kind, pop.id_num), true_phone=phone_strings(pop.phone),
                   lots=lot_table(), province=province)

    def tables(self, ix: np.ndarray) -> tuple[pa.Table, pa.Table]:
        """The line list's rows ``ix`` (Vietnamese headers) and their truth, in export order."""
        raw = self._raw(ix)
        return pa.table({DOSE_HEADERS[k]: v for k, v in raw.items()}), self._truth(ix, raw)

    def _raw(self, ix: np.ndarray) -> dict[str, pa.Array]:
        rows, recs, fields, entry = self.rows, self.recs, self.fields, self.entry
        n = ix.size
        ref = pa.array(rows.ref[ix])
        rc = recs.commune[rows.ref[ix]]
        dose_txt = fmt_date(rows.shown_date[ix], self.style_d[ix])
        im = rows.err["dose_date_impossible"][ix]
        if im.any():
            txt = join(as_str(self.imp_d[ix][im]), zero_pad(self.imp_m[ix][im], 2), as_str(self.year[ix][im]),
                       sep="/")
            dose_txt = pc.replace_with_mask(dose_txt, pa.array(im), txt)
        no = rows.number[ix]
        no_txt = as_str(no)
        kind = self.dose_no_kind[ix]
        no_txt = pc.if_else(pa.array(kind == 1), join("Mũi", no_txt, sep=" "), no_txt)
        no_txt = pc.if_else(pa.array(kind == 2), "Mũi nhắc lại", no_txt)
        sg = entry.signed[ix]
        com_codes, com_dist = pa.array(self.com["code"]), pa.array(self.com["district"])
        site_codes, site_names = pa.array(self.sites["code"]), pa.array(self.sites["name"])
        verify_vi = pa.array([VERIFY_VI[c] for c in VERIFY_STATUSES])
        return {
            "record_id": _prefixed(self.province.code_prefix, as_str(1_000_000_000 + entry.rank[ix].astype(np.int64))),
            "person_ref": self.ref_person_ref.take(ref),
            "full_name": fields.name.take(ref),
            "birth_date": fmt_date(fields.birth[rows.ref[ix]], self.style_b[ix]),
            "gender": fields.gender.take(ref),
            "id_number": fields.id_number.take(ref),
            "phone": fields.phone.take(ref),
            "insurance_no": self.pop.insurance.take(pa.array(recs.rp[rows.ref[ix]])),
            "province_code": pa.array(np.full(n, self.province.code)),
            "district_code": com_dist.take(pa.array(rc)),
            "commune_code": com_codes.take(pa.array(rc)),
            "address": recs.address.take(ref),
            "vaccine": self.vaccines.table.take(pa.array(rows.vac_code[ix])),
            "lot": self.lots.take(pa.array(rows.lot_code[ix])),
            "dose_number": no_txt,
            "dose_date": dose_txt,
            "site_code": site_codes.take(pa.array(rows.site[ix])),
            "site_name": site_names.take(pa.array(rows.site[ix])),
            "entered_at": fmt_timestamp(entry.entered[ix]),
            "sign_status": pc.if_else(pa.array(sg), "Đã ký", "Chưa ký"),
            "signed_at": pc.if_else(pa.array(sg), fmt_timestamp(entry.signed_at[ix]), pa.nulls(n, pa.string())),
            "verify_status": verify_vi.take(pa.array(entry.verify[ix])),
        }

    def _truth(self, ix: np.ndarray, raw: dict[str, pa.Array]) -> pa.Table:
        rows, P = self.rows, self.pop.P
        n = ix.size
        person = self.V[rows.v[ix]]
        pers = pa.array(person)
        dup = self.dup_rank[ix]
        return pa.table({
            "record_id": raw["record_id"],
            "person_ref": raw["person_ref"],
            "person_id": self.person_id.take(pers),
            "dup_of": pc.if_else(pa.array(dup >= 0), _prefixed(self.province.code_prefix, as_str(1_000_000_000 + dup)),
                                 pa.nulls(n, pa.string())),
            "true_full_name": self.pop.names.take(pers),
            "true_birth_date": pa.array(as_seconds(P["birth"][person])),
            "true_gender": pc.if_else(pa.array(P["female"][person]), "F", "M"),
            "true_id_number": self.true_id.take(pers),
            "true_phone": self.true_phone.take(pers),
            "true_vaccine": self.vaccines.canon.take(pa.array(rows.vax[ix])),
            "true_dose_number": pa.array(rows.pos[ix].astype(np.int64) + 1),
            "true_dose_date": pa.array(as_seconds(rows.true_date[ix])),
            "true_commune_code": pa.array(self.com["code"]).take(pa.array(self.pop.commune[person])),
            "errors": error_text(self.errors[ix]),
        })


#: rows per chunk of the dose line list (and row group of its truth): the Arrow tables exist for
#: two or three chunks at a time. The CSV bytes do not depend on it; the truth's row groups do.
DOSE_CHUNK = 250_000


def write_doses(out: Path, V: np.ndarray, pop: Population, recs: PersonRecords, fields: RecordFields,
                rows: DoseRows, entry: Entry, vaccines: VaccineNames, com: dict[str, np.ndarray],
                sites: dict[str, np.ndarray], rng_out: np.random.Generator, rng_str: np.random.Generator,
                *, chunk: int = DOSE_CHUNK, province: SynthProvince | None = None) -> tuple[pa.Array, pa.Array]:
    """Write ``inputs/doses.csv`` (UTF-8 with BOM, rows in order of entry) and
    ``truth/doses_truth.parquet`` (``chunk`` rows per row group), ``V`` the person index of each
    vaccinated person; return the person_ref of each record and the person_id of each person
    (for the persons' truth)."""
    cols = _DoseColumns.build(V, pop, recs, fields, rows, entry, vaccines, com, sites, rng_out, rng_str, province)
    doses_path = out / "inputs" / "doses.csv"
    truth_path = out / "truth" / "doses_truth.parquet"
    doses_path.parent.mkdir(parents=True, exist_ok=True)
    truth_path.parent.mkdir(parents=True, exist_ok=True)
    # chunks are built on two threads (pyarrow and numpy release the GIL) and written in order
    fmt_timestamp(np.zeros(1, np.int64))  # build the clock table before the threads start
    order = entry.order
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

        for start in range(0, order.size, chunk):
            pending.append(pool.submit(cols.tables, order[start:start + chunk]))
            if len(pending) > 2:
                write(pending.popleft().result())
        while pending:
            write(pending.popleft().result())
        for w in writers:
            w.close()
    return cols.ref_person_ref, cols.person_id


def write_persons_truth(out: Path, recs: PersonRecords, ref_person_ref: pa.Array, person_id: pa.Array) -> None:
    """``truth/persons_truth.parquet``: one row per record, its person and its errors
    ("dose_missing" on records with a dose never entered)."""
    n_ref = recs.rp.size
    ref_code = error_codes({"dose_missing": recs.has_gap}, recs.err, np.arange(n_ref), n_ref)
    persons_truth = pa.table({"person_ref": ref_person_ref,
                              "person_id": person_id.take(pa.array(recs.rp)),
                              "errors": error_text(ref_code)})
    _write_parquet(persons_truth.sort_by("person_ref"), out / "truth" / "persons_truth.parquet")


# --------------------------------------------------------------------------------------------
# Site tallies, feedback, police registry, population
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TruePersons:
    """Who each person is (population order): what feedback tickets and the registry show."""

    name: pa.Array
    id: pa.Array
    phone: pa.Array
    birth: np.ndarray
    female: np.ndarray
    commune: np.ndarray


def write_side_files(out: Path, target: dict[str, int], tally_counts: np.ndarray, pop: Population,
                     recs: PersonRecords, fields: RecordFields, verify: np.ndarray,
                     com: dict[str, np.ndarray], sites: dict[str, np.ndarray], rng: np.random.Generator,
                     ticket_prefix: str = "") -> dict[str, int]:
    """Write the site tallies (``tally_counts``: :func:`site_week_counts` of the true doses), the
    feedback tickets, the registry extract and the population denominators (drawing from ``rng``
    in that order); return their totals."""
    has_err = np.zeros(recs.rp.size, bool)
    for mask_ in recs.err.values():
        has_err |= mask_
    tally_total = write_site_tallies(out, tally_counts, sites, target["doses_administered"], rng)
    person = TruePersons(name=pop.names, id=id_strings(pop.id_kind, pop.id_num), phone=phone_strings(pop.phone),
                         birth=pop.P["birth"], female=pop.P["female"], commune=pop.commune)
    n_fb = write_feedback(out, target["feedback"], recs.rp, recs.commune, recs.b_site, has_err, person,
                          com, sites, rng, ticket_prefix)
    n_reg = write_registry(out, target["registry"], recs.rp, fields.has_id, verify, has_err,
                           recs.err["id_digit_error"], fields.id_number, person, com, rng)
    pop_total = write_population(out, pop.P["age"], pop.commune, com, rng)
    return {"doses_administered": tally_total, "feedback": n_fb, "registry": n_reg, "population": pop_total}


def _n_weeks() -> int:
    return int((PERIOD_END.astype(np.int64) - CAMPAIGN_START.astype(np.int64)) // 7) + 2


def site_week_counts(dose_date: np.ndarray, site: np.ndarray, sites: dict[str, np.ndarray]) -> np.ndarray:
    """True doses (entered or not) per site and week of the campaign, flat (``site * n_weeks + week``).

    >>> sites = {"code": np.array(["a", "b"])}
    >>> c = site_week_counts(np.array([18694, 18694, 18701]), np.array([0, 1, 1]), sites)
    >>> c.size == 2 * _n_weeks(), int(c[0]), int(c[_n_weeks()]), int(c[_n_weeks() + 1])
    (True, 1, 1, 1)
    """
    start = int(CAMPAIGN_START.astype(np.int64))
    week0 = dose_date - (dose_date + 3) % 7  # Monday (1970-01-01 was a Thursday)
    n_weeks = _n_weeks()
    cell = site * n_weeks + (week0 - start) // 7
    return np.bincount(cell, minlength=len(sites["code"]) * n_weeks)


def write_site_tallies(out: Path, counts: np.ndarray, sites: dict[str, np.ndarray], total: int,
                       rng: np.random.Generator) -> int:
    """Weekly doses per site: the true doses (entered or not; ``counts`` from
    :func:`site_week_counts`) plus the doses never entered, spread over the site-weeks in
    proportion, so that the sum is exactly ``total``."""
    start = int(CAMPAIGN_START.astype(np.int64))
    n_weeks = _n_weeks()
    gap = total - int(counts.sum())
    extra = rng.multinomial(gap, counts / counts.sum()) if gap > 0 else np.zeros_like(counts)
    tally = counts + extra
    nz = np.flatnonzero(tally)
    t_site, t_week = nz // n_weeks, nz % n_weeks
    tallies = pa.table({
        "Mã cơ sở tiêm": pa.array(sites["code"]).take(pa.array(t_site)),
        "Mã huyện": pa.array(sites["district"]).take(pa.array(t_site)),
        "Tuần bắt đầu": fmt_date(start + 7 * t_week, np.zeros(nz.size, np.int64)),
        "Số mũi đã tiêm": pa.array(tally[nz]),
    })
    _write_csv(tallies, out / "inputs" / "site_tallies.csv")
    return int(tally.sum())


def write_feedback(out: Path, n_fb: int, rp: np.ndarray, ref_commune: np.ndarray,
                   ref_site: np.ndarray, has_err: np.ndarray, person: TruePersons,
                   com: dict[str, np.ndarray], sites: dict[str, np.ndarray],
                   r: np.random.Generator, ticket_prefix: str = "") -> int:
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
                          END_SECOND)
    approved = r.random(n_fb) < 0.84
    fb_rp = pa.array(rp[fb_ref])
    feedback = pa.table({
        "Mã phản ánh": join("PA" + ticket_prefix, zero_pad(np.arange(1, n_fb + 1), 6), sep=""),
        "Thời gian phản ánh": fmt_timestamp(recv),
        "Mã huyện": pa.array(com["district"]).take(pa.array(ref_commune[fb_ref])),
        "Mã cơ sở tiêm": pa.array(sites["code"]).take(pa.array(ref_site[fb_ref])),
        "Họ và tên": person.name.take(fb_rp),
        "Ngày sinh": fmt_date(person.birth[rp[fb_ref]], np.zeros(n_fb, np.int64)),
        "Số CMND/CCCD": person.id.take(fb_rp),
        "Số điện thoại": person.phone.take(fb_rp),
        "Loại phản ánh": pa.array(np.array(ISSUE_TYPES)).take(
            pa.array(r.integers(0, len(ISSUE_TYPES), n_fb))),
        "Trạng thái xử lý": pc.if_else(pa.array(approved), "Đã duyệt", "Từ chối"),
        "Ngày xử lý": fmt_timestamp(resolved),
        "Lý do từ chối": pc.if_else(pa.array(approved), pa.nulls(n_fb, pa.string()),
                                    pa.array(np.array(REJECT_REASONS)).take(
                                        pa.array(r.integers(0, len(REJECT_REASONS), n_fb)))),
    })
    _write_csv(feedback, out / "inputs" / "feedback.csv")
    return n_fb


def write_registry(out: Path, n_reg: int, rp: np.ndarray, has_id: np.ndarray, verify: np.ndarray,
                   has_err: np.ndarray, digit_error: np.ndarray, sent_id: pa.Array,
                   person: TruePersons, com: dict[str, np.ndarray], r: np.random.Generator) -> int:
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
                        person.id.take(pa.array(c_rp)))
    first_check = int(np.datetime64("2022-03-24").astype(np.int64))
    checked = (first_check + r.integers(0, END_SECOND // 86_400 - first_check + 1, chosen.size)) * 86_400 \
        + r.integers(7 * 3600, 18 * 3600, chosen.size)
    registry = pa.table({
        "Số định danh": reg_id,
        "Họ và tên": person.name.take(pa.array(c_rp)),
        "Ngày sinh": fmt_date(person.birth[c_rp], np.zeros(chosen.size, np.int64)),
        "Giới tính": pc.if_else(pa.array(person.female[c_rp]), "Nữ", "Nam"),
        "Mã xã": pa.array(com["code"]).take(pa.array(person.commune[c_rp])),
        "Ngày xác minh": fmt_timestamp(checked),
        "Kết quả xác minh": pa.array(result),
    })
    _write_csv(registry, out / "inputs" / "registry.csv")
    return int(chosen.size)


def write_population(out: Path, age: np.ndarray, commune: np.ndarray, com: dict[str, np.ndarray],
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


def params_yaml(province: SynthProvince | None = None) -> dict[str, object]:
    """Run parameters of the synthetic province (the layout of ``params/2022-05.yaml``)."""
    province = province or SynthProvince()
    return {
        "province_code": province.code,
        "province_name": province.name,
        "period": "2022-05",
        "period_start": dt.date(2021, 3, 8),
        "period_end": dt.date(2022, 5, 31),
        "report_date": dt.date(2022, 6, 1),
        "campaign_start": dt.date(2021, 3, 8),
        "inputs": "inputs",
        "agency_parent": f"UBND TỈNH {province.name.upper()}",
        "agency": "SỞ Y TẾ",
        "doc_number": "2102/BC-SYT",
        "place": province.name,
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


def write_params(out: Path, province: SynthProvince | None = None, **extra: object) -> None:
    """``params.yaml``: run the synthetic province with ``vaxreport run params.yaml`` (``extra``:
    keys added after the province's, e.g. ``provinces``)."""
    province = province or SynthProvince()
    data = params_yaml(province)
    data = {"province_code": data.pop("province_code"), **extra, **data}
    (out / "params.yaml").write_text(
        f"# Synthetic {province.name} (vaxreport synth): run with `vaxreport run params.yaml`.\n"
        + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100), encoding="utf-8")


def write_summary(summary: SynthSummary, rates: ErrorRates) -> None:
    """``truth/summary.json``: totals, error counts, the rates and the error vocabulary."""
    (summary.out / "truth" / "summary.json").write_text(json.dumps({
        "scale": summary.scale, "seed": summary.seed, "totals": summary.totals, "error_rows": summary.error_rows,
        "error_refs": summary.error_refs, "rates": asdict(rates), "error_kinds": ERROR_KINDS,
    }, ensure_ascii=False, indent=2), encoding="utf-8")
