"""One Dagster asset per dlt resource (one raw table each, plus its child tables).

Keys are ``[<source>, <table>]``: exactly the keys dagster-dbt gives the dbt sources that read
them (``source('stripe', 'invoices')`` is ``stripe/invoices``), so the UI shows one graph from
raw tables to marts. Child tables (``invoices__lines__data``) are loaded by their parent's
resource; their dbt sources carry ``meta.dagster.asset_key`` of the parent.

Each source is one multi-asset: one dlt pipeline loads all its resources, into the run's
draft warehouse (orchestration/resources.py), in the ``warehouse`` pool. The extracts of all the
run's sources start together, outside the pool, when the first of these steps starts; each step
loads its own (orchestration/assets/extraction.py). Transient failures
(5xx and 429 still failing after dlt's own retries, connection errors) are retried by Dagster's
RetryPolicy; a refused credential or a missing setting is not: retrying cannot fix it.
"""

# no `from __future__ import annotations`: Dagster reads the context annotation at definition time

from collections.abc import Iterator
from functools import partial

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    Backoff,
    Failure,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    TableColumn,
    TableSchema,
    multi_asset,
)
from dagster_dlt import DagsterDltTranslator, build_dlt_asset_specs
from dagster_dlt.translator import DltResourceTranslatorData
from dlt import Pipeline
from dlt.common.pipeline import LoadInfo
from dlt.pipeline.exceptions import PipelineStepFailed

from ingestion.overlap import Prepared, extract, load, restore
from ingestion.run import (
    SOURCES,
    SourceNotConfigured,
    configured_source,
    failure_line,
    source_resources,
)
from ingestion.warehouse import make_pipeline
from orchestration.assets.extraction import RUN_EXTRACTS, Extracts, run_sources
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
    def _assets(context: AssetExecutionContext, warehouse: WarehouseResource) -> Iterator:
        run_id = context.run.run_id
        with warehouse.writing(run_id):
            RUN_EXTRACTS.start(run_id, lambda: _restored(run_sources(context, INGESTION_ASSETS)))
            started = RUN_EXTRACTS.take(run_id, name, context.selected_asset_keys)
            try:
                if started is None:  # a retry, or a step of its own: extract here
                    prepared = _restored({name: frozenset(context.selected_asset_keys)})[name][1]()
                else:
                    prepared = started.result()
                info = load(prepared)
            except SourceNotConfigured as exc:
                raise Failure(description=f"{name}: {exc}", allow_retries=False) from None
            except PipelineStepFailed as exc:
                line, retryable = failure_line(name, exc)
                raise Failure(description=f"{name}: {line}", allow_retries=retryable) from None
        yield from _materializations(prepared, info)

    return _assets


def _restored(wanted: dict[str, frozenset[AssetKey]]) -> Extracts:
    """For each source: its pipeline bound to the run's draft (the caller's step points at it:
    ``warehouse.writing``) and restored from it, and the call that extracts its resources of
    ``keys``. Restored here, one after another, before any extract starts: in a thread, a
    restore (a read of the draft, in the writer's turn) would wait behind other sources' loads.

    The local folder is dropped first, as dagster-dlt does (state comes from the draft), after
    a killed run's unfinished package is discarded: it is never resumed (it would load rows
    twice), its cursors are rewound, and this run reads its data again.
    """
    calls: Extracts = {}
    for name, keys in wanted.items():
        pipeline = make_pipeline(name)
        try:
            discarded = restore(pipeline, drop_local=True)
        except Exception as exc:  # noqa: BLE001 - raised by the source's own step, not this one
            calls[name] = (keys, partial(_reraise, exc))
            continue
        calls[name] = (keys, partial(_extract, name, keys, pipeline, discarded))
    return calls


def _reraise(exc: Exception) -> Prepared:
    raise exc


def _extract(name: str, keys: frozenset[AssetKey], pipeline: Pipeline, discarded: list[str]) -> Prepared:
    source = configured_source(name)
    resources = [r.name for r in source.selected_resources.values() if _key(r) in keys]
    if len(resources) < len(source.selected_resources):
        source = source.with_resources(*resources)
    return extract(name, pipeline, source, discarded)


def _key(resource) -> AssetKey:
    return AssetKey([resource.source_name, resource.table_name])


def _materializations(prepared: Prepared, info: LoadInfo) -> Iterator[MaterializeResult]:
    """One materialization per loaded resource: rows loaded, its table and columns (and its
    child tables'), as dagster-dlt reports them."""
    schema = prepared.pipeline.default_schema
    for resource in prepared.source.selected_resources.values():
        table = schema.naming.normalize_table_identifier(str(resource.table_name))
        children = [t for t in schema.data_table_names() if t.startswith(f"{table}__")]
        metadata = {child: _columns(schema, child) for child in children}
        if prepared.rows.get(table):
            metadata["rows_loaded"] = MetadataValue.int(prepared.rows[table])
        metadata["load_ids"] = list(info.loads_ids)
        metadata["dagster/column_schema"] = _columns(schema, table)
        metadata["dagster/table_name"] = f"{info.dataset_name}.{table}"
        yield MaterializeResult(asset_key=_key(resource), metadata=metadata)


def _columns(schema, table: str) -> TableSchema:
    columns = schema.get_table_columns(table) if table in schema.tables else {}
    return TableSchema(columns=[TableColumn(name=name, type=column.get("data_type", "string"))
                                for name, column in columns.items()])


INGESTION_ASSETS = [_build_assets(name) for name in SOURCES]
