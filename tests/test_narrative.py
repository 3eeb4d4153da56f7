"""The report's words: seed sentences with reproducible percentages, section II from data."""

from __future__ import annotations

import io as _io
from datetime import UTC, date

from pypdf import PdfReader
from test_metrics import facts

from vaxreport.params import RunParams
from vaxreport.reporting import narrative, report
from vaxreport.reporting.metrics import Ratio

SEED = {"entry": Ratio(2756537, 2924867), "feedback": Ratio(2628, 2628), "signing": Ratio(2496793, 2756537),
        "police_verified": Ratio(200763, 1077405)}


def params() -> RunParams:
    return RunParams.from_dict({"period": "2022-05", "report_date": "2022-06-01", "inputs": ".",
                                "period_start": "2022-05-01", "period_end": "2022-05-31",
                                "proposals": ["Đề nghị hoàn thành ký số trước 15/6/2022."]})


def test_seed_sentence_has_correct_percentages():
    s = narrative.results_sentence(SEED, date(2022, 5, 31))
    assert "2.756.537/2.924.867 mũi tiêm, đạt 94,24%" in s
    assert "2.496.793/2.756.537 mũi tiêm đã nhập trên phần mềm, đạt 90,58%" in s
    assert "2.628/2.628 phản ánh, đạt 100,00%" in s
    assert "200.763 đối tượng" in s
    assert "94,17" not in s and "90,57" not in s


def test_difficulties_name_the_sites_with_unsigned_doses():
    from vaxreport.reporting import metrics

    f = facts()
    paras = narrative.difficulties(f, metrics.by_site(f), metrics.by_commune(f), metrics.data_quality(f))
    text = " ".join(p.text for p in paras)
    assert "Còn 2 mũi tiêm đã nhập chưa được ký xác nhận" in text
    assert "TYT A (1 mũi)" in text and "TYT B (1 mũi)" in text
    assert "xác thực đúng với CSDLQG là 1/3 người, đạt 33,33%; còn 2 người chưa được xác thực" in text
    assert "không có số CCCD/CMND đúng định dạng để đối chiếu: 1 người" in text
    assert "khoảng cách ngắn: 1" in text


def test_district_report_renders_with_its_unit_header():
    p = params()
    unit = narrative.district_unit(p, "167")
    doc = narrative.build_report(facts().scope("167"), unit, p)
    assert doc.agency == "TRUNG TÂM Y TẾ HUYỆN ĐỊNH HÓA"
    assert doc.summary_line.endswith("trên địa bàn huyện Định Hóa đến ngày 31/5/2022")
    assert doc.recipients[-1] == "Lưu: VT"
    pdf = report.render_pdf(doc, timestamp=narrative_timestamp())
    text = "".join(page.extract_text() for page in PdfReader(_io.BytesIO(pdf)).pages)
    assert "Đề nghị hoàn thành ký số trước 15/6/2022." in text


def test_default_proposals_follow_the_gaps():
    from vaxreport.reporting import metrics

    props = narrative.default_proposals(SEED, metrics.data_quality(facts()))
    assert any("168.330 mũi tiêm còn thiếu" in x for x in props)
    assert any("259.744 mũi tiêm còn lại" in x for x in props)


def narrative_timestamp():
    from datetime import datetime

    return datetime(2022, 6, 1, tzinfo=UTC)


def test_change_since_previous_run_in_points_of_printed_percentages():
    previous = {"period": "2022-04", "headline": {
        "entry": {"num": 2600000, "den": 2900000, "pct": "89.66"},
        "signing": {"num": 2500000, "den": 2600000, "pct": "96.15"},
        "police_verified": {"num": 150000, "den": 1000000, "pct": "15.00"}}}
    para = narrative.change_paragraph(SEED, previous)
    assert para.text.startswith("So với kỳ báo cáo trước (2022-04): ")
    assert "tỷ lệ mũi tiêm được cập nhật tăng 4,58 điểm phần trăm (từ 89,66% lên 94,24%)" in para.text
    assert "tỷ lệ mũi tiêm đã ký xác nhận giảm 5,57 điểm phần trăm (từ 96,15% xuống 90,58%)" in para.text
    assert narrative.change_paragraph(SEED, None) is None


def test_report_from_precomputed_indicators_is_the_same():
    from vaxreport.reporting import metrics

    p = params()
    f = facts().scope("164")
    unit = narrative.district_unit(p, "164")
    shared = metrics.report_metrics(f, p.period_start, p.period_end)
    assert narrative.build_report(f, unit, p, indicators=shared) == narrative.build_report(f, unit, p)


def _pdf_lines(doc) -> list[str]:
    pdf = report.render_pdf(doc, timestamp=narrative_timestamp())
    return [line.strip() for page in PdfReader(_io.BytesIO(pdf)).pages for line in page.extract_text().splitlines()]


def test_district_with_no_signatory_in_params_is_signed_by_its_director():
    p = params()  # names no district signatory
    doc = narrative.build_report(facts().scope("167"), narrative.district_unit(p, "167"), p)
    assert (doc.signatory.authority, doc.signatory.title, doc.signatory.name) == ("", "GIÁM ĐỐC", "")
    lines = _pdf_lines(doc)
    assert any(line.endswith("GIÁM ĐỐC") for line in lines)
    assert not any("KT." in line or "PHÓ GIÁM ĐỐC" in line for line in lines)


def test_coverage_rows_and_note_account_for_every_person():
    import pandas as pd

    from vaxreport.facts import Facts
    from vaxreport.reporting import metrics

    f = facts()
    extra = pd.DataFrame({"person_id": [4, 5], "district_code": ["164"] * 2, "commune_code": ["05440"] * 2,
                          "age_group": ["<5", None], "n_refs": [1, 1], "id_valid": [True, True], "doses": [1, 1],
                          "primary_complete": [False, False], "boosters": [0, 0], "verify_status": ["unchecked"] * 2})
    f = Facts(**{**f.__dict__, "persons": pd.concat([f.persons, extra], ignore_index=True)})
    cov = metrics.coverage(f)
    rows = {r[0]: r[1:] for r in narrative.coverage_table(cov).rows}
    assert rows["Dưới 5 tuổi (*)"] == ["—", "1", "0", "0"]
    assert rows["Không rõ ngày sinh (*)"] == ["—", "1", "0", "0"]
    assert rows["Tổng"][1] == "5 (26,32%)"  # 5 persons of 19 people: every person of the report
    note = narrative.coverage_note(cov, date(2022, 5, 31)).text
    assert "1 người dưới 5 tuổi (tính đến ngày 31/5/2022) và 1 người không có ngày sinh hợp lệ" in note
    assert "(5 người đã tiêm sau khi loại trùng)" in note
    assert narrative.coverage_note(metrics.coverage(facts()), date(2022, 5, 31)) is None
