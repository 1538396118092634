"""The serving snapshot: what BI tools and the dashboards read, written after each publish.

Readers never open the file the nightly writes (``NORTHSTAR_WAREHOUSE``). After a publish,
:func:`write_snapshot` copies the marts (``models/marts/core`` into schema ``core``,
``models/marts/metrics`` into ``metrics``, with the KPI thresholds) into a new file beside the
published one and renames it over ``<warehouse folder>/serving/northstar.duckdb``
(``NORTHSTAR_SERVING_WAREHOUSE``) in one ``os.replace``. So:

- a reader is never locked out and never sees a half-written snapshot: the build writes a
  file no reader has open, and readers open the snapshot read-only;
- a reader's open connection keeps reading the snapshot it opened (POSIX keeps the old inode),
  consistent with itself; it reconnects to see the next build (tests/serving/test_snapshot.py);
- the schemas are the BI contract (``core.dim_customers``, ``metrics.mrr_summary``), whatever
  schemas the warehouse builds them in;
- the jobs' snapshot (:func:`refresh_snapshot`) is not copied again when its marts would be the
  same (the 15-minute job between two loads of new data changes nothing): :func:`marts_digest`
  digests each served table's columns, row count and the sum of its rows' hashes; the digest of
  the last copy is kept beside the snapshot (``.<name>.copied-from``) with the file's size and
  time, so a snapshot changed since by anything else is copied again;
- the file is written in DuckDB's 1.4 storage format (``SERVING_STORAGE_VERSION``), which
  DuckDB 1.4 and later open, so BI drivers that bundle an older DuckDB than the warehouse's
  (Evidence's 1.4.2, JDBC and ODBC drivers) can read it; the warehouse itself may be newer.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import duckdb

from ingestion.warehouse import connect, warehouse_path

#: The dbt project (the repository root): its marts folders name what is served.
PROJECT_DIR = Path(__file__).resolve().parents[1]
#: The oldest DuckDB storage format the snapshot is written in: readable by DuckDB >= 1.4.
SERVING_STORAGE_VERSION = "v1.4.0"
#: Seeds the dashboards read beside the marts: (schema in the snapshot, seed name).
SERVING_SEEDS = (("metrics", "kpi_thresholds"),)


def serving_path() -> Path:
    """The snapshot BI tools read: ``NORTHSTAR_SERVING_WAREHOUSE``, else
    ``<warehouse folder>/serving/northstar.duckdb``."""
    setting = os.environ.get("NORTHSTAR_SERVING_WAREHOUSE")
    if setting:
        return Path(setting).expanduser().resolve()
    return warehouse_path().parent / "serving" / "northstar.duckdb"


def serving_tables(project_dir: Path = PROJECT_DIR) -> list[tuple[str, str]]:
    """(snapshot schema, relation name) of every mart and serving seed, from the dbt project's
    folders: a new mart is served without touching this module."""
    marts = project_dir / "models" / "marts"
    tables = [(folder.name, sql.stem) for folder in sorted(p for p in marts.iterdir() if p.is_dir())
              for sql in sorted(folder.glob("*.sql"))]
    return tables + list(SERVING_SEEDS)


def write_snapshot(published: Path | None = None, target: Path | None = None) -> Path:
    """Copy the marts of ``published`` into a new file and rename it over ``target``; return it.

    A mart missing from the warehouse (a source never configured still builds its marts, so
    this means a broken build) fails in one line naming it, and the old snapshot stays.
    """
    return _write(published, target, unless_unchanged=False)[0]


def refresh_snapshot(published: Path | None = None, target: Path | None = None) -> tuple[Path, bool]:
    """:func:`write_snapshot`, unless ``target`` is still the copy of marts digesting as
    ``published``'s do: then it stays as it is, only its time set to now (the run's summary
    dates the dashboards against it). Returns the snapshot and whether it was copied."""
    return _write(published, target, unless_unchanged=True)


def _write(published: Path | None, target: Path | None, unless_unchanged: bool) -> tuple[Path, bool]:
    published = published or warehouse_path()
    target = target or serving_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    mark = target.with_name(f".{target.name}.copied-from")
    staged = target.with_name(f".{target.name}.{os.getpid()}.new")
    staged.unlink(missing_ok=True)
    try:
        # Not read_only: dbt may hold the published file open in this process (the tests run it
        # in-process), and DuckDB refuses a second configuration of one file in a process. The
        # run holds the warehouse's lock, so nothing else writes it meanwhile; this only reads.
        with connect(published, read_only=False) as con:
            sources = _served_sources(con, published)
            digest = marts_digest(con, sources)
            if unless_unchanged and _copied_from(mark, target) == digest:
                os.utime(target)  # checked by this run: what follows (the dashboards) dates from it
                _mark_copied(mark, target, digest)
                return target, False
            con.execute(f"attach '{_sql_path(staged)}' as serving_snapshot "
                        f"(storage_version '{SERVING_STORAGE_VERSION}')")
            try:
                _copy_marts(con, sources)
            finally:  # the instance may be dbt's, and outlive this connection
                con.execute("detach serving_snapshot")
        with open(staged, "rb") as handle:
            os.fsync(handle.fileno())
        mark.unlink(missing_ok=True)  # no mark until the new file is in place
        os.replace(staged, target)
        _mark_copied(mark, target, digest)
    finally:
        staged.unlink(missing_ok=True)
        Path(f"{staged}.wal").unlink(missing_ok=True)
    return target, True


def marts_digest(con: duckdb.DuckDBPyConnection, sources: list[tuple[str, str, str]]) -> str:
    """A digest of what the snapshot would hold: per served table (``_served_sources``) its
    columns and types, its row count and the sum of its rows' hashes (order-free, so the same
    rows in another order digest alike); with the storage format. Reading it costs ~0.5 s where
    the copy costs 4-5 s (2 M events, the default sandbox)."""
    tables = []
    for schema, name, source in sources:
        columns = con.execute("select column_name, data_type from information_schema.columns "
                              "where table_catalog = current_database() and table_schema = ? and table_name = ? "
                              "order by ordinal_position", [source, name]).fetchall()
        # the row as a struct, by an alias no mart names a column (a column would win over it)
        rows, hashes = con.execute(f'select count(*), sum(hash(served_row)) from "{source}".{name} served_row'
                                   ).fetchone()
        tables.append([schema, name, columns, rows, str(hashes)])
    return hashlib.sha256(json.dumps([SERVING_STORAGE_VERSION, tables]).encode()).hexdigest()


def _file_state(path: Path) -> list[int]:
    state = path.stat()
    return [state.st_size, state.st_mtime_ns]


def _copied_from(mark: Path, target: Path) -> str | None:
    """The digest of the marts last copied into ``target``, if ``target`` is still that copy."""
    try:
        kept = json.loads(mark.read_text())
        return kept["digest"] if kept["file"] == _file_state(target) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _mark_copied(mark: Path, target: Path, digest: str) -> None:
    staged = mark.with_name(f"{mark.name}.{os.getpid()}")
    staged.write_text(json.dumps({"digest": digest, "file": _file_state(target)}))
    os.replace(staged, mark)


def _served_sources(con: duckdb.DuckDBPyConnection, published: Path) -> list[tuple[str, str, str]]:
    """(snapshot schema, name, schema in ``published``) of every served table; a mart missing
    from the warehouse fails here, in one line naming it, before anything is written."""
    where, served = _relations(con), serving_tables()
    missing = next((name for _, name in served if name not in where), None)
    if missing is not None:
        raise LookupError(f"serving snapshot: {missing} is not in {published}")
    return [(schema, name, where[name]) for schema, name in served]


def _copy_marts(con: duckdb.DuckDBPyConnection, sources: list[tuple[str, str, str]]) -> None:
    for schema, name, source in sources:
        con.execute(f"create schema if not exists serving_snapshot.{schema}")
        con.execute(f'create table serving_snapshot.{schema}.{name} as select * from "{source}".{name}')


def _relations(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Relation name -> schema in the published file (the first schema holding it)."""
    rows = con.execute("select table_name, table_schema from information_schema.tables "
                       "where table_catalog = current_database() order by table_schema").fetchall()
    found: dict[str, str] = {}
    for name, schema in rows:
        found.setdefault(name, schema)
    return found


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")
