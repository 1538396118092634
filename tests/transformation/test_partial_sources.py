"""The project builds when some sources were never loaded: their marts come out empty.

A client may configure Stripe only, or GA4 and the ad platforms but not Stripe; dlt creates a
source's raw schema on its first load, so the other sources' raw tables do not exist at all.
Staging models read raw tables through ``source_or_empty`` (macros/source_or_empty.sql), so
``dbt build`` still succeeds and every mart fed only by a missing source is empty.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from ingestion.run import ingest
from orchestration.dbt_project import relation
from sandbox.client_env import source_env
from sandbox.server import start_server
from sandbox.simulation import Simulation, simulate
from tests.dbt_helpers import failures, run_dbt

pytestmark = pytest.mark.slow  # builds a warehouse (tests/conftest.py runs these first)

# a short world keeps each build well under a minute
START, AS_OF = date(2025, 1, 1), date(2025, 4, 1)


@pytest.fixture(scope="module")
def short_world(tmp_path_factory) -> Simulation:
    return simulate(7, START, AS_OF, "small", tmp_path_factory.mktemp("partial") / "ga4")


def build_with_only(sources: list[str], sim: Simulation, root: Path) -> Path:
    """A warehouse where only ``sources`` are configured and loaded, after one ``dbt build``."""
    path = root / "northstar.duckdb"
    server = start_server(sim.world, port=0)
    prefixes = tuple(f"SOURCES__{name.upper()}__" for name in sources)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NORTHSTAR_WAREHOUSE", str(path))
        for key, value in source_env(server.base_url, START, AS_OF).items():
            if key.startswith(prefixes):
                patch.setenv(key, value)
            else:
                patch.delenv(key, raising=False)
        try:
            results = ingest(sources)
        finally:
            server.shutdown()
        assert all(r.status == "loaded" for r in results), [r.line() for r in results]
        result = run_dbt(["build"], target_path=root / "target")
    assert result.success, failures(result)
    return path


def row_counts(path: Path, tables: list[str]) -> dict[str, int]:
    # a missing table raises: "empty" must mean built and empty, not absent
    with duckdb.connect(str(path)) as con:
        return {t: con.execute(f"select count(*) from {relation(t)}").fetchone()[0] for t in tables}


def raw_schemas(path: Path) -> set[str]:
    with duckdb.connect(str(path)) as con:
        rows = con.execute("select distinct schema_name from information_schema.schemata").fetchall()
    return {name for (name,) in rows if name.startswith("raw_") and not name.endswith("_staging")}


def test_stripe_only(short_world, tmp_path):
    # Stripe and the ECB's rates (keyless): EUR, GBP and JPY customers need a rate
    path = build_with_only(["stripe", "ecb_fx"], short_world, tmp_path)
    assert raw_schemas(path) == {"raw_stripe", "raw_ecb_fx"}
    counts = row_counts(path, ["mrr_summary", "fct_mrr_daily", "fct_sessions", "fct_ad_spend_daily",
                               "channel_attribution", "funnel"])
    assert counts["mrr_summary"] > 0 and counts["fct_mrr_daily"] > 0, counts
    assert counts["fct_sessions"] == 0 and counts["fct_ad_spend_daily"] == 0, counts
    # Stripe's conversions (trials, first payments) still count, with no touchpoint to credit:
    # every one of them is Unattributed, no marketing channel appears
    with duckdb.connect(str(path)) as con:
        channels = {c for (c,) in con.execute("select distinct channel from metrics.channel_attribution").fetchall()}
    assert channels <= {"Unattributed"}, channels


def test_ga4_and_ads_without_stripe(short_world, tmp_path):
    path = build_with_only(["ga4", "google_ads", "meta_ads", "linkedin_ads", "ecb_fx"], short_world, tmp_path)
    assert "raw_stripe" not in raw_schemas(path)
    counts = row_counts(path, ["fct_sessions", "fct_ad_spend_daily", "mrr_summary", "fct_mrr_daily",
                               "fct_invoices", "channel_attribution"])
    assert counts["fct_sessions"] > 0 and counts["fct_ad_spend_daily"] > 0, counts
    assert counts["mrr_summary"] == 0 and counts["fct_mrr_daily"] == 0 and counts["fct_invoices"] == 0, counts
    assert counts["channel_attribution"] == 0, counts
