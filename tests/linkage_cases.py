"""Labelled person records shared by the linkage tests (``test_cluster``, ``test_explain``,
``test_threads`` …): one person (``BASE``), the same person despite data-entry errors
(``SAME_PERSON``), different people of one household (``DIFFERENT_PEOPLE``), background people
so that value frequencies look like a real table, and mixed clusters for the survivor rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from vaxreport import linkage

BASE = {"full_name": "Nguyễn Văn Hùng", "birth_date": "12/03/1985", "gender": "M",
        "id_number": "019085001234", "phone": "0912345678", "commune_code": "05443",
        "address": "Xóm 3, xã Tân Cương"}

# Background people so that value frequencies look like a real table.
_SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô"]
_GIVEN = ["An", "Bình", "Cường", "Dũng", "Giang", "Hải", "Khánh", "Long", "Minh", "Nam",
          "Oanh", "Phúc", "Quang", "Sơn", "Tâm", "Uyên", "Vinh", "Xuân", "Yến", "Lan"]


def background(n: int = 60, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n):
        rows.append({
            "full_name": f"{_SURNAMES[k % 10]} {'Thị' if k % 2 else 'Văn'} {_GIVEN[k % 20]}",
            "birth_date": f"{1 + k % 28:02d}/{1 + k % 12:02d}/{1950 + k % 60}",
            "gender": "F" if k % 2 else "M",
            "id_number": f"0191{50 + k % 50:02d}{rng.integers(0, 10**6):06d}",
            "phone": f"09{rng.integers(0, 10**8):08d}",
            "commune_code": f"05{400 + k % 30}",
            "address": f"Xóm {k % 9}, xã {k % 30}",
        })
    return pd.DataFrame(rows)


def same(a: dict, b: dict) -> bool:
    """Are ``a`` and ``b`` one cluster among the background people?"""
    df = pd.concat([background(), pd.DataFrame([a, b])], ignore_index=True)
    labels = linkage.cluster_persons(df)
    return bool(labels.iloc[-1] == labels.iloc[-2])


def variant(**changes: object) -> dict:
    return {**BASE, **changes}


SAME_PERSON = {
    "no diacritics, new phone": variant(full_name="Nguyen Van Hung", phone="0387654321"),
    "typo in given name, same ID": variant(full_name="Nguyễn Văn Hùg"),
    "swapped day/month, no ID": variant(birth_date="03/12/1985", id_number=None),
    "transposed ID, no birth date": variant(id_number="019085002134", birth_date=None,
                                            full_name="NGUYEN VAN HUNG"),
    "one typo'd ID digit, moved commune": variant(id_number="019085001284",
                                                  commune_code="05500", address=None),
    "one typo'd date digit, same phone": variant(birth_date="12/03/1986", id_number=None),
    "ISO date and upper case": variant(birth_date="1985-03-12", full_name="NGUYỄN VĂN HÙNG"),
    "CMND on one record, CCCD on the other": variant(id_number="090123456"),
    "name order given-first": variant(full_name="Hùng Nguyễn Văn", id_number=None),
}

DIFFERENT_PEOPLE = {
    "child in the household": variant(full_name="Nguyễn Văn Dũng", birth_date="05/07/2012",
                                      id_number=None),
    "wife in the household": variant(full_name="Trần Thị Lan", birth_date="20/10/1987",
                                     gender="F", id_number="019187004321"),
    "twin brother": variant(full_name="Nguyễn Văn Dũng", id_number=None),
    "twin sister": variant(full_name="Nguyễn Thị Hoa", gender="F", id_number=None),
    "father with the same phone": variant(full_name="Nguyễn Văn Thành",
                                          birth_date="01/01/1955", id_number="019055009999"),
    "namesake elsewhere": variant(birth_date="30/08/1962", id_number="019062777777",
                                  phone="0977000111", commune_code="05511", address=None),
}

_NAMES = ["Nguyễn Văn An", "Nguyen Van An", "Nguyễn Văn Anh", "Trần Thị Lan", "Tran Thi Lan",
          "Lê Hoàng", None]
_DATES = ["01/02/1990", "02/01/1990", "1990-02-01", "15/08/2001", None]
_IDS = ["019090001234", "019090002134", "019201555555", None]
_PHONES = ["0912345678", "0987654321", None]

persons_strategy = st.lists(
    st.fixed_dictionaries({"full_name": st.sampled_from(_NAMES),
                           "birth_date": st.sampled_from(_DATES),
                           "id_number": st.sampled_from(_IDS),
                           "phone": st.sampled_from(_PHONES),
                           "commune_code": st.sampled_from(["05443", "05444", None])}),
    min_size=1, max_size=25)


def mixed_table(seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """Clusters of 1–4 records (mostly single), values with blanks, padding, NA, ties."""
    rng = np.random.default_rng(seed)
    names = ["Nguyễn Văn Hùng", "Nguyen Van Hung", " NGUYỄN VĂN HÙNG ", "Nguyễn Văn Hùg", "",
             None, "Trần Thị Lan", "Tran Thi Lan", "Lê Hoa", "Le Hoa  "]
    ids = ["019085001234", "19085001234", "090123456", "019085002134", " ", None, "abc"]
    phones = ["0912345678", "84912345678", "01662345678", "091234567", None, ""]
    rows, labels = [], []
    for lab in range(120):
        size = int(rng.choice([1, 1, 1, 1, 2, 3, 4]))
        for _ in range(size):
            rows.append({"full_name": names[rng.integers(len(names))],
                         "birth_date": pd.Timestamp("1985-03-12") + pd.Timedelta(
                             days=int(rng.integers(0, 3))) if rng.random() > 0.2 else pd.NaT,
                         "gender": ["M", "F", None, " M"][rng.integers(4)],
                         "id_number": ids[rng.integers(len(ids))],
                         "phone": phones[rng.integers(len(phones))],
                         "commune_code": [None, "05443", "05444"][rng.integers(3)],
                         "address": None,
                         "person_ref": f"ref{len(rows)}"})
            labels.append(lab * 10)
    df = pd.DataFrame(rows)
    df["birth_date"] = df["birth_date"].astype("datetime64[ns]")
    order = rng.permutation(len(df))
    return (df.iloc[order].set_axis([f"r{k}" for k in range(len(df))]),
            pd.Series(np.asarray(labels)[order], index=[f"r{k}" for k in range(len(df))]))


def workers_table() -> pd.DataFrame:
    """Background people, the labelled variants of one person and the mixed clusters."""
    variants = pd.DataFrame([BASE, *SAME_PERSON.values(), *DIFFERENT_PEOPLE.values()])
    mixed = mixed_table(0)[0].drop(columns="person_ref").reset_index(drop=True)
    mixed["birth_date"] = mixed["birth_date"].dt.strftime("%d/%m/%Y")
    return pd.concat([background(200, seed=3), variants, mixed], ignore_index=True)
