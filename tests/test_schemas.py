"""Tests of ``vaxreport.schemas``: header aliases and closed vocabularies of the input tables.

Real exports write headers in Vietnamese, with or without diacritics (legacy systems and CSV tools
strip them), in any case, with stray spaces, underscores, a BOM or an Excel line break; each must
still name its canonical column, and an unknown header must not name one by accident.
"""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaxreport import schemas
from vaxreport.schemas import DOSES, FEEDBACK, POPULATION, REGISTRY, SITE_TALLIES, TABLES, canonical_header, header_key

#: (header as exported, table, canonical column): one real-export spelling per row.
HEADERS = [
    ("Họ và tên", DOSES, "full_name"),
    ("HỌ VÀ TÊN", DOSES, "full_name"),
    ("Ho va ten", DOSES, "full_name"),
    ("ho  va   ten", DOSES, "full_name"),
    ("\ufeffMã bản ghi", DOSES, "record_id"),
    ("Số CMND/CCCD", DOSES, "id_number"),
    ("so cmnd/cccd", DOSES, "id_number"),
    ("SĐT", DOSES, "phone"),
    ("SDT", DOSES, "phone"),
    ("Ngày tiêm", DOSES, "dose_date"),
    ("ngay_tiem", DOSES, "dose_date"),
    ("Mũi tiêm", DOSES, "dose_number"),
    ("Mã quận/huyện", DOSES, "district_code"),
    ("Trạng thái ký số", DOSES, "sign_status"),
    ("personalPhoneNumber", DOSES, "phone"),
    ("Ngày\nsinh", DOSES, "birth_date"),  # an Excel header cell with a line break
    ("Ngày\u00a0sinh", DOSES, "birth_date"),  # non-breaking space
    ("record_id", DOSES, "record_id"),
    ("RECORD_ID", DOSES, "record_id"),
    ("Record ID", DOSES, "record_id"),
    ("  dose_date ", DOSES, "dose_date"),
    ("Số mũi đã tiêm", SITE_TALLIES, "doses_administered"),
    ("Tuần bắt đầu", SITE_TALLIES, "week_start"),
    ("Trạng thái xử lý", FEEDBACK, "status"),
    ("Kết quả xác minh", REGISTRY, "result"),
    ("Số định danh", REGISTRY, "id_number"),
    ("Nhóm tuổi", POPULATION, "age_group"),
    ("Dân số", POPULATION, "population"),
]


@pytest.mark.parametrize("header,table,expected", HEADERS, ids=[h[0].replace("\n", "\\n") for h in HEADERS])
def test_export_headers_map_to_canonical_columns(header: str, table: schemas.TableSchema, expected: str) -> None:
    assert canonical_header(header, table) == expected


@pytest.mark.parametrize("header,table", [
    ("Ghi chú", DOSES),  # a note column: kept by the loader as an extra, never a canonical column
    ("Người nhập", DOSES),
    ("Họ và tên", SITE_TALLIES),  # a column of another table
    ("Ngày tiêm", REGISTRY),
    ("", DOSES),
    ("record", DOSES),
])
def test_unknown_headers_name_no_column(header: str, table: schemas.TableSchema) -> None:
    assert canonical_header(header, table) is None


def _strip_marks(s: str) -> str:
    s = unicodedata.normalize("NFD", s).replace("đ", "d").replace("Đ", "D")
    return "".join(ch for ch in s if unicodedata.category(ch) != "Mn")


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(HEADERS), st.sampled_from(["upper", "lower", "title", "no marks", "NFD", "padded",
                                                   "underscores", "doubled spaces"]))
def test_spelling_variants_of_a_header_name_the_same_column(case: tuple, variant: str) -> None:
    header, table, expected = case
    changed = {
        "upper": header.upper(), "lower": header.lower(), "title": header.title(),
        "no marks": _strip_marks(header), "NFD": unicodedata.normalize("NFD", header),
        "padded": f"  {header}\t", "underscores": header.replace(" ", "_"),
        "doubled spaces": header.replace(" ", "  "),
    }[variant]
    assert canonical_header(changed, table) == expected, repr(changed)


@pytest.mark.parametrize("table", list(TABLES.values()), ids=list(TABLES))
def test_every_canonical_column_and_alias_names_its_own_column(table: schemas.TableSchema) -> None:
    for col in table.columns:
        assert canonical_header(col, table) == col
        assert canonical_header(col.upper().replace("_", " "), table) == col
    for alias, col in table.aliases.items():
        assert col in table.columns, f"{table.name}: alias {alias!r} names unknown column {col!r}"
        assert alias == header_key(alias), f"{table.name}: alias {alias!r} is not folded"
        assert canonical_header(alias, table) == col


@pytest.mark.parametrize("table", list(TABLES.values()), ids=list(TABLES))
def test_table_contracts_are_consistent(table: schemas.TableSchema) -> None:
    assert len(set(table.columns)) == len(table.columns)  # no column both required and optional
    for col in (*table.integer, *table.dates, *table.vocab):
        assert col in table.columns, f"{table.name}: {col} is not a column"


CLOSED = [(DOSES, "sign_status", schemas.SIGN_STATUS), (DOSES, "verify_status", schemas.VERIFY_STATUS),
          (FEEDBACK, "status", schemas.FEEDBACK_STATUS), (REGISTRY, "result", schemas.REGISTRY_RESULT),
          (POPULATION, "age_group", schemas.AGE_GROUPS)]


@pytest.mark.parametrize("table,column,codes", CLOSED, ids=[f"{t.name}.{c}" for t, c, _ in CLOSED])
def test_vocabularies_map_onto_exactly_their_closed_set(table: schemas.TableSchema, column: str,
                                                        codes: tuple[str, ...]) -> None:
    vocab = table.vocab[column]
    assert set(vocab.values()) == set(codes)
    for code in codes:  # a canonical code read back from our own output maps to itself
        assert vocab[header_key(code)] == code
    assert all(key == header_key(key) for key in vocab)  # looked up by folded value


@pytest.mark.parametrize("raw,column,expected", [
    ("Đã ký", "sign_status", "signed"), ("ĐÃ KÝ", "sign_status", "signed"),
    ("Da ky", "sign_status", "signed"),
    ("Đã kí số", "sign_status", "signed"), ("Chưa ký", "sign_status", "unsigned"),
    ("chua ky so", "sign_status", "unsigned"), ("Xác thực đúng", "verify_status", "verified"),
    ("Không có trong hệ thống", "verify_status", "not_found"), ("Chưa xác thực", "verify_status", "unchecked"),
])
def test_dose_status_words_in_any_spelling(raw: str, column: str, expected: str) -> None:
    assert DOSES.vocab[column][header_key(raw)] == expected


@given(st.text(max_size=30))
def test_header_key_is_idempotent_and_plain(text: str) -> None:
    key = header_key(text)
    assert header_key(key) == key
    assert key == key.strip() and "  " not in key and key == key.lower()
    assert not any(unicodedata.category(ch) == "Mn" for ch in key)
