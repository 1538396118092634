"""The daily digest: a few lines on the Slack-compatible webhook after each published build.

It goes to the alerts' webhook (``NORTHSTAR_ALERT_WEBHOOK``, logged when unset) through the
alerts' own client, so delivery, retries and secrecy of the URL are the alerts'. When the last
publish is older than ``NORTHSTAR_DIGEST_MAX_AGE_HOURS`` the digest says so and shows no number:
stale figures read as today's would be worse than none. That happens when the digest is sent
on its own (``python -m orchestration.reports digest``) or its step is re-executed days later.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

from orchestration.alerts import send_alert
from orchestration.reports import settings
from orchestration.reports.figures import DigestFigures, read_digest
from orchestration.reports.formatting import (
    change,
    count,
    kpi_label,
    kpi_value,
    money,
    period,
    rate,
)

LOGGER = logging.getLogger("northstar.reports")


def digest_text(figures: DigestFigures, dashboards: str | None) -> str:
    """The digest's lines (Slack mrkdwn: ``*bold*``, ``<url|label>``)."""
    day, currency = figures.day, figures.currency
    mrr_line = f"MRR: {money(figures.mrr, currency)}"
    before = f"{day - timedelta(days=1):%a %Y-%m-%d}"
    if figures.mrr_change == 0:
        mrr_line += f" (unchanged from {before})"
    elif figures.mrr_change is not None:
        relative = change(figures.mrr, figures.previous_mrr)
        shown = f", {rate(relative, signed=True)}" if relative is not None else ""
        mrr_line += f" ({money(figures.mrr_change, currency, signed=True)}{shown} from {before})"
    lines = [
        f"*Northstar daily digest for {day:%a %Y-%m-%d}* (the last day of data)",
        f"{mrr_line}, {count(figures.active_customers)} paying customers",
        f"New trials: {count(figures.new_trials)}, new paying customers: {count(figures.new_customers)}",
        (f"Churned MRR in {figures.churn_month:%B %Y} so far: {money(figures.churned_mrr, currency)} "
         f"({count(figures.churned_customers)} customer{'' if figures.churned_customers == 1 else 's'})"),
    ]
    if figures.kpis:
        lines.append("KPIs needing attention:")
        lines += [f"• {k.status}: {kpi_label(k.metric)} = {kpi_value(k.metric, k.value)} for "
                  f"{period(k.period_start, k.period_grain)} ({k.status} bound {k.operator} "
                  f"{kpi_value(k.metric, k.bound)})" for k in figures.kpis]
    else:
        lines.append("KPIs: none red or yellow")
    lines.append(_dashboards_line(dashboards))
    return "\n".join(lines)


def stale_text(published_at: datetime, now: datetime, max_age_hours: float,
               dashboards: str | None) -> str:
    """What the digest says instead of numbers when the last publish is too old."""
    age = (now - published_at) / timedelta(hours=1)
    return "\n".join([
        (f"*Northstar daily digest: the warehouse is stale.* It was last published "
         f"{published_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC, {age:.0f} hours ago (more than "
         f"{settings.MAX_AGE_SETTING}={max_age_hours:g}): no figures today. "
         "Check the nightly runs and their failure alerts."),
        _dashboards_line(dashboards),
    ])


def _dashboards_line(url: str | None) -> str:
    if url:
        return f"Dashboards: <{url}|{url}>"
    return f"Dashboards: not linked ({settings.DASHBOARD_SETTING} is not set)"


def is_stale(published_at: datetime, now: datetime, max_age_hours: float) -> bool:
    return now - published_at > timedelta(hours=max_age_hours)


def published_at_of(path: Path) -> datetime:
    """When ``path`` was last published, from the file itself (the atomic rename keeps the
    draft's last write, moments before): for callers without a Dagster record of it."""
    return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)


def send_digest(path: Path, published_at: datetime, now: datetime,
                log: logging.Logger | None = None) -> tuple[str, bool]:
    """Build the digest of the warehouse at ``path`` and post it; (text, delivered).

    ``published_at`` and ``now`` are timezone-aware.
    """
    max_age, dashboards = settings.max_age_hours(), settings.dashboard_url()
    if is_stale(published_at, now, max_age):
        text = stale_text(published_at, now, max_age, dashboards)
    else:
        text = digest_text(read_digest(path), dashboards)
    return text, send_alert(text, log=log or LOGGER)
