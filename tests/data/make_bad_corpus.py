"""Write the bad-input corpus ``tests/data/bad/`` (issue 7): one small file per failure mode.

Run from the repository root: ``.venv/bin/python tests/data/make_bad_corpus.py [OUT_DIR]``.
Text files are byte-reproducible; the XLSX files carry fixed document properties. What each file
must produce is asserted in the tests of ``vaxreport.io`` (``tests/test_sniff.py``,
``test_delimited.py``, ``test_xlsx.py``, ``test_conform.py``, ``test_io.py``) and ``tests/test_params.py``.
"""

from __future__ import annotations

import datetime as dt
import sys
import unicodedata
from pathlib import Path

HEADER_VI = ["Mã bản ghi", "Mã đối tượng", "Họ và tên", "Ngày sinh", "Giới tính", "Số CMND/CCCD",
             "Số điện thoại", "Mã huyện", "Mã xã", "Tên vắc xin", "Mũi tiêm", "Ngày tiêm",
             "Mã cơ sở tiêm", "Trạng thái ký"]
ROWS = [
    ["R001", "P001", "Nguyễn Văn An", "01/02/1980", "Nam", "019080000123", "0912345678", "164",
     "05443", "Pfizer", "1", "15/05/2022", "S0101", "Đã ký"],
    ["R002", "P002", "Lê Thị Hoà", "1985-03-04", "Nữ", "019185000456", "0987654321", "171",
     "05800", "AstraZeneca", "2", "2022-05-01", "S0702", "Chưa ký"],
    ["R003", "P003", "Đỗ Thuỷ Tiên", "12/12/2010", "Nữ", "", "", "172", "05854", "Pfizer", "1",
     "20/05/2022", "S0801", "Chưa ký"],
]


def _csv(rows: list[list[str]], delimiter: str = ",") -> str:
    def cell(v: str) -> str:
        if any(ch in v for ch in (delimiter, '"', "\n", "\r")):
            return '"' + v.replace('"', '""') + '"'
        return v
    return "".join(delimiter.join(cell(v) for v in r) + "\r\n" for r in rows)


def _cp1258(text: str) -> bytes:
    """Encode Vietnamese text the way Windows-1258 stores it: base letter + combining tone mark."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", ch)
            base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONES))
            tone = "".join(c for c in parts if c in _TONES)
            out += (base + tone).encode("cp1258")
    return bytes(out)


_TONES = "\u0300\u0301\u0303\u0309\u0323"


# TCVN3 (ABC) bytes of the lower-case letters; capitals need the .VnTimeH font (not used here).
_TCVN3 = dict(zip(
    "àảãáạăằẳẵắặâầẩẫấậèẻẽéẹêềểễếệìỉĩíịòỏõóọôồổỗốộơờởỡớợùủũúụưừửữứựỳỷỹýỵđĐ",
    bytes.fromhex("b5b6b7b8b9a8bbbcbdbec6a9c7c8c9cacbcccecfd0d1aad2d3d4d5d6d7d8dcddde"
                  "dfe1e2e3e4abe5e6e7e8e9aceaebecedeeeff1f2f3f4adf5f6f7f8f9fafbfcfdfeaea7")))


def _tcvn3(text: str) -> bytes:
    """Text as a TCVN3-font document stores it (read as cp1252 it shows "NguyÔn")."""
    return b"".join(bytes([_TCVN3[ch]]) if ch in _TCVN3 else ch.encode("ascii")
                    for ch in unicodedata.normalize("NFC", text))


def _write_xlsx(path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Danh sách"
    ws["A1"] = "UBND TỈNH THÁI NGUYÊN"
    ws.merge_cells("A1:E1")
    ws["F1"] = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    ws.merge_cells("F1:N1")
    ws["A2"] = "DANH SÁCH ĐỐI TƯỢNG TIÊM CHỦNG COVID-19 THÁNG 5/2022"
    ws.merge_cells("A2:N2")
    for j, h in enumerate(HEADER_VI, start=1):
        ws.cell(row=4, column=j, value=h)
    data = [
        ["R001", "P001", "Nguyễn Văn An", dt.datetime(1980, 2, 1), "Nam", 19080000123, 912345678,
         164, "05443", "Pfizer", 1.0, dt.datetime(2022, 5, 15), "S0101", "Đã ký"],
        ["R002", "P002", "Lê Thị Hoà", "04/03/1985", "Nữ", "019185000456", "0987654321", 171,
         "05800", "AstraZeneca", 2, dt.datetime(2022, 5, 1, 8, 30), None, "Chưa ký"],
        ["R003", "P003", "Đỗ Thuỷ Tiên", 40159, "Nữ", None, None, 172, "05854", "Pfizer", 1.5,
         "20/05/2022", None, "Chưa ký"],
    ]
    for i, row in enumerate(data, start=5):
        for j, v in enumerate(row, start=1):
            ws.cell(row=i, column=j, value=v)
    ws["M5"] = "S0101"
    ws.merge_cells("M5:M7")  # one site code shown over three rows
    ws["A9"] = "Người lập biểu"  # a footer below a blank row: one stray row, not a dose
    wb.properties.creator = "vaxreport"
    wb.properties.created = wb.properties.modified = dt.datetime(2022, 6, 1)
    wb.save(path)


def _write_two_row_header_xlsx(path: Path) -> None:
    """A cover sheet, then a sheet whose header spans two rows (group labels merged above)."""
    import openpyxl

    wb = openpyxl.Workbook()
    cover = wb.active
    cover.title = "Hướng dẫn"
    cover["A1"] = "Các trường có dấu (*) là bắt buộc"
    ws = wb.create_sheet("Dữ liệu")
    singles = {1: "Mã bản ghi", 2: "Mã đối tượng", 3: "Họ và tên (*)", 4: "Ngày sinh (*)",
               5: "Giới tính", 6: "Số CMND/\nCCCD", 7: "Số điện thoại", 14: "Trạng thái ký"}
    for col, text in singles.items():  # merged down over both header rows
        ws.cell(row=1, column=col, value=text)
        ws.merge_cells(start_row=1, start_column=col, end_row=2, end_column=col)
    ws.cell(row=1, column=8, value="Địa bàn")
    ws.merge_cells("H1:I1")
    ws.cell(row=1, column=10, value="Thông tin mũi tiêm")
    ws.merge_cells("J1:M1")
    for col, text in {8: "Mã huyện", 9: "Mã xã", 10: "Vắc xin", 11: "Mũi số", 12: "Ngày tiêm*",
                      13: "Mã cơ sở"}.items():
        ws.cell(row=2, column=col, value=text)
    for i, row in enumerate(ROWS, start=3):
        for j, v in enumerate(row, start=1):
            ws.cell(row=i, column=j, value=v or None)
    wb.properties.creator = "vaxreport"
    wb.properties.created = wb.properties.modified = dt.datetime(2022, 6, 1)
    wb.save(path)


def build(out: Path) -> list[Path]:
    """Write every corpus file into ``out``; returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    head = [HEADER_VI]
    files: dict[str, bytes] = {
        "empty.csv": b"",
        "header_only.csv": _csv(head).encode("utf-8"),
        # colon-delimited: none of , ; tab | splits the header
        "wrong_delimiter.csv": ":".join(HEADER_VI).encode("utf-8") + b"\r\n"
        + b"".join(":".join(r).encode("utf-8") + b"\r\n" for r in ROWS),
        "semicolon.csv": _csv(head + ROWS, ";").encode("utf-8"),
        "utf8_bom.csv": b"\xef\xbb\xbf" + _csv(head + ROWS).encode("utf-8"),
        "utf16.csv": _csv(head + ROWS, "\t").encode("utf-16"),  # LE with BOM, Excel "Unicode text"
        "utf16be.csv": b"\xfe\xff" + _csv(head + ROWS, "\t").encode("utf-16-be"),
        "cp1258.csv": _cp1258(_csv(head + ROWS, ";")),
        "tcvn3.csv": _tcvn3(_csv([["record_id", "person_ref", "full_name", "birth_date", "gender",
                        "id_number", "phone", "district_code", "commune_code", "vaccine",
                        "dose_number", "dose_date", "site_code", "sign_status"],
                       ["R001", "P001", "Nguyễn Thị Hồng", "01/02/1980", "Nữ", "019180000123",
                        "0912345678", "164", "05443", "Pfizer", "1", "15/05/2022", "S0101",
                        "signed"],
                       ["R002", "P002", "Đỗ Văn Đạt", "01/02/1981", "Nam", "019081000123",
                        "0912345679", "169", "05600", "Pfizer", "1", "16/05/2022", "S0101",
                        "unsigned"],
                       ["R003", "P003", "Trần Thị Thanh Hà", "05/06/1990", "Nữ", "019190000777",
                        "0912345670", "171", "05800", "Vero Cell", "2", "17/05/2022", "S0702",
                        "signed"]])),
        "duplicate_columns.csv": _csv([HEADER_VI + ["Họ tên"]] + [r + [r[2]] for r in ROWS])
        .encode("utf-8"),
        "extra_columns.csv": _csv([HEADER_VI + ["Ghi chú", "Người nhập"]]
                                  + [r + ["", "cb01"] for r in ROWS]).encode("utf-8"),
        "missing_column.csv": _csv([[h for h in r if h != "Ngày tiêm"] for r in head]
                                   + [r[:11] + r[12:] for r in ROWS]).encode("utf-8"),
        "impossible_dates.csv": _csv(head + [ROWS[0][:11] + ["31/02/2022"] + ROWS[0][12:],
                                             ROWS[1][:3] + ["ngày sinh?"] + ROWS[1][4:],
                                             ROWS[2]]).encode("utf-8"),
        "excel_ids.csv": _csv(head + [ROWS[0][:5] + ["1.9E+11", "912345678"] + ROWS[0][7:],
                                      ROWS[1][:5] + ["19185000456", "84987654321"] + ROWS[1][7:]])
        .encode("utf-8"),
        # IDs and phones exported as Excel text formulas to keep their leading zeros
        "excel_text_formula.csv": (_csv(head) + "".join(
            ",".join(r[:5] + [f'="{r[5]}"', f'="{r[6]}"'] + r[7:]) + "\r\n" for r in ROWS[:2]))
        .encode("utf-8"),
        # the export was cut off mid-row, inside a quoted address
        "truncated.csv": _csv(head + ROWS[:2]).encode("utf-8")
        + b'R003,P003,"\xc4\x90\xe1\xbb\x97 Thu',
        "big_field.csv": _csv([HEADER_VI + ["Địa chỉ"]] + [ROWS[0] + ["Tổ 5, " + "x" * 99_994]])
        .encode("utf-8"),
        "unknown_status.csv": _csv(head + [ROWS[0], ROWS[1][:13] + ["Đang chờ ký"], ROWS[2]])
        .encode("utf-8"),
        "tallies_not_integer.csv": _csv([["Mã cơ sở tiêm", "Mã huyện", "Tuần bắt đầu",
                                          "Số mũi đã tiêm"],
                                         ["S0101", "164", "02/05/2022", "1.250"],
                                         ["S0102", "164", "02/05/2022", "12,5"]]).encode("utf-8"),
        # CSV saved from a formatted sheet: title rows (padded with delimiters) above the header
        "csv_title_rows.csv": _csv([["UBND TỈNH THÁI NGUYÊN"] + [""] * 13,
                                    ["DANH SÁCH TIÊM CHỦNG THÁNG 5/2022"] + [""] * 13,
                                    [""] * 14] + head + ROWS).encode("utf-8"),
        # a UTF-8 export with one corrupt byte (a cp1258 "à" pasted into row 3)
        "invalid_utf8.csv": _csv(head + ROWS[:1]).encode("utf-8")
        + _csv([ROWS[1][:2] + ["Lê Thị Ho"] + ROWS[1][3:]]).encode("utf-8")
        .replace(b"Ho,", b"Ho\xe0,") + _csv(ROWS[2:]).encode("utf-8"),
        # neither UTF-8 nor Windows-1258 (Shift-JIS bytes 0x8A 0x8E are undefined in cp1258)
        "wrong_encoding.csv": _csv([["record_id", "person_ref", "full_name", "birth_date"]])
        .encode("ascii") + b"R001,P001," + "漢字".encode("shift_jis") + b",01/02/1980\r\n",
        "params_unknown_key.yaml": ("period: \"2022-05\"\nreport_date: 2022-06-01\n"
                                    "inputs: inputs\nsigner: Nguyễn Văn Hùng\n").encode(),
        "params_wrong_type.yaml": ("period: \"2022-05\"\nreport_date: 01/06/2022\n"
                                   "inputs: inputs\nrecipients: Bộ Y tế\nthresholds:\n"
                                   "  unsigned_days: 14.5\n").encode(),
        "params_unknown_district.yaml": ("period: \"2022-05\"\nreport_date: 2022-06-01\n"
                                         "inputs: inputs\ndistricts:\n  - code: 166\n"
                                         "    agency: TRUNG TÂM Y TẾ HUYỆN X\n").encode(),
    }
    written = []
    for name, data in files.items():
        path = out / name
        path.write_bytes(data)
        written.append(path)
    xlsx = out / "title_rows_merged.xlsx"
    _write_xlsx(xlsx)
    written.append(xlsx)
    xlsx = out / "two_row_header.xlsx"
    _write_two_row_header_xlsx(xlsx)
    written.append(xlsx)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "bad"
    for p in build(target):
        print(p, p.stat().st_size)
