"""dbt tests run on a real warehouse: a year of the small sandbox, loaded by the real sources.

``loaded_warehouse`` is the raw warehouse; ``built_warehouse`` is the same after one ``dbt
build`` of the whole project (models, seeds, data and unit tests: the build that runs every unit
test on DuckDB, see ``tests.dbt_helpers.WITHOUT_UNIT_TESTS``). Both are loaded and built
once for the whole run, not once per xdist worker (``once_per_run``), and each worker works on
copies of its own.
"""

from __future__ import annotations

import pickle
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest

from sandbox.simulation import Simulation, simulate
from sandbox.truth import write_truth
from tests.dbt_helpers import WITHOUT_UNIT_TESTS, failures, project_unit_tests, run_dbt
from tests.world_loads import once_per_run, serve_and_load

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


def build(warehouse: Warehouse, target: Path, unit_tests: bool = False) -> Warehouse:
    """One ``dbt build`` of the whole project on ``warehouse``: every model, seed and data test,
    and the unit tests when ``unit_tests`` (each one passed)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NORTHSTAR_WAREHOUSE", str(warehouse.path))
        result = run_dbt(["build", *(() if unit_tests else WITHOUT_UNIT_TESTS)], target_path=target)
    assert result.success, failures(result)
    if unit_tests:  # every unit test of the project ran (and passed, above)
        ran = {r.node.unique_id for r in result.result.results if r.node.resource_type == "unit_test"}
        assert ran and ran == project_unit_tests(target), sorted(ran)
    return warehouse


@pytest.fixture(scope="session")
def year_world(tmp_path_factory) -> tuple[Path, Simulation]:
    """(folder, simulation) of the year, loaded (``loaded/``) and built (``built/``) once per run."""

    def load_and_build(root: Path) -> None:
        sim = simulate(7, START, AS_OF, "small", root / "ga4")
        loaded = load_world(sim, root / "loaded")
        (root / "built").mkdir()
        shutil.copy(loaded.path, root / "built" / loaded.path.name)
        built = build(Warehouse(root / "built" / loaded.path.name, loaded.truth_dir, sim), root / "target",
                      unit_tests=True)
        built.query("checkpoint")  # dbt-duckdb keeps the file open here: the others copy it whole
        (root / "simulation.pickle").write_bytes(pickle.dumps(sim))

    root = once_per_run(tmp_path_factory, "year_world", load_and_build)
    return root, pickle.loads((root / "simulation.pickle").read_bytes())


def _own_copy(year_world: tuple[Path, Simulation], layer: str, tmp_path_factory) -> Warehouse:
    root, sim = year_world
    path = tmp_path_factory.mktemp(layer) / "northstar.duckdb"
    shutil.copy(root / layer / path.name, path)
    return Warehouse(path, root / "loaded" / "truth", sim)


@pytest.fixture(scope="session")
def loaded_warehouse(year_world, tmp_path_factory) -> Warehouse:
    return _own_copy(year_world, "loaded", tmp_path_factory)


@pytest.fixture(scope="session")
def built_warehouse(year_world, tmp_path_factory) -> Warehouse:
    return _own_copy(year_world, "built", tmp_path_factory)
