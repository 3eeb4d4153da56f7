"""Canonical column names, dtypes and closed vocabularies of every table, and the Vietnamese
header aliases seen in real platform exports.

Code refers to columns through these tables, never through scattered string literals.

Examples:
    >>> DOSES.required[:3]
    ('record_id', 'person_ref', 'full_name')
    >>> canonical_header("Họ và tên", DOSES)
    'full_name'
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vaxreport.exceptions import SchemaViolation

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class TableSchema:
    """Contract of one input table.

    Attributes:
        name: table name, also the input file stem (``doses.csv``, ``doses.xlsx``).
        required: columns that must be present (canonical names, in canonical order).
        optional: columns that may be absent (added as NA by the loader).
        aliases: header text (any case/diacritics form) -> canonical column.
        vocab: closed vocabularies: column -> {raw value (folded) -> canonical code}.
        integer: columns that must parse as non-negative integers (others stay strings).
        dates: columns holding dates/timestamps (kept as raw strings by the loader).
    """

    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    aliases: dict[str, str] = field(default_factory=dict)
    vocab: dict[str, dict[str, str]] = field(default_factory=dict)
    integer: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


def header_key(text: str) -> str:
    """Fold a header for alias lookup: NFC, lower case, no diacritics, single spaces.

    >>> header_key("  Số CMND/CCCD ")
    'so cmnd/cccd'
    """
    s = unicodedata.normalize("NFD", str(text)).replace("đ", "d").replace("Đ", "D")
    s = "".join(ch for ch in s if unicodedata.category(ch) != "Mn")
    s = s.replace("\ufeff", "").replace("_", " ").strip().lower()
    return " ".join(s.split())


def _vocab(mapping: dict[str, list[str]]) -> dict[str, str]:
    return {header_key(raw): code for code, raws in mapping.items() for raw in [code, *raws]}


SIGN_STATUS = ("signed", "unsigned")
VERIFY_STATUS = ("verified", "mismatch", "not_found", "no_id", "unchecked")
FEEDBACK_STATUS = ("approved", "rejected", "pending")
REGISTRY_RESULT = ("match", "corrected", "not_found")
AGE_GROUPS = ("5-11", "12-17", "18+")

DOSES = TableSchema(
    name="doses",
    required=("record_id", "person_ref", "full_name", "birth_date", "gender", "id_number", "phone",
              "district_code", "commune_code", "vaccine", "dose_number", "dose_date", "site_code",
              "sign_status"),
    optional=("insurance_no", "province_code", "address", "lot", "site_name", "entered_at",
              "signed_at", "verify_status"),
    aliases={header_key(k): v for k, v in {
        "Mã bản ghi": "record_id", "ID bản ghi": "record_id", "STT bản ghi": "record_id",
        "Mã đối tượng": "person_ref", "Mã người tiêm": "person_ref",
        "Họ và tên": "full_name", "Họ tên": "full_name", "fullname": "full_name",
        "Ngày sinh": "birth_date", "birthday": "birth_date",
        "Giới tính": "gender", "genderId": "gender",
        "Số CMND/CCCD": "id_number", "CMND/CCCD": "id_number", "Số CCCD": "id_number",
        "Số định danh": "id_number", "identification": "id_number", "Số giấy tờ": "id_number",
        "Số điện thoại": "phone", "SĐT": "phone", "Điện thoại": "phone",
        "personalPhoneNumber": "phone",
        "Số thẻ BHYT": "insurance_no", "Mã thẻ BHYT": "insurance_no",
        "healthInsuranceNumber": "insurance_no",
        "Mã tỉnh": "province_code", "Mã huyện": "district_code", "Mã quận/huyện": "district_code",
        "Mã xã": "commune_code", "Mã phường/xã": "commune_code",
        "Địa chỉ": "address", "Địa chỉ thường trú": "address",
        "Tên vắc xin": "vaccine", "Vắc xin": "vaccine", "Loại vắc xin": "vaccine",
        "vaccineName": "vaccine",
        "Số lô": "lot", "Lô vắc xin": "lot", "batchNumber": "lot",
        "Mũi tiêm": "dose_number", "Mũi số": "dose_number", "Mũi tiêm thứ": "dose_number",
        "Ngày tiêm": "dose_date", "injectionDate": "dose_date",
        "Mã cơ sở tiêm": "site_code", "Mã cơ sở": "site_code",
        "Cơ sở tiêm": "site_name", "Tên cơ sở tiêm": "site_name", "injectionPlace": "site_name",
        "Ngày nhập": "entered_at", "Thời gian nhập": "entered_at",
        "Trạng thái ký": "sign_status", "Trạng thái ký số": "sign_status",
        "Ngày ký": "signed_at", "Thời gian ký": "signed_at",
        "Trạng thái xác thực": "verify_status",
    }.items()},
    vocab={
        "sign_status": _vocab({
            "signed": ["Đã ký", "Đã ký (cơ sở)", "Đã ký số", "Đã cấp hộ chiếu", "1", "true", "yes",
                       "Đã kí", "Đã kí số"],  # kí/ký: both spellings are standard Vietnamese
            "unsigned": ["Chưa ký", "Chưa ký số", "0", "false", "no", "", "Chưa kí", "Chưa kí số"],
        }),
        "verify_status": _vocab({
            "verified": ["Xác thực đúng", "Đã xác thực", "Đúng"],
            "mismatch": ["Xác thực sai", "Sai thông tin", "Sai"],
            "not_found": ["Không có trong hệ thống", "Số định danh không có trong hệ thống",
                          "Không tìm thấy"],
            "no_id": ["Không có/sai định dạng CCCD", "Không có CCCD", "Sai định dạng CCCD"],
            "unchecked": ["Chưa xác thực", ""],
        }),
    },
    dates=("birth_date", "dose_date", "entered_at", "signed_at"),
)

SITE_TALLIES = TableSchema(
    name="site_tallies",
    required=("site_code", "district_code", "week_start", "doses_administered"),
    aliases={header_key(k): v for k, v in {
        "Mã cơ sở tiêm": "site_code", "Mã cơ sở": "site_code",
        "Mã huyện": "district_code", "Mã quận/huyện": "district_code",
        "Tuần bắt đầu": "week_start", "Từ ngày": "week_start", "Ngày đầu tuần": "week_start",
        "Số mũi đã tiêm": "doses_administered", "Số mũi tiêm": "doses_administered",
        "Tổng số mũi tiêm": "doses_administered",
    }.items()},
    integer=("doses_administered",),
    dates=("week_start",),
)

FEEDBACK = TableSchema(
    name="feedback",
    required=("ticket_id", "received_at", "district_code", "status"),
    optional=("site_code", "full_name", "birth_date", "id_number", "phone", "issue_type",
              "resolved_at", "reject_reason"),
    aliases={header_key(k): v for k, v in {
        "Mã phản ánh": "ticket_id", "Số phản ánh": "ticket_id",
        "Ngày nhận": "received_at", "Thời gian phản ánh": "received_at",
        "Mã huyện": "district_code", "Mã cơ sở tiêm": "site_code", "Mã cơ sở": "site_code",
        "Họ và tên": "full_name", "Ngày sinh": "birth_date", "Số CMND/CCCD": "id_number",
        "Số điện thoại": "phone", "Loại phản ánh": "issue_type", "Nội dung": "issue_type",
        "Trạng thái": "status", "Trạng thái xử lý": "status",
        "Ngày xử lý": "resolved_at", "Lý do từ chối": "reject_reason",
    }.items()},
    vocab={"status": _vocab({
        "approved": ["Đã duyệt", "Đã phê duyệt", "Phê duyệt", "Đã cập nhật", "Duyệt"],
        "rejected": ["Từ chối", "Đã từ chối"],
        "pending": ["Chờ xử lý", "Chưa xử lý", "Xử lý sau", "Đang xử lý", ""],
    })},
    dates=("received_at", "birth_date", "resolved_at"),
)

REGISTRY = TableSchema(
    name="registry",
    required=("id_number", "full_name", "birth_date", "gender", "result"),
    optional=("commune_code", "checked_at"),
    aliases={header_key(k): v for k, v in {
        "Số định danh": "id_number", "Số CMND/CCCD": "id_number", "Số CCCD": "id_number",
        "Họ và tên": "full_name", "Ngày sinh": "birth_date", "Giới tính": "gender",
        "Mã xã": "commune_code", "Mã phường/xã": "commune_code",
        "Ngày xác minh": "checked_at", "Thời gian xác minh": "checked_at",
        "Kết quả": "result", "Kết quả xác minh": "result",
    }.items()},
    vocab={"result": _vocab({
        "match": ["Khớp", "Đúng", "Trùng khớp", "Xác thực đúng"],
        "corrected": ["Đã điều chỉnh", "Đã sửa", "Điều chỉnh"],
        "not_found": ["Không tìm thấy", "Không có trong CSDLQG", "Không có"],
    })},
    dates=("birth_date", "checked_at"),
)

POPULATION = TableSchema(
    name="population",
    required=("commune_code", "age_group", "population"),
    aliases={header_key(k): v for k, v in {
        "Mã xã": "commune_code", "Mã phường/xã": "commune_code",
        "Nhóm tuổi": "age_group", "Độ tuổi": "age_group",
        "Dân số": "population", "Số dân": "population",
    }.items()},
    vocab={"age_group": _vocab({
        "5-11": ["5 - 11", "5-11 tuổi", "5 đến 11", "5-11t"],
        "12-17": ["12 - 17", "12-17 tuổi", "12 đến 17", "12-17t"],
        "18+": ["18 +", "≥18", ">=18", "18 tuổi trở lên", "trên 18", "từ 18 tuổi"],
    })},
    integer=("population",),
)

TABLES: dict[str, TableSchema] = {t.name: t for t in (DOSES, SITE_TALLIES, FEEDBACK, REGISTRY,
                                                       POPULATION)}

# Columns of the cleansed dose table (``CleanResult.data``), in order. Cleansed values are
# typed: dates as datetime64, dose_number as Int64, codes and IDs as strings.
CLEAN_DOSES = DOSES.columns + ("name_key", "id_valid", "id_flags", "phone_valid", "date_flags",
                               "vaccine_code")

AUDIT_COLUMNS = ("record_id", "column", "old", "new", "rule", "step")
QUARANTINE_REASON = "reason"


def canonical_header(text: str, schema: TableSchema) -> str | None:
    """Canonical column for a header as exported (canonical names and aliases), else None.

    >>> canonical_header("NGÀY TIÊM", DOSES)
    'dose_date'
    >>> canonical_header("unknown", DOSES) is None
    True
    """
    key = header_key(text)
    if key in schema.columns:
        return key
    key_us = key.replace(" ", "_")
    if key_us in schema.columns:
        return key_us
    return schema.aliases.get(key)


def require_columns(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Raise ``SchemaViolation`` naming every column of ``columns`` that ``df`` lacks.

    >>> import pandas as pd
    >>> require_columns(pd.DataFrame({"a": [1]}), ["a", "b", "c"], "doses")
    Traceback (most recent call last):
    ...
    vaxreport.exceptions.SchemaViolation: doses: missing required column(s): b, c; present: a
    """
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SchemaViolation(f"{what}: missing required column(s): {', '.join(missing)}; "
                              f"present: {', '.join(map(str, df.columns))}")
