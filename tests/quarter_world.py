"""The quarter world (seed 7, small scale, Q1 2025): loaded by the real sources and built by one
``dbt build``, the reference that the GA4 path and layout tests and the Spark comparison read.

``daily_files_build`` builds it once per run (``once_per_run``), from GA4's export files one a
day (the sandbox's default layout), and keeps its ``models`` and its warehouse file (to copy).
"""

from __future__ import annotations

import pickle
from datetime import date
from pathlib import Path

import duckdb
import pytest

from sandbox import bigquery_api
from sandbox.simulation import Simulation, simulate
from tests.dbt_helpers import WITHOUT_UNIT_TESTS, failures, run_dbt
from tests.world_loads import once_per_run, serve_and_load

# a short world keeps each build well under a minute
START, AS_OF = date(2025, 1, 1), date(2025, 4, 1)
SEED = 7


def quarter(ga4_dir: Path, ga4_layout: str = "daily") -> Simulation:
    return simulate(SEED, START, AS_OF, "small", ga4_dir, ga4_layout=ga4_layout)


def load_and_build(sim: Simulation, root: Path, bigquery: bool) -> Path:
    """``root/northstar.duckdb``: ``sim`` loaded by every source (GA4 by the BigQuery client
    when ``bigquery``, else from the files) and built by ``dbt build`` (every model, seed and
    data test; the unit tests run in the year world's build)."""
    path = root / "northstar.duckdb"
    serve_and_load(sim, {"NORTHSTAR_WAREHOUSE": str(path)}, bigquery_api.client_env if bigquery else None)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NORTHSTAR_WAREHOUSE", str(path))
        result = run_dbt(["build", *WITHOUT_UNIT_TESTS], target_path=root / "target")
    assert result.success, failures(result)
    return path


def models(path: Path) -> dict[str, list[tuple]]:
    """Every model table and view of the warehouse (raw schemas and dlt's tables left out):
    its rows, each value as text, sorted, without the columns that carry a dlt load id (named
    ``*load_id``: the time a load ran, which two loads of the same data never share). (A
    connection of the dbt run's configuration: dbt ran in this process, and DuckDB refuses a
    second one.)"""
    with duckdb.connect(str(path)) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema not like 'raw%' and table_name not like '\\_dlt%' escape '\\' "
            "order by all").fetchall()
        out = {}
        for schema, name in tables:
            columns = con.execute(
                "select column_name from information_schema.columns where table_schema = ? "
                "and table_name = ? and column_name not like '%load\\_id' escape '\\' "
                "order by ordinal_position", [schema, name]).fetchall()
            cast = ", ".join(f'"{c}"::varchar' for (c,) in columns)
            out[f"{schema}.{name}"] = con.execute(
                f'select {cast} from "{schema}"."{name}" order by all').fetchall()
    return out


def daily_files_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the quarter built from its daily export files, once per run: its
    checkpointed ``northstar.duckdb`` (copy it before opening it) and ``models.pickle``."""

    def build(root: Path) -> None:
        path = load_and_build(quarter(root / "ga4"), root, bigquery=False)
        with duckdb.connect(str(path)) as con:  # dbt-duckdb keeps the file open in this process
            con.execute("checkpoint")
        (root / "models.pickle").write_bytes(pickle.dumps(models(path)))

    return once_per_run(tmp_path_factory, "quarter_daily_files", build)


def daily_files_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple]]:
    return pickle.loads((daily_files_build(tmp_path_factory) / "models.pickle").read_bytes())
