"""The serving snapshot (orchestration/serving.py) on the built test world.

What BI readers are promised (docs/dashboards.md "Connecting a BI tool"): the marts under
``core`` and ``metrics`` equal the warehouse's; the file opens in DuckDB 1.4 (its storage
version); writing a new snapshot never waits on, nor breaks, an open reader, which keeps
reading the snapshot it opened until it reconnects; a broken build leaves the old snapshot.
"""

from __future__ import annotations

import shutil
import struct

import duckdb
import pytest

from orchestration.serving import refresh_snapshot, serving_tables, write_snapshot

LATEST_MRR = ("select ending_mrr from {}mrr_summary where currency_scope = 'reporting' "
              "order by month desc limit 1")


@pytest.fixture(scope="module")
def snapshot(built_warehouse, tmp_path_factory):
    return write_snapshot(built_warehouse.path, tmp_path_factory.mktemp("serving") / "northstar.duckdb")


def test_every_mart_is_served_with_the_warehouse_rows(built_warehouse, snapshot):
    tables = serving_tables()
    assert {("metrics", "mrr_summary"), ("metrics", "user_engagement"), ("core", "dim_customers"),
            ("metrics", "kpi_thresholds")} <= set(tables)
    # the warehouse's own connection (dbt ran in this process), the snapshot attached to it
    with duckdb.connect(str(built_warehouse.path)) as con:
        con.execute(f"attach '{snapshot}' as served (read_only)")
        where = dict(con.execute("select table_name, any_value(table_schema) from information_schema.tables "
                                 "where table_catalog = current_database() group by table_name").fetchall())
        try:
            for schema, name in tables:
                source = where[name]  # the schema dbt built it in
                differ = con.execute(
                    f"select count(*) from ((select * from served.{schema}.{name} "
                    f"except all select * from {source}.{name}) "
                    f"union all (select * from {source}.{name} except all select * from served.{schema}.{name}))"
                ).fetchone()[0]
                assert differ == 0, f"{schema}.{name}"
        finally:
            con.execute("detach served")


def test_the_snapshot_opens_in_duckdb_1_4(snapshot):
    """DuckDB's main header: magic 'DUCK' at byte 8, the storage version number after it.
    DuckDB 1.4.2 (Evidence's) reads versions 64 to 67 and refuses the warehouse's own."""
    with open(snapshot, "rb") as handle:
        header = handle.read(20)
    assert header[8:12] == b"DUCK"
    assert 64 <= struct.unpack("<Q", header[12:20])[0] <= 67


def test_readers_keep_their_snapshot_until_they_reconnect(built_warehouse, snapshot, tmp_path):
    changed = tmp_path / "northstar.duckdb"  # a later build: the snapshot's marts, MRR moved
    shutil.copy(snapshot, changed)
    with duckdb.connect(str(changed)) as con:
        con.execute("update metrics.mrr_summary set ending_mrr = ending_mrr + 1000 where currency_scope = 'reporting'")
    served = tmp_path / "serving" / "northstar.duckdb"
    write_snapshot(built_warehouse.path, served)
    reader = duckdb.connect(str(served), read_only=True)
    try:
        before = reader.execute(LATEST_MRR.format("metrics.")).fetchone()[0]
        write_snapshot(changed, served)  # the reader holds the old file open: no lock, no wait
        assert reader.execute(LATEST_MRR.format("metrics.")).fetchone()[0] == before
    finally:
        reader.close()
    with duckdb.connect(str(served), read_only=True) as again:
        assert again.execute(LATEST_MRR.format("metrics.")).fetchone()[0] == before + 1000
    assert before == built_warehouse.query(LATEST_MRR.format("metrics."))[0][0]


def test_a_warehouse_without_a_mart_keeps_the_old_snapshot(snapshot, tmp_path):
    served = tmp_path / "serving" / "northstar.duckdb"
    served.parent.mkdir()
    shutil.copy(snapshot, served)
    broken = tmp_path / "broken.duckdb"
    shutil.copy(snapshot, broken)
    with duckdb.connect(str(broken)) as con:
        con.execute("drop table metrics.funnel")
    with pytest.raises(LookupError, match=r"^serving snapshot: funnel is not in .*broken\.duckdb$"):
        write_snapshot(broken, served)
    with duckdb.connect(str(served), read_only=True) as con:
        assert con.execute("select count(*) from metrics.funnel").fetchone()[0] > 0
    assert sorted(p.name for p in served.parent.iterdir()) == ["northstar.duckdb"]  # no staged leftovers


def test_the_jobs_copy_the_marts_again_only_when_they_changed(snapshot, tmp_path):
    """refresh_snapshot (the jobs' step) leaves a snapshot that holds the same marts as it is,
    copies changed marts, and copies again over a snapshot something else has changed."""
    published = tmp_path / "published.duckdb"  # a build whose marts are the snapshot's
    shutil.copy(snapshot, published)
    served = tmp_path / "serving" / "northstar.duckdb"
    assert refresh_snapshot(published, served) == (served, True)
    before = served.stat()
    assert refresh_snapshot(published, served) == (served, False)
    assert (served.stat().st_ino, served.stat().st_size) == (before.st_ino, before.st_size)  # the same file

    with duckdb.connect(str(published)) as con:  # the next build moved MRR
        latest = con.execute("update metrics.mrr_summary set ending_mrr = ending_mrr + 1000 "
                             "where currency_scope = 'reporting' and month = (select max(month) from "
                             "metrics.mrr_summary) returning ending_mrr").fetchall()
    assert refresh_snapshot(published, served) == (served, True)
    with duckdb.connect(str(served), read_only=True) as con:
        assert con.execute(LATEST_MRR.format("metrics.")).fetchone()[0] == latest[0][0]

    with duckdb.connect(str(served)) as con:  # changed by hand: no longer the copy of those marts
        con.execute("delete from metrics.funnel")
    assert refresh_snapshot(published, served) == (served, True)
    with duckdb.connect(str(served), read_only=True) as con:
        assert con.execute("select count(*) from metrics.funnel").fetchone()[0] > 0
    assert refresh_snapshot(published, served) == (served, False)
