"""Tests of ``vaxreport.linkage.compare``: the one-edit test on digit strings, agreement levels."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from vaxreport.linkage import LEVELS
from vaxreport.linkage.compare import compare_pairs, one_edit
from vaxreport.linkage.prepare import prepare_fields


@given(st.lists(st.tuples(st.integers(0, 10**12 - 1), st.integers(0, 11),
                          st.sampled_from(["sub", "swap", "two", "same"]), st.integers(0, 9)),
                min_size=1, max_size=50))
def test_one_edit_matches_string_definition(cases: list[tuple[int, int, str, int]]) -> None:
    xs, ys, expect = [], [], []
    for value, pos, kind, digit in cases:
        s = list(f"{value:012d}")
        t = s.copy()
        if kind == "sub":
            t[pos] = str(digit)
        elif kind == "swap" and pos < 11:
            t[pos], t[pos + 1] = t[pos + 1], t[pos]
        elif kind == "two":
            t[pos] = str(digit)
            t[(pos + 5) % 12] = str((int(t[(pos + 5) % 12]) + 1) % 10)
        diff = [k for k in range(12) if s[k] != t[k]]
        ok = len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                and s[diff[0]] == t[diff[1]] and s[diff[1]] == t[diff[0]])
        xs.append(int("".join(s)))
        ys.append(int("".join(t)))
        expect.append(ok)
    assert one_edit(np.array(xs), np.array(ys)).tolist() == expect


def test_levels_of_labelled_differences() -> None:
    df = pd.DataFrame({
        "full_name": ["Nguyễn Văn Hùng", "Nguyen Van Hung", "Nguyễn Văn Hùg", "Nguyễn Văn Dũng", None,
                      "Nguyễn Văn Hưng"],
        "birth_date": ["12/03/1985", "03/12/1985", "12/03/1986", "1985", "12/03/1985", None],
        "id_number": ["019085001234", "019085002134", "090123456", None, "019085001284", None],
        "phone": ["0912345678", "0912345679", None, "0912345678", "0387654321", None],
    })
    prep = prepare_fields(df)
    lv = compare_pairs(prep, np.zeros(5, np.int64), np.arange(1, 6))
    named = {k: [LEVELS[k][x] for x in v] for k, v in lv.items()}
    assert named["birth_date"] == ["day_month_swapped", "one_digit", "same_year", "exact", "missing"]
    assert named["id_number"] == ["one_edit", "missing", "missing", "one_edit", "missing"]
    assert named["phone"] == ["one_digit", "missing", "exact", "different", "missing"]
    # no marks on one side is not a difference; other marks on both sides are
    assert named["given"] == ["exact", "typo", "another_name", "missing", "accent_differs"]


def test_dose_levels_of_labelled_histories() -> None:
    """One labelled pair of dose histories per level; a dose date typo within the minimum gap
    reads "too close"; order and repeated entries of one day do not matter."""
    first = "2021-08-01#1 2021-09-01#2"
    others = {
        "sequential": "2022-01-10#3",              # moved: the second record takes dose 3
        "renumbered": "2022-01-10#1 2022-06-01#2",  # … and numbers it from 1 again
        "same_date": "2021-09-01#2",               # one dose entered on both records
        "too_close": "2021-08-09#1 2021-09-10#2",  # two people vaccinated in one campaign
        "interleaved": "2021-08-16#1 2021-09-20#2",
        "missing": None,
    }
    hist = [first, *others.values(), "2021-09-01#2 2021-08-01#1 2021-08-01#1"]
    prep = prepare_fields(pd.DataFrame({"doses": hist}))
    n = len(others)
    lv = compare_pairs(prep, np.zeros(n + 1, np.int64), np.arange(1, n + 2))["doses"]
    assert [LEVELS["doses"][k] for k in lv] == [*others, "same_date"]
    # symmetric
    back = compare_pairs(prep, np.arange(1, n + 2), np.zeros(n + 1, np.int64))["doses"]
    assert back.tolist() == lv.tolist()


def test_commune_levels_district_and_successor() -> None:
    """Two communes of one district are "same_district", of two districts "different"; a
    commune code retired by a merger compares as its successor; a value that is not a GSO code
    has no district."""
    from vaxreport import refdata

    tn = refdata.admin_units("19")
    city = tn.loc[tn.district_code == "164", "commune_code"].tolist()
    other = tn.loc[tn.district_code != "164", "commune_code"].iloc[0]
    prep = prepare_fields(pd.DataFrame({"commune_code": [city[0], city[1], other, "11353", "11344",
                                                         "Xã A", "Xã B"]}))
    lv = compare_pairs(prep, np.array([0, 0, 3, 5]), np.array([1, 2, 4, 6]))["commune"]
    assert [LEVELS["commune"][k] for k in lv] == ["same_district", "different", "same", "different"]
