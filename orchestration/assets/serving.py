"""After publishing: the serving snapshot BI tools read, and the dashboards rendered from it.

``serving_snapshot`` copies the published marts into the snapshot (orchestration/serving.py);
``dashboards`` renders the dbt Charts pages from that snapshot (orchestration/dashboards.py).
Both are downstream of ``published_warehouse``, so a run whose audit failed renders nothing and
readers keep the last good snapshot and pages.
"""

# no `from __future__ import annotations`: Dagster reads the context annotation at definition time

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from orchestration.assets.publish import PUBLISHED_WAREHOUSE
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource

SERVING_SNAPSHOT = AssetKey("serving_snapshot")
DASHBOARDS = AssetKey("dashboards")


@asset(key=SERVING_SNAPSHOT, deps=[PUBLISHED_WAREHOUSE], group_name="serving", pool=WAREHOUSE_POOL,
       kinds={"duckdb"}, description="The marts BI tools and dashboards read (schemas core and metrics), "
       "copied from the published warehouse into a file of their own, renamed into place atomically.")
def serving_snapshot(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    from orchestration.serving import refresh_snapshot, serving_tables

    path, copied = refresh_snapshot(warehouse.published_path)
    context.log.info(f"serving snapshot {path}" if copied else
                     f"serving snapshot {path}: not copied, its marts are as they were")
    return MaterializeResult(metadata={"path": MetadataValue.path(str(path)), "copied": copied,
                                       "tables": len(serving_tables()),
                                       "size_mb": round(path.stat().st_size / 2**20, 1)})


@asset(key=DASHBOARDS, deps=[SERVING_SNAPSHOT], group_name="serving", kinds={"html"},
       description="The Executive, Marketing and Product pages (dbt Charts, dashboards/charts/), "
       "rendered from the serving snapshot as static HTML.")
def dashboards(context: AssetExecutionContext) -> MaterializeResult:
    """Rendered only when what the pages show changed since their last render (the 15-minute
    job between two loads of new data leaves the marts as they were): orchestration/dashboards.py."""
    from orchestration.dashboards import refresh

    index, rendered = refresh()
    context.log.info(f"dashboards {index}" if rendered else
                     f"dashboards {index}: not rendered, the marts they show are unchanged")
    return MaterializeResult(metadata={"index": MetadataValue.path(str(index)), "rendered": rendered})


SERVING_ASSETS = [serving_snapshot, dashboards]
