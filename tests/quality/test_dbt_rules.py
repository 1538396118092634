"""The marts' ranges and accepted values, one home per rule, on the quality suites' tiny warehouse.

The GX mart suites used to hold these rules too. A metric mart's rules are its enforced
contract's constraints (``not_null``, and ``check`` for ranges and accepted values: DuckDB and
PostgreSQL refuse a breaking row as dbt fills the table); the core marts' ranges are dbt tests
(``at_least``, ``is_between``). Against the hand-written tables of conftest.py, which have the
columns the rules read: correct data passes, and each broken value breaks exactly the rule on
its column, conditions (a test's ``where``, a check's ``or``) included. That the built tables
hold the checks is tests/transformation/test_project_docs.py's.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from dbt.cli.main import dbtRunner

ROOT = Path(__file__).resolve().parents[2]
SELECT = ["test_name:at_least", "test_name:is_between"]

#: breakage -> the rule it breaks: a dbt test's name, or a metric mart's "model.column" check
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
        "at_least_fct_ad_spend_daily_spend_amount_usd",
    "update metrics.user_engagement set dau_mau_ratio = 1.2 where daily_active_users = 39":
        "user_engagement.dau_mau_ratio",
    "update metrics.cohort_retention set logo_retention = 1.1 where months_since_start = 1":
        "cohort_retention.logo_retention",
}


def _dbt_test(warehouse: Path, target: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """``dbt test`` of the range tests on ``warehouse``: test name -> status."""
    monkeypatch.setenv("NORTHSTAR_WAREHOUSE", str(warehouse))
    result = dbtRunner().invoke(["test", "--select", *SELECT, "--project-dir", str(ROOT), "--profiles-dir",
                                 str(ROOT), "--target", "prod", "--target-path", str(target), "--quiet"])
    assert result.exception is None, result.exception
    # the project's on-run-start hook (Spark's raw tables; nothing on DuckDB) is not a test
    return {r.node.name: str(r.status) for r in result.result.results
            if not r.node.unique_id.startswith("operation.")}


def _checks(manifest: dict) -> dict[str, list[str]]:
    """Each metric mart's check constraints: "model.column" -> their expressions (a model-level
    check counts for the columns it names)."""
    checks: dict[str, list[str]] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model" or not node["config"]["contract"]["enforced"]:
            continue
        for column in node["columns"].values():
            for constraint in column["constraints"]:
                if constraint["type"] == "check":
                    checks.setdefault(f"{node['name']}.{column['name']}", []).append(constraint["expression"])
        for constraint in node["constraints"]:
            if constraint["type"] == "check":
                for column in constraint["columns"]:
                    checks.setdefault(f"{node['name']}.{column}", []).append(constraint["expression"])
    return checks


def _broken_checks(warehouse: Path, checks: dict[str, list[str]]) -> set[str]:
    """The columns with a check some row breaks: false, as DuckDB's CHECK judges (null passes)."""
    broken = set()
    with duckdb.connect(str(warehouse)) as con:  # as dbt's in-process connection (read_only would clash)
        for rule, expressions in checks.items():
            model = rule.split(".")[0]
            for expression in expressions:
                if con.execute(f"select count(*) from metrics.{model} where not ({expression})").fetchone()[0]:
                    broken.add(rule)
    return broken


@pytest.fixture(scope="module")
def outcomes(good_warehouse_file: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The dbt tests' statuses and the broken checks on the good warehouse and on the one with
    every breakage (two dbt runs)."""
    work = tmp_path_factory.mktemp("dbt_rules")
    warehouse = work / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as patch:
        shutil.copy(good_warehouse_file, warehouse)
        good = _dbt_test(warehouse, work / "target", patch)
        manifest = json.loads((work / "target" / "manifest.json").read_text())
        checks = _checks(manifest)
        good_checks = _broken_checks(warehouse, checks)
        with duckdb.connect(str(warehouse)) as con:
            for breakage in BREAKAGES:
                con.execute(breakage)
        broken = _dbt_test(warehouse, work / "target", patch)
        broken_checks = _broken_checks(warehouse, checks)
    return {"good": good, "broken": broken, "manifest": manifest, "checks": checks,
            "good_checks": good_checks, "broken_checks": broken_checks}


def test_correct_data_passes_every_range_rule_of_the_marts(outcomes) -> None:
    good = outcomes["good"]
    assert len(good) == 7  # the core marts' ranges: fct_ad_spend_daily 4, fct_mrr_daily 3
    assert {name for name, status in good.items() if status != "pass"} == set()
    assert sum(len(expressions) for expressions in outcomes["checks"].values()) > 100
    assert outcomes["good_checks"] == set()


def test_each_broken_value_breaks_exactly_its_rule(outcomes) -> None:
    failed = {name for name, status in outcomes["broken"].items() if status != "pass"}
    assert failed | outcomes["broken_checks"] == set(BREAKAGES.values())


def test_the_rules_the_gx_mart_suites_held_are_dbt_tests(outcomes) -> None:
    """Each rule is a dbt test, or, for a metric mart, its contract's constraint (DuckDB and
    PostgreSQL refuse the breaking rows when the table is filled): a check for a range or a
    set of accepted values."""
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
        ("fct_mrr_daily", "mrr_amount_usd", "not_null"), ("fct_mrr_daily", "active_customers", "at_least"),
        ("cohort_retention", "net_revenue_retention", "check"), ("user_retention", "retention_rate", "not_null"),
        ("feature_adoption", "habitual_users", "not_null"), ("funnel", "activated_to_trial_rate", "check"),
        ("funnel", "funnel_view", "check"), ("channel_performance", "ltv_to_cac", "check"),
        ("channel_attribution", "conversion_type", "check"),
        ("channel_attribution", "touched_conversions", "not_null"), ("kpi_alerts", "direction", "check"),
        ("kpi_alerts", "status", "check"), ("kpi_alerts", "period_grain", "check"),
        ("kpi_alerts", "metric_value", "check"), ("fct_ad_spend_daily", "currency", "relationships"),
        ("fct_ad_spend_daily", "clicks", "at_least"), ("fct_ad_spend_daily", "spend_amount_usd", "not_null"),
    ]
    assert [rule for rule in expected if rule not in tests] == []

