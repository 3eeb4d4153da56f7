"""Charts for the reports: matplotlib ``Figure`` objects, built without pyplot and without disk I/O.

Every builder returns a ``matplotlib.figure.Figure`` (shown inline in a notebook); ``figure_png``
turns one into reproducible PNG bytes (no timestamp or software metadata) and
``as_report_figure`` wraps it as a ``vaxreport.reporting.report.Figure`` for ``render_pdf``. Labels use the
vendored TeX Gyre Termes (the report's font, full Vietnamese coverage) and Vietnamese number
formatting (``94,24%``, ``2.756.537``). Text is never parsed as mathtext, so ``$`` prints as is.

Input frames (one row per bar or point):
- ``bar_indicator_by_unit``: a label column and a percentage column (0–100, ``Decimal`` or float,
  NA allowed), e.g. from ``metrics`` at district or commune level.
- ``weekly_trend``: ``week_start`` (date), ``entered`` and ``signed`` (dose counts per week);
  optional ``administered`` and ``days`` (days of the week inside the period, as
  ``metrics.weekly_trend`` gives them: a week below 7 is drawn as partial).
- ``coverage_by_age``: ``age_group``, ``dose`` (int → ``"Mũi 1"``, or a label) and ``coverage``
  (percentage 0–100).
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from functools import cache
from typing import Any

import matplotlib
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from vaxreport.reporting.report.format import fmt_date_short, fmt_day_month, fmt_decimal, fmt_int, fmt_pct_value
from vaxreport.reporting.report.render import FONTS_DIR
from vaxreport.reporting.report.render import Figure as ReportFigure
from vaxreport.schemas import require_columns

__all__ = [
    "RC",
    "ChartFigure",
    "as_report_figure",
    "bar_indicator_by_unit",
    "coverage_by_age",
    "figure_png",
    "figure_svg",
    "weekly_trend",
]

FONT_FAMILY = "TeX Gyre Termes"
_BLUE, _ORANGE, _GREY = "#1f4e79", "#c55a11", "#7f7f7f"
_WIDTH_IN = 150 / 25.4  # drawn at the report's default figure width (150 mm), so 11 pt stays 11 pt
#: At most this many week labels ("dd/m", 11 pt) on the 150 mm trend chart: 13 overlapped.
_MAX_WEEK_LABELS = 9

#: Fixed rcParams used while building and saving every figure (reproducible bytes).
RC: dict[Any, Any] = {
    "font.family": [FONT_FAMILY],  # a concrete name, so inline notebook display uses it too
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.unicode_minus": False,
    "text.parse_math": False,
    "text.usetex": False,
    "figure.dpi": 100,
    "savefig.dpi": 200,
    "savefig.bbox": None,
    "path.simplify": True,
    "svg.hashsalt": "vaxreport",
    "svg.fonttype": "path",
    "legend.frameon": False,
}


class ChartFigure(Figure):
    """A matplotlib ``Figure`` that also shows itself in Jupyter without pyplot.

    (The inline backend registers its display hook only once pyplot is imported; notebooks that
    never import pyplot would otherwise print ``<Figure size ...>``.)
    """

    def _repr_png_(self) -> bytes:
        return figure_png(self, dpi=110)


@cache
def _register_fonts() -> None:
    """Make the vendored TeX Gyre Termes known to matplotlib (once per process)."""
    from matplotlib import font_manager

    for path in sorted(FONTS_DIR.glob("*.otf")):
        font_manager.fontManager.addfont(str(path))


@contextmanager
def _style() -> Iterator[None]:
    _register_fonts()
    with matplotlib.rc_context(RC):
        yield


def _to_float(v: object) -> float | None:
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    return float(v)  # type: ignore[arg-type]


def _pct_axis(ax: Axes, axis: str = "x") -> None:
    fmt = FuncFormatter(lambda x, _pos: f"{fmt_decimal(x, 0)}%")
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(fmt)


def bar_indicator_by_unit(df: pd.DataFrame, value: str, label: str,
                          target: float | Decimal | None = None, *, title: str | None = None,
                          sort: bool = True) -> Figure:
    """Horizontal bars of one percentage indicator per district/commune, each bar labelled.

    Bars below ``target`` are orange, the others blue; ``target`` is a dashed line. Units with
    no value (NA, e.g. a zero denominator) get no bar and the label ``"—"``.

    Args:
        df: one row per unit.
        value: column with the percentage (0–100).
        label: column with the unit name.
        target: target percentage, or ``None``.
        title: axes title.
        sort: highest value at the top (ties by name); else keep ``df`` order top to bottom.

    Returns:
        The figure (one axes, one bar per unit with a value).

    Raises:
        SchemaViolation: ``value`` or ``label`` is not a column.

    Examples:
        >>> df = pd.DataFrame({"unit": ["Đại Từ", "Phú Bình"], "pct": [Decimal("94.24"), None]})
        >>> fig = bar_indicator_by_unit(df, "pct", "unit", target=95)
        >>> len(fig.axes[0].patches), [t.get_text() for t in fig.axes[0].get_yticklabels()]
        (1, ['Phú Bình', 'Đại Từ'])
    """
    require_columns(df, [value, label], "bar_indicator_by_unit")
    rows = [(str(lab), v, _to_float(v)) for lab, v in zip(df[label], df[value], strict=True)]
    if sort:
        rows.sort(key=lambda r: (-(r[2] if r[2] is not None else float("-inf")), r[0]))
    rows.reverse()  # barh draws the first row at the bottom
    with _style():
        fig = ChartFigure(figsize=(_WIDTH_IN, 0.9 + 0.3 * max(len(rows), 1)), layout="constrained")
        ax = fig.add_subplot()
        tgt = _to_float(target)
        ys = list(range(len(rows)))
        for y, (_lab, raw, v) in zip(ys, rows, strict=True):
            if v is None:
                ax.text(103, y, "—", va="center", ha="left", color=_GREY)
                continue
            color = _ORANGE if tgt is not None and v < tgt else _BLUE
            ax.barh(y, v, height=0.65, color=color)
            ax.text(103, y, fmt_pct_value(raw), va="center", ha="left", fontsize=10)
        ax.set_yticks(ys, [r[0] for r in rows])
        ax.set_xlim(0, 116)
        ax.set_xticks(range(0, 101, 20))
        ax.spines["bottom"].set_bounds(0, 100)
        _pct_axis(ax, "x")
        ax.set_ylim(-0.6, len(rows) - 0.4)
        if tgt is not None:
            ax.axvline(tgt, color=_GREY, linestyle="--", linewidth=1)
            ax.text(tgt, len(rows) - 0.45, f"Mục tiêu {fmt_pct_value(target, 0 if tgt == int(tgt) else 2)}",
                    ha="center", va="bottom", fontsize=9, color=_GREY)
        if title:
            ax.set_title(title)
    return fig


def _week_labels(weeks: Sequence[pd.Timestamp], shown: Sequence[int]) -> list[str]:
    """Tick labels ``"dd/m"`` of the weeks at positions ``shown``; the year on a second line under
    the first label and under each label whose year differs from the previous label's.

    Examples:
        >>> weeks = list(pd.to_datetime(["2021-12-20", "2021-12-27", "2022-01-03", "2022-01-10"]))
        >>> _week_labels(weeks, [0, 2, 3])
        ['20/12\\n2021', '03/01\\n2022', '10/01']
    """
    out, year = [], None
    for i in shown:
        w = weeks[i]
        out.append(fmt_day_month(w) + (f"\n{w.year}" if w.year != year else ""))
        year = w.year
    return out


def _partial_note(weeks: Sequence[pd.Timestamp], days: Sequence[int], partial: Sequence[int]) -> str:
    """Legend text of the weeks the period cuts: their dates when there is one, else the count.

    Examples:
        >>> weeks = list(pd.to_datetime(["2022-05-23", "2022-05-30"]))
        >>> _partial_note(weeks, [7, 2], [1])
        'Tuần chưa đủ 7 ngày (30/5–31/5/2022)'
    """
    if len(partial) != 1:
        return "Tuần đầu, tuần cuối kỳ chưa đủ 7 ngày"
    i = partial[0]
    first_day = weeks[i] if i == len(weeks) - 1 else weeks[i] + pd.Timedelta(days=7 - int(days[i]))
    last_day = first_day + pd.Timedelta(days=int(days[i]) - 1)
    when = fmt_date_short(last_day) if days[i] == 1 else f"{fmt_day_month(first_day)}–{fmt_date_short(last_day)}"
    return f"Tuần chưa đủ 7 ngày ({when})"


def weekly_trend(df: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Doses entered and doses signed per week, as lines (plus doses administered if given).

    A week the reporting period cuts (optional column ``days`` below 7, as ``metrics.weekly_trend``
    gives for a period ending mid-week) has fewer doses than a whole week: its points are hollow,
    joined by a dotted line, labelled with its days, and named in the legend, so the drop is not
    read as a fall in the work done.

    Args:
        df: ``week_start``, ``entered``, ``signed``; one row per week (sorted here). An optional
            ``administered`` column (site tallies) adds a dashed grey line; an optional ``days``
            column (days of the week inside the period) marks the partial weeks.
        title: axes title.

    Returns:
        The figure: one axes with two lines (entered, signed), x labels ``dd/m`` with the year
        under the first label and where it changes.

    Raises:
        SchemaViolation: a column is missing.

    Examples:
        >>> df = pd.DataFrame({"week_start": pd.to_datetime(["2022-05-02", "2022-05-09"]),
        ...                    "entered": [12000, 15000], "signed": [9000, 14000]})
        >>> fig = weekly_trend(df)
        >>> [line.get_label() for line in fig.axes[0].get_lines()]
        ['Mũi tiêm đã nhập', 'Mũi tiêm đã ký xác nhận']
        >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
        ['02/5\\n2022', '09/5']
    """
    require_columns(df, ["week_start", "entered", "signed"], "weekly_trend")
    d = df.sort_values("week_start")
    weeks = list(pd.to_datetime(d["week_start"]))
    days = d["days"].astype("int64").tolist() if "days" in d.columns else [7] * len(d)
    partial = [i for i, n in enumerate(days) if n < 7]
    xs = list(range(len(d)))
    series: list[tuple[str, dict[str, Any], str]] = [
        ("administered", dict(linestyle="--", color=_GREY), "Mũi tiêm đã thực hiện (báo cáo của cơ sở)"),
        ("entered", dict(marker="o", color=_BLUE), "Mũi tiêm đã nhập"),
        ("signed", dict(marker="s", color=_ORANGE), "Mũi tiêm đã ký xác nhận")]
    with _style():
        fig = ChartFigure(figsize=(_WIDTH_IN, 3.4), layout="constrained")
        ax = fig.add_subplot()
        tops = [0.0] * len(xs)
        for column, style, label in series:
            if column not in d.columns:
                continue
            ys = d[column].astype("float64").tolist()
            tops = [max(t, y) for t, y in zip(tops, ys, strict=True)]
            whole = [float("nan") if i in partial else y for i, y in enumerate(ys)]
            ax.plot(xs, whole if partial else ys, label=label, **style)
            if partial:  # the cut weeks: a dotted joint and hollow points, out of the legend
                ax.plot(xs, ys, linestyle=":", linewidth=1.0, color=style["color"], label="_partial_line")
                ax.plot([xs[i] for i in partial], [ys[i] for i in partial], linestyle="none",
                        marker=style.get("marker", "o"), markerfacecolor="white", color=style["color"],
                        label="_partial_points")
        if partial:
            ax.plot([], [], linestyle=":", marker="o", markerfacecolor="white", color=_GREY,
                    label=_partial_note(weeks, days, partial))
            for i in partial:  # beside the point, away from the line that joins it to the period
                left = i == 0 and len(xs) > 1
                ax.annotate(f"{days[i]} ngày", (xs[i], tops[i]), xytext=(-5 if left else 5, 0),
                            textcoords="offset points", ha="right" if left else "left", va="center",
                            fontsize=9, color=_GREY)
        step = max(1, -(-len(xs) // _MAX_WEEK_LABELS))  # every week up to 9 weeks, then labels must not overlap
        shown = xs[::step]
        ax.set_xticks(shown, _week_labels(weeks, shown))
        ax.set_xlabel("Tuần bắt đầu từ ngày")
        ax.set_ylabel("Số mũi tiêm")
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _pos: fmt_int(int(round(y)))))
        ax.grid(axis="y", color="#dddddd", linewidth=0.6)
        # above the plot, never over a line (4 entries found no free corner on short periods)
        fig.legend(loc="outside upper center", ncols=2, fontsize=10)
        if title:
            ax.set_title(title)
    return fig


def coverage_by_age(df: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Grouped bars: coverage (%) per age group, one bar per dose, each bar labelled.

    Args:
        df: ``age_group``, ``dose``, ``coverage``; age groups keep the order
            ``schemas.AGE_GROUPS`` where they appear in it, doses sort ascending.
        title: axes title.

    Returns:
        The figure: one bar per (age group, dose) row with a value.

    Raises:
        SchemaViolation: a column is missing.

    Examples:
        >>> df = pd.DataFrame({"age_group": ["18+", "12-17", "18+", "12-17"], "dose": [1, 1, 2, 2],
        ...                    "coverage": [99.1, 97.5, 96.0, 93.25]})
        >>> fig = coverage_by_age(df)
        >>> len(fig.axes[0].patches), [t.get_text() for t in fig.axes[0].get_xticklabels()]
        (4, ['12-17', '18+'])
    """
    from vaxreport.schemas import AGE_GROUPS

    require_columns(df, ["age_group", "dose", "coverage"], "coverage_by_age")
    present = [str(g) for g in pd.unique(df["age_group"])]
    groups = [g for g in AGE_GROUPS if g in present] + sorted(g for g in present if g not in AGE_GROUPS)
    doses = sorted(pd.unique(df["dose"]), key=lambda x: (isinstance(x, str), x))
    width = 0.8 / max(len(doses), 1)
    palette = [_BLUE, _ORANGE, "#548235", "#7030a0", _GREY]
    with _style():
        fig = ChartFigure(figsize=(_WIDTH_IN, 3.3), layout="constrained")
        ax = fig.add_subplot()
        for k, dose in enumerate(doses):
            sub = df[df["dose"] == dose]
            by_group = {str(g): v for g, v in zip(sub["age_group"], sub["coverage"], strict=True)}
            name = f"Mũi {dose}" if not isinstance(dose, str) else dose
            first = True
            for i, g in enumerate(groups):
                raw = by_group.get(g)
                v = _to_float(raw)
                if v is None:
                    continue
                x = i - 0.4 + width * (k + 0.5)
                ax.bar(x, v, width=width * 0.92, color=palette[k % len(palette)],
                       label=name if first else None)
                first = False
                ax.text(x, v + 1, fmt_pct_value(raw, 1), ha="center", va="bottom", fontsize=9)
        ax.set_xticks(range(len(groups)), groups)
        ax.set_xlabel("Nhóm tuổi")
        ax.set_ylabel("Tỷ lệ bao phủ")
        ax.set_ylim(0, 112)
        ax.set_yticks(range(0, 101, 20))
        _pct_axis(ax, "y")
        ax.legend(loc="upper center", ncols=max(len(doses), 1), bbox_to_anchor=(0.5, -0.2))
        if title:
            ax.set_title(title)
    return fig


def figure_png(fig: Figure, *, dpi: int = 200) -> bytes:
    """PNG bytes of ``fig`` with no metadata, so equal figures give equal bytes.

    Examples:
        >>> png = figure_png(weekly_trend(pd.DataFrame({"week_start": pd.to_datetime(["2022-05-02"]),
        ...     "entered": [1], "signed": [1]})))
        >>> png[:4], b"Software" in png
        (b'\\x89PNG', False)
    """
    buf = io.BytesIO()
    with _style():  # fast deflate: typst decodes the pixels and compresses them again in the PDF
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None}, pil_kwargs={"compress_level": 1})
    return buf.getvalue()


def figure_svg(fig: Figure) -> bytes:
    """SVG bytes of ``fig`` (text as paths, fixed hash salt, no date), reproducible.

    Examples:
        >>> svg = figure_svg(coverage_by_age(pd.DataFrame({"age_group": ["18+"], "dose": [1],
        ...     "coverage": [50.0]})))
        >>> svg.lstrip().startswith(b"<?xml"), b"<dc:date>" in svg
        (True, False)
    """
    buf = io.BytesIO()
    with _style():
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    return buf.getvalue()


def as_report_figure(fig: Figure, caption: str | None = None, *, width_mm: float = 150.0,
                     dpi: int = 200) -> ReportFigure:
    """Wrap ``fig`` as a ``vaxreport.reporting.report.Figure`` (PNG) for ``render_pdf``.

    Examples:
        >>> f = as_report_figure(coverage_by_age(pd.DataFrame({"age_group": ["18+"], "dose": [1],
        ...     "coverage": [50.0]})), "Tỷ lệ bao phủ")
        >>> f.caption, f.width_mm, f.image[:4]
        ('Tỷ lệ bao phủ', 150.0, b'\\x89PNG')
    """
    return ReportFigure(image=figure_png(fig, dpi=dpi), caption=caption, width_mm=width_mm)


def _demo_figures() -> list[ReportFigure]:
    """Three illustrative charts (made-up district values) for the sample report and benches."""
    units = ["TP Thái Nguyên", "TP Sông Công", "Định Hóa", "Phú Lương", "Đồng Hỷ", "Võ Nhai",
             "Đại Từ", "TP Phổ Yên", "Phú Bình"]
    signed = [Decimal(x) for x in ("92.41", "95.10", "88.37", "90.58", "86.02", "79.95",
                                   "91.66", "93.80", "89.12")]
    bars = bar_indicator_by_unit(pd.DataFrame({"unit": units, "pct": signed}), "pct", "unit",
                                 target=95)
    weeks = pd.date_range("2022-04-04", periods=9, freq="7D")
    trend = weekly_trend(pd.DataFrame({"week_start": weeks,
                                       "entered": [41000, 38500, 36010, 30900, 28750, 25100,
                                                   22400, 20300, 18800],
                                       "signed": [5200, 12800, 21500, 33900, 45100, 52300,
                                                  48700, 40100, 36200]}))
    age = coverage_by_age(pd.DataFrame({
        "age_group": ["5-11", "12-17", "18+"] * 3, "dose": [1] * 3 + [2] * 3 + [3] * 3,
        "coverage": [62.5, 99.1, 99.4, 21.0, 97.2, 98.8, 0.0, 41.3, 75.6]}))
    return [
        as_report_figure(bars, "Tỷ lệ mũi tiêm đã ký xác nhận theo huyện/thành phố (số liệu minh họa)"),
        as_report_figure(trend, "Số mũi tiêm nhập và ký xác nhận theo tuần (số liệu minh họa)"),
        as_report_figure(age, "Tỷ lệ bao phủ theo nhóm tuổi và mũi tiêm (số liệu minh họa)",
                         width_mm=140),
    ]
