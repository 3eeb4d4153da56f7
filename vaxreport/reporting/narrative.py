"""The report's words: turns indicators into the sentences, tables and lists of a Báo cáo.

Section I states the results as the seed report does (counts first, then the percentage computed
from them); section II is written from the data (where unsigned doses and unverified persons are
concentrated, which errors remain); section III comes from the params.

Examples:
    >>> from vaxreport.reporting.metrics import Ratio
    >>> results_sentence({"entry": Ratio(2756537, 2924867), "feedback": Ratio(2628, 2628),
    ...     "signing": Ratio(2496793, 2756537), "police_verified": Ratio(200763, 1300000)},
    ...     date(2022, 5, 31))[:88]
    'Tính đến ngày 31/5/2022, dữ liệu tiêm chủng được cập nhật trên hệ thống tiêm chủng COVID'
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd

from vaxreport.facts import Facts
from vaxreport.params import RunParams, Signatory
from vaxreport.reporting import figures, metrics
from vaxreport.reporting.metrics import Ratio
from vaxreport.reporting.report.format import (
    NOT_APPLICABLE,
    fmt_date_short,
    fmt_int,
    fmt_int_change,
    fmt_pct,
    fmt_pct_value,
    fmt_pp_change,
)
from vaxreport.reporting.report.render import Figure, Paragraph, ReportDoc, Section, Table

DISTRICT_RECIPIENTS = ("Sở Y tế (b/c)", "UBND huyện, thành phố (b/c)", "Các cơ sở tiêm chủng trên địa bàn",
                       "Lưu: VT")
AGE_LABELS_VI = {"5-11": "Từ 5 đến 11 tuổi", "12-17": "Từ 12 đến 17 tuổi", "18+": "Từ 18 tuổi trở lên",
                 metrics.AGE_UNDER_5: "Dưới 5 tuổi (*)", metrics.AGE_UNKNOWN: "Không rõ ngày sinh (*)",
                 "Tổng": "Tổng"}
#: Coverage rows without a population (no percentage: "—" in every rate cell).
_NO_POPULATION = (metrics.AGE_UNDER_5, metrics.AGE_UNKNOWN)


@dataclass(frozen=True)
class Unit:
    """Who reports and about what: the province (code None) or one district."""

    code: str | None
    name: str
    agency_parent: str
    agency: str
    doc_number: str
    place: str
    signatory: Signatory
    recipients: tuple[str, ...] = ()


def results_sentence(h: dict[str, Ratio], as_of: date) -> str:
    """The seed report's headline paragraph, with percentages that reproduce from the counts."""
    e, fb, s, pv = h["entry"], h["feedback"], h["signing"], h["police_verified"]
    return (f"Tính đến ngày {fmt_date_short(as_of)}, dữ liệu tiêm chủng được cập nhật trên hệ thống tiêm chủng "
            f"COVID-19 là {fmt_int(e.num)}/{fmt_int(e.den)} mũi tiêm, đạt {fmt_pct(e.num, e.den)}; "
            f"công tác xử lý phản ánh thông tin tiêm chủng: các cơ sở y tế đã xử lý {fmt_int(fb.num)}/"
            f"{fmt_int(fb.den)} phản ánh, đạt {fmt_pct(fb.num, fb.den)}; đã ký xác nhận \u201cHộ chiếu vắc xin\u201d "
            f"cho {fmt_int(s.num)}/{fmt_int(s.den)} mũi tiêm đã nhập trên phần mềm, đạt {fmt_pct(s.num, s.den)}. "
            f"Số đối tượng được Công an xác minh thông tin là {fmt_int(pv.num)} đối tượng "
            f"({fmt_pct(pv.num, pv.den)} số người đã tiêm sau khi loại trùng).")


def _pct_cell(value: Any) -> str:
    """A percentage column value (already rounded half-up by ``metrics``) as ``"94,24%"``."""
    return fmt_pct_value(None if value is None or pd.isna(value) else Decimal(str(value)))


def headline_table(h: dict[str, Ratio]) -> Table:
    rows = [[metrics.HEADLINE_LABELS[k], fmt_int(r.num), fmt_int(r.den), fmt_pct(r.num, r.den)]
            for k, r in h.items()]
    return Table(columns=["Chỉ tiêu", "Kết quả", "Mẫu số", "Tỷ lệ"], rows=rows,
                 align=["left", "right", "right", "right"], caption="Kết quả các chỉ tiêu chính",
                 widths=[3.2, 1.2, 1.2, 0.9])


def district_table(table: pd.DataFrame) -> Table:
    rows = [[r.district_name, f"{fmt_int(r.entry_num)}/{fmt_int(r.entry_den)}", _pct_cell(r.entry_pct),
             f"{fmt_int(r.signing_num)}/{fmt_int(r.signing_den)}", _pct_cell(r.signing_pct),
             fmt_int(r.police_verified_num)] for r in table.itertuples()]
    return Table(columns=["Huyện/thành phố", "Mũi đã nhập/đã tiêm", "Tỷ lệ nhập", "Mũi đã ký/đã nhập",
                          "Tỷ lệ ký", "Công an xác minh"], rows=rows,
                 align=["left", "right", "right", "right", "right", "right"],
                 caption="Kết quả theo huyện, thành phố",  # "Thành phố Thái Nguyên" on one line
                 widths=["auto", 1.6, 0.9, 1.6, 0.9, 1.0])


def commune_table(table: pd.DataFrame) -> Table:
    rows = [[r.commune_name, fmt_int(r.persons), fmt_int(r.doses), fmt_int(r.signed), _pct_cell(r.signing_pct),
             fmt_int(r.police_verified)] for r in table.itertuples()]
    return Table(columns=["Xã, phường, thị trấn", "Số người tiêm", "Mũi tiêm", "Mũi đã ký", "Tỷ lệ ký",
                          "Công an xác minh"], rows=rows,
                 align=["left", "right", "right", "right", "right", "right"],
                 caption="Kết quả theo xã, phường, thị trấn (nơi cư trú)", widths=[2.0, 1, 1, 1, 0.8, 1])


def site_table(table: pd.DataFrame, caption: str) -> Table:
    rows = [[str(r.site_name if isinstance(getattr(r, "site_name", None), str) else r.site_code),
             fmt_int(r.administered), fmt_int(r.on_platform), _pct_cell(r.entry_pct), fmt_int(r.signed),
             _pct_cell(r.signing_pct)] for r in table.itertuples()]
    return Table(columns=["Cơ sở tiêm chủng", "Mũi đã tiêm", "Mũi đã nhập", "Tỷ lệ nhập", "Mũi đã ký",
                          "Tỷ lệ ký"], rows=rows, align=["left", "right", "right", "right", "right", "right"],
                 caption=caption, widths=[2.4, 1, 1, 0.8, 1, 0.8])


def coverage_table(table: pd.DataFrame) -> Table:
    """Bảng "Độ bao phủ": counts with their rate against the age group's population; the rows of
    persons outside the population's age groups (``metrics.coverage``) print counts only."""
    def cell(n: int, value: Any, age_group: str) -> str:
        return fmt_int(n) if age_group in _NO_POPULATION else f"{fmt_int(n)} ({_pct_cell(value)})"

    rows = [[AGE_LABELS_VI.get(r.age_group, r.age_group),
             NOT_APPLICABLE if r.age_group in _NO_POPULATION else fmt_int(r.population),
             cell(r.at_least_one, r.at_least_one_pct, r.age_group),
             cell(r.primary_complete, r.primary_complete_pct, r.age_group),
             cell(r.booster, r.booster_pct, r.age_group)] for r in table.itertuples()]
    return Table(columns=["Nhóm tuổi", "Dân số", "Tiêm ≥ 1 mũi", "Đủ liều cơ bản", "Mũi nhắc lại"], rows=rows,
                 align=["left", "right", "right", "right", "right"],
                 caption="Độ bao phủ vắc xin theo nhóm tuổi (người, sau khi loại trùng)",
                 widths=[1, "auto", "auto", "auto", "auto"])  # "1.079.597 (91,95%)" on one line


def coverage_note(table: pd.DataFrame, as_of: date) -> Paragraph | None:
    """The note under the coverage table when it has rows without a population (``(*)``): who
    they are, and that the "Tổng" row counts them, so it equals the persons counted elsewhere."""
    t = table.set_index("age_group")
    parts = []
    if metrics.AGE_UNDER_5 in t.index:
        parts.append(f"{fmt_int(int(t.loc[metrics.AGE_UNDER_5, 'at_least_one']))} người dưới 5 tuổi "
                     f"(tính đến ngày {fmt_date_short(as_of)})")
    if metrics.AGE_UNKNOWN in t.index:
        parts.append(f"{fmt_int(int(t.loc[metrics.AGE_UNKNOWN, 'at_least_one']))} người không có ngày sinh hợp lệ")
    if not parts:
        return None
    total = fmt_int(int(t.loc["Tổng", "at_least_one"]))
    return Paragraph(f"(*) Gồm {' và '.join(parts)}: không có dân số tương ứng nên không tính tỷ lệ; "
                     f"cần rà soát lại ngày sinh. Dòng \u201cTổng\u201d tính cả số người này "
                     f"({total} người đã tiêm sau khi loại trùng).", italic=True)


def quality_paragraphs(dq: dict[str, Any]) -> list[Paragraph]:
    v = dq["valid_id"]
    out = [Paragraph(
        f"Kết quả làm sạch dữ liệu: {fmt_int(v.num)}/{fmt_int(v.den)} người có số định danh (CCCD/CMND) hợp lệ, "
        f"đạt {fmt_pct(v.num, v.den)}; đã phát hiện và gộp {fmt_int(dq['person_records_merged'])} hồ sơ "
        f"đối tượng trùng lặp (của {fmt_int(dq['persons_with_duplicates'])} người) và "
        f"{fmt_int(dq['dose_rows_merged'])} mũi tiêm nhập trùng; {fmt_int(dq['quarantined_rows'])} dòng dữ liệu "
        f"không sử dụng được đã được tách riêng để kiểm tra lại.")]
    return out


def commune_labels(communes: pd.DataFrame, units: pd.DataFrame) -> list[str]:
    """Commune names for a sentence; with the district when the table spans several districts
    (names repeat across districts: "Phường Trung Thành (TP Thái Nguyên)").

    >>> units = pd.DataFrame({"commune_code": ["1", "2"], "district_code": ["a", "b"],
    ...                       "district_short": ["TP Thái Nguyên", "TP Phổ Yên"]})
    >>> commune_labels(pd.DataFrame({"commune_code": ["1", "2"], "commune_name": ["Xã A", "Xã A"]}), units)
    ['Xã A (TP Thái Nguyên)', 'Xã A (TP Phổ Yên)']
    """
    names = communes["commune_name"].astype(str).tolist()
    if units["district_code"].nunique() <= 1 or "district_short" not in units:
        return names
    short = units.drop_duplicates("commune_code").set_index("commune_code")["district_short"]
    return [f"{name} ({short.get(code, '')})".replace(" ()", "") for name, code in zip(names, communes["commune_code"])]


def difficulties(f: Facts, sites: pd.DataFrame, communes: pd.DataFrame, dq: dict[str, Any]) -> list[Paragraph]:
    """Section II, written from the data."""
    out: list[Paragraph] = []
    unsigned = sites.assign(unsigned=sites.on_platform - sites.signed)
    total_unsigned = int(unsigned.unsigned.sum())
    if total_unsigned:
        top = unsigned.sort_values(["unsigned", "site_code"], ascending=[False, True]).head(3)
        share = int(top.unsigned.sum())
        names = "; ".join(f"{(r.site_name if isinstance(r.site_name, str) else r.site_code)} "
                          f"({fmt_int(r.unsigned)} mũi)" for r in top.itertuples())
        out.append(Paragraph(
            f"Còn {fmt_int(total_unsigned)} mũi tiêm đã nhập chưa được ký xác nhận; tập trung nhiều nhất tại: "
            f"{names}, chiếm {fmt_pct(share, total_unsigned)} số mũi chưa ký."))
    status = {str(k): int(v) for k, v in dq["verify_status"].items()}
    not_ok = {k: v for k, v in status.items() if k != "verified"}
    if sum(not_ok.values()):
        # "no_id" is verify's "no well-formed ID to look up", not clean's "no valid ID" (a stricter
        # test, printed in section I and III): two different counts must not share one wording
        labels = {"mismatch": "thông tin lệch với CSDLQG", "not_found": "số định danh không có trong hệ thống",
                  "no_id": "không có số CCCD/CMND đúng định dạng để đối chiếu", "unchecked": "chưa xác thực"}
        parts = "; ".join(f"{labels.get(k, k)}: {fmt_int(v)} người" for k, v in sorted(not_ok.items()))
        worst = communes.assign(gap=communes.persons - communes.police_verified)
        worst = worst[worst.persons > 0].sort_values(["gap", "commune_code"], ascending=[False, True]).head(3)
        where = ", ".join(commune_labels(worst, f.units))
        verified, persons = status.get("verified", 0), sum(status.values())
        out.append(Paragraph(
            f"Số người được xác thực đúng với CSDLQG là {fmt_int(verified)}/{fmt_int(persons)} người, đạt "
            f"{fmt_pct(verified, persons)}; còn {fmt_int(sum(not_ok.values()))} người chưa được xác thực, gồm: "
            f"{parts}. Tập trung nhiều tại: {where}."))
    findings = dq["findings"].head(4)
    if len(findings):  # "label: n": labels may end in a parenthesis of their own
        items = "; ".join(f"{r.label_vi.rstrip('.').lower()}: {fmt_int(r.n)}" for r in findings.itertuples())
        out.append(Paragraph(f"Các lỗi dữ liệu mũi tiêm còn phải rà soát, sửa trên nền tảng: {items}."))
    low = metrics.laggards(sites, "entry_pct", den="administered")
    low = low[low.entry_pct < 100]
    if len(low):
        names = ", ".join(f"{(r.site_name if isinstance(r.site_name, str) else r.site_code)} "
                          f"({_pct_cell(r.entry_pct)})" for r in low.head(3).itertuples())
        out.append(Paragraph(f"Một số cơ sở tiêm chủng có tỷ lệ cập nhật mũi tiêm lên hệ thống thấp: {names}."))
    if not out:
        out.append(Paragraph("Không có khó khăn, vướng mắc đáng kể về dữ liệu trong kỳ báo cáo."))
    return out


def default_proposals(h: dict[str, Ratio], dq: dict[str, Any]) -> list[str]:
    """Section III when the params give none: one proposal per indicator still short of 100%."""
    out = []
    if h["entry"].num < h["entry"].den:
        out.append(f"Đề nghị các cơ sở tiêm chủng rà soát, cập nhật {fmt_int(h['entry'].den - h['entry'].num)} "
                   "mũi tiêm còn thiếu lên Nền tảng quản lý tiêm chủng COVID-19.")
    if h["signing"].num < h["signing"].den:
        unsigned = h['signing'].den - h['signing'].num
        out.append(f"Đề nghị các cơ sở tiêm chủng hoàn thành ký xác nhận {fmt_int(unsigned)} "
                   "mũi tiêm còn lại để cấp \u201cHộ chiếu vắc xin\u201d cho người dân.")
    if dq["valid_id"].num < dq["valid_id"].den:
        out.append("Đề nghị Công an các xã, phường, thị trấn phối hợp xác minh, bổ sung, sửa số định danh cho "
                   f"{fmt_int(dq['valid_id'].den - dq['valid_id'].num)} người chưa có số CCCD/CMND hợp lệ.")
    return out


def change_paragraph(h: dict[str, Ratio], previous: dict[str, Any] | None) -> Paragraph | None:
    """Change since the previous run's ``metrics.json``, in points of the printed percentages."""
    if not previous:
        return None
    t = metrics.compare(h, previous).set_index("indicator")
    parts = []
    for key, label in (("entry", "tỷ lệ mũi tiêm được cập nhật"), ("signing", "tỷ lệ mũi tiêm đã ký xác nhận"),
                       ("feedback", "tỷ lệ phản ánh đã xử lý")):
        if key in t.index and t.loc[key, "prev_pct"] is not None:
            parts.append(f"{label} {fmt_pp_change(t.loc[key, 'pct'], t.loc[key, 'prev_pct'])} "
                         f"(từ {fmt_pct_value(t.loc[key, 'prev_pct'])} lên {fmt_pct_value(t.loc[key, 'pct'])})"
                         .replace(" lên ", " lên " if (t.loc[key, "change_pp"] or 0) >= 0 else " xuống "))
    pv = t.loc["police_verified"] if "police_verified" in t.index else None
    if pv is not None and pv["prev_num"] is not None:
        parts.append(f"số đối tượng được Công an xác minh {fmt_int_change(int(pv['num']), int(pv['prev_num']))}")
    if not parts:
        return None
    period = previous.get("period") or "kỳ trước"
    return Paragraph(f"So với kỳ báo cáo trước ({period}): " + "; ".join(parts) + ".")


def build_report(f: Facts, unit: Unit, p: RunParams, *, district_rollup: pd.DataFrame | None = None,
                 missing_districts: list[str] | None = None, previous: dict[str, Any] | None = None,
                 indicators: metrics.ReportMetrics | None = None) -> ReportDoc:
    """The whole Báo cáo for one unit (the province roll-up when ``district_rollup`` is given).

    ``previous``: the same unit's ``metrics.json`` of the previous run, if any (change since then).
    ``indicators``: ``metrics.report_metrics(f, p.period_start, p.period_end)`` if a notebook cell
    already computed it (then it is not computed again).
    """
    start, end = p.period_bounds()
    m = indicators if indicators is not None else metrics.report_metrics(f, start, end)
    h, sites, communes, dq, cov = m.headline, m.sites, m.communes, m.quality, m.coverage
    blocks: list[Any] = [Paragraph(results_sentence(h, end))]
    change = change_paragraph(h, previous)
    if change is not None:
        blocks.append(change)
    blocks.append(headline_table(h))
    if district_rollup is not None:
        blocks.append(district_table(district_rollup))
        fig = figures.bar_indicator_by_unit(district_rollup.assign(label=district_rollup.district_name),
                                            value="signing_pct", label="label",
                                            target=p.targets.get("passport_signing"))
        blocks.append(Figure(image=figures.figure_png(fig),
                             caption="Tỷ lệ mũi tiêm đã ký xác nhận theo huyện, thành phố", width_mm=150))
        if missing_districts:
            blocks.append(Paragraph("Chưa tổng hợp được số liệu của: " + ", ".join(missing_districts)
                                    + " (báo cáo huyện chưa hoàn thành)."))
    else:
        blocks.append(commune_table(communes))
        blocks.append(site_table(sites, "Kết quả theo cơ sở tiêm chủng"))
    blocks.append(coverage_table(cov))
    note = coverage_note(cov, end)
    if note is not None:
        blocks.append(note)
    blocks += quality_paragraphs(dq)
    blocks.append(Figure(image=figures.figure_png(figures.weekly_trend(m.trend)),
                         caption="Mũi tiêm đã nhập và đã ký xác nhận theo tuần", width_mm=150))
    proposals = list(p.proposals) or default_proposals(h, dq)
    sections = [
        Section("I. KẾT QUẢ THỰC HIỆN", blocks),
        Section("II. KHÓ KHĂN, VƯỚNG MẮC", difficulties(f, sites, communes, dq)),
        Section("III. ĐỀ XUẤT, KIẾN NGHỊ", [Paragraph(x) for x in proposals] or [Paragraph("Không có đề xuất.")]),
    ]
    recipients = list(p.recipients) if unit.code is None else list(unit.recipients or DISTRICT_RECIPIENTS)
    return ReportDoc(agency_parent=unit.agency_parent, agency=unit.agency, doc_number=unit.doc_number,
                     place=unit.place, date=p.report_date, title=p.doc_type, summary_line=summary_line(p, unit),
                     sections=sections, recipients=recipients, signatory=unit.signatory, footer_note=None)


def province_unit(p: RunParams) -> Unit:
    """The province report's issuing agency, from the run params."""
    return Unit(code=None, name=p.province_name, agency_parent=p.agency_parent, agency=p.agency,
                doc_number=p.doc_number, place=p.place or p.province_name,
                signatory=p.signatory)


def district_unit(p: RunParams, code: str) -> Unit:
    """A district health centre's report header, from the run params (with its overrides)."""
    d = p.district(code)
    return Unit(code=d.code, name=d.name, agency_parent=d.agency_parent, agency=d.agency,
                doc_number=d.doc_number, place=d.place or p.place or p.province_name,
                signatory=d.signatory,
                recipients=tuple(d.recipients))


def summary_line(p: RunParams, unit: Unit) -> str:
    """The trích yếu: the params title, scoped to the unit and the period end."""
    where = f" trên địa bàn {unit.name[:1].lower()}{unit.name[1:]}" if unit.code is not None else ""
    return f"{p.title}{where} đến ngày {fmt_date_short(p.period_bounds()[1])}"


def review_paragraph(summary: dict[str, Any]) -> Paragraph | None:
    """The sentence on the clerical review decisions replayed by this run (``linkage.decisions``:
    counts only), and the warning on person codes the decisions file names but the data lacks;
    None when the params name no decisions file.

    >>> review_paragraph({"configured": True, "decisions": 5, "applied": 4, "joined": 1, "split": 2,
    ...                   "unknown": 1}).text  # doctest: +NORMALIZE_WHITESPACE
    'Rà soát trùng lặp đối tượng: đã áp dụng 4/5 kết luận rà soát của cán bộ: gộp 1 cặp hồ sơ và tách 2 cặp
    hồ sơ so với kết quả tự động, 1 kết luận trùng với kết quả tự động. Cảnh báo: 1 mã đối tượng trong tệp
    kết luận rà soát không có trong dữ liệu kỳ này; các kết luận có mã đó chưa được áp dụng.'
    """
    if not summary.get("configured"):
        return None
    applied, total = int(summary["applied"]), int(summary["decisions"])
    joined, split = int(summary["joined"]), int(summary["split"])
    text = (f"Rà soát trùng lặp đối tượng: đã áp dụng {fmt_int(applied)}/{fmt_int(total)} kết luận rà soát "
            f"của cán bộ: gộp {fmt_int(joined)} cặp hồ sơ và tách {fmt_int(split)} cặp hồ sơ so với kết quả tự "
            f"động, {fmt_int(applied - joined - split)} kết luận trùng với kết quả tự động.")
    if int(summary.get("unknown", 0)):
        text += (f" Cảnh báo: {fmt_int(int(summary['unknown']))} mã đối tượng trong tệp kết luận rà soát không có "
                 "trong dữ liệu kỳ này; các kết luận có mã đó chưa được áp dụng.")
    return Paragraph(text)


def add_review_paragraph(doc: ReportDoc, summary: dict[str, Any]) -> ReportDoc:
    """``doc`` with :func:`review_paragraph` right after the cleansing results of section I;
    unchanged when there is none. Does not mutate ``doc``."""
    para = review_paragraph(summary)
    if para is None or not doc.sections:
        return doc
    blocks = list(doc.sections[0].blocks)
    at = next((k + 1 for k, b in enumerate(blocks)
               if isinstance(b, Paragraph) and b.text.startswith("Kết quả làm sạch dữ liệu")), len(blocks))
    sections = list(doc.sections)
    sections[0] = dataclasses.replace(sections[0], blocks=[*blocks[:at], para, *blocks[at:]])
    return dataclasses.replace(doc, sections=sections)
