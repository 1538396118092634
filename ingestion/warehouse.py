"""The one setting that names the warehouse, and the dlt pipelines that load into it.

``NORTHSTAR_WAREHOUSE`` (default ``warehouse/northstar.duckdb``) is read by dlt, dbt, the
quality suites and the CLI alike. It is resolved to an absolute path before dlt sees it:
given a relative path or nothing, dlt would write ``<pipeline_name>.duckdb`` in the working
directory, and dbt would read a different file.
"""

from __future__ import annotations

import os
from pathlib import Path

import dlt

DEFAULT_WAREHOUSE = "warehouse/northstar.duckdb"
#: Every source loads parquet: dlt's default insert format is ~100x slower into DuckDB.
LOADER_FILE_FORMAT = "parquet"


def warehouse_path() -> Path:
    """Absolute path of the warehouse file (its folder is created)."""
    path = Path(os.environ.get("NORTHSTAR_WAREHOUSE") or DEFAULT_WAREHOUSE).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def pipelines_dir() -> Path:
    """dlt's working folder, next to the warehouse (local state; the warehouse holds the truth)."""
    return warehouse_path().parent / ".dlt_pipelines"


def raw_dataset(source: str) -> str:
    """The raw schema a source loads into, e.g. ``raw_stripe``."""
    return f"raw_{source}"


def make_pipeline(source: str) -> dlt.Pipeline:
    """The pipeline that loads ``source`` into ``raw_<source>`` of the warehouse.

    Incremental state is restored from the destination when the local folder is missing (as it
    is under dagster-dlt), so the warehouse is the source of truth for cursors.
    """
    return dlt.pipeline(
        pipeline_name=f"northstar_{source}",
        destination=dlt.destinations.duckdb(credentials=str(warehouse_path())),
        dataset_name=raw_dataset(source),
        pipelines_dir=str(pipelines_dir()),
        progress="log" if os.environ.get("NORTHSTAR_PROGRESS") else None,
    )
