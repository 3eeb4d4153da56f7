"""PDF rendering (vaxreport.reporting.report.render): layout facts, safety of data text, fonts, determinism."""

from __future__ import annotations

import dataclasses
import io
import re
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from vaxreport.exceptions import ReportRenderError
from vaxreport.reporting.report import Paragraph, ReportDoc, Section, Signatory, Table, render_pdf, write_pdf
from vaxreport.reporting.report.render import FONTS_DIR, Figure, _recipient_lines
from vaxreport.reporting.report.sample import SAMPLE_TIMESTAMP, sample_report

TS = SAMPLE_TIMESTAMP
MM = 72 / 25.4


def _pages(pdf: bytes) -> list[str]:
    return [p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf)).pages]


def _squash(s: str) -> str:
    """Drop all whitespace (PDF text extraction re-flows lines and spaces)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFC", s))


def _minimal(**changes: object) -> ReportDoc:
    base = ReportDoc(
        agency_parent="UBND tỉnh Thái Nguyên", agency="Sở Y tế", doc_number="1/BC-SYT",
        place="Thái Nguyên", date=date(2022, 6, 1), title="Báo cáo", summary_line="Tóm tắt",
        sections=[Section("I. KẾT QUẢ", [Paragraph("Nội dung.")])], recipients=["Lưu: VT"],
        signatory=Signatory("KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "Nguyễn Văn A"))
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def sample_pdf() -> bytes:
    return render_pdf(sample_report(extra_rows=30), timestamp=TS)


def test_sample_page_one_has_the_nd30_header_and_seed_numbers(sample_pdf: bytes) -> None:
    pages = _pages(sample_pdf)
    assert len(pages) >= 2
    p1 = pages[0]
    for s in ["UBND TỈNH THÁI NGUYÊN", "SỞ Y TẾ", "Số: 2102/BC-SYT",
              "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
              "Thái Nguyên, ngày 01 tháng 6 năm 2022", "BÁO CÁO",
              "I. CÔNG TÁC CHỈ ĐẠO, TRIỂN KHAI"]:
        assert _squash(s) in _squash(p1), s
    body = _squash("".join(pages))
    assert _squash("2.756.537/2.924.867 mũi tiêm đạt 94,24%") in body
    assert _squash("2.496.793/2.756.537 mũi tiêm đã nhập trên phần mềm, đạt 90,58%") in body
    assert "94,17" not in body and "90,57" not in body  # the seed's non-reproducible figures


def test_page_geometry_is_a4_with_nd30_margins(sample_pdf: bytes) -> None:
    reader = PdfReader(io.BytesIO(sample_pdf))
    box = reader.pages[0].mediabox
    assert (round(float(box.width) / MM), round(float(box.height) / MM)) == (210, 297)
    xs: list[float] = []
    reader.pages[0].extract_text(
        visitor_text=lambda t, cm, tm, fd, fs: xs.append(tm[4] * cm[0] + cm[4]) if t.strip() else None)
    # left margin 30 mm: nothing starts left of it; body lines start right at it
    assert min(xs) >= 30 * MM - 1
    assert min(xs) <= 30 * MM + 1


def test_page_numbers_from_page_two_only(sample_pdf: bytes) -> None:
    pages = _pages(sample_pdf)
    assert not pages[0].lstrip().startswith("1")
    for n, text in enumerate(pages[1:], start=2):
        assert text.lstrip().split("\n")[0].strip() == str(n)


def test_table_header_repeats_on_every_page_it_spans(sample_pdf: bytes) -> None:
    pages = _pages(sample_pdf)
    spanned = [p for p in pages if "Chỉ tiêu minh họa" in p or "Mũi tiêm đã cập nhật" in p]
    assert len(spanned) >= 2
    assert all(_squash("TTChỉ tiêuSố thực hiệnMẫu sốTỷ lệ") in _squash(p) for p in spanned)


def test_recipients_print_dashes_not_bullets(sample_pdf: bytes) -> None:
    text = "\n".join(_pages(sample_pdf))
    assert "- Bộ Y tế (b/c);" in text
    assert "- Lưu: VT, NVY." in text
    assert "•" not in text
    assert "Nơi nhận:" in text and "KT. GIÁM ĐỐC" in text and "Nguyễn Văn A" in text


def test_recipient_lines_normalised() -> None:
    assert _recipient_lines(["-Bộ Y tế;", "Lưu: VT."]) == ["- Bộ Y tế;", "- Lưu: VT."]


def test_same_inputs_give_identical_bytes() -> None:
    doc = sample_report()
    a = render_pdf(doc, timestamp=TS)
    assert render_pdf(doc, timestamp=TS) == a
    assert render_pdf(doc, timestamp=TS + timedelta(days=1)) != a


def test_naive_timestamp_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        render_pdf(_minimal(), timestamp=datetime(2022, 6, 1))


HOSTILE = [
    'Xã "Hòa" #set page(width: 1cm) *đậm* _nghiêng_',
    "$x^2$ @ref <lbl> [nội dung] \\ ` ~ ' --- ...",
    '#panic("boom") #read("/etc/passwd") #{1+1}',
    "- gạch đầu dòng\n+ cộng\n= tiêu đề\n/ a: b",
    "// chú thích /* khối */ `mã` 1. số",
]


def test_markup_in_data_prints_literally_everywhere() -> None:
    h = HOSTILE
    doc = _minimal(
        agency_parent=h[0], agency=h[1], doc_number=h[2], place=h[3], summary_line=h[4],
        sections=[Section(h[0], [Paragraph(h[1]), Paragraph(h[3], bold=True),
                                 Table(columns=[h[2], "Số"], rows=[[h[3], 5], [h[4], None]],
                                       caption=h[0])])],
        recipients=[h[1], h[3]],
        signatory=Signatory(h[0], h[2], h[4]), footer_note=h[2])
    text = _squash("".join(_pages(render_pdf(doc, timestamp=TS))))
    for s in h:
        assert _squash(s) in text or _squash(s.upper()) in text, s


@pytest.fixture(scope="module")
def vietnamese_letters() -> str:
    """All 12 vowels × 6 tones in both cases (144 letters: 132 precomposed) plus đ Đ."""
    tones = ["", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"]
    bases = ["a", "a\u0306", "a\u0302", "e", "e\u0302", "i", "o", "o\u0302", "o\u031b",
             "u", "u\u031b", "y"]
    lower = [unicodedata.normalize("NFC", b + t) for b in bases for t in tones]
    letters = lower + [c.upper() for c in lower] + ["đ", "Đ"]
    assert all(len(c) == 1 for c in letters)
    assert sum(not c.isascii() for c in letters) == 132 + 2
    return "".join(letters)


def test_termes_covers_every_vietnamese_letter_in_all_styles(vietnamese_letters: str) -> None:
    chunks = [vietnamese_letters[i:i + 24] for i in range(0, len(vietnamese_letters), 24)]
    line = " ".join(chunks)
    doc = _minimal(sections=[Section(line, [Paragraph(line), Paragraph(line, bold=True),
                                            Paragraph(line, italic=True),
                                            Paragraph(line, bold=True, italic=True)])])
    text = _squash("".join(_pages(render_pdf(doc, timestamp=TS))))
    assert text.count(_squash(line)) == 5


def test_missing_glyph_is_an_error_not_a_blank() -> None:
    with pytest.raises(ReportRenderError, match="U\\+4E2D"):
        render_pdf(_minimal(sections=[Section("I.", [Paragraph("Trạm 中")])]), timestamp=TS)


def test_only_vendored_fonts_with_licence() -> None:
    names = sorted(p.name for p in FONTS_DIR.iterdir())
    assert "GUST-FONT-LICENSE.txt" in names
    assert [n for n in names if n.endswith(".otf")] == [
        "texgyretermes-bold.otf", "texgyretermes-bolditalic.otf",
        "texgyretermes-italic.otf", "texgyretermes-regular.otf"]
    fonts = PdfReader(io.BytesIO(render_pdf(_minimal(), timestamp=TS))).pages[0]["/Resources"]["/Font"]
    base = {str(f.get_object()["/BaseFont"]).split("+")[-1] for f in fonts.values()}
    assert base and all(b.startswith("TeXGyreTermes") for b in base)


@pytest.mark.parametrize(("table", "match"), [
    (Table(columns=["a", "b"], rows=[["x"]]), "row 1 has 1 cells, expected 2"),
    (Table(columns=["a"], rows=[["x"]], align=["middle"]), "align"),  # type: ignore[list-item]
    (Table(columns=["a", "b"], rows=[], widths=[1]), "widths"),
    (Table(columns=[], rows=[]), "at least one column"),
])
def test_bad_tables_raise(table: Table, match: str) -> None:
    with pytest.raises(ReportRenderError, match=match):
        render_pdf(_minimal(sections=[Section("I.", [table])]), timestamp=TS)


def test_table_cells_are_formatted_and_numbers_right_aligned() -> None:
    from decimal import Decimal

    from vaxreport.reporting.report.render import _table_payload
    p = _table_payload(Table(columns=["Huyện", "Mũi", "Tỷ lệ"],
                             rows=[["Đại Từ", 2756537, Decimal("94.24")], ["Võ Nhai", None, 7.5]]))
    assert p["rows"] == [["Đại Từ", "2.756.537", "94,24"], ["Võ Nhai", "—", "7,50"]]
    assert p["align"] == ["left", "right", "right"]


def test_figures_png_and_svg_are_embedded() -> None:
    import pandas as pd

    from vaxreport.reporting.figures import bar_indicator_by_unit, figure_png, figure_svg
    fig = bar_indicator_by_unit(pd.DataFrame({"u": ["Đồng Hỷ"], "v": [90.5]}), "v", "u")
    doc = _minimal(sections=[Section("I.", [Figure(figure_png(fig), "Biểu đồ PNG"),
                                            Figure(figure_svg(fig), "Biểu đồ SVG", width_mm=80)])])
    pdf = render_pdf(doc, timestamp=TS)
    text = _squash("".join(_pages(pdf)))
    assert _squash("Hình 1. Biểu đồ PNG") in text and _squash("Hình 2. Biểu đồ SVG") in text
    with pytest.raises(ReportRenderError, match="PNG or SVG"):
        render_pdf(_minimal(sections=[Section("I.", [Figure(b"GIF89a...")])]), timestamp=TS)


def test_write_pdf_is_atomic(tmp_path: Path) -> None:
    out = write_pdf(_minimal(), tmp_path / "r.pdf", timestamp=TS)
    assert out.read_bytes() == render_pdf(_minimal(), timestamp=TS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.pdf"]
    with pytest.raises(ReportRenderError):
        write_pdf(_minimal(summary_line="中"), tmp_path / "r.pdf", timestamp=TS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.pdf"]  # old file kept, no temp left
    assert out.read_bytes()[:5] == b"%PDF-"


def test_timestamp_zone_is_normalised() -> None:
    ict = timezone(timedelta(hours=7))
    a = render_pdf(_minimal(), timestamp=datetime(2022, 6, 1, 0, 0, tzinfo=ict))
    b = render_pdf(_minimal(), timestamp=datetime(2022, 5, 31, 17, 0, tzinfo=UTC))
    assert a == b


def test_nfd_and_invisible_characters_are_normalised() -> None:
    nfd = unicodedata.normalize("NFD", "Huyện Đồng Hỷ") + "\ufeff\u200b"
    text = _pages(render_pdf(_minimal(sections=[Section("I.", [Paragraph(nfd)])]), timestamp=TS))
    assert "Huyện Đồng Hỷ" in "".join(text)


def test_table_from_frame_with_missing_values() -> None:
    import pandas as pd

    from vaxreport.reporting.report.render import _table_payload
    df = pd.DataFrame({"Xã": ["Hóa Thượng", "La Hiên"],
                       "Mũi": pd.array([1200, None], dtype="Int64"),
                       "Tỷ lệ": [float("nan"), 12.345]})
    p = _table_payload(Table.from_frame(df, caption="Theo xã"))
    assert p["rows"] == [["Hóa Thượng", "1.200", "—"], ["La Hiên", "—", "12,35"]]
    assert p["align"] == ["left", "right", "right"]


def test_typst_failure_becomes_report_render_error() -> None:
    broken_png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
    with pytest.raises(ReportRenderError, match="typst failed"):
        render_pdf(_minimal(sections=[Section("I.", [Figure(broken_png)])]), timestamp=TS)


def test_any_typst_warning_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from vaxreport.reporting.report import render
    bad = tmp_path / "bad.typ"
    bad.write_text('#text(font: "No Such Font")[x]', encoding="utf-8")
    monkeypatch.setattr(render, "TEMPLATE", bad)
    with pytest.raises(ReportRenderError, match="(?i)warned.*no such font"):
        render_pdf(_minimal(), timestamp=TS)


_MARKUP_ALPHABET = "#*_$@<>[]\\`~'\"-+=/:;{}().,!?%&|^ 0123456789\nabcfiđĐăâêôơưÀÁẢÃẠĂẮẰẲẴẶệỹ"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(alphabet=_MARKUP_ALPHABET, min_size=1, max_size=60))
def test_any_markup_soup_prints_exactly(text: str) -> None:
    doc = _minimal(sections=[Section(text, [Paragraph(text),
                                            Table(columns=["Ô"], rows=[[text]])])],
                   recipients=[text.replace("\n", " ")])
    got = _squash("".join(_pages(render_pdf(doc, timestamp=TS))))
    want = _squash(text)
    assert want == "" or got.count(want) >= 3


def test_only_captioned_tables_and_figures_are_numbered() -> None:
    from vaxreport.reporting.report.render import _payload
    t = Table(columns=["a"], rows=[["x"]])
    doc = _minimal(sections=[Section("I.", [t, dataclasses.replace(t, caption="Theo huyện")]),
                             Section("II.", [dataclasses.replace(t, caption="Theo xã")])])
    caps = [b["caption"] for s in _payload(doc)["sections"] for b in s["blocks"]]
    assert caps == [None, "Bảng 1. Theo huyện", "Bảng 2. Theo xã"]


def test_auto_width_columns_keep_a_wide_cell_on_one_line() -> None:
    cell = "1.079.597 (91,95%)"
    rows = [["Tổng", cell, cell, cell, cell]]
    table = Table(columns=["Nhóm tuổi", "Dân số", "Tiêm ≥ 1 mũi", "Đủ liều", "Nhắc lại"], rows=rows,
                  widths=[1, "auto", "auto", "auto", "auto"])
    page = PdfReader(io.BytesIO(render_pdf(_minimal(sections=[Section("I.", [table])]), timestamp=TS))).pages[0]
    baselines: dict[str, set[float]] = {"1.079.597": set(), "(91,95%)": set()}

    def visit(text: str, cm: list[float], tm: list[float], *_: object) -> None:
        for part in baselines:
            if part in text:
                baselines[part].add(round(cm[5] + tm[5], 1))  # typst places each run with cm

    page.extract_text(visitor_text=visit)
    assert baselines["1.079.597"] and baselines["1.079.597"] == baselines["(91,95%)"]  # one line each
    with pytest.raises(ReportRenderError, match="widths"):
        render_pdf(_minimal(sections=[Section("I.", [dataclasses.replace(table, widths=[1, "wide", 1, 1, 1])])]),
                   timestamp=TS)


def test_one_signatory_class_from_params_to_the_pdf():
    from vaxreport import params

    assert Signatory is params.Signatory
    assert Signatory("KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "A") == params.Signatory(
        authority="KT. GIÁM ĐỐC", title="PHÓ GIÁM ĐỐC", name="A")
