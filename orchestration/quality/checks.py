"""The great-expectations suites of this package as Dagster asset checks (blocking).

Two steps: the suites on raw tables run right after ingestion and gate the dbt build; the
suites on marts run after it and gate publishing. A failed suite is an ERROR: the run fails,
naming the suite, the expectation and the column, and nothing is published.
"""

# no `from __future__ import annotations`: Dagster reads the context annotation at definition time

from collections.abc import Iterator, Sequence

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSpec,
    AssetKey,
    multi_asset_check,
)

from orchestration.quality import SUITES, Suite, validate
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource


def check_name(suite: Suite) -> str:
    return f"gx_{suite.name}"


def _build(name: str, suites: Sequence[Suite]) -> AssetChecksDefinition:
    specs = [AssetCheckSpec(check_name(s), asset=AssetKey(list(s.asset_key)), blocking=True,
                            description=f"great-expectations suite {s.name} on {s.table}") for s in suites]

    @multi_asset_check(specs=specs, name=name, can_subset=True, pool=WAREHOUSE_POOL)
    def _checks(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> Iterator[AssetCheckResult]:
        selected = context.selected_asset_check_keys
        with warehouse.reading_draft(context.run.run_id) as con:
            for suite in suites:
                key = AssetKey(list(suite.asset_key))
                if not any(k.asset_key == key and k.name == check_name(suite) for k in selected):
                    continue
                result = validate(con, suite)
                yield AssetCheckResult(asset_key=key, check_name=check_name(suite), passed=result.passed,
                                       description=result.line(),
                                       metadata={"rows": result.rows, "failed_expectations": len(result.failures)})

    return _checks


def build_quality_checks() -> list[AssetChecksDefinition]:
    raw = [s for s in SUITES if s.table.startswith("raw_")]
    marts = [s for s in SUITES if not s.table.startswith("raw_")]
    return [_build("gx_raw_suites", raw), _build("gx_mart_suites", marts)]
