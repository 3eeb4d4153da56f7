"""The parameter classes (``RunParams``, ``DistrictParams``, ``Signatory``, ``Thresholds``) and how
a mapping read from YAML becomes them: every key checked with ``params.check``, every problem
collected, one ``ParamsError`` raised (see the package docstring for the rules on codes).

Examples:
    >>> p = RunParams.from_dict({"period": "2022-05", "report_date": "2022-06-01", "inputs": "x"})
    >>> p.period_start.isoformat(), p.period_end.isoformat(), p.signatory.title
    ('2022-05-01', '2022-05-31', 'GIÁM ĐỐC')
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from vaxreport.engine import EngineSpec
from vaxreport.exceptions import ParamsError
from vaxreport.params.check import (
    MISSING,
    Problems,
    as_code,
    as_date,
    as_float,
    as_int,
    as_mapping,
    as_text,
    as_text_list,
    check_keys,
    load_yaml,
    show,
    type_name,
)

__all__ = ["Signatory", "DistrictParams", "Thresholds", "RunParams", "DEFAULT_TARGETS",
           "previous_period"]

DEFAULT_TARGETS: dict[str, float] = {
    "data_entry": 100.0,        # doses on platform ÷ doses administered
    "feedback_handled": 100.0,  # tickets handled ÷ received
    "passport_signing": 100.0,  # doses signed ÷ doses on platform
    "id_verified": 100.0,       # persons verified by police ÷ persons
}

_INDICATOR_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


# --------------------------------------------------------------------------------------------
# The parameter classes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signatory:
    """Signature block of a report (NĐ 30/2020): authority line, title line, name.

    Attributes:
        authority: the line above the title when someone signs for the head ("KT. GIÁM ĐỐC": a
            deputy signs in the director's place; also "TL.", "TUQ.", "TM."); empty when the head
            signs.
        title: the signer's own title ("GIÁM ĐỐC", "PHÓ GIÁM ĐỐC").
        name: the signer's name, printed under the signing space (empty: the space is left for a
            handwritten name).

    The default is the head of the agency signing ("GIÁM ĐỐC", no authority line): a report whose
    params name no deputy never shows a "KT." line pointing to one.
    """

    authority: str = ""
    title: str = "GIÁM ĐỐC"
    name: str = ""


@dataclass(frozen=True)
class DistrictParams:
    """Everything a district report needs about its issuing agency (resolved with defaults).

    Attributes:
        code: 3-digit GSO district code ("164").
        name: official name from the admin table ("Thành phố Thái Nguyên").
        short_name: short name ("TP Thái Nguyên").
        agency_parent: first header line ("SỞ Y TẾ THÁI NGUYÊN").
        agency: issuing agency ("TRUNG TÂM Y TẾ THÀNH PHỐ THÁI NGUYÊN").
        doc_number: document number ("…/BC-TTYT" until numbered).
        place: place in the date line (the province by default).
        signatory: signature block (``districts[].signatory``; default: the centre's director,
            "GIÁM ĐỐC" with no name and no "KT." line — the province's signatory is not used).
        recipients: "Nơi nhận" lines.
    """

    code: str
    name: str
    short_name: str
    agency_parent: str
    agency: str
    doc_number: str = "…/BC-TTYT"
    place: str = ""
    signatory: Signatory = field(default_factory=Signatory)
    recipients: tuple[str, ...] = ()


@dataclass(frozen=True)
class Thresholds:
    """Tunable thresholds of the cleansing, dedup and worklists.

    Attributes:
        dedup_threshold: match weight in bits above which ``linkage.cluster_persons`` merges a
            pair (None = its default for the table size).
        unsigned_days: a dose unsigned for more than this many days goes on the worklist.
        name_match_score: rapidfuzz score (0-100) to accept an admin-unit name match.
        vaccine_match_score: rapidfuzz score (0-100) to accept a misspelt vaccine name.
        worklist_top_n: rows shown per site in report tables of records to fix.
        lowest_n: lowest-performing communes/sites listed in a report.
        max_age: birth dates implying an older person are flagged.
        review_band: half-width (bits) of the band of match weights around the dedup threshold
            whose pairs go to the clerical review queue (``cleansed/review_queue.parquet``);
            at most 4, the margin the linkage scores below its threshold.
    """

    dedup_threshold: float | None = None
    unsigned_days: int = 14
    name_match_score: int = 90
    vaccine_match_score: int = 85
    worklist_top_n: int = 20
    lowest_n: int = 10
    max_age: int = 120
    review_band: float = 4.0


@dataclass(frozen=True)
class RunParams:
    """Parameters of one monthly run (one province, one period).

    Attributes:
        period: "YYYY-MM", the reporting month.
        report_date: date printed on the reports; data after it are "future".
        inputs: folder of the platform exports (resolved against the YAML's folder).
        province_code: 2-digit GSO code ("19"): the province whose Sở Y tế issues the run.
        province_name: from the admin table when not given ("Thái Nguyên").
        provinces: every province a run covers when it covers several (the Ministry's run of
            several provinces' exports together: ``provinces: ["19", "01"]``, ``province_code``
            among them, the first by default); their districts are all in ``districts``, one
            province report each (:meth:`for_province`). Empty: ``province_code`` alone.
        period_start: first day counted (default: the first of the month; set it to the campaign
            start for cumulative figures).
        period_end: last day counted (default: the last of the month; must lie in the month).
        campaign_start: first day of the national campaign (2021-03-08).
        agency_parent: first header line ("UBND TỈNH THÁI NGUYÊN").
        agency: issuing agency ("SỞ Y TẾ").
        doc_number: "2102/BC-SYT".
        place: place in the date line ("Thái Nguyên").
        doc_type: document type line ("BÁO CÁO").
        title: the summary line (trích yếu) under the document type.
        signatory: signature block.
        recipients: "Nơi nhận" lines (the last one is usually "Lưu: VT, ...").
        proposals: sentences of section III (đề xuất, kiến nghị).
        targets: percent target per indicator id (merged over ``DEFAULT_TARGETS``).
        deadlines: named deadlines (``cleansing: 2022-06-01``).
        districts: every district of the province, in code order, with overrides applied.
        thresholds: see ``Thresholds``.
        worklist_returns: folder of last month's worklist workbooks returned by the sites with
            the ``Đã sửa (x)`` column filled (resolved against the YAML's folder); default: the
            inputs' ``worklist_returns/`` subfolder when it exists
            (``vaxreport.reporting.worklist_returns``).
        engine: where stage 1 runs (``vaxreport.engine.EngineSpec``: ``embedded`` by default, or
            ``dask`` with workers, partitions, a scheduler address).
        previous_run: last month's run folder (resolved against the YAML's folder), whose person
            ids this run carries over (``vaxreport.linkage.carry``) and whose worklists it
            follows up; default: the previous period's folder beside this run's, when that run
            completed.
        review_decisions: CSV of clerical review decisions (``person_a, person_b, decision``
            = ``same``/``different``, optional ``reviewer, decided_on, note``; resolved against
            the YAML's folder), replayed by the linkage every run
            (:mod:`vaxreport.linkage.decisions`); None: no decisions.
        source: the YAML file read (None when built in code).
    """

    period: str
    report_date: dt.date
    inputs: Path
    province_code: str = "19"
    province_name: str = ""
    provinces: tuple[str, ...] = ()
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    campaign_start: dt.date = dt.date(2021, 3, 8)
    agency_parent: str = ""
    agency: str = "SỞ Y TẾ"
    doc_number: str = "…/BC-SYT"
    place: str = ""
    doc_type: str = "BÁO CÁO"
    title: str = ("Kết quả làm sạch dữ liệu tiêm chủng COVID-19 và ký xác nhận "
                  "“Hộ chiếu vắc xin” theo Đề án 06")
    signatory: Signatory = field(default_factory=Signatory)
    recipients: tuple[str, ...] = ("Bộ Y tế (b/c)", "UBND tỉnh (b/c)", "Lưu: VT")
    proposals: tuple[str, ...] = ()
    targets: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_TARGETS))
    deadlines: Mapping[str, dt.date] = field(default_factory=dict)
    districts: tuple[DistrictParams, ...] = ()
    thresholds: Thresholds = field(default_factory=Thresholds)
    worklist_returns: Path | None = None
    engine: EngineSpec = field(default_factory=EngineSpec)
    previous_run: Path | None = None
    review_decisions: Path | None = None
    source: Path | None = None

    # ---------------------------------------------------------------- constructors

    @classmethod
    def from_yaml(cls, path: Path | str) -> RunParams:
        """Load and validate a params YAML; ``inputs`` is relative to the YAML's folder.

        Raises:
            ParamsError: listing every problem, one ``- ...`` line each.
        """
        path = Path(path)
        data = load_yaml(path)
        return cls.from_dict(data, base_dir=path.resolve().parent, source=path)

    @classmethod
    def from_dict(cls, data: Any, *, base_dir: Path | str = ".",
                  source: Path | None = None) -> RunParams:
        """Validate a mapping (as read from YAML) into ``RunParams``.

        Examples:
            >>> p = RunParams.from_dict({"period": "2022-05", "report_date": "2022-06-01",
            ...                          "inputs": "x", "districts": [{"code": 164}]})
            >>> p.district("164").name
            'Thành phố Thái Nguyên'
            >>> RunParams.from_dict({"period": "2022-5", "inputs": "x", "colour": 1})
            Traceback (most recent call last):
            ...
            vaxreport.exceptions.ParamsError: params: 3 problem(s):
            - unknown key 'colour'
            - period: expected "YYYY-MM" (e.g. "2022-05"), got '2022-5'
            - report_date: required (YYYY-MM-DD)
        """
        return _build(data, Path(base_dir), source)

    # ---------------------------------------------------------------- accessors

    def period_bounds(self) -> tuple[dt.date, dt.date]:
        """``(period_start, period_end)``: always set by the constructors (default: the month's
        first and last day); a ``ParamsError`` for params built by hand without them."""
        if self.period_start is None or self.period_end is None:
            raise ParamsError(f"params for {self.period} have no period_start/period_end")
        return self.period_start, self.period_end

    def province_codes(self) -> tuple[str, ...]:
        """Every province the run covers: ``provinces``, else ``(province_code,)``."""
        return self.provinces or (self.province_code,)

    def for_province(self, code: str) -> RunParams:
        """The params of one province of a run that covers several, for that province's report:
        its code, name and districts; the issuing province keeps its configured agency, number
        and signatory, another gets the defaults (``SỞ Y TẾ``, ``UBND TỈNH <NAME>``, ``…/BC-SYT``,
        signed by the director); ``provinces`` is ``(code,)``, marking a province of a run
        covering several. The params themselves for a one-province run.

        Raises:
            ParamsError: ``code`` is not a province of the run.

        Examples:
            >>> p = RunParams.from_dict({"period": "2022-05", "report_date": "2022-06-01", "inputs": "x",
            ...                          "provinces": ["19", "06"]})
            >>> b = p.for_province("06")
            >>> b.province_name, b.agency_parent, b.district_codes()[:2], len(p.districts)
            ('Bắc Kạn', 'UBND TỈNH BẮC KẠN', ['058', '060'], 17)
        """
        from vaxreport import refdata

        if code not in self.province_codes():
            raise ParamsError(f"province {code!r} is not covered by this run; covers: {list(self.province_codes())}")
        if not self.provinces:
            return self
        own = set(refdata.districts(code, on=self.period_end)["district_code"])
        districts = tuple(d for d in self.districts if d.code in own)
        if code == self.province_code:
            return replace(self, provinces=(code,), districts=districts)
        name = self.province_names()[self.province_codes().index(code)]
        return replace(self, province_code=code, province_name=name, provinces=(code,), districts=districts,
                       agency_parent=_agency_parent(name), place=name, doc_number=RunParams.doc_number,
                       signatory=Signatory(), recipients=RunParams.recipients)

    def province_names(self) -> tuple[str, ...]:
        """The names of :meth:`province_codes` ("Thái Nguyên", "Bắc Kạn")."""
        if not self.provinces:
            return (self.province_name,)
        from vaxreport import refdata

        names = refdata.districts(None, on=self.period_end).drop_duplicates("province_code")
        named = dict(zip(names["province_code"], names["province_name"]))
        return tuple(self.province_name if c == self.province_code else str(named[c]) for c in self.provinces)

    def province_name_of(self, district_code: str) -> str:
        """The name of the province a district of the run belongs to (worklist titles).

        >>> p = RunParams.from_dict({"period": "2022-05", "report_date": "2022-06-01", "inputs": "x",
        ...                          "provinces": ["19", "06"]})
        >>> p.province_name_of("058"), p.province_name_of("164"), p.province_names()
        ('Bắc Kạn', 'Thái Nguyên', ('Thái Nguyên', 'Bắc Kạn'))
        """
        if not self.provinces:
            return self.province_name
        from vaxreport import refdata

        units = refdata.districts(None, on=self.period_end)
        hit = units.loc[units["district_code"] == str(district_code), "province_code"]
        if hit.empty or hit.iloc[0] not in self.provinces:
            return self.province_name
        return self.province_names()[self.provinces.index(hit.iloc[0])]

    def district_codes(self) -> list[str]:
        """Codes of every district reported on, in code order."""
        return [d.code for d in self.districts]

    def district_names(self) -> dict[str, str]:
        """District code -> official name ("164" -> "Thành phố Thái Nguyên")."""
        return {d.code: d.name for d in self.districts}

    def district(self, code: str) -> DistrictParams:
        """The resolved parameters of one district.

        Raises:
            ParamsError: the code is not a district of the province.
        """
        for d in self.districts:
            if d.code == str(code):
                return d
        raise ParamsError(f"district {code!r} is not a district of {self.province_name} "
                          f"({self.province_code}); known: {self.district_codes()}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (dates ISO, paths strings) for manifests and notebooks."""
        return _plain(asdict(self))

    def with_overrides(self, **changes: Any) -> RunParams:
        """A copy with some fields replaced (no re-validation; for tests and notebooks)."""
        return replace(self, **changes)


def _plain(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (dt.date, dt.datetime)):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    return obj


# --------------------------------------------------------------------------------------------
# Sections of the YAML: signatory, thresholds, targets, deadlines, districts
# --------------------------------------------------------------------------------------------

#: Authority-line prefixes of someone signing for another (ký thay, thừa lệnh, thừa ủy quyền, thay mặt).
_ON_BEHALF = ("KT.", "TL.", "TUQ.", "TM.")


def _signatory(v: Any, where: str, pr: Problems, default: Signatory) -> Signatory:
    """The keys given, over ``default``; a lone authority line that is a title ("GIÁM ĐỐC" with no
    title) becomes the title; an on-behalf line ("KT. GIÁM ĐỐC") needs the signer's own title.

    Examples:
        >>> pr = Problems()
        >>> _signatory({"name": "Lê Minh Tuấn"}, "s", pr, Signatory())
        Signatory(authority='', title='GIÁM ĐỐC', name='Lê Minh Tuấn')
        >>> _signatory({"authority": "GIÁM ĐỐC", "title": ""}, "s", pr, Signatory())
        Signatory(authority='', title='GIÁM ĐỐC', name='')
        >>> _ = _signatory({"authority": "KT. GIÁM ĐỐC"}, "s", pr, Signatory()); pr.items[0][:60]
        "s.title: 'KT. GIÁM ĐỐC' means someone signs for the GIÁM ĐỐC"
    """
    d = as_mapping(v, where, pr)
    if d is None:
        return default
    check_keys(d, {f.name for f in fields(Signatory)}, f"{where}.", pr)
    got = {k: as_text(d[k], f"{where}.{k}", pr) for k in ("authority", "title", "name") if k in d}
    sig = replace(default, **{k: x for k, x in got.items() if x is not None})
    authority, title = sig.authority, sig.title
    on_behalf = authority.upper().startswith(_ON_BEHALF)
    if authority and not title and not on_behalf:
        authority, title = "", authority  # "authority: GIÁM ĐỐC, title: ''": the head signs
    if authority.upper() == title.upper():
        authority = ""
    head = authority.split(".", 1)[1].strip() if on_behalf else ""
    if on_behalf and (not title or title.upper() == head.upper()):
        pr.add(f"{where}.title", f"{authority!r} means someone signs for the {head or 'head'}: give the "
                                 "signer's own title (e.g. PHÓ GIÁM ĐỐC), or leave out 'authority' when the "
                                 "head signs")
    return replace(sig, authority=authority, title=title)


def _thresholds(v: Any, pr: Problems) -> Thresholds:
    d = as_mapping(v, "thresholds", pr)
    if d is None:
        return Thresholds()
    check_keys(d, {f.name for f in fields(Thresholds)}, "thresholds.", pr)
    out: dict[str, Any] = {}
    for key, conv in {
        "dedup_threshold": lambda x, w: None if x is None else as_float(x, w, pr, -100.0, 100.0),
        "unsigned_days": lambda x, w: as_int(x, w, pr, 0, 3650),
        "name_match_score": lambda x, w: as_int(x, w, pr, 0, 100),
        "vaccine_match_score": lambda x, w: as_int(x, w, pr, 0, 100),
        "worklist_top_n": lambda x, w: as_int(x, w, pr, 1),
        "lowest_n": lambda x, w: as_int(x, w, pr, 1),
        "max_age": lambda x, w: as_int(x, w, pr, 1, 150),
        "review_band": lambda x, w: as_float(x, w, pr, 0.0, 4.0),
    }.items():
        if key in d:
            before = len(pr.items)
            val = conv(d[key], f"thresholds.{key}")
            if len(pr.items) == before:
                out[key] = val
    return Thresholds(**out)


def _targets(v: Any, pr: Problems) -> dict[str, float]:
    d = as_mapping(v, "targets", pr)
    out = dict(DEFAULT_TARGETS)
    for key, x in (d or {}).items():
        where = f"targets.{key}"
        if not _INDICATOR_KEY.match(key):
            pr.add(where, "indicator ids are lower_case_with_underscores")
            continue
        val = as_float(x, where, pr, 0.0, 100.0)
        if val is not None and 0 < val <= 1 and isinstance(x, float):
            pr.add(where, f"targets are percentages: write {val * 100:g} for {val * 100:g} %, "
                          f"got {x!r}")
            continue
        if val is not None:
            out[key] = val
    return out


def _deadlines(v: Any, pr: Problems) -> dict[str, dt.date]:
    d = as_mapping(v, "deadlines", pr)
    out = {}
    for key, x in (d or {}).items():
        val = as_date(x, f"deadlines.{key}", pr)
        if val is not None:
            out[key] = val
    return out


def _agency_parent(province_name: str) -> str:
    """The first header line of a province's Sở Y tế report: its People's Committee.

    >>> _agency_parent("Thái Nguyên")
    'UBND TỈNH THÁI NGUYÊN'
    """
    return f"UBND TỈNH {province_name.upper()}"


def _admin_districts(province_code: str, pr: Problems, on: dt.date | None = None
                     ) -> tuple[str, list[dict[str, str]]]:
    """(province name, district rows) from the admin reference table: the units in force ``on``
    (the period's last day), which must lie in the dated GSO lists shipped."""
    from vaxreport import refdata

    if on is not None:
        first, last = refdata.admin_units_coverage()
        if not first <= on <= last:
            pr.add("period", f"{on.isoformat()} is outside the administrative-unit lists shipped "
                             f"({first.isoformat()} to {last.isoformat()}, vaxreport/data/admin_units.csv); "
                             "add the GSO list in force then (scripts/build_admin_units.py)")
            on = None
    try:
        df = refdata.districts(province_code, on=on)
    except ValueError:
        pr.add("province_code", f"{province_code!r} is not a GSO province code in "
                                "vaxreport/data/admin_units.csv")
        return "", []
    rows = df[["district_code", "district_name", "district_short"]].to_dict("records")
    return str(df["province_name"].iloc[0]), rows


_DISTRICT_KEYS = {"code", "name", "short_name", "agency_parent", "agency", "doc_number", "place",
                  "signatory", "recipients"}


def _districts(v: Any, admin: list[dict[str, str]], province_code: str, base: dict[str, Any],
               pr: Problems) -> tuple[DistrictParams, ...]:
    overrides: dict[str, dict[str, Any]] = {}
    if v is not None and not isinstance(v, list):
        pr.add("districts", f"expected a list of district entries (- code: \"164\" ...), got "
                            f"{show(v)} ({type_name(v)})")
        v = None
    known = {r["district_code"]: r for r in admin}
    for i, entry in enumerate(v or []):
        where = f"districts[{i}]"
        if not isinstance(entry, dict):
            pr.add(where, f"expected a mapping with at least 'code', got {show(entry)}")
            continue
        check_keys(entry, _DISTRICT_KEYS, f"{where}.", pr)
        if "code" not in entry:
            pr.add(where, "missing 'code'")
            continue
        code = as_code(entry["code"], f"{where}.code", pr, 3)
        if code is None:
            continue
        if admin and code not in known:
            pr.add(f"{where}.code", f"district {code!r} is not in the admin reference table for "
                                    f"province {province_code}; known: {sorted(known)}")
            continue
        if code in overrides:
            pr.add(f"{where}.code", f"district {code!r} is listed twice")
            continue
        overrides[code] = {"entry": entry, "where": where}
    out = []
    for row in admin:
        code = row["district_code"]
        name = row["district_name"]
        o = overrides.get(code)
        entry, where = (o["entry"], o["where"]) if o else ({}, "")
        kw: dict[str, Any] = {}
        for key in ("name", "short_name", "agency_parent", "agency", "doc_number", "place"):
            if key in entry:
                s = as_text(entry[key], f"{where}.{key}", pr, allow_empty=False)
                if s is not None:
                    kw[key] = s
        if "recipients" in entry:
            rec = as_text_list(entry["recipients"], f"{where}.recipients", pr)
            if rec is not None:
                kw["recipients"] = rec
        sig = base["district_signatory"]
        if "signatory" in entry:
            sig = _signatory(entry["signatory"], f"{where}.signatory", pr, sig)
        name = kw.pop("name", name)
        out.append(DistrictParams(
            code=code, name=name, short_name=kw.pop("short_name", row["district_short"]),
            agency_parent=kw.pop("agency_parent", row.get("district_parent", base["district_parent"])),
            agency=kw.pop("agency", f"TRUNG TÂM Y TẾ {name.upper()}"),
            doc_number=kw.pop("doc_number", "…/BC-TTYT"),
            place=kw.pop("place", row.get("place", base["place"])),
            signatory=sig,
            recipients=kw.pop("recipients", ("Sở Y tế (b/c)", f"UBND {name[:1].lower()}{name[1:]} (b/c)",
                                             "Lưu: VT")),
        ))
    return tuple(out)


# --------------------------------------------------------------------------------------------
# The whole mapping, top-level keys in the order their problems are listed
# --------------------------------------------------------------------------------------------

_FIELD_NAMES = {f.name for f in fields(RunParams)} - {"source"}


class _Reader:
    """Reads one top-level key through a converter: ``MISSING`` when absent or null (a problem
    when the key is required), else what the converter returns."""

    def __init__(self, data: dict[str, Any], pr: Problems) -> None:
        self.data, self.pr = data, pr

    def __call__(self, key: str, conv: Callable[[Any, str], Any], *, required: bool = False,
                 hint: str = "") -> Any:
        if key not in self.data or self.data[key] is None:
            if required:
                self.pr.add(key, f"required{hint}")
            return MISSING
        return conv(self.data[key], key)


def _build(data: Any, base_dir: Path, source: Path | None) -> RunParams:
    pr = Problems()
    label = str(source) if source is not None else "params"
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ParamsError(f"{label}: expected a mapping of keys to values at the top level, got "
                          f"{type_name(data)}")
    data = {str(k): v for k, v in data.items()}
    check_keys(data, _FIELD_NAMES, "", pr)
    if data.get("province_code") is None and isinstance(data.get("provinces"), list) and data["provinces"]:
        data["province_code"] = data["provinces"][0]  # the issuing province: the first listed
    get = _Reader(data, pr)
    kw: dict[str, Any] = {}
    month = _required(get, pr, kw, base_dir)
    province_code, admin = _province(get, pr, kw, month)
    _period_bounds(get, pr, kw, month)

    sig = get("signatory", lambda v, w: _signatory(v, w, pr, Signatory()))
    if isinstance(sig, Signatory):
        kw["signatory"] = sig
    for key in ("recipients", "proposals"):
        val = get(key, lambda v, w: as_text_list(v, w, pr))
        if isinstance(val, tuple):
            kw[key] = val
    kw["targets"] = _targets(data.get("targets"), pr)
    kw["deadlines"] = _deadlines(data.get("deadlines"), pr)
    kw["thresholds"] = _thresholds(data.get("thresholds"), pr)
    try:
        kw["engine"] = EngineSpec.parse(data.get("engine"), base_dir=base_dir)
    except ValueError as exc:
        pr.add("engine", str(exc).removeprefix("engine: "))
    base = {"district_parent": f"{kw.get('agency', RunParams.agency)} {kw['province_name'].upper()}",
            "agency": kw.get("agency", RunParams.agency), "place": kw["place"],
            "district_signatory": Signatory()}
    admin = admin + _other_provinces(get, pr, kw, month)
    kw["districts"] = _districts(data.get("districts"), admin, province_code, base, pr)

    if pr.items:
        raise ParamsError(f"{label}: {len(pr.items)} problem(s):\n"
                          + "\n".join(f"- {p}" for p in pr.items))
    return RunParams(**kw, source=source)


def _required(get: _Reader, pr: Problems, kw: dict[str, Any], base_dir: Path) -> tuple[int, int] | None:
    """``period``, ``report_date``, ``inputs`` (and the optional ``worklist_returns`` and
    ``previous_run`` folders and ``review_decisions`` file) into ``kw``; the (year, month) of the period."""
    period = get("period", lambda v, w: as_text(v, w, pr), required=True, hint=' ("YYYY-MM")')
    month: tuple[int, int] | None = None
    if isinstance(period, str):
        m = _PERIOD.match(period)
        if m and 1 <= int(m.group(2)) <= 12:
            month = (int(m.group(1)), int(m.group(2)))
            kw["period"] = period
        else:
            pr.add("period", f'expected "YYYY-MM" (e.g. "2022-05"), got {period!r}')
    report_date = get("report_date", lambda v, w: as_date(v, w, pr), required=True,
                      hint=" (YYYY-MM-DD)")
    inputs = get("inputs", lambda v, w: as_text(v, w, pr, allow_empty=False), required=True,
                 hint=" (folder of the exports, relative to this file)")
    if isinstance(inputs, str):
        folder = Path(inputs).expanduser()
        kw["inputs"] = (folder if folder.is_absolute() else base_dir / folder).resolve()
    if isinstance(report_date, dt.date):
        kw["report_date"] = report_date
    for key in ("worklist_returns", "previous_run"):
        value = get(key, lambda v, w: as_text(v, w, pr, allow_empty=False))
        if isinstance(value, str):
            folder = Path(value).expanduser()
            kw[key] = (folder if folder.is_absolute() else base_dir / folder).resolve()
    decisions = get("review_decisions", lambda v, w: as_text(v, w, pr, allow_empty=False))
    if isinstance(decisions, str):
        path = Path(decisions).expanduser()
        kw["review_decisions"] = (path if path.is_absolute() else base_dir / path).resolve()
    return month


def _province(get: _Reader, pr: Problems, kw: dict[str, Any],
              month: tuple[int, int] | None) -> tuple[str, list[dict[str, str]]]:
    """The province code and the agency's text fields into ``kw`` (names defaulting to the admin
    table's); the province code and its district rows."""
    code = get("province_code", lambda v, w: as_code(v, w, pr, 2))
    province_code = code if isinstance(code, str) else RunParams.province_code
    kw["province_code"] = province_code
    on = dt.date(month[0], month[1], calendar.monthrange(*month)[1]) if month is not None else None
    admin_name, admin = _admin_districts(province_code, pr, on) if code is not None else ("", [])

    for key in ("province_name", "agency_parent", "agency", "doc_number", "place", "doc_type",
                "title"):
        val = get(key, lambda v, w: as_text(v, w, pr, allow_empty=False))
        if isinstance(val, str):
            kw[key] = val
    kw.setdefault("province_name", admin_name)
    kw.setdefault("agency_parent", _agency_parent(kw["province_name"]))
    kw.setdefault("place", kw["province_name"])
    return province_code, admin


def _other_provinces(get: _Reader, pr: Problems, kw: dict[str, Any],
                     month: tuple[int, int] | None) -> list[dict[str, str]]:
    """``provinces`` (a run covering several) into ``kw``; the district rows of the provinces
    other than ``province_code``, each with its own province's header line and place."""
    codes = get("provinces", lambda v, w: v if isinstance(v, list) else pr.add(
        w, f'expected a list of 2-digit province codes (["19", "01"]), got {show(v)} ({type_name(v)})'))
    if not isinstance(codes, list):
        return []
    checked = [as_code(c, f"provinces[{i}]", pr, 2) for i, c in enumerate(codes)]
    provinces = tuple(c for c in checked if c is not None)
    if len(set(provinces)) < len(provinces):
        pr.add("provinces", f"a province is listed twice: {list(provinces)}")
    if not provinces or len(provinces) < len(checked):
        return []
    if kw["province_code"] not in provinces:
        pr.add("provinces", f"must include province_code {kw['province_code']!r}, got {list(provinces)}")
    if provinces == (kw["province_code"],):
        return []  # the province alone: a one-province run
    kw["provinces"] = provinces
    on = dt.date(month[0], month[1], calendar.monthrange(*month)[1]) if month is not None else None
    rows: list[dict[str, str]] = []
    for code in provinces:
        if code == kw["province_code"]:
            continue
        name, admin = _admin_districts(code, pr, on)
        parent = f"{kw.get('agency', RunParams.agency)} {name.upper()}"
        rows += [{**row, "district_parent": parent, "place": name} for row in admin]
    return rows


def _period_bounds(get: _Reader, pr: Problems, kw: dict[str, Any], month: tuple[int, int] | None) -> None:
    """``period_start``, ``period_end`` (default: the month's first and last day) and
    ``campaign_start`` into ``kw``, checked against each other and ``report_date``."""
    for key in ("period_start", "period_end", "campaign_start"):
        val = get(key, lambda v, w: as_date(v, w, pr))
        if isinstance(val, dt.date):
            kw[key] = val
    if month is not None:
        first = dt.date(month[0], month[1], 1)
        last = dt.date(month[0], month[1], calendar.monthrange(*month)[1])
        kw.setdefault("period_start", first)
        kw.setdefault("period_end", last)
        if not first <= kw["period_end"] <= last:
            pr.add("period_end", f"{kw['period_end']} is not in the period {kw['period']}")
    campaign = kw.get("campaign_start", RunParams.campaign_start)
    start, end = kw.get("period_start"), kw.get("period_end")
    if isinstance(start, dt.date) and isinstance(end, dt.date) and start > end:
        pr.add("period_start", f"{start} is after period_end {end}")
    if isinstance(start, dt.date) and start < campaign:
        pr.add("period_start", f"{start} is before campaign_start {campaign}")
    if isinstance(end, dt.date) and "report_date" in kw and kw["report_date"] < end:
        pr.add("report_date", f"{kw['report_date']} is before period_end {end}")


def previous_period(period: str) -> str:
    """``"2022-05"`` → ``"2022-04"``; ``"2022-01"`` → ``"2021-12"``.

    >>> previous_period("2022-01")
    '2021-12'
    """
    year, month = (int(x) for x in period.split("-"))
    return f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"
