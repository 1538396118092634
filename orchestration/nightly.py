"""Run the nightly job in-process (``northstar run``): the code path the schedule runs.

The result is summarised for a terminal: one line per step, one line per failed check, and
whether the warehouse was published. A failed run also sends the run-failure alert here, since
no sensor daemon watches an in-process run.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field

from dagster import AssetCheckSeverity, DagsterInstance, ExecuteInProcessResult

from orchestration import run_lock
from orchestration.alerts import alert_failed_run
from orchestration.alerts.sensors import step_failures
from orchestration.assets.publish import PUBLISHED_WAREHOUSE
from orchestration.graph import build_definitions
from orchestration.jobs import NIGHTLY
from orchestration.progress import PROGRESS_LOGGER, progress_logger
from orchestration.recovery import DeadRun, claim_warehouse, run_tags
from orchestration.reports.assets import WEEKLY_REPORT
from orchestration.resources import WarehouseResource
from orchestration.storage_errors import problem_in_text

#: Dagster's own log lines (stack traces included) are for the UI and the instance's event log;
#: the terminal gets the summary below, one line per failure.
_QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@dataclass
class CheckOutcome:
    name: str  # asset/check
    passed: bool
    severity: str
    description: str


@dataclass
class NightlyOutcome:
    run_id: str
    success: bool
    published: bool
    steps: list[tuple[str, str, float]] = field(default_factory=list)  # (step, status, seconds)
    step_failures: list[str] = field(default_factory=list)  # "<asset, check or step>: <reason>"
    checks: list[CheckOutcome] = field(default_factory=list)
    recovered: list[DeadRun] = field(default_factory=list)  # dead runs marked failed first
    report: str | None = None  # the weekly report's PDF, when the run wrote it

    @property
    def failed_checks(self) -> list[CheckOutcome]:
        return [c for c in self.checks if not c.passed]

    @property
    def storage_problem(self) -> str | None:
        """A full disk or a read-only folder behind a failed step: ``<what>: <where> (<step>)``."""
        for line in self.step_failures:
            problem = problem_in_text(line)
            if problem:
                return f"{problem} ({line.split(':', 1)[0]})"
        return None


#: Live progress instead: one line per step as it starts and ends (orchestration/progress.py).
_PROGRESS = {"loggers": {PROGRESS_LOGGER: {}}}


def run_nightly(instance: DagsterInstance | None = None, job_name: str = NIGHTLY,
                progress: bool = False, run_id: str | None = None) -> NightlyOutcome:
    """Execute ``job_name`` in this process against ``instance`` (DAGSTER_HOME's, else ephemeral).

    The warehouse's lock is held throughout (``WarehouseBusy`` when another run holds it), and
    runs that died on this warehouse are marked failed first, freeing the slot they held
    (``PoolBlocked`` when a run of something else still holds it). With ``progress``, each
    step prints a line as it starts and as it ends, and each recovered run a line.
    """
    if instance is None:
        instance = DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()
    os.environ.setdefault("NORTHSTAR_QUIET_DBT", "1")
    run_id = run_id or str(uuid.uuid4())  # as Dagster names runs
    published = WarehouseResource().published_path
    with run_lock.holding(published, run_id):
        recovered = claim_warehouse(instance, published, run_id)
        if progress:
            for dead in recovered:
                print(f"  {dead.line()}", flush=True)
        job = build_definitions().resolve_job_def(job_name)
        if progress:
            job = job.with_logger_defs({**job.loggers, PROGRESS_LOGGER: progress_logger})
        result = job.execute_in_process(instance=instance, raise_on_error=False, run_id=run_id,
                                        tags=run_tags(published),
                                        run_config=_PROGRESS if progress else _QUIET)
    outcome = summarise(result, instance)
    outcome.recovered = recovered
    if not outcome.success:
        alert_failed_run(instance, result.dagster_run)
    return outcome


def summarise(result: ExecuteInProcessResult, instance: DagsterInstance) -> NightlyOutcome:
    run_id = result.run_id
    steps = [(s.step_key, s.status.value.lower() if s.status else "?",
              (s.end_time or 0) - (s.start_time or 0)) for s in instance.get_run_step_stats(run_id)]
    failures = [f"{what}: {why}" for what, why in step_failures(instance, result.dagster_run,
                                                                 result.get_step_failure_events())]
    checks = [CheckOutcome(f"{e.asset_key.to_user_string()}:{e.check_name}", e.passed,
                           e.severity.value if isinstance(e.severity, AssetCheckSeverity) else str(e.severity),
                           e.description or "")
              for e in result.get_asset_check_evaluations()]
    materialized = {m.asset_key: m for e in result.get_asset_materialization_events()
                    for m in [e.event_specific_data.materialization]}
    published = PUBLISHED_WAREHOUSE in materialized
    report = materialized[WEEKLY_REPORT].metadata["pdf"].value if WEEKLY_REPORT in materialized else None
    return NightlyOutcome(run_id, result.success, published, steps, failures, checks, report=report)
