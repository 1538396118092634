"""The Dagster code location on a server engine (NORTHSTAR_TARGET=postgres or spark).

The DuckDB job (orchestration/graph.py) checks and publishes DuckDB files: its great-expectations
suites, reconciliations, history checks, serving snapshot and reports read the published file.
On PostgreSQL and Spark the nightly is the engine's write-audit-publish path instead
(orchestration/postgres_wap.py, orchestration/spark_wap.py), as two assets:

- ``raw_sources``: every configured source loaded by dlt into the engine (its extracts at once,
  ingestion/overlap.py); a source that fails fails the step, with one line per failure;
- ``published_warehouse``: ``dbt build`` into the unpublished drafts (PostgreSQL) or slot
  (Spark), audited by every dbt data and unit test, then published; a failed audit fails the
  step and publishes nothing.

The ``nightly`` job runs both on the same schedule as DuckDB's (``NORTHSTAR_NIGHTLY_CRON``), and
the run-failure alert (orchestration/alerts) is the same sensor. ``northstar run`` runs the
same two steps without Dagster (orchestration/cli.py).
"""

import os

from dagster import (
    AssetExecutionContext,
    DefaultScheduleStatus,
    Definitions,
    Failure,
    MaterializeResult,
    MetadataValue,
    ScheduleDefinition,
    asset,
    define_asset_job,
    in_process_executor,
)

from orchestration.alerts import northstar_run_failure_alert

NIGHTLY = "nightly"


def _wap(engine: str):
    if engine == "postgres":
        from orchestration import postgres_wap

        return postgres_wap
    from orchestration import spark_wap

    return spark_wap


def build_engine_definitions(engine: str) -> Definitions:
    """The nightly as load -> build, audit and publish, on ``engine`` (postgres or spark)."""

    @asset(name="raw_sources", group_name="ingestion", description=f"Every configured source, loaded into {engine}.")
    def raw_sources(context: AssetExecutionContext) -> MaterializeResult:
        from ingestion.run import ingest

        results = ingest()
        for result in results:
            context.log.info(result.line())
        failed = [result.line() for result in results if result.status == "failed"]
        if failed:
            raise Failure(description="; ".join(failed))
        return MaterializeResult(metadata={
            result.name: MetadataValue.int(sum(result.rows.values())) for result in results})

    @asset(name="published_warehouse", group_name="publish", deps=[raw_sources],
           description=f"dbt build into unpublished {engine} schemas, audited by dbt's tests, then published.")
    def published_warehouse(context: AssetExecutionContext) -> MaterializeResult:
        outcome = _wap(engine).build_and_publish(dbt_args=("--quiet",))
        for line in outcome.failures:
            context.log.error(line)
        if not outcome.published:
            raise Failure(description=f"not published: {len(outcome.failures)} failures: "
                                      + "; ".join(outcome.failures[:5]))
        metadata = {"engine": engine, "publish_seconds": MetadataValue.float(round(outcome.publish_s, 2))}
        if outcome.slot:
            metadata["slot"] = outcome.slot
        return MaterializeResult(metadata=metadata)

    nightly = define_asset_job(NIGHTLY, selection=[raw_sources, published_warehouse],
                               executor_def=in_process_executor, tags={"northstar/job": NIGHTLY},
                               description=f"Load, build, audit and publish on {engine}.")
    schedule = ScheduleDefinition(name="nightly_schedule", job=nightly,
                                  cron_schedule=os.environ.get("NORTHSTAR_NIGHTLY_CRON") or "0 2 * * *",
                                  execution_timezone="UTC", default_status=DefaultScheduleStatus.RUNNING)
    return Definitions(assets=[raw_sources, published_warehouse], jobs=[nightly], schedules=[schedule],
                       sensors=[northstar_run_failure_alert])
