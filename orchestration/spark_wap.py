"""Write-audit-publish on Spark, and the plain nightly path that uses it (NORTHSTAR_TARGET=spark).

Spark's catalog has no transaction over several tables and cannot rename a database (nor move
a table to another one), so PostgreSQL's schema swap (orchestration/postgres_wap.py) has no
equivalent. The nearest is a **view swap over two build slots** (blue/green):

- dbt builds every layer into the databases of one slot, ``<layer>__blue`` or
  ``<layer>__green`` (macros/generate_schema_name.sql adds NORTHSTAR_SCHEMA_SUFFIX), always the
  slot that is *not* published, after dropping what that slot held (so a build starts clean,
  and the incremental models rebuild in full, as on PostgreSQL's drafts);
- ``dbt build`` audits the slot (every data and unit test; an error stops the publish);
- :func:`publish` points the published databases (``staging``, ..., ``metrics``: what BI reads)
  at the slot: one ``create or replace view <layer>.<relation> as select * from
  <layer>__<slot>.<relation>`` per relation, then records the slot in the layer's database
  properties (``northstar.slot``).

What a reader sees: until the publish, every published view reads the previous slot, whose
tables no run touches while it is published. Each view swap is atomic in the metastore, and a
query keeps the files it planned on; but the swaps of the ~70 relations are not one transaction,
so a reader that joins two published relations *during* the publish (a second or two) may read
one from the old build and one from the new. A failed audit publishes nothing: every published
view still reads the previous slot, exactly as before the run.
"""

from __future__ import annotations

import re
from pathlib import Path

from orchestration.dbt_project import DBT_SCHEMAS
from orchestration.server_wap import Outcome, build_unpublished, run_engine, timed_publish

SLOTS = ("blue", "green")
SLOT_PROPERTY = "northstar.slot"
#: the layer whose database properties name the published slot (set last by a publish)
PUBLISHED_MARKER = "metrics"


def slot_database(layer: str, slot: str) -> str:
    return f"{layer}__{slot}"


def _databases(spark) -> set[str]:
    return {row[0] for row in spark.sql("show databases").collect()}


def published_slot(spark) -> str | None:
    """The slot the published views read (the metrics layer's ``northstar.slot``), or None."""
    if PUBLISHED_MARKER not in _databases(spark):
        return None
    for name, value in spark.sql(f"describe database extended {PUBLISHED_MARKER}").collect():
        if name == "Properties":
            found = re.search(re.escape(SLOT_PROPERTY) + r",(\w+)", value or "")
            return found.group(1) if found else None
    return None


def build_slot(spark) -> str:
    """The slot the next build writes: the one not published."""
    return SLOTS[1] if published_slot(spark) == SLOTS[0] else SLOTS[0]


def clear_slot(spark, slot: str) -> None:
    """Drop the databases of ``slot`` (never the published one's)."""
    if slot == published_slot(spark):
        raise RuntimeError(f"slot {slot} is published: it is not rebuilt in place")
    for layer in DBT_SCHEMAS:
        spark.sql(f"drop database if exists {slot_database(layer, slot)} cascade")


def _relations(spark, database: str) -> dict[str, bool]:
    """Relation name -> is a view, in ``database`` (temporary views left out)."""
    rows = spark.sql(f"show tables in {database}").collect()
    names = [row["tableName"] for row in rows if not row["isTemporary"]]
    views = {row["viewName"] for row in spark.sql(f"show views in {database}").collect()
             if not row["isTemporary"]}
    return {name: name in views for name in names}


def publish(spark, slot: str) -> list[str]:
    """Point every published layer at ``slot``'s relations; return the layers.

    Fails (changing nothing) when a layer has no database in the slot: a build that stopped half
    way must not publish the layers it did build.
    """
    databases = _databases(spark)
    missing = [layer for layer in DBT_SCHEMAS if slot_database(layer, slot) not in databases]
    if missing:
        raise RuntimeError(f"no {slot} build to publish for {', '.join(missing)}")
    for layer in DBT_SCHEMAS:
        source = slot_database(layer, slot)
        spark.sql(f"create database if not exists {layer}")
        built = _relations(spark, source)
        published = _relations(spark, layer)
        for name in sorted(built):
            if name in published and not published[name]:
                # a table from a plain (unpublished) build in the published layer
                spark.sql(f"drop table {layer}.{name}")
            spark.sql(f"create or replace view {layer}.{name} as select * from {source}.{name}")
        for name in sorted(set(published) - set(built)):  # a model that no longer exists
            spark.sql(f"drop {'view' if published[name] else 'table'} if exists {layer}.{name}")
    for layer in DBT_SCHEMAS:  # after every swap: a publish that stopped half way is not recorded
        spark.sql(f"alter database {layer} set dbproperties ('{SLOT_PROPERTY}' = '{slot}')")
    return list(DBT_SCHEMAS)


def build_and_publish(target_path: Path | None = None, dbt_args: tuple[str, ...] = ()) -> Outcome:
    """``dbt build`` into the unpublished slot; publish it when every model and test passed."""
    from ingestion.spark import spark_session

    spark = spark_session()
    outcome = Outcome(slot=build_slot(spark))
    clear_slot(spark, outcome.slot)
    outcome.failures = build_unpublished("spark", f"__{outcome.slot}", target_path, dbt_args)
    if not outcome.failures:
        timed_publish(outcome, lambda: publish(spark, outcome.slot))
    return outcome


def run_spark(progress: bool = True) -> Outcome:
    """The nightly on Spark: every configured source (Parquet files), then the slot build, its
    audit (dbt's tests) and the publish. One line per source and per failure."""
    return run_engine(build_and_publish, "the unpublished slot (<layer>__blue or __green)", progress)
