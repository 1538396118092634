"""A throwaway PostgreSQL cluster and one small sandbox world loaded into it and into DuckDB.

``postgres`` starts the cluster once per session (fails loudly when it cannot: PostgreSQL 15
is part of the machine, see tests/engines/postgres_cluster.py). ``engine_worlds`` loads the
same world by the real sources into both engines, builds DuckDB with ``dbt build`` and
PostgreSQL through its write-audit-publish path (draft schemas, dbt's tests, the swap).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from orchestration.postgres_wap import build_and_publish
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
    load(sim, worlds.postgres_env)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in worlds.postgres_env.items():
            patch.setenv(key, value)
        outcome = build_and_publish(target_path=root / "postgres-target")
    assert outcome.published, outcome.failures
    return worlds
