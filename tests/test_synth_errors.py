"""Unit tests of the synthesiser's error injection (``vaxreport.synth.errors``) and of the
platform's verification status that follows the errors (``vaxreport.synth.records``)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from vaxreport.synth import errors, records
from vaxreport.synth.arrays import ymd
from vaxreport.synth.doses import AZ, PFIZER, VAX, vaccine_names
from vaxreport.synth.seed import PERIOD_END

NONE = errors.ErrorRates(**{f.name: 0.0 for f in dataclasses.fields(errors.ErrorRates)})
DAY = int(np.datetime64("2021-09-07").astype(np.int64))  # 7/9: day and month can be swapped
BIRTH = int(np.datetime64("1980-01-20").astype(np.int64))


def _only(kind: str) -> errors.ErrorRates:
    return dataclasses.replace(NONE, **{kind: 1.0})


@pytest.mark.parametrize("kind", ["dose_date_swapped", "dose_date_impossible", "dose_date_future",
                                  "dose_date_before_birth"])
def test_dose_date_errors_one_kind(kind: str) -> None:
    shown, masks = errors.dose_date_errors(np.full(5, DAY), np.full(5, BIRTH), _only(kind),
                                           np.random.default_rng(0))
    assert masks[kind].all() and not any(m.any() for k, m in masks.items() if k != kind)
    if kind == "dose_date_swapped":
        assert [int(x[0]) for x in ymd(shown)] == [2021, 7, 9]
    elif kind == "dose_date_impossible":  # written as text at export: the date itself is kept
        assert (shown == DAY).all()
    elif kind == "dose_date_future":
        assert (shown > int(PERIOD_END.astype(np.int64))).all()
    else:
        assert (shown < BIRTH).all()


def test_dose_date_not_swapped_when_day_above_12() -> None:
    day = int(np.datetime64("2021-09-20").astype(np.int64))
    shown, masks = errors.dose_date_errors(np.array([day]), np.array([BIRTH]), _only("dose_date_swapped"),
                                           np.random.default_rng(0))
    assert shown.tolist() == [day] and not masks["dose_date_swapped"].any()


def test_dose_numbers_out_of_order_swaps_two_rows_of_one_record() -> None:
    ref = np.array([0, 0, 0, 1])
    pos = np.array([0, 1, 2, 0])
    no, masks = errors.dose_numbers(ref, pos, pos, np.zeros(2, bool), _only("doses_out_of_order"),
                                    np.random.default_rng(0))
    assert sorted(no[:3].tolist()) == [1, 2, 3] and no[:3].tolist() != [1, 2, 3]
    assert masks["doses_out_of_order"].sum() == 2 and not masks["doses_out_of_order"][3]
    assert not masks["dose_number_wrong"].any()


def test_vaccine_aliases_only_where_an_alias_exists() -> None:
    names = vaccine_names()
    vax = np.array([AZ, PFIZER, PFIZER])
    code, alias = errors.vaccine_aliases(vax, np.array([False, False, True]), names, _only("vaccine_alias"),
                                         np.random.default_rng(0))
    assert alias.tolist() == [n > 0 for n in names.n_alias[[AZ, PFIZER, len(VAX)]]]
    written = names.table.take(code).to_pylist()
    assert written[0] != names.canon[AZ].as_py() and written[2] != names.canon[PFIZER].as_py()


def test_error_codes_and_text_round_trip() -> None:
    n = 3
    row = {"dose_duplicate": np.array([True, False, False])}
    ref = {"name_typo": np.array([False, True]), "duplicate_person": np.array([True, False])}
    code = errors.error_codes(row, ref, np.array([0, 1, 1]), n)
    text = errors.error_text(code).to_pylist()
    assert text == ["duplicate_person;dose_duplicate", "name_typo", "name_typo"]


#: record errors and the status the platform's check against CSDLQG returned (VERIFY_STATUSES)
VERIFY_CASES = {
    "clean record with an ID": ({}, True, "verified"),
    "no ID": ({}, False, "no_id"),
    "ID missing on the record": ({"id_missing": True}, True, "no_id"),
    "name in capitals still verifies": ({"name_case_spacing": True}, True, "verified"),
    "name stored NFD still verifies": ({"name_nfd": True}, True, "verified"),
    "Excel scientific ID still verifies": ({"id_excel_scientific": True}, True, "verified"),
    "name typo": ({"name_typo": True}, True, "mismatch"),
    "birth day and month swapped": ({"birth_date_swapped": True}, True, "mismatch"),
    "child with a parent's ID": ({"id_of_relative": True}, False, "mismatch"),
}


@pytest.mark.parametrize("case", list(VERIFY_CASES))
def test_verify_status(case: str) -> None:
    errs, has_id, want = VERIFY_CASES[case]
    err = {k: np.full(50, errs.get(k, False)) for k in errors.ERROR_KINDS}
    status = records.verify_status(err, np.full(50, has_id), np.random.default_rng(3))
    got = [records.VERIFY_STATUSES[s] for s in status]
    # a clean record is occasionally left unchecked or mismatched by the platform itself (1.2 %)
    assert got.count(want) >= 45, (case, got)
