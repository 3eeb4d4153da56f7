"""Tests of the clerical review decisions (``vaxreport.linkage.decisions``, ``graph.min_cut``,
``io.decisions``) and of the review queue (``linkage.review``): labelled cases, then stage 1 on a
tiny synthetic province replaying a decisions file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from linkage_cases import BASE, SAME_PERSON, background

from vaxreport import layout
from vaxreport.exceptions import ParamsError
from vaxreport.io.decisions import read_decisions, write_decisions
from vaxreport.linkage import cluster_persons
from vaxreport.linkage.cluster import link_persons
from vaxreport.linkage.decisions import apply_decisions, check_decisions, contradictions, decision_rows
from vaxreport.linkage.graph import min_cut
from vaxreport.linkage.review import ReviewWarning, review_queue
from vaxreport.params import RunParams
from vaxreport.runner.stages import StageOne
from vaxreport.synth.province import generate


def _decisions(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["person_a", "person_b", "decision"])


# ----------------------------------------------------------------------------- the file's checks
@pytest.mark.parametrize(("rows", "message"), [
    ([("1", "2", "maybe")], "line 2: decision must be one of ['same', 'different'], got 'maybe'"),
    ([("1", "1", "same")], "line 2: 1 is paired with itself"),
    ([("1", "", "same")], "line 2: person_a and person_b are both needed"),
    ([("1", "2", "same"), ("2", "3", "same"), ("3", "4", "same"), ("4", "1", "different")],
     "line 5: 4 and 1 are decided different, but a chain of same decisions joins them: "
     "4 = 3 (line 4) = 2 (line 3) = 1 (line 2)"),
])
def test_bad_or_contradictory_decisions_are_a_params_error(rows, message) -> None:
    with pytest.raises(ParamsError) as err:
        check_decisions(_decisions(*rows))
    assert message in str(err.value)


def test_every_problem_of_the_file_is_listed_at_once_and_a_missing_column_is_named() -> None:
    with pytest.raises(ParamsError, match="2 problem"):
        check_decisions(_decisions(("1", "1", "same"), ("2", "3", "perhaps")))
    with pytest.raises(ParamsError, match="missing column.*decision"):
        check_decisions(pd.DataFrame({"person_a": ["1"], "person_b": ["2"]}))


def test_a_different_pair_joined_only_through_other_decisions_and_the_model_is_no_contradiction() -> None:
    d = check_decisions(_decisions(("1", "2", "same"), ("3", "4", "same"), ("2", "3", "different"),
                                   (" 5 ", "6", "SAME")))
    assert d["decision"].tolist() == ["same", "same", "different", "same"]
    assert d["person_a"].tolist()[3] == "5"


def test_decisions_file_round_trip_any_delimiter_and_encoding(tmp_path: Path) -> None:
    p = tmp_path / "d.csv"
    p.write_bytes("person_a;person_b;decision;note\r\n10;11;same;Nguyễn Thị Ánh\r\n".encode("utf-16"))
    d = read_decisions(p)
    assert d.values.tolist() == [["10", "11", "same", "Nguyễn Thị Ánh"]]
    write_decisions(d, tmp_path / "out.csv")
    back = read_decisions(tmp_path / "out.csv")
    assert back[["person_a", "person_b", "decision", "note"]].values.tolist() == d.values.tolist()
    assert (tmp_path / "out.csv").stat().st_mode & 0o077 == 0  # names person codes: owner only
    with pytest.raises(ParamsError, match="cannot read"):
        read_decisions(tmp_path / "missing.csv")


# ----------------------------------------------------------------------------- cuts and joins
def test_min_cut_takes_the_weakest_links_separating_the_two() -> None:
    # 0 =30= 1 =5= 2 =30= 3, and 0 =4= 3: separating 0 and 3 cuts 1–2 and 0–3 (9 bits), not 30
    a, b = np.array([0, 1, 2, 0]), np.array([1, 2, 3, 3])
    cut = min_cut(range(4), a, b, np.array([30.0, 5.0, 30.0, 4.0]), 0, 3)
    assert cut.tolist() == [1, 3]
    with pytest.raises(ValueError, match="cannot be cut"):
        min_cut(range(2), np.array([0]), np.array([1]), np.array([np.inf]), 0, 1)


def test_parallel_links_add_up_in_the_cut() -> None:
    # two links 0–1 (3 + 3) against one 1–2 (5): the cut is 1–2
    cut = min_cut(range(3), np.array([0, 0, 1]), np.array([1, 1, 2]), np.array([3.0, 3.0, 5.0]), 0, 2)
    assert cut.tolist() == [2]


def test_different_splits_at_the_weakest_link_and_same_joins() -> None:
    labels = np.array([0, 0, 0, 0, 4, 5])  # one cluster 0-1-2-3 (a chain), two singletons
    a, b, w = np.array([0, 1, 2]), np.array([1, 2, 3]), np.array([40.0, 21.0, 35.0])
    decided = (np.array([0, 4]), np.array([3, 5]), np.array([False, True]))
    new, kept, joined, split = apply_decisions(labels, a, b, w, decided)
    assert new.tolist() == [0, 0, 2, 2, 4, 4]
    assert kept.tolist() == [True, False, True] and (joined, split) == (1, 1)


def test_same_decisions_are_never_cut_and_decisions_already_true_change_nothing() -> None:
    labels = np.array([0, 0, 0])
    a, b, w = np.array([0, 1]), np.array([1, 2]), np.array([25.0, 60.0])
    # "0 same 2" and "0 different 1": 0 and 2 are one person by decision (a link that cannot be
    # cut), so however strong 1–2 is, separating 1 from 0 takes both of 1's links
    decided = (np.array([0, 0]), np.array([2, 1]), np.array([True, False]))
    new, kept, joined, split = apply_decisions(labels, a, b, w, decided)
    assert new[0] == new[2] != new[1] and kept.tolist() == [False, False]
    assert (joined, split) == (0, 1)


def test_unknown_codes_are_listed_not_applied() -> None:
    a, b, same, unknown = decision_rows(_decisions(("7", "9", "same"), ("x", "8", "different")),
                                        pd.Series(["8", "9", "7"]))
    assert (a.tolist(), b.tolist(), same.tolist(), unknown) == ([2], [1], [True], ("x",))


BROTHERS = pd.DataFrame({  # one person twice (accent and ID typo), and a look-alike
    "person_ref": ["101", "102", "103", "104"],
    "full_name": ["Nguyễn Văn Hùng", "Nguyen Van Hung", "Trần Thị Lan", "Nguyễn Văn Hùng"],
    "birth_date": ["1985-03-12", "12/03/1985", "1990-01-01", "1985-03-12"],
    "id_number": ["019085001234", "019085001234", None, None],
    "phone": ["0912345678", "0912345678", "0987654321", "0912345670"],
    "commune_code": ["05443", "05443", "05500", "05443"],
})


def test_decisions_override_the_evidence_in_cluster_persons() -> None:
    plain = cluster_persons(BROTHERS)
    assert plain.iloc[0] == plain.iloc[1]  # the model merges 101 and 102 (same ID)
    split = cluster_persons(BROTHERS, decisions=_decisions(("101", "102", "different")))
    assert split.iloc[0] != split.iloc[1]
    joined = cluster_persons(BROTHERS, decisions=_decisions(("103", "104", "same"), ("999", "101", "same")))
    assert joined.iloc[2] == joined.iloc[3] and joined.iloc[0] == plain.iloc[0]
    res = link_persons(BROTHERS, None, decisions=_decisions(("103", "104", "same"), ("999", "101", "same")))
    assert (res.review.applied, res.review.joined, res.review.unknown) == (1, 1, ("999",))
    # the order of the rows does not change what the decisions do
    back = BROTHERS.iloc[::-1]
    again = cluster_persons(back, decisions=_decisions(("101", "102", "different")))
    assert (again.loc[3] != again.loc[2]) and again.loc[0] != again.loc[1]


def test_the_review_queue_leaves_out_decided_pairs_and_puts_the_largest_stake_first() -> None:
    res = link_persons(BROTHERS, None)
    queue = review_queue(BROTHERS, res, band=100.0, doses=np.array([3, 1, 1, 2]))
    assert len(queue) >= 1
    assert queue["doses_at_stake"].is_monotonic_decreasing
    assert {"person_a", "person_b", "weight", "together", "given_level", "id_number_level"} <= set(queue.columns)
    assert (queue["person_a"].str.len() * 10**6 + queue["person_a"].astype(int)
            <= queue["person_b"].str.len() * 10**6 + queue["person_b"].astype(int)).all()
    first = queue.iloc[0]
    decided = _decisions((first["person_b"], first["person_a"], "same"))
    rest = review_queue(BROTHERS, res, band=100.0, decisions=decided)
    assert len(rest) == len(queue) - 1
    assert review_queue(BROTHERS, res, band=0.0).empty or (
        (review_queue(BROTHERS, res, band=0.0)["weight"] == res.threshold).all())


# ----------------------------------------------------------------------------- stage 1, next month
@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("decisions")
    generate(root, scale=0.002, seed=5)
    return root


def _stage_one(params: Path, run: Path) -> StageOne:
    s = StageOne(RunParams.from_yaml(params), run)
    s.load()
    s.cleanse()
    s.link()
    return s


def _partition(s: StageOne) -> set[frozenset[str]]:
    ids = pd.Series(s.labels.to_numpy(), index=s.persons["person_ref"].to_numpy())
    return {frozenset(g.index) for _, g in ids.groupby(ids)}


def test_next_run_splits_and_joins_exactly_the_decided_pairs(province: Path) -> None:
    before = _stage_one(province / "params.yaml", province / "run-before")
    parts = _partition(before)
    merged = sorted((c for c in parts if len(c) == 2), key=sorted)[0]  # a pair the run merged
    x, y = sorted(merged)
    singles = sorted(next(iter(c)) for c in parts if len(c) == 1)
    u, v = singles[0], singles[-1]  # two records it kept apart
    write_decisions(pd.DataFrame({"person_a": [x, u, "00000000"], "person_b": [y, v, x],
                                  "decision": ["different", "same", "same"],
                                  "reviewer": ["test"] * 3}), province / "decisions.csv")
    data = yaml.safe_load((province / "params.yaml").read_text(encoding="utf-8"))
    data["review_decisions"] = "decisions.csv"
    (province / "reviewed.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.warns(ReviewWarning, match="00000000"):
        after = _stage_one(province / "reviewed.yaml", province / "run-after")
    expected = (parts - {merged, frozenset([u]), frozenset([v])}) | {frozenset([x]), frozenset([y]),
                                                                      frozenset([u, v])}
    assert _partition(after) == expected
    assert (after.review.applied, after.review.joined, after.review.split) == (2, 1, 1)
    assert after.review.unknown == ("00000000",)
    assert "review decisions: 2 of 3 applied (1 joined, 1 split)" in after.review.line()
    # the queue never proposes a decided pair
    pairs = set(zip(after.review_queue["person_a"], after.review_queue["person_b"], strict=True))
    assert not pairs & {(x, y), (u, v)}


def test_a_contradictory_decisions_file_stops_stage_one_with_the_chain(province: Path) -> None:
    write_decisions(_decisions(("10000001", "10000002", "same"), ("10000002", "10000003", "same"),
                               ("10000003", "10000001", "different")), province / "bad.csv")
    data = yaml.safe_load((province / "params.yaml").read_text(encoding="utf-8"))
    data["review_decisions"] = "bad.csv"
    (province / "bad.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ParamsError, match=r"10000003 = 10000002 \(line 3\) = 10000001 \(line 2\)"):
        _stage_one(province / "bad.yaml", province / "run-bad")


def test_review_band_and_decisions_path_in_params(tmp_path: Path) -> None:
    p = RunParams.from_dict({"period": "2022-05", "report_date": "2022-06-01", "inputs": "x",
                             "review_decisions": "review/decisions.csv", "thresholds": {"review_band": 2}},
                            base_dir=tmp_path)
    assert p.review_decisions == (tmp_path / "review" / "decisions.csv").resolve()
    assert p.thresholds.review_band == 2.0
    with pytest.raises(ParamsError, match="review_band"):
        RunParams.from_dict({"period": "2022-05", "report_date": "2022-06-01", "inputs": "x",
                             "thresholds": {"review_band": 9}})
    assert layout.review_queue(tmp_path).name == "review_queue.parquet"


def test_the_report_states_the_decisions_after_the_cleansing_results() -> None:
    from datetime import date

    from vaxreport.params import Signatory
    from vaxreport.reporting.narrative import add_review_paragraph
    from vaxreport.reporting.report.render import Paragraph, ReportDoc, Section

    doc = ReportDoc(agency_parent="UBND", agency="SỞ Y TẾ", doc_number="1/BC", place="Thái Nguyên",
                    date=date(2022, 6, 1), title="BÁO CÁO", summary_line="x",
                    sections=[Section("I.", [Paragraph("Kết quả làm sạch dữ liệu: …"), Paragraph("after")]),
                              Section("II.", [])], recipients=[], signatory=Signatory(), footer_note=None)
    summary = {"configured": True, "decisions": 3, "applied": 2, "joined": 1, "split": 1, "unknown": 1}
    blocks = add_review_paragraph(doc, summary).sections[0].blocks
    assert [b.text[:12] for b in blocks] == ["Kết quả làm ", "Rà soát trùn", "after"]
    assert "đã áp dụng 2/3 kết luận" in blocks[1].text and "1 mã đối tượng" in blocks[1].text
    assert add_review_paragraph(doc, {**summary, "configured": False}) == doc


def test_the_manifest_records_the_decisions_files_sha256(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from vaxreport.io.write import sha256_file
    from vaxreport.runner import dag

    (tmp_path / "inputs").mkdir()
    (tmp_path / "inputs" / "doses.csv").write_text("a\n", encoding="utf-8")
    write_decisions(_decisions(("1", "2", "same")), tmp_path / "decisions.csv")
    p = SimpleNamespace(inputs=tmp_path / "inputs", worklist_returns=None, review_decisions=tmp_path / "decisions.csv")
    hashes = dag.input_hashes(p)
    assert hashes["review_decisions"] == sha256_file(tmp_path / "decisions.csv")
    assert "review_decisions" not in dag.input_hashes(SimpleNamespace(**{**vars(p), "review_decisions": None}))


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 79), st.integers(0, 79), st.sampled_from(["same", "different"])),
                min_size=1, max_size=25))
def test_every_decision_is_honoured_whatever_the_others(lines: list[tuple[int, int, str]]) -> None:
    people = pd.concat([background(70, seed=3), pd.DataFrame([BASE, *SAME_PERSON.values()])], ignore_index=True)
    people = people.iloc[-80:].assign(person_ref=[f"{500 + k}" for k in range(80)])  # the cases last: merged pairs
    d = _decisions(*[(f"{500 + x}", f"{500 + y}", what) for x, y, what in lines if x != y])
    if d.empty:
        return
    d = d.drop(index=[k for k, _ in contradictions(d)])  # a contradiction is refused, tested above
    labels = pd.Series(cluster_persons(people, decisions=d).to_numpy(), index=people["person_ref"])
    for a, b, what in d.itertuples(index=False):
        assert (labels[a] == labels[b]) == (what == "same"), (a, b, what)
