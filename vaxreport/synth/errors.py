"""The platform's typing errors: the closed vocabulary, their rates, and how each is injected.

A person record (one ``person_ref``) shows its person's name, gender, birth date, ID and phone
as typed at the site, with one name slip, one ID slip and one phone slip at most
(:func:`record_errors`); the second record of a duplicate person draws its own perturbations
from the ``dup_*`` rates. A dose row shows a dose number (:func:`dose_numbers`), a dose date
(:func:`dose_date_errors`) and a vaccine name (:func:`vaccine_aliases`) as entered. Every
injected error is named in the truth (``ERROR_KINDS``; :func:`error_codes`, :func:`error_text`).

Examples:
    >>> sorted(ERROR_KINDS)[:3]
    ['birth_date_swapped', 'commune_moved', 'dose_date_before_birth']
    >>> error_text(np.array([0, 1])).to_pylist()
    ['', 'duplicate_person']
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, fields

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vaxreport import refdata
from vaxreport.synth.arrays import as_str, join, pick, probs, to_days, ymd, zero_pad
from vaxreport.synth.doses import VAX, VaccineNames
from vaxreport.synth.population import PHONE_PREFIXES, Population, id_strings, phone_strings
from vaxreport.synth.seed import PERIOD_END
from vaxreport.text import encode_legacy

#: Closed vocabulary of injected error kinds (``doses_truth.errors``, ``persons_truth.errors``).
ERROR_KINDS: dict[str, str] = {
    # person record (one person_ref; shows on every dose row of that record)
    "duplicate_person": "second person_ref for a person already registered (other site)",
    "name_typo": "one letter deleted, doubled, swapped, or one tone mark changed/dropped",
    "name_no_diacritics": "name typed without Vietnamese diacritics",
    "name_nfd": "name stored decomposed (NFD)",
    "name_tcvn3": "name in TCVN3 (ABC) mojibake, as typed in a .VnTime font",
    "name_vni": "name in VNI-Windows mojibake, as typed in a VNI font",
    "name_case_spacing": "name in upper/lower case or with extra spaces",
    "name_incomplete": "middle name missing",
    "gender_wrong": "gender flipped",
    "birth_date_swapped": "day and month of birth swapped (both ≤ 12)",
    "commune_moved": "registered in another commune than the person's own",
    "id_missing": "person has an ID but the record has none",
    "id_malformed": "ID with a digit dropped/added or a letter O for 0",
    "id_digit_error": "one digit of the ID wrong (century/sex, year or serial)",
    "id_of_relative": "a child registered with a household adult's ID",
    "id_other_document": "the old 9-digit CMND instead of the person's CCCD",
    "id_excel_scientific": "ID mangled by Excel into scientific notation (1.90851E+10)",
    "id_leading_zero_lost": "ID lost its leading zero (Excel number)",
    "phone_missing": "person has a phone but the record has none",
    "phone_other": "another phone than on the person's first record",
    "phone_old_11_digit": "pre-2018 11-digit mobile number (prefix migration reversed)",
    "phone_country_code": "phone written with +84 / 84 prefix",
    "phone_malformed": "phone with a digit dropped",
    # dose row
    "dose_duplicate": "the same dose entered again (dup_of names the original row)",
    "dose_missing": "the previous dose of this person was never entered (gap before this row)",
    "dose_number_wrong": "dose number (mũi) entered wrong",
    "doses_out_of_order": "dose numbers of two consecutive doses swapped",
    "dose_date_swapped": "day and month of the dose date swapped (both ≤ 12)",
    "dose_date_impossible": "dose date that does not exist (31/02, 31/04, …)",
    "dose_date_future": "dose date after the end of the period",
    "dose_date_before_birth": "dose date before the person's birth (year typed as birth year - 1)",
    "vaccine_alias": "vaccine written as an alias/variant instead of the product name",
}


@dataclass(frozen=True)
class ErrorRates:
    """Rates of injected errors (probabilities per person record or per dose row).

    Person-record rates apply to every ``person_ref``; ``duplicate_person`` is the share of
    persons with ≥ 2 doses who were registered again. The second record of a duplicate person
    draws its own perturbations from the ``dup_*`` rates. Row rates apply per dose row;
    ``dose_duplicate`` is the share of exported rows that are duplicates and ``dose_missing`` the
    number of never-entered doses as a share of the platform's unique doses.

    Examples:
        >>> ErrorRates().duplicate_person
        0.03
        >>> ErrorRates(name_typo=0.0).name_typo
        0.0
    """

    duplicate_person: float = 0.03
    name_typo: float = 0.012
    name_no_diacritics: float = 0.01
    name_nfd: float = 0.005
    name_tcvn3: float = 0.004
    name_vni: float = 0.003
    name_case_spacing: float = 0.01
    name_incomplete: float = 0.004
    gender_wrong: float = 0.004
    birth_date_swapped: float = 0.006
    id_missing: float = 0.01
    id_malformed: float = 0.006
    id_digit_error: float = 0.01
    id_of_relative: float = 0.02  # of children with a household adult holding an ID
    id_excel_scientific: float = 0.004
    id_leading_zero_lost: float = 0.008
    phone_missing: float = 0.01
    phone_old_11_digit: float = 0.02
    phone_country_code: float = 0.02
    phone_malformed: float = 0.004
    dose_duplicate: float = 0.02
    dose_missing: float = 0.004
    dose_number_wrong: float = 0.006
    doses_out_of_order: float = 0.003
    dose_date_swapped: float = 0.004
    dose_date_impossible: float = 0.0008
    dose_date_future: float = 0.0008
    dose_date_before_birth: float = 0.0005
    vaccine_alias: float = 0.05
    # perturbations of the second record of a duplicate person
    dup_name_variant: float = 0.45
    dup_id_missing: float = 0.25
    dup_id_other_document: float = 0.08
    dup_phone_other: float = 0.3
    dup_phone_missing: float = 0.05
    dup_birth_date_swapped: float = 0.1
    dup_commune_moved: float = 0.35
    dup_gender_wrong: float = 0.02

    def __post_init__(self) -> None:
        bad = {f.name: getattr(self, f.name) for f in fields(self)
               if not 0.0 <= float(getattr(self, f.name)) <= 1.0}
        if bad:
            raise ValueError(f"error rates must lie in [0, 1], got {bad}")

# --------------------------------------------------------------------------------------------
# Names as typed
# --------------------------------------------------------------------------------------------

def _ascii_fold(s: str) -> str:
    """``s`` without diacritics, case kept (a name typed on a keyboard without Vietnamese; not
    :func:`vaxreport.text.fold`, which also lowers the case)."""
    s = unicodedata.normalize("NFD", s).replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in s if unicodedata.category(c) != "Mn")


_TONES = ("\u0300", "\u0301", "\u0303", "\u0309", "\u0323")


def _name_typo(name: str, r: np.random.Generator) -> str:
    """One realistic slip: letter deleted/doubled/swapped, a tone mark changed or dropped."""
    words = name.split(" ")
    w = int(r.integers(1, len(words))) if len(words) > 1 else 0
    word = unicodedata.normalize("NFD", words[w])
    kind = int(r.integers(0, 5))
    tones = [i for i, c in enumerate(word) if c in _TONES]
    if kind in (0, 1) and tones:
        i = tones[0]
        if kind == 0:  # drop the tone mark
            word = word[:i] + word[i + 1:]
        else:  # another tone
            word = word[:i] + _TONES[(_TONES.index(word[i]) + 1 + int(r.integers(0, 4))) % 5] + word[i + 1:]
    else:
        base = [i for i, c in enumerate(word) if unicodedata.category(c) != "Mn"]
        if len(base) >= 3 and kind == 2:  # swap two letters inside the word
            i = base[int(r.integers(1, len(base) - 1))]
            j = next(k for k in base if k > i)
            word = word[:i] + word[j] + word[i + 1:j] + word[i] + word[j + 1:]
        elif len(base) >= 3 and kind == 3:  # delete a letter (not the first)
            i = base[int(r.integers(1, len(base)))]
            end = i + 1
            while end < len(word) and unicodedata.category(word[end]) == "Mn":
                end += 1
            word = word[:i] + word[end:]
        else:  # double a letter
            i = base[int(r.integers(0, len(base)))]
            word = word[:i + 1] + word[i] + word[i + 1:]
    words[w] = unicodedata.normalize("NFC", word)
    out = " ".join(words)
    return out if out != name else name + name[-1]


def _name_case(name: str, r: np.random.Generator) -> str:
    k = int(r.integers(0, 4))
    if k == 0:
        return name.upper()
    if k == 1:
        return name.lower()
    if k == 2:
        return "  ".join(name.split(" "))
    return " " + name + " "


def _name_incomplete(name: str) -> str:
    parts = name.split(" ")
    return f"{parts[0]} {parts[-1]}" if len(parts) > 2 else name


_NAME_VARIANTS = {
    "name_typo": lambda s, r: _name_typo(s, r),
    "name_no_diacritics": lambda s, r: _ascii_fold(s),
    "name_nfd": lambda s, r: unicodedata.normalize("NFD", s),
    "name_tcvn3": lambda s, r: encode_legacy(s, "tcvn3"),
    "name_vni": lambda s, r: encode_legacy(s, "vni"),
    "name_case_spacing": _name_case,
    "name_incomplete": lambda s, r: _name_incomplete(s),
}


def _apply_strings(values: pa.Array, idx: np.ndarray, kinds: list[str],
                   rng: np.random.Generator) -> tuple[pa.Array, np.ndarray]:
    """Replace ``values[idx[i]]`` by ``_NAME_VARIANTS[kinds[i]](value)`` (Python on few rows).

    Returns the new values and the mask of the values that actually changed (an ASCII name
    has no diacritics to lose). ``idx`` must be increasing.
    """
    mask = np.zeros(len(values), bool)
    if idx.size == 0:
        return values, mask
    old = values.take(pa.array(idx)).to_pylist()
    new = [_NAME_VARIANTS[k](s, rng) for s, k in zip(old, kinds)]
    changed = np.array([a != b for a, b in zip(old, new)])
    mask[idx[changed]] = True
    replacements = pa.array([v for v, c in zip(new, changed) if c], pa.string())
    return pc.replace_with_mask(values, pa.array(mask), replacements), mask


# --------------------------------------------------------------------------------------------
# Person records: name, ID and phone errors
# --------------------------------------------------------------------------------------------

NAME_KINDS = ("name_typo", "name_no_diacritics", "name_nfd", "name_case_spacing", "name_incomplete",
              "name_tcvn3", "name_vni")


def name_errors(names: pa.Array, rp: np.ndarray, second: np.ndarray, rates: ErrorRates,
                 e: np.random.Generator, r_str: np.random.Generator
                 ) -> tuple[pa.Array, dict[str, np.ndarray]]:
    """Names as recorded (one variant at most per record) and the mask of each name kind."""
    n_ref = rp.size
    name_rates = np.array([getattr(rates, k) for k in NAME_KINDS])
    uu = e.random(n_ref)
    cdf = np.cumsum(name_rates)
    pick_name = np.where(uu < cdf[-1], np.searchsorted(cdf, uu, side="right"), -1)
    dup_var = pick(second, rates.dup_name_variant, e)
    dup_choice = e.choice(len(NAME_KINDS), n_ref, p=probs([0.3, 0.27, 0.08, 0.12, 0.09, 0.08, 0.06]))
    pick_name = np.where(dup_var, dup_choice, np.where(second, -1, pick_name))
    ref_name = names.take(pa.array(rp))
    idx = np.flatnonzero(pick_name >= 0)
    kinds = [NAME_KINDS[i] for i in pick_name[idx]]
    ref_name, changed = _apply_strings(ref_name, idx, kinds, r_str)
    return ref_name, {k: (pick_name == i) & changed for i, k in enumerate(NAME_KINDS)}


def id_errors(P: dict[str, np.ndarray], rp: np.ndarray, id_kind: np.ndarray, id_num: np.ndarray,
               spare_cmnd: np.ndarray, b: np.ndarray, rates: ErrorRates,
               e: np.random.Generator) -> tuple[pa.Array, dict[str, np.ndarray]]:
    """IDs as recorded (one error at most per record; second records draw their own) and masks."""
    n_ref = rp.size
    age_r = P["age"][rp]
    kind_r, num_r = id_kind[rp], id_num[rp]
    has_id = kind_r > 0
    id_rates = ["id_missing", "id_malformed", "id_digit_error", "id_excel_scientific", "id_leading_zero_lost"]
    cdf = np.cumsum([getattr(rates, k) for k in id_rates])
    uu = e.random(n_ref)
    id_pick = np.where(has_id & ~b & (uu < cdf[-1]), np.searchsorted(cdf, uu, side="right"), -1)
    dmiss = pick(b & has_id, rates.dup_id_missing, e)
    id_pick = np.where(dmiss, 0, id_pick)
    other_doc = pick(b & (kind_r == 1) & ~dmiss & (age_r >= 18), rates.dup_id_other_document, e)
    # children registered with a household adult's ID
    hh_adult_id = np.full(int(P["n_hh"]), -1, np.int64)
    hh_adult_kind = np.zeros(int(P["n_hh"]), np.int64)
    for role in (1, 0):
        m = (P["role"] == role) & (id_kind > 0)
        hh_adult_id[P["hh"][m]] = id_num[m]
        hh_adult_kind[P["hh"][m]] = id_kind[m]
    hh_r = P["hh"][rp]
    relative = (age_r < 18) & (hh_adult_id[hh_r] >= 0) & (id_pick < 0) & ~other_doc
    relative = pick(relative, rates.id_of_relative, e)
    raw_kind = kind_r.copy()
    raw_num = num_r.copy()
    raw_kind[relative] = hh_adult_kind[hh_r[relative]]
    raw_num[relative] = hh_adult_id[hh_r[relative]]
    raw_kind[other_doc] = 2
    raw_num[other_doc] = spare_cmnd[np.arange(int(other_doc.sum())) % spare_cmnd.size]
    # digit error: century/sex digit, year digits, or a serial digit
    pos_choice = e.integers(0, 3, n_ref)
    digit_pos = np.select([pos_choice == 0, pos_choice == 1], [3, 4 + e.integers(0, 2, n_ref)],
                          6 + e.integers(0, 6, n_ref))
    width = np.where(raw_kind == 2, 9, 12)
    digit_pos = np.where(raw_kind == 2, 2 + e.integers(0, 7, n_ref), digit_pos)
    place = 10 ** (width - 1 - digit_pos)
    old_digit = (raw_num // place) % 10
    new_digit = (old_digit + e.integers(1, 10, n_ref)) % 10
    dig = id_pick == 2
    raw_num = np.where(dig, raw_num + (new_digit - old_digit) * place, raw_num)
    id_str = id_strings(np.where(id_pick == 0, 0, raw_kind), raw_num)
    # malformed: drop or add a digit, or an O for a 0
    mal = np.flatnonzero(id_pick == 1)
    if mal.size:
        vals = id_str.take(pa.array(mal)).to_pylist()
        mk = e.integers(0, 3, mal.size)
        mp = e.integers(1, 8, mal.size)
        new = [v[:p] + v[p + 1:] if k == 0 else v[:p] + v[p] + v[p:] if k == 1 else v.replace("0", "O", 1)
               if "0" in v else v[:-1] for v, k, p in zip(vals, mk, mp)]
        mask = np.zeros(n_ref, bool)
        mask[mal] = True
        id_str = pc.replace_with_mask(id_str, pa.array(mask), pa.array(new))
    sci = id_pick == 3
    lz = id_pick == 4
    if sci.any():
        mant = raw_num[sci] / 10.0 ** np.floor(np.log10(np.maximum(raw_num[sci], 1)))
        expo = np.floor(np.log10(np.maximum(raw_num[sci], 1))).astype(np.int64)
        txt = [f"{m_:.5f}".rstrip("0").rstrip(".") + f"E+{x_:02d}" for m_, x_ in zip(mant, expo)]
        id_str = pc.replace_with_mask(id_str, pa.array(sci), pa.array(txt))
    id_str = pc.if_else(pa.array(lz), as_str(raw_num), id_str)
    return id_str, {"id_missing": id_pick == 0, "id_malformed": id_pick == 1, "id_digit_error": dig,
                    "id_excel_scientific": sci, "id_leading_zero_lost": lz, "id_of_relative": relative,
                    "id_other_document": other_doc}


def phone_errors(phone: np.ndarray, rp: np.ndarray, b: np.ndarray, rates: ErrorRates,
                  e: np.random.Generator) -> tuple[pa.Array, dict[str, np.ndarray]]:
    """Phones as recorded (one error at most per record; second records draw their own) and masks."""
    n_ref = rp.size
    ph = phone[rp].copy()
    has_ph = ph >= 0
    ph_kinds = ["phone_missing", "phone_old_11_digit", "phone_country_code", "phone_malformed"]
    cdf = np.cumsum([getattr(rates, k) for k in ph_kinds])
    uu = e.random(n_ref)
    ph_pick = np.where(has_ph & ~b & (uu < cdf[-1]), np.searchsorted(cdf, uu, side="right"), -1)
    other_ph = pick(b & has_ph, rates.dup_phone_other, e)
    dmiss_ph = pick(b & has_ph & ~other_ph, rates.dup_phone_missing, e)
    ph_pick = np.where(dmiss_ph, 0, ph_pick)
    prefixes = np.array([int(p) for p in PHONE_PREFIXES])
    fresh = prefixes[e.choice(len(prefixes), n_ref, p=probs(list(PHONE_PREFIXES.values())))] * 10 ** 7 \
        + e.integers(0, 10 ** 7, n_ref)
    ph = np.where(other_ph, fresh, ph)
    mig = refdata.phone_migration()
    new_to_old = {int(n): o for n, o in zip(mig["new_prefix"], mig["old_prefix"])}
    pre3 = ph // 10 ** 7
    migratable = np.isin(pre3, list(new_to_old))
    ph_pick = np.where((ph_pick == 1) & ~migratable, -1, ph_pick)
    ph_str = phone_strings(np.where(ph_pick == 0, -1, ph))
    old = ph_pick == 1
    if old.any():
        old_pre = np.array([new_to_old.get(int(p), "") for p in pre3[old]])
        old_txt = join(pa.array(old_pre), zero_pad(ph[old] % 10 ** 7, 7))
        ph_str = pc.replace_with_mask(ph_str, pa.array(old), old_txt)
    cc = ph_pick == 2
    if cc.any():
        style = e.integers(0, 3, int(cc.sum()))
        pre = pa.array(np.array(["+84", "84", "+84 "])[style])
        ph_str = pc.replace_with_mask(ph_str, pa.array(cc), join(pre, as_str(ph[cc])))
    mf = ph_pick == 3
    if mf.any():
        ph_str = pc.replace_with_mask(ph_str, pa.array(mf), pc.utf8_slice_codeunits(zero_pad(ph[mf], 10), 0, 9))
    return ph_str, {"phone_missing": ph_pick == 0, "phone_old_11_digit": old, "phone_country_code": cc,
                    "phone_malformed": mf, "phone_other": other_ph}



@dataclass
class RecordFields:
    """The identity fields of each person record as typed on the platform (``person_ref`` order).

    Attributes:
        name: full name as recorded.
        gender: "Nam" / "Nữ" as recorded.
        birth: birth date as recorded (days since epoch).
        id_number: ID as recorded (null if none).
        phone: phone as recorded (null if none).
        has_id: whether the person holds an ID (whatever the record shows).
    """

    name: pa.Array
    gender: pa.Array
    birth: np.ndarray
    id_number: pa.Array
    phone: pa.Array
    has_id: np.ndarray


def record_errors(pop: Population, rp: np.ndarray, second: np.ndarray, rates: ErrorRates,
                  rng: np.random.Generator, rng_str: np.random.Generator
                  ) -> tuple[RecordFields, dict[str, np.ndarray]]:
    """The fields of the records ``rp`` (person index of each record) as typed, and the mask of
    each error kind injected; ``second`` marks the second records of duplicate persons.

    Draws from ``rng`` in this order: names, gender, birth date, ID, phone; the name strings'
    own slips from ``rng_str``.
    """
    P = pop.P
    e = rng
    b = second
    masks: dict[str, np.ndarray] = {}
    # names: one variant at most per record
    ref_name, name_masks = name_errors(pop.names, rp, b, rates, e, rng_str)
    masks.update(name_masks)

    # gender
    gw = pick(~b, rates.gender_wrong, e) | pick(b, rates.dup_gender_wrong, e)
    female_r = P["female"][rp]
    masks["gender_wrong"] = gw
    ref_gender = pc.if_else(pa.array(female_r ^ gw), "Nữ", "Nam")

    # birth date: day/month swap (only when it gives another valid date)
    birth_r = P["birth"][rp]
    by, bm, bd = ymd(birth_r)
    swappable = (bd <= 12) & (bd != bm)
    bswap = swappable & (pick(~b, rates.birth_date_swapped, e) | pick(b, rates.dup_birth_date_swapped, e))
    masks["birth_date_swapped"] = bswap
    ref_birth = np.where(bswap, to_days(by, bd, bm), birth_r)

    # IDs
    has_id = pop.id_kind[rp] > 0
    id_str, id_masks = id_errors(P, rp, pop.id_kind, pop.id_num, pop.spare_cmnd, b, rates, e)
    masks.update(id_masks)

    # phones
    ph_str, phone_masks = phone_errors(pop.phone, rp, b, rates, e)
    masks.update(phone_masks)
    return RecordFields(name=ref_name, gender=ref_gender, birth=ref_birth, id_number=id_str,
                        phone=ph_str, has_id=has_id), masks


# --------------------------------------------------------------------------------------------
# Dose rows: dose number, dose date, vaccine name
# --------------------------------------------------------------------------------------------

def dose_numbers(row_ref: np.ndarray, row_pos: np.ndarray, rank_in_ref: np.ndarray, second: np.ndarray,
                 rates: ErrorRates, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Dose number (mũi) of each platform row as entered, and the masks of its errors.

    The true position, except: second records sometimes renumber from 1 (``rank_in_ref`` is the
    row's rank within its record), a number entered one off, the numbers of two consecutive rows
    of one record swapped. ``row_ref`` is the record of each row, in record order.

    >>> no, m = dose_numbers(np.array([0, 0]), np.array([0, 1]), np.array([0, 1]), np.array([False]),
    ...                      ErrorRates(dose_number_wrong=0.0, doses_out_of_order=0.0), np.random.default_rng(0))
    >>> no.tolist(), m["dose_number_wrong"].tolist()
    ([1, 2], [False, False])
    """
    n_ref = second.size
    n_plat = row_ref.size
    ref_is_b = second
    # dose number as entered: true position; second records sometimes renumber from 1
    renumber = ref_is_b & (rng.random(n_ref) < 0.4)
    entered_no = np.where(renumber[row_ref], rank_in_ref + 1, row_pos + 1)
    wrong = pick(np.ones(n_plat, bool), rates.dose_number_wrong, rng)
    entered_no = np.where(wrong, np.where(entered_no > 1, entered_no - 1, entered_no + 1), entered_no)
    # out of order: swap the numbers of two consecutive rows of one record
    nxt_same = np.zeros(n_plat, bool)
    nxt_same[:-1] = row_ref[1:] == row_ref[:-1]
    ooo = np.flatnonzero(pick(nxt_same & ~wrong, rates.doses_out_of_order, rng))
    ooo = ooo[np.concatenate([[True], np.diff(ooo) > 1])] if ooo.size else ooo
    a_, b_ = entered_no[ooo].copy(), entered_no[ooo + 1].copy()
    entered_no[ooo], entered_no[ooo + 1] = b_, a_
    masks: dict[str, np.ndarray] = {}
    masks["doses_out_of_order"] = np.zeros(n_plat, bool)
    masks["doses_out_of_order"][ooo] = True
    masks["doses_out_of_order"][ooo + 1] = True
    masks["dose_number_wrong"] = (wrong | (renumber[row_ref] & (rank_in_ref + 1 != row_pos + 1))) \
        & ~masks["doses_out_of_order"]
    return entered_no, masks


def dose_date_errors(date: np.ndarray, birth: np.ndarray, rates: ErrorRates,
                     rng: np.random.Generator) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Dose date of each row as shown (one error at most per row) and the masks of the errors.

    Day and month swapped, a date after the period, a date before the person's ``birth`` (the
    year typed as the birth year - 1); an impossible date keeps its date here and is written as
    text at export.

    >>> shown, m = dose_date_errors(np.array([19000]), np.array([0]), ErrorRates(), np.random.default_rng(0))
    >>> shown.tolist(), sorted(k for k, v in m.items() if v.any())
    ([19000], [])
    """
    N = date.size
    all_date = date
    ry, rm, rd = ymd(all_date)
    dd_kinds = ["dose_date_swapped", "dose_date_impossible", "dose_date_future", "dose_date_before_birth"]
    cdf = np.cumsum([getattr(rates, k) for k in dd_kinds])
    uu = rng.random(N)
    dd_pick = np.where(uu < cdf[-1], np.searchsorted(cdf, uu, side="right"), -1)
    dd_pick = np.where((dd_pick == 0) & ~((rd <= 12) & (rd != rm)), -1, dd_pick)
    shown_date = all_date.copy()
    shown_date = np.where(dd_pick == 0, to_days(ry, rd, rm), shown_date)
    fut = all_date + 365
    fut = np.where(fut <= int(PERIOD_END.astype(np.int64)), fut + 365, fut)
    shown_date = np.where(dd_pick == 2, fut, shown_date)
    bb_y = ymd(birth)[0] - 1
    bb = to_days(bb_y, rm, np.minimum(rd, 28))
    shown_date = np.where(dd_pick == 3, bb, shown_date)
    return shown_date, {k: dd_pick == i for i, k in enumerate(dd_kinds)}


def vaccine_aliases(vax: np.ndarray, kid_row: np.ndarray, names: VaccineNames, rates: ErrorRates,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """String of each row's vaccine (an index into ``names.table``) and the mask of the rows
    written with an alias; rows of children's Pfizer (``kid_row``) take an alias 5 times as often.

    >>> from vaxreport.synth.doses import vaccine_names
    >>> code, alias = vaccine_aliases(np.array([0]), np.array([False]), vaccine_names(),
    ...                               ErrorRates(vaccine_alias=0.0), np.random.default_rng(0))
    >>> code.tolist(), alias.tolist()
    ([0], [False])
    """
    N = vax.size
    n_alias = names.n_alias
    vrow = np.where(kid_row, len(VAX), vax)
    alias = pick(np.ones(N, bool), rates.vaccine_alias * np.where(kid_row, 5.0, 1.0), rng) \
        & (n_alias[vrow] > 0)
    alias_j = np.where(alias, 1 + (rng.random(N) * n_alias[vrow]).astype(np.int64), 0)
    return vrow * names.width + alias_j, alias


# --------------------------------------------------------------------------------------------
# Error kinds in the truth
# --------------------------------------------------------------------------------------------

def error_codes(err_row: dict[str, np.ndarray], err_ref: dict[str, np.ndarray],
                 row_ref: np.ndarray, n: int) -> np.ndarray:
    """Bit mask of error kinds per row (bit i = ``list(ERROR_KINDS)[i]``)."""
    code = np.zeros(n, np.int64)
    for bit, kind in enumerate(ERROR_KINDS):
        mask = np.zeros(n, bool)
        if kind in err_ref:
            mask |= err_ref[kind][row_ref]
        if kind in err_row:
            mask |= err_row[kind]
        code |= mask.astype(np.int64) << bit
    return code


def error_text(code: np.ndarray) -> pa.Array:
    """``;``-joined error kinds (vocabulary order) of bit masks, "" if none."""
    uniq, inv = np.unique(code, return_inverse=True)
    kinds = list(ERROR_KINDS)
    text = [";".join(k for b, k in enumerate(kinds) if (int(u) >> b) & 1) for u in uniq]
    return pa.array(text, pa.string()).take(pa.array(inv.ravel()))
