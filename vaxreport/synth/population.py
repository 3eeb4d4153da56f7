"""The true population of the synthetic province: communes, sites, households and persons.

1. households (head, spouse, up to three children, an elder) sharing surname line, phone and
   address, placed in communes weighted by the 2019 district populations;
2. persons: names from ``data/names_*.csv``, CCCD/CMND consistent with birth year and sex,
   phones with current mobile prefixes (checked with ``phonenumbers``), BHYT numbers.

Persons are flat arrays (``P``: ``hh``, ``role``, ``female``, ``birth`` in days since epoch,
``twin_of_prev``, ``age``; per household ``hh_commune`` and their number ``n_hh``); how many
households are kept is decided where the dose target is reached (:mod:`vaxreport.synth.doses`).

Examples:
    >>> phone_strings(np.array([912345678, -1])).to_pylist()
    ['0912345678', None]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vaxreport import refdata
from vaxreport.synth.arrays import DAYS_PER_YEAR, as_str, join, probs, unique_numbers, ymd, zero_pad
from vaxreport.synth.seed import CCCD_ORIGIN, PERIOD_END, SynthProvince

# --------------------------------------------------------------------------------------------
# Reference tables
# --------------------------------------------------------------------------------------------
#: mobile prefixes (with the leading 0) and market weights; all checked with ``phonenumbers``.
PHONE_PREFIXES: dict[str, float] = {
    **{p: 0.055 for p in ("032", "033", "034", "035", "036", "037", "038", "039")},
    "086": 0.03, "096": 0.045, "097": 0.045, "098": 0.045,  # Viettel
    **{p: 0.022 for p in ("081", "082", "083", "084", "085", "088")},
    "091": 0.035, "094": 0.03,  # VinaPhone
    "070": 0.02, "076": 0.015, "077": 0.015, "078": 0.015, "079": 0.015, "090": 0.05,
    "093": 0.04,  # MobiFone
    "056": 0.008, "058": 0.008, "092": 0.012, "059": 0.007, "087": 0.006,
}


HAMLETS = ("Đồng Tâm", "Làng Mới", "Trung Tâm", "Đồng Bẩm", "Na Mao", "Bản Ngoại", "Cây Thị",
           "Đồng Xe", "Khe Mo", "Làng Chũ", "Nà Lẹng", "Tân Lập", "Hợp Thành", "Đèo Khế", "Cầu Trà",
           "Phú Thịnh", "Văn Lang", "Bờ Đậu", "Đá Mài", "Suối Cát", "Gốc Gạo", "Khuôn Lân",
           "Làng Phan", "Đồng Chằm", "Ba Đình", "Thác Lở", "Xuân Hòa", "An Thịnh", "Hòa Bình")

def communes(rng: np.random.Generator, province: SynthProvince | None = None) -> dict[str, np.ndarray]:
    """The province's communes (``admin_units``), each weighted by its share of the district's
    population (wards 1.7, townships 1.4 times a rural commune, times a lognormal draw); the
    province's name is ``province_name`` (a 0-d array) for the addresses."""
    province = province or SynthProvince()
    units = refdata.admin_units(province.code, on=PERIOD_END.astype("datetime64[D]").item())
    typ = units["commune_type"].to_numpy()
    factor = np.where(typ == "Phường", 1.7, np.where(typ == "Thị trấn", 1.4, 1.0))
    factor = factor * rng.lognormal(0.0, 0.3, len(units))
    dist = units["district_code"].to_numpy()
    share = np.zeros(len(units))
    for d, pop in province.district_population.items():
        m = dist == d
        share[m] = pop * factor[m] / factor[m].sum()
    return {
        "code": units["commune_code"].to_numpy().astype(str),
        "name": units["commune_name"].to_numpy().astype(str),
        "type": typ.astype(str),
        "district": dist.astype(str),
        "district_name": units["district_name"].to_numpy().astype(str),
        "district_short": units["district_short"].to_numpy().astype(str),
        "weight": share / share.sum(),
        "province_name": np.array(province.name),
    }


def vaccination_sites(com: dict[str, np.ndarray], province: SynthProvince | None = None) -> dict[str, np.ndarray]:
    """Vaccination sites: one Trạm Y tế per commune, the TTYT and a hospital per district,
    and the province-level hospitals in the first district (TP Thái Nguyên). Codes are digit
    strings."""
    province = province or SynthProvince()
    codes = [f"{c}01" for c in com["code"]]
    names = [f"Trạm Y tế {n}" for n in com["name"]]
    dists = list(com["district"])
    kinds = [0] * len(codes)
    seen: dict[str, str] = {}
    for d, dn in zip(com["district"], com["district_name"]):
        seen.setdefault(d, dn)
    for d, dn in seen.items():
        codes += [f"{d}0001", f"{d}0002"]
        names += [f"Trung tâm Y tế {dn.replace('Huyện', 'huyện').replace('Thành phố', 'thành phố')}",
                  f"Bệnh viện đa khoa {dn.replace('Huyện ', '').replace('Thành phố ', 'thành phố ')}"]
        dists += [d, d]
        kinds += [1, 1]
    zeros = "0000" if not province.code_prefix else "00000"  # 8 digits: no clash with another province's
    for i, n in enumerate(province.hospitals):
        codes.append(f"{province.code}{zeros}{i + 1}")
        names.append(n)
        dists.append(str(com["district"][0]))
        kinds.append(2)
    return {"code": np.array(codes), "name": np.array(names), "district": np.array(dists),
            "kind": np.array(kinds)}


def check_phone_prefixes() -> None:
    """Raise ``ValueError`` if a prefix of ``PHONE_PREFIXES`` is not a Vietnamese mobile prefix."""
    import phonenumbers

    for prefix in PHONE_PREFIXES:
        num = phonenumbers.parse(prefix + "4567890", "VN")
        if not phonenumbers.is_valid_number(num):
            raise ValueError(f"phone prefix {prefix} is not a valid Vietnamese mobile prefix")


def district_sites(com: dict[str, np.ndarray], sites: dict[str, np.ndarray]) -> np.ndarray:
    """Per commune, the index of its district's first site (the TTYT; the hospital follows it)."""
    dist_codes = np.unique(sites["district"][sites["kind"] == 1])
    dist_site0 = {d: int(np.flatnonzero((sites["kind"] == 1) & (sites["district"] == d))[0])
                  for d in dist_codes}
    return np.array([dist_site0[d] for d in com["district"]])


# --------------------------------------------------------------------------------------------
# 1–2. Households and persons
# --------------------------------------------------------------------------------------------

_HEAD_AGE_BANDS = np.array([20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80])
_HEAD_AGE_W = probs([3, 7, 11, 12, 12, 11, 10, 9, 8, 7, 5, 3, 2])


def households(n: int, com: dict[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Persons of ``n`` households as flat arrays (role 0 head, 1 spouse, 2–4 children, 5 elder)."""
    head_age = _HEAD_AGE_BANDS[rng.choice(13, n, p=_HEAD_AGE_W)] + rng.random(n) * 5
    head_f = rng.random(n) < 0.22
    age = np.full((n, 6), np.nan)
    sex_f = np.zeros((n, 6), bool)
    age[:, 0] = head_age
    sex_f[:, 0] = head_f
    has_spouse = rng.random(n) < np.where(head_age > 70, 0.55, 0.82)
    age[:, 1] = np.where(has_spouse, np.maximum(18, head_age + np.where(head_f, 3, -3)
                                                + rng.normal(0, 3, n)), np.nan)
    sex_f[:, 1] = ~head_f
    mother_age = np.where(head_f | ~has_spouse, head_age, age[:, 1])
    n_children = rng.choice(4, n, p=[0.14, 0.28, 0.4, 0.18])
    gap = 19 + rng.random(n) * 13
    for k in range(3):
        a = mother_age - gap
        keep = (k < n_children) & (a >= 0) & ((a < 18) | ((a < 30) & (rng.random(n) < 0.45)))
        age[:, 2 + k] = np.where(keep, a, np.nan)
        sex_f[:, 2 + k] = rng.random(n) < 0.48
        gap = gap + 1.5 + rng.exponential(3.0, n)
    twin = (rng.random(n) < 0.012) & ~np.isnan(age[:, 2]) & ~np.isnan(age[:, 3])
    age[:, 3] = np.where(twin, age[:, 2], age[:, 3])
    has_elder = (rng.random(n) < 0.22) & (head_age < 62)
    elder_age = head_age + 22 + rng.random(n) * 12
    age[:, 5] = np.where(has_elder & (elder_age < 97), elder_age, np.nan)
    sex_f[:, 5] = rng.random(n) < 0.62

    valid = ~np.isnan(age)
    hh = np.repeat(np.arange(n), 6).reshape(n, 6)[valid]
    role = np.tile(np.arange(6), n).reshape(n, 6)[valid]
    birth = (PERIOD_END.astype(np.int64) - np.floor(age[valid] * DAYS_PER_YEAR)).astype(np.int64)
    commune = rng.choice(len(com["code"]), n, p=com["weight"])
    return {"hh": hh, "role": role, "female": sex_f[valid], "birth": birth,
            "twin_of_prev": (twin[hh] & (role == 3)), "hh_commune": commune, "n_hh": np.array(n)}


def age_years(birth: np.ndarray, on: np.ndarray | np.datetime64) -> np.ndarray:
    """Completed years of age on a date (days since epoch)."""
    by, bm, bd = ymd(birth)
    oy, om, od = ymd(np.asarray(on, dtype="datetime64[D]").astype(np.int64) + np.zeros_like(birth))
    return oy - by - ((om < bm) | ((om == bm) & (od < bd)))


def person_names(P: dict[str, np.ndarray], rng: np.random.Generator) -> pa.Array:
    """Full name per person: the father's surname line for children, middle and given names by
    sex and generation; twins share the middle name, a few sons carry the father's full name."""
    sur = refdata.table("names_surnames")
    mid = refdata.table("names_middle")
    giv = refdata.table("names_given")
    n = P["hh"].shape[0]
    n_hh = int(P["n_hh"])
    sur_w = probs(sur["weight"].astype(float))
    hh_sur = rng.choice(len(sur), (n_hh, 3), p=sur_w)  # head line, spouse line, elder line
    own = rng.choice(len(sur), n, p=sur_w)
    role, hh, female = P["role"], P["hh"], P["female"]
    head_female = np.zeros(n_hh, bool)
    head_female[hh[role == 0]] = female[role == 0]
    spouse_present = np.zeros(n_hh, bool)
    spouse_present[hh[role == 1]] = True
    father_line = np.where(head_female[hh] & spouse_present[hh], hh_sur[hh, 1], hh_sur[hh, 0])
    surname = np.select([role == 0, role == 1, (role >= 2) & (role <= 4)],
                        [hh_sur[hh, 0], hh_sur[hh, 1], father_line],
                        np.where(rng.random(n) < 0.5, hh_sur[hh, 0], own))
    born_before_1990 = P["birth"] < np.datetime64("1990-01-01").astype(np.int64)
    middle = np.zeros(n, np.int64)
    given = np.zeros(n, np.int64)
    for sex, fem in (("M", False), ("F", True)):
        msub = np.flatnonzero(mid["sex"].to_numpy() == sex)
        gsub = np.flatnonzero(giv["sex"].to_numpy() == sex)
        for col, era in (("weight_born_before_1990", True), ("weight_born_1990_on", False)):
            m = (female == fem) & (born_before_1990 == era)
            middle[m] = msub[rng.choice(len(msub), int(m.sum()), p=probs(mid[col].to_numpy(float)[msub]))]
        m = female == fem
        given[m] = gsub[rng.choice(len(gsub), int(m.sum()), p=probs(giv["weight"].to_numpy(float)[gsub]))]
    # twins share the middle name; a few sons carry the father's full name (hard negatives)
    twin = np.flatnonzero(P["twin_of_prev"])
    middle[twin] = middle[twin - 1]
    same = np.flatnonzero((role == 2) & ~female & (rng.random(n) < 0.001))
    head_idx = np.zeros(n_hh, np.int64)
    head_idx[hh[role == 0]] = np.flatnonzero(role == 0)
    fathers = head_idx[hh[same]]
    ok = ~female[fathers]
    middle[same[ok]] = middle[fathers[ok]]
    given[same[ok]] = given[fathers[ok]]
    s = pa.array(sur["surname"].tolist()).take(pa.array(surname))
    m_ = pa.array(mid["middle"].tolist()).take(pa.array(middle))
    g = pa.array(giv["given"].tolist()).take(pa.array(given))
    return join(s, m_, g, sep=" ")


def person_ids(P: dict[str, np.ndarray], rng: np.random.Generator,
               origin_shares: dict[str, float] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True IDs: (kind 0 none/1 CCCD/2 CMND, number as int64, spare CMNDs).

    CCCD = PPP G YY NNNNNN; CMND = 09x + 6 digits. The spare CMNDs (unique, unused) are old
    documents of CCCD holders, shown on some second records (``id_other_document``).
    """
    n = P["hh"].shape[0]
    age = P["age"]
    by = ymd(P["birth"])[0]
    p_none = np.select([age < 12, age < 14, age < 18], [0.4, 0.25, 0.1], 0.012)
    p_cmnd = np.select([by < 1960, by < 1980, age >= 18], [0.18, 0.08, 0.03], 0.0)
    u = rng.random(n)
    kind = np.where(u < p_none, 0, np.where(u < p_none + (1 - p_none) * p_cmnd, 2, 1))
    shares = CCCD_ORIGIN if origin_shares is None else origin_shares
    origins = np.array([int(k) for k in shares])
    origin = origins[rng.choice(len(shares), n, p=probs(list(shares.values())))]
    century = (by - 1900) // 100
    g = century * 2 + P["female"].astype(np.int64)
    number = np.full(n, -1, np.int64)
    c = kind == 1
    number[c] = unique_numbers(((origin * 10 + g) * 100 + by % 100)[c], 6, rng)
    k = int((kind == 2).sum())
    spare = n // 50 + 10
    cmnd = unique_numbers(90 + rng.choice(3, k + spare, p=[0.5, 0.3, 0.2]), 6, rng)
    number[kind == 2] = cmnd[:k]
    return kind, number, cmnd[k:]


def id_strings(kind: np.ndarray, number: np.ndarray) -> pa.Array:
    """IDs as written: 12-digit CCCD, 9-digit CMND, null for none.

    >>> id_strings(np.array([1, 2, 0]), np.array([19085012345, 91234567, -1])).to_pylist()
    ['019085012345', '091234567', None]
    """
    s12, s9 = zero_pad(number, 12), zero_pad(number, 9)
    out = pc.if_else(pa.array(kind == 2), s9, s12)
    return pc.if_else(pa.array(kind == 0), pa.nulls(len(kind), pa.string()), out)


def phones(P: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Phone per person as int64 (9 digits after the 0), -1 if none; children share a parent's."""
    n = P["hh"].shape[0]
    role, age, hh = P["role"], P["age"], P["hh"]
    p_own = np.select([role == 0, role == 1, role == 5, age >= 18, age >= 14],
                      [0.97, 0.92, 0.55, 0.95, 0.45], 0.0)
    own = rng.random(n) < p_own
    prefixes = np.array([int(p) for p in PHONE_PREFIXES])
    pre = prefixes[rng.choice(len(prefixes), n, p=probs(list(PHONE_PREFIXES.values())))]
    number = unique_numbers(pre, 7, rng)
    n_hh = int(P["n_hh"])
    contact = np.full(n_hh, -1, np.int64)
    for r in (1, 0):  # head's phone wins, else the spouse's
        m = (role == r) & own
        contact[hh[m]] = number[m]
    return np.where(own, number, contact[hh])


def phone_strings(number: np.ndarray) -> pa.Array:
    """Phones as written: "0" and 9 digits, null for none."""
    out = zero_pad(np.maximum(number, 0), 10)
    return pc.if_else(pa.array(number < 0), pa.nulls(len(number), pa.string()), out)


def insurance_numbers(P: dict[str, np.ndarray], rng: np.random.Generator, province_code: str = "19") -> pa.Array:
    """BHYT card number per person (72 % hold one): group code by age, benefit level, province."""
    n = P["hh"].shape[0]
    age = P["age"]
    codes = np.array(["GD", "DN", "HT", "CN", "HN", "XN", "CB"])
    adult = codes[rng.choice(len(codes), n, p=[0.45, 0.25, 0.08, 0.05, 0.1, 0.02, 0.05])]
    code = np.where(age < 6, "TE", np.where(age < 18, "HS", adult))
    code = np.where((age >= 60) & (rng.random(n) < 0.4), "HT", code)
    level = rng.integers(1, 6, n)
    serial = rng.integers(0, 10 ** 10, n)
    s = join(pa.array(code), as_str(level), province_code, zero_pad(serial, 10))
    return pc.if_else(pa.array(rng.random(n) < 0.72), s, pa.nulls(n, pa.string()))


def addresses(commune: np.ndarray, com: dict[str, np.ndarray], rng: np.random.Generator) -> pa.Array:
    """An address in each commune (index into ``com``): house and group in towns, hamlet elsewhere."""
    n = commune.shape[0]
    urban = np.isin(com["type"][commune], ["Phường", "Thị trấn"])
    tail = join(pa.array(com["name"]).take(pa.array(commune)),
                pa.array(com["district_name"]).take(pa.array(commune)), str(com["province_name"]), sep=", ")
    house = join(as_str(rng.integers(1, 300, n)), ", tổ", sep="")
    street = join("Số", house, as_str(rng.integers(1, 45, n)), sep=" ")
    hamlet_name = pa.array(np.array(HAMLETS)).take(pa.array(rng.integers(0, len(HAMLETS), n)))
    hamlet = join("Xóm", hamlet_name, sep=" ")
    first = pc.if_else(pa.array(urban), street, hamlet)
    return join(first, tail, sep=", ")



# --------------------------------------------------------------------------------------------
# The population, stage by stage
# --------------------------------------------------------------------------------------------

@dataclass
class Population:
    """The true population: persons of the kept households and who they are.

    Attributes:
        P: persons as flat arrays (see the module docstring).
        names: full name of each person.
        id_kind: 0 none, 1 CCCD, 2 CMND; ``id_num`` the number (-1 if none).
        id_num: ID number of each person as int64.
        spare_cmnd: unused old CMNDs of CCCD holders (shown on some second records).
        phone: phone of each person as int64 (9 digits after the 0), -1 if none.
        insurance: BHYT number of each person (null if none).
        commune: commune index of each person (the household's).
        hh_address: address of each household.
    """

    P: dict[str, np.ndarray]
    names: pa.Array
    id_kind: np.ndarray
    id_num: np.ndarray
    spare_cmnd: np.ndarray
    phone: np.ndarray
    insurance: pa.Array
    commune: np.ndarray
    hh_address: pa.Array


def identities(P: dict[str, np.ndarray], com: dict[str, np.ndarray], rng_names: np.random.Generator,
               rng_ids: np.random.Generator, rng_geo: np.random.Generator,
               province: SynthProvince | None = None) -> Population:
    """Names, IDs, phones, insurance numbers and addresses of the persons ``P``.

    Draws from ``rng_names`` (names), ``rng_ids`` (IDs, phones, insurance, in that order) and
    ``rng_geo`` (addresses).
    """
    names = person_names(P, rng_names)
    province = province or SynthProvince()
    id_kind, id_num, spare_cmnd = person_ids(P, rng_ids, province.cccd_origin)
    phone = phones(P, rng_ids)
    insurance = insurance_numbers(P, rng_ids, province.code)
    commune = P["hh_commune"][P["hh"]]
    hh_address = addresses(P["hh_commune"], com, rng_geo)
    return Population(P=P, names=names, id_kind=id_kind, id_num=id_num, spare_cmnd=spare_cmnd,
                      phone=phone, insurance=insurance, commune=commune, hh_address=hh_address)
