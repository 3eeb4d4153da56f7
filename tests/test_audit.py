"""Tests of ``vaxreport.cleansing.audit``: the contract of ``clean_doses`` and ``run_steps``, and its properties."""

from __future__ import annotations

import datetime as dt
import unicodedata

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vaxreport.cleansing.audit import STEPS, CleanParams, Step, clean_doses, run_steps
from vaxreport.exceptions import SchemaViolation
from vaxreport.schemas import AUDIT_COLUMNS, CLEAN_DOSES, DOSES

AS_OF = dt.date(2022, 5, 31)
PARAMS = CleanParams(as_of=AS_OF)


def _raw(**over: list[object]) -> pd.DataFrame:
    n = len(next(iter(over.values()))) if over else 1
    base: dict[str, list[object]] = {
        "record_id": [f"r{i}" for i in range(n)], "person_ref": ["p1"] * n,
        "full_name": ["Nguyễn Văn An"] * n, "birth_date": ["01/02/1980"] * n,
        "gender": ["Nam"] * n, "id_number": ["019080000123"] * n, "phone": ["0912345678"] * n,
        "district_code": ["164"] * n, "commune_code": ["05443"] * n,
        "vaccine": ["AstraZeneca"] * n, "dose_number": ["1"] * n,
        "dose_date": ["15/06/2021"] * n, "site_code": ["0544301"] * n,
        "sign_status": ["signed"] * n,
    }
    base.update(over)
    return pd.DataFrame(base).astype("str")


def test_clean_doses_contract() -> None:
    raw = _raw(dose_date=["15/06/2021", "31/02/2022", "", "44470"],
               vaccine=["AstraZeneca", "Pfizer", "Pfizer", "Sinovac"])
    res = clean_doses(raw, params=PARAMS)
    assert tuple(res.data.columns) == CLEAN_DOSES
    assert tuple(res.audit.columns) == AUDIT_COLUMNS
    assert res.quarantine[["record_id", "reason"]].values.tolist() == [
        ["r1", "impossible_dose_date"], ["r2", "no_dose_date"], ["r3", "unknown_vaccine"]]
    assert list(res.quarantine.columns) == [*raw.columns, "reason"]
    d = res.data
    assert str(d["dose_date"].dtype) == "datetime64[ns]" and str(d["birth_date"].dtype) == "datetime64[ns]"
    assert str(d["dose_number"].dtype) == "Int64"
    assert d["id_valid"].dtype == bool and d["phone_valid"].dtype == bool
    assert d["vaccine_code"].tolist() == ["AZ"]
    assert res.log["step"].tolist() == [s.name for s in STEPS]


def test_audit_rows_name_column_rule_and_step() -> None:
    raw = _raw(phone=["+84 912 345 678"], gender=["nu"])
    audit = clean_doses(raw, params=PARAMS).audit.set_index("column")
    assert audit.loc["phone", ["old", "new", "rule", "step"]].tolist() == [
        "+84 912 345 678", "0912345678", "phone_country_code", "standardise_phones"]
    assert audit.loc["gender", "new"] == "F"


def test_retyping_plain_values_is_not_a_change() -> None:
    res = clean_doses(_raw(), params=PARAMS)
    assert res.audit.empty and res.quarantine.empty


def test_missing_required_columns_raise_one_error_naming_all() -> None:
    raw = _raw().drop(columns=["dose_date", "vaccine"])
    with pytest.raises(SchemaViolation, match="vaccine, dose_date"):
        clean_doses(raw, params=PARAMS)


def test_run_steps_custom_step_audited_with_step_name() -> None:
    def upper_site(df: pd.DataFrame, params: CleanParams) -> pd.DataFrame:
        return df.assign(site_code=df["site_code"].str.upper())

    res = run_steps(pd.DataFrame({"record_id": ["a", "b"], "site_code": ["x1", "X2"]}),
                    [Step("upper_site", upper_site, ("site_code",))], PARAMS)
    assert res.audit.values.tolist() == [["a", "site_code", "x1", "X1", "upper_site", "upper_site"]]


# ----------------------------------------------------------------------------- properties
_VALUES = {
    "full_name": ["Nguyễn Văn An", "  nguyễn  văn an", "NGUYỄN THỊ HOÀ", "NguyÔn V¨n An",
                  unicodedata.normalize("NFD", "Lê Thị Thuỷ"), "Lê Thị Vâ", "", "Đỗ Đức"],
    "birth_date": ["01/02/1980", "1/2/80", "1980-02-01", "31/02/1990", "29091", "", "abc",
                   "13/25/1990", "-315619200000", "1985"],
    "gender": ["Nam", "Nữ", "nu", "1", "2", "male", "", "x"],
    "id_number": ["019080000123", "19080000123", "1.9E+11", "019.080.000.123", "090123456", "",
                  "O19080000123", "abc", "000000000000", "91122667"],
    "phone": ["0912345678", "+84 912 345 678", "01686123456", "912345678", "123", "",
              "0912345678 / 0987654321"],
    "district_code": ["164", "171", "999", "164.0"],
    "commune_code": ["05443", "5443", "Phường Hoàng Văn Thụ", "x"],
    "vaccine": ["AstraZeneca", "Astra Zeneca", "Pfzer", "Sinovac", "", "Vero Cell"],
    "dose_number": ["1", "Mũi 2", "nhắc lại", "2.0", "?", ""],
    "dose_date": ["15/06/2021", "03/15/2022", "44470", "31/02/2022", "", "2022-03-15", "1/1/21",
                  "15/06/2025"],
    "entered_at": ["15/06/2021 08:00:00", "2021-06-15T01:00:00Z", "", "junk"],
}


@st.composite
def raw_frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(min_value=1, max_value=12))
    cols = {c: draw(st.lists(st.sampled_from(v), min_size=n, max_size=n))
            for c, v in _VALUES.items()}
    cols["record_id"] = [f"r{i}" for i in range(n)]
    cols["person_ref"] = draw(st.lists(st.sampled_from(["p1", "p2", "p3"]), min_size=n, max_size=n))
    cols["site_code"] = ["S1"] * n
    cols["sign_status"] = ["signed"] * n
    return pd.DataFrame(cols).astype("str").replace({"": None})


def _check_properties(raw: pd.DataFrame) -> None:
    before = raw.copy(deep=True)
    res = clean_doses(raw, params=PARAMS)
    pd.testing.assert_frame_equal(raw, before)  # input not mutated
    assert len(raw) == len(res.data) + len(res.quarantine)  # conservation
    assert set(res.data["record_id"]).isdisjoint(res.quarantine["record_id"])
    names = res.data["full_name"].dropna()
    assert all(unicodedata.is_normalized("NFC", s) for s in names)
    assert res.data["phone"].dropna().str.fullmatch(r"0[0-9]{9}").all()
    assert res.data["id_number"].dropna().str.fullmatch(r"[0-9]+").all()
    again = clean_doses(res.data, params=PARAMS)  # idempotent
    assert again.audit.empty, again.audit
    assert again.quarantine.empty
    pd.testing.assert_frame_equal(again.data, res.data)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw_frames())
def test_properties_conservation_idempotence_nfc_no_mutation(raw: pd.DataFrame) -> None:
    _check_properties(raw)


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw_frames())
def test_properties_many_examples(raw: pd.DataFrame) -> None:
    _check_properties(raw)


def test_schema_required_columns_are_cleaned() -> None:
    assert set(DOSES.required) <= set(CLEAN_DOSES)
