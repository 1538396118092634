"""The Dagster definitions: one connected graph, checks, pools, retries, jobs and schedules.

No run here (tests/orchestration/test_nightly_job.py runs the job): these read the definitions
as ``dagster dev`` loads them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from dagster import AssetKey, Definitions, build_schedule_context

from orchestration.assets.dbt import DBT_PROJECT, dbt_models
from orchestration.assets.ingestion import INGESTION_ASSETS
from orchestration.assets.publish import PUBLISHED_WAREHOUSE
from orchestration.graph import build_definitions
from orchestration.plugins import TRUTH_SETTING
from orchestration.resources import WAREHOUSE_POOL
from orchestration.test_window import FULL_TESTS_TAG, TEST_WINDOW_DAYS, data_test_window_days
from sandbox.client_env import source_env

RAW_KEYS = {key for assets in INGESTION_ASSETS for key in assets.keys}


@pytest.fixture(scope="module")
def defs() -> Definitions:
    """The definitions of a project whose every source is configured (nothing is requested)."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in source_env("http://127.0.0.1:9", date(2025, 1, 1), date(2025, 2, 1)).items():
            patch.setenv(key, value)
        return build_definitions()


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads(DBT_PROJECT.manifest_path.read_text())


def _deps(model: str) -> set[str]:
    return {key.to_user_string() for key in dbt_models.asset_deps[AssetKey(model)]}


def test_dagster_definitions_validate():
    """What ``dagster definitions validate`` checks, run as a user would."""
    dagster = Path(sys.executable).with_name("dagster")
    result = subprocess.run([str(dagster), "definitions", "validate", "-m", "orchestration.definitions"],
                            check=False, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "NO_COLOR": "1"})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Validation successful" in result.stdout + result.stderr


def test_staging_models_read_the_dlt_assets_themselves():
    # invoices__discounts, invoices__lines__data: the invoices resource; coupons give a discount's
    # terms, charges an invoice's latest charge, prices a line's billing cycle (newer API versions);
    # models with money in minor units read the currency exponents seed (macro currency_exponent)
    assert _deps("stg_stripe__invoices") == {
        "stripe/invoices", "stripe/coupons", "stg_stripe__charges", "seeds/currency_exponents"
    }
    assert _deps("stg_stripe__invoice_lines") == {
        "stripe/invoices", "stripe/prices", "seeds/currency_exponents"
    }
    assert _deps("stg_stripe__subscription_items") == {"stripe/subscriptions", "seeds/currency_exponents"}
    assert _deps("stg_stripe__customers") == {"stripe/customers"}
    assert _deps("stg_ga4__events") == {"ga4/events"}
    assert _deps("stg_ecb_fx__daily_rates") == {"ecb_fx/daily_rates"}
    for platform in ("google_ads", "meta_ads", "linkedin_ads"):
        assert _deps(f"stg_{platform}__campaign_stats_daily") == {f"{platform}/campaign_stats_daily"}
        assert _deps(f"stg_{platform}__campaigns") == {f"{platform}/campaigns"}


def test_every_dbt_source_is_a_dlt_asset(manifest):
    """No dangling source assets: the graph is connected from raw tables to marts."""
    dbt_keys = set(dbt_models.keys)
    upstream = {dep for key in dbt_keys for dep in dbt_models.asset_deps[key]} - dbt_keys
    assert upstream == {AssetKey([s["source_name"], s["name"]]) for s in manifest["sources"].values()
                        if "__" not in s["name"] and s["name"] != "events_quarantine"}
    assert upstream <= RAW_KEYS


def test_every_dbt_test_is_an_asset_check(manifest):
    tests = [n for n in manifest["nodes"].values() if n["resource_type"] == "test"]
    source_tests = [t for t in tests if any(d.startswith("source.") for d in t["depends_on"]["nodes"])]
    assert source_tests  # source tests included
    dbt_checks = set(dbt_models.check_keys)
    assert len(dbt_checks) == len(tests)
    assert {c.name for c in dbt_checks if c.asset_key == AssetKey(["stripe", "invoices"])} >= {
        "source_unique_stripe_invoices_id", "source_not_null_stripe_invoices_id"}


def test_everything_that_opens_the_warehouse_is_in_the_pool_of_one(defs):
    graph = defs.resolve_asset_graph()
    for key in [*RAW_KEYS, AssetKey("mrr_summary"), PUBLISHED_WAREHOUSE]:
        assert graph.get(key).pools == {WAREHOUSE_POOL}, key
    for check in ("gx_raw_suites", "gx_mart_suites", "kpi_alert_checks"):
        checks_def = next(c for c in defs.asset_checks if c.node_def.name == check)
        assert checks_def.node_def.pool == WAREHOUSE_POOL
    settings = (Path(__file__).parents[2] / "orchestration" / "dagster.yaml").read_text()
    assert "default_limit: 1" in settings


def test_ingestion_retries_transient_failures_and_dbt_retries_once():
    for assets in INGESTION_ASSETS:
        policy = assets.node_def.retry_policy
        assert policy is not None and policy.max_retries == 2 and policy.delay == 30
    assert dbt_models.node_def.retry_policy.max_retries == 1


def test_gx_suites_and_reconciliations_block_publishing(defs, monkeypatch, tmp_path):
    truth = tmp_path / "truth"
    truth.mkdir()
    (truth / "expected_counts.json").write_text(json.dumps(
        {"as_of": "2026-01-01", "stripe": {"invoices": 1}, "ga4": {"events": 1}, "ads": {}}))
    monkeypatch.setenv(TRUTH_SETTING, str(truth))
    specs = {(spec.asset_key.to_user_string(), spec.name): spec
             for checks in build_definitions().asset_checks for spec in checks.check_specs}
    assert specs[("stripe/invoices", "gx_raw_stripe_invoices")].blocking
    assert specs[("mrr_summary", "gx_mrr_summary")].blocking
    assert specs[("stripe/invoices", "rows_match_sandbox_truth")].blocking
    assert specs[("int_customer_mrr_monthly", "mrr_matches_observable_truth")].blocking
    # what no Stripe data dates is news, not bad data: a WARN
    assert not specs[("int_customer_mrr_monthly", "mrr_matches_sandbox_truth")].blocking
    assert not specs[("kpi_alerts", "kpi_blended_cac_usd")].blocking  # a red KPI is news, not bad data
    # an unusual volume or KPI against its own history is news too
    assert not specs[("ga4/events", "gx_volume_raw_ga4_events")].blocking
    assert not specs[("kpi_alerts", "gx_anomaly_weekly_trial_signups")].blocking
    graph = defs.resolve_asset_graph()
    assert graph.get(PUBLISHED_WAREHOUSE).parent_keys >= RAW_KEYS | {AssetKey("mrr_summary")}


def test_without_a_sandbox_truth_there_is_no_reconciliation(monkeypatch):
    monkeypatch.delenv(TRUTH_SETTING, raising=False)
    names = {spec.name for checks in build_definitions().asset_checks for spec in checks.check_specs}
    assert "rows_match_sandbox_truth" not in names and "gx_raw_ga4_events" in names


def test_nightly_job_is_every_asset_and_incremental_job_the_fresh_path(defs):
    graph = defs.resolve_asset_graph()
    nightly = defs.resolve_job_def("nightly")
    assert set(nightly.asset_layer.executable_asset_keys) == set(graph.get_all_asset_keys())  # ingestion too
    incremental = set(defs.resolve_job_def("incremental").asset_layer.executable_asset_keys)
    assert RAW_KEYS | {AssetKey("fct_events"), AssetKey("fct_sessions"), AssetKey("int_touchpoints"),
                       AssetKey("int_ga4_sessions"), AssetKey("int_subscription_mrr_daily"),
                       PUBLISHED_WAREHOUSE} <= incremental
    # every model: its dbt step builds those downstream of a changed raw table (issue 15), so
    # no mart is built from a model the job left out (channel_performance reads ad spend)
    models = set(dbt_models.keys)
    assert {AssetKey("channel_attribution"), AssetKey("channel_performance"), AssetKey("fct_ad_spend_daily"),
            AssetKey("mrr_summary")} <= models <= incremental


def test_an_unconfigured_source_is_left_out_of_both_jobs(monkeypatch):
    for key in [k for k in os.environ if k.startswith("SOURCES__")]:
        monkeypatch.delenv(key)
    for key, value in source_env("http://127.0.0.1:9", date(2025, 1, 1), date(2025, 2, 1)).items():
        if not key.startswith("SOURCES__META_ADS__"):
            monkeypatch.setenv(key, value)
    defs = build_definitions()
    meta = {key for assets in INGESTION_ASSETS if assets.node_def.name == "ingest_meta_ads" for key in assets.keys}
    assert meta == {AssetKey(["meta_ads", "campaigns"]), AssetKey(["meta_ads", "campaign_stats_daily"])}
    for job in ("nightly", "incremental"):
        keys = set(defs.resolve_job_def(job).asset_layer.executable_asset_keys)
        assert not keys & meta and (RAW_KEYS - meta) <= keys, job
    nightly_keys = defs.resolve_job_def("nightly").asset_layer.executable_asset_keys
    assert AssetKey("stg_meta_ads__campaign_stats_daily") in nightly_keys


def test_schedules_default_and_configurable(defs, monkeypatch):
    nightly = defs.resolve_schedule_def("nightly_schedule")
    assert (nightly.cron_schedule, nightly.execution_timezone) == ("0 2 * * *", "UTC")
    assert nightly.default_status.value == "RUNNING"
    incremental = defs.resolve_schedule_def("incremental_schedule")
    assert incremental.cron_schedule == "*/15 * * * *" and incremental.default_status.value == "STOPPED"
    monkeypatch.setenv("NORTHSTAR_NIGHTLY_CRON", "30 4 * * *")
    monkeypatch.setenv("NORTHSTAR_INCREMENTAL_SCHEDULE", "on")
    rebuilt = build_definitions()
    assert rebuilt.resolve_schedule_def("nightly_schedule").cron_schedule == "30 4 * * *"
    assert rebuilt.resolve_schedule_def("incremental_schedule").default_status.value == "RUNNING"


def test_nightly_tests_the_new_days_and_every_row_once_a_week(defs):
    """The Sunday nightly is tagged to run every data test on every row; the others and the
    15-minute job test the incremental models' last days, and a first build tests every row."""
    nightly = defs.resolve_schedule_def("nightly_schedule")
    tags = {}
    for day in range(7, 14):  # 2026-12-07 is a Monday
        tick = build_schedule_context(scheduled_execution_time=datetime(2026, 12, day, 2, tzinfo=UTC))
        tags[day] = nightly.evaluate_tick(tick).run_requests[0].tags
    assert [day for day, t in tags.items() if t.get(FULL_TESTS_TAG) == "true"] == [13]
    assert data_test_window_days(tags[7], has_published=True) == TEST_WINDOW_DAYS == 4
    assert data_test_window_days(tags[13], has_published=True) is None
    assert data_test_window_days(tags[7], has_published=False) is None


def test_failure_sensor_and_freshness_checks_are_defined(defs):
    assert defs.resolve_sensor_def("northstar_run_failure_alert").default_status.value == "RUNNING"
    assert defs.resolve_sensor_def("raw_freshness_sensor").default_status.value == "RUNNING"
    freshness = [spec for checks in defs.asset_checks for spec in checks.check_specs
                 if spec.name == "freshness_check"]
    assert {spec.asset_key for spec in freshness} == RAW_KEYS


def test_the_dbt_resource_knows_its_dbt_version_without_starting_dbt(defs: Definitions,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """dagster-dbt would run `dbt --version` in every run (3-4 s); the venv's dbt is the
    installed dbt-core, so the resource answers with that version, and it is dbt's own answer."""
    import dagster_dbt.core.resource as dbt_resource_module

    from orchestration.assets.dbt import DBT_EXECUTABLE

    printed = subprocess.run([DBT_EXECUTABLE, "--version"], capture_output=True, text=True, check=True).stdout
    resource = defs.resources["dbt"]

    def no_subprocess(*args: object, **kwargs: object) -> bytes:
        raise AssertionError(f"dbt was started to ask its version: {args}")

    monkeypatch.setattr(dbt_resource_module, "check_output", no_subprocess)
    installed = re.search(r"installed:\s*(\d+\.\d+\.\d+)", printed)
    assert installed, printed
    assert str(resource._cli_version) == installed.group(1)


def test_the_dbt_resource_starts_dbt_without_an_adapter_in_dagsters_process(defs: Definitions,
                                                                           tmp_path: Path) -> None:
    """dagster-dbt would set up a dbt adapter in Dagster's process before every invocation (the
    profile, the project, the adapter's macros: 1-3 s) for metadata helpers the assets never
    call; the resource starts dbt without one (dagster-dbt's own resource returns a DuckDBAdapter)."""
    invocation = defs.resources["dbt"].cli(["--version"], manifest=DBT_PROJECT.manifest_path,
                                           target_path=tmp_path).wait()
    assert invocation.is_successful()
    assert invocation.adapter is None
