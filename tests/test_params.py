"""Tests of vaxreport.params: the example YAML, defaults, and every problem reported at once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from vaxreport.exceptions import ParamsError
from vaxreport.params import DEFAULT_TARGETS, RunParams

ROOT = Path(__file__).resolve().parents[1]
MINIMAL = "period: 2022-05\nreport_date: 2022-06-01\ninputs: exports\n"


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "params.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ParamsError) as err:
        RunParams.from_yaml(write(tmp_path, text))
    head, *lines = str(err.value).splitlines()
    assert head == f"{tmp_path / 'params.yaml'}: {len(lines)} problem(s):"
    return lines


def test_example_params_2022_05() -> None:
    p = RunParams.from_yaml(ROOT / "params" / "2022-05.yaml")
    assert (p.province_code, p.province_name, p.period) == ("19", "Thái Nguyên", "2022-05")
    assert (p.period_start, p.period_end) == (dt.date(2021, 3, 8), dt.date(2022, 5, 31))
    assert p.report_date == dt.date(2022, 6, 1)
    assert p.inputs == (ROOT / "inputs" / "2022-05").resolve()
    assert (p.agency_parent, p.agency, p.doc_number) == ("UBND TỈNH THÁI NGUYÊN", "SỞ Y TẾ",
                                                         "2102/BC-SYT")
    assert (p.signatory.authority, p.signatory.title) == ("KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC")
    assert p.recipients[-1] == "Lưu: VT, NVY" and len(p.proposals) == 3
    assert p.targets["passport_signing"] == 95.0 and p.targets["data_entry"] == 100.0
    assert p.district_codes() == ["164", "165", "167", "168", "169", "170", "171", "172", "173"]
    tp = p.district("164")
    assert (tp.agency, tp.doc_number, tp.signatory.name) == (
        "TRUNG TÂM Y TẾ THÀNH PHỐ THÁI NGUYÊN", "…/BC-TTYT", "Trần Thị Thu Hà")
    assert p.district("173").agency == "TRUNG TÂM Y TẾ HUYỆN PHÚ BÌNH"
    assert p.district("173").recipients[1] == "UBND huyện Phú Bình (b/c)"
    assert p.thresholds.unsigned_days == 14 and p.thresholds.dedup_threshold is None


def test_defaults_fill_everything_else(tmp_path: Path) -> None:
    p = RunParams.from_yaml(write(tmp_path, MINIMAL))
    assert (p.period_start, p.period_end) == (dt.date(2022, 5, 1), dt.date(2022, 5, 31))
    assert p.campaign_start == dt.date(2021, 3, 8)
    assert p.agency_parent == "UBND TỈNH THÁI NGUYÊN" and p.place == "Thái Nguyên"
    assert dict(p.targets) == DEFAULT_TARGETS
    assert p.inputs == (tmp_path / "exports").resolve()
    assert len(p.districts) == 9
    assert p.to_dict()["report_date"] == "2022-06-01"


def test_unquoted_codes_stay_strings(tmp_path: Path) -> None:
    p = RunParams.from_yaml(write(tmp_path, MINIMAL + "province_code: 19\n"
                                  "districts:\n  - code: 164\n    doc_number: 15/BC-TTYT\n"))
    assert p.province_code == "19"
    assert p.district("164").doc_number == "15/BC-TTYT"


@pytest.mark.parametrize("written", ["19", '"19"', "019", '"019"'])
def test_province_code_spellings(tmp_path: Path, written: str) -> None:
    p = RunParams.from_yaml(write(tmp_path, MINIMAL + f"province_code: {written}\n"))
    assert p.province_code == "19" and p.province_name == "Thái Nguyên"


def test_province_code_as_float_says_how_to_quote(tmp_path: Path) -> None:
    assert problems(tmp_path, MINIMAL + "province_code: 19.0\n") == [
        '- province_code: expected a 2-digit code such as "01" (quote it), got 19.0 (float)']


def test_octal_looking_code_keeps_its_text(tmp_path: Path) -> None:
    # YAML 1.1 reads 017 as octal 15; the loader keeps the text "017".
    lines = problems(tmp_path, MINIMAL + "districts:\n  - code: 017\n")
    assert lines == ["- districts[0].code: district '017' is not in the admin reference table "
                     "for province 19; known: ['164', '165', '167', '168', '169', '170', '171', "
                     "'172', '173']"]


def test_unknown_key_is_an_error_with_suggestion(tmp_path: Path) -> None:
    assert problems(tmp_path, MINIMAL + "doc_numbr: 2102/BC-SYT\n") == [
        "- unknown key 'doc_numbr' (did you mean 'doc_number'?)"]


def test_wrong_type_echoes_value(tmp_path: Path) -> None:
    assert problems(tmp_path, MINIMAL + "thresholds:\n  unsigned_days: two weeks\n") == [
        "- thresholds.unsigned_days: expected a whole number, got 'two weeks' (str)"]


def test_district_not_in_reference_table(tmp_path: Path) -> None:
    assert problems(tmp_path, MINIMAL + 'districts:\n  - code: "999"\n') == [
        "- districts[0].code: district '999' is not in the admin reference table for province "
        "19; known: ['164', '165', '167', '168', '169', '170', '171', '172', '173']"]


def test_all_problems_collected_in_one_error(tmp_path: Path) -> None:
    text = ("period: 2022-13\nreport_date: 1/6/2022\nprovince_code: 99\ncolour: red\n"
            "signatory: Nguyễn Văn A\ntargets:\n  passport_signing: 0.95\n"
            "thresholds:\n  name_match_score: 150\n  dedup_threshold: high\n")
    assert problems(tmp_path, text) == [
        "- unknown key 'colour'",
        '- period: expected "YYYY-MM" (e.g. "2022-05"), got \'2022-13\'',
        "- report_date: expected a date YYYY-MM-DD, got '1/6/2022' (str)",
        "- inputs: required (folder of the exports, relative to this file)",
        "- province_code: '99' is not a GSO province code in vaxreport/data/admin_units.csv",
        "- signatory: expected a mapping of keys to values, got 'Nguyễn Văn A' (str)",
        "- targets.passport_signing: targets are percentages: write 95 for 95 %, got 0.95",
        "- thresholds.dedup_threshold: expected a number, got 'high' (str)",
        "- thresholds.name_match_score: must be between 0 and 100, got 150",
    ]


def test_dates_must_be_ordered(tmp_path: Path) -> None:
    text = ("period: 2022-05\nreport_date: 2022-05-20\ninputs: x\nperiod_start: 2021-01-01\n"
            "period_end: 2022-06-30\n")
    assert problems(tmp_path, text) == [
        "- period_end: 2022-06-30 is not in the period 2022-05",
        "- period_start: 2021-01-01 is before campaign_start 2021-03-08",
        "- report_date: 2022-05-20 is before period_end 2022-06-30",
    ]


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match="not valid YAML"):
        RunParams.from_yaml(write(tmp_path, "period: [2022\n"))
    with pytest.raises(ParamsError, match="params file not found"):
        RunParams.from_yaml(tmp_path / "nope.yaml")


BAD = Path(__file__).parent / "data" / "bad"


def bad_problems(name: str) -> list[str]:
    with pytest.raises(ParamsError) as err:
        RunParams.from_yaml(BAD / name)
    head, *lines = str(err.value).splitlines()
    assert head == f"{BAD / name}: {len(lines)} problem(s):"
    return lines


def test_corpus_params_unknown_key() -> None:
    assert bad_problems("params_unknown_key.yaml") == [
        "- unknown key 'signer' (did you mean 'signatory'?)"]


def test_corpus_params_wrong_types_echo_values() -> None:
    assert bad_problems("params_wrong_type.yaml") == [
        "- report_date: expected a date YYYY-MM-DD, got '01/06/2022' (str)",
        "- recipients: expected a list of text lines, got 'Bộ Y tế' (str)",
        "- thresholds.unsigned_days: expected a whole number, got 14.5 (float)",
    ]


def test_corpus_params_unknown_district() -> None:
    assert bad_problems("params_unknown_district.yaml") == [
        "- districts[0].code: district '166' is not in the admin reference table for province "
        "19; known: ['164', '165', '167', '168', '169', '170', '171', '172', '173']"]


def test_a_district_with_no_signatory_is_signed_by_its_director(tmp_path: Path) -> None:
    p = RunParams.from_yaml(write(tmp_path, MINIMAL + "signatory:\n  authority: KT. GIÁM ĐỐC\n"
                                  "  title: PHÓ GIÁM ĐỐC\n  name: Nguyễn Văn Hùng\n"))
    sig = p.district("165").signatory  # not listed: no deputy, no "KT." line, space for the name
    assert (sig.authority, sig.title, sig.name) == ("", "GIÁM ĐỐC", "")
    assert p.signatory.authority == "KT. GIÁM ĐỐC"  # the province's own block is not inherited


def test_each_district_carries_its_signatory(tmp_path: Path) -> None:
    text = MINIMAL + ("districts:\n"
                      "  - code: \"164\"\n"
                      "    signatory: {authority: KT. GIÁM ĐỐC, title: PHÓ GIÁM ĐỐC, name: Trần Thị Thu Hà}\n"
                      "  - code: \"165\"\n    signatory: {name: Lê Văn Nam}\n"
                      "  - code: \"171\"\n    signatory: {authority: GIÁM ĐỐC, title: \"\", name: Lê Minh Tuấn}\n")
    p = RunParams.from_yaml(write(tmp_path, text))
    got = {c: (s.authority, s.title, s.name) for c in ("164", "165", "171") for s in [p.district(c).signatory]}
    assert got == {"164": ("KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "Trần Thị Thu Hà"),
                   "165": ("", "GIÁM ĐỐC", "Lê Văn Nam"),
                   "171": ("", "GIÁM ĐỐC", "Lê Minh Tuấn")}  # a lone head title is the title line


def test_signing_for_the_head_needs_the_signers_own_title(tmp_path: Path) -> None:
    text = MINIMAL + ("districts:\n  - code: \"164\"\n    signatory: {authority: KT. GIÁM ĐỐC, name: A}\n"
                      "  - code: \"165\"\n    signatory: {authority: KT. GIÁM ĐỐC, title: GIÁM ĐỐC}\n")
    assert problems(tmp_path, text) == [
        f"- districts[{i}].signatory.title: 'KT. GIÁM ĐỐC' means someone signs for the GIÁM ĐỐC: give the "
        "signer's own title (e.g. PHÓ GIÁM ĐỐC), or leave out 'authority' when the head signs" for i in (0, 1)]


def test_a_period_outside_the_dated_unit_lists_is_a_params_error(tmp_path: Path) -> None:
    """Districts are checked against the units in force at the period's end (issue 16): a period
    the shipped GSO lists do not cover is one clear problem, not a crash in stage 1."""
    with pytest.raises(ParamsError, match=r"period: 2030-05-31 is outside the administrative-unit lists"):
        RunParams.from_yaml(write(tmp_path, "period: 2030-05\nreport_date: 2030-06-01\ninputs: exports\n"))


def test_districts_are_those_in_force_at_the_period_end(tmp_path: Path) -> None:
    """Bắc Ninh: Quế Võ (259) and Thuận Thành (262) were huyện in 2022, thị xã from 10/04/2023."""
    def kinds(period: str) -> dict[str, str]:
        year, month = (int(x) for x in period.split("-"))
        report = f"{year}-{month + 1:02d}-01"
        p = RunParams.from_yaml(write(tmp_path, f"period: {period}\nreport_date: {report}\ninputs: x\n"
                                                "province_code: \"27\"\n"))
        return {d.code: d.name for d in p.districts if d.code in ("259", "262")}
    assert all(name.startswith("Huyện") for name in kinds("2022-05").values())
    assert all(name.startswith("Thị xã") for name in kinds("2023-05").values())
