"""A throwaway PostgreSQL cluster and one small sandbox world loaded into it and into DuckDB.

``postgres`` starts the cluster once per session (fails loudly when it cannot: PostgreSQL 15
is part of the machine, see tests/engines/postgres_cluster.py). ``engine_worlds`` loads the
quarter world (tests/quarter_world.py: every metric mart has rows) into PostgreSQL by the real
sources with the Dagster code location's ``nightly`` job on that engine
(orchestration/engine_job.py: the sources, then the write-audit-publish path: draft schemas,
dbt's tests, the swap). DuckDB's side is the quarter's ``dbt build`` that the Spark and GA4
tests read too, made once per run: the sandbox is deterministic, so both engines load the
same rows.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance

from orchestration.graph import build_definitions
from sandbox.client_env import source_env
from sandbox.server import start_server
from tests.engines.postgres_cluster import Cluster, start_cluster
from tests.quarter_world import daily_files_build, quarter


@pytest.fixture(scope="session")
def postgres():
    cluster = start_cluster()
    yield cluster
    cluster.stop()


@dataclass
class EngineWorlds:
    duckdb_path: Path
    postgres: Cluster

    @property
    def postgres_env(self) -> dict[str, str]:
        return {**self.postgres.env, "NORTHSTAR_TARGET": "postgres",
                "NORTHSTAR_WAREHOUSE": str(self.duckdb_path.parent / "pg-local" / "state.duckdb")}

    def duckdb(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.duckdb_path), read_only=True)


@pytest.fixture(scope="session")
def engine_worlds(postgres, tmp_path_factory) -> EngineWorlds:
    root = tmp_path_factory.mktemp("engines")
    sim = quarter(root / "ga4")
    worlds = EngineWorlds(root / "duckdb" / "northstar.duckdb", postgres)
    worlds.duckdb_path.parent.mkdir()
    # PostgreSQL's side first (under xdist the Spark file's worker usually builds the quarter meanwhile):
    # the Dagster code location's nightly job on that engine (orchestration/engine_job.py), the
    # sources, then the draft build, its audit and the publish
    server = start_server(sim.world, port=0)
    with pytest.MonkeyPatch.context() as patch:
        settings = {**worlds.postgres_env, "DBT_TARGET_PATH": str(root / "postgres-target"),
                    **source_env(server.base_url, sim.world.start, sim.world.as_of)}
        for key, value in settings.items():
            patch.setenv(key, value)
        try:
            job = build_definitions().resolve_job_def("nightly")
            result = job.execute_in_process(instance=DagsterInstance.ephemeral(), raise_on_error=False)
        finally:
            server.shutdown()
    assert [event.asset_key.path[-1] for event in result.get_asset_materialization_events()] == \
        ["raw_sources", "published_warehouse"], [str(e.event_specific_data) for e in result.all_events if e.is_failure]
    assert result.success
    shutil.copy(daily_files_build(tmp_path_factory) / worlds.duckdb_path.name, worlds.duckdb_path)
    return worlds
