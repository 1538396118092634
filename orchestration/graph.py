"""The Dagster definitions, built from the environment (``orchestration.definitions`` holds them).

One asset graph: raw tables (dlt) -> dbt seeds, staging, intermediate, core and metric marts
-> ``published_warehouse`` -> ``serving_snapshot`` -> ``dashboards``, and the reports
(``daily_digest``, ``weekly_report``). Checks: every dbt test, the great-expectations suites,
the KPI alerts, raw freshness, published history not getting worse and, on the sandbox,
reconciliation with its truth (through orchestration/plugins.py, the one door to the sandbox).
``northstar run`` executes the same ``nightly`` job in-process.
"""

from __future__ import annotations

from dagster import Definitions
from dagster_dlt import DagsterDltResource

from ingestion.run import configured_sources
from orchestration import plugins
from orchestration.alerts import northstar_run_failure_alert
from orchestration.assets.dbt import dbt_models, dbt_resource
from orchestration.assets.ingestion import INGESTION_ASSETS
from orchestration.assets.publish import build_publish_asset
from orchestration.assets.serving import SERVING_ASSETS
from orchestration.checks.freshness import build_freshness_checks, build_freshness_sensor
from orchestration.checks.history import build_history_check
from orchestration.checks.kpi import build_kpi_checks
from orchestration.jobs import build_jobs, build_schedules
from orchestration.quality.checks import build_quality_checks
from orchestration.reports.assets import REPORT_ASSETS
from orchestration.resources import WarehouseResource


def build_definitions() -> Definitions:
    """Everything, read from the environment now (the sandbox's truth folder, schedules' crons).
    On PostgreSQL or Spark (NORTHSTAR_TARGET), the engine's job (orchestration/engine_job.py)."""
    from ingestion.engine import engine

    if engine() != "duckdb":
        from orchestration.engine_job import build_engine_definitions

        return build_engine_definitions(engine())
    freshness = build_freshness_checks(INGESTION_ASSETS)
    jobs = build_jobs(INGESTION_ASSETS, dbt_models, configured_sources())
    return Definitions(
        assets=[*INGESTION_ASSETS, dbt_models, build_publish_asset([*INGESTION_ASSETS, dbt_models]),
                *REPORT_ASSETS, *SERVING_ASSETS],
        asset_checks=[*build_quality_checks(), build_kpi_checks(), *plugins.asset_checks(),
                      build_history_check(plugins.history_judge()), *freshness],
        jobs=jobs,
        schedules=build_schedules(jobs),
        sensors=[northstar_run_failure_alert, build_freshness_sensor(freshness)],
        resources={"dlt": DagsterDltResource(), "dbt": dbt_resource(), "warehouse": WarehouseResource()},
    )

