"""A throwaway PostgreSQL cluster and one small sandbox world loaded into it and into DuckDB.

``postgres`` starts the cluster once per session (fails loudly when it cannot: PostgreSQL 15
is part of the machine, see tests/engines/postgres_cluster.py). ``engine_worlds`` loads the
same world by the real sources into both engines, builds DuckDB with ``dbt build`` and
PostgreSQL with the Dagster code location's ``nightly`` job on that engine
(orchestration/engine_job.py: the sources, then the write-audit-publish path: draft schemas,
dbt's tests, the swap).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance

from orchestration.graph import build_definitions
from sandbox.client_env import source_env
from sandbox.server import start_server
from tests.engines.postgres_cluster import Cluster, start_cluster
from tests.engines.worlds import build, load, small_world


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
        return duckdb.connect(str(self.duckdb_path))  # not read_only: dbt ran in this process


@pytest.fixture(scope="session")
def engine_worlds(postgres, tmp_path_factory) -> EngineWorlds:
    root = tmp_path_factory.mktemp("engines")
    sim = small_world(root)
    worlds = EngineWorlds(root / "duckdb" / "northstar.duckdb", postgres)
    duck_env = {"NORTHSTAR_TARGET": "duckdb", "NORTHSTAR_WAREHOUSE": str(worlds.duckdb_path)}
    load(sim, duck_env)
    build(duck_env, root / "duckdb-target")
    # PostgreSQL's side is built by the Dagster code location's nightly job on that engine
    # (orchestration/engine_job.py): the sources, then the draft build, its audit and the publish
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
    return worlds
