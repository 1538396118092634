"""Write-audit-publish on PostgreSQL, and the plain nightly path that uses it (NORTHSTAR_TARGET=postgres).

BI tools read the published schemas (staging, intermediate, core, metrics, seeds). A run never
writes them: dbt builds every layer into a draft schema of its own (``metrics__draft``, ...:
macros/generate_schema_name.sql adds NORTHSTAR_SCHEMA_SUFFIX), ``dbt build`` audits the drafts
(every data and unit test; an error-severity failure stops the run), and :func:`publish` renames
the drafts over the published schemas in one transaction. A reader sees the old schemas until
the commit and the new ones after it, never a mix; a failed audit leaves the published schemas
exactly as they were (the drafts stay for inspection until the next run). The replaced schemas
are renamed ``<layer>__previous`` in the same transaction and dropped after it; a reader still
inside a transaction on them only delays that drop (``lock_timeout``), never the publish.

What this path does not do yet on PostgreSQL: the Dagster job's other blocking checks (great
expectations suites, reconciliations, history) read DuckDB files; dlt loads the raw schemas
(raw_<source>) in place, as on DuckDB's drafts' sources; and a draft starts empty, so the
incremental models rebuild in full each run.
"""

from __future__ import annotations

from pathlib import Path

from ingestion.engine import postgres_connect, postgres_location
from orchestration.dbt_project import DBT_SCHEMAS
from orchestration.server_wap import Outcome, build_unpublished, run_engine, timed_publish

DRAFT_SUFFIX = "__draft"
PREVIOUS_SUFFIX = "__previous"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _existing(cursor, names: list[str]) -> set[str]:
    cursor.execute("select nspname from pg_namespace where nspname = any(%s)", (names,))
    return {row[0] for row in cursor.fetchall()}


def discard_drafts(con) -> None:
    """Drop every draft schema (a failed run's, kept for inspection until now)."""
    with con.cursor() as cursor:
        for layer in DBT_SCHEMAS:
            cursor.execute(f"drop schema if exists {_quote(layer + DRAFT_SUFFIX)} cascade")
    con.commit()


def publish(con, lock_timeout: str = "60s") -> list[str]:
    """Swap every draft schema with its published one in one transaction; return the layers.

    Fails (and changes nothing) when a layer has no draft: a draft build that stopped half way
    must not publish the layers it did build.
    """
    layers = list(DBT_SCHEMAS)
    with con.cursor() as cursor:
        drafts = _existing(cursor, [layer + DRAFT_SUFFIX for layer in layers])
        missing = [layer for layer in layers if layer + DRAFT_SUFFIX not in drafts]
        if missing:
            con.rollback()
            raise RuntimeError(f"no draft schema to publish for {', '.join(missing)} in {postgres_location()}")
        cursor.execute("set local lock_timeout = %s", (lock_timeout,))
        published = _existing(cursor, layers)
        for layer in layers:
            cursor.execute(f"drop schema if exists {_quote(layer + PREVIOUS_SUFFIX)} cascade")
            if layer in published:
                cursor.execute(f"alter schema {_quote(layer)} rename to {_quote(layer + PREVIOUS_SUFFIX)}")
            cursor.execute(f"alter schema {_quote(layer + DRAFT_SUFFIX)} rename to {_quote(layer)}")
    con.commit()
    drop_previous(con)
    return layers


def drop_previous(con, lock_timeout: str = "5s") -> None:
    """Drop the replaced schemas; one a reader still holds is left for the next publish."""
    for layer in DBT_SCHEMAS:
        with con.cursor() as cursor:
            try:
                cursor.execute("set local lock_timeout = %s", (lock_timeout,))
                cursor.execute(f"drop schema if exists {_quote(layer + PREVIOUS_SUFFIX)} cascade")
                con.commit()
            except Exception:  # a lock timeout: a reader's open transaction
                con.rollback()


def build_and_publish(target_path: Path | None = None, dbt_args: tuple[str, ...] = ()) -> Outcome:
    """``dbt build`` into fresh draft schemas; publish them when every model and test passed."""
    outcome = Outcome()
    con = postgres_connect()
    try:
        discard_drafts(con)
        outcome.failures = build_unpublished("postgres", DRAFT_SUFFIX, target_path, dbt_args)
        if not outcome.failures:
            timed_publish(outcome, lambda: publish(con))
    finally:
        con.close()
    return outcome


def run_postgres(progress: bool = True) -> Outcome:
    """The nightly on PostgreSQL: every configured source, then the draft build, its audit
    (dbt's tests) and the publish. One line per source and per failure."""
    return run_engine(build_and_publish, f"draft schemas (*{DRAFT_SUFFIX}) of {postgres_location()}", progress)
