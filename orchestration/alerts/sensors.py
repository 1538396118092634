"""The run-failure sensor: when any run in the code location fails, say what failed and why.

Dagster's own failure text for a step stopped by a blocking asset check names the check but
not its description ("1 blocking asset check failed with ERROR severity: stripe/invoices:
gx_raw_stripe_invoices"), so the failed check evaluations are read back from the run's events
to put the check's own description (the expectation and its counts) in the alert.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetCheckSeverity,
    AssetKey,
    DagsterEvent,
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DefaultSensorStatus,
    RunFailureSensorContext,
    run_failure_sensor,
)

from orchestration.alerts.messages import one_line, run_failure_message
from orchestration.alerts.webhook import send_alert

if TYPE_CHECKING:
    from dagster._utils.error import SerializableErrorInfo  # not exported by dagster

CHECK_FAILED_ERROR = "DagsterAssetCheckFailedError"


@run_failure_sensor(
    name="northstar_run_failure_alert",
    description="Posts what failed and why to NORTHSTAR_ALERT_WEBHOOK (logged when unset).",
    default_status=DefaultSensorStatus.RUNNING,
)
def northstar_run_failure_alert(context: RunFailureSensorContext) -> None:
    """Send one alert per failed run, naming each failed asset or check and its reason."""
    run = context.dagster_run
    message = run_failure_message(run.job_name, run.run_id, run_failures(context))
    send_alert(message, log=context.log)


def run_failures(context: RunFailureSensorContext) -> list[tuple[str, str]]:
    """(what failed, why) for each failed step, else the run's own failure message.

    Reading the event log can itself fail (a pruned run, a storage hiccup); the alert then
    still goes out with the run-level message rather than not at all.
    """
    try:
        events = context.get_step_failure_events()
        failures = step_failures(context.instance, context.dagster_run, events)
    except Exception as error:  # noqa: BLE001 - the alert matters more than its details
        context.log.warning(f"alert details unavailable ({type(error).__name__}); sending anyway")
        failures = []
    return failures or [("", context.failure_event.message or "")]


def step_failures(
    instance: DagsterInstance, run: DagsterRun, events: Sequence[DagsterEvent]
) -> list[tuple[str, str]]:
    """(asset, check or step, reason) for each step failure event of ``run``."""
    if not events:
        return []
    checks = failed_blocking_checks(instance, run.run_id)
    outputs = step_output_keys(instance, run)
    failures: list[tuple[str, str]] = []
    for event in events:
        step_key = event.step_key or ""
        error = event.event_specific_data.error if event.event_specific_data else None
        if error is not None and error.cls_name == CHECK_FAILED_ERROR and checks.get(step_key):
            failures += [_check_failure(evaluation) for evaluation in checks[step_key]]
        else:
            failures.append((_step_label(step_key, outputs.get(step_key, [])), _step_reason(event)))
    return failures


def failed_blocking_checks(
    instance: DagsterInstance, run_id: str
) -> dict[str, list[AssetCheckEvaluation]]:
    """The run's failed blocking ERROR-severity check evaluations, by the step that ran them."""
    records = instance.get_records_for_run(
        run_id=run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION
    ).records
    by_step: dict[str, list[AssetCheckEvaluation]] = defaultdict(list)
    for record in records:
        event = record.event_log_entry.dagster_event
        evaluation = event.event_specific_data if event else None
        if (
            isinstance(evaluation, AssetCheckEvaluation)
            and not evaluation.passed
            and evaluation.blocking
            and evaluation.severity == AssetCheckSeverity.ERROR
        ):
            by_step[event.step_key or ""].append(evaluation)
    return by_step


def step_output_keys(
    instance: DagsterInstance, run: DagsterRun
) -> dict[str, list[AssetKey | AssetCheckKey]]:
    """The assets and checks each step of the run's plan was to produce, by step key."""
    if not run.execution_plan_snapshot_id:
        return {}
    plan = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
    return {
        step.key: [output.entity_key for output in step.outputs if output.entity_key is not None]
        for step in plan.steps
    }


def _check_failure(evaluation: AssetCheckEvaluation) -> tuple[str, str]:
    """``check stripe/invoices:gx_raw_stripe_invoices`` and the check's own description."""
    key = AssetCheckKey(evaluation.asset_key, evaluation.check_name)
    return f"check {key.to_user_string()}", evaluation.description or "failed with ERROR severity"


def _step_label(step_key: str, keys: list[AssetKey | AssetCheckKey]) -> str:
    """``asset stripe/customers`` or ``check ...`` for a one-entity step, else ``step <key>``."""
    if len(keys) != 1:
        return f"step {step_key}"
    kind = "check" if isinstance(keys[0], AssetCheckKey) else "asset"
    return f"{kind} {keys[0].to_user_string()}"


def _step_reason(event: DagsterEvent) -> str:
    """A ``Failure``'s description, else ``ExceptionClass: message`` of the user's exception."""
    data = event.event_specific_data
    user_failure = getattr(data, "user_failure_data", None)
    if user_failure is not None and user_failure.description:
        return user_failure.description
    error = getattr(data, "error", None)
    if error is None:
        return event.message or ""
    return _error_headline(_user_error(error))


def _user_error(error: SerializableErrorInfo) -> SerializableErrorInfo:
    """The user's exception inside Dagster's wrappers.

    Dagster wraps what a step raises (``DagsterExecutionStepExecutionError: Error occurred
    while executing op "fx_rates"``, likewise for resources and IO managers) and keeps the
    user's exception as the cause; the cause is what says why.
    """
    while error.cls_name and error.cls_name.startswith("Dagster") and error.cause is not None:
        error = error.cause
    return error


def _error_headline(error: SerializableErrorInfo) -> str:
    """``ValueError: first line`` (the module path of the class dropped)."""
    headline = one_line(error.message)
    qualified, _, text = headline.partition(": ")
    if qualified.endswith(error.cls_name):
        return f"{error.cls_name}: {text}" if text else error.cls_name
    return headline


def alert_failed_run(instance: DagsterInstance, run: DagsterRun) -> bool:
    """The sensor's alert for a run no daemon watches (``northstar run`` executes in-process)."""
    records = instance.get_records_for_run(run_id=run.run_id, of_type=DagsterEventType.STEP_FAILURE).records
    events = [r.event_log_entry.dagster_event for r in records if r.event_log_entry.dagster_event]
    failures = step_failures(instance, run, events)
    if not failures:
        run_failed = instance.get_records_for_run(run_id=run.run_id, of_type=DagsterEventType.RUN_FAILURE).records
        message = run_failed[0].event_log_entry.dagster_event.message if run_failed else "run failed"
        failures = [("", message or "run failed")]
    return send_alert(run_failure_message(run.job_name, run.run_id, failures))
