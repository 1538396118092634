"""The dbt project documents itself: docs generate, a grain for every model, every mart column."""

from __future__ import annotations

import json
import re

import duckdb
import pytest

from tests.dbt_helpers import failures, run_dbt


@pytest.fixture(scope="module")
def docs(built_warehouse, tmp_path_factory):
    target = tmp_path_factory.mktemp("docs_target")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NORTHSTAR_WAREHOUSE", str(built_warehouse.path))
        result = run_dbt(["docs", "generate"], target_path=target)
    assert result.success, failures(result)
    manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    return manifest, catalog


def _models(manifest):
    return [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]


def test_every_model_states_its_grain(docs):
    manifest, _ = docs
    models = _models(manifest)
    assert len(models) > 30
    missing = [m["name"] for m in models
               if not re.search(r"\b(one row|grain|per)\b", m["description"], re.IGNORECASE)]
    assert missing == []


def test_every_mart_column_is_documented(docs):
    manifest, catalog = docs
    undocumented = []
    for model in _models(manifest):
        if not model["original_file_path"].startswith("models/marts/"):
            continue
        built = catalog["nodes"].get(model["unique_id"])
        assert built is not None, model["name"]
        documented = {name.lower() for name, col in model["columns"].items() if col.get("description")}
        undocumented += [f"{model['name']}.{c}" for c in built["columns"] if c.lower() not in documented]
    assert undocumented == []


def test_each_layer_builds_in_its_own_schema(docs):
    manifest, _ = docs
    schemas = {}
    for model in _models(manifest):
        folder = model["original_file_path"].split("/")
        layer = folder[2] if folder[1] == "marts" else folder[1]
        schemas.setdefault(layer, set()).add(model["schema"])
    assert schemas == {"staging": {"staging"}, "intermediate": {"intermediate"},
                       "core": {"core"}, "metrics": {"metrics"}}


def test_metric_marts_have_enforced_contracts_on_every_built_column(docs):
    """What BI tools read cannot change shape silently: every metric mart's contract is enforced
    and types every column the build made (the build itself fails on a type that differs)."""
    manifest, catalog = docs
    marts = [m for m in _models(manifest) if m["original_file_path"].startswith("models/marts/metrics/")]
    assert len(marts) == 10
    for model in marts:
        assert model["contract"]["enforced"], model["name"]
        built = [c.lower() for c in catalog["nodes"][model["unique_id"]]["columns"]]
        typed = {name.lower(): col.get("data_type") for name, col in model["columns"].items()}
        assert sorted(built) == sorted(typed), model["name"]
        assert all(typed.values()), model["name"]


def test_the_built_metric_marts_refuse_a_row_that_breaks_a_check(docs, built_warehouse):
    """A metric mart's ranges and accepted values are its contract's check constraints: dbt
    creates each table with them (one CHECK per rule in DuckDB's catalog), and DuckDB refuses a
    row that breaks one, naming its rule (tests/quality/test_dbt_rules.py tries each rule)."""
    manifest, _ = docs
    declared = {}
    for model in _models(manifest):
        if model["config"]["contract"]["enforced"]:
            constraints = [c for column in model["columns"].values() for c in column["constraints"]]
            declared[model["name"]] = sum(c["type"] == "check" for c in [*constraints, *model["constraints"]])
    with duckdb.connect(str(built_warehouse.path)) as con:
        built = dict(con.execute("select table_name, count(*) from duckdb_constraints() where schema_name = 'metrics'"
                                 " and constraint_type = 'CHECK' group by table_name").fetchall())
        with pytest.raises(duckdb.ConstraintException) as refused:
            con.execute("update metrics.mrr_summary set ending_mrr = -1 where ending_mrr > 0")
        assert con.execute("select count(*) from metrics.mrr_summary where ending_mrr < 0").fetchone() == (0,)
    assert sum(declared.values()) > 100
    assert built == {name: count for name, count in declared.items() if count}
    refusal = 'CHECK constraint failed on table "mrr_summary" with expression CHECK((ending_mrr >= 0))'
    assert refusal in str(refused.value)
