"""Tests of ``vaxreport.cleansing.parse``: gender, dose numbers, vaccines, and what every column parser promises.

The labelled one-value cases of the date, ID and phone parsers are in ``test_dates.py``,
``test_ids.py`` and ``test_phones.py``; the steps that use the parsers in ``test_steps.py``.
"""

from __future__ import annotations

import pandas as pd
import pytest

from vaxreport import refdata
from vaxreport.cleansing import parse

# ----------------------------------------------------------------------------- every parser
PARSERS = {
    "dates": (parse.parse_dates, ["15/03/2022", "03/15/2022", "x", None, "44635"]),
    "ids": (parse.parse_ids, ["019080000123", "019 080 000 123", "1.9E+11", None, "19080000123"]),
    "phones": (parse.parse_phones, ["0912345678", "+84 912 345 678", "123", None, "01686123456"]),
    "gender": (parse.parse_gender, ["Nam", "nữ", "khác", None, "2"]),
    "dose numbers": (parse.parse_dose_numbers, ["Mũi 1", "2", "?", None, "Mũi nhắc lại lần 1"]),
    "vaccines": (parse.parse_vaccines, ["Pfizer", "astra zeneca", "Sinovac", None, "Moderma"]),
}


@pytest.mark.parametrize("name", list(PARSERS))
def test_parsers_align_to_the_input_index_and_do_not_mutate_it(name: str) -> None:
    func, values = PARSERS[name]
    index = pd.Index([40, 7, 13, 2, 99], name="row")
    raw = pd.Series(values, index=index, dtype="str")
    before = raw.copy()
    out = func(raw)
    pd.testing.assert_series_equal(raw, before)
    assert out.index.equals(index)
    # each row's result is the result of parsing that value alone
    for label, v in raw.items():
        alone = func(pd.Series([v], dtype="str")).iloc[0]
        got = out.loc[label]
        for col in out.columns:
            assert (pd.isna(got[col]) and pd.isna(alone[col])) or got[col] == alone[col], (name, v, col)


# ----------------------------------------------------------------------------- gender, dose numbers
@pytest.mark.parametrize("raw,expected", [
    ("NAM", "M"), ("nam", "M"), (" Nam ", "M"), ("Nam giới", "M"), ("NỮ", "F"), ("Nu", "F"),
    ("nữ giới", "F"), ("1.0", "M"), ("2", "F"), ("F", "F"), ("m", "M"), ("Không rõ", None),
])
def test_gender_ignores_case_diacritics_and_spacing(raw: str, expected: str | None) -> None:
    out = parse.parse_gender(pd.Series([raw])).iloc[0]
    assert (pd.isna(out["value"]) if expected is None else out["value"] == expected)


@pytest.mark.parametrize("k", range(1, 10))
def test_dose_numbers_in_words_and_digits(k: int) -> None:
    raw = pd.Series([str(k), f"Mũi {k}", f"mũi thứ {k}", f"{k}.0", f"Mũi {k} (nhắc lại)"])
    assert parse.parse_dose_numbers(raw)["value"].tolist() == [k] * 5


@pytest.mark.parametrize("k", range(1, 8))
def test_booster_k_is_dose_two_plus_k(k: int) -> None:
    raw = pd.Series([f"Mũi nhắc lại lần {k}", f"mũi tăng cường lần {k}"])
    out = parse.parse_dose_numbers(raw)
    assert out["value"].tolist() == [2 + k] * 2 and set(out["rule"]) == {"dose_number_booster"}


def test_integer_dose_numbers_are_kept_as_they_are() -> None:
    out = parse.parse_dose_numbers(pd.Series([1, 2, 3], dtype="Int64"))
    assert out["value"].tolist() == [1, 2, 3] and out["rule"].isna().all()


def test_dose_numbers_out_of_range_are_unknown() -> None:
    out = parse.parse_dose_numbers(pd.Series(["0", "10", "-1", "Mũi 12"]))
    assert out["value"].isna().all() and set(out["rule"]) == {"dose_number_unknown"}


# ----------------------------------------------------------------------------- vaccines
def test_every_vaccine_name_code_and_alias_maps_to_its_product() -> None:
    t = refdata.vaccines()
    rows = [(raw, name, code) for code, name, aliases in zip(t["vaccine_code"], t["canonical_name"], t["aliases"],
                                                             strict=True)
            for raw in [name, code, *[a for a in aliases.split("|") if a]]]
    out = parse.parse_vaccines(pd.Series([r[0] for r in rows]))
    assert out["value"].tolist() == [r[1] for r in rows]
    assert out["code"].tolist() == [r[2] for r in rows]
    names = set(t["canonical_name"])
    assert [pd.isna(rule) for rule in out["rule"]] == [r[0] in names for r in rows]  # names are silent


def test_vaccine_matching_ignores_case_and_diacritics() -> None:
    name = refdata.vaccines()["canonical_name"].iloc[0]
    out = parse.parse_vaccines(pd.Series([name.upper(), f"  {name.lower()}  ", f"Vắc xin {name}"]))
    assert out["value"].tolist() == [name] * 3


@pytest.mark.parametrize("raw,expected,rule", [
    ("AstraZeneca", "AstraZeneca", None), ("Astra Zeneca", "AstraZeneca", "vaccine_alias"),
    ("ASTRAZENECA", "AstraZeneca", "vaccine_alias"), ("Vaxzevria", "AstraZeneca", "vaccine_alias"),
    ("Covishield", "AstraZeneca", "vaccine_alias"), ("Comirnaty", "Pfizer", "vaccine_alias"),
    ("Pfizer-BioNTech", "Pfizer", "vaccine_alias"), ("Pfizer trẻ em", "Pfizer", "vaccine_alias"),
    ("Sinopharm", "Vero Cell", "vaccine_alias"), ("VeroCell", "Vero Cell", "vaccine_alias"),
    ("Vắc xin phòng COVID-19 Vero Cell", "Vero Cell", "vaccine_alias"),
    ("Spikevax", "Moderna", "vaccine_alias"), ("Moderna (nửa liều)", "Moderna", "vaccine_contains"),
    ("J&J", "Janssen", "vaccine_alias"), ("Gam-COVID-Vac", "Sputnik V", "vaccine_alias"),
    ("Hayat Vax", "Hayat-Vax", "vaccine_alias"), ("Abdala", "Abdala", None),
    ("Pfzer", "Pfizer", "vaccine_fuzzy"), ("Modena", "Moderna", "vaccine_fuzzy"),
    ("Sinovac", None, "vaccine_unknown"), ("Vắc xin", None, "vaccine_unknown"),
    ("", None, "vaccine_missing"),
])
def test_vaccine_cases(raw: str, expected: str | None, rule: str | None) -> None:
    out = parse.parse_vaccines(pd.Series([raw])).iloc[0]
    assert (pd.isna(out["value"]) if expected is None else out["value"] == expected)
    assert (pd.isna(out["rule"]) if rule is None else out["rule"] == rule)


LEGACY_CATEGORIES = {  # raw → (gender code or dose number, rule)
    "gender: Nữ in TCVN3": ("gender", "N÷", ("F", "gender_legacy_text")),
    "gender: Nữ in VNI": ("gender", "Nöõ", ("F", "gender_legacy_text")),
    "gender: NỮ in VNI capitals": ("gender", "NÖÕ", ("F", "gender_legacy_text")),
    "dose: Mũi 2 in TCVN3": ("dose", "Mòi 2", (2, "dose_number_legacy_text")),
    "dose: Mũi 3 in VNI": ("dose", "Muõi 3", (3, "dose_number_legacy_text")),
}


@pytest.mark.parametrize("case", list(LEGACY_CATEGORIES))
def test_legacy_text_in_categorical_fields(case: str) -> None:
    field, raw, expected = LEGACY_CATEGORIES[case]
    parser = parse.parse_gender if field == "gender" else parse.parse_dose_numbers
    r = parser(pd.Series([raw]))
    assert (r["value"].iloc[0], r["rule"].iloc[0]) == expected
