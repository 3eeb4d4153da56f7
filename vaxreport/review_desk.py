"""The clerical review desk of ``notebooks/explore.ipynb``: the next pair of the run's review queue
shown side by side, and the reviewer's decision written to the decisions CSV that every later run
replays (``review_decisions:`` in the params; :mod:`vaxreport.linkage.decisions`).

Personal data is shown masked: IDs and phones hide every digit the two records share and show
only those that differ (so a reviewer sees a typo without seeing the number), birth dates in full
(the comparison needs them), names in full. ``skip`` passes a pair for this session without
writing anything: the next run proposes it again.

With ``ipywidgets`` installed (``pip install ipywidgets``; not a dependency of the package),
:meth:`ReviewDesk.buttons` gives Same / Different / Skip buttons; without it, call
:meth:`ReviewDesk.decide`.

Examples:
    >>> masked_pair(pd.Series(["019085001234", "0912345678"]), pd.Series(["019085001243", None]), id_like=[True, False])
    (['**********34', '09******78'], ['**********43', <NA>])
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from vaxreport import layout
from vaxreport.io.decisions import read_decisions, write_decisions
from vaxreport.linkage.decisions import DECISIONS, check_decisions, empty_decisions
from vaxreport.linkage.review import decided_pairs
from vaxreport.reporting.worklists import mask_id, mask_id_except_diff, mask_phone

#: The person fields shown side by side, in order, with their label.
SHOWN = {"full_name": "Họ và tên", "birth_date": "Ngày sinh", "gender": "Giới tính", "id_number": "Số CCCD/CMND",
         "phone": "Số điện thoại", "commune_code": "Mã xã", "address": "Địa chỉ"}
#: Which comparison's level explains each shown field.
LEVEL_OF = {"full_name": "given_level", "birth_date": "birth_date_level", "gender": "gender_level",
            "id_number": "id_number_level", "phone": "phone_level", "commune_code": "commune_level",
            "address": "address_level"}
SKIP = "skip"
#: Two numbers differing in more digits than this are not typos of one another: masked as usual.
MAX_DIGITS_SHOWN = 3
#: How a missing value is shown.
MISSING = "—"


def masked_pair(a: pd.Series, b: pd.Series, *, id_like: Sequence[bool]) -> tuple[list[Any], list[Any]]:
    """Two records' digit fields masked except the digits that differ between them (a typo shows
    where it is); where only one has a value, their lengths differ or more than
    :data:`MAX_DIGITS_SHOWN` digits differ (two different numbers: showing the differing digits
    would show the number), the usual masks (:func:`mask_id`, :func:`mask_phone`).

    Args:
        a: one record's values (IDs, phones), as text.
        b: the other's, aligned.
        id_like: per value, True for an ID (masked as IDs), False for a phone.

    Returns:
        The two lists of masked values.
    """
    a, b = a.astype("string").reset_index(drop=True), b.astype("string").reset_index(drop=True)
    ids = pd.Series(list(id_like))
    apart = pd.Series([sum(x != y for x, y in zip(str(u), str(v))) for u, v in zip(a, b, strict=True)])
    out = []
    for own, other in ((a, b), (b, a)):
        fallback = mask_id(own).where(ids, mask_phone(own))
        typo = (own.notna() & other.notna() & own.str.len().eq(other.str.len())).fillna(False)
        typo &= apart.le(MAX_DIGITS_SHOWN)
        out.append(mask_id_except_diff(own, other).where(typo, fallback).tolist())
    return out[0], out[1]


@dataclass
class ReviewDesk:
    """A run's review queue and the decisions file it is reviewed into.

    Attributes:
        queue: ``cleansed/review_queue.parquet`` (pairs, most doses at stake first).
        records: the person records of the run (one row per ``person_ref``, unmasked: personal).
        decisions_path: the decisions CSV (created on the first decision).
        skipped: pairs skipped in this session.
    """

    queue: pd.DataFrame
    records: pd.DataFrame
    decisions_path: Path
    skipped: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def open(cls, run_dir: Path | str, decisions_path: Path | str) -> ReviewDesk:
        """The desk of a run folder written by stage 1 (its queue and its cleansed doses)."""
        from vaxreport.linkage.persons import PERSON_FIELDS

        cleansed = layout.cleansed_dir(run_dir)
        queue = pd.read_parquet(layout.review_queue(run_dir))
        doses = pd.read_parquet(cleansed / "doses.parquet", columns=["person_ref", *PERSON_FIELDS])
        records = doses.drop_duplicates("person_ref").set_index("person_ref")
        return cls(queue=queue, records=records, decisions_path=Path(decisions_path))

    def decisions(self) -> pd.DataFrame:
        """The lines of the decisions file so far (checked; none if the file does not exist)."""
        if not self.decisions_path.exists():
            return empty_decisions()
        return check_decisions(read_decisions(self.decisions_path), source=str(self.decisions_path))

    def pending(self) -> pd.DataFrame:
        """The queue without the pairs decided (in the file) or skipped (this session)."""
        done = decided_pairs(self.decisions()) | self.skipped
        keys = [(min(x, y), max(x, y)) for x, y in zip(self.queue["person_a"], self.queue["person_b"], strict=True)]
        return self.queue[[k not in done for k in keys]]

    def remaining(self) -> int:
        """Pairs left to review."""
        return len(self.pending())

    def next_pair(self) -> pd.Series | None:
        """The queue row of the next pair (most doses at stake first); None when all are done."""
        pending = self.pending()
        return None if pending.empty else pending.iloc[0]

    def show(self, pair: pd.Series | None = None) -> pd.DataFrame:
        """The pair side by side: one row per field, both records' values (IDs and phones masked
        except the digits that differ) and the level of agreement; the records' doses too."""
        pair = self.next_pair() if pair is None else pair
        if pair is None:
            return pd.DataFrame({"": ["Không còn cặp hồ sơ nào cần rà soát"]}, index=[""])
        code_a, code_b = str(pair["person_a"]), str(pair["person_b"])
        ra, rb = self.records.loc[code_a], self.records.loc[code_b]
        values_a = [_text(ra.get(f)) for f in SHOWN]
        values_b = [_text(rb.get(f)) for f in SHOWN]
        digits = [k for k, f in enumerate(SHOWN) if f in ("id_number", "phone")]
        ma, mb = masked_pair(pd.Series([values_a[k] for k in digits]), pd.Series([values_b[k] for k in digits]),
                             id_like=[list(SHOWN)[k] == "id_number" for k in digits])
        for k, x, y in zip(digits, ma, mb, strict=True):
            values_a[k], values_b[k] = x, y
        values_a, values_b = ([MISSING if pd.isna(v) else v for v in vs] for vs in (values_a, values_b))
        table = pd.DataFrame({code_a: values_a, code_b: values_b,
                              "mức khớp": [pair.get(LEVEL_OF[f], pd.NA) for f in SHOWN]},
                             index=pd.Index(list(SHOWN.values()), name=None))
        verdict = "cùng một người" if bool(pair["together"]) else "hai người"
        table.loc["Kết quả tự động"] = [verdict, f"{float(pair['weight']):.1f} bit",
                                        f"ngưỡng {float(pair['threshold']):.1f}"]
        stake = f"{int(pair['doses_at_stake'])} mũi của {int(pair['records_at_stake'])} hồ sơ"
        table.loc["Mũi tiêm liên quan"] = [stake, "", ""]
        return table

    def decide(self, pair: pd.Series | None, decision: str, *, reviewer: str = "", note: str = "",
               on: dt.date | None = None) -> int:
        """Record a decision on ``pair`` (None: the next pair) and return how many pairs remain.

        ``same`` / ``different`` are appended to the decisions file (checked first: a decision
        that would contradict the file's is refused with the chain); ``skip`` only passes the
        pair for this session.

        Raises:
            ValueError: ``decision`` is not ``same``, ``different`` or ``skip``, or no pair is left.
            ParamsError: the new line contradicts the file (nothing is written).
        """
        if decision not in (*DECISIONS, SKIP):
            raise ValueError(f"decision must be one of {[*DECISIONS, SKIP]}, got {decision!r}")
        pair = self.next_pair() if pair is None else pair
        if pair is None:
            raise ValueError("no pair left to review")
        a, b = str(pair["person_a"]), str(pair["person_b"])
        if decision == SKIP:
            self.skipped.add((min(a, b), max(a, b)))
            return self.remaining()
        line = pd.DataFrame({"person_a": [a], "person_b": [b], "decision": [decision], "reviewer": [reviewer],
                             "decided_on": [(on or dt.date.today()).isoformat()], "note": [note]})
        lines = pd.concat([self.decisions(), line], ignore_index=True)
        check_decisions(lines, source=str(self.decisions_path))
        write_decisions(lines, self.decisions_path)
        return self.remaining()

    def buttons(self, reviewer: str = "") -> Any:
        """Same / Different / Skip buttons over the next pair (ipywidgets), or None without
        ipywidgets (then call :meth:`decide`)."""
        try:
            import ipywidgets as w
            from IPython.display import display
        except ImportError:
            return None
        out = w.Output()
        status = w.Label()

        def refresh() -> None:
            out.clear_output()
            with out:
                display(self.show())
            status.value = f"Còn {self.remaining()} cặp cần rà soát"

        def click(decision: str) -> Any:
            def handler(_: Any) -> None:
                if self.next_pair() is not None:
                    self.decide(None, decision, reviewer=reviewer)
                refresh()
            return handler

        row = []
        for decision, label, style in (("same", "Cùng một người", "success"),
                                       ("different", "Hai người khác nhau", "danger"), (SKIP, "Bỏ qua", "")):
            button = w.Button(description=label, button_style=style, layout=w.Layout(width="auto"))
            button.on_click(click(decision))
            row.append(button)
        refresh()
        return w.VBox([out, w.HBox(row), status])


def _text(value: Any) -> Any:
    """A record's value for display: dates as dd/mm/yyyy, NA as NA, else text."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return pd.NA
    if isinstance(value, (pd.Timestamp, dt.date)):
        return value.strftime("%d/%m/%Y")
    return str(value)


def decisions_file(p_source: Path | None, configured: Path | None, run_dir: Path | str) -> Path:
    """Where the notebook writes decisions: the params' ``review_decisions`` file, else
    ``review_decisions.csv`` beside the params file (add ``review_decisions: review_decisions.csv``
    to the params so that the next run replays it), else beside the run folder."""
    if configured is not None:
        return configured
    folder = p_source.resolve().parent if p_source is not None else Path(run_dir).resolve().parent
    return folder / "review_decisions.csv"
