"""The scheduled reports on a real built warehouse (the session's ``built_warehouse``: a year of
the small sandbox), delivered to a local webhook receiver and a local SMTP server (aiosmtpd).

- the daily digest posts the marts' figures of the warehouse's last day of data;
- a stale publish gets the staleness notice instead of numbers;
- the weekly report is written as HTML and PDF, e-mailed once with the PDF attached, and the
  PDF renders to pages with real charts on them;
- in Dagster, the reports follow a published build and never a failed one (the failure alert
  goes instead).

Each test works on its own copy of the built warehouse: DuckDB refuses a read-only connection
to a file dbt opened read-write in this process, and the staleness test changes the file's time.
"""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import socket
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pypdfium2
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from dagster import (
    AssetCheckResult,
    AssetSelection,
    DagsterInstance,
    Definitions,
    asset,
    asset_check,
    define_asset_job,
    in_process_executor,
)

from orchestration.alerts import alert_failed_run
from orchestration.assets.publish import build_publish_asset
from orchestration.reports.assets import REPORT_ASSETS
from orchestration.reports.digest import send_digest
from orchestration.reports.figures import read_digest
from orchestration.reports.formatting import kpi_label, kpi_value, money
from orchestration.reports.settings import SettingError, smtp_settings
from orchestration.reports.weekly import deliver_weekly
from orchestration.resources import WarehouseResource
from tests.orchestration.webhook_receiver import Receiver, running_receiver

PROJECT = Path(__file__).resolve().parents[2]
DASHBOARDS = "http://127.0.0.1:8080/northstar"
SMTP_PASSWORD = "hunter2-SMTP-secret"


@pytest.fixture
def warehouse(built_warehouse, tmp_path) -> Path:
    path = tmp_path / "published" / "northstar.duckdb"
    path.parent.mkdir()
    built_warehouse.query("checkpoint")  # fold dbt's write-ahead log in, as publishing does
    shutil.copy(built_warehouse.path, path)
    return path


@pytest.fixture
def receiver(monkeypatch) -> Receiver:
    with running_receiver() as state:
        monkeypatch.setenv("NORTHSTAR_ALERT_WEBHOOK", state.url)
        yield state


def _one(path: Path, sql: str, *params: object) -> tuple:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, list(params)).fetchone()


def _all(path: Path, sql: str, *params: object) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


# --- the daily digest --------------------------------------------------------------------------


def test_digest_posts_the_marts_figures_of_the_last_day_of_data(warehouse, receiver, monkeypatch):
    monkeypatch.setenv("NORTHSTAR_DASHBOARD_URL", DASHBOARDS)
    now = datetime.now(UTC)
    text, delivered = send_digest(warehouse, published_at=now - timedelta(hours=2), now=now)
    assert delivered
    assert receiver.bodies == [{"text": text}]

    (day,) = _one(warehouse, "select max(date_day) from core.dim_dates")
    assert day == date(2025, 12, 31)  # the world's as-of is 2026-01-01: yesterday is its last day
    mrr, customers = _one(warehouse, "select sum(mrr_amount_usd), sum(active_customers) "
                          "from core.fct_mrr_daily where mrr_date = ?", day)
    (before,) = _one(warehouse, "select sum(mrr_amount_usd) from core.fct_mrr_daily where mrr_date = ?",
                     day - timedelta(days=1))
    conversions = dict(_all(warehouse, "select conversion_type, count(*) from core.fct_conversions "
                            "where conversion_date = ? group by 1", day))
    churn, churned = _one(warehouse, "select churn_mrr, churned_customers from metrics.mrr_summary "
                          "where currency_scope = 'reporting' and month = ?", day.replace(day=1))
    attention = _all(warehouse, "select metric, status, metric_value, bound_operator, bound_crossed "
                     "from metrics.kpi_alerts where is_latest_period and status in ('red', 'yellow') "
                     "order by status = 'yellow', metric")

    figures = read_digest(warehouse)
    assert (figures.day, figures.mrr, figures.previous_mrr, figures.active_customers) == (
        day, mrr, before, customers)
    assert (figures.new_trials, figures.new_customers) == (
        conversions.get("trial_start", 0), conversions.get("paid", 0))
    assert (figures.churned_mrr, figures.churned_customers) == (churn, churned)
    assert [(k.metric, k.status, k.value) for k in figures.kpis] == [a[:3] for a in attention]
    assert attention, "the small sandbox has red KPIs (weekly trial sign-ups, blended CAC)"

    lines = text.splitlines()
    assert lines[0] == "*Northstar daily digest for Wed 2025-12-31* (the last day of data)"
    assert lines[1].startswith(f"MRR: {money(mrr, 'USD')} (")
    assert lines[1].endswith(f"Tue 2025-12-30), {customers} paying customers")
    assert lines[2] == (f"New trials: {conversions.get('trial_start', 0)}, "
                        f"new paying customers: {conversions.get('paid', 0)}")
    assert lines[3].startswith(f"Churned MRR in December 2025 so far: {money(churn, 'USD')} ({churned} customer")
    assert lines[4] == "KPIs needing attention:"
    for line, (metric, status, value, operator, bound) in zip(lines[5:], attention, strict=False):
        assert line.startswith(f"• {status}: {kpi_label(metric)} = {kpi_value(metric, value)} for ")
        assert line.endswith(f"({status} bound {operator} {kpi_value(metric, bound)})")
    assert lines[-1] == f"Dashboards: <{DASHBOARDS}|{DASHBOARDS}>"
    assert len(lines) == 6 + len(attention)


def _digest_by_hand(warehouse: Path, receiver: Receiver, **env: str) -> subprocess.CompletedProcess:
    """``python -m orchestration.reports digest`` on ``warehouse``, as cron would run it."""
    environment = {**os.environ, "NORTHSTAR_WAREHOUSE": str(warehouse),
                   "NORTHSTAR_ALERT_WEBHOOK": receiver.url, **env}
    environment.pop("NORTHSTAR_DASHBOARD_URL", None)
    return subprocess.run([sys.executable, "-m", "orchestration.reports", "digest"], cwd=PROJECT,
                          env=environment, capture_output=True, text=True, timeout=300, check=False)


def test_a_stale_publish_gets_the_staleness_notice_instead_of_numbers(warehouse, receiver):
    thirty_hours_ago = time.time() - 30 * 3600
    os.utime(warehouse, (thirty_hours_ago, thirty_hours_ago))

    stale = _digest_by_hand(warehouse, receiver)
    assert stale.returncode == 0, stale.stderr
    assert len(receiver.bodies) == 1
    text = receiver.bodies[0]["text"]
    assert text.startswith("*Northstar daily digest: the warehouse is stale.* It was last published ")
    assert "30 hours ago (more than NORTHSTAR_DIGEST_MAX_AGE_HOURS=26): no figures today." in text
    assert "MRR" not in text and "$" not in text
    assert text.splitlines()[-1] == "Dashboards: not linked (NORTHSTAR_DASHBOARD_URL is not set)"

    # the same file within a longer allowance gets the figures
    fresh = _digest_by_hand(warehouse, receiver, NORTHSTAR_DIGEST_MAX_AGE_HOURS="48")
    assert fresh.returncode == 0, fresh.stderr
    assert receiver.bodies[1]["text"].startswith("*Northstar daily digest for Wed 2025-12-31*")

    bad = _digest_by_hand(warehouse, receiver, NORTHSTAR_DIGEST_MAX_AGE_HOURS="a day")
    assert bad.returncode == 2 and len(receiver.bodies) == 2
    assert bad.stderr.strip() == ("northstar reports: error: NORTHSTAR_DIGEST_MAX_AGE_HOURS must be a "
                                  "number of hours, got 'a day'")


# --- the weekly report -------------------------------------------------------------------------


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"


def _authenticate(server, session, envelope, mechanism, data) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"reports", SMTP_PASSWORD.encode())
    return AuthResult(success=ok)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def inbox(monkeypatch) -> _Inbox:
    handler = _Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port(),
                            authenticator=_authenticate, auth_require_tls=False)
    controller.start()
    for name, value in {"HOST": "127.0.0.1", "PORT": str(controller.port), "USER": "reports",
                        "PASSWORD": SMTP_PASSWORD, "FROM": "northstar@example.com",
                        "TO": "ceo@example.com, cfo@example.com"}.items():
        monkeypatch.setenv(f"NORTHSTAR_SMTP_{name}", value)
    yield handler
    controller.stop()


def test_weekly_report_is_written_and_emailed_once_with_the_pdf(warehouse, inbox, caplog):
    caplog.set_level("DEBUG")
    report = deliver_weekly(warehouse)
    # the latest complete ISO week before the last day of data (Wednesday 2025-12-31)
    assert report.pdf == warehouse.parent / "reports" / "weekly" / "northstar-weekly-2025-12-22.pdf"
    assert report.html.exists() and report.emailed

    assert len(inbox.messages) == 1
    sender, recipients, raw = inbox.messages[0]
    assert (sender, recipients) == ("northstar@example.com", ["ceo@example.com", "cfo@example.com"])
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert mail["Subject"] == "Northstar weekly report: week of 2025-12-22"
    attachments = list(mail.iter_attachments())
    assert [(a.get_content_type(), a.get_filename()) for a in attachments] == [
        ("application/pdf", "northstar-weekly-2025-12-22.pdf")]
    assert attachments[0].get_content() == report.pdf.read_bytes()
    html = mail.get_body(("html",)).get_content().replace("\r\n", "\n")  # SMTP's line ends
    assert html == report.html.read_text()
    (week_end_mrr,) = _one(warehouse, "select sum(mrr_amount_usd) from core.fct_mrr_daily "
                           "where mrr_date = date '2025-12-28'")
    assert f"MRR at week end: {money(week_end_mrr, 'USD')}" in mail.get_body(("plain",)).get_content()
    assert html.count("<img alt=") == 5 and f"<td>{money(week_end_mrr, 'USD')}</td>" in html

    assert deliver_weekly(warehouse).emailed is False  # the next night rewrites, never resends
    assert len(inbox.messages) == 1
    assert SMTP_PASSWORD not in caplog.text


def test_an_unreachable_smtp_server_is_logged_and_retried_by_the_next_build(warehouse, monkeypatch, caplog):
    closed = _free_port()
    for name, value in {"HOST": "127.0.0.1", "PORT": str(closed), "USER": "reports",
                        "PASSWORD": SMTP_PASSWORD, "FROM": "northstar@example.com",
                        "TO": "ceo@example.com"}.items():
        monkeypatch.setenv(f"NORTHSTAR_SMTP_{name}", value)
    caplog.set_level("DEBUG")
    report = deliver_weekly(warehouse)
    assert report.pdf.exists() and not report.emailed and not report.marker.exists()
    assert (f"weekly report not e-mailed: SMTP connect to 127.0.0.1:{closed} failed: "
            "ConnectionRefusedError") in caplog.messages
    assert SMTP_PASSWORD not in caplog.text


def test_smtp_settings_that_cannot_work_are_one_line_errors(monkeypatch):
    monkeypatch.setenv("NORTHSTAR_SMTP_HOST", "smtp.example.com")
    monkeypatch.setenv("NORTHSTAR_SMTP_PASSWORD", SMTP_PASSWORD)
    for name in ("FROM", "TO", "USER", "PORT"):
        monkeypatch.delenv(f"NORTHSTAR_SMTP_{name}", raising=False)
    with pytest.raises(SettingError) as missing:
        smtp_settings()
    assert str(missing.value) == "NORTHSTAR_SMTP_HOST is set but NORTHSTAR_SMTP_FROM and NORTHSTAR_SMTP_TO are not"
    monkeypatch.setenv("NORTHSTAR_SMTP_FROM", "northstar@example.com")
    monkeypatch.setenv("NORTHSTAR_SMTP_TO", "ceo@example.com")
    with pytest.raises(SettingError) as no_user:
        smtp_settings()
    assert str(no_user.value) == "NORTHSTAR_SMTP_PASSWORD is set but NORTHSTAR_SMTP_USER is not"
    monkeypatch.setenv("NORTHSTAR_SMTP_USER", "reports")
    configured = smtp_settings()
    assert (configured.port, configured.recipients) == (587, ["ceo@example.com"])
    assert SMTP_PASSWORD not in repr(configured)


def test_weekly_pdf_renders_to_pages_with_charts(warehouse, tmp_path, monkeypatch):
    monkeypatch.delenv("NORTHSTAR_SMTP_HOST", raising=False)
    report = deliver_weekly(warehouse)
    pdf = pypdfium2.PdfDocument(str(report.pdf))
    assert len(pdf) == 3
    text = pdf[0].get_textpage().get_text_range()
    assert "Northstar weekly report: week of 2025-12-22" in text
    (week_end_mrr,) = _one(warehouse, "select sum(mrr_amount_usd) from core.fct_mrr_daily "
                           "where mrr_date = date '2025-12-28'")
    assert money(week_end_mrr, "USD") in text and "Blended CAC (USD)" in text
    for number in range(len(pdf)):
        image = pdf[number].render(scale=1.5).to_pil().convert("RGB")
        png = tmp_path / f"weekly-report-page-{number + 1}.png"
        image.save(png)
        small = image.resize((image.width // 4, image.height // 4))
        pixels = list(small.get_flattened_data())
        inked = sum(1 for p in pixels if p != (255, 255, 255)) / len(pixels)
        colours = {(r // 32, g // 32, b // 32) for r, g, b in pixels}
        assert inked > 0.08, (png, inked)  # a chart page, not a blank one
        assert len(colours) >= 12, (png, len(colours))  # bars, lines and a heatmap in colour
    print(f"rendered pages in {tmp_path}")


# --- in Dagster: after a published build only --------------------------------------------------


def _run(published: Path, data_is_good: bool) -> tuple[bool, DagsterInstance]:
    """A run of the real publish and report assets behind one asset whose blocking check
    passes or fails as told (the nightly's full graph is tests/orchestration/test_nightly_job.py's)."""

    @asset(key=["stripe", "invoices"], group_name="raw", required_resource_keys={"warehouse"})
    def invoices(context) -> None:
        # the run's draft: a copy of the published file
        with context.resources.warehouse.writing(context.run.run_id):
            pass

    @asset_check(asset=invoices, blocking=True)
    def amounts_are_not_negative() -> AssetCheckResult:
        return AssetCheckResult(passed=data_is_good,
                                description=None if data_is_good else "1 of 3000 rows has amount_due < 0")

    definitions = Definitions(
        assets=[invoices, build_publish_asset([invoices]), *REPORT_ASSETS],
        asset_checks=[amounts_are_not_negative],
        jobs=[define_asset_job("nightly", AssetSelection.all(), executor_def=in_process_executor)],
        resources={"warehouse": WarehouseResource(path=str(published))})
    instance = DagsterInstance.ephemeral()
    result = definitions.resolve_job_def("nightly").execute_in_process(instance=instance, raise_on_error=False)
    if not result.success:
        alert_failed_run(instance, result.dagster_run)  # as northstar run does
    return result.success, instance


def test_a_failed_build_sends_the_failure_alert_and_no_report(warehouse, receiver):
    success, _ = _run(warehouse, data_is_good=False)
    assert not success
    assert len(receiver.bodies) == 1
    assert receiver.bodies[0]["text"].startswith("Northstar: run ")
    failed_check = "check stripe/invoices:amounts_are_not_negative: 1 of 3000 rows has amount_due < 0"
    assert failed_check in receiver.bodies[0]["text"]
    assert not (warehouse.parent / "reports").exists()


def test_a_published_build_sends_the_digest_and_writes_the_report(warehouse, receiver):
    success, instance = _run(warehouse, data_is_good=True)
    assert success
    assert [b["text"].splitlines()[0] for b in receiver.bodies] == [
        "*Northstar daily digest for Wed 2025-12-31* (the last day of data)"]
    record = instance.get_latest_materialization_event(REPORT_ASSETS[1].key)
    pdf = Path(record.asset_materialization.metadata["pdf"].value)
    assert pdf == warehouse.parent / "reports" / "weekly" / "northstar-weekly-2025-12-22.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
