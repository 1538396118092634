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


def test_marts_have_enforced_contracts_on_every_built_column(docs):
    """What BI tools read (core and metrics) cannot change shape silently: every mart's contract is
    enforced and types every column the build made (the build itself fails on a type that differs)."""
    manifest, catalog = docs
    marts = [m for m in _models(manifest) if m["original_file_path"].startswith("models/marts/")]
    assert len(marts) == 22  # core 12, metrics 10
    for model in marts:
        assert model["contract"]["enforced"], model["name"]
        built = [c.lower() for c in catalog["nodes"][model["unique_id"]]["columns"]]
        typed = {name.lower(): col.get("data_type") for name, col in model["columns"].items()}
        assert sorted(built) == sorted(typed), model["name"]
        assert all(typed.values()), model["name"]


def test_the_built_marts_refuse_a_row_that_breaks_a_constraint(docs, built_warehouse):
    """A mart's not-null rules, ranges and accepted values are its contract's constraints: dbt
    creates each table with them (one NOT NULL per not_null, one CHECK per rule in DuckDB's
    catalog), and DuckDB refuses a row that breaks one, naming its rule
    (tests/quality/test_dbt_rules.py tries each check)."""
    manifest, _ = docs
    declared = {}
    for model in _models(manifest):
        if model["config"]["contract"]["enforced"]:
            constraints = [c for column in model["columns"].values() for c in column["constraints"]]
            for kind in ("not_null", "check"):
                count = sum(c["type"] == kind for c in [*constraints, *model["constraints"]])
                if count:
                    declared[(model["schema"], model["name"], kind)] = count
    with duckdb.connect(str(built_warehouse.path)) as con:
        built = {(schema, table, kind.lower().replace("not null", "not_null")): count
                 for schema, table, kind, count in con.execute(
                     "select schema_name, table_name, constraint_type, count(*) from duckdb_constraints()"
                     " where schema_name in ('core', 'metrics') and constraint_type in ('NOT NULL', 'CHECK')"
                     " group by all").fetchall()}
        with pytest.raises(duckdb.ConstraintException) as refused:
            con.execute("update metrics.mrr_summary set ending_mrr = -1 where ending_mrr > 0")
        assert con.execute("select count(*) from metrics.mrr_summary where ending_mrr < 0").fetchone() == (0,)
        with pytest.raises(duckdb.ConstraintException) as refused_in_core:
            con.execute("update core.fct_sessions set channel = 'Paid search' where channel = 'Paid Search'")
        with pytest.raises(duckdb.ConstraintException) as null_in_core:
            con.execute("update core.fct_events set event_name = null where event_name = 'sign_up'")
    assert sum(count for (schema, *_), count in declared.items() if schema == "core") > 80
    assert sum(count for (_, _, kind), count in declared.items() if kind == "check") > 100
    assert built == declared
    refusal = 'CHECK constraint failed on table "mrr_summary" with expression CHECK((ending_mrr >= 0))'
    assert refusal in str(refused.value)
    assert 'CHECK constraint failed on table "fct_sessions"' in str(refused_in_core.value)
    assert "NOT NULL constraint failed: fct_events.event_name" in str(null_in_core.value)
