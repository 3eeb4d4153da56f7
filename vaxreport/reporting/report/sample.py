"""A sample report with the seed's content (Báo cáo 2102/BC-SYT, Thái Nguyên, 01/6/2022).

Used by the tests, ``bench/bench_render.py`` and as a worked example of the document API. The
percentages are recomputed from the seed's counts with ``pct`` (94,24% and 90,58%, not the
seed's 94,17% and 90,57%: see DOMAIN.md §0).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from vaxreport.reporting.report.format import fmt_date_short, fmt_int, fmt_pct, fmt_ratio_sentence
from vaxreport.reporting.report.render import (
    Figure,
    Paragraph,
    ReportDoc,
    Section,
    Signatory,
    Table,
)

__all__ = ["SEED_COUNTS", "SAMPLE_TIMESTAMP", "sample_report"]

#: The seed report's headline counts (as of 31/5/2022).
SEED_COUNTS = {
    "doses_entered": 2_756_537,
    "doses_administered": 2_924_867,
    "feedback_handled": 2_628,
    "feedback_received": 2_628,
    "doses_signed": 2_496_793,
    "persons_verified": 200_763,
}
#: Fixed creation time for the sample PDF (the report date, 00:00 in Viet Nam).
SAMPLE_TIMESTAMP = datetime(2022, 5, 31, 17, 0, tzinfo=UTC)


def sample_report(figures: Sequence[Figure] = (), *, extra_rows: int = 0) -> ReportDoc:
    """The seed report as a ``ReportDoc``.

    Args:
        figures: charts to place in section II (e.g. from ``vaxreport.reporting.figures``).
        extra_rows: add this many illustrative rows to the indicator table (to test page breaks).

    Returns:
        The document.

    Examples:
        >>> doc = sample_report()
        >>> doc.doc_number, doc.sections[1].heading[:9]
        ('2102/BC-SYT', 'II. KẾT Q')
    """
    c = SEED_COUNTS
    as_of = date(2022, 5, 31)
    s1 = _direction_section()
    s2 = _results_section(c, as_of, _indicator_table(c, as_of, extra_rows), figures)
    s3 = _tasks_section(c)
    return ReportDoc(
        agency_parent="UBND tỉnh Thái Nguyên",
        agency="Sở Y tế",
        doc_number="2102/BC-SYT",
        place="Thái Nguyên",
        date=date(2022, 6, 1),
        title="Báo cáo",
        summary_line="Kết quả thực hiện Đề án 06 trong triển khai “làm sạch” dữ liệu tiêm chủng "
                     f"COVID-19 và ký xác nhận “Hộ chiếu vắc xin” đến ngày {fmt_date_short(as_of)}",
        sections=[s1, s2, s3],
        recipients=["Bộ Y tế (b/c)", "UBND tỉnh (b/c)", "Công an tỉnh",
                    "Sở Thông tin và Truyền thông", "UBND các huyện, thành phố",
                    "Các cơ sở tiêm chủng COVID-19", "Lưu: VT, NVY"],
        signatory=Signatory("KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "Nguyễn Văn A"),
        footer_note=None,
    )


def _indicator_table(c: dict[str, int], as_of: date, extra_rows: int) -> Table:
    """Section II's table: each indicator's numerator, denominator and rate."""
    rows: list[list[str | int | None]] = [
        ["1", "Mũi tiêm đã cập nhật trên hệ thống / mũi tiêm đã thực hiện",
         c["doses_entered"], c["doses_administered"],
         fmt_pct(c["doses_entered"], c["doses_administered"])],
        ["2", "Phản ánh đã xử lý / phản ánh đã nhận",
         c["feedback_handled"], c["feedback_received"],
         fmt_pct(c["feedback_handled"], c["feedback_received"])],
        ["3", "Mũi tiêm đã ký xác nhận “Hộ chiếu vắc xin” / mũi tiêm đã nhập",
         c["doses_signed"], c["doses_entered"], fmt_pct(c["doses_signed"], c["doses_entered"])],
        ["4", "Đối tượng được Công an xác minh thông tin", c["persons_verified"], None, None],
    ]
    for i in range(extra_rows):
        rows.append([str(5 + i), f"Chỉ tiêu minh họa số {i + 1}", 1000 * (i + 1), 1200 * (i + 1),
                     fmt_pct(1000 * (i + 1), 1200 * (i + 1))])
    return Table(
        columns=["TT", "Chỉ tiêu", "Số thực hiện", "Mẫu số", "Tỷ lệ"],
        rows=rows,
        align=["center", "left", "right", "right", "right"],
        caption=f"Kết quả thực hiện các chỉ tiêu đến ngày {fmt_date_short(as_of)}",
        widths=[0.6, 4.2, 1.7, 1.7, 1.2],
    )


def _direction_section() -> Section:
    """Section I: how the work was directed (fixed text of the seed report)."""
    return Section("I. CÔNG TÁC CHỈ ĐẠO, TRIỂN KHAI", [
        Paragraph("Được sự quan tâm, chỉ đạo trực tiếp của Tỉnh ủy, UBND tỉnh trong việc triển "
                  "khai Chiến dịch tiêm vắc xin phòng COVID-19, có các văn bản từ Trung ương, tỉnh "
                  "hướng dẫn kịp thời trong việc xây dựng kế hoạch cũng như cung cấp vắc xin, lựa "
                  "chọn đối tượng tiêm cho chiến dịch."),
        Paragraph("Ngày 29/4/2022, Sở Y tế đã phối hợp cùng Công an tỉnh, Sở Thông tin và Truyền "
                  "thông tổ chức Hội nghị “làm sạch” dữ liệu tiêm chủng COVID-19 và triển khai ký "
                  "xác nhận “Hộ chiếu vắc xin” với lãnh đạo UBND huyện/thành phố, lãnh đạo Công an "
                  "huyện/thành phố và các cơ sở tiêm chủng COVID-19 trên địa bàn."),
        Paragraph("Trong quá trình triển khai thực hiện, Sở Y tế đã phối hợp cùng Công an tỉnh, Sở "
                  "Thông tin và Truyền thông tổ chức đi kiểm tra công tác “làm sạch” dữ liệu tiêm "
                  "chủng COVID-19 và triển khai ký xác nhận “Hộ chiếu vắc xin” tại các huyện, thành "
                  "phố trên địa bàn nhằm kịp thời tháo gỡ những khó khăn, vướng mắc."),
    ])


def _results_section(c: dict[str, int], as_of: date, table: Table, figures: Sequence[Figure]) -> Section:
    """Section II: the results as of ``as_of``, in one sentence of counts, then the table and figures."""
    entered = fmt_ratio_sentence(c["doses_entered"], c["doses_administered"], "mũi tiêm")
    handled = fmt_ratio_sentence(c["feedback_handled"], c["feedback_received"], "phản ánh",
                                 verb=", đạt")
    signed = fmt_ratio_sentence(c["doses_signed"], c["doses_entered"],
                                "mũi tiêm đã nhập trên phần mềm", verb=", đạt")
    blocks: list[Paragraph | Table | Figure] = [
        Paragraph(f"Tính đến ngày {fmt_date_short(as_of)}, dữ liệu tiêm chủng được cập nhật trên "
                  f"hệ thống tiêm chủng COVID-19 là {entered}; công tác xử lý phản ánh thông tin "
                  f"tiêm chủng đã được các cơ sở y tế xử lý triệt để {handled}; đã ký xác nhận "
                  f"“Hộ chiếu vắc xin” cho {signed}. Số đối tượng được Công an xác minh thông tin "
                  f"là {fmt_int(c['persons_verified'])} thông tin."),
        table,
        *figures,
    ]
    return Section(f"II. KẾT QUẢ “LÀM SẠCH” DỮ LIỆU ĐẾN NGÀY {fmt_date_short(as_of)}", blocks)


def _tasks_section(c: dict[str, int]) -> Section:
    """Section III: the tasks ahead, with the doses still to sign."""
    return Section("III. NHIỆM VỤ TRONG THỜI GIAN TỚI", [
        Paragraph("Việc liên thông dữ liệu không những phục vụ dữ liệu về tiêm chủng COVID-19 mà "
                  "còn có ý nghĩa rất quan trọng về tương lai như: góp phần quản lý sức khỏe toàn "
                  "dân, đẩy nhanh tiến trình ứng dụng công nghệ thông tin, chuyển đổi số đối với "
                  "ngành Y tế, khám bệnh, chữa bệnh không dùng giấy, sử dụng bệnh án điện tử, bệnh "
                  "viện thông minh."),
        Paragraph(f"Tỷ lệ ký xác nhận hiện đạt {fmt_pct(c['doses_signed'], c['doses_entered'])}; "
                  f"các cơ sở tiêm chủng tiếp tục rà soát, hoàn thành ký xác nhận "
                  f"{fmt_int(c['doses_entered'] - c['doses_signed'])} mũi tiêm còn lại."),
    ])
