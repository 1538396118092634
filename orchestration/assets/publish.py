"""The last asset of every run: the audited draft replaces the warehouse BI tools read.

It depends on every raw table and dbt model, so it runs after them and after every blocking check on them
(dbt error-severity tests, great-expectations suites, reconciliations, and the published history
not getting worse: orchestration/checks/history.py): when one fails, Dagster does not run it, the
run fails and the published file stays exactly as it was.
"""

# no `from __future__ import annotations`: Dagster reads the context annotation at definition time

from collections.abc import Sequence

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    asset,
)

from orchestration.resources import WAREHOUSE_POOL, WarehouseResource

PUBLISHED_WAREHOUSE = AssetKey("published_warehouse")


def build_publish_asset(upstream: Sequence[AssetsDefinition]) -> AssetsDefinition:
    """``published_warehouse``, downstream of every asset of ``upstream`` (raw tables and dbt models).

    The raw tables are listed too, not only reached through dbt: the dbt step runs dbt's source
    tests, which exempts it from waiting on other checks of the raw tables, so only a direct
    dependency makes the raw tables' blocking checks gate publishing.
    """
    keys = sorted({key for assets in upstream for key in assets.keys})

    @asset(key=PUBLISHED_WAREHOUSE, deps=keys, group_name="publish", pool=WAREHOUSE_POOL,
           kinds={"duckdb"}, description="The warehouse file BI tools read (NORTHSTAR_WAREHOUSE), replaced "
           "atomically by the run's audited draft.")
    def published_warehouse(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
        path = warehouse.publish(context.run.run_id)
        context.log.info(f"published {path}")
        return MaterializeResult(metadata={"path": MetadataValue.path(str(path)),
                                           "size_mb": round(path.stat().st_size / 2**20, 1)})

    return published_warehouse
