"""Charts (vaxreport.reporting.figures): content, Vietnamese labels, reproducible bytes, no disk I/O."""

from __future__ import annotations

import builtins
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from matplotlib.figure import Figure

from vaxreport.exceptions import SchemaViolation
from vaxreport.reporting import figures

UNITS = ["TP Thái Nguyên", "Định Hóa", "Võ Nhai", "Đồng Hỷ"]


@pytest.fixture
def units() -> pd.DataFrame:
    return pd.DataFrame({"unit": UNITS,
                         "pct": [Decimal("94.24"), Decimal("90.58"), None, Decimal("97.00")]})


@pytest.fixture
def weeks() -> pd.DataFrame:
    return pd.DataFrame({"week_start": pd.to_datetime(["2022-05-16", "2022-05-02", "2022-05-09"]),
                         "entered": [300, 100, 200], "signed": [30, 10, 20]})


@pytest.fixture
def ages() -> pd.DataFrame:
    return pd.DataFrame({"age_group": ["18+", "5-11", "12-17", "18+", "12-17"],
                         "dose": [1, 1, 1, 2, 2],
                         "coverage": [99.5, 40.25, 97.0, 98.0, None]})


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]


def test_bar_indicator_bars_labels_and_target(units: pd.DataFrame) -> None:
    fig = figures.bar_indicator_by_unit(units, "pct", "unit", target=95)
    ax = fig.axes[0]
    assert len(ax.patches) == 3  # Võ Nhai has no value: no bar
    # highest at the top, the unit without a value at the bottom
    assert [t.get_text() for t in ax.get_yticklabels()][::-1] == [
        "Đồng Hỷ", "TP Thái Nguyên", "Định Hóa", "Võ Nhai"]
    texts = _texts(fig)
    assert {"94,24%", "90,58%", "97,00%", "—", "Mục tiêu 95%"} <= set(texts)
    assert "100%" in [t.get_text() for t in ax.get_xticklabels()] or ax.get_xticks()[-1] == 100
    colors = sorted(p.get_facecolor()[:3] for p in ax.patches)
    assert len(set(colors)) == 2  # below-target bars differ from the others


def test_bar_indicator_keeps_order_without_sort(units: pd.DataFrame) -> None:
    fig = figures.bar_indicator_by_unit(units, "pct", "unit", sort=False)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()][::-1] == UNITS


def test_dollar_signs_are_not_mathtext() -> None:
    df = pd.DataFrame({"u": ["Xã $a$ #1"], "v": [50.0]})
    fig = figures.bar_indicator_by_unit(df, "v", "u")
    figures.figure_png(fig)  # would raise on unbalanced mathtext if it were parsed
    assert fig.axes[0].get_yticklabels()[0].get_text() == "Xã $a$ #1"


def test_weekly_trend_sorted_two_lines(weeks: pd.DataFrame) -> None:
    fig = figures.weekly_trend(weeks)
    ax = fig.axes[0]
    entered, signed = ax.get_lines()
    assert list(entered.get_ydata()) == [100, 200, 300]
    assert list(signed.get_ydata()) == [10, 20, 30]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["02/5\n2022", "09/5", "16/5"]  # year once


def test_coverage_by_age_groups_in_schema_order(ages: pd.DataFrame) -> None:
    fig = figures.coverage_by_age(ages)
    ax = fig.axes[0]
    assert len(ax.patches) == 4  # the NA cell has no bar
    assert [t.get_text() for t in ax.get_xticklabels()] == ["5-11", "12-17", "18+"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Mũi 1", "Mũi 2"]
    assert "40,3%" in _texts(fig)  # 40.25 half-up to 1 decimal


@pytest.mark.parametrize(("func", "kwargs"), [
    (figures.bar_indicator_by_unit, {"value": "pct", "label": "huyện"}),
    (figures.weekly_trend, {}),
    (figures.coverage_by_age, {}),
])
def test_missing_columns_raise(func: Any, kwargs: dict[str, Any]) -> None:
    with pytest.raises(SchemaViolation, match="missing required column"):
        func(pd.DataFrame({"pct": [1.0]}), **kwargs)


def test_bytes_are_reproducible(units: pd.DataFrame, weeks: pd.DataFrame) -> None:
    a = figures.figure_png(figures.bar_indicator_by_unit(units, "pct", "unit", target=95))
    b = figures.figure_png(figures.bar_indicator_by_unit(units, "pct", "unit", target=95))
    assert a == b and a[:4] == b"\x89PNG"
    assert b"Software" not in a and b"matplotlib" not in a
    s1 = figures.figure_svg(figures.weekly_trend(weeks))
    s2 = figures.figure_svg(figures.weekly_trend(weeks))
    assert s1 == s2 and b"<dc:date>" not in s1


def test_vietnamese_labels_use_the_vendored_font(units: pd.DataFrame) -> None:
    from matplotlib import font_manager
    fig = figures.bar_indicator_by_unit(units, "pct", "unit")
    label = fig.axes[0].get_yticklabels()[0]
    path = font_manager.findfont(label.get_fontproperties(), fallback_to_default=False)
    assert Path(path).parent == figures.FONTS_DIR


def test_no_disk_io(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, units: pd.DataFrame,
                    weeks: pd.DataFrame, ages: pd.DataFrame) -> None:
    figures.figure_png(figures.weekly_trend(weeks))  # warm caches (fonts are read once)
    monkeypatch.chdir(tmp_path)
    real_open = builtins.open

    def guarded_open(file: Any, mode: str = "r", *args: Any, **kw: Any) -> Any:
        if any(m in mode for m in "wax+"):
            raise AssertionError(f"figures wrote to {file!r}")
        return real_open(file, mode, *args, **kw)

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(os, "replace", lambda *a: pytest.fail("os.replace called"))
    for fig in (figures.bar_indicator_by_unit(units, "pct", "unit", target=95),
                figures.weekly_trend(weeks), figures.coverage_by_age(ages)):
        figures.figure_png(fig, dpi=60)
    figures.figure_svg(figures.weekly_trend(weeks))
    rep = figures.as_report_figure(figures.coverage_by_age(ages), "Độ bao phủ", width_mm=120)
    assert rep.width_mm == 120 and rep.caption == "Độ bao phủ"
    assert list(tmp_path.iterdir()) == []


def test_builders_leave_pyplot_alone(units: pd.DataFrame) -> None:
    import matplotlib.pyplot as plt
    before = plt.get_fignums()
    figures.bar_indicator_by_unit(units, "pct", "unit")
    assert plt.get_fignums() == before


def test_figures_display_in_jupyter_without_pyplot(units: pd.DataFrame) -> None:
    fig = figures.bar_indicator_by_unit(units, "pct", "unit")
    assert isinstance(fig, Figure)
    assert fig._repr_png_()[:4] == b"\x89PNG"


def test_weekly_trend_optional_administered_line(weeks: pd.DataFrame) -> None:
    fig = figures.weekly_trend(weeks.assign(administered=[330, 110, 220]))
    lines = fig.axes[0].get_lines()
    assert len(lines) == 3 and list(lines[0].get_ydata()) == [110, 220, 330]
    assert lines[0].get_label().startswith("Mũi tiêm đã thực hiện")


def test_weekly_trend_labels_of_a_long_period_do_not_overlap() -> None:
    # A report covering the whole campaign (Mar 2021 – May 2022): 65 weeks of "dd/mm" labels.
    n = 65
    df = pd.DataFrame({"week_start": pd.date_range("2021-03-08", periods=n, freq="7D"),
                       "entered": [4000 * i for i in range(n)], "signed": range(n)})  # y labels "250.000"
    fig = figures.weekly_trend(df)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    with figures._style():
        canvas.draw()  # lays the figure out as savefig does
    boxes = [t.get_window_extent(canvas.get_renderer()) for t in fig.axes[0].get_xticklabels() if t.get_text()]
    assert boxes[0].x0 < boxes[-1].x0 and len(boxes) >= 5
    assert all(a.x1 + 5 < b.x0 for a, b in zip(boxes, boxes[1:]))  # a visible gap (5 px at 100 dpi)


def test_weekly_trend_labels_carry_the_year_where_it_changes() -> None:
    n = 65  # 8/3/2021 – 30/5/2022: the labels span two years
    df = pd.DataFrame({"week_start": pd.date_range("2021-03-08", periods=n, freq="7D"),
                       "entered": range(n), "signed": range(n)})
    labels = [t.get_text() for t in figures.weekly_trend(df).axes[0].get_xticklabels()]
    assert labels[0] == "08/3\n2021"
    with_year = [t for t in labels if "\n" in t]
    assert [t.split("\n")[1] for t in with_year] == ["2021", "2022"]
    assert with_year[1].split("\n")[0].endswith(("/01", "/02"))  # the first labelled week of 2022
    assert all(len(line) <= 5 for t in labels for line in t.split("\n"))
    assert labels[-1] == "30/5"


def test_weekly_trend_marks_the_week_the_period_cuts(weeks: pd.DataFrame) -> None:
    whole = figures.weekly_trend(weeks.assign(days=7))
    assert len(whole.axes[0].get_lines()) == 2  # nothing cut: the plain chart
    fig = figures.weekly_trend(weeks.assign(days=[2, 7, 7], administered=[33, 11, 22]))  # 16/5 has 2 days
    ax = fig.axes[0]
    solid = {line.get_label(): line for line in ax.get_lines() if not line.get_label().startswith("_")}
    entered = list(solid["Mũi tiêm đã nhập"].get_ydata())
    assert entered[:2] == [100, 200] and pd.isna(entered[2])  # the cut week is not on the solid line
    hollow = [line for line in ax.get_lines() if line.get_label() == "_partial_points"]
    assert len(hollow) == 3 and all(line.get_markerfacecolor() == "white" for line in hollow)
    assert [list(line.get_xdata()) for line in hollow] == [[2]] * 3
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[-1] == "Tuần chưa đủ 7 ngày (16/5–17/5/2022)"
    assert "2 ngày" in [t.get_text() for t in ax.texts]
    assert figures.figure_png(fig) == figures.figure_png(
        figures.weekly_trend(weeks.assign(days=[2, 7, 7], administered=[33, 11, 22])))
