"""The reports as Dagster assets downstream of ``published_warehouse``.

Dagster runs a step only when the steps it depends on succeeded: when a blocking check fails,
``published_warehouse`` does not run, and neither do these; the run fails and the run-failure
alert goes out instead of a report. They read the published file (read-only, a short-lived
connection), never the run's draft, and are part of the ``nightly`` job (every asset) but not of
``incremental`` (a digest every 15 minutes would be noise).
"""

# no `from __future__ import annotations`: Dagster reads the context annotation at definition time

from datetime import UTC, datetime

from dagster import (
    AssetExecutionContext,
    AssetKey,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from orchestration.assets.publish import PUBLISHED_WAREHOUSE
from orchestration.reports.digest import published_at_of, send_digest
from orchestration.reports.figures import MissingMart
from orchestration.reports.settings import SettingError
from orchestration.resources import WarehouseResource

DAILY_DIGEST = AssetKey("daily_digest")
WEEKLY_REPORT = AssetKey("weekly_report")


def _published_at(context: AssetExecutionContext, warehouse: WarehouseResource) -> datetime:
    """When the warehouse was last published, by Dagster's record of ``published_warehouse``
    (this run's, or an older run's when this step is re-executed later), else the file's."""
    record = context.instance.get_latest_materialization_event(PUBLISHED_WAREHOUSE)
    if record is not None:
        return datetime.fromtimestamp(record.timestamp, tz=UTC)
    return published_at_of(warehouse.published_path)


@asset(key=DAILY_DIGEST, deps=[PUBLISHED_WAREHOUSE], group_name="reports", kinds={"slack"},
       description="The daily digest of the published warehouse, posted to NORTHSTAR_ALERT_WEBHOOK "
       "(logged when unset); a staleness notice instead when the last publish is older than "
       "NORTHSTAR_DIGEST_MAX_AGE_HOURS.")
def daily_digest(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    try:
        text, delivered = send_digest(warehouse.published_path, _published_at(context, warehouse),
                                      datetime.now(UTC), log=context.log)
    except (SettingError, MissingMart) as error:
        raise Failure(description=str(error), allow_retries=False) from None
    return MaterializeResult(metadata={"text": MetadataValue.md(text), "delivered": delivered})


@asset(key=WEEKLY_REPORT, deps=[PUBLISHED_WAREHOUSE], group_name="reports", kinds={"pdf", "html"},
       description="The weekly executive report (HTML and PDF with charts) of the published "
       "warehouse, written to NORTHSTAR_REPORTS_DIR (default reports/ beside the warehouse) and "
       "e-mailed once a week when NORTHSTAR_SMTP_HOST is set.")
def weekly_report(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    # matplotlib (1.4 s to import) is loaded by the run that writes the report, not by every
    # process that loads the code location (a `northstar` command, a sensor, the UI)
    from orchestration.reports.weekly import deliver_weekly

    try:
        report = deliver_weekly(warehouse.published_path, log=context.log)
    except (SettingError, MissingMart) as error:
        raise Failure(description=str(error), allow_retries=False) from None
    return MaterializeResult(metadata={"pdf": MetadataValue.path(str(report.pdf)),
                                       "html": MetadataValue.path(str(report.html)),
                                       "emailed": report.emailed})


REPORT_ASSETS = [daily_digest, weekly_report]
