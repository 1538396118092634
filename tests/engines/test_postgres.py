"""PostgreSQL: the same world gives the same metric marts as DuckDB, cell for cell, and a
failed audit leaves the published schemas as they were while a reader is connected."""

from __future__ import annotations

import pytest

from orchestration.postgres_wap import DRAFT_SUFFIX, build_and_publish
from tests.engines.compare import Comparison, compare_relation, fetch, metric_marts

pytestmark = pytest.mark.slow


def test_every_metric_mart_matches_duckdb_cell_for_cell(engine_worlds):
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
    print(f"\npostgres vs duckdb: {len(marts)} metric marts, {result.rows} rows, {result.cells} cells compared, "
          f"{len(result.differences)} differing")
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
            outcome = build_and_publish(target_path=tmp_path / "target")
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
