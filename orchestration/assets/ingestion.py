"""One Dagster asset per dlt resource (one raw table each, plus its child tables).

Keys are ``[<source>, <table>]``: exactly the keys dagster-dbt gives the dbt sources that read
them (``source('stripe', 'invoices')`` is ``stripe/invoices``), so the UI shows one graph from
raw tables to marts. Child tables (``invoices__lines__data``) are loaded by their parent's
resource; their dbt sources carry ``meta.dagster.asset_key`` of the parent.

Each source is one multi-asset: one dlt pipeline run loads all its resources, into the run's
draft warehouse (orchestration/resources.py), in the ``warehouse`` pool. Transient failures
(5xx and 429 still failing after dlt's own retries, connection errors) are retried by Dagster's
RetryPolicy; a refused credential or a missing setting is not: retrying cannot fix it.
"""

# no `from __future__ import annotations`: Dagster reads the context annotation at definition time

from collections.abc import Iterator

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    Backoff,
    Failure,
    RetryPolicy,
    multi_asset,
)
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, build_dlt_asset_specs
from dagster_dlt.translator import DltResourceTranslatorData
from dlt.pipeline.exceptions import PipelineStepFailed

from ingestion.run import (
    SOURCES,
    SourceNotConfigured,
    configured_source,
    failure_line,
    source_resources,
)
from ingestion.warehouse import discard_interrupted_loads, loader_file_format, make_pipeline
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource

INGESTION_GROUP = "ingestion"
#: Two more attempts, 30 s then 60 s later: outlasts a brief API outage, not a long one.
INGESTION_RETRY = RetryPolicy(max_retries=2, delay=30, backoff=Backoff.EXPONENTIAL)


class RawTableTranslator(DagsterDltTranslator):
    """dlt resource -> ``[<source name>, <table name>]``, the dbt source's key; no upstream."""

    def get_asset_spec(self, data: DltResourceTranslatorData) -> AssetSpec:
        resource = data.resource
        return super().get_asset_spec(data).replace_attributes(
            key=AssetKey([resource.source_name, resource.table_name]),
            deps=[],
            group_name=INGESTION_GROUP,
            kinds={"dlt", "duckdb"},
            description=f"raw_{resource.source_name}.{resource.table_name}, loaded by dlt from "
                        f"ingestion/sources/{resource.source_name}.py",
        )


TRANSLATOR = RawTableTranslator()


def _build_assets(name: str) -> AssetsDefinition:
    """The multi-asset of source ``name``: dagster-dlt's specs, plus a RetryPolicy.

    ``@dlt_assets`` takes no retry policy, so this is the ``multi_asset`` it would build, with one.
    """
    specs = build_dlt_asset_specs(dlt_source=source_resources(name), dlt_pipeline=make_pipeline(name),
                                  dagster_dlt_translator=TRANSLATOR)

    @multi_asset(name=f"ingest_{name}", specs=specs, can_subset=True, pool=WAREHOUSE_POOL,
                 retry_policy=INGESTION_RETRY)
    def _assets(context: AssetExecutionContext, dlt: DagsterDltResource, warehouse: WarehouseResource) -> Iterator:
        try:
            source = configured_source(name)
        except SourceNotConfigured as exc:
            raise Failure(description=f"{name}: {exc}", allow_retries=False) from None
        with warehouse.writing(context.run.run_id):
            pipeline = make_pipeline(name)  # bound to the draft now
            # a killed run's unfinished package is never resumed (it would load rows twice):
            # it is discarded, its cursors rewound, and this run reads its data again
            discard_interrupted_loads(pipeline)
            try:
                yield from dlt.run(context=context, dlt_source=source, dlt_pipeline=pipeline,
                                   dagster_dlt_translator=TRANSLATOR, loader_file_format=loader_file_format())
            except PipelineStepFailed as exc:
                line, retryable = failure_line(name, exc)
                raise Failure(description=f"{name}: {line}", allow_retries=retryable) from None

    return _assets


INGESTION_ASSETS = [_build_assets(name) for name in SOURCES]
