"""The weekly report's charts, drawn with matplotlib on a given Axes.

Each function draws one chart on the Axes it is given, so the HTML (one small figure per chart,
as PNG) and the PDF (several charts on an A4 page) draw the same thing. matplotlib renders
without a browser or a display (the Agg and PDF backends), and installs from PyPI as a wheel.
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")  # no display: a nightly job renders to files

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.dates import DateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from orchestration.reports.figures import WeeklyFigures

BLUE, ORANGE, GREEN, RED, PURPLE, GREY = "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#7f7f7f"
STATUS_COLOURS = {"red": "#f4a6a6", "yellow": "#fbe49a", "green": "#b7e4b0", "neutral": "#e6e6e6"}
_MONEY = FuncFormatter(lambda value, _: f"{value:,.0f}")


def _floats(values: list) -> list[float]:
    return [float(v) if v is not None else 0.0 for v in values]


def mrr_trend(ax: Axes, figures: WeeklyFigures) -> None:
    """MRR at the end of each day over the weeks shown; the report's week shaded."""
    days = [d for d, _ in figures.daily_mrr]
    ax.plot(days, _floats([m for _, m in figures.daily_mrr]), color=BLUE, linewidth=2)
    ax.axvspan(figures.week.start, figures.week.end, color=ORANGE, alpha=0.15, label="report week")
    ax.set_title(f"MRR ({figures.currency}), end of day", loc="left", fontsize=10)
    ax.yaxis.set_major_formatter(_MONEY)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    ax.tick_params(labelsize=8)
    ax.xaxis.set_major_formatter(DateFormatter("%d %b"))
    ax.tick_params(axis="x", labelrotation=45)


def weekly_activity(ax: Axes, figures: WeeklyFigures) -> None:
    """Trials started and new paying customers per ISO week."""
    labels = [w.start.strftime("%d %b") for w in figures.weeks]
    positions = range(len(labels))
    ax.bar([p - 0.2 for p in positions], [w.trials for w in figures.weeks], width=0.4,
           color=BLUE, label="trials started")
    ax.bar([p + 0.2 for p in positions], [w.new_customers for w in figures.weeks], width=0.4,
           color=GREEN, label="new paying customers")
    ax.set_xticks(list(positions), labels, rotation=45, ha="right")
    ax.set_title("Trials and new customers per week (week starting)", loc="left", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    ax.tick_params(labelsize=8)


def mrr_movements(ax: Axes, figures: WeeklyFigures) -> None:
    """MRR movements per month, stacked: gains above zero, losses below."""
    months = [m["month"].strftime("%b %y") for m in figures.movements]
    positions = list(range(len(months)))
    bottom_up = [0.0] * len(months)
    for column, label, colour in (("new_mrr", "new", GREEN), ("reactivation_mrr", "reactivation", PURPLE),
                                  ("expansion_mrr", "expansion", BLUE)):
        values = _floats([m[column] for m in figures.movements])
        ax.bar(positions, values, bottom=bottom_up, color=colour, label=label)
        bottom_up = [b + v for b, v in zip(bottom_up, values, strict=True)]
    bottom_down = [0.0] * len(months)
    for column, label, colour in (("contraction_mrr", "contraction", ORANGE), ("churn_mrr", "churn", RED)):
        values = [-v for v in _floats([m[column] for m in figures.movements])]
        ax.bar(positions, values, bottom=bottom_down, color=colour, label=label)
        bottom_down = [b + v for b, v in zip(bottom_down, values, strict=True)]
    ax.axhline(0, color=GREY, linewidth=0.8)
    ax.set_xticks(positions, months, rotation=45, ha="right")
    ax.set_title(f"MRR movements per month ({figures.currency})", loc="left", fontsize=10)
    ax.yaxis.set_major_formatter(_MONEY)
    ax.legend(fontsize=7, frameon=False, ncol=5, loc="upper left")
    ax.grid(axis="y", alpha=0.3)
    ax.tick_params(labelsize=8)


def channel_performance(ax: Axes, figures: WeeklyFigures) -> None:
    """Attributed new customers by channel for the report's month, each bar labelled with the
    channel's ad spend and CAC where it has spend."""
    rows = figures.channels[::-1]
    positions = list(range(len(rows)))
    customers = _floats([r["new_customers"] for r in rows])
    paid = [bool(r["spend_amount_usd"]) for r in rows]
    ax.barh(positions, customers, color=[ORANGE if p else GREEN for p in paid], height=0.6)
    ax.set_yticks(positions, [r["channel"] for r in rows])
    for position, value, row in zip(positions, customers, rows, strict=True):
        if row["spend_amount_usd"]:
            cac = f", CAC ${float(row['cac_usd']):,.0f}" if row["cac_usd"] else ""
            ax.text(value, position, f"  spend ${float(row['spend_amount_usd']):,.0f}{cac}",
                    va="center", fontsize=7, parse_math=False)  # "$" is money, not TeX
    ax.set_xlim(0, max(customers, default=1) * 1.45 or 1)
    ax.set_xlabel("new paying customers (attributed; orange: channels with ad spend)", fontsize=8)
    ax.set_title(f"New customers by channel, {figures.channel_month:%B %Y}", loc="left", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    ax.tick_params(labelsize=8)


def cohort_heatmap(ax: Axes, figures: WeeklyFigures) -> None:
    """Logo retention of each monthly cohort (all channels) by months since its start."""
    cohorts = sorted({r["cohort_month"] for r in figures.cohorts})
    horizon = max((r["months_since_start"] for r in figures.cohorts), default=0) + 1
    grid = [[float("nan")] * horizon for _ in cohorts]
    index = {c: i for i, c in enumerate(cohorts)}
    for row in figures.cohorts:
        value = row["logo_retention"]
        cell = float(value) if value is not None else float("nan")
        grid[index[row["cohort_month"]]][row["months_since_start"]] = cell
    image = ax.imshow(grid, cmap="YlGnBu", vmin=0, vmax=1, aspect="auto")
    for i, line in enumerate(grid):
        for j, value in enumerate(line):
            if not math.isnan(value):
                ax.text(j, i, f"{value:.0%}", ha="center", va="center", fontsize=6,
                        color="white" if value > 0.6 else "black")
    ax.set_yticks(range(len(cohorts)), [f"{c:%b %y} ({_cohort_size(figures, c)})" for c in cohorts])
    ax.set_xticks(range(horizon))
    ax.set_xlabel("months since the first paid month", fontsize=8)
    ax.set_title("Cohort logo retention, all channels (cohort size)", loc="left", fontsize=10)
    ax.tick_params(labelsize=7)
    colourbar = ax.figure.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    colourbar.ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    colourbar.ax.tick_params(labelsize=7)


def _cohort_size(figures: WeeklyFigures, cohort) -> int:
    return next((int(r["cohort_customers"]) for r in figures.cohorts
                 if r["cohort_month"] == cohort and r["months_since_start"] == 0), 0)


CHARTS = {
    "mrr_trend": (mrr_trend, "MRR over the last weeks"),
    "weekly_activity": (weekly_activity, "Trials and new customers per week"),
    "mrr_movements": (mrr_movements, "MRR movements per month"),
    "channel_performance": (channel_performance, "Channel performance"),
    "cohort_heatmap": (cohort_heatmap, "Cohort retention"),
}


def single(name: str, figures: WeeklyFigures, size: tuple[float, float] = (8, 3.6)) -> Figure:
    """One chart on a figure of its own (the HTML report's images)."""
    figure, ax = plt.subplots(figsize=size, layout="constrained")
    CHARTS[name][0](ax, figures)
    return figure

