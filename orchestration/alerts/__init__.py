"""Alerts: short messages about failed runs and red KPIs, posted to a Slack-compatible webhook.

``NORTHSTAR_ALERT_WEBHOOK`` names the webhook; with none set, alerts are logged instead.
"""

from orchestration.alerts.messages import kpi_alert_message, run_failure_message
from orchestration.alerts.sensors import alert_failed_run, northstar_run_failure_alert, run_failures
from orchestration.alerts.webhook import WEBHOOK_ENV_VAR, send_alert

__all__ = [
    "WEBHOOK_ENV_VAR",
    "alert_failed_run",
    "kpi_alert_message",
    "northstar_run_failure_alert",
    "run_failure_message",
    "run_failures",
    "send_alert",
]
