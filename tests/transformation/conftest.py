"""dbt tests run on a real warehouse: a year of the small sandbox, loaded by the real sources.

``loaded_warehouse`` is the raw warehouse (loaded once per session); ``built_warehouse`` is a
copy of it after one ``dbt build`` of the whole project (models, seeds, data and unit tests).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest

from sandbox.simulation import Simulation, simulate
from sandbox.truth import write_truth
from tests.dbt_helpers import failures, run_dbt
from tests.world_loads import serve_and_load

START, AS_OF = date(2025, 1, 1), date(2026, 1, 1)


@dataclass
class Warehouse:
    path: Path
    truth_dir: Path
    sim: Simulation

    def query(self, sql: str) -> list[tuple]:
        # not read_only: dbt ran in this process, and DuckDB refuses a second configuration
        with duckdb.connect(str(self.path)) as con:
            return con.execute(sql).fetchall()


def load_world(sim: Simulation, root: Path) -> Warehouse:
    """Write ``sim``'s truth, serve it, and load it by every real source into ``root``."""
    write_truth(sim, root / "truth")
    path = root / "northstar.duckdb"
    serve_and_load(sim, {"NORTHSTAR_WAREHOUSE": str(path)})
    return Warehouse(path, root / "truth", sim)


def build(warehouse: Warehouse, target: Path) -> Warehouse:
    """One ``dbt build`` of the whole project on ``warehouse`` (every data and unit test)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NORTHSTAR_WAREHOUSE", str(warehouse.path))
        result = run_dbt(["build"], target_path=target)
    assert result.success, failures(result)
    return warehouse


@pytest.fixture(scope="session")
def loaded_warehouse(tmp_path_factory) -> Warehouse:
    root = tmp_path_factory.mktemp("loaded")
    return load_world(simulate(7, START, AS_OF, "small", root / "ga4"), root)


@pytest.fixture(scope="session")
def built_warehouse(loaded_warehouse, tmp_path_factory) -> Warehouse:
    root = tmp_path_factory.mktemp("built")
    path = root / "northstar.duckdb"
    shutil.copy(loaded_warehouse.path, path)
    return build(Warehouse(path, loaded_warehouse.truth_dir, loaded_warehouse.sim), root / "target")
