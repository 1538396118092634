"""The warehouse: the one setting that names it, connections to it, and the dlt pipelines
that load into it. Every other module reaches the warehouse file through this one.

``NORTHSTAR_WAREHOUSE`` (default ``warehouse/northstar.duckdb``) is read by dlt, dbt, the
quality suites and the CLI alike. It is resolved to an absolute path before dlt sees it:
given a relative path or nothing, dlt would write ``<pipeline_name>.duckdb`` in the working
directory, and dbt would read a different file.

DuckDB allows one writing process per file, and a process that holds a connection holds the
file's lock: so connections are short-lived (:func:`connect` closes on leaving its block) and
read-only unless the caller writes. Write-audit-publish (drafts of a run, the atomic publish)
is orchestration's, built on these: ``orchestration/resources.py``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dlt
import duckdb

from ingestion.engine import engine, postgres_dsn
from ingestion.file_lock import waiting_for

DEFAULT_WAREHOUSE = "warehouse/northstar.duckdb"
#: Every source loads parquet into DuckDB: dlt's default insert format is ~100x slower there.
LOADER_FILE_FORMAT = "parquet"


def loader_file_format() -> str | None:
    """The file format dlt loads in on the engine (NORTHSTAR_TARGET): parquet into DuckDB and for
    Spark (the files Spark reads), the destination's own preference on Postgres (insert_values;
    its parquet needs ADBC)."""
    return LOADER_FILE_FORMAT if engine() in ("duckdb", "spark") else None


def warehouse_path() -> Path:
    """Absolute path of the warehouse file (its folder is created)."""
    path = Path(os.environ.get("NORTHSTAR_WAREHOUSE") or DEFAULT_WAREHOUSE).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def connect(path: Path | str | None = None, *, read_only: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the warehouse (``path``, else :func:`warehouse_path`), closed on leaving.

    Read-only by default: any number of read-only processes may share a file that no process
    writes. ``read_only=False`` where this process writes, or where DuckDB may already hold the
    file open read-write in this process (dbt run in-process): DuckDB refuses a second
    configuration of one file in a process.
    """
    with duckdb.connect(str(path or warehouse_path()), read_only=read_only) as con:
        yield con


def pipelines_dir() -> Path:
    """dlt's working folder, next to the warehouse (local state; the warehouse holds the truth).
    Each engine has its own: one pipeline's state must not pass from one engine to another."""
    if engine() == "spark":
        from ingestion.spark import spark_dir

        return spark_dir() / ".dlt_pipelines"
    return warehouse_path().parent / ".dlt_pipelines"


def raw_dataset(source: str) -> str:
    """The raw schema a source loads into, e.g. ``raw_stripe``."""
    return f"raw_{source}"


def destination():
    """dlt's destination for the engine (NORTHSTAR_TARGET): the warehouse file, Postgres, or for
    Spark Parquet files in a folder (``<raw root>/<dataset>/<table>/<load_id>.<file_id>.parquet``)
    that Spark reads as external tables (macros/spark_raw_sources.sql)."""
    if engine() == "postgres":
        return dlt.destinations.postgres(credentials=postgres_dsn())
    if engine() == "spark":
        from ingestion.spark import raw_root

        return dlt.destinations.filesystem(bucket_url=raw_root().as_uri())
    return dlt.destinations.duckdb(credentials=str(warehouse_path()))


def pipeline_duckdb_file(pipeline: dlt.Pipeline) -> str | None:
    """The DuckDB file ``pipeline`` loads into, as dlt was given it (``destination``), or None
    for another destination."""
    loads_into = pipeline.destination
    if loads_into is None or loads_into.destination_type != "dlt.destinations.duckdb":
        return None
    credentials = loads_into.config_params.get("credentials")
    return credentials if isinstance(credentials, str) else None


def make_pipeline(source: str) -> dlt.Pipeline:
    """The pipeline that loads ``source`` into ``raw_<source>`` of the warehouse (its schema of
    that name on Postgres).

    Incremental state is restored from the destination when the local folder is missing (as it
    is under dagster-dlt), so the warehouse is the source of truth for cursors.

    Processes that open one pipeline at once wait for each other (every process that imports
    the code location opens every pipeline: each Dagster step process, each pytest worker). On
    a new warehouse folder dlt finds no state and wipes the working folder to create it, so two
    at once deleted each other's files (``Directory not empty``, then ``'NoneType' object has
    no attribute 'live_schemas'``); under the lock the second finds the first one's state.
    """
    name = f"northstar_{source}"
    with waiting_for(pipelines_dir() / f".{name}.lock"):
        return dlt.pipeline(
            pipeline_name=name,
            destination=destination(),
            dataset_name=raw_dataset(source),
            pipelines_dir=str(pipelines_dir()),
            progress="log" if os.environ.get("NORTHSTAR_PROGRESS") else None,
        )


def discard_interrupted_loads(pipeline: dlt.Pipeline) -> list[str]:
    """Abort the load packages a killed run left behind; return their ids.

    Call it before ``pipeline.run``. Left alone, dlt would resume such a package, which is not
    safe: its load jobs are replayed from ``started_jobs``, and a job whose rows DuckDB had
    already committed (the kill came before dlt recorded the job as done) inserts them again
    into the staging table. The merge then keeps both copies wherever it deduplicates by
    ``_dlt_id`` (a root table with child tables; ``insert-only``), and a ``replace`` that
    writes straight into its table (GA4's first load) would append them twice. Under Dagster a
    package may even be resumed into a fresh draft that never held its first half.

    ``abort_packages`` (dlt's own recovery) marks the package aborted (it never enters
    ``_dlt_loads``, so its state row is never restored) and rewinds the local state and schemas
    to where the package began. The next extract then reads again what the package held, and
    since every table merges on its keys (or replaces), the warehouse ends as an uninterrupted
    run leaves it. Two runs of one pipeline at once are not supported (nor safe in dlt), so
    the folders of unfinished extracts and normalizations are deleted too.
    """
    working = Path(pipeline.working_dir)
    # A run killed while dlt made its load folder leaves load/ stamped with its version but
    # without load/normalized/: dlt then counts the storage as ready, and listing it raises
    # FileNotFoundError. No package can be there; the next run's load step makes the folder.
    normalized = pipeline.list_normalized_load_packages() if (working / "load" / "normalized").is_dir() else []
    pending = [*normalized, *pipeline.list_extracted_load_packages()]
    if pending:
        pipeline.abort_packages()
    # a killed extract or normalize leaves its half-written package in a folder of its own
    # (normalize/<random>/, load/new/<load id>/) that no run reads again
    for folder in [*working.glob("normalize/*"), *working.glob("load/new/*")]:
        if folder.is_dir() and folder.name != "extracted":
            shutil.rmtree(folder, ignore_errors=True)
    return pending
