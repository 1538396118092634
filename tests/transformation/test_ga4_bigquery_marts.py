"""The marts cannot tell how GA4 was loaded: a world loaded with GA4 from the BigQuery export
(the real google-cloud-bigquery client against the sandbox) and the same world loaded from the
export files build identical models, table for table and row for row.

The build from the daily files is the reference of the file layouts' test too
(test_ga4_file_layouts_marts.py): it is built once per run (``daily_files_models``), and each
test builds its other paths first, so that a worker reaching it while the other builds it
seldom waits."""

from __future__ import annotations

import pickle
from datetime import date
from pathlib import Path

import duckdb
import pytest

from sandbox import bigquery_api
from sandbox.simulation import Simulation, simulate
from tests.dbt_helpers import failures, run_dbt
from tests.world_loads import once_per_run, serve_and_load

pytestmark = pytest.mark.slow  # builds a warehouse (tests/conftest.py runs these first)

# a short world keeps each build well under a minute
START, AS_OF = date(2025, 1, 1), date(2025, 4, 1)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Simulation:
    return simulate(7, START, AS_OF, "small", tmp_path_factory.mktemp("ga4_paths") / "ga4")


def load_and_build(sim: Simulation, root: Path, bigquery: bool) -> Path:
    path = root / "northstar.duckdb"
    serve_and_load(sim, {"NORTHSTAR_WAREHOUSE": str(path)}, bigquery_api.client_env if bigquery else None)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NORTHSTAR_WAREHOUSE", str(path))
        result = run_dbt(["build"], target_path=root / "target")
    assert result.success, failures(result)
    return path


def models(path: Path) -> dict[str, list[tuple]]:
    """Every model table and view of the warehouse (raw schemas and dlt's tables left out):
    its rows, each value as text, sorted. (A connection of the dbt run's configuration:
    dbt ran in this process, and DuckDB refuses a second one.)"""
    with duckdb.connect(str(path)) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema not like 'raw%' and table_name not like '\\_dlt%' escape '\\' "
            "order by all").fetchall()
        out = {}
        for schema, name in tables:
            columns = con.execute(
                "select column_name from information_schema.columns where table_schema = ? "
                "and table_name = ? order by ordinal_position", [schema, name]).fetchall()
            cast = ", ".join(f'"{c}"::varchar' for (c,) in columns)
            out[f"{schema}.{name}"] = con.execute(
                f'select {cast} from "{schema}"."{name}" order by all').fetchall()
    return out


def daily_files_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple]]:
    """``models`` of the world loaded from its export files, one a day (the sandbox's default
    layout), built once per run."""

    def build_from_daily_files(root: Path) -> None:
        sim = simulate(7, START, AS_OF, "small", root / "ga4", ga4_layout="daily")
        (root / "models.pickle").write_bytes(pickle.dumps(models(load_and_build(sim, root, bigquery=False))))

    return pickle.loads((once_per_run(tmp_path_factory, "ga4_daily_files", build_from_daily_files)
                         / "models.pickle").read_bytes())


def test_marts_identical_whichever_ga4_path(world, tmp_path, tmp_path_factory):
    by_bigquery = models(load_and_build(world, tmp_path / "bigquery", bigquery=True))
    by_files = daily_files_models(tmp_path_factory)
    assert sorted(by_files) == sorted(by_bigquery)
    names = {key.split(".", 1)[1] for key in by_files}
    assert {"fct_events", "fct_sessions", "channel_attribution", "funnel"} <= names
    differing = [key for key in by_files if by_files[key] != by_bigquery[key]]
    assert differing == []
    # the GA4-fed marts compared are not empty
    assert all(rows for key, rows in by_files.items()
               if key.endswith((".fct_events", ".fct_sessions")))
