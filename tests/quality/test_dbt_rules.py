"""The marts' ranges and accepted values, one home per rule, on the quality suites' tiny warehouse.

The GX mart suites used to hold these rules too. A mart's rules (core and metrics) are its enforced
contract's constraints (``not_null``, and ``check`` for ranges and accepted values: DuckDB and
PostgreSQL refuse a breaking row as dbt fills the table); its keys and relationships stay dbt tests.
Against the hand-written tables of conftest.py, which have the columns the checks read: correct data
passes every check, and each broken value breaks exactly the check on its column, conditions (a
check's ``or``, which was a test's ``where``) included. That the built tables hold the checks is
tests/transformation/test_project_docs.py's.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from dbt.cli.main import dbtRunner

ROOT = Path(__file__).resolve().parents[2]
#: the rules a mart keeps as its contract's constraints, not as data tests
CONSTRAINED_RULES = {"not_null", "at_least", "is_between", "accepted_values"}

#: breakage -> the check it breaks: "model.column"
BREAKAGES = {
    "update metrics.mrr_summary set ending_mrr = -20 where starting_mrr = 100": "mrr_summary.ending_mrr",
    "update metrics.mrr_summary set mrr_growth_rate = -1.5 where starting_mrr = 100": "mrr_summary.mrr_growth_rate",
    "update metrics.user_retention set retention_rate = 1.2 where weeks_since_first_visit = 1":
        "user_retention.retention_rate",
    "update metrics.funnel set trial_to_paid_rate = 1.5 where funnel_view = 'cohorted'": "funnel.trial_to_paid_rate",
    "update metrics.kpi_alerts set metric_value = 1.3 where metric = 'monthly_logo_churn_rate'":
        "kpi_alerts.metric_value",
    "update metrics.kpi_alerts set status = 'amber' where metric = 'monthly_logo_churn_rate'": "kpi_alerts.status",
    "update metrics.channel_performance set channel = 'Paid search' where channel = 'Paid Search'":
        "channel_performance.channel",
    "update core.fct_ad_spend_daily set spend_amount_usd = -1 where currency = 'USD'":
        "fct_ad_spend_daily.spend_amount_usd",
    "update core.fct_ad_spend_daily set platform = 'bing_ads' where currency = 'EUR'": "fct_ad_spend_daily.platform",
    "update core.fct_mrr_daily set active_customers = -1 where mrr_amount = 0": "fct_mrr_daily.active_customers",
    "update metrics.user_engagement set dau_mau_ratio = 1.2 where daily_active_users = 39":
        "user_engagement.dau_mau_ratio",
    "update metrics.cohort_retention set logo_retention = 1.1 where months_since_start = 1":
        "cohort_retention.logo_retention",
}


def _manifest(warehouse: Path, target: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """dbt's manifest of the project (``dbt parse``): each mart's constraints."""
    monkeypatch.setenv("NORTHSTAR_WAREHOUSE", str(warehouse))
    result = dbtRunner().invoke(["parse", "--project-dir", str(ROOT), "--profiles-dir", str(ROOT),
                                 "--target", "prod", "--target-path", str(target), "--quiet"])
    assert result.exception is None and result.success, result.exception
    return json.loads((target / "manifest.json").read_text())


def _checks(manifest: dict) -> dict[str, list[tuple[str, str]]]:
    """Each mart's check constraints: "model.column" -> (its relation, the expression) for each
    (a model-level check counts for the columns it names)."""
    checks: dict[str, list[tuple[str, str]]] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model" or not node["config"]["contract"]["enforced"]:
            continue
        relation = f"{node['schema']}.{node['name']}"
        for column in node["columns"].values():
            for constraint in column["constraints"]:
                if constraint["type"] == "check":
                    checks.setdefault(f"{node['name']}.{column['name']}", []).append(
                        (relation, constraint["expression"]))
        for constraint in node["constraints"]:
            if constraint["type"] == "check":
                for column in constraint["columns"]:
                    checks.setdefault(f"{node['name']}.{column}", []).append((relation, constraint["expression"]))
    return checks


def _judge(warehouse: Path, checks: dict[str, list[tuple[str, str]]]) -> tuple[set[str], set[str]]:
    """The checks of the marts the warehouse holds, and those some row breaks: false, as DuckDB's
    CHECK judges (null passes)."""
    judged, broken = set(), set()
    with duckdb.connect(str(warehouse)) as con:  # as dbt's in-process connection (read_only would clash)
        tables = {f"{schema}.{name}" for schema, name in con.execute(
            "select table_schema, table_name from information_schema.tables").fetchall()}
        for rule, expressions in checks.items():
            for relation, expression in expressions:
                if relation not in tables:
                    continue
                judged.add(rule)
                if con.execute(f"select count(*) from {relation} where not ({expression})").fetchone()[0]:
                    broken.add(rule)
    return judged, broken


@pytest.fixture(scope="module")
def outcomes(good_warehouse_file: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The marts' checks, judged on the good warehouse and on the one with every breakage."""
    work = tmp_path_factory.mktemp("dbt_rules")
    warehouse = work / "warehouse.duckdb"
    shutil.copy(good_warehouse_file, warehouse)
    with pytest.MonkeyPatch.context() as patch:
        manifest = _manifest(warehouse, work / "target", patch)
    checks = _checks(manifest)
    judged, good = _judge(warehouse, checks)
    with duckdb.connect(str(warehouse)) as con:
        for breakage in BREAKAGES:
            con.execute(breakage)
    _, broken = _judge(warehouse, checks)
    return {"manifest": manifest, "checks": checks, "judged": judged, "good": good, "broken": broken}


def test_correct_data_passes_every_range_rule_of_the_marts(outcomes) -> None:
    judged = outcomes["judged"]
    assert sum(len(expressions) for expressions in outcomes["checks"].values()) > 120
    # every metric mart, and the core marts the suites read: fct_ad_spend_daily 6, fct_mrr_daily 3
    assert len(judged) > 100
    assert {rule for rule in judged if rule.startswith(("fct_ad_spend_daily.", "fct_mrr_daily."))} == {
        "fct_ad_spend_daily.platform", "fct_ad_spend_daily.channel", "fct_ad_spend_daily.impressions",
        "fct_ad_spend_daily.clicks", "fct_ad_spend_daily.spend_amount", "fct_ad_spend_daily.spend_amount_usd",
        "fct_mrr_daily.mrr_amount", "fct_mrr_daily.mrr_amount_usd", "fct_mrr_daily.active_customers"}
    assert outcomes["good"] == set()


def test_each_broken_value_breaks_exactly_its_rule(outcomes) -> None:
    assert outcomes["broken"] == set(BREAKAGES.values())


def test_no_mart_keeps_a_rule_its_contract_holds_as_a_data_test(outcomes) -> None:
    """A not_null, range or accepted-values test on a mart would be a query and a dbt node every
    run for a rule the database already enforces as it fills the table (a test of severity warn
    would stay one: a constraint cannot warn)."""
    nodes = outcomes["manifest"]["nodes"]
    marts = {key for key, node in nodes.items() if node["original_file_path"].startswith("models/marts/")}
    left = sorted(node["name"] for node in nodes.values()
                  if node["resource_type"] == "test" and node.get("test_metadata")
                  and node["test_metadata"]["name"] in CONSTRAINED_RULES and node["attached_node"] in marts
                  and node["config"]["severity"].lower() != "warn")
    assert left == []


def test_the_rules_the_gx_mart_suites_held_are_dbt_tests(outcomes) -> None:
    """Each rule is a dbt test (keys, relationships), or a mart's contract's constraint (DuckDB
    and PostgreSQL refuse the breaking rows when the table is filled): not_null, or a check for a
    range or a set of accepted values."""
    nodes = outcomes["manifest"]["nodes"].values()
    tests = {((node.get("attached_node") or "").split(".")[-1], node.get("column_name"), node["test_metadata"]["name"])
             for node in nodes if node["resource_type"] == "test" and node.get("test_metadata")}
    tests |= {(node["name"], column["name"], constraint["type"])
              for node in nodes if node["resource_type"] == "model" and node["config"]["contract"]["enforced"]
              for column in node["columns"].values() for constraint in column["constraints"]}
    tests |= {(*rule.split("."), "check") for rule in outcomes["checks"]}  # model-level checks too
    expected = [
        ("mrr_summary", "currency_scope", "check"), ("mrr_summary", "ending_mrr", "not_null"),
        ("mrr_summary", "churned_customers", "check"), ("mrr_summary", "logo_churn_rate", "check"),
        ("fct_mrr_daily", "mrr_amount_usd", "not_null"), ("fct_mrr_daily", "active_customers", "check"),
        ("cohort_retention", "net_revenue_retention", "check"), ("user_retention", "retention_rate", "not_null"),
        ("feature_adoption", "habitual_users", "not_null"), ("funnel", "activated_to_trial_rate", "check"),
        ("funnel", "funnel_view", "check"), ("channel_performance", "ltv_to_cac", "check"),
        ("channel_attribution", "conversion_type", "check"),
        ("channel_attribution", "touched_conversions", "not_null"), ("kpi_alerts", "direction", "check"),
        ("kpi_alerts", "status", "check"), ("kpi_alerts", "period_grain", "check"),
        ("kpi_alerts", "metric_value", "check"), ("fct_ad_spend_daily", "currency", "relationships"),
        ("fct_ad_spend_daily", "clicks", "check"), ("fct_ad_spend_daily", "spend_amount_usd", "not_null"),
        ("fct_ad_spend_daily", "platform", "check"), ("fct_sessions", "channel", "check"),
        ("fct_sessions", "channel", "relationships"), ("fct_events", "event_key", "unique"),
        ("fct_events", "event_key", "not_null"), ("dim_customers", "customer_id", "unique"),
    ]
    assert [rule for rule in expected if rule not in tests] == []
