"""The KPI alerts of docs/metrics.md (the ``kpi_alerts`` mart) as asset checks, one per metric.

Red is an ERROR-severity failure and posts an alert; yellow is a WARN failure; green and
neutral (no bound applies, or no complete period yet) pass. KPI checks are not blocking: a red
KPI is news about the business, not bad data, so the warehouse is still published.
The metrics are the rows of the ``kpi_thresholds`` seed, the same list the mart evaluates.
"""

# no `from __future__ import annotations`: Dagster reads the context annotation at definition time

import csv
from collections.abc import Iterator
from decimal import Decimal

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    multi_asset_check,
)

from orchestration.alerts import kpi_alert_message, send_alert
from orchestration.dbt_project import PROJECT_DIR
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource

KPI_ALERTS = AssetKey("kpi_alerts")
_SEVERITY = {"red": AssetCheckSeverity.ERROR, "yellow": AssetCheckSeverity.WARN}


def kpi_metrics() -> list[dict[str, str]]:
    with open(PROJECT_DIR / "seeds" / "kpi_thresholds.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def check_name(metric: str) -> str:
    return f"kpi_{metric}"


def latest_kpis(con) -> dict[str, dict]:
    """The latest complete period of every metric in the mart, by metric."""
    cursor = con.execute("select metric, period_start, period_grain, metric_value, status, bound_crossed "
                         "from metrics.kpi_alerts where is_latest_period")
    columns = [d[0] for d in cursor.description]
    return {row[0]: dict(zip(columns, row, strict=True)) for row in cursor.fetchall()}


def _value(value: object) -> str:
    if isinstance(value, Decimal | float):
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    return "" if value is None else str(value)


def build_kpi_checks() -> AssetChecksDefinition:
    metrics = kpi_metrics()
    specs = [AssetCheckSpec(check_name(m["metric"]), asset=KPI_ALERTS, description=f"KPI: {m['description']}")
             for m in metrics]

    @multi_asset_check(specs=specs, name="kpi_alert_checks", pool=WAREHOUSE_POOL)
    def kpi_alert_checks(
        context: AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> Iterator[AssetCheckResult]:
        with warehouse.reading_draft(context.run.run_id) as con:
            latest = latest_kpis(con)
        for metric in metrics:
            name = metric["metric"]
            row = latest.get(name)
            status = row["status"] if row else "neutral"
            meta = {"status": status}
            if row:
                meta.update(period=str(row["period_start"]), value=_value(row["metric_value"]),
                            bound_crossed=_value(row["bound_crossed"]))
            description = (f"{name} = {meta.get('value', 'n/a')} for {meta.get('period', 'no complete period')}: "
                           f"{status}" + (f" (crossed {meta['bound_crossed']})" if meta.get("bound_crossed") else ""))
            if status == "red":
                send_alert(kpi_alert_message(name, meta["period"], meta["value"], meta["bound_crossed"], status,
                                             context.run.run_id), log=context.log)
            yield AssetCheckResult(asset_key=KPI_ALERTS, check_name=check_name(name),
                                   passed=status in ("green", "neutral"),
                                   severity=_SEVERITY.get(status, AssetCheckSeverity.WARN),
                                   metadata=meta, description=description)

    return kpi_alert_checks
