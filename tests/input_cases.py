"""Inputs shared by the tests of ``vaxreport.io`` (test_sniff, test_delimited, test_xlsx,
test_conform, test_io): the bad-input corpus and a minimal valid input folder.

A module of its own rather than ``conftest.py``: these are plain values and builders, not
fixtures, imported as ``from input_cases import ...`` (``tests/`` is on the path, as for
``from conftest import vaxreport_cmd``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from vaxreport import io, schemas

#: The bad-input corpus, written by ``tests/data/make_bad_corpus.py``.
BAD = Path(__file__).parent / "data" / "bad"
#: The names every doses file of the corpus holds, as they should load.
NAMES = ["Nguyễn Văn An", "Lê Thị Hoà", "Đỗ Thuỷ Tiên"]

DOSES_VI = ["Mã bản ghi", "Mã đối tượng", "Họ và tên", "Ngày sinh", "Giới tính", "Số CMND/CCCD",
            "Số điện thoại", "Mã huyện", "Mã xã", "Tên vắc xin", "Mũi tiêm", "Ngày tiêm",
            "Mã cơ sở tiêm", "Trạng thái ký", "Trạng thái xác thực"]
DOSE_ROWS = [
    ["R1", "P1", "Nguyễn Văn An", "01/02/1980", "Nam", "019080000123", "0912345678", "164",
     "05443", "Pfizer", "1", "15/05/2022", "S01", "Đã ký", "Xác thực đúng"],
    ["R2", "P2", "Lê Thị Bình", "1980-03-04", "Nữ", "", "0987654321", "165", "05500",
     "AstraZeneca", "2", "2022-05-01", "S02", "Chưa ký", ""],
]


def load_bad(name: str, schema: schemas.TableSchema = schemas.DOSES) -> pd.DataFrame:
    """``io.load_table`` of one file of the bad-input corpus."""
    return io.load_table(BAD / name, schema)


def write_inputs(folder: Path, doses_text: str | None = None) -> Path:
    """A minimal valid input folder (all five tables, various delimiters)."""
    folder.mkdir(parents=True, exist_ok=True)
    if doses_text is None:
        doses_text = "\n".join(",".join(r) for r in [DOSES_VI, *DOSE_ROWS]) + "\n"
    (folder / "doses.csv").write_text(doses_text, encoding="utf-8-sig")
    (folder / "site_tallies.csv").write_text(
        "site_code;district_code;week_start;doses_administered\nS01;164;02/05/2022;1.200\n")
    (folder / "feedback.csv").write_text(
        "ticket_id,received_at,district_code,status\nT1,2022-05-02,164,Đã duyệt\n")
    (folder / "registry.csv").write_text(
        "id_number\tfull_name\tbirth_date\tgender\tresult\n"
        "019080000123\tNguyễn Văn An\t01/02/1980\tNam\tKhớp\n")
    (folder / "population.csv").write_text("commune_code|age_group|population\n05443|18+|1000\n")
    return folder
