"""Alerts: the webhook client against a local HTTP receiver, the message text, and the
run-failure sensor on real failed Dagster runs (a blocking check, a ``Failure``)."""

from __future__ import annotations

import logging
import socket

import pytest
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    DagsterInstance,
    DefaultSensorStatus,
    Definitions,
    ExecuteInProcessResult,
    Failure,
    asset,
    asset_check,
    build_run_status_sensor_context,
    define_asset_job,
)

from orchestration.alerts import (
    WEBHOOK_ENV_VAR,
    kpi_alert_message,
    northstar_run_failure_alert,
    run_failure_message,
    send_alert,
    webhook,
)
from tests.orchestration.webhook_receiver import TOKEN, WEBHOOK_PATH, Receiver


@pytest.fixture(autouse=True)
def no_retry_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webhook, "RETRY_DELAY_SECONDS", 0.0)


def _closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- send_alert -------------------------------------------------------------------------------


def test_send_alert_posts_slack_json_once(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(WEBHOOK_ENV_VAR, receiver.url)
    assert send_alert("Northstar: run 1a2b3c4d of nightly failed") is True
    assert receiver.bodies == [{"text": "Northstar: run 1a2b3c4d of nightly failed"}]
    assert receiver.paths == [WEBHOOK_PATH]
    assert receiver.content_types == ["application/json"]


def test_send_alert_without_webhook_logs_and_posts_nothing(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(WEBHOOK_ENV_VAR, raising=False)
    caplog.set_level(logging.DEBUG)
    assert send_alert("Northstar KPI red: x") is False
    assert receiver.bodies == []
    [record] = [r for r in caplog.records if r.name == "northstar.alerts"]
    assert record.levelno == logging.WARNING
    assert record.getMessage() == f"alert (no {WEBHOOK_ENV_VAR} set): Northstar KPI red: x"


def test_send_alert_logs_to_the_given_logger(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(WEBHOOK_ENV_VAR, raising=False)
    caplog.set_level(logging.DEBUG)
    send_alert("hello", log=logging.getLogger("sensor.tick"))
    assert [(r.name, r.levelno) for r in caplog.records] == [("sensor.tick", logging.WARNING)]


def test_send_alert_retries_once_after_5xx(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(WEBHOOK_ENV_VAR, receiver.url)
    receiver.statuses = [500, 200]
    assert send_alert("retry me") is True
    assert receiver.bodies == [{"text": "retry me"}, {"text": "retry me"}]


def test_send_alert_gives_up_after_two_5xx_without_naming_the_url(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(WEBHOOK_ENV_VAR, receiver.url)
    caplog.set_level(logging.DEBUG)
    receiver.statuses = [503, 502, 200]
    assert send_alert("still down") is False
    assert len(receiver.bodies) == 2
    assert caplog.messages == ["alert not delivered (HTTP 502 after 2 attempts): still down"]
    assert TOKEN not in caplog.text


def test_send_alert_does_not_retry_4xx(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(WEBHOOK_ENV_VAR, receiver.url)
    receiver.statuses = [404]
    assert send_alert("gone") is False
    assert len(receiver.bodies) == 1
    assert caplog.messages == ["alert not delivered (HTTP 404): gone"]


def test_send_alert_retries_a_timeout(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(WEBHOOK_ENV_VAR, receiver.url)
    monkeypatch.setattr(webhook, "TIMEOUT_SECONDS", 0.2)
    receiver.delay_seconds = 0.6
    assert send_alert("slow") is False
    assert len(receiver.bodies) == 2
    assert "after 2 attempts" in caplog.text
    assert TOKEN not in caplog.text


def test_unreachable_webhook_returns_false_and_keeps_the_url_secret(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    port = _closed_port()
    monkeypatch.setenv(WEBHOOK_ENV_VAR, f"http://127.0.0.1:{port}{WEBHOOK_PATH}")
    caplog.set_level(logging.DEBUG)
    assert send_alert("nobody home") is False
    assert caplog.messages == [
        "alert not delivered (URLError(ConnectionRefusedError) after 2 attempts): nobody home"
    ]
    assert TOKEN not in caplog.text
    assert str(port) not in caplog.text


@pytest.mark.parametrize(
    "url",
    [f"ftp://hooks.example.com{WEBHOOK_PATH}", f"http://[::1{WEBHOOK_PATH}", f"http://{TOKEN}:x/"],
)
def test_malformed_webhook_never_raises_nor_leaks(
    url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(WEBHOOK_ENV_VAR, url)
    caplog.set_level(logging.DEBUG)
    assert send_alert("bad url") is False
    assert len(caplog.records) == 1
    assert TOKEN not in caplog.text


# --- message text -----------------------------------------------------------------------------

RUN_ID = "1a2b3c4d-5e6f-4a1b-9c8d-0123456789ab"


def test_run_failure_message_names_run_job_what_and_why() -> None:
    message = run_failure_message(
        "nightly",
        RUN_ID,
        [
            (
                "check stripe/invoices:gx_raw_stripe_invoices",
                "expect_column_values_to_be_between on amount_due: 1 of 300 rows unexpected",
            )
        ],
    )
    assert message == (
        "Northstar: run 1a2b3c4d of nightly failed: check stripe/invoices:gx_raw_stripe_invoices:"
        " expect_column_values_to_be_between on amount_due: 1 of 300 rows unexpected"
    )


def test_run_failure_message_keeps_the_first_line_truncated() -> None:
    reason = "\n  " + "x" * 400 + "\nTraceback (most recent call last):\n  ..."
    message = run_failure_message("nightly", RUN_ID, [("asset stripe/customers", reason)])
    assert message == (
        "Northstar: run 1a2b3c4d of nightly failed: asset stripe/customers: " + "x" * 299 + "…"
    )


def test_run_failure_message_lists_five_then_counts() -> None:
    failures = [(f"asset a{i}", f"boom {i}") for i in range(8)]
    message = run_failure_message("nightly", RUN_ID, failures)
    assert message == (
        "Northstar: run 1a2b3c4d of nightly failed: asset a0: boom 0; asset a1: boom 1;"
        " asset a2: boom 2; asset a3: boom 3; asset a4: boom 4; and 3 more"
    )


def test_run_failure_message_with_no_details_or_no_name() -> None:
    assert run_failure_message("nightly", RUN_ID, []) == "Northstar: run 1a2b3c4d of nightly failed"
    assert run_failure_message("nightly", RUN_ID, [("", "worker died")]) == (
        "Northstar: run 1a2b3c4d of nightly failed: worker died"
    )


def test_kpi_alert_message() -> None:
    assert kpi_alert_message("blended CAC (USD)", "2026-10", "142.78", "> 75", "red", RUN_ID) == (
        "Northstar KPI red: blended CAC (USD) = 142.78 for 2026-10 (red bound > 75), run 1a2b3c4d"
    )
    assert kpi_alert_message("net revenue retention", "2026-10", "0.81", "< 0.9", "red", None) == (
        "Northstar KPI red: net revenue retention = 0.81 for 2026-10 (red bound < 0.9)"
    )


# --- the run-failure sensor on real failed runs ------------------------------------------------


@asset(key_prefix=["stripe"])
def invoices() -> int:
    return 3


@asset_check(asset=invoices, blocking=True, name="gx_raw_stripe_invoices")
def gx_raw_stripe_invoices(invoices: int) -> AssetCheckResult:
    return AssetCheckResult(
        passed=False,
        severity=AssetCheckSeverity.ERROR,
        description="expect_column_values_to_be_between on amount_due: 1 of 3 rows unexpected",
    )


@asset(deps=[invoices])
def mrr_summary() -> int:
    return 1


@asset(key_prefix=["stripe"])
def customers() -> int:
    raise Failure(description="stripe: failed: HTTP 401 from /v1/customers")


@asset
def fx_rates() -> int:
    raise ValueError("no rate for XOF on 2026-10-31\nmore detail")


DEFS = Definitions(
    assets=[invoices, mrr_summary, customers, fx_rates],
    asset_checks=[gx_raw_stripe_invoices],
    jobs=[
        define_asset_job("nightly", selection=[invoices, mrr_summary]),
        define_asset_job("stripe_customers", selection=[customers]),
        define_asset_job("fx", selection=[fx_rates]),
    ],
)


def _failed_run(job_name: str, instance: DagsterInstance) -> ExecuteInProcessResult:
    result = DEFS.resolve_job_def(job_name).execute_in_process(
        raise_on_error=False, instance=instance
    )
    assert not result.success
    return result


def _evaluate_sensor(result: ExecuteInProcessResult, instance: DagsterInstance) -> None:
    context = build_run_status_sensor_context(
        sensor_name=northstar_run_failure_alert.name,
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event(),
    )
    northstar_run_failure_alert(context)


def test_sensor_is_named_and_on_by_default() -> None:
    assert northstar_run_failure_alert.name == "northstar_run_failure_alert"
    assert northstar_run_failure_alert.default_status == DefaultSensorStatus.RUNNING


def test_sensor_names_the_failed_blocking_check_and_its_description(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(WEBHOOK_ENV_VAR, receiver.url)
    instance = DagsterInstance.ephemeral()
    result = _failed_run("nightly", instance)
    # What Dagster itself reports: the step fails naming the check but not its description.
    [step_failure] = result.get_step_failure_events()
    assert step_failure.step_key == "stripe__invoices_gx_raw_stripe_invoices"
    assert step_failure.event_specific_data.error.message == (
        "dagster._core.errors.DagsterAssetCheckFailedError: 1 blocking asset check failed with"
        " ERROR severity:\nstripe/invoices: gx_raw_stripe_invoices\n"
    )

    _evaluate_sensor(result, instance)

    assert receiver.bodies == [
        {
            "text": f"Northstar: run {result.run_id[:8]} of nightly failed:"
            " check stripe/invoices:gx_raw_stripe_invoices:"
            " expect_column_values_to_be_between on amount_due: 1 of 3 rows unexpected"
        }
    ]


def test_sensor_reports_a_failure_description(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(WEBHOOK_ENV_VAR, receiver.url)
    instance = DagsterInstance.ephemeral()
    result = _failed_run("stripe_customers", instance)
    _evaluate_sensor(result, instance)
    assert receiver.bodies == [
        {
            "text": f"Northstar: run {result.run_id[:8]} of stripe_customers failed:"
            " asset stripe/customers: stripe: failed: HTTP 401 from /v1/customers"
        }
    ]


def test_sensor_reports_an_exception_by_class_and_first_line(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(WEBHOOK_ENV_VAR, receiver.url)
    instance = DagsterInstance.ephemeral()
    result = _failed_run("fx", instance)
    _evaluate_sensor(result, instance)
    assert receiver.bodies == [
        {
            "text": f"Northstar: run {result.run_id[:8]} of fx failed:"
            " asset fx_rates: ValueError: no rate for XOF on 2026-10-31"
        }
    ]


CUSTOMERS_RUN_FAILED = (
    'Execution of run for "stripe_customers" failed. Steps failed: [\'stripe__customers\'].'
)


def test_sensor_without_step_failures_sends_the_run_failure_message(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that failed outside any step: the instance holds no step failure for it."""
    monkeypatch.setenv(WEBHOOK_ENV_VAR, receiver.url)
    result = _failed_run("stripe_customers", DagsterInstance.ephemeral())
    _evaluate_sensor(result, DagsterInstance.ephemeral())
    assert receiver.bodies == [
        {
            "text": f"Northstar: run {result.run_id[:8]} of stripe_customers failed:"
            f" {CUSTOMERS_RUN_FAILED}"
        }
    ]


def test_sensor_alerts_even_when_the_event_log_fails(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Details are best effort; the alert goes out with the run-level message."""
    monkeypatch.setenv(WEBHOOK_ENV_VAR, receiver.url)
    instance = DagsterInstance.ephemeral()
    result = _failed_run("stripe_customers", instance)

    def unreadable(*args: object, **kwargs: object) -> None:
        raise RuntimeError("event log unavailable")

    monkeypatch.setattr(instance, "get_records_for_run", unreadable)
    _evaluate_sensor(result, instance)
    assert receiver.bodies == [
        {
            "text": f"Northstar: run {result.run_id[:8]} of stripe_customers failed:"
            f" {CUSTOMERS_RUN_FAILED}"
        }
    ]
