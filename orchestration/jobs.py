"""The two jobs and their schedules.

- ``nightly``: every asset and check (ingestion, every dbt model and test, the quality suites,
  the KPI alerts) then publishing. Built from all assets, never from a dbt selection, which
  would leave ingestion out. Default 02:00 UTC (``NORTHSTAR_NIGHTLY_CRON``), on by default.
- ``incremental``: ingestion, the dbt models downstream of a raw table that changed since the
  last build (orchestration/build_inputs.py: the others are as that build left them, so every
  mart people read is current), their checks, publishing, and the serving snapshot and
  dashboards after it, for teams that want fresher data between nightly builds. A run that
  loads nothing new starts no dbt at all. Default every 15 minutes
  (``NORTHSTAR_INCREMENTAL_CRON``); off until switched on in the UI (or with
  ``NORTHSTAR_INCREMENTAL_SCHEDULE=on``), as it costs a copy of the warehouse per run.

The nightly's data tests on the large incremental models check only the days an incremental run
can rewrite (macros/test_window.sql); the nightly schedule's Sunday run (``NORTHSTAR_FULL_TESTS_WEEKDAY``,
0 = Monday, default 6) is tagged to run every test on every row, as is any run launched with the
tag ``northstar/full_tests=true``.

Both run in one process (``in_process_executor``): every step opens the warehouse and so runs
in the pool of one anyway, and a process per step would add ~12 s of start-up and imports to
each of a dozen steps (measured under ``dagster dev``: 251 s against ~60 s in-process for the
small sandbox). It is also the code path ``northstar run`` executes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from dagster import (
    AssetsDefinition,
    AssetSelection,
    DefaultScheduleStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    define_asset_job,
    in_process_executor,
    schedule,
)
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition
from dagster_dbt import build_dbt_asset_selection

from orchestration.assets.publish import PUBLISHED_WAREHOUSE
from orchestration.assets.serving import DASHBOARDS, SERVING_SNAPSHOT
from orchestration.test_window import FULL_TESTS_TAG

NIGHTLY = "nightly"
INCREMENTAL = "incremental"
#: Each run's job, as a tag: the dbt step of the incremental job rebuilds only what changed.
JOB_TAG = "northstar/job"


def build_jobs(raw_assets: Sequence[AssetsDefinition], dbt_assets: AssetsDefinition,
               configured: Sequence[str]) -> list[UnresolvedAssetJobDefinition]:
    """The jobs; a source not in ``configured`` (its settings are missing) is left out of both,
    as ``northstar ingest`` skips it: dbt builds its staging models empty."""
    unconfigured = [a for a in raw_assets if a.node_def.name.removeprefix("ingest_") not in configured]
    raw_assets = [a for a in raw_assets if a not in unconfigured]
    everything = AssetSelection.all() - AssetSelection.assets(*unconfigured)
    nightly = define_asset_job(NIGHTLY, selection=everything, executor_def=in_process_executor,
                               description="Everything: load, build, audit, publish.", tags={JOB_TAG: NIGHTLY})
    # every model: the dbt step builds only those a changed raw table reaches (assets/dbt.py)
    models = build_dbt_asset_selection([dbt_assets])
    incremental = define_asset_job(
        INCREMENTAL,
        selection=AssetSelection.assets(*raw_assets) | models
        | AssetSelection.assets(PUBLISHED_WAREHOUSE, SERVING_SNAPSHOT, DASHBOARDS),
        description="Load every source, rebuild the models downstream of what changed, audit, publish.",
        executor_def=in_process_executor,
        tags={JOB_TAG: INCREMENTAL})
    return [nightly, incremental]


def build_schedules(jobs: Sequence[UnresolvedAssetJobDefinition]) -> list[ScheduleDefinition]:
    by_name = {job.name: job for job in jobs}
    incremental_on = os.environ.get("NORTHSTAR_INCREMENTAL_SCHEDULE", "").lower() in ("on", "1", "true")
    full_tests_weekday = int(os.environ.get("NORTHSTAR_FULL_TESTS_WEEKDAY") or 6)

    @schedule(name="nightly_schedule", job=by_name[NIGHTLY],
              cron_schedule=os.environ.get("NORTHSTAR_NIGHTLY_CRON") or "0 2 * * *",
              execution_timezone="UTC", default_status=DefaultScheduleStatus.RUNNING)
    def nightly_schedule(context: ScheduleEvaluationContext) -> RunRequest:
        """Every night; once a week every data test reads every row (the others, the new days)."""
        weekly = context.scheduled_execution_time.weekday() == full_tests_weekday
        return RunRequest(tags={FULL_TESTS_TAG: "true"} if weekly else {})

    return [
        nightly_schedule,
        ScheduleDefinition(name="incremental_schedule", job=by_name[INCREMENTAL],
                           cron_schedule=os.environ.get("NORTHSTAR_INCREMENTAL_CRON") or "*/15 * * * *",
                           execution_timezone="UTC",
                           default_status=(DefaultScheduleStatus.RUNNING if incremental_on
                                           else DefaultScheduleStatus.STOPPED)),
    ]
