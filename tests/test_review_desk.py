"""Tests of ``vaxreport.review_desk``: the review section of ``notebooks/explore.ipynb`` — the next
pair side by side with IDs and phones masked except the digits that differ, decisions written to
the CSV the next run replays, skips kept for the session, the count of what remains."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from vaxreport import layout
from vaxreport.exceptions import ParamsError
from vaxreport.io.decisions import read_decisions
from vaxreport.review_desk import ReviewDesk, decisions_file, masked_pair


def _queue() -> pd.DataFrame:
    levels = {"given_level": "exact", "birth_date_level": "day_month_swapped", "gender_level": "same",
              "id_number_level": "one_transposition", "phone_level": "different", "commune_level": "same",
              "address_level": "missing"}
    return pd.DataFrame({"person_a": ["101", "103", "101"], "person_b": ["102", "104", "105"],
                         "weight": [20.1, 15.0, 18.0], "threshold": [18.0] * 3, "together": [True, False, False],
                         "records_at_stake": [2, 2, 3], "doses_at_stake": [6, 4, 2],
                         **{k: [v] * 3 for k, v in levels.items()}})


def _records() -> pd.DataFrame:
    return pd.DataFrame({
        "full_name": ["Nguyễn Văn Hùng", "Nguyen Van Hung", "Lê Thị Lan", "Lê Thị Lan", "Nguyễn Văn Hùng"],
        "birth_date": pd.to_datetime(["1985-03-12", "1985-12-03", "1990-01-01", "1990-01-01", "1985-03-12"]),
        "gender": ["M", "M", "F", "F", "M"],
        "id_number": ["019085001234", "019085001243", None, None, None],
        "phone": ["0912345678", "0987654321", None, "0912000000", None],
        "commune_code": ["05443"] * 5, "address": [None] * 5,
    }, index=pd.Index(["101", "102", "103", "104", "105"], name="person_ref"))


@pytest.fixture
def desk(tmp_path: Path) -> ReviewDesk:
    return ReviewDesk(queue=_queue(), records=_records(), decisions_path=tmp_path / "review" / "decisions.csv")


def test_the_next_pair_is_shown_side_by_side_masked_except_the_digits_that_differ(desk: ReviewDesk) -> None:
    table = desk.show()
    assert list(table.columns[:2]) == ["101", "102"]  # most doses at stake first
    assert table.loc["Số CCCD/CMND"].tolist()[:2] == ["**********34", "**********43"]
    assert table.loc["Số CCCD/CMND", "mức khớp"] == "one_transposition"
    assert table.loc["Số điện thoại"].tolist()[:2] == ["09******78", "09******21"]  # two numbers, not a typo
    assert table.loc["Ngày sinh"].tolist()[:2] == ["12/03/1985", "03/12/1985"]
    assert table.loc["Kết quả tự động", "101"] == "cùng một người"
    assert "0912345678" not in table.to_string() and "019085001234" not in table.to_string()


def test_masks_fall_back_to_the_usual_ones_when_only_one_side_has_a_value() -> None:
    a, b = masked_pair(pd.Series([None, "0912000000"]), pd.Series(["019085001234", None]), id_like=[True, False])
    assert (a, b) == ([pd.NA, "09******00"], ["0190******34", pd.NA])
    a, b = masked_pair(pd.Series(["0912345678"]), pd.Series(["0912345679"]), id_like=[False])
    assert (a, b) == (["*********8"], ["*********9"])  # a one-digit typo: only that digit shows


def test_decisions_are_written_and_replayed_skips_are_not(desk: ReviewDesk) -> None:
    assert desk.remaining() == 3
    assert desk.decide(None, "different", reviewer="Lan", note="anh em", on=dt.date(2022, 6, 2)) == 2
    assert desk.decide(None, "skip") == 1
    assert desk.next_pair()["person_b"] == "105"
    assert desk.decide(None, "same") == 0 and desk.next_pair() is None
    lines = read_decisions(desk.decisions_path)
    assert lines[["person_a", "person_b", "decision", "reviewer", "decided_on", "note"]].values.tolist()[0] == \
        ["101", "102", "different", "Lan", "2022-06-02", "anh em"]
    assert lines["decision"].tolist() == ["different", "same"]  # the skip is not written
    again = ReviewDesk(queue=_queue(), records=_records(), decisions_path=desk.decisions_path)
    assert again.remaining() == 1  # a new session: the skipped pair comes back
    assert "Không còn" in str(ReviewDesk(_queue().iloc[:0], _records(), desk.decisions_path).show())


def test_a_decision_contradicting_the_file_or_an_unknown_word_is_refused(desk: ReviewDesk) -> None:
    desk.decide(desk.queue.iloc[0], "same")  # 101 = 102
    desk.decide(desk.queue.iloc[2], "same")  # 101 = 105
    with pytest.raises(ParamsError, match="chain of same decisions"):
        desk.decide(pd.Series({"person_a": "102", "person_b": "105"}), "different")
    assert len(read_decisions(desk.decisions_path)) == 2  # nothing written
    with pytest.raises(ValueError, match="decision must be one of"):
        desk.decide(None, "maybe")


def test_the_decisions_file_is_the_params_one_else_beside_the_params(tmp_path: Path) -> None:
    assert decisions_file(tmp_path / "p.yaml", tmp_path / "x.csv", tmp_path / "run") == tmp_path / "x.csv"
    assert decisions_file(tmp_path / "p.yaml", None, tmp_path / "run") == tmp_path.resolve() / "review_decisions.csv"


def test_the_desk_opens_a_run_folder(tmp_path: Path) -> None:
    cleansed = layout.cleansed_dir(tmp_path)
    cleansed.mkdir(parents=True)
    _queue().to_parquet(layout.review_queue(tmp_path))
    _records().reset_index().to_parquet(cleansed / "doses.parquet")
    desk = ReviewDesk.open(tmp_path, tmp_path / "d.csv")
    assert desk.remaining() == 3 and desk.show().columns[0] == "101"
    assert desk.buttons() is None or hasattr(desk.buttons(), "children")
