"""The text of an alert: one short line a person reads on a phone, built from plain values.

Pure functions, no Dagster and no HTTP, so the exact wording is tested on its own and the same
words serve the run-failure sensor and the red KPI alerts. Runs are named by the first 8
characters of their id (what the Dagster UI shows) together with the job name.
"""

from __future__ import annotations

MAX_REASON_CHARS = 300
MAX_FAILURES_LISTED = 5
SHORT_RUN_ID_CHARS = 8


def short_run_id(run_id: str) -> str:
    """The run id as the Dagster UI shows it: long enough to find the run, short enough to read."""
    return run_id[:SHORT_RUN_ID_CHARS]


def one_line(reason: str, limit: int = MAX_REASON_CHARS) -> str:
    """The first non-blank line of ``reason``, cut to ``limit`` characters.

    Error messages carry stack traces and dumps; the alert needs only their headline, and the
    run's logs keep the rest.
    """
    line = next((part.strip() for part in reason.splitlines() if part.strip()), "")
    if len(line) <= limit:
        return line
    return line[: limit - 1].rstrip() + "…"


def _failure_phrase(name: str, reason: str) -> str:
    """``name: reason``, dropping whichever part is empty."""
    reason = one_line(reason)
    return ": ".join(part for part in (name, reason) if part)


def run_failure_message(job_name: str, run_id: str, failures: list[tuple[str, str]]) -> str:
    """``Northstar: run <id> of <job> failed: <what>: <why>; ...`` with at most 5 failures listed.

    ``failures`` are (failed asset, check or step, reason) pairs; a night where many things fail
    usually has one cause, so the rest are counted rather than listed.
    """
    head = f"Northstar: run {short_run_id(run_id)} of {job_name} failed"
    phrases = [_failure_phrase(name, reason) for name, reason in failures]
    phrases = [phrase for phrase in phrases if phrase]
    listed = phrases[:MAX_FAILURES_LISTED]
    if len(phrases) > MAX_FAILURES_LISTED:
        listed.append(f"and {len(phrases) - MAX_FAILURES_LISTED} more")
    return f"{head}: {'; '.join(listed)}" if listed else head


def kpi_alert_message(
    metric: str, period: str, value: str, bound: str, status: str, run_id: str | None
) -> str:
    """``Northstar KPI red: blended CAC (USD) = 142.78 for 2026-10 (red bound > 75), run 1a2b3c4d``.

    Values arrive already formatted (the thresholds seed and kpi_alerts mart own the units), so
    this only arranges them.
    """
    message = f"Northstar KPI {status}: {metric} = {value} for {period} ({status} bound {bound})"
    return f"{message}, run {short_run_id(run_id)}" if run_id else message
