"""The 15-minute job rebuilds only the models downstream of a raw table that changed
(orchestration/build_inputs.py), and what it publishes equals a full build of the same data.

Four runs on one small sandbox (two months), in sequence:
1. the nightly builds everything and records what it read;
2. the 15-minute job on the same sandbox: every source is loaded again (GA4's last days, the
   ad platforms' last week, Stripe's last page) with nothing new, so dbt does not start;
3. the 15-minute job after one Google Ads campaign's clicks changed on the last day: only the
   models downstream of Google Ads' tables are built, with their tests;
4. the nightly again on that data: it rebuilds everything, and every mart equals what run 3
   published, row for row.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration import build_inputs
from orchestration.assets.dbt import DBT_PROJECT, run_target_path
from orchestration.jobs import INCREMENTAL, NIGHTLY
from orchestration.nightly import NightlyOutcome, run_nightly
from sandbox.build import serve_simulation
from sandbox.simulation import Simulation, simulate

pytestmark = pytest.mark.slow

START, AS_OF, SEED = date(2025, 1, 1), date(2025, 3, 1), 5
MART_SCHEMAS = ("core", "metrics")


@dataclass
class Run:
    outcome: NightlyOutcome
    marts: dict[str, str]  # "schema.table" -> fingerprint (row count, sum of row hashes)
    built: set[str] | None  # the dbt nodes the run's build ran; None: dbt did not start
    warnings: list[str]  # what Dagster's execution plan warned of


def _marts(published: Path) -> dict[str, str]:
    with duckdb.connect(str(published), read_only=True) as con:
        tables = con.execute("select table_schema, table_name from information_schema.tables "
                             "where table_catalog = current_database() and table_schema in ('core', 'metrics')"
                             ).fetchall()
        return {f"{schema}.{name}": build_inputs.table_fingerprint(con, schema, name) for schema, name in tables}


class _Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _run(sim: Simulation, sandbox_dir: Path, published: Path, job: str) -> Run:
    server = serve_simulation(sim, sandbox_dir)
    plan_logger, kept = logging.getLogger("dagster._core.execution.plan.active"), _Kept()
    plan_logger.addHandler(kept)
    try:
        outcome = run_nightly(job_name=job)
    finally:
        plan_logger.removeHandler(kept)
        server.shutdown()
    results = run_target_path(outcome.run_id) / "run_results.json"
    built = {r["unique_id"] for r in json.loads(results.read_text())["results"]} if results.exists() else None
    return Run(outcome, _marts(published), built, kept.messages)


def _more_clicks(sim: Simulation) -> str:
    """One Google Ads campaign gets a click more on the last day it reports (inside the 7 days
    the source re-reads); returns the campaign id."""
    rows = sim.world.ad_stats
    last = max(r.day for r in rows if r.platform == "google_ads")
    i = next(i for i, r in enumerate(rows) if r.platform == "google_ads" and r.day == last)
    rows[i] = dataclasses.replace(rows[i], clicks=rows[i].clicks + 1)
    return rows[i].campaign_id


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> list[Run]:
    root = tmp_path_factory.mktemp("incremental")
    published = root / "northstar.duckdb"
    saved = dict(os.environ)
    try:
        os.environ.pop("DAGSTER_HOME", None)
        os.environ["NORTHSTAR_WAREHOUSE"] = str(published)
        sim = simulate(SEED, START, AS_OF, "small", root / "sandbox" / "ga4")
        done = [_run(sim, root / "sandbox", published, NIGHTLY), _run(sim, root / "sandbox", published, INCREMENTAL)]
        _more_clicks(sim)
        done.append(_run(sim, root / "sandbox", published, INCREMENTAL))
        done.append(_run(sim, root / "sandbox", published, NIGHTLY))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return done


def _manifest() -> dict:
    return json.loads(DBT_PROJECT.manifest_path.read_text())


def test_every_run_succeeds_and_publishes(runs: list[Run]):
    for run in runs:
        assert run.outcome.success and run.outcome.published, run.outcome.step_failures


def test_the_tests_left_unrun_are_said_once_not_warned_of_one_by_one(runs: list[Run]):
    # Dagster warns of each blocking check without a result; the step's own line says it instead
    for run in runs:
        assert not [m for m in run.warnings if "emitted no result in step 'dbt_build'" in m], run.warnings[:3]


def test_nothing_new_starts_no_dbt_and_changes_no_mart(runs: list[Run]):
    nightly, same = runs[0], runs[1]
    assert nightly.built is not None and len(nightly.built) > 200  # the whole project, with its tests
    assert same.built is None
    assert same.marts == nightly.marts and len(same.marts) == 22


def test_a_changed_ad_platform_builds_only_what_reads_it(runs: list[Run]):
    manifest = _manifest()
    ads = runs[2]
    assert ads.built is not None
    stats = {uid for uid, s in manifest["sources"].items()
             if (s["source_name"], s["name"]) == ("google_ads", "campaign_stats_daily")}
    downstream = build_inputs.stale_nodes(manifest, stats)
    built_models = {uid for uid in ads.built if uid.startswith("model.")}
    # exactly the models downstream of the changed table (ad spend, and the FX rates of the ad
    # accounts' currencies), not those of Google Ads' unchanged campaigns table
    assert built_models == {uid for uid in downstream if uid.startswith("model.")}
    assert {"model.northstar.stg_google_ads__campaign_stats_daily", "model.northstar.fct_ad_spend_daily",
            "model.northstar.channel_performance"} <= built_models
    # what does not read it is left alone: the campaigns and the sessions that read them, GA4's
    # events, Stripe's MRR days
    assert not {"model.northstar.dim_campaigns", "model.northstar.fct_sessions",
                "model.northstar.int_ga4_sessions", "model.northstar.fct_events",
                "model.northstar.int_subscription_mrr_daily", "model.northstar.feature_adoption"} & ads.built
    # the built models' tests ran, and the changed source's
    assert any(uid.startswith("test.") and "fct_ad_spend_daily" in uid for uid in ads.built)
    assert any(uid.startswith("test.") and "source_" in uid and "google_ads" in uid for uid in ads.built)
    changed = {name for name, value in ads.marts.items() if runs[1].marts[name] != value}
    assert {"core.fct_ad_spend_daily", "metrics.channel_performance"} <= changed
    assert not {"core.dim_campaigns", "core.fct_sessions", "core.fct_events"} & changed


def test_the_partly_rebuilt_marts_equal_a_full_build(runs: list[Run]):
    ads, full = runs[2], runs[3]
    assert full.built is not None and len(full.built) > 200
    assert full.marts == ads.marts
