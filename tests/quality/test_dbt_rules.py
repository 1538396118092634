"""The marts' ranges are dbt tests (one home per rule): run on the quality suites' tiny warehouse.

The GX mart suites used to hold these rules too. ``dbt test`` runs only the range tests
(``at_least``, ``is_between``) of the marts against the hand-written tables of conftest.py,
which have the columns they read: correct data passes, and each broken value fails exactly the
test on its column, conditions (``where``) included.
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

BREAKAGES = {
    "update metrics.mrr_summary set ending_mrr = -20 where starting_mrr = 100": "at_least_mrr_summary_ending_mrr",
    "update metrics.mrr_summary set mrr_growth_rate = -1.5 where starting_mrr = 100":
        "at_least_mrr_summary_mrr_growth_rate___1",
    "update metrics.user_retention set retention_rate = 1.2 where weeks_since_first_visit = 1":
        "is_between_user_retention_retention_rate__1__0",
    "update metrics.funnel set trial_to_paid_rate = 1.5 where funnel_view = 'cohorted'":
        "is_between_funnel_trial_to_paid_rate__1__0",
    "update metrics.kpi_alerts set metric_value = 1.3 where metric = 'monthly_logo_churn_rate'":
        "is_between_kpi_alerts_metric_value__1__0",
    "update core.fct_ad_spend_daily set spend_amount_usd = -1 where currency = 'USD'":
        "at_least_fct_ad_spend_daily_spend_amount_usd",
    "update metrics.user_engagement set dau_mau_ratio = 1.2 where daily_active_users = 39":
        "is_between_user_engagement_dau_mau_ratio",
    "update metrics.cohort_retention set logo_retention = 1.1 where months_since_start = 1":
        "is_between_cohort_retention_logo_retention__1__0",
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


@pytest.fixture(scope="module")
def outcomes(good_warehouse_file: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """Test statuses on the good warehouse and on the one with every breakage (two dbt runs)."""
    work = tmp_path_factory.mktemp("dbt_rules")
    warehouse = work / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as patch:
        shutil.copy(good_warehouse_file, warehouse)
        good = _dbt_test(warehouse, work / "target", patch)
        with duckdb.connect(str(warehouse)) as con:
            for breakage in BREAKAGES:
                con.execute(breakage)
        broken = _dbt_test(warehouse, work / "target", patch)
    manifest = json.loads((work / "target" / "manifest.json").read_text())
    return {"good": good, "broken": broken, "manifest": manifest}


def test_correct_data_passes_every_range_test_of_the_marts(outcomes) -> None:
    good = outcomes["good"]
    assert len(good) > 60
    assert {name for name, status in good.items() if status != "pass"} == set()


def test_each_broken_value_fails_exactly_its_test(outcomes) -> None:
    failed = {name for name, status in outcomes["broken"].items() if status != "pass"}
    assert failed == set(BREAKAGES.values())


def test_the_rules_the_gx_mart_suites_held_are_dbt_tests(outcomes) -> None:
    """Each rule is a dbt test, or, for a metric mart's not_null, its contract's constraint
    (DuckDB and PostgreSQL refuse the null rows when the table is filled)."""
    nodes = outcomes["manifest"]["nodes"].values()
    tests = {((node.get("attached_node") or "").split(".")[-1], node.get("column_name"), node["test_metadata"]["name"])
             for node in nodes if node["resource_type"] == "test" and node.get("test_metadata")}
    tests |= {(node["name"], column["name"], constraint["type"])
              for node in nodes if node["resource_type"] == "model" and node["config"]["contract"]["enforced"]
              for column in node["columns"].values() for constraint in column["constraints"]}
    expected = [
        ("mrr_summary", "currency_scope", "accepted_values"), ("mrr_summary", "ending_mrr", "not_null"),
        ("mrr_summary", "churned_customers", "at_least"), ("mrr_summary", "logo_churn_rate", "is_between"),
        ("fct_mrr_daily", "mrr_amount_usd", "not_null"), ("fct_mrr_daily", "active_customers", "at_least"),
        ("cohort_retention", "net_revenue_retention", "at_least"), ("user_retention", "retention_rate", "not_null"),
        ("feature_adoption", "habitual_users", "not_null"), ("funnel", "activated_to_trial_rate", "at_least"),
        ("funnel", "funnel_view", "accepted_values"), ("channel_performance", "ltv_to_cac", "at_least"),
        ("channel_attribution", "conversion_type", "accepted_values"),
        ("channel_attribution", "touched_conversions", "not_null"), ("kpi_alerts", "direction", "accepted_values"),
        ("kpi_alerts", "status", "accepted_values"), ("kpi_alerts", "period_grain", "accepted_values"),
        ("kpi_alerts", "metric_value", "at_least"), ("fct_ad_spend_daily", "currency", "relationships"),
        ("fct_ad_spend_daily", "clicks", "at_least"), ("fct_ad_spend_daily", "spend_amount_usd", "not_null"),
    ]
    assert [rule for rule in expected if rule not in tests] == []
