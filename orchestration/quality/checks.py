"""The great-expectations suites of this package as Dagster asset checks.

Two blocking steps: the suites on raw tables run right after ingestion and gate the dbt build;
the suites on marts run after it and gate publishing. A failed suite is an ERROR: the run
fails, naming the suite, the expectation and the column, and nothing is published.

Two more steps compare series with their own history (anomaly_suites.py): raw volumes after
ingestion, KPI series after the marts. An anomaly is a WARN: news for a reader, not a reason to
withhold the build.

Each step adds its results to GX's Data Docs next to the published warehouse
(``<warehouse folder>/quality_docs/index.html``).

The raw GA4 events' suite reads only the last days in a nightly or 15-minute run, as dbt's tests
on the incremental models do (orchestration/test_window.py); the weekly run reads every row.
"""

# no `from __future__ import annotations`: Dagster reads the context annotation at definition time

from collections.abc import Callable, Iterator, Sequence
from functools import partial

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    multi_asset_check,
)

from orchestration.quality import SUITES, Suite, SuiteResult, validate
from orchestration.quality.anomaly_suites import KPI_SERIES, RAW_VOLUME, Series, check_series
from orchestration.quality.docs import QualityDocs, docs_folder
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource
from orchestration.test_window import data_test_window_days


def check_name(suite: Suite | Series) -> str:
    return f"gx_{suite.name}"


def _build(name: str, suites: Sequence[Suite | Series], run: Callable[..., SuiteResult],
           blocking: bool, windowed: bool = False) -> AssetChecksDefinition:
    kind = "great-expectations suite" if blocking else "anomaly against its own history (WARN):"
    specs = [AssetCheckSpec(check_name(s), asset=AssetKey(list(s.asset_key)), blocking=blocking,
                            description=f"{kind} {s.name} on {s.table}") for s in suites]
    severity = AssetCheckSeverity.ERROR if blocking else AssetCheckSeverity.WARN

    @multi_asset_check(specs=specs, name=name, can_subset=True, pool=WAREHOUSE_POOL)
    def _checks(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> Iterator[AssetCheckResult]:
        selected = context.selected_asset_check_keys
        docs = QualityDocs(docs_folder(warehouse.published_path), run_name=context.run.run_id)
        check = (partial(run, window_days=data_test_window_days(context.run.tags, warehouse.published_path.exists()))
                 if windowed else run)
        with warehouse.reading_draft(context.run.run_id) as con:
            for suite in suites:
                key = AssetKey(list(suite.asset_key))
                if not any(k.asset_key == key and k.name == check_name(suite) for k in selected):
                    continue
                result = check(con, suite, docs=docs)
                yield AssetCheckResult(asset_key=key, check_name=check_name(suite), passed=result.passed,
                                       severity=severity, description=result.line(),
                                       metadata={"rows": result.rows, "failed_expectations": len(result.failures)})
        docs.build()

    return _checks


def build_quality_checks() -> list[AssetChecksDefinition]:
    raw = [s for s in SUITES if s.table.startswith("raw_")]
    marts = [s for s in SUITES if not s.table.startswith("raw_")]
    return [_build("gx_raw_suites", raw, validate, blocking=True, windowed=True),
            _build("gx_mart_suites", marts, validate, blocking=True),
            _build("gx_raw_volume_suites", RAW_VOLUME, check_series, blocking=False),
            _build("gx_kpi_anomaly_suites", KPI_SERIES, check_series, blocking=False)]
