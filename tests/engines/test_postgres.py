"""PostgreSQL: the same world gives the same metric marts as DuckDB, cell for cell, and a
failed audit leaves the published schemas as they were while a reader is connected."""

from __future__ import annotations

import pytest

from orchestration.dbt_project import DBT_SCHEMAS
from orchestration.postgres_wap import DRAFT_SUFFIX, PREVIOUS_SUFFIX, build_and_publish, drop_previous, publish
from tests.engines.compare import Comparison, compare_relation, fetch, metric_marts

pytestmark = pytest.mark.slow


def test_every_metric_mart_matches_duckdb_cell_for_cell(engine_worlds, summary_line):
    result = Comparison()
    marts = metric_marts()
    postgres = engine_worlds.postgres.connect()
    try:
        with engine_worlds.duckdb() as duck:
            for name in marts:
                sql = f"select * from metrics.{name}"
                compare_relation(name, fetch(duck.cursor(), sql), fetch(postgres.cursor(), sql), result)
    finally:
        postgres.close()
    summary_line(f"postgres vs duckdb: {len(marts)} metric marts, {result.rows} rows, {result.cells} cells "
                 f"compared, {len(result.differences)} differing")
    assert len(marts) >= 10 and result.rows > 0 and result.cells > 0
    assert result.differences == [], "\n".join(result.differences[:40])


def _published(cursor) -> dict[str, tuple]:
    """Each published metric mart: (its table's oid, its rows in a fixed order)."""
    state = {}
    for name in metric_marts():
        cursor.execute("select %s::regclass::oid", (f"metrics.{name}",))
        oid = cursor.fetchone()[0]
        cursor.execute(f"select * from metrics.{name} order by 1, 2, 3")
        state[name] = (oid, cursor.fetchall())
    return state


def test_failed_audit_leaves_published_schemas_untouched_with_a_reader_connected(engine_worlds, monkeypatch,
                                                                                  tmp_path):
    for key, value in engine_worlds.postgres_env.items():
        monkeypatch.setenv(key, value)
    reader = engine_worlds.postgres.connect()  # a BI tool: connected, inside a transaction, through the run
    writer = engine_worlds.postgres.connect()
    try:
        reader_cursor = reader.cursor()
        before = _published(reader_cursor)
        # a bad load: a Stripe customer twice, which the raw table's unique test must stop
        with writer.cursor() as cursor:
            cursor.execute("create temporary table twice as select * from raw_stripe.customers limit 1")
            cursor.execute("update twice set _dlt_id = 'twice-' || _dlt_id")  # dlt's own row id is unique
            cursor.execute("insert into raw_stripe.customers select * from twice")
        writer.commit()
        try:
            # --fail-fast: the raw table's test fails first, no need to build the rest to know
            outcome = build_and_publish(target_path=tmp_path / "target", dbt_args=("--fail-fast",))
        finally:
            with writer.cursor() as cursor:
                cursor.execute("delete from raw_stripe.customers where _dlt_id like 'twice-%'")
            writer.commit()

        assert not outcome.published
        assert any("unique" in line and "customers" in line for line in outcome.failures), outcome.failures
        assert _published(reader_cursor) == before  # the reader's own transaction, still open
        reader.commit()
        assert _published(reader_cursor) == before  # and a fresh one: nothing was swapped
        with writer.cursor() as cursor:
            cursor.execute("select count(*) from pg_namespace where nspname = %s", (f"metrics{DRAFT_SUFFIX}",))
            assert cursor.fetchone()[0] == 1  # the failed draft stays for inspection
    finally:
        reader.close()
        writer.close()


def test_publish_swaps_every_layer_at_once_while_a_reader_holds_the_old_tables(postgres):
    """publish() on a database of its own: one table per layer, 'old' published, 'new' drafted."""
    admin = postgres.connect("postgres")
    admin.autocommit = True
    admin.cursor().execute("create database swap_test")
    admin.close()
    writer, reader = postgres.connect("swap_test"), postgres.connect("swap_test")
    try:
        with writer.cursor() as cursor:
            for layer in DBT_SCHEMAS:
                for schema, value in ((layer, "old"), (layer + DRAFT_SUFFIX, "new")):
                    cursor.execute(f"create schema {schema}")
                    cursor.execute(f"create table {schema}.marker as select '{value}' as version")
            cursor.execute(f"create view core{DRAFT_SUFFIX}.marker_view as select * from metrics{DRAFT_SUFFIX}.marker")
        writer.commit()
        reading = reader.cursor()  # read committed, as BI tools run: a transaction stays open
        reading.execute("select version from metrics.marker")
        assert reading.fetchall() == [("old",)]

        assert publish(writer) == list(DBT_SCHEMAS)

        for layer in DBT_SCHEMAS:
            reading.execute(f"select version from {layer}.marker")
            assert reading.fetchall() == [("new",)], layer
        reading.execute("select version from core.marker_view")  # a view follows its table's schema
        assert reading.fetchall() == [("new",)]
        with writer.cursor() as cursor:
            cursor.execute("select nspname from pg_namespace where nspname like %s order by 1",
                           (f"%{PREVIOUS_SUFFIX}",))
            # the reader's transaction still holds the old metrics table: only its schema is left
            assert [row[0] for row in cursor.fetchall()] == [f"metrics{PREVIOUS_SUFFIX}"]
        writer.commit()
        reader.commit()
        drop_previous(writer)
        with writer.cursor() as cursor:
            cursor.execute("select count(*) from pg_namespace where nspname like %s", (f"%{PREVIOUS_SUFFIX}",))
            assert cursor.fetchone()[0] == 0
            cursor.execute("select count(*) from pg_namespace where nspname like %s", (f"%{DRAFT_SUFFIX}",))
            assert cursor.fetchone()[0] == 0
    finally:
        reader.close()
        writer.close()
