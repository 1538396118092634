"""The weekly executive report: one HTML file and one PDF with the same tables and charts.

Its week is the latest complete ISO week in the data (Monday to Sunday, on or before the last
day of data), compared with the week before; the month-grain parts (MRR movements, channels,
cohorts) show the latest complete month. It is rewritten by every published nightly build (a
restated number shows up at once) into ``<reports dir>/weekly/northstar-weekly-<monday>.*``,
and e-mailed once per week, the first night its week is complete (see ``deliver_weekly``).

The PDF is drawn by matplotlib itself (its PDF backend): no browser, no HTML-to-PDF engine.
"""

from __future__ import annotations

import base64
import html
import io
import logging
from dataclasses import dataclass
from pathlib import Path

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from orchestration.reports import charts, settings
from orchestration.reports.figures import WeeklyFigures, read_weekly
from orchestration.reports.formatting import (
    change,
    count,
    kpi_label,
    kpi_value,
    money,
    period,
    rate,
)
from orchestration.reports.mail import send_report

LOGGER = logging.getLogger("northstar.reports")
A4 = (8.27, 11.69)
Table = tuple[list[str], list[list[str]]]


@dataclass
class WeeklyReport:
    html: Path
    pdf: Path
    emailed: bool = False

    @property
    def marker(self) -> Path:
        """Written once the week's report was e-mailed: later nights rewrite, never resend."""
        return self.pdf.with_suffix(".emailed")


def title(figures: WeeklyFigures) -> str:
    return f"Northstar weekly report: week of {figures.week.start:%Y-%m-%d}"


def subtitle(figures: WeeklyFigures) -> str:
    week = figures.week
    latest = figures.movements[-1] if figures.movements else None
    month = (f"; {latest['month']:%B %Y}: NRR {rate(latest['net_revenue_retention'])}, "
             f"GRR {rate(latest['gross_revenue_retention'])}" if latest else "")
    return (f"Monday {week.start:%d %B %Y} to Sunday {week.end:%d %B %Y}, against the week before.\n"
            f"Data through {figures.data_through:%Y-%m-%d}{month}. Money in {figures.currency}.")


def week_over_week(figures: WeeklyFigures) -> Table:
    this, before = figures.week, figures.previous_week
    cur = figures.currency
    rows = [
        ("MRR at week end", this.mrr, before and before.mrr, lambda v: money(v, cur)),
        ("Paying customers at week end", this.active_customers, before and before.active_customers, count),
        ("Trials started", this.trials, before and before.trials, count),
        ("New paying customers", this.new_customers, before and before.new_customers, count),
        ("Ad spend", this.ad_spend, before and before.ad_spend, lambda v: money(v, cur)),
        ("Website sessions", this.sessions, before and before.sessions, count),
    ]
    header = ["metric", f"week of {this.start:%d %b}",
              f"week of {before.start:%d %b}" if before else "week before", "change"]
    return header, [[name, show(now), show(then) if then is not None else "n/a",
                     rate(change(now, then), signed=True)] for name, now, then, show in rows]


def kpi_table(figures: WeeklyFigures) -> Table:
    header = ["KPI", "period", "value", "status", "bound"]
    rows = [[kpi_label(k.metric), period(k.period_start, k.period_grain), kpi_value(k.metric, k.value),
             k.status, f"{k.operator} {kpi_value(k.metric, k.bound)}" if k.bound is not None else ""]
            for k in figures.kpis]
    return header, rows


def channel_table(figures: WeeklyFigures) -> Table:
    header = ["channel", "ad spend", "sessions", "trials", "new customers", "CAC", "1st-year ROAS"]
    rows = [[r["channel"], money(r["spend_amount_usd"], "USD"), count(r["sessions"]), count(r["trials"]),
             count(r["new_customers"]), money(r["cac_usd"], "USD") if r["cac_usd"] else "n/a",
             f"{r['first_year_roas']:.2f}x" if r["first_year_roas"] is not None else "n/a"]
            for r in figures.channels]
    return header, rows


# --- HTML ------------------------------------------------------------------------------------

_CSS = """body{font-family:Helvetica,Arial,sans-serif;color:#222;max-width:900px;margin:24px auto;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:16px;margin-top:28px;border-bottom:1px solid #ddd}
p.sub{color:#555;margin-top:0}table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:right}th:first-child,td:first-child{text-align:left}
th{background:#f4f4f4}img{max-width:100%}td.red{background:#f4a6a6}td.yellow{background:#fbe49a}
td.green{background:#b7e4b0}td.neutral{background:#e6e6e6}"""


def _html_table(table: Table, status_column: int | None = None) -> str:
    header, rows = table
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            css = f' class="{html.escape(cell)}"' if i == status_column else ""
            cells.append(f"<td{css}>{html.escape(cell)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    figure.clear()
    return base64.b64encode(buffer.getvalue()).decode()


def render_html(figures: WeeklyFigures) -> str:
    """One self-contained page (charts inlined as PNG), readable in a browser or a mail client."""
    def chart(name: str, size: tuple[float, float] = (8, 3.6)) -> str:
        alt = html.escape(charts.CHARTS[name][1])
        return f'<img alt="{alt}" src="data:image/png;base64,{_png(charts.single(name, figures, size))}">'

    sections = [
        f"<h1>{html.escape(title(figures))}</h1>"
        f"<p class='sub'>{html.escape(subtitle(figures)).replace(chr(10), '<br>')}</p>",
        "<h2>Week over week</h2>", _html_table(week_over_week(figures)), chart("mrr_trend"),
        chart("weekly_activity"), chart("mrr_movements"),
        "<h2>KPI status</h2>", _html_table(kpi_table(figures), status_column=3),
        f"<h2>Channel performance, {figures.channel_month:%B %Y}</h2>", _html_table(channel_table(figures)),
        chart("channel_performance", (8, 4)),
        "<h2>Cohorts</h2>", chart("cohort_heatmap", (8, 5)),
    ]
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title(figures))}"
            f"</title><style>{_CSS}</style></head><body>{''.join(sections)}</body></html>\n")


# --- PDF -------------------------------------------------------------------------------------


def _pdf_table(figure: Figure, rect: tuple[float, float, float, float], caption: str, table: Table,
               status_column: int | None = None, widths: list[float] | None = None) -> None:
    ax = figure.add_axes(rect)
    ax.axis("off")
    ax.set_title(caption, loc="left", fontsize=10)
    header, rows = table
    colours = [[charts.STATUS_COLOURS.get(cell, "white") if i == status_column else "white"
                for i, cell in enumerate(row)] for row in rows] or None
    drawn = ax.table(cellText=rows or [["none"] + [""] * (len(header) - 1)], colLabels=header,
                     cellColours=colours, colWidths=widths, loc="upper left", cellLoc="right")
    drawn.auto_set_font_size(False)
    drawn.set_fontsize(7.5)
    drawn.scale(1, 1.3)
    for (row, column), cell in drawn.get_celld().items():
        cell.set_edgecolor("#cccccc")
        if row == 0:
            cell.set_facecolor("#f0f0f0")
        if column == 0:
            cell.set_text_props(ha="left")


def _page(pdf: PdfPages, draw) -> None:
    figure = Figure(figsize=A4)
    draw(figure)
    pdf.savefig(figure)


def render_pdf(figures: WeeklyFigures, path: Path) -> None:
    """Three A4 pages: headline tables and MRR; weekly and monthly movement; channels and cohorts."""
    def first(figure: Figure) -> None:
        figure.text(0.06, 0.955, title(figures), fontsize=16, weight="bold")
        figure.text(0.06, 0.915, subtitle(figures), fontsize=8.5, color="#555555")
        _pdf_table(figure, (0.06, 0.68, 0.88, 0.2), "Week over week", week_over_week(figures),
                   widths=[0.34, 0.22, 0.22, 0.12])
        _pdf_table(figure, (0.06, 0.5, 0.88, 0.16), "KPI status (latest complete period)",
                   kpi_table(figures), status_column=3, widths=[0.34, 0.2, 0.12, 0.1, 0.12])
        charts.mrr_trend(figure.add_axes((0.1, 0.07, 0.84, 0.33)), figures)

    def second(figure: Figure) -> None:
        charts.weekly_activity(figure.add_axes((0.1, 0.58, 0.84, 0.36)), figures)
        charts.mrr_movements(figure.add_axes((0.1, 0.1, 0.84, 0.36)), figures)

    def third(figure: Figure) -> None:
        _pdf_table(figure, (0.06, 0.77, 0.88, 0.18), f"Channel performance, {figures.channel_month:%B %Y}",
                   channel_table(figures), widths=[0.2, 0.14, 0.11, 0.1, 0.14, 0.14, 0.14])
        charts.channel_performance(figure.add_axes((0.2, 0.47, 0.74, 0.2)), figures)
        charts.cohort_heatmap(figure.add_axes((0.2, 0.06, 0.7, 0.33)), figures)

    # no CreationDate: the same warehouse gives the same file
    with PdfPages(path, metadata={"Title": title(figures), "Creator": "Northstar",
                                  "CreationDate": None}) as pdf:
        for draw in (first, second, third):
            _page(pdf, draw)


# --- writing and delivering ------------------------------------------------------------------


def write_weekly(warehouse: Path | None = None, folder: Path | None = None) -> tuple[WeeklyReport, WeeklyFigures]:
    """Write the HTML and PDF of the warehouse's latest complete week; return their paths."""
    figures = read_weekly(warehouse)
    folder = (folder or settings.reports_dir(warehouse)) / "weekly"
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"northstar-weekly-{figures.week.start:%Y-%m-%d}"
    report = WeeklyReport(stem.with_suffix(".html"), stem.with_suffix(".pdf"))
    _atomic_write(report.html, render_html(figures).encode())
    staged = report.pdf.with_suffix(".pdf.tmp")
    render_pdf(figures, staged)
    staged.replace(report.pdf)
    return report, figures


def deliver_weekly(warehouse: Path | None = None, folder: Path | None = None,
                   log: logging.Logger | None = None) -> WeeklyReport:
    """Write the report, and e-mail it when SMTP is configured and its week was not sent yet.

    A failed delivery is logged (never with the password) and not marked: the next published
    build tries again. It does not fail the build, whose warehouse is published already.
    """
    log = log or LOGGER
    smtp = settings.smtp_settings()  # a bad setting fails here, before any work, in one line
    report, figures = write_weekly(warehouse, folder)
    log.info(f"weekly report written: {report.pdf}")
    if smtp is None:
        log.info(f"weekly report not e-mailed: {settings.SMTP_PREFIX}HOST is not set")
    elif report.marker.exists():
        log.info(f"weekly report of {figures.week.start} was e-mailed already ({report.marker.name})")
    else:
        problem = send_report(smtp, title(figures), _plain_text(figures), report.html, report.pdf)
        if problem:
            log.error(f"weekly report not e-mailed: {problem}")
        else:
            report.marker.write_text(", ".join(smtp.recipients) + "\n")
            report.emailed = True
            log.info(f"weekly report e-mailed to {len(smtp.recipients)} recipient(s)")
    return report


def _plain_text(figures: WeeklyFigures) -> str:
    _, rows = week_over_week(figures)
    lines = [title(figures), subtitle(figures), ""]
    lines += [f"{row[0]}: {row[1]} (week before {row[2]}, {row[3]})" for row in rows]
    lines += ["", "The full report with charts is attached (PDF) and below (HTML)."]
    return "\n".join(lines)


def _atomic_write(path: Path, data: bytes) -> None:
    staged = path.with_suffix(path.suffix + ".tmp")
    staged.write_bytes(data)
    staged.replace(path)
